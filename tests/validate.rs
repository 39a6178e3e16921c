//! Every kind of invalid workflow gives exit code 2 and a diagnostic pinned by a snapshot.

mod common;

use std::time::Duration;

use common::{Flow, Ran, root};

/// Runs `cargo-flow check ARGS` under a 512 MiB address-space limit, so that a loader that
/// blew up on some input would fail the test rather than the machine.
fn check_bounded(args: &[&str]) -> Ran {
    Flow::at(root())
        .after_shell("ulimit -v 524288")
        .arg("check")
        .args(args)
        .run()
}

fn names_in(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect("fixture folder exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_invalid_fixture_has_a_pinned_diagnostic() {
    let names = names_in("fixtures/invalid");
    assert!(
        names.len() >= 40,
        "expected the invalid corpus, found {}",
        names.len()
    );
    for name in names {
        let ran = check_bounded(&[&format!("fixtures/invalid/{name}")]).code(2);
        assert!(
            ran.took() < Duration::from_secs(10),
            "{name} took {:?}",
            ran.took()
        );
        let text = ran.stderr();
        assert!(!text.contains("panicked"), "{name} panicked: {text}");
        insta::assert_snapshot!(name.replace('.', "_"), text);
    }
}

#[test]
fn invalid_manifests_have_pinned_diagnostics() {
    let names = names_in("fixtures/invalid-manifests");
    assert!(names.len() >= 5);
    for name in names {
        let manifest = format!("fixtures/invalid-manifests/{name}/Cargo.toml");
        let ran = check_bounded(&["--manifest-path", &manifest]).code(2);
        let text = ran.stderr();
        assert!(!text.contains("panicked"), "{name} panicked: {text}");
        insta::assert_snapshot!(format!("manifest_{name}"), text);
    }
}

#[test]
fn huge_and_deep_inputs_end_in_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Over the size limit: refused before parsing.
    let huge = tmp.path().join("huge.yaml");
    let mut text = String::from("name: huge\nsteps:\n");
    while text.len() < 33 * 1024 * 1024 {
        text.push_str(
            "  - id: padding\n    run: echo padding padding padding padding padding padding\n",
        );
    }
    std::fs::write(&huge, &text).expect("write");
    let ran = check_bounded(&[huge.to_str().expect("utf-8 path")])
        .code(2)
        .stderr_has(&["workflow files may be at most 32 MiB"]);
    assert!(ran.took() < Duration::from_secs(10));
    // Deep flow nesting in YAML and deep TOML arrays, far past the limit.
    for (file, key, said) in [
        ("deep.yaml", "steps: ", "nests deeper than 64 levels"),
        ("deep.toml", "steps = ", "nests deeper than"),
    ] {
        let deep = tmp.path().join(file);
        let text = format!("{key}{}{}", "[".repeat(100_000), "]".repeat(100_000));
        std::fs::write(&deep, text).expect("write");
        check_bounded(&[deep.to_str().expect("utf-8 path")])
            .code(2)
            .stderr_has(&[said])
            .stderr_lacks(&["panicked"]);
    }
}

#[test]
fn valid_fixtures_check_clean() {
    for name in [
        "seed/example-simple.yaml",
        "seed/failure-handling.yaml",
        "valid/scalars.yaml",
    ] {
        Flow::at(root())
            .args(["check", &format!("fixtures/{name}")])
            .run()
            .success();
    }
    Flow::at(root())
        .args(["check", "fixtures/seed/development-cycle.yaml"])
        .args(["-c", "target=x", "-c", "env=y"])
        .run()
        .success();
}

#[test]
fn missing_file_and_directory_are_clear_errors() {
    let run = |args: &[&str]| Flow::at(root()).args(args).run().code(2);
    run(&["check", "fixtures/nope.yaml"])
        .stderr_has(&["cannot read workflow file `fixtures/nope.yaml`: no such file"]);
    run(&["run", "fixtures/"]).stderr_has(&["is a directory"]);
}

#[test]
fn huge_chain_and_cycle_validate_without_overflow() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut chain = String::from("name: chain\nsteps:\n");
    let n = 100_000;
    for i in 0..n {
        chain.push_str(&format!("  - id: s{i}\n    run: 'true'\n"));
        if i > 0 {
            chain.push_str(&format!("    depends_on: [s{}]\n", i - 1));
        }
    }
    let check = |name: &str, yaml: &str| {
        Flow::at(tmp.path())
            .file(name, yaml)
            .args(["check", name])
            .run()
    };
    check("chain.yaml", &chain).success();

    let mut cycle = String::from("name: cycle\nsteps:\n");
    let n = 20_000;
    for i in 0..n {
        cycle.push_str(&format!(
            "  - id: s{i}\n    run: 'true'\n    depends_on: [s{}]\n",
            (i + n - 1) % n
        ));
    }
    let ran = check("cycle.yaml", &cycle).code(2);
    assert!(
        ran.stderr()
            .contains("dependency cycle: s0 -> s19999 -> s19998"),
        "{}",
        &ran.stderr()[..500]
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = |args: &[&str]| {
        Flow::at(root())
            .args(["run", "fixtures/seed/example-simple.yaml"])
            .args(args)
            .run()
            .code(2)
    };
    run(&["--context", "novalue"]).stderr_has(&["has no `=`"]);
    run(&["--timeout", "5x"]);
    run(&["tset"]).stderr_has(&["did you mean `test`?"]);
}
