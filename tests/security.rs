//! What cargo flow guarantees about hostile input: values never become shell syntax, in any
//! position and under any shell, and workflows are read only from the workspace or the path
//! given.

mod common;

use std::path::Path;

use common::{Flow, tempdir_with, workflow_dir, write_files};

/// Values meant to break out of a command: each must arrive as exactly this text.
const HOSTILE: &[&str] = &[
    "x; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "a && touch pwned",
    "a || touch pwned",
    "a | touch pwned",
    "x\ntouch pwned",
    "x\rtouch pwned",
    "x\nEOF\ntouch pwned",
    "'; touch pwned; '",
    "\"; touch pwned; \"",
    "$HOME",
    "${HOME}",
    "$((6*7))",
    "a[$(touch pwned)]",
    "*",
    "?",
    "[a-z]*",
    "~",
    "~root",
    "{a,b}",
    "> pwned",
    "< /etc/passwd",
    "& touch pwned",
    "\\",
    "\\\"; touch pwned; \\\"",
    "!!",
    "#not a comment",
    " leading and trailing ",
    "\ttab",
    "",
    "-n",
    "--help",
    "é漢字 ✓",
];

/// The shells every position is tried under: Debian's `/bin/sh` (dash), bash as `/bin/sh` is
/// on macOS and Fedora, and dash by name.
const SHELLS: &[Option<&str>] = &[None, Some("bash --posix"), Some("dash"), Some("bash")];

/// Steps that read `${value}` in every position where a shell reads text differently, each
/// with what it must print. `{v}` stands for the value.
const POSITIONS: &[(&str, &str, &str)] = &[
    ("double", "printf '[%s]' \"${value}\"", "[{v}]"),
    ("single", "printf '[%s]' '${value}'", "[${FLOW_CTX_VALUE}]"),
    (
        "in-word",
        "printf '[%s]' \"pre${value}post\"",
        "[pre{v}post]",
    ),
    (
        "nested",
        "printf '[%s]' \"$(printf '%s' \"${value}\")\"",
        "[{v}]",
    ),
    (
        "backticks",
        "printf '[%s]' \"`printf '%s' \\\"${value}\\\"`\"",
        "[{v}]",
    ),
    (
        "case-in-substitution",
        "printf '[%s]' \"$(case x in x) printf '%s' \"${value}\";; esac)\"",
        "[{v}]",
    ),
    (
        "after-comment",
        "# don't allow this apostrophe to open a quote\nprintf '[%s]' \"${value}\"",
        "[{v}]",
    ),
    (
        "after-escape",
        "printf '[%s]' \"\\${HOME}\" \"${value}\"",
        "[${HOME}][{v}]",
    ),
    (
        "nested-default",
        "printf '[%s]' \"${unset_here:-${value}}\"",
        "[{v}]",
    ),
    ("heredoc", "cat <<EOF\n[${value}]\nEOF", "[{v}]\n"),
    (
        "quoted-heredoc",
        "cat <<'EOF'\n[${value}]\nEOF",
        "[${FLOW_CTX_VALUE}]\n",
    ),
    (
        "double-quoted-heredoc",
        "cat <<\"EOF\"\n[${value}]\nEOF",
        "[${FLOW_CTX_VALUE}]\n",
    ),
    (
        "heredoc-after-heredoc",
        "cat <<'A' >/dev/null\n$(touch pwned)\nA\ncat <<EOF\n[${value}]\nEOF",
        "[{v}]\n",
    ),
    ("environment", "printf '[%s]' \"$FLOW_CTX_VALUE\"", "[{v}]"),
];

/// Positions where bash evaluates values again: only a shell that does not (dash) runs them
/// with any value; under bash, a value that could run something is refused.
const ARITHMETIC: &[(&str, &str, &str)] = &[
    (
        "after-arithmetic",
        "n=$((1 << 2)); m=$(( (n) << 1 ))\nprintf '[%s]' \"${value}\"",
        "[{v}]",
    ),
    (
        "after-double-parens",
        "((n = 1)) 2>/dev/null; printf '[%s]' \"${value}\"",
        "[{v}]",
    ),
];

