//! The files steps name, as an attacker or a careless user leaves them: FIFOs, links that lead
//! nowhere or outside, huge and sparse files, `.gitignore` files above the repository, a full
//! disk. Nothing blocks, nothing is lost, nothing stale is taken for current, and an interrupt
//! stops the work at once.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Flow, Ran, tempdir_with, wait_for, workflow_dir, write_files};

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

/// Runs `cargo flow run wf.yaml ARGS` in `dir`, failing the test if it takes 20 seconds.
fn run(dir: &Path, args: &[&str]) -> Ran {
    let ran = Flow::at(dir)
        .args(["run", "wf.yaml"])
        .args(args)
        .timeout(Duration::from_secs(20))
        .run();
    assert!(
        ran.took() < Duration::from_secs(19),
        "{args:?} blocked: {}",
        ran.stderr()
    );
    ran
}

#[test]
fn fifos_among_inputs_outputs_artifacts_and_records_never_block() {
    let yaml = "name: wf
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
";
    let tmp = tempdir_with(&[("wf.yaml", yaml), ("src/a.rs", "a")]);
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    mkfifo(&dir.join("src/pipe"));
    mkfifo(&dir.join("out/pipe"));
    run(dir, &["--explain"])
        .code(1)
        .stderr_has(&["✓ reads", "✓ writes"])
        .stderr_has(&["✗ keeps", "is a FIFO; artifacts are files"]);
    // Both cached steps hit on the next run: the FIFOs count as what they are.
    run(dir, &[]).stderr_has(&["✓ reads cached", "✓ writes cached"]);
    // A FIFO where a cache record should be is a reason to run, not a hang.
    let record = dir.join("target/flow/cache/wf/reads.json");
    std::fs::remove_file(&record).expect("remove");
    mkfifo(&record);
    run(dir, &["--explain"]).stderr_has(&["its cache record cannot be read: it is a FIFO"]);
    // A link where a cache record should be is never followed.
    let secret = dir.join("elsewhere.json");
    std::fs::write(&secret, "{}").expect("write");
    std::fs::remove_file(&record).expect("remove");
    std::os::unix::fs::symlink(&secret, &record).expect("symlink");
    run(dir, &["--explain"]).stderr_has(&["its cache record cannot be read: it is a link"]);
}

#[test]
fn links_among_inputs_never_fail_a_step_and_count_as_links() {
    let yaml = "name: wf
steps:
  - id: reads
    run: echo ok
    cache: {inputs: ['src/**', src/dangling, src/loop]}
";
    let tmp = tempdir_with(&[
        ("wf.yaml", yaml),
        ("src/a.rs", "a"),
        ("elsewhere/b.rs", "b"),
    ]);
    let dir = tmp.path();
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, dir.join(at)).expect("symlink");
    };
    link("nowhere", "src/dangling");
    link("loop", "src/loop");
    link("../elsewhere", "src/folder");
    run(dir, &[]).code(0);
    run(dir, &[]).stderr_has(&["✓ reads cached"]);
    // A link is its target's name: pointing it elsewhere changes the key.
    std::fs::remove_file(dir.join("src/dangling")).expect("remove");
    link("somewhere-else", "src/dangling");
    run(dir, &["--explain"]).stderr_has(&["input `src/dangling` was edited"]);
}

#[test]
fn an_artifact_that_leads_outside_the_project_is_not_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret"), "secret").expect("write");
    let dir = tmp.path().join("proj");
    let yaml = "name: wf
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
";
    write_files(&dir, &[("wf.yaml", yaml), ("dist/real", "real")]);
    std::os::unix::fs::symlink("real", dir.join("dist/linked")).expect("symlink");
    std::os::unix::fs::symlink("missing", dir.join("dist/nowhere")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), dir.join("leak")).expect("symlink");
    run(&dir, &[])
        .code(1)
        .stderr_has(&["✓ inside"])
        .stderr_has(&["✗ outside", "outside the project"])
        .stderr_has(&["✗ dangling", "is a link that leads nowhere"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("target/flow/artifacts/wf/inside/linked")).expect("kept"),
        "real"
    );
    assert!(!dir.join("target/flow/artifacts/wf/outside/secret").exists());
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
    run(&dir, &[]).code(0);
    write_files(&dir, &[("src/lib.rs", "2"), ("src/scratch.tmp", "x")]);
    run(&dir, &["--explain"]).stderr_has(&["input `src/lib.rs` was edited"]);
    // The repository's own rules still apply.
    write_files(&dir, &[("src/scratch.tmp", "y")]);
    run(&dir, &[]).stderr_has(&["✓ build cached"]);
}

