//! What the scheduler decides ahead for each worker: the step it starts the moment its own
//! step succeeds. An offer goes through a [`Slot`] that the scheduler and the worker share;
//! [`Jobs`] is the scheduler's record of each worker's run of steps and what it offered.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::plan::rank::Rank;
use crate::run::cache::Upstream;

/// A step the scheduler chose ahead for a worker, with what it gets from the steps before it.
pub(super) struct Offer {
    /// The step.
    pub step: usize,
    /// What it gets from the steps before it.
    pub upstream: Upstream,
}

/// Where the scheduler leaves a worker the step to start when its own step succeeds. The
/// scheduler puts an offer in and may take it back; the worker takes it when its step ends.
/// Whichever takes it first decides, so an offered step starts once, and the scheduler
/// learns that it did from the worker's
/// [`Message::Done`](super::Message::Done).
#[derive(Default)]
pub(super) struct Slot(Mutex<Option<Offer>>);

impl Slot {
    /// Leaves `offer` for the worker.
    pub(super) fn put(&self, offer: Offer) {
        *self.lock() = Some(offer);
    }

    /// Takes what is there, by the worker or back by the scheduler.
    pub(super) fn take(&self) -> Option<Offer> {
        self.lock().take()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Offer>> {
        // Nothing panics while holding it; were it poisoned, its content is still whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the scheduler put in a job's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offered {
    /// Nothing is offered.
    Nothing,
    /// A step, from the ready queue (`queued`) or a dependent of the job's step that waits
    /// for nothing else (its successor).
    Step {
        /// The step's rank.
        rank: Rank,
        /// Whether it was taken from the ready queue, and goes back there if taken back.
        queued: bool,
    },
    /// The worker took the offer before it could be taken back; its `Done` will say so.
    Taken,
}

/// A worker's run of steps, as the scheduler sees it.
pub(super) struct Job {
    /// Where its offers go.
    pub slot: Arc<Slot>,
    /// The step it runs now.
    pub step: usize,
    /// Its step started since the last offer was made: its successor is still to be sought.
    pub fresh: bool,
    /// What is in its slot, as far as the scheduler knows.
    pub offered: Offered,
}

impl Job {
    /// Takes the offer back, if the worker has not taken it, and returns the rank of a step
    /// taken from the ready queue, to go back there.
    pub(super) fn take_back(&mut self) -> Option<Rank> {
        let Offered::Step { rank, queued } = self.offered else {
            return None;
        };
        let (offered, back) = match self.slot.take() {
            Some(_) => (Offered::Nothing, queued.then_some(rank)),
            None => (Offered::Taken, None),
        };
        self.offered = offered;
        back
    }
}

/// The jobs on the workers, by number; a number is reused once its job ends.
#[derive(Default)]
pub(super) struct Jobs {
    all: Vec<Option<Job>>,
    free: Vec<usize>,
    running: usize,
}

impl Jobs {
    /// Registers a job that starts with `step` and returns its number.
    pub(super) fn add(&mut self, step: usize) -> usize {
        let job = Job {
            slot: Arc::default(),
            step,
            fresh: true,
            offered: Offered::Nothing,
        };
        self.running += 1;
        match self.free.pop() {
            Some(n) => {
                self.all[n] = Some(job);
                n
            }
            None => {
                self.all.push(Some(job));
                self.all.len() - 1
            }
        }
    }

    /// Forgets job `n`, which ended.
    pub(super) fn remove(&mut self, n: usize) {
        if self.all.get_mut(n).and_then(Option::take).is_some() {
            self.running -= 1;
            self.free.push(n);
        }
    }

    /// How many jobs run.
    pub(super) fn running(&self) -> usize {
        self.running
    }

    /// Job `n`, which runs.
    pub(super) fn get(&self, n: usize) -> &Job {
        match &self.all[n] {
            Some(job) => job,
            None => unreachable!("job {n} ended"),
        }
    }

    /// Job `n`, which runs, to change.
    pub(super) fn get_mut(&mut self, n: usize) -> &mut Job {
        match &mut self.all[n] {
            Some(job) => job,
            None => unreachable!("job {n} ended"),
        }
    }

    /// The steps the running jobs run now.
    pub(super) fn steps(&self) -> impl Iterator<Item = usize> + '_ {
        self.all.iter().flatten().map(|j| j.step)
    }

    /// Every running job, to change.
    pub(super) fn all_mut(&mut self) -> impl Iterator<Item = &mut Job> {
        self.all.iter_mut().flatten()
    }
}
