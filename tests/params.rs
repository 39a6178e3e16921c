//! `params:`: context variables with a declared type, a default and help, set with `--param`
//! or `-c`, checked before anything runs, shown by `list`, offered by completions, and asked
//! for on a terminal when one without a default is missing.

mod common;

use common::Flow;

const WORKFLOW: &str = r#"name: rel
params:
  profile: {one_of: [debug, release], default: debug, help: The build profile}
  jobs: {type: integer, help: How many at once}
  verbose: {type: bool, default: false}
  target: x86_64
steps:
  - id: build
    run: echo "${profile} ${jobs} ${target} ${verbose}" > out
  - id: loud
    if: verbose == 'true'
    run: touch loud
"#;

fn flow() -> Flow {
    Flow::new().file(".flow.yaml", WORKFLOW)
}

fn out(ran: &common::Ran) -> String {
    std::fs::read_to_string(ran.dir().join("out")).unwrap_or_default()
}

#[test]
fn values_and_defaults_arrive_and_a_param_is_a_context_variable() {
    let ran = flow()
        .args(["rel", "--param", "jobs=3", "--param", "profile=release"])
        .run()
        .success();
    assert_eq!(out(&ran), "release 3 x86_64 false\n");
    assert!(!ran.dir().join("loud").exists());
    // `-c` sets a parameter too, and conditions read it.
    let ran = flow()
        .args([
            "rel",
            "-c",
            "jobs=4",
            "-c",
            "verbose=true",
            "--param",
            "jobs=5",
        ])
        .run()
        .success();
    assert_eq!(out(&ran), "debug 5 x86_64 true\n", "--param over -c");
    assert!(ran.dir().join("loud").exists());
}

#[test]
fn values_that_do_not_fit_are_diagnostics_before_anything_runs() {
    let ran = flow()
        .args([
            "rel",
            "--param",
            "jobs=many",
            "-c",
            "profile=fast",
            "--param",
            "verbos=true",
        ])
        .run()
        .code(2)
        .stderr_has(&[
            "`jobs=many`: `jobs` takes a whole number",
            ".flow.yaml:4:3",
            "`profile=fast`: `profile` takes one of debug, release",
            "workflow `rel` has no parameter `verbos`",
            "did you mean `verbose`?",
        ]);
    assert!(!ran.dir().join("out").exists());
}

#[test]
fn a_param_without_a_default_must_be_set_to_run_but_not_to_check() {
    flow()
        .env("CI", "true")
        .args(["rel"])
        .run()
        .code(2)
        .stderr_has(&["parameter `jobs` is not set", "--param jobs=VALUE"])
        .stderr_lacks(&["undefined"]);
    flow().args(["check", "rel"]).run().success();
}

#[test]
fn declarations_are_checked() {
    let bad = "name: x\ncontext: {a: 1}\nparams:\n  a: 2\n  n: {type: integer, default: ten}\n  t: {type: float}\n  args: 1\n  c: {one_of: []}\nsteps:\n  - id: s\n    run: 'true'\n";
    common::run_workflow(bad).code(2).stderr_has(&[
        "`a` is both a parameter and a context variable",
        "the default of `n` is not a whole number",
        "unknown parameter type `float`",
        "`args` cannot be a parameter",
        "`one_of`",
    ]);
}

#[test]
fn list_shows_the_params_and_completions_offer_them() {
    flow().args(["list", "rel"]).run().success().stdout_has(&[
        "--param profile=VALUE  one of debug, release (default debug)  # The build profile",
        "--param jobs=VALUE     a whole number (required)  # How many at once",
    ]);
    let complete = |word: &str| {
        flow()
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", "3")
            .env("_CLAP_IFS", "\n")
            .args(["--", "cargo-flow", "rel", "--param", word])
            .run()
            .success()
    };
    complete("").stdout_has(&["profile=", "jobs=", "verbose="]);
    complete("profile=r")
        .stdout_has(&["profile=release"])
        .stdout_lacks(&["debug"]);
}

#[test]
fn a_missing_param_is_asked_for_on_a_terminal() {
    // `script` gives cargo flow a terminal, and what it reads comes from the pipe.
    let ran = flow()
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .after_shell("printf '7\\n' | exec script -qec \"$0 $*\" /dev/null; exit")
        .args(["rel", "build"])
        .run()
        .success()
        .stdout_has(&["jobs (How many at once; a whole number): "]);
    assert_eq!(out(&ran), "debug 7 x86_64 false\n");
}

#[test]
fn checking_every_workflow_a_param_goes_to_those_that_declare_it() {
    let flow = || {
        Flow::new().file(
            ".flow.yaml",
            "workflows:\n  a:\n    params: {x: {default: '1'}}\n    steps:\n      - id: s\n        run: echo ${x}\n  b:\n    steps:\n      - id: s\n        run: 'true'\n",
        )
    };
    flow()
        .args(["check", "--param", "x=2"])
        .run()
        .success()
        .stderr_has(&["Checked 2 workflows"]);
    flow()
        .args(["check", "--param", "y=2"])
        .run()
        .code(2)
        .stderr_has(&["workflow `a` has no parameter `y`"]);
}
