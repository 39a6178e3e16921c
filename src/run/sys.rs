//! The platform seam: process groups, signals and exit notification on Unix. Everything the
//! scheduler needs from the operating system goes through here, so that another platform
//! (job objects on Windows) replaces this file alone.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// Sends `signal` to every process of the group `pgid`. A group that is gone is not an error.
pub fn signal_group(pgid: u32, signal: i32) {
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

/// A file descriptor that becomes readable when the process exits (Linux's pidfd), so that
/// one `poll` waits for output, exit and timeout together with no periodic wake-ups.
pub fn exit_fd(pid: u32) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd >= 0 {
            // SAFETY: the descriptor is new and owned by nobody else.
            return Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
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
pub fn has_exited(pid: u32) -> bool {
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

/// Whether files can be created in `dir`, asked of the kernel in one call: permissions for
/// ordinary users, a read-only file system for everyone.
pub fn check_writable(dir: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a valid NUL-terminated path; access has no other preconditions.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Which of the descriptors are ready, from one `poll`.
pub struct Ready {
    /// The output pipe has data or reached its end.
    pub output: bool,
    /// The exit descriptor fired.
    pub exited: bool,
}

/// Waits until the output pipe or the exit descriptor is ready, or `timeout_ms` passes
/// (`-1`: no limit).
pub fn wait_ready(
    output: Option<&impl AsRawFd>,
    exit: Option<&OwnedFd>,
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
        fds[1].fd = e.as_raw_fd();
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
pub struct Groups {
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
    /// The signal every group gets from now on, once the run is being stopped.
    stopping: Option<i32>,
}

impl Groups {
    /// Starts a step's process with `spawn` and records its group (the pid that `pid` gives),
    /// unless the run is being stopped: then nothing is started and `None` is returned.
    pub fn start<T>(
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
    pub fn add(&self, pgid: u32) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sig) = g.stopping {
            signal_group(pgid, sig);
        }
        g.running.push(pgid);
    }

    /// Forgets a group; call before reaping its leader, so the id is never signalled after it
    /// could have been reused.
    pub fn remove(&self, pgid: u32) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.running.retain(|&p| p != pgid);
    }

    /// Signals every running group, and every group that starts from now on; no step starts
    /// after this.
    pub fn signal_all(&self, signal: i32) {
        let _gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.stopping = Some(signal);
        for &pgid in &g.running {
            signal_group(pgid, signal);
        }
        self.stopped.notify_all();
    }

    /// Waits up to `timeout` for the run to be stopped; whether it was.
    pub fn wait_for_stop(&self, timeout: std::time::Duration) -> bool {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .stopped
            .wait_timeout_while(g, timeout, |g| g.stopping.is_none())
            .unwrap_or_else(|e| e.into_inner());
        g.stopping.is_some()
    }

    /// Whether the run is being stopped.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Whether the file system that holds `file` is full: a program writing there may have lost
/// what it wrote, whether or not it noticed.
pub fn disk_full(file: &std::fs::File) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: fstatvfs writes into the valid buffer for a descriptor we own.
    if unsafe { libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful call.
    let st = unsafe { st.assume_init() };
    // Root may write into the blocks kept back for it; others may not.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    st.f_blocks > 0 && (if root { st.f_bfree } else { st.f_bavail }) == 0
}

/// Who may have written a file: `None` when only the current user (or root) can have, else
/// why not, in words. A file is trusted when it and its folder belong to the current user or
/// to root, and no one else may write to the file.
pub fn written_by_another(path: &std::path::Path) -> io::Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let file = std::fs::metadata(path)?;
    let trusted = |uid: u32| uid == me || uid == 0;
    if !trusted(file.uid()) {
        return Ok(Some(format!(
            "it belongs to another user (uid {})",
            file.uid()
        )));
    }
    if file.mode() & 0o002 != 0 {
        return Ok(Some("any user may write to it".to_string()));
    }
    if let Some(dir) = path.parent() {
        let folder = std::fs::metadata(dir)?;
        if !trusted(folder.uid()) {
            return Ok(Some(format!(
                "its folder belongs to another user (uid {})",
                folder.uid()
            )));
        }
    }
    Ok(None)
}

/// Makes cargo flow the reaper of its orphaned descendants, where the platform can (Linux): a
/// process that leaves its step's group (`setsid`, a daemon that forks twice) comes back to
/// cargo flow as its child when its parent ends, so that [`stop_strays`] can stop it.
pub fn adopt_orphans() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Stops every process that is still a child of cargo flow once no step runs: what steps left
/// running outside their groups, adopted by [`adopt_orphans`]. Each gets SIGTERM (its group
/// too), then SIGKILL once `grace` has passed, and is reaped; stopping one may hand its own
/// children to cargo flow, which are stopped in turn. Returns how many there were.
pub fn stop_strays(grace: std::time::Duration) -> usize {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let mut seen: Vec<u32> = Vec::new();
    loop {
        reap_exited();
        if !has_children() {
            return seen.len();
        }
        let late = started.elapsed() >= grace;
        for pid in children() {
            if !seen.contains(&pid) {
                seen.push(pid);
            }
            signal_stray(pid, if late { libc::SIGKILL } else { libc::SIGTERM });
        }
        if started.elapsed() >= grace + Duration::from_secs(2) {
            // Unkillable (stuck in the kernel): leave it rather than hang.
            return seen.len();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Signals a stray process and its group, unless that group is cargo flow's own.
fn signal_stray(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: getpgid, getpgrp and kill take plain integers.
    unsafe {
        let group = libc::getpgid(pid);
        if group > 1 && group != libc::getpgrp() {
            libc::killpg(group, signal);
        }
        libc::kill(pid, signal);
    }
}

/// Reaps every child that has exited. Only for when no step's process is waited for.
fn reap_exited() {
    let mut status = 0;
    // SAFETY: waitpid writes into a valid int.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}

/// Whether cargo flow has any child process at all, in one system call.
fn has_children() -> bool {
    // SAFETY: siginfo_t is plain data that waitid writes.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer; WNOWAIT leaves any child as it is.
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    !(r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// The process ids of cargo flow's children: from `/proc/self/task/*/children`, or else by
/// looking at every process's parent.
fn children() -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    if out.is_empty() {
        out = children_by_parent();
    }
    out
}

/// Every process whose parent is cargo flow, from `/proc/<pid>/stat`.
fn children_by_parent() -> Vec<u32> {
    let me = std::process::id();
    let Ok(all) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // The parent is the second field after the name, which ends with `)`.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(me)
            })
        })
        .collect()
}

/// Whether an error says that a path's links go round in a loop (`ELOOP`).
pub fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Opens a file for reading without ever waiting: a FIFO opens at once (and reads as empty),
/// and with `follow` false a link is refused (`ELOOP`) rather than followed.
pub fn open_for_reading(path: &std::path::Path, follow: bool) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// The next stretch of `file` at or after `offset` that may hold data, as `(start, end)`:
/// holes of a sparse file are skipped without reading them. `None` past the last. Where the
/// file system cannot tell, the rest of the file is one stretch.
pub fn next_data(file: &std::fs::File, offset: u64, len: u64) -> io::Result<Option<(u64, u64)>> {
    if offset >= len {
        return Ok(None);
    }
    let fd = file.as_raw_fd();
    let Ok(at) = libc::off_t::try_from(offset) else {
        return Ok(Some((offset, len)));
    };
    // SAFETY: lseek on a descriptor we own; it only moves the file offset.
    let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
    if data < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(Some((offset, len))),
            _ => Err(e),
        };
    }
    // SAFETY: as above.
    let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
    let end = if hole < 0 {
        len
    } else {
        (hole as u64).min(len)
    };
    Ok(Some((data as u64, end)))
}
