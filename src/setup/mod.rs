//! Setting a repository up for cargo flow: the git hooks that run a workflow.

pub(crate) mod hook;
