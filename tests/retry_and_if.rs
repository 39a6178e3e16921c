//! Retries (flaky steps, backoff, timeouts, Ctrl-C) and `if:` conditions, through the binary.

mod common;

use std::time::{Duration, Instant};

use common::{flow, root, stderr, workflow};

/// A step that fails until its `n`-th attempt, counting attempts in a file.
fn passes_on(n: u32) -> String {
    format!(
        "c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; echo attempt $c; [ $c -ge {n} ]"
    )
}

#[test]
fn a_step_that_passes_after_failing_is_flaky() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        &format!(
            "name: wf\nsteps:\n  - id: shaky\n    retry: 3\n    run: \"{}\"\n",
            passes_on(2)
        ),
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("↻ shaky failed (exit 1) retrying now (attempt 2 of 4)"),
        "{err}"
    );
    assert!(
        err.contains("✓ shaky") && err.contains("(flaky: passed on attempt 2 of 4)"),
        "{err}"
    );
    assert!(err.contains("1 succeeded (1 flaky)"), "{err}");
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/shaky.log"));
    assert_eq!(
        log,
        "--- cargo flow: attempt 1 of 4 ---\nattempt 1\n\n--- cargo flow: attempt 2 of 4 ---\nattempt 2\n",
        "each attempt has its own section"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).expect("report"))
            .expect("json");
    assert_eq!(report["steps"][0]["flaky"], true);
    assert_eq!(report["steps"][0]["attempts"], 2);
    assert_eq!(report["steps"][0]["status"], "success");
}

#[test]
fn retries_run_out_and_the_step_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        &format!(
            "name: wf\nretry: 2\nsteps:\n  - id: broken\n    run: \"{}\"\n",
            passes_on(99)
        ),
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("count"))
            .expect("count")
            .trim(),
        "3",
        "the workflow default applies"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).expect("report"))
            .expect("json");
    assert_eq!(report["steps"][0]["attempts"], 3);
    // --retries is used by steps that set none, over the workflow's default.
    std::fs::remove_file(tmp.path().join("count")).expect("rm");
    flow(tmp.path())
        .args(["run", "wf.yaml", "--retries", "0"])
        .assert()
        .code(1);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("count"))
            .expect("count")
            .trim(),
        "1"
    );
}

#[test]
fn backoff_waits_grow_and_are_capped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: slow\n    run: exit 1\n    retry: {attempts: 2, delay: 300ms, backoff: exponential}\n  - id: capped\n    run: exit 1\n    retry: {attempts: 3, delay: 2s, backoff: exponential, max_delay: 100ms, jitter: true}\n",
    );
    let started = Instant::now();
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "slow"])
        .output()
        .expect("runs");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        took >= Duration::from_millis(900),
        "300ms then 600ms, took {took:?}"
    );
    assert!(
        stderr(&out).contains("retrying in 0.6s (attempt 3 of 3)"),
        "{}",
        stderr(&out)
    );
    let started = Instant::now();
    flow(tmp.path())
        .args(["run", "wf.yaml", "capped"])
        .assert()
        .code(1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "capped at 100ms each, took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_timeout_is_a_failed_attempt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: hang\n    run: echo try >> tries; sleep 30\n    timeout: 300ms\n    retry: 1\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "--grace", "100ms"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("tries")).expect("tries"),
        "try\ntry\n"
    );
    assert!(
        stderr(&out).contains("↻ hang failed (timed out after 300ms)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("⏱ hang timed out after 300ms"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ctrl_c_stops_retrying() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: doomed\n    run: echo try >> tries; exit 1\n    retry: {attempts: 5, delay: 10s}\n",
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(["run", "wf.yaml"])
        .current_dir(tmp.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tmp.path().join("tries").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 10s wait was cut short"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("tries")).expect("tries"),
        "try\n",
        "no retry after Ctrl-C"
    );
}

#[test]
fn seed_report_step_runs_always_after_a_failure() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seed =
        std::fs::read_to_string(root().join("fixtures/seed/failure-handling.yaml")).expect("seed");
    let with_always = seed.replace(
        "  - id: report\n    run: echo generate-report\n",
        "  - id: report\n    run: echo generate-report\n    if: always()\n",
    );
    assert_ne!(seed, with_always);
    workflow(tmp.path(), &with_always);
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failure still fails the run"
    );
    let err = stderr(&out);
    assert!(
        err.contains("✗ unit-tests") && err.contains("✓ report"),
        "{err}"
    );
}

#[test]
fn conditions_skip_and_dependents_see_skipped_not_failed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
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
    let out = flow(tmp.path())
        .env("FLOW_TEST_FLAG", "yes")
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "skipped steps are not failures: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("- deploy skipped: condition false: env == 'prod'"),
        "{err}"
    );
    assert!(
        err.contains("- announce skipped: deploy was skipped"),
        "{err}"
    );
    assert!(
        err.contains("- on-failure skipped: condition false: failure()"),
        "{err}"
    );
    assert!(err.contains("✓ staging-only"), "{err}");
    assert!(
        err.contains("✓ sees-file"),
        "exists() looks when the step is ready: {err}"
    );
    // The seed's users pass `--context env=...`; it wins over the default.
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-c", "env=prod", "deploy"])
        .output()
        .expect("runs");
    assert!(stderr(&out).contains("✓ deploy"), "{}", stderr(&out));
}

#[test]
fn failure_runs_only_after_a_failure() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: test\n    run: exit 3\n  - id: notify\n    run: echo notify\n    depends_on: test\n    if: failure()\n  - id: next\n    run: echo next\n    depends_on: test\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("✓ notify") && err.contains("- next skipped: test failed"),
        "{err}"
    );
}
