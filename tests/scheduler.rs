//! Properties of the scheduler on random DAGs with random outcomes, using a fake executor so
//! that thousands of runs take seconds.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use cargo_flow::{
    Event, EventKind, Executor, Outcome, Plan, ReportError, Reporter, RunOptions, Status, StepEnd,
    StepError, Stop, Upstream,
};
use proptest::prelude::*;

/// A plan from dependency lists (each step depends only on earlier ones), made as any plan is:
/// from a workflow's text.
fn plan_of(deps: Vec<Vec<usize>>) -> Plan {
    plan_with_groups(deps, &[])
}

/// A plan as [`plan_of`] makes it, step `i` in the `exclusive` group `g{groups[i]}`.
fn plan_with_groups(deps: Vec<Vec<usize>>, groups: &[Option<u8>]) -> Plan {
    let mut yaml = String::from("name: prop\nsteps:\n");
    for (i, d) in deps.iter().enumerate() {
        let names: Vec<String> = d.iter().map(|p| format!("s{p}")).collect();
        yaml.push_str(&format!(
            "  - id: s{i}\n    run: \"true\"\n    timeout: none\n    depends_on: [{}]\n",
            names.join(", ")
        ));
        if let Some(Some(g)) = groups.get(i) {
            yaml.push_str(&format!("    exclusive: g{g}\n"));
        }
    }
    let wf = cargo_flow::parse(Path::new("/nonexistent/prop.yaml"), &yaml).expect("parses");
    cargo_flow::plan(&wf, &[]).expect("acyclic by construction")
}

#[derive(Default)]
struct Watch {
    succeeded: Vec<bool>,
    started: Vec<bool>,
    /// Steps in the order they started.
    order: Vec<usize>,
    running: usize,
    max_running: usize,
    /// The steps running now.
    now: Vec<usize>,
    violations: Vec<String>,
}

struct Fake<'a> {
    plan: &'a Plan,
    fails: Vec<bool>,
    watch: Mutex<Watch>,
}

impl Executor for Fake<'_> {
    fn execute(
        &self,
        i: usize,
        _upstream: &Upstream,
        _emit: &(dyn Fn(EventKind) + Sync),
        _under_way: &dyn Fn(),
    ) -> Outcome {
        {
            let mut w = self.watch.lock().expect("lock");
            for &d in self.plan.steps()[i].deps() {
                if !w.succeeded[d] {
                    w.violations
                        .push(format!("s{i} started before its dependency s{d} succeeded"));
                }
            }
            if w.started[i] {
                w.violations.push(format!("s{i} started twice"));
            }
            w.started[i] = true;
            w.order.push(i);
            let groups = self.plan.steps()[i].exclusive();
            for &r in &w.now.clone() {
                if self.plan.steps()[r]
                    .exclusive()
                    .iter()
                    .any(|g| groups.contains(g))
                {
                    w.violations
                        .push(format!("s{i} started while s{r} of its group ran"));
                }
            }
            w.now.push(i);
            w.running += 1;
            w.max_running = w.max_running.max(w.running);
        }
        // Let other workers interleave.
        if i.is_multiple_of(3) {
            std::thread::yield_now();
        } else if i.is_multiple_of(5) {
            std::thread::sleep(Duration::from_micros(50));
        }
        let mut w = self.watch.lock().expect("lock");
        w.now.retain(|&r| r != i);
        w.running -= 1;
        w.succeeded[i] = !self.fails[i];
        let status = if self.fails[i] {
            Status::Failed { code: 1 }
        } else {
            Status::Success
        };
        Outcome::of(status)
    }

    fn stop(&self, _how: Stop) {}
}

impl<'a> Fake<'a> {
    /// A fake for `plan` whose step `i` fails when `fails[i]`.
    fn new(plan: &'a Plan, fails: Vec<bool>) -> Self {
        let n = plan.steps().len();
        let watch = Watch {
            succeeded: vec![false; n],
            started: vec![false; n],
            ..Watch::default()
        };
        Fake {
            plan,
            fails,
            watch: Mutex::new(watch),
        }
    }
}

