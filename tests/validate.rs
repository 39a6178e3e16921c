//! Every kind of invalid workflow gives exit code 2 and a diagnostic pinned by a snapshot.

mod common;

use std::time::{Duration, Instant};

use common::{flow, root, stderr};

/// Runs `cargo-flow check ARGS` under a 512 MiB address-space limit, so that a loader that
/// blew up on some input would fail the test rather than the machine.
fn check_bounded(args: &[&str]) -> std::process::Output {
    let script = "ulimit -v 524288; exec \"$0\" check \"$@\"";
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(args);
    cmd.current_dir(root()).env("NO_COLOR", "1");
    cmd.output().expect("runs")
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
        let started = Instant::now();
        let out = check_bounded(&[&format!("fixtures/invalid/{name}")]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
        let text = stderr(&out);
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
        let out = check_bounded(&["--manifest-path", &manifest]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let text = stderr(&out);
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
    let started = Instant::now();
    let out = check_bounded(&[huge.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("workflow files may be at most 32 MiB"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Deep flow nesting, far past the limit.
    let deep = tmp.path().join("deep.yaml");
    std::fs::write(
        &deep,
        format!("steps: {}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .expect("write");
    let out = check_bounded(&[deep.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nests deeper than 64 levels"),
        "{}",
        stderr(&out)
    );
    // Deep TOML arrays.
    let deep = tmp.path().join("deep.toml");
    std::fs::write(
        &deep,
        format!("steps = {}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .expect("write");
    let out = check_bounded(&[deep.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn valid_fixtures_check_clean() {
    for name in [
        "seed/example-simple.yaml",
        "seed/failure-handling.yaml",
        "valid/scalars.yaml",
    ] {
        flow(&root())
            .args(["check", &format!("fixtures/{name}")])
            .assert()
            .success();
    }
    flow(&root())
        .args([
            "check",
            "fixtures/seed/development-cycle.yaml",
            "-c",
            "target=x",
            "-c",
            "env=y",
        ])
        .assert()
        .success();
}

#[test]
fn missing_file_and_directory_are_clear_errors() {
    let out = flow(&root())
        .args(["check", "fixtures/nope.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read workflow file `fixtures/nope.yaml`: no such file"),
        "{}",
        stderr(&out)
    );
    let out = flow(&root())
        .args(["run", "fixtures/"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
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
    std::fs::write(tmp.path().join("chain.yaml"), &chain).expect("write");
    flow(tmp.path())
        .args(["check", "chain.yaml"])
        .assert()
        .success();

    let mut cycle = String::from("name: cycle\nsteps:\n");
    let n = 20_000;
    for i in 0..n {
        cycle.push_str(&format!(
            "  - id: s{i}\n    run: 'true'\n    depends_on: [s{}]\n",
            (i + n - 1) % n
        ));
    }
    std::fs::write(tmp.path().join("cycle.yaml"), &cycle).expect("write");
    let out = flow(tmp.path())
        .args(["check", "cycle.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dependency cycle: s0 -> s19999 -> s19998"),
        "{}",
        &stderr(&out)[..500]
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = flow(&root())
        .args([
            "run",
            "fixtures/seed/example-simple.yaml",
            "--context",
            "novalue",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has no `=`"));
    let out = flow(&root())
        .args([
            "run",
            "fixtures/seed/example-simple.yaml",
            "--timeout",
            "5x",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = flow(&root())
        .args(["run", "fixtures/seed/example-simple.yaml", "tset"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `test`?"),
        "{}",
        stderr(&out)
    );
}
