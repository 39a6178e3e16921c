//! The steps of one job (one matrix combination of it): `run:` steps become a chain of cargo
//! flow steps, setup actions are dropped with a comment, toolchain installers leave their
//! toolchain in `RUSTUP_TOOLCHAIN`, and `actions-rs/cargo` becomes the cargo command it runs.

use super::expr::{self, Part};
use super::job::{and, condition_of, status};
use super::text;
use super::{Defaults, Entry, Importer, Step};
use crate::load::matrix::Combination;
use crate::load::node::{Node, Value};

/// A job's combination, as its steps are added.
pub(super) struct Chain<'a> {
    /// The start of its steps' ids: the job's id and the combination's values.
    pub base: String,
    /// How notes name it.
    pub title: String,
    pub job: &'a Node,
    pub combo: &'a Combination,
    /// Whether dropped setup steps are commented on (the first combination only).
    pub comments: bool,
    pub defaults: &'a Defaults,
    /// Where the chain stands.
    pub reach: super::job::Reach,
    pub job_condition: Part,
    /// The condition `runs-on` means.
    pub os: Option<Part>,
    /// Whether no step was added yet.
    pub first: bool,
    /// Whether the job needs others.
    pub needs_jobs: bool,
    /// The toolchain an installer step chose.
    pub toolchain: Option<String>,
    /// The steps' GitHub ids, with their cargo flow ids.
    pub ids: Vec<(String, String)>,
}

/// Actions that prepare a runner, which a developer's machine already is.
const SETUP: &[&str] = &[
    "actions/checkout",
    "actions/cache",
    "actions/setup-",
    "swatinem/rust-cache",
    "taiki-e/install-action",
    "taiki-e/setup-cross-toolchain-action",
    "mozilla-actions/sccache-action",
    "rui314/setup-mold",
    "cargo-bins/cargo-binstall",
    "leafwing-studios/cargo-cache",
    "baptiste0928/cargo-install",
    "arduino/setup-protoc",
];

/// Actions that install a Rust toolchain; the toolchain is kept.
const TOOLCHAIN: &[&str] = &[
    "dtolnay/rust-toolchain",
    "actions-rs/toolchain",
    "actions-rust-lang/setup-rust-toolchain",
];

impl Importer {
    /// Adds the steps of a chain's job.
    pub(super) fn steps_of(&mut self, chain: &mut Chain<'_>) {
        let steps: &[Node] = match chain.job.get("steps").map(|s| &s.value) {
            Some(Value::List(steps)) => steps,
            _ => &[],
        };
        let runs = steps.iter().filter(|s| command_of(s).is_some()).count();
        for (i, node) in steps.iter().enumerate() {
            let at = step_title(chain, node, i);
            if let Some(uses) = node.get("uses").and_then(Node::scalar_text)
                && !self.uses(chain, node, uses, &at)
            {
                continue;
            }
            let Some(command) = command_of(node) else {
                self.leave(format!("{at}: it has neither `run:` nor a known `uses:`"));
                continue;
            };
            let run = match &command {
                Command::Shell(run) => run.clone(),
                Command::Argv(words) => shell_words::join(words),
            };
            if run.trim().is_empty() {
                self.leave(format!("{at}: its `run:` is empty"));
                continue;
            }
            let id = if runs > 1 {
                format!("{}-{}", chain.base, step_slug(node, i))
            } else {
                chain.base.clone()
            };
            if let Err(why) = self.add_step(chain, node, &command, &id) {
                self.leave(format!("{at}: {why}; the step is left out"));
                for line in run.lines() {
                    self.entries.push(Entry::Comment(format!("  {line}")));
                }
            }
        }
    }

    /// Handles a `uses:` step; whether it is a command to add (`actions-rs/cargo`).
    fn uses(&mut self, chain: &mut Chain<'_>, node: &Node, uses: &str, at: &str) -> bool {
        let action = uses.split('@').next().unwrap_or(uses).to_lowercase();
        if action == "actions-rs/cargo" {
            return true;
        }
        if TOOLCHAIN.contains(&action.as_str()) {
            match node.get("if").map(|c| condition_of(c, chain.combo)) {
                None => self.toolchain(chain, node, uses),
                Some(Ok(Part::Known(v))) if expr::truthy(&v) => self.toolchain(chain, node, uses),
                Some(Ok(Part::Known(_))) => {}
                Some(Ok(_) | Err(_)) => self.leave(format!(
                    "{at}: `{uses}` installs its toolchain only on a condition that only a run decides"
                )),
            }
        } else if SETUP.iter().any(|s| action.starts_with(s)) {
            if chain.comments {
                self.entries.push(Entry::Comment(format!(
                    "{uses}: dropped, this machine is set up"
                )));
            }
        } else {
            self.leave(format!("{at}: uses `{uses}`"));
        }
        false
    }

