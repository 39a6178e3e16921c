//! Every kind of invalid workflow gives exit code 2 and a diagnostic pinned by a snapshot.

mod common;

use std::time::{Duration, Instant};

use common::{flow, root, stderr};

#[test]
fn every_invalid_fixture_has_a_pinned_diagnostic() {
    let dir = root().join("fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/invalid exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 15,
        "expected the invalid corpus, found {names:?}"
    );
    for name in names {
        let started = Instant::now();
        let out = flow(&root())
            .args(["check", &format!("fixtures/invalid/{name}")])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
        let text = stderr(&out);
        assert!(!text.contains("panicked"), "{name} panicked: {text}");
        let snapshot = name.replace('.', "_");
        insta::assert_snapshot!(snapshot, text);
    }
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
