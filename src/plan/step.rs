//! One planned step: its command, environment, working directory, condition, retries,
//! artifacts and cache, with variables substituted, and the values it receives checked.

use std::borrow::Cow;
use std::ops::Range;

use super::substitute::{self, At, Found, OutputScope, Quote};
use super::vars::{self, Vars};
use super::{
    CachePlan, Declared, Instance, OutputRef, PlannedStep, Planner, Run, condition, graph, names,
    reevaluate,
};
use crate::diagnostic::{Problem, Problems};
use crate::load::model::{Command, ContextValue, EnvVar, Retry, Step, Workflow};
use crate::source::{Span, Spanned};

/// The most an environment variable may hold, its name and `=` included: what Linux lets
/// `exec` carry in one string (`MAX_ARG_STRLEN`).
pub(crate) const MAX_VALUE_BYTES: usize = 128 * 1024;

/// Variables of cargo flow's environment that differ from machine to machine without changing
/// what a step does: a command that names one as `${NAME}` is not run again when it changes,
/// so that cache keys stay the same across machines.
pub(crate) const MACHINE_VARIABLES: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "PATH",
    "PWD",
    "OLDPWD",
    "SHELL",
    "TERM",
    "TMPDIR",
    "TMP",
    "TEMP",
    "HOSTNAME",
    "CARGO",
    "CARGO_HOME",
    "RUSTUP_HOME",
];

/// Environment variables, as names and values.
type Pairs = [(String, String)];

/// A value that bash could run, in a step that has a place where bash would: reported once
/// per value, at the first step.
struct Unsafe {
    /// The value, as named for people: `context variable `x``.
    what: String,
    step: String,
    span: Span,
    construct: String,
}

/// What substituting one step's texts reads from.
struct Ctx<'v> {
    source: &'v crate::source::Source,
    vars: &'v Vars,
    id: &'v str,
    scope: Option<&'v OutputScope<'v>>,
    /// The variables its environment sets, substituted (see [`At::env`]).
    env: &'v Pairs,
}

impl Ctx<'_> {
    fn at(&self, span: Span) -> At<'_> {
        At {
            source: self.source,
            step: self.id,
            span,
            scope: self.scope,
            env: self.env,
        }
    }

    /// A text where no shell reads it, substituted.
    fn plain(&self, text: &Spanned<String>, problems: &mut Problems) -> Option<String> {
        let mut found = Found::default();
        substitute::resolve(
            self.vars,
            &text.value,
            Quote::Plain,
            &self.at(text.span),
            &mut found,
            problems,
        )
    }

    /// Paths or globs, substituted.
    fn paths(&self, list: &[Spanned<String>], problems: &mut Problems) -> Vec<String> {
        list.iter()
            .filter_map(|p| self.plain(p, problems))
            .collect()
    }
}

