//! What people and machines read: reporters that turn a run's events into progress bars,
//! lines, summaries, JSON and JUnit XML (they see events only, never the plan), and the presentation of
//! plans and workflows (`list`, `graph`, `--dry-run`).

pub(crate) mod console;
pub(crate) mod file;
pub(crate) mod graph;
mod html;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod line;
pub(crate) mod list;
pub(crate) mod notes;
pub(crate) mod output;
pub(crate) mod problems;
pub(crate) mod summary;
pub(crate) mod timeline;

use crate::run::{Event, ReportError, Reporter};

/// Passes every event to each of several reporters, in order. A reporter that fails is told
/// no more; the first failure is returned, which stops the run.
pub(crate) struct Fanout<'r> {
    reporters: Vec<Option<&'r mut dyn Reporter>>,
}

impl<'r> Fanout<'r> {
    /// Combines reporters.
    pub(crate) fn new(reporters: Vec<&'r mut dyn Reporter>) -> Self {
        Self {
            reporters: reporters.into_iter().map(Some).collect(),
        }
    }
}

impl Reporter for Fanout<'_> {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        let mut first = Ok(());
        for slot in &mut self.reporters {
            if let Some(r) = slot
                && let Err(e) = r.report(event)
            {
                *slot = None;
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
}

#[cfg(test)]
mod tests;
