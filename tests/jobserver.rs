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

#[test]
fn a_step_without_a_jobserver_gets_neither_its_variables_nor_its_pipe() {
    // Standard input is /dev/null and output a log file: any pipe is the jobserver's.
    let yaml = "name: j
steps:
  - id: with
    run: ls -l /proc/self/fd > with.txt; echo \"$MAKEFLAGS\" > with-flags.txt
  - id: without
    jobserver: false
    run: ls -l /proc/self/fd > without.txt; echo \"[$MAKEFLAGS]\" > without-flags.txt
  - id: own
    env:
      MAKEFLAGS: -k
    run: echo \"$MAKEFLAGS\" > own.txt
";
    let ran = common::run_workflow(yaml).success();
    let read = |f: &str| {
        std::fs::read_to_string(ran.dir().join(f))
            .expect(f)
            .trim()
            .to_string()
    };
    // The descriptors the flags name are open pipes in one step, and not open in the other.
    let flags = read("with-flags.txt");
    let fds = flags
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--jobserver-auth="))
        .expect("--jobserver-auth")
        .to_string();
    for fd in fds.split(',') {
        let open = |f: &str| {
            read(f)
                .lines()
                .any(|l| l.contains(&format!(" {fd} -> pipe:")))
        };
        assert!(open("with.txt"), "{fd} in {}", read("with.txt"));
        assert!(!open("without.txt"), "{fd} in {}", read("without.txt"));
    }
    assert_eq!(read("without-flags.txt"), "[]");
    assert!(
        read("own.txt").starts_with("-k -j --jobserver"),
        "{}",
        read("own.txt")
    );
}

#[test]
fn under_an_outer_make_steps_keep_its_flags_and_variables() {
    let show = "FOO = baz\nall:\n\t@echo FOO=[$(FOO)] > foo.txt\n";
    let outer = format!(
        "all:\n\t+{} flow run show.yaml -q\n",
        env!("CARGO_BIN_EXE_cargo-flow")
    );
    let flow = Flow::new()
        .file("Show.mk", show)
        .file("Makefile", &outer)
        .file(
            "show.yaml",
            "name: s\nsteps:\n  - id: s\n    run: make -f Show.mk\n",
        );
    let ran = flow.run();
    let dir = ran.dir().to_path_buf();
    let made = std::process::Command::new("make")
        .args(["-s", "-j2", "FOO=bar"])
        .current_dir(&dir)
        .env_remove("MAKEFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MFLAGS")
        .status()
        .expect("make runs");
    assert!(made.success());
    let foo = std::fs::read_to_string(dir.join("foo.txt")).expect("foo.txt");
    assert_eq!(foo.trim(), "FOO=[bar]");
}
