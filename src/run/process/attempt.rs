//! Starting one attempt of a step: its log opened (with what it receives written at the top),
//! its environment set, its process spawned in a group of its own; and, once it succeeded,
//! what it wrote to `$FLOW_OUTPUT`.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use super::ProcessExecutor;
use super::command::{argv, spawn_error, through_sh};
use super::watch::Running;
use crate::plan::{Plan, PlannedStep};
use crate::run::event::Outcome;
use crate::run::status::{Status, StepError};
use crate::sys::{self, Output, Process, Spec};

impl ProcessExecutor<'_> {
    /// Spawns attempt `attempt` of `of` of step `index`, its output going to its log, or says
    /// why it could not.
    pub(super) fn start(
        &self,
        index: usize,
        attempt: u32,
        of: u32,
        inputs: &[(String, String)],
    ) -> Result<Running, Box<Outcome>> {
        let step = &self.plan.steps[index];
        let log_path = self.plan.log_path(step);
        let started = Instant::now();
        let failed = |error: StepError, log: Option<PathBuf>| {
            Box::new(Outcome {
                log,
                attempts: attempt,
                duration: started.elapsed(),
                ..Outcome::of(Status::Errored(error))
            })
        };
        if self.halts.asked(index) {
            return Err(Box::new(Outcome {
                attempts: attempt,
                ..Outcome::of(Status::Interrupted)
            }));
        }
        self.check_cwd(step).map_err(|e| failed(e, None))?;
        let header = log_header(self.plan, step, inputs, attempt, of);
        let file = open_log(&log_path, attempt, &header).map_err(|e| {
            let reason = format!("cannot write its log `{}`: {e}", log_path.display());
            failed(StepError::Log { reason }, None)
        })?;
        // Measured before the step can write: what it writes is read back from here on.
        let log_start = file.metadata().map_or(0, |m| m.len());
        // Nothing reads the output live unless it is streamed: then it goes straight into the
        // log file, and no pipe, copy or reader wake-up is needed.
        let (reader, writer) = match self.stream {
            true => io::pipe()
                .map(|(r, w)| (Some(r), Some(w)))
                .map_err(|e| failed(StepError::Run(format!("cannot create a pipe: {e}")), None))?,
            false => (None, None),
        };
        let output = writer.as_ref().map_or(Output::File(&file), Output::Pipe);
        let spawned = self
            .spawn(step, output, inputs)
            .map_err(|e| failed(e, None))?;
        // Without closing this end of the pipe, the pipe would never reach its end.
        drop(writer);
        let child = match spawned {
            Some(Ok(c)) => {
                self.halts.started(index, c.id());
                c
            }
            Some(Err(e)) => {
                let error = spawn_error(step, &e);
                let _ = writeln!(&file, "cargo flow: {error}");
                return Err(failed(error, Some(log_path)));
            }
            // Nothing starts once the run is being stopped.
            None => {
                return Err(Box::new(Outcome {
                    attempts: attempt,
                    ..Outcome::of(Status::Interrupted)
                }));
            }
        };
        Ok(Running::new(
            child,
            reader,
            (file, log_start),
            started,
            log_path,
        ))
    }

    /// A missing folder would otherwise surface as a confusing spawn error; the folder
    /// cargo flow runs in exists by definition.
    fn check_cwd(&self, step: &PlannedStep) -> Result<(), StepError> {
        if self.cwd.as_ref() == Some(&step.cwd) || step.cwd.is_dir() {
            return Ok(());
        }
        let problem = match std::fs::metadata(&step.cwd) {
            Ok(_) => "is not a folder",
            Err(e) if e.kind() == io::ErrorKind::NotFound => "does not exist",
            Err(_) => "cannot be entered",
        };
        Err(StepError::WorkingDirectory {
            path: step.cwd.clone(),
            problem,
        })
    }

    /// The jobserver variables a step gets: those of the jobserver cargo flow made (after
    /// the step's own `env:` values of them, which make reads first), none at all for a step
    /// that asks for none (empty, hiding an outer one, unless its `env:` sets them), or, under
    /// an outer jobserver, nothing over what it inherits.
    fn make_flags_of(&self, step: &PlannedStep) -> Vec<(&'static str, String)> {
        let own = |k: &str| {
            step.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let keys = ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];
        if self.no_jobserver || !step.jobserver {
            return keys
                .iter()
                .filter(|k| own(k).is_none())
                .map(|k| (*k, String::new()))
                .collect();
        }
        let Some(flags) = &self.make_flags else {
            return Vec::new();
        };
        keys.iter()
            .map(|k| match own(k) {
                Some(v) => (*k, format!("{v} {flags}")),
                None => (*k, flags.clone()),
            })
            .collect()
    }

    /// Starts a step's process with its environment, unless the run is being stopped
    /// (`None`).
    fn spawn(
        &self,
        step: &PlannedStep,
        output: Output<'_>,
        inputs: &[(String, String)],
    ) -> Result<Option<io::Result<Process>>, StepError> {
        let stdin = self
            .stdin
            .as_ref()
            .map_err(|e| StepError::Run(format!("cannot open /dev/null for its input: {e}")))?;
        // No file is there: each attempt's is removed once read, and a run starts by
        // removing what an interrupted one left.
        let outputs_path = self.outputs_path(step);
        // Asked to colour their output first, so that a step's own `env:` has the last word.
        // A step that sets its own colour choice (`CARGO_TERM_COLOR`, `NO_COLOR`) is asked
        // for nothing.
        let chose = step
            .env
            .iter()
            .any(|(k, _)| k == "CARGO_TERM_COLOR" || k == "NO_COLOR" || k == "CLICOLOR_FORCE");
        let colour: &[(&str, &str)] = match self.colour && !chose {
            true => &[("CARGO_TERM_COLOR", "always"), ("CLICOLOR_FORCE", "1")],
            false => &[],
        };
        let mut over: Vec<(&OsStr, &OsStr)> = colour
            .iter()
            .map(|(k, v)| (OsStr::new(*k), OsStr::new(*v)))
            .chain(
                step.passed
                    .iter()
                    .chain(&step.env)
                    .map(|(k, v)| (OsStr::new(k), OsStr::new(v))),
            )
            .collect();
        over.extend([
            (OsStr::new("FLOW_WORKFLOW"), OsStr::new(&self.plan.workflow)),
            (OsStr::new("FLOW_STEP"), OsStr::new(&step.id)),
            (OsStr::new("FLOW_OUTPUT"), outputs_path.as_os_str()),
        ]);
        over.extend(inputs.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
        let make_flags = self.make_flags_of(step);
        over.extend(
            make_flags
                .iter()
                .map(|(k, v)| (OsStr::new(*k), OsStr::new(v.as_str()))),
        );
        let close: &[i32] = if self.no_jobserver || !step.jobserver {
            &self.jobserver_fds
        } else {
            &[]
        };
        let argv = argv(step);
        // A chdir in the child only when the step runs elsewhere than cargo flow itself.
        let cwd = (self.cwd.as_ref() != Some(&step.cwd)).then_some(step.cwd.as_path());
        let spawn = |argv: &[&str]| {
            let program = self
                .programs
                .resolve(argv[0], &self.environment, &over, &step.cwd)?;
            let argv: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
            let spec = Spec {
                program: &program,
                argv: &argv,
                env: &over,
                cwd,
                stdin,
                output,
                close,
            };
            sys::spawn(&self.environment, &spec)
        };
        let start = || match (spawn(&argv), through_sh(step)) {
            // A file without `#!` run directly: `sh -c` would have run it as a script.
            (Err(e), Some(sh)) if sys::is_exec_format_error(&e) => spawn(&sh),
            (started, _) => started,
        };
        Ok(self.groups.start(start, Process::id))
    }

    /// The file a step writes its outputs to: `$FLOW_OUTPUT`.
    pub(super) fn outputs_path(&self, step: &PlannedStep) -> PathBuf {
        let mut path = self.plan.log_path(step);
        path.set_extension("outputs");
        path
    }

    /// What a step that succeeded wrote to `$FLOW_OUTPUT`; nothing when it wrote no file.
    /// The step controls that path: a link, a FIFO or a device is refused rather than
    /// followed, waited on or read without end.
    pub(super) fn read_outputs(
        &self,
        step: &PlannedStep,
    ) -> Result<Vec<(String, String)>, StepError> {
        let path = self.outputs_path(step);
        let failed = |why: String| StepError::Outputs(format!("its $FLOW_OUTPUT {why}"));
        let file = match sys::open_for_reading(&path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(failed(format!("cannot be read: {e}"))),
        };
        // Read once: the next run starts without it, whatever it is.
        let _ = sys::remove_any(&path);
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(failed("is not a regular file".into()));
        }
        let limit = crate::run::outputs::MAX_OUTPUT_BYTES;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| failed(format!("cannot be read: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(failed(
                "holds more than 1 MiB; outputs are for small values".into(),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| failed("is not UTF-8 text".into()))?;
        crate::run::outputs::parse(&text)
            .map_err(|e| StepError::Outputs(format!("its $FLOW_OUTPUT: {e}")))
    }
}

