//! The engine through the real binary: ordering, failures, timeouts, output and reports.

mod common;

use std::time::Duration;

use common::{Flow, fixture, root, survivors, write_files};

#[test]
fn seed_simple_runs_in_order() {
    Flow::at(root())
        .args(["run", "fixtures/seed/example-simple.yaml", "-v"])
        .run()
        .code(0)
        .stderr_in_order(&["✓ build", "✓ test", "✓ deploy"])
        .stderr_has(&["Finished example-simple: 3 succeeded"]);
}

#[test]
fn seed_development_cycle_with_context() {
    let log = Flow::new()
        .file("dev.yaml", &fixture("seed/development-cycle.yaml"))
        .args(["run", "dev.yaml", "--context", "target=librex/equilibria"])
        .args(["--context", "env=staging"])
        .run()
        .code(0)
        .log("development-cycle", "benchmark");
    assert_eq!(
        log,
        "python benchmark.py --target librex/equilibria --env staging\n"
    );
}

#[test]
fn context_values_cannot_inject_shell_syntax() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[("dev.yaml", &fixture("seed/development-cycle.yaml"))],
    );
    for hostile in [
        "x; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "a && touch pwned",
        "x\ntouch pwned",
        "'; touch pwned; '",
    ] {
        let ran = Flow::at(dir)
            .args(["run", "dev.yaml", "--context", &format!("target={hostile}")])
            .args(["--context", "env=e"])
            .run()
            .code(0);
        assert!(!dir.join("pwned").exists(), "{hostile} ran a command");
        // The value arrives as text, split into words as any unquoted shell variable is.
        let words: Vec<&str> = hostile.split_whitespace().collect();
        assert_eq!(
            ran.log("development-cycle", "test"),
            format!("pytest {}\n", words.join(" ")),
            "the literal text arrives"
        );
    }
}

#[test]
fn seed_failure_handling_skips_dependents_and_runs_independents() {
    Flow::at(root())
        .args(["run", "fixtures/seed/failure-handling.yaml"])
        .run()
        .code(1)
        .stderr_has(&["✗ unit-tests", "(exit 3)", "✓ integration-tests"])
        // The failure's output is shown.
        .stderr_has(&["unit tests failing"])
        .stderr_has(&[
            "- report skipped: unit-tests failed",
            "Failed failure-handling: 2 succeeded, 1 failed, 1 skipped",
        ]);
}

#[test]
fn no_waves_a_fast_branch_finishes_before_a_slow_sibling() {
    Flow::new()
        .workflow(
            "steps:\n  - id: slow\n    run: sleep 1.5\n  - id: fast\n    run: echo fast\n  - id: after-fast\n    run: echo after\n    depends_on: [fast]\n",
        )
        .args(["run", "wf.yaml", "-j", "2"])
        .run()
        .success()
        .stderr_in_order(&["✓ after-fast", "✓ slow"]);
}

#[test]
fn critical_path_first_at_j1() {
    let ran = Flow::new()
        .workflow(
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
        )
        .args(["run", "wf.yaml", "-j", "1"])
        .run()
        .success();
    assert_eq!(
        ran.read("order").split_whitespace().collect::<Vec<_>>(),
        ["link0", "link1", "free0", "free1", "link2"]
    );
}

#[test]
fn parallelism_is_bounded() {
    // Each step records how many run at once, using a lock-free count of marker files.
    let mut yaml = String::from("steps:\n");
    for i in 0..8 {
        yaml.push_str(&format!(
            "  - id: s{i}\n    run: touch running.{i}; ls running.* | wc -l >> counts; sleep 0.2; rm running.{i}\n"
        ));
    }
    let ran = Flow::new()
        .workflow(&yaml)
        .args(["run", "wf.yaml", "-j", "3"])
        .run()
        .success();
    let max = ran
        .read("counts")
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .max()
        .expect("a count");
    assert!(max <= 3, "at most 3 at once, saw {max}");
    assert!(max >= 2, "steps ran in parallel, saw {max}");
}

