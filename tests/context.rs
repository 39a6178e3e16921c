//! Context variables, workspace facts and per-package steps, through the binary.

mod common;

use common::{Flow, workflow_dir, write_files};

#[test]
fn precedence_cli_then_defaults_then_facts_then_environment() {
    let tmp = workflow_dir(
        "name: vars
context:
  target: from-default
  workflow: renamed
steps:
  - id: show
    run: echo ${target} ${workflow} ${FLOW_TEST_FROM_ENV}
",
    );
    let run = |args: &[&str]| {
        Flow::at(tmp.path())
            .env("FLOW_TEST_FROM_ENV", "from-env")
            .args(args)
            .run()
            .success()
            .log("vars", "show")
    };
    assert_eq!(run(&["run", "wf.yaml"]), "from-default renamed from-env\n");
    assert_eq!(
        run(&["run", "wf.yaml", "-c", "target=from-cli"]),
        "from-cli renamed from-env\n"
    );
}

#[test]
fn shell_forms_of_a_context_variable_read_its_value() {
    let tmp = workflow_dir(
        "name: forms
context:
  target: x86
  empty: ''
steps:
  - id: forms
    run: echo ${target:-none} ${#target} ${target%64} ${empty:-fallback} ${FLOW_TEST_UNSET:-shell} ${empty:+never}
  - id: local
    run: for f in a.rs b.rs; do printf '%s ' ${f%.rs}; done
",
    );
    let ran = Flow::at(tmp.path())
        .args(["run", "wf.yaml", "-c", "target=arm64"])
        .run()
        .success();
    assert_eq!(ran.log("forms", "forms"), "arm64 5 arm fallback shell\n");
    assert_eq!(ran.log("forms", "local"), "a b ");
    Flow::at(tmp.path())
        .args(["run", "wf.yaml", "--dry-run"])
        .run()
        .success()
        .stdout_has(&["${target} = \"x86\""]);
}

#[test]
fn raw_without_a_name_is_an_error() {
    for form in ["${raw:}", "${raw:raw:x}"] {
        Flow::new()
            .workflow(&format!(
                "name: r\nsteps:\n  - id: a\n    run: echo {form}\n"
            ))
            .args(["run", "wf.yaml"])
            .refused(&[
                "flow::bad-variable",
                "`raw:` must be followed by a variable name",
            ]);
    }
}

#[test]
fn lists_escapes_raw_and_environment_names() {
    let ran = Flow::new()
        .workflow(
            "name: forms
context:
  flags: [--alpha, 'two words']
steps:
  - id: list
    run: printf '%s|' ${flags}
  - id: list-quoted
    run: printf '%s|' \"${flags}\"
  - id: argv
    run: [printf, '%s|', '${flags}', 'x${target}y']
  - id: escape
    run: echo '$${HOME}'
  - id: raw
    run: printf '%s|' ${raw:opts}
  - id: env
    run: printf '%s|' \"$FLOW_CTX_TARGET\" \"$FLOW_CTX_FLAGS\" \"$FLOW_CTX_WORKFLOW\"
    env:
      SHOWN: ${target}
  - id: env-value
    run: printf '%s' \"$SHOWN\"
    env:
      SHOWN: ${target}
",
        )
        .args(["run", "wf.yaml", "-c", "target=a b", "-c", "opts=--x --y"])
        .run()
        .success();
    // A list reaches a shell as its items joined with spaces, which split like any variable.
    assert_eq!(ran.log("forms", "list"), "--alpha|two|words|");
    assert_eq!(ran.log("forms", "list-quoted"), "--alpha two words|");
    assert_eq!(ran.log("forms", "argv"), "--alpha|two words|xa by|");
    assert_eq!(ran.log("forms", "escape"), "${HOME}\n");
    assert_eq!(
        ran.log("forms", "raw"),
        "--x|--y|",
        "raw text becomes shell words"
    );
    let raw_log =
        std::fs::read_to_string(ran.dir().join("target/flow/logs/forms/raw.log")).expect("raw log");
    assert!(
        raw_log.contains("--- cargo flow: ${raw:opts} = \"--x --y\""),
        "text that becomes shell syntax is shown before the output:\n{raw_log}"
    );
    assert_eq!(ran.log("forms", "env"), "a b|--alpha two words|forms|");
    assert_eq!(ran.log("forms", "env-value"), "a b");
}

#[test]
fn hostile_workflow_defaults_run_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let hostile = [
        "x; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "a|touch pwned",
        "*",
        "~",
        "--help",
    ];
    for value in hostile {
        let yaml = format!(
            "name: hostile\ncontext:\n  target: {}\nsteps:\n  - id: show\n    run: printf '%s' \"${{target}}\"\n  - id: unquoted\n    run: printf '%s' ${{target}}\n",
            serde_json::to_string(value).expect("json string is YAML")
        );
        let shown = Flow::at(tmp.path())
            .workflow(&yaml)
            .args(["run", "wf.yaml"])
            .run()
            .success()
            .log("hostile", "show");
        assert_eq!(shown, value, "{value}");
        assert!(!tmp.path().join("pwned").exists(), "{value} ran a command");
    }
}

