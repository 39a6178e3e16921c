//! One run of a workflow at a time: a second run waits for the first and says so, Ctrl-C
//! while waiting ends it, other workflows run at once, and `cache clean` waits too.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{flow, stderr, write_files};

fn start(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns")
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the child's stderr has said a whole line, and returns it.
fn stderr_line(child: &mut Child) -> String {
    use std::io::Read;
    let mut err = child.stderr.take().expect("stderr");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while err.read(&mut byte).expect("reads") == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    child.stderr = Some(err);
    String::from_utf8_lossy(&line).into_owned()
}

const TWO_WORKFLOWS: &str = "workflows:
  slow:
    steps:
      - id: write
        run: |
          touch started
          i=0; while [ $i -lt 1000 ]; do echo \"line $i\"; i=$((i+1)); done
          echo \"value=$$\" >> \"$FLOW_OUTPUT\"
          while [ ! -e release ]; do sleep 0.01; done
  other:
    steps:
      - id: quick
        run: touch other-ran
";

#[test]
fn a_second_run_waits_for_the_first_and_neither_corrupts_the_other() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(tmp.path(), &[(".flow.yaml", TWO_WORKFLOWS)]);
    let first = start(tmp.path(), &["slow", "--report", "json=first.json"]);
    wait_for(&tmp.path().join("started"));
    let mut second = start(tmp.path(), &["slow", "--report", "json=second.json"]);
    let said = stderr_line(&mut second);
    assert!(
        said.contains(&format!(
            "Blocking: waiting for another run of slow (pid {})",
            first.id()
        )),
        "{said}"
    );
    // Another workflow is not held up.
    let other = flow(tmp.path()).arg("other").output().expect("runs");
    assert!(other.status.success(), "{}", stderr(&other));
    assert!(tmp.path().join("other-ran").exists());
    std::fs::write(tmp.path().join("release"), "").expect("release");
    let first = first.wait_with_output().expect("waits");
    let second = second.wait_with_output().expect("waits");
    assert!(first.status.success() && second.status.success());
    let log = common::read_log(&tmp.path().join("target/flow/logs/slow/write.log"));
    assert_eq!(log.lines().count(), 1000, "the log is whole");
    assert!(!log.contains('\0'));
    // Each run read its own `$FLOW_OUTPUT`.
    let value = |name: &str| {
        let text = std::fs::read_to_string(tmp.path().join(name)).expect("report");
        let report: serde_json::Value = serde_json::from_str(&text).expect("json");
        report["steps"][0]["outputs"]["value"].clone()
    };
    assert_ne!(value("first.json"), value("second.json"));
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_leaves_the_first_run_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(tmp.path(), &[(".flow.yaml", TWO_WORKFLOWS)]);
    let first = start(tmp.path(), &["slow"]);
    wait_for(&tmp.path().join("started"));
    let mut second = start(tmp.path(), &["slow"]);
    let said = stderr_line(&mut second);
    assert!(
        said.contains("Blocking: waiting for another run of slow"),
        "{said}"
    );
    let sent = Instant::now();
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(second.id() as i32, libc::SIGINT) };
    let out = second.wait_with_output().expect("waits");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("while waiting for another run of slow"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(tmp.path().join("release"), "").expect("release");
    let first = first.wait_with_output().expect("waits");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
}

#[test]
fn cache_clean_waits_for_a_run_of_the_workflow() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(tmp.path(), &[(".flow.yaml", TWO_WORKFLOWS)]);
    let first = start(tmp.path(), &["slow"]);
    wait_for(&tmp.path().join("started"));
    let mut clean = start(tmp.path(), &["cache", "clean", "slow"]);
    let said = stderr_line(&mut clean);
    assert!(
        said.contains("Blocking: waiting for another run of slow"),
        "{said}"
    );
    std::fs::write(tmp.path().join("release"), "").expect("release");
    assert!(first.wait_with_output().expect("waits").status.success());
    assert!(clean.wait_with_output().expect("waits").status.success());
}
