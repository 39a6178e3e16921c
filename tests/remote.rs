//! The remote cache, against real servers the tests start: a run in one checkout stores its
//! cached steps' results, a fresh clone at another path restores them; a server that is
//! down, a damaged blob, a read-only cache and signed entries.

mod common;
#[path = "common/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Flow, Ran, git_clone, git_repo};
use servers::Server;
use tempfile::TempDir;

const WORKFLOW: &str = r#"steps:
  - id: build
    run: |
      echo build >> "$RAN"
      sleep 1
      mkdir -p dist
      printf 'app %s\n' "$(cat src/version.txt)" > dist/app
      chmod +x dist/app
      echo "version=$(cat src/version.txt)" >> "$FLOW_OUTPUT"
    cache:
      inputs: ["src/**"]
      outputs: ["dist/**"]
    artifacts: ["dist/app"]
  - id: use
    depends_on: [build]
    run: echo "use ${steps.build.outputs.version}" >> "$RAN"
"#;

/// A git repository holding the workflow, and where its clones go.
struct Origin {
    tmp: TempDir,
    /// Each step that ran, one line each, in every checkout.
    ran: PathBuf,
}

impl Origin {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("origin");
        git_repo(
            &repo,
            &[
                ("wf.yaml", WORKFLOW),
                ("src/version.txt", "v1"),
                (".gitignore", "/target\n/dist\n"),
            ],
        );
        let ran = tmp.path().join("ran.log");
        Origin { tmp, ran }
    }

    /// A fresh clone, at a path of its own.
    fn clone(&self, name: &str) -> PathBuf {
        let dest = self.tmp.path().join("clones").join(name);
        git_clone(&self.tmp.path().join("origin"), &dest);
        dest
    }

    /// The steps that ran so far, in order.
    fn ran(&self) -> Vec<String> {
        std::fs::read_to_string(&self.ran)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// `cargo flow run wf.yaml` in `dir`, with a JSON report, to be given more.
    fn flow(&self, dir: &Path) -> Flow {
        Flow::at(dir)
            .env("RAN", &self.ran)
            .args(["run", "wf.yaml", "--report", "json=report.json"])
    }

    /// `cargo flow run wf.yaml` in `dir` with the remote cache at `url` and `more` arguments.
    fn run(&self, dir: &Path, url: &str, more: &[&str]) -> Ran {
        self.flow(dir)
            .args(["--remote-cache", url])
            .args(more)
            .run()
    }

    /// A repository whose workflow ran once, in a clone named `first`, storing in `server`.
    fn stored(server: &Server) -> Self {
        let origin = Origin::new();
        origin
            .run(&origin.clone("first"), &server.url, &[])
            .success();
        origin
    }
}

