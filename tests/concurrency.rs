//! One run of a workflow at a time: a second run waits for the first and says so, Ctrl-C
//! while waiting ends it, other workflows run at once, and `cache clean` waits too.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Flow, Running, tempdir_with, wait_for};

const TWO_WORKFLOWS: &str = "workflows:
  slow:
    steps:
      - id: write
        run: |
          touch started
          i=0; while [ $i -lt 1000 ]; do echo \"line $i\"; i=$((i+1)); done
          echo \"value=$$\" >> \"$FLOW_OUTPUT\"
          while [ ! -e release ]; do sleep 0.01; done
  other:
    steps:
      - id: quick
        run: touch other-ran
";

/// Starts `slow` with `first` arguments in `dir`, then, once it is under way, cargo flow with
/// `second`, and checks that the second says it waits for the first.
fn one_behind_the_other(dir: &Path, first: &[&str], second: &[&str]) -> (Running, Running) {
    let first = Flow::at(dir).arg("slow").args(first).spawn();
    wait_for(&dir.join("started"), Duration::from_secs(20));
    let mut second = Flow::at(dir).args(second).spawn();
    let said = second.stderr_line();
    assert!(
        said.contains(&format!(
            "Blocking: waiting for another run of slow (pid {})",
            first.id()
        )),
        "{said}"
    );
    (first, second)
}

#[test]
fn a_second_run_waits_for_the_first_and_neither_corrupts_the_other() {
    let tmp = tempdir_with(&[(".flow.yaml", TWO_WORKFLOWS)]);
    let dir = tmp.path();
    let (first, second) = one_behind_the_other(
        dir,
        &["--report", "json=first.json"],
        &["slow", "--report", "json=second.json"],
    );
    // Another workflow is not held up.
    Flow::at(dir).arg("other").run().success();
    assert!(dir.join("other-ran").exists());
    std::fs::write(dir.join("release"), "").expect("release");
    let first = first.wait().success();
    let second = second.wait().success();
    let log = first.log("slow", "write");
    assert_eq!(log.lines().count(), 1000, "the log is whole");
    assert!(!log.contains('\0'));
    // Each run read its own `$FLOW_OUTPUT`.
    let value =
        |ran: &common::Ran, name: &str| ran.json(name)["steps"][0]["outputs"]["value"].clone();
    assert_ne!(value(&first, "first.json"), value(&second, "second.json"));
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_leaves_the_first_run_alone() {
    let tmp = tempdir_with(&[(".flow.yaml", TWO_WORKFLOWS)]);
    let dir = tmp.path();
    let (first, second) = one_behind_the_other(dir, &[], &["slow"]);
    let sent = Instant::now();
    second.signal(libc::SIGINT);
    let second = second.wait();
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    second
        .code(130)
        .stderr_has(&["while waiting for another run of slow"]);
    std::fs::write(dir.join("release"), "").expect("release");
    first.wait().success();
}

#[test]
fn cache_clean_waits_for_a_run_of_the_workflow() {
    let tmp = tempdir_with(&[(".flow.yaml", TWO_WORKFLOWS)]);
    let dir = tmp.path();
    let (first, clean) = one_behind_the_other(dir, &[], &["cache", "clean", "slow"]);
    std::fs::write(dir.join("release"), "").expect("release");
    first.wait().success();
    clean.wait().success();
}