/// Run options with `parallel` workers and a grace period of a second.
fn options(parallel: usize, fail_fast: bool) -> RunOptions {
    RunOptions {
        parallel,
        fail_fast,
        grace: Duration::from_secs(1),
        jobserver: None,
        affected: None,
    }
}

#[derive(Default)]
struct Record {
    terminal: Vec<usize>,
}

impl Reporter for Record {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        match &event.kind {
            EventKind::StepFinished { step, .. } | EventKind::StepSkipped { step, .. } => {
                self.terminal.push(*step)
            }
            _ => {}
        }
        Ok(())
    }
}

fn dag() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<bool>)> {
    (1usize..40).prop_flat_map(|n| {
        let deps = (0..n)
            .map(|i| {
                if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    proptest::collection::vec(0..i, 0..4).boxed()
                }
            })
            .collect::<Vec<_>>();
        let fails = proptest::collection::vec(proptest::bool::weighted(0.15), n);
        (deps, fails)
    })
}

/// A plan from `dag()`'s dependency lists, which may name a step more than once.
fn plan_of_dag(deps: Vec<Vec<usize>>) -> Plan {
    let deps = deps.into_iter().map(|mut d| {
        d.sort_unstable();
        d.dedup();
        d
    });
    plan_of(deps.collect())
}

