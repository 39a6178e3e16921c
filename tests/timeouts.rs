//! The default timeout stops a step that does nothing (no output, no CPU time) for its quiet
//! time, never one that works quietly or keeps writing; `timeout: {quiet, limit}` sets both,
//! and the line of a step stopped says how to change it.

mod common;

use std::time::Duration;

use common::{Flow, survivors};

fn run(step: &str) -> common::Ran {
    Flow::new()
        .workflow(&format!("name: t\nsteps:\n  - id: s\n{step}"))
        .args(["run", "wf.yaml", "--grace", "1s"])
        .timeout(Duration::from_secs(60))
        .run()
}

#[test]
fn a_step_that_does_nothing_is_stopped_after_its_quiet_time_with_what_it_left() {
    let marker = format!("flowquiet{}", std::process::id());
    let ran = run(&format!(
        "    timeout: {{quiet: 1s}}\n    run: echo started; sh -c 'sleep 60; true' {marker} & sleep 61\n"
    ))
    .code(1)
    .stderr_has(&[
        "⏱ s timed out: no output and no CPU time for 1s",
        "set `timeout:` on the step to change it",
    ]);
    assert!(ran.took() < Duration::from_secs(20), "{:?}", ran.took());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(survivors(&marker), Vec::<String>::new());
    assert_eq!(ran.log("t", "s"), "started\n");
}

#[test]
fn a_step_that_keeps_writing_is_not_quiet() {
    run("    timeout: {quiet: 1s}\n    run: for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.4; done\n")
        .success();
}

#[test]
fn a_step_that_works_without_a_word_is_not_quiet() {
    // Three seconds of CPU time and no output: a compiler on a big crate.
    run("    timeout: {quiet: 1s}\n    run: end=$(($(date +%s) + 3)); while [ $(date +%s) -lt $end ]; do :; done\n")
        .success();
}

#[test]
fn the_limit_stops_a_step_however_busy() {
    run("    timeout: {quiet: 30s, limit: 1s}\n    run: while :; do echo busy; sleep 0.1; done\n")
        .code(1)
        .stderr_has(&["⏱ s timed out after 1s"]);
}

#[test]
fn the_default_is_shown_and_a_timeout_map_is_checked() {
    run("    run: 'true'\n    timeout: {quite: 1s, limit: none}\n")
        .code(2)
        .stderr_has(&[
            "unknown key `quite` in `timeout`",
            "`limit` in `timeout` must be a duration",
        ]);
    Flow::new()
        .workflow("name: t\nsteps:\n  - id: s\n    run: 'true'\n")
        .args(["run", "wf.yaml", "--dry-run"])
        .run()
        .success()
        .stdout_has(&["timeout: 5m without output or CPU time, 1h at most"]);
    Flow::new()
        .args(["run", "--help"])
        .run()
        .success()
        .stdout_has(&["stopped after 5m with no output and no CPU time"])
        .stdout_lacks(&["[default: 5m]"]);
}