fn workflow_for(shell: Option<&str>, steps: &[(&str, &str, &str)]) -> String {
    let mut yaml = String::from("name: hostile\n");
    if let Some(sh) = shell {
        yaml.push_str(&format!("shell: {sh}\n"));
    }
    yaml.push_str("steps:\n");
    for (id, run, _) in steps {
        yaml.push_str(&format!("  - id: {id}\n    run: |\n"));
        for line in run.lines() {
            yaml.push_str(&format!("      {line}\n"));
        }
    }
    yaml.push_str("  - id: argv\n    run: [printf, '[%s]', '${value}']\n");
    yaml
}

/// Runs every position with every value under `shell`, and checks what each step printed.
fn every_value_arrives_literally(shell: Option<&str>, steps: &[(&str, &str, &str)]) {
    let tmp = workflow_dir(&workflow_for(shell, steps));
    for value in HOSTILE {
        let ran = Flow::at(tmp.path())
            .args(["run", "wf.yaml", "--context", &format!("value={value}")])
            .note(format!("under {shell:?}"))
            .run()
            .success();
        for (id, _, expected) in steps {
            assert_eq!(
                ran.log("hostile", id),
                expected.replace("{v}", value),
                "{id} under {shell:?}, {value:?}"
            );
        }
        assert_eq!(
            ran.log("hostile", "argv"),
            format!("[{value}]"),
            "{value:?}"
        );
        assert!(
            !tmp.path().join("pwned").exists(),
            "{value:?} ran a command under {shell:?}"
        );
        // Logs of the next value must come from its own run.
        let _ = std::fs::remove_dir_all(tmp.path().join("target"));
    }
}

#[test]
fn hostile_values_arrive_literally_in_every_position_under_every_shell() {
    assert!(HOSTILE.len() >= 30);
    for shell in SHELLS {
        every_value_arrives_literally(*shell, POSITIONS);
    }
}

#[test]
fn bash_specific_quoting_cannot_run_a_value() {
    // `$'...'` is a quote to bash and not to dash: what follows it is still only a value.
    let steps = [(
        "ansi-c-quote",
        "printf '[%s]' $'it\\'s' \"${value}\"",
        "[it's][{v}]",
    )];
    every_value_arrives_literally(Some("bash --posix"), &steps);
}

#[test]
fn arithmetic_runs_every_value_under_dash() {
    every_value_arrives_literally(Some("dash"), ARITHMETIC);
}

#[test]
fn under_bash_a_value_that_could_run_is_refused_where_bash_evaluates_values_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for shell in [None, Some("bash --posix"), Some("bash")] {
        write_files(tmp.path(), &[("wf.yaml", &workflow_for(shell, ARITHMETIC))]);
        for value in HOSTILE {
            let ran = Flow::at(tmp.path())
                .args(["run", "wf.yaml", "--context", &format!("value={value}")])
                .note(format!("under {shell:?}"))
                .run();
            if value.contains(['$', '`']) {
                ran.code(2).stderr_has(&[
                    "flow::unsafe-value",
                    "context variable `value` holds `$` or a backtick",
                    "shell: dash",
                ]);
            } else {
                let log = ran.success().log("hostile", "after-arithmetic");
                assert_eq!(log, format!("[{value}]"));
            }
            assert!(
                !tmp.path().join("pwned").exists(),
                "{value:?} under {shell:?}"
            );
            let _ = std::fs::remove_dir_all(tmp.path().join("target"));
        }
    }
}

/// Commands in which bash runs `$(...)` from a value, each seen to do so: cargo flow refuses
/// the value in every one of them.
const BASH_RUNS_A_VALUE: &[&str] = &[
    "echo $(( ${value} + 1 ))",
    "(( ${value} ))",
    "let \"n=${value}\"",
    "[[ ${value} -eq 1 ]]",
    "declare -i n; n=${value}",
    "a=(1 2); echo ${a[${value}]}",
    "v=abc; echo ${v:${value}}",
    "test -v \"${value}\"",
    "[ -v \"${value}\" ]",
    "read \"${value}\" </dev/null",
    "printf -v \"${value}\" x",
    "x=${value}; echo ${!x}",
    "declare -n r=\"${value}\"; echo $r",
    "for ((i=0;i<${value};i++)); do :; done",
    "x=(); x[${value}]=1",
    "set -- a b; echo ${@:${value}}",
    "a=(1 2); unset \"${value}\"",
    "b=([${value}]=1)",
    "RANDOM=\"${value}\"",
    "OPTIND=\"${value}\"",
    "HISTCMD=\"${value}\"",
    "SRANDOM=\"${value}\"",
    "echo \"${value@P}\"",
    "echo hi >&\"${value}\"",
    "echo x | mapfile -C \"${value}\" -c 1 a",
];

