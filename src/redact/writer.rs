//! [`RedactingWriter`]: a writer that masks secrets in everything written through it,
//! even when a secret is cut across two writes. What it holds back is written by
//! [`RedactingWriter::finish`], or when it is dropped.

use std::io::{self, Write};

use super::redactor::Redactor;
use super::stream::StreamRedactor;

/// Masks secrets on their way to `inner`.
pub struct RedactingWriter<W: Write> {
    inner: W,
    stream: StreamRedactor,
    passthrough: bool,
}

impl<W: Write> RedactingWriter<W> {
    /// Writes to `inner` with `redactor`'s secrets masked.
    pub fn new(inner: W, redactor: Redactor) -> Self {
        Self {
            inner,
            passthrough: redactor.is_empty(),
            stream: StreamRedactor::new(redactor),
        }
    }

    /// Writes what is held back and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        self.release()
    }

    fn release(&mut self) -> io::Result<()> {
        let rest = self.stream.finish();
        self.inner.write_all(&rest)?;
        self.inner.flush()
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.passthrough {
            return self.inner.write_all(buf);
        }
        let ready = self.stream.push(buf);
        self.inner.write_all(&ready)
    }

    /// Flushes what is released; the end of a possible secret stays held back.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.stream.is_holding() {
            let _ = self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_masked_even_when_a_secret_is_split() {
        let mut out = Vec::new();
        {
            let redactor = Redactor::new(["s3cret-token"]).expect("redactor");
            let mut w = RedactingWriter::new(&mut out, redactor);
            write!(w, "token: s3c").unwrap();
            write!(w, "ret-token\nend s3").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "token: ***\nend s3");
    }

    #[test]
    fn finish_releases_what_is_held() {
        let mut out = Vec::new();
        let redactor = Redactor::new(["abcdefgh"]).expect("redactor");
        let mut w = RedactingWriter::new(&mut out, redactor);
        w.write_all(b"x abc").unwrap();
        w.finish().unwrap();
        assert_eq!(out, b"x abc");
    }
}
