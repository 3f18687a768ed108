//! A mock model server speaking the Responses API subset codex uses, for tests and demos.
