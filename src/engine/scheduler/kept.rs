//! Fan-out elements an earlier session of the run finished: when their step runs again
//! and fans out over the same item at an element's index, the element is kept (reported
//! as `reused`, its result taken as it was) and only the other elements run.

use super::Scheduler;
use crate::engine::emit::element_reused;
use crate::engine::step_state::Running;
use crate::engine::unit::UnitKey;

impl Scheduler<'_> {
    /// Fills the slots of step `i`'s fan-out that an earlier session finished with the
    /// same item, reporting each; they do not run again. An element whose index has
    /// another item now does not continue its loop's iterations either.
    pub(super) fn keep_elements(&mut self, i: usize, running: &mut Running) {
        let Some(elements) = self.kept.remove(&i) else {
            return;
        };
        for element in elements {
            let Some(item) = &element.item else {
                continue;
            };
            if running.item(Some(element.index)).as_ref() != Some(item) {
                let key = UnitKey {
                    step: i,
                    index: Some(element.index),
                };
                self.saved.remove(&key);
                continue;
            }
            if running.keep(i, element.index, item, &element.record) {
                (self.sink)(&element_reused(&element));
            }
        }
    }
}
