//! How a step that ran ended, named in one place for people and for machines.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::load::duration::format_duration;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exit code 0.
    Success,
    /// Not run: its cache key matched its last success, whose outputs are still there.
    Cached {
        /// How long that success took.
        saved: Duration,
        /// Whether that success was restored from the remote cache.
        remote: bool,
    },
    /// A non-zero exit code.
    Failed {
        /// The exit code.
        code: i32,
    },
    /// Killed by a signal it did not expect.
    Signaled {
        /// The signal's name: `SIGSEGV`.
        signal: String,
    },
    /// Ran past its timeout and was stopped.
    TimedOut {
        /// The timeout.
        after: Duration,
        /// Whether it was stopped for doing nothing that long (no output, no CPU time),
        /// rather than for running that long.
        quiet: bool,
    },
    /// It failed for another reason than its exit status.
    Errored(StepError),
    /// Stopped because cargo flow was interrupted.
    Interrupted,
}

impl Status {
    /// Whether the step succeeded: it ran and passed, or its last success still holds.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Success | Status::Cached { .. })
    }

    /// The word for a summary table: `ok`, `flaky`, `cached`, `failed`, `timed out`,
    /// `interrupted`.
    pub fn label(&self, flaky: bool) -> &'static str {
        match self {
            Status::Success if flaky => "flaky",
            Status::Success => "ok",
            Status::Cached { .. } => "cached",
            Status::Failed { .. } | Status::Signaled { .. } | Status::Errored(_) => "failed",
            Status::TimedOut { .. } => "timed out",
            Status::Interrupted => "interrupted",
        }
    }

    /// The word for the JSON report: `success`, `cached`, `failed`, `timed_out`,
    /// `interrupted`.
    pub fn json(&self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Cached { .. } => "cached",
            Status::Failed { .. } | Status::Signaled { .. } | Status::Errored(_) => "failed",
            Status::TimedOut { .. } => "timed_out",
            Status::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Status {
    /// What happened, in words: `exit 101`, `killed by SIGSEGV`, `command not found: `foo``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Success => f.write_str("succeeded"),
            Status::Cached { .. } => f.write_str("cached"),
            Status::Failed { code } => write!(f, "exit {code}"),
            Status::Signaled { signal } => write!(f, "killed by {signal}"),
            Status::TimedOut {
                after,
                quiet: false,
            } => {
                write!(f, "timed out after {}", format_duration(*after))
            }
            Status::TimedOut { after, quiet: true } => write!(
                f,
                "timed out: no output and no CPU time for {}",
                format_duration(*after)
            ),
            Status::Errored(e) => e.fmt(f),
            Status::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// Why a step failed other than by its exit status, each told as it reads after the step's
/// name: `build: command not found: `carg``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// Its program is not on `PATH` (or where its path says).
    NotFound {
        /// The program.
        program: String,
    },
    /// Its program may not be run.
    NotExecutable {
        /// The program.
        program: String,
    },
    /// Its program could not be started for another reason.
    CannotStart {
        /// The program.
        program: String,
        /// What the system said.
        reason: String,
    },
    /// Its working directory is missing or not a folder.
    WorkingDirectory {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it: `does not exist`.
        problem: &'static str,
    },
    /// Its log could not be opened or written.
    Log {
        /// What went wrong.
        reason: String,
    },
    /// What it wrote to `$FLOW_OUTPUT` cannot be used.
    Outputs(String),
    /// An output it reads cannot be given to it.
    Inputs(String),
    /// Its artifacts could not be kept.
    Artifacts(String),
    /// Its cache key or record could not be made.
    Cache(String),
    /// cargo flow could not see it through (wait for it, open its input).
    Run(String),
    /// A bug in cargo flow, caught so that it ends this step only.
    Internal(String),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::NotFound { program } => write!(f, "command not found: `{program}`"),
            StepError::NotExecutable { program } => {
                write!(f, "command not executable: `{program}`")
            }
            StepError::CannotStart { program, reason } => {
                write!(f, "cannot start `{program}`: {reason}")
            }
            StepError::WorkingDirectory { path, problem } => {
                write!(f, "its working directory `{}` {problem}", path.display())
            }
            StepError::Log { reason } => f.write_str(reason),
            StepError::Outputs(m)
            | StepError::Inputs(m)
            | StepError::Artifacts(m)
            | StepError::Cache(m)
            | StepError::Run(m) => f.write_str(m),
            StepError::Internal(m) => write!(f, "internal error in cargo flow: {m}"),
        }
    }
}