    /// Keeps the toolchain an installer chose, for the job's later steps.
    fn toolchain(&mut self, chain: &mut Chain<'_>, node: &Node, uses: &str) {
        let with = |key: &str| {
            node.get("with")
                .and_then(|w| w.get(key))
                .and_then(Node::scalar_text)
        };
        let reference = uses.split_once('@').map(|(_, r)| r).unwrap_or_default();
        let by_ref = action_is(uses, "dtolnay/rust-toolchain") && is_toolchain(reference);
        let named = with("toolchain").or(by_ref.then_some(reference));
        let mut comment = format!("{uses}: dropped, this machine has rustup");
        match named.map(|t| text::plain(t, chain.combo)) {
            Some(Ok(t)) if t != "stable" => {
                comment.push_str(&format!("; its toolchain is kept as RUSTUP_TOOLCHAIN={t}"));
                chain.toolchain = Some(t);
            }
            Some(Err(why)) => self.leave(format!(
                "{}: the toolchain of `{uses}` ({why})",
                chain.title
            )),
            _ => {
                comment.push_str(" and the stable toolchain is taken to be its default");
                chain.toolchain = None;
            }
        }
        if !chain.comments && chain.toolchain.is_none() {
            return;
        }
        for extra in ["components", "targets", "target"] {
            if let Some(v) = with(extra) {
                comment.push_str(&format!(
                    "; {extra}: {v} (`rustup component add` / `rustup target add`)"
                ));
            }
        }
        self.entries.push(Entry::Comment(comment));
    }

    /// Adds one step; an error says why it cannot be carried over.
    fn add_step(
        &mut self,
        chain: &mut Chain<'_>,
        node: &Node,
        command: &Command,
        base: &str,
    ) -> Result<(), String> {
        if let Some(why) = &self.poisoned {
            return Err(why.clone());
        }
        let own = match node.get("if") {
            Some(c) => condition_of(c, chain.combo)?,
            None => Part::Known(expr::Val::Bool(true)),
        };
        let whole = whole_condition(chain, own.clone());
        if matches!(&whole, Part::Known(v) if !expr::truthy(v)) {
            self.entries.push(Entry::Comment(format!(
                "{}: left out, its `if:` is false here",
                step_title(chain, node, 0)
            )));
            return Ok(());
        }
        let mut step = Step {
            depends_on: chain.reach.deps(),
            description: node.get("name").and_then(Node::scalar_text).map(|n| {
                // Shown, never parsed: the shell's `${` needs no escape here, but a terminal's
                // control characters do.
                let shown = text::plain(n, chain.combo).map(|t| t.replace("$${", "${"));
                super::write::visible(shown.unwrap_or_else(|_| n.to_string()).trim())
            }),
            ..Step::default()
        };
        let mut out = text::Shell::default();
        match command {
            Command::Shell(run) => {
                self.settings(chain, node, run, &mut step)?;
                shell_command(chain, run, &self.env, &mut step, &mut out)?;
            }
            Command::Argv(words) => {
                self.settings(chain, node, "", &mut step)?;
                let wrapped = step
                    .shell
                    .take()
                    .is_some_and(|s| s.iter().any(|w| w == "continue-on-error"));
                if wrapped {
                    return Err("`continue-on-error` on an action has no equivalent".into());
                }
                let words = words.iter().map(|w| text::plain(w, chain.combo));
                step.argv = Some(words.collect::<Result<_, _>>()?);
            }
        }
        let skippable = matches!(whole, Part::Cond { .. });
        if status(&own) && chain.needs_jobs {
            self.entries.push(Entry::Comment(format!(
                "{}: its `{}` also sees the jobs this one needs, which on GitHub would not have started it had one failed",
                step_title(chain, node, 0),
                node.get("if").and_then(Node::scalar_text).unwrap_or_default()
            )));
        }
        step.condition = condition_text(whole, chain.reach.dirty);
        step.id = self.unique_id(base);
        for note in out.notes {
            self.leave(format!("{}: {note}", step_title(chain, node, 0)));
        }
        self.finish(chain, node, step, skippable);
        Ok(())
    }

