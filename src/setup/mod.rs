//! Setting a repository up for cargo flow: a starting workflow, and the git hooks that run
//! one.

pub(crate) mod actions;
pub(crate) mod export;
pub(crate) mod hook;
pub(crate) mod init;
