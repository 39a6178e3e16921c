//! The table at the end of a run: each step's status and time, the critical path, and the
//! wall time against the sum of step times.

use console::style;

use super::line;
use crate::load::duration::format_elapsed;
use crate::plan::Plan;
use crate::run::{Status, StepEnd, Summary};

/// Renders the summary; with `quiet`, only the closing line.
pub fn render(plan: &Plan, summary: &Summary, width: usize, quiet: bool) -> String {
    let mut out = String::new();
    let (mut ok, mut failed, mut skipped, mut stopped, mut flaky) = (0, 0, 0, 0, 0);
    let (mut cached, mut saved) = (0, std::time::Duration::ZERO);
    for end in &summary.steps {
        match end {
            StepEnd::Ran(o) if o.status.is_success() => {
                ok += 1;
                flaky += usize::from(o.is_flaky());
                if let Status::Cached { saved: s } = o.status {
                    cached += 1;
                    saved += s;
                }
            }
            StepEnd::Ran(o) if o.status == Status::Interrupted => stopped += 1,
            StepEnd::Ran(_) => failed += 1,
            StepEnd::Skipped(_) => skipped += 1,
        }
    }
    if !quiet && !plan.steps.is_empty() {
        out.push('\n');
        out.push_str(&format!(
            "{}\n",
            style(format!(
                "  {:<width$}  {:<11}  {:>8}",
                "step", "status", "time"
            ))
            .dim()
        ));
        for (i, end) in summary.steps.iter().enumerate() {
            let id = &plan.steps[i].id;
            let (status, time, extra) = match end {
                StepEnd::Ran(o) => {
                    let st = match &o.status {
                        Status::Success if o.is_flaky() => style("flaky".to_string()).yellow(),
                        Status::Success => style("ok".to_string()).green(),
                        Status::Cached { .. } => style("cached".to_string()).cyan(),
                        s => style(s.word().to_string()).red(),
                    };
                    let extra = if let Status::Cached { saved } = o.status {
                        format!("saved {}", format_elapsed(saved))
                    } else if o.status.is_success() {
                        line::flaky(plan, i, o).unwrap_or_default()
                    } else {
                        line::failure(&o.status, o.note.as_deref())
                    };
                    (st, format_elapsed(o.duration), extra)
                }
                StepEnd::Skipped(r) => (
                    style("skipped".to_string()).yellow(),
                    "-".to_string(),
                    line::skip_reason(plan, i, r),
                ),
            };
            let status_cell = format!("{:<11}", status.to_string());
            // Padding is computed on the plain text so colours do not shift columns.
            let pad = 11usize.saturating_sub(console::measure_text_width(&status.to_string()));
            let status_cell = if pad > 0 {
                format!("{}{}", status, " ".repeat(pad))
            } else {
                status_cell
            };
            out.push_str(format!("  {id:<width$}  {status_cell}  {time:>8}  {extra}").trim_end());
            out.push('\n');
        }
        if summary.critical_path.len() > 1 {
            let total: std::time::Duration = summary
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
                .map(|&i| plan.steps[i].id.as_str())
                .collect();
            out.push_str(&format!(
                "{} {} ({})\n",
                style("critical path:").dim(),
                path.join(" -> "),
                format_elapsed(total)
            ));
        }
        let with_artifacts: Vec<(usize, Vec<&std::path::Path>)> = summary
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                StepEnd::Ran(o) if !o.artifacts.is_empty() => {
                    Some((i, o.artifacts.iter().map(|k| k.path.as_path()).collect()))
                }
                _ => None,
            })
            .collect();
        for (i, files) in with_artifacts {
            let folder = plan.artifact_dir(&plan.steps[i]);
            out.push_str(&artifact_line(&plan.steps[i].id, &folder, &files));
        }
        let busy = summary.busy();
        let wall = summary.wall;
        let ratio = if wall.as_secs_f64() > 0.0 {
            busy.as_secs_f64() / wall.as_secs_f64()
        } else {
            0.0
        };
        out.push_str(&format!(
            "{} {} wall, {} of step time ({ratio:.1}x)\n",
            style("time:").dim(),
            format_elapsed(wall),
            format_elapsed(busy)
        ));
    }
    let mut notes = Vec::new();
    if cached > 0 {
        notes.push(format!("{cached} cached, {} saved", format_elapsed(saved)));
    }
    if flaky > 0 {
        notes.push(format!("{flaky} flaky"));
    }
    let mut parts = vec![if notes.is_empty() {
        format!("{ok} succeeded")
    } else {
        format!("{ok} succeeded ({})", notes.join("; "))
    }];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if stopped > 0 {
        parts.push(format!("{stopped} interrupted"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    let head = if let Some(sig) = summary.interrupted {
        style(format!(
            "Interrupted ({})",
            crate::run::event::signal_name(sig)
        ))
        .yellow()
        .bold()
        .to_string()
    } else if failed > 0 {
        style("Failed").red().bold().to_string()
    } else {
        style("Finished").green().bold().to_string()
    };
    out.push_str(&format!(
        "{head} {}: {} in {}\n",
        plan.workflow,
        parts.join(", "),
        format_elapsed(summary.wall)
    ));
    out
}

/// `artifacts of build: target/flow/artifacts/ci/build/{app, docs/index.html}`, naming at
/// most a few files.
fn artifact_line(id: &str, folder: &std::path::Path, files: &[&std::path::Path]) -> String {
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
