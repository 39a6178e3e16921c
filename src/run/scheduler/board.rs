//! The state a run's steps are in, owned by the scheduler thread: how each ended, what each
//! still waits for, what is ready, and what each hands on to the steps after it.

use std::collections::BinaryHeap;

use crate::plan::Plan;
use crate::plan::condition::DependencyState;
use crate::plan::rank::{Rank, rank};
use crate::run::cache::{self, Upstream};
use crate::run::event::{EventKind, Outcome, SkipReason, StepEnd};
use crate::run::stats::RunStats;
use crate::run::status::{Status, StepError};

/// How a step's end counts for the steps after it, read from the end itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Succeeded,
    /// Failed, or skipped because this step (the first cause) failed.
    Failed(usize),
    /// Skipped: by its condition, or because something before it was.
    Skipped,
    /// Stopped, or never started, because cargo flow was interrupted.
    Interrupted,
}

/// The steps of a run, as the scheduler sees them.
pub(super) struct Board<'p> {
    pub(super) plan: &'p Plan,
    pending: Vec<usize>,
    pub(super) ends: Vec<Option<StepEnd>>,
    outputs: Vec<Vec<(String, String)>>,
    keys: Vec<Option<String>>,
    pub(super) ready: BinaryHeap<Rank>,
    pub(super) ended: usize,
    /// What happened since the reporter was last told.
    pub(super) events: Vec<EventKind>,
    /// The totals, counted as events are made.
    pub(super) stats: RunStats,
    /// The steps a change stopped (`--watch`): none starts again in this run.
    restarting: Vec<bool>,
}

impl<'p> Board<'p> {
    /// The board of a run that has not started: steps that wait for nothing are decided.
    pub(super) fn new(plan: &'p Plan) -> Self {
        let n = plan.steps.len();
        let mut board = Board {
            plan,
            pending: plan.steps.iter().map(|s| s.deps.len()).collect(),
            ends: vec![None; n],
            outputs: vec![Vec::new(); n],
            keys: vec![None; n],
            ready: BinaryHeap::new(),
            ended: 0,
            events: Vec::new(),
            stats: RunStats::default(),
            restarting: vec![false; n],
        };
        for (i, s) in plan.steps.iter().enumerate() {
            if s.deps.is_empty() {
                board.decide(i);
            }
        }
        board
    }

    /// Records an event for the reporter, counting it.
    pub(super) fn event(&mut self, kind: EventKind) {
        self.stats.observe(&kind);
        self.events.push(kind);
    }

    fn effect(&self, p: usize) -> Effect {
        match &self.ends[p] {
            Some(StepEnd::Ran(o)) if o.status.is_success() => Effect::Succeeded,
            Some(StepEnd::Ran(o)) if o.status == Status::Interrupted => Effect::Interrupted,
            Some(StepEnd::Ran(_)) => Effect::Failed(p),
            Some(StepEnd::Skipped(SkipReason::DependencyFailed(root))) => Effect::Failed(*root),
            Some(StepEnd::Skipped(SkipReason::Interrupted)) => Effect::Interrupted,
            Some(StepEnd::Skipped(_)) | None => Effect::Skipped,
        }
    }

    /// Whether step `p` succeeded.
    pub(super) fn succeeded(&self, p: usize) -> bool {
        self.effect(p) == Effect::Succeeded
    }

    /// Records how step `i` ended and decides the fate of the steps this unblocks, but for
    /// `started`, which its worker already started in its place.
    pub(super) fn end(&mut self, i: usize, outcome: Outcome, started: Option<usize>) {
        self.ended += 1;
        self.outputs[i] = outcome.outputs.clone();
        // What a step without `cache:` hands on is its outputs, and its artifacts.
        self.keys[i] = outcome.key.clone().or_else(|| {
            (!outcome.artifacts.is_empty())
                .then(|| cache::handed_digest(self.plan, &outcome.outputs, &outcome.artifacts))
        });
        self.event(EventKind::StepFinished {
            step: i,
            outcome: outcome.clone(),
        });
        self.ends[i] = Some(StepEnd::Ran(outcome));
        let mut unblocked = Vec::new();
        for &d in &self.plan.steps[i].dependents {
            self.pending[d] -= 1;
            if self.pending[d] == 0 {
                unblocked.push(d);
            }
        }
        for d in unblocked {
            if Some(d) != started {
                self.decide(d);
            }
        }
    }

    /// A change affects `steps` (`--watch`): none of them starts in this run, those ready
    /// are skipped now, as interrupted, and so are the steps after them in turn.
    pub(super) fn restart(&mut self, steps: &[usize]) {
        for &i in steps {
            if let Some(r) = self.restarting.get_mut(i) {
                *r = true;
            }
        }
        let ready = std::mem::take(&mut self.ready).into_vec();
        let (withdrawn, kept): (Vec<Rank>, Vec<Rank>) =
            ready.into_iter().partition(|(_, i)| self.restarting[i.0]);
        self.ready.extend(kept);
        for (_, i) in withdrawn {
            self.decide(i.0);
        }
    }

