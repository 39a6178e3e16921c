//! Reporters: they consume the scheduler's events and show them as progress bars, plain
//! lines, summaries and JSON.

pub mod console;
pub mod graph;
pub mod json;
pub mod line;
pub mod output;
pub mod summary;

use crate::run::{Event, Reporter};

/// Passes every event to each of several reporters, in order.
pub struct Fanout<'r> {
    reporters: Vec<&'r mut dyn Reporter>,
}

impl<'r> Fanout<'r> {
    /// Combines reporters.
    pub fn new(reporters: Vec<&'r mut dyn Reporter>) -> Self {
        Self { reporters }
    }
}

impl Reporter for Fanout<'_> {
    fn event(&mut self, event: &Event) {
        for r in &mut self.reporters {
            r.event(event);
        }
    }
}
