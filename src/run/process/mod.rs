//! Running steps as real processes: each in its own process group, stdin closed, output
//! streamed into its log file, tried again as its `retry:` says, its artifacts kept, and a
//! cached step skipped when nothing it depends on changed.

mod activity;
mod attempt;
mod command;
mod halt;
mod watch;

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::artifacts::{self, Kept};
use super::cache::{self, Store, Upstream, Verdict};
use super::event::{EventKind, Outcome};
use super::files::{self, Search};
use super::remote;
use super::scheduler::Executor;
use super::status::{Status, StepError};
use crate::plan::Plan;
use crate::sys::{self, Environment, Groups, Input, Stop};

/// Runs plan steps as real processes.
pub(crate) struct ProcessExecutor<'a> {
    plan: &'a Plan,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long to keep reading after a step's process exited while others hold its output.
    pub pipe_grace: Duration,
    /// Whether to pass output lines on as events.
    pub stream: bool,
    /// Whether to tell each running step's latest line (for a terminal).
    pub lines: bool,
    /// Whether to ask steps for colours (`CARGO_TERM_COLOR=always`, `CLICOLOR_FORCE=1`): their
    /// streamed output reaches a terminal that shows them.
    pub colour: bool,
    /// Whether a cached step whose key matches its last success is skipped (`--no-cache`
    /// turns this off; successes are still recorded).
    pub use_cache: bool,
    /// The `MAKEFLAGS` that hand steps the jobserver cargo flow made; `None` where steps
    /// keep the variables cargo flow inherited (an outer jobserver's, which they name).
    pub make_flags: Option<String>,
    /// With `--only`, by step: whether it must be taken from the cache rather than run.
    pub restore_only: Vec<bool>,
    /// The remote cache, when one is set.
    pub remote: Option<remote::Remote>,
    /// The jobserver's pipe, closed in a step that gets none.
    pub jobserver_fds: Vec<i32>,
    /// `--no-jobserver`: no step gets one.
    pub no_jobserver: bool,
    groups: Arc<Groups>,
    /// The steps stopped on their own (`--watch`).
    halts: halt::Halts,
    programs: command::Programs,
    /// What every step's environment starts from.
    environment: Environment,
    cwd: Option<PathBuf>,
    store: Store,
    /// The folders walked for cached steps' inputs, shared until a step runs.
    walks: files::Walks,
    /// Where artifacts may come from.
    project: artifacts::Project,
    /// The folder whose `.gitignore` rules apply, found when first needed.
    boundary: std::sync::OnceLock<PathBuf>,
    /// Every step's standard input: nothing to read.
    stdin: io::Result<Input>,
}

