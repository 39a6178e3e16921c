//! Resolving variables, validating, and building the graph: a [`Plan`] that cannot be invalid.
//!
//! [`plan`] is a pipeline of passes over the workflow, each reporting every problem it finds:
//! ids, dependencies, cycles, instances (a `for_each` step becomes one per package), the
//! steps themselves (in [`step`]), the selection asked for on the command line, and the
//! names and values that must fit the platform. A plan is made only when none found any.

pub(crate) mod cargo;
pub(crate) mod condition;
mod env_file;
pub(crate) mod expand;
pub(crate) mod graph;
pub(crate) mod names;
mod params;
pub(crate) mod rank;
pub(crate) mod reevaluate;
mod step;
pub(crate) use step::MAX_VALUE_BYTES;
pub(crate) mod substitute;
pub(crate) mod vars;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Problem, Problems};
use crate::load::model::{Combination, Command, ContextValue, Retry, Step, Timeout, Workflow};
use crate::load::{Package, Project};
use crate::suggest::did_you_mean;
use vars::Vars;

/// A validated workflow, ready to run: every dependency exists, there is no cycle, every
/// variable is resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The workflow's name.
    pub(crate) workflow: String,
    /// The steps, in declaration order; indices are used everywhere else.
    pub(crate) steps: Vec<PlannedStep>,
    /// A topological order of the step indices.
    pub(crate) order: Vec<usize>,
    /// Every context variable as `FLOW_CTX_*`, for every step's environment.
    pub(crate) env: Vec<(String, String)>,
    /// cargo flow's folder in the target dir (`target/flow`): logs, artifacts, the cache.
    pub(crate) dir: PathBuf,
    /// The project's root: the workspace root, or the workflow's folder outside one.
    pub(crate) root: PathBuf,
    /// The workflow's `remote_cache:`: the server cached steps' results are shared through.
    pub(crate) remote_cache: Option<String>,
    /// The ids of the steps named on the command line (every instance of a per-package or
    /// matrix step named); empty when none was.
    pub(crate) named: Vec<String>,
}

impl Plan {
    /// The workflow's name.
    pub fn workflow(&self) -> &str {
        &self.workflow
    }

    /// The steps, in declaration order; a step is named by its index.
    pub fn steps(&self) -> &[PlannedStep] {
        &self.steps
    }

    /// The folder name a workflow's files go in (see [`names::file_name`]): `pkg:release` is
    /// `pkg@release`.
    pub fn folder(&self) -> String {
        names::file_name(&self.workflow)
    }

    /// Where step logs go: `target/flow/logs/<workflow>`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs").join(self.folder())
    }

    /// A step's log file: `target/flow/logs/<workflow>/<step>.log`.
    pub fn log_path(&self, step: &PlannedStep) -> PathBuf {
        self.log_dir()
            .join(format!("{}.log", names::file_name(&step.id)))
    }

    /// Where a step's artifacts are copied: `target/flow/artifacts/<workflow>/<step>`.
    pub fn artifact_dir(&self, step: &PlannedStep) -> PathBuf {
        artifacts_root(&self.dir, &self.workflow).join(names::file_name(&step.id))
    }

    /// Where the last successful run of each cached step is recorded.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir(&self.dir, &self.workflow)
    }
}

/// Where a workflow's cached steps are recorded: `target/flow/cache/<workflow>`.
pub(crate) fn cache_dir(state_dir: &Path, workflow: &str) -> PathBuf {
    state_dir.join("cache").join(names::file_name(workflow))
}

/// cargo flow's folder in a project's target dir.
pub(crate) fn state_dir(project: &Project) -> PathBuf {
    project.target_dir.join("flow")
}

