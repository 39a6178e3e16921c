//! The scheduler: one thread owns the state of every step and starts each the moment all it
//! needs has succeeded, longest critical path first, never more than `parallel` at once.
//! Workers on a rayon pool run the steps and report back over a channel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::event::{Event, Outcome, Reporter, SkipReason, Status, StepEnd, Summary};
use crate::plan::Plan;

/// Runs one step. The real one spawns processes; tests use fakes.
pub trait Executor: Sync {
    /// Runs step `index` to its end, on a worker thread; `emit` passes live output on.
    fn execute(&self, index: usize, emit: &(dyn Fn(Event) + Sync)) -> Outcome;
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
    Done(usize, Outcome),
    /// A line of live output.
    Output(usize, Vec<u8>),
    /// cargo flow received a signal.
    Signal(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Waiting(usize),
    Ready,
    Running,
    Ended,
}

/// Runs a plan to its end and returns the summary. `signals` delivers SIGINT/SIGTERM as
/// [`Message::Signal`] through the sender it is given.
pub fn run<E: Executor>(
    plan: &Plan,
    executor: &E,
    options: &RunOptions,
    reporter: &mut dyn Reporter,
    signals: impl FnOnce(mpsc::SyncSender<Message>),
) -> Summary {
    let parallel = options.parallel.max(1);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(parallel)
        .thread_name(|i| format!("flow-worker-{i}"))
        .build()
    {
        Ok(p) => Pool::Own(p),
        Err(_) => Pool::Global,
    };
    let n = plan.steps.len();
    let (tx, rx) = mpsc::sync_channel::<Message>(4096);
    signals(tx.clone());
    let start = Instant::now();
    reporter.event(&Event::RunStarted { total: n, parallel });

    let mut state: Vec<State> = plan
        .steps
        .iter()
        .map(|s| State::Waiting(s.deps.len()))
        .collect();
    let mut ends: Vec<Option<StepEnd>> = vec![None; n];
    let mut ready: BinaryHeap<(u64, Reverse<usize>)> = BinaryHeap::new();
    for (i, s) in plan.steps.iter().enumerate() {
        if s.deps.is_empty() {
            state[i] = State::Ready;
            ready.push((s.weight, Reverse(i)));
        }
    }
    let mut running = 0usize;
    let mut stop_starting: Option<SkipReason> = None;
    let mut interrupted: Option<i32> = None;
    let mut kill_at: Option<Instant> = None;
    let mut ended = 0usize;
    let mut deferred: Vec<Event> = Vec::new();

    pool.scope(|scope| {
        loop {
            // Start what may start.
            while stop_starting.is_none() && running < parallel {
                let Some((_, Reverse(i))) = ready.pop() else {
                    break;
                };
                state[i] = State::Running;
                running += 1;
                deferred.push(Event::StepStarted { step: i });
                let tx = tx.clone();
                scope.spawn(move |_| {
                    let out_tx = tx.clone();
                    let emit = move |e: Event| {
                        if let Event::Output { step, line } = e {
                            let _ = out_tx.send(Message::Output(step, line));
                        }
                    };
                    let outcome = executor.execute(i, &emit);
                    let _ = tx.send(Message::Done(i, outcome));
                });
            }
            // Reported only now, so that steps unblocked by a finished step start before the
            // finished step's line is drawn.
            for e in deferred.drain(..) {
                reporter.event(&e);
            }
            if ended == n || (running == 0 && (stop_starting.is_some() || ready.is_empty())) {
                break;
            }
            let wait = kill_at.map_or(Duration::from_secs(1), |k| {
                k.saturating_duration_since(Instant::now())
            });
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
                Message::Output(step, line) => reporter.event(&Event::Output { step, line }),
                Message::Signal(sig) => {
                    let forced = interrupted.is_some();
                    interrupted.get_or_insert(sig);
                    stop_starting = Some(SkipReason::Interrupted);
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
                Message::Done(i, outcome) => {
                    running -= 1;
                    state[i] = State::Ended;
                    ended += 1;
                    let ok = outcome.status.is_success();
                    deferred.push(Event::StepFinished {
                        step: i,
                        outcome: outcome.clone(),
                    });
                    ends[i] = Some(StepEnd::Ran(outcome));
                    if ok {
                        for &d in &plan.steps[i].dependents {
                            if let State::Waiting(k) = &mut state[d] {
                                *k -= 1;
                                if *k == 0 {
                                    state[d] = State::Ready;
                                    ready.push((plan.steps[d].weight, Reverse(d)));
                                }
                            }
                        }
                    } else {
                        // Everything downstream will not run; independent steps go on.
                        let reason = if matches!(
                            ends[i],
                            Some(StepEnd::Ran(Outcome {
                                status: Status::Interrupted,
                                ..
                            }))
                        ) {
                            SkipReason::Interrupted
                        } else {
                            SkipReason::DependencyFailed(i)
                        };
                        let mut stack: Vec<usize> = plan.steps[i].dependents.clone();
                        while let Some(d) = stack.pop() {
                            if matches!(state[d], State::Waiting(_) | State::Ready) {
                                state[d] = State::Ended;
                                ended += 1;
                                deferred.push(Event::StepSkipped { step: d, reason });
                                ends[d] = Some(StepEnd::Skipped(reason));
                                stack.extend(plan.steps[d].dependents.iter().copied());
                            }
                        }
                        if options.fail_fast && stop_starting.is_none() {
                            stop_starting = Some(SkipReason::FailFast(i));
                        }
                    }
                }
            }
        }
    });

    // What never started is skipped, with the reason that stopped the run.
    let reason = stop_starting.unwrap_or(SkipReason::Interrupted);
    for (i, end) in ends.iter_mut().enumerate() {
        if end.is_none() {
            reporter.event(&Event::StepSkipped { step: i, reason });
            *end = Some(StepEnd::Skipped(reason));
        }
    }
    let steps: Vec<StepEnd> = ends
        .into_iter()
        .map(|e| e.unwrap_or(StepEnd::Skipped(SkipReason::Interrupted)))
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
