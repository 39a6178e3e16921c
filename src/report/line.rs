//! The one line a finished or skipped step leaves: `✓ build 1.2s`.

use console::style;

use crate::load::duration::{format_duration, format_elapsed};
use crate::plan::Plan;
use crate::run::event::signal_name;
use crate::run::{Outcome, SkipReason, Status};

/// The line for a step that ran.
pub fn finished(plan: &Plan, step: usize, outcome: &Outcome) -> String {
    let id = &plan.steps[step].id;
    let time = format_elapsed(outcome.duration);
    let note = outcome.note.as_deref();
    match &outcome.status {
        Status::Success => {
            let mut s = format!(
                "{} {} {}",
                style("✓").green().bold(),
                style(id).bold(),
                style(time).dim()
            );
            for n in flaky(plan, step, outcome)
                .as_deref()
                .into_iter()
                .chain(note)
            {
                s.push_str(&format!(" {}", style(format!("({n})")).yellow()));
            }
            s
        }
        Status::Cached { saved } => format!(
            "{} {} {}",
            style("✓").green().bold(),
            style(id).bold(),
            style(format!("cached (saved {})", format_elapsed(*saved))).cyan()
        ),
        Status::TimedOut { after } => format!(
            "{} {} {}",
            style("⏱").red().bold(),
            style(id).bold(),
            style(format!("timed out after {}", format_duration(*after))).red()
        ),
        other => format!(
            "{} {} {} {}",
            style("✗").red().bold(),
            style(id).bold(),
            style(time).dim(),
            style(format!("({})", failure(other, note))).red()
        ),
    }
}

/// Why a step failed, in words: `exit 101`, `killed by SIGSEGV`, `command not found: foo`.
pub fn failure(status: &Status, note: Option<&str>) -> String {
    let base = match status {
        Status::Success => "succeeded".to_string(),
        Status::Cached { .. } => "cached".to_string(),
        Status::Failed { code } => format!("exit {code}"),
        Status::Signaled { signal } => format!("killed by {}", signal_name(*signal)),
        Status::TimedOut { after } => format!("timed out after {}", format_duration(*after)),
        Status::Errored { message } => message.clone(),
        Status::Interrupted => "interrupted".to_string(),
    };
    match note {
        Some(n) => format!("{base}: {n}"),
        None => base,
    }
}

/// Why step `step` was skipped, in words: `test failed`.
pub fn skip_reason(plan: &Plan, step: usize, reason: &SkipReason) -> String {
    match reason {
        SkipReason::DependencyFailed(d) => format!("{} failed", plan.steps[*d].id),
        SkipReason::DependencySkipped(d) => format!("{} was skipped", plan.steps[*d].id),
        SkipReason::ConditionFalse => match &plan.steps[step].condition {
            Some(c) => format!("condition false: {}", c.text),
            None => "condition false".to_string(),
        },
        SkipReason::FailFast(d) => format!("--fail-fast after {} failed", plan.steps[*d].id),
        SkipReason::Interrupted => "interrupted".to_string(),
    }
}

/// The lines saying why a cached step ran: `  ran because input `src/lib.rs` was edited`,
/// or a list when there are several reasons.
pub fn explain(outcome: &Outcome) -> Vec<String> {
    match outcome.why.as_slice() {
        [] => Vec::new(),
        [one] => vec![format!("  {} {one}", style("ran because").dim())],
        many => std::iter::once(format!("  {}", style("ran because:").dim()))
            .chain(many.iter().map(|w| format!("    - {w}")))
            .collect(),
    }
}

/// The line for a step that did not run.
pub fn skipped(plan: &Plan, step: usize, reason: &SkipReason) -> String {
    format!(
        "{} {} {}",
        style("-").yellow().bold(),
        style(&plan.steps[step].id).bold(),
        style(format!("skipped: {}", skip_reason(plan, step, reason))).yellow()
    )
}

/// `flaky: passed on attempt 2 of 4`, for a step that passed after failing.
pub fn flaky(plan: &Plan, step: usize, outcome: &Outcome) -> Option<String> {
    outcome.is_flaky().then(|| {
        let of = plan.steps[step].retry.retries.saturating_add(1);
        format!("flaky: passed on attempt {} of {of}", outcome.attempts)
    })
}

/// The line for a failed attempt that will be retried:
/// `↻ test failed (exit 1); retrying in 2.0s (attempt 2 of 4)`.
pub fn retrying(
    plan: &Plan,
    step: usize,
    failed: &Outcome,
    next: u32,
    of: u32,
    delay: std::time::Duration,
) -> String {
    let wait = if delay.is_zero() {
        "now".to_string()
    } else {
        format!("in {}", format_elapsed(delay))
    };
    format!(
        "{} {} {} {}",
        style("↻").yellow().bold(),
        style(&plan.steps[step].id).bold(),
        style(format!(
            "failed ({})",
            failure(&failed.status, failed.note.as_deref())
        ))
        .yellow(),
        style(format!("retrying {wait} (attempt {next} of {of})")).dim()
    )
}
