//! The `weft` command line (placeholder).
