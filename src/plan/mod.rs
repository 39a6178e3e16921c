//! Resolving variables, validating, and building the graph: a [`Plan`] that cannot be invalid.

pub mod graph;
pub mod vars;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diagnostic::{Problem, Problems};
use crate::load::Project;
use crate::load::model::{Command, ContextValue, Timeout, Workflow};
use crate::source::{Source, Span};
use crate::suggest::did_you_mean;
use vars::{Piece, Vars};

/// A validated workflow, ready to run: every dependency exists, there is no cycle, every
/// variable is resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The workflow's name.
    pub workflow: String,
    /// The steps, in declaration order; indices are used everywhere else.
    pub steps: Vec<PlannedStep>,
    /// A topological order of the step indices.
    pub order: Vec<usize>,
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Its id.
    pub id: String,
    /// What it runs, variables substituted.
    pub command: Run,
    /// Indices of the steps it waits for.
    pub deps: Vec<usize>,
    /// Indices of the steps that wait for it.
    pub dependents: Vec<usize>,
    /// The longest chain of work from this step to the end, itself included (in steps).
    pub weight: u64,
    /// How long it may run.
    pub timeout: Timeout,
    /// Environment variables it gets, beyond cargo flow's own.
    pub env: Vec<(String, String)>,
    /// Where it runs.
    pub cwd: PathBuf,
    /// Its description.
    pub description: Option<String>,
}

/// A resolved command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// A command line for `sh -c`.
    Shell(String),
    /// A program and its arguments.
    Argv(Vec<String>),
}

impl Run {
    /// The command as one line, for listings.
    pub fn display(&self) -> String {
        match self {
            Run::Shell(s) => s.clone(),
            Run::Argv(args) => shell_words::join(args),
        }
    }
}

/// What the command line adds to a workflow when planning it.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--context name=value`, in the order given.
    pub context: Vec<(String, String)>,
    /// `--timeout`: the default for steps that set none, over the workflow's.
    pub timeout: Option<Timeout>,
    /// Only these steps and what they need; empty means all.
    pub select: Vec<String>,
}

/// The variables a workflow sees: `--context`, its `context:` defaults, the workspace facts.
pub fn variables(wf: &Workflow, project: &Project, options: &PlanOptions) -> Vars {
    let mut vars = Vars::default();
    for (k, v) in &options.context {
        vars.insert_default(k, ContextValue::One(v.clone()));
    }
    for entry in &wf.context {
        vars.insert_default(&entry.name.value, entry.value.value.clone());
    }
    vars.insert_default("workflow", ContextValue::One(wf.name.clone()));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    vars.insert_default("cargo", ContextValue::One(cargo));
    vars.insert_default(
        "workspace_root",
        ContextValue::One(project.root.display().to_string()),
    );
    vars.insert_default(
        "target_dir",
        ContextValue::One(project.target_dir.display().to_string()),
    );
    if let Some(ws) = &project.workspace {
        vars.insert_default(
            "manifest_path",
            ContextValue::One(ws.manifest_path.display().to_string()),
        );
        vars.insert_default(
            "packages",
            ContextValue::Many(ws.packages.iter().map(|p| p.name.clone()).collect()),
        );
    }
    vars
}

