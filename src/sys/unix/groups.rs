//! Process groups: each step runs in one, and a timeout or an interrupt signals it whole.
//! Also how cargo flow waits for a step's output and exit together.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use super::super::Stop;

/// The signal that stops a process as `how` says.
pub(super) fn signal_of(how: Stop) -> libc::c_int {
    match how {
        Stop::Term => libc::SIGTERM,
        Stop::Kill => libc::SIGKILL,
    }
}

/// Stops every process of the group `pgid` as `how` says. A group that is gone is not an
/// error.
pub(crate) fn stop_group(pgid: u32, how: Stop) {
    let signal = signal_of(how);
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never the whole session or init
    }
    // SAFETY: killpg has no memory-safety preconditions.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// What tells that a process exited, where the platform has it (Linux's pidfd), so that one
/// `poll` waits for output, exit and timeout together with no periodic wake-ups.
#[derive(Debug)]
pub(crate) struct ExitWatch(OwnedFd);

/// A watch on the exit of process `pid`, where the platform offers one.
pub(crate) fn exit_watch(pid: u32) -> Option<ExitWatch> {
    #[cfg(target_os = "linux")]
    {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd >= 0 {
            // SAFETY: the descriptor is new and owned by nobody else.
            return Some(ExitWatch(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Whether the process has exited, without reaping it: while it is an unreaped zombie its
/// process group id cannot be reused, so the group can still be signalled safely.
pub(crate) fn has_exited(pid: u32) -> bool {
    let pid: libc::id_t = pid;
    // SAFETY: siginfo_t is plain data; waitid writes it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a siginfo_t; WNOWAIT leaves the child waitable.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by waitid when a child changed state, else stays 0.
    r == 0 && unsafe { info.si_pid() } != 0
}

/// Which of the descriptors are ready, from one `poll`.
pub(crate) struct Ready {
    /// The output pipe has data or reached its end.
    pub output: bool,
    /// The exit descriptor fired.
    pub exited: bool,
}

/// Waits until the output pipe or the exit descriptor is ready, or `timeout_ms` passes
/// (`-1`: no limit).
pub(crate) fn wait_ready(
    output: Option<&io::PipeReader>,
    exit: Option<&ExitWatch>,
    timeout_ms: i32,
) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    if let Some(o) = output {
        fds[0].fd = o.as_raw_fd();
    }
    if let Some(e) = exit {
        fds[1].fd = e.0.as_raw_fd();
    }
    loop {
        // SAFETY: fds is a valid array of two pollfd; negative fds are ignored by poll.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if r >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let hit = |p: &libc::pollfd| {
        p.fd >= 0 && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    };
    Ok(Ready {
        output: hit(&fds[0]),
        exited: hit(&fds[1]),
    })
}

/// The process groups of the steps now running, so that an interrupt can stop them all.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    inner: Mutex<GroupsInner>,
    stopped: std::sync::Condvar,
    /// Held shared while a step's process is started and recorded, and exclusively while
    /// the run is being stopped: a process is either recorded before the groups are signalled,
    /// or not started at all.
    gate: std::sync::RwLock<()>,
    /// Whether the run is being stopped, for checks made often (between pieces of a file).
    stopping: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Default)]
struct GroupsInner {
    running: Vec<u32>,
    /// How every group is stopped from now on, once the run is being stopped.
    stopping: Option<Stop>,
}

impl Groups {
    /// Starts a step's process with `spawn` and records its group (the pid that `pid` gives),
    /// unless the run is being stopped: then nothing is started and `None` is returned.
    pub(crate) fn start<T>(
        &self,
        spawn: impl FnOnce() -> io::Result<T>,
        pid: impl Fn(&T) -> u32,
    ) -> Option<io::Result<T>> {
        let _gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if self.is_stopping() {
            return None;
        }
        let started = spawn();
        if let Ok(p) = &started {
            self.add(pid(p));
        }
        Some(started)
    }

    /// Records a new group. When the run is already being stopped, the group is signalled at
    /// once, so a step that started during an interrupt does not escape it.
    pub(crate) fn add(&self, pgid: u32) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(how) = g.stopping {
            stop_group(pgid, how);
        }
        g.running.push(pgid);
    }

    /// Forgets a group; call before reaping its leader, so the id is never signalled after it
    /// could have been reused.
    pub(crate) fn remove(&self, pgid: u32) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.running.retain(|&p| p != pgid);
    }

    /// Stops every running group, and every group that starts from now on; no step starts
    /// after this.
    pub(crate) fn stop_all(&self, how: Stop) {
        let _gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.stopping = Some(how);
        for &pgid in &g.running {
            stop_group(pgid, how);
        }
        self.stopped.notify_all();
    }

    /// Waits up to `timeout` for the run to be stopped; whether it was.
    pub(crate) fn wait_for_stop(&self, timeout: std::time::Duration) -> bool {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .stopped
            .wait_timeout_while(g, timeout, |g| g.stopping.is_none())
            .unwrap_or_else(|e| e.into_inner());
        g.stopping.is_some()
    }

    /// Whether the run is being stopped.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The CPU time the processes of group `group` have used, those they waited for included,
/// from `/proc` (`None` where there is none): whether a quiet step is working or hung.
pub(crate) fn group_cpu_time(group: u32) -> Option<std::time::Duration> {
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    let all = std::fs::read_dir("/proc").ok()?;
    let mut total: u64 = 0;
    for pid in all
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The fields after the name, which ends with the last `)`: the group is the third,
        // user, system and waited-for children's times the twelfth to fifteenth.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) != Some(group) {
            continue;
        }
        total += fields
            .get(11..15)
            .into_iter()
            .flatten()
            .filter_map(|f| f.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(std::time::Duration::from_millis(
        total.saturating_mul(1000) / ticks,
    ))
}
