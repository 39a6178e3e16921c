//! Shell completion: the scripts `cargo flow completions` prints, the answers to each shell's
//! requests (clap_complete's protocol, through the binary), and real interactive sessions
//! driven through tmux.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Flow, tempdir_with};

const PROJECT: &str = "workflows:
  ci:
    description: the checks
    steps:
      - id: build
        description: compile
        run: echo b
      - id: test
        run: echo t
  release:
    steps:
      - id: publish
        run: echo p
";

fn project() -> tempfile::TempDir {
    tempdir_with(&[(".flow.yaml", PROJECT)])
}

/// What the binary answers `shell` for `words`, the cursor on the last.
fn answer(dir: &Path, shell: &str, words: &[&str]) -> Vec<String> {
    let index = (words.len() - 1).to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .current_dir(dir)
        .env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", &index)
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split(['\t', ':']).next().unwrap_or("").to_string())
        .filter(|l| !l.starts_with('-'))
        .collect()
}

#[test]
fn every_shell_completes_commands_workflows_and_steps() {
    let tmp = project();
    let dir = tmp.path();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let got = |words: &[&str]| answer(dir, shell, words);
        let top = got(&["cargo-flow", ""]);
        for expected in ["run", "list", "schema", "completions", "ci", "release"] {
            assert!(top.contains(&expected.to_string()), "{shell}: {top:?}");
        }
        assert_eq!(got(&["cargo-flow", "run", "c"]), ["ci"], "{shell}");
        assert_eq!(
            got(&["cargo-flow", "run", "ci", ""]),
            ["build", "test"],
            "{shell}"
        );
        assert_eq!(got(&["cargo-flow", "ci", "t"]), ["test"], "{shell}");
        assert_eq!(
            got(&["cargo-flow", "-j", "2", "release", ""]),
            ["publish"],
            "{shell}"
        );
        assert_eq!(got(&["cargo-flow", "list", "r"]), ["release"], "{shell}");
        assert_eq!(got(&["cargo-flow", "graph", "ci"]), ["ci"], "{shell}");
        // As `cargo flow` passes them: with its `flow`, or (zsh) from `flow` on.
        assert_eq!(
            got(&["cargo", "flow", "ci", ""]),
            ["build", "test"],
            "{shell}"
        );
        assert_eq!(got(&["flow", "run", "ci", "b"]), ["build"], "{shell}");
    }
}

#[test]
fn descriptions_come_with_the_names_where_a_shell_shows_them() {
    let tmp = project();
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
        .current_dir(tmp.path())
        .env("COMPLETE", "fish")
        .args(["--", "cargo-flow", "run", "ci", "b"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "build\tcompile\n");
}

#[test]
fn nothing_is_completed_from_a_workflow_file_someone_else_could_have_written() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = project();
    let file = tmp.path().join(".flow.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let got = answer(tmp.path(), "bash", &["cargo-flow", "run", ""]);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn the_scripts_register_cargo_flow_and_reach_it_from_cargo() {
    let script = |shell: &str| {
        Flow::new()
            .args(["completions", shell])
            .run()
            .success()
            .stdout()
            .to_string()
    };
    assert!(script("bash").contains("-F _clap_complete_cargo_flow cargo-flow"));
    let zsh = script("zsh");
    assert!(zsh.contains("compdef _clap_dynamic_completer_cargo_flow cargo-flow"));
    assert!(
        zsh.contains("function _cargo-flow()"),
        "cargo's _cargo calls it"
    );
    let fish = script("fish");
    assert!(fish.contains("--command cargo-flow"));
    assert!(fish.contains("--command cargo --condition '__fish_seen_subcommand_from flow'"));
    assert!(script("elvish").contains("arg-completer[cargo-flow]"));
    assert!(
        script("powershell").contains("Register-ArgumentCompleter -Native -CommandName cargo-flow")
    );
    Flow::new().args(["completions", "tcsh"]).refused(&[
        "invalid value 'tcsh'",
        "bash, elvish, fish, powershell, zsh",
    ]);
}

/// A shell running in tmux, on a server of its own.
struct Session {
    socket: String,
}

impl Session {
    fn start(shell: &[&str], dir: &Path, path: &str) -> Session {
        let socket = format!("cargo-flow-test-{}-{}", std::process::id(), shell[0]);
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "160", "-y", "40"])
            .arg("-c")
            .arg(dir)
            .arg("env")
            .arg(format!("PATH={path}"))
            .args(shell)
            .status()
            .expect("tmux is installed");
        assert!(status.success());
        Session { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("tmux");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`, and returns it.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// `PATH` with the binary under test first.
fn path_with_binary() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cargo-flow"));
    let dir = bin.parent().expect("a folder").display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

#[test]
fn an_interactive_bash_completes_with_tab() {
    let tmp = project();
    let session = Session::start(
        &["bash", "--norc", "--noprofile"],
        tmp.path(),
        &path_with_binary(),
    );
    session.keys(&[
        "PS1='$ '; source <(cargo-flow completions bash); echo ready",
        "Enter",
    ]);
    session.wait_for("ready");
    session.keys(&["cargo-flow run c", "Tab"]);
    session.wait_for("$ cargo-flow run ci");
    session.keys(&["Tab", "Tab"]);
    let screen = session.wait_for("build");
    assert!(screen.contains("test"), "{screen}");
    // Completing a step, then running what was completed.
    session.keys(&["t", "Tab"]);
    session.wait_for("cargo-flow run ci test");
    session.keys(&["Enter"]);
    session.wait_for("1 succeeded");
}

/// cargo's own zsh completion, as rustup installs it beside the toolchain.
fn cargo_zsh_completion() -> Option<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let dir = Path::new(&sysroot).join("share/zsh/site-functions");
    dir.join("_cargo").is_file().then_some(dir)
}

#[test]
fn cargo_flow_tab_in_zsh_goes_through_cargos_own_completion() {
    let (Some(functions), Ok(_)) = (cargo_zsh_completion(), which::which("zsh")) else {
        eprintln!(
            "zsh, or cargo's zsh completion, is not installed: `cargo flow <TAB>` in zsh is not tried"
        );
        return;
    };
    let tmp = project();
    let session = Session::start(&["zsh", "-f"], tmp.path(), &path_with_binary());
    let setup = format!(
        "PS1='$ '; fpath=({} $fpath); autoload -U compinit; compinit -u; source <(cargo-flow completions zsh); echo ready",
        functions.display()
    );
    session.keys(&[&setup, "Enter"]);
    session.wait_for("ready");
    session.keys(&["cargo flow ci b", "Tab"]);
    session.wait_for("cargo flow ci build");
}
