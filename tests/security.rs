//! What cargo flow guarantees about hostile input: values never become shell syntax, and
//! workflows are read only from the workspace or the path given.

mod common;

use common::{flow, stderr, stdout, write_files};

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
    "'; touch pwned; '",
    "\"; touch pwned; \"",
    "$HOME",
    "${HOME}",
    "$((6*7))",
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
    "!!",
    "#not a comment",
    " leading and trailing ",
    "\ttab",
    "",
    "-n",
    "--help",
    "é漢字 ✓",
];

#[test]
fn hostile_values_arrive_literally_in_shell_and_argv_forms() {
    assert!(HOSTILE.len() >= 20);
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "name: hostile
steps:
  - id: shell
    run: printf '%s' ${value}
  - id: argv
    run: [printf, '%s', '${value}']
  - id: double
    run: printf '[%s]' \"${value}\"
  - id: single
    run: printf '[%s]' '${value}'
  - id: nested
    run: printf '[%s]' \"$(printf '%s' \"${value}\")\"
  - id: mixed
    run: printf '[%s]' pre${value}post
  - id: after-comment
    run: |
      # don't let this apostrophe open a quote
      printf '[%s]' ${value}
  - id: after-arithmetic
    run: |
      n=$((1 << 2)); m=$(( (n) << 1 ))
      printf '[%s]' ${value}
  - id: after-escape
    run: printf '[%s]' \"\\${HOME}\" \"${value}\"
  - id: environment
    run: printf '%s' \"$FLOW_CTX_VALUE\"

  - id: heredoc
    run: |
      cat <<EOF
      [${value}]
      EOF
  - id: quoted-heredoc
    run: |
      cat <<'EOF'
      [${value}]
      EOF",
        )],
    );
    for value in HOSTILE {
        // A line break could end a here-document early: such values are refused there.
        let in_heredoc = !value.contains('\n') && !value.contains('\r');
        let yaml = std::fs::read_to_string(tmp.path().join("wf.yaml")).expect("yaml");
        let steps = if in_heredoc {
            yaml.clone()
        } else {
            yaml.split("  - id: heredoc")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        std::fs::write(tmp.path().join("wf-now.yaml"), steps).expect("write");
        let out = flow(tmp.path())
            .args(["run", "wf-now.yaml", "--context", &format!("value={value}")])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{value:?}: {}", stderr(&out));
        let log = |step: &str| {
            std::fs::read_to_string(
                tmp.path()
                    .join(format!("target/flow/logs/hostile/{step}.log")),
            )
            .expect("log")
        };
        assert_eq!(log("shell"), *value, "shell form, {value:?}");
        assert_eq!(log("argv"), *value, "argv form, {value:?}");
        assert_eq!(log("environment"), *value, "environment, {value:?}");
        assert_eq!(
            log("double"),
            format!("[{value}]"),
            "inside double quotes, {value:?}"
        );
        assert_eq!(
            log("single"),
            format!("[{value}]"),
            "inside single quotes, {value:?}"
        );
        assert_eq!(
            log("nested"),
            format!("[{value}]"),
            "inside $(...) in double quotes, {value:?}"
        );
        assert_eq!(
            log("mixed"),
            format!("[pre{value}post]"),
            "inside a word, {value:?}"
        );
        assert_eq!(
            log("after-comment"),
            format!("[{value}]"),
            "after a comment with a quote, {value:?}"
        );
        assert_eq!(
            log("after-arithmetic"),
            format!("[{value}]"),
            "after a shift in arithmetic, {value:?}"
        );
        assert_eq!(
            log("after-escape"),
            format!("[${{HOME}}][{value}]"),
            "after an escaped `$`, {value:?}"
        );
        if in_heredoc {
            assert_eq!(
                log("heredoc"),
                format!("[{value}]\n"),
                "in a here-document, {value:?}"
            );
            assert_eq!(
                log("quoted-heredoc"),
                format!("[{value}]\n"),
                "in a quoted here-document, {value:?}"
            );
        }
        assert!(
            !tmp.path().join("pwned").exists(),
            "{value:?} ran a command"
        );
        // Logs of the next value must come from its own run.
        let _ = std::fs::remove_dir_all(tmp.path().join("target"));
    }
}

#[test]
fn a_line_break_cannot_end_a_here_document_early() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "name: h\nsteps:\n  - id: h\n    run: |\n      cat <<EOF\n      ${value}\n      EOF\n",
        )],
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-c", "value=x\nEOF\ntouch pwned"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("holds a line break and stands in a here-document"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("pwned").exists());
}

#[test]
fn a_backslash_before_a_value_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "name: b\nsteps:\n  - id: b\n    run: echo \\${value}\n",
        )],
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-c", "value='$(touch pwned)'"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a backslash stands right before `${value}`"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("pwned").exists());
}

#[test]
fn raw_is_the_only_way_to_shell_syntax() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "name: raw\nsteps:\n  - id: raw\n    run: echo ${raw:value}\n",
        )],
    );
    let out = flow(tmp.path())
        .args(["run", "wf.yaml", "-c", "value=x; touch made-by-raw"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        tmp.path().join("made-by-raw").exists(),
        "raw text is shell syntax, as documented"
    );
}

#[test]
fn workflows_come_only_from_the_workspace_root_or_the_path_given() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[
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
        ],
    );
    let inner = tmp.path().join("ws/vendor/thing");
    let listed = stdout(&flow(&inner).arg("list").output().expect("runs"));
    assert!(listed.contains("real"), "{listed}");
    assert!(
        !listed.contains("planted") && !listed.contains("above"),
        "{listed}"
    );
    let out = flow(&inner).arg("planted").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(!inner.join("pwned").exists());
}

#[test]
fn nul_bytes_are_refused_before_anything_runs() {
    let out = flow(&common::root())
        .args(["run", "fixtures/invalid/nul-bytes.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("contains a NUL byte"),
        "{}",
        stderr(&out)
    );
}
