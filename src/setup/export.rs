//! `cargo flow export github`: a workflow as a GitHub Actions workflow whose jobs run its
//! steps with `cargo flow run --only`, each taking the cached steps before it from the
//! remote cache, so that the split keeps the workflow's meaning.
//!
//! Jobs are made of the steps a job can stand for: cached steps, whose results the next job
//! restores, and steps without `cache:` that nothing depends on. A step without `cache:` that
//! others depend on has no result to restore: it runs, as it runs in every run, in each job
//! that needs it (`--only` runs it). The instances of a per-package or matrix step are one
//! job with a GitHub matrix over their ids.

use std::collections::{BTreeSet, HashMap};

use crate::load::model::Timeout;
use crate::plan::Plan;

/// How steps are grouped into jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// A chain (a step whose only follower is the only step after it) is one job.
    Chains,
    /// One job per step (per declared step, for instances).
    None,
}

/// What the export is asked for beyond the plan.
pub(crate) struct Export<'a> {
    /// The workflow as `cargo flow run` is to name it.
    pub target: &'a str,
    /// How steps are grouped.
    pub group: Group,
    /// The remote cache's address, when given; else the repository's `CARGO_FLOW_REMOTE_CACHE`
    /// variable.
    pub remote_cache: Option<&'a str>,
    /// `-c`/`--param` words every `cargo flow run` repeats.
    pub context: Vec<String>,
}

/// One job: the steps it stands for, in order, and the jobs it needs.
#[derive(Debug, Clone)]
struct Unit {
    steps: Vec<usize>,
    /// Whether its steps are the instances of one step, run as a GitHub matrix.
    matrix: bool,
    needs: BTreeSet<usize>,
}

/// The GitHub Actions workflow.
pub(crate) fn github(plan: &Plan, export: &Export<'_>) -> String {
    let mut units = units(plan);
    if export.group == Group::Chains {
        units = chains(units);
    }
    let ids = job_ids(plan, &units);
    let mut out = header(plan, export);
    for (u, unit) in units.iter().enumerate() {
        job(&mut out, plan, export, unit, (&ids, u));
    }
    out
}

/// The steps that jobs stand for, a unit each (the instances of one step together), with
/// the units each needs, in the plan's order.
fn units(plan: &Plan) -> Vec<Unit> {
    let steps = &plan.steps;
    let stands = |i: usize| steps[i].cache.is_some() || steps[i].dependents.is_empty();
    let mut unit_of: HashMap<usize, usize> = HashMap::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut by_declared: HashMap<&str, usize> = HashMap::new();
    // In the order steps are declared: the order a reader expects jobs in.
    for (i, step) in steps.iter().enumerate() {
        if !stands(i) {
            continue;
        }
        let shared = steps[i]
            .declared
            .as_deref()
            .and_then(|d| by_declared.get(d));
        let u = match shared {
            Some(&u) => u,
            None => {
                units.push(Unit {
                    steps: Vec::new(),
                    matrix: step.declared.is_some(),
                    needs: BTreeSet::new(),
                });
                units.len() - 1
            }
        };
        if let Some(d) = &step.declared {
            by_declared.insert(d, u);
        }
        units[u].steps.push(i);
        unit_of.insert(i, u);
    }
    for (u, unit) in units.iter_mut().enumerate() {
        let mut needs = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for &i in &unit.steps {
            nearest(plan, i, &unit_of, (&mut needs, &mut seen));
        }
        needs.remove(&u);
        unit.needs = needs;
    }
    units
}

/// The units of the nearest steps before `i` that jobs stand for (through steps that run in
/// every job needing them).
fn nearest(
    plan: &Plan,
    i: usize,
    unit_of: &HashMap<usize, usize>,
    (found, seen): (&mut BTreeSet<usize>, &mut BTreeSet<usize>),
) {
    for &d in &plan.steps[i].deps {
        if !seen.insert(d) {
            continue;
        }
        match unit_of.get(&d) {
            Some(&u) => {
                found.insert(u);
            }
            None => nearest(plan, d, unit_of, (&mut *found, &mut *seen)),
        }
    }
}

