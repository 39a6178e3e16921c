//! `cargo flow run`: a workflow planned, its state locked, its steps run with reporters
//! watching, and the exit code.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::INVALID;
use super::args::{Cli, ReportFormat, ReportSpec, RunArgs};
use super::workflows::{plan_all, resolve};
use crate::diagnostic::{Problem, Problems};
use crate::load::{self, Project, affected::Affected};
use crate::plan::{Plan, PlanOptions};
use crate::report::console::{Console, ConsoleOptions, OutputMode};
use crate::report::json::JsonReport;
use crate::report::junit::JunitReport;
use crate::report::{self, Fanout};
use crate::run::lock::{LockError, RunLock};
use crate::run::process::ProcessExecutor;
use crate::run::scheduler::{self, Message, RunOptions};
use crate::run::{Reporter, Summary};
use crate::sys::{self, SignalForwarder};

/// `cargo flow run WORKFLOW [STEP...]`.
pub(super) fn run_command(cli: &Cli, args: &RunArgs) -> Result<i32, Problems> {
    if args.watch {
        return super::watch::watch(cli, args);
    }
    run_once(cli, args, None).map(|ran| ran.code)
}

/// What one run left for `--watch`.
pub(super) struct Ran {
    /// Its exit code.
    pub code: i32,
    /// Whether a signal stopped it.
    pub interrupted: bool,
}

/// Plans and runs the workflow once; `watching`, under `--watch`, is told how to stop it.
pub(super) fn run_once(
    cli: &Cli,
    args: &RunArgs,
    watching: Option<&super::watch::Session>,
) -> Result<Ran, Problems> {
    let (wf, mut project, problems) = resolve(cli, &args.target)?;
    let affected = affected(cli, args, &mut project)?;
    let mut options = PlanOptions {
        context: args.context.context.clone(),
        params: args.context.params.clone(),
        require_params: true,
        timeout: args.timeout,
        select: args.steps.clone(),
        retries: args.retries,
        affected,
        args: args.args.clone(),
    };
    match watching.and_then(super::watch::Session::params) {
        Some(asked) => options.params = asked,
        None => ask_for_params(&wf, &mut options),
    }
    if let Some(w) = watching {
        w.keep_params(&options.params);
    }
    let plan = plan_all(&wf, &mut project, &options, problems)?;
    if let Some(w) = watching {
        w.planned(&plan, &wf.origin.source.path);
    }
    let parallel = args.parallel.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    if args.dry_run {
        print!(
            "{}",
            report::graph::dry_run(&plan, parallel, &wf.origin.base_dir)
        );
        return Ok(Ran {
            code: 0,
            interrupted: false,
        });
    }
    for spec in &args.report {
        check_report_path(&spec.path)?;
    }
    prepare_logs(&plan)?;
    let selection = options.affected.as_ref().map(|a| {
        std::sync::Arc::new(crate::run::Selection {
            base: a.base.clone(),
            packages: a.packages.clone(),
        })
    });
    let (code, interrupted) = execute(cli, args, &plan, (parallel, selection), watching)?;
    Ok(Ran { code, interrupted })
}

