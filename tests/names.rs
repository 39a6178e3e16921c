//! Names cannot reach outside their folder or share one: workflow names and file stems are
//! checked, names that differ get different folders, and ids that cannot name a file are
//! diagnostics before anything runs.

mod common;

use common::{flow, stderr, write_files};

#[test]
fn a_workflow_name_cannot_reach_outside_its_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[
            (
                "dots.yaml",
                "name: ..\nsteps:\n  - id: a\n    run: echo hi\n",
            ),
            ("with space.yaml", "steps:\n  - id: a\n    run: echo hi\n"),
            ("target/flow/logs/keep/a.log", "kept\n"),
            ("target/flow/cache/keep/a.json", "{}"),
        ],
    );
    for args in [
        &["run", "dots.yaml"][..],
        &["cache", "clean", "dots.yaml"],
        &["check", "dots.yaml"],
    ] {
        let out = flow(tmp.path()).args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("invalid workflow name `..`"),
            "{}",
            stderr(&out)
        );
    }
    let out = flow(tmp.path())
        .args(["run", "with space.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the file name `with space` cannot name a workflow")
            && stderr(&out).contains("`name:`"),
        "{}",
        stderr(&out)
    );
    assert!(tmp.path().join("target/flow/logs/keep/a.log").is_file());
    assert!(tmp.path().join("target/flow/cache/keep/a.json").is_file());
}

#[test]
fn a_member_workflow_and_a_look_alike_get_folders_of_their_own() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"a\"]\nresolver = \"2\"\n",
            ),
            (
                "a/Cargo.toml",
                "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[package.metadata.flow.b.steps]]\nid = \"s\"\nrun = \"echo member\"\n",
            ),
            ("a/src/lib.rs", ""),
            (
                ".flow.yaml",
                "workflows:\n  a-b:\n    steps:\n      - id: s\n        run: echo root\n",
            ),
        ],
    );
    for wf in ["a:b", "a-b"] {
        let out = flow(tmp.path()).arg(wf).output().expect("runs");
        assert!(out.status.success(), "{wf}: {}", stderr(&out));
    }
    let logs = tmp.path().join("target/flow/logs");
    assert_eq!(common::read_log(&logs.join("a@b/s.log")), "member\n");
    assert_eq!(common::read_log(&logs.join("a-b/s.log")), "root\n");
}

#[test]
fn ids_that_cannot_name_a_file_are_found_by_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let long = "x".repeat(240);
    write_files(
        tmp.path(),
        &[
            (
                "long.yaml",
                &format!("name: long\nsteps:\n  - id: {long}\n    run: touch ran\n"),
            ),
            (
                "case.yaml",
                "name: case\nsteps:\n  - id: Build\n    run: touch ran\n  - id: build\n    run: touch ran\n",
            ),
        ],
    );
    let out = flow(tmp.path())
        .args(["check", "long.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is too long to name its log file (240")
            && stderr(&out).contains("at most 200)"),
        "{}",
        stderr(&out)
    );
    let out = flow(tmp.path())
        .args(["run", "case.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("step ids `Build` and `build` differ only in case"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("ran").exists());
}
