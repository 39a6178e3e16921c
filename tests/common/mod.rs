//! Helpers shared by the integration tests: the real binary, run in a given folder.
//!
//! `Flow` builds a run (its folder, the files in it, its arguments and environment) and `Ran`
//! checks what came of it, printing the run's output when a check fails:
//!
//! ```ignore
//! Flow::new()
//!     .workflow("steps:\n  - id: a\n    run: exit 1\n")
//!     .args(["run", "wf.yaml"])
//!     .run()
//!     .code(1)
//!     .stderr_has(&["✗ a"]);
//! ```
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The crate's root, where `fixtures/` lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of a file under `fixtures/`.
pub fn fixture(path: &str) -> String {
    let path = root().join("fixtures").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A member's `Cargo.toml`: package `name`, version 0.1.0, with `more` after it (a
/// `[dependencies]` table, say).
pub fn manifest(name: &str, more: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{more}")
}

/// The Cargo.lock of a workspace of `a`, `b` (depending on `a`) and `c` (depending on the
/// registry crate `fakedep` 1.0.0).
pub const THREE_MEMBER_LOCK: &str = "version = 3

[[package]]
name = \"a\"
version = \"0.1.0\"

[[package]]
name = \"b\"
version = \"0.1.0\"
dependencies = [\"a\"]

[[package]]
name = \"c\"
version = \"0.1.0\"
dependencies = [\"fakedep\"]

[[package]]
name = \"fakedep\"
version = \"1.0.0\"
source = \"registry+https://github.com/rust-lang/crates.io-index\"
checksum = \"00\"
";

/// A workspace of `a`, `b` (depending on `a` by path) and `c`, with [`THREE_MEMBER_LOCK`],
/// `root` as its `Cargo.toml`, target/ ignored, and `more` files.
pub fn three_members(root: &str, more: &[(&str, &str)]) -> TempDir {
    let b = manifest("b", "[dependencies]\na = { path = \"../a\" }\n");
    let mut files = vec![
        ("Cargo.toml", root),
        ("Cargo.lock", THREE_MEMBER_LOCK),
        ("b/Cargo.toml", b.as_str()),
        ("a/src/lib.rs", ""),
        ("b/src/lib.rs", ""),
        ("c/src/lib.rs", ""),
        (".gitignore", "/target\n"),
    ];
    let (a, c) = (manifest("a", ""), manifest("c", ""));
    files.extend([("a/Cargo.toml", a.as_str()), ("c/Cargo.toml", c.as_str())]);
    files.extend(more);
    tempdir_with(&files)
}

/// Runs `yaml` as `wf.yaml` in a fresh folder: `cargo flow run wf.yaml`.
pub fn run_workflow(yaml: &str) -> Ran {
    Flow::new().workflow(yaml).args(["run", "wf.yaml"]).run()
}

/// Writes `files` (path, contents) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("create folder");
        std::fs::write(p, text).expect("write file");
    }
}

/// Runs git in `dir`, as a user of its own, and fails the test if git does.
pub fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A new git repository at `dir` holding `files`, committed.
pub fn git_repo(dir: &Path, files: &[(&str, &str)]) {
    write_files(dir, files);
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "init"]);
}

/// A fresh clone of the repository `origin` at `dest`.
pub fn git_clone(origin: &Path, dest: &Path) {
    std::fs::create_dir_all(dest.parent().expect("a parent")).expect("create folder");
    let (origin, dest) = (origin.display().to_string(), dest.display().to_string());
    git(Path::new("/"), &["clone", "-q", &origin, &dest]);
}

/// A new temporary folder holding `files`.
pub fn tempdir_with(files: &[(&str, &str)]) -> TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(tmp.path(), files);
    tmp
}

/// A new temporary folder holding the workflow `yaml` as `wf.yaml`.
pub fn workflow_dir(yaml: &str) -> TempDir {
    tempdir_with(&[("wf.yaml", yaml)])
}

/// Whether any process on the machine has `marker` in its command line.
pub fn survivors(marker: &str) -> Vec<String> {
    let out = std::process::Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(marker) && !l.contains("ps -eo"))
        .map(str::to_string)
        .collect()
}