#[test]
fn what_a_cached_step_is_handed_is_part_of_its_key() {
    let yaml = "name: wf
steps:
  - id: make
    run: cp input.txt made.txt
    artifacts: [made.txt]
  - id: use
    depends_on: make
    run: cat ${steps.make.artifacts}/made.txt; echo ${FLOW_TEST_NAMED} ${HOME}
    cache: {inputs: [wf.yaml]}
";
    let tmp = tempdir_with(&[("wf.yaml", yaml), ("input.txt", "1")]);
    let dir = tmp.path();
    let with = |named: &str, home: &str| {
        Flow::at(dir)
            .args(["run", "wf.yaml", "--explain"])
            .env("FLOW_TEST_NAMED", named)
            .env("HOME", home)
            .run()
    };
    with("a", "/home/a");
    with("a", "/home/a").stderr_has(&["✓ use cached"]);
    // The artifact of a step without `cache:` changed: the step that reads it runs.
    write_files(dir, &[("input.txt", "2")]);
    with("a", "/home/a").stderr_has(&["dependency `make` changed"]);
    // A variable the command names changes the key; HOME, which differs by machine, not.
    with("b", "/home/a").stderr_has(&["environment variable `FLOW_TEST_NAMED` changed"]);
    with("b", "/home/elsewhere").stderr_has(&["✓ use cached"]);
}

#[test]
fn a_record_that_does_not_match_its_key_says_so() {
    let tmp = workflow_dir(
        "name: wf\nsteps:\n  - id: s\n    run: echo ok\n    cache: {inputs: [wf.yaml]}\n",
    );
    let dir = tmp.path();
    run(dir, &[]);
    let record = dir.join("target/flow/cache/wf/s.json");
    let text = std::fs::read_to_string(&record).expect("record");
    let key = serde_json::from_str::<serde_json::Value>(&text).expect("json")["key"]
        .as_str()
        .expect("key")
        .to_string();
    std::fs::write(&record, text.replace(&key, &"0".repeat(64))).expect("write");
    run(dir, &["--explain"]).stderr_has(&["does not match its own key"]);
    std::fs::write(&record, "{\"format\": 1}").expect("write");
    run(dir, &["--explain"]).stderr_has(&["written by another version of cargo flow"]);
    std::fs::write(&record, "garbage").expect("write");
    run(dir, &["--explain"]).stderr_has(&["its cache record is damaged"]);
}