#[test]
fn every_place_bash_runs_a_value_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let payload = "a[$(touch pwned)]";
    for command in BASH_RUNS_A_VALUE {
        // The danger is real: bash itself runs the value here.
        let direct = command.replace("${value", "${FLOW_CTX_VALUE");
        let status = std::process::Command::new("bash")
            .args(["-c", &direct])
            .env("FLOW_CTX_VALUE", payload)
            .current_dir(tmp.path())
            .output()
            .expect("bash runs");
        assert!(
            tmp.path().join("pwned").exists(),
            "bash did not run the value in `{command}`: {status:?}"
        );
        std::fs::remove_file(tmp.path().join("pwned")).expect("remove");
        let yaml = format!(
            "name: hostile\nshell: bash\nsteps:\n  - id: s\n    run: '{}'\n",
            command.replace('\'', "''")
        );
        write_files(tmp.path(), &[("wf.yaml", &yaml)]);
        let run = |args: &[&str]| {
            Flow::at(tmp.path())
                .args(["run", "wf.yaml"])
                .args(args)
                .note(*command)
                .run()
                .code(2)
        };
        run(&["-c", &format!("value={payload}")]).stderr_has(&["flow::unsafe-value"]);
        assert!(!tmp.path().join("pwned").exists(), "{command}");
        // Another value that names a variable holding the payload is refused as well: every
        // context value reaches every step.
        run(&[
            "-c",
            "value=FLOW_CTX_OTHER",
            "-c",
            &format!("other={payload}"),
        ])
        .stderr_has(&["context variable `other`"]);
        assert!(!tmp.path().join("pwned").exists(), "{command}");
    }
}

#[test]
fn an_output_that_bash_could_run_fails_the_step_that_reads_it() {
    let ran = common::run_workflow(
        "name: hostile
shell: bash
steps:
  - id: write
    run: printf 'n=a[$(touch pwned)]\\n' >> \"$FLOW_OUTPUT\"
  - id: count
    depends_on: write
    run: echo $(( ${steps.write.outputs.n} + 1 ))
  - id: show
    depends_on: write
    run: printf '[%s]' \"${steps.write.outputs.n}\"
  - id: dash
    depends_on: write
    shell: dash
    run: (echo $(( ${steps.write.outputs.n} + 1 ))) 2>/dev/null; echo survived
",
    )
    .code(1)
    .stderr_has(&[
        "✗ count",
        "it reads output `n` of `write`, which holds `$` or a backtick",
    ])
    .stderr_has(&["✓ show", "✓ dash"]);
    assert_eq!(ran.log("hostile", "show"), "[a[$(touch pwned)]]");
    assert!(!ran.dir().join("pwned").exists());
}

#[test]
fn names_that_differ_never_share_a_variable() {
    let ran = Flow::new()
        .workflow(
            "name: hostile
steps:
  - id: show
    run: printf '[%s]' \"${a-b}\" \"${a_b}\" \"${A.B}\" \"${TARGET}\" \"${target}\"
  - id: env
    run: printf '[%s]' \"$FLOW_CTX_A_hB\" \"$FLOW_CTX_A_B\" \"$FLOW_CTX_a_db\" \"$FLOW_CTX_target\" \"$FLOW_CTX_TARGET\"
",
        )
        .args([
            "run", "wf.yaml", "-c", "a-b=1", "-c", "a_b=2", "-c", "A.B=3", "-c", "TARGET=4", "-c",
            "target=5",
        ])
        .run()
        .success();
    assert_eq!(ran.log("hostile", "show"), "[1][2][3][4][5]");
    assert_eq!(ran.log("hostile", "env"), "[1][2][3][4][5]");
}

