//! Caching: a step runs again only when something it depends on changed, says why, and is
//! otherwise reported as cached with its outputs restored.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::{Flow, tempdir_with, wait_for, workflow_dir, write_files};

/// What a run did to each step: its status and the reasons it ran.
struct Run {
    code: i32,
    steps: HashMap<String, (String, Vec<String>)>,
    stderr: String,
}

impl Run {
    fn status(&self, id: &str) -> &str {
        &self.steps[id].0
    }

    fn why(&self, id: &str) -> &[String] {
        &self.steps[id].1
    }

    /// Asserts that `id` ran for a reason that contains `reason`.
    fn ran_because(&self, id: &str, reason: &str) {
        assert_eq!(
            self.status(id),
            "success",
            "{id} should have run\n{}",
            self.stderr
        );
        assert!(
            self.why(id).iter().any(|w| w.contains(reason)),
            "{id} ran because {:?}, expected {reason:?}",
            self.why(id)
        );
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let ran = Flow::at(dir)
        .args(["run", "wf.yaml", "--report", "json=report.json"])
        .args(args)
        .run();
    let report = ran.json("report.json");
    let steps = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            let why = s["ran_because"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|w| w.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (
                s["id"].as_str().unwrap_or_default().to_string(),
                (s["status"].as_str().unwrap_or_default().to_string(), why),
            )
        })
        .collect();
    Run {
        code: ran.status().code().unwrap_or(-1),
        steps,
        stderr: ran.stderr().to_string(),
    }
}