impl<'a> ProcessExecutor<'a> {
    /// An executor for `plan`, whose log folder must exist.
    pub(crate) fn new(plan: &'a Plan) -> Self {
        // Outputs files an interrupted run left behind would pass for new ones.
        if let Ok(entries) = std::fs::read_dir(plan.log_dir()) {
            for e in entries.flatten() {
                if e.file_name().as_encoded_bytes().ends_with(b".outputs") {
                    let _ = sys::remove_any(&e.path());
                }
            }
        }
        sys::adopt_orphans();
        let target = plan.dir.parent().unwrap_or(&plan.dir);
        Self {
            plan,
            grace: Duration::from_secs(5),
            pipe_grace: Duration::from_millis(500),
            stream: false,
            lines: false,
            colour: false,
            use_cache: true,
            make_flags: None,
            jobserver_fds: Vec::new(),
            no_jobserver: false,
            remote: None,
            restore_only: Vec::new(),
            groups: Arc::new(Groups::default()),
            halts: halt::Halts::default(),
            programs: command::Programs::new(),
            // The remote cache's address and credentials are cargo flow's, not the steps'.
            environment: Environment::inherit(
                plan.env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))),
            )
            .withhold(b"CARGO_FLOW_REMOTE_CACHE"),
            cwd: std::env::current_dir().ok(),
            store: Store::new(plan),
            walks: files::Walks::default(),
            boundary: std::sync::OnceLock::new(),
            project: artifacts::Project::new(&[&plan.root, target]),
            stdin: sys::null_input(),
        }
    }

    /// Stops what steps left running outside their groups, once the run is over; how many
    /// processes there were.
    pub(crate) fn stop_strays(&self) -> usize {
        sys::stop_strays(self.grace)
    }

    /// The folder whose `.gitignore` rules apply to steps' paths: the repository around the
    /// project, else the project. Found once per run.
    fn boundary(&self) -> &Path {
        self.boundary
            .get_or_init(|| files::ignore_boundary(&self.plan.root, &self.plan.root))
            .as_path()
    }

    /// How a step's paths are searched: `.gitignore` rules from its repository (or project)
    /// down, and an interrupt that stops the search.
    fn search<'s>(&'s self, stop: &'s (dyn Fn() -> bool + Sync)) -> Search<'s> {
        Search {
            ignored: files::Ignored::Skip,
            boundary: self.boundary(),
            stop,
            walks: Some(&self.walks),
        }
    }

    /// Whether step `index` is to stop: the run is being stopped, or the step alone.
    fn halting(&self, index: usize) -> bool {
        self.groups.is_stopping() || self.halts.asked(index)
    }

    /// Waits `delay` before a step's next attempt; whether it was stopped meanwhile. The
    /// run's stop wakes the wait at once, a step's own within a tenth of a second.
    fn wait_before_retry(&self, index: usize, delay: Duration) -> bool {
        let end = Instant::now() + delay;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if self
                .groups
                .wait_for_stop(left.min(Duration::from_millis(100)))
            {
                return true;
            }
            if self.halts.asked(index) {
                return true;
            }
            if left.is_zero() {
                return false;
            }
        }
    }

    /// A step that failed without running to its end: interrupted when it is being stopped
    /// (which cut the work short), else `error`.
    fn failure(&self, index: usize, error: StepError) -> Status {
        if self.halting(index) {
            Status::Interrupted
        } else {
            Status::Errored(error)
        }
    }
}

impl Executor for ProcessExecutor<'_> {
    fn execute(
        &self,
        index: usize,
        upstream: &Upstream,
        emit: &(dyn Fn(EventKind) + Sync),
        under_way: &dyn Fn(),
    ) -> Outcome {
        let began = Instant::now();
        let call = Call {
            index,
            inputs: &upstream.outputs,
            emit,
            under_way,
        };
        let mut outcome = self.cached_or_run(&call, upstream, began);
        // A step takes all the time spent on it: hashing its inputs, its attempts and the
        // waits between them, copying its artifacts, writing its record.
        outcome.duration = began.elapsed();
        outcome
    }

    fn stop(&self, how: Stop) {
        self.groups.stop_all(how);
    }

    fn stop_steps(&self, steps: &[usize], how: Stop) {
        self.halts.ask(steps, how);
    }
}

