//! The files steps name, as an attacker or a careless user leaves them: FIFOs, links that lead
//! nowhere or outside, huge and sparse files, `.gitignore` files above the repository, a full
//! disk. Nothing blocks, nothing is lost, nothing stale is taken for current, and an interrupt
//! stops the work at once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{flow, stderr, write_files};

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

/// Runs cargo flow and returns (exit code, stderr), failing the test if it takes 20 seconds.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let started = Instant::now();
    let out = flow(dir)
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .expect("runs");
    assert!(
        started.elapsed() < Duration::from_secs(19),
        "{args:?} blocked: {}",
        stderr(&out)
    );
    (out.status.code(), stderr(&out))
}

#[test]
fn fifos_among_inputs_outputs_artifacts_and_records_never_block() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[
            (
                "wf.yaml",
                "name: wf
steps:
  - id: reads
    run: echo ok
    cache: {inputs: ['src/**', src/pipe]}
  - id: writes
    run: echo ok
    cache: {inputs: [wf.yaml], outputs: [out/pipe]}
  - id: keeps
    run: echo ok
    artifacts: [out/pipe]
",
            ),
            ("src/a.rs", "a"),
        ],
    );
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    mkfifo(&dir.join("src/pipe"));
    mkfifo(&dir.join("out/pipe"));
    let (code, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("✓ reads") && err.contains("✓ writes"), "{err}");
    assert!(
        err.contains("✗ keeps") && err.contains("is a FIFO; artifacts are files"),
        "{err}"
    );
    // Both cached steps hit on the next run: the FIFOs count as what they are.
    let (_, err) = run(dir, &["run", "wf.yaml"]);
    assert!(
        err.contains("✓ reads cached") && err.contains("✓ writes cached"),
        "{err}"
    );
    // A FIFO where a cache record should be is a reason to run, not a hang.
    let record = dir.join("target/flow/cache/wf/reads.json");
    std::fs::remove_file(&record).expect("remove");
    mkfifo(&record);
    let (_, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert!(
        err.contains("its cache record cannot be read: it is a FIFO"),
        "{err}"
    );
}

