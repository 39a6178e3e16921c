//! Running one step as a process: its own process group, stdin closed, output streamed into
//! its log file, timeouts that stop the whole group, and no leftover process.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::artifacts::{self, Kept};
use super::cache::{self, Store, Upstream, Verdict};
use super::event::{Event, Outcome, Status};
use super::files::{self, Search};
use super::scheduler::Executor;
use super::spawn::{self, Environment, Process, Spec};
use super::sys::{self, Groups};
use crate::load::model::Timeout;
use crate::plan::names::file_name;
use crate::plan::{Plan, PlannedStep, Run};

/// A step whose process has started: what `finish` needs to see it through.
pub struct Running {
    child: Process,
    reader: Option<io::PipeReader>,
    /// The log, when cargo flow copies the output into it.
    log: Option<io::BufWriter<File>>,
    /// The log, when the step writes into it itself.
    direct: Option<File>,
    exit_fd: Option<std::os::fd::OwnedFd>,
    started: Instant,
    log_path: PathBuf,
}

/// Longest line passed on live; a longer one is passed on in pieces.
const MAX_LINE: usize = 64 * 1024;

/// Runs plan steps as real processes.
pub struct ProcessExecutor<'a> {
    plan: &'a Plan,
    log_dir: PathBuf,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long to keep reading after a step's process exited while others hold its output.
    pub pipe_grace: Duration,
    /// Whether to pass output lines on as events.
    pub stream: bool,
    /// Whether a cached step whose key matches its last success is skipped (`--no-cache`
    /// turns this off; successes are still recorded).
    pub use_cache: bool,
    groups: Arc<Groups>,
    programs: Programs,
    /// What every step's environment starts from.
    environment: Environment,
    cwd: Option<PathBuf>,
    store: Store,
    /// Where artifacts may come from.
    project: artifacts::Project,
    /// The folder whose `.gitignore` rules apply, found when first needed.
    boundary: std::sync::OnceLock<PathBuf>,
    /// Every step's standard input: nothing to read.
    stdin: io::Result<OwnedFd>,
}

/// Where programs named without a path were found on `PATH`, so that each spawn execs the
/// program's path without searching again. Only for steps that see cargo flow's own `PATH`
/// (a step that sets its own is looked up each time), and only while every `PATH` entry is
/// absolute, so the answer cannot depend on a step's working directory. A program not found
/// is looked up again the next time: a step may install it.
struct Programs {
    usable: bool,
    found: std::sync::Mutex<std::collections::HashMap<String, OsString>>,
}

impl Programs {
    fn new() -> Self {
        let usable = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).all(|d| d.is_absolute()));
        Self {
            usable,
            found: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The program to exec for `name`, for a step started with `over` set over the run's
    /// environment, in `cwd`.
    fn resolve(
        &self,
        name: &str,
        env: &Environment,
        over: &[(&OsStr, &OsStr)],
        cwd: &Path,
    ) -> io::Result<OsString> {
        let find = || spawn::find_program(OsStr::new(name), env, over, cwd);
        if !self.usable || name.contains('/') || over.iter().any(|(k, _)| *k == "PATH") {
            return find();
        }
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = found.get(name) {
            return Ok(p.clone());
        }
        let path = find()?;
        found.insert(name.to_string(), path.clone());
        Ok(path)
    }
}

/// The program and arguments a step runs: a command line with no shell syntax is executed
/// without a shell, as make does, which saves starting one per step.
fn argv(step: &PlannedStep) -> Vec<&str> {
    match &step.command {
        Run::Shell { line, shell: None } => {
            direct_argv(line).unwrap_or_else(|| vec!["/bin/sh", "-c", line])
        }
        Run::Shell {
            line,
            shell: Some(shell),
        } => shell
            .iter()
            .map(String::as_str)
            .chain(["-c", line.as_str()])
            .collect(),
        Run::Argv(args) => args.iter().map(String::as_str).collect(),
    }
}

/// Whether a step's command goes through a shell, which reports a program it cannot find or
/// run as exit code 127 or 126.
fn through_shell(step: &PlannedStep) -> bool {
    match &step.command {
        Run::Shell { line, shell: None } => direct_argv(line).is_none(),
        Run::Shell { .. } => true,
        Run::Argv(_) => false,
    }
}

