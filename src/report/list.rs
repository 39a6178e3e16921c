//! `cargo flow list`: the workflows found, or one workflow's steps.

use crate::load::model::Workflow;
use crate::plan::Plan;

/// A workflow's steps, each with what it waits for and its description.
pub(crate) fn steps(wf: &Workflow, plan: &Plan) -> String {
    let mut out = wf.name.clone();
    if let Some(d) = &wf.description {
        out.push_str(&format!(": {d}"));
    }
    out.push('\n');
    out.push_str(&params(wf));
    let width = plan.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &plan.steps {
        let mut line = format!("  {:<width$}", s.id);
        if !s.deps.is_empty() {
            let deps: Vec<&str> = s.deps.iter().map(|&d| plan.steps[d].id.as_str()).collect();
            line.push_str(&format!("  after {}", deps.join(", ")));
        }
        if let Some(d) = &s.description {
            line.push_str(&format!("  # {d}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `  --param profile=VALUE  one of debug, release (default debug)  # The build profile`, a
/// line a parameter.
fn params(wf: &Workflow) -> String {
    let shown: Vec<(String, String)> = wf
        .params
        .iter()
        .map(|p| {
            let default = match &p.default {
                Some(d) => format!("default {}", d.value),
                None => "required".into(),
            };
            let mut what = format!("{} ({default})", p.kind.describe());
            if let Some(h) = &p.help {
                what.push_str(&format!("  # {h}"));
            }
            (format!("--param {}=VALUE", p.name.value), what)
        })
        .collect();
    let width = shown.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
    shown
        .iter()
        .map(|(a, what)| format!("  {a:<width$}  {what}\n"))
        .collect()
}

/// Every workflow found, with its number of steps (and, where `for_each` and `matrix` make
/// more, how many after expansion), description and where it is declared.
pub(crate) fn workflows(workflows: &[Workflow], expanded: &[Option<usize>]) -> String {
    let width = workflows.iter().map(|w| w.name.len()).max().unwrap_or(0);
    let mut out = String::from("Workflows:\n");
    for (i, wf) in workflows.iter().enumerate() {
        let n = wf.steps.len();
        let s = if n == 1 { "" } else { "s" };
        let mut line = format!("  {:<width$}  {n} step{s}", wf.name);
        if let Some(Some(e)) = expanded.get(i).filter(|e| **e != Some(n)) {
            line.push_str(&format!(" ({e} after expansion)"));
        }
        if let Some(d) = &wf.description {
            line.push_str(&format!("  {d}"));
        }
        line.push_str(&format!(
            "  ({})",
            wf.origin.source.location(wf.origin.span)
        ));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// What `list` says when there is nothing to list.
pub(crate) fn none_found(root: &std::path::Path) -> String {
    format!(
        "No workflows found in {}.\nAdd `.flow.yaml` there, or `[workspace.metadata.flow.<name>]` steps in Cargo.toml.",
        crate::source::display_path(root)
    )
}

/// `Checked 3 workflows, 12 steps: no problems`, or, where `for_each` and `matrix` make
/// several steps of one, `10 steps (12 after expansion)`.
pub(crate) fn checked(workflows: usize, declared: usize, steps: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let expanded = match declared == steps {
        true => String::new(),
        false => format!(" ({steps} after expansion)"),
    };
    format!(
        "{} {workflows} workflow{}, {declared} step{}{expanded}: no problems",
        console::style("Checked").green().bold(),
        plural(workflows),
        plural(declared)
    )
}
