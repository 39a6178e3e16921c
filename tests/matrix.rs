//! `matrix:` on a step: one instance per combination, values through the environment,
//! pairing between matrix steps over the same keys, with `for_each`, and diagnostics.

mod common;

use common::{Flow, run_workflow, tempdir_with};

const WORKFLOW: &str = "name: m
steps:
  - id: check
    matrix:
      features: [default, full]
      toolchain: [stable, beta]
      exclude:
        - features: full
          toolchain: beta
      include:
        - features: '$(touch pwned)'
          toolchain: nightly
    run: echo \"check ${matrix.features} ${matrix.toolchain}\" >> out.txt
  - id: test
    depends_on: check
    matrix:
      features: [default, full]
      toolchain: [stable, beta]
    if: matrix.toolchain == 'stable'
    env:
      TC: ${matrix.toolchain}
    run: echo \"test ${matrix.features} $TC\" >> out.txt
  - id: after
    depends_on: check
    run: echo after >> out.txt
";

#[test]
fn each_combination_is_an_instance_and_values_stay_values() {
    let ran = run_workflow(WORKFLOW).success();
    let out = std::fs::read_to_string(ran.dir().join("out.txt")).expect("out.txt");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "after",
            "check $(touch pwned) nightly",
            "check default beta",
            "check default stable",
            "check full stable",
            "test default stable",
            "test full stable",
        ]
    );
    assert!(!ran.dir().join("pwned").exists());
    ran.stderr_has(&[
        "test:default-beta",
        "condition false: matrix.toolchain == 'stable'",
    ]);
}

#[test]
fn matrix_steps_over_the_same_keys_pair_up_and_others_wait_for_all() {
    let listed = Flow::new()
        .workflow(WORKFLOW)
        .args(["list", "wf.yaml"])
        .run()
        .success();
    let out: String = listed
        .stdout()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    for line in [
        "check:default-stable",
        "check:$(touch pwned)-nightly",
        "test:default-stable after check:default-stable",
        "test:full-stable after check:full-stable",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // `test:full-beta` has no `check` beside it (excluded): it waits for nothing of it.
    assert!(out.lines().any(|l| l.trim() == "test:full-beta"), "{out}");
    let after = out
        .lines()
        .find(|l| l.trim_start().starts_with("after"))
        .expect("after");
    assert_eq!(after.matches("check:").count(), 4, "{after}");
}

#[test]
fn a_matrix_runs_for_each_package_too() {
    let member = |n: &str| common::manifest(n, "");
    let tmp = tempdir_with(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"alpha\", \"beta\"]\nresolver = \"2\"\n",
        ),
        ("alpha/Cargo.toml", &member("alpha")),
        ("alpha/src/lib.rs", ""),
        ("beta/Cargo.toml", &member("beta")),
        ("beta/src/lib.rs", ""),
        (
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: t\n    for_each: package\n    matrix: {opt: [o1, o2]}\n    run: echo ${package} ${matrix.opt}\n",
        ),
    ]);
    let listed = Flow::at(tmp.path()).args(["list", "ci"]).run().success();
    for id in ["t:alpha:o1", "t:alpha:o2", "t:beta:o1", "t:beta:o2"] {
        assert!(listed.stdout().contains(id), "{id}\n{}", listed.stdout());
    }
    Flow::at(tmp.path())
        .arg("ci")
        .run()
        .success()
        .stderr_has(&["4 succeeded"]);
}

