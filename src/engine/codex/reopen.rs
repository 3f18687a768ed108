//! Threads the engine lets go of, and threads it opens again: a released thread is
//! forgotten here and unloaded by the app-server; one left archived by a release that was
//! cut short is unarchived before it is forked or resumed.

use super::CodexAgent;
use crate::client::{self, Thread};

impl CodexAgent {
    /// Forks or resumes thread `id`, one of the run's own. One left archived by a release
    /// that was cut short (weft killed between `thread/archive` and `thread/unarchive`) is
    /// unarchived first; someone else's archived thread (`resume:`) is never touched.
    pub(super) async fn reopened(
        &self,
        id: &str,
        opts: client::ThreadOptions,
        fork: bool,
    ) -> Result<Thread, client::Error> {
        let open = |opts| async move {
            if fork {
                self.client.thread_fork(id, opts).await
            } else {
                self.client.thread_resume(id, opts).await
            }
        };
        match open(opts.clone()).await {
            Err(client::Error::InvalidRequest { message }) if message.contains("is archived") => {
                self.client.thread_unarchive(id).await?;
                open(opts).await
            }
            other => other,
        }
    }

    /// Forgets thread `id` and has the app-server unload it
    /// ([`client::Client::thread_release`]).
    pub(super) async fn release(&self, id: &str) -> Result<(), client::Error> {
        let thread = {
            let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
            threads.remove(id)
        };
        drop(thread);
        self.client.thread_release(id).await
    }
}
