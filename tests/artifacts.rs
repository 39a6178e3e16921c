//! Artifacts: files a step keeps, copied to `target/flow/artifacts/<workflow>/<step>` after it
//! succeeds, listed in the summary and the JSON report, and found by later steps through
//! `${steps.<id>.artifacts}`.

mod common;

use common::{Flow, write_files};

#[test]
fn artifacts_are_copied_listed_and_reachable() {
    let ran = Flow::new()
        .workflow(
            r#"name: wf
steps:
  - id: build
    run: mkdir -p out/docs/api dist && echo app > out/app && echo i > out/docs/index.html && echo a > out/docs/api/a.html && echo x > out/docs/api/skip.txt && echo t > dist/one.tar
    artifacts: [out/app, "out/docs/**/*.html", dist]
  - id: use
    depends_on: build
    run: cat ${steps.build.artifacts}/app ${steps.build.artifacts}/api/a.html "${steps.build.artifacts}/dist/one.tar"
  - id: argv
    depends_on: build
    run: [ls, "${steps.build.artifacts}"]
  - id: env
    depends_on: build
    run: ls "$FOLDER"
    env:
      FOLDER: ${steps.build.artifacts}
"#,
        )
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .run()
        .success()
        .stderr_has(&[
            "artifacts of build: target/flow/artifacts/wf/build/{api/a.html, app, dist/one.tar, index.html}",
        ]);
    let folder = ran.dir().join("target/flow/artifacts/wf/build");
    for (file, content) in [
        ("app", "app\n"),
        ("index.html", "i\n"),
        ("api/a.html", "a\n"),
        ("dist/one.tar", "t\n"),
    ] {
        let copy = std::fs::read_to_string(folder.join(file)).unwrap_or_default();
        assert_eq!(copy, content, "{file}");
    }
    assert!(
        !folder.join("api/skip.txt").exists(),
        "the glob took a file it does not match"
    );
    assert_eq!(ran.log("wf", "use"), "app\na\nt\n");
    for id in ["argv", "env"] {
        assert_eq!(ran.log("wf", id), "api\napp\ndist\nindex.html\n", "{id}");
    }
    let report = ran.json("r.json");
    let listed: Vec<&str> = report["steps"][0]["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(listed.len(), 4);
    assert!(
        listed
            .iter()
            .all(|a| a.contains("target/flow/artifacts/wf/build/"))
    );
}

#[test]
fn a_missing_artifact_fails_the_step_and_leaves_no_stale_copies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let yaml = |artifacts: &str| {
        format!(
            "name: wf
steps:
  - id: build
    run: echo app > app
    artifacts: {artifacts}
  - id: after
    depends_on: build
    run: 'true'
"
        )
    };
    let run = |artifacts: &str| {
        Flow::at(dir)
            .workflow(&yaml(artifacts))
            .args(["run", "wf.yaml"])
            .run()
    };
    run("[app]").success();
    let copy = dir.join("target/flow/artifacts/wf/build/app");
    assert!(copy.exists());

    run("[app, missing.bin]")
        .code(1)
        .stderr_has(&["its artifact `missing.bin` does not exist"])
        .stderr_has(&["- after skipped: build failed"]);
    assert!(
        !copy.exists(),
        "artifacts of an earlier run were left as if they were this run's"
    );

    run("['*.bin']").stderr_has(&["its artifact glob `*.bin` matches no file"]);

    write_files(dir, &[("sub/app", "other")]);
    run("[app, sub/app]").stderr_has(&["would both be copied to `app`"]);
}

#[test]
fn a_cached_step_keeps_its_artifacts_and_runs_again_when_they_are_gone() {
    let tmp = common::workflow_dir(
        "name: wf
steps:
  - id: build
    run: echo app > app
    artifacts: [app]
    cache:
      inputs: [wf.yaml]
  - id: use
    depends_on: build
    run: cat ${steps.build.artifacts}/app
",
    );
    let dir = tmp.path();
    let run = || {
        Flow::at(dir)
            .args(["run", "wf.yaml", "--report", "json=r.json"])
            .run()
            .success()
            .json("r.json")["steps"][0]
            .clone()
    };
    assert_eq!(run()["status"], "success");
    let cached = run();
    assert_eq!(cached["status"], "cached");
    assert_eq!(cached["artifacts"].as_array().map(Vec::len), Some(1));
    std::fs::remove_file(dir.join("target/flow/artifacts/wf/build/app")).expect("remove");
    let again = run();
    assert_eq!(again["status"], "success");
    assert_eq!(again["ran_because"][0], "artifact `app` is missing");
}

#[test]
fn artifacts_keep_their_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let ran = common::run_workflow("name: wf
steps:
  - id: build
    run: mkdir -p dist && printf '#!/bin/sh\\necho ran\\n' > dist/app && chmod 755 dist/app && echo s > dist/key && chmod 600 dist/key
    artifacts: [dist/app, dist/key]
  - id: use
    depends_on: build
    run: ${steps.build.artifacts}/app
",)
        .success();
    assert_eq!(ran.log("wf", "use"), "ran\n");
    let mode = |name: &str| {
        std::fs::metadata(ran.dir().join("target/flow/artifacts/wf/build").join(name))
            .expect("kept")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!((mode("app"), mode("key")), (0o755, 0o600));
}
