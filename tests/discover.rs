//! Where workflows come from: files, `.flow.yaml`, the root manifest and member manifests.

mod common;

use common::{flow, stderr, stdout, write_files};

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

#[test]
fn lists_workflows_from_every_source_but_never_a_dependency() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    let out = flow(&ws).arg("list").output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("lint"), "{text}");
    assert!(text.contains("quick checks"), "{text}");
    assert!(text.contains("ci"), "{text}");
    assert!(text.contains("alpha:release"), "{text}");
    assert!(
        !text.contains("evil"),
        "a dependency's manifest was read: {text}"
    );
    // The bare command lists too, and `cargo flow` passes `flow` first.
    let bare = flow(&ws).output().expect("runs");
    assert_eq!(stdout(&bare), text);
    let as_cargo = flow(&ws).arg("flow").output().expect("runs");
    assert_eq!(stdout(&as_cargo), text);
    // From a member's folder, the same workspace is found.
    let inner = stdout(&flow(&ws.join("beta")).arg("list").output().expect("runs"));
    assert!(
        inner.contains("alpha:release") && inner.contains("lint"),
        "{inner}"
    );
}

#[test]
fn runs_manifest_workflows_with_the_right_working_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    let out = flow(&ws).args(["ci", "-v"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ws.join("target/flow/logs/ci/test.log").is_file());
    let out = flow(&ws)
        .args(["alpha:release", "-v"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = common::read_log(&ws.join("target/flow/logs/alpha@release/pwd.log"));
    assert!(
        log.trim_end().ends_with("ws/alpha"),
        "a member's workflow runs in its folder: {log}"
    );
    // --manifest-path from elsewhere.
    let out = flow(tmp.path())
        .args([
            "list",
            "--manifest-path",
            &ws.join("Cargo.toml").display().to_string(),
        ])
        .output()
        .expect("runs");
    assert!(stdout(&out).contains("alpha:release"), "{}", stderr(&out));
}

#[test]
fn a_name_defined_twice_names_both_places() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    write_files(
        &ws,
        &[(
            ".flow.yaml",
            "workflows:\n  ci:\n    steps:\n      - id: a\n        run: echo a\n",
        )],
    );
    let out = flow(&ws).arg("list").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("workflow `ci` is defined twice"), "{err}");
    assert!(err.contains(".flow.yaml:2:3"), "{err}");
    assert!(err.contains("Cargo.toml"), "{err}");
}

#[test]
fn flow_yaml_outside_a_workspace_with_one_workflow() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            ".flow.yml",
            "name: solo\nsteps:\n  - id: a\n    run: echo solo-output\n",
        )],
    );
    std::fs::create_dir_all(tmp.path().join("sub/dir")).expect("mkdir");
    let out = flow(&tmp.path().join("sub/dir"))
        .args(["solo", "-v"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("solo-output"));
    assert!(tmp.path().join("target/flow/logs/solo/a.log").is_file());
}

#[test]
fn unknown_workflow_suggests_the_closest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let out = flow(&tmp.path().join("ws"))
        .arg("lnt")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `lint`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn toml_errors_point_into_the_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    write_files(
        &ws,
        &[(
            "beta/Cargo.toml",
            "[package]\nname = \"beta\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[[package.metadata.flow.docs.steps]]\nid = \"doc\"\nrun = \"cargo doc\"\ndepend_on = [\"x\"]\n",
        )],
    );
    let out = flow(&ws).args(["check"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown step key `depend_on`"), "{err}");
    assert!(err.contains("beta/Cargo.toml:9:1"), "{err}");
    assert!(err.contains("did you mean `depends_on`?"), "{err}");
}

#[test]
fn graph_formats() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    let dot = stdout(
        &flow(&ws)
            .args(["graph", "ci", "--format", "dot"])
            .output()
            .expect("runs"),
    );
    assert!(dot.contains("\"fmt\" -> \"test\";"), "{dot}");
    let mermaid = stdout(
        &flow(&ws)
            .args(["graph", "ci", "--format", "mermaid"])
            .output()
            .expect("runs"),
    );
    assert!(mermaid.contains("s0 --> s1"), "{mermaid}");
    let text = stdout(&flow(&ws).args(["graph", "ci"]).output().expect("runs"));
    assert!(text.contains("test  <- fmt"), "{text}");
    let dry = stdout(&flow(&ws).args(["ci", "--dry-run"]).output().expect("runs"));
    assert!(
        dry.contains("1. fmt") && dry.contains("2. test") && dry.contains("after: fmt"),
        "{dry}"
    );
    assert!(
        !ws.join("target/flow/logs/ci").exists(),
        "a dry run runs nothing"
    );
}
