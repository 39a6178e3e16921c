//! The one line a finished, skipped or retried step leaves: `✓ build 1.2s`.

use console::style;

use crate::load::duration::format_elapsed;
use crate::run::{Outcome, SkipReason, Status, StepInfo};

fn id(steps: &[StepInfo], step: usize) -> &str {
    steps.get(step).map_or("?", |s| s.id.as_str())
}

/// The line for a step that ran.
pub(crate) fn finished(steps: &[StepInfo], step: usize, outcome: &Outcome) -> String {
    let id = style(id(steps, step)).bold();
    match &outcome.status {
        Status::Success => {
            let time = style(format_elapsed(outcome.duration)).dim();
            let mut s = format!("{} {id} {time}", style("✓").green().bold());
            let notes = flaky(steps, step, outcome)
                .into_iter()
                .chain(outcome.note.clone());
            for n in notes {
                s.push_str(&format!(" {}", style(format!("({n})")).yellow()));
            }
            s
        }
        Status::Cached { saved, remote } => {
            let from = if *remote { "remote, " } else { "" };
            let saved = format_elapsed(*saved);
            format!(
                "{} {id} {}",
                style("✓").green().bold(),
                style(format!("cached ({from}saved {saved})")).cyan()
            )
        }
        Status::TimedOut { .. } => format!(
            "{} {id} {} {}",
            style("⏱").red().bold(),
            style(outcome.status.to_string()).red(),
            style("(set `timeout:` on the step to change it, e.g. `timeout: 30m` or `none`)").dim()
        ),
        _ => format!(
            "{} {id} {} {}",
            style("✗").red().bold(),
            style(format_elapsed(outcome.duration)).dim(),
            style(format!("({})", failure(outcome))).red()
        ),
    }
}

/// A warning that does not fail the run: `warning: build: the remote cache …`.
pub(crate) fn warning(steps: &[StepInfo], step: Option<usize>, message: &str) -> String {
    let about = step.map_or_else(String::new, |s| format!("{}: ", id(steps, s)));
    // It may hold what a server sent: no control character reaches the terminal or a CI log.
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{} {about}{message}", style("warning:").yellow().bold())
}

/// Why a step failed, in words, with what else there is to say: `exit 101`, `killed by
/// SIGSEGV`, `command not found: `foo``.
pub(crate) fn failure(outcome: &Outcome) -> String {
    match &outcome.note {
        Some(n) => format!("{}: {n}", outcome.status),
        None => outcome.status.to_string(),
    }
}

/// The lines saying why a cached step ran: `  ran because input `src/lib.rs` was edited`,
/// or a list when there are several reasons.
pub(crate) fn explain(outcome: &Outcome) -> Vec<String> {
    match outcome.why.as_slice() {
        [] => Vec::new(),
        [one] => vec![format!("  {} {one}", style("ran because").dim())],
        many => std::iter::once(format!("  {}", style("ran because:").dim()))
            .chain(many.iter().map(|w| format!("    - {w}")))
            .collect(),
    }
}

/// The line for a step that did not run.
pub(crate) fn skipped(steps: &[StepInfo], step: usize, reason: &SkipReason) -> String {
    format!(
        "{} {} {}",
        style("-").yellow().bold(),
        style(id(steps, step)).bold(),
        style(format!("skipped: {}", reason.describe(steps, step))).yellow()
    )
}

/// `flaky: passed on attempt 2 of 4`, for a step that passed after failing.
pub(crate) fn flaky(steps: &[StepInfo], step: usize, outcome: &Outcome) -> Option<String> {
    outcome.is_flaky().then(|| {
        let of = steps.get(step).map_or(outcome.attempts, |s| s.attempts);
        format!("flaky: passed on attempt {} of {of}", outcome.attempts)
    })
}

/// The line for a failed attempt that will be retried:
/// `↻ test failed (exit 1); retrying in 2.0s (attempt 2 of 4)`.
pub(crate) fn retrying(
    steps: &[StepInfo],
    step: usize,
    failed: &Outcome,
    delay: std::time::Duration,
) -> String {
    let wait = if delay.is_zero() {
        "now".to_string()
    } else {
        format!("in {}", format_elapsed(delay))
    };
    let of = steps.get(step).map_or(0, |s| s.attempts);
    format!(
        "{} {} {} {}",
        style("↻").yellow().bold(),
        style(id(steps, step)).bold(),
        style(format!("failed ({})", failure(failed))).yellow(),
        style(format!(
            "retrying {wait} (attempt {} of {of})",
            failed.attempts + 1
        ))
        .dim()
    )
}

/// The line when cargo flow is interrupted.
/// `--watch`: a file changed during the run, which stops to start again.
pub(crate) fn restarting(steps: &[StepInfo], path: &str, stopped: Option<&[usize]>) -> String {
    let head = style("Changed").yellow().bold();
    let names: Vec<&str> = stopped
        .unwrap_or_default()
        .iter()
        .filter_map(|&i| steps.get(i).map(|s| s.id.as_str()))
        .collect();
    match stopped {
        None => format!("{head} `{path}`: stopping running steps to start again"),
        Some([]) => format!("{head} `{path}`: what it affects runs again after this run"),
        Some(_) => format!(
            "{head} `{path}`: stopping {} to start again after this run",
            names.join(", ")
        ),
    }
}

pub(crate) fn interrupted(signal: &str, forced: bool) -> String {
    let head = style("Interrupted").yellow().bold();
    if forced {
        format!("{head} {signal} again: killing every step now")
    } else {
        format!("{head} by {signal}: stopping running steps (again to kill at once)")
    }
}
