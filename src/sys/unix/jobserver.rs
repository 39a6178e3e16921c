//! The GNU make jobserver of a run: the one cargo flow was started under, or one it makes,
//! and what hands it to a step (`MAKEFLAGS` naming its pipe, kept open across `exec`).

use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;

/// The jobserver cargo flow was started under, claimed at start-up.
static INHERITED: OnceLock<Option<jobserver::Client>> = OnceLock::new();

/// Claims the jobserver that cargo flow's parent (make, cargo, an outer cargo flow) named in
/// `CARGO_MAKEFLAGS` or `MAKEFLAGS`; to be called first thing, before cargo flow opens a file
/// that could take the descriptors those name.
pub(crate) fn claim_jobserver() {
    INHERITED.get_or_init(|| {
        // SAFETY: called at start-up, before any descriptor of cargo flow's own is open; the
        // descriptors are checked to be pipes, so a closed one reused later is not taken.
        let found = unsafe { jobserver::Client::from_env_ext(true) };
        found.client.ok()
    });
}

/// Whether cargo flow was started under a jobserver.
pub(crate) fn jobserver_inherited() -> bool {
    INHERITED.get().is_some_and(Option::is_some)
}

/// The jobserver of a run of at most `parallel` steps: the inherited one, or a new one with a
/// slot for each (cargo flow holds the first itself, as make does).
pub(crate) fn jobserver(parallel: usize) -> io::Result<jobserver::Client> {
    match INHERITED.get().cloned().flatten() {
        Some(client) => Ok(client),
        None => jobserver::Client::new(parallel.saturating_sub(1)),
    }
}

/// The `MAKEFLAGS` (and `CARGO_MAKEFLAGS`) that give a step `client`: `-j` and both make
/// 4.2's `--jobserver-fds` and later makes' `--jobserver-auth`.
pub(crate) fn make_flags(client: &jobserver::Client) -> io::Result<String> {
    let mut probe = std::process::Command::new("make");
    client.configure_make(&mut probe);
    probe
        .get_envs()
        .find(|(k, _)| *k == "MAKEFLAGS")
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::other("the jobserver names no MAKEFLAGS"))
}

/// Keeps the jobserver's pipe open across `exec` (`share`), as steps start through
/// `posix_spawn` with no code run in between, or closed; returns its descriptors.
pub(crate) fn share_jobserver(client: &jobserver::Client, share: bool) -> io::Result<Vec<i32>> {
    let fds = pipe_fds(&make_flags(client)?);
    for &fd in &fds {
        // SAFETY: fcntl on a descriptor the jobserver client owns for the whole run.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        let wanted = if share {
            flags & !libc::FD_CLOEXEC
        } else {
            flags | libc::FD_CLOEXEC
        };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, wanted) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fds)
}

/// The descriptors `--jobserver-auth=R,W` names; none for make 4.4's `fifo:PATH`.
fn pipe_fds(flags: &str) -> Vec<RawFd> {
    flags
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--jobserver-auth="))
        .and_then(|fds| fds.split_once(','))
        .map(|(r, w)| [r, w].iter().filter_map(|fd| fd.parse().ok()).collect())
        .unwrap_or_default()
}
