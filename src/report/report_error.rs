//! Why a reporter could not write what it writes (a file, the run record).

/// A reporter's failure: what it could not do, and the I/O error.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct ReportError {
    /// What it could not do: "cannot write the JUnit report `x.xml`".
    pub what: String,
    #[source]
    pub source: std::io::Error,
}
