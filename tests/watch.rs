//! `--watch`: a run, then another whenever a file the steps read changes, running again only
//! the steps whose key changed (each saying why), never for what steps write, restarting a
//! run that a change overtakes, and leaving no process behind on Ctrl-C.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Flow, Running};

/// Kills a watch that a failed check left running, so that it does not outlive the test.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill with a pid and a valid signal; the process may be gone already.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// Reads stderr lines until one holds `text`; the lines read. A watchdog kills cargo flow
/// if it never comes.
fn until(running: &mut Running, text: &str) -> Vec<String> {
    let pid = running.id() as i32;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        drop(KillOnDrop(pid));
    });
    let mut lines = Vec::new();
    loop {
        let Some(line) = running.next_stderr_line() else {
            panic!("never saw {text:?}:\n{}", lines.join("\n"));
        };
        let found = line.contains(text);
        lines.push(line);
        if found {
            return lines;
        }
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Waits until `path` has `n` lines.
fn wait_lines(path: &Path, n: usize) {
    let start = Instant::now();
    while count_lines(path) < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never had {n} lines",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const WORKFLOW: &str = r#"name: ci
steps:
  - id: build
    run: cat src/*.txt > out.txt && echo build >> runs
    cache: {inputs: ["src/**"], outputs: [out.txt]}
  - id: check
    depends_on: build
    run: echo check >> runs
    cache: {inputs: [out.txt]}
  - id: other
    run: echo other >> runs
    cache: {inputs: ["other/**"]}
"#;

#[test]
fn an_edit_runs_again_only_the_steps_it_affects_each_with_its_reason() {
    let mut running = Flow::new()
        .file("src/a.txt", "a\n")
        .file("other/x.txt", "x\n")
        .file(".flow.yaml", WORKFLOW)
        .args(["ci", "--watch"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    until(&mut running, "Watching");
    let dir = running.dir().to_path_buf();
    assert_eq!(count_lines(&dir.join("runs")), 3);
    std::fs::write(dir.join("src/b.txt"), "b\n").expect("writes");
    let second = until(&mut running, "Watching").join("\n");
    for said in [
        "Changed `src/b.txt`: running again",
        "ran because input `src/b.txt` was added",
        "- dependency `build` changed",
        "✓ other cached",
    ] {
        assert!(second.contains(said), "{said:?} not in:\n{second}");
    }
    // What `build` wrote (its output, read by `check`) started no run of its own.
    std::thread::sleep(Duration::from_millis(1500));
    let runs = std::fs::read_to_string(dir.join("runs")).unwrap_or_default();
    let times = |step: &str| runs.lines().filter(|l| *l == step).count();
    assert_eq!(
        (times("build"), times("check"), times("other")),
        (2, 2, 1),
        "{runs}"
    );
    running.signal(libc::SIGINT);
    let ran = running.wait();
    std::mem::forget(kill);
    assert!(!ran.status().success());
}

#[test]
fn a_change_during_a_step_restarts_it_and_ctrl_c_leaves_nothing_behind() {
    let marker = format!("watch-restart-{}", std::process::id());
    let workflow = format!(
        "name: ci\nsteps:\n  - id: long\n    run: \"echo started >> starts; sleep 30; : {marker}\"\n    cache: {{inputs: [\"src/**\"]}}\n"
    );
    let mut running = Flow::new()
        .file("src/a.txt", "a\n")
        .file(".flow.yaml", &workflow)
        .args(["ci", "--watch"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    let dir = running.dir().to_path_buf();
    wait_lines(&dir.join("starts"), 1);
    std::fs::write(dir.join("src/a.txt"), "edited\n").expect("writes");
    let stopped = until(&mut running, "Finished ci").join("\n");
    assert!(
        stopped.contains("Changed `src/a.txt`: stopping running steps to start again"),
        "{stopped}"
    );
    wait_lines(&dir.join("starts"), 2);
    running.signal(libc::SIGINT);
    let ran = running.wait();
    std::mem::forget(kill);
    assert_eq!(ran.status().code(), Some(130), "{}", ran.stderr());
    assert_eq!(common::survivors(&marker), Vec::<String>::new());
}

#[test]
fn an_edit_to_the_workflow_runs_it_again() {
    let mut running = Flow::new()
        .file(".gitignore", "runs\n")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: echo one >> runs\n",
        )
        .args(["ci", "--watch"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    until(&mut running, "Watching");
    let dir = running.dir().to_path_buf();
    std::fs::write(
        dir.join(".flow.yaml"),
        "name: ci\nsteps:\n  - id: a\n    run: echo two >> runs\n",
    )
    .expect("writes");
    until(&mut running, "Watching");
    let runs = std::fs::read_to_string(dir.join("runs")).unwrap_or_default();
    assert_eq!(runs, "one\ntwo\n");
    running.signal(libc::SIGINT);
    running.wait();
    std::mem::forget(kill);
}

#[test]
fn what_git_ignores_at_any_depth_and_cargo_flows_reports_start_no_run() {
    let mut running = Flow::new()
        .file("sub/.gitignore", "*.log\n")
        .file("src/a.txt", "a\n")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: date > sub/stamp.log; echo a >> sub/runs.log\n",
        )
        .args(["ci", "--watch", "--report", "json=report.json"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    until(&mut running, "Watching");
    let dir = running.dir().to_path_buf();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(count_lines(&dir.join("sub/runs.log")), 1);
    std::fs::write(dir.join("src/a.txt"), "edited\n").expect("writes");
    until(&mut running, "Watching");
    assert_eq!(count_lines(&dir.join("sub/runs.log")), 2);
    running.signal(libc::SIGINT);
    running.wait();
    std::mem::forget(kill);
}

#[test]
fn a_folder_removed_and_made_again_is_still_watched() {
    let mut running = Flow::new()
        .file("src/a.txt", "a\n")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: echo a >> runs\n    cache: {inputs: [\"src/**\"]}\n",
        )
        .args(["ci", "--watch"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    until(&mut running, "Watching");
    let dir = running.dir().to_path_buf();
    std::fs::remove_dir_all(dir.join("src")).expect("removes");
    std::fs::create_dir(dir.join("src")).expect("makes");
    std::fs::write(dir.join("src/a.txt"), "again\n").expect("writes");
    until(&mut running, "Watching");
    std::fs::write(dir.join("src/a.txt"), "edited\n").expect("writes");
    let third = until(&mut running, "Watching").join("\n");
    assert!(third.contains("Changed `src/a.txt`"), "{third}");
    assert_eq!(count_lines(&dir.join("runs")), 3);
    running.signal(libc::SIGINT);
    running.wait();
    std::mem::forget(kill);
}

#[test]
fn a_workflow_invalid_from_the_start_is_an_error() {
    Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: 'true'\n    depends_on: [zz]\n",
        )
        .args(["ci", "--watch"])
        .timeout(Duration::from_secs(20))
        .run()
        .code(2)
        .stderr_has(&["zz"]);
}

/// A terminal for cargo flow's standard input: what is written to the returned file is
/// typed there.
fn terminal() -> (std::fs::File, std::process::Stdio) {
    use std::os::fd::FromRawFd;
    let (mut main, mut side) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened; the null pointers ask for defaults.
    let made = unsafe {
        libc::openpty(
            &mut main,
            &mut side,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(main),
            std::process::Stdio::from_raw_fd(side),
        )
    }
}

/// A change stops the running steps that read what changed, and only those: a step beside
/// them runs to its end, once, and is cached in the run that follows. `q` stops a run under
/// way at once, its whole process groups with it.
#[test]
fn a_change_stops_only_the_steps_it_affects_and_q_stops_the_run() {
    use std::io::Write;
    let marker = format!("watch-affected-{}", std::process::id());
    let workflow = format!(
        r#"name: ci
steps:
  - id: long
    run: "echo started >> starts; sleep 30 & wait; : {marker}"
    cache: {{inputs: ["src/**"]}}
  - id: beside
    run: "echo started >> beside; sleep 3; echo done >> beside"
    cache: {{inputs: ["other/**"]}}
"#
    );
    let (mut keys, stdin) = terminal();
    let mut running = Flow::new()
        .file("src/a.txt", "a\n")
        .file("other/x.txt", "x\n")
        .file(".gitignore", "starts\nbeside\n")
        .file(".flow.yaml", &workflow)
        .args(["ci", "--watch", "-j", "2"])
        .stdin(stdin)
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    let dir = running.dir().to_path_buf();
    wait_lines(&dir.join("starts"), 1);
    wait_lines(&dir.join("beside"), 1);
    std::fs::write(dir.join("src/a.txt"), "edited\n").expect("writes");
    // More changes to what `long` reads: it is stopped once, and said once.
    for more in ["b", "c", "d", "e"] {
        std::fs::write(dir.join(format!("src/{more}.txt")), more).expect("writes");
    }
    let first = until(&mut running, "Finished ci").join("\n");
    for said in [
        "Changed `src/a.txt`: stopping long to start again after this run",
        "✓ beside",
    ] {
        assert!(first.contains(said), "{said:?} not in:\n{first}");
    }
    assert_eq!(first.matches("Changed `").count(), 1, "{first}");
    let beside = std::fs::read_to_string(dir.join("beside")).unwrap_or_default();
    assert_eq!(beside, "started\ndone\n", "beside was stopped or ran twice");
    // The next run starts at once: `long` again, with its reason; `beside` from its record.
    wait_lines(&dir.join("starts"), 2);
    let started = Instant::now();
    keys.write_all(b"q\n").expect("types");
    let ran = running.wait();
    std::mem::forget(kill);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "q waited for the run:\n{}",
        ran.stderr()
    );
    assert_eq!(ran.status().code(), Some(130), "{}", ran.stderr());
    for said in [
        "beside cached",
        "ran because no earlier success is recorded",
    ] {
        assert!(
            ran.stderr().contains(said),
            "{said:?} not in:\n{}",
            ran.stderr()
        );
    }
    assert_eq!(count_lines(&dir.join("beside")), 2);
    assert_eq!(common::survivors(&marker), Vec::<String>::new());
}

/// `--on-change queue`: a change during a run stops nothing; the run ends, and the next runs
/// what the change affects.
#[test]
fn queue_lets_the_run_end_then_runs_again() {
    let workflow = "name: ci\nsteps:\n  - id: slow\n    run: \"echo started >> starts; sleep 2; echo done >> starts\"\n    cache: {inputs: [\"src/**\"]}\n";
    let mut running = Flow::new()
        .file("src/a.txt", "a\n")
        .file(".gitignore", "starts\n")
        .file(".flow.yaml", workflow)
        .args(["ci", "--watch", "--on-change", "queue"])
        .spawn();
    let kill = KillOnDrop(running.id() as i32);
    let dir = running.dir().to_path_buf();
    wait_lines(&dir.join("starts"), 1);
    std::fs::write(dir.join("src/a.txt"), "edited\n").expect("writes");
    let first = until(&mut running, "Finished ci").join("\n");
    assert!(first.contains("✓ slow"), "{first}");
    assert!(!first.contains("stopping"), "{first}");
    let second = until(&mut running, "Watching").join("\n");
    assert!(second.contains("ran because input `src/a.txt`"), "{second}");
    let starts = std::fs::read_to_string(dir.join("starts")).unwrap_or_default();
    assert_eq!(starts, "started\ndone\nstarted\ndone\n");
    running.signal(libc::SIGINT);
    running.wait();
    std::mem::forget(kill);
}
