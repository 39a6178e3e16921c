//! Where workflows come from: files, `.flow.yaml`, the root manifest and member manifests.

mod common;

use common::{Flow, tempdir_with, write_files};

const LIB: &str = "";

fn workspace(dir: &std::path::Path) {
    write_files(
        dir,
        &[
            (
                "ws/Cargo.toml",
                r#"[workspace]
members = ["alpha", "beta"]
resolver = "2"

[[workspace.metadata.flow.ci.steps]]
id = "fmt"
run = "echo fmt"

[[workspace.metadata.flow.ci.steps]]
id = "test"
run = "echo test"
depends_on = "fmt"
"#,
            ),
            (
                "ws/alpha/Cargo.toml",
                r#"[package]
name = "alpha"
version = "0.1.0"
edition = "2021"

[dependencies]
outside = { path = "../../outside" }

[[package.metadata.flow.release.steps]]
id = "pwd"
run = "pwd"
"#,
            ),
            ("ws/alpha/src/lib.rs", LIB),
            (
                "ws/beta/Cargo.toml",
                "[package]\nname = \"beta\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
            ),
            ("ws/beta/src/lib.rs", LIB),
            (
                "outside/Cargo.toml",
                r#"[package]
name = "outside"
version = "0.1.0"
edition = "2021"

[[package.metadata.flow.evil.steps]]
id = "evil"
run = "touch EVIL"
"#,
            ),
            ("outside/src/lib.rs", LIB),
            (
                "ws/.flow.yaml",
                "workflows:\n  lint:\n    description: quick checks\n    steps:\n      - id: clippy\n        run: echo clippy\n",
            ),
        ],
    );
}

/// The workspace above, made in a new temporary folder, which holds it under `ws`.
fn workspace_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    tmp
}

/// A run in the workspace above, made for it alone.
fn in_workspace() -> Flow {
    Flow::inside(workspace_dir(), "ws")
}

#[test]
fn lists_workflows_from_every_source_but_never_a_dependency() {
    let tmp = workspace_dir();
    let ws = tmp.path().join("ws");
    let listed = Flow::at(&ws)
        .arg("list")
        .run()
        .success()
        .stdout_has(&["lint", "quick checks", "ci", "alpha:release"])
        // A dependency's manifest is never read.
        .stdout_lacks(&["evil"]);
    // The bare command lists too, and `cargo flow` passes `flow` first.
    assert_eq!(Flow::at(&ws).run().stdout(), listed.stdout());
    assert_eq!(Flow::at(&ws).arg("flow").run().stdout(), listed.stdout());
    // From a member's folder, the same workspace is found.
    Flow::at(ws.join("beta"))
        .arg("list")
        .run()
        .stdout_has(&["alpha:release", "lint"]);
}

#[test]
fn runs_manifest_workflows_with_the_right_working_directory() {
    let tmp = workspace_dir();
    let ws = tmp.path().join("ws");
    Flow::at(&ws).args(["ci", "-v"]).run().success();
    assert!(ws.join("target/flow/logs/ci/test.log").is_file());
    let log = Flow::at(&ws)
        .args(["alpha:release", "-v"])
        .run()
        .success()
        .log("alpha@release", "pwd");
    assert!(
        log.trim_end().ends_with("ws/alpha"),
        "a member's workflow runs in its folder: {log}"
    );
    // --manifest-path from elsewhere.
    Flow::at(tmp.path())
        .args(["list", "--manifest-path"])
        .arg(ws.join("Cargo.toml"))
        .run()
        .stdout_has(&["alpha:release"]);
}

#[test]
fn a_name_defined_twice_names_both_places() {
    in_workspace()
        .file(
            ".flow.yaml",
            "workflows:\n  ci:\n    steps:\n      - id: a\n        run: echo a\n",
        )
        .arg("list")
        .refused(&[
            "workflow `ci` is defined twice",
            ".flow.yaml:2:3",
            "Cargo.toml",
        ]);
}

#[test]
fn names_that_differ_only_in_case_are_a_diagnostic() {
    in_workspace()
        .file(
            ".flow.yaml",
            "workflows:\n  CI:\n    steps:\n      - id: a\n        run: echo a\n",
        )
        .arg("list")
        .refused(&["workflows `CI` (at .flow.yaml:2:3) and `ci` differ only in case"]);
}

#[test]
fn flow_yaml_outside_a_workspace_with_one_workflow() {
    let tmp = tempdir_with(&[(
        ".flow.yml",
        "name: solo\nsteps:\n  - id: a\n    run: echo solo-output\n",
    )]);
    std::fs::create_dir_all(tmp.path().join("sub/dir")).expect("mkdir");
    Flow::at(tmp.path().join("sub/dir"))
        .args(["solo", "-v"])
        .run()
        .success()
        .stderr_has(&["solo-output"]);
    assert!(tmp.path().join("target/flow/logs/solo/a.log").is_file());
}

#[test]
fn unknown_workflow_suggests_the_closest() {
    in_workspace().arg("lnt").refused(&["did you mean `lint`?"]);
}

#[test]
fn toml_errors_point_into_the_manifest() {
    in_workspace()
        .file(
            "beta/Cargo.toml",
            "[package]\nname = \"beta\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[[package.metadata.flow.docs.steps]]\nid = \"doc\"\nrun = \"cargo doc\"\ndepend_on = [\"x\"]\n",
        )
        .arg("check")
        .refused(&[
            "unknown step key `depend_on`",
            "beta/Cargo.toml:9:1",
            "did you mean `depends_on`?",
        ]);
}

#[test]
fn graph_formats() {
    let tmp = workspace_dir();
    let ws = tmp.path().join("ws");
    let run = |args: &[&str]| Flow::at(&ws).args(args).run();
    run(&["graph", "ci", "--format", "dot"]).stdout_has(&["\"fmt\" -> \"test\";"]);
    run(&["graph", "ci", "--format", "mermaid"]).stdout_has(&["s0 --> s1"]);
    run(&["graph", "ci"]).stdout_has(&["test  <- fmt"]);
    run(&["ci", "--dry-run"]).stdout_has(&["1. fmt", "2. test", "after: fmt"]);
    assert!(
        !ws.join("target/flow/logs/ci").exists(),
        "a dry run runs nothing"
    );
}
