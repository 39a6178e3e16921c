//! The lines cargo flow says beside a run: waiting for another run, stopping strays, cleaning
//! the cache.

use console::style;

/// `Blocking: waiting for another run of ci (pid 1234)`.
pub(crate) fn blocking(workflow: &str, pid: Option<u32>) -> String {
    let by = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    format!(
        "{} waiting for another run of {workflow}{by}",
        style("Blocking:").cyan().bold()
    )
}

/// `Interrupted by SIGINT while waiting for another run of ci`.
pub(crate) fn interrupted_waiting(signal: &str, workflow: &str) -> String {
    format!(
        "{} by {signal} while waiting for another run of {workflow}",
        style("Interrupted").yellow().bold()
    )
}

/// How many processes that left their step's group were stopped at the end of a run.
pub(crate) fn strays(n: usize) -> String {
    let s = if n == 1 { "" } else { "es" };
    format!("Stopped {n} process{s} that steps left running outside their process groups")
}

/// `Removed 3 cache records from target/flow/cache/ci`.
pub(crate) fn removed_records(n: usize, from: &std::path::Path) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!(
        "Removed {n} cache record{s} from {}",
        crate::source::display_path(from)
    )
}