#[test]
fn a_value_that_exec_cannot_carry_is_an_error_naming_it() {
    let tmp = workflow_dir(&format!(
        "name: hostile
context:
  big: {}
steps:
  - id: big
    run: printf '%s' ${{big}} | wc -c
  - id: writer
    run: head -c 140000 /dev/zero | tr '\\0' x | sed 's/^/huge=/' >> \"$FLOW_OUTPUT\"
  - id: nul
    run: printf 'z=a\\0b\\n' >> \"$FLOW_OUTPUT\"
",
        "x".repeat(130 * 1024)
    ));
    let run = |args: &[&str]| {
        Flow::at(tmp.path())
            .args(["run", "wf.yaml"])
            .args(args)
            .run()
    };
    run(&[])
        .code(2)
        .stderr_has(&["the value of `big` is", "128 KiB"]);
    run(&["-c", "big=small"])
        .code(1)
        .stderr_has(&["✗ writer", "`huge` is 140000 bytes"])
        .stderr_has(&["✗ nul", "`z` holds a NUL byte"]);
}

#[test]
fn context_values_that_together_overflow_exec_are_an_error_naming_the_largest() {
    // Each value is allowed on its own; twenty of them are more than a step can start with.
    let context: String = (0..20)
        .map(|i| format!("  v{i}: {}\n", "y".repeat(60 * 1024 + i)))
        .collect();
    let tmp = workflow_dir(&format!(
        "name: many\ncontext:\n{context}steps:\n  - id: a\n    run: 'true'\n"
    ));
    Flow::at(tmp.path())
        .args(["run", "wf.yaml"])
        .refused(&[
            "flow::bad-value",
            "the environment every step starts with",
            "`v19`",
        ])
        .stderr_lacks(&["Running"]);
    // Small overrides bring it back under the limit.
    let small: Vec<String> = (0..20)
        .flat_map(|i| ["-c".into(), format!("v{i}=s")])
        .collect();
    Flow::at(tmp.path())
        .args(["run", "wf.yaml"])
        .args(small)
        .run()
        .success();
}

#[test]
fn a_backslash_before_a_value_is_refused() {
    let ran = Flow::new()
        .workflow("name: b\nsteps:\n  - id: b\n    run: echo \\${value}\n")
        .args(["run", "wf.yaml", "-c", "value='$(touch pwned)'"])
        .refused(&["a backslash stands right before `${value}`"]);
    assert!(!ran.dir().join("pwned").exists());
    // A shell form is the same.
    Flow::new()
        .workflow("name: b\nsteps:\n  - id: b\n    run: echo \"\\${value:-y}\"\n")
        .args(["run", "wf.yaml", "-c", "value=v"])
        .refused(&["a backslash stands right before `${value:-y}`"]);
}

#[test]
fn raw_is_the_only_way_to_shell_syntax() {
    let ran = Flow::new()
        .workflow("name: raw\nsteps:\n  - id: raw\n    run: echo ${raw:value}\n")
        .args(["run", "wf.yaml", "-c", "value=x; touch made-by-raw"])
        .run()
        .success();
    assert!(
        ran.dir().join("made-by-raw").exists(),
        "raw text is shell syntax, as documented"
    );
}

