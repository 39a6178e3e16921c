//! The commands that do not run a workflow: `list`, `check`, `graph`, `cache clean`.

use super::args::{Cli, ContextArgs, ExportCmd, ExportGroup};
use super::run::lock_state;
use super::workflows::{catalog, plan_all, plan_one, resolve};
use crate::diagnostic::{Problem, Problems};
use crate::load;
use crate::plan::{self, PlanOptions};
use crate::report::{self, graph::GraphFormat};
use crate::run::cache;
use crate::sys::SignalForwarder;

/// `cargo flow list [WORKFLOW]`.
pub(super) fn list(cli: &Cli, workflow: Option<&str>) -> Result<i32, Problems> {
    if let Some(name) = workflow {
        let (wf, mut project, problems) = resolve(cli, name)?;
        let plan = plan_all(&wf, &mut project, &PlanOptions::default(), problems)?;
        print!("{}", report::list::steps(&wf, &plan));
        return Ok(0);
    }
    let mut found = catalog(cli, load::Scope::Members)?;
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    if found.workflows.is_empty() {
        eprintln!("{}", report::list::none_found(&found.project.root));
        return Ok(0);
    }
    // Steps as `check` counts them, where a workflow plans without values from the command line.
    let expanded: Vec<Option<usize>> = found
        .workflows
        .iter()
        .map(|wf| {
            plan_one(wf, &mut found.project, &PlanOptions::default())
                .ok()
                .map(|p| p.steps().len())
        })
        .collect();
    print!("{}", report::list::workflows(&found.workflows, &expanded));
    Ok(0)
}

/// `cargo flow check [WORKFLOW]`: every workflow when none is named.
pub(super) fn check(
    cli: &Cli,
    target: Option<&str>,
    context: &ContextArgs,
) -> Result<i32, Problems> {
    let options = PlanOptions {
        context: context.context.clone(),
        params: context.params.clone(),
        ..PlanOptions::default()
    };
    let (workflows, mut project, mut problems) = match target {
        Some(t) => {
            let (wf, project, problems) = resolve(cli, t)?;
            (vec![wf], project, problems)
        }
        None => {
            let found = catalog(cli, load::Scope::Members)?;
            (found.workflows, found.project, found.problems)
        }
    };
    // Checking them all, a `--param` goes to the workflows that declare it, and is wrong only
    // where none does (the first workflow's check says so).
    let all = target.is_none() && workflows.len() > 1;
    let declares =
        |wf: &load::model::Workflow, name: &str| wf.params.iter().any(|p| p.name.value == name);
    let mut steps = 0;
    for (n, wf) in workflows.iter().enumerate() {
        let mut options = options.clone();
        if all {
            options.params.retain(|(name, _)| {
                declares(wf, name) || n == 0 && !workflows.iter().any(|w| declares(w, name))
            });
        }
        match plan_one(wf, &mut project, &options) {
            Ok(p) => steps += p.steps.len(),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !cli.global.quiet {
        let declared = workflows.iter().map(|w| w.steps.len()).sum();
        eprintln!(
            "{}",
            report::list::checked(workflows.len(), declared, steps)
        );
    }
    Ok(0)
}

/// `cargo flow graph WORKFLOW`.
pub(super) fn graph(
    cli: &Cli,
    target: &str,
    format: GraphFormat,
    context: &ContextArgs,
) -> Result<i32, Problems> {
    let plan = plan_with(cli, target, context)?;
    print!("{}", report::graph::render(&plan, format));
    Ok(0)
}

/// The plan of `target` with the context given, for a command that shows it rather than
/// runs it.
fn plan_with(cli: &Cli, target: &str, context: &ContextArgs) -> Result<plan::Plan, Problems> {
    let (wf, mut project, problems) = resolve(cli, target)?;
    let options = PlanOptions {
        context: context.context.clone(),
        params: context.params.clone(),
        ..PlanOptions::default()
    };
    plan_all(&wf, &mut project, &options, problems)
}

/// `cargo flow export github WORKFLOW`: the workflow as a GitHub Actions workflow, on
/// standard output.
pub(super) fn export(cli: &Cli, to: &ExportCmd) -> Result<i32, Problems> {
    let ExportCmd::Github {
        target,
        group,
        remote_cache,
        context,
    } = to;
    if let Some(url) = remote_cache {
        super::remote::check_url(url)?;
    }
    let plan = plan_with(cli, target, context)?;
    let mut words = Vec::new();
    for (flag, pairs) in [("-c", &context.context), ("--param", &context.params)] {
        for (k, v) in pairs {
            words.extend([flag.to_string(), format!("{k}={v}")]);
        }
    }
    let export = crate::setup::export::Export {
        target,
        group: match group {
            ExportGroup::Chains => crate::setup::export::Group::Chains,
            ExportGroup::None => crate::setup::export::Group::None,
        },
        remote_cache: remote_cache.as_deref(),
        context: words,
    };
    print!("{}", crate::setup::export::github(&plan, &export));
    Ok(0)
}

/// `cargo flow cache clean [WORKFLOW]`: removes the records of cached steps, of one workflow
/// or of all, each under its workflow's lock.
pub(super) fn cache_clean(cli: &Cli, workflow: Option<&str>) -> Result<i32, Problems> {
    let (state, folders) = match workflow {
        Some(target) => {
            let (wf, project, problems) = resolve(cli, target)?;
            if !problems.is_empty() {
                return Err(problems);
            }
            let folder = plan::names::file_name(&wf.name);
            (plan::state_dir(&project), vec![folder])
        }
        None => {
            let found = catalog(cli, load::Scope::Root)?;
            let state = plan::state_dir(&found.project);
            let folders = std::fs::read_dir(state.join("cache"))
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            (state, folders)
        }
    };
    let mut forwarder = SignalForwarder::install();
    let mut records = 0;
    for folder in &folders {
        // Never under a run of the same workflow, which may be writing a record.
        let _lock = match lock_state(cli, &state, folder, folder, &mut forwarder)? {
            Ok(lock) => lock,
            Err(code) => return Ok(code),
        };
        let dir = state.join("cache").join(folder);
        records += cache::forget_all(&dir).map_err(|e| {
            Problem::new(
                "flow::cache",
                format!(
                    "cannot remove the cache `{}`: {e}",
                    crate::source::display_path(&dir)
                ),
            )
        })?;
    }
    if !cli.global.quiet {
        let from = match folders.as_slice() {
            [one] if workflow.is_some() => state.join("cache").join(one),
            _ => state.join("cache"),
        };
        eprintln!("{}", report::notes::removed_records(records, &from));
    }
    Ok(0)
}

/// `cargo flow schema`: the JSON Schema of workflow files.
pub(crate) fn schema() -> Result<i32, Problems> {
    let text = serde_json::to_string_pretty(&crate::load::schema::schema()).unwrap_or_default();
    println!("{text}");
    Ok(0)
}

/// `cargo flow completions <shell>`: the script that registers completion in a shell.
pub(crate) fn completions(shell: &str) -> Result<i32, Problems> {
    match super::complete::script(shell) {
        Ok(text) => {
            print!("{text}");
            Ok(0)
        }
        Err(message) => Err(Problem::new("flow::usage", message).into()),
    }
}
