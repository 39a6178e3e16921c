//! The engine through the real binary: ordering, failures, timeouts, output and reports.

mod common;

use std::time::{Duration, Instant};

use common::{flow, root, stderr, survivors, workflow};

#[test]
fn seed_simple_runs_in_order() {
    let out = flow(&root())
        .args(["run", "fixtures/seed/example-simple.yaml", "-v"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let pos = |s: &str| {
        err.find(s)
            .unwrap_or_else(|| panic!("{s} missing in {err}"))
    };
    assert!(
        pos("✓ build") < pos("✓ test") && pos("✓ test") < pos("✓ deploy"),
        "{err}"
    );
    assert!(
        err.contains("Finished example-simple: 3 succeeded"),
        "{err}"
    );
}

#[test]
fn seed_development_cycle_with_context() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("fixtures/seed/development-cycle.yaml"),
        tmp.path().join("dev.yaml"),
    )
    .expect("copy");
    let out = flow(tmp.path())
        .args([
            "run",
            "dev.yaml",
            "--context",
            "target=librex/equilibria",
            "--context",
            "env=staging",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = common::read_log(
        &tmp.path()
            .join("target/flow/logs/development-cycle/benchmark.log"),
    );
    assert_eq!(
        log,
        "python benchmark.py --target librex/equilibria --env staging\n"
    );
}

#[test]
fn context_values_cannot_inject_shell_syntax() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("fixtures/seed/development-cycle.yaml"),
        tmp.path().join("dev.yaml"),
    )
    .expect("copy");
    for hostile in [
        "x; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "a && touch pwned",
        "x\ntouch pwned",
        "'; touch pwned; '",
    ] {
        let out = flow(tmp.path())
            .args([
                "run",
                "dev.yaml",
                "--context",
                &format!("target={hostile}"),
                "--context",
                "env=e",
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{hostile}: {}", stderr(&out));
        assert!(
            !tmp.path().join("pwned").exists(),
            "{hostile} ran a command"
        );
        let log = common::read_log(
            &tmp.path()
                .join("target/flow/logs/development-cycle/test.log"),
        );
        // The value arrives as text, split into words as any unquoted shell variable is.
        let words: Vec<&str> = hostile.split_whitespace().collect();
        assert_eq!(
            log,
            format!("pytest {}\n", words.join(" ")),
            "the literal text arrives"
        );
    }
}

#[test]
fn seed_failure_handling_skips_dependents_and_runs_independents() {
    let out = flow(&root())
        .args(["run", "fixtures/seed/failure-handling.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("✗ unit-tests"), "{err}");
    assert!(err.contains("(exit 3)"), "{err}");
    assert!(
        err.contains("unit tests failing"),
        "the failure's output is shown: {err}"
    );
    assert!(err.contains("✓ integration-tests"), "{err}");
    assert!(err.contains("- report skipped: unit-tests failed"), "{err}");
    assert!(
        err.contains("Failed failure-handling: 2 succeeded, 1 failed, 1 skipped"),
        "{err}"
    );
}

#[test]
fn no_waves_a_fast_branch_finishes_before_a_slow_sibling() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: slow\n    run: sleep 1.5\n  - id: fast\n    run: echo fast\n  - id: after-fast\n    run: echo after\n    depends_on: [fast]\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "2"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.find("✓ after-fast").expect("after-fast") < err.find("✓ slow").expect("slow"),
        "{err}"
    );
}

#[test]
fn critical_path_first_at_j1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:
  - id: free0
    run: echo free0 >> order
  - id: free1
    run: echo free1 >> order
  - id: link0
    run: echo link0 >> order
  - id: link1
    run: echo link1 >> order
    depends_on: [link0]
  - id: link2
    run: echo link2 >> order
    depends_on: [link1]
",
    );
    flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "1"])
        .assert()
        .success();
    let order = std::fs::read_to_string(tmp.path().join("order")).expect("order");
    assert_eq!(
        order.split_whitespace().collect::<Vec<_>>(),
        ["link0", "link1", "free0", "free1", "link2"]
    );
}

#[test]
fn parallelism_is_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Each step records how many run at once, using a lock-free count of marker files.
    let mut yaml = String::from("steps:\n");
    for i in 0..8 {
        yaml.push_str(&format!(
            "  - id: s{i}\n    run: touch running.{i}; ls running.* | wc -l >> counts; sleep 0.2; rm running.{i}\n"
        ));
    }
    workflow(tmp.path(), &yaml);
    flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "3"])
        .assert()
        .success();
    let counts = std::fs::read_to_string(tmp.path().join("counts")).expect("counts");
    let max = counts
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .max()
        .expect("a count");
    assert!(max <= 3, "at most 3 at once, saw {max}");
    assert!(max >= 2, "steps ran in parallel, saw {max}");
}

