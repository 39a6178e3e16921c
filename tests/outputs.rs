//! Step outputs: written to `$FLOW_OUTPUT`, read by later steps as
//! `${steps.<id>.outputs.<key>}`, never as shell syntax.

mod common;

use common::Flow;

#[test]
fn outputs_pass_from_step_to_step_in_every_quoting_position() {
    let ran = Flow::new()
        .workflow(
            r#"name: wf
steps:
  - id: build
    run: |
      echo "version=1.2.3" >> "$FLOW_OUTPUT"
      printf 'hostile=%s\n' '$(touch pwned); `touch pwned` "q" '"'"'s'"'"' *' >> "$FLOW_OUTPUT"
      printf 'notes<<END\nline one\n\nline three\nEND\n' >> "$FLOW_OUTPUT"
  - id: use
    depends_on: build
    run: |
      printf '[%s]' ${steps.build.outputs.version} "${steps.build.outputs.hostile}" '${steps.build.outputs.hostile}' "x${steps.build.outputs.hostile}y"
      printf '{%s}' "$(printf '%s' "${steps.build.outputs.notes}")"
  - id: later
    depends_on: use
    run: echo "${steps.build.outputs.version}"
"#,
        )
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .run()
        .success();
    let hostile = r#"$(touch pwned); `touch pwned` "q" 's' *"#;
    assert_eq!(
        ran.log("wf", "use"),
        // Inside '...' nothing is expanded, as `$HOME` is not.
        format!(
            "[1.2.3][{hostile}][${{FLOW_OUTPUT_BUILD__HOSTILE}}][x{hostile}y]{{line one\n\nline three}}"
        )
    );
    assert!(
        !ran.dir().join("pwned").exists(),
        "an output ran as a command"
    );
    assert_eq!(
        ran.log("wf", "later"),
        "1.2.3\n",
        "outputs of any ancestor, not only a direct dependency"
    );
    let report = ran.json("r.json");
    assert_eq!(report["steps"][0]["outputs"]["version"], "1.2.3");
    assert_eq!(
        report["steps"][0]["outputs"]["notes"],
        "line one\n\nline three"
    );
}

#[test]
fn a_key_that_was_not_written_fails_the_reader() {
    common::run_workflow("name: wf\nsteps:\n  - id: build\n    run: echo other=1 >> $FLOW_OUTPUT\n  - id: use\n    depends_on: build\n    run: echo ${steps.build.outputs.version}\n  - id: after\n    depends_on: use\n    run: echo after\n",)
        .code(1)
        .stderr_has(&[
            "✗ use",
            "it reads output `version` of `build`, which `build` did not write",
        ])
        .stderr_has(&["- after skipped: use failed"]);
}

#[test]
fn malformed_outputs_fail_the_writer() {
    common::run_workflow(
        "name: wf\nsteps:\n  - id: build\n    run: echo 'not a pair' >> $FLOW_OUTPUT\n",
    )
    .code(1)
    .stderr_has(&["its $FLOW_OUTPUT: line 1 is not `key=value` or `key<<EOF`"]);
}

#[test]
fn only_ancestors_can_be_read_and_the_plan_says_so() {
    Flow::at(common::root())
        .args(["check", "fixtures/invalid/bad-output-references.yaml"])
        .refused(&["`build` is not a step that `unrelated` depends on"])
        .stderr_has(&["did you mean `build`?"]);
}

#[test]
fn an_outputs_file_that_is_a_fifo_or_a_link_is_refused_not_followed() {
    let ran = common::run_workflow("name: wf\nsteps:\n  - id: fifo\n    run: mkfifo \"$FLOW_OUTPUT\"\n  - id: link\n    run: ln -s /dev/zero \"$FLOW_OUTPUT\"\n",)
        .code(1)
        .stderr_has(&["✗ fifo", "not a regular file"])
        .stderr_has(&["✗ link", "cannot be read"]);
    assert!(ran.took() < std::time::Duration::from_secs(10));
}

#[test]
fn outputs_left_by_an_earlier_run_are_never_read() {
    Flow::new()
        .workflow(
            "name: wf
steps:
  - id: build
    run: 'true'
  - id: use
    depends_on: build
    run: echo ${steps.build.outputs.version}
",
        )
        // As an interrupted run would leave it.
        .file("target/flow/logs/wf/build.outputs", "version=stale\n")
        .args(["run", "wf.yaml"])
        .run()
        .code(1)
        .stderr_has(&["it reads output `version` of `build`, which `build` did not write"]);
}

#[test]
fn outputs_whose_names_look_alike_arrive_apart() {
    let ran = common::run_workflow(
        r#"name: wf
steps:
  - id: a-b
    run: echo c=1 >> "$FLOW_OUTPUT"
  - id: a
    run: echo b-c=2 >> "$FLOW_OUTPUT"
  - id: A_b
    run: echo c=3 >> "$FLOW_OUTPUT"
  - id: use
    depends_on: [a-b, a, A_b]
    run: printf '[%s]' "${steps.a-b.outputs.c}" "${steps.a.outputs.b-c}" "${steps.A_b.outputs.c}"
"#,
    )
    .success();
    assert_eq!(ran.log("wf", "use"), "[1][2][3]");
}
