//! One writer shared by several reporters of a run (stderr carries the progress lines,
//! the GitHub annotations and the warnings), so that all of them write to the writer the
//! command was given.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// A clonable handle on one writer; each write locks it.
#[derive(Clone)]
pub struct SharedWriter<'a>(Arc<Mutex<&'a mut (dyn Write + Send)>>);

impl<'a> SharedWriter<'a> {
    pub fn new(writer: &'a mut (dyn Write + Send)) -> Self {
        Self(Arc::new(Mutex::new(writer)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<T>) -> io::Result<T> {
        let mut writer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **writer)
    }
}

impl Write for SharedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|w| w.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.with(|w| w.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|w| w.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_write_to_the_one_writer_in_order() {
        let mut out: Vec<u8> = Vec::new();
        {
            let mut a = SharedWriter::new(&mut out);
            let mut b = a.clone();
            writeln!(a, "one").unwrap();
            writeln!(b, "two").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "one\ntwo\n");
    }
}
