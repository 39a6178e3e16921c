//! Step outputs: written to `$FLOW_OUTPUT`, read by later steps as
//! `${steps.<id>.outputs.<key>}`, never as shell syntax.

mod common;

use common::{flow, stderr, workflow};

#[test]
fn outputs_pass_from_step_to_step_in_every_quoting_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
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
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/use.log"));
    let hostile = r#"$(touch pwned); `touch pwned` "q" 's' *"#;
    assert_eq!(
        log,
        // Inside '...' nothing is expanded, as `$HOME` is not.
        format!(
            "[1.2.3][{hostile}][${{FLOW_OUTPUT_BUILD__HOSTILE}}][x{hostile}y]{{line one\n\nline three}}"
        )
    );
    assert!(
        !tmp.path().join("pwned").exists(),
        "an output ran as a command"
    );
    let later = common::read_log(&tmp.path().join("target/flow/logs/wf/later.log"));
    assert_eq!(
        later, "1.2.3\n",
        "outputs of any ancestor, not only a direct dependency"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).expect("report"))
            .expect("json");
    assert_eq!(report["steps"][0]["outputs"]["version"], "1.2.3");
    assert_eq!(
        report["steps"][0]["outputs"]["notes"],
        "line one\n\nline three"
    );
}

#[test]
fn a_key_that_was_not_written_fails_the_reader() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: build\n    run: echo other=1 >> $FLOW_OUTPUT\n  - id: use\n    depends_on: build\n    run: echo ${steps.build.outputs.version}\n  - id: after\n    depends_on: use\n    run: echo after\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("✗ use")
            && err.contains("it reads output `version` of `build`, which `build` did not write"),
        "{err}"
    );
    assert!(err.contains("- after skipped: use failed"), "{err}");
}

#[test]
fn malformed_outputs_fail_the_writer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: build\n    run: echo 'not a pair' >> $FLOW_OUTPUT\n",
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("its $FLOW_OUTPUT: line 1 is not `key=value` or `key<<EOF`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn only_ancestors_can_be_read_and_the_plan_says_so() {
    let out = flow(&common::root())
        .args(["check", "fixtures/invalid/bad-output-references.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`build` is not a step that `unrelated` depends on"),
        "{err}"
    );
    assert!(err.contains("did you mean `build`?"), "{err}");
}

#[test]
fn an_outputs_file_that_is_a_fifo_or_a_link_is_refused_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf\nsteps:\n  - id: fifo\n    run: mkfifo \"$FLOW_OUTPUT\"\n  - id: link\n    run: ln -s /dev/zero \"$FLOW_OUTPUT\"\n",
    );
    let started = std::time::Instant::now();
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let err = stderr(&out);
    assert!(
        err.contains("✗ fifo") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(
        err.contains("✗ link") && err.contains("cannot be read"),
        "{err}"
    );
}

#[test]
fn outputs_left_by_an_earlier_run_are_never_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
        "name: wf
steps:
  - id: build
    run: 'true'
  - id: use
    depends_on: build
    run: echo ${steps.build.outputs.version}
",
    );
    // As an interrupted run would leave it.
    common::write_files(
        tmp.path(),
        &[("target/flow/logs/wf/build.outputs", "version=stale\n")],
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it reads output `version` of `build`, which `build` did not write"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outputs_whose_names_look_alike_arrive_apart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workflow(
        tmp.path(),
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
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = common::read_log(&tmp.path().join("target/flow/logs/wf/use.log"));
    assert_eq!(log, "[1][2][3]");
}