/// The status of `id` in a run's JSON report, and where its result came from.
fn status(ran: &Ran, id: &str) -> (String, Option<String>) {
    let report = ran.json("report.json");
    let step = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
        .clone();
    (
        step["status"].as_str().unwrap_or_default().to_string(),
        step["restored_from"].as_str().map(String::from),
    )
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A run in one clone stores, a fresh clone at another path restores: outputs, artifacts,
/// `$FLOW_OUTPUT` values, the time saved; the step does not run again.
fn a_fresh_clone_restores_from(server: &Server) {
    let origin = Origin::new();
    let first = origin.clone("first");
    let ran = origin.run(&first, &server.url, &[]).success();
    assert_eq!(status(&ran, "build").0, "success");
    assert_eq!(server.files("ac").len(), 1, "one entry stored");
    let second = origin.clone("second");
    let ran = origin
        .run(&second, &server.url, &[])
        .success()
        .stderr_has(&["✓ build cached (remote, saved 1."]);
    assert_eq!(
        status(&ran, "build"),
        ("cached".to_string(), Some("remote".to_string()))
    );
    assert_eq!(origin.ran(), ["build", "use v1", "use v1"]);
    let app = second.join("dist/app");
    assert_eq!(std::fs::read_to_string(&app).expect("output"), "app v1\n");
    assert!(is_executable(&app), "the output keeps its mode");
    let artifact = second.join("target/flow/artifacts/wf/build/app");
    assert_eq!(
        std::fs::read_to_string(artifact).expect("artifact"),
        "app v1\n"
    );
    // Recorded here now: the next run needs no server.
    let ran = origin.run(&second, "http://127.0.0.1:9", &[]).success();
    assert_eq!(status(&ran, "build"), ("cached".to_string(), None));
}

#[test]
fn a_fresh_clone_restores_from_a_webdav_server() {
    a_fresh_clone_restores_from(&servers::dav());
}

#[test]
fn a_fresh_clone_restores_from_nginx() {
    if let Some(nginx) = servers::nginx() {
        a_fresh_clone_restores_from(&nginx);
    }
}

#[test]
fn a_server_that_is_down_is_a_warning_and_the_steps_run_here() {
    let origin = Origin::new();
    let dir = origin.clone("here");
    let down = format!("http://127.0.0.1:{}", servers::free_port());
    let ran = origin
        .run(&dir, &down, &[])
        .success()
        .stderr_has(&["warning: build: the remote cache cannot be reached"]);
    assert_eq!(ran.stderr().matches("warning:").count(), 1, "said once");
    assert!(
        ran.took() < Duration::from_secs(20),
        "bounded: {:?}",
        ran.took()
    );
    assert_eq!(origin.ran(), ["build", "use v1"]);
}

#[test]
fn a_damaged_blob_is_caught_and_the_step_runs() {
    let server = servers::dav();
    let origin = Origin::stored(&server);
    let mut damaged = 0;
    for blob in server.files("cas") {
        if std::fs::read(&blob).expect("blob") == b"app v1\n" {
            std::fs::write(&blob, "app v9\n").expect("damage");
            damaged += 1;
        }
    }
    assert_eq!(damaged, 1, "the output and the artifact are one blob");
    let second = origin.clone("second");
    origin
        .run(&second, &server.url, &[])
        .success()
        .stderr_has(&["arrived damaged"]);
    assert_eq!(origin.ran(), ["build", "use v1", "build", "use v1"]);
    let app = std::fs::read_to_string(second.join("dist/app")).expect("output");
    assert_eq!(app, "app v1\n");
}

#[test]
fn a_read_only_cache_restores_but_never_stores() {
    let server = servers::dav();
    let origin = Origin::new();
    let ran = origin.run(
        &origin.clone("pr"),
        &server.url,
        &["--remote-cache-read-only"],
    );
    ran.success();
    assert!(server.files("ac").is_empty(), "nothing stored");
    origin
        .run(&origin.clone("main"), &server.url, &[])
        .success();
    assert_eq!(server.files("ac").len(), 1);
    let ran = origin
        .flow(&origin.clone("pr2"))
        .env("CARGO_FLOW_REMOTE_CACHE", &server.url)
        .env("CARGO_FLOW_REMOTE_CACHE_READ_ONLY", "true")
        .run()
        .success();
    assert_eq!(status(&ran, "build").1.as_deref(), Some("remote"));
    assert_eq!(server.files("ac").len(), 1);
}

#[test]
fn signed_entries_are_restored_only_with_their_key() {
    let server = servers::dav();
    let origin = Origin::new();
    let signed = |name: &str, key: Option<&str>| {
        let mut flow = origin
            .flow(&origin.clone(name))
            .args(["--remote-cache", &server.url]);
        if let Some(key) = key {
            flow = flow.env("CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY", key);
        }
        flow.run().success()
    };
    signed("writer", Some("k1"));
    let ran = signed("same-key", Some("k1"));
    assert_eq!(status(&ran, "build").1.as_deref(), Some("remote"));
    let ran = signed("other-key", Some("k2")).stderr_has(&["signature is wrong"]);
    assert_eq!(status(&ran, "build"), ("success".to_string(), None));
    // An entry written without a key is not taken by a reader that requires one.
    let unsigned = servers::dav();
    let origin2 = Origin::new();
    origin2
        .run(&origin2.clone("a"), &unsigned.url, &[])
        .success();
    let ran = origin2
        .flow(&origin2.clone("b"))
        .env("CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY", "k1")
        .args(["--remote-cache", &unsigned.url])
        .run()
        .success()
        .stderr_has(&["is not signed"]);
    drop(ran);
    assert_eq!(origin2.ran(), ["build", "use v1", "build", "use v1"]);
}

#[test]
fn a_remote_cache_that_is_not_an_address_is_refused() {
    Flow::new()
        .workflow(WORKFLOW)
        .args(["run", "wf.yaml", "--remote-cache", "cache.example"])
        .refused(&[
            "flow::bad-remote-cache",
            "not an http:// or https:// address",
        ]);
    Flow::new()
        .file("wf.yaml", &format!("remote_cache: ftp://x\n{WORKFLOW}"))
        .args(["check", "wf.yaml"])
        .refused(&["flow::bad-remote-cache", "not an address"]);
}

#[test]
fn the_workflow_names_its_remote_cache_and_the_flag_turns_it_off() {
    let server = servers::dav();
    let origin = Origin::new();
    let dir = origin.clone("a");
    let text = format!("remote_cache: {}\n{WORKFLOW}", server.url);
    std::fs::write(dir.join("wf.yaml"), &text).expect("workflow");
    origin.flow(&dir).arg("--no-remote-cache").run().success();
    assert!(server.files("ac").is_empty());
    let dir = origin.clone("b");
    std::fs::write(dir.join("wf.yaml"), &text).expect("workflow");
    origin.flow(&dir).run().success();
    assert_eq!(server.files("ac").len(), 1);
}

#[test]
fn only_runs_the_named_steps_and_takes_the_others_from_the_cache() {
    let server = servers::dav();
    let origin = Origin::new();
    origin
        .run(&origin.clone("builder"), &server.url, &["build", "--only"])
        .success();
    assert_eq!(origin.ran(), ["build"]);
    let ran = origin
        .run(&origin.clone("user"), &server.url, &["use", "--only"])
        .success();
    assert_eq!(status(&ran, "build").1.as_deref(), Some("remote"));
    assert_eq!(origin.ran(), ["build", "use v1"]);
    // Where the cache has nothing, the step is named as missing, not run.
    let empty = servers::dav();
    origin
        .run(&origin.clone("lost"), &empty.url, &["use", "--only"])
        .code(1)
        .stderr_has(&["build", "`--only` takes it from the cache", "use skipped"]);
    assert_eq!(origin.ran(), ["build", "use v1"]);
}

#[test]
fn nothing_is_restored_through_a_link_in_the_checkout() {
    let server = servers::dav();
    let origin = Origin::stored(&server);
    let second = origin.clone("second");
    let outside = origin.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    std::os::unix::fs::symlink(&outside, second.join("dist")).expect("link");
    // The step runs instead, and its own artifact through the link is refused in turn.
    origin
        .run(&second, &server.url, &[])
        .code(1)
        .stderr_has(&["would be written through the link `dist`"]);
    assert_eq!(origin.ran(), ["build", "use v1", "build"]);
}

#[test]
fn an_entry_naming_files_outside_the_steps_outputs_is_refused() {
    let server = servers::dav();
    let origin = Origin::new();
    // Outputs do not key a step: a writer whose `cache.outputs` reach the sources stores
    // an entry that a reader with the usual ones finds under the same key.
    let writer = origin.clone("writer");
    let wide = WORKFLOW.replace(
        r#"outputs: ["dist/**"]"#,
        r#"outputs: ["dist/**", "src/**"]"#,
    );
    std::fs::write(writer.join("wf.yaml"), wide).expect("workflow");
    origin.run(&writer, &server.url, &[]).success();
    let reader = origin.clone("reader");
    origin
        .run(&reader, &server.url, &[])
        .success()
        .stderr_has(&["names `src/version.txt`, which is not one of its `cache.outputs`"]);
    assert_eq!(origin.ran(), ["build", "use v1", "build", "use v1"]);
}

#[test]
fn the_remote_caches_credentials_never_reach_a_step() {
    let server = servers::dav();
    let origin = Origin::new();
    let dir = origin.clone("a");
    let text = WORKFLOW.replace(
        "echo build >> \"$RAN\"",
        "echo build >> \"$RAN\"; env | grep CARGO_FLOW_REMOTE >> \"$RAN\" || true",
    );
    std::fs::write(dir.join("wf.yaml"), text).expect("workflow");
    origin
        .flow(&dir)
        .env("CARGO_FLOW_REMOTE_CACHE", &server.url)
        .env("CARGO_FLOW_REMOTE_CACHE_TOKEN", "tok123")
        .env("CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY", "sk456")
        .run()
        .success();
    assert_eq!(origin.ran(), ["build", "use v1"]);
}
