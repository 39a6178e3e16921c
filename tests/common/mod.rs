//! Helpers shared by the integration tests: the real binary, run in a given folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The crate's root, where `fixtures/` lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo-flow` with a clean, colourless environment, run in `dir`.
pub fn flow(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cargo-flow").expect("the binary is built");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CARGO_TARGET_DIR")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Writes `files` (path, contents) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("create folder");
        std::fs::write(p, text).expect("write file");
    }
}

/// Writes a workflow as `wf.yaml` in `dir`.
pub fn workflow(dir: &Path, yaml: &str) {
    write_files(dir, &[("wf.yaml", yaml)]);
}

/// Stdout of a finished command as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr of a finished command as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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