/// Runs a plan under its workflow's lock: the exit code, and whether a signal stopped it.
fn execute(
    cli: &Cli,
    args: &RunArgs,
    plan: &Plan,
    (parallel, affected): (usize, Option<std::sync::Arc<crate::run::Selection>>),
    watching: Option<&super::watch::Session>,
) -> Result<(i32, bool), Problems> {
    let mut forwarder = SignalForwarder::install();
    let folder = plan.folder();
    let _lock = match lock_state(cli, &plan.dir, &folder, &plan.workflow, &mut forwarder)? {
        Ok(lock) => lock,
        Err(code) => return Ok((code, true)),
    };
    let mut executor = ProcessExecutor::new(plan);
    executor.grace = args.grace;
    executor.stream = OutputMode::from(args.output) == OutputMode::Stream;
    executor.use_cache = !args.no_cache;
    if args.only {
        executor.restore_only = plan
            .steps
            .iter()
            .map(|s| s.cache.is_some() && !plan.named.contains(&s.id))
            .collect();
    }
    executor.remote =
        super::remote::settings(&args.remote, plan)?.map(|s| crate::run::remote::Remote::new(&s));
    let jobserver = hand_jobserver(&mut executor, args.no_jobserver, parallel);
    let console_options = console_options(cli, args)?;
    executor.lines = console_options.bars && !console_options.quiet;
    // Streamed to a terminal that shows colours, and the user chose none for cargo.
    executor.colour = executor.stream
        && console::colors_enabled_stderr()
        && std::env::var_os("CARGO_TERM_COLOR").is_none();
    let mut console = Console::new(console_options);
    let mut files: Vec<Box<dyn Reporter>> = args.report.iter().map(file_reporter).collect();
    let mut reporters: Vec<&mut dyn Reporter> = vec![&mut console];
    reporters.extend(files.iter_mut().map(|r| &mut **r as &mut dyn Reporter));
    let run_options = RunOptions {
        parallel,
        fail_fast: args.fail_fast,
        grace: args.grace,
        jobserver,
        affected,
    };
    let (summary, failed) = scheduler::run(
        plan,
        &executor,
        &run_options,
        &mut Fanout::new(reporters),
        |tx| {
            if let Some(w) = watching {
                w.running(tx.clone());
            }
            forwarder.start(move |sig| tx.send(Message::Signal(sig)).is_ok());
        },
    );
    if let Some(w) = watching {
        w.stopped();
    }
    let strays = executor.stop_strays();
    if strays > 0 && !cli.global.quiet {
        eprintln!("{}", report::notes::strays(strays));
    }
    let signalled = summary.interrupted.is_some();
    let code = exit_code(&summary, failed, forwarder);
    Ok((code, signalled || code > 128))
}

/// Readies the jobserver steps get: the one cargo flow was started under or one it makes,
/// its pipe kept open across `exec`; with `--no-jobserver`, an inherited one's pipe closed.
/// The jobserver whose slots the scheduler counts, if steps get one.
fn hand_jobserver(
    executor: &mut ProcessExecutor<'_>,
    no_jobserver: bool,
    parallel: usize,
) -> Option<jobserver::Client> {
    executor.no_jobserver = no_jobserver;
    if no_jobserver {
        if sys::jobserver_inherited()
            && let Ok(client) = sys::jobserver(parallel)
        {
            let _ = sys::share_jobserver(&client, false);
        }
        return None;
    }
    let client = sys::jobserver(parallel).ok()?;
    executor.jobserver_fds = sys::share_jobserver(&client, true).ok()?;
    if !sys::jobserver_inherited() {
        executor.make_flags = Some(sys::make_flags(&client).ok()?);
    }
    Some(client)
}

/// `--affected`: the packages the change touches, said on standard error.
fn affected(
    cli: &Cli,
    args: &RunArgs,
    project: &mut Project,
) -> Result<Option<Affected>, Problems> {
    let Some(base) = &args.affected else {
        return Ok(None);
    };
    let Some(ws) = project.workspace()? else {
        // Outside a workspace no step runs per package: every step runs, as without it.
        if !cli.global.quiet {
            eprintln!("{}", report::notes::affected_outside_workspace());
        }
        return Ok(None);
    };
    let found = load::affected::affected(ws, (!base.is_empty()).then_some(base.as_str()))?;
    if !cli.global.quiet {
        let explain = args.explain || cli.global.verbose > 0;
        eprintln!(
            "{}",
            report::notes::affected(&found, ws.packages.len(), explain)
        );
    }
    Ok(Some(found))
}

/// The reporter that writes a `--report` file.
fn file_reporter(spec: &ReportSpec) -> Box<dyn Reporter> {
    let path = spec.path.clone();
    match spec.format {
        ReportFormat::Json => Box::new(JsonReport::new(path)),
        ReportFormat::Junit => Box::new(JunitReport::new(path)),
        ReportFormat::Html => Box::new(crate::report::timeline::TimelineReport::new(path)),
    }
}

/// The exit code: the run's, a signal's that came too late to be forwarded, or 2 for a report
/// that could not be written.
fn exit_code(
    summary: &Summary,
    failed: Option<crate::run::ReportError>,
    mut forwarder: SignalForwarder,
) -> i32 {
    // A signal that came during a run too short to forward it still ends cargo flow as one.
    let late = forwarder.unforwarded();
    drop(forwarder);
    let code = match late {
        Some(sig) if summary.interrupted.is_none() => 128 + sig,
        _ => summary.exit_code(),
    };
    match failed {
        Some(e) => {
            let problem = Problem::new("flow::report", e.0)
                .with_help("a report that cannot be written stops the run where it fails; fix the report's path, or leave the report out");
            report::problems::print(problem.into(), console::colors_enabled_stderr());
            if code == 0 { INVALID } else { code }
        }
        None => code,
    }
}

