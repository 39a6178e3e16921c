//! The workflow model: what a workflow file says, with the spans diagnostics point at.

use std::path::PathBuf;
use std::time::Duration;

use crate::source::{Source, Span, Spanned};

/// One workflow: a named DAG of steps.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The name it is run by (`ci`, `mypkg:release`, or a file's stem).
    pub(crate) name: String,
    /// The `name:` written in the file, when there is one.
    pub(crate) title: Option<String>,
    /// `description:`, shown by `list`.
    pub(crate) description: Option<String>,
    /// `context:` defaults for variables.
    pub(crate) context: Vec<ContextEntry>,
    /// `params:`: context variables with a declared type, set with `--param`.
    pub(crate) params: Vec<Param>,
    /// `env:` for every step.
    pub(crate) env: Vec<EnvVar>,
    /// `env_file:` for every step.
    pub(crate) env_files: Vec<EnvFile>,
    /// `timeout:` default for its steps.
    pub(crate) timeout: Option<Spanned<Timeout>>,
    /// `retry:` default for its steps.
    pub(crate) retry: Option<Spanned<Retry>>,
    /// `shell:` default for its steps: the program and options that run a shell `run`.
    pub(crate) shell: Option<Spanned<Vec<String>>>,
    /// `remote_cache:`: the server that shares cached steps' results.
    pub(crate) remote_cache: Option<Spanned<String>>,
    /// The steps in declaration order.
    pub(crate) steps: Vec<Step>,
    /// Where it was declared.
    pub(crate) origin: Origin,
}

/// Where a workflow was declared, for diagnostics, working directories and log folders.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The file.
    pub source: Source,
    /// The span of the workflow's name or table, for "defined here" labels.
    pub span: Span,
    /// The folder a step's `cwd` is relative to and where it runs by default.
    pub base_dir: PathBuf,
}

/// A named value written in a map: a context default, an environment variable.
#[derive(Debug, Clone)]
pub(crate) struct Entry<T> {
    /// Its name.
    pub name: Spanned<String>,
    /// Its value.
    pub value: Spanned<T>,
}

/// A default value of a context variable.
pub(crate) type ContextEntry = Entry<ContextValue>;

/// A parameter of a workflow (`params:`): a context variable with a declared type.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    /// Its name.
    pub name: Spanned<String>,
    /// The values it takes.
    pub kind: ParamKind,
    /// Its default; without one it must be given.
    pub default: Option<Spanned<String>>,
    /// What it is for, shown by `list` and completions.
    pub help: Option<String>,
}

/// The values a parameter takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// Any text.
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// One of these.
    OneOf(Vec<String>),
}

impl ParamKind {
    /// Whether `value` is one it takes.
    pub(crate) fn accepts(&self, value: &str) -> bool {
        match self {
            ParamKind::String => true,
            ParamKind::Bool => value == "true" || value == "false",
            ParamKind::Integer => value.parse::<i64>().is_ok_and(|n| n.to_string() == value),
            ParamKind::OneOf(values) => values.iter().any(|v| v == value),
        }
    }

    /// The values it takes, in words: `an integer`, `one of debug, release`.
    pub(crate) fn describe(&self) -> String {
        match self {
            ParamKind::String => "text".into(),
            ParamKind::Bool => "`true` or `false`".into(),
            ParamKind::Integer => "a whole number".into(),
            ParamKind::OneOf(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// An environment variable set for steps.
pub(crate) type EnvVar = Entry<String>;

/// An `env_file:` entry: a dotenv file whose variables steps get.
#[derive(Debug, Clone)]
pub(crate) struct EnvFile {
    /// Its path, relative to the workflow's folder.
    pub path: Spanned<String>,
    /// Whether it may be missing.
    pub optional: bool,
}

/// A context value: one word, or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContextValue {
    /// One value.
    One(String),
    /// A list of values; it stands as several words.
    Many(Vec<String>),
}

/// One step of a workflow.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Its unique id.
    pub id: Spanned<String>,
    /// What it runs.
    pub run: Spanned<Command>,
    /// The ids it waits for.
    pub depends_on: Vec<Spanned<String>>,
    /// The ids it waits for only to come after them (`after:`): their results do not key it.
    pub after: Vec<Spanned<String>>,
    /// `timeout:`, overriding the workflow's.
    pub timeout: Option<Spanned<Timeout>>,
    /// Extra environment variables.
    pub env: Vec<EnvVar>,
    /// `env_file:`, under its `env:`.
    pub env_files: Vec<EnvFile>,
    /// Working directory, relative to the workflow's base folder.
    pub cwd: Option<Spanned<String>>,
    /// `description:`, shown by `list` and in reports.
    pub description: Option<String>,
    /// `for_each: package`: one instance of the step per member package.
    pub for_each: Option<Spanned<PackageFilter>>,
    /// `retry:`, overriding the workflow's.
    pub retry: Option<Spanned<Retry>>,
    /// `if:`, the condition under which it runs, as written.
    pub condition: Option<Spanned<String>>,
    /// `artifacts:`: paths or globs, relative to its working directory, kept after it
    /// succeeds.
    pub artifacts: Vec<Spanned<String>>,
    /// `cache:`: what decides whether it has to run again.
    pub cache: Option<Spanned<Cache>>,
    /// `shell:`: the program and options that run its command, over the workflow's.
    pub shell: Option<Spanned<Vec<String>>>,
    /// `jobserver:`: whether it gets the run's jobserver (`MAKEFLAGS`); `true` unless it
    /// says `false`.
    pub jobserver: bool,
    /// `exclusive:`: names of groups whose steps never run at once.
    pub exclusive: Vec<Spanned<String>>,
    /// `matrix:`, expanded: one instance of the step per combination of (key, value).
    pub matrix: Option<Spanned<Vec<Combination>>>,
}

/// One combination of a step's `matrix`: each key with its value, in the order written.
pub(crate) type Combination = Vec<(String, String)>;

/// `cache: {inputs, outputs, env}`: a step that is run again only when something it depends
/// on changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cache {
    /// Paths or globs of the files it reads, relative to its working directory.
    pub inputs: Vec<Spanned<String>>,
    /// Paths or globs of the files it writes, which must still be there, unchanged, for it
    /// to be skipped.
    pub outputs: Vec<Spanned<String>>,
    /// Environment variables whose values it depends on.
    pub env: Vec<Spanned<String>>,
    /// Members it reads as cargo would (`inputs: [{package: NAME}]`): their files, those of
    /// the members they depend on by path, and their dependencies' entries in Cargo.lock.
    pub packages: Vec<Spanned<String>>,
}

/// Which member packages a `for_each: package` step runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PackageFilter {
    /// Every member.
    All,
    /// The members with these names.
    Names(Vec<Spanned<String>>),
    /// The members whose names match this glob, e.g. `flow-*`.
    Glob(Spanned<String>),
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A command line for `sh -c`.
    Shell(String),
    /// A program and its arguments, executed directly.
    Argv(Vec<Spanned<String>>),
}

