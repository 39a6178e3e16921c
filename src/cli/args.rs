//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::console::OutputMode;
use crate::report::graph::GraphFormat;

/// `--output`: when to show steps' output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// A step's output as one block when it ends: the tail of a failure always, a success's
    /// whole output with `-v`.
    Grouped,
    /// Live, each line prefixed with the step id.
    Stream,
    /// Only failed steps' output.
    Failed,
    /// No step output; the log files still have it.
    None,
}

impl From<Output> for OutputMode {
    fn from(o: Output) -> Self {
        match o {
            Output::Grouped => OutputMode::Grouped,
            Output::Stream => OutputMode::Stream,
            Output::Failed => OutputMode::Failed,
            Output::None => OutputMode::None,
        }
    }
}

/// `graph --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Each step with what it depends on.
    Text,
    /// Graphviz dot.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

impl From<Format> for GraphFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => GraphFormat::Text,
            Format::Dot => GraphFormat::Dot,
            Format::Mermaid => GraphFormat::Mermaid,
        }
    }
}

/// Run workflows: DAGs of shell steps from `.flow.yaml` or Cargo.toml, in parallel.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-flow",
    bin_name = "cargo flow",
    version,
    about,
    after_help = "With no command, lists the workflows. `cargo flow <WORKFLOW> [STEP...]` is short for `cargo flow run <WORKFLOW> [STEP...]`."
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes, as in cargo.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Path to Cargo.toml of the workspace to read workflows from
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Coloring: auto, always, never (NO_COLOR and CARGO_TERM_COLOR are honoured)
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<Color>,
    /// Use verbose output: start lines, and the output of successful steps
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only failures and the final line
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Run a workflow, or only the named steps and what they need
    Run(Box<RunArgs>),
    /// List the workflows, or one workflow's steps and dependencies
    List {
        /// The workflow whose steps to list
        #[arg(add = workflow_names())]
        workflow: Option<String>,
    },
    /// Validate workflows without running anything
    Check {
        /// The workflow (or workflow file) to check; all when omitted
        #[arg(add = workflow_names())]
        target: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
    },
    /// Print a workflow's dependency graph
    Graph {
        /// The workflow name or workflow file
        #[arg(add = workflow_names())]
        target: String,
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        context: ContextArgs,
    },
    /// Print the JSON Schema of workflow files, for editors and validators
    Schema,
    /// Print the script that completes cargo flow's commands, workflows and steps in a shell
    Completions {
        /// The shell
        #[arg(value_parser = ["bash", "elvish", "fish", "powershell", "zsh"])]
        shell: String,
    },
    /// Write a starting `ci` workflow for this workspace: fmt, clippy, test and doc
    Init {
        /// Write it into the root Cargo.toml's metadata instead of `.flow.yaml`
        #[arg(long)]
        cargo_toml: bool,
        /// Write over a workflow that is there
        #[arg(long)]
        force: bool,
        /// Import a GitHub Actions workflow (`.github/workflows/ci.yml`) instead
        #[arg(long, value_name = "FILE", conflicts_with = "cargo_toml")]
        from: Option<std::path::PathBuf>,
    },
    /// Install, remove or list the git hooks that run a workflow
    Hook {
        #[command(subcommand)]
        action: HookCmd,
    },
    /// Print a workflow in another engine's format, to split it across CI runners
    Export {
        #[command(subcommand)]
        to: ExportCmd,
    },
    /// Manage the records of cached steps
    Cache {
        #[command(subcommand)]
        action: CacheCmd,
    },
}

/// `cargo flow export ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ExportCmd {
    /// A GitHub Actions workflow: steps become jobs, each running `cargo flow run --only`
    /// and sharing results through the remote cache
    Github {
        /// The workflow name or workflow file
        #[arg(add = workflow_names())]
        target: String,
        /// Make a chain of steps one job, or every step a job of its own
        #[arg(long, value_enum, default_value = "chains")]
        group: ExportGroup,
        /// The remote cache's address to write in (default: the repository's
        /// `CARGO_FLOW_REMOTE_CACHE` variable)
        #[arg(long, value_name = "URL")]
        remote_cache: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
    },
}

/// `--group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportGroup {
    /// A step whose only follower is the only step after it shares its job.
    Chains,
    /// One job per step (the instances of a per-package or matrix step are one matrix job).
    None,
}

/// `cargo flow cache ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCmd {
    /// Forget every recorded success, so that every cached step runs again
    Clean {
        /// Only this workflow's records (a name or a workflow file)
        #[arg(add = workflow_names())]
        workflow: Option<String>,
    },
}