#[test]
fn workflows_come_only_from_the_workspace_root_or_the_path_given() {
    let tmp = tempdir_with(&[
        (
            "ws/Cargo.toml",
            "[package]\nname = \"ws\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("ws/src/lib.rs", ""),
        (
            "ws/.flow.yaml",
            "name: real\nsteps:\n  - id: a\n    run: echo real\n",
        ),
        // A file in a subfolder (say, a vendored project) is not a source of workflows.
        (
            "ws/vendor/thing/.flow.yaml",
            "name: planted\nsteps:\n  - id: a\n    run: touch pwned\n",
        ),
        // Nor is one above the workspace.
        (
            ".flow.yaml",
            "name: above\nsteps:\n  - id: a\n    run: touch pwned\n",
        ),
    ]);
    let inner = tmp.path().join("ws/vendor/thing");
    Flow::at(&inner)
        .arg("list")
        .run()
        .stdout_has(&["real"])
        .stdout_lacks(&["planted", "above"]);
    Flow::at(&inner).arg("planted").run().code(2);
    assert!(!inner.join("pwned").exists());
}

#[test]
fn nul_bytes_are_refused_before_anything_runs() {
    Flow::at(common::root())
        .args(["run", "fixtures/invalid/nul-bytes.yaml"])
        .refused(&["contains a NUL byte"]);
}

#[test]
fn a_flow_file_another_user_could_have_written_is_not_run() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempdir_with(&[(
        ".flow.yaml",
        "name: planted\nsteps:\n  - id: a\n    run: touch pwned\n",
    )]);
    let file = tmp.path().join(".flow.yaml");
    let inner = tmp.path().join("work");
    std::fs::create_dir_all(&inner).expect("mkdir");
    // Writable by anyone: whoever it belongs to, anyone may have planted its text.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let refused = |dir: &Path| {
        let ran = Flow::at(dir)
            .arg("planted")
            .refused(&["flow::untrusted", "CARGO_FLOW_SAFE_DIRECTORIES"]);
        assert!(!dir.join("pwned").exists() && !tmp.path().join("pwned").exists());
        ran
    };
    refused(&inner).stderr_has(&["any user may write to it"]);
    // Listed as safe, it runs.
    Flow::at(&inner)
        .arg("planted")
        .env("CARGO_FLOW_SAFE_DIRECTORIES", tmp.path())
        .run()
        .success();
    std::fs::remove_file(tmp.path().join("pwned")).expect("ran");
    // Owned by another user (only root can give a file away to show it).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let given = std::process::Command::new("chown")
        .arg("65534")
        .arg(&file)
        .status();
    if given.is_ok_and(|s| s.success()) {
        refused(&inner).stderr_has(&["belongs to another user (uid 65534)"]);
        // Named on the command line, it is the user's explicit choice.
        Flow::at(&inner)
            .args(["run", "../.flow.yaml"])
            .run()
            .success();
    }
}

