//! `cargo flow init --from`: GitHub Actions workflows shaped like those of well-known Rust
//! projects import into workflows that pass `check`; an imported workflow runs as GitHub
//! would run it, and no value of an expression ever runs as shell syntax.

mod common;

use std::path::Path;

use common::{Flow, Ran, fixture, tempdir_with};

/// A cargo project holding `fixtures/github/<name>.yml` as `.github/workflows/<name>.yml`.
fn project(name: &str) -> tempfile::TempDir {
    tempdir_with(&[
        (
            "Cargo.toml",
            "[package]\nname = \"imp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", ""),
        (
            &format!(".github/workflows/{name}.yml"),
            &fixture(&format!("github/{name}.yml")),
        ),
    ])
}

fn import(dir: &Path, name: &str) -> Ran {
    Flow::at(dir)
        .args(["init", "--from", &format!(".github/workflows/{name}.yml")])
        .run()
}

/// Imports a fixture, checks the result and pins it, and looks for `expected` in what `init`
/// said.
fn imported_saying(name: &str, expected: &[&str]) {
    let tmp = project(name);
    let ran = import(tmp.path(), name).success();
    let text = std::fs::read_to_string(tmp.path().join(".flow.yaml")).expect("written");
    Flow::at(tmp.path())
        .args(["check", name])
        .run()
        .success()
        .stderr_has(&["no problems"]);
    insta::assert_snapshot!(format!("import_{name}"), text);
    for e in expected {
        assert!(ran.stderr().contains(e), "{e}\n{}", ran.stderr());
    }
}

#[test]
fn a_matrix_of_toolchains_and_targets_is_one_chain_per_combination() {
    imported_saying(
        "ripgrep",
        &[
            "Wrote .flow.yaml from 3 jobs: 23 steps in workflow `ripgrep`",
            "`strategy.fail-fast`",
            "it uses $RUNNER_TEMP, a folder only a GitHub runner has",
        ],
    );
}

#[test]
fn jobs_with_needs_features_folders_and_conditions_carry_over() {
    imported_saying(
        "tokio",
        &[
            "from 9 jobs: 15 steps",
            "`concurrency:`",
            "env.rust_clippy }}` is known only while GitHub runs",
        ],
    );
}

#[test]
fn setup_actions_are_dropped_and_other_actions_and_secrets_are_listed() {
    imported_saying(
        "serde",
        &[
            "uses `codecov/codecov-action@v4`",
            "uses `dtolnay/install@cargo-outdated`",
            "`startsWith()` of what only a run knows",
        ],
    );
}

#[test]
fn what_has_no_equivalent_is_listed_and_never_run() {
    imported_saying(
        "unconvertible",
        &[
            "the matrix is computed by an expression",
            "`shell: pwsh`",
            "`hashFiles()`",
            "`needs.plan.outputs.matrix`",
            "calls the workflow `./.github/workflows/reusable.yml`",
            "`github.event.head_commit.message`",
            "from 5 jobs: 1 step in",
        ],
    );
}

#[test]
fn an_imported_workflow_runs_as_github_would_and_values_stay_values() {
    let tmp = project("behaviour");
    let dir = tmp.path();
    std::fs::create_dir(dir.join("sub")).expect("mkdir");
    import(dir, "behaviour").success();
    Flow::at(dir)
        .arg("behaviour")
        .env_remove("GITHUB_EVENT_NAME")
        .run()
        .success();
    let out = std::fs::read_to_string(dir.join("out.txt")).expect("out.txt");
    let mut lines: Vec<&str> = out.lines().collect();
    // The matrix's chains run side by side; what follows them, in order.
    let tail = lines.split_off(4);
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "hello $(touch pwned) 1.2",
            "hello `touch pwned3` 1.2",
            "hello it's; touch pwned2 1.2",
            "hello plain 1.2",
        ]
    );
    assert_eq!(tail, ["after", "in sub", "last"]);
    for planted in ["pwned", "pwned2", "pwned3"] {
        assert!(!dir.join(planted).exists(), "{planted} was created");
    }
    std::fs::remove_file(dir.join("out.txt")).expect("rm");
    Flow::at(dir)
        .arg("behaviour")
        .env("GITHUB_EVENT_NAME", "push")
        .run()
        .success();
    let out = std::fs::read_to_string(dir.join("out.txt")).expect("out.txt");
    assert!(out.contains("pushed\nafter\n"), "{out}");
    let log = common::read_log(&dir.join("target/flow/logs/behaviour/after-allowed-to-fail.log"));
    assert!(
        log.contains("continue-on-error: the step failed (exit 1)"),
        "{log}"
    );
}

