//! Cache inputs that are hard to get wrong: a glob that matches nothing is an error, `!`
//! leaves files out, `--dry-run` shows what each pattern matches, and `after:` orders a step
//! without keying it.

mod common;

use common::Flow;

fn ran(dir: &std::path::Path, args: &[&str]) -> common::Ran {
    Flow::at(dir).args(args).run()
}

fn runs(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("runs")).unwrap_or_default()
}

#[test]
fn a_glob_that_matches_nothing_is_an_error_and_a_missing_literal_path_is_not() {
    let tmp = common::tempdir_with(&[
        ("src/lib.rs", ""),
        (
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: t\n    cache: {inputs: [\"scr/**\", Cargo.tml]}\n    run: 'true'\n",
        ),
    ]);
    ran(tmp.path(), &["ci", "--dry-run"])
        .success()
        .stdout_has(&[
            "cache inputs: `scr/**` (matches no file: an error when it runs), `Cargo.tml` (absent)",
        ]);
    ran(tmp.path(), &["ci"])
        .code(1)
        .stderr_has(&["its cache input glob `scr/**` matches no file"]);
    common::write_files(
        tmp.path(),
        &[(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: t\n    cache: {inputs: [\"src/**\", Cargo.tml]}\n    run: 'true'\n",
        )],
    );
    ran(tmp.path(), &["ci"]).success();
    ran(tmp.path(), &["ci", "--dry-run"])
        .success()
        .stdout_has(&["cache inputs: `src/**` (1 file), `Cargo.tml` (absent)"]);
}

#[test]
fn exclusions_leave_files_out_of_the_key() {
    let tmp = common::tempdir_with(&[
        ("src/lib.rs", "1"),
        ("src/gen/out.rs", "1"),
        ("src/NOTES.md", "1"),
        (
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: t\n    cache: {inputs: [\"src/**\", \"!src/gen/**\", \"!src/NOTES.md\"]}\n    run: echo x >> runs\n",
        ),
    ]);
    let dir = tmp.path();
    ran(dir, &["ci"]).success();
    common::write_files(dir, &[("src/gen/out.rs", "2"), ("src/NOTES.md", "2")]);
    ran(dir, &["ci"]).success().stderr_has(&["cached"]);
    common::write_files(dir, &[("src/lib.rs", "2")]);
    ran(dir, &["ci"]).success().stderr_lacks(&["cached"]);
    assert_eq!(runs(dir), "x\nx\n");
}

#[test]
fn an_exclusion_outside_inputs_is_refused() {
    common::run_workflow("name: x\nsteps:\n  - id: a\n    run: 'true'\n    artifacts: [\"!a\"]\n    cache: {inputs: [\"!\"], outputs: [\"!b\"]}\n")
        .code(2)
        .stderr_has(&[
            "`!a` in `artifacts` is an exclusion, which only `cache.inputs` has",
            "`!b` in `cache.outputs` is an exclusion",
            "an exclusion `!` names nothing",
        ]);
}

#[test]
fn after_orders_a_step_without_keying_it_and_depends_on_keys_it() {
    let yaml = "name: ci
steps:
  - id: a
    cache: {inputs: [a.txt]}
    run: echo a >> runs
  - id: keyed
    depends_on: a
    cache: {inputs: [b.txt]}
    run: echo keyed >> runs
  - id: ordered
    after: a
    cache: {inputs: [b.txt]}
    run: test -n \"$(grep -c a runs)\" && echo ordered >> runs
";
    let tmp = common::tempdir_with(&[("a.txt", "1"), ("b.txt", "1"), (".flow.yaml", yaml)]);
    let dir = tmp.path();
    ran(dir, &["ci", "-j", "3"]).success();
    let first = runs(dir);
    assert!(
        first.find("a\n") < first.find("ordered"),
        "after `a`: {first}"
    );
    common::write_files(dir, &[("a.txt", "2")]);
    ran(dir, &["ci"]).success();
    assert_eq!(
        runs(dir).strip_prefix(&first),
        Some("a\nkeyed\n"),
        "only `keyed` follows `a`'s key"
    );
    // A failed `after` step still skips the step.
    common::write_files(
        dir,
        &[(".flow.yaml", &yaml.replace("echo a >> runs", "exit 1"))],
    );
    ran(dir, &["ci"])
        .code(1)
        .stderr_has(&["ordered skipped: a failed"]);
}