fn descendants(plan: &Plan, roots: impl Iterator<Item = usize>) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = roots
        .flat_map(|r| plan.steps()[r].dependents().to_vec())
        .collect();
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(plan.steps()[i].dependents().iter().copied());
        }
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn steps_of_one_exclusive_group_never_run_at_once(
        (deps, fails) in dag(),
        groups in proptest::collection::vec(proptest::option::of(0u8..2), 40),
        parallel in 1usize..=6,
    ) {
        let deps = deps.into_iter().map(|mut d| { d.sort_unstable(); d.dedup(); d }).collect();
        let plan = plan_with_groups(deps, &groups);
        let n = plan.steps().len();
        let fake = Fake::new(&plan, fails);
        let mut record = Record::default();
        cargo_flow::run(&plan, &fake, &options(parallel, false), &mut record, |_| {});
        let watch = fake.watch.into_inner().expect("lock");
        prop_assert!(watch.violations.is_empty(), "{:?}", watch.violations);
        let mut terminal = record.terminal.clone();
        terminal.sort_unstable();
        prop_assert_eq!(terminal, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn a_jobserver_bounds_the_steps_at_once_and_gets_its_tokens_back(
        (deps, fails) in dag(),
        parallel in 1usize..=6,
        tokens in 0usize..=3,
    ) {
        let plan = plan_of_dag(deps);
        let n = plan.steps().len();
        let fake = Fake::new(&plan, fails);
        let client = jobserver::Client::new(tokens).expect("a jobserver");
        let options = RunOptions { jobserver: Some(client.clone()), ..options(parallel, false) };
        let mut record = Record::default();
        cargo_flow::run(&plan, &fake, &options, &mut record, |_| {});
        let watch = fake.watch.into_inner().expect("lock");
        prop_assert!(watch.violations.is_empty(), "{:?}", watch.violations);
        let bound = parallel.min(tokens + 1);
        prop_assert!(watch.max_running <= bound, "{} at once, with -j {} and {} tokens", watch.max_running, parallel, tokens);
        let mut terminal = record.terminal.clone();
        terminal.sort_unstable();
        prop_assert_eq!(terminal, (0..n).collect::<Vec<_>>());
        prop_assert_eq!(client.available().expect("tokens"), tokens);
    }

    #[test]
    fn scheduling_properties((deps, fails) in dag(), parallel in 1usize..=8) {
        let plan = plan_of_dag(deps);
        let n = plan.steps().len();
        let fake = Fake::new(&plan, fails.clone());
        let mut record = Record::default();
        let options = options(parallel, false);
        let (summary, _) = cargo_flow::run(&plan, &fake, &options, &mut record, |_| {});
        let watch = fake.watch.into_inner().expect("lock");

        prop_assert!(watch.violations.is_empty(), "{:?}", watch.violations);
        prop_assert!(watch.max_running <= parallel, "{} running at once with -j {}", watch.max_running, parallel);

        // Exactly one terminal event per step.
        let mut terminal = record.terminal.clone();
        terminal.sort_unstable();
        prop_assert_eq!(terminal, (0..n).collect::<Vec<_>>());

        // Skipped are exactly the descendants of the steps that failed.
        let failed: Vec<usize> = (0..n).filter(|&i| matches!(&summary.steps[i], StepEnd::Ran(o) if !o.status.is_success())).collect();
        let expected = descendants(&plan, failed.iter().copied());
        let skipped: HashSet<usize> = (0..n).filter(|&i| matches!(summary.steps[i], StepEnd::Skipped(_))).collect();
        prop_assert_eq!(&skipped, &expected);
        // Everything else ran, and failed exactly when it was meant to.
        for (i, end) in summary.steps.iter().enumerate() {
            if let StepEnd::Ran(o) = end {
                prop_assert_eq!(o.status.is_success(), !fails[i]);
                prop_assert!(watch.started[i]);
            } else {
                prop_assert!(!watch.started[i]);
            }
        }
        prop_assert_eq!(summary.exit_code(), i32::from(!failed.is_empty()));
    }

    #[test]
    fn one_at_a_time_the_highest_ranked_ready_step_starts_next((deps, _) in dag()) {
        // Steps a worker starts on its own, as the scheduler offered ahead, must follow the
        // same order as steps the scheduler starts itself: most work behind it first, then
        // declaration order.
        let plan = plan_of_dag(deps);
        let n = plan.steps().len();
        let fake = Fake::new(&plan, vec![false; n]);
        let options = options(1, false);
        cargo_flow::run(&plan, &fake, &options, &mut Record::default(), |_| {});
        let order = fake.watch.into_inner().expect("lock").order;

        let mut pending: Vec<usize> = plan.steps().iter().map(|s| s.deps().len()).collect();
        let mut ready: std::collections::BinaryHeap<(u64, std::cmp::Reverse<usize>)> = (0..n)
            .filter(|&i| pending[i] == 0)
            .map(|i| (plan.steps()[i].weight(), std::cmp::Reverse(i)))
            .collect();
        let mut expected = Vec::new();
        while let Some((_, std::cmp::Reverse(i))) = ready.pop() {
            expected.push(i);
            for &d in plan.steps()[i].dependents() {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push((plan.steps()[d].weight(), std::cmp::Reverse(d)));
                }
            }
        }
        prop_assert_eq!(order, expected);
    }

    #[test]
    fn fail_fast_starts_nothing_after_a_failure((deps, fails) in dag()) {
        let plan = plan_of_dag(deps);
        let n = plan.steps().len();
        let fake = Fake::new(&plan, fails.clone());
        let mut record = Record::default();
        // One at a time, so "after" is well defined.
        let options = options(1, true);
        let (summary, _) = cargo_flow::run(&plan, &fake, &options, &mut record, |_| {});
        let ran: Vec<usize> = (0..n).filter(|&i| matches!(summary.steps[i], StepEnd::Ran(_))).collect();
        let failures = ran.iter().filter(|&&i| fails[i]).count();
        prop_assert!(failures <= 1, "with -j 1 and --fail-fast at most one step fails");
        prop_assert_eq!(record.terminal.len(), n);
    }
}

struct Panics;

impl Executor for Panics {
    fn execute(
        &self,
        i: usize,
        _upstream: &Upstream,
        _emit: &(dyn Fn(EventKind) + Sync),
        _under_way: &dyn Fn(),
    ) -> Outcome {
        if i == 0 {
            panic!("simulated bug");
        }
        Outcome::of(Status::Success)
    }

    fn stop(&self, _how: Stop) {}
}

#[test]
fn a_panicking_step_ends_as_an_error_instead_of_hanging_the_run() {
    let plan = plan_of(vec![vec![], vec![0], vec![]]);
    let options = options(2, false);
    let (summary, _) = cargo_flow::run(&plan, &Panics, &options, &mut Record::default(), |_| {});
    match &summary.steps[0] {
        StepEnd::Ran(o) => assert_eq!(
            o.status,
            Status::Errored(StepError::Internal("simulated bug".into()))
        ),
        StepEnd::Skipped(r) => panic!("skipped: {r:?}"),
    }
    assert!(matches!(summary.steps[1], StepEnd::Skipped(_)));
    assert!(matches!(&summary.steps[2], StepEnd::Ran(o) if o.status.is_success()));
    assert_eq!(summary.exit_code(), 1);
}

