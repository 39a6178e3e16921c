//! Finding the workflow a command names and planning it: the wiring of `load` and `plan`,
//! with the ownership check on a `.flow.yaml` found outside a workspace.

use std::path::{Path, PathBuf};

use super::args::Cli;
use crate::diagnostic::{Problem, Problems};
use crate::load::model::Workflow;
use crate::load::{self, Project};
use crate::plan::{self, PlanOptions};

/// The current folder.
pub(super) fn cwd() -> Result<PathBuf, Problems> {
    std::env::current_dir().map_err(|e| {
        Problem::new(
            "flow::cwd",
            format!("cannot read the current directory: {e}"),
        )
        .into()
    })
}

/// The workflows of the project around the current folder, or of `--manifest-path`. A
/// `.flow.yaml` or manifest found by looking up from the current folder that another user may
/// have written is not trusted, as git refuses such repositories: a file planted in a shared
/// folder such as /tmp could run anything.
pub(super) fn catalog(cli: &Cli, scope: load::Scope) -> Result<load::Catalog, Problems> {
    load::load_catalog(&cwd()?, cli.global.manifest_path.as_deref(), scope, &trust)
}

/// Where folders whose `.flow.yaml` is trusted whoever wrote it are listed: `:`-separated, or
/// `*` for all.
const SAFE_DIRECTORIES: &str = "CARGO_FLOW_SAFE_DIRECTORIES";

pub(super) fn trust(file: &Path) -> Result<(), Problem> {
    let dir = file.parent().unwrap_or(file);
    let listed = std::env::var_os(SAFE_DIRECTORIES)
        .is_some_and(|list| std::env::split_paths(&list).any(|d| d.as_os_str() == "*" || d == dir));
    if listed {
        return Ok(());
    }
    let why = match crate::sys::written_by_another(file) {
        Ok(None) => return Ok(()),
        Ok(Some(why)) => why,
        Err(e) => format!("its owner cannot be read: {e}"),
    };
    let shown = crate::source::display_path(file);
    Err(Problem::new(
        "flow::untrusted",
        format!("`{shown}` is not run: {why}, and a workflow file that someone else could have written may run anything as you"),
    )
    .with_help(format!(
        "if you trust it, name it (`cargo flow run {shown}` for a workflow file, `--manifest-path {shown}` for a manifest), or list its folder in {SAFE_DIRECTORIES}={}",
        dir.display()
    )))
}

/// The workflow a target names (a file, or a name in the catalog), its project, and the
/// problems found while reading.
pub(super) fn resolve(cli: &Cli, target: &str) -> Result<(Workflow, Project, Problems), Problems> {
    if load::is_file_target(target) {
        let loaded = load::load_file(Path::new(target))?;
        return Ok((loaded.workflow, loaded.project, loaded.problems));
    }
    // Members' workflows are `<package>:<name>`; any other name is found without them.
    let scope = if target.contains(':') {
        load::Scope::Members
    } else {
        load::Scope::Root
    };
    let mut found = catalog(cli, scope)?;
    if found.get(target).is_none() && scope == load::Scope::Root {
        // Suggestions may be among the members' workflows.
        found = catalog(cli, load::Scope::Members)?;
    }
    match found.get(target) {
        Some(wf) => Ok((wf.clone(), found.project, found.problems)),
        None => {
            let unknown = found.unknown(target);
            let mut problems = found.problems;
            if problems.is_empty() {
                problems.push(unknown);
            }
            Err(problems)
        }
    }
}

/// Plans one workflow, reading the workspace's members first when it needs them: `cargo
/// metadata` runs only for such workflows.
pub(super) fn plan_one(
    wf: &Workflow,
    project: &mut Project,
    options: &PlanOptions,
) -> Result<plan::Plan, Problems> {
    if plan::needs_workspace(wf, options) {
        project.workspace()?;
    }
    plan::plan(wf, project, options)
}

/// Plans a workflow, reporting the problems found while reading it together with its own.
pub(super) fn plan_all(
    wf: &Workflow,
    project: &mut Project,
    options: &PlanOptions,
    mut problems: Problems,
) -> Result<plan::Plan, Problems> {
    match plan_one(wf, project, options) {
        Ok(plan) if problems.is_empty() => Ok(plan),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}
