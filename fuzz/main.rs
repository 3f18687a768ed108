//! Fuzz targets, on stable Rust: the workflow loader, the JSON-RPC decoder of the client,
//! template rendering with hostile model output, the approval command parser, and the
//! redaction of secrets. Each is
//! a proptest property over generated and mutated inputs, run with a fixed seed and a
//! bounded number of cases in the test suite, and for as long as asked with
//! `WEFT_FUZZ_SECS` (see `fuzz/README.md`). A panic, a case that runs longer than the hang
//! limit, or memory past the limit fails the target and prints the input.

mod approvals;
mod harness;
mod jsonrpc;
mod loader;
mod redaction;
mod templates;
