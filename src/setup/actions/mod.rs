//! `cargo flow init --from .github/workflows/ci.yml`: a GitHub Actions workflow imported as a
//! cargo flow workflow. Each job's `run:` steps become a chain of steps, `needs:` orders the
//! jobs, matrices are expanded, and conditions, environments, folders, shells and timeouts
//! carry over. Expressions never reach a shell as text: a value becomes an environment
//! variable, a condition becomes a cargo flow condition, and what has no equivalent is left
//! out and said, in the output and in a comment where it was.

mod expr;
mod job;
mod step;
mod text;
mod write;

use std::collections::HashSet;

use crate::diagnostic::Problem;
use crate::load::node::Node;
use crate::source::Source;

/// A step of the imported workflow.
#[derive(Debug, Default)]
pub(crate) struct Step {
    pub id: String,
    pub description: Option<String>,
    pub run: String,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub shell: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub timeout: Option<String>,
    pub env: Vec<(String, String)>,
    /// A program and its arguments, run without a shell, instead of `run`.
    pub argv: Option<Vec<String>>,
}

/// What the imported workflow holds, in order: steps, and comments on what was dropped.
#[derive(Debug)]
pub(crate) enum Entry {
    Comment(String),
    Step(Box<Step>),
}

/// The result of an import.
#[derive(Debug)]
pub(crate) struct Imported {
    /// The `.flow.yaml` text.
    pub yaml: String,
    /// Jobs imported, and steps written.
    pub jobs: usize,
    pub steps: usize,
    /// What could not be carried over, one line each.
    pub left: Vec<String>,
}

/// The state of an import as jobs are added.
#[derive(Debug, Default)]
struct Importer {
    /// The workflow's `defaults.run`: shell and working directory.
    defaults: Defaults,
    /// The workflow's `env:`, as carried over.
    env: Vec<(String, String)>,
    /// Why no step can be carried over: an entry of the workflow's `env:` that cannot.
    poisoned: Option<String>,
    entries: Vec<Entry>,
    ids: HashSet<String>,
    left: Vec<String>,
    steps: usize,
}

/// `defaults.run` of the workflow or a job.
#[derive(Debug, Default, Clone)]
struct Defaults {
    shell: Option<String>,
    cwd: Option<String>,
}

impl Importer {
    /// Says what was not carried over, once, with a comment where it was.
    fn leave(&mut self, what: String) {
        let what = what
            .split('\n')
            .map(write::visible)
            .collect::<Vec<_>>()
            .join(" ");
        self.entries
            .push(Entry::Comment(format!("not carried over: {what}")));
        if !self.left.contains(&what) {
            self.left.push(what);
        }
    }

    /// A step id not yet taken, from `base`.
    fn unique_id(&mut self, base: &str) -> String {
        let mut id = base.to_string();
        let mut n = 2;
        while !self.ids.insert(id.to_ascii_lowercase()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }
}

/// Imports the GitHub Actions workflow `root`, read from `source`, as workflow `name`.
pub(crate) fn import(source: &Source, root: &Node, name: &str) -> Result<Imported, Problem> {
    let Some(jobs) = root.get("jobs").and_then(Node::as_map) else {
        return Err(Problem::at(
            "flow::init-from",
            "this is not a GitHub Actions workflow: it has no `jobs:` map",
            source,
            root.span,
            "expected `jobs:` here",
        )
        .with_help("name a file from `.github/workflows/`"));
    };
    let mut importer = Importer {
        defaults: defaults(root),
        ..Importer::default()
    };
    let env = workflow_env(root, &mut importer);
    importer.env = env.clone();
    top_level_notes(root, name, &mut importer);
    let order = job::order(jobs).map_err(|cycle| {
        Problem::new(
            "flow::init-from",
            format!(
                "the jobs' `needs:` form a cycle: {}",
                write::visible(&cycle)
            ),
        )
        .with_help("GitHub refuses such a workflow too: fix `needs:`")
    })?;
    let mut done = std::collections::HashMap::new();
    for (id, node) in order {
        let result = importer.job(id, node, &done);
        done.insert(id.to_string(), result);
    }
    if importer.steps == 0 {
        return Err(Problem::at(
            "flow::init-from",
            "no step of this workflow could be imported",
            source,
            root.get("jobs").map_or(root.span, |j| j.span),
            "these jobs have no `run:` step that carries over",
        )
        .with_help(match importer.left.is_empty() {
            true => {
                "a workflow of `uses:` steps alone has nothing for cargo flow to run".to_string()
            }
            false => format!("not carried over: {}", importer.left.join("; ")),
        }));
    }
    let description = root
        .get("name")
        .and_then(Node::scalar_text)
        .map(|n| format!("{n} (imported from {})", source.name))
        .unwrap_or_else(|| format!("imported from {}", source.name));
    let yaml = write::workflow(name, &description, &env, &importer.entries, &source.name);
    Ok(Imported {
        yaml,
        jobs: jobs.len(),
        steps: importer.steps,
        left: importer.left,
    })
}

/// `defaults.run` of a workflow or job.
fn defaults(node: &Node) -> Defaults {
    let run = node.get("defaults").and_then(|d| d.get("run"));
    let text = |key: &str| {
        run.and_then(|r| r.get(key))
            .and_then(Node::scalar_text)
            .map(str::to_string)
    };
    Defaults {
        shell: text("shell"),
        cwd: text("working-directory"),
    }
}

/// The workflow's `env:`, as far as it carries over; an entry that cannot poisons every step.
fn workflow_env(root: &Node, importer: &mut Importer) -> Vec<(String, String)> {
    let Some(env) = root.get("env") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut notes = Vec::new();
    if let Err(why) = step::environment(env, &Vec::new(), &mut out, &mut |what| notes.push(what)) {
        importer.poisoned = Some(format!("the workflow's {why}"));
    }
    for what in notes {
        importer.leave(format!("workflow env: {what}"));
    }
    out
}

/// Keys of the workflow that mean something only on GitHub.
fn top_level_notes(root: &Node, name: &str, importer: &mut Importer) {
    let Some(map) = root.as_map() else {
        return;
    };
    for (key, _) in map {
        match key.name.as_str() {
            "name" | "env" | "jobs" | "defaults" => {}
            "on" | "true" => importer.entries.push(Entry::Comment(format!(
                "`on:` is GitHub's: run this with `cargo flow run {name}`, or before each push with `cargo flow hook install {name}`"
            ))),
            other => importer.leave(format!("the workflow's `{other}:`")),
        }
    }
}