    /// Folder, shell, timeout, environment and `continue-on-error` of a step.
    fn settings(
        &mut self,
        chain: &Chain<'_>,
        node: &Node,
        run: &str,
        step: &mut Step,
    ) -> Result<(), String> {
        let text_of = |key: &str| node.get(key).and_then(Node::scalar_text);
        let job_text = |key: &str| chain.job.get(key).and_then(Node::scalar_text);
        if let Some(cwd) = text_of("working-directory").or(chain.defaults.cwd.as_deref()) {
            step.cwd = Some(text::plain(cwd, chain.combo)?);
        }
        let shell = text_of("shell").or(chain.defaults.shell.as_deref());
        step.shell = shell.map(shell_of).transpose()?;
        if let Some(minutes) = text_of("timeout-minutes").or(job_text("timeout-minutes")) {
            step.timeout = Some(timeout(&text::plain(minutes, chain.combo)?)?);
        }
        let mut env = Vec::new();
        let title = chain.title.clone();
        for source in [chain.job.get("env"), node.get("env")]
            .into_iter()
            .flatten()
        {
            environment(source, chain.combo, &mut env, &mut |what| {
                self.leave(format!("{title}: env {what}"));
            })?;
        }
        for folder in ["RUNNER_TEMP", "RUNNER_TOOL_CACHE"] {
            if run.contains(folder) {
                return Err(format!(
                    "it uses ${folder}, a folder only a GitHub runner has"
                ));
            }
        }
        if run.contains("GITHUB_WORKSPACE") && !env.iter().any(|(k, _)| k == "GITHUB_WORKSPACE") {
            env.push(("GITHUB_WORKSPACE".into(), "${workspace_root}".into()));
        }
        if let Some(t) = &chain.toolchain
            && !env.iter().any(|(k, _)| k == "RUSTUP_TOOLCHAIN")
        {
            env.push(("RUSTUP_TOOLCHAIN".into(), t.clone()));
        }
        // Files a GitHub runner reads after the step; here nothing does.
        for file in ["GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH"] {
            if run.contains(file) && !env.iter().any(|(k, _)| k == file) {
                env.push((file.into(), "/dev/null".into()));
                if file != "GITHUB_STEP_SUMMARY" {
                    self.leave(format!(
                        "{title}: writes to ${file}, which later steps do not read outside GitHub"
                    ));
                }
            }
        }
        step.env = env;
        let allowed = text_of("continue-on-error").or(job_text("continue-on-error"));
        if let Some(allowed) = allowed
            && text::plain(allowed, chain.combo)? == "true"
        {
            if text_of("continue-on-error").is_none() {
                self.entries.push(Entry::Comment(format!(
                    "{}: `continue-on-error` on the job lets each step fail and the next run; GitHub would stop the job at the failure",
                    step_title(chain, node, 0)
                )));
            }
            let inner = step.shell.take().unwrap_or_else(default_shell);
            step.shell = Some(continue_on_error(inner));
        }
        Ok(())
    }

    /// Records the step and moves the chain past it.
    fn finish(&mut self, chain: &mut Chain<'_>, node: &Node, step: Step, skippable: bool) {
        if let Some(gh) = node.get("id").and_then(Node::scalar_text) {
            chain.ids.push((gh.to_string(), step.id.clone()));
        }
        if chain.first && status(&chain.job_condition) {
            // A job that runs whatever became of its needs (`always()`, `failure()`) decides
            // so in its first step; the steps after it look only at the job's own steps, and
            // need the first to have run.
            chain.reach = super::job::Reach::default();
            chain.reach.past(&step.id, false);
        } else {
            chain.reach.past(&step.id, skippable);
        }
        chain.first = false;
        self.steps += 1;
        self.entries.push(Entry::Step(Box::new(step)));
    }
}

/// Whether `uses` names `action`, at any version.
fn action_is(uses: &str, action: &str) -> bool {
    uses.split('@')
        .next()
        .is_some_and(|a| a.eq_ignore_ascii_case(action))
}

