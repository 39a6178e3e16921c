//! The platform seam. Everything the run needs from the operating system goes through here:
//! starting a step's process in a group of its own, waiting for its output and exit, stopping
//! groups (SIGTERM, SIGKILL), adopting processes that leave their group, signals to cargo
//! flow, and file-system questions (open without waiting, holes, owners, free space). The
//! rest of cargo flow uses only what this module exports; a Windows implementation (job
//! objects, `CreateProcess`) would be a sibling of `unix`, chosen here, without touching the
//! scheduler or the executor.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

/// How running steps are stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Asked to end (SIGTERM).
    Term,
    /// Ended at once (SIGKILL).
    Kill,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it: its name (`SIGSEGV`).
    Signal(String),
}
