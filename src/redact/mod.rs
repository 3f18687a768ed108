//! Secrets and their redaction: a [`Redactor`] knows a run's secret values and the forms
//! they take once encoded (JSON-escaped, `\u`-escaped), and masks every occurrence as
//! [`MASK`]; [`StreamRedactor`] does it over text that arrives in pieces, and
//! [`RedactingWriter`] over a byte stream. Types that weft writes implement [`Redact`].

mod redactor;
mod stream;
mod traits;
mod writer;

pub use redactor::{MASK, MIN_SECRET_CHARS, Redactor, RedactorError};
pub use stream::StreamRedactor;
pub use traits::Redact;
pub use writer::RedactingWriter;