/// Whether a `dtolnay/rust-toolchain` version names a toolchain (`stable`, `nightly-2024-05-05`,
/// `1.70`), rather than the action's own version (`master`, `v1`, a commit).
fn is_toolchain(reference: &str) -> bool {
    let numbered = |t: &str| {
        let parts: Vec<&str> = t.split('.').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let dated = |t: &str| {
        t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    match reference.split_once('-') {
        Some(("nightly" | "beta", date)) => dated(date),
        _ => matches!(reference, "stable" | "beta" | "nightly") || numbered(reference),
    }
}

/// What a step runs.
pub(super) enum Command {
    /// A `run:` script.
    Shell(String),
    /// What `actions-rs/cargo` runs: a program and its arguments, without a shell.
    Argv(Vec<String>),
}

/// The command of a step: its `run:`, or what `actions-rs/cargo` runs.
fn command_of(node: &Node) -> Option<Command> {
    if let Some(run) = node.get("run").and_then(Node::scalar_text) {
        return Some(Command::Shell(run.to_string()));
    }
    let uses = node.get("uses").and_then(Node::scalar_text)?;
    if !uses.to_lowercase().starts_with("actions-rs/cargo@") {
        return None;
    }
    let with = |key: &str| {
        node.get("with")
            .and_then(|w| w.get(key))
            .and_then(Node::scalar_text)
    };
    let program = if with("use-cross") == Some("true") {
        "cross"
    } else {
        "cargo"
    };
    let mut words = vec![program.to_string()];
    words.extend(with("toolchain").map(|t| format!("+{t}")));
    words.push(with("command")?.to_string());
    // The action splits its arguments as a shell would, and runs cargo without one.
    words.extend(shell_words::split(with("args").unwrap_or_default()).ok()?);
    Some(Command::Argv(words))
}

/// Turns a `run:` script into the step's command, the variables it reads added to its
/// environment under names nothing else there has.
fn shell_command(
    chain: &Chain<'_>,
    run: &str,
    workflow_env: &[(String, String)],
    step: &mut Step,
    out: &mut text::Shell,
) -> Result<(), String> {
    let python = step
        .shell
        .as_ref()
        .is_some_and(|s| s.first().is_some_and(|p| p == "python3"));
    if python && run.contains("${{") {
        return Err(
            "a Python step reads no shell variables, so its expressions have no equivalent".into(),
        );
    }
    let taken: Vec<String> = step
        .env
        .iter()
        .chain(workflow_env)
        .map(|(k, _)| k.clone())
        .collect();
    step.run = text::shell(run, chain.combo, &chain.ids, &taken, out)?;
    step.env.extend(std::mem::take(&mut out.env));
    Ok(())
}

/// What must hold for a step to run: its job's condition (a job that runs despite its needs
/// decides so in its first step alone), the system `runs-on` names, and its own `if:`.
fn whole_condition(chain: &Chain<'_>, own: Part) -> Part {
    let yes = || Part::Known(expr::Val::Bool(true));
    let job_part = if chain.first || !status(&chain.job_condition) {
        chain.job_condition.clone()
    } else {
        yes()
    };
    and(and(job_part, chain.os.clone().unwrap_or_else(yes)), own)
}

/// The condition a step is written with: what must hold, and, after a step that its own
/// condition may skip (which is no failure on GitHub), that nothing before it failed.
fn condition_text(whole: Part, after_skippable: bool) -> Option<String> {
    let guarded = if after_skippable && !status(&whole) {
        let no_failure = Part::Cond {
            text: "!failure()".into(),
            status: true,
        };
        and(no_failure, whole)
    } else {
        whole
    };
    match guarded {
        Part::Cond { text, .. } => Some(text),
        _ => None,
    }
}

/// The program GitHub runs a `shell:` with, as cargo flow's `shell`.
fn shell_of(shell: &str) -> Result<Vec<String>, String> {
    let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_string()).collect::<Vec<_>>();
    match shell {
        "bash" => Ok(words(&["bash", "--noprofile", "--norc", "-eo", "pipefail"])),
        "sh" => Ok(words(&["sh", "-e"])),
        "python" => Ok(words(&["python3"])),
        custom if custom.contains("{0}") => {
            let mut parts =
                shell_words::split(custom).map_err(|e| format!("`shell: {custom}`: {e}"))?;
            parts.retain(|p| p != "{0}");
            let program = parts
                .first()
                .map(|p| p.rsplit('/').next().unwrap_or(p))
                .unwrap_or("");
            if matches!(program, "bash" | "sh" | "dash") {
                Ok(parts)
            } else {
                Err(format!(
                    "`shell: {custom}` runs a script file, which cargo flow does not write"
                ))
            }
        }
        other => Err(format!("`shell: {other}` has no equivalent here")),
    }
}

/// GitHub's shell where none is named: bash, stopping at the first failing command.
pub(super) fn default_shell() -> Vec<String> {
    vec!["bash".into(), "-e".into()]
}

/// A shell whose failure is reported in the log and ignored, as `continue-on-error: true`.
fn continue_on_error(inner: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        r#""$@" || echo "continue-on-error: the step failed (exit $?), and is not counted as failed" >&2"#.into(),
        "continue-on-error".into(),
    ];
    out.extend(inner);
    out
}