#[test]
fn links_among_inputs_never_fail_a_step_and_count_as_links() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[
            (
                "wf.yaml",
                "name: wf
steps:
  - id: reads
    run: echo ok
    cache: {inputs: ['src/**', src/dangling, src/loop]}
",
            ),
            ("src/a.rs", "a"),
            ("elsewhere/b.rs", "b"),
        ],
    );
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, dir.join(at)).expect("symlink");
    };
    link("nowhere", "src/dangling");
    link("loop", "src/loop");
    link("../elsewhere", "src/folder");
    let (code, err) = run(dir, &["run", "wf.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, err) = run(dir, &["run", "wf.yaml"]);
    assert!(err.contains("✓ reads cached"), "{err}");
    // A link is its target's name: pointing it elsewhere changes the key.
    std::fs::remove_file(dir.join("src/dangling")).expect("remove");
    link("somewhere-else", "src/dangling");
    let (_, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert!(err.contains("input `src/dangling` was edited"), "{err}");
}

#[test]
fn an_artifact_that_leads_outside_the_project_is_not_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret"), "secret").expect("write");
    let dir = tmp.path().join("proj");
    write_files(
        &dir,
        &[
            (
                "wf.yaml",
                "name: wf
steps:
  - id: inside
    run: echo ok
    artifacts: [dist/linked]
  - id: outside
    run: echo ok
    artifacts: [leak/secret]
  - id: dangling
    run: echo ok
    artifacts: [dist/nowhere]
",
            ),
            ("dist/real", "real"),
        ],
    );
    std::os::unix::fs::symlink("real", dir.join("dist/linked")).expect("symlink");
    std::os::unix::fs::symlink("missing", dir.join("dist/nowhere")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), dir.join("leak")).expect("symlink");
    let (code, err) = run(&dir, &["run", "wf.yaml"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("✓ inside"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("target/flow/artifacts/wf/inside/linked")).expect("kept"),
        "real"
    );
    assert!(
        err.contains("✗ outside") && err.contains("outside the project"),
        "{err}"
    );
    assert!(!dir.join("target/flow/artifacts/wf/outside/secret").exists());
    assert!(
        err.contains("✗ dangling") && err.contains("is a link that leads nowhere"),
        "{err}"
    );
}

#[test]
fn a_gitignore_above_the_repository_does_not_drop_inputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path();
    let dir = home.join("proj");
    write_files(
        home,
        &[
            // A home folder that ignores everything, as some people keep one.
            (".gitignore", "*\n"),
            (
                "proj/wf.yaml",
                "name: wf
steps:
  - id: build
    run: echo ok
    cache: {inputs: ['src/**']}
",
            ),
            ("proj/src/lib.rs", "1"),
            ("proj/.gitignore", "*.tmp\n"),
        ],
    );
    std::fs::create_dir_all(dir.join(".git")).expect("a repository");
    let (code, err) = run(&dir, &["run", "wf.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    write_files(&dir, &[("src/lib.rs", "2"), ("src/scratch.tmp", "x")]);
    let (_, err) = run(&dir, &["run", "wf.yaml", "--explain"]);
    assert!(err.contains("input `src/lib.rs` was edited"), "{err}");
    // The repository's own rules still apply.
    write_files(&dir, &[("src/scratch.tmp", "y")]);
    let (_, err) = run(&dir, &["run", "wf.yaml"]);
    assert!(err.contains("✓ build cached"), "{err}");
}

#[test]
fn what_a_cached_step_is_handed_is_part_of_its_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[
            (
                "wf.yaml",
                "name: wf
steps:
  - id: make
    run: cp input.txt made.txt
    artifacts: [made.txt]
  - id: use
    depends_on: make
    run: cat ${steps.make.artifacts}/made.txt; echo ${FLOW_TEST_NAMED} ${HOME}
    cache: {inputs: [wf.yaml]}
",
            ),
            ("input.txt", "1"),
        ],
    );
    let with = |named: &str, home: &str, args: &[&str]| {
        let out = flow(dir)
            .args(args)
            .env("FLOW_TEST_NAMED", named)
            .env("HOME", home)
            .output()
            .expect("runs");
        stderr(&out)
    };
    let explain = ["run", "wf.yaml", "--explain"];
    with("a", "/home/a", &explain);
    assert!(with("a", "/home/a", &explain).contains("✓ use cached"));
    // The artifact of a step without `cache:` changed: the step that reads it runs.
    write_files(dir, &[("input.txt", "2")]);
    let err = with("a", "/home/a", &explain);
    assert!(err.contains("dependency `make` changed"), "{err}");
    // A variable the command names changes the key; HOME, which differs by machine, not.
    let err = with("b", "/home/a", &explain);
    assert!(
        err.contains("environment variable `FLOW_TEST_NAMED` changed"),
        "{err}"
    );
    let err = with("b", "/home/elsewhere", &explain);
    assert!(err.contains("✓ use cached"), "{err}");
}