impl<'a> ProcessExecutor<'a> {
    /// An executor writing logs into `log_dir`, which must exist.
    pub fn new(plan: &'a Plan, log_dir: PathBuf) -> Self {
        // Outputs files an interrupted run left behind would pass for new ones.
        if let Ok(entries) = std::fs::read_dir(&log_dir) {
            for e in entries.flatten() {
                if e.file_name().as_encoded_bytes().ends_with(b".outputs") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        sys::adopt_orphans();
        Self {
            plan,
            log_dir,
            grace: Duration::from_secs(5),
            pipe_grace: Duration::from_millis(500),
            stream: false,
            use_cache: true,
            groups: Arc::new(Groups::default()),
            programs: Programs::new(),
            environment: Environment::inherit(
                plan.env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))),
            ),
            cwd: std::env::current_dir().ok(),
            store: Store::new(plan),
            boundary: std::sync::OnceLock::new(),
            project: artifacts::Project::new(&[&plan.root, plan.dir.parent().unwrap_or(&plan.dir)]),
            stdin: empty_input(),
        }
    }

    /// The folder whose `.gitignore` rules apply to steps' paths.
    fn boundary(&self) -> &Path {
        // Found once per run: the repository around the project, else the project.
        self.boundary
            .get_or_init(|| files::ignore_boundary(&self.plan.root, &self.plan.root))
            .as_path()
    }

    /// Stops what steps left running outside their groups, once the run is over; how many
    /// processes there were.
    pub fn stop_strays(&self) -> usize {
        sys::stop_strays(self.grace)
    }

    /// The log file of a step.
    pub fn log_path(&self, step: &PlannedStep) -> PathBuf {
        self.log_dir.join(format!("{}.log", file_name(&step.id)))
    }
}