/// `timeout-minutes` as a cargo flow timeout: whole minutes, or seconds, at least one.
fn timeout(minutes: &str) -> Result<String, String> {
    let bad = || format!("`timeout-minutes: {minutes}` is not a number of minutes");
    let m: f64 = minutes.trim().parse().map_err(|_| bad())?;
    // A year is far beyond what GitHub allows (six hours), and what a duration holds.
    if !(m > 0.0 && m <= 525_600.0) {
        return Err(bad());
    }
    if m.fract() == 0.0 {
        Ok(format!("{m}m"))
    } else {
        Ok(format!("{}s", (m * 60.0).ceil().max(1.0)))
    }
}

/// Adds an `env:` map's entries to `out` (later ones replace earlier). An entry that holds
/// only a secret or a variable of GitHub's (`${{ secrets.TOKEN }}`) is left to the
/// environment cargo flow runs in, and `leave` hears of it; any other that cannot be carried
/// over is an error, since a step without it could do harm (an empty path).
pub(super) fn environment(
    env: &Node,
    combo: &Combination,
    out: &mut Vec<(String, String)>,
    leave: &mut dyn FnMut(String),
) -> Result<(), String> {
    for (key, value) in env.as_map().unwrap_or_default() {
        let written = value.scalar_text().unwrap_or_default();
        if let Some(secret) = secret(written) {
            leave(format!(
                "`{}` holds `{secret}`: set {} in the environment",
                key.name, key.name
            ));
            out.retain(|(k, _)| *k != key.name);
            continue;
        }
        let v = text::plain(written, combo).map_err(|why| format!("env `{}` ({why})", key.name))?;
        out.retain(|(k, _)| *k != key.name);
        out.push((key.name.clone(), v));
    }
    Ok(())
}

/// `secrets.TOKEN` when `text` is only `${{ secrets.TOKEN }}` (or `vars.`).
fn secret(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let (ctx, name) = inner.split_once('.')?;
    (matches!(ctx, "secrets" | "vars") && expr::is_variable(name)).then_some(inner)
}

/// `step 2 (Run tests)` of a job, for notes.
fn step_title(chain: &Chain<'_>, node: &Node, i: usize) -> String {
    match node.get("name").and_then(Node::scalar_text) {
        Some(name) => format!("{}, step `{name}`", chain.title),
        None if i > 0 => format!("{}, step {}", chain.title, i + 1),
        None => format!("{}, a step", chain.title),
    }
}

/// The part of a step's id its `id:` or `name:` gives, else its number.
fn step_slug(node: &Node, i: usize) -> String {
    let named = ["id", "name"]
        .iter()
        .filter_map(|k| node.get(k).and_then(Node::scalar_text))
        .map(slug)
        .find(|s| !s.is_empty());
    named.unwrap_or_else(|| (i + 1).to_string())
}

/// Lower-case letters, digits and single dashes, at most 40 characters.
pub(super) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(40).collect();
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    out.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_whole_minutes_or_seconds_within_reason() {
        assert_eq!(timeout("45").unwrap(), "45m");
        assert_eq!(timeout("2.5").unwrap(), "150s");
        assert_eq!(timeout("0.001").unwrap(), "1s");
        for bad in ["0", "-1", "inf", "NaN", "1e400", "1e9", "x"] {
            assert!(timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_toolchain_is_told_from_an_actions_version() {
        for t in [
            "stable",
            "beta",
            "nightly",
            "1.70",
            "1.70.0",
            "nightly-2024-05-05",
        ] {
            assert!(is_toolchain(t), "{t}");
        }
        for v in [
            "master",
            "v1",
            "1fbea72663f6d4c03efaab13560c8a24cfd2a7cc",
            "1",
            "clippy",
        ] {
            assert!(!is_toolchain(v), "{v}");
        }
    }
}
