//! Names cannot reach outside their folder or share one: workflow names and file stems are
//! checked, names that differ get different folders, and ids that cannot name a file are
//! diagnostics before anything runs.

mod common;

use common::{Flow, tempdir_with};

#[test]
fn a_workflow_name_cannot_reach_outside_its_folder() {
    let tmp = tempdir_with(&[
        (
            "dots.yaml",
            "name: ..\nsteps:\n  - id: a\n    run: echo hi\n",
        ),
        ("with space.yaml", "steps:\n  - id: a\n    run: echo hi\n"),
        ("target/flow/logs/keep/a.log", "kept\n"),
        ("target/flow/cache/keep/a.json", "{}"),
    ]);
    for args in [
        &["run", "dots.yaml"][..],
        &["cache", "clean", "dots.yaml"],
        &["check", "dots.yaml"],
    ] {
        Flow::at(tmp.path())
            .args(args)
            .refused(&["invalid workflow name `..`"]);
    }
    Flow::at(tmp.path())
        .args(["run", "with space.yaml"])
        .refused(&[
            "the file name `with space` cannot name a workflow",
            "`name:`",
        ]);
    assert!(tmp.path().join("target/flow/logs/keep/a.log").is_file());
    assert!(tmp.path().join("target/flow/cache/keep/a.json").is_file());
}

#[test]
fn a_member_workflow_and_a_look_alike_get_folders_of_their_own() {
    let tmp = tempdir_with(&[
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
    ]);
    for wf in ["a:b", "a-b"] {
        Flow::at(tmp.path()).arg(wf).run().success();
    }
    let logs = tmp.path().join("target/flow/logs");
    assert_eq!(common::read_log(&logs.join("a@b/s.log")), "member\n");
    assert_eq!(common::read_log(&logs.join("a-b/s.log")), "root\n");
}

#[test]
fn ids_that_cannot_name_a_file_are_found_by_check() {
    let long = "x".repeat(240);
    let tmp = tempdir_with(&[
        (
            "long.yaml",
            &format!("name: long\nsteps:\n  - id: {long}\n    run: touch ran\n"),
        ),
        (
            "case.yaml",
            "name: case\nsteps:\n  - id: Build\n    run: touch ran\n  - id: build\n    run: touch ran\n",
        ),
    ]);
    let run = |args: &[&str]| Flow::at(tmp.path()).args(args).run().code(2);
    run(&["check", "long.yaml"])
        .stderr_has(&["is too long to name its log file (240", "at most 200)"]);
    run(&["run", "case.yaml"]).stderr_has(&["step ids `Build` and `build` differ only in case"]);
    assert!(!tmp.path().join("ran").exists());
}
