//! Cargo steps on one target dir: one does not start while another is still building there
//! (they would only wait for cargo's lock), it starts as soon as the other's cargo says
//! `Finished` (tests then run side by side), steps on other target dirs run together, and
//! time a step's cargo spends waiting for a lock is reported as waiting, not as work.

mod common;

use std::time::Duration;

/// A stand-in for cargo: it "builds" holding `lock.d` (a folder only one can make: two builds
/// at once fail), says `Finished` as cargo does, then "runs tests" until the step named by
/// `$OTHER` has started building, up to 10 s.
const FAKE_CARGO: &str = r#"#!/bin/sh
mkdir "$LOCKS/lock.d" || { echo "two builds in $LOCKS at once" >&2; exit 3; }
echo "   Compiling $ME v0.1.0" >&2
touch "$ME.building"
sleep 0.3
rmdir "$LOCKS/lock.d"
echo "    Finished \`test\` profile [unoptimized + debuginfo] target(s) in 0.30s" >&2
echo "     Running unittests src/lib.rs" >&2
[ -n "$FLOOD" ] && head -c 100000 /dev/zero | tr '\0' x | fold -w 100 >&2
for i in $(seq 200); do [ -e "$OTHER.building" ] && exit 0; sleep 0.05; done
echo "$OTHER never started building" >&2
exit 4
"#;

fn step(id: &str, other: &str, run: &str, locks: &str) -> String {
    format!("  - id: {id}\n    run: {run}\n    env: {{ME: {id}, OTHER: {other}, LOCKS: {locks}}}\n")
}

fn flow(steps: &str) -> common::Flow {
    common::Flow::new()
        .file("Cargo.toml", &common::manifest("app", ""))
        .file("src/lib.rs", "")
        .file("bin/cargo", FAKE_CARGO)
        .after_shell("chmod +x bin/cargo && mkdir -p t1 t2 target")
        .workflow(&format!("name: x\nsteps:\n{steps}"))
}

#[test]
fn a_build_on_a_busy_target_dir_starts_when_the_other_says_finished() {
    // Side by side from the start, the two would make `lock.d` at once. The first waits in
    // its "tests" until the second builds: only a start at `Finished` lets both succeed.
    let steps = [
        step("a", "b", "./bin/cargo test", "target"),
        step("b", "a", "./bin/cargo test --workspace", "target"),
    ]
    .concat();
    flow(&steps)
        .args(["run", "wf.yaml", "-j", "4", "--dry-run"])
        .run()
        .success()
        .stdout_has(&["builds in: target/debug"]);
    flow(&steps)
        .args(["run", "wf.yaml", "-j", "4"])
        .run()
        .success()
        .stderr_has(&["2 succeeded"]);
}

#[test]
fn the_dry_run_names_the_build_folder_each_step_builds_in() {
    let steps = "  - id: a\n    run: cargo +nightly build --release --target-dir t1 && cargo fmt\n  - id: b\n    run: [cargo, test]\n    env: {CARGO_TARGET_DIR: t2}\n  - id: c\n    run: cargo test --manifest-path ./Cargo.toml --target wasm32-wasip1\n  - id: fmt\n    run: cargo fmt --check\n  - id: quiet\n    run: cargo test -q\n";
    let ran = flow(steps)
        .args(["run", "wf.yaml", "--dry-run"])
        .run()
        .success()
        .stdout_has(&[
            "builds in: t1/release",
            "builds in: t2/debug",
            "builds in: target/wasm32-wasip1/debug",
        ]);
    assert!(
        !ran.stdout().contains("builds in: target/debug"),
        "{}",
        ran.stdout()
    );
    // Each step's part of the plan begins with its number and id: `   4. fmt`.
    let fmt = ran
        .stdout()
        .split_inclusive('\n')
        .skip_while(|l| !l.ends_with(". fmt\n"))
        .take_while(|l| l.ends_with(". fmt\n") || l.starts_with("        "))
        .collect::<String>();
    assert!(
        fmt.contains("cargo fmt --check") && !fmt.contains("builds in"),
        "{fmt}"
    );
}