/// What a step printed, from its log: without the lines cargo flow writes before it (the
/// command and the values it receives).
pub fn read_log(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rest = text.as_str();
    while rest.starts_with("--- cargo flow: run: ")
        || rest.starts_with("--- cargo flow:      ")
        || rest.starts_with("--- cargo flow: ${")
    {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest.to_string()
}

/// A JSON file (a report), parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Waits until `path` exists, failing the test if it does not within `within`.
#[track_caller]
pub fn wait_for(path: &Path, within: Duration) {
    wait_for_all(&[path], within);
}

/// Waits until every one of `paths` exists, failing the test if they do not within `within`.
#[track_caller]
pub fn wait_for_all(paths: &[&Path], within: Duration) {
    let deadline = Instant::now() + within;
    while let Some(missing) = paths.iter().find(|p| !p.exists()) {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            missing.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A run of `cargo-flow` to be made: where, with which files, arguments and environment.
pub struct Flow {
    dir: PathBuf,
    tmp: Option<TempDir>,
    cmd: std::process::Command,
    args: Vec<String>,
    note: String,
    timeout: Duration,
    /// Shell commands run before cargo flow, in the shell that then becomes it.
    before: Option<String>,
}

impl Flow {
    /// In a new temporary folder, which lives as long as the `Ran` or `Running` it leads to.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut flow = Self::at(tmp.path());
        flow.tmp = Some(tmp);
        flow
    }

    /// In `folder` under `tmp`, which lives as long as the `Ran` or `Running` it leads to.
    pub fn inside(tmp: TempDir, folder: &str) -> Self {
        let mut flow = Self::at(tmp.path().join(folder));
        flow.tmp = Some(tmp);
        flow
    }

    /// In `dir`, with a clean, colourless environment.
    pub fn at(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref().to_path_buf();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-flow"));
        cmd.current_dir(&dir)
            .env("NO_COLOR", "1")
            .env_remove("CARGO_TERM_COLOR")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("CARGO_TARGET_DIR")
            // A jobserver of the test harness's would be joined instead of the run's own.
            .env_remove("CARGO_MAKEFLAGS")
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS");
        // A remote cache of the developer's would be asked.
        for (key, _) in std::env::vars_os() {
            if key.as_encoded_bytes().starts_with(b"CARGO_FLOW_") {
                cmd.env_remove(key);
            }
        }
        Self {
            dir,
            tmp: None,
            cmd,
            args: Vec::new(),
            note: String::new(),
            timeout: Duration::from_secs(60),
            before: None,
        }
    }

    /// Writes `text` to `path` under the folder, creating folders.
    pub fn file(self, path: &str, text: &str) -> Self {
        write_files(&self.dir, &[(path, text)]);
        self
    }

    /// Makes the folder `path` under the folder, with its parents.
    pub fn folder(self, path: &str) -> Self {
        std::fs::create_dir_all(self.dir.join(path)).expect("create folder");
        self
    }

    /// Writes a workflow as `wf.yaml`.
    pub fn workflow(self, yaml: &str) -> Self {
        self.file("wf.yaml", yaml)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Self {
        args.into_iter().fold(self, Self::arg)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// What failed checks say besides the arguments and the output (say, which workflow the
    /// run was given).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// How long `run` lets it take before killing it (60 s unless told).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `script` in `/bin/sh` first, which then execs cargo flow: to start it under a
    /// limit (`ulimit -v`) or with a signal ignored (`trap '' USR2`).
    pub fn after_shell(mut self, script: &str) -> Self {
        self.before = Some(script.to_string());
        self
    }

    /// Runs cargo flow, asserting that it refuses the workflow or the command line (exit 2)
    /// with each of `texts` in its diagnostics.
    #[track_caller]
    pub fn refused(self, texts: &[&str]) -> Ran {
        self.run().code(2).stderr_has(texts)
    }

    /// Runs it to the end.
    pub fn run(self) -> Ran {
        let (cmd, timeout, origin) = self.split();
        let started = Instant::now();
        let output = assert_cmd::Command::from_std(cmd)
            .timeout(timeout)
            .output()
            .expect("runs");
        Ran::new(output, started.elapsed(), origin)
    }

    /// Its standard input (none unless given).
    pub fn stdin(mut self, stdin: Stdio) -> Self {
        self.cmd.stdin(stdin);
        self
    }

    /// Starts it, with its stdout and stderr piped, and returns at once.
    pub fn spawn(self) -> Running {
        let (mut cmd, _, origin) = self.split();
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        Running {
            child,
            started: Instant::now(),
            origin,
        }
    }

    fn split(self) -> (std::process::Command, Duration, Origin) {
        let mut label = format!("cargo flow {:?} in {}", self.args, self.dir.display());
        if !self.note.is_empty() {
            label = format!("{label} ({})", self.note);
        }
        let origin = Origin {
            dir: self.dir,
            label,
            _tmp: self.tmp,
        };
        let Some(script) = self.before else {
            return (self.cmd, self.timeout, origin);
        };
        let mut sh = std::process::Command::new("/bin/sh");
        sh.arg("-c")
            .arg(format!("{script}; exec \"$0\" \"$@\""))
            .arg(self.cmd.get_program())
            .args(self.cmd.get_args())
            .current_dir(&origin.dir);
        for (key, value) in self.cmd.get_envs() {
            match value {
                Some(value) => sh.env(key, value),
                None => sh.env_remove(key),
            };
        }
        (sh, self.timeout, origin)
    }
}

impl Default for Flow {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a run happened, and what failed checks call it.
struct Origin {
    dir: PathBuf,
    label: String,
    /// The temporary folder, removed once the run is dropped.
    _tmp: Option<TempDir>,
}

/// A run under way, started by `Flow::spawn`.
pub struct Running {
    child: Child,
    started: Instant,
    origin: Origin,
}

impl Running {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        &self.origin.dir
    }

    /// Sends `signal` to cargo flow.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill with a valid pid and signal.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits until stderr has said a whole line, and returns it.
    pub fn stderr_line(&mut self) -> String {
        self.next_stderr_line().unwrap_or_default()
    }

    /// The next line of stderr, or `None` once it is closed.
    pub fn next_stderr_line(&mut self) -> Option<String> {
        use std::io::Read;
        let err = self.child.stderr.as_mut().expect("stderr");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match err.read(&mut byte).expect("reads") {
                0 if line.is_empty() => return None,
                0 => break,
                _ if byte[0] == b'\n' => break,
                _ => line.push(byte[0]),
            }
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// Waits for the end.
    pub fn wait(self) -> Ran {
        let output = self.child.wait_with_output().expect("waits");
        Ran::new(output, self.started.elapsed(), self.origin)
    }
}

/// A finished run, with checks that show its output when they fail. Each check returns the
/// run, so that they chain.
pub struct Ran {
    output: Output,
    stdout: String,
    stderr: String,
    took: Duration,
    origin: Origin,
}

impl Ran {
    fn new(output: Output, took: Duration, origin: Origin) -> Self {
        Self {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            output,
            took,
            origin,
        }
    }

    /// What a failed check prints: the arguments and both outputs.
    fn context(&self) -> String {
        format!(
            "{}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.origin.label, self.stderr, self.stdout
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.output.status.code(), Some(code), "{}", self.context());
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(self.output.status.success(), "{}", self.context());
        self
    }

    /// Asserts that stderr contains each of `texts`.
    #[track_caller]
    pub fn stderr_has(self, texts: &[&str]) -> Self {
        self.look("stderr", texts, true)
    }

    /// Asserts that stderr contains none of `texts`.
    #[track_caller]
    pub fn stderr_lacks(self, texts: &[&str]) -> Self {
        self.look("stderr", texts, false)
    }

    /// Asserts that stdout contains each of `texts`.
    #[track_caller]
    pub fn stdout_has(self, texts: &[&str]) -> Self {
        self.look("stdout", texts, true)
    }

    /// Asserts that stdout contains none of `texts`.
    #[track_caller]
    pub fn stdout_lacks(self, texts: &[&str]) -> Self {
        self.look("stdout", texts, false)
    }

    /// Asserts that `stream` contains each of `texts` (`present`) or none of them.
    #[track_caller]
    fn look(self, stream: &str, texts: &[&str], present: bool) -> Self {
        let seen = if stream == "stderr" {
            &self.stderr
        } else {
            &self.stdout
        };
        for text in texts {
            assert!(
                seen.contains(text) == present,
                "{stream} {} {text:?}\n{}",
                if present { "lacks" } else { "has" },
                self.context()
            );
        }
        self
    }

    /// Asserts that each of `texts` is in stderr, the first of each in this order.
    #[track_caller]
    pub fn stderr_in_order(self, texts: &[&str]) -> Self {
        let at = |text: &str| {
            self.stderr
                .find(text)
                .unwrap_or_else(|| panic!("stderr lacks {text:?}\n{}", self.context()))
        };
        for pair in texts.windows(2) {
            assert!(
                at(pair[0]) < at(pair[1]),
                "{:?} is not before {:?}\n{}",
                pair[0],
                pair[1],
                self.context()
            );
        }
        self
    }

    pub fn status(&self) -> std::process::ExitStatus {
        self.output.status
    }

    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// How long it took, from start to end.
    pub fn took(&self) -> Duration {
        self.took
    }

    /// The folder it ran in.
    pub fn dir(&self) -> &Path {
        &self.origin.dir
    }

    /// What `step` of `workflow` printed, as `read_log` gives it.
    pub fn log(&self, workflow: &str, step: &str) -> String {
        read_log(
            &self
                .origin
                .dir
                .join(format!("target/flow/logs/{workflow}/{step}.log")),
        )
    }

    /// The text of a file in the run's folder.
    pub fn read(&self, path: &str) -> String {
        let path = self.origin.dir.join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A JSON file the run wrote (a report), by its path in the run's folder.
    pub fn json(&self, path: &str) -> serde_json::Value {
        read_json(&self.origin.dir.join(path))
    }
}