#[test]
fn selected_steps_run_with_what_they_need_only() {
    let out = flow(&root())
        .args(["run", "fixtures/seed/example-simple.yaml", "test"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("✓ build") && err.contains("✓ test") && !err.contains("deploy"),
        "{err}"
    );
    // The bare form too.
    let out = flow(&root())
        .args(["fixtures/seed/example-simple.yaml", "build"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(!stderr(&out).contains("✓ test"));
}

#[test]
fn processes_get_their_environment_cwd_and_closed_stdin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join("sub")).expect("mkdir");
    workflow(
        tmp.path(),
        "name: envwf
env:
  SHARED: from-workflow
steps:
  - id: show
    run: echo $FLOW_WORKFLOW $FLOW_STEP $SHARED $OWN; pwd; cat
    cwd: sub
    env:
      OWN: from-step
  - id: argv
    run: [printf, '%s|', 'a b', $HOME]
",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = common::read_log(&tmp.path().join("target/flow/logs/envwf/show.log"));
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some("envwf show from-workflow from-step"));
    assert!(lines.next().expect("pwd").ends_with("/sub"));
    let argv = common::read_log(&tmp.path().join("target/flow/logs/envwf/argv.log"));
    assert_eq!(
        argv, "a b|$HOME|",
        "the list form passes arguments as they are, with no shell"
    );
}

#[test]
fn failures_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:
  - id: segv
    run: kill -SEGV $$
  - id: missing
    run: no-such-command-flow-test && true
  - id: missing-argv
    run: [no-such-program-flow-test]
  - id: plain-missing
    run: no-such-program-flow-test --flag
",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("✗ segv") && err.contains("killed by SIGSEGV"),
        "{err}"
    );
    assert!(err.contains("exit 127: command not found"), "{err}");
    assert!(
        err.contains("command not found: `no-such-program-flow-test`"),
        "{err}"
    );
}

#[test]
fn fail_fast_starts_nothing_new() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: bad\n    run: exit 1\n  - id: later\n    run: touch ran\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "1", "--fail-fast"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("- later skipped: --fail-fast after bad failed"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("ran").exists());
    // Without it, the independent step runs.
    flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "1"])
        .assert()
        .code(1);
    assert!(tmp.path().join("ran").exists());
}

#[test]
fn timeouts_stop_the_whole_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("flowtimeout{}", std::process::id());
    workflow(
        tmp.path(),
        &format!(
            "steps:\n  - id: tree\n    run: \"echo before; (trap '' TERM; sh -c 'sleep 60; true' {marker}) & sh -c 'trap \\\"\\\" TERM; sleep 61; true' {marker} & sleep 62\"\n    timeout: 1s\n"
        ),
    );
    let started = Instant::now();
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "--grace", "1s"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        stderr(&out).contains("⏱ tree timed out after 1s"),
        "{}",
        stderr(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(survivors(&marker), Vec::<String>::new());
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/tree.log"));
    assert_eq!(log, "before\n", "output before the kill is kept");
}

#[test]
fn timeout_none_and_cli_default() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "timeout: 1s\nsteps:\n  - id: a\n    run: sleep 1.5\n",
    );
    flow(tmp.path()).args(["run", "wf.yaml"]).assert().code(1);
    flow(tmp.path())
        .args(["run", "wf.yaml", "--timeout", "none"])
        .assert()
        .success();
}

#[test]
fn a_leaky_child_does_not_hang_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("flowleak{}", std::process::id());
    workflow(
        tmp.path(),
        &format!("steps:\n  - id: leaky\n    run: \"(sleep 60; echo {marker}) & echo started\"\n"),
    );
    // Grouped output goes straight to the log; streamed output goes through a pipe that the
    // background job holds open.
    for mode in ["grouped", "stream"] {
        let started = Instant::now();
        let out = flow(tmp.path())
            .args(["run", "wf.yaml", "--output", mode])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{mode} took {:?}",
            started.elapsed()
        );
        if mode == "stream" {
            assert!(
                stderr(&out).contains("held its output open; they were killed"),
                "{}",
                stderr(&out)
            );
            assert!(stderr(&out).contains("[leaky] started"), "{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(survivors(&marker), Vec::<String>::new(), "{mode}");
        let log = common::read_log(&tmp.path().join("target/flow/logs/wf/leaky.log"));
        assert_eq!(log, "started\n");
    }
}

