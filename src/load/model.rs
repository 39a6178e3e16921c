//! The workflow model: what a workflow file says, with the spans diagnostics point at.

use std::path::PathBuf;
use std::time::Duration;

use crate::source::{Source, Span, Spanned};

/// One workflow: a named DAG of steps.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The name it is run by (`ci`, `mypkg:release`, or a file's stem).
    pub name: String,
    /// The `name:` written in the file, when there is one.
    pub title: Option<String>,
    /// `description:`, shown by `list`.
    pub description: Option<String>,
    /// `context:` defaults for variables.
    pub context: Vec<ContextEntry>,
    /// `env:` for every step.
    pub env: Vec<EnvVar>,
    /// `timeout:` default for its steps.
    pub timeout: Option<Spanned<Timeout>>,
    /// The steps in declaration order.
    pub steps: Vec<Step>,
    /// Where it was declared.
    pub origin: Origin,
}

/// Where a workflow was declared, for diagnostics, working directories and log folders.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The file.
    pub source: Source,
    /// The span of the workflow's name or table, for "defined here" labels.
    pub span: Span,
    /// The folder a step's `cwd` is relative to and where it runs by default.
    pub base_dir: PathBuf,
    /// The member package that declared it, for workflows listed as `<package>:<name>`.
    pub package: Option<String>,
}

/// A default value of a context variable.
#[derive(Debug, Clone)]
pub struct ContextEntry {
    /// The variable's name.
    pub name: Spanned<String>,
    /// Its value.
    pub value: Spanned<ContextValue>,
}

/// A context value: one word, or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// One value.
    One(String),
    /// A list of values; it stands as several words.
    Many(Vec<String>),
}

/// One step of a workflow.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its unique id.
    pub id: Spanned<String>,
    /// What it runs.
    pub run: Spanned<Command>,
    /// The ids it waits for.
    pub depends_on: Vec<Spanned<String>>,
    /// `timeout:`, overriding the workflow's.
    pub timeout: Option<Spanned<Timeout>>,
    /// Extra environment variables.
    pub env: Vec<EnvVar>,
    /// Working directory, relative to the workflow's base folder.
    pub cwd: Option<Spanned<String>>,
    /// `description:`, shown by `list` and in reports.
    pub description: Option<String>,
    /// `for_each: package`: one instance of the step per member package.
    pub for_each: Option<Spanned<PackageFilter>>,
    /// The span of the whole step entry.
    pub span: Span,
}

/// Which member packages a `for_each: package` step runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageFilter {
    /// Every member.
    All,
    /// The members with these names.
    Names(Vec<Spanned<String>>),
    /// The members whose names match this glob, e.g. `flow-*`.
    Glob(Spanned<String>),
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A command line for `sh -c`.
    Shell(String),
    /// A program and its arguments, executed directly.
    Argv(Vec<Spanned<String>>),
}

/// An environment variable set for steps.
#[derive(Debug, Clone)]
pub struct EnvVar {
    /// Its name.
    pub name: Spanned<String>,
    /// Its value.
    pub value: Spanned<String>,
}

/// How long a step may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Stop it after this long.
    After(Duration),
    /// Never stop it.
    Never,
}

impl Timeout {
    /// The seed's default: five minutes.
    pub const DEFAULT: Timeout = Timeout::After(Duration::from_secs(300));
}