/// `cargo flow hook ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum HookCmd {
    /// Write a git hook that runs a workflow (by default: `ci` before every push)
    Install {
        /// The workflow the hook runs
        #[arg(default_value = "ci", add = workflow_names())]
        workflow: String,
        /// The git hook
        #[arg(long, default_value = "pre-push", value_parser = crate::setup::hook::HOOKS.to_vec())]
        hook: String,
        /// Move a hook that cargo flow did not write aside (to `<hook>.before-cargo-flow`)
        #[arg(long)]
        force: bool,
    },
    /// Remove a git hook that cargo flow wrote
    Uninstall {
        /// The git hook
        #[arg(long, default_value = "pre-push", value_parser = crate::setup::hook::HOOKS.to_vec())]
        hook: String,
    },
    /// List the repository's git hooks, and the workflows cargo flow's run
    List,
}

/// `--context`, for every command that resolves variables.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct ContextArgs {
    /// Set a context variable, used as `${KEY}` in steps (repeatable)
    #[arg(short = 'c', long = "context", value_name = "KEY=VALUE", value_parser = parse_context)]
    pub context: Vec<(String, String)>,
    /// Set a parameter the workflow declares under `params:` (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_context, add = clap_complete::ArgValueCompleter::new(super::complete::params))]
    pub params: Vec<(String, String)>,
}

/// `cargo flow run`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// The workflow name, or a path to a workflow file
    #[arg(add = workflow_names())]
    pub target: String,
    /// Run only these steps and the steps they depend on
    #[arg(add = clap_complete::ArgValueCompleter::new(super::complete::steps))]
    pub steps: Vec<String>,
    /// Words for the steps named (every step when none is): `${args}`, and `"$@"` in a shell
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub context: ContextArgs,
    /// Run at most N steps at once [default: the number of CPUs]
    #[arg(short = 'j', long = "parallel", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub parallel: Option<u32>,
    /// Timeout for steps that set none, over the workflow's `timeout:`: 90s, 10m, 1h, none.
    /// Without one, a step is stopped after 5m with no output and no CPU time, or after 1h
    #[arg(long, value_name = "DUR", value_parser = parse_timeout)]
    pub timeout: Option<crate::load::model::Timeout>,
    /// Time between SIGTERM and SIGKILL when a step is stopped
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_grace)]
    pub grace: std::time::Duration,
    /// Retries for steps that set none, e.g. --retries 2
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: Option<u32>,
    /// Start nothing new after the first failure
    #[arg(long)]
    pub fail_fast: bool,
    /// Print the plan without running anything
    #[arg(long)]
    pub dry_run: bool,
    /// When to show steps' output
    #[arg(long, value_enum, value_name = "MODE", default_value = "grouped")]
    pub output: Output,
    /// Write a record of the run: json=PATH or junit=PATH (may be repeated)
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub report: Vec<ReportSpec>,
    /// Run cached steps even when nothing they depend on changed (successes are still recorded)
    #[arg(long)]
    pub no_cache: bool,
    /// Run per-package steps only for the packages a change affects, and those that depend on
    /// them: the change since REF, or since the merge base with the upstream branch
    #[arg(
        long,
        value_name = "REF",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub affected: Option<String>,
    /// Hand steps no jobserver: each nested cargo or make takes every CPU (for comparison)
    #[arg(long)]
    pub no_jobserver: bool,
    /// Say why each cached step ran: which input, variable, command or dependency changed
    #[arg(long)]
    pub explain: bool,
    /// Run only the named steps: the cached steps they need are taken from the cache (local
    /// or remote) instead of run, and fail when it has none; steps without `cache:` still run
    #[arg(long, requires = "steps", conflicts_with = "watch")]
    pub only: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Run, then run again whenever a file the steps read changes (until `q` or Ctrl-C)
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// Under --watch, what a change during a run does: stop the running steps it affects
    /// and run them again once the run ends, or stop nothing and run again once it ends
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value = "restart",
        requires = "watch"
    )]
    pub on_change: OnChange,
}