impl Executor for ProcessExecutor<'_> {
    fn execute(
        &self,
        index: usize,
        upstream: &Upstream,
        emit: &(dyn Fn(Event) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome {
        let step = &self.plan.steps[index];
        let Some(spec) = &step.cache else {
            return self.run_and_keep(index, &upstream.outputs, emit, under_way);
        };
        // Hashing its inputs may take a while.
        under_way();
        let stop = || self.groups.is_stopping();
        let search = self.search(&stop);
        let previous = self.store.load(step);
        let fp = cache::fingerprint(self.plan, index, spec, upstream, previous.entry(), search);
        let fp = match fp {
            Ok(fp) => fp,
            Err(message) => return self.failure(message),
        };
        let artifact_dir = self.plan.artifact_dir(step);
        let why = if self.use_cache {
            match cache::check(step, &artifact_dir, &fp, previous, &stop) {
                Verdict::Hit(entry) => return hit(*entry, &artifact_dir),
                Verdict::Miss(why) => why,
            }
        } else {
            vec!["--no-cache was given".to_string()]
        };
        let mut outcome = self.run_and_keep(index, &upstream.outputs, emit, under_way);
        outcome.why = why;
        // Only a success is recorded, and not one cut short by an interruption.
        if outcome.status.is_success() && !self.groups.is_stopping() {
            let recorded = cache::record(
                step,
                spec,
                fp,
                outcome.duration,
                &outcome.artifacts,
                &artifact_dir,
                &outcome.outputs,
                search,
            );
            match recorded {
                Ok(entry) => match self.store.save(step, &entry) {
                    Ok(()) => outcome.key = Some(entry.key),
                    Err(e) => {
                        outcome.note = Some(format!("its cache record could not be written: {e}"));
                    }
                },
                Err(message) => outcome.status = self.failure(message).status,
            }
        }
        outcome
    }

    fn stop(&self, signal: i32) {
        self.groups.signal_all(signal);
    }
}

impl ProcessExecutor<'_> {
    /// Runs a step, with its retries, and copies its artifacts once it succeeded.
    fn run_and_keep(
        &self,
        index: usize,
        inputs: &[(String, String)],
        emit: &(dyn Fn(Event) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome {
        let step = &self.plan.steps[index];
        if step.artifacts.is_empty() {
            return self.run_attempts(index, inputs, emit, under_way);
        }
        // Clearing the folder may take a while.
        under_way();
        let folder = self.plan.artifact_dir(step);
        if let Err(message) = artifacts::clear(&folder) {
            return Outcome::error(message);
        }
        let mut outcome = self.run_attempts(index, inputs, emit, under_way);
        if outcome.status.is_success() {
            let stop = || self.groups.is_stopping();
            match artifacts::collect(&step.cwd, &step.artifacts, &folder, &self.project, &stop) {
                Ok(copies) => outcome.artifacts = copies,
                Err(message) => outcome.status = self.failure(message).status,
            }
        }
        outcome
    }

    /// How a step's paths are searched: `.gitignore` rules from its repository (or project)
    /// down, and an interrupt that stops the search.
    fn search<'s>(&'s self, stop: &'s dyn Fn() -> bool) -> Search<'s> {
        Search {
            ignored: files::Ignored::Skip,
            boundary: self.boundary(),
            stop,
        }
    }

    /// A step that failed without running to its end: interrupted when the run is being
    /// stopped (which cut the work short), else an error with `message`.
    fn failure(&self, message: String) -> Outcome {
        if self.groups.is_stopping() {
            Outcome::of(Status::Interrupted)
        } else {
            Outcome::error(message)
        }
    }

    /// Runs a step until it succeeds or has no attempts left.
    fn run_attempts(
        &self,
        index: usize,
        inputs: &[(String, String)],
        emit: &(dyn Fn(Event) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome {
        let step = &self.plan.steps[index];
        if let Err(message) = check_inputs(self.plan, step, inputs) {
            return Outcome::error(message);
        }
        let of = step.retry.retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            let started = self.start(index, attempt, of, inputs);
            under_way();
            let mut outcome = match started {
                Ok(running) => self.finish(index, running, emit),
                Err(outcome) => *outcome,
            };
            outcome.attempts = attempt;
            if outcome.status.is_success() {
                match self.read_outputs(step) {
                    Ok(outputs) => outcome.outputs = outputs,
                    Err(message) => outcome.status = Status::Errored { message },
                }
            }
            if !outcome.status.is_success() {
                // The next attempt, or the next run, must not read what this one wrote.
                let _ = std::fs::remove_file(self.outputs_path(step));
            }
            let stopping = self.groups.is_stopping() || outcome.status == Status::Interrupted;
            if outcome.status.is_success() || attempt >= of || stopping {
                return outcome;
            }
            let delay = step
                .retry
                .delay_before(attempt, jitter_unit(index, attempt));
            emit(Event::StepRetrying {
                step: index,
                failed: outcome.clone(),
                next: attempt + 1,
                of,
                delay,
            });
            // Ctrl-C during the wait ends the retries with the failure that came before.
            if self.groups.wait_for_stop(delay) {
                return outcome;
            }
            attempt += 1;
        }
    }

    /// Spawns attempt `attempt` of `of` of a step, its output going to its log, or says why
    /// it could not. A step that may be retried gets a header before each attempt's output.
    fn start(
        &self,
        index: usize,
        attempt: u32,
        of: u32,
        inputs: &[(String, String)],
    ) -> Result<Running, Box<Outcome>> {
        let step = &self.plan.steps[index];
        let log_path = self.log_path(step);
        let started = Instant::now();
        let failed = |message: String, log: Option<PathBuf>| {
            Err(Box::new(Outcome {
                duration: started.elapsed(),
                log,
                attempts: attempt,
                ..Outcome::error(message)
            }))
        };
        // A missing folder would otherwise surface as a confusing spawn error; the folder
        // cargo flow runs in exists by definition.
        if self.cwd.as_ref() != Some(&step.cwd) && !step.cwd.is_dir() {
            let what = match std::fs::metadata(&step.cwd) {
                Ok(_) => "is not a folder",
                Err(e) if e.kind() == io::ErrorKind::NotFound => "does not exist",
                Err(_) => "cannot be entered",
            };
            return failed(
                format!("its working directory `{}` {what}", step.cwd.display()),
                None,
            );
        }
        let opened = if attempt == 1 {
            File::create(&log_path)
        } else {
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&log_path)
        };
        let header = |mut f: &File| {
            let text = log_header(self.plan, step, inputs, attempt, of);
            if !text.is_empty() {
                f.write_all(text.as_bytes())?;
            }
            Ok::<_, io::Error>(())
        };
        let file = match opened.and_then(|f| header(&f).map(|()| f)) {
            Ok(f) => f,
            Err(e) => {
                return failed(
                    format!("cannot write its log `{}`: {e}", log_path.display()),
                    None,
                );
            }
        };
        // No file is there: each attempt's is removed once read, and a run starts by
        // removing what an interrupted one left.
        let outputs_path = self.outputs_path(step);
        let mut over: Vec<(&OsStr, &OsStr)> = step
            .passed
            .iter()
            .chain(&step.env)
            .map(|(k, v)| (OsStr::new(k), OsStr::new(v)))
            .collect();
        over.extend([
            (OsStr::new("FLOW_WORKFLOW"), OsStr::new(&self.plan.workflow)),
            (OsStr::new("FLOW_STEP"), OsStr::new(&step.id)),
            (OsStr::new("FLOW_OUTPUT"), outputs_path.as_os_str()),
        ]);
        over.extend(inputs.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
        // Nothing reads the output live unless it is streamed: then it goes straight into the
        // log file, and no pipe, copy or reader wake-up is needed. Both streams are set from
        // one descriptor, so they share one file offset and stay in order.
        let (reader, writer) = if self.stream {
            match io::pipe() {
                Ok((r, w)) => (Some(r), Some(w)),
                Err(e) => return failed(format!("cannot create a pipe: {e}"), Some(log_path)),
            }
        } else {
            (None, None)
        };
        let output = writer.as_ref().map_or(file.as_fd(), |w| w.as_fd());
        let stdin = match &self.stdin {
            Ok(fd) => fd.as_fd(),
            Err(e) => return failed(format!("cannot open /dev/null for its input: {e}"), None),
        };
        let argv = argv(step);
        // A chdir in the child only when the step runs elsewhere than cargo flow itself.
        let cwd = (self.cwd.as_ref() != Some(&step.cwd)).then_some(step.cwd.as_path());
        let start = || {
            let program = self
                .programs
                .resolve(argv[0], &self.environment, &over, &step.cwd)?;
            let argv: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
            let spec = Spec {
                program: &program,
                argv: &argv,
                env: &over,
                cwd,
                stdio: [stdin, output, output],
            };
            spawn::spawn(&self.environment, &spec)
        };
        // Nothing starts once the run is being stopped.
        let Some(spawned) = self.groups.start(start, Process::id) else {
            return Err(Box::new(Outcome {
                attempts: attempt,
                ..Outcome::of(Status::Interrupted)
            }));
        };
        // Without closing this end of the pipe, the pipe would never reach its end.
        drop(writer);
        // Streamed output is copied into the log; otherwise the child wrote it there itself.
        let (log, direct) = match reader {
            Some(_) => (Some(io::BufWriter::with_capacity(64 * 1024, file)), None),
            None => (None, Some(file)),
        };
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let message = spawn_error(step, &e);
                let appended = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&log_path);
                if let Ok(mut f) = appended {
                    let _ = writeln!(f, "cargo flow: {message}");
                }
                return failed(message, Some(log_path));
            }
        };
        let exit_fd = sys::exit_fd(child.id());
        Ok(Running {
            child,
            reader,
            log,
            direct,
            exit_fd,
            started,
            log_path,
        })
    }

    /// The file a step writes its outputs to: `$FLOW_OUTPUT`.
    fn outputs_path(&self, step: &PlannedStep) -> PathBuf {
        self.log_dir
            .join(format!("{}.outputs", file_name(&step.id)))
    }

    /// What a step that succeeded wrote to `$FLOW_OUTPUT`; nothing when it wrote no file.
    /// The step controls that path: a link, a FIFO or a device is refused rather than
    /// followed, waited on or read without end.
    fn read_outputs(&self, step: &PlannedStep) -> Result<Vec<(String, String)>, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.outputs_path(step);
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("its $FLOW_OUTPUT cannot be read: {e}")),
        };
        // Read once: the next run starts without it.
        let _ = std::fs::remove_file(&path);
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        if !regular {
            return Err("its $FLOW_OUTPUT is not a regular file".to_string());
        }
        let limit = super::outputs::MAX_OUTPUT_BYTES;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("its $FLOW_OUTPUT cannot be read: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(
                "its $FLOW_OUTPUT holds more than 1 MiB; outputs are for small values".to_string(),
            );
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| "its $FLOW_OUTPUT is not UTF-8 text".to_string())?;
        super::outputs::parse(&text).map_err(|e| format!("its $FLOW_OUTPUT: {e}"))
    }

    /// Sees a started step to its end: timeouts, leftover processes, reaping.
    fn finish(&self, index: usize, running: Running, emit: &(dyn Fn(Event) + Sync)) -> Outcome {
        let step = &self.plan.steps[index];
        let Running {
            child,
            reader,
            mut log,
            direct,
            exit_fd,
            started,
            log_path,
        } = running;
        let pid = child.id();

        let deadline = match step.timeout {
            Timeout::After(d) => Some(started + d),
            Timeout::Never => None,
        };
        let mut reader = reader;
        let mut buf = if reader.is_some() {
            vec![0u8; 64 * 1024]
        } else {
            Vec::new()
        };
        let mut partial: Vec<u8> = Vec::new();
        let mut timed_out = false;
        let mut kill_at: Option<Instant> = None;
        let mut exited_at: Option<Instant> = None;
        let mut eof = reader.is_none();
        let mut leaked = false;
        let mut give_up_at: Option<Instant> = None;
        let mut write_error: Option<io::Error> = None;

        while !(eof && exited_at.is_some()) {
            let now = Instant::now();
            if let Some(d) = deadline
                && !timed_out
                && exited_at.is_none()
                && now >= d
            {
                timed_out = true;
                sys::signal_group(pid, libc::SIGTERM);
                kill_at = Some(now + self.grace);
            }
            if let Some(k) = kill_at
                && now >= k
            {
                sys::signal_group(pid, libc::SIGKILL);
                kill_at = None;
            }
            if let Some(e) = exited_at
                && !eof
                && !leaked
                && now >= e + self.pipe_grace
            {
                // The step is done but something it started still holds its output open.
                leaked = true;
                sys::signal_group(pid, libc::SIGKILL);
                give_up_at = Some(now + Duration::from_secs(2));
            }
            if give_up_at.is_some_and(|g| now >= g) {
                break; // held open from outside the group (setsid); stop reading
            }

            let mut next: Option<Instant> = None;
            let mut consider = |t: Option<Instant>| {
                if let Some(t) = t {
                    next = Some(next.map_or(t, |n: Instant| n.min(t)));
                }
            };
            if !timed_out && exited_at.is_none() {
                consider(deadline);
            }
            consider(kill_at);
            if !eof && !leaked {
                consider(exited_at.map(|e| e + self.pipe_grace));
            }
            consider(give_up_at);
            if exit_fd.is_none() && exited_at.is_none() {
                consider(Some(now + Duration::from_millis(if eof { 2 } else { 50 })));
            }
            let timeout_ms = next.map_or(-1, |n| {
                let ms = n.saturating_duration_since(now).as_micros().div_ceil(1000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            });
            let ready = match sys::wait_ready(
                reader.as_ref().filter(|_| !eof),
                exit_fd.as_ref().filter(|_| exited_at.is_none()),
                timeout_ms,
            ) {
                Ok(r) => r,
                Err(_) => sys::Ready {
                    output: !eof,
                    exited: false,
                },
            };
            if ready.output
                && let (Some(r), Some(log)) = (reader.as_mut(), log.as_mut())
            {
                match r.read(&mut buf) {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        if write_error.is_none()
                            && let Err(e) = log.write_all(&buf[..n])
                        {
                            write_error = Some(e);
                        }
                        if self.stream {
                            pass_lines(index, &buf[..n], &mut partial, emit);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => eof = true,
                }
            }
            if exited_at.is_none() && (ready.exited || (exit_fd.is_none() && sys::has_exited(pid)))
            {
                exited_at = Some(Instant::now());
            }
        }
        let duration = exited_at
            .unwrap_or_else(Instant::now)
            .duration_since(started);
        // Forget the group before reaping its leader: until then the id cannot be reused, so
        // the last signal cannot reach a stranger. It stops anything the step left behind.
        self.groups.remove(pid);
        sys::signal_group(pid, libc::SIGKILL);
        let exit = child.wait();
        if self.stream && !partial.is_empty() {
            emit(Event::Output {
                step: index,
                line: std::mem::take(&mut partial),
            });
        }
        if let Some(Err(e)) = log.as_mut().map(Write::flush)
            && write_error.is_none()
        {
            write_error = Some(e);
        }

        let mut note = None;
        let status = match exit {
            _ if timed_out => Status::TimedOut {
                after: match step.timeout {
                    Timeout::After(d) => d,
                    Timeout::Never => duration,
                },
            },
            Err(e) => Status::Errored {
                message: format!("cannot wait for it: {e}"),
            },
            Ok(st) => match (st.code(), st.signal()) {
                (Some(0), _) => Status::Success,
                (Some(code), _) => {
                    if through_shell(step) {
                        note = match code {
                            127 => Some("command not found".to_string()),
                            126 => Some("command not executable".to_string()),
                            _ => None,
                        };
                    }
                    Status::Failed { code }
                }
                (None, Some(sig)) => Status::Signaled { signal: sig },
                (None, None) => Status::Failed { code: -1 },
            },
        };
        let status = if !status.is_success() && self.groups.is_stopping() && !timed_out {
            Status::Interrupted
        } else {
            status
        };
        if leaked && !timed_out && status != Status::Interrupted {
            note = Some("processes it left running held its output open; they were killed".into());
        }
        // What the step wrote itself may have been cut short without anyone seeing an error.
        if write_error.is_none() && direct.as_ref().is_some_and(sys::disk_full) {
            write_error = Some(io::Error::other("the disk is full"));
        }
        // A success over a log that lost output would be data lost without a word.
        let status = match write_error {
            Some(e) if status.is_success() => Status::Errored {
                message: format!("its log could not be written in full: {e}"),
            },
            Some(e) => {
                note = Some(format!("its log could not be written in full: {e}"));
                status
            }
            None => status,
        };
        Outcome {
            duration,
            log: Some(log_path),
            note,
            ..Outcome::of(status)
        }
    }
}

/// A cached step that need not run: its last success, with what it left.
fn hit(entry: cache::Entry, artifact_dir: &Path) -> Outcome {
    Outcome {
        outputs: entry.step_outputs,
        artifacts: entry
            .artifacts
            .into_iter()
            .map(|(name, sig)| Kept {
                path: artifact_dir.join(name),
                size: sig.size,
                hash: sig.hash,
            })
            .collect(),
        key: Some(entry.key),
        ..Outcome::of(Status::Cached {
            saved: Duration::from_millis(entry.duration_ms),
        })
    }
}

/// What a step's log starts with: when it receives values, its command as written and each
/// value; before each attempt of a step that may be retried, the attempt's number.
fn log_header(
    plan: &Plan,
    step: &PlannedStep,
    inputs: &[(String, String)],
    attempt: u32,
    of: u32,
) -> String {
    let mut out = String::new();
    if attempt == 1 && (!step.shown.is_empty() || !step.output_refs.is_empty()) {
        for (i, line) in step.written.lines().enumerate() {
            let lead = if i == 0 { "run: " } else { "     " };
            out.push_str(&format!("--- cargo flow: {lead}{line}\n"));
        }
        let outputs = step.output_refs.iter().map(|r| {
            let name = format!("${{steps.{}.outputs.{}}}", plan.steps[r.step].id, r.key);
            let value = inputs.iter().find(|(k, _)| *k == r.env).map(|(_, v)| v);
            (name, value.map_or("", String::as_str))
        });
        let values = step.shown.iter().map(|(n, v)| (n.clone(), v.as_str()));
        for (name, value) in values.chain(outputs) {
            out.push_str(&format!("--- cargo flow: {name} = {}\n", shown(value)));
        }
    }
    if of > 1 {
        let gap = if attempt > 1 { "\n" } else { "" };
        out.push_str(&format!(
            "{gap}--- cargo flow: attempt {attempt} of {of} ---\n"
        ));
    }
    out
}

/// A value as a log shows it: quoted, with control characters escaped, and cut after 200
/// characters.
fn shown(value: &str) -> String {
    const SHOWN: usize = 200;
    match value.char_indices().nth(SHOWN) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// Refuses the outputs a step reads when bash could run one where its command would evaluate
/// it again (see [`crate::plan::reevaluate`]).
fn check_inputs(
    plan: &Plan,
    step: &PlannedStep,
    inputs: &[(String, String)],
) -> Result<(), String> {
    let Some(construct) = &step.reevaluates else {
        return Ok(());
    };
    for r in &step.output_refs {
        let value = inputs.iter().find(|(k, _)| *k == r.env).map(|(_, v)| v);
        if value.is_some_and(|v| crate::plan::reevaluate::is_risky(v)) {
            return Err(format!(
                "it reads output `{}` of `{}`, which holds `$` or a backtick, which bash would run where its command has `{construct}`; run it with `shell: dash`, or keep such text out of that output",
                r.key, plan.steps[r.step].id
            ));
        }
    }
    Ok(())
}

/// A number in [0, 1) for retry jitter: it only has to differ between steps and attempts.
fn jitter_unit(index: usize, attempt: u32) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(attempt) << 32
        ^ u64::from(nanos)
        | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Splits output into lines for live display, bounding how much of a line is held.
fn pass_lines(step: usize, chunk: &[u8], partial: &mut Vec<u8>, emit: &(dyn Fn(Event) + Sync)) {
    let mut rest = chunk;
    while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
        partial.extend_from_slice(&rest[..pos]);
        emit(Event::Output {
            step,
            line: std::mem::take(partial),
        });
        rest = &rest[pos + 1..];
    }
    partial.extend_from_slice(rest);
    if partial.len() >= MAX_LINE {
        emit(Event::Output {
            step,
            line: std::mem::take(partial),
        });
    }
}

/// Words of the shell's own that no program on PATH stands in for.
const SHELL_WORDS: &[&str] = &[
    // Builtins that also exist as programs but behave differently there (`echo -e`, `pwd`).
    "echo", "printf", "pwd", "kill", "test", "[", "!", ".", ":", "alias", "break", "case", "cd",
    "command", "continue", "do", "done", "elif", "else", "esac", "eval", "exec", "exit", "export",
    "fi", "for", "function", "getopts", "hash", "if", "local", "read", "readonly", "return", "set",
    "shift", "source", "then", "times", "trap", "type", "ulimit", "umask", "unalias", "unset",
    "until", "wait", "while", "{", "}",
];

/// The words of a command line that `sh -c` would run as one plain program, or `None` when
/// it uses any shell syntax (quotes, variables, globs, redirections, operators, comments) or
/// starts with a shell builtin or an assignment.
pub fn direct_argv(line: &str) -> Option<Vec<&str>> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b" \t-_./=:,+@%".contains(&b) && b != b'\\';
    if !line.bytes().all(plain) {
        return None;
    }
    let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    if first.contains('=') || SHELL_WORDS.contains(&first) {
        return None;
    }
    Some(words)
}

