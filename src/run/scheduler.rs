//! The scheduler: one thread owns the state of every step and decides each step's fate the
//! moment its last dependency ends: it starts (longest critical path first, never more than
//! `parallel` at once) or is skipped, by its `if:` condition or because what it needs did
//! not succeed. Workers on a rayon pool run the steps and report back over a channel.
//!
//! The scheduler also decides ahead: it leaves each worker the step to start next should its
//! own step succeed (see `Slot`). The worker starts it at once and reports both, so a chain
//! of quick steps does not wait for two thread wake-ups between each pair; the decision is
//! still the scheduler's, made with the same priorities, and taken back when they change.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::cache::{self, Upstream};
use super::event::{Event, Outcome, Reporter, SkipReason, Status, StepEnd, Summary};
use super::offer::{Job, Jobs, Offer, Offered, Rank};
use crate::plan::Plan;
use crate::plan::condition::DependencyState;

/// Runs one step. The real one spawns processes; tests use fakes.
pub trait Executor: Sync {
    /// Runs step `index` to its end, on a worker thread. `upstream` holds what it gets from
    /// the steps before it; `emit` passes live output and retries on. `under_way` is to be
    /// called once the step is under way: its process started, or before anything that may
    /// take long (hashing inputs, clearing a folder). The worker holds the report of the step
    /// it ran before until then, so that reporting one step never delays starting the next.
    fn execute(
        &self,
        index: usize,
        upstream: &Upstream,
        emit: &(dyn Fn(Event) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome;
    /// Sends `signal` to every running step, and to any that starts from now on.
    fn stop(&self, signal: i32);
}

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// At most this many steps at once.
    pub parallel: usize,
    /// Start nothing new after the first failure.
    pub fail_fast: bool,
    /// Time between SIGTERM and SIGKILL when interrupted.
    pub grace: Duration,
}

/// What reaches the scheduler thread.
pub enum Message {
    /// A step ended.
    Done {
        /// The worker's job that ran it.
        job: usize,
        /// The step.
        step: usize,
        /// How it ended.
        outcome: Outcome,
        /// The step offered to the job, which the job started next.
        next: Option<usize>,
    },
    /// Something a worker reports while a step runs: output, a retry.
    Event(Event),
    /// cargo flow received a signal.
    Signal(i32),
}

/// How an ended step counts for the steps after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Result {
    Succeeded,
    /// Failed, or skipped because this step (the first cause) failed.
    Failed(usize),
    /// Skipped: by its condition, or because something before it was.
    Skipped,
    /// Stopped, or never started, because cargo flow was interrupted.
    Interrupted,
}

/// The state a run's steps are in, owned by the scheduler thread.
struct Board<'p> {
    plan: &'p Plan,
    pending: Vec<usize>,
    result: Vec<Option<Result>>,
    ends: Vec<Option<StepEnd>>,
    outputs: Vec<Vec<(String, String)>>,
    keys: Vec<Option<String>>,
    ready: BinaryHeap<Rank>,
    ended: usize,
    events: Vec<Event>,
}

