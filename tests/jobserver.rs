//! One jobserver for the whole run: nested `make` (and so `cargo`, `cc`) in steps share the
//! run's `-j` slots, each running step holding one, as GNU make's protocol has it.

mod common;

use common::{Flow, Ran};

/// Six jobs of 0.4 s; each writes how many run at that moment (itself included).
const MAKEFILE: &str = "JOBS := a b c d e f
all: $(JOBS)
$(JOBS):
\t@mkdir -p $(DIR)/running && touch $(DIR)/running/$@.$$$$ && ls $(DIR)/running | wc -l >> $(DIR)/counts && sleep 0.4 && rm $(DIR)/running/$@.$$$$
.PHONY: all $(JOBS)
";

/// Runs `yaml` with `args` beside the makefile; returns the run and the most jobs seen at once.
fn run_peak(yaml: &str, args: &[&str]) -> (Ran, usize) {
    let flow = Flow::new().file("jobs.mk", MAKEFILE).workflow(yaml);
    let ran = flow.args(["run", "wf.yaml"]).args(args).run();
    let counts = std::fs::read_to_string(ran.dir().join("counts")).unwrap_or_default();
    let peak = counts
        .lines()
        .filter_map(|l| l.trim().parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    (ran, peak)
}

const TWO_MAKES: &str = "name: j
steps:
  - id: one
    run: make -s -f jobs.mk DIR=$PWD
  - id: two
    run: make -s -f jobs.mk DIR=$PWD
";

#[test]
fn steps_run_side_by_side_in_the_runs_slots() {
    // Each succeeds only if the other starts while it runs.
    let meet = |me: &str, other: &str| {
        format!(
            "touch {me}; for i in $(seq 100); do [ -e {other} ] && exit 0; sleep 0.05; done; exit 1"
        )
    };
    let yaml = format!(
        "name: j\nsteps:\n  - id: a\n    run: '{}'\n  - id: b\n    run: '{}'\n  - id: c\n    run: '{}'\n",
        meet("a", "b"),
        meet("b", "c"),
        meet("c", "a")
    );
    common::run_workflow(&yaml).success();
}

#[test]
fn nested_makes_share_the_runs_slots() {
    // Under -j 3, two makes without -j run 3 jobs between them, not 2 and not 12.
    let (ran, peak) = run_peak(TWO_MAKES, &["-j", "3"]);
    ran.success();
    assert_eq!(peak, 3, "jobs at once");
    // One make alone takes every slot.
    let one = "name: j\nsteps:\n  - id: one\n    run: make -s -f jobs.mk DIR=$PWD\n";
    let (ran, peak) = run_peak(one, &["-j", "3"]);
    ran.success();
    assert_eq!(peak, 3, "jobs at once");
}

#[test]
fn without_a_jobserver_each_make_runs_alone() {
    let (ran, peak) = run_peak(TWO_MAKES, &["-j", "3", "--no-jobserver"]);
    ran.success();
    assert_eq!(peak, 2, "one job per make");
    let opted_out = "name: j\nsteps:\n  - id: one\n    jobserver: false\n    run: make -s -f jobs.mk DIR=$PWD\n";
    let (ran, peak) = run_peak(opted_out, &["-j", "3"]);
    ran.success();
    assert_eq!(peak, 1, "a step that asks for no jobserver gets none");
}

#[test]
fn a_nested_run_joins_the_outer_jobserver() {
    // The inner run asks for 4 at once; the outer allows 2 in all.
    let inner = "name: inner\nsteps:\n".to_string()
        + &(0..4)
            .map(|i| format!("  - id: s{i}\n    run: make -s -f jobs.mk DIR=$PWD JOBS=x{i}\n"))
            .collect::<String>();
    let outer = format!(
        "name: j\nsteps:\n  - id: nested\n    run: {} flow run inner.yaml -j 4 -q\n",
        env!("CARGO_BIN_EXE_cargo-flow")
    );
    let ran = Flow::new()
        .file("jobs.mk", MAKEFILE)
        .file("inner.yaml", &inner)
        .workflow(&outer)
        .args(["run", "wf.yaml", "-j", "2"])
        .run()
        .success();
    let counts = std::fs::read_to_string(ran.dir().join("counts")).expect("counts");
    let peak = counts
        .lines()
        .filter_map(|l| l.trim().parse::<usize>().ok())
        .max();
    assert_eq!(peak, Some(2), "{counts}");
}
