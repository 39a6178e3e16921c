//! The cost of each stage at 100, 10,000 and 100,000 steps: parsing and building the model,
//! validating and planning, and the scheduler's own work (with an executor that does
//! nothing, so only scheduling is measured). Run with `cargo bench --bench pipeline`.

use std::path::Path;
use std::time::Duration;

use cargo_flow::{
    Event, EventKind, Executor, Outcome, Plan, ReportError, Reporter, RunOptions, Status, Stop,
    Upstream, Workflow,
};

const SIZES: &[usize] = &[100, 10_000, 100_000];

fn main() {
    divan::main();
}

/// A DAG where each step depends on up to three earlier ones, as YAML.
fn workflow_text(n: usize) -> String {
    let mut s = String::with_capacity(n * 64);
    s.push_str("name: bench\nsteps:\n");
    let mut seed = 7u64;
    for i in 0..n {
        s.push_str(&format!("  - id: s{i}\n    run: echo ${{workflow}} {i}\n"));
        if i > 0 {
            let mut deps = Vec::new();
            for _ in 0..3.min(i) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                deps.push(format!("s{}", (seed >> 33) as usize % i));
            }
            deps.sort();
            deps.dedup();
            s.push_str(&format!("    depends_on: [{}]\n", deps.join(", ")));
        }
    }
    s
}

fn load(text: &str) -> Workflow {
    cargo_flow::parse(Path::new("/bench.yaml"), text).expect("valid workflow")
}

fn planned(wf: &Workflow) -> Plan {
    cargo_flow::plan(wf, &[]).expect("valid plan")
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn parse_and_build(bencher: divan::Bencher, n: usize) {
    let text = workflow_text(n);
    bencher.bench(|| load(&text));
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn validate_and_plan(bencher: divan::Bencher, n: usize) {
    let wf = load(&workflow_text(n));
    bencher.bench(|| planned(&wf));
}

struct Instant;

impl Executor for Instant {
    fn execute(
        &self,
        _index: usize,
        _upstream: &Upstream,
        _emit: &(dyn Fn(EventKind) + Sync),
        _under_way: &dyn Fn(),
    ) -> Outcome {
        Outcome::of(Status::Success)
    }
    fn stop(&self, _how: Stop) {}
}

struct Quiet;

impl Reporter for Quiet {
    fn report(&mut self, _event: &Event) -> Result<(), ReportError> {
        Ok(())
    }
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn schedule(bencher: divan::Bencher, n: usize) {
    let plan = planned(&load(&workflow_text(n)));
    let options = RunOptions {
        parallel: 2,
        fail_fast: false,
        grace: Duration::from_secs(1),
        jobserver: None,
        affected: None,
    };
    bencher.bench(|| cargo_flow::run(&plan, &Instant, &options, &mut Quiet, |_| {}));
}
