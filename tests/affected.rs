//! `--affected`: per-package steps run only for the members a change touches and those that
//! depend on them, in a real git repository holding a workspace of three members (`b` depends
//! on `a` by path; `c` stands alone and depends on a registry crate in Cargo.lock).

mod common;

use std::path::Path;
use std::process::Command;

use common::{Flow, Ran};

const LOCK: &str = common::THREE_MEMBER_LOCK;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A committed workspace of `a`, `b` (depends on `a`) and `c`, with a per-package step.
fn repo() -> tempfile::TempDir {
    let tmp = common::three_members(
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\nresolver = \"2\"\n",
        &[
            ("README.md", "readme\n"),
            (
                ".flow.yaml",
                "name: ci\nsteps:\n  - id: test\n    for_each: package\n    run: echo ${package}\n  - id: lint\n    run: echo lint\n",
            ),
        ],
    );
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "t@e"]);
    git(dir, &["config", "user.name", "t"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
    tmp
}

fn affected(dir: &Path, args: &[&str]) -> Ran {
    Flow::at(dir).args(["ci", "--explain"]).args(args).run()
}

/// The per-package steps that ran.
fn tested(ran: &Ran) -> Vec<String> {
    let mut ids: Vec<String> = ran
        .stderr()
        .lines()
        .filter_map(|l| l.strip_prefix("✓ test:"))
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_change_runs_its_package_and_the_members_that_depend_on_it() {
    let tmp = repo();
    let dir = tmp.path();
    std::fs::write(dir.join("a/src/lib.rs"), "// changed\n").expect("write");
    let ran = affected(dir, &["--affected=HEAD"]).success();
    assert_eq!(tested(&ran), ["a", "b"]);
    ran.stderr_has(&["a: a/src/lib.rs changed", "b: depends on a", "✓ lint"]);
    affected(dir, &["--affected=HEAD", "test:c"])
        .code(2)
        .stderr_has(&["`--affected` left out `c`"]);
    // A file git does not track yet counts too.
    git(dir, &["checkout", "--", "a"]);
    std::fs::write(dir.join("c/src/new.rs"), "").expect("write");
    assert_eq!(
        tested(&affected(dir, &["--affected=HEAD"]).success()),
        ["c"]
    );
}

#[test]
fn what_no_member_reads_runs_none_and_what_all_read_runs_all() {
    let tmp = repo();
    let dir = tmp.path();
    std::fs::write(dir.join("README.md"), "changed\n").expect("write");
    let ran = affected(dir, &["--affected=HEAD"]).success();
    assert!(tested(&ran).is_empty(), "{}", ran.stderr());
    ran.stderr_has(&[
        "Affected since the merge base with HEAD",
        ": none (0 of 3 packages",
        "✓ lint",
    ]);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\nresolver = \"2\"\n# changed\n",
    )
    .expect("write");
    assert_eq!(
        tested(&affected(dir, &["--affected=HEAD"]).success()),
        ["a", "b", "c"]
    );
    git(dir, &["checkout", "--", "Cargo.toml"]);
    std::fs::write(dir.join("clippy.toml"), "msrv = \"1.70\"\n").expect("write");
    assert_eq!(
        tested(&affected(dir, &["--affected=HEAD"]).success()),
        ["a", "b", "c"]
    );
}

#[test]
fn a_path_dependency_outside_the_workspace_counts_for_its_dependents() {
    let tmp = repo();
    let dir = tmp.path();
    let manifest = common::manifest;
    common::write_files(
        dir,
        &[
            ("shared/Cargo.toml", &manifest("shared", "")),
            ("shared/src/lib.rs", ""),
            (
                "c/Cargo.toml",
                &manifest("c", "[dependencies]\nshared = { path = \"../shared\" }\n"),
            ),
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\nexclude = [\"shared\"]\nresolver = \"2\"\n",
            ),
        ],
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "shared"]);
    std::fs::write(dir.join("shared/src/lib.rs"), "// changed\n").expect("write");
    let ran = affected(dir, &["--affected=HEAD"]).success();
    assert_eq!(tested(&ran), ["c"]);
    ran.stderr_has(&["in its path dependency shared"]);
}

#[test]
fn a_ref_is_compared_from_where_the_branch_left_it() {
    let tmp = repo();
    let dir = tmp.path();
    git(dir, &["checkout", "-q", "-b", "feat"]);
    std::fs::write(dir.join("a/src/lib.rs"), "// feat\n").expect("write");
    git(dir, &["commit", "-qam", "feat"]);
    git(dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("c/src/lib.rs"), "// main moved on\n").expect("write");
    git(dir, &["commit", "-qam", "main"]);
    git(dir, &["checkout", "-q", "feat"]);
    // `c` changed on main after feat left it: not this branch's change.
    assert_eq!(
        tested(&affected(dir, &["--affected=main"]).success()),
        ["a", "b"]
    );
}

#[test]
fn a_dependency_changed_in_cargo_lock_runs_the_members_using_it() {
    let tmp = repo();
    let dir = tmp.path();
    let lock = LOCK.replace("version = \"1.0.0\"", "version = \"1.0.1\"");
    std::fs::write(dir.join("Cargo.lock"), lock).expect("write");
    let ran = affected(dir, &["--affected=HEAD"]).success();
    assert_eq!(tested(&ran), ["c"]);
    ran.stderr_has(&["c: Cargo.lock changed for fakedep, which it depends on"]);
}

#[test]
fn the_base_is_the_merge_base_with_the_upstream_branch() {
    let tmp = repo();
    let dir = tmp.path();
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    let url = remote.path().to_string_lossy().to_string();
    git(dir, &["remote", "add", "origin", &url]);
    git(dir, &["push", "-q", "-u", "origin", "main"]);
    std::fs::write(dir.join("c/src/lib.rs"), "// committed\n").expect("write");
    git(dir, &["commit", "-qam", "c"]);
    std::fs::write(dir.join("a/src/lib.rs"), "// not yet\n").expect("write");
    let ran = affected(dir, &["--affected", "--report", "json=r.json"]).success();
    assert_eq!(tested(&ran), ["a", "b", "c"]);
    ran.stderr_has(&["since the upstream branch's merge base"]);
    let report = common::read_json(&dir.join("r.json"));
    let names: Vec<&str> = report["affected"]["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(report["affected"]["packages"][1]["why"], "depends on a");
}

#[test]
fn an_unknown_base_or_none_at_all_is_an_error_never_everything() {
    let tmp = repo();
    let dir = tmp.path();
    affected(dir, &["--affected=nope"])
        .code(2)
        .stderr_has(&["flow::affected", "git knows no commit `nope`"]);
    affected(dir, &["--affected"]).code(2).stderr_has(&[
        "compares with the upstream branch",
        "--affected=origin/main",
    ]);
    // A shallow clone lacking the base says how to fetch it.
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.display());
    std::fs::write(dir.join("README.md"), "second\n").expect("write");
    git(dir, &["commit", "-qam", "second"]);
    let first = git(dir, &["rev-parse", "HEAD~1"]);
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "c"]);
    Flow::at(clone.path().join("c"))
        .args(["ci", &format!("--affected={first}")])
        .run()
        .code(2)
        .stderr_has(&["this clone is shallow", "--unshallow"]);
}
