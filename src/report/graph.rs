//! A plan as text: the dry run, and `graph` as text, Graphviz dot or Mermaid.

use std::fmt::Write;

use crate::load::duration::format_duration;
use crate::load::model::Timeout;
use crate::plan::Plan;

/// The formats `graph` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    /// Each step with what it depends on.
    Text,
    /// Graphviz dot.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// The dry run: what would run, in which order, with what.
pub(crate) fn dry_run(plan: &Plan, parallel: usize, root: &std::path::Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {}: {} step{}, at most {parallel} at a time (nothing is run: --dry-run)",
        plan.workflow,
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    );
    for (n, i) in crate::plan::rank::start_order(plan).into_iter().enumerate() {
        let s = &plan.steps[i];
        let _ = writeln!(out, "{:>4}. {}", n + 1, s.id);
        out.push_str(&command_lines(plan, s));
        if let Some(cache) = &s.cache {
            out.push_str(&cache_lines(plan, s, cache));
        }
        if !s.exclusive.is_empty() {
            let _ = writeln!(out, "        exclusive: {}", s.exclusive.join(", "));
        }
        if !s.builds_in.is_empty() {
            let dirs: Vec<String> = s
                .builds_in
                .iter()
                .map(|d| {
                    d.strip_prefix(&plan.root)
                        .unwrap_or(d)
                        .display()
                        .to_string()
                })
                .collect();
            let _ = writeln!(out, "        builds in: {}", dirs.join(", "));
        }
        if s.cwd != root {
            let _ = writeln!(out, "        cwd: {}", s.cwd.display());
        }
        for (k, v) in &s.env {
            let _ = writeln!(out, "        env: {k}={v}");
        }
        let timeout = match s.timeout {
            Timeout::After(d) => format_duration(d),
            Timeout::Quiet { quiet, limit } => format!(
                "{} without output or CPU time, {} at most",
                format_duration(quiet),
                format_duration(limit)
            ),
            Timeout::Never => "none".into(),
        };
        let _ = writeln!(
            out,
            "        timeout: {timeout}, critical path: {} step{}",
            s.weight,
            if s.weight == 1 { "" } else { "s" }
        );
    }
    out
}

/// A step's command as written, the values it receives, and its words after `--`.
fn command_lines(plan: &Plan, s: &crate::plan::PlannedStep) -> String {
    let mut out = String::new();
    let run = match &s.command {
        crate::plan::Run::Shell { .. } => s.written.clone(),
        crate::plan::Run::Argv(_) => s.command.display(),
    };
    for (n, line) in run.lines().enumerate() {
        let lead = if n == 0 { "run: " } else { "     " };
        let _ = writeln!(out, "        {lead}{line}");
    }
    for (name, value) in &s.shown {
        let _ = writeln!(out, "          {name} = {value:?}");
    }
    if !s.args.is_empty() {
        let _ = writeln!(out, "          \"$@\" = {}", shell_words::join(&s.args));
    }
    for r in &s.output_refs {
        let writer = &plan.steps[r.step].id;
        let _ = writeln!(
            out,
            "          ${{steps.{writer}.outputs.{}}} = what {writer} writes",
            r.key
        );
    }
    if !s.deps.is_empty() {
        let deps: Vec<&str> = s.deps.iter().map(|&d| plan.steps[d].id.as_str()).collect();
        let _ = writeln!(out, "        after: {}", deps.join(", "));
    }
    out
}

/// A cached step's inputs, each with what it matches now, its outputs and variables.
fn cache_lines(
    plan: &Plan,
    s: &crate::plan::PlannedStep,
    cache: &crate::plan::CachePlan,
) -> String {
    use crate::run::files::{self, Ignored, Search};
    let boundary = files::ignore_boundary(&plan.root, &plan.root);
    let search = Search {
        ignored: Ignored::Skip,
        boundary: &boundary,
        stop: &|| false,
        walks: None,
    };
    let matched = |pattern: &str| {
        if pattern.starts_with('!') {
            return format!("`{pattern}` (left out)");
        }
        match files::find(&s.cwd, pattern, search) {
            Ok(m) if m.files.is_empty() && m.literal => format!("`{pattern}` (absent)"),
            Ok(m) if m.files.is_empty() => {
                format!("`{pattern}` (matches no file: an error when it runs)")
            }
            Ok(m) if m.literal && m.files.len() == 1 => format!("`{pattern}`"),
            Ok(m) => format!(
                "`{pattern}` ({} file{})",
                m.files.len(),
                if m.files.len() == 1 { "" } else { "s" }
            ),
            Err(e) => format!("`{pattern}` (cannot be read: {e})"),
        }
    };
    let mut out = String::new();
    let inputs: Vec<String> = cache.inputs.iter().map(|p| matched(p)).collect();
    let _ = writeln!(out, "        cache inputs: {}", inputs.join(", "));
    if !cache.outputs.is_empty() {
        let outputs: Vec<String> = cache.outputs.iter().map(|p| format!("`{p}`")).collect();
        let _ = writeln!(out, "        cache outputs: {}", outputs.join(", "));
    }
    if !cache.env.is_empty() {
        let _ = writeln!(out, "        cache env: {}", cache.env.join(", "));
    }
    out
}

/// The graph in the given format.
pub(crate) fn render(plan: &Plan, format: GraphFormat) -> String {
    let mut out = String::new();
    match format {
        GraphFormat::Text => {
            let width = plan.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
            for s in &plan.steps {
                if s.deps.is_empty() {
                    let _ = writeln!(out, "{}", s.id);
                } else {
                    let deps: Vec<&str> =
                        s.deps.iter().map(|&d| plan.steps[d].id.as_str()).collect();
                    let _ = writeln!(out, "{:<width$}  <- {}", s.id, deps.join(", "));
                }
            }
        }
        GraphFormat::Dot => {
            let _ = writeln!(out, "digraph {} {{", dot_quote(&plan.workflow));
            let _ = writeln!(out, "  rankdir=LR;");
            for s in &plan.steps {
                let _ = writeln!(out, "  {};", dot_quote(&s.id));
            }
            for s in &plan.steps {
                for &d in &s.deps {
                    let _ = writeln!(
                        out,
                        "  {} -> {};",
                        dot_quote(&plan.steps[d].id),
                        dot_quote(&s.id)
                    );
                }
            }
            let _ = writeln!(out, "}}");
        }
        GraphFormat::Mermaid => {
            let _ = writeln!(out, "flowchart LR");
            for (i, s) in plan.steps.iter().enumerate() {
                // Mermaid reads `"` as the label's end; `#quot;` is its escape for one.
                let _ = writeln!(out, "  s{i}[\"{}\"]", s.id.replace('"', "#quot;"));
            }
            for (i, s) in plan.steps.iter().enumerate() {
                for &d in &s.deps {
                    let _ = writeln!(out, "  s{d} --> s{i}");
                }
            }
        }
    }
    out
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