    /// Records that step `i` will not run.
    pub(super) fn skip(&mut self, i: usize, reason: SkipReason) {
        self.event(EventKind::StepSkipped { step: i, reason });
        self.ends[i] = Some(StepEnd::Skipped(reason));
    }

    /// The dependent of `i` that may start the moment `i` succeeds, to be offered to the
    /// worker that runs `i`: `i` is the last step it waits for, every other one succeeded,
    /// and it needs nothing that only the end of `i` can tell (a condition, outputs it reads,
    /// a cache key made of its dependencies' keys, what else runs beside it).
    pub(super) fn successor(&self, i: usize) -> Option<usize> {
        self.plan.steps[i]
            .dependents
            .iter()
            .copied()
            .filter(|&d| {
                let s = &self.plan.steps[d];
                self.pending[d] == 1
                    && !self.restarting[d]
                    && !s.waits_for_others()
                    && s.condition.is_none()
                    && s.output_refs.is_empty()
                    && s.cache.is_none()
                    && s.deps.iter().all(|&p| p == i || self.succeeded(p))
            })
            .max_by_key(|&d| rank(self.plan, d))
    }

    /// What step `i` gets from the steps before it: the outputs it reads, as its
    /// environment variables (or which one is missing), and, when it is cached, the keys of
    /// the steps it depends on.
    pub(super) fn upstream(&self, i: usize) -> Result<Upstream, StepError> {
        let step = &self.plan.steps[i];
        let mut inputs = Vec::with_capacity(step.output_refs.len());
        for r in &step.output_refs {
            match self.outputs[r.step].iter().find(|(k, _)| *k == r.key) {
                Some((_, v)) => inputs.push((r.env.clone(), v.clone())),
                None => {
                    let writer = &self.plan.steps[r.step].id;
                    return Err(StepError::Inputs(format!(
                        "it reads output `{}` of `{writer}`, which `{writer}` did not write",
                        r.key
                    )));
                }
            }
        }
        let deps = match step.cache {
            None => Vec::new(),
            // A step it only comes after does not key it.
            Some(_) => step
                .deps
                .iter()
                .filter(|d| !step.after.contains(d))
                .map(|&d| {
                    let key = self.keys[d]
                        .clone()
                        .unwrap_or_else(|| cache::handed_digest(self.plan, &self.outputs[d], &[]));
                    (self.plan.steps[d].id.clone(), key)
                })
                .collect(),
        };
        Ok(Upstream {
            outputs: inputs,
            deps,
        })
    }

    /// A step whose dependencies have all ended: it runs, or it is skipped, with the reason.
    pub(super) fn decide(&mut self, d: usize) {
        // Iterative: skipping a step can decide its dependents in turn, to any depth.
        let mut todo = vec![d];
        while let Some(d) = todo.pop() {
            let Some(reason) = self.skip_reason(d) else {
                self.ready.push(rank(self.plan, d));
                continue;
            };
            self.ended += 1;
            self.skip(d, reason);
            for &n in &self.plan.steps[d].dependents {
                self.pending[n] -= 1;
                if self.pending[n] == 0 {
                    todo.push(n);
                }
            }
        }
    }

    /// Why step `d`, whose dependencies have all ended, does not run; `None` when it runs.
    fn skip_reason(&self, d: usize) -> Option<SkipReason> {
        if self.restarting[d] {
            return Some(SkipReason::Interrupted);
        }
        let step = &self.plan.steps[d];
        let mut deps = DependencyState {
            all_succeeded: true,
            any_failed: false,
        };
        let (mut first_failed, mut first_skipped, mut interrupted) = (None, None, false);
        for &p in &step.deps {
            match self.effect(p) {
                Effect::Succeeded => {}
                Effect::Interrupted => {
                    deps.all_succeeded = false;
                    interrupted = true;
                }
                Effect::Failed(root) => {
                    deps.all_succeeded = false;
                    deps.any_failed = true;
                    first_failed.get_or_insert(root);
                }
                Effect::Skipped => {
                    deps.all_succeeded = false;
                    first_skipped.get_or_insert(p);
                }
            }
        }
        let runs = !interrupted
            && match &step.condition {
                Some(c) => c.holds(deps, &step.cwd),
                None => deps.all_succeeded,
            };
        if runs {
            return None;
        }
        // The condition decided only when it was asked: a condition without a status
        // function is never asked when a dependency did not succeed.
        let asked = step
            .condition
            .as_ref()
            .is_some_and(|c| deps.all_succeeded || c.status_aware());
        Some(match (asked, first_failed, first_skipped) {
            _ if interrupted => SkipReason::Interrupted,
            (true, _, _) => SkipReason::ConditionFalse,
            (false, Some(root), _) => SkipReason::DependencyFailed(root),
            (false, None, Some(p)) => SkipReason::DependencySkipped(p),
            (false, None, None) => SkipReason::ConditionFalse,
        })
    }
}