impl Planner<'_> {
    /// Every instance as a planned step.
    pub(super) fn steps(
        &self,
        instances: &[Instance<'_>],
        ranges: &[Range<usize>],
        declared: &Declared<'_>,
        problems: &mut Problems,
    ) -> Vec<PlannedStep> {
        let mut unsafe_values = Vec::new();
        let steps: Vec<PlannedStep> = instances
            .iter()
            .map(|inst| self.step(inst, ranges, declared, &mut unsafe_values, problems))
            .collect();
        report_unsafe(self.wf, unsafe_values, problems);
        self.check_args_read(instances, &steps, problems);
        steps
    }

    /// The words after `--` that no step given them reads would be dropped without a word:
    /// a problem that says how to read them.
    fn check_args_read(
        &self,
        instances: &[Instance<'_>],
        steps: &[PlannedStep],
        problems: &mut Problems,
    ) {
        if self.options.args.is_empty() {
            return;
        }
        let read = instances.iter().zip(steps).any(|(inst, planned)| {
            !planned.args.is_empty() && reads_args(&self.wf.steps[inst.step].run.value)
        });
        if read {
            return;
        }
        let given: Vec<&str> = steps
            .iter()
            .filter(|s| !s.args.is_empty())
            .map(|s| s.id.as_str())
            .collect();
        problems.push(
            Problem::new(
                "flow::unread-args",
                format!(
                    "the words after `--` go to {}, whose commands do not read them",
                    match given.as_slice() {
                        [one] => format!("step `{one}`"),
                        _ => format!("{} steps", given.len()),
                    }
                ),
            )
            .with_help(
                "a shell `run` reads them as `\"$@\"` (e.g. `run: cargo test -- \"$@\"`), the list form as `\"${args}\"`; name the step to give them to after the workflow",
            ),
        );
    }

    fn step(
        &self,
        inst: &Instance<'_>,
        ranges: &[Range<usize>],
        declared: &Declared<'_>,
        unsafe_values: &mut Vec<Unsafe>,
        problems: &mut Problems,
    ) -> PlannedStep {
        let step = &self.wf.steps[inst.step];
        let id = instance_id(step, inst);
        self.check_file_name(step, &id, problems);
        let args = self.args_of(step, &id);
        let (vars, mut passed) = self.instance_vars(inst, &args);
        // Built only for a step that refers to earlier ones: finding its ancestors costs a
        // walk of the graph.
        let scope = step_texts(step)
            .any(|t| t.contains("${steps."))
            .then(|| OutputScope {
                artifacts: &self.artifacts,
                ids: &declared.index,
                steps: &self.wf.steps,
                ancestors: graph::ancestors(&declared.deps, &declared.deps[inst.step]),
            });
        let files = self.step_env_files(step, inst, problems);
        let base = Ctx {
            source: &self.wf.origin.source,
            vars: &vars,
            id: &id,
            scope: scope.as_ref(),
            env: &[],
        };
        let env = self.env(step, &base, &files, problems);
        let ctx = Ctx { env: &env, ..base };
        let mut found = Found::default();
        let command = self.command(step, &ctx, &mut found, problems);
        let output_refs = self.output_refs(&found, ranges);
        passed.extend(found.artifacts.iter().cloned());
        let reevaluates = command.as_ref().and_then(reevaluates);
        if let Some(construct) = &reevaluates {
            let own = (env.as_slice(), passed.as_slice());
            self.unsafe_values(step, &id, construct, &vars, own, inst, unsafe_values);
        }
        let cache = self.cache(step, &ctx, &found, problems);
        PlannedStep {
            declared: (id != step.id.value).then(|| step.id.value.clone()),
            id: id.clone(),
            command: command.unwrap_or(Run::Argv(Vec::new())),
            written: written(&step.run.value),
            deps: Vec::new(),
            dependents: Vec::new(),
            weight: 0,
            timeout: step
                .timeout
                .as_ref()
                .map_or(self.default_timeout, |t| t.value),
            builds_in: self.builds_in(step, &ctx, &env),
            after: declared.after[inst.step]
                .iter()
                .flat_map(|&d| ranges[d].clone())
                .collect(),
            args,
            env: env.clone(),
            passed,
            shown: found.shown,
            cwd: self.cwd(step, &ctx, problems),
            description: step.description.clone(),
            condition: self.condition(step, inst, &ctx, problems),
            retry: self.retry(step),
            output_refs,
            artifacts: ctx.paths(&step.artifacts, problems),
            cache,
            reevaluates,
            jobserver: step.jobserver,
            exclusive: step.exclusive.iter().map(|g| g.value.clone()).collect(),
        }
    }

    /// The words after `--` that an instance gets: all of them when it is named on the
    /// command line (its step or itself), or when nothing is.
    fn args_of(&self, step: &Step, id: &str) -> Vec<String> {
        let select = &self.options.select;
        let named = select.is_empty() || select.iter().any(|n| *n == step.id.value || n == id);
        match named {
            true => self.options.args.clone(),
            false => Vec::new(),
        }
    }

    /// Its `cache:`, variables substituted, with what `{package: NAME}` inputs stand for.
    fn cache(
        &self,
        step: &Step,
        ctx: &Ctx<'_>,
        found: &Found,
        problems: &mut Problems,
    ) -> Option<CachePlan> {
        let c = step.cache.as_ref()?;
        let mut plan = CachePlan {
            inputs: ctx.paths(&c.value.inputs, problems),
            outputs: ctx.paths(&c.value.outputs, problems),
            env: cache_env(&c.value.env, &found.environment),
            context: used_variables(ctx.vars),
        };
        let cwd = self.cwd(step, ctx, problems);
        for name in &c.value.packages {
            self.package_input(name, ctx, &cwd, &mut plan, problems);
        }
        plan.context.sort();
        Some(plan)
    }

    /// The target dirs whose lock its cargo commands take while they build.
    fn builds_in(&self, step: &Step, ctx: &Ctx<'_>, env: &Pairs) -> Vec<std::path::PathBuf> {
        let words = match &step.run.value {
            Command::Shell(text) => super::cargo::shell_words(text),
            Command::Argv(args) => args.iter().map(|a| a.value.clone()).collect(),
        };
        let builds = super::cargo::builds(words.iter().map(String::as_str));
        if builds.is_empty() {
            return Vec::new();
        }
        // Problems in these texts were reported with the command's; a value that cannot be
        // resolved is taken as written.
        let resolve = |text: &str| {
            let mut scratch = Problems::default();
            let at = ctx.at(step.run.span);
            substitute::resolve(
                ctx.vars,
                text,
                Quote::Plain,
                &at,
                &mut Found::default(),
                &mut scratch,
            )
            .unwrap_or_else(|| text.to_string())
        };
        let cwd = self.cwd(step, ctx, &mut Problems::default());
        super::cargo::target_dirs(&builds, env, &cwd, self.project, resolve)
    }

    /// Adds to a cache what `{package: NAME}` stands for: the folders of the member and of
    /// the members it depends on by path (and of its path dependencies outside the
    /// workspace), the workspace's manifest, and its dependencies' entries in Cargo.lock.
    fn package_input(
        &self,
        name: &Spanned<String>,
        ctx: &Ctx<'_>,
        cwd: &std::path::Path,
        plan: &mut CachePlan,
        problems: &mut Problems,
    ) {
        let Some(ws) = self.project.workspace.as_ref() else {
            problems.push(
                Problem::at(
                    "flow::bad-package",
                    "a `{package: NAME}` input names a member of a cargo workspace, and this is none",
                    &self.wf.origin.source,
                    name.span,
                    "not in a workspace",
                )
                .with_help("name the files it reads as paths or globs instead"),
            );
            return;
        };
        let Some(wanted) = ctx.plain(name, problems) else {
            return;
        };
        let Some(start) = ws.packages.iter().position(|p| p.name == wanted) else {
            let names = ws.packages.iter().map(|p| p.name.as_str());
            problems.push(
                Problem::at(
                    "flow::bad-package",
                    format!("`{wanted}` is not a member of the workspace"),
                    &self.wf.origin.source,
                    name.span,
                    "no such member",
                )
                .with_help_opt(crate::suggest::did_you_mean(&wanted, names)),
            );
            return;
        };
        let closure = package_closure(ws, start);
        // A folder's name is matched as it is, whatever glob characters it holds.
        let escaped = |p: &std::path::Path| globset::escape(&p.display().to_string());
        let pattern = |dir: &std::path::Path| match dir.strip_prefix(cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => "**".to_string(),
            Ok(rel) => format!("{}/**", escaped(rel)),
            Err(_) => format!("{}/**", escaped(dir)),
        };
        for &i in &closure {
            let p = &ws.packages[i];
            plan.inputs.push(pattern(&p.dir));
            plan.inputs.extend(p.path_dirs.iter().map(|d| pattern(d)));
        }
        let manifest = &ws.manifest_path;
        plan.inputs.push(match manifest.strip_prefix(cwd) {
            Ok(rel) => escaped(rel),
            Err(_) => escaped(manifest),
        });
        plan.inputs.dedup();
        let names: Vec<&str> = closure
            .iter()
            .map(|&i| ws.packages[i].name.as_str())
            .collect();
        let lock = lock_digest(&ws.root.join("Cargo.lock"), &names);
        plan.context
            .push((format!("Cargo.lock entries of {wanted}"), lock));
    }

    /// Where a step runs: its `cwd`, variables substituted, under the workflow's folder.
    fn cwd(&self, step: &Step, ctx: &Ctx<'_>, problems: &mut Problems) -> std::path::PathBuf {
        let base = &self.wf.origin.base_dir;
        match &step.cwd {
            Some(c) => base.join(ctx.plain(c, problems).unwrap_or_default()),
            None => base.clone(),
        }
    }

    /// The outputs a step's command reads, each from the one instance of its step.
    fn output_refs(&self, found: &Found, ranges: &[Range<usize>]) -> Vec<OutputRef> {
        found
            .outputs
            .iter()
            .map(|(d, key)| OutputRef {
                step: ranges[*d].start,
                key: key.clone(),
                env: names::output_var(&self.wf.steps[*d].id.value, key),
            })
            .collect()
    }

    /// A step's variables: the workflow's, and for a package's instance its facts, which it
    /// also receives as environment variables.
    fn instance_vars(
        &self,
        inst: &Instance<'_>,
        args: &[String],
    ) -> (Cow<'_, Vars>, Vec<(String, String)>) {
        // Every step has `${args}`; those the words after `--` go to get them (the run's
        // variables hold them when every step does).
        let own_args = !args.is_empty() && !self.options.select.is_empty();
        if inst.package.is_none() && inst.combo.is_none() && !own_args {
            return (Cow::Borrowed(&self.vars), Vec::new());
        }
        let mut facts: Vec<(String, String)> = Vec::new();
        if let Some(p) = inst.package {
            facts.extend([
                ("package".into(), p.name.clone()),
                ("package_dir".into(), p.dir.display().to_string()),
                ("package_version".into(), p.version.clone()),
                (
                    "package_manifest".into(),
                    p.manifest_path.display().to_string(),
                ),
            ]);
        }
        for (k, v) in inst.combo.into_iter().flatten() {
            facts.push((format!("matrix.{k}"), v.clone()));
        }
        let mut passed: Vec<(String, String)> = facts
            .iter()
            .map(|(k, v)| (names::context_var(k), v.clone()))
            .collect();
        let mut vars = self.vars.clone();
        for (k, v) in facts {
            vars.insert(&k, ContextValue::One(v));
        }
        if own_args {
            passed.push((names::context_var("args"), args.join(" ")));
            vars.insert("args", ContextValue::Many(args.to_vec()));
        }
        (Cow::Owned(vars), passed)
    }

    /// An id names files: it must fit in a file name.
    fn check_file_name(&self, step: &Step, id: &str, problems: &mut Problems) {
        let file = names::file_name(id);
        if file.len() <= names::MAX_FILE_NAME {
            return;
        }
        problems.push(
            Problem::at(
                "flow::invalid-id",
                format!(
                    "step id `{}` is too long to name its log file ({} bytes; at most {})",
                    shortened(id),
                    file.len(),
                    names::MAX_FILE_NAME
                ),
                &self.wf.origin.source,
                step.id.span,
                "too long",
            )
            .with_help("give the step a shorter id"),
        );
    }

    /// Its command: a shell line whose values are references to environment variables, or
    /// the list form with values written in.
    fn command(
        &self,
        step: &Step,
        ctx: &Ctx<'_>,
        found: &mut Found,
        problems: &mut Problems,
    ) -> Option<Run> {
        let at = ctx.at(step.run.span);
        match &step.run.value {
            Command::Shell(text) => {
                let line = substitute::resolve(ctx.vars, text, Quote::Shell, &at, found, problems)?;
                let shell = step
                    .shell
                    .as_ref()
                    .or(self.wf.shell.as_ref())
                    .map(|s| s.value.clone());
                Some(Run::Shell { line, shell })
            }
            Command::Argv(args) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    out.extend(substitute::resolve_arg(
                        ctx.vars,
                        &a.value,
                        &ctx.at(a.span),
                        found,
                        problems,
                    ));
                }
                if !out.is_empty() {
                    return Some(Run::Argv(out));
                }
                // Only an empty list variable can get here; the list itself is checked.
                problems.push(
                    Problem::at(
                        "flow::empty-run",
                        format!(
                            "step `{}`: `run` is empty once its variables are substituted",
                            ctx.id
                        ),
                        ctx.source,
                        step.run.span,
                        "no program left to run",
                    )
                    .with_help(
                        "the first argument names the program; it cannot come from an empty list",
                    ),
                );
                None
            }
        }
    }

    /// Its environment: the layers in order of precedence, lowest first, each value
    /// substituted where it is set, so a `${NAME}` in one reads what is set before it (a lower
    /// layer, or earlier in the same list), else cargo flow's own environment: `PATH:
    /// '${PATH}:/opt'` extends the `PATH` the step would otherwise get.
    fn env(
        &self,
        step: &Step,
        ctx: &Ctx<'_>,
        files: &Pairs,
        problems: &mut Problems,
    ) -> Vec<(String, String)> {
        fn set(env: &mut Vec<(String, String)>, k: &str, v: String) {
            env.retain(|(n, _)| n != k);
            env.push((k.to_string(), v));
        }
        let mut env: Vec<(String, String)> = Vec::new();
        let mut written = |env: &mut Vec<(String, String)>, list: &[EnvVar]| {
            for var in list {
                let so_far = env.clone();
                let here = Ctx {
                    env: &so_far,
                    ..*ctx
                };
                let value = here.plain(&var.value, problems).unwrap_or_default();
                set(env, &var.name.value, value);
            }
        };
        for (k, v) in self.env_files.get().map_or(&[][..], Vec::as_slice) {
            set(&mut env, k, v.clone());
        }
        written(&mut env, &self.wf.env);
        for (k, v) in files {
            set(&mut env, k, v.clone());
        }
        written(&mut env, &step.env);
        env
    }

    /// The variables of a step's own `env_file:`, having read the workflow's once; the
    /// problems of a file are told by the first instance of its step only.
    fn step_env_files(
        &self,
        step: &Step,
        inst: &Instance<'_>,
        problems: &mut Problems,
    ) -> Vec<(String, String)> {
        let (base, source) = (&self.wf.origin.base_dir, &self.wf.origin.source);
        if self.env_files.get().is_none() {
            let read = super::env_file::read(&self.wf.env_files, base, source, problems);
            let _ = self.env_files.set(read);
        }
        if step.env_files.is_empty() {
            return Vec::new();
        }
        let mut scratch = Problems::default();
        let told = if inst.first { problems } else { &mut scratch };
        super::env_file::read(&step.env_files, base, source, told)
    }

    /// Its `if:`, parsed; a problem in it is reported by the first instance of its step only.
    fn condition(
        &self,
        step: &Step,
        inst: &Instance<'_>,
        ctx: &Ctx<'_>,
        problems: &mut Problems,
    ) -> Option<condition::Condition> {
        let c = step.condition.as_ref()?;
        let e = match condition::parse(&c.value, ctx.vars) {
            Ok(cond) => return Some(cond),
            Err(e) => e,
        };
        // A matrix's instances see different keys (an `include` adds some): each reports.
        if inst.first || inst.combo.is_some() {
            // An error at the very end points at the last character.
            let start = e.start.min(c.value.len());
            let (start, len) = match e.len.min(c.value.len() - start) {
                0 if start > 0 => (start - 1, 1),
                len => (start, len),
            };
            let span = substitute::sub_span(&ctx.at(c.span), &c.value, start, len);
            problems.push(
                Problem::at(
                    "flow::bad-condition",
                    format!("step `{}`: {}", step.id.value, e.message),
                    ctx.source,
                    span,
                    "here",
                )
                .with_help_opt(e.help),
            );
        }
        None
    }

    /// Its retries: its own, else `--retries`, else the workflow's.
    fn retry(&self, step: &Step) -> Retry {
        match (&step.retry, self.options.retries, &self.wf.retry) {
            (Some(r), _, _) => r.value,
            (None, Some(n), _) => Retry {
                retries: n,
                ..Retry::NONE
            },
            (None, None, Some(r)) => r.value,
            (None, None, None) => Retry::NONE,
        }
    }

    /// Records the values bash could run in a step that has a place where it would: every
    /// context value reaches every step (as `FLOW_CTX_*`), and its own values reach it.
    #[allow(clippy::too_many_arguments)]
    fn unsafe_values(
        &self,
        step: &Step,
        id: &str,
        construct: &str,
        vars: &Vars,
        (env, passed): (&Pairs, &Pairs),
        inst: &Instance<'_>,
        out: &mut Vec<Unsafe>,
    ) {
        let text = match &step.run.value {
            Command::Shell(t) => t.as_str(),
            Command::Argv(_) => return,
        };
        let span = text.find(construct).map_or(step.run.span, |at| {
            let at_run = At {
                source: &self.wf.origin.source,
                step: id,
                span: step.run.span,
                scope: None,
                env: &[],
            };
            substitute::sub_span(&at_run, text, at, construct.len())
        });
        // What the step's environment holds: cargo flow's own, every context value, its own.
        let lookup = |name: &str| {
            let own = env.iter().chain(passed).find(|(k, _)| k == name);
            own.map(|(_, v)| v.clone())
                .or_else(|| self.context_env.get(name).cloned())
                .or_else(|| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
        };
        let mut risky: Vec<String> = vars
            .sorted()
            .into_iter()
            .filter(|(_, v)| reevaluate::runs_something(&vars::plain_text_of(v), &lookup))
            .map(|(name, _)| format!("context variable `{name}`"))
            .collect();
        // An env file's value is a value like any other; one of `env:` may hold one.
        risky.extend(
            env.iter()
                .filter(|(_, v)| reevaluate::runs_something(v, &lookup))
                .map(|(k, _)| format!("environment variable `{k}`")),
        );
        risky.extend(
            passed
                .iter()
                .filter(|(_, v)| {
                    reevaluate::runs_something(v, &lookup)
                        && (inst.package.is_some() || inst.combo.is_some())
                })
                .map(|(k, _)| format!("`${k}`")),
        );
        for what in risky {
            out.push(Unsafe {
                what,
                step: id.to_string(),
                span,
                construct: construct.to_string(),
            });
        }
    }
}

