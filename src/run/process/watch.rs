//! Seeing a started step through to its end: its output copied into its log (when streamed),
//! its timeout kept (SIGTERM, then SIGKILL after the grace period), what it leaves running in
//! its group killed, and how it ended told.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::ProcessExecutor;
use super::activity::{Activity, TAIL_EVERY};
use super::command::through_shell;
use crate::load::model::Timeout;
use crate::run::event::{EventKind, Outcome};
use crate::run::status::{Status, StepError};
use crate::sys::{self, Exit, ExitWatch, Process, Stop};

/// Longest line passed on live; a longer one is passed on in pieces.
const MAX_LINE: usize = 64 * 1024;

/// How long leftover processes that hold a streamed step's output open, from outside its
/// group, are waited for before cargo flow stops reading.
const GIVE_UP_AFTER: Duration = Duration::from_secs(2);

/// A step whose process has started.
pub(super) struct Running {
    child: Process,
    /// The output, when cargo flow copies it into the log.
    reader: Option<io::PipeReader>,
    /// The log: written by cargo flow when the output is streamed, by the step otherwise.
    log: File,
    exit: Option<ExitWatch>,
    started: Instant,
    log_path: PathBuf,
    /// Where the step's own output begins in its log, after what cargo flow wrote there.
    log_start: u64,
}

impl Running {
    pub(super) fn new(
        child: Process,
        reader: Option<io::PipeReader>,
        (log, log_start): (File, u64),
        started: Instant,
        log_path: PathBuf,
    ) -> Self {
        Running {
            exit: sys::exit_watch(child.id()),
            child,
            reader,
            log,
            started,
            log_path,
            log_start,
        }
    }
}

/// Where a watched step stands.
struct Watch<'r> {
    running: &'r Running,
    /// When its timeout is up, until it was acted on.
    deadline: Option<Instant>,
    /// How long it may go doing nothing (the default timeout), and when that is next
    /// looked at.
    quiet: Option<(Duration, Instant)>,
    /// Its group's CPU time when last looked at, and when it last grew.
    cpu: (Option<Duration>, Instant),
    /// Whether it was stopped by its timeout, and whether for doing nothing.
    timed_out: bool,
    quiet_stop: bool,
    /// When SIGKILL is due, after a SIGTERM.
    kill_at: Option<Instant>,
    /// When its process exited.
    exited_at: Option<Instant>,
    /// Whether its output reached its end (always, when not streamed).
    eof: bool,
    /// Its process exited but something it started held the output open, and was killed.
    leaked: bool,
    /// When to stop reading output held open from outside the group.
    give_up_at: Option<Instant>,
    /// When to read the log back for new lines, while the step runs and writes it itself.
    tail_at: Option<Instant>,
}

impl<'r> Watch<'r> {
    fn new(running: &'r Running, timeout: Timeout, streamed: bool) -> Self {
        Watch {
            running,
            deadline: match timeout {
                Timeout::After(d) | Timeout::Quiet { limit: d, .. } => Some(running.started + d),
                Timeout::Never => None,
            },
            quiet: match timeout {
                Timeout::Quiet { quiet, .. } => Some((quiet, running.started + quiet)),
                _ => None,
            },
            cpu: (Some(Duration::ZERO), running.started),
            timed_out: false,
            quiet_stop: false,
            kill_at: None,
            exited_at: None,
            eof: !streamed,
            leaked: false,
            give_up_at: None,
            tail_at: (!streamed).then(|| running.started + TAIL_EVERY),
        }
    }

    fn pid(&self) -> u32 {
        self.running.child.id()
    }

    fn done(&self) -> bool {
        self.eof && self.exited_at.is_some()
    }

    /// Acts on what is due at `now`, the step's output last seen at `output`; whether to
    /// stop watching.
    fn act(
        &mut self,
        now: Instant,
        output: Option<Instant>,
        grace: Duration,
        pipe_grace: Duration,
    ) -> bool {
        let hung = self.exited_at.is_none() && self.hung(now, output);
        if (hung || self.deadline.is_some_and(|d| now >= d)) && self.exited_at.is_none() {
            self.deadline = None;
            self.quiet = None;
            self.timed_out = true;
            self.quiet_stop = hung;
            sys::stop_group(self.pid(), Stop::Term);
            self.kill_at = Some(now + grace);
        }
        if self.kill_at.is_some_and(|k| now >= k) {
            sys::stop_group(self.pid(), Stop::Kill);
            self.kill_at = None;
        }
        if let Some(e) = self.exited_at
            && !self.eof
            && !self.leaked
            && now >= e + pipe_grace
        {
            // The step is done but something it started still holds its output open.
            self.leaked = true;
            sys::stop_group(self.pid(), Stop::Kill);
            self.give_up_at = Some(now + GIVE_UP_AFTER);
        }
        // Held open from outside the group (`setsid`): stop reading.
        self.give_up_at.is_some_and(|g| now >= g)
    }

