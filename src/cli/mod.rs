//! The command line: parses arguments and wires load, plan, run and report together.

pub mod args;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic::{Problem, Problems};
use crate::load::model::Workflow;
use crate::load::{self, Project};
use crate::plan::{self, PlanOptions};
use crate::report::console::{Console, ConsoleOptions};
use crate::report::json::JsonReport;
use crate::report::{self, Fanout};
use crate::run::lock::{LockError, RunLock};
use crate::run::process::ProcessExecutor;
use crate::run::scheduler::{self, RunOptions};
use crate::run::signals::SignalForwarder;
use args::{CacheCmd, Cli, Cmd, Color, ContextArgs, ReportSpec, RunArgs};

/// Exit code for an invalid workflow or usage.
const INVALID: i32 = 2;

/// Runs cargo flow with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    let args = args::normalize(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { INVALID } else { 0 };
        }
    };
    let color = use_color(cli.global.color);
    console::set_colors_enabled(color);
    console::set_colors_enabled_stderr(color);
    let result = match &cli.command {
        None => list(&cli, None),
        Some(Cmd::List { workflow }) => list(&cli, workflow.as_deref()),
        Some(Cmd::Check { target, context }) => check(&cli, target.as_deref(), context),
        Some(Cmd::Graph {
            target,
            format,
            context,
        }) => graph(&cli, target, *format, context),
        Some(Cmd::Run(run)) => run_command(&cli, run),
        Some(Cmd::Cache {
            action: CacheCmd::Clean { workflow },
        }) => cache_clean(&cli, workflow.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(problems) => {
            print_problems(problems, color);
            INVALID
        }
    }
}

