//! Letting go of threads: `thread/unsubscribe`, and [`Client::thread_release`], which also
//! makes the app-server unload the thread at once, so that its memory follows the threads
//! in use rather than every thread the client ever opened.

use serde_json::json;

use super::app_server::Client;
use super::error::{Error, Result};

/// What `thread/unsubscribe` did (`ThreadUnsubscribeStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// This connection no longer gets the thread's events.
    Unsubscribed,
    /// This connection was not subscribed.
    NotSubscribed,
    /// The thread is not loaded.
    NotLoaded,
}

impl Client {
    /// Stop getting the thread's events (`thread/unsubscribe`). A thread no connection
    /// follows is unloaded by the app-server once it has been idle for a while (30 minutes
    /// in codex 0.169 to 0.171), then `thread/closed` is sent; see
    /// [`Client::thread_release`] to unload it now.
    pub async fn thread_unsubscribe(&self, thread_id: &str) -> Result<Unsubscribed> {
        let params = json!({ "threadId": thread_id });
        let reply = self.request("thread/unsubscribe", params).await?;
        self.forget_turn_slot(thread_id);
        match reply["status"].as_str() {
            Some("unsubscribed") => Ok(Unsubscribed::Unsubscribed),
            Some("notSubscribed") => Ok(Unsubscribed::NotSubscribed),
            Some("notLoaded") => Ok(Unsubscribed::NotLoaded),
            _ => Err(Error::Protocol {
                message: format!("a `thread/unsubscribe` reply has no known status: {reply}"),
            }),
        }
    }

    /// Release a thread this client no longer needs, now: unsubscribe, then unload it.
    ///
    /// The app-server keeps an unsubscribed thread in memory until it has been idle for
    /// its unloading delay (30 minutes in codex 0.169 to 0.171), which is longer than most
    /// runs. `thread/archive` shuts a loaded thread down at once; `thread/unarchive` then
    /// puts its stored history back where it was. So the thread is unloaded and stays what
    /// it was: listed, readable, and able to be resumed or forked. Call it only for a
    /// thread no other client uses (another app-server may hold the same thread) and
    /// while no turn runs on it.
    pub async fn thread_release(&self, thread_id: &str) -> Result<()> {
        if self.thread_unsubscribe(thread_id).await? == Unsubscribed::NotLoaded {
            return Ok(());
        }
        self.thread_archive(thread_id).await?;
        self.thread_unarchive(thread_id).await.map(drop)
    }
}