/// The folder that holds a workflow's artifacts, one subfolder per step.
fn artifacts_root(dir: &Path, workflow: &str) -> PathBuf {
    dir.join("artifacts").join(names::file_name(workflow))
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Its id.
    pub(crate) id: String,
    /// For an instance of a `for_each` or `matrix` step, that step's id.
    pub(crate) declared: Option<String>,
    /// What it runs, variables substituted.
    pub(crate) command: Run,
    /// Its command as written in the workflow, for its log and `--dry-run`.
    pub(crate) written: String,
    /// Indices of the steps it waits for.
    pub(crate) deps: Vec<usize>,
    /// Indices of the steps that wait for it.
    pub(crate) dependents: Vec<usize>,
    /// The longest chain of work from this step to the end, itself included (in steps).
    pub(crate) weight: u64,
    /// How long it may run.
    pub(crate) timeout: Timeout,
    /// Environment variables its workflow and itself set (`env:`), variables substituted.
    pub(crate) env: Vec<(String, String)>,
    /// Environment variables cargo flow sets for it alone, beyond every step's `FLOW_CTX_*`:
    /// its package's facts and the artifact folders its command reads.
    pub(crate) passed: Vec<(String, String)>,
    /// The values its shell command reads, as written there (`${target}`), with the value:
    /// what its log and `--dry-run` show. The outputs it reads are in `output_refs`.
    pub(crate) shown: Vec<(String, String)>,
    /// Where it runs.
    pub(crate) cwd: PathBuf,
    /// Its description.
    pub(crate) description: Option<String>,
    /// `if:`: when it runs; `None` runs it when every dependency succeeded.
    pub(crate) condition: Option<condition::Condition>,
    /// How it is tried again after a failure.
    pub(crate) retry: Retry,
    /// The outputs of earlier steps its command reads, through environment variables.
    pub(crate) output_refs: Vec<OutputRef>,
    /// Paths or globs, relative to `cwd`, copied to its artifact folder after it succeeds.
    pub(crate) artifacts: Vec<String>,
    /// What decides whether it has to run again, when it is cached.
    pub(crate) cache: Option<CachePlan>,
    /// Where bash may evaluate a value again in its command (see [`reevaluate`]), when its
    /// shell is not known not to: the outputs it reads must then hold no `$` or backtick.
    pub(crate) reevaluates: Option<String>,
    /// Whether it gets the run's jobserver.
    pub(crate) jobserver: bool,
    /// The groups it shares with steps it never runs beside (`exclusive:`).
    pub(crate) exclusive: Vec<String>,
    /// Of `deps`, those it only comes after (`after:`): their keys do not key its cache.
    pub(crate) after: Vec<usize>,
    /// The target dirs its cargo commands lock while they build: it does not start while
    /// another step is building in one of them.
    pub(crate) builds_in: Vec<PathBuf>,
    /// The words after `--` it gets, as a shell's positional parameters (`"$@"`).
    pub(crate) args: Vec<String>,
}

impl PlannedStep {
    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The steps it waits for.
    pub fn deps(&self) -> &[usize] {
        &self.deps
    }

    /// The steps that wait for it.
    pub fn dependents(&self) -> &[usize] {
        &self.dependents
    }

    /// The longest chain of steps from it to the end, itself included: the higher, the
    /// sooner it starts among ready steps.
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// The groups whose steps never run at once with it.
    pub fn exclusive(&self) -> &[String] {
        &self.exclusive
    }

    /// Whether whether it may start depends on what else runs (`exclusive:`, a target dir
    /// another step builds in): then only the scheduler, which knows, starts it.
    pub(crate) fn waits_for_others(&self) -> bool {
        !self.exclusive.is_empty() || !self.builds_in.is_empty()
    }
}

/// A cached step's `cache:`, variables substituted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CachePlan {
    /// Paths or globs of the files it reads, relative to its working directory.
    pub inputs: Vec<String>,
    /// Paths or globs of the files it writes.
    pub outputs: Vec<String>,
    /// Names of the environment variables it depends on: those of `cache.env`, and those its
    /// command names as `${NAME}` but for [`step::MACHINE_VARIABLES`].
    pub env: Vec<String>,
    /// Every context value it receives, with its value, sorted by name.
    pub context: Vec<(String, String)>,
}

/// An output of an earlier step that a step reads: `${steps.<id>.outputs.<key>}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputRef {
    /// The index of the step that writes it.
    pub step: usize,
    /// Its key.
    pub key: String,
    /// The environment variable the reading step gets it in.
    pub env: String,
}

