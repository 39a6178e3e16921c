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
        .stderr_has(&["the env file `.env`: it is not a regular file"]);
    let big = format!("A={}\n", "x".repeat(2 << 20));
    for (text, why) in [("A=1\0\n", "NUL byte"), (big.as_str(), "more than 1 MiB")] {
        Flow::new()
            .file(".env", text)
            .file(
                ".flow.yaml",
                "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    run: 'true'\n",
            )
            .args(["ci"])
            .run()
            .code(2)
            .stderr_has(&[why]);
    }
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

#[test]
fn an_env_value_reads_what_is_set_before_it_and_extends_cargo_flows_path() {
    let ran = Flow::new()
        .file(".env", "BASE=from_file\n")
        .file("from_file/sub/deep/.keep", "")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nenv:\n  PATH: '${PATH}:/opt/wf'\n  SUB: '${BASE}/sub'\nsteps:\n  - id: s\n    env:\n      DEEP: '${SUB}/deep'\n      PATH: '${PATH}:/opt/step'\n    cwd: '${DEEP}'\n    run: echo \"$PATH|$SUB|$DEEP\" > out\n",
        )
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["ci"])
        .run()
        .success();
    let out = std::fs::read_to_string(ran.dir().join("from_file/sub/deep/out")).unwrap_or_default();
    let path = std::env::var("PATH").unwrap_or_default();
    assert_eq!(
        out,
        format!("{path}:/opt/wf:/opt/step|from_file/sub|from_file/sub/deep\n")
    );
}

#[test]
fn a_value_from_a_file_that_bash_would_run_is_refused_before_anything_runs() {
    let ran = Flow::new()
        .file(".env", "X='a[$(touch pwned)]'\n")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    shell: bash\n    run: echo $(( X + 1 ))\n",
        )
        .args(["ci"])
        .run()
        .code(2)
        .stderr_has(&["environment variable `X` holds `$`"]);
    assert!(!ran.dir().join("pwned").exists());
}

#[test]
fn neither_env_nor_a_file_may_set_the_variables_that_carry_checked_values() {
    Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\ncontext: {t: x}\nsteps:\n  - id: s\n    env: {FLOW_CTX_T: '$(touch pwned)'}\n    run: echo ${t}\n",
        )
        .args(["check"])
        .run()
        .code(2)
        .stderr_has(&["`FLOW_CTX_T` is set by cargo flow for every step", ".flow.yaml:5:11"]);
    Flow::new()
        .file(".env", "FLOW_OUTPUT_A__V=1\n")
        .file(
            ".flow.yaml",
            "name: ci\nenv_file: .env\nsteps:\n  - id: s\n    run: 'true'\n",
        )
        .args(["ci"])
        .run()
        .code(2)
        .stderr_has(&["the env file `.env` sets `FLOW_OUTPUT_A__V`"]);
}