    /// Whether a step under the default timeout has done nothing for its quiet time: no
    /// output, and no CPU time used by its group (looked at only then: one scan of `/proc`).
    fn hung(&mut self, now: Instant, output: Option<Instant>) -> bool {
        let Some((quiet, due)) = self.quiet else {
            return false;
        };
        if now < due {
            return false;
        }
        let busy = output.map_or(self.cpu.1, |o| o.max(self.cpu.1));
        if now < busy + quiet {
            self.quiet = Some((quiet, busy + quiet));
            return false;
        }
        let cpu = sys::group_cpu_time(self.pid());
        if cpu.is_some() && cpu > self.cpu.0 {
            self.cpu = (cpu, now);
            self.quiet = Some((quiet, now + quiet));
            return false;
        }
        true
    }

    /// How long to wait for output or the exit before something is due, in milliseconds
    /// (`-1`: until then).
    fn wait_ms(&self, now: Instant, pipe_grace: Duration) -> i32 {
        let leak_check = (!self.eof && !self.leaked)
            .then(|| self.exited_at.map(|e| e + pipe_grace))
            .flatten();
        // Without an exit watch, the exit is looked for now and then.
        let poll_exit = (self.running.exit.is_none() && self.exited_at.is_none())
            .then(|| now + Duration::from_millis(if self.eof { 2 } else { 50 }));
        let deadline = self.deadline.filter(|_| self.exited_at.is_none());
        let quiet = self
            .quiet
            .map(|(_, due)| due)
            .filter(|_| self.exited_at.is_none());
        let next = [
            deadline,
            quiet,
            self.tail_at,
            self.kill_at,
            leak_check,
            self.give_up_at,
            poll_exit,
        ]
        .into_iter()
        .flatten()
        .min();
        next.map_or(-1, |n| {
            let ms = n.saturating_duration_since(now).as_micros().div_ceil(1000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        })
    }
}

/// Output copied from a streamed step into its log, and passed on line by line.
struct Copy<'e> {
    log: io::BufWriter<&'e File>,
    buf: Vec<u8>,
    partial: Vec<u8>,
    write_error: Option<io::Error>,
    emit: Option<(usize, &'e (dyn Fn(EventKind) + Sync))>,
}

impl Copy<'_> {
    /// Reads what is there; whether the output reached its end.
    fn read(&mut self, reader: &mut io::PipeReader, activity: &mut Activity<'_>) -> bool {
        match reader.read(&mut self.buf) {
            Ok(0) => true,
            Ok(n) => {
                activity.chunk(&self.buf[..n], Instant::now());
                if self.write_error.is_none()
                    && let Err(e) = self.log.write_all(&self.buf[..n])
                {
                    self.write_error = Some(e);
                }
                if let Some((step, emit)) = self.emit {
                    pass_lines(step, &self.buf[..n], &mut self.partial, emit);
                }
                false
            }
            Err(e) => e.kind() != io::ErrorKind::Interrupted,
        }
    }

    /// Passes on the last line, and writes out what is left: the first write error, if any.
    fn end(mut self) -> Option<io::Error> {
        if let Some((step, emit)) = self.emit
            && !self.partial.is_empty()
        {
            emit(EventKind::Output {
                step,
                line: std::mem::take(&mut self.partial),
            });
        }
        match self.log.flush() {
            Err(e) if self.write_error.is_none() => Some(e),
            _ => self.write_error,
        }
    }
}