/// A long name cut to a length a message can hold.
fn shortened(name: &str) -> String {
    match name.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// Where bash may evaluate a value again in a shell command, unless its shell is known not
/// to (see [`reevaluate`]).
fn reevaluates(command: &Run) -> Option<String> {
    match command {
        Run::Shell { line, shell } => reevaluate::place(reevaluate::shell(shell.as_deref()), line),
        Run::Argv(_) => None,
    }
}

/// Whether a command reads the words after `--`: as `${args}`, or as the shell's positional
/// parameters.
fn reads_args(command: &Command) -> bool {
    match command {
        Command::Shell(text) => {
            [
                "$@",
                "${@",
                "$*",
                "${*",
                "$#",
                "${#}",
                "${args",
                "FLOW_CTX_ARGS",
            ]
            .iter()
            .any(|p| text.contains(p))
                || (1..=9)
                    .any(|n| text.contains(&format!("${n}")) || text.contains(&format!("${{{n}")))
        }
        Command::Argv(args) => args.iter().any(|a| a.value.contains("${args")),
    }
}

/// One problem for each value bash could run, at the first step where it could, saying how
/// many more there are.
fn report_unsafe(wf: &Workflow, found: Vec<Unsafe>, problems: &mut Problems) {
    let mut done: Vec<&str> = Vec::new();
    for u in &found {
        if done.contains(&u.what.as_str()) {
            continue;
        }
        done.push(&u.what);
        let more = found.iter().filter(|o| o.what == u.what).count() - 1;
        let also = match more {
            0 => String::new(),
            1 => " (and in 1 more step)".to_string(),
            n => format!(" (and in {n} more steps)"),
        };
        problems.push(
            Problem::at(
                "flow::unsafe-value",
                format!(
                    "{} holds `$` or a backtick (or names a variable that does), which the shell would run where step `{}` has `{}`{also}",
                    u.what, u.step, u.construct
                ),
                &wf.origin.source,
                u.span,
                "bash evaluates values again here",
            )
            .with_help(
                "bash (also /bin/sh on macOS and Fedora), ksh and zsh evaluate a value again as a number or a variable name here, and run the `$(...)` of an array subscript in it (`a[$(cmd)]`); pass a value without `$` or `` ` ``, or run the step with `shell: dash`",
            ),
        );
    }
}

/// The names of the environment variables a cached step's key depends on: those it declares,
/// then those its command leaves to the shell, but for [`MACHINE_VARIABLES`].
fn cache_env(declared: &[Spanned<String>], named: &[String]) -> Vec<String> {
    let mut env: Vec<String> = declared.iter().map(|e| e.value.clone()).collect();
    for name in named {
        if !MACHINE_VARIABLES.contains(&name.as_str()) && !env.contains(name) {
            env.push(name.clone());
        }
    }
    env
}

/// A command as written, for its log and `--dry-run`.
fn written(command: &Command) -> String {
    match command {
        Command::Shell(text) => text.clone(),
        Command::Argv(args) => shell_words::join(args.iter().map(|a| a.value.as_str())),
    }
}

/// Every text of a step that variables are substituted in.
fn step_texts(step: &Step) -> impl Iterator<Item = &str> {
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

/// The context values a step receives, with their values: every one, as each reaches every
/// step's environment (`FLOW_CTX_*`) whether its texts name it or not, so a script it runs may
/// read any. What a cached step's key depends on besides its resolved command.
fn used_variables(vars: &Vars) -> Vec<(String, String)> {
    // `cargo` is the path of the cargo that started cargo flow, which differs from machine
    // to machine as `$CARGO` does: the toolchain keys a step through its outputs instead.
    vars.sorted()
        .into_iter()
        .filter(|(k, _)| *k != "cargo")
        .map(|(k, v)| (k.to_string(), vars::plain_text_of(v)))
        .collect()
}

/// A member and the members it depends on by path, transitively, as indices.
fn package_closure(ws: &crate::load::Workspace, start: usize) -> Vec<usize> {
    let mut seen = vec![start];
    let mut queue = vec![start];
    while let Some(i) = queue.pop() {
        for dep in &ws.packages[i].path_deps {
            if let Some(j) = ws.packages.iter().position(|p| &p.name == dep)
                && !seen.contains(&j)
            {
                seen.push(j);
                queue.push(j);
            }
        }
    }
    seen.sort_unstable();
    seen
}

/// A digest of the Cargo.lock entries that `members` lead to, themselves included: what a
/// build of them reads from it. Empty when there is no Cargo.lock.
fn lock_digest(lock: &std::path::Path, members: &[&str]) -> String {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let entries = crate::load::affected::lock_entries(&text);
    let mut lines: Vec<String> = crate::load::affected::lock_closure(&entries, members, &|_| false)
        .iter()
        .filter_map(|key| {
            let (source, checksum, deps) = entries.get(key)?;
            Some(format!(
                "{} {} {source} {checksum} {}",
                key.0,
                key.1,
                deps.join(",")
            ))
        })
        .collect();
    lines.sort();
    blake3::hash(lines.join("\n").as_bytes())
        .to_hex()
        .to_string()
}

/// An instance's id: the step's, then its package (`test:alpha`), then its combination's
/// values joined with `-` (`check:full-stable`, `test:alpha:full-stable`).
pub(super) fn instance_id(step: &Step, inst: &Instance<'_>) -> String {
    let mut id = step.id.value.clone();
    if let Some(p) = inst.package {
        id.push(':');
        id.push_str(&p.name);
    }
    if let Some(c) = inst.combo {
        let values: Vec<&str> = c.iter().map(|(_, v)| v.as_str()).collect();
        id.push(':');
        id.push_str(&values.join("-"));
    }
    id
}