#[test]
fn background_jobs_do_not_outlive_their_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("flowbg{}", std::process::id());
    workflow(
        tmp.path(),
        &format!("steps:\n  - id: bg\n    run: \"sleep 60 >/dev/null 2>&1 & # {marker}\"\n"),
    );
    flow(tmp.path()).args(["run", "wf.yaml"]).assert().success();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[test]
fn json_report_has_a_version_and_every_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("fixtures/seed/failure-handling.yaml"),
        tmp.path().join("f.yaml"),
    )
    .expect("copy");
    flow(tmp.path())
        .args(["run", "f.yaml", "--report", "json=report.json"])
        .assert()
        .code(1);
    let text = std::fs::read_to_string(tmp.path().join("report.json")).expect("report");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["version"], 1);
    assert_eq!(v["workflow"], "failure-handling");
    assert_eq!(v["exit_code"], 1);
    let steps = v["steps"].as_array().expect("steps");
    let by_id = |id: &str| steps.iter().find(|s| s["id"] == id).expect("step").clone();
    assert_eq!(by_id("unit-tests")["status"], "failed");
    assert_eq!(by_id("unit-tests")["exit_code"], 3);
    assert_eq!(by_id("report")["status"], "skipped");
    assert_eq!(by_id("report")["skipped_because"], "unit-tests failed");
    assert_eq!(by_id("lint")["status"], "success");
}

#[test]
fn output_modes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: talk\n    run: echo one; echo two\n  - id: bad\n    run: echo oops; exit 2\n",
    );
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml", "--output", "stream"])
            .output()
            .expect("runs"),
    );
    assert!(
        err.contains("[talk] one") && err.contains("[talk] two") && err.contains("[bad] oops"),
        "{err}"
    );
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml"])
            .output()
            .expect("runs"),
    );
    assert!(
        !err.contains("one") && err.contains("oops") && err.contains("full log:"),
        "{err}"
    );
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml", "-v"])
            .output()
            .expect("runs"),
    );
    assert!(err.contains("one") && err.contains("oops"), "{err}");
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml", "-v", "--output", "failed"])
            .output()
            .expect("runs"),
    );
    assert!(!err.contains("one") && err.contains("oops"), "{err}");
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml", "--output", "none"])
            .output()
            .expect("runs"),
    );
    assert!(!err.contains("oops") && err.contains("✗ bad"), "{err}");
    let err = stderr(
        &flow(tmp.path())
            .args(["run", "wf.yaml", "-q"])
            .output()
            .expect("runs"),
    );
    assert!(!err.contains("✓ talk") && err.contains("✗ bad"), "{err}");
}

#[test]
fn github_actions_folds_and_annotations() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: bad\n    run: echo oops; exit 2\n",
    );
    let out = flow(tmp.path())
        .env("GITHUB_ACTIONS", "true")
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert!(
        err.contains("::error title=step bad failed::bad: exit 2"),
        "{err}"
    );
    assert!(
        err.contains("::group::bad output") && err.contains("::endgroup::"),
        "{err}"
    );
}

#[test]
fn summary_shows_critical_path_and_times() {
    let out = flow(&root())
        .args(["run", "fixtures/seed/example-simple.yaml"])
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert!(
        err.contains("critical path: build -> test -> deploy"),
        "{err}"
    );
    assert!(err.contains("of step time"), "{err}");
}

#[test]
fn an_unwritable_log_folder_fails_before_any_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(tmp.path(), "steps:\n  - id: a\n    run: touch ran\n");
    // A file where the target folder should be.
    std::fs::write(tmp.path().join("target"), "not a folder").expect("write");
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot create the log folder"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("ran").exists());
}

#[test]
fn killed_by_sigkill_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: doomed\n    run: echo before; kill -KILL $$\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("✗ doomed") && stderr(&out).contains("killed by SIGKILL"),
        "{}",
        stderr(&out)
    );
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/doomed.log"));
    assert_eq!(log, "before\n");
}

