//! The words after `--`: `${args}` and the shell's `"$@"` in the steps named on the command
//! line, or every step when none is; empty, not undefined, without `--`.

mod common;

use common::Flow;

const WORKFLOW: &str = r#"name: ci
steps:
  - id: a
    run: printf '<%s>' "$@" > a.out; echo "${args}" >> a.out
  - id: b
    depends_on: a
    run: printf '[%s]' "$@" > b.out; echo " $#" >> b.out
  - id: c
    run: [sh, -c, 'printf "{%s}" "$@" > c.out', c, "${args}"]
"#;

fn flow() -> Flow {
    Flow::new().file(".flow.yaml", WORKFLOW)
}

fn read(ran: &common::Ran, file: &str) -> String {
    std::fs::read_to_string(ran.dir().join(file)).unwrap_or_default()
}

#[test]
fn without_a_step_named_every_step_gets_the_words_whole() {
    let ran = flow()
        .args(["ci", "--", "x y", "--nocapture", "$(touch pwned)"])
        .run()
        .success();
    assert_eq!(
        read(&ran, "a.out"),
        "<x y><--nocapture><$(touch pwned)>x y --nocapture $(touch pwned)\n"
    );
    assert_eq!(
        read(&ran, "b.out"),
        "[x y][--nocapture][$(touch pwned)] 3\n"
    );
    assert_eq!(read(&ran, "c.out"), "{x y}{--nocapture}{$(touch pwned)}");
    assert!(!ran.dir().join("pwned").exists());
}

#[test]
fn with_steps_named_only_they_get_the_words() {
    let ran = flow()
        .args(["run", "ci", "b", "--", "-v", "w"])
        .run()
        .success()
        .stderr_has(&["2 succeeded"]);
    assert_eq!(
        read(&ran, "a.out"),
        "<>\n",
        "a runs for b, without the words"
    );
    assert_eq!(read(&ran, "b.out"), "[-v][w] 2\n");
}

#[test]
fn without_dashes_args_is_empty_and_defined() {
    let ran = flow().args(["ci"]).run().success();
    assert_eq!(read(&ran, "a.out"), "<>\n");
    assert_eq!(read(&ran, "b.out"), "[] 0\n");
    assert_eq!(read(&ran, "c.out"), "{}");
    flow().args(["check", "ci"]).run().success();
}

#[test]
fn the_plan_and_the_log_show_the_words() {
    flow()
        .args(["ci", "--dry-run", "--", "a b"])
        .run()
        .success()
        .stdout_has(&[r#""$@" = 'a b'"#, r#"${args} = "a b""#]);
    let ran = flow().args(["ci", "b", "--", "z"]).run().success();
    let log =
        std::fs::read_to_string(ran.dir().join("target/flow/logs/ci/b.log")).unwrap_or_default();
    assert!(log.contains(r#"--- cargo flow: "$@" = "z""#), "{log}");
}

#[test]
fn the_words_key_a_cached_step() {
    let yaml =
        "name: ci\nsteps:\n  - id: t\n    cache: {inputs: [in]}\n    run: echo \"$@\" >> runs\n";
    let tmp = tempfile::tempdir().expect("tempdir");
    common::write_files(tmp.path(), &[(".flow.yaml", yaml), ("in", "1")]);
    let go = |words: &[&str]| {
        Flow::at(tmp.path())
            .args(["ci", "--"])
            .args(words)
            .run()
            .success()
    };
    go(&["x"]);
    go(&["x"]).stderr_has(&["cached"]);
    go(&["y"]);
    let runs = std::fs::read_to_string(tmp.path().join("runs")).unwrap_or_default();
    assert_eq!(runs, "x\ny\n");
}

#[test]
fn args_cannot_be_set_as_context() {
    flow()
        .args(["ci", "-c", "args=1"])
        .run()
        .code(2)
        .stderr_has(&["`args` cannot be set"]);
    common::run_workflow("name: x\ncontext: {args: a}\nsteps:\n  - id: a\n    run: 'true'\n")
        .code(2)
        .stderr_has(&["`args` cannot be a context variable", "words after `--`"]);
}

#[test]
fn words_no_step_reads_are_an_error_not_dropped() {
    Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: test\n    run: cargo test\n  - id: lint\n    run: echo \"$@\"\n",
        )
        .args(["ci", "test", "--", "--nocapture"])
        .run()
        .code(2)
        .stderr_has(&[
            "the words after `--` go to step `test`, whose commands do not read them",
            "run: cargo test -- \"$@\"",
        ]);
}

#[test]
fn a_shell_that_would_run_the_words_gets_them_only_through_the_environment() {
    // A stand-in for pwsh, which joins the words after its command to it.
    let ran = Flow::new()
        .file("pwsh", "#!/bin/sh\nshift\nprintf '%s|' \"$@\" > words\n")
        .after_shell("chmod +x pwsh")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: s\n    shell: [./pwsh]\n    run: echo $env:FLOW_CTX_ARGS\n",
        )
        .args(["ci", "--", "; Remove-Item x"])
        .run()
        .success();
    assert_eq!(read(&ran, "words"), "echo $env:FLOW_CTX_ARGS|");
}