/// Validates a workflow and builds its plan, reporting every problem found.
pub fn plan(wf: &Workflow, project: &Project, options: &PlanOptions) -> Result<Plan, Problems> {
    let source = &wf.origin.source;
    let mut problems = Problems::new();
    let vars = variables(wf, project, options);

    // Ids: unique. Indices follow declaration order.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(wf.steps.len());
    for (i, step) in wf.steps.iter().enumerate() {
        if let Some(&first) = index.get(step.id.value.as_str()) {
            problems.push(
                Problem::at(
                    "flow::duplicate-id",
                    format!("step id `{}` is used twice", step.id.value),
                    source,
                    step.id.span,
                    "used again here",
                )
                .with_label(wf.steps[first].id.span, "first used here")
                .with_help("give every step a unique id"),
            );
        } else {
            index.insert(&step.id.value, i);
        }
    }

    // Dependencies: known, not the step itself, each once.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(wf.steps.len());
    for step in &wf.steps {
        let mut ds = Vec::with_capacity(step.depends_on.len());
        for dep in &step.depends_on {
            match index.get(dep.value.as_str()) {
                None => problems.push(
                    Problem::at(
                        "flow::unknown-dependency",
                        format!(
                            "step `{}` depends on `{}`, which is not a step of this workflow",
                            step.id.value, dep.value
                        ),
                        source,
                        dep.span,
                        "unknown step",
                    )
                    .with_help_opt(did_you_mean(
                        &dep.value,
                        wf.steps.iter().map(|s| s.id.value.as_str()),
                    )),
                ),
                Some(_) if dep.value == step.id.value => problems.push(
                    Problem::at(
                        "flow::self-dependency",
                        format!("step `{}` depends on itself", step.id.value),
                        source,
                        dep.span,
                        "depends on itself",
                    )
                    .with_help("remove it from its own `depends_on`"),
                ),
                Some(&d) => {
                    if !ds.contains(&d) {
                        ds.push(d);
                    }
                }
            }
        }
        deps.push(ds);
    }

    // Cycles, printed as paths.
    let order = match graph::topo_order(&deps) {
        Ok(order) => order,
        Err(cycles) => {
            for cycle in cycles {
                problems.push(cycle_problem(wf, &deps, &cycle));
            }
            Vec::new()
        }
    };

    // Commands, env and cwd with variables resolved.
    let default_timeout = wf
        .timeout
        .as_ref()
        .map(|t| t.value)
        .into_iter()
        .chain(options.timeout)
        .last()
        .unwrap_or(Timeout::DEFAULT);
    let mut steps = Vec::with_capacity(wf.steps.len());
    for step in &wf.steps {
        let command = match &step.run.value {
            Command::Shell(text) => resolve(
                source,
                &vars,
                &step.id.value,
                text,
                step.run.span,
                Quote::Shell,
                &mut problems,
            )
            .map(Run::Shell),
            Command::Argv(args) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    out.extend(resolve_arg(
                        source,
                        &vars,
                        &step.id.value,
                        &a.value,
                        a.span,
                        &mut problems,
                    ));
                }
                Some(Run::Argv(out))
            }
        };
        let mut env: Vec<(String, String)> = Vec::with_capacity(wf.env.len() + step.env.len());
        for var in wf.env.iter().chain(&step.env) {
            let value = resolve(
                source,
                &vars,
                &step.id.value,
                &var.value.value,
                var.value.span,
                Quote::Plain,
                &mut problems,
            )
            .unwrap_or_default();
            env.retain(|(k, _)| *k != var.name.value);
            env.push((var.name.value.clone(), value));
        }
        let cwd = match &step.cwd {
            Some(c) => wf.origin.base_dir.join(
                resolve(
                    source,
                    &vars,
                    &step.id.value,
                    &c.value,
                    c.span,
                    Quote::Plain,
                    &mut problems,
                )
                .unwrap_or_default(),
            ),
            None => wf.origin.base_dir.clone(),
        };
        let timeout = step.timeout.as_ref().map_or(default_timeout, |t| t.value);
        steps.push(PlannedStep {
            id: step.id.value.clone(),
            command: command.unwrap_or(Run::Shell(String::new())),
            deps: Vec::new(),
            dependents: Vec::new(),
            weight: 0,
            timeout,
            env,
            cwd,
            description: step.description.clone(),
        });
    }

    // Selection: the named steps and what they need.
    let mut keep = None;
    if !options.select.is_empty() && !steps.is_empty() {
        let mut roots = Vec::new();
        for name in &options.select {
            match index.get(name.as_str()) {
                Some(&i) => roots.push(i),
                None => problems.push(
                    Problem::new(
                        "flow::unknown-step",
                        format!("workflow `{}` has no step `{name}`", wf.name),
                    )
                    .with_help(
                        did_you_mean(name, wf.steps.iter().map(|s| s.id.value.as_str()))
                            .unwrap_or_else(|| {
                                format!("run `cargo flow list {}` to see its steps", wf.name)
                            }),
                    ),
                ),
            }
        }
        keep = Some(graph::ancestors(&deps, &roots));
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(assemble(&wf.name, steps, deps, order, keep.as_deref()))
}

/// Wires the graph into the steps, keeping only the selected ones, and weighs them.
fn assemble(
    workflow: &str,
    steps: Vec<PlannedStep>,
    deps: Vec<Vec<usize>>,
    order: Vec<usize>,
    keep: Option<&[bool]>,
) -> Plan {
    let (mut steps, deps, order) = match keep {
        None => (steps, deps, order),
        Some(keep) => {
            let mut new_index = vec![usize::MAX; steps.len()];
            let mut kept = Vec::new();
            for (i, s) in steps.into_iter().enumerate() {
                if keep[i] {
                    new_index[i] = kept.len();
                    kept.push(s);
                }
            }
            let new_deps = deps
                .iter()
                .enumerate()
                .filter(|(i, _)| keep[*i])
                .map(|(_, ds)| ds.iter().map(|&d| new_index[d]).collect())
                .collect();
            let new_order = order
                .iter()
                .filter(|&&i| keep[i])
                .map(|&i| new_index[i])
                .collect();
            (kept, new_deps, new_order)
        }
    };
    let dependents = graph::dependents(&deps);
    let cost = vec![1u64; steps.len()];
    let weights = graph::critical_weights(&order, &dependents, &cost);
    for (i, ((s, d), w)) in steps.iter_mut().zip(deps).zip(weights).enumerate() {
        s.deps = d;
        s.dependents = dependents[i].clone();
        s.weight = w;
    }
    Plan {
        workflow: workflow.to_string(),
        steps,
        order,
    }
}