/// Gives `path` (not what it leads to) to another user and group; false where only root could.
fn give_away(path: &Path) -> bool {
    std::process::Command::new("chown")
        .args(["-h", "65534:65534"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_planted_manifest_link_or_group_writable_file_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    // A workspace planted above the user's folder: its manifest found by looking up.
    let tmp = tempdir_with(&[
        (
            "Cargo.toml",
            "[package]\nname = \"planted\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", ""),
        (
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: touch pwned\n",
        ),
    ]);
    let inner = tmp.path().join("mine");
    std::fs::create_dir_all(&inner).expect("mkdir");
    if !give_away(&tmp.path().join("Cargo.toml")) {
        eprintln!("only root can give files away: the rest of this test needs it");
        return;
    }
    Flow::at(&inner).arg("ci").refused(&[
        "flow::untrusted",
        "Cargo.toml",
        "belongs to another user",
    ]);
    assert!(!tmp.path().join("pwned").exists());
    // A link another user planted to the user's own workflow: steps would run beside the
    // link, among that user's files.
    let own = tempdir_with(&[(
        ".flow.yaml",
        "name: ci\nsteps:\n  - id: a\n    run: ./build.sh\n",
    )]);
    let planted = tempdir_with(&[("build.sh", "#!/bin/sh\ntouch pwned\n")]);
    std::os::unix::fs::symlink(
        own.path().join(".flow.yaml"),
        planted.path().join(".flow.yaml"),
    )
    .expect("link");
    assert!(give_away(&planted.path().join(".flow.yaml")));
    Flow::at(planted.path())
        .arg("ci")
        .refused(&["the link to it belongs to another user"]);
    assert!(!planted.path().join("pwned").exists());
    // Writable by a group that is not the user's own.
    let shared = tempdir_with(&[(
        ".flow.yaml",
        "name: ci\nsteps:\n  - id: a\n    run: touch pwned\n",
    )]);
    let file = shared.path().join(".flow.yaml");
    let chgrp = std::process::Command::new("chgrp")
        .arg("65534")
        .arg(&file)
        .status();
    assert!(chgrp.is_ok_and(|s| s.success()));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    Flow::at(shared.path())
        .arg("ci")
        .refused(&["the group 65534 may write to it"]);
    assert!(!shared.path().join("pwned").exists());
}

#[test]
fn a_value_that_names_a_variable_holding_code_is_refused() {
    // In CI, a variable of cargo flow's own environment may hold text an attacker wrote (a
    // pull request's title); a value that only names it is as dangerous.
    let dir = workflow_dir(
        "name: hostile\nshell: bash\nsteps:\n  - id: s\n    run: echo $(( ${n} + 1 ))\n",
    );
    Flow::at(dir.path())
        .args(["run", "wf.yaml", "-c", "n=1+PR_TITLE"])
        .env("PR_TITLE", "a[$(touch pwned)]")
        .refused(&["context variable `n` holds `$` or a backtick (or names a variable that does)"]);
    assert!(!dir.path().join("pwned").exists());
    Flow::at(dir.path())
        .args(["run", "wf.yaml", "-c", "n=1+PR_TITLE"])
        .env("PR_TITLE", "41")
        .run()
        .success();
}

#[test]
fn a_variable_that_is_not_utf8_is_still_looked_into() {
    use std::os::unix::ffi::OsStringExt;
    let dir =
        workflow_dir("name: nu\nshell: bash\nsteps:\n  - id: a\n    run: echo $(( ${n} + 1 ))\n");
    let title = std::ffi::OsString::from_vec(b"a[$(touch pwned; : \xff)]".to_vec());
    Flow::at(dir.path())
        .env("PR_TITLE", title)
        .args(["run", "wf.yaml", "-c", "n=PR_TITLE"])
        .refused(&["flow::unsafe-value"]);
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn a_value_naming_what_the_shell_filled_from_data_is_refused() {
    // `$_` is the last argument of the command before: here, a hostile title.
    let dir = workflow_dir(
        "name: nu\nshell: bash\nsteps:\n  - id: a\n    run: 'printf \"%s\" \"$PR_TITLE\" >/dev/null; echo $(( ${n} + 1 ))'\n",
    );
    Flow::at(dir.path())
        .env("PR_TITLE", "a[$(touch pwned)]")
        .args(["run", "wf.yaml", "-c", "n=_"])
        .refused(&["flow::unsafe-value"]);
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn under_ksh_and_zsh_a_value_that_could_run_is_refused_in_every_step() {
    // They evaluate values again almost everywhere (mksh even in `[ "$n" -gt 2 ]`): the
    // refusal needs no such shell installed, as it comes before anything runs.
    for shell in [
        "mksh",
        "ksh",
        "zsh",
        "[env, zsh]",
        "/usr/bin/env -i zsh",
        "rzsh",
        "mksh-static",
        "python3",
    ] {
        let dir = workflow_dir(&format!(
            "name: hostile\nshell: {shell}\nsteps:\n  - id: s\n    run: echo \"${{n}}\"\n"
        ));
        Flow::at(dir.path())
            .args(["run", "wf.yaml", "-c", "n=a[$(touch pwned)]"])
            .refused(&["flow::unsafe-value", "any command of its shell"]);
        assert!(!dir.path().join("pwned").exists());
    }
}

#[test]
fn what_earlier_steps_wrote_cannot_be_set_as_context() {
    let yaml = "name: s\nsteps:\n  - id: a\n    run: 'true'\n  - id: b\n    depends_on: a\n    run: ls ${steps.a.artifacts}\n";
    Flow::new()
        .workflow(yaml)
        .args(["run", "wf.yaml", "-c", "steps.a.artifacts=/etc"])
        .refused(&["`steps.a.artifacts` cannot be set"]);
    Flow::new()
        .workflow(&yaml.replace(
            "name: s\n",
            "name: s\ncontext:\n  steps.a.artifacts: /etc\n",
        ))
        .args(["run", "wf.yaml"])
        .refused(&["`steps.a.artifacts` cannot be a context variable"]);
}
