//! [`TreePrint`]: the working tree's tree id, taken once and shared by the cached units
//! that start until something may have changed the tree. The scheduler marks every start
//! and end of a unit that can change files (a script, a turn that can write, an isolated
//! step's merge, a step under `writes`); a read-only turn changes nothing, so a chain of
//! them is keyed with one `git add -A` instead of one per unit. Edits made by hand while a
//! run goes on are seen after the next such mark.

use std::sync::Mutex;

/// The shared tree id and the mark it belongs to.
#[derive(Debug, Default)]
pub struct TreePrint {
    state: Mutex<(u64, Option<String>)>,
}

impl TreePrint {
    /// Something may change (or has changed) the working tree: the id is taken again.
    pub fn changed(&self) {
        let mut state = self.lock();
        state.0 += 1;
        state.1 = None;
    }

    /// The tree id, taken with `take` when it is not known since the last mark.
    pub fn get_or_take(
        &self,
        take: impl FnOnce() -> Result<String, String>,
    ) -> Result<String, String> {
        let epoch = {
            let state = self.lock();
            if let Some(tree) = &state.1 {
                return Ok(tree.clone());
            }
            state.0
        };
        let tree = take()?;
        self.offer(epoch, &tree);
        Ok(tree)
    }

    /// Takes the id in advance (while the app-server starts), with `take`, unless one is
    /// known or the tree was marked meanwhile.
    pub fn prime(&self, take: impl FnOnce() -> Result<String, String>) {
        let epoch = self.lock().0;
        if let Ok(tree) = take() {
            self.offer(epoch, &tree);
        }
    }

    /// Keeps `tree`, taken at mark `epoch`, unless a mark came since.
    fn offer(&self, epoch: u64, tree: &str) {
        let mut state = self.lock();
        if state.0 == epoch && state.1.is_none() {
            state.1 = Some(tree.to_string());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<String>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_taken_once_per_mark_and_a_mark_while_taking_discards_it() {
        let print = TreePrint::default();
        let mut taken = 0;
        for _ in 0..3 {
            let tree = print.get_or_take(|| {
                taken += 1;
                Ok("t1".into())
            });
            assert_eq!(tree.as_deref(), Ok("t1"));
        }
        assert_eq!(taken, 1);
        print.changed();
        let tree = print.get_or_take(|| {
            print.changed();
            Ok("racing".into())
        });
        assert_eq!(tree.as_deref(), Ok("racing"));
        let again = print.get_or_take(|| Ok("t2".into()));
        assert_eq!(
            again.as_deref(),
            Ok("t2"),
            "a tree taken across a mark is not kept"
        );
    }
}