#[test]
fn undefined_and_bad_names_are_errors_before_running() {
    let tmp =
        workflow_dir("steps:\n  - id: a\n    run: touch ran; echo ${no_such_variable_anywhere}\n");
    let run = |args: &[&str]| {
        Flow::at(tmp.path())
            .args(["run", "wf.yaml"])
            .args(args)
            .run()
            .code(2)
    };
    run(&[]).stderr_has(&["uses `${no_such_variable_anywhere}`, which is not defined"]);
    assert!(!tmp.path().join("ran").exists());
    run(&["-c", "1bad=x"]).stderr_has(&["not a valid variable name"]);
}

/// A workspace with two members, and a fake `cargo` that records each `cargo metadata`.
fn workspace(dir: &std::path::Path) -> std::path::PathBuf {
    write_files(
        dir,
        &[
            (
                "ws/Cargo.toml",
                "[workspace]\nmembers = [\"alpha\", \"beta\"]\nresolver = \"2\"\n",
            ),
            (
                "ws/alpha/Cargo.toml",
                "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("ws/alpha/src/lib.rs", ""),
            (
                "ws/beta/Cargo.toml",
                "[package]\nname = \"beta\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
            ),
            ("ws/beta/src/lib.rs", ""),
            (
                "ws/.flow.yaml",
                "workflows:
  plain:
    steps:
      - id: hello
        run: echo hello
  facts:
    steps:
      - id: show
        run: echo ${packages} ${workspace_root} ${target_dir} ${manifest_path}
  each:
    steps:
      - id: build
        for_each: package
        run: echo build ${package} ${package_version} $FLOW_CTX_PACKAGE
      - id: test
        for_each: package
        depends_on: build
        run: pwd
        cwd: ${package_dir}
      - id: only-beta
        for_each: {package: [beta]}
        run: echo ${package_manifest}
      - id: globbed
        for_each: {package: 'al*'}
        run: echo ${package}
      - id: report
        depends_on: [test]
        run: echo report
",
            ),
        ],
    );
    let fake = dir.join("fake-cargo");
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let record = dir.join("metadata-calls");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
            record.display(),
            real
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    fake
}

#[test]
fn cargo_metadata_runs_only_when_facts_need_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fake = workspace(tmp.path());
    let ws = tmp.path().join("ws");
    let calls = || std::fs::read_to_string(tmp.path().join("metadata-calls")).unwrap_or_default();
    let run = |args: &[&str]| Flow::at(&ws).env("CARGO", &fake).args(args).run().success();
    run(&["plain"]);
    assert_eq!(
        calls(),
        "",
        "a workflow that needs no facts starts without cargo metadata"
    );
    let log = run(&["facts", "-v"]).log("facts", "show");
    assert!(
        calls().contains("metadata"),
        "packages needs cargo metadata"
    );
    let root = ws.canonicalize().expect("canonical");
    assert_eq!(
        log.trim_end(),
        format!(
            "alpha beta {} {} {}",
            root.display(),
            root.join("target").display(),
            root.join("Cargo.toml").display()
        )
    );
}