/// A descriptor with nothing to read: `/dev/null`, or, were it missing, a pipe whose writing
/// end is closed. One is opened per run; a spawn only duplicates it into the child.
fn empty_input() -> io::Result<OwnedFd> {
    File::open("/dev/null")
        .map(OwnedFd::from)
        .or_else(|_| io::pipe().map(|(reader, _)| reader.into()))
}

fn spawn_error(step: &PlannedStep, e: &io::Error) -> String {
    let program = argv(step).first().copied().unwrap_or_default().to_string();
    match e.kind() {
        io::ErrorKind::NotFound => format!("command not found: `{program}`"),
        io::ErrorKind::PermissionDenied => format!("command not executable: `{program}`"),
        _ => format!("cannot start `{program}`: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::direct_argv;

    #[test]
    fn runs_plain_commands_without_a_shell() {
        assert_eq!(direct_argv("true"), Some(vec!["true"]));
        assert_eq!(
            direct_argv("cargo test --all  -p x"),
            Some(vec!["cargo", "test", "--all", "-p", "x"])
        );
        for shell in [
            "echo $HOME",
            "a && b",
            "a | b",
            "echo 'x'",
            "ls *.rs",
            "cd x",
            "X=1 cmd",
            "a > f",
            "echo ~",
            "a # c",
            "a\nb",
            "exit 1",
            "",
            "   ",
        ] {
            assert_eq!(direct_argv(shell), None, "{shell}");
        }
    }
}