/// How a failing step is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Retry {
    /// How many more times to try after a failure (`retry: 3`: up to 4 attempts in all).
    pub retries: u32,
    /// The wait before the first retry.
    pub delay: Duration,
    /// Whether the wait doubles after each retry.
    pub exponential: bool,
    /// The longest wait, however many retries came before.
    pub max_delay: Option<Duration>,
    /// Whether each wait is shortened by a random part of up to half, so that retries of
    /// many steps do not fall into step.
    pub jitter: bool,
}

impl Retry {
    /// No retries.
    pub(crate) const NONE: Retry = Retry {
        retries: 0,
        delay: Duration::ZERO,
        exponential: false,
        max_delay: None,
        jitter: false,
    };

    /// The wait before retry number `retry` (1 for the first), given a random `unit` in
    /// [0, 1) for the jitter.
    pub(crate) fn delay_before(&self, retry: u32, unit: f64) -> Duration {
        let base = if self.exponential {
            let factor = 2f64.powi(retry.saturating_sub(1).min(60) as i32);
            self.delay.mul_f64(factor.min(1e9))
        } else {
            self.delay
        };
        let capped = match self.max_delay {
            Some(max) => base.min(max),
            None => base,
        };
        if self.jitter {
            capped.mul_f64(1.0 - unit.clamp(0.0, 1.0) * 0.5)
        } else {
            capped
        }
    }
}

/// How long a step may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// Stop it after this long.
    After(Duration),
    /// Stop it once it has gone `quiet` without writing output or using CPU time (hung), or
    /// after `limit` whatever it does.
    Quiet {
        /// How long it may do nothing.
        quiet: Duration,
        /// How long it may run at most.
        limit: Duration,
    },
    /// Never stop it.
    Never,
}

impl Timeout {
    /// For a step nothing sets one for: five minutes of doing nothing (the seed's five
    /// minutes, which a healthy cold build outlasts), an hour at most.
    pub(crate) const DEFAULT: Timeout = Timeout::Quiet {
        quiet: Duration::from_secs(300),
        limit: Duration::from_secs(3600),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_is_taken_as_written_plainly_only() {
        for ok in ["0", "8", "-3", "120"] {
            assert!(ParamKind::Integer.accepts(ok), "{ok}");
        }
        // bash reads `08` as a bad octal number in `$((...))`.
        for bad in ["08", "+8", "-0", " 8", "8.0", ""] {
            assert!(!ParamKind::Integer.accepts(bad), "{bad}");
        }
    }

    #[test]
    fn backoff_delays() {
        let s = Duration::from_secs;
        let fixed = Retry {
            retries: 3,
            delay: s(2),
            ..Retry::NONE
        };
        assert_eq!(
            [1, 2, 3].map(|r| fixed.delay_before(r, 0.5)),
            [s(2), s(2), s(2)]
        );
        let exp = Retry {
            exponential: true,
            ..fixed
        };
        assert_eq!(
            [1, 2, 3, 4].map(|r| exp.delay_before(r, 0.5)),
            [s(2), s(4), s(8), s(16)]
        );
        let capped = Retry {
            max_delay: Some(s(5)),
            ..exp
        };
        assert_eq!(
            [1, 2, 3, 4].map(|r| capped.delay_before(r, 0.5)),
            [s(2), s(4), s(5), s(5)]
        );
        let jittered = Retry {
            jitter: true,
            ..capped
        };
        assert_eq!(jittered.delay_before(2, 0.0), s(4));
        assert_eq!(jittered.delay_before(2, 1.0), s(2));
        assert_eq!(jittered.delay_before(2, 0.5), s(3));
        // Huge retry counts neither overflow nor panic.
        assert_eq!(capped.delay_before(u32::MAX, 0.5), s(5));
        assert!(exp.delay_before(1000, 0.5) > s(1_000_000));
    }
}
