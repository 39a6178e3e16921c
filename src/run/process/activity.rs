//! What a running step is doing, read from its output as it comes: its latest line, for a
//! terminal to show beside its spinner, and what cargo says of its lock on the target dir
//! (`Blocking waiting for file lock`, then work, then `Finished`), so that the time it waits
//! is told apart from work and the scheduler knows when the lock is free.
//!
//! A step's output goes straight into its log unless it is streamed, so its log is read back
//! every [`TAIL_EVERY`], from where it was read last.

use std::fs::File;
use std::time::{Duration, Instant};

use crate::run::event::{CargoLock, EventKind};
use crate::sys;

/// How often a step's log is read back for new lines.
pub(super) const TAIL_EVERY: Duration = Duration::from_millis(100);

/// The most of a step's new output looked at in one reading: the rest (a flood of output)
/// is passed over.
const LOOK_AT: usize = 16 * 1024;

/// The longest latest line kept: a terminal shows far less.
const MAX_SHOWN: usize = 256;

/// What is known of a running step from its output.
pub(super) struct Activity<'e> {
    step: usize,
    emit: &'e (dyn Fn(EventKind) + Sync),
    /// Whether its latest line is told (for a terminal).
    lines: bool,
    latest: String,
    /// Since when cargo has been waiting for a lock, as it said.
    waiting_since: Option<Instant>,
    /// The time spent waiting for cargo's locks so far.
    pub(super) blocked: Duration,
    /// When output was last seen.
    pub(super) last_output: Option<Instant>,
    /// Where the log is read from next.
    offset: u64,
    partial: Vec<u8>,
    buf: Vec<u8>,
}

impl<'e> Activity<'e> {
    /// Follows step `step`'s output from `offset` of its log on.
    pub(super) fn new(
        step: usize,
        emit: &'e (dyn Fn(EventKind) + Sync),
        lines: bool,
        offset: u64,
    ) -> Self {
        Activity {
            step,
            emit,
            lines,
            latest: String::new(),
            waiting_since: None,
            blocked: Duration::ZERO,
            last_output: None,
            offset,
            partial: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Whether cargo said it waits for its lock, and has not started since.
    pub(super) fn waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    /// Reads what was added to the log since the last time.
    pub(super) fn tail(&mut self, log: &File, now: Instant) {
        let Ok(len) = log.metadata().map(|m| m.len()) else {
            return;
        };
        if len <= self.offset {
            return;
        }
        if len - self.offset > LOOK_AT as u64 {
            // Of a flood, only the end is read line by line; before it, only cargo's lines.
            self.pass_over(log, len - LOOK_AT as u64, now);
        }
        self.buf.resize(LOOK_AT, 0);
        let Ok(n) = sys::read_at(log, &mut self.buf, self.offset) else {
            return;
        };
        self.offset += n as u64;
        let chunk = std::mem::take(&mut self.buf);
        self.chunk(&chunk[..n], now);
        self.buf = chunk;
    }

    /// Reads the log up to `to` looking only for cargo's lines about its lock, which a flood
    /// of output after them (a test suite's) must not hide.
    fn pass_over(&mut self, log: &File, to: u64, now: Instant) {
        const PIECE: usize = 1 << 20;
        /// The most looked through at once: of a flood larger than this, the start is
        /// passed over unread, as a step that writes gigabytes is not cargo.
        const MOST: u64 = 64 << 20;
        if to - self.offset > MOST {
            self.offset = to - MOST;
            self.partial.clear();
            self.partial.push(b'\r');
        }
        let finders = [
            memchr::memmem::Finder::new(b"Blocking waiting for file lock"),
            memchr::memmem::Finder::new(b"Finished "),
        ];
        let mut piece = vec![0u8; PIECE];
        let mut carry = std::mem::take(&mut self.partial);
        while self.offset < to {
            let want = usize::try_from(to - self.offset).map_or(PIECE, |n| n.min(PIECE));
            let n = match sys::read_at(log, &mut piece[..want], self.offset) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            self.offset += n as u64;
            carry.extend_from_slice(&piece[..n]);
            let whole = memchr::memrchr(b'\n', &carry).map_or(0, |p| p + 1);
            if finders.iter().any(|f| f.find(&carry[..whole]).is_some()) {
                for line in carry[..whole].split(|&b| b == b'\n') {
                    if finders.iter().any(|f| f.find(line).is_some()) {
                        self.line(line, now);
                    }
                }
            }
            carry.drain(..whole);
            // A line this long is not one of cargo's.
            if carry.len() > MAX_SHOWN * 4 {
                carry.clear();
                carry.push(b'\r');
            }
        }
        self.partial = carry;
        self.last_output = Some(now);
    }

    /// Takes in a piece of output.
    pub(super) fn chunk(&mut self, chunk: &[u8], now: Instant) {
        if !chunk.is_empty() {
            self.last_output = Some(now);
        }
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let line = if self.partial.is_empty() {
                Vec::from(&rest[..pos])
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..pos]);
                line
            };
            self.line(&line, now);
            rest = &rest[pos + 1..];
        }
        if self.partial.len() < MAX_SHOWN * 4 {
            self.partial.extend_from_slice(rest);
        }
        if self.lines {
            let pending = shown(&self.partial);
            if !pending.is_empty() {
                self.show(pending);
            }
        }
    }

    /// Takes in one whole line.
    fn line(&mut self, raw: &[u8], now: Instant) {
        let text = shown(raw);
        if text.is_empty() {
            return;
        }
        if text.starts_with("Blocking waiting for file lock") {
            self.waiting_since.get_or_insert(now);
            (self.emit)(EventKind::StepCargo {
                step: self.step,
                lock: CargoLock::Waiting,
            });
        } else {
            if let Some(since) = self.waiting_since.take() {
                self.blocked += now.saturating_duration_since(since);
                (self.emit)(EventKind::StepCargo {
                    step: self.step,
                    lock: CargoLock::Held,
                });
            }
            if text.starts_with("Finished ") && text.contains(" target(s) in ") {
                (self.emit)(EventKind::StepCargo {
                    step: self.step,
                    lock: CargoLock::Released,
                });
            }
        }
        if self.lines {
            self.show(text);
        }
    }

    fn show(&mut self, text: String) {
        if text != self.latest {
            self.latest.clone_from(&text);
            (self.emit)(EventKind::StepLine {
                step: self.step,
                line: text,
            });
        }
    }

    /// The step ended at `at`: the time it waited, up to then.
    pub(super) fn end(mut self, at: Instant) -> Duration {
        if let Some(since) = self.waiting_since.take() {
            self.blocked += at.saturating_duration_since(since);
        }
        self.blocked
    }
}

