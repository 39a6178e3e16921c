//! The scheduler: one thread owns the state of every step and decides each step's fate the
//! moment its last dependency ends: it starts (longest critical path first, never more than
//! `parallel` at once) or is skipped, by its `if:` condition or because what it needs did
//! not succeed. Workers on a rayon pool run the steps and report back over a channel.
//!
//! The scheduler also decides ahead: it leaves each worker the step to start next should its
//! own step succeed (see [`offer::Slot`]). The worker starts it at once and reports both, so
//! a chain of quick steps does not wait for two thread wake-ups between each pair; the
//! decision is still the scheduler's, made with the same priorities, and taken back when they
//! change.

mod board;
mod offer;
mod slots;
mod worker;

use std::cmp::Reverse;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use board::Board;
use offer::{Job, Jobs, Offer, Offered};
use slots::Slots;

use super::cache::Upstream;
use super::event::{
    CargoLock, Event, EventKind, Outcome, ReportError, Reporter, Signal, SkipReason, StepEnd,
    StepInfo, Summary,
};
use super::status::Status;
use crate::plan::Plan;
use crate::plan::rank::rank;
use crate::sys::{self, Stop};

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
        emit: &(dyn Fn(EventKind) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome;
    /// Stops every running step, and any that would start from now on.
    fn stop(&self, how: Stop);
    /// Stops these steps if they run, and has them end at once, interrupted, should they
    /// start; the others go on. An executor that cannot stops every step.
    fn stop_steps(&self, steps: &[usize], how: Stop) {
        let _ = steps;
        self.stop(how);
    }
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
    /// The jobserver whose slots steps run in: each running step holds one, and what it
    /// runs takes the others from the same pool. `None`: `parallel` alone limits the run.
    pub jobserver: Option<jobserver::Client>,
    /// With `--affected`: the packages chosen, told to reporters.
    pub affected: Option<Arc<super::event::Selection>>,
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
    Event(EventKind),
    /// cargo flow received a signal.
    Signal(i32),
    /// A file the run reads changed (`--watch`): the steps it affects stop (every step,
    /// when `steps` is `None`), to start again in the next run.
    Restart {
        /// The file, as its path is shown.
        path: String,
        /// The steps it affects, with every step after them that it keys.
        steps: Option<Vec<usize>>,
    },
    /// The jobserver's helper thread acquired a token.
    Token(std::io::Result<jobserver::Acquired>),
}

/// How long a run goes before signals are forwarded to it: a run that ends sooner never
/// starts the thread that forwards them. Handlers are installed before the run, so a signal
/// that comes earlier waits, and is forwarded at this point.
pub(crate) const FORWARD_SIGNALS_AFTER: Duration = Duration::from_millis(20);

