//! A worker: runs the step it was given, then the step the scheduler offered it ahead, and so
//! on while there is one, reporting each step's end to the scheduler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use super::offer::Slot;
use super::{Executor, Message};
use crate::run::cache::Upstream;
use crate::run::event::{EventKind, Outcome};
use crate::run::status::{Status, StepError};

/// What a worker shares with the scheduler.
pub(super) struct Shared {
    /// Where its ends go.
    pub(super) tx: mpsc::SyncSender<Message>,
    /// Where the scheduler leaves the step to start next.
    pub(super) slot: Arc<Slot>,
    /// Set once nothing new may start: read before an offer is taken.
    pub(super) halt: Arc<AtomicBool>,
    /// `--fail-fast`: a failure sets `halt` at once.
    pub(super) fail_fast: bool,
}

/// Runs job `job` from `step` on, for as long as offers keep coming.
pub(super) fn work<E: Executor>(
    executor: &E,
    job: usize,
    step: usize,
    upstream: Upstream,
    shared: &Shared,
) {
    // The report of a step whose worker went straight on to an offered step waits until that
    // step is under way (see `Executor::execute`).
    let held: Mutex<Option<Message>> = Mutex::new(None);
    let under_way = || {
        let report = held.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(report) = report {
            let _ = shared.tx.send(report);
        }
    };
    let emit = |e: EventKind| {
        under_way();
        let _ = shared.tx.send(Message::Event(e));
    };
    let (mut step, mut upstream) = (step, upstream);
    loop {
        let outcome = run_step(executor, step, &upstream, &emit, &under_way);
        under_way();
        let succeeded = outcome.status.is_success();
        if !succeeded && shared.fail_fast {
            shared.halt.store(true, Ordering::SeqCst);
        }
        let offer = if succeeded && !shared.halt.load(Ordering::SeqCst) {
            shared.slot.take()
        } else {
            None
        };
        let done = Message::Done {
            job,
            step,
            outcome,
            next: offer.as_ref().map(|o| o.step),
        };
        match offer {
            Some(o) => {
                *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(done);
                (step, upstream) = (o.step, o.upstream);
            }
            None => {
                let _ = shared.tx.send(done);
                return;
            }
        }
    }
}

/// Runs one step. A bug in a step's handling must end that step, never hang the run.
fn run_step<E: Executor>(
    executor: &E,
    step: usize,
    upstream: &Upstream,
    emit: &(dyn Fn(EventKind) + Sync),
    under_way: &dyn Fn(),
) -> Outcome {
    let run = std::panic::AssertUnwindSafe(|| executor.execute(step, upstream, emit, under_way));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Outcome::of(Status::Errored(StepError::Internal(what)))
    })
}
