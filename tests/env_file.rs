//! `env_file:` on a workflow and on a step: dotenv files whose variables reach steps through
//! the environment, with one precedence, paths relative to the workflow's folder, and every
//! problem a diagnostic.

mod common;

use common::Flow;

#[test]
fn one_precedence_from_cargo_flows_environment_to_the_steps_env() {
    let ran = Flow::new()
        .file(".env", "A=wf_file\nB=wf_file\nC=wf_file\nD=wf_file\nE=wf_file\n")
        .file("ci/step.env", "C=step_file\nD=step_file\n")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nenv: {B: wf_env, C: wf_env, D: wf_env}\nsteps:\n  - id: s\n    env_file: [ci/step.env]\n    env: {D: step_env}\n    run: echo \"$A $B $C $D $E $F\" > out\n",
        )
        .env("E", "cargo_flow")
        .env("F", "cargo_flow")
        .args(["ci"])
        .run()
        .success();
    let out = std::fs::read_to_string(ran.dir().join("out")).unwrap_or_default();
    assert_eq!(
        out,
        "wf_file wf_env step_file step_env wf_file cargo_flow\n"
    );
}

#[test]
fn a_name_a_file_defines_is_defined_and_its_value_stays_a_value() {
    let ran = Flow::new()
        .file(".env", "TARGET='$(touch pwned) x'\n# a comment\nexport OTHER=\"two words\"\n")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    run: printf '%s|%s' ${TARGET} \"${OTHER}\" > out\n",
        )
        .args(["ci"])
        .run()
        .success();
    let out = std::fs::read_to_string(ran.dir().join("out")).unwrap_or_default();
    // Unquoted, the value splits into words as any variable's would, and runs nothing.
    assert_eq!(out, "$(touch|pwned)x|two words");
    assert!(!ran.dir().join("pwned").exists());
}

#[test]
fn a_missing_file_is_an_error_unless_optional() {
    let flow = |entry: &str| {
        Flow::new()
            .file(
                ".flow.yaml",
                &format!("name: ci\nsteps:\n  - id: s\n    env_file: {entry}\n    run: 'true'\n"),
            )
            .args(["ci"])
            .run()
    };
    flow("[.env.local]").code(2).stderr_has(&[
        "flow::env-file",
        "the env file `.env.local` does not exist",
        ".flow.yaml:4:16",
        "optional: true",
    ]);
    flow("[{path: .env.local, optional: true}]").success();
    flow("[{path: .env, optinal: true}]").code(2).stderr_has(&[
        "unknown `env_file` key `optinal`",
        "did you mean `optional`?",
    ]);
}

#[test]
fn a_file_that_is_not_dotenv_or_not_a_file_is_an_error_not_a_hang() {
    Flow::new()
        .file(".env", "GOOD=1\nnot a line\n")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    run: 'true'\n",
        )
        .args(["check"])
        .run()
        .code(2)
        .stderr_has(&["the env file `.env` is not valid", "not a line"]);
    Flow::new()
        .after_shell("mkfifo .env")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    run: 'true'\n",
        )
        .args(["ci"])
        .timeout(std::time::Duration::from_secs(20))
        .run()
        .code(2)
        .stderr_has(&["the env file `.env` is not a regular file"]);
}

#[test]
fn in_cargo_toml_paths_are_relative_to_the_workspace_root_and_values_key_the_cache() {
    let manifest = common::manifest(
        "app",
        "\n[workspace.metadata.flow.ci]\nenv_file = [\"ci.env\"]\n[[workspace.metadata.flow.ci.steps]]\nid = \"s\"\ncwd = \"src\"\nrun = 'echo \"$MODE\" >> ../runs'\ncache = { inputs = [\"lib.rs\"] }\n",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    common::write_files(
        tmp.path(),
        &[
            ("Cargo.toml", &manifest),
            ("src/lib.rs", ""),
            ("ci.env", "MODE=a\n"),
        ],
    );
    let run = || Flow::at(tmp.path()).args(["ci"]).run().success();
    run();
    run().stderr_has(&["cached"]);
    common::write_files(tmp.path(), &[("ci.env", "MODE=b\n")]);
    run();
    let runs = std::fs::read_to_string(tmp.path().join("runs")).unwrap_or_default();
    assert_eq!(runs, "a\nb\n");
}