/// Opens a step's log: anew for its first attempt, to append for the next ones, with `header`
/// written first.
fn open_log(path: &std::path::Path, attempt: u32, header: &str) -> io::Result<File> {
    let file = if attempt == 1 {
        // The log folder is cargo flow's: a link, a FIFO or a folder found at a log's place
        // is taken away, not written through or waited on.
        if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
            sys::remove_any(path)?;
        }
        sys::open_own(path, sys::Own::Fresh)?
    } else {
        sys::open_own(path, sys::Own::Append)?
    };
    if !header.is_empty() {
        (&file).write_all(header.as_bytes())?;
    }
    Ok(file)
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
    let receives = !step.shown.is_empty() || !step.output_refs.is_empty() || !step.args.is_empty();
    if attempt == 1 && receives {
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
        if !step.args.is_empty() {
            let words = shell_words::join(&step.args);
            out.push_str(&format!("--- cargo flow: \"$@\" = {}\n", shown(&words)));
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
pub(super) fn check_inputs(
    plan: &Plan,
    step: &PlannedStep,
    inputs: &[(String, String)],
) -> Result<(), StepError> {
    let Some(construct) = &step.reevaluates else {
        return Ok(());
    };
    // What the step's environment will hold: cargo flow's own, every context value, its own.
    let lookup = |name: &str| {
        let mut own = inputs
            .iter()
            .chain(&step.passed)
            .chain(&step.env)
            .chain(&plan.env);
        own.find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    };
    for r in &step.output_refs {
        let value = inputs.iter().find(|(k, _)| *k == r.env).map(|(_, v)| v);
        if value.is_some_and(|v| crate::plan::reevaluate::runs_something(v, &lookup)) {
            return Err(StepError::Inputs(format!(
                "it reads output `{}` of `{}`, which holds `$` or a backtick (or names a variable that does), which its shell would run where its command has `{construct}`; run it with `shell: dash`, or keep such text out of that output",
                r.key, plan.steps[r.step].id
            )));
        }
    }
    Ok(())
}
