//! `cargo flow export github`: the jobs it prints, and a simulation of them that proves the
//! split keeps the workflow's meaning: each job run in a fresh clone of its own, in an order
//! its `needs:` allow, sharing nothing but a remote cache server, gives the statuses, outputs
//! and artifacts of one run on one machine.

mod common;
#[path = "common/servers.rs"]
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Flow;
use serde_json::Value;

/// A repository holding the workflow, and the log of what ran in any clone of it.
struct Repo {
    tmp: tempfile::TempDir,
    ran: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let origin = tmp.path().join("origin");
        common::git_repo(
            &origin,
            &[
                ("wf.yaml", &common::fixture("export/wf.yaml")),
                ("tool.txt", "rustc 1.0"),
                ("src/in.txt", "alpha\nbeta\n"),
                (".gitignore", "/target\n/gen\n/dist\n/out\n"),
            ],
        );
        let ran = tmp.path().join("ran.log");
        Repo { tmp, ran }
    }

    fn clone(&self, name: &str) -> PathBuf {
        let dest = self.tmp.path().join("clones").join(name);
        common::git_clone(&self.tmp.path().join("origin"), &dest);
        dest
    }

    fn ran(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.ran).unwrap_or_default();
        let _ = std::fs::remove_file(&self.ran);
        text.lines().map(String::from).collect()
    }
}

/// What a run left of each step it ran (not restored): status, outputs, artifacts.
type Results = BTreeMap<String, (String, Value, BTreeMap<String, String>)>;

/// The steps a report says ran (not those restored), with their outputs and the contents of
/// their artifacts.
fn results(dir: &Path, into: &mut Results) {
    let report = common::read_json(&dir.join("report.json"));
    for step in report["steps"].as_array().expect("steps") {
        let id = step["id"].as_str().expect("id").to_string();
        let status = step["status"].as_str().expect("status").to_string();
        if status == "cached" {
            continue;
        }
        let mut artifacts = BTreeMap::new();
        for path in step["artifacts"].as_array().into_iter().flatten() {
            let path = Path::new(path.as_str().expect("path"));
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            artifacts.insert(name, std::fs::read_to_string(path).expect("artifact"));
        }
        let result = (status, step["outputs"].clone(), artifacts);
        if let Some(before) = into.insert(id.clone(), result.clone()) {
            assert_eq!(before, result, "{id} gave two results in two jobs");
        }
    }
}

