//! cargo flow: run workflows, DAGs of shell steps declared in `.flow.yaml` or Cargo.toml, in
//! parallel, with precise diagnostics and no process left behind.
//!
//! The code follows the way a workflow travels: `load` finds and parses workflows, `plan`
//! validates them into a [`Plan`], `run` executes a plan and emits [`Event`]s, and `report`
//! turns those events into what a person or a machine reads. Each part uses only the parts
//! before it; `cli` wires them together. ARCHITECTURE.md is the map.
//!
//! The library is the binary's; what is public here is the small surface that the
//! benchmarks, the fuzz targets and the integration tests use: parsing and planning a
//! workflow from its text, running a plan with an [`Executor`] of one's own and a
//! [`Reporter`] listening, and the two naming rules that keep values and files apart.

#![warn(unreachable_pub)]

mod cli;
mod diagnostic;
mod load;
mod plan;
mod report;
mod run;
mod setup;
mod source;
mod suggest;
mod sys;

use std::path::Path;

pub use cli::main;
pub use diagnostic::{Problem, Problems};
pub use load::model::Workflow;
pub use plan::names::{env_part, file_name};
pub use plan::{Plan, PlannedStep};
pub use run::artifacts::Kept;
pub use run::cache::Upstream;
pub use run::scheduler::{Executor, Message, RunOptions, run};
pub use run::stats::RunStats;
pub use run::{
    CargoLock, Event, EventKind, Outcome, ReportError, Reporter, Selection, Signal, SkipReason,
    Status, StepEnd, StepError, StepInfo, Stop, Summary,
};

/// Reads one workflow from the text of a file named `path` (YAML, or TOML for a `.toml`
/// path), as `cargo flow run FILE` does, but without looking for a workspace around it: the
/// workflow, or every problem found.
pub fn parse(path: &Path, text: &str) -> Result<Workflow, Problems> {
    load::parse_text(path, text)
}

/// Validates a workflow read by [`parse`] and plans it, as if it ran outside any workspace
/// from its file's folder, with `context` as `--context` gives it.
pub fn plan(workflow: &Workflow, context: &[(String, String)]) -> Result<Plan, Problems> {
    let project = load::Project::plain(&workflow.origin.base_dir);
    let options = plan::PlanOptions {
        context: context.to_vec(),
        ..plan::PlanOptions::default()
    };
    plan::plan(workflow, &project, &options)
}

/// The text a shell runs for `template` when its `${name}` references read `values`: each
/// value stays in the environment, and the text names the variable that holds it. `None`
/// when a reference is malformed or names nothing known.
pub fn shell_command(template: &str, values: &[(&str, &str)]) -> Option<String> {
    let source = source::SourceFile::new(Path::new("command"), template.to_string());
    let mut vars = plan::vars::Vars::default();
    for (name, value) in values {
        vars.insert(name, load::model::ContextValue::One(value.to_string()));
    }
    let at = plan::substitute::At {
        source: &source,
        step: "step",
        span: source::Span::new(0, template.len()),
        scope: None,
        env: &[],
    };
    let mut found = plan::substitute::Found::default();
    let mut problems = Problems::new();
    let quote = plan::substitute::Quote::Shell;
    plan::substitute::resolve(&vars, template, quote, &at, &mut found, &mut problems)
}
