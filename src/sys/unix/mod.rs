//! The Unix implementation of the platform seam: process groups and signals, `posix_spawn`,
//! pidfds, and the file system's own answers.

mod fs;
mod groups;
mod jobserver;
mod reaper;
mod signals;
mod spawn;

pub(crate) use fs::*;
pub(crate) use groups::*;
pub(crate) use jobserver::*;
pub(crate) use reaper::*;
pub(crate) use signals::*;
pub(crate) use spawn::*;