#[test]
fn selected_steps_run_with_what_they_need_only() {
    Flow::at(root())
        .args(["run", "fixtures/seed/example-simple.yaml", "test"])
        .run()
        .success()
        .stderr_has(&["✓ build", "✓ test"])
        .stderr_lacks(&["deploy"]);
    // The bare form too.
    Flow::at(root())
        .args(["fixtures/seed/example-simple.yaml", "build"])
        .run()
        .success()
        .stderr_lacks(&["✓ test"]);
}

#[test]
fn processes_get_their_environment_cwd_and_closed_stdin() {
    let ran = Flow::new()
        .folder("sub")
        .workflow(
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
        )
        .args(["run", "wf.yaml"])
        .run()
        .success();
    let log = ran.log("envwf", "show");
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some("envwf show from-workflow from-step"));
    assert!(lines.next().expect("pwd").ends_with("/sub"));
    assert_eq!(
        ran.log("envwf", "argv"),
        "a b|$HOME|",
        "the list form passes arguments as they are, with no shell"
    );
}

#[test]
fn failures_are_named() {
    common::run_workflow(
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
    )
    .code(1)
    .stderr_has(&["✗ segv", "killed by SIGSEGV"])
    .stderr_has(&["exit 127: command not found"])
    .stderr_has(&["command not found: `no-such-program-flow-test`"]);
}

#[test]
fn fail_fast_starts_nothing_new() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    Flow::at(dir)
        .workflow("steps:\n  - id: bad\n    run: exit 1\n  - id: later\n    run: touch ran\n")
        .args(["run", "wf.yaml", "-j", "1", "--fail-fast"])
        .run()
        .code(1)
        .stderr_has(&["- later skipped: --fail-fast after bad failed"]);
    assert!(!dir.join("ran").exists());
    // Without it, the independent step runs.
    Flow::at(dir)
        .args(["run", "wf.yaml", "-j", "1"])
        .run()
        .code(1);
    assert!(dir.join("ran").exists());
}

#[test]
fn timeouts_stop_the_whole_tree() {
    let marker = format!("flowtimeout{}", std::process::id());
    let ran = Flow::new()
        .workflow(&format!(
            "steps:\n  - id: tree\n    run: \"echo before; (trap '' TERM; sh -c 'sleep 60; true' {marker}) & sh -c 'trap \\\"\\\" TERM; sleep 61; true' {marker} & sleep 62\"\n    timeout: 1s\n"
        ))
        .args(["run", "wf.yaml", "--grace", "1s"])
        .run()
        .code(1)
        .stderr_has(&["⏱ tree timed out after 1s"]);
    assert!(ran.took() < Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(survivors(&marker), Vec::<String>::new());
    assert_eq!(
        ran.log("wf", "tree"),
        "before\n",
        "output before the kill is kept"
    );
}

#[test]
fn timeout_none_and_cli_default() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = || Flow::at(tmp.path()).args(["run", "wf.yaml"]);
    run()
        .workflow("timeout: 1s\nsteps:\n  - id: a\n    run: sleep 1.5\n")
        .run()
        .code(1);
    run().args(["--timeout", "none"]).run().success();
}

#[test]
fn a_leaky_child_does_not_hang_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("flowleak{}", std::process::id());
    let yaml =
        format!("steps:\n  - id: leaky\n    run: \"(sleep 60; echo {marker}) & echo started\"\n");
    write_files(tmp.path(), &[("wf.yaml", &yaml)]);
    // Grouped output goes straight to the log; streamed output goes through a pipe that the
    // background job holds open.
    for mode in ["grouped", "stream"] {
        let mut ran = Flow::at(tmp.path())
            .args(["run", "wf.yaml", "--output", mode])
            .run()
            .success();
        assert!(
            ran.took() < Duration::from_secs(10),
            "{mode} took {:?}",
            ran.took()
        );
        if mode == "stream" {
            ran = ran.stderr_has(&["held its output open; they were killed", "[leaky] started"]);
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(survivors(&marker), Vec::<String>::new(), "{mode}");
        assert_eq!(ran.log("wf", "leaky"), "started\n");
    }
}