/// Runs an imported fixture in a fresh project; returns the sorted lines of `out.txt`.
fn run_imported(name: &str, code: i32) -> (tempfile::TempDir, Vec<String>) {
    let tmp = project(name);
    import(tmp.path(), name).success();
    Flow::at(tmp.path())
        .args(["run", name])
        .env_remove("GITHUB_EVENT_NAME")
        .run()
        .code(code);
    let out = std::fs::read_to_string(tmp.path().join("out.txt")).unwrap_or_default();
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    lines.sort_unstable();
    (tmp, lines)
}

#[test]
fn what_runs_after_a_failure_or_a_skipped_step_is_what_github_runs() {
    // `a` fails: its `always()` step runs, the rest of `a` and the job that needs it do not,
    // the jobs that need it with `always()` and `failure()` do. In `e`, a step skipped by its
    // condition stops nothing, `success()` means nothing failed, and `$GITHUB_ENV` is
    // written nowhere.
    // `g` runs with `always()` after `a` failed, all of it; `!cancelled()` in `h` runs after a
    // failure; `j` needs `i`, skipped, so its `success()` is false.
    let (_tmp, lines) = run_imported("semantics", 1);
    assert_eq!(
        lines,
        [
            "a-cleanup",
            "c",
            "d",
            "e-after",
            "e-success",
            "f",
            "g1",
            "g2",
            "h-not-cancelled"
        ]
    );
}

#[test]
fn hostile_values_stay_values_and_never_reach_the_file_as_yaml() {
    // The last step passes `; touch pwned9` to cargo as arguments, which cargo refuses.
    let (tmp, _) = run_imported("hostile", 1);
    let out = std::fs::read_to_string(tmp.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "${workspace_root}|a\rb");
    for n in 1..=10 {
        assert!(!tmp.path().join(format!("pwned{n}")).exists(), "pwned{n}");
    }
    let text = std::fs::read_to_string(tmp.path().join(".flow.yaml")).expect("written");
    assert!(!text.contains('\r'), "{text}");
    let planted = text
        .lines()
        .any(|l| l.trim_start().starts_with("- id: evil"));
    assert!(!planted, "{text}");
}

#[test]
fn a_workflow_with_nothing_to_run_is_a_diagnostic() {
    let tmp = project("serde");
    common::write_files(
        tmp.path(),
        &[(
            "u.yml",
            "jobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n      - uses: EmbarkStudios/cargo-deny-action@v1\n",
        )],
    );
    Flow::at(tmp.path())
        .args(["init", "--from", "u.yml"])
        .run()
        .code(2)
        .stderr_has(&[
            "no step of this workflow could be imported",
            "cargo-deny-action",
        ]);
    assert!(!tmp.path().join(".flow.yaml").exists());
}

#[test]
fn an_existing_workflow_is_kept_without_force() {
    let tmp = project("serde");
    std::fs::write(tmp.path().join(".flow.yaml"), "name: mine\nsteps: []\n").expect("write");
    import(tmp.path(), "serde")
        .code(2)
        .stderr_has(&["flow::init-exists", "--force"]);
    Flow::at(tmp.path())
        .args(["init", "--force", "--from", ".github/workflows/serde.yml"])
        .run()
        .success();
}

#[test]
fn bad_input_is_a_diagnostic() {
    let tmp = project("serde");
    let dir = tmp.path();
    common::write_files(
        dir,
        &[
            ("a.yml", "name: x\non: push\n"),
            ("b.yml", "jobs: [\n"),
            (
                "c.yml",
                "jobs:\n  a:\n    needs: b\n    steps: [{run: x}]\n  b:\n    needs: a\n    steps: [{run: y}]\n",
            ),
        ],
    );
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--cargo-toml", "--from", ".github/workflows/serde.yml"],
            &["cannot be used with"],
        ),
        (
            &["--from", "missing.yml"],
            &["no such file", "--from .github/workflows/ci.yml"],
        ),
        (
            &["--from", "a.yml"],
            &["flow::init-from", "no `jobs:` map", "a.yml:1:1"],
        ),
        (&["--from", "b.yml"], &["flow::syntax", "b.yml:"]),
        (&["--from", "c.yml"], &["form a cycle: a, b"]),
    ];
    for (args, said) in cases {
        Flow::at(dir)
            .arg("init")
            .args(*args)
            .run()
            .code(2)
            .stderr_has(said);
    }
    assert!(!dir.join(".flow.yaml").exists());
}