/// A resolved command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Run {
    /// A command line for a shell, run as `<shell> -c <line>`.
    Shell {
        /// The line, each value a reference to the environment variable that holds it.
        line: String,
        /// The shell and its options (`shell:`); `None` for `/bin/sh`.
        shell: Option<Vec<String>>,
    },
    /// A program and its arguments.
    Argv(Vec<String>),
}

impl Run {
    /// The command as one line, for listings.
    pub(crate) fn display(&self) -> String {
        match self {
            Run::Shell { line, .. } => line.clone(),
            Run::Argv(args) => shell_words::join(args),
        }
    }
}

/// What the command line adds to a workflow when planning it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanOptions {
    /// `--context name=value`, in the order given.
    pub context: Vec<(String, String)>,
    /// `--param name=value`, in the order given: over `--context`.
    pub params: Vec<(String, String)>,
    /// Whether a parameter without a default must be set (to run, not to check or list).
    pub require_params: bool,
    /// `--timeout`: the default for steps that set none, over the workflow's.
    pub timeout: Option<Timeout>,
    /// Only these steps and what they need; empty means all.
    pub select: Vec<String>,
    /// `--retries`: the retries of steps that set none, over the workflow's.
    pub retries: Option<u32>,
    /// `--affected`: the packages per-package steps run for; `None` runs them for all.
    pub affected: Option<crate::load::affected::Affected>,
    /// The words after `--`, for the steps named in `select` (every step when it is empty).
    pub args: Vec<String>,
}

/// The variables a workflow sees: `--context`, its `context:` defaults, the workspace facts.
pub(crate) fn variables(wf: &Workflow, project: &Project, options: &PlanOptions) -> Vars {
    let mut vars = Vars::default();
    // The last value given wins, `--param` over `-c`.
    for (k, v) in options
        .params
        .iter()
        .rev()
        .chain(options.context.iter().rev())
    {
        vars.insert_default(k, ContextValue::One(v.clone()));
    }
    for entry in &wf.context {
        vars.insert_default(&entry.name.value, entry.value.value.clone());
    }
    // A parameter nothing sets is reported as such when running, and is empty meanwhile,
    // so that `check`, `list` and `graph` need no value and its uses are not undefined.
    for p in &wf.params {
        let default = p
            .default
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_default();
        vars.insert_default(&p.name.value, ContextValue::One(default));
    }
    vars.insert_default("workflow", ContextValue::One(wf.name.clone()));
    // The steps named get the words after `--` of their own (see `step.rs`).
    let args = match options.select.is_empty() {
        true => options.args.clone(),
        false => Vec::new(),
    };
    vars.insert_default("args", ContextValue::Many(args));
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
pub(crate) fn needs_workspace(wf: &Workflow, options: &PlanOptions) -> bool {
    let packages_read = |s: &Step| {
        s.cache
            .as_ref()
            .is_some_and(|c| !c.value.packages.is_empty())
    };
    if wf
        .steps
        .iter()
        .any(|s| s.for_each.is_some() || packages_read(s))
    {
        return true;
    }
    let defined = |name: &str| {
        options.context.iter().any(|(k, _)| k == name)
            || wf.context.iter().any(|c| c.name.value == name)
    };
    let refers = |text: &str| {
        text.contains("${")
            && vars::split(text).is_ok_and(|pieces| {
                pieces.iter().any(|p| matches!(p, vars::Piece::Ref(r) | vars::Piece::Param(r) if WORKSPACE_FACTS.contains(&r.name.as_str()) && !defined(&r.name)))
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
    /// The declared step.
    step: usize,
    /// Its package, for an instance of a `for_each` step.
    package: Option<&'a Package>,
    /// Its combination, for an instance of a `matrix` step.
    combo: Option<&'a Combination>,
    /// Whether it is the first instance of its declared step, which reports the problems
    /// all its instances share.
    first: bool,
}

/// Two packages whose names differ only in case, whose instances of a step would share one
/// log file where file names ignore case.
fn case_twins<'p>(packages: &[&'p Package]) -> Option<(&'p str, &'p str)> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for p in packages {
        if let Some(first) = seen.insert(p.name.to_ascii_lowercase(), &p.name) {
            return Some((first, &p.name));
        }
    }
    None
}

fn case_twins_problem(wf: &Workflow, step: &crate::load::model::Step, a: &str, b: &str) -> Problem {
    Problem::at(
        "flow::duplicate-id",
        format!(
            "packages `{a}` and `{b}` differ only in case: step `{id}:{a}` and `{id}:{b}` would share one log file where file names ignore case (macOS, Windows)",
            id = step.id.value
        ),
        &wf.origin.source,
        step.id.span,
        "one instance per package",
    )
    .with_help("rename one of the packages, or leave one out: `for_each: {package: [...]}`")
}

/// The declared steps as a graph: ids to indices, and each step's dependencies.
struct Declared<'a> {
    index: HashMap<&'a str, usize>,
    deps: Vec<Vec<usize>>,
    /// Of each step's `deps`, those it only comes after (`after:` and not `depends_on`).
    after: Vec<Vec<usize>>,
}