fn cycle_problem(wf: &Workflow, deps: &[Vec<usize>], cycle: &[usize]) -> Problem {
    let ids: Vec<&str> = cycle
        .iter()
        .map(|&i| wf.steps[i].id.value.as_str())
        .collect();
    let mut path = ids.join(" -> ");
    path.push_str(" -> ");
    path.push_str(ids[0]);
    // Point at the dependency that closes the cycle: the last step's entry naming the first.
    let last = &wf.steps[cycle[cycle.len() - 1]];
    let first_id = ids[0];
    let span = last
        .depends_on
        .iter()
        .find(|d| d.value == first_id)
        .map_or(last.id.span, |d| d.span);
    let _ = deps;
    let help = if ids.len() == 1 {
        format!("`{}` depends on itself; remove that dependency", ids[0])
    } else {
        "a step cannot wait for itself, even through others; remove one of these dependencies"
            .to_string()
    };
    Problem::at(
        "flow::cycle",
        format!("dependency cycle: {path}"),
        &wf.origin.source,
        span,
        format!(
            "`{}` depends on `{first_id}`, closing the cycle",
            last.id.value
        ),
    )
    .with_label(wf.steps[cycle[0]].id.span, "the cycle starts here")
    .with_help(help)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// Inside a shell command: each value is one word, a list several.
    Shell,
    /// In `env` and `cwd`: the text as it is.
    Plain,
}

/// Substitutes `${name}` in a text. Names that no source defines are left for the shell when
/// the environment has them, else are an error pointing at the reference.
fn resolve(
    source: &Source,
    vars: &Vars,
    step: &str,
    text: &str,
    span: Span,
    quote: Quote,
    problems: &mut Problems,
) -> Option<String> {
    let pieces = match vars::split(text) {
        Ok(p) => p,
        Err(bad) => {
            problems.push(
                Problem::at(
                    "flow::bad-variable",
                    format!("step `{step}`: {}", bad.message),
                    source,
                    sub_span(source, span, text, bad.start, bad.len),
                    "here",
                )
                .with_help("write `${name}` for a variable, or `$${` for a literal `${`"),
            );
            return None;
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut ok = true;
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(&s),
            Piece::Ref(r) => match vars.get(&r.name) {
                Some(v) => match quote {
                    Quote::Shell => out.push_str(&vars::shell_words_of(&v.value)),
                    Quote::Plain => out.push_str(&vars::plain_text_of(&v.value)),
                },
                None if std::env::var_os(&r.name).is_some() => {
                    if quote == Quote::Shell {
                        out.push_str(&text[r.start..r.start + r.len]);
                    } else {
                        out.push_str(&std::env::var(&r.name).unwrap_or_default());
                    }
                }
                None => {
                    ok = false;
                    problems.push(undefined(source, vars, step, text, span, &r));
                }
            },
        }
    }
    ok.then_some(out)
}

/// One argument of the list form: a lone `${list}` becomes several arguments.
fn resolve_arg(
    source: &Source,
    vars: &Vars,
    step: &str,
    text: &str,
    span: Span,
    problems: &mut Problems,
) -> Vec<String> {
    if let Ok(pieces) = vars::split(text)
        && let [Piece::Ref(r)] = pieces.as_slice()
        && let Some(v) = vars.get(&r.name)
    {
        return match &v.value {
            ContextValue::One(s) => vec![s.clone()],
            ContextValue::Many(items) => items.clone(),
        };
    }
    resolve(source, vars, step, text, span, Quote::Plain, problems)
        .into_iter()
        .collect()
}

fn undefined(
    source: &Source,
    vars: &Vars,
    step: &str,
    text: &str,
    span: Span,
    r: &vars::Reference,
) -> Problem {
    let help = did_you_mean(&r.name, vars.names()).unwrap_or_else(|| {
        format!("pass it with `--context {}=VALUE`, or give it a default under the workflow's `context:`", r.name)
    });
    Problem::at(
        "flow::undefined-variable",
        format!("step `{step}` uses `${{{}}}`, which is not defined", r.name),
        source,
        sub_span(source, span, text, r.start, r.len),
        "undefined variable",
    )
    .with_help(help)
}

/// The span of `text[start..start+len]` within the source, when the text appears there as
/// written (plain or quoted without escapes); else the whole value.
fn sub_span(source: &Source, span: Span, text: &str, start: usize, len: usize) -> Span {
    let written = source.text.get(span.start..span.end()).unwrap_or("");
    let needle = &text[start..start + len];
    match written.find(needle) {
        Some(off) if written.len() >= text.len() => Span::new(span.start + off, len),
        _ => span,
    }
}