#[test]
fn background_jobs_do_not_outlive_their_step() {
    let marker = format!("flowbg{}", std::process::id());
    let _ran = common::run_workflow(&format!(
        "steps:\n  - id: bg\n    run: \"sleep 60 >/dev/null 2>&1 & # {marker}\"\n"
    ))
    .success();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[test]
fn json_report_has_a_version_and_every_step() {
    let v = Flow::new()
        .file("f.yaml", &fixture("seed/failure-handling.yaml"))
        .args(["run", "f.yaml", "--report", "json=report.json"])
        .run()
        .code(1)
        .json("report.json");
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
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: talk\n    run: echo one; echo two\n  - id: bad\n    run: echo oops; exit 2\n",
        )],
    );
    let run = |args: &[&str]| {
        Flow::at(tmp.path())
            .args(["run", "wf.yaml"])
            .args(args)
            .run()
    };
    run(&["--output", "stream"]).stderr_has(&["[talk] one", "[talk] two", "[bad]  oops"]);
    run(&[])
        .stderr_lacks(&["one"])
        .stderr_has(&["oops", "full log:"]);
    run(&["-v"]).stderr_has(&["one", "oops"]);
    run(&["-v", "--output", "failed"])
        .stderr_lacks(&["one"])
        .stderr_has(&["oops"]);
    run(&["--output", "none"])
        .stderr_lacks(&["oops"])
        .stderr_has(&["✗ bad"]);
    run(&["-q"])
        .stderr_lacks(&["✓ talk"])
        .stderr_has(&["✗ bad"]);
}

#[test]
fn github_actions_folds_and_annotations() {
    Flow::new()
        .workflow("steps:\n  - id: bad\n    run: echo oops; exit 2\n")
        .env("GITHUB_ACTIONS", "true")
        .args(["run", "wf.yaml"])
        .run()
        .stderr_has(&["::error title=step bad failed::bad: exit 2"])
        .stderr_has(&["::group::bad output", "::endgroup::"]);
}

#[test]
fn summary_shows_critical_path_and_times() {
    Flow::at(root())
        .args(["run", "fixtures/seed/example-simple.yaml"])
        .run()
        .stderr_has(&["critical path: build -> test -> deploy", "of step time"]);
}

#[test]
fn an_unwritable_log_folder_fails_before_any_step() {
    let ran = Flow::new()
        .workflow("steps:\n  - id: a\n    run: touch ran\n")
        // A file where the target folder should be.
        .file("target", "not a folder")
        .args(["run", "wf.yaml"])
        .refused(&["cannot create the log folder"]);
    assert!(!ran.dir().join("ran").exists());
}

#[test]
fn killed_by_sigkill_is_named() {
    let ran = common::run_workflow("steps:\n  - id: doomed\n    run: echo before; kill -KILL $$\n")
        .code(1)
        .stderr_has(&["✗ doomed", "killed by SIGKILL"]);
    assert_eq!(ran.log("wf", "doomed"), "before\n");
}

#[test]
fn invalid_utf8_and_very_long_lines_are_kept_exactly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: odd\n    run: \"printf 'bad \\\\377\\\\376 bytes\\\\n'; head -c 1000000 /dev/zero | tr '\\\\0' x; printf '\\\\nend\\\\n'; exit 1\"\n",
        )],
    );
    for mode in ["grouped", "stream"] {
        Flow::at(tmp.path())
            .args(["run", "wf.yaml", "--output", mode])
            .run()
            .code(1)
            // Shown with replacement characters.
            .stderr_has(&["bad \u{fffd}\u{fffd} bytes", "end"])
            .stderr_lacks(&["panicked"]);
        let log = std::fs::read(tmp.path().join("target/flow/logs/wf/odd.log")).expect("log");
        assert_eq!(
            log.len(),
            13 + 1_000_000 + 5,
            "{mode}: every byte is in the log"
        );
        assert_eq!(&log[..13], b"bad \xff\xfe bytes\n");
    }
}

#[test]
fn ci_logs_get_a_heartbeat_while_steps_run_silently() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = |every: &str| {
        Flow::at(tmp.path())
            .env("CARGO_FLOW_HEARTBEAT", every)
            .args(["run", "wf.yaml"])
    };
    run("1s")
        .workflow("steps:\n  - id: quiet\n    run: sleep 2.5\n")
        .run()
        .success()
        .stderr_has(&["… still running: quiet ("]);
    run("soon").run().code(2);
}