/// Units merged along chains: a unit that needs only one other, which nothing else needs,
/// joins it. Matrix units stay their own.
fn chains(mut units: Vec<Unit>) -> Vec<Unit> {
    loop {
        let followers =
            |u: usize, units: &[Unit]| units.iter().filter(|x| x.needs.contains(&u)).count();
        let pair = (0..units.len()).find_map(|b| {
            let [a] = units[b].needs.iter().copied().collect::<Vec<_>>()[..] else {
                return None;
            };
            let single = !units[a].matrix && !units[b].matrix && followers(a, &units) == 1;
            single.then_some((a, b))
        });
        let Some((a, b)) = pair else {
            return units;
        };
        let later = units.remove(b);
        let a = if a > b { a - 1 } else { a };
        units[a].steps.extend(later.steps);
        for unit in &mut units {
            let needs = std::mem::take(&mut unit.needs);
            unit.needs = needs
                .into_iter()
                .map(|n| match n {
                    n if n == b => a,
                    n if n > b => n - 1,
                    n => n,
                })
                .collect();
        }
        let own = a;
        units[own].needs.remove(&own);
    }
}

/// A job id per unit: its first step's (declared) id, as GitHub allows one, unique.
fn job_ids(plan: &Plan, units: &[Unit]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    units
        .iter()
        .map(|unit| {
            let step = &plan.steps[unit.steps[0]];
            let name = step.declared.as_deref().unwrap_or(&step.id);
            let mut id: String = name
                .chars()
                .map(
                    |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        true => c,
                        false => '-',
                    },
                )
                .collect();
            if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                id.insert_str(0, "step-");
            }
            // GitHub compares job ids without case.
            let mut unique = id.clone();
            let mut n = 2;
            while !taken.insert(unique.to_lowercase()) {
                unique = format!("{id}-{n}");
                n += 1;
            }
            unique
        })
        .collect()
}

fn header(plan: &Plan, export: &Export<'_>) -> String {
    let command = format!("cargo flow export github {}", export.target);
    let remote = export
        .remote_cache
        .map_or_else(|| "${{ vars.CARGO_FLOW_REMOTE_CACHE }}".to_string(), quoted);
    format!(
        "# Generated by `{command}`: export again after changing the workflow.\n\
         # Each job runs its steps with `cargo flow run --only`, taking the cached steps before\n\
         # them from the remote cache, which every job shares (set the repository's variable\n\
         # CARGO_FLOW_REMOTE_CACHE, and the secret CARGO_FLOW_REMOTE_CACHE_TOKEN if it needs one).\n\
         name: {name}\n\
         on:\n  push:\n    branches: [main]\n  pull_request:\n  workflow_dispatch:\n\
         permissions:\n  contents: read\n\
         env:\n  CARGO_TERM_COLOR: always\n\
         \x20 CARGO_FLOW_REMOTE_CACHE: {remote}\n\
         \x20 CARGO_FLOW_REMOTE_CACHE_TOKEN: ${{{{ secrets.CARGO_FLOW_REMOTE_CACHE_TOKEN }}}}\n\
         \x20 CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY: ${{{{ secrets.CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY }}}}\n\
         \x20 # A pull request's code restores from the cache but never feeds it.\n\
         \x20 CARGO_FLOW_REMOTE_CACHE_READ_ONLY: ${{{{ github.event_name == 'pull_request' }}}}\n\
         \x20 # So each job of a pull request runs what its steps need rather than take it from there.\n\
         \x20 ONLY: ${{{{ github.event_name != 'pull_request' && '--only' || '' }}}}\n\
         jobs:\n",
        name = quoted(&plan.workflow),
    )
}

