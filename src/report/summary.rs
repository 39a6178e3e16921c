//! The table at the end of a run: each step's status and time, the critical path, the
//! artifacts kept, the wall time against the sum of step times, and the closing line.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use console::style;

use super::line;
use crate::load::duration::format_elapsed;
use crate::run::{StepEnd, StepInfo, Summary};

/// Renders the summary; with `quiet`, only the closing line.
pub(crate) fn render(workflow: &str, steps: &[StepInfo], summary: &Summary, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet && !steps.is_empty() {
        out.push('\n');
        table(&mut out, steps, summary);
        critical_path(&mut out, steps, summary);
        for (i, end) in summary.steps.iter().enumerate() {
            if let (StepEnd::Ran(o), Some(info)) = (end, steps.get(i))
                && !o.artifacts.is_empty()
            {
                let files: Vec<&Path> = o.artifacts.iter().map(|k| k.path.as_path()).collect();
                out.push_str(&artifact_line(&info.id, &info.artifact_dir, &files));
            }
        }
        out.push_str(&time_line(summary));
    }
    out.push_str(&closing_line(workflow, summary));
    out
}

/// `time: 29.9s wall, 40.0s of step time (1.3x)`: how much ran side by side. Time cargo spent
/// waiting for a lock another cargo held is not work; a run where nothing ran has no figure.
fn time_line(summary: &Summary) -> String {
    let stats = &summary.stats;
    let wall = summary.wall;
    let ran = stats.succeeded - stats.cached + stats.failed + stats.interrupted;
    if ran == 0 {
        return format!("{} {} wall\n", style("time:").dim(), format_elapsed(wall));
    }
    let work = stats.busy.saturating_sub(stats.blocked);
    let ratio = match wall.as_secs_f64() {
        w if w > 0.0 => work.as_secs_f64() / w,
        _ => 0.0,
    };
    let waited = match stats.blocked.is_zero() {
        true => String::new(),
        false => format!(
            ", {} of it waiting for cargo's lock",
            format_elapsed(stats.blocked)
        ),
    };
    format!(
        "{} {} wall, {} of step time{waited} ({ratio:.1}x)\n",
        style("time:").dim(),
        format_elapsed(wall),
        format_elapsed(stats.busy)
    )
}

/// One row a step: its id, status, time and what else there is to say.
fn table(out: &mut String, steps: &[StepInfo], summary: &Summary) {
    let width = steps
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    let head = format!("  {:<width$}  {:<11}  {:>8}", "step", "status", "time");
    let _ = writeln!(out, "{}", style(head).dim());
    for (i, end) in summary.steps.iter().enumerate() {
        let id = steps.get(i).map_or("?", |s| s.id.as_str());
        let (status, time, extra) = match end {
            StepEnd::Ran(o) => {
                let label = o.status.label(o.is_flaky());
                let status = match label {
                    "ok" => style(label).green(),
                    "cached" => style(label).cyan(),
                    "flaky" => style(label).yellow(),
                    _ => style(label).red(),
                };
                let extra = match &o.status {
                    crate::run::Status::Cached { saved, .. } => {
                        format!("saved {}", format_elapsed(*saved))
                    }
                    s if s.is_success() => line::flaky(steps, i, o).unwrap_or_default(),
                    _ => line::failure(o),
                };
                let waited = format!("{} waiting for cargo's lock", format_elapsed(o.blocked));
                let extra = match (o.blocked.is_zero(), extra.is_empty()) {
                    (true, _) => extra,
                    (false, true) => waited,
                    (false, false) => format!("{extra}; {waited}"),
                };
                (status, format_elapsed(o.duration), extra)
            }
            StepEnd::Skipped(r) => (
                style("skipped").yellow(),
                "-".to_string(),
                r.describe(steps, i),
            ),
        };
        // Padding is computed on the plain text so colours do not shift columns.
        let shown = status.to_string();
        let pad = " ".repeat(11usize.saturating_sub(console::measure_text_width(&shown)));
        let row = format!("  {id:<width$}  {shown}{pad}  {time:>8}  {extra}");
        out.push_str(row.trim_end());
        out.push('\n');
    }
}

/// `critical path: build -> test (29.8s)`, when the path has more than one step.
fn critical_path(out: &mut String, steps: &[StepInfo], summary: &Summary) {
    if summary.critical_path.len() < 2 {
        return;
    }
    let total: Duration = summary
        .critical_path
        .iter()
        .filter_map(|&i| match &summary.steps[i] {
            StepEnd::Ran(o) => Some(o.duration),
            StepEnd::Skipped(_) => None,
        })
        .sum();
    let path: Vec<&str> = summary
        .critical_path
        .iter()
        .map(|&i| steps.get(i).map_or("?", |s| s.id.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{} {} ({})",
        style("critical path:").dim(),
        path.join(" -> "),
        format_elapsed(total)
    );
}

/// `Finished ci: 3 succeeded (1 cached, 2.0s saved) in 29.9s`.
fn closing_line(workflow: &str, summary: &Summary) -> String {
    let stats = &summary.stats;
    let mut notes = Vec::new();
    if stats.cached > 0 {
        notes.push(format!(
            "{} cached, {} saved",
            stats.cached,
            format_elapsed(stats.saved)
        ));
    }
    if stats.flaky > 0 {
        notes.push(format!("{} flaky", stats.flaky));
    }
    let mut parts = vec![match notes.is_empty() {
        true => format!("{} succeeded", stats.succeeded),
        false => format!("{} succeeded ({})", stats.succeeded, notes.join("; ")),
    }];
    for (n, what) in [
        (stats.failed, "failed"),
        (stats.interrupted, "interrupted"),
        (stats.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let head = match (&summary.interrupted, stats.failed) {
        (Some(sig), _) => style(format!("Interrupted ({})", sig.name)).yellow().bold(),
        (None, 0) => style("Finished".to_string()).green().bold(),
        (None, _) => style("Failed".to_string()).red().bold(),
    };
    format!(
        "{head} {workflow}: {} in {}\n",
        parts.join(", "),
        format_elapsed(summary.wall)
    )
}

/// `artifacts of build: target/flow/artifacts/ci/build/{app, docs/index.html}`, naming at
/// most a few files.
fn artifact_line(id: &str, folder: &Path, files: &[&Path]) -> String {
    const SHOWN: usize = 4;
    let mut names: Vec<String> = files
        .iter()
        .take(SHOWN)
        .map(|f| f.strip_prefix(folder).unwrap_or(f).display().to_string())
        .collect();
    if files.len() > SHOWN {
        names.push(format!("and {} more", files.len() - SHOWN));
    }
    format!(
        "{} {}/{{{}}}\n",
        style(format!("artifacts of {id}:")).dim(),
        crate::source::display_path(folder),
        names.join(", ")
    )
}