#[test]
fn one_step_per_package_pairs_up_and_shows_the_expansion() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    let ws = tmp.path().join("ws");
    let run = |args: &[&str]| Flow::at(&ws).args(args).run();
    let graph = run(&["graph", "each"]);
    let lines: Vec<String> = graph
        .stdout()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "build:alpha",
            "build:beta",
            "test:alpha <- build:alpha",
            "test:beta <- build:beta",
            "only-beta:beta",
            "globbed:alpha",
            "report <- test:alpha, test:beta"
        ]
    );
    run(&["list", "each"]).stdout_has(&["test:beta", "after build:beta"]);
    run(&["each", "--dry-run"]).stdout_has(&[
        "build:alpha",
        "run: echo build ${package} ${package_version} $FLOW_CTX_PACKAGE",
        "${package} = \"alpha\"",
        "${package_version} = \"0.1.0\"",
    ]);

    let ran = run(&["each"]).success();
    assert_eq!(ran.log("each", "build@beta"), "build beta 0.2.0 beta\n");
    assert!(
        ran.log("each", "test@alpha")
            .trim_end()
            .ends_with("/ws/alpha")
    );
    // Selecting a per-package step selects all its instances; one instance can be named too.
    run(&["each", "test:beta"])
        .stderr_has(&["✓ build:beta", "✓ test:beta"])
        .stderr_lacks(&["alpha"]);
}

#[test]
fn per_package_filters_are_checked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    workspace(tmp.path());
    Flow::at(tmp.path().join("ws"))
        .file(
            ".flow.yaml",
            "name: bad\nsteps:\n  - id: a\n    for_each: {package: [alpah]}\n    run: echo\n  - id: b\n    for_each: {package: 'zz*'}\n    run: echo\n  - id: c\n    for_each: crate\n    run: echo\n",
        )
        .args(["check", "bad"])
        .refused(&[
            "`alpah` is not a package of this workspace",
            "did you mean `alpha`?",
        ])
        .stderr_has(&["`zz*` matches no package"])
        .stderr_has(&["`for_each` cannot iterate over `crate`"]);
}

#[test]
fn packages_whose_names_differ_only_in_case_are_a_diagnostic_for_per_package_steps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let member = |name: &str| {
        (
            format!("{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
    };
    let (foo, foo_toml) = member("foo");
    let (big, big_toml) = member("Foo");
    write_files(
        tmp.path(),
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"foo\", \"Foo\"]\nresolver = \"2\"\n",
            ),
            (&foo, &foo_toml),
            ("foo/src/lib.rs", ""),
            (&big, &big_toml),
            ("Foo/src/lib.rs", ""),
            (
                ".flow.yaml",
                "name: each\nsteps:\n  - id: t\n    for_each: package\n    run: echo ${package}\n",
            ),
        ],
    );
    Flow::at(tmp.path())
        .args(["check", "each"])
        .refused(&["packages `foo` and `Foo` differ only in case"]);
}

#[test]
fn a_posix_default_is_told_apart_from_a_name_with_a_dash() {
    Flow::new()
        .workflow("name: d\nsteps:\n  - id: a\n    run: echo ${HOME-x}\n")
        .args(["check", "wf.yaml"])
        .refused(&["reads a variable named `HOME-x`", "${HOME:-x}"]);
    // Unset, it is the same mistake: the shell's default is what was meant.
    Flow::new()
        .workflow("name: d\nsteps:\n  - id: a\n    run: echo ${FLOW_SURELY_UNSET-x}\n")
        .env_remove("FLOW_SURELY_UNSET")
        .args(["check", "wf.yaml"])
        .refused(&[
            "when `FLOW_SURELY_UNSET` is unset or empty",
            "${FLOW_SURELY_UNSET:-x}",
        ]);
}