impl ProcessExecutor<'_> {
    /// A cached step's record when it still holds, else the step run (and recorded, when
    /// it succeeds and is cached).
    fn cached_or_run(&self, call: &Call<'_>, upstream: &Upstream, began: Instant) -> Outcome {
        let (index, under_way) = (call.index, call.under_way);
        let step = &self.plan.steps[index];
        let Some(spec) = &step.cache else {
            return self.run_and_keep(call);
        };
        // Hashing its inputs may take a while.
        under_way();
        let stop = || self.halting(index);
        let search = self.search(&stop);
        let previous = self.store.load(step);
        let (last, store) = (previous.entry(), &self.store);
        let fp = cache::fingerprint(self.plan, index, spec, upstream, last, store, search);
        let fp = match fp {
            Ok(fp) => fp,
            Err(message) => return Outcome::of(self.failure(index, StepError::Cache(message))),
        };
        let artifact_dir = self.plan.artifact_dir(step);
        let restore_only = self.restore_only.get(index).copied().unwrap_or(false);
        let why = match self.use_cache || restore_only {
            true => match cache::check(step, &artifact_dir, &fp, previous, store, &stop) {
                Verdict::Hit(entry) => {
                    self.refresh(step, &entry, &fp);
                    return hit(*entry, &artifact_dir, false);
                }
                Verdict::Miss(why) => match self.restore_remote(call, &fp, &artifact_dir) {
                    Some(outcome) => return outcome,
                    None => why,
                },
            },
            false => vec!["--no-cache was given".to_string()],
        };
        if restore_only {
            return Outcome::of(Status::Errored(StepError::Cache(not_cached(&why))));
        }
        let mut outcome = self.run_and_keep(call);
        outcome.why = why;
        // Its outputs are looked for anew, never in a walk done before it ran.
        let search = Search {
            walks: None,
            ..search
        };
        // Only a success is recorded, and not one cut short by an interruption.
        if outcome.status.is_success() && !self.halting(index) {
            let (took, durable) = (began.elapsed(), &outcome.artifacts);
            let recorded = cache::record(
                step,
                spec,
                fp,
                took,
                durable,
                &artifact_dir,
                &outcome.outputs,
                search,
            );
            match recorded.map(|entry| (self.store.save(step, &entry), entry)) {
                Ok((Ok(()), entry)) => {
                    self.share(call, &entry, &artifact_dir);
                    outcome.key = Some(entry.key);
                }
                Ok((Err(e), _)) => {
                    outcome.note = Some(format!("its cache record could not be written: {e}"));
                }
                Err(message) => outcome.status = self.failure(index, StepError::Cache(message)),
            }
        }
        outcome
    }

    /// A step the local cache has no success of, restored from the remote cache when it has
    /// one; what goes wrong is a warning, and the step runs.
    fn restore_remote(
        &self,
        call: &Call<'_>,
        fp: &cache::Fingerprint,
        artifact_dir: &Path,
    ) -> Option<Outcome> {
        let remote = self.remote.as_ref()?;
        let step = &self.plan.steps[call.index];
        let target = self.target(call.index, &fp.key, artifact_dir);
        let entry = match remote.restore(&target) {
            Ok(found) => found?,
            Err(message) => return warn(call, message),
        };
        let stop = || self.halting(call.index);
        match cache::restored(step, artifact_dir, fp.clone(), entry, &stop) {
            Ok(entry) => {
                // Not recorded here, the next run asks the server again.
                let _ = self.store.save(step, &entry);
                Some(hit(entry, artifact_dir, true))
            }
            Err(message) => warn(call, message),
        }
    }

    /// Stores a success in the remote cache, when there is one; a failure is a warning.
    fn share(&self, call: &Call<'_>, entry: &cache::Entry, artifact_dir: &Path) {
        let Some(remote) = &self.remote else {
            return;
        };
        if let Err(message) =
            remote.store(&self.target(call.index, &entry.key, artifact_dir), entry)
        {
            warn(call, message);
        }
    }

    /// A step as the remote cache knows it.
    fn target<'t>(
        &'t self,
        index: usize,
        key: &'t str,
        artifact_dir: &'t Path,
    ) -> remote::Target<'t> {
        let step = &self.plan.steps[index];
        remote::Target {
            workflow: &self.plan.workflow,
            step: &step.id,
            key,
            cwd: &step.cwd,
            artifact_dir,
            outputs: step.cache.as_ref().map_or(&[], |c| c.outputs.as_slice()),
            root: &self.plan.root,
            state_dir: &self.plan.dir,
            stop: Box::new(move || self.halting(index)),
        }
    }

    /// After a hit for which its input files were read (their times changed, not their
    /// contents), records their times, so that the next run reads none of them.
    fn refresh(
        &self,
        step: &crate::plan::PlannedStep,
        entry: &cache::Entry,
        fp: &cache::Fingerprint,
    ) {
        if fp.parts.input_files.is_none() {
            return;
        }
        let mut entry = entry.clone();
        entry.parts = fp.parts.clone();
        entry.hashed_at = fp.hashed_at;
        // A record not refreshed is only slower to check next time.
        let _ = self.store.save(step, &entry);
    }

    /// Runs a step, with its retries, and copies its artifacts once it succeeded. What was
    /// walked before may change while it runs.
    fn run_and_keep(&self, call: &Call<'_>) -> Outcome {
        self.walks.invalidate();
        let outcome = self.run_and_copy(call);
        self.walks.invalidate();
        outcome
    }

    fn run_and_copy(&self, call: &Call<'_>) -> Outcome {
        let step = &self.plan.steps[call.index];
        if step.artifacts.is_empty() {
            return self.run_attempts(call);
        }
        // Clearing the folder may take a while.
        (call.under_way)();
        let folder = self.plan.artifact_dir(step);
        if let Err(message) = artifacts::clear(&folder) {
            return Outcome::of(Status::Errored(StepError::Artifacts(message)));
        }
        let mut outcome = self.run_attempts(call);
        if outcome.status.is_success() {
            let index = call.index;
            let stop = || self.halting(index);
            let keep = artifacts::Keep {
                cwd: &step.cwd,
                patterns: &step.artifacts,
                folder: &folder,
                project: &self.project,
                stop: &stop,
            };
            match keep.collect() {
                Ok(copies) => outcome.artifacts = copies,
                Err(message) => {
                    outcome.status = self.failure(call.index, StepError::Artifacts(message));
                }
            }
        }
        outcome
    }

    /// Runs a step until it succeeds or has no attempts left.
    fn run_attempts(&self, call: &Call<'_>) -> Outcome {
        let Call {
            index,
            inputs,
            emit,
            under_way,
        } = *call;
        let step = &self.plan.steps[index];
        if let Err(e) = attempt::check_inputs(self.plan, step, inputs) {
            return Outcome::of(Status::Errored(e));
        }
        let of = step.retry.retries.saturating_add(1);
        let mut attempt = 1;
        let mut blocked = Duration::ZERO;
        loop {
            let started = self.start(index, attempt, of, inputs);
            under_way();
            let mut outcome = match started {
                Ok(running) => self.finish(index, running, emit),
                Err(outcome) => *outcome,
            };
            outcome.attempts = attempt;
            blocked += outcome.blocked;
            outcome.blocked = blocked;
            if outcome.status.is_success()
                && let Err(e) = self.read_outputs(step).map(|o| outcome.outputs = o)
            {
                outcome.status = Status::Errored(e);
            }
            if !outcome.status.is_success() {
                // The next attempt, or the next run, must not read what this one wrote.
                let _ = sys::remove_any(&self.outputs_path(step));
            }
            let stopping = self.halting(index) || outcome.status == Status::Interrupted;
            if outcome.status.is_success() || attempt >= of || stopping {
                return outcome;
            }
            let delay = step.retry.delay_before(attempt, fastrand::f64());
            emit(EventKind::StepRetrying {
                step: index,
                failed: outcome.clone(),
                delay,
            });
            // Ctrl-C during the wait, or a change that stops the step alone, ends the retries
            // with the failure that came before.
            if self.wait_before_retry(index, delay) {
                return outcome;
            }
            attempt += 1;
        }
    }
}

