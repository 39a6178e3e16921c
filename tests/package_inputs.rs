//! `cache: {inputs: [{package: NAME}]}`: a cached step reads a member as cargo would, so
//! editing one member runs again only its steps and those of the members depending on it.

mod common;

use common::{Flow, Ran};

const LOCK: &str = common::THREE_MEMBER_LOCK;

const ROOT: &str = "[workspace]
members = [\"a\", \"b\", \"c\"]
resolver = \"2\"

[workspace.metadata.flow.ci]
steps = [{ id = \"test\", for_each = \"package\", run = \"echo ${package}\", cache = { inputs = [{ package = \"${package}\" }] } }]
";

fn workspace() -> tempfile::TempDir {
    common::three_members(ROOT, &[])
}

/// The per-package steps that ran rather than hit the cache.
fn ran(run: &Ran) -> Vec<String> {
    let mut ids: Vec<String> = run
        .stderr()
        .lines()
        .filter_map(|l| l.strip_prefix("✓ test:"))
        .filter(|l| !l.contains("cached"))
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_change_runs_again_the_steps_of_its_package_and_its_dependents_only() {
    let tmp = workspace();
    let dir = tmp.path();
    let ci = || Flow::at(dir).arg("ci").run().success();
    assert_eq!(ran(&ci()), ["a", "b", "c"]);
    assert!(ran(&ci()).is_empty(), "a second run is cached");
    std::fs::write(dir.join("a/src/lib.rs"), "// edit\n").expect("write");
    assert_eq!(ran(&ci()), ["a", "b"]);
    // Another workflow in the manifest is no input of these steps.
    let more = format!(
        "{ROOT}\n[workspace.metadata.flow.other]\nsteps = [{{ id = \"x\", run = \"true\" }}]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), more).expect("write");
    assert!(
        ran(&ci()).is_empty(),
        "a workflow's definition is not an input"
    );
    // A dependency's entry in Cargo.lock is.
    std::fs::write(dir.join("Cargo.lock"), LOCK.replace("1.0.0", "1.0.1")).expect("write");
    assert_eq!(ran(&ci()), ["c"]);
}

#[test]
fn a_package_that_is_no_member_is_a_diagnostic() {
    let tmp = workspace();
    let root = ROOT.replace("{ package = \"${package}\" }", "{ package = \"nope\" }");
    std::fs::write(tmp.path().join("Cargo.toml"), root).expect("write");
    Flow::at(tmp.path())
        .args(["check", "ci"])
        .run()
        .code(2)
        .stderr_has(&[
            "flow::bad-package",
            "`nope` is not a member of the workspace",
        ]);
}

#[test]
fn folders_with_glob_characters_and_no_gitignore_still_key_their_steps() {
    // A root package whose folder is `w[1]`, without a .gitignore: its own target/flow state
    // is never an input, and its sources are, whatever the folder is called.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("w[1]");
    common::write_files(
        &dir,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"r\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.flow.ci]\nsteps = [{ id = \"s\", run = \"echo\", cache = { inputs = [{ package = \"r\" }] } }]\n",
            ),
            ("src/lib.rs", ""),
        ],
    );
    let ci = || Flow::at(&dir).arg("ci").run().success();
    ci();
    assert!(ci().stderr().contains("cached"), "a second run is cached");
    std::fs::write(dir.join("src/lib.rs"), "// edit\n").expect("write");
    assert!(!ci().stderr().contains("cached"), "an edit runs it again");
}

#[test]
fn a_package_input_outside_a_workspace_is_a_diagnostic() {
    common::run_workflow(
        "name: w\nsteps:\n  - id: s\n    run: echo\n    cache: {inputs: [{package: x}]}\n",
    )
    .code(2)
    .stderr_has(&["flow::bad-package", "this is none"]);
}
