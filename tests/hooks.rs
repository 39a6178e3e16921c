//! Git hooks through real git: pushes to a local bare repository that a failing workflow
//! blocks and a passing one lets through, deletions, `--no-verify`, `core.hooksPath`,
//! worktrees, hooks cargo flow did not write, and Ctrl-C during a hook.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{survivors, wait_for};

const WORKFLOW: &str = "workflows:
  ci:
    steps:
      - id: verdict
        run: test \"$(cat verdict)\" = pass
  slow:
    steps:
      - id: hang
        run: sleep 300 & echo $! > pid; touch started; wait
";

/// A repository with a bare remote beside it, and the environment its git runs in: no user
/// or system configuration, and the binary under test found by `cargo flow`.
struct Repo {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    remote: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let work = tmp.path().join("work");
        let remote = tmp.path().join("remote.git");
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_cargo-flow"));
        let bin_dir = bin.parent().expect("folder").display().to_string();
        let cargo_home = tmp.path().join("cargo-home");
        std::fs::create_dir_all(&cargo_home).expect("mkdir");
        let env = vec![
            (
                "PATH".into(),
                format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()),
            ),
            // cargo looks for `cargo-flow` in CARGO_HOME/bin before PATH: an empty one
            // leaves the binary under test.
            ("CARGO_HOME".into(), cargo_home.display().to_string()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_AUTHOR_NAME".into(), "t".into()),
            ("GIT_AUTHOR_EMAIL".into(), "t@example.com".into()),
            ("GIT_COMMITTER_NAME".into(), "t".into()),
            ("GIT_COMMITTER_EMAIL".into(), "t@example.com".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        let repo = Repo {
            _tmp: tmp,
            work,
            remote,
            env,
        };
        std::fs::create_dir_all(&repo.work).expect("mkdir");
        std::fs::create_dir_all(&repo.remote).expect("mkdir");
        repo.git_ok(&["init", "-q", "--bare", "-b", "main"], Some(&repo.remote));
        repo.git_ok(&["init", "-q", "-b", "main"], None);
        std::fs::write(repo.work.join(".flow.yaml"), WORKFLOW).expect("write");
        std::fs::write(repo.work.join(".gitignore"), "target/\npid\nstarted\n").expect("write");
        repo.commit("pass");
        repo.git_ok(&["remote", "add", "origin", "../remote.git"], None);
        repo
    }

    fn command(&self, program: &str, dir: Option<&Path>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir.unwrap_or(&self.work));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn git(&self, args: &[&str], dir: Option<&Path>) -> Output {
        self.command("git", dir)
            .args(args)
            .output()
            .expect("git runs")
    }

    #[track_caller]
    fn git_ok(&self, args: &[&str], dir: Option<&Path>) -> Output {
        let out = self.git(args, dir);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn flow(&self, args: &[&str]) -> Output {
        self.command(env!("CARGO_BIN_EXE_cargo-flow"), None)
            .args(args)
            .output()
            .expect("runs")
    }

    fn commit(&self, verdict: &str) {
        std::fs::write(self.work.join("verdict"), verdict).expect("write");
        self.git_ok(&["add", "-A"], None);
        self.git_ok(&["commit", "-q", "--allow-empty", "-m", verdict], None);
    }

    /// The commit the remote's `main` is at, if it has one.
    fn remote_main(&self) -> Option<String> {
        let out = self.git(&["rev-parse", "--verify", "-q", "main"], Some(&self.remote));
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn head(&self) -> String {
        let out = self.git_ok(&["rev-parse", "HEAD"], None);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_failing_workflow_blocks_the_push_and_a_passing_one_lets_it_through() {
    let repo = Repo::new();
    let installed = repo.flow(&["hook", "install"]);
    assert!(installed.status.success(), "{}", stderr(&installed));
    assert!(stderr(&installed).contains("Installed the pre-push hook"));
    let hook = repo.work.join(".git/hooks/pre-push");
    let text = std::fs::read_to_string(&hook).expect("hook written");
    assert!(text.contains("exec cargo flow run \"$workflow\""), "{text}");

    repo.commit("fail");
    let blocked = repo.git(&["push", "-q", "origin", "main"], None);
    assert!(!blocked.status.success(), "the push went through");
    let said = stderr(&blocked);
    assert!(said.contains("✗ verdict"), "{said}");
    assert!(said.contains("failed to push"), "{said}");
    assert_eq!(repo.remote_main(), None, "nothing reached the remote");

    // `--no-verify` skips the hook, as for every hook.
    let skipped = repo.git(&["push", "-q", "--no-verify", "origin", "main"], None);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(!stderr(&skipped).contains("verdict"));

    repo.commit("pass");
    let through = repo.git(&["push", "-q", "origin", "main"], None);
    let said = stderr(&through);
    assert!(through.status.success(), "{said}");
    assert!(said.contains("1 succeeded"), "{said}");
    assert_eq!(repo.remote_main(), Some(repo.head()));

    // Deleting a branch runs nothing.
    repo.git_ok(&["push", "-q", "--no-verify", "origin", "main:gone"], None);
    repo.commit("fail");
    let deleted = repo.git(&["push", "-q", "origin", "--delete", "gone"], None);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(
        stderr(&deleted).contains("this push only deletes"),
        "{}",
        stderr(&deleted)
    );
}

#[test]
fn a_push_runs_only_what_its_commits_affect() {
    let repo = Repo::new();
    let member = |name: &str| common::manifest(name, "");
    common::write_files(
        &repo.work,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
            ),
            ("a/Cargo.toml", &member("a")),
            ("a/src/lib.rs", ""),
            ("b/Cargo.toml", &member("b")),
            ("b/src/lib.rs", ""),
            (
                ".flow.yaml",
                "name: ci\nsteps:\n  - id: test\n    for_each: package\n    run: echo ${package}\n",
            ),
        ],
    );
    repo.commit("pass");
    repo.flow(&["hook", "install"]);
    // A new branch of a remote whose default branch is not known: everything, and why.
    let first = repo.git(&["push", "-q", "-u", "origin", "main"], None);
    let said = stderr(&first);
    assert!(first.status.success(), "{said}");
    assert!(
        said.contains("is new, and the default branch of origin is not known"),
        "{said}"
    );
    assert!(said.contains("test:a") && said.contains("test:b"), "{said}");
    // A push to a known branch: what its commits change since the remote's side.
    std::fs::write(repo.work.join("b/src/lib.rs"), "// b\n").expect("write");
    repo.commit("pass");
    let second = repo.git(&["push", "-q", "origin", "main"], None);
    let said = stderr(&second);
    assert!(second.status.success(), "{said}");
    assert!(
        said.contains("✓ test:b") && !said.contains("test:a"),
        "{said}"
    );
    // A new branch: the merge base with the remote's default branch.
    repo.git_ok(&["remote", "set-head", "origin", "main"], None);
    repo.git_ok(&["checkout", "-q", "-b", "feature"], None);
    std::fs::write(repo.work.join("a/src/lib.rs"), "// a\n").expect("write");
    repo.commit("pass");
    let third = repo.git(&["push", "-q", "origin", "feature"], None);
    let said = stderr(&third);
    assert!(third.status.success(), "{said}");
    assert!(
        said.contains("✓ test:a") && !said.contains("test:b"),
        "{said}"
    );
}

#[test]
fn hooks_go_where_git_looks_for_them() {
    let repo = Repo::new();
    repo.git_ok(&["config", "core.hooksPath", ".githooks"], None);
    let out = repo.flow(&["hook", "install", "ci", "--hook", "pre-commit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.work.join(".githooks/pre-commit").is_file());
    repo.git_ok(&["config", "--unset", "core.hooksPath"], None);

    // A worktree shares its repository's hooks.
    let tree = repo.work.parent().expect("parent").join("tree");
    repo.git_ok(
        &[
            "worktree",
            "add",
            "-q",
            tree.to_str().expect("utf-8"),
            "-b",
            "side",
        ],
        None,
    );
    let out = repo
        .command(env!("CARGO_BIN_EXE_cargo-flow"), Some(&tree))
        .args(["hook", "install"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.work.join(".git/hooks/pre-push").is_file());
}

#[test]
fn a_hook_cargo_flow_did_not_write_is_never_replaced_without_force() {
    let repo = Repo::new();
    let hooks = repo.work.join(".git/hooks");
    std::fs::write(hooks.join("pre-push"), "#!/bin/sh\nexec lint-everything\n").expect("write");
    let refused = repo.flow(&["hook", "install"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused);
    assert!(
        said.contains("is not cargo flow's") && said.contains("lint-everything"),
        "{said}"
    );
    assert!(said.contains("--force"), "{said}");
    let out = repo.flow(&["hook", "uninstall"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "another program's hook is not removed"
    );

    let forced = repo.flow(&["hook", "install", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stderr(&forced).contains("pre-push.before-cargo-flow"));
    let kept = std::fs::read_to_string(hooks.join("pre-push.before-cargo-flow")).expect("kept");
    assert!(kept.contains("lint-everything"));

    std::fs::write(hooks.join("post-merge"), "#!/bin/sh\ntrue\n").expect("write");
    let listed = repo.flow(&["hook", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("pre-push    cargo flow run ci"), "{text}");
    assert!(text.contains("post-merge  (not cargo flow's)"), "{text}");

    let removed = repo.flow(&["hook", "uninstall"]);
    assert!(removed.status.success());
    assert!(!hooks.join("pre-push").exists());
    let again = repo.flow(&["hook", "uninstall"]);
    assert!(stderr(&again).contains("There is no pre-push hook"));
}

#[test]
fn a_hook_needs_a_workflow_that_exists_and_a_repository() {
    let repo = Repo::new();
    let out = repo.flow(&["hook", "install", "cii"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `ci`"),
        "{}",
        stderr(&out)
    );
    let outside = tempfile::tempdir().expect("tempdir");
    let out = repo
        .command(env!("CARGO_BIN_EXE_cargo-flow"), Some(outside.path()))
        .args(["hook", "list"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ctrl_c_during_the_hook_leaves_nothing_running() {
    use std::os::unix::process::CommandExt;
    let repo = Repo::new();
    let out = repo.flow(&["hook", "install", "slow"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut push = repo.command("git", None);
    push.args(["push", "-q", "origin", "main"]).process_group(0);
    let mut child = push.spawn().expect("git push starts");
    wait_for(&repo.work.join("started"), Duration::from_secs(30));
    let pid: i32 = std::fs::read_to_string(repo.work.join("pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    // What a terminal does on Ctrl-C: SIGINT to the foreground process group.
    let group = i32::try_from(child.id()).expect("pid");
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{group}")])
        .status();
    assert!(status.is_ok_and(|s| s.success()));
    let start = Instant::now();
    let ended = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the push never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!ended.success(), "an interrupted hook blocks the push");
    assert_eq!(repo.remote_main(), None);
    // git ends at once; cargo flow, which got the signal too, stops the step's processes.
    let start = Instant::now();
    while running(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the step's `sleep` outlived the hook: {:?}",
            survivors("sleep 300")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process is running: there, and not a zombie waiting to be reaped.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}