/// What running one step is given.
#[derive(Clone, Copy)]
struct Call<'c> {
    /// The step.
    index: usize,
    /// The outputs of earlier steps it reads, as its environment variables.
    inputs: &'c [(String, String)],
    /// Where live output and retries go.
    emit: &'c (dyn Fn(EventKind) + Sync),
    /// To be called once it is under way (see [`Executor::execute`]).
    under_way: &'c dyn Fn(),
}

/// Why a step `--only` takes from the cache cannot be.
fn not_cached(why: &[String]) -> String {
    let why = why.first().map_or(String::new(), |w| format!(" ({w})"));
    format!(
        "`--only` takes it from the cache, but no cache has a success of it for its key{why}: \
         run it first, or name it too"
    )
}

/// Tells of something that went wrong without failing the step (an empty message was told
/// already); there is no outcome to give instead.
fn warn(call: &Call<'_>, message: String) -> Option<Outcome> {
    if !message.is_empty() {
        (call.emit)(EventKind::Warning {
            step: Some(call.index),
            message,
        });
    }
    None
}

/// A cached step that need not run: its last success (restored from the remote cache, or
/// not), with what it left.
fn hit(entry: cache::Entry, artifact_dir: &Path, remote: bool) -> Outcome {
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
            remote,
        })
    }
}
