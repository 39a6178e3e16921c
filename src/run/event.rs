//! What a run tells the outside world, as cargo-nextest's reporter events do: a stream of
//! [`Event`]s that carry everything a reporter shows, so that reporters need nothing else.
//! The scheduler knows nothing of terminals.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::artifacts::Kept;
use super::stats::RunStats;
use super::status::Status;

/// Something that happened during a run, and when.
#[derive(Debug, Clone)]
pub struct Event {
    /// Time since the run started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// The run begins. Steps are named by their index in `steps` from now on.
    RunStarted {
        /// The workflow's name.
        workflow: String,
        /// Every step of the run.
        steps: Arc<[StepInfo]>,
        /// How many may run at once.
        parallel: usize,
        /// With `--affected`: the packages per-package steps run for, and why.
        affected: Option<Arc<Selection>>,
    },
    /// A step is under way.
    StepStarted {
        /// The step.
        step: usize,
    },
    /// A line of a step's output (only when live output was asked for).
    Output {
        /// The step.
        step: usize,
        /// The line, without its newline; not necessarily UTF-8.
        line: Vec<u8>,
    },
    /// The latest line of a running step's output, as a terminal shows it on one row (only
    /// when asked for, and only when the step's output is not streamed).
    StepLine {
        /// The step.
        step: usize,
        /// The line: no colours, no control characters.
        line: String,
    },
    /// What a running step's cargo said of its lock on the target dir.
    StepCargo {
        /// The step.
        step: usize,
        /// Where the lock stands.
        lock: CargoLock,
    },
    /// A step's attempt failed and it will be tried again.
    StepRetrying {
        /// The step.
        step: usize,
        /// How the attempt ended.
        failed: Outcome,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// A step ended.
    StepFinished {
        /// The step.
        step: usize,
        /// How it ended.
        outcome: Outcome,
    },
    /// A step will not run.
    StepSkipped {
        /// The step.
        step: usize,
        /// Why.
        reason: SkipReason,
    },
    /// cargo flow received a signal and is stopping the running steps.
    Interrupted {
        /// The signal's name (`SIGINT`).
        signal: String,
        /// Whether this was a second signal, which kills at once.
        forced: bool,
    },
    /// A file the run reads changed while it ran (`--watch`): the steps it affects that
    /// run are being stopped, and those that wait do not start, for the next run to run
    /// them again.
    Restarting {
        /// The file, as its path is shown.
        path: String,
        /// The running steps being stopped; `None`: every step is.
        stopped: Option<Vec<usize>>,
    },
    /// Something went wrong that does not fail the run: the remote cache could not be
    /// reached, say.
    Warning {
        /// The step it concerns, if one.
        step: Option<usize>,
        /// What went wrong, and what was done instead.
        message: String,
    },
    /// Nothing has happened for a while; sent about once a second.
    Tick,
    /// The run is over.
    RunFinished {
        /// What happened to every step, and the totals.
        summary: Summary,
    },
}

/// Where a step's cargo stands with its lock on the target dir, as its output says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CargoLock {
    /// `Blocking waiting for file lock`: another cargo holds it.
    Waiting,
    /// It took the lock after waiting for it, and works.
    Held,
    /// `Finished`: it is done building, and has let go of the lock.
    Released,
}

/// The packages `--affected` chose for per-package steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// What the change was measured against.
    pub base: String,
    /// Each package chosen, and why (`src/lib.rs changed`, `depends on core`).
    pub packages: Vec<(String, String)>,
}

/// What a reporter knows of a step, from [`EventKind::RunStarted`].
#[derive(Debug, Clone)]
pub struct StepInfo {
    /// Its id.
    pub id: String,
    /// The steps it waits for.
    pub depends_on: Vec<usize>,
    /// Its `if:` as written, when it has one.
    pub condition: Option<String>,
    /// How many times it may be tried: 1, or more with retries.
    pub attempts: u32,
    /// The folder its artifacts are copied to.
    pub artifact_dir: PathBuf,
}