fn job(
    out: &mut String,
    plan: &Plan,
    export: &Export<'_>,
    unit: &Unit,
    (ids, u): (&[String], usize),
) {
    let first = &plan.steps[unit.steps[0]];
    let title = match unit.matrix {
        true => first.declared.clone().unwrap_or_else(|| first.id.clone()),
        false => unit
            .steps
            .iter()
            .map(|&i| plan.steps[i].id.as_str())
            .collect::<Vec<_>>()
            .join(" → "),
    };
    out.push_str(&format!("  {}:\n    name: {}\n", ids[u], quoted(&title)));
    if !unit.needs.is_empty() {
        let needs: Vec<&str> = unit.needs.iter().map(|&n| ids[n].as_str()).collect();
        out.push_str(&format!("    needs: [{}]\n", needs.join(", ")));
    }
    // A step that runs after a failure or a skip decides so itself, in the job.
    if unit.steps.iter().any(|&i| {
        let step = &plan.steps[i];
        step.condition.as_ref().is_some_and(|c| c.status_aware())
    }) {
        out.push_str("    if: ${{ !cancelled() }}\n");
    }
    out.push_str("    runs-on: ubuntu-latest\n");
    if let Some(minutes) = minutes(plan, unit) {
        out.push_str(&format!("    timeout-minutes: {minutes}\n"));
    }
    if unit.matrix {
        let ids: Vec<String> = unit
            .steps
            .iter()
            .map(|&i| quoted(&plan.steps[i].id))
            .collect();
        out.push_str(&format!(
            "    strategy:\n      fail-fast: false\n      matrix:\n        step: [{}]\n",
            ids.join(", ")
        ));
    }
    let line = command_line(plan, export, unit);
    out.push_str(
        "    steps:\n      - uses: actions/checkout@v5\n      - uses: dtolnay/rust-toolchain@stable\n",
    );
    out.push_str(&format!(
        "      - name: Install cargo flow\n        run: cargo install cargo-flow --locked --version {}\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(&format!(
        "      - name: {}\n",
        quoted(&format!("Run {title}"))
    ));
    if unit.matrix {
        out.push_str("        env:\n          STEP: ${{ matrix.step }}\n");
    }
    out.push_str(&format!("        run: {}\n", quoted(&line)));
}

/// The job's `cargo flow run` line: its steps named (a matrix's through `$STEP`), the
/// context repeated, and `$ONLY`.
fn command_line(plan: &Plan, export: &Export<'_>, unit: &Unit) -> String {
    let mut words = vec![
        "cargo".to_string(),
        "flow".into(),
        "run".into(),
        export.target.into(),
    ];
    if !unit.matrix {
        words.extend(unit.steps.iter().map(|&i| plan.steps[i].id.clone()));
    }
    let mut line = shell_words::join(&words);
    if unit.matrix {
        // The step's id reaches the shell through the environment, never as code.
        line.push_str(" \"$STEP\"");
    }
    for word in &export.context {
        line.push(' ');
        line.push_str(&shell_words::quote(word));
    }
    // `--only` on pushes; a pull request's jobs cannot store what the next job needs
    // (its cache is read-only), so each runs what its steps need, restoring what it can.
    line.push_str(" $ONLY");
    line
}

/// The job's `timeout-minutes`: the timeouts of the steps that run in it (for a matrix, in
/// one of its jobs), with a quarter of an hour to set up; none when a step has none.
fn minutes(plan: &Plan, unit: &Unit) -> Option<u64> {
    let limit = |i: usize| match plan.steps[i].timeout {
        Timeout::After(d) => Some(d),
        Timeout::Quiet { limit, .. } => Some(limit),
        Timeout::Never => None,
    };
    let runs: Vec<usize> = match unit.matrix {
        true => unit.steps[..1].to_vec(),
        false => unit.steps.clone(),
    };
    let mut seconds = 0u64;
    let mut seen = BTreeSet::new();
    for i in runs {
        seen.insert(i);
        for j in run_here(plan, i, &mut seen) {
            seconds = seconds.saturating_add(limit(j)?.as_secs());
        }
    }
    Some(seconds.div_ceil(60).saturating_add(15))
}

/// `i` and the steps without `cache:` before it, which run with it, each once.
fn run_here(plan: &Plan, i: usize, seen: &mut BTreeSet<usize>) -> Vec<usize> {
    let mut found = vec![i];
    let mut todo = plan.steps[i].deps.clone();
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            if plan.steps[d].cache.is_none() {
                found.push(d);
            }
            todo.extend(&plan.steps[d].deps);
        }
    }
    found
}

/// Text as a YAML string that reads back as itself whatever it holds (`0x10`, `True`):
/// single-quoted, quotes doubled, or double-quoted with escapes when it holds a control
/// character.
fn quoted(text: &str) -> String {
    if text.chars().any(char::is_control) {
        return serde_json::to_string(text).unwrap_or_default();
    }
    format!("'{}'", text.replace('\'', "''"))
}