/// Runs a plan to its end and returns the summary, and the error of a reporter that failed
/// (which stopped the run). `signals` delivers SIGINT/SIGTERM as [`Message::Signal`] through
/// the sender it is given; it is called once the run has lasted 20 ms, if
/// it lasts that long.
pub fn run<E: Executor>(
    plan: &Plan,
    executor: &E,
    options: &RunOptions,
    reporter: &mut dyn Reporter,
    signals: impl FnOnce(mpsc::SyncSender<Message>),
) -> (Summary, Option<ReportError>) {
    // Never more workers than steps can run at once: a one-step run starts one thread, not one
    // per CPU, and a chain one, whose idle workers would only spin. Steps on one path never
    // run together, so at most `n - longest + 1` do.
    let longest = plan.steps.iter().map(|s| s.weight).max().unwrap_or(0) as usize;
    let width = plan.steps.len().saturating_sub(longest) + 1;
    let parallel = options.parallel.clamp(1, width);
    let pool = Pool::new(parallel);
    // Bounded, so that a step flooding its output waits for the reporter; small, because the
    // channel's buffer is allocated and touched whole when it is made.
    let (tx, rx) = mpsc::sync_channel::<Message>(64);
    let mut s = Scheduler {
        plan,
        executor,
        options,
        reporter,
        board: Board::new(plan),
        jobs: Jobs::default(),
        halt: Arc::new(AtomicBool::new(false)),
        parallel,
        start: Instant::now(),
        stop_starting: None,
        interrupted: None,
        kill_at: None,
        restart_kill: Vec::new(),
        failed_reporter: None,
        slots: options.jobserver.clone().map(Slots::new),
        built: vec![false; plan.steps.len()],
    };
    s.tell(EventKind::RunStarted {
        workflow: plan.workflow.clone(),
        steps: step_infos(plan),
        parallel,
        affected: options.affected.clone(),
    });
    let mut signals = Some(signals);
    pool.scope(|scope| {
        loop {
            s.start_ready(scope, &tx);
            s.offer_ahead();
            s.manage_slots(&tx);
            s.flush();
            if s.over() {
                break;
            }
            s.kill_when_due();
            if s.start.elapsed() >= FORWARD_SIGNALS_AFTER
                && let Some(forward) = signals.take()
            {
                forward(tx.clone());
            }
            match rx.recv_timeout(s.wait(signals.is_some())) {
                Ok(msg) => s.handle(msg),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    s.kill_when_due();
                    s.tell(EventKind::Tick);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    s.finish()
}

/// What a reporter knows of each step.
fn step_infos(plan: &Plan) -> Arc<[StepInfo]> {
    plan.steps
        .iter()
        .map(|s| StepInfo {
            id: s.id.clone(),
            depends_on: s.deps.clone(),
            condition: s.condition.as_ref().map(|c| c.text.clone()),
            attempts: s.retry.retries.saturating_add(1),
            artifact_dir: plan.artifact_dir(s),
        })
        .collect()
}

/// The scheduler thread's state during a run.
struct Scheduler<'a, E> {
    plan: &'a Plan,
    executor: &'a E,
    options: &'a RunOptions,
    reporter: &'a mut dyn Reporter,
    board: Board<'a>,
    jobs: Jobs,
    /// Set once nothing new may start: a worker reads it before it takes its offer.
    halt: Arc<AtomicBool>,
    parallel: usize,
    start: Instant,
    /// Why nothing new starts, once that is so.
    stop_starting: Option<SkipReason>,
    /// The signal that interrupted the run.
    interrupted: Option<i32>,
    /// When running steps get SIGKILL, after a SIGTERM.
    kill_at: Option<Instant>,
    /// When the steps a change stopped get SIGKILL, after a SIGTERM (`--watch`).
    /// Each change's deadline: every step a change stops gets its SIGKILL, however many
    /// changes come after it.
    restart_kill: Vec<(Instant, Vec<usize>)>,
    /// The first reporter error, which stopped the run.
    failed_reporter: Option<ReportError>,
    /// The jobserver's slots that steps run in.
    slots: Option<Slots>,
    /// Which running steps' cargo said it is done building (and let go of its lock).
    built: Vec<bool>,
}

impl<'a, E: Executor> Scheduler<'a, E> {
    /// Tells the reporter; a reporter that fails stops the run as an interrupt would.
    fn tell(&mut self, kind: EventKind) {
        let event = Event {
            elapsed: self.start.elapsed(),
            kind,
        };
        if let Err(e) = self.reporter.report(&event)
            && self.failed_reporter.is_none()
        {
            self.failed_reporter = Some(e);
            self.stop_all(false);
        }
    }

    /// Reports what happened since the last time: steps unblocked by a finished step start
    /// before the finished step's line is drawn.
    fn flush(&mut self) {
        for kind in std::mem::take(&mut self.board.events) {
            self.tell(kind);
        }
    }

    /// Starts ready steps while workers are free.
    fn start_ready<'s>(&mut self, scope: &rayon::Scope<'s>, tx: &mpsc::SyncSender<Message>)
    where
        'a: 's,
    {
        // A free worker takes the best ready step, even one offered to a busy worker, which
        // would otherwise wait for that worker's step to end.
        let free = self.jobs.running() < self.parallel
            && self
                .slots
                .as_ref()
                .is_none_or(|s| s.free(self.jobs.running()));
        if self.stop_starting.is_none() && free {
            for job in self.jobs.all_mut() {
                if matches!(job.offered, Offered::Step { queued: true, .. }) {
                    take_back(&mut self.board, job);
                }
            }
        }
        // Steps whose `exclusive` group a running step holds wait, in the queue.
        let mut aside = Vec::new();
        while self.stop_starting.is_none()
            && self.jobs.running() < self.parallel
            && self
                .slots
                .as_ref()
                .is_none_or(|s| s.free(self.jobs.running()))
        {
            let Some(rank @ (_, Reverse(i))) = self.board.ready.pop() else {
                break;
            };
            if self.held(i) {
                aside.push(rank);
                continue;
            }
            self.board.event(EventKind::StepStarted { step: i });
            let upstream = match self.board.upstream(i) {
                Ok(u) => u,
                Err(e) => {
                    // An output it reads was never written: it fails without running.
                    if self.options.fail_fast {
                        self.stop_starting = Some(SkipReason::FailFast(i));
                    }
                    self.board.end(i, Outcome::of(Status::Errored(e)), None);
                    continue;
                }
            };
            let job = self.jobs.add(i);
            let shared = worker::Shared {
                tx: tx.clone(),
                slot: Arc::clone(&self.jobs.get(job).slot),
                halt: Arc::clone(&self.halt),
                fail_fast: self.options.fail_fast,
            };
            let executor = self.executor;
            scope.spawn(move |_| worker::work(executor, job, i, upstream, &shared));
        }
        self.board.ready.extend(aside);
    }

    /// Whether step `i` must wait for a running step: one that shares an `exclusive` group
    /// with it, or that is building in a target dir it builds in (until its cargo says
    /// `Finished`: cargo lets go of the lock before it runs tests).
    fn held(&self, i: usize) -> bool {
        let step = &self.plan.steps[i];
        step.waits_for_others()
            && self.jobs.steps().any(|s| {
                let other = &self.plan.steps[s];
                other.exclusive.iter().any(|g| step.exclusive.contains(g))
                    || (!self.built[s]
                        && other.builds_in.iter().any(|d| step.builds_in.contains(d)))
            })
    }

    /// Asks the jobserver for the slots that ready steps wait for, and gives back the ones
    /// nothing waits for.
    fn manage_slots(&mut self, tx: &mpsc::SyncSender<Message>) {
        if self.slots.is_none() {
            return;
        }
        let running = self.jobs.running();
        // Ready steps, and those offered to a busy worker that a free one would start.
        let queued = self
            .jobs
            .all_mut()
            .filter(|j| matches!(j.offered, Offered::Step { queued: true, .. }))
            .count();
        // A step whose `exclusive` group is held could not use a slot now. No more than the
        // free workers are wanted, so the queue is looked at no further: this runs at every
        // turn of the loop, and a wide workflow's queue is long.
        let free = self.parallel.saturating_sub(running);
        let startable = self
            .board
            .ready
            .iter()
            .filter(|(_, Reverse(i))| !self.held(*i))
            .take(free)
            .count();
        let wanted = if self.stop_starting.is_none() {
            (startable + queued).min(free)
        } else {
            0
        };
        let Some(slots) = &mut self.slots else {
            return;
        };
        if wanted > 0 && slots.ask(running, wanted, tx).is_err() {
            // No helper thread: the run goes on with the slots it has.
            self.slots = None;
            return;
        }
        slots.give_back(running, wanted > 0);
    }

    /// Decides ahead what each worker starts next, or takes back an offer that a step which
    /// became ready since then outranks. Once nothing new may start, workers leave their
    /// offers, which come back as their jobs end.
    fn offer_ahead(&mut self) {
        if self.stop_starting.is_some() {
            self.halt.store(true, Ordering::SeqCst);
            return;
        }
        // Only now, once every free worker got a step: what is ready is offered only when no
        // worker is free to start it.
        for job in self.jobs.all_mut() {
            if let (Offered::Step { rank, .. }, Some(&top)) = (job.offered, self.board.ready.peek())
                && rank < top
            {
                take_back(&mut self.board, job);
            }
            offer_ahead(&mut self.board, job);
        }
    }

    /// Whether the run is over: every step ended, or nothing runs and nothing more may start.
    fn over(&self) -> bool {
        self.board.ended == self.plan.steps.len()
            || (self.jobs.running() == 0
                && (self.stop_starting.is_some() || self.board.ready.is_empty()))
    }

    /// How long to wait for a message: until the next SIGKILL is due, the signals are to be
    /// forwarded, or a second passes for a tick.
    fn wait(&self, forwarding_pending: bool) -> Duration {
        let restarts = self.restart_kill.iter().map(|(k, _)| *k);
        let mut wait = restarts
            .chain(self.kill_at)
            .min()
            .map_or(Duration::from_secs(1), |k| {
                k.saturating_duration_since(Instant::now())
            });
        if forwarding_pending {
            wait = wait.min(FORWARD_SIGNALS_AFTER.saturating_sub(self.start.elapsed()));
        }
        wait.min(Duration::from_secs(1))
    }

    /// Sends SIGKILL once the grace period after a SIGTERM is over. Checked on every turn: a
    /// flood of output must not postpone it.
    fn kill_when_due(&mut self) {
        if self.kill_at.is_some_and(|k| Instant::now() >= k) {
            self.executor.stop(Stop::Kill);
            self.kill_at = None;
        }
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut self.restart_kill)
            .into_iter()
            .partition(|(k, _)| now >= *k);
        self.restart_kill = later;
        for (_, steps) in due {
            self.executor.stop_steps(&steps, Stop::Kill);
        }
    }

    /// Stops the run: nothing new starts, running steps get SIGTERM (SIGKILL after the grace
    /// period), or SIGKILL at once when `forced`.
    fn stop_all(&mut self, forced: bool) {
        self.stop_starting = Some(SkipReason::Interrupted);
        // Before the steps are stopped, so that no worker goes on to a new one.
        self.halt.store(true, Ordering::SeqCst);
        if forced {
            self.executor.stop(Stop::Kill);
            self.kill_at = None;
        } else {
            self.executor.stop(Stop::Term);
            self.kill_at = Some(Instant::now() + self.options.grace);
        }
    }

    fn handle(&mut self, msg: Message) {
        match msg {
            Message::Event(kind) => {
                match kind {
                    EventKind::StepCargo { step, lock } => {
                        self.built[step] = lock == CargoLock::Released;
                    }
                    EventKind::StepRetrying { step, .. } => self.built[step] = false,
                    _ => {}
                }
                self.tell(kind);
            }
            Message::Token(token) => {
                if let Some(slots) = &mut self.slots {
                    slots.received(token);
                }
            }
            Message::Signal(sig) => {
                let forced = self.interrupted.is_some();
                self.interrupted.get_or_insert(sig);
                self.stop_all(forced);
                self.tell(EventKind::Interrupted {
                    signal: sys::signal_name(sig),
                    forced,
                });
            }
            Message::Restart { path, steps } => self.restart(path, steps),
            Message::Done {
                job,
                step,
                outcome,
                next,
            } => self.done(job, step, outcome, next),
        }
    }

    /// A change stops the steps it affects (`--watch`): those running get SIGTERM (SIGKILL
    /// after the grace period), and none of them starts again in this run; the others go on.
    fn restart(&mut self, path: String, steps: Option<Vec<usize>>) {
        if self.stop_starting.is_some() {
            return;
        }
        let Some(steps) = steps else {
            self.stop_all(false);
            return self.tell(EventKind::Restarting {
                path,
                stopped: None,
            });
        };
        // What was offered ahead comes back, to be decided again.
        for job in self.jobs.all_mut() {
            take_back(&mut self.board, job);
        }
        self.board.restart(&steps);
        let stopped: Vec<usize> = self.jobs.steps().filter(|s| steps.contains(s)).collect();
        self.executor.stop_steps(&steps, Stop::Term);
        // For every step it affects, not only those seen running: a worker may have just
        // started one it was offered.
        let kill_at = Instant::now() + self.options.grace;
        self.restart_kill.push((kill_at, steps));
        self.tell(EventKind::Restarting {
            path,
            stopped: Some(stopped),
        });
    }

    /// A worker's step ended; it went on to `next`, or its job is over.
    fn done(&mut self, job: usize, i: usize, outcome: Outcome, next: Option<usize>) {
        let failed = !outcome.status.is_success() && outcome.status != Status::Interrupted;
        if failed && self.options.fail_fast && self.stop_starting.is_none() {
            self.stop_starting = Some(SkipReason::FailFast(i));
        }
        self.board.end(i, outcome, next);
        match next {
            Some(next) => {
                self.board.event(EventKind::StepStarted { step: next });
                let job = self.jobs.get_mut(job);
                job.step = next;
                job.offered = Offered::Nothing;
                job.fresh = true;
            }
            None => {
                // Its worker is gone; what was offered to it comes back.
                take_back(&mut self.board, self.jobs.get_mut(job));
                self.jobs.remove(job);
            }
        }
    }

    /// Skips what never started, with the reason that stopped the run, and sums it all up.
    fn finish(mut self) -> (Summary, Option<ReportError>) {
        let reason = self.stop_starting.unwrap_or(SkipReason::Interrupted);
        for i in 0..self.plan.steps.len() {
            if self.board.ends[i].is_none() {
                self.board.skip(i, reason);
            }
        }
        self.flush();
        let steps: Vec<StepEnd> = std::mem::take(&mut self.board.ends)
            .into_iter()
            .map(|e| e.unwrap_or(StepEnd::Skipped(reason)))
            .collect();
        let summary = Summary {
            critical_path: critical_path(self.plan, &steps),
            steps,
            wall: self.start.elapsed(),
            interrupted: self.interrupted.map(|number| Signal {
                number,
                name: sys::signal_name(number),
            }),
            stats: self.board.stats,
        };
        let before = self.failed_reporter.is_some();
        self.tell(EventKind::RunFinished {
            summary: summary.clone(),
        });
        let failed = self.failed_reporter.map(|e| match before {
            true => e,
            false => ReportError(format!("{} (after every step had ended)", e.0)),
        });
        (summary, failed)
    }
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
    // A step that waits for others is started by the scheduler alone, which knows what runs.
    let top = board
        .ready
        .peek()
        .copied()
        .filter(|(_, Reverse(i))| !board.plan.steps[*i].waits_for_others());
    let queued = match (successor.map(|d| rank(board.plan, d)), top) {
        (Some(s), Some(t)) => t > s,
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (None, None) => return,
    };
    let offer = if queued {
        let Some(r @ (_, Reverse(step))) = board.ready.pop() else {
            return;
        };
        match board.upstream(step) {
            Ok(upstream) => Offer { step, upstream },
            Err(_) => {
                // It fails without running: left to the scheduler, which reports why.
                board.ready.push(r);
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

/// The chain of steps that ran whose durations add up to the most.
fn critical_path(plan: &Plan, steps: &[StepEnd]) -> Vec<usize> {
    let n = plan.steps.len();
    // A cached step took no time worth naming: it is no link of the path.
    let dur = |i: usize| match &steps[i] {
        StepEnd::Ran(o) if !matches!(o.status, Status::Cached { .. }) => Some(o.duration),
        StepEnd::Ran(_) | StepEnd::Skipped(_) => None,
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
    fn new(parallel: usize) -> Self {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(parallel)
            .thread_name(|i| format!("flow-worker-{i}"))
            .build()
        {
            Ok(p) => Pool::Own(p),
            Err(_) => Pool::Global,
        }
    }

    fn scope<'s, R>(&self, f: impl FnOnce(&rayon::Scope<'s>) -> R) -> R {
        match self {
            Pool::Own(p) => p.in_place_scope(f),
            Pool::Global => rayon::in_place_scope(f),
        }
    }
}