/// How a step that started ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Success or which kind of failure.
    pub status: Status,
    /// All the time spent on it: hashing its inputs, its attempts and the waits between them,
    /// copying its artifacts.
    pub duration: Duration,
    /// Its log file, when one was written.
    pub log: Option<PathBuf>,
    /// Something worth saying beside the status, e.g. that leftover processes were killed.
    pub note: Option<String>,
    /// How many times it ran: more than 1 when it was retried. A success after retries is
    /// flaky.
    pub attempts: u32,
    /// What it wrote to `$FLOW_OUTPUT`, in order.
    pub outputs: Vec<(String, String)>,
    /// The copies of its artifacts, in its artifact folder.
    pub artifacts: Vec<Kept>,
    /// Its cache key, for a cached step that ran or was skipped as cached.
    pub key: Option<String>,
    /// Why it ran, for a cached step: what changed since its last success.
    pub why: Vec<String>,
    /// The part of `duration` its cargo spent waiting for a lock another cargo held.
    pub blocked: Duration,
}

impl Outcome {
    /// An outcome with this status and nothing else to say: no time, no log, one attempt.
    pub fn of(status: Status) -> Self {
        Outcome {
            status,
            duration: Duration::ZERO,
            log: None,
            note: None,
            attempts: 1,
            outputs: Vec::new(),
            artifacts: Vec::new(),
            key: None,
            why: Vec::new(),
            blocked: Duration::ZERO,
        }
    }

    /// Whether it passed only after failing.
    pub fn is_flaky(&self) -> bool {
        self.status.is_success() && self.attempts > 1
    }
}

/// Why a step did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A step it needs (directly or not) failed; the index is the step that failed.
    DependencyFailed(usize),
    /// A step it needs was skipped; the index is that step.
    DependencySkipped(usize),
    /// Its `if:` condition was false.
    ConditionFalse,
    /// `--fail-fast`, after the step with this index failed.
    FailFast(usize),
    /// cargo flow was interrupted before it started.
    Interrupted,
}

impl SkipReason {
    /// Why step `step` was skipped, in words: `test failed`.
    pub fn describe(&self, steps: &[StepInfo], step: usize) -> String {
        let id = |i: usize| steps.get(i).map_or("?", |s| s.id.as_str());
        match self {
            SkipReason::DependencyFailed(d) => format!("{} failed", id(*d)),
            SkipReason::DependencySkipped(d) => format!("{} was skipped", id(*d)),
            SkipReason::ConditionFalse => {
                match steps.get(step).and_then(|s| s.condition.as_ref()) {
                    Some(c) => format!("condition false: {c}"),
                    None => "condition false".to_string(),
                }
            }
            SkipReason::FailFast(d) => format!("--fail-fast after {} failed", id(*d)),
            SkipReason::Interrupted => "interrupted".to_string(),
        }
    }
}

/// How one step ended up.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one a step, kept in a Vec: a box would only add an allocation"
)]
pub enum StepEnd {
    /// It ran.
    Ran(Outcome),
    /// It did not run.
    Skipped(SkipReason),
}

/// The end state of every step, the totals, and the run's timing.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per step: how it ended, or why it was skipped.
    pub steps: Vec<StepEnd>,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// The critical path: the chain of steps whose durations add up to the most.
    pub critical_path: Vec<usize>,
    /// The signal that interrupted the run, if one did.
    pub interrupted: Option<Signal>,
    /// The totals, counted as the events passed.
    pub stats: RunStats,
}

impl Summary {
    /// The process exit code: 0 all well, 1 a step failed, 128 + the signal when interrupted.
    pub fn exit_code(&self) -> i32 {
        match &self.interrupted {
            Some(sig) => 128 + sig.number,
            None => i32::from(self.stats.failed > 0),
        }
    }

    /// How the run ended, in one word for machines: `success`, `failed` or `interrupted`.
    pub fn status_word(&self) -> &'static str {
        match (&self.interrupted, self.stats.failed) {
            (Some(_), _) => "interrupted",
            (None, 0) => "success",
            (None, _) => "failed",
        }
    }
}

/// A signal to cargo flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// Its number.
    pub number: i32,
    /// Its name: `SIGINT`.
    pub name: String,
}

/// Why a reporter could not go on: the run is stopped, and this is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError(pub String);

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Consumes events: progress bars, plain lines, JSON.
pub trait Reporter {
    /// Handles one event, in order, on the scheduler's thread. An error stops the run.
    fn report(&mut self, event: &Event) -> Result<(), ReportError>;
}