#[test]
fn finished_is_seen_under_a_flood_of_output_after_it() {
    // 100 KB of test output follows `a`'s `Finished` before it waits for `b` to build.
    let steps = [
        step("a", "b", "./bin/cargo test", "target"),
        step("b", "a", "./bin/cargo test", "target"),
    ]
    .concat();
    flow(&steps.replace("ME: a,", "ME: a, FLOOD: 1,"))
        .args(["run", "wf.yaml", "-j", "4"])
        .run()
        .success()
        .stderr_has(&["2 succeeded"]);
}

#[test]
fn a_step_waiting_for_cargos_lock_is_not_stopped_as_quiet() {
    let steps = "  - id: build\n    timeout: {quiet: 1s, limit: 1m}\n    run: |\n      echo '    Blocking waiting for file lock on build directory' >&2\n      sleep 2.5\n      echo '   Compiling app v0.1.0' >&2\n";
    flow(steps)
        .args(["run", "wf.yaml"])
        .run()
        .success()
        .stderr_has(&["1 succeeded"]);
}

#[test]
fn steps_on_other_target_dirs_are_not_held_back() {
    // `a` builds in t1 until `b`, building in t2, has started: if `b` waited for `a`'s
    // target dir, `a` would give up after 10 s.
    let steps = [
        step("a", "b", "./bin/cargo test --target-dir t1", "t1"),
        "  - id: b\n    run: ./bin/cargo test\n    env: {ME: b, OTHER: a, LOCKS: t2, CARGO_TARGET_DIR: t2}\n"
            .to_string(),
    ]
    .concat();
    flow(&steps)
        .args(["run", "wf.yaml", "-j", "4"])
        .run()
        .success()
        .stderr_has(&["2 succeeded"]);
}

#[test]
fn time_spent_waiting_for_cargos_lock_is_waiting_not_work() {
    let steps = "  - id: build\n    run: |\n      echo '    Blocking waiting for file lock on build directory' >&2\n      sleep 1.2\n      echo '   Compiling app v0.1.0' >&2\n      sleep 0.2\n";
    let ran = flow(steps)
        .args(["run", "wf.yaml", "--report", "json=r.json"])
        .run()
        .success()
        .stderr_has(&["waiting for cargo's lock ("]);
    let json = common::read_json(&ran.dir().join("r.json"));
    let step = &json["steps"][0];
    let waited = step["waiting_for_cargo_lock_ms"].as_u64().unwrap_or(0);
    let took = step["duration_ms"].as_u64().unwrap_or(0);
    assert!(
        (1000..took).contains(&waited),
        "waited {waited} ms of {took}: {json}"
    );
    assert_eq!(json["waiting_for_cargo_lock_ms"].as_u64(), Some(waited));
}

#[test]
fn a_real_cargo_blocked_by_a_held_lock_reports_the_wait() {
    // Another process holds cargo's lock on the artifact directory for a while: the step's
    // real cargo waits for it, says so, and the wait is told apart from its work.
    let ran = common::Flow::new()
        .file("Cargo.toml", &common::manifest("app", ""))
        .file("src/lib.rs", "pub fn f() {}\n")
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: hold\n    run: flock target/debug/.cargo-lock sh -c 'touch held; sleep 1.5'\n  - id: build\n    run: until [ -e held ]; do sleep 0.02; done; cargo build --offline\n",
        )
        .after_shell("mkdir -p target/debug")
        .args(["run", "ci", "-j", "2", "--report", "json=r.json"])
        .timeout(Duration::from_secs(120))
        .run()
        .success();
    let json = common::read_json(&ran.dir().join("r.json"));
    let build = &json["steps"][1];
    let waited = build["waiting_for_cargo_lock_ms"].as_u64().unwrap_or(0);
    assert!(waited >= 700, "waited {waited} ms: {json}");
    let log = common::read_log(&ran.dir().join("target/flow/logs/ci/build.log"));
    assert!(log.contains("Blocking waiting for file lock"), "{log}");
}
