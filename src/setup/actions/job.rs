//! A job of the GitHub workflow: ordered by `needs:`, its condition folded with those of the
//! jobs it needs, its matrix expanded, and each combination's steps chained.

use std::collections::HashMap;

use super::expr::{self, Part};
use super::step::Chain;
use super::{Defaults, Entry, Importer};
use crate::load::matrix::{self, Combination};
use crate::load::node::{Key, Node, Value};

/// What the jobs that need a job take from it.
#[derive(Debug, Clone)]
pub(super) struct Done {
    pub reach: Reach,
    /// The job's condition with those of the jobs it needs: a job whose need was skipped is
    /// skipped too.
    pub condition: Part,
}

/// Where chains stand: what the next step depends on.
#[derive(Debug, Clone, Default)]
pub(super) struct Reach {
    /// The step that ends each chain.
    pub last: Vec<String>,
    /// Every step before, in order.
    pub upstream: Vec<String>,
    /// Whether a step before may be skipped by a condition, which on GitHub is no failure: then
    /// the next step depends on every step before, so that a failure anywhere is its
    /// dependency's own, and runs unless one failed (`!failure()`).
    pub dirty: bool,
}

impl Reach {
    fn join(&mut self, other: &Reach) {
        for (into, from) in [
            (&mut self.last, &other.last),
            (&mut self.upstream, &other.upstream),
        ] {
            for id in from {
                if !into.contains(id) {
                    into.push(id.clone());
                }
            }
        }
        self.dirty |= other.dirty;
    }

    /// What the next step depends on.
    pub(super) fn deps(&self) -> Vec<String> {
        if self.dirty {
            self.upstream.clone()
        } else {
            self.last.clone()
        }
    }

    /// Moves past step `id`, which a condition may skip (`skippable`).
    pub(super) fn past(&mut self, id: &str, skippable: bool) {
        self.upstream.push(id.to_string());
        self.last = vec![id.to_string()];
        self.dirty |= skippable;
    }
}

/// Keys of a job that are carried over.
const KNOWN: &[&str] = &[
    "name",
    "needs",
    "runs-on",
    "if",
    "env",
    "defaults",
    "timeout-minutes",
    "continue-on-error",
    "strategy",
    "steps",
];

/// The jobs in an order where each comes after those it needs, declaration order otherwise;
/// an error names a cycle.
pub(super) fn order(jobs: &[(Key, Node)]) -> Result<Vec<(&str, &Node)>, String> {
    let mut out: Vec<(&str, &Node)> = Vec::new();
    while out.len() < jobs.len() {
        let placed = |id: &str| out.iter().any(|(o, _)| *o == id);
        let ready = jobs.iter().find(|(k, node)| {
            !placed(&k.name)
                && needs(node)
                    .iter()
                    .all(|n| placed(n) || !jobs.iter().any(|(k, _)| k.name == *n))
        });
        match ready {
            Some((k, node)) => out.push((k.name.as_str(), node)),
            None => {
                let left: Vec<&str> = jobs
                    .iter()
                    .map(|(k, _)| k.name.as_str())
                    .filter(|id| !placed(id))
                    .collect();
                return Err(left.join(", "));
            }
        }
    }
    Ok(out)
}