#[test]
fn invalid_utf8_and_very_long_lines_are_kept_exactly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: odd\n    run: \"printf 'bad \\\\377\\\\376 bytes\\\\n'; head -c 1000000 /dev/zero | tr '\\\\0' x; printf '\\\\nend\\\\n'; exit 1\"\n",
    );
    for mode in ["grouped", "stream"] {
        let out = flow(tmp.path())
            .args(["run", "wf.yaml", "--output", mode])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let log = std::fs::read(tmp.path().join("target/flow/logs/wf/odd.log")).expect("log");
        assert_eq!(
            log.len(),
            13 + 1_000_000 + 5,
            "{mode}: every byte is in the log"
        );
        assert_eq!(&log[..13], b"bad \xff\xfe bytes\n");
        let err = stderr(&out);
        assert!(
            err.contains("bad \u{fffd}\u{fffd} bytes"),
            "{mode}: shown with replacement characters"
        );
        assert!(err.contains("end"), "{mode}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn ci_logs_get_a_heartbeat_while_steps_run_silently() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(tmp.path(), "steps:\n  - id: quiet\n    run: sleep 2.5\n");
    let out = flow(tmp.path())
        .env("CARGO_FLOW_HEARTBEAT", "1s")
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.contains("… still running: quiet ("), "{err}");
    let out = flow(tmp.path())
        .env("CARGO_FLOW_HEARTBEAT", "soon")
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

/// Steps start with the signal dispositions a plain `exec` would give them: what cargo flow
/// was started ignoring stays ignored (as under `nohup`), and SIGPIPE, which cargo flow
/// ignores for itself, is back to its default.
#[cfg(target_os = "linux")]
#[test]
fn steps_inherit_ignored_signals_but_not_sigpipe() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: sig\n    run: awk '/^SigIgn/ { print $2 }' /proc/self/status > ignored.txt\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("cargo-flow");
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", "trap '' USR2; exec \"$0\" flow run wf.yaml"])
        .arg(&bin)
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(tmp.path().join("ignored.txt")).expect("written");
    let mask = u64::from_str_radix(text.trim(), 16).expect("a hex mask");
    assert_ne!(
        mask & (1 << (libc::SIGUSR2 - 1)),
        0,
        "SIGUSR2 ignored: {text}"
    );
    assert_eq!(
        mask & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE not ignored: {text}"
    );
}

#[test]
fn a_free_worker_takes_a_step_offered_ahead_to_a_busy_one() {
    // `c` is offered to the worker running `a`, the only one busy when it is decided; once
    // `b` ends, its worker must take `c` rather than leave it waiting for `a`.
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: a\n    run: sleep 1.5\n  - id: b\n    run: 'true'\n  - id: c\n    run: 'true'\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-j", "2"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.find("✓ c").expect("c") < err.find("✓ a").expect("a"),
        "{err}"
    );
}

#[test]
fn without_path_plain_commands_are_found_where_execvp_looks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(tmp.path(), "steps:\n  - id: plain\n    run: 'true'\n");
    let out = flow(tmp.path())
        .env_remove("PATH")
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_step_is_reported_while_the_next_step_of_its_chain_runs() {
    // `b` is started by the worker that ran `a`, without waiting for the scheduler; `a` must
    // still be reported as soon as `b` is under way, not when `b` ends: `b` only ends once
    // the test has seen `a`'s line.
    use std::io::BufRead;
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: a\n    run: 'true'\n  - id: b\n    run: i=0; while [ ! -f go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f go\n    depends_on: [a]\n",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-flow"))
        .args(["flow", "run", "wf.yaml"])
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let err = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(err).lines() {
        let line = line.expect("line");
        if line.starts_with("✓ a") {
            std::fs::write(tmp.path().join("go"), "").expect("go");
        }
        seen.push(line);
    }
    let status = child.wait().expect("waits");
    assert!(status.success(), "{}", seen.join("\n"));
}

#[test]
fn messages_say_what_is_wrong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "steps:\n  - id: a\n    run: touch ran\n    cwd: a-file\n",
    );
    std::fs::write(tmp.path().join("a-file"), "").expect("write");
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert!(
        stderr(&out).contains("its working directory") && stderr(&out).contains("is not a folder"),
        "{}",
        stderr(&out)
    );
    let out = flow(tmp.path())
        .args(["list", "--manifest-path", "."])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("manifest path `.` is a folder"),
        "{}",
        stderr(&out)
    );
    std::fs::create_dir(tmp.path().join("a-folder")).expect("mkdir");
    workflow(tmp.path(), "steps:\n  - id: a\n    run: touch ran\n");
    for report in ["json=a-folder", "json=missing/r.json"] {
        let out = flow(tmp.path())
            .args(["run", "wf.yaml", "--report", report])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{report}");
        assert!(
            stderr(&out).contains("cannot write the report"),
            "{}",
            stderr(&out)
        );
        assert!(
            !tmp.path().join("ran").exists(),
            "a step ran before the report was checked"
        );
    }
}