/// What every pass reads: the workflow and what it is planned with.
struct Planner<'a> {
    wf: &'a Workflow,
    project: &'a Project,
    options: &'a PlanOptions,
    vars: Vars,
    /// cargo flow's folder in the target dir.
    dir: PathBuf,
    /// The folder of the workflow's artifacts.
    artifacts: PathBuf,
    /// The timeout of steps that set none.
    default_timeout: Timeout,
    /// Every context value, by the environment variable it reaches steps in.
    context_env: HashMap<String, String>,
    /// The variables of the workflow's `env_file:`, read once.
    env_files: std::cell::OnceCell<Vec<(String, String)>>,
}

/// Validates a workflow and builds its plan, reporting every problem found.
pub(crate) fn plan(
    wf: &Workflow,
    project: &Project,
    options: &PlanOptions,
) -> Result<Plan, Problems> {
    let planner = Planner::new(wf, project, options);
    let mut problems = Problems::new();
    planner.check_name(&mut problems);
    planner.check_variables(&mut problems);
    planner.check_params(&mut problems);
    let declared = planner.declared(&mut problems);
    if let Err(cycles) = graph::topo_order(&declared.deps) {
        for cycle in cycles {
            problems.push(cycle_problem(wf, &cycle));
        }
    }
    let (instances, ranges) = planner.instances(&mut problems);
    let inst_deps = instance_deps(wf, &declared, &instances, &ranges);
    let steps = planner.steps(&instances, &ranges, &declared, &mut problems);
    let selected = planner.selection(&declared, &ranges, &steps, &inst_deps, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let (keep, named) = match selected {
        Some((keep, roots)) => (
            Some(keep),
            roots.iter().map(|&k| steps[k].id.clone()).collect(),
        ),
        None => (None, Vec::new()),
    };
    // Instances inherit the declared graph's order, so this cannot find a cycle.
    let order = graph::topo_order(&inst_deps).unwrap_or_default();
    let mut plan = assemble(
        &wf.name,
        steps,
        inst_deps,
        order,
        keep.as_deref(),
        planner.vars.env(),
    );
    plan.dir = planner.dir;
    plan.root = project.root.clone();
    plan.remote_cache = wf.remote_cache.as_ref().map(|u| u.value.clone());
    plan.named = named;
    Ok(plan)
}

impl<'a> Planner<'a> {
    fn new(wf: &'a Workflow, project: &'a Project, options: &'a PlanOptions) -> Self {
        let dir = state_dir(project);
        let default_timeout = wf
            .timeout
            .as_ref()
            .map(|t| t.value)
            .into_iter()
            .chain(options.timeout)
            .last()
            .unwrap_or(Timeout::DEFAULT);
        let vars = variables(wf, project, options);
        Self {
            wf,
            project,
            options,
            context_env: vars.env().into_iter().collect(),
            vars,
            artifacts: artifacts_root(&dir, &wf.name),
            dir,
            default_timeout,
            env_files: std::cell::OnceCell::new(),
        }
    }

    /// The workflow's name must fit in a file name: it names its folders.
    fn check_name(&self, problems: &mut Problems) {
        let file = names::file_name(&self.wf.name);
        if file.len() > names::MAX_FILE_NAME {
            problems.push(
                Problem::at(
                    "flow::invalid-name",
                    format!(
                        "the workflow's name is too long to name its folders ({} bytes; at most {})",
                        file.len(),
                        names::MAX_FILE_NAME
                    ),
                    &self.wf.origin.source,
                    self.wf.origin.span,
                    "this name",
                )
                .with_help("give it a shorter name"),
            );
        }
    }

    /// Every context value travels to steps in an environment variable, which `exec` can
    /// carry only up to a size.
    fn check_variables(&self, problems: &mut Problems) {
        for (name, value) in self.vars.sorted() {
            let bytes = names::context_var(name).len() + vars::plain_text_of(value).len() + 2;
            if bytes <= step::MAX_VALUE_BYTES {
                continue;
            }
            let message = format!(
                "the value of `{name}` is {bytes} bytes, more than the {} KiB an environment variable can carry",
                step::MAX_VALUE_BYTES / 1024
            );
            let entry = self.wf.context.iter().find(|c| c.name.value == name);
            let problem = match entry {
                Some(c) => Problem::at(
                    "flow::bad-value",
                    message,
                    &self.wf.origin.source,
                    c.value.span,
                    "too long",
                ),
                None => Problem::new("flow::bad-value", message),
            };
            problems
                .push(problem.with_help("pass large data in a file, and its path as the value"));
        }
        self.check_total(problems);
    }

    /// Every step starts with cargo flow's environment and every context value in it, which
    /// `exec` carries only up to a total (`ARG_MAX`, 2 MiB on Linux, arguments included).
    fn check_total(&self, problems: &mut Problems) {
        /// What is left for a step's own variables, its outputs and its arguments.
        const BUDGET: usize = 1024 * 1024;
        let inherited: usize = std::env::vars_os()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        let mut context: Vec<(String, usize)> = self
            .vars
            .sorted()
            .into_iter()
            .map(|(k, v)| (k.to_string(), k.len() + vars::plain_text_of(v).len() + 12))
            .collect();
        let total = inherited + context.iter().map(|(_, n)| n).sum::<usize>();
        if total <= BUDGET {
            return;
        }
        context.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let largest: Vec<String> = context
            .iter()
            .take(3)
            .map(|(k, n)| format!("`{k}` ({} KiB)", n / 1024))
            .collect();
        problems.push(
            Problem::new(
                "flow::bad-value",
                format!(
                    "the environment every step starts with comes to {} KiB ({} KiB of it cargo flow's own), more than the {} KiB a step can be started with",
                    total / 1024,
                    inherited / 1024,
                    BUDGET / 1024
                ),
            )
            .with_help(format!(
                "the largest context values are {}; pass large data in files",
                largest.join(", ")
            )),
        );
    }

    /// Ids (unique, even where file names ignore case) and dependencies (known, not the step
    /// itself, each once), by index in declaration order.
    fn declared(&self, problems: &mut Problems) -> Declared<'a> {
        let wf = self.wf;
        let source = &wf.origin.source;
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(wf.steps.len());
        let mut folded: HashMap<String, usize> = HashMap::with_capacity(wf.steps.len());
        for (i, step) in wf.steps.iter().enumerate() {
            let id = &step.id;
            if let Some(&first) = index.get(id.value.as_str()) {
                problems.push(
                    Problem::at(
                        "flow::duplicate-id",
                        format!("step id `{}` is used twice", id.value),
                        source,
                        id.span,
                        "used again here",
                    )
                    .with_label(wf.steps[first].id.span, "first used here")
                    .with_help("give every step a unique id"),
                );
                continue;
            }
            if let Some(&first) = folded.get(&id.value.to_ascii_lowercase()) {
                problems.push(
                    Problem::at(
                        "flow::duplicate-id",
                        format!(
                            "step ids `{}` and `{}` differ only in case, and would share one log file where file names ignore case (macOS, Windows)",
                            wf.steps[first].id.value, id.value
                        ),
                        source,
                        id.span,
                        "this one",
                    )
                    .with_label(wf.steps[first].id.span, "and this one")
                    .with_help("give them ids that differ in more than case"),
                );
            }
            index.insert(&id.value, i);
            folded.insert(id.value.to_ascii_lowercase(), i);
        }
        let (deps, after) = wf
            .steps
            .iter()
            .map(|step| {
                let deps = self.dependencies(step, &step.depends_on, &index, problems);
                let after: Vec<usize> = self
                    .dependencies(step, &step.after, &index, problems)
                    .into_iter()
                    .filter(|d| !deps.contains(d))
                    .collect();
                (deps.iter().chain(&after).copied().collect(), after)
            })
            .unzip();
        Declared { index, deps, after }
    }

    /// The steps `names` (a step's `depends_on` or `after`) name.
    fn dependencies(
        &self,
        step: &crate::load::model::Step,
        names: &[crate::source::Spanned<String>],
        index: &HashMap<&str, usize>,
        problems: &mut Problems,
    ) -> Vec<usize> {
        let source = &self.wf.origin.source;
        let mut ds = Vec::with_capacity(names.len());
        for dep in names {
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
                        self.wf.steps.iter().map(|s| s.id.value.as_str()),
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
                    .with_help("remove it from its own `depends_on` or `after`"),
                ),
                Some(&d) if !ds.contains(&d) => ds.push(d),
                Some(_) => {}
            }
        }
        ds
    }

    /// The steps as they run: a `for_each` step becomes one instance per package, a `matrix`
    /// step one per combination (per package, with both). Each declared step's instances are
    /// the range of indices it maps to.
    fn instances(&self, problems: &mut Problems) -> (Vec<Instance<'a>>, Vec<Range<usize>>) {
        let wf = self.wf;
        let mut instances: Vec<Instance<'a>> = Vec::with_capacity(wf.steps.len());
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(wf.steps.len());
        for (i, step) in wf.steps.iter().enumerate() {
            let start = instances.len();
            let packages = self.packages_of(step, problems);
            let combos: Vec<Option<&'a Combination>> = match &step.matrix {
                None => vec![None],
                Some(m) => m.value.iter().map(Some).collect(),
            };
            let mut ids = std::collections::HashMap::new();
            for &package in &packages {
                for &combo in &combos {
                    let inst = Instance {
                        step: i,
                        package,
                        combo,
                        first: instances.len() == start,
                    };
                    let id = step::instance_id(step, &inst);
                    // Ids that differ only in case share a file where names ignore case.
                    if let Some(before) = ids.insert(id.to_lowercase(), combo) {
                        problems.push(matrix_twins_problem(wf, step, &id, before, combo));
                    }
                    instances.push(inst);
                }
            }
            ranges.push(start..instances.len());
        }
        (instances, ranges)
    }

    /// The packages a step runs for: `[None]` for a step that is not per package, else those
    /// its `for_each` names that `--affected` keeps.
    fn packages_of(&self, step: &'a Step, problems: &mut Problems) -> Vec<Option<&'a Package>> {
        let wf = self.wf;
        let Some(filter) = &step.for_each else {
            return vec![None];
        };
        let packages = expand::packages(
            &wf.origin.source,
            step,
            filter,
            self.project.workspace.as_ref(),
            problems,
        );
        if let Some((a, b)) = case_twins(&packages) {
            problems.push(case_twins_problem(wf, step, a, b));
        }
        let affected = |p: &&Package| {
            self.options
                .affected
                .as_ref()
                .is_none_or(|a| a.contains(&p.name))
        };
        packages.into_iter().filter(affected).map(Some).collect()
    }

    /// The steps named on the command line (a per-package step names all its instances) and
    /// what they need, as a mask, with the named ones; `None` when all run.
    fn selection(
        &self,
        declared: &Declared<'_>,
        ranges: &[Range<usize>],
        steps: &[PlannedStep],
        inst_deps: &[Vec<usize>],
        problems: &mut Problems,
    ) -> Option<(Vec<bool>, Vec<usize>)> {
        if self.options.select.is_empty() || steps.is_empty() {
            return None;
        }
        let mut roots = Vec::new();
        for name in &self.options.select {
            if let Some(&i) = declared.index.get(name.as_str()) {
                roots.extend(ranges[i].clone());
            } else if let Some(k) = steps.iter().position(|s| s.id == *name) {
                roots.push(k);
            } else if let Some(package) = self.left_out_by_affected(name) {
                problems.push(
                    Problem::new(
                        "flow::unknown-step",
                        format!("`{name}` does not run: `--affected` left out `{package}`, which the change does not touch"),
                    )
                    .with_help("run it without `--affected`, or name a package the change touches"),
                );
            } else {
                problems.push(
                    Problem::new(
                        "flow::unknown-step",
                        format!("workflow `{}` has no step `{name}`", self.wf.name),
                    )
                    .with_help(
                        did_you_mean(name, steps.iter().map(|s| s.id.as_str())).unwrap_or_else(
                            || format!("run `cargo flow list {}` to see its steps", self.wf.name),
                        ),
                    ),
                );
            }
        }
        Some((graph::ancestors(inst_deps, &roots), roots))
    }
}