/// The jobs a job needs.
pub(super) fn needs(job: &Node) -> Vec<String> {
    match job.get("needs").map(|n| &n.value) {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|i| i.scalar_text().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Importer {
    /// Adds the steps of job `id`, after the jobs it needs (`done`).
    pub(super) fn job(&mut self, id: &str, node: &Node, done: &HashMap<String, Done>) -> Done {
        let title = node
            .get("name")
            .and_then(Node::scalar_text)
            .map(|n| format!("job `{id}` ({n})"))
            .unwrap_or_else(|| format!("job `{id}`"));
        self.entries.push(Entry::Comment(title.clone()));
        let mut entry = Done {
            reach: Reach::default(),
            condition: Part::Known(expr::Val::Bool(true)),
        };
        let mut inherited = Part::Known(expr::Val::Bool(true));
        for need in needs(node) {
            match done.get(&need) {
                Some(d) => {
                    entry.reach.join(&d.reach);
                    if !status(&d.condition) {
                        inherited = and(inherited, d.condition.clone());
                    }
                }
                None => self.leave(format!("{title}: needs `{need}`, which is no job here")),
            }
        }
        match self.job_condition(node, inherited) {
            Ok(condition) => entry.condition = condition,
            Err(why) => {
                self.leave(format!("{title}: its `if:` ({why}); the job is left out"));
                entry.condition = Part::Known(expr::Val::Bool(false));
                return entry;
            }
        }
        self.unknown_keys(&title, node);
        if let Some(uses) = node.get("uses").and_then(Node::scalar_text) {
            self.leave(format!("{title}: calls the workflow `{uses}`"));
            return entry;
        }
        if matches!(&entry.condition, Part::Known(v) if !expr::truthy(v)) {
            self.entries.push(Entry::Comment(format!(
                "{title} is left out: its `if:` is false outside GitHub"
            )));
            return entry;
        }
        self.combinations(id, &title, node, entry)
    }

    /// The job's own `if:` with what it inherits from the jobs it needs, unless it calls a
    /// status function (`always()`), which decides for itself.
    fn job_condition(&self, node: &Node, inherited: Part) -> Result<Part, String> {
        let Some(own) = node.get("if") else {
            return Ok(inherited);
        };
        let written = own.scalar_text().unwrap_or_default().to_lowercase();
        let own = condition_of(own, &Vec::new())?;
        // `always()`, `failure()` and `cancelled()` let a job run whatever became of its
        // needs; `success()` is theirs succeeding, which a need skipped is not.
        let despite = ["always(", "failure(", "cancelled("]
            .iter()
            .any(|f| written.contains(f));
        Ok(if despite { own } else { and(inherited, own) })
    }

    fn unknown_keys(&mut self, title: &str, node: &Node) {
        for (key, _) in node.as_map().unwrap_or_default() {
            if !KNOWN.contains(&key.name.as_str()) && key.name != "uses" {
                self.leave(format!("{title}: `{}:`", key.name));
            }
        }
        let strategy = node
            .get("strategy")
            .and_then(Node::as_map)
            .unwrap_or_default();
        for (key, _) in strategy {
            if key.name != "matrix" {
                self.leave(format!("{title}: `strategy.{}`", key.name));
            }
        }
    }

    /// Adds each matrix combination's chain of steps.
    fn combinations(&mut self, id: &str, title: &str, node: &Node, entry: Done) -> Done {
        let combos = match node.get("strategy").and_then(|s| s.get("matrix")) {
            None => vec![Vec::new()],
            Some(m) => match matrix::expand(m) {
                Ok(c) => c,
                Err(why) => {
                    self.leave(format!("{title}: {why}; the job is left out"));
                    return entry;
                }
            },
        };
        let mut defaults = super::defaults(node);
        defaults.shell = defaults.shell.or(self.defaults.shell.clone());
        defaults.cwd = defaults.cwd.or(self.defaults.cwd.clone());
        let mut out = Done {
            reach: Reach::default(),
            condition: entry.condition.clone(),
        };
        let labels = labels(&combos);
        let systems: std::collections::HashSet<_> = combos
            .iter()
            .map(|c| runs_on(node, c).ok().flatten())
            .collect();
        let spans_systems = systems.len() > 1;
        for (combo, label) in combos.iter().zip(&labels) {
            let reach = self.combination(
                id,
                title,
                node,
                (combo, label, &labels[0], spans_systems),
                &defaults,
                &entry,
            );
            out.reach.join(&reach);
        }
        out
    }

    /// Adds one combination's chain: `(combination, its label, the first combination's)`.
    fn combination(
        &mut self,
        id: &str,
        title: &str,
        node: &Node,
        (combo, label, first_label, spans_systems): (&Combination, &String, &String, bool),
        defaults: &Defaults,
        entry: &Done,
    ) -> Reach {
        let where_ = if label.is_empty() {
            title.to_string()
        } else {
            format!("{title} [{label}]")
        };
        let os = match runs_on(node, combo) {
            Ok(os) => os,
            Err(why) => {
                self.leave(format!("{where_}: `runs-on` ({why})"));
                None
            }
        };
        let scope = self.scope(node, combo, os);
        // A job for Linux alone, GitHub's usual runner, runs on any machine: its commands
        // are a developer's too. One for another system, or a matrix over systems, runs
        // where it was meant to.
        let os = os.filter(|os| *os != "linux" || spans_systems);
        let os = os.map(|os| Part::Cond {
            text: format!("os == '{os}'"),
            status: false,
        });
        let mut chain = Chain {
            base: if label.is_empty() {
                id.to_string()
            } else {
                format!("{id}-{label}")
            },
            title: where_,
            job: node,
            combo: &scope,
            comments: label == first_label,
            defaults,
            reach: entry.reach.clone(),
            job_condition: entry.condition.clone(),
            os: os.clone(),
            first: true,
            needs_jobs: !entry.reach.last.is_empty(),
            toolchain: None,
            ids: Vec::new(),
        };
        self.steps_of(&mut chain);
        chain.reach
    }
}

impl Importer {
    /// A combination with the variables the workflow's and the job's `env:` set, known to
    /// expressions as `env.NAME`.
    fn scope(&mut self, node: &Node, combo: &Combination, os: Option<&str>) -> Combination {
        let mut env = self.env.clone();
        if let Some(job_env) = node.get("env") {
            // What cannot be carried over is said, and its steps left out, as each is added.
            let _ = super::step::environment(job_env, combo, &mut env, &mut |_| {});
        }
        let map = env
            .into_iter()
            .map(|(k, v)| {
                let key = Key {
                    name: k,
                    span: node.span,
                };
                (
                    key,
                    Node {
                        value: Value::String(v),
                        span: node.span,
                    },
                )
            })
            .collect();
        let mut scope = combo.clone();
        let runner_os = match os {
            Some("linux") => Some("Linux"),
            Some("macos") => Some("macOS"),
            Some("windows") => Some("Windows"),
            _ => None,
        };
        if let Some(name) = runner_os {
            let value = Node {
                value: Value::String(name.into()),
                span: node.span,
            };
            scope.push((expr::RUNNER_OS.to_string(), value));
        }
        scope.push((
            expr::ENV.to_string(),
            Node {
                value: Value::Map(map),
                span: node.span,
            },
        ));
        scope
    }
}

/// The condition an `if:` holds, folded with the matrix.
pub(super) fn condition_of(node: &Node, combo: &Combination) -> Result<Part, String> {
    let text = node.scalar_text().unwrap_or_default();
    let written = format!("`{text}`");
    let parsed = expr::parse(text).map_err(|e| format!("{written}: {e}"))?;
    match expr::fold(&parsed, combo).map_err(|e| format!("{written}: {e}"))? {
        Part::Os => Err(format!("{written} is not a condition")),
        part => Ok(part),
    }
}

/// Whether a condition calls `success()`, `failure()` or `always()`.
pub(super) fn status(part: &Part) -> bool {
    matches!(part, Part::Cond { status: true, .. })
}

/// Both conditions.
pub(super) fn and(a: Part, b: Part) -> Part {
    match (a, b) {
        (Part::Known(x), b) if expr::truthy(&x) => b,
        (a, Part::Known(y)) if expr::truthy(&y) => a,
        (Part::Known(x), _) | (_, Part::Known(x)) => Part::Known(x),
        (Part::Cond { text: x, status: s }, Part::Cond { text: y, status: t }) => Part::Cond {
            text: format!("{} && {}", expr::grouped(&x), expr::grouped(&y)),
            status: s || t,
        },
        (a, _) => a,
    }
}

/// The system `runs-on` names, as cargo flow's `os` names it, for GitHub's hosted runners
/// and a `linux` label.
fn runs_on(node: &Node, combo: &Combination) -> Result<Option<&'static str>, String> {
    let labels: Vec<String> = match node.get("runs-on").map(|n| &n.value) {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|i| i.scalar_text().map(str::to_string))
            .collect(),
        Some(_) => node
            .get("runs-on")
            .and_then(Node::scalar_text)
            .map(|t| vec![t.to_string()])
            .unwrap_or_default(),
        None => Vec::new(),
    };
    for label in labels {
        let label = super::text::plain(&label, combo)?.to_lowercase();
        let os = [
            ("ubuntu", "linux"),
            ("linux", "linux"),
            ("macos", "macos"),
            ("windows", "windows"),
        ]
        .into_iter()
        .find(|(prefix, _)| label.starts_with(prefix));
        if let Some((_, os)) = os {
            return Ok(Some(os));
        }
    }
    Ok(None)
}

/// Each combination's part of step ids: the values of the fewest matrix keys, taken in
/// order, that tell the combinations apart (`ubuntu-latest-nightly`); none for one.
fn labels(combos: &[Combination]) -> Vec<String> {
    let mut labels = vec![String::new(); combos.len()];
    if combos.len() < 2 {
        return labels;
    }
    let distinct = |ls: &[String]| ls.iter().collect::<std::collections::HashSet<_>>().len();
    let keys: Vec<&str> = combos
        .iter()
        .flat_map(|c| c.iter().map(|(k, _)| k.as_str()))
        .fold(Vec::new(), |mut keys, k| {
            if !keys.contains(&k) {
                keys.push(k);
            }
            keys
        });
    for key in keys {
        let with: Vec<String> = combos
            .iter()
            .zip(&labels)
            .map(|(c, l)| {
                let value = c
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.scalar_text())
                    .map(super::step::slug)
                    .unwrap_or_default();
                [l.as_str(), value.as_str()]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect();
        if distinct(&with) > distinct(&labels) {
            labels = with;
        }
        if distinct(&labels) == combos.len() {
            break;
        }
    }
    labels
}
