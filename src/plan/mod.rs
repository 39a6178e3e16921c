//! Resolving variables, validating, and building the graph: a [`Plan`] that cannot be invalid.

pub mod condition;
pub mod expand;
pub mod graph;
pub mod shell;
pub mod substitute;
pub mod vars;

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use crate::diagnostic::{Problem, Problems};
use crate::load::model::{Command, ContextValue, Retry, Timeout, Workflow};
use crate::load::{Package, Project};
use crate::suggest::did_you_mean;
use substitute::{At, OutputScope, Quote};
use vars::Vars;

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
    /// Every context variable as `FLOW_CTX_*`, for every step's environment.
    pub env: Vec<(String, String)>,
    /// cargo flow's folder in the target dir (`target/flow`): logs, artifacts, the cache.
    pub dir: PathBuf,
}

impl Plan {
    /// The folder name a workflow's files go in: `pkg:release` becomes `pkg-release`.
    pub fn folder(&self) -> String {
        folder_name(&self.workflow)
    }

    /// Where step logs go: `target/flow/logs/<workflow>`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs").join(self.folder())
    }

    /// Where a step's artifacts are copied: `target/flow/artifacts/<workflow>/<step>`.
    pub fn artifact_dir(&self, step: &PlannedStep) -> PathBuf {
        artifacts_root(&self.dir, &self.workflow).join(&step.id)
    }

    /// Where the last successful run of each cached step is recorded.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir(&self.dir, &self.workflow)
    }
}

/// Where a workflow's cached steps are recorded: `target/flow/cache/<workflow>`.
pub fn cache_dir(state_dir: &std::path::Path, workflow: &str) -> PathBuf {
    state_dir.join("cache").join(folder_name(workflow))
}

/// cargo flow's folder in a project's target dir.
pub fn state_dir(project: &Project) -> PathBuf {
    project.target_dir.join("flow")
}

/// The folder that holds a workflow's artifacts, one subfolder per step.
fn artifacts_root(dir: &std::path::Path, workflow: &str) -> PathBuf {
    dir.join("artifacts").join(folder_name(workflow))
}

/// A workflow's name as a folder name: characters other than letters, digits, `_`, `.` and
/// `-` become `-`.
fn folder_name(workflow: &str) -> String {
    workflow
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
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
    /// `if:`: when it runs; `None` runs it when every dependency succeeded.
    pub condition: Option<condition::Condition>,
    /// How it is tried again after a failure.
    pub retry: Retry,
    /// The outputs of earlier steps its command reads, through environment variables.
    pub output_refs: Vec<OutputRef>,
    /// Paths or globs, relative to `cwd`, copied to its artifact folder after it succeeds.
    pub artifacts: Vec<String>,
    /// What decides whether it has to run again, when it is cached.
    pub cache: Option<CachePlan>,
}

/// A cached step's `cache:`, variables substituted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachePlan {
    /// Paths or globs of the files it reads, relative to its working directory.
    pub inputs: Vec<String>,
    /// Paths or globs of the files it writes.
    pub outputs: Vec<String>,
    /// Names of the environment variables it depends on.
    pub env: Vec<String>,
    /// The context variables its command, environment and working directory use, with their
    /// values, sorted by name.
    pub context: Vec<(String, String)>,
}

/// An output of an earlier step that a step reads: `${steps.<id>.outputs.<key>}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRef {
    /// The index of the step that writes it.
    pub step: usize,
    /// Its key.
    pub key: String,
    /// The environment variable the reading step gets it in.
    pub env: String,
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
    /// `--retries`: the retries of steps that set none, over the workflow's.
    pub retries: Option<u32>,
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
    if let Some(manifest) = &project.manifest_path {
        vars.insert_default(
            "manifest_path",
            ContextValue::One(manifest.display().to_string()),
        );
    }
    if let Some(ws) = &project.workspace {
        let names = ws.packages.iter().map(|p| p.name.clone()).collect();
        vars.insert_default("packages", ContextValue::Many(names));
    }
    vars
}

/// The facts only `cargo metadata` knows: the member packages.
const WORKSPACE_FACTS: &[&str] = &["packages"];