/// Steps that run until they are stopped, or for `lasting`; with `term_ignored`, only
/// SIGKILL stops them.
#[derive(Default)]
struct UntilStopped {
    stopped: Mutex<Vec<usize>>,
    woken: std::sync::Condvar,
    started: Mutex<Vec<usize>>,
    lasting: Duration,
    term_ignored: bool,
}

impl Executor for UntilStopped {
    fn execute(
        &self,
        i: usize,
        _upstream: &Upstream,
        _emit: &(dyn Fn(EventKind) + Sync),
        _under_way: &dyn Fn(),
    ) -> Outcome {
        self.started.lock().expect("lock").push(i);
        let stopped = self.stopped.lock().expect("lock");
        let (stopped, _) = self
            .woken
            .wait_timeout_while(stopped, self.lasting, |s| !s.contains(&i))
            .expect("lock");
        match stopped.contains(&i) {
            true => Outcome::of(Status::Interrupted),
            false => Outcome::of(Status::Success),
        }
    }

    fn stop(&self, _how: Stop) {}

    fn stop_steps(&self, steps: &[usize], how: Stop) {
        if self.term_ignored && how == Stop::Term {
            return;
        }
        self.stopped.lock().expect("lock").extend(steps);
        self.woken.notify_all();
    }
}

#[derive(Default)]
struct Restarts(Vec<Option<Vec<usize>>>);

impl Reporter for Restarts {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        if let EventKind::Restarting { stopped, .. } = &event.kind {
            self.0.push(stopped.clone());
        }
        Ok(())
    }
}

/// A change (`--watch`) stops the steps it affects and those after them; the others run on.
#[test]
fn a_restart_stops_only_the_steps_it_names() {
    // s0 and s1 run first; s2 comes after s0, s3 after s1.
    let plan = plan_of(vec![vec![], vec![], vec![0], vec![1]]);
    let executor = UntilStopped {
        lasting: Duration::from_millis(300),
        ..UntilStopped::default()
    };
    let mut restarts = Restarts::default();
    let (summary, _) = cargo_flow::run(&plan, &executor, &options(2, false), &mut restarts, |tx| {
        let path = "src/a.rs".to_string();
        let steps = Some(vec![0, 2]);
        std::thread::spawn(move || {
            tx.send(cargo_flow::Message::Restart { path, steps })
                .is_ok()
        });
    });
    let status = |i: usize| match &summary.steps[i] {
        StepEnd::Ran(o) => format!("{:?}", o.status),
        StepEnd::Skipped(r) => format!("skipped {r:?}"),
    };
    assert_eq!(
        (0..4).map(status).collect::<Vec<_>>(),
        ["Interrupted", "Success", "skipped Interrupted", "Success"]
    );
    assert_eq!(restarts.0, [Some(vec![0])]);
    assert!(!executor.started.lock().expect("lock").contains(&2));
}

/// Each change's steps get their SIGKILL after the grace period, however many changes come
/// after it.
#[test]
fn every_change_kills_what_it_stopped_after_the_grace_period() {
    let plan = plan_of(vec![vec![], vec![]]);
    let executor = UntilStopped {
        lasting: Duration::from_secs(30),
        term_ignored: true,
        ..UntilStopped::default()
    };
    let started = std::time::Instant::now();
    let (summary, _) = cargo_flow::run(
        &plan,
        &executor,
        &options(2, false),
        &mut Record::default(),
        |tx| {
            std::thread::spawn(move || {
                for step in [0, 1] {
                    let (path, steps) = (format!("f{step}"), Some(vec![step]));
                    let _ = tx.send(cargo_flow::Message::Restart { path, steps });
                    std::thread::sleep(Duration::from_millis(300));
                }
            });
        },
    );
    for end in &summary.steps {
        assert!(
            matches!(end, StepEnd::Ran(o) if o.status == Status::Interrupted),
            "{end:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