/// Colour as cargo decides it: `--color`, then `CARGO_TERM_COLOR`, then NO_COLOR and the terminal.
fn use_color(flag: Option<Color>) -> bool {
    let choice = flag.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
        Some("always") => Some(Color::Always),
        Some("never") => Some(Color::Never),
        _ => None,
    });
    match choice {
        Some(Color::Always) => true,
        Some(Color::Never) => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Renders every problem as a miette diagnostic on stderr.
pub fn print_problems(problems: Problems, color: bool) {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let n = problems.len();
    let mut err = std::io::stderr().lock();
    for p in problems {
        let mut out = String::new();
        if handler.render_report(&mut out, &p).is_err() {
            out = format!("error: {p}\n");
        }
        let _ = writeln!(err, "{out}");
    }
    if n > 1 {
        let _ = writeln!(err, "error: {n} problems found; nothing was run");
    }
}

fn cwd() -> Result<PathBuf, Problems> {
    std::env::current_dir().map_err(|e| {
        Problem::new(
            "flow::cwd",
            format!("cannot read the current directory: {e}"),
        )
        .into()
    })
}

/// The workflows of the project around the current folder, or of `--manifest-path`. A
/// `.flow.yaml` found outside a workspace that another user may have written is not trusted,
/// as git refuses such repositories: a file planted in a shared folder such as /tmp could run
/// anything.
fn load_catalog(cli: &Cli, scope: load::Scope) -> Result<load::Catalog, Problems> {
    let catalog = load::load_catalog(&cwd()?, cli.global.manifest_path.as_deref(), scope)?;
    if let Some(file) = &catalog.found_outside {
        trust(file)?;
    }
    Ok(catalog)
}

/// Where folders whose `.flow.yaml` is trusted whoever wrote it are listed: `:`-separated, or
/// `*` for all.
const SAFE_DIRECTORIES: &str = "CARGO_FLOW_SAFE_DIRECTORIES";

fn trust(file: &Path) -> Result<(), Problem> {
    let dir = file.parent().unwrap_or(file);
    let listed = std::env::var_os(SAFE_DIRECTORIES)
        .is_some_and(|list| std::env::split_paths(&list).any(|d| d.as_os_str() == "*" || d == dir));
    if listed {
        return Ok(());
    }
    let why = match crate::run::sys::written_by_another(file) {
        Ok(None) => return Ok(()),
        Ok(Some(why)) => why,
        Err(e) => format!("its owner cannot be read: {e}"),
    };
    let shown = crate::source::display_path(file);
    Err(Problem::new(
        "flow::untrusted",
        format!("`{shown}` is not run: {why}, and a workflow file that someone else could have written may run anything as you"),
    )
    .with_help(format!(
        "if you trust it, run it by path (`cargo flow run {shown}`), or list its folder in {SAFE_DIRECTORIES}={}",
        dir.display()
    )))
}

/// The workflow a target names (a file, or a name in the catalog), its project, and the
/// problems found while reading.
fn resolve(cli: &Cli, target: &str) -> Result<(Workflow, Project, Problems), Problems> {
    if load::is_file_target(target) {
        let loaded = load::load_file(Path::new(target))?;
        return Ok((loaded.workflow, loaded.project, loaded.problems));
    }
    // Members' workflows are `<package>:<name>`; any other name is found without them.
    let scope = if target.contains(':') {
        load::Scope::Members
    } else {
        load::Scope::Root
    };
    let mut catalog = load_catalog(cli, scope)?;
    if catalog.get(target).is_none() && scope == load::Scope::Root {
        // Suggestions may be among the members' workflows.
        catalog = load_catalog(cli, load::Scope::Members)?;
    }
    match catalog.get(target) {
        Some(wf) => Ok((wf.clone(), catalog.project, catalog.problems)),
        None => {
            let unknown = catalog.unknown(target);
            let mut problems = catalog.problems;
            if problems.is_empty() {
                problems.push(unknown);
            }
            Err(problems)
        }
    }
}

/// Plans a workflow, reporting the problems found while reading it together with its own.
/// Plans one workflow, reading the workspace's members first when it needs them: `cargo
/// metadata` runs only for such workflows.
fn plan_one(
    wf: &Workflow,
    project: &mut Project,
    options: &PlanOptions,
) -> Result<plan::Plan, Problems> {
    if plan::needs_workspace(wf, options) {
        project.workspace()?;
    }
    plan::plan(wf, project, options)
}

fn plan_all(
    wf: &Workflow,
    project: &mut Project,
    options: &PlanOptions,
    mut problems: Problems,
) -> Result<plan::Plan, Problems> {
    match plan_one(wf, project, options) {
        Ok(plan) if problems.is_empty() => Ok(plan),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

fn list(cli: &Cli, workflow: Option<&str>) -> Result<i32, Problems> {
    if let Some(name) = workflow {
        let (wf, mut project, problems) = resolve(cli, name)?;
        let plan = plan_all(&wf, &mut project, &PlanOptions::default(), problems)?;
        let mut out = String::new();
        out.push_str(&wf.name);
        if let Some(d) = &wf.description {
            out.push_str(&format!(": {d}"));
        }
        out.push('\n');
        let width = plan.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
        for s in &plan.steps {
            let mut line = format!("  {:<width$}", s.id);
            if !s.deps.is_empty() {
                let deps: Vec<&str> = s.deps.iter().map(|&d| plan.steps[d].id.as_str()).collect();
                line.push_str(&format!("  after {}", deps.join(", ")));
            }
            if let Some(d) = &s.description {
                line.push_str(&format!("  # {d}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        print!("{out}");
        return Ok(0);
    }
    let catalog = load_catalog(cli, load::Scope::Members)?;
    if !catalog.problems.is_empty() {
        return Err(catalog.problems);
    }
    if catalog.workflows.is_empty() {
        eprintln!(
            "No workflows found in {}.\nAdd `.flow.yaml` there, or `[workspace.metadata.flow.<name>]` steps in Cargo.toml.",
            crate::source::display_path(&catalog.project.root)
        );
        return Ok(0);
    }
    let width = catalog
        .workflows
        .iter()
        .map(|w| w.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Workflows:\n");
    for wf in &catalog.workflows {
        let n = wf.steps.len();
        let mut line = format!(
            "  {:<width$}  {n} step{}",
            wf.name,
            if n == 1 { "" } else { "s" }
        );
        if let Some(d) = &wf.description {
            line.push_str(&format!("  {d}"));
        }
        line.push_str(&format!(
            "  ({})",
            wf.origin.source.location(wf.origin.span)
        ));
        out.push_str(&line);
        out.push('\n');
    }
    print!("{out}");
    Ok(0)
}

fn check(cli: &Cli, target: Option<&str>, context: &ContextArgs) -> Result<i32, Problems> {
    let options = PlanOptions {
        context: context.context.clone(),
        ..PlanOptions::default()
    };
    let (workflows, mut project, mut problems) = match target {
        Some(t) => {
            let (wf, project, problems) = resolve(cli, t)?;
            (vec![wf], project, problems)
        }
        None => {
            let catalog = load_catalog(cli, load::Scope::Members)?;
            (catalog.workflows, catalog.project, catalog.problems)
        }
    };
    let mut steps = 0;
    for wf in &workflows {
        match plan_one(wf, &mut project, &options) {
            Ok(p) => steps += p.steps.len(),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !cli.global.quiet {
        let n = workflows.len();
        eprintln!(
            "{} {n} workflow{}, {steps} step{}: no problems",
            console::style("Checked").green().bold(),
            if n == 1 { "" } else { "s" },
            if steps == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}

fn graph(
    cli: &Cli,
    target: &str,
    format: report::graph::GraphFormat,
    context: &ContextArgs,
) -> Result<i32, Problems> {
    let (wf, mut project, problems) = resolve(cli, target)?;
    let options = PlanOptions {
        context: context.context.clone(),
        ..PlanOptions::default()
    };
    let plan = plan_all(&wf, &mut project, &options, problems)?;
    print!("{}", report::graph::render(&plan, format));
    Ok(0)
}

/// A report is written at the end of a run: a path it cannot be written to is found before
/// the first step, not after the last.
fn check_report_path(path: &Path) -> Result<(), Problem> {
    let shown = crate::source::display_path(path);
    let problem = |why: String| {
        Problem::new("flow::report", format!("cannot write the report `{shown}`: {why}"))
            .with_help("name a file in a folder that exists and can be written, e.g. `--report json=target/flow/report.json`")
    };
    if path.is_dir() {
        return Err(problem("it is a folder".into()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(problem(format!(
            "the folder `{}` does not exist",
            dir.display()
        )));
    }
    crate::run::sys::check_writable(dir).map_err(|e| problem(e.to_string()))
}

/// Takes the lock of the workflow's state, saying so while another run holds it. A signal
/// while waiting ends cargo flow with its exit code.
fn lock_state(
    cli: &Cli,
    state: &Path,
    folder: &str,
    workflow: &str,
    forwarder: &mut SignalForwarder,
) -> Result<Result<RunLock, i32>, Problems> {
    let waiting = |pid: Option<u32>| {
        if cli.global.quiet {
            return;
        }
        let by = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        let line = format!(
            "{} waiting for another run of {workflow}{by}\n",
            console::style("Blocking:").cyan().bold(),
        );
        // One write, so that a reader sees the line whole.
        let _ = std::io::stderr().write_all(line.as_bytes());
    };
    match RunLock::acquire(state, folder, waiting, || forwarder.unforwarded()) {
        Ok(lock) => Ok(Ok(lock)),
        Err(LockError::Interrupted(sig)) => {
            eprintln!(
                "{} by {} while waiting for another run of {}",
                console::style("Interrupted").yellow().bold(),
                crate::run::event::signal_name(sig),
                workflow
            );
            Ok(Err(128 + sig))
        }
        Err(LockError::Io(path, e)) => Err(Problem::new(
            "flow::log-dir",
            format!(
                "cannot lock `{}`: {e}",
                crate::source::display_path(&path)
            ),
        )
        .with_help("cargo flow keeps its state in the target directory; make it writable, or set CARGO_TARGET_DIR")
        .into()),
    }
}

/// How long plain output may stay silent before a "still running" line: 30s, or
/// `CARGO_FLOW_HEARTBEAT`.
fn heartbeat_interval() -> Result<Duration, Problems> {
    match std::env::var("CARGO_FLOW_HEARTBEAT") {
        Ok(text) => crate::load::duration::parse_duration(&text).map_err(|e| {
            Problem::new("flow::usage", format!("CARGO_FLOW_HEARTBEAT: {e}"))
                .with_help("e.g. CARGO_FLOW_HEARTBEAT=10s")
                .into()
        }),
        Err(_) => Ok(Duration::from_secs(30)),
    }
}

/// `cargo flow cache clean [WORKFLOW]`: removes the records of cached steps, of one workflow
/// or of all.
fn cache_clean(cli: &Cli, workflow: Option<&str>) -> Result<i32, Problems> {
    let (state, folders) = match workflow {
        Some(target) => {
            let (wf, project, problems) = resolve(cli, target)?;
            if !problems.is_empty() {
                return Err(problems);
            }
            let folder = crate::plan::names::file_name(&wf.name);
            (plan::state_dir(&project), vec![folder])
        }
        None => {
            let catalog = load_catalog(cli, load::Scope::Root)?;
            let state = plan::state_dir(&catalog.project);
            let folders = std::fs::read_dir(state.join("cache"))
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            (state, folders)
        }
    };
    let mut forwarder = SignalForwarder::install();
    let mut records = 0;
    for folder in &folders {
        // Never under a run of the same workflow, which may be writing a record.
        let _lock = match lock_state(cli, &state, folder, folder, &mut forwarder)? {
            Ok(lock) => lock,
            Err(code) => return Ok(code),
        };
        let dir = state.join("cache").join(folder);
        records += count_files(&dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Problem::new(
                    "flow::cache",
                    format!(
                        "cannot remove the cache `{}`: {e}",
                        crate::source::display_path(&dir)
                    ),
                )
                .into());
            }
        }
    }
    if !cli.global.quiet {
        let s = if records == 1 { "" } else { "s" };
        let from = match folders.as_slice() {
            [one] if workflow.is_some() => state.join("cache").join(one),
            _ => state.join("cache"),
        };
        eprintln!(
            "Removed {records} cache record{s} from {}",
            crate::source::display_path(&from)
        );
    }
    Ok(0)
}

/// How many files a folder holds, at any depth.
fn count_files(folder: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

fn run_command(cli: &Cli, args: &RunArgs) -> Result<i32, Problems> {
    let (wf, mut project, problems) = resolve(cli, &args.target)?;
    let options = PlanOptions {
        context: args.context.context.clone(),
        timeout: args.timeout,
        select: args.steps.clone(),
        retries: args.retries,
    };
    let plan = plan_all(&wf, &mut project, &options, problems)?;
    let parallel = args.parallel.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    if args.dry_run {
        print!(
            "{}",
            report::graph::dry_run(&plan, parallel, &wf.origin.base_dir)
        );
        return Ok(0);
    }
    for ReportSpec::Json(path) in &args.report {
        check_report_path(path)?;
    }
    let log_dir = plan.log_dir();
    std::fs::create_dir_all(&log_dir).map_err(|e| {
        Problem::new("flow::log-dir", format!("cannot create the log folder `{}`: {e}", crate::source::display_path(&log_dir)))
            .with_help("step output is kept there; make the target directory writable, or set CARGO_TARGET_DIR")
    })?;
    // A folder that exists but cannot be written fails here, before any step runs.
    crate::run::sys::check_writable(&log_dir).map_err(|e| {
        Problem::new("flow::log-dir", format!("cannot write into the log folder `{}`: {e}", crate::source::display_path(&log_dir)))
            .with_help("step output is kept there; make the target directory writable, or set CARGO_TARGET_DIR")
    })?;

    let mut forwarder = SignalForwarder::install();
    let _lock = match lock_state(
        cli,
        &plan.dir,
        &plan.folder(),
        &plan.workflow,
        &mut forwarder,
    )? {
        Ok(lock) => lock,
        Err(code) => return Ok(code),
    };
    let mut executor = ProcessExecutor::new(&plan, log_dir);
    executor.grace = args.grace;
    executor.stream = args.output == report::console::OutputMode::Stream;
    executor.use_cache = !args.no_cache;
    let stderr_tty = std::io::stderr().is_terminal();
    let github = std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    let mut console = Console::new(
        &plan,
        ConsoleOptions {
            output: args.output,
            verbose: cli.global.verbose,
            quiet: cli.global.quiet,
            bars: stderr_tty && !github && std::env::var_os("CI").is_none(),
            github,
            heartbeat: heartbeat_interval()?,
            explain: args.explain,
        },
    );
    let mut json: Vec<JsonReport<'_>> = args
        .report
        .iter()
        .map(|r| match r {
            ReportSpec::Json(path) => JsonReport::new(&plan, path.clone()),
        })
        .collect();
    let mut reporters: Vec<&mut dyn crate::run::Reporter> = vec![&mut console];
    for j in &mut json {
        reporters.push(j);
    }
    let mut fanout = Fanout::new(reporters);
    let run_options = RunOptions {
        parallel,
        fail_fast: args.fail_fast,
        grace: args.grace,
    };
    let summary = scheduler::run(&plan, &executor, &run_options, &mut fanout, |tx| {
        forwarder.start(tx);
    });
    let strays = executor.stop_strays();
    if strays > 0 && !cli.global.quiet {
        let s = if strays == 1 { "" } else { "es" };
        eprintln!(
            "Stopped {strays} process{s} that steps left running outside their process groups"
        );
    }
    // A signal that came during a run too short to forward it still ends cargo flow as one.
    let late = forwarder.unforwarded();
    drop(forwarder);
    let mut code = match late {
        Some(sig) if summary.interrupted.is_none() => 128 + sig,
        _ => summary.exit_code(),
    };
    for j in &json {
        if let Some(e) = &j.error {
            eprintln!("error: {e}");
            if code == 0 {
                code = INVALID;
            }
        }
    }
    Ok(code)
}