impl ProcessExecutor<'_> {
    /// Sees a started step to its end: timeouts, leftover processes, reaping.
    pub(super) fn finish(
        &self,
        index: usize,
        mut running: Running,
        emit: &(dyn Fn(EventKind) + Sync),
    ) -> Outcome {
        let step = &self.plan.steps[index];
        let mut reader = running.reader.take();
        let mut copy = reader.is_some().then(|| Copy {
            log: io::BufWriter::with_capacity(64 * 1024, &running.log),
            buf: vec![0u8; 64 * 1024],
            partial: Vec::new(),
            write_error: None,
            emit: self.stream.then_some((index, emit)),
        });
        let mut activity = Activity::new(
            index,
            emit,
            self.lines && reader.is_none(),
            running.log_start,
        );
        let mut watch = Watch::new(&running, step.timeout, reader.is_some());
        self.watch(&mut watch, &mut reader, copy.as_mut(), &mut activity);
        let (exited_at, leaked) = (watch.exited_at, watch.leaked);
        let timed_out = watch.timed_out.then_some(watch.quiet_stop);
        let end = exited_at.unwrap_or_else(Instant::now);
        if reader.is_none() {
            activity.tail(&running.log, end);
        }
        // Forget the group before reaping its leader: until then the id cannot be reused, so
        // the last signal cannot reach a stranger. It stops anything the step left behind.
        let pid = running.child.id();
        self.groups.remove(pid);
        self.halts.ended(index);
        sys::stop_group(pid, Stop::Kill);
        let exit = running.child.wait();
        let write_error = copy.and_then(Copy::end);
        let ended = Ended {
            streamed: reader.is_some(),
            exit,
            timed_out,
            leaked,
            duration: end - running.started,
            blocked: activity.end(end),
            write_error,
        };
        self.outcome(index, ended, &running)
    }

    /// Waits for the step's output and exit, acting on its timeout and on what it leaves
    /// running, until it is done.
    fn watch(
        &self,
        watch: &mut Watch<'_>,
        reader: &mut Option<io::PipeReader>,
        mut copy: Option<&mut Copy<'_>>,
        activity: &mut Activity<'_>,
    ) {
        let running = watch.running;
        while !watch.done() {
            let now = Instant::now();
            // A cargo waiting for its lock is busy: it builds once the other lets go.
            let busy = match activity.waiting() {
                true => Some(now),
                false => activity.last_output,
            };
            if watch.act(now, busy, self.grace, self.pipe_grace) {
                break;
            }
            if watch.tail_at.is_some_and(|t| now >= t) {
                activity.tail(&running.log, now);
                watch.tail_at = Some(now + TAIL_EVERY);
            }
            let ready = sys::wait_ready(
                reader.as_ref().filter(|_| !watch.eof),
                running.exit.as_ref().filter(|_| watch.exited_at.is_none()),
                watch.wait_ms(now, self.pipe_grace),
            )
            .unwrap_or(sys::Ready {
                output: !watch.eof,
                exited: false,
            });
            if ready.output
                && let (Some(r), Some(c)) = (reader.as_mut(), copy.as_deref_mut())
                && c.read(r, activity)
            {
                watch.eof = true;
            }
            let exited = ready.exited || (running.exit.is_none() && sys::has_exited(watch.pid()));
            if watch.exited_at.is_none() && exited {
                watch.exited_at = Some(Instant::now());
                watch.tail_at = None;
            }
        }
    }

    /// How a watched step ended, in the terms of an outcome.
    fn outcome(&self, index: usize, ended: Ended, running: &Running) -> Outcome {
        let step = &self.plan.steps[index];
        let mut note = None;
        let status = match (ended.timed_out, ended.exit) {
            (Some(quiet), _) => Status::TimedOut {
                after: match step.timeout {
                    Timeout::Quiet { quiet: d, .. } if quiet => d,
                    Timeout::After(d) | Timeout::Quiet { limit: d, .. } => d,
                    Timeout::Never => ended.duration,
                },
                quiet,
            },
            (None, Err(e)) => Status::Errored(StepError::Run(format!("cannot wait for it: {e}"))),
            (None, Ok(Exit::Code(0))) => Status::Success,
            (None, Ok(Exit::Code(code))) => {
                if through_shell(step) {
                    note = match code {
                        127 => Some("command not found".to_string()),
                        126 => Some("command not executable".to_string()),
                        _ => None,
                    };
                }
                Status::Failed { code }
            }
            (None, Ok(Exit::Signal(signal))) => Status::Signaled { signal },
        };
        let status = if !status.is_success() && self.halting(index) && ended.timed_out.is_none() {
            Status::Interrupted
        } else {
            status
        };
        if ended.leaked && ended.timed_out.is_none() && status != Status::Interrupted {
            note = Some("processes it left running held its output open; they were killed".into());
        }
        // What the step wrote itself may have been cut short without anyone seeing an error.
        let write_error = ended.write_error.or_else(|| {
            (!ended.streamed && sys::disk_full(&running.log))
                .then(|| io::Error::other("the disk is full"))
        });
        // A success over a log that lost output would be data lost without a word.
        let status = match write_error {
            Some(e) if status.is_success() => Status::Errored(StepError::Log {
                reason: format!("its log could not be written in full: {e}"),
            }),
            Some(e) => {
                note = Some(format!("its log could not be written in full: {e}"));
                status
            }
            None => status,
        };
        Outcome {
            duration: ended.duration,
            blocked: ended.blocked,
            log: Some(running.log_path.clone()),
            note,
            ..Outcome::of(status)
        }
    }
}

/// How a step's process ended, before it is told as an outcome.
struct Ended {
    /// Whether cargo flow copied its output into its log.
    streamed: bool,
    exit: io::Result<Exit>,
    /// Whether its timeout stopped it, and whether for doing nothing.
    timed_out: Option<bool>,
    leaked: bool,
    duration: Duration,
    blocked: Duration,
    write_error: Option<io::Error>,
}

/// Splits output into lines for live display, bounding how much of a line is held.
fn pass_lines(step: usize, chunk: &[u8], partial: &mut Vec<u8>, emit: &(dyn Fn(EventKind) + Sync)) {
    let mut rest = chunk;
    while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
        partial.extend_from_slice(&rest[..pos]);
        emit(EventKind::Output {
            step,
            line: std::mem::take(partial),
        });
        rest = &rest[pos + 1..];
    }
    partial.extend_from_slice(rest);
    if partial.len() >= MAX_LINE {
        emit(EventKind::Output {
            step,
            line: std::mem::take(partial),
        });
    }
}