/// Steps start with the signal dispositions a plain `exec` would give them: what cargo flow
/// was started ignoring stays ignored (as under `nohup`), and SIGPIPE, which cargo flow
/// ignores for itself, is back to its default.
#[cfg(target_os = "linux")]
#[test]
fn steps_inherit_ignored_signals_but_not_sigpipe() {
    let text = Flow::new()
        .workflow(
            "steps:\n  - id: sig\n    run: awk '/^SigIgn/ { print $2 }' /proc/self/status > ignored.txt\n",
        )
        .after_shell("trap '' USR2")
        .args(["flow", "run", "wf.yaml"])
        .run()
        .success()
        .read("ignored.txt");
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
    Flow::new()
        .workflow(
            "steps:\n  - id: a\n    run: sleep 1.5\n  - id: b\n    run: 'true'\n  - id: c\n    run: 'true'\n",
        )
        .args(["run", "wf.yaml", "-j", "2"])
        .run()
        .success()
        .stderr_in_order(&["✓ c", "✓ a"]);
}

#[test]
fn without_path_plain_commands_are_found_where_execvp_looks() {
    Flow::new()
        .workflow("steps:\n  - id: plain\n    run: 'true'\n")
        .env_remove("PATH")
        .args(["run", "wf.yaml"])
        .run()
        .success();
}

#[test]
fn a_step_is_reported_while_the_next_step_of_its_chain_runs() {
    // `b` is started by the worker that ran `a`, without waiting for the scheduler; `a` must
    // still be reported as soon as `b` is under way, not when `b` ends: `b` only ends once
    // the test has seen `a`'s line.
    use std::io::BufRead;
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: a\n    run: 'true'\n  - id: b\n    run: i=0; while [ ! -f go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f go\n    depends_on: [a]\n",
        )],
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
    let dir = tmp.path();
    Flow::at(dir)
        .workflow("steps:\n  - id: a\n    run: touch ran\n    cwd: a-file\n")
        .file("a-file", "")
        .args(["run", "wf.yaml"])
        .run()
        .stderr_has(&["its working directory", "is not a folder"]);
    Flow::at(dir)
        .args(["list", "--manifest-path", "."])
        .refused(&["manifest path `.` is a folder"]);
    std::fs::create_dir(dir.join("a-folder")).expect("mkdir");
    write_files(
        dir,
        &[("wf.yaml", "steps:\n  - id: a\n    run: touch ran\n")],
    );
    for report in ["json=a-folder", "json=missing/r.json"] {
        Flow::at(dir)
            .args(["run", "wf.yaml", "--report", report])
            .refused(&["cannot write the report"]);
        assert!(
            !dir.join("ran").exists(),
            "a step ran before the report was checked"
        );
    }
}

#[test]
fn a_report_into_a_device_or_a_link_is_written_into_it_never_over_it() {
    let ran = Flow::new()
        .workflow("steps:\n  - id: a\n    run: \"true\"\n")
        .file("real.json", "")
        .args(["run", "wf.yaml", "--report", "json=/dev/stdout"])
        .run()
        .success()
        .stdout_has(&["\"version\": 1"]);
    assert!(
        std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.file_type().is_symlink()),
        "/dev/stdout was replaced"
    );
    std::os::unix::fs::symlink(ran.dir().join("real.json"), ran.dir().join("link.json"))
        .expect("link");
    Flow::at(ran.dir())
        .args(["run", "wf.yaml", "--report", "json=link.json"])
        .run()
        .success();
    assert!(
        std::fs::symlink_metadata(ran.dir().join("link.json"))
            .is_ok_and(|m| m.file_type().is_symlink())
    );
    assert!(ran.read("real.json").contains("\"version\": 1"));
}

#[test]
fn a_script_without_a_shebang_runs_as_sh_would_run_it() {
    let ran = common::Flow::new()
        .file("dev.sh", "echo from-script > out\n")
        .after_shell("chmod +x dev.sh")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: s\n    run: ./dev.sh\n",
        )
        .args(["ci"])
        .run()
        .success();
    let out = std::fs::read_to_string(ran.dir().join("out")).unwrap_or_default();
    assert_eq!(out, "from-script\n");
}