/// How the console reporter behaves, from the command line and where it runs.
fn console_options(cli: &Cli, args: &RunArgs) -> Result<ConsoleOptions, Problems> {
    let (bars, github) = report::console::surroundings();
    Ok(ConsoleOptions {
        output: args.output.into(),
        verbose: cli.global.verbose,
        quiet: cli.global.quiet,
        bars,
        github,
        heartbeat: heartbeat_interval()?,
        explain: args.explain,
    })
}

/// The log folder, made and found writable before any step runs.
fn prepare_logs(plan: &Plan) -> Result<(), Problem> {
    let log_dir = plan.log_dir();
    let problem = |what: &str, e: std::io::Error| {
        Problem::new(
            "flow::log-dir",
            format!("cannot {what} the log folder `{}`: {e}", crate::source::display_path(&log_dir)),
        )
        .with_help("step output is kept there; make the target directory writable, or set CARGO_TARGET_DIR")
    };
    std::fs::create_dir_all(&log_dir).map_err(|e| problem("create", e))?;
    // A folder that exists but cannot be written fails here, before any step runs.
    sys::check_writable(&log_dir).map_err(|e| problem("write into", e))
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
    // Something that is there and is not a plain file (`/dev/stdout`, a FIFO, a link) is
    // written into, so it is what must be writable.
    let link = std::fs::symlink_metadata(path).ok();
    let dangling = link.as_ref().is_some_and(|m| m.is_symlink()) && !path.exists();
    if link.is_some_and(|m| !m.is_file()) && !dangling {
        return sys::check_writable_file(path).map_err(|e| problem(e.to_string()));
    }
    // A link that leads nowhere yet is written through, making the file it names.
    let target = match std::fs::read_link(path) {
        Ok(to) if dangling => path.parent().unwrap_or(Path::new("")).join(to),
        _ => path.to_path_buf(),
    };
    let path = target.as_path();
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
    sys::check_writable(dir).map_err(|e| problem(e.to_string()))
}

/// Takes the lock of a workflow's state, saying so while another run holds it. A signal
/// while waiting ends cargo flow with its exit code.
pub(super) fn lock_state(
    cli: &Cli,
    state: &Path,
    folder: &str,
    workflow: &str,
    forwarder: &mut SignalForwarder,
) -> Result<Result<RunLock, i32>, Problems> {
    let waiting = |pid: Option<u32>| {
        if !cli.global.quiet {
            // One write, so that a reader sees the line whole.
            let line = format!("{}\n", report::notes::blocking(workflow, pid));
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    };
    match RunLock::acquire(state, folder, waiting, || forwarder.unforwarded()) {
        Ok(lock) => Ok(Ok(lock)),
        Err(LockError::Interrupted(sig)) => {
            let name = sys::signal_name(sig);
            eprintln!("{}", report::notes::interrupted_waiting(&name, workflow));
            Ok(Err(128 + sig))
        }
        Err(LockError::Io(path, e)) => Err(Problem::new(
            "flow::log-dir",
            format!("cannot lock `{}`: {e}", crate::source::display_path(&path)),
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

/// Asks for each parameter that has no default and that nothing set, on a terminal, never in
/// CI: what is typed is checked as a `--param` is. Elsewhere the plan reports it missing.
fn ask_for_params(wf: &crate::load::model::Workflow, options: &mut PlanOptions) {
    use std::io::{BufRead, IsTerminal, Write};
    let interactive = std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none();
    if !interactive {
        return;
    }
    for p in &wf.params {
        let name = &p.name.value;
        let set = options
            .params
            .iter()
            .chain(&options.context)
            .any(|(k, _)| k == name);
        if set || p.default.is_some() {
            continue;
        }
        let help = p
            .help
            .as_deref()
            .map(|h| format!("{h}; "))
            .unwrap_or_default();
        eprint!("{name} ({help}{}): ", p.kind.describe());
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(n) if n > 0 => options.params.push((
                name.clone(),
                line.trim_end_matches(['\n', '\r']).to_string(),
            )),
            _ => return,
        }
    }
}
