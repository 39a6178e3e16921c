//! Artifacts: files a step keeps, copied to `target/flow/artifacts/<workflow>/<step>` after it
//! succeeds, listed in the summary and the JSON report, and found by later steps through
//! `${steps.<id>.artifacts}`.

mod common;

use common::{flow, stderr, workflow};

#[test]
fn artifacts_are_copied_listed_and_reachable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    workflow(
        dir,
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
    );
    let out = flow(dir)
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.join("target/flow/artifacts/wf/build");
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
    let log = |id: &str| common::read_log(&dir.join(format!("target/flow/logs/wf/{id}.log")));
    assert_eq!(log("use"), "app\na\nt\n");
    for id in ["argv", "env"] {
        assert_eq!(log(id), "api\napp\ndist\nindex.html\n", "{id}");
    }
    let err = stderr(&out);
    assert!(
        err.contains("artifacts of build: target/flow/artifacts/wf/build/{api/a.html, app, dist/one.tar, index.html}"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).expect("report"))
            .expect("json");
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
    workflow(dir, &yaml("[app]"));
    assert!(
        flow(dir)
            .args(["run", "wf.yaml"])
            .output()
            .expect("runs")
            .status
            .success()
    );
    let copy = dir.join("target/flow/artifacts/wf/build/app");
    assert!(copy.exists());

    workflow(dir, &yaml("[app, missing.bin]"));
    let out = flow(dir).args(["run", "wf.yaml"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("its artifact `missing.bin` does not exist"),
        "{err}"
    );
    assert!(err.contains("- after skipped: build failed"), "{err}");
    assert!(
        !copy.exists(),
        "artifacts of an earlier run were left as if they were this run's"
    );

    workflow(dir, &yaml("['*.bin']"));
    let out = flow(dir).args(["run", "wf.yaml"]).output().expect("runs");
    assert!(
        stderr(&out).contains("its artifact glob `*.bin` matches no file"),
        "{}",
        stderr(&out)
    );

    workflow(dir, &yaml("[app, sub/app]"));
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("sub/app"), "other").expect("write");
    let out = flow(dir).args(["run", "wf.yaml"]).output().expect("runs");
    assert!(
        stderr(&out).contains("would both be copied to `app`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cached_step_keeps_its_artifacts_and_runs_again_when_they_are_gone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    workflow(
        dir,
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
    let run = || {
        let out = flow(dir)
            .args(["run", "wf.yaml", "--report", "json=r.json"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).expect("report"))
                .expect("json");
        report["steps"][0].clone()
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
