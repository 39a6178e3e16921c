//! SIGINT and SIGTERM to cargo flow: every step's process tree is stopped, the summary is
//! printed, and the exit code is 130 or 143.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{survivors, write_files};

fn interrupt(signals: &[i32], grace: &str) -> (Option<i32>, String, Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!(
        "flowsig{}x{}",
        std::process::id(),
        signals.len() * 100 + signals[0] as usize
    );
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            &format!(
                "steps:
  - id: stubborn
    run: \"(trap '' TERM; sh -c 'sleep 60; true' {marker}) & trap '' TERM; touch started.a; sleep 60\"
  - id: plain
    run: \"sh -c 'sleep 60; true' {marker} & touch started.b; wait\"
  - id: later
    run: touch never
    depends_on: [plain]
"
            ),
        )],
    );
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(["run", "wf.yaml", "--grace", grace])
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(tmp.path().join("started.a").exists() && tmp.path().join("started.b").exists()) {
        assert!(Instant::now() < deadline, "steps did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    for &sig in signals {
        // SAFETY: kill with a valid pid and signal.
        unsafe { libc::kill(child.id() as i32, sig) };
        std::thread::sleep(Duration::from_millis(150));
    }
    let out = child.wait_with_output().expect("waits");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !tmp.path().join("never").exists(),
        "a step started after the interrupt"
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        survivors(&marker),
    )
}

#[test]
fn sigint_stops_every_tree_and_exits_130() {
    let (code, err, left) = interrupt(&[libc::SIGINT], "1s");
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(left, Vec::<String>::new(), "{err}");
    assert!(err.contains("Interrupted by SIGINT"), "{err}");
    assert!(err.contains("- later skipped: interrupted"), "{err}");
    assert!(
        err.contains("Interrupted (SIGINT) wf"),
        "the summary is printed: {err}"
    );
}

#[test]
fn sigterm_alone_exits_143_with_no_survivors() {
    let (code, err, left) = interrupt(&[libc::SIGTERM], "1s");
    assert_eq!(code, Some(143), "{err}");
    assert_eq!(left, Vec::<String>::new(), "{err}");
}

#[test]
fn a_second_sigint_kills_at_once() {
    let started = Instant::now();
    let (code, err, left) = interrupt(&[libc::SIGINT, libc::SIGINT], "30s");
    assert_eq!(code, Some(130), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the grace period was not cut short"
    );
    assert!(err.contains("again: killing every step now"), "{err}");
    assert_eq!(left, Vec::<String>::new(), "{err}");
}

#[test]
fn sighup_stops_every_tree_too() {
    let (code, err, left) = interrupt(&[libc::SIGHUP], "1s");
    assert_eq!(code, Some(129), "{err}");
    assert_eq!(left, Vec::<String>::new(), "{err}");
}

#[test]
fn a_signal_in_the_first_milliseconds_of_a_run_still_stops_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: s\n    run: touch started; sleep 30\n",
        )],
    );
    let begun = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(["run", "wf.yaml"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    while !tmp.path().join("started").exists() {
        assert!(
            begun.elapsed() < Duration::from_secs(20),
            "the step did not start"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    // Most likely before signals are forwarded (20 ms into the run): the signal waits and
    // is forwarded then.
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(130));
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "the step was not stopped"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
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
    for (last, expected) in [("true", Some(0)), ("sleep 60", Some(130))] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let marker = format!("flowescape{}x{}", std::process::id(), last.len());
        write_files(
            tmp.path(),
            &[("wf.yaml", &escaping_workflow(&marker, last))],
        );
        let child = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
            .args(["run", "wf.yaml", "--grace", "1s"])
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !tmp.path().join("started").exists() {
            assert!(Instant::now() < deadline, "the step did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            survivors(&marker).len() >= 4,
            "the escapes did not happen: {:?}",
            survivors(&marker)
        );
        std::fs::write(tmp.path().join("go"), "").expect("go");
        if expected == Some(130) {
            std::thread::sleep(Duration::from_millis(200));
            // SAFETY: kill with a valid pid and signal.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
        let out = child.wait_with_output().expect("waits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), expected, "{err}");
        assert_eq!(survivors(&marker), Vec::<String>::new(), "{err}");
        assert!(
            err.contains("that steps left running outside their process groups"),
            "{err}"
        );
    }
}