impl Planner<'_> {
    /// The package of `name` (`<step>:<package>...`) when it names an instance of a per-package
    /// step that `--affected` left out.
    fn left_out_by_affected(&self, name: &str) -> Option<String> {
        let affected = self.options.affected.as_ref()?;
        let ws = self.project.workspace.as_ref()?;
        let (step, rest) = name.split_once(':')?;
        let package = rest.split(':').next()?;
        let per_package = self
            .wf
            .steps
            .iter()
            .any(|s| s.id.value == step && s.for_each.is_some());
        let member = ws.packages.iter().any(|p| p.name == package);
        (per_package && member && !affected.contains(package)).then(|| package.to_string())
    }
}

/// Whether an instance of a matrix step waits for an instance of another: instances pair
/// when they agree on every key they share (two matrix steps over the same keys pair up
/// combination by combination; over no common key, one waits for all of the other).
fn paired(a: Option<&Combination>, b: Option<&Combination>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a
            .iter()
            .all(|(k, v)| b.iter().all(|(l, w)| k != l || v == w)),
        _ => true,
    }
}

/// Two combinations of a step's matrix whose instances would share one id.
fn matrix_twins_problem(
    wf: &Workflow,
    step: &Step,
    id: &str,
    a: Option<&Combination>,
    b: Option<&Combination>,
) -> Problem {
    let shown = |c: Option<&Combination>| {
        c.map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    let span = step.matrix.as_ref().map_or(step.id.span, |m| m.span);
    Problem::at(
        "flow::duplicate-id",
        format!(
            "the combinations {{{}}} and {{{}}} of step `{}` both give the id `{id}`",
            shown(a),
            shown(b),
            step.id.value
        ),
        &wf.origin.source,
        span,
        "this matrix",
    )
    .with_help(
        "an instance's id joins its values with `-`: make the values tell the combinations apart",
    )
}

/// A step that depends on a per-package step waits for all of its instances; two
/// per-package steps pair up package by package, and matrix steps over the same keys
/// combination by combination.
fn instance_deps(
    wf: &Workflow,
    declared: &Declared<'_>,
    instances: &[Instance<'_>],
    ranges: &[Range<usize>],
) -> Vec<Vec<usize>> {
    instances
        .iter()
        .map(|inst| {
            let mut ds = Vec::new();
            for &d in &declared.deps[inst.step] {
                let per_package = wf.steps[d].for_each.is_some();
                ds.extend(ranges[d].clone().filter(|&m| {
                    let other = &instances[m];
                    let package = match (inst.package, per_package) {
                        (Some(p), true) => other.package.is_some_and(|q| q.name == p.name),
                        _ => true,
                    };
                    package && paired(inst.combo, other.combo)
                }));
            }
            ds
        })
        .collect()
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
        Some(keep) => select(steps, &deps, &order, keep),
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
        root: PathBuf::new(),
        remote_cache: None,
        named: Vec::new(),
    }
}

/// The kept steps, their dependencies and order, renumbered.
fn select(
    steps: Vec<PlannedStep>,
    deps: &[Vec<usize>],
    order: &[usize],
    keep: &[bool],
) -> (Vec<PlannedStep>, Vec<Vec<usize>>, Vec<usize>) {
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
        s.after = s.after.iter().map(|&d| new_index[d]).collect();
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
