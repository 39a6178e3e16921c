//! Retries (flaky steps, backoff, timeouts, Ctrl-C) and `if:` conditions, through the binary.

mod common;

use std::time::{Duration, Instant};

use common::{Flow, fixture, wait_for, workflow_dir};

/// A step that fails until its `n`-th attempt, counting attempts in a file.
fn passes_on(n: u32) -> String {
    format!(
        "c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; echo attempt $c; [ $c -ge {n} ]"
    )
}

#[test]
fn a_step_that_passes_after_failing_is_flaky() {
    let ran = Flow::new()
        .workflow(&format!(
            "name: wf\nsteps:\n  - id: shaky\n    retry: 3\n    run: \"{}\"\n",
            passes_on(2)
        ))
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .run()
        .success()
        .stderr_has(&["↻ shaky failed (exit 1) retrying now (attempt 2 of 4)"])
        .stderr_has(&["✓ shaky", "(flaky: passed on attempt 2 of 4)"])
        .stderr_has(&["1 succeeded (1 flaky)"]);
    assert_eq!(
        ran.log("wf", "shaky"),
        "--- cargo flow: attempt 1 of 4 ---\nattempt 1\n\n--- cargo flow: attempt 2 of 4 ---\nattempt 2\n",
        "each attempt has its own section"
    );
    let report = ran.json("r.json");
    assert_eq!(report["steps"][0]["flaky"], true);
    assert_eq!(report["steps"][0]["attempts"], 2);
    assert_eq!(report["steps"][0]["status"], "success");
}

#[test]
fn retries_run_out_and_the_step_fails() {
    let tmp = workflow_dir(&format!(
        "name: wf\nretry: 2\nsteps:\n  - id: broken\n    run: \"{}\"\n",
        passes_on(99)
    ));
    let ran = Flow::at(tmp.path())
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .run()
        .code(1);
    assert_eq!(
        ran.read("count").trim(),
        "3",
        "the workflow default applies"
    );
    assert_eq!(ran.json("r.json")["steps"][0]["attempts"], 3);
    // --retries is used by steps that set none, over the workflow's default.
    std::fs::remove_file(tmp.path().join("count")).expect("rm");
    let ran = Flow::at(tmp.path())
        .args(["run", "wf.yaml", "--retries", "0"])
        .run()
        .code(1);
    assert_eq!(ran.read("count").trim(), "1");
}

#[test]
fn backoff_waits_grow_and_are_capped() {
    let tmp = workflow_dir(
        "name: wf\nsteps:\n  - id: slow\n    run: exit 1\n    retry: {attempts: 2, delay: 300ms, backoff: exponential}\n  - id: capped\n    run: exit 1\n    retry: {attempts: 3, delay: 2s, backoff: exponential, max_delay: 100ms, jitter: true}\n",
    );
    let run = |step: &str| Flow::at(tmp.path()).args(["run", "wf.yaml", step]).run();
    let ran = Flow::at(tmp.path())
        .args(["run", "wf.yaml", "slow", "--report", "json=r.json"])
        .run()
        .code(1)
        .stderr_has(&["retrying in 0.6s (attempt 3 of 3)"]);
    let took = ran.took();
    assert!(
        took >= Duration::from_millis(900),
        "300ms then 600ms, took {took:?}"
    );
    // A step's time is all the time spent on it, its waits included.
    let step_ms = ran.json("r.json")["steps"][0]["duration_ms"].as_u64();
    assert!(step_ms.is_some_and(|ms| ms >= 900), "{step_ms:?}");
    let ran = run("capped").code(1);
    assert!(
        ran.took() < Duration::from_secs(2),
        "capped at 100ms each, took {:?}",
        ran.took()
    );
}

#[test]
fn a_timeout_is_a_failed_attempt() {
    let ran = Flow::new()
        .workflow(
            "name: wf\nsteps:\n  - id: hang\n    run: echo try >> tries; sleep 30\n    timeout: 300ms\n    retry: 1\n",
        )
        .args(["run", "wf.yaml", "--grace", "100ms"])
        .run()
        .code(1)
        .stderr_has(&["↻ hang failed (timed out after 300ms)"])
        .stderr_has(&["⏱ hang timed out after 300ms"]);
    assert_eq!(ran.read("tries"), "try\ntry\n");
}

#[test]
fn ctrl_c_stops_retrying() {
    let running = Flow::new()
        .workflow(
            "name: wf\nsteps:\n  - id: doomed\n    run: echo try >> tries; exit 1\n    retry: {attempts: 5, delay: 10s}\n",
        )
        .args(["run", "wf.yaml"])
        .spawn();
    wait_for(&running.dir().join("tries"), Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    running.signal(libc::SIGINT);
    let ran = running.wait().code(130);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 10s wait was cut short"
    );
    assert_eq!(ran.read("tries"), "try\n", "no retry after Ctrl-C");
}

#[test]
fn seed_report_step_runs_always_after_a_failure() {
    let seed = fixture("seed/failure-handling.yaml");
    let with_always = seed.replace(
        "  - id: report\n    run: echo generate-report\n",
        "  - id: report\n    run: echo generate-report\n    if: always()\n",
    );
    assert_ne!(seed, with_always);
    common::run_workflow(&with_always)
        // The failure still fails the run.
        .code(1)
        .stderr_has(&["✗ unit-tests", "✓ report"]);
}

#[test]
fn conditions_skip_and_dependents_see_skipped_not_failed() {
    let tmp = workflow_dir(
        "name: wf
context:
  env: staging
steps:
  - id: build
    run: echo build
  - id: deploy
    run: echo deploy
    depends_on: build
    if: env == 'prod'
  - id: announce
    run: echo announce
    depends_on: deploy
  - id: on-failure
    run: echo cleanup
    depends_on: deploy
    if: failure()
  - id: staging-only
    run: echo staging
    if: env == 'staging' && env.FLOW_TEST_FLAG == 'yes' && os != ''
  - id: make-file
    run: touch made
  - id: sees-file
    run: echo sees
    depends_on: make-file
    if: exists('made') && !exists('not-made')
",
    );
    Flow::at(tmp.path())
        .env("FLOW_TEST_FLAG", "yes")
        .args(["run", "wf.yaml"])
        .run()
        // Skipped steps are not failures.
        .code(0)
        .stderr_has(&["- deploy skipped: condition false: env == 'prod'"])
        .stderr_has(&["- announce skipped: deploy was skipped"])
        .stderr_has(&["- on-failure skipped: condition false: failure()"])
        .stderr_has(&["✓ staging-only"])
        // exists() looks when the step is ready.
        .stderr_has(&["✓ sees-file"]);
    // The seed's users pass `--context env=...`; it wins over the default.
    Flow::at(tmp.path())
        .args(["run", "wf.yaml", "-c", "env=prod", "deploy"])
        .run()
        .stderr_has(&["✓ deploy"]);
}

#[test]
fn failure_runs_only_after_a_failure() {
    common::run_workflow("name: wf\nsteps:\n  - id: test\n    run: exit 3\n  - id: notify\n    run: echo notify\n    depends_on: test\n    if: failure()\n  - id: next\n    run: echo next\n    depends_on: test\n",)
        .code(1)
        .stderr_has(&["✓ notify", "- next skipped: test failed"]);
}
