//! Processes that leave their step's group: cargo flow adopts them, and stops them when the
//! run ends.

use std::io;

use super::super::Stop;
use super::groups::signal_of;

/// Makes cargo flow the reaper of its orphaned descendants, where the platform can (Linux): a
/// process that leaves its step's group (`setsid`, a daemon that forks twice) comes back to
/// cargo flow as its child when its parent ends, so that [`stop_strays`] can stop it.
pub(crate) fn adopt_orphans() {
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
pub(crate) fn stop_strays(grace: std::time::Duration) -> usize {
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
            signal_stray(pid, if late { Stop::Kill } else { Stop::Term });
        }
        if started.elapsed() >= grace + Duration::from_secs(2) {
            // Unkillable (stuck in the kernel): leave it rather than hang.
            return seen.len();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Signals a stray process and its group, unless that group is cargo flow's own.
fn signal_stray(pid: u32, how: Stop) {
    let signal = signal_of(how);
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
