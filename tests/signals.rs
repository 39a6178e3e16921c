//! SIGINT and SIGTERM to cargo flow: every step's process tree is stopped, the summary is
//! printed, and the exit code is 130 or 143.

mod common;

use std::time::{Duration, Instant};

use common::{Flow, Ran, survivors, wait_for, wait_for_all};

/// Sends `signals` once both steps are under way, and checks that no step starts after them
/// and no process of any step survives them.
fn interrupt(signals: &[i32], grace: &str) -> Ran {
    let marker = format!(
        "flowsig{}x{}",
        std::process::id(),
        signals.len() * 100 + signals[0] as usize
    );
    let running = Flow::new()
        .workflow(&format!(
            "steps:
  - id: stubborn
    run: \"(trap '' TERM; sh -c 'sleep 60; true' {marker}) & trap '' TERM; touch started.a; sleep 60\"
  - id: plain
    run: \"sh -c 'sleep 60; true' {marker} & touch started.b; wait\"
  - id: later
    run: touch never
    depends_on: [plain]
"
        ))
        .args(["run", "wf.yaml", "--grace", grace])
        .spawn();
    let dir = running.dir();
    wait_for_all(
        &[&dir.join("started.a"), &dir.join("started.b")],
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(100));
    for &sig in signals {
        running.signal(sig);
        std::thread::sleep(Duration::from_millis(150));
    }
    let ran = running.wait();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !ran.dir().join("never").exists(),
        "a step started after the interrupt"
    );
    assert_eq!(survivors(&marker), Vec::<String>::new(), "{}", ran.stderr());
    ran
}

#[test]
fn sigint_stops_every_tree_and_exits_130() {
    interrupt(&[libc::SIGINT], "1s")
        .code(130)
        .stderr_has(&["Interrupted by SIGINT", "- later skipped: interrupted"])
        // The summary is printed.
        .stderr_has(&["Interrupted (SIGINT) wf"]);
}

#[test]
fn sigterm_alone_exits_143_with_no_survivors() {
    interrupt(&[libc::SIGTERM], "1s").code(143);
}

#[test]
fn a_second_sigint_kills_at_once() {
    let started = Instant::now();
    interrupt(&[libc::SIGINT, libc::SIGINT], "30s")
        .code(130)
        .stderr_has(&["again: killing every step now"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the grace period was not cut short"
    );
}

#[test]
fn sighup_stops_every_tree_too() {
    interrupt(&[libc::SIGHUP], "1s").code(129);
}

#[test]
fn a_signal_in_the_first_milliseconds_of_a_run_still_stops_it() {
    let flow = Flow::new()
        .workflow("steps:\n  - id: s\n    run: touch started; sleep 30\n")
        .args(["run", "wf.yaml"]);
    let begun = Instant::now();
    let running = flow.spawn();
    while !running.dir().join("started").exists() {
        assert!(
            begun.elapsed() < Duration::from_secs(20),
            "the step did not start"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    // Most likely before signals are forwarded (20 ms into the run): the signal waits and
    // is forwarded then.
    running.signal(libc::SIGINT);
    running.wait().code(130).stderr_has(&["interrupted"]);
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "the step was not stopped"
    );
}

/// A step whose processes leave its group in every way a shell and a program can.
fn escaping_workflow(marker: &str, last: &str) -> String {
    format!(
        "steps:
  - id: escapes
    run: |
      setsid sh -c 'sleep 60; true {marker}-setsid' &
      bash -c 'set -m; (trap \"\" TERM; sleep 60; true {marker}-job) & disown' &
      python3 -c 'import os, time, sys; os.setpgrp(); os.fork() or time.sleep(60)' {marker}-python &
      sh -c 'setsid sh -c \"sleep 60; true {marker}-double\" & exit 0'
      touch started
      while [ ! -e go ]; do sleep 0.02; done
      {last}
"
    )
}

#[test]
fn processes_that_leave_their_group_do_not_outlive_the_run() {
    for (last, expected) in [("true", 0), ("sleep 60", 130)] {
        let marker = format!("flowescape{}x{}", std::process::id(), last.len());
        let running = Flow::new()
            .workflow(&escaping_workflow(&marker, last))
            .args(["run", "wf.yaml", "--grace", "1s"])
            .spawn();
        wait_for(&running.dir().join("started"), Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            survivors(&marker).len() >= 4,
            "the escapes did not happen: {:?}",
            survivors(&marker)
        );
        std::fs::write(running.dir().join("go"), "").expect("go");
        if expected == 130 {
            std::thread::sleep(Duration::from_millis(200));
            running.signal(libc::SIGINT);
        }
        let ran = running
            .wait()
            .code(expected)
            .stderr_has(&["that steps left running outside their process groups"]);
        assert_eq!(survivors(&marker), Vec::<String>::new(), "{}", ran.stderr());
    }
}