impl Board<'_> {
    /// Records how step `i` ended and decides the fate of the steps this unblocks, but for
    /// `started`, which its worker already started in its place.
    fn end(&mut self, i: usize, end: StepEnd, result: Result, started: Option<usize>) {
        self.ended += 1;
        if let StepEnd::Ran(outcome) = &end {
            self.outputs[i] = outcome.outputs.clone();
            // What a step without `cache:` hands on is its outputs, and its artifacts.
            self.keys[i] = outcome.key.clone().or_else(|| {
                (!outcome.artifacts.is_empty())
                    .then(|| cache::handed_digest(&outcome.outputs, &outcome.artifacts))
            });
        }
        self.events.push(match &end {
            StepEnd::Ran(outcome) => Event::StepFinished {
                step: i,
                outcome: outcome.clone(),
            },
            StepEnd::Skipped(reason) => Event::StepSkipped {
                step: i,
                reason: *reason,
            },
        });
        self.ends[i] = Some(end);
        self.result[i] = Some(result);
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

    /// The dependent of `i` that may start the moment `i` succeeds, to be offered to the
    /// worker that runs `i`: `i` is the last step it waits for, every other one succeeded,
    /// and it needs nothing that only the end of `i` can tell (a condition, outputs it reads,
    /// a cache key made of its dependencies' keys).
    fn successor(&self, i: usize) -> Option<usize> {
        self.plan.steps[i]
            .dependents
            .iter()
            .copied()
            .filter(|&d| {
                let s = &self.plan.steps[d];
                self.pending[d] == 1
                    && s.condition.is_none()
                    && s.output_refs.is_empty()
                    && s.cache.is_none()
                    && s.deps
                        .iter()
                        .all(|&p| p == i || self.result[p] == Some(Result::Succeeded))
            })
            .max_by_key(|&d| rank(self.plan, d))
    }

    /// What step `i` gets from the steps before it: the outputs it reads, as its
    /// environment variables (or which one is missing), and, when it is cached, the keys of
    /// the steps it depends on.
    fn upstream(&self, i: usize) -> std::result::Result<Upstream, String> {
        let step = &self.plan.steps[i];
        let refs = &step.output_refs;
        let mut inputs = Vec::with_capacity(refs.len());
        for r in refs {
            match self.outputs[r.step].iter().find(|(k, _)| *k == r.key) {
                Some((_, v)) => inputs.push((r.env.clone(), v.clone())),
                None => {
                    let writer = &self.plan.steps[r.step].id;
                    return Err(format!(
                        "it reads output `{}` of `{writer}`, which `{writer}` did not write",
                        r.key
                    ));
                }
            }
        }
        let deps = match step.cache {
            None => Vec::new(),
            Some(_) => step
                .deps
                .iter()
                .map(|&d| {
                    let key = self.keys[d]
                        .clone()
                        .unwrap_or_else(|| cache::handed_digest(&self.outputs[d], &[]));
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
    fn decide(&mut self, d: usize) {
        // Iterative: skipping a step can decide its dependents in turn, to any depth.
        let mut todo = vec![d];
        while let Some(d) = todo.pop() {
            let step = &self.plan.steps[d];
            let results = step
                .deps
                .iter()
                .map(|&p| self.result[p].unwrap_or(Result::Skipped));
            let mut deps = DependencyState {
                all_succeeded: true,
                any_failed: false,
            };
            let mut first_failed = None;
            let mut first_skipped = None;
            let mut interrupted = false;
            for (p, r) in step.deps.iter().zip(results) {
                match r {
                    Result::Succeeded => {}
                    Result::Interrupted => {
                        deps.all_succeeded = false;
                        interrupted = true;
                    }
                    Result::Failed(root) => {
                        deps.all_succeeded = false;
                        deps.any_failed = true;
                        first_failed.get_or_insert(root);
                    }
                    Result::Skipped => {
                        deps.all_succeeded = false;
                        first_skipped.get_or_insert(*p);
                    }
                }
            }
            let runs = !interrupted
                && match &step.condition {
                    Some(c) => c.holds(deps, &step.cwd),
                    None => deps.all_succeeded,
                };
            if runs {
                self.ready.push((step.weight, Reverse(d)));
                continue;
            }
            // The condition decided only when it was asked: a condition without a status
            // function is never asked when a dependency did not succeed.
            let asked = step
                .condition
                .as_ref()
                .is_some_and(|c| deps.all_succeeded || c.status_aware());
            let (reason, result) = match (asked, first_failed, first_skipped) {
                _ if interrupted => (SkipReason::Interrupted, Result::Interrupted),
                (true, _, _) => (SkipReason::ConditionFalse, Result::Skipped),
                (false, Some(root), _) => {
                    (SkipReason::DependencyFailed(root), Result::Failed(root))
                }
                (false, None, Some(p)) => (SkipReason::DependencySkipped(p), Result::Skipped),
                (false, None, None) => (SkipReason::ConditionFalse, Result::Skipped),
            };
            self.ended += 1;
            self.events.push(Event::StepSkipped { step: d, reason });
            self.ends[d] = Some(StepEnd::Skipped(reason));
            self.result[d] = Some(result);
            for &n in &self.plan.steps[d].dependents {
                self.pending[n] -= 1;
                if self.pending[n] == 0 {
                    todo.push(n);
                }
            }
        }
    }
}

/// The rank of step `i`, as the ready queue orders steps.
fn rank(plan: &Plan, i: usize) -> Rank {
    (plan.steps[i].weight, Reverse(i))
}

/// Takes back what was offered to `job`, if its worker has not taken it: a step from the ready
/// queue returns to it; a successor is decided as usual when its last dependency ends.
fn take_back(board: &mut Board, job: &mut Job) {
    if let Some(rank) = job.take_back() {
        board.ready.push(rank);
    }
}

/// Fills an empty slot with the best step to start after the job's own: the front of the
/// ready queue, or, if it ranks higher, the successor of a step the job has just started
/// (sought once a step, so that a step with many dependents costs its scan once).
fn offer_ahead(board: &mut Board, job: &mut Job) {
    if job.offered != Offered::Nothing {
        return;
    }
    let successor = if std::mem::take(&mut job.fresh) {
        board.successor(job.step)
    } else {
        None
    };
    let top = board.ready.peek().copied();
    let queued = match (successor.map(|d| rank(board.plan, d)), top) {
        (Some(s), Some(t)) => t > s,
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (None, None) => return,
    };
    let offer = if queued {
        let Some(rank @ (_, Reverse(step))) = board.ready.pop() else {
            return;
        };
        match board.upstream(step) {
            Ok(upstream) => Offer { step, upstream },
            Err(_) => {
                // It fails without running: left to the scheduler, which reports why.
                board.ready.push(rank);
                return;
            }
        }
    } else {
        let Some(step) = successor else { return };
        Offer {
            step,
            upstream: Upstream::default(),
        }
    };
    job.offered = Offered::Step {
        rank: rank(board.plan, offer.step),
        queued,
    };
    job.slot.put(offer);
}

/// Runs one step on a worker. A bug in a step's handling must end that step, never hang the
/// run.
fn run_step<E: Executor>(
    executor: &E,
    step: usize,
    upstream: &Upstream,
    emit: &(dyn Fn(Event) + Sync),
    under_way: &dyn Fn(),
) -> Outcome {
    let run = std::panic::AssertUnwindSafe(|| executor.execute(step, upstream, emit, under_way));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Outcome::error(format!("internal error in cargo flow: {what}"))
    })
}

/// How long a run goes before signals are forwarded to it: a run that ends sooner never
/// starts the thread that forwards them. Handlers are installed before the run, so a signal
/// that comes earlier waits, and is forwarded at this point.
pub const FORWARD_SIGNALS_AFTER: Duration = Duration::from_millis(20);

/// Runs a plan to its end and returns the summary. `signals` delivers SIGINT/SIGTERM as
/// [`Message::Signal`] through the sender it is given; it is called once the run has lasted
/// [`FORWARD_SIGNALS_AFTER`], if it lasts that long.
pub fn run<E: Executor>(
    plan: &Plan,
    executor: &E,
    options: &RunOptions,
    reporter: &mut dyn Reporter,
    signals: impl FnOnce(mpsc::SyncSender<Message>),
) -> Summary {
    // Never more workers than steps can run at once: a one-step run starts one thread, not one
    // per CPU, and a chain one, whose idle workers would only spin. Steps on one path never
    // run together, so at most `n - longest + 1` do.
    let longest = plan.steps.iter().map(|s| s.weight).max().unwrap_or(0) as usize;
    let width = plan.steps.len().saturating_sub(longest) + 1;
    let parallel = options.parallel.clamp(1, width);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(parallel)
        .thread_name(|i| format!("flow-worker-{i}"))
        .build()
    {
        Ok(p) => Pool::Own(p),
        Err(_) => Pool::Global,
    };
    let n = plan.steps.len();
    // Bounded, so that a step flooding its output waits for the reporter; small, because the
    // channel's buffer is allocated and touched whole when it is made.
    let (tx, rx) = mpsc::sync_channel::<Message>(64);
    let mut signals = Some(signals);
    let start = Instant::now();
    reporter.event(&Event::RunStarted { total: n, parallel });

    let mut board = Board {
        plan,
        pending: plan.steps.iter().map(|s| s.deps.len()).collect(),
        result: vec![None; n],
        ends: vec![None; n],
        outputs: vec![Vec::new(); n],
        keys: vec![None; n],
        ready: BinaryHeap::new(),
        ended: 0,
        events: Vec::new(),
    };
    for (i, s) in plan.steps.iter().enumerate() {
        if s.deps.is_empty() {
            board.decide(i);
        }
    }
    let mut stop_starting: Option<SkipReason> = None;
    let mut interrupted: Option<i32> = None;
    let mut kill_at: Option<Instant> = None;
    // Set once nothing new may start: a worker reads it before it takes its offer.
    let halt = AtomicBool::new(false);
    let mut jobs = Jobs::default();

    pool.scope(|scope| {
        loop {
            // A free worker takes the best ready step, even one offered to a busy worker,
            // which would otherwise wait for that worker's step to end.
            if stop_starting.is_none() && jobs.running() < parallel {
                for job in jobs.all_mut() {
                    if matches!(job.offered, Offered::Step { queued: true, .. }) {
                        take_back(&mut board, job);
                    }
                }
            }
            // Start what may start.
            while stop_starting.is_none() && jobs.running() < parallel {
                let Some((_, Reverse(i))) = board.ready.pop() else {
                    break;
                };
                board.events.push(Event::StepStarted { step: i });
                let upstream = match board.upstream(i) {
                    Ok(inputs) => inputs,
                    Err(message) => {
                        // An output it reads was never written: it fails without running.
                        let outcome = Outcome::error(message);
                        if options.fail_fast && stop_starting.is_none() {
                            stop_starting = Some(SkipReason::FailFast(i));
                        }
                        board.end(i, StepEnd::Ran(outcome), Result::Failed(i), None);
                        continue;
                    }
                };
                let job = jobs.add(i);
                let slot = Arc::clone(&jobs.get(job).slot);
                let tx = tx.clone();
                let (halt, fail_fast) = (&halt, options.fail_fast);
                scope.spawn(move |_| {
                    // The report of a step whose worker went straight on to an offered step
                    // waits until that step is under way (see `Executor::execute`).
                    let held: Mutex<Option<Message>> = Mutex::new(None);
                    let under_way = || {
                        let report = held.lock().unwrap_or_else(PoisonError::into_inner).take();
                        if let Some(report) = report {
                            let _ = tx.send(report);
                        }
                    };
                    let emit = |e: Event| {
                        under_way();
                        let _ = tx.send(Message::Event(e));
                    };
                    let (mut step, mut upstream) = (i, upstream);
                    loop {
                        let outcome = run_step(executor, step, &upstream, &emit, &under_way);
                        under_way();
                        let succeeded = outcome.status.is_success();
                        if !succeeded && fail_fast {
                            halt.store(true, Ordering::SeqCst);
                        }
                        let offer = if succeeded && !halt.load(Ordering::SeqCst) {
                            slot.take()
                        } else {
                            None
                        };
                        let next = offer.as_ref().map(|o| o.step);
                        let done = Message::Done {
                            job,
                            step,
                            outcome,
                            next,
                        };
                        match offer {
                            Some(o) => {
                                *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(done);
                                (step, upstream) = (o.step, o.upstream);
                            }
                            None => {
                                let _ = tx.send(done);
                                break;
                            }
                        }
                    }
                });
            }
            // Decide ahead what each worker starts next, or take back an offer that a step
            // which became ready since then outranks. Once nothing new may start, workers
            // leave their offers, which come back as their jobs end.
            if stop_starting.is_some() {
                halt.store(true, Ordering::SeqCst);
            } else {
                // Only now, once every free worker got a step: what is ready is offered only
                // when no worker is free to start it.
                for job in jobs.all_mut() {
                    if let (Offered::Step { rank, .. }, Some(&top)) =
                        (job.offered, board.ready.peek())
                        && rank < top
                    {
                        take_back(&mut board, job);
                    }
                    offer_ahead(&mut board, job);
                }
            }
            // Reported only now, so that steps unblocked by a finished step start before the
            // finished step's line is drawn.
            for e in board.events.drain(..) {
                reporter.event(&e);
            }
            if board.ended == n
                || (jobs.running() == 0 && (stop_starting.is_some() || board.ready.is_empty()))
            {
                break;
            }
            // Checked on every turn: a flood of output must not postpone the SIGKILL.
            if kill_at.is_some_and(|k| Instant::now() >= k) {
                executor.stop(libc::SIGKILL);
                kill_at = None;
            }
            if start.elapsed() >= FORWARD_SIGNALS_AFTER
                && let Some(forward) = signals.take()
            {
                forward(tx.clone());
            }
            let mut wait = kill_at.map_or(Duration::from_secs(1), |k| {
                k.saturating_duration_since(Instant::now())
            });
            if signals.is_some() {
                wait = wait.min(FORWARD_SIGNALS_AFTER.saturating_sub(start.elapsed()));
            }
            let msg = match rx.recv_timeout(wait.min(Duration::from_secs(1))) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if kill_at.is_some_and(|k| Instant::now() >= k) {
                        executor.stop(libc::SIGKILL);
                        kill_at = None;
                    }
                    reporter.event(&Event::Tick);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match msg {
                Message::Event(e) => reporter.event(&e),
                Message::Signal(sig) => {
                    let forced = interrupted.is_some();
                    interrupted.get_or_insert(sig);
                    stop_starting = Some(SkipReason::Interrupted);
                    // Before the steps are stopped, so that no worker goes on to a new one.
                    halt.store(true, Ordering::SeqCst);
                    reporter.event(&Event::Interrupted {
                        signal: sig,
                        forced,
                    });
                    if forced {
                        executor.stop(libc::SIGKILL);
                        kill_at = None;
                    } else {
                        executor.stop(libc::SIGTERM);
                        kill_at = Some(Instant::now() + options.grace);
                    }
                }
                Message::Done {
                    job,
                    step: i,
                    outcome,
                    next,
                } => {
                    let result = match outcome.status {
                        ref s if s.is_success() => Result::Succeeded,
                        Status::Interrupted => Result::Interrupted,
                        _ => Result::Failed(i),
                    };
                    if result == Result::Failed(i) && options.fail_fast && stop_starting.is_none() {
                        stop_starting = Some(SkipReason::FailFast(i));
                    }
                    board.end(i, StepEnd::Ran(outcome), result, next);
                    match next {
                        Some(next) => {
                            board.events.push(Event::StepStarted { step: next });
                            let job = jobs.get_mut(job);
                            job.step = next;
                            job.offered = Offered::Nothing;
                            job.fresh = true;
                        }
                        None => {
                            // Its worker is gone; what was offered to it comes back.
                            take_back(&mut board, jobs.get_mut(job));
                            jobs.remove(job);
                        }
                    }
                }
            }
        }
    });

    // What never started is skipped, with the reason that stopped the run.
    let reason = stop_starting.unwrap_or(SkipReason::Interrupted);
    for (i, end) in board.ends.iter_mut().enumerate() {
        if end.is_none() {
            reporter.event(&Event::StepSkipped { step: i, reason });
            *end = Some(StepEnd::Skipped(reason));
        }
    }
    let steps: Vec<StepEnd> = board
        .ends
        .into_iter()
        .map(|e| e.unwrap_or(StepEnd::Skipped(reason)))
        .collect();
    let critical_path = critical_path(plan, &steps);
    let summary = Summary {
        steps,
        wall: start.elapsed(),
        critical_path,
        interrupted,
    };
    reporter.event(&Event::RunFinished {
        summary: summary.clone(),
    });
    summary
}

/// The chain of steps that ran whose durations add up to the most.
fn critical_path(plan: &Plan, steps: &[StepEnd]) -> Vec<usize> {
    let n = plan.steps.len();
    let dur = |i: usize| match &steps[i] {
        StepEnd::Ran(o) => Some(o.duration),
        StepEnd::Skipped(_) => None,
    };
    let mut best: Vec<Option<(Duration, Option<usize>)>> = vec![None; n];
    for &i in &plan.order {
        let Some(d) = dur(i) else { continue };
        let before = plan.steps[i]
            .deps
            .iter()
            .filter_map(|&p| best[p].map(|(t, _)| (t, p)))
            .max_by_key(|(t, _)| *t);
        best[i] = Some(match before {
            Some((t, p)) => (t + d, Some(p)),
            None => (d, None),
        });
    }
    let Some(mut cur) = (0..n)
        .filter(|&i| best[i].is_some())
        .max_by_key(|&i| best[i].map(|(t, _)| t))
    else {
        return Vec::new();
    };
    let mut path = vec![cur];
    while let Some((_, Some(prev))) = best[cur] {
        path.push(prev);
        cur = prev;
    }
    path.reverse();
    path
}

/// The workers: a pool of exactly `parallel` threads, or, should that fail to start, the
/// global pool, so that a run still happens.
enum Pool {
    Own(rayon::ThreadPool),
    Global,
}

impl Pool {
    fn scope<'s, R>(&self, f: impl FnOnce(&rayon::Scope<'s>) -> R) -> R {
        match self {
            Pool::Own(p) => p.in_place_scope(f),
            Pool::Global => rayon::in_place_scope(f),
        }
    }
}