/// Runs a job's `cargo flow` line through the shell, as a runner does, with `cargo` finding
/// this build of cargo-flow.
fn run_job(dir: &Path, line: &str, step: Option<&str>, server: &str, (ran, pr): (&Path, bool)) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cargo-flow"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir)
        .arg("-c")
        .arg(format!("{line} --report json=report.json"))
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("CARGO_FLOW_REMOTE_CACHE", server)
        .env(
            "CARGO_FLOW_REMOTE_CACHE_READ_ONLY",
            if pr { "true" } else { "false" },
        )
        .env("RAN", ran)
        .env("ONLY", if pr { "" } else { "--only" })
        .env_remove("CARGO_TARGET_DIR");
    if let Some(step) = step {
        cmd.env("STEP", step);
    }
    let out = cmd.output().expect("job runs");
    assert!(
        out.status.success(),
        "{line} ({step:?}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The jobs of an exported workflow in an order their `needs:` allow.
fn in_order(jobs: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut done: Vec<String> = Vec::new();
    while done.len() < jobs.len() {
        let ready = jobs.iter().find(|(id, job)| {
            !done.contains(id)
                && job["needs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|n| done.iter().any(|d| d == n.as_str().unwrap_or_default()))
        });
        let (id, _) = ready.expect("needs: form no cycle");
        done.push(id.clone());
    }
    done
}

fn export(dir: &Path, group: &str) -> serde_json::Map<String, Value> {
    let ran = Flow::at(dir)
        .args(["export", "github", "wf.yaml", "--group", group])
        .run()
        .success();
    let doc: Value = serde_saphyr::from_str(ran.stdout()).expect("the export is YAML");
    doc["jobs"].as_object().expect("jobs").clone()
}

/// Runs the exported jobs as a push (`pr` false) or a pull request (`pr` true: a read-only
/// cache, and no `--only`) would, and compares them with one run.
fn simulate(group: &str, pr: bool) {
    let repo = Repo::new();
    let single = repo.clone("single");
    Flow::at(&single)
        .env("RAN", &repo.ran)
        .args(["run", "wf.yaml", "--report", "json=report.json"])
        .run()
        .success();
    let mut expected = Results::new();
    results(&single, &mut expected);
    let single_ran: BTreeSet<String> = repo.ran().into_iter().collect();

    let server = servers::dav();
    let jobs = export(&single, group);
    let mut split = Results::new();
    for id in in_order(&jobs) {
        let job = &jobs[&id];
        let line = job["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["run"].as_str())
            .find(|r| r.starts_with("cargo flow run"))
            .expect("a cargo flow line")
            .to_string();
        let values: Vec<Option<String>> = match job["strategy"]["matrix"]["step"].as_array() {
            Some(steps) => steps.iter().map(|s| s.as_str().map(String::from)).collect(),
            None => vec![None],
        };
        for (n, value) in values.iter().enumerate() {
            let dir = repo.clone(&format!("{id}-{n}"));
            run_job(&dir, &line, value.as_deref(), &server.url, (&repo.ran, pr));
            results(&dir, &mut split);
        }
    }
    let split_ran = repo.ran();
    assert_eq!(split, expected, "the split gives what one run gives");
    if pr {
        assert!(
            server.files("ac").is_empty(),
            "a pull request stores nothing"
        );
        return;
    }
    // Every cached step ran once in all; only the step without `cache:` ran in several jobs.
    let cached = ["gen", "build", "test unit", "test doc", "lint", "package"];
    for step in cached {
        let times = split_ran.iter().filter(|r| *r == step).count();
        assert_eq!(times, 1, "{step} ran {times} times: {split_ran:?}");
    }
    let split_set: BTreeSet<String> = split_ran.into_iter().collect();
    assert_eq!(split_set, single_ran);
}

#[test]
fn the_jobs_split_one_per_step_keep_the_workflows_meaning() {
    simulate("none", false);
}

#[test]
fn the_jobs_grouped_by_chains_keep_the_workflows_meaning() {
    simulate("chains", false);
}

#[test]
fn a_pull_requests_jobs_run_what_they_need_and_store_nothing() {
    simulate("chains", true);
}

#[test]
fn jobs_need_what_their_steps_need_and_a_matrix_is_githubs_own() {
    let repo = Repo::new();
    let dir = repo.clone("a");
    let jobs = export(&dir, "none");
    let ids: Vec<&str> = jobs.keys().map(String::as_str).collect();
    // `toolchain` has no cache and others need it: it runs in their jobs.
    assert_eq!(
        ids,
        ["build", "gen", "lint", "package", "report", "test"],
        "{jobs:#?}"
    );
    let needs = |id: &str| -> Vec<String> {
        jobs[id]["needs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| n.as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(needs("gen"), Vec::<String>::new());
    assert_eq!(needs("build"), ["gen"]);
    assert_eq!(needs("report"), ["test", "lint", "package"]);
    assert_eq!(
        jobs["test"]["strategy"]["matrix"]["step"],
        serde_json::json!(["test:unit", "test:doc"])
    );
    assert_eq!(jobs["gen"]["timeout-minutes"], serde_json::json!(135));
    let chained = export(&dir, "chains");
    let names: Vec<&str> = chained
        .values()
        .map(|j| j["name"].as_str().unwrap_or_default())
        .collect();
    assert!(names.contains(&"gen → build"), "{names:?}");
}

#[test]
fn an_address_that_is_not_one_is_refused() {
    Flow::new()
        .workflow(&common::fixture("export/wf.yaml"))
        .args(["export", "github", "wf.yaml", "--remote-cache", "nope"])
        .refused(&["flow::bad-remote-cache"]);
}