#[test]
fn a_record_that_does_not_match_its_key_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[(
            "wf.yaml",
            "name: wf\nsteps:\n  - id: s\n    run: echo ok\n    cache: {inputs: [wf.yaml]}\n",
        )],
    );
    run(dir, &["run", "wf.yaml"]);
    let record = dir.join("target/flow/cache/wf/s.json");
    let text = std::fs::read_to_string(&record).expect("record");
    let key = serde_json::from_str::<serde_json::Value>(&text).expect("json")["key"]
        .as_str()
        .expect("key")
        .to_string();
    std::fs::write(&record, text.replace(&key, &"0".repeat(64))).expect("write");
    let (_, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert!(err.contains("does not match its own key"), "{err}");
    std::fs::write(&record, "{\"format\": 1}").expect("write");
    let (_, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert!(
        err.contains("written by another version of cargo flow"),
        "{err}"
    );
    std::fs::write(&record, "garbage").expect("write");
    let (_, err) = run(dir, &["run", "wf.yaml", "--explain"]);
    assert!(err.contains("its cache record is damaged"), "{err}");
}

/// Starts a run, sends SIGINT once `ready` exists plus a moment, and returns how long the run
/// took to end after the signal, its exit code and stderr.
fn interrupt_once(dir: &Path, ready: &Path) -> (Duration, Option<i32>, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .args(["run", "wf.yaml"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("waits");
    (
        sent.elapsed(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_interrupt_stops_hashing_and_copying_at_once_and_nothing_starts_after_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // Sparse, so that they cost no disk; read whole, they take many seconds.
    let huge = |name: &str| {
        let f = std::fs::File::create(dir.join(name)).expect("create");
        f.set_len(64 << 30).expect("sparse");
    };
    huge("huge-input");
    write_files(
        dir,
        &[(
            "wf.yaml",
            "name: wf
steps:
  - id: first
    run: touch ready
  - id: hashes
    depends_on: first
    run: touch ran-after-hashing
    cache: {inputs: [huge-input]}
",
        )],
    );
    let (took, code, err) = interrupt_once(dir, &dir.join("ready"));
    assert_eq!(code, Some(130), "{err}");
    assert!(
        took < Duration::from_secs(2),
        "hashing went on for {took:?}"
    );
    assert!(!dir.join("ran-after-hashing").exists(), "{err}");

    huge("huge-artifact");
    write_files(
        dir,
        &[(
            "wf.yaml",
            "name: wf
steps:
  - id: keeps
    run: touch ready
    artifacts: [huge-artifact]
  - id: later
    depends_on: keeps
    run: touch ran-later
",
        )],
    );
    let (took, code, err) = interrupt_once(dir, &dir.join("ready"));
    assert_eq!(code, Some(130), "{err}");
    assert!(
        took < Duration::from_secs(2),
        "copying went on for {took:?}"
    );
    assert!(!dir.join("ran-later").exists(), "{err}");
}

#[test]
fn a_sparse_artifact_stays_sparse() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[(
            "wf.yaml",
            "name: wf\nsteps:\n  - id: keeps\n    run: truncate -s 1G disk.img && echo data >> disk.img\n    artifacts: [disk.img]\n",
        )],
    );
    let (code, err) = run(dir, &["run", "wf.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    let copy =
        std::fs::metadata(dir.join("target/flow/artifacts/wf/keeps/disk.img")).expect("copy");
    assert_eq!(copy.len(), (1 << 30) + 5);
    assert!(copy.blocks() * 512 < 1 << 20, "{} blocks", copy.blocks());
}

/// Runs `script` with a tiny file system mounted at `target`, in a mount namespace of its
/// own; `None` where this machine does not allow one.
fn with_full_disk(dir: &Path, script: &str) -> Option<std::process::Output> {
    let mount = format!("mount -t tmpfs -o size=64k tmpfs target && {script}");
    for unshare in [&["-Ur", "-m"][..], &["-m"]] {
        let out = Command::new("unshare")
            .args(unshare)
            .args(["sh", "-c", &mount])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .ok()?;
        if !String::from_utf8_lossy(&out.stderr).contains("unshare:") {
            return Some(out);
        }
    }
    None
}

#[test]
fn a_log_that_could_not_be_written_in_full_fails_its_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write_files(
        dir,
        &[(
            "wf.yaml",
            "name: wf\nsteps:\n  - id: loud\n    run: head -c 300000 /dev/zero | tr '\\0' x\n",
        )],
    );
    std::fs::create_dir_all(dir.join("target")).expect("mkdir");
    let bin = env!("CARGO_BIN_EXE_cargo-flow");
    // Written by the step itself (`none`), and copied by cargo flow (`stream`).
    for mode in ["none", "stream"] {
        let script = format!("{bin} run wf.yaml --output {mode}; echo \"rc=$?\"");
        let Some(out) = with_full_disk(dir, &script) else {
            eprintln!("no mount namespace here: a full disk cannot be made without one");
            return;
        };
        let (out_text, err) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out_text.contains("rc=1"), "{mode}: {out_text} {err}");
        assert!(
            err.contains("✗ loud") && err.contains("its log could not be written in full"),
            "{mode}: {err}"
        );
    }
}