/// A line as a terminal shows it on one row: what follows its last carriage return (a
/// progress bar's latest state), without colours or other control characters, trimmed.
fn shown(raw: &[u8]) -> String {
    let last = raw
        .rsplit(|&b| b == b'\r')
        .find(|s| !s.iter().all(u8::is_ascii_whitespace));
    let text = String::from_utf8_lossy(last.unwrap_or_default());
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // A CSI sequence (`ESC [ ... final`) or a two-character escape.
            if chars.next_if_eq(&'[').is_some() {
                while chars.next_if(|c| !('@'..='~').contains(c)).is_some() {}
            }
            chars.next();
        } else if c == '\t' {
            out.push(' ');
        } else if !c.is_control() {
            out.push(c);
        }
        if out.len() >= MAX_SHOWN {
            break;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_shown_without_colours_controls_or_what_a_carriage_return_overwrote() {
        assert_eq!(
            shown(b"\x1b[1m\x1b[92m    Finished\x1b[0m `dev` profile"),
            "Finished `dev` profile"
        );
        assert_eq!(shown(b"  1/3\r  2/3\r  3/3\r"), "3/3");
        assert_eq!(shown(b"a\tb\x07c"), "a bc");
        assert_eq!(shown(b"\xff ok"), "\u{fffd} ok");
    }

    #[test]
    fn cargo_waiting_then_working_counts_as_blocked_and_finished_releases_the_lock() {
        let seen = std::sync::Mutex::new(Vec::new());
        let emit = |e: EventKind| {
            if let EventKind::StepCargo { lock, .. } = e {
                seen.lock().unwrap().push(lock);
            }
        };
        let mut a = Activity::new(0, &emit, false, 0);
        let t0 = Instant::now();
        a.chunk(
            b"    Blocking waiting for file lock on build directory\n",
            t0,
        );
        a.chunk(b"   Compiling x v0.1.0\n", t0 + Duration::from_secs(2));
        a.chunk(
            b"    Finished `dev` profile [unoptimized] target(s) in 3.0s\n",
            t0 + Duration::from_secs(3),
        );
        assert_eq!(a.end(t0 + Duration::from_secs(4)), Duration::from_secs(2));
        assert_eq!(
            *seen.lock().unwrap(),
            [CargoLock::Waiting, CargoLock::Held, CargoLock::Released]
        );
    }

    #[test]
    fn a_step_killed_while_waiting_waited_until_its_end() {
        let emit = |_: EventKind| {};
        let mut a = Activity::new(0, &emit, false, 0);
        let t0 = Instant::now();
        a.chunk(b"Blocking waiting for file lock on package cache\n", t0);
        assert_eq!(a.end(t0 + Duration::from_secs(5)), Duration::from_secs(5));
    }
}