/// Starts a run, sends SIGINT once `ready` exists plus a moment, and returns how long the run
/// took to end after the signal, and the run.
fn interrupt_once(dir: &Path, ready: &Path) -> (Duration, Ran) {
    let running = Flow::at(dir).args(["run", "wf.yaml"]).spawn();
    wait_for(ready, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    running.signal(libc::SIGINT);
    let ran = running.wait();
    (sent.elapsed(), ran)
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
    // Each workflow's first step makes `ready`; what comes after it must not start.
    let interrupted = |yaml: &str, doing: &str, after: &str| {
        write_files(dir, &[("wf.yaml", yaml)]);
        let (took, ran) = interrupt_once(dir, &dir.join("ready"));
        assert!(
            took < Duration::from_secs(2),
            "{doing} went on for {took:?}"
        );
        assert!(!dir.join(after).exists(), "{}", ran.stderr());
        ran.code(130);
    };
    huge("huge-input");
    interrupted(
        "name: wf
steps:
  - id: first
    run: touch ready
  - id: hashes
    depends_on: first
    run: touch ran-after-hashing
    cache: {inputs: [huge-input]}
",
        "hashing",
        "ran-after-hashing",
    );
    huge("huge-artifact");
    interrupted(
        "name: wf
steps:
  - id: keeps
    run: touch ready
    artifacts: [huge-artifact]
  - id: later
    depends_on: keeps
    run: touch ran-later
",
        "copying",
        "ran-later",
    );
}

#[test]
fn a_sparse_artifact_stays_sparse() {
    use std::os::unix::fs::MetadataExt;
    let tmp = workflow_dir(
        "name: wf\nsteps:\n  - id: keeps\n    run: truncate -s 1G disk.img && echo data >> disk.img\n    artifacts: [disk.img]\n",
    );
    let dir = tmp.path();
    run(dir, &[]).code(0);
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
    let tmp = workflow_dir(
        "name: wf\nsteps:\n  - id: loud\n    run: head -c 300000 /dev/zero | tr '\\0' x\n",
    );
    let dir = tmp.path();
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

#[test]
fn what_a_script_reads_from_the_environment_or_through_a_link_keys_its_step() {
    let tmp = tempdir_with(&[
        (
            "proj/wf.yaml",
            "name: wf
context:
  profile: debug
steps:
  - id: build
    run: ./build.sh
    cache: {inputs: [build.sh, 'src/**'], outputs: [out.txt]}
",
        ),
        (
            "proj/build.sh",
            "#!/bin/sh\necho \"built for $FLOW_CTX_PROFILE\" > out.txt\n",
        ),
        ("proj/src/a.rs", "a"),
        ("shared/config", "1"),
    ]);
    let dir = tmp.path().join("proj");
    let chmod = std::process::Command::new("chmod")
        .args(["+x", "build.sh"])
        .current_dir(&dir)
        .status();
    assert!(chmod.is_ok_and(|s| s.success()));
    std::os::unix::fs::symlink("../../shared/config", dir.join("src/config")).expect("link");
    let run = |args: &[&str]| {
        Flow::at(&dir)
            .args(["run", "wf.yaml", "--explain"])
            .args(args)
            .run()
    };
    run(&[]).success();
    // A context value the command does not name, read by the script it runs.
    run(&["-c", "profile=release"])
        .success()
        .stderr_has(&["context variable `profile` changed"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).expect("out"),
        "built for release\n"
    );
    // The file a link among the inputs leads to, edited outside the walked folder.
    run(&["-c", "profile=release"]).stderr_has(&["✓ build cached"]);
    std::fs::write(tmp.path().join("shared/config"), "2").expect("edit");
    run(&["-c", "profile=release"]).stderr_has(&["input `src/config` was edited"]);
}

#[test]
fn cargo_flows_own_files_are_never_written_through_a_link_or_waited_on() {
    let tmp = tempdir_with(&[(
        "wf.yaml",
        "name: own\nsteps:\n  - id: a\n    run: echo from-a\n  - id: b\n    run: mkdir \"$FLOW_OUTPUT\"\n",
    )]);
    let dir = tmp.path();
    let logs = dir.join("target/flow/logs/own");
    std::fs::create_dir_all(&logs).expect("mkdir");
    mkfifo(&logs.join("a.log"));
    let precious = dir.join("precious");
    std::fs::write(&precious, "keep me").expect("write");
    std::os::unix::fs::symlink(&precious, logs.join("b.log")).expect("link");
    let locks = dir.join("target/flow/locks");
    std::fs::create_dir_all(&locks).expect("mkdir");
    // A FIFO at a log's place is taken away, a link is not written through.
    let ran = run(dir, &[])
        .code(1)
        .stderr_has(&["✓ a", "✗ b", "not a regular file"]);
    assert_eq!(ran.log("own", "a"), "from-a\n");
    assert_eq!(std::fs::read_to_string(&precious).expect("kept"), "keep me");
    // A folder a step made at $FLOW_OUTPUT does not break the next runs.
    std::fs::write(
        dir.join("wf.yaml"),
        "name: own\nsteps:\n  - id: a\n    run: echo from-a\n  - id: b\n    run: 'true'\n",
    )
    .expect("write");
    run(dir, &[]).success();
    // A link at the lock's place is refused, its target untouched.
    std::fs::remove_file(locks.join("own.lock")).expect("remove");
    std::os::unix::fs::symlink(&precious, locks.join("own.lock")).expect("link");
    run(dir, &[]).code(2).stderr_has(&["it is a link"]);
    assert_eq!(std::fs::read_to_string(&precious).expect("kept"), "keep me");
}

#[test]
fn a_report_into_a_fifo_nobody_reads_is_an_error_not_a_hang() {
    let tmp = workflow_dir("name: r\nsteps:\n  - id: a\n    run: 'true'\n");
    mkfifo(&tmp.path().join("report.fifo"));
    run(tmp.path(), &["--report", "json=report.fifo"])
        .code(2)
        .stderr_has(&["cannot write the report", "no program reads"]);
}

#[test]
fn a_report_into_a_fifo_a_program_reads_reaches_it() {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = workflow_dir("name: r\nsteps:\n  - id: a\n    run: 'true'\n");
    let fifo = tmp.path().join("report.fifo");
    mkfifo(&fifo);
    // Opened before the run starts, so the reader is there whenever cargo flow looks; the
    // report is far smaller than a pipe holds, so the run never waits for it to be read.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO to read");
    run(tmp.path(), &["--report", "json=report.fifo"]).code(0);
    let mut read = String::new();
    reader.read_to_string(&mut read).expect("read the report");
    assert!(read.contains("\"status\""), "{read}");
}