#[test]
fn bad_matrices_are_diagnostics() {
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix:\n      x: [a-b, a]\n      y: [c, b-c]\n    run: echo\n")
        .code(2)
        .stderr_has(&["flow::duplicate-id", "both give the id `a:a-b-c`"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix:\n      x: [{a: 1}]\n    run: echo\n")
        .code(2)
        .stderr_has(&["flow::bad-matrix", "values are text, numbers or booleans"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: [1, 2]\n    run: echo\n")
        .code(2)
        .stderr_has(&["flow::bad-matrix"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: {x: [1]}\n    run: echo ${matrix.y}\n")
        .code(2)
        .stderr_has(&["matrix.y"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    run: echo\n    if: matrix.x == '1'\n")
        .code(2)
        .stderr_has(&["`matrix.x` is not a known name"]);
    // A key only an `include` adds is unknown to the other instances, wherever they are.
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: {os: [x, y], include: [{os: x, e: 'yes'}]}\n    if: matrix.e == 'yes'\n    run: echo\n")
        .code(2)
        .stderr_has(&["flow::bad-condition", "`matrix.e` is not a known name"]);
    run_workflow(
        "name: m\nsteps:\n  - id: a\n    matrix: {v: [\"x\\n::error::forged\"]}\n    run: echo\n",
    )
    .code(2)
    .stderr_has(&["flow::bad-matrix", "control character"]);
    run_workflow(
        "name: m\nsteps:\n  - id: a\n    matrix: {x: [1], exclude: [{y: 1}]}\n    run: echo\n",
    )
    .code(2)
    .stderr_has(&["`y`, which is not a key of the matrix"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: {x: [~]}\n    run: echo\n")
        .code(2)
        .stderr_has(&["a value that is nothing (null)"]);
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: {v: [A, a]}\n    run: echo\n")
        .code(2)
        .stderr_has(&["flow::duplicate-id"]);
    // Which instance's outputs a reader gets is not known: refused, as for per-package steps.
    run_workflow("name: m\nsteps:\n  - id: a\n    matrix: {v: [x, y]}\n    run: echo k=v >> $FLOW_OUTPUT\n  - id: b\n    depends_on: a\n    run: echo ${steps.a.outputs.k}\n")
        .code(2)
        .stderr_has(&["runs once per package or matrix combination"]);
}

#[test]
fn a_mermaid_graph_escapes_quotes_in_ids() {
    let yaml = "name: m\nsteps:\n  - id: a\n    matrix: {v: ['q\"x']}\n    run: echo\n";
    let graph = Flow::new()
        .workflow(yaml)
        .args(["graph", "wf.yaml", "--format", "mermaid"])
        .run()
        .success();
    assert!(
        graph.stdout().contains("s0[\"a:q#quot;x\"]"),
        "{}",
        graph.stdout()
    );
}

#[test]
fn instances_pair_when_they_agree_on_the_keys_they_share() {
    let yaml = "name: m
steps:
  - id: a
    matrix: {os: [x, y], include: [{os: x, extra: '1'}]}
    run: echo
  - id: b
    matrix: {os: [x, y]}
    depends_on: a
    run: echo
";
    let listed = Flow::new()
        .workflow(yaml)
        .args(["list", "wf.yaml"])
        .run()
        .success();
    let out = listed.stdout();
    let line = |id: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(id))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(line("b:y"), "b:y after a:y", "{out}");
    assert_eq!(line("b:x"), "b:x after a:x-1", "{out}");
}

#[test]
fn list_and_check_count_steps_as_declared_and_after_expansion() {
    let yaml = "name: ci\nsteps:\n  - id: t\n    matrix: {x: [1, 2, 3]}\n    run: echo ${matrix.x}\n  - id: u\n    run: 'true'\n";
    let tmp = common::tempdir_with(&[(".flow.yaml", yaml)]);
    common::Flow::at(tmp.path())
        .args(["list"])
        .run()
        .success()
        .stdout_has(&["ci  2 steps (4 after expansion)"]);
    common::Flow::at(tmp.path())
        .args(["check"])
        .run()
        .success()
        .stderr_has(&["Checked 1 workflow, 2 steps (4 after expansion): no problems"]);
}

#[test]
fn package_and_matrix_values_outside_their_steps_say_where_they_are_defined() {
    common::run_workflow("name: ci\nsteps:\n  - id: a\n    run: echo ${package} ${matrix.os}\n")
        .code(2)
        .stderr_has(&[
            "`${package}` is defined in steps with `for_each: package`",
            "`${matrix.os}` is defined in a step whose `matrix:` has the key `os`",
        ]);
}
