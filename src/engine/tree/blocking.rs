//! Git work off the async runtime's threads: a git command can take a while on a large
//! repository, and the scheduler's loop must not wait for it.

/// Runs `f` on the blocking pool; its error (or a panic) as a message.
pub(in crate::engine) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, String>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the git task failed: {e}")),
    }
}