/// Whether planning this workflow needs the workspace's members: a `for_each` step, or a
/// reference to `${packages}` that neither `--context` nor `context:` defines.
pub fn needs_workspace(wf: &Workflow, options: &PlanOptions) -> bool {
    if wf.steps.iter().any(|s| s.for_each.is_some()) {
        return true;
    }
    let defined = |name: &str| {
        options.context.iter().any(|(k, _)| k == name)
            || wf.context.iter().any(|c| c.name.value == name)
    };
    let refers = |text: &str| {
        text.contains("${")
            && vars::split(text).is_ok_and(|pieces| {
                pieces.iter().any(|p| matches!(p, vars::Piece::Ref(r) if WORKSPACE_FACTS.contains(&r.name.as_str()) && !defined(&r.name)))
            })
    };
    wf.steps.iter().any(|s| {
        let run = match &s.run.value {
            Command::Shell(t) => refers(t),
            Command::Argv(args) => args.iter().any(|a| refers(&a.value)),
        };
        run || s.cwd.as_ref().is_some_and(|c| refers(&c.value))
            || s.env.iter().chain(&wf.env).any(|e| refers(&e.value.value))
    })
}

/// One step of the plan before it is wired: a declared step, or one package's instance of a
/// `for_each` step.
struct Instance<'a> {
    step: usize,
    package: Option<&'a Package>,
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
    if let Err(cycles) = graph::topo_order(&deps) {
        for cycle in cycles {
            problems.push(cycle_problem(wf, &cycle));
        }
    }

    // Instances: `for_each` steps become one per package.
    let mut instances: Vec<Instance<'_>> = Vec::with_capacity(wf.steps.len());
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(wf.steps.len());
    for (i, step) in wf.steps.iter().enumerate() {
        let start = instances.len();
        match &step.for_each {
            None => instances.push(Instance {
                step: i,
                package: None,
            }),
            Some(filter) => {
                for p in expand::packages(
                    source,
                    step,
                    filter,
                    project.workspace.as_ref(),
                    &mut problems,
                ) {
                    instances.push(Instance {
                        step: i,
                        package: Some(p),
                    });
                }
            }
        }
        ranges.push(start..instances.len());
    }
    // A step that depends on a per-package step waits for all of its instances; two
    // per-package steps pair up package by package.
    let inst_deps: Vec<Vec<usize>> = instances
        .iter()
        .map(|inst| {
            let mut ds = Vec::new();
            for &d in &deps[inst.step] {
                let range = ranges[d].clone();
                match (inst.package, wf.steps[d].for_each.is_some()) {
                    (Some(p), true) => ds.extend(
                        range.filter(|&m| instances[m].package.is_some_and(|q| q.name == p.name)),
                    ),
                    _ => ds.extend(range),
                }
            }
            ds
        })
        .collect();

    // Commands, env and cwd with variables resolved.
    let default_timeout = wf
        .timeout
        .as_ref()
        .map(|t| t.value)
        .into_iter()
        .chain(options.timeout)
        .last()
        .unwrap_or(Timeout::DEFAULT);
    let dir = state_dir(project);
    let artifacts_root = artifacts_root(&dir, &wf.name);
    let mut steps = Vec::with_capacity(instances.len());
    let mut reported_conditions: Vec<usize> = Vec::new();
    for inst in &instances {
        let step = &wf.steps[inst.step];
        let id = match inst.package {
            Some(p) => format!("{}:{}", step.id.value, p.name),
            None => step.id.value.clone(),
        };
        let own_vars;
        let (vars, package_env) = match inst.package {
            None => (&vars, Vec::new()),
            Some(p) => {
                let mut v = vars.clone();
                let facts = [
                    ("package", p.name.clone()),
                    ("package_dir", p.dir.display().to_string()),
                    ("package_version", p.version.clone()),
                    ("package_manifest", p.manifest_path.display().to_string()),
                ];
                let env = facts
                    .iter()
                    .map(|(k, val)| (vars::env_name(k), val.clone()))
                    .collect();
                for (k, val) in facts {
                    v.insert(k, ContextValue::One(val));
                }
                own_vars = v;
                (&own_vars, env)
            }
        };
        // Built only for a step that refers to earlier ones: finding its ancestors costs a
        // walk of the graph.
        let scope = step_texts(step)
            .any(|t| t.contains("${steps."))
            .then(|| OutputScope {
                artifacts: &artifacts_root,
                ids: &index,
                steps: &wf.steps,
                ancestors: graph::ancestors(&deps, &deps[inst.step]),
                used: Default::default(),
            });
        let at = |span| At {
            source,
            step: &id,
            span,
            scope: scope.as_ref(),
            outputs_allowed: false,
        };
        let mut output_refs = Vec::new();
        let command = match (&step.run.value, &scope) {
            (Command::Shell(text), Some(scope)) => {
                let at = At {
                    outputs_allowed: true,
                    ..at(step.run.span)
                };
                let resolved = substitute::resolve(vars, text, Quote::Shell, &at, &mut problems);
                for (d, key) in scope.used.take() {
                    let env = substitute::output_env(&wf.steps[d].id.value, &key);
                    let step_at = ranges[d].start;
                    let clash = output_refs.iter().find(|r: &&OutputRef| {
                        r.env == env && (r.step, r.key.as_str()) != (step_at, key.as_str())
                    });
                    if let Some(other) = clash {
                        // Both would arrive in one environment variable.
                        problems.push(
                            Problem::at(
                                "flow::bad-output",
                                format!(
                                    "step `{id}` reads output `{}` of `{}` and `{key}` of `{}`, whose names are too alike to pass both",
                                    other.key,
                                    steps_id(wf, &ranges, other.step),
                                    wf.steps[d].id.value
                                ),
                                source,
                                step.run.span,
                                "here",
                            )
                            .with_help(format!("both would be `{env}`; rename one of the keys or steps")),
                        );
                    }
                    output_refs.push(OutputRef {
                        step: step_at,
                        key,
                        env,
                    });
                }
                resolved.map(Run::Shell)
            }
            (Command::Shell(text), None) => {
                substitute::resolve(vars, text, Quote::Shell, &at(step.run.span), &mut problems)
                    .map(Run::Shell)
            }
            (Command::Argv(args), _) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    out.extend(substitute::resolve_arg(
                        vars,
                        &a.value,
                        &at(a.span),
                        &mut problems,
                    ));
                }
                if out.is_empty() {
                    // Only an empty list variable can get here; the list itself is checked.
                    problems.push(
                        Problem::at(
                            "flow::empty-run",
                            format!("step `{id}`: `run` is empty once its variables are substituted"),
                            source,
                            step.run.span,
                            "no program left to run",
                        )
                        .with_help("the first argument names the program; it cannot come from an empty list"),
                    );
                    None
                } else {
                    Some(Run::Argv(out))
                }
            }
        };
        let mut env: Vec<(String, String)> = package_env;
        for var in wf.env.iter().chain(&step.env) {
            let value = substitute::resolve(
                vars,
                &var.value.value,
                Quote::Plain,
                &at(var.value.span),
                &mut problems,
            )
            .unwrap_or_default();
            env.retain(|(k, _)| *k != var.name.value);
            env.push((var.name.value.clone(), value));
        }
        let cwd = match &step.cwd {
            Some(c) => wf.origin.base_dir.join(
                substitute::resolve(vars, &c.value, Quote::Plain, &at(c.span), &mut problems)
                    .unwrap_or_default(),
            ),
            None => wf.origin.base_dir.clone(),
        };
        let timeout = step.timeout.as_ref().map_or(default_timeout, |t| t.value);
        let retry = match (&step.retry, options.retries, &wf.retry) {
            (Some(r), _, _) => r.value,
            (None, Some(n), _) => Retry {
                retries: n,
                ..Retry::NONE
            },
            (None, None, Some(r)) => r.value,
            (None, None, None) => Retry::NONE,
        };
        let condition =
            step.condition
                .as_ref()
                .and_then(|c| match condition::parse(&c.value, vars) {
                    Ok(cond) => Some(cond),
                    Err(e) => {
                        // Once per declared step, not once per package.
                        if !reported_conditions.contains(&inst.step) {
                            reported_conditions.push(inst.step);
                            // An error at the very end points at the last character.
                            let start = e.start.min(c.value.len());
                            let (start, len) = match e.len.min(c.value.len() - start) {
                                0 if start > 0 => (start - 1, 1),
                                len => (start, len),
                            };
                            let span = substitute::sub_span(&at(c.span), &c.value, start, len);
                            problems.push(
                                Problem::at(
                                    "flow::bad-condition",
                                    format!("step `{}`: {}", step.id.value, e.message),
                                    source,
                                    span,
                                    "here",
                                )
                                .with_help_opt(e.help),
                            );
                        }
                        None
                    }
                });
        let paths = |list: &[crate::source::Spanned<String>], problems: &mut Problems| {
            list.iter()
                .filter_map(|p| {
                    substitute::resolve(vars, &p.value, Quote::Plain, &at(p.span), problems)
                })
                .collect::<Vec<_>>()
        };
        let artifacts = paths(&step.artifacts, &mut problems);
        let cache = step.cache.as_ref().map(|c| CachePlan {
            inputs: paths(&c.value.inputs, &mut problems),
            outputs: paths(&c.value.outputs, &mut problems),
            env: c.value.env.iter().map(|e| e.value.clone()).collect(),
            context: used_variables(wf, step, vars),
        });
        steps.push(PlannedStep {
            id,
            command: command.unwrap_or(Run::Shell(String::new())),
            deps: Vec::new(),
            dependents: Vec::new(),
            weight: 0,
            timeout,
            env,
            cwd,
            description: step.description.clone(),
            condition,
            retry,
            output_refs,
            artifacts,
            cache,
        });
    }

    // Selection: the named steps (a per-package step names all its instances) and what they need.
    let mut keep = None;
    if !options.select.is_empty() && !steps.is_empty() {
        let mut roots = Vec::new();
        for name in &options.select {
            if let Some(&i) = index.get(name.as_str()) {
                roots.extend(ranges[i].clone());
            } else if let Some(k) = steps.iter().position(|s| s.id == *name) {
                roots.push(k);
            } else {
                problems.push(
                    Problem::new(
                        "flow::unknown-step",
                        format!("workflow `{}` has no step `{name}`", wf.name),
                    )
                    .with_help(
                        did_you_mean(name, steps.iter().map(|s| s.id.as_str())).unwrap_or_else(
                            || format!("run `cargo flow list {}` to see its steps", wf.name),
                        ),
                    ),
                );
            }
        }
        keep = Some(graph::ancestors(&inst_deps, &roots));
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    // Instances inherit the declared graph's order, so this cannot find a cycle.
    let order = graph::topo_order(&inst_deps).unwrap_or_default();
    let mut plan = assemble(
        &wf.name,
        steps,
        inst_deps,
        order,
        keep.as_deref(),
        vars.env(),
    );
    plan.dir = dir;
    Ok(plan)
}

