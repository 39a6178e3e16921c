//! The totals of a run, counted once as its events pass.

use std::time::Duration;

use super::event::EventKind;
use super::status::Status;

/// How many steps ended which way, and the time they took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Steps that succeeded, cached ones and flaky ones included.
    pub succeeded: usize,
    /// Successes after a failed attempt.
    pub flaky: usize,
    /// Steps skipped as cached.
    pub cached: usize,
    /// The time cached steps took when they last ran.
    pub saved: Duration,
    /// Steps that failed or timed out.
    pub failed: usize,
    /// Steps stopped by an interrupt.
    pub interrupted: usize,
    /// Steps that did not run.
    pub skipped: usize,
    /// The time steps ran, added up.
    pub busy: Duration,
    /// The part of `busy` that cargo spent waiting for a lock another cargo held.
    pub blocked: Duration,
}

impl RunStats {
    /// Counts what an event says.
    pub fn observe(&mut self, kind: &EventKind) {
        match kind {
            EventKind::StepFinished { outcome, .. } => {
                self.busy += outcome.duration;
                self.blocked += outcome.blocked;
                match &outcome.status {
                    s if s.is_success() => {
                        self.succeeded += 1;
                        self.flaky += usize::from(outcome.is_flaky());
                        if let Status::Cached { saved, .. } = s {
                            self.cached += 1;
                            self.saved += *saved;
                        }
                    }
                    Status::Interrupted => self.interrupted += 1,
                    _ => self.failed += 1,
                }
            }
            EventKind::StepSkipped { .. } => self.skipped += 1,
            _ => {}
        }
    }
}
