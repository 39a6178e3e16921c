//! What the scheduler tells the outside world. Reporters consume these; the scheduler knows
//! nothing of terminals.

use std::path::PathBuf;
use std::time::Duration;

/// Something that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// The run begins.
    RunStarted {
        /// Steps in the plan.
        total: usize,
        /// How many may run at once.
        parallel: usize,
    },
    /// A step's process started.
    StepStarted {
        /// The step's index in the plan.
        step: usize,
    },
    /// A line of a step's output (only when live output was asked for).
    Output {
        /// The step's index.
        step: usize,
        /// The line, without its newline; not necessarily UTF-8.
        line: Vec<u8>,
    },
    /// A step's attempt failed and it will be tried again.
    StepRetrying {
        /// The step's index.
        step: usize,
        /// How the attempt ended.
        failed: Outcome,
        /// The attempt that comes next (2 for the first retry).
        next: u32,
        /// Attempts in all, at most.
        of: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// A step ended.
    StepFinished {
        /// The step's index.
        step: usize,
        /// How it ended.
        outcome: Outcome,
    },
    /// A step will not run.
    StepSkipped {
        /// The step's index.
        step: usize,
        /// Why.
        reason: SkipReason,
    },
    /// cargo flow received SIGINT or SIGTERM and is stopping the running steps.
    Interrupted {
        /// The signal's number.
        signal: i32,
        /// Whether this was a second signal, which kills at once.
        forced: bool,
    },
    /// Nothing has happened for a while; sent about once a second.
    Tick,
    /// The run is over.
    RunFinished {
        /// What happened to every step.
        summary: Summary,
    },
}

/// How a step that started ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Success or which kind of failure.
    pub status: Status,
    /// From start to the exit of its process.
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
    pub artifacts: Vec<super::artifacts::Kept>,
    /// Its cache key, for a cached step that ran or was skipped as cached.
    pub key: Option<String>,
    /// Why it ran, for a cached step: what changed since its last success.
    pub why: Vec<String>,
}

impl Outcome {
    /// A step that failed before or without running, for `message`.
    pub fn error(message: String) -> Self {
        Self::of(Status::Errored { message })
    }

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
        }
    }

    /// Whether it passed only after failing.
    pub fn is_flaky(&self) -> bool {
        self.status.is_success() && self.attempts > 1
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exit code 0.
    Success,
    /// Not run: its cache key matched its last success, whose outputs are still there.
    Cached {
        /// How long that success took.
        saved: Duration,
    },
    /// A non-zero exit code.
    Failed {
        /// The exit code.
        code: i32,
    },
    /// Killed by a signal it did not expect.
    Signaled {
        /// The signal's number.
        signal: i32,
    },
    /// Ran past its timeout and was stopped.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// It failed for another reason than its exit status: the command could not start, or
    /// its outputs could not be read or were missing.
    Errored {
        /// Why, in words.
        message: String,
    },
    /// Stopped because cargo flow was interrupted.
    Interrupted,
}

impl Status {
    /// Whether the step succeeded: it ran and passed, or its last success still holds.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Success | Status::Cached { .. })
    }

    /// The word used in summaries and reports.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Cached { .. } => "cached",
            Status::Failed { .. } | Status::Signaled { .. } | Status::Errored { .. } => "failed",
            Status::TimedOut { .. } => "timed out",
            Status::Interrupted => "interrupted",
        }
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

/// The end state of every step, and the run's timing.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per step: how it ended, or why it was skipped.
    pub steps: Vec<StepEnd>,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// The critical path: the chain of steps whose durations add up to the most.
    pub critical_path: Vec<usize>,
    /// The signal that interrupted the run, if one did.
    pub interrupted: Option<i32>,
}

/// How one step ended up.
#[derive(Debug, Clone)]
pub enum StepEnd {
    /// It ran.
    Ran(Outcome),
    /// It did not run.
    Skipped(SkipReason),
}

impl Summary {
    /// The process exit code: 0 all well, 1 a step failed, 130/143 interrupted.
    pub fn exit_code(&self) -> i32 {
        if let Some(sig) = self.interrupted {
            return 128 + sig;
        }
        let failed = self
            .steps
            .iter()
            .any(|s| matches!(s, StepEnd::Ran(o) if !o.status.is_success()));
        i32::from(failed)
    }

    /// The sum of every step's duration.
    pub fn busy(&self) -> Duration {
        self.steps
            .iter()
            .filter_map(|s| match s {
                StepEnd::Ran(o) => Some(o.duration),
                StepEnd::Skipped(_) => None,
            })
            .sum()
    }
}

/// Consumes events: progress bars, plain lines, JSON.
pub trait Reporter {
    /// Handles one event, in order, on the scheduler's thread.
    fn event(&mut self, event: &Event);
}

/// Names a signal for people: `SIGSEGV`.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}