/// The remote cache's options. Its token, header and signing key come from the environment
/// only, never from the command line, where other users' `ps` would see them.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    /// Share cached steps' results through this server (Bazel HTTP cache protocol:
    /// bazel-remote, nginx with WebDAV, ...); overrides the workflow's `remote_cache`
    #[arg(
        long,
        value_name = "URL",
        env = "CARGO_FLOW_REMOTE_CACHE",
        hide_env_values = true
    )]
    pub remote_cache: Option<String>,
    /// Restore from the remote cache but never store in it (for pull requests)
    #[arg(
        long,
        env = "CARGO_FLOW_REMOTE_CACHE_READ_ONLY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub remote_cache_read_only: bool,
    /// Use no remote cache, even one the workflow or the environment sets
    #[arg(long)]
    pub no_remote_cache: bool,
    /// How long one request to the remote cache may take before it is given up on
    #[arg(
        long,
        value_name = "DUR",
        env = "CARGO_FLOW_REMOTE_CACHE_TIMEOUT",
        default_value = "30s",
        value_parser = parse_grace
    )]
    pub remote_cache_timeout: std::time::Duration,
}

/// `--on-change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnChange {
    /// Stop the running steps the change affects (their whole process groups), and run them
    /// again once the run ends.
    Restart,
    /// Let the run end, then run again.
    Queue,
}

/// `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportSpec {
    /// What is written.
    pub format: ReportFormat,
    /// Where.
    pub path: PathBuf,
}

/// The formats of `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// cargo flow's own JSON record.
    Json,
    /// JUnit XML, for CI systems' test views.
    Junit,
    /// A timeline to look at: one self-contained HTML page.
    Html,
}

/// Completes a workflow name from the project in the current folder.
fn workflow_names() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(super::complete::workflows)
}

fn parse_context(s: &str) -> Result<(String, String), String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(format!(
            "`{s}` has no `=`: write KEY=VALUE, e.g. `--context target=librex/equilibria`"
        ));
    };
    if k.starts_with("steps.") {
        return Err(format!(
            "`{k}` cannot be set: `${{steps.<id>...}}` reads what earlier steps wrote"
        ));
    }
    if k == "args" {
        return Err(
            "`args` cannot be set: `${args}` holds the words after `--`, as in `cargo flow ci -- --nocapture`".into(),
        );
    }
    if !crate::plan::vars::is_valid_name(k) {
        return Err(format!(
            "`{k}` is not a valid variable name: use letters, digits, `_`, `.` and `-`, starting with a letter"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

fn parse_timeout(s: &str) -> Result<crate::load::model::Timeout, String> {
    crate::load::duration::parse_timeout(s).map_err(|e| e.0)
}

fn parse_grace(s: &str) -> Result<std::time::Duration, String> {
    crate::load::duration::parse_duration(s).map_err(|e| e.0)
}

fn parse_report(s: &str) -> Result<ReportSpec, String> {
    let Some((format, path)) = s.split_once('=').filter(|(_, path)| !path.is_empty()) else {
        return Err(format!(
            "`{s}` is not FORMAT=PATH: write e.g. `--report json=report.json` or `--report junit=junit.xml`"
        ));
    };
    let format = match format {
        "json" => ReportFormat::Json,
        "junit" => ReportFormat::Junit,
        "html" => ReportFormat::Html,
        other => {
            return Err(format!(
                "unknown report format `{other}`: the formats are: json, junit, html"
            ));
        }
    };
    let path = PathBuf::from(path);
    Ok(ReportSpec { format, path })
}

/// The subcommand names, so that `cargo flow <WORKFLOW>` can be told apart from them.
const COMMANDS: &[&str] = &[
    "run",
    "list",
    "check",
    "graph",
    "schema",
    "completions",
    "init",
    "hook",
    "cache",
    "export",
    "help",
];
/// Options that take a value in the next argument.
pub(crate) const VALUED: &[&str] = &[
    "-j",
    "--parallel",
    "-c",
    "--context",
    "--param",
    "--timeout",
    "--retries",
    "--grace",
    "--output",
    "--report",
    "--manifest-path",
    "--color",
    "--format",
    "--remote-cache",
    "--remote-cache-timeout",
    "--group",
];

/// Normalises the arguments: drops the `flow` that cargo passes, and turns the bare
/// `cargo flow <WORKFLOW> [STEP...]` into `cargo flow run <WORKFLOW> [STEP...]`.
pub(crate) fn normalize(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.get(1).is_some_and(|a| a == "flow") {
        args.remove(1);
    }
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            break;
        }
        if a.starts_with('-') {
            if VALUED.contains(&a.as_ref()) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if !COMMANDS.contains(&a.as_ref()) {
            args.insert(i, "run".into());
        }
        break;
    }
    args
}