/// Every text of a step that variables are substituted in.
fn step_texts(step: &crate::load::model::Step) -> impl Iterator<Item = &str> {
    // Without collecting: this runs for every step of every plan.
    let (line, args) = match &step.run.value {
        Command::Shell(t) => (Some(t.as_str()), &[][..]),
        Command::Argv(args) => (None, args.as_slice()),
    };
    let run = line
        .into_iter()
        .chain(args.iter().map(|a| a.value.as_str()));
    let cache = step.cache.iter().flat_map(|c| {
        c.value
            .inputs
            .iter()
            .chain(&c.value.outputs)
            .map(|p| p.value.as_str())
    });
    run.chain(step.env.iter().map(|e| e.value.value.as_str()))
        .chain(step.cwd.iter().map(|c| c.value.as_str()))
        .chain(step.artifacts.iter().map(|a| a.value.as_str()))
        .chain(cache)
}

/// The context variables a step's texts (and its workflow's `env:`) use, with their values:
/// what a cached step's key depends on besides its resolved command.
fn used_variables(
    wf: &Workflow,
    step: &crate::load::model::Step,
    vars: &Vars,
) -> Vec<(String, String)> {
    let mut used: Vec<(String, String)> = Vec::new();
    let texts = step_texts(step).chain(wf.env.iter().map(|e| e.value.value.as_str()));
    for text in texts.filter(|t| t.contains("${")) {
        for piece in vars::split(text).unwrap_or_default() {
            if let vars::Piece::Ref(r) = piece
                && let Some(v) = vars.get(&r.name)
                && !used.iter().any(|(k, _)| *k == r.name)
            {
                used.push((r.name.clone(), vars::plain_text_of(v)));
            }
        }
    }
    used.sort();
    used
}

/// The declared id of the step whose first instance is `instance`.
fn steps_id<'w>(wf: &'w Workflow, ranges: &[Range<usize>], instance: usize) -> &'w str {
    ranges
        .iter()
        .position(|r| r.start == instance)
        .map_or("?", |d| wf.steps[d].id.value.as_str())
}

/// Wires the graph into the steps, keeping only the selected ones, and weighs them.
fn assemble(
    workflow: &str,
    steps: Vec<PlannedStep>,
    deps: Vec<Vec<usize>>,
    order: Vec<usize>,
    keep: Option<&[bool]>,
    env: Vec<(String, String)>,
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
            // Outputs are read only from ancestors, which a selection always keeps.
            for s in &mut kept {
                for r in &mut s.output_refs {
                    r.step = new_index[r.step];
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
        env,
        dir: PathBuf::new(),
    }
}

fn cycle_problem(wf: &Workflow, cycle: &[usize]) -> Problem {
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
    .with_help(
        "a step cannot wait for itself, even through others; remove one of these dependencies",
    )
}
