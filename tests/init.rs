//! `cargo flow init`: the starting workflow it writes passes `check` and runs, in a
//! single-package project and in a workspace, as `.flow.yaml` or in Cargo.toml.

mod common;

use std::path::Path;

use common::{Flow, tempdir_with};

fn package(dir: &Path, name: &str) {
    package_in(dir, name, name);
}

fn package_in(dir: &Path, folder: &str, name: &str) {
    common::write_files(
        dir,
        &[
            (
                &format!("{folder}/Cargo.toml"),
                &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            ),
            (
                &format!("{folder}/src/lib.rs"),
                "/// Adds.\npub fn add(a: u8, b: u8) -> u8 {\n    a + b\n}\n\n#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n",
            ),
        ],
    );
}

fn workspace() -> tempfile::TempDir {
    let tmp = tempdir_with(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"alpha\", \"beta\"]\nresolver = \"2\"\n",
        ),
        (".gitignore", "/target\n"),
    ]);
    package(tmp.path(), "alpha");
    package(tmp.path(), "beta");
    tmp
}

#[test]
fn a_workspace_gets_checks_per_package_that_pass_check_and_run() {
    let tmp = workspace();
    let dir = tmp.path();
    Flow::at(dir).arg("init").run().success().stderr_has(&[
        "Wrote the `ci` workflow to .flow.yaml",
        "test (per package)",
    ]);
    let text = std::fs::read_to_string(dir.join(".flow.yaml")).expect("written");
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    assert!(text.contains("for_each: package"), "{text}");
    Flow::at(dir).arg("check").run().success();
    let graph = Flow::at(dir).args(["graph", "ci"]).run().success();
    let lines: Vec<String> = graph
        .stdout()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for edge in [
        "test:alpha <- clippy",
        "test:beta <- clippy",
        "doc <- clippy",
    ] {
        assert!(lines.iter().any(|l| l == edge), "{lines:?}");
    }
    // It runs, and a second run with nothing changed runs nothing again (a first build
    // writes Cargo.lock, which a real project has already).
    let lock = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(dir)
        .status()
        .expect("cargo");
    assert!(lock.success());
    let first = Flow::at(dir)
        .arg("ci")
        .timeout(std::time::Duration::from_secs(600))
        .run();
    first
        .success()
        .stderr_has(&["✓ test:alpha", "✓ test:beta", "✓ doc"]);
    Flow::at(dir)
        .arg("ci")
        .timeout(std::time::Duration::from_secs(600))
        .run()
        .success()
        .stderr_has(&["✓ clippy cached", "✓ test:alpha cached", "✓ doc cached"]);
}

#[test]
fn an_existing_workflow_is_left_alone_without_force() {
    let tmp = tempdir_with(&[(
        ".flow.yaml",
        "name: mine\nsteps:\n  - id: a\n    run: 'true'\n",
    )]);
    package_in(tmp.path(), ".", "here");
    let dir = tmp.path();
    Flow::at(dir)
        .arg("init")
        .refused(&[".flow.yaml` exists", "--force"]);
    assert!(
        std::fs::read_to_string(dir.join(".flow.yaml"))
            .expect("kept")
            .contains("mine")
    );
    Flow::at(dir).args(["init", "--force"]).run().success();
    Flow::at(dir).args(["check", "ci"]).run().success();
}

#[test]
fn into_cargo_toml_for_a_package_and_a_workspace() {
    let tmp = tempfile::tempdir().expect("tempdir");
    package(tmp.path(), "solo");
    let solo = tmp.path().join("solo");
    Flow::at(&solo)
        .args(["init", "--cargo-toml"])
        .run()
        .success()
        .stderr_has(&["Cargo.toml"]);
    let manifest = std::fs::read_to_string(solo.join("Cargo.toml")).expect("manifest");
    assert!(
        manifest.starts_with("[package]\nname = \"solo\""),
        "kept as it was:\n{manifest}"
    );
    assert!(
        manifest.contains("[[package.metadata.flow.ci.steps]]"),
        "{manifest}"
    );
    Flow::at(&solo).args(["check", "ci"]).run().success();
    Flow::at(&solo)
        .args(["init", "--cargo-toml"])
        .refused(&["`[package.metadata.flow.ci]`", "--force"]);
    Flow::at(&solo)
        .args(["init", "--cargo-toml", "--force"])
        .run()
        .success();
    // `.flow.yaml` beside a manifest that has `ci` would make two.
    Flow::at(&solo)
        .arg("init")
        .refused(&["a workflow `ci` is already defined in `Cargo.toml`"]);

    let ws = workspace();
    Flow::at(ws.path())
        .args(["init", "--cargo-toml"])
        .run()
        .success();
    let manifest = std::fs::read_to_string(ws.path().join("Cargo.toml")).expect("manifest");
    assert!(
        manifest.contains("[[workspace.metadata.flow.ci.steps]]"),
        "{manifest}"
    );
    assert!(manifest.contains("for_each = \"package\""), "{manifest}");
    Flow::at(ws.path()).arg("check").run().success();
}

#[test]
fn a_target_dir_git_does_not_ignore_is_pointed_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    package(tmp.path(), "p");
    let dir = tmp.path().join("p");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&dir)
        .status()
        .expect("git");
    assert!(git.success());
    Flow::at(&dir)
        .arg("init")
        .run()
        .success()
        .stderr_has(&["git does not ignore target"]);
    std::fs::write(dir.join(".gitignore"), "/target\n").expect("write");
    Flow::at(&dir)
        .args(["init", "--force"])
        .run()
        .success()
        .stderr_lacks(&["does not ignore"]);
}

#[test]
fn outside_a_workspace_init_says_what_it_needs() {
    Flow::new()
        .arg("init")
        .refused(&["there is no Cargo.toml here", "cargo init"]);
}
