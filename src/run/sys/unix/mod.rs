//! The Unix implementation of the platform seam: process groups and signals, `posix_spawn`,
//! pidfds, and the file system's own answers.

mod fs;
mod groups;
mod reaper;
mod signals;
mod spawn;

pub use fs::*;
pub use groups::*;
pub use reaper::*;
pub use signals::*;
pub use spawn::*;