/// A project with a cached `build` that reads `src/**` and writes `out/app`, and a cached
/// `test` after it.
fn project() -> tempfile::TempDir {
    tempdir_with(&[
        ("src/main.txt", "main\n"),
        ("src/lib.txt", "lib\n"),
        ("src/ignored.log", "noise\n"),
        (".gitignore", "*.log\nout/\n"),
        (
            "wf.yaml",
            r#"name: wf
context:
  profile: dev
  unused: x
steps:
  - id: build
    run: mkdir -p out && cat src/*.txt > out/app && echo "size=$(wc -c < out/app)" >> "$FLOW_OUTPUT" && echo "${profile}" > /dev/null
    env:
      LEVEL: "1"
    cache:
      inputs: ["src/**", "extra.cfg"]
      outputs: [out/app]
      env: [FLOW_TEST_FLAG]
  - id: test
    depends_on: build
    run: test -s out/app
    cache:
      inputs: [out/app]
  - id: report
    depends_on: build
    run: echo "size is ${steps.build.outputs.size}"
"#,
        ),
    ])
}

#[test]
fn a_second_run_is_cached_and_restores_outputs() {
    let tmp = project();
    let first = run(tmp.path(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    first.ran_because("build", "no earlier success");
    let second = run(tmp.path(), &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.status("build"), "cached");
    assert_eq!(second.status("test"), "cached");
    // `report` has no cache: it runs, and reads the output that `build` recorded.
    assert_eq!(second.status("report"), "success");
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/report.log"));
    assert_eq!(log, "size is 9\n");
    assert!(
        second.stderr.contains("✓ build cached"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("2 cached"), "{}", second.stderr);
}

#[test]
fn each_change_to_what_a_step_depends_on_runs_it_again() {
    let tmp = project();
    let dir = tmp.path();
    assert_eq!(run(dir, &[]).code, 0);
    let settled = |why: &str| {
        let again = run(dir, &[]);
        assert_eq!(again.status("build"), "cached", "after: {why}");
    };

    write_files(dir, &[("src/main.txt", "main 2\n")]);
    let r = run(dir, &[]);
    r.ran_because("build", "input `src/main.txt` was edited");
    // Its output changed, so the step after it runs too.
    r.ran_because("test", "dependency `build` changed");
    settled("edit");

    write_files(dir, &[("src/new.txt", "new\n")]);
    run(dir, &[]).ran_because("build", "input `src/new.txt` was added");
    settled("add");

    std::fs::remove_file(dir.join("src/new.txt")).expect("remove");
    run(dir, &[]).ran_because("build", "input `src/new.txt` was removed");
    settled("remove");

    write_files(dir, &[("extra.cfg", "x")]);
    run(dir, &[]).ran_because("build", "input `extra.cfg` was added");
    settled("literal input created");

    let r = run(dir, &["--context", "profile=release"]);
    // The command reads the value through the environment: its text is the same.
    r.ran_because("build", "context variable `profile` changed");
    run(dir, &["--context", "profile=release"]);

    let text = Flow::at(dir)
        .args(["run", "wf.yaml", "--context", "profile=release"])
        .args(["--report", "json=report.json"])
        .env("FLOW_TEST_FLAG", "on")
        .run()
        .success()
        .read("report.json");
    assert!(
        text.contains("environment variable `FLOW_TEST_FLAG` was set"),
        "{text}"
    );

    let yaml = std::fs::read_to_string(dir.join("wf.yaml")).expect("read");
    write_files(
        dir,
        &[("wf.yaml", &yaml.replace("LEVEL: \"1\"", "LEVEL: \"2\""))],
    );
    run(dir, &["--context", "profile=release"]).ran_because("build", "its `env.LEVEL` changed");

    write_files(
        dir,
        &[(
            "wf.yaml",
            &yaml.replace("test -s out/app", "test -f out/app"),
        )],
    );
    let r = run(dir, &["--context", "profile=release"]);
    r.ran_because("test", "its command changed");
    run(dir, &["--context", "profile=release"]);

    std::fs::remove_file(dir.join("out/app")).expect("remove output");
    run(dir, &["--context", "profile=release"]).ran_because("build", "output `out/app` is missing");

    write_files(dir, &[("out/app", "tampered")]);
    run(dir, &["--context", "profile=release"])
        .ran_because("build", "output `out/app` was changed");
}

#[test]
fn what_does_not_matter_does_not_run_it_again() {
    let tmp = project();
    let dir = tmp.path();
    assert_eq!(run(dir, &[]).code, 0);
    // Ignored by .gitignore, a file rewritten with the same content (newer time), and an
    // environment variable it does not name. (A context variable it does not name does
    // matter: every step receives every one as `FLOW_CTX_*`.)
    write_files(
        dir,
        &[
            ("src/ignored.log", "more noise\n"),
            ("src/lib.txt", "lib\n"),
        ],
    );
    let ran = Flow::at(dir)
        .args(["run", "wf.yaml", "--report", "json=report.json"])
        .env("SOME_OTHER_VAR", "1")
        .run()
        .success();
    let (text, report) = (ran.read("report.json"), ran.json("report.json"));
    assert_eq!(report["steps"][0]["status"], "cached", "{text}");
    assert_eq!(report["steps"][1]["status"], "cached", "{text}");
    assert!(report["steps"][0]["saved_ms"].is_u64());
    assert!(
        report["steps"][0]["cache_key"]
            .as_str()
            .is_some_and(|k| k.len() == 64)
    );
}

#[test]
fn no_cache_runs_everything_and_still_records() {
    let tmp = project();
    let dir = tmp.path();
    assert_eq!(run(dir, &[]).code, 0);
    let forced = run(dir, &["--no-cache"]);
    forced.ran_because("build", "--no-cache");
    forced.ran_because("test", "--no-cache");
    assert_eq!(run(dir, &[]).status("build"), "cached");
}

#[test]
fn explain_prints_why_each_cached_step_ran() {
    let tmp = project();
    let dir = tmp.path();
    assert_eq!(run(dir, &[]).code, 0);
    write_files(dir, &[("src/lib.txt", "lib 2\n")]);
    Flow::at(dir)
        .args(["run", "wf.yaml", "--explain"])
        .run()
        .stderr_has(&["✓ build", "ran because input `src/lib.txt` was edited"]);
    // Only with --explain or -v.
    Flow::at(dir)
        .args(["run", "wf.yaml"])
        .run()
        .stderr_lacks(&["ran because"]);
}

#[test]
fn failures_are_never_recorded_and_cache_clean_forgets_successes() {
    let tmp = tempdir_with(&[
        ("input.txt", "1"),
        (
            "wf.yaml",
            "name: wf
steps:
  - id: flaky
    run: test \"$(cat input.txt)\" = 1
    cache:
      inputs: [input.txt]
  - id: no-output
    run: 'true'
    cache:
      outputs: ['dist/*.tar']
",
        ),
    ]);
    let dir = tmp.path();
    let first = run(dir, &[]);
    assert_eq!(first.code, 1);
    assert_eq!(first.status("flaky"), "success");
    // A declared output that was not written fails the step, which is then not recorded.
    assert_eq!(first.status("no-output"), "failed");
    assert!(first.stderr.contains("matches no file"), "{}", first.stderr);
    assert!(!dir.join("target/flow/cache/wf/no-output.json").exists());
    assert!(dir.join("target/flow/cache/wf/flaky.json").exists());

    write_files(dir, &[("input.txt", "2")]);
    assert_eq!(run(dir, &[]).status("flaky"), "failed");
    // The failure left the last success's record alone; it matches the old input again.
    write_files(dir, &[("input.txt", "1")]);
    assert_eq!(run(dir, &[]).status("flaky"), "cached");

    Flow::at(dir)
        .args(["cache", "clean"])
        .run()
        .success()
        .stderr_has(&["Removed 1 cache record"]);
    assert!(!dir.join("target/flow/cache/wf").exists());
    run(dir, &[]).ran_because("flaky", "no earlier success");

    // One workflow's records, by name or file.
    Flow::at(dir)
        .args(["cache", "clean", "wf.yaml"])
        .run()
        .success();
    assert!(!dir.join("target/flow/cache/wf").exists());
}

#[test]
fn an_interrupted_step_leaves_no_record() {
    let tmp = workflow_dir(
        "name: wf
steps:
  - id: slow
    run: touch started; sleep 30
    cache:
      inputs: [wf.yaml]
",
    );
    let dir = tmp.path();
    let running = Flow::at(dir).args(["run", "wf.yaml"]).spawn();
    wait_for(&dir.join("started"), Duration::from_secs(20));
    running.signal(libc::SIGINT);
    running.wait().code(130);
    assert!(!dir.join("target/flow/cache/wf/slow.json").exists());
}

#[test]
fn a_dependency_without_cache_passes_on_its_outputs() {
    let tmp = tempdir_with(&[
        ("version", "1"),
        (
            "wf.yaml",
            "name: wf
steps:
  - id: stamp
    run: echo \"v=$(cat version)\" >> \"$FLOW_OUTPUT\"
  - id: package
    depends_on: stamp
    run: 'true'
    cache: {}
",
        ),
    ]);
    let dir = tmp.path();
    assert_eq!(run(dir, &[]).code, 0);
    assert_eq!(run(dir, &[]).status("package"), "cached");
    write_files(dir, &[("version", "2")]);
    run(dir, &[]).ran_because("package", "dependency `stamp` changed");
}

#[test]
fn a_timed_out_step_leaves_no_record() {
    let tmp = workflow_dir(
        "name: wf
steps:
  - id: slow
    run: sleep 5
    timeout: 200ms
    cache: {}
",
    );
    let dir = tmp.path();
    let r = run(dir, &["--grace", "100ms"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.status("slow"), "timed_out");
    assert!(!dir.join("target/flow/cache/wf/slow.json").exists());
}

#[test]
fn records_stay_small_steps_share_one_input_list_and_a_change_is_still_named() {
    let tmp = tempdir_with(&[
        ("src/a.txt", "a\n"),
        ("src/deep/b.txt", "b\n"),
        (
            "wf.yaml",
            "name: wf\nsteps:\n  - id: one\n    run: 'true'\n    cache: {inputs: ['src/**']}\n  - id: two\n    run: 'true'\n    cache: {inputs: ['src/**']}\n  - id: three\n    run: 'true'\n    cache: {inputs: ['src/**', 'src/a.txt']}\n",
        ),
    ]);
    let dir = tmp.path();
    // Old enough that their times prove nothing changed since they were hashed.
    let aged = std::process::Command::new("touch")
        .args(["-d", "1 hour ago", "src/a.txt", "src/deep/b.txt"])
        .current_dir(dir)
        .status();
    assert!(aged.is_ok_and(|s| s.success()));
    assert_eq!(run(dir, &[]).code, 0);
    let cache = dir.join("target/flow/cache/wf");
    let lists = || {
        std::fs::read_dir(cache.join("inputs"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(lists(), 1, "steps that read the same files share one list");
    for step in ["one", "two", "three"] {
        let size = std::fs::metadata(cache.join(format!("{step}.json"))).map_or(0, |m| m.len());
        assert!(size > 0 && size < 4096, "{step}'s record is {size} bytes");
    }
    let again = run(dir, &[]);
    assert_eq!(again.status("one"), "cached", "{}", again.stderr);
    assert_eq!(again.status("three"), "cached", "{}", again.stderr);
    // Rewritten with the same content: its time changed, not the key.
    write_files(dir, &[("src/a.txt", "a\n")]);
    assert_eq!(run(dir, &[]).status("two"), "cached");
    write_files(dir, &[("src/deep/b.txt", "edited\n")]);
    let edited = run(dir, &[]);
    for step in ["one", "two", "three"] {
        edited.ran_because(step, "input `src/deep/b.txt` was edited");
    }
    assert_eq!(lists(), 1, "the list no record names is removed");
}
