//! `--report html=PATH`: one self-contained page; the timeline data it holds (lanes, when each
//! step was ready, started and ended, its waits, the critical path) read back from it.

mod common;

use common::Flow;

const WORKFLOW: &str = r#"name: ci
steps:
  - id: first
    run: sleep 0.3
  - id: locked
    run: |
      echo '    Blocking waiting for file lock on build directory' >&2
      sleep 1
      echo '   Compiling app v0.1.0' >&2
  - id: then
    depends_on: first
    run: sleep 1.2
  - id: fails
    depends_on: then
    run: exit 3
  - id: never
    depends_on: fails
    run: 'true'
  - id: kept
    cache: {inputs: [in]}
    run: 'true'
"#;

/// The timeline data embedded in the page.
fn data(page: &str) -> serde_json::Value {
    let start = page
        .find(r#"<script type="application/json" id="flow-timeline">"#)
        .map(|i| i + r#"<script type="application/json" id="flow-timeline">"#.len())
        .expect("the page holds its data");
    let end = start + page[start..].find("</script>").expect("the data ends");
    serde_json::from_str(&page[start..end]).expect("JSON")
}

#[test]
fn the_page_holds_each_steps_lane_times_waits_and_the_critical_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    common::write_files(tmp.path(), &[(".flow.yaml", WORKFLOW), ("in", "1")]);
    Flow::at(tmp.path()).args(["ci", "-j", "2"]).run().code(1);
    Flow::at(tmp.path())
        .args(["ci", "-j", "2", "--report", "html=t.html"])
        .run()
        .code(1);
    let page = std::fs::read_to_string(tmp.path().join("t.html")).expect("the page");
    assert!(page.starts_with("<!doctype html>"));
    for outside in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !page.contains(outside),
            "the page reaches outside: {outside}"
        );
    }
    let t = data(&page);
    assert_eq!(t["workflow"], "ci");
    assert_eq!(t["status"], "failed");
    assert_eq!(t["parallel"], 2);
    let step = |id: &str| {
        t["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    let ms = |v: &serde_json::Value| v.as_u64().unwrap_or(u64::MAX);
    let (first, then, locked) = (step("first"), step("then"), step("locked"));
    assert_eq!(
        ms(&then["ready_ms"]),
        ms(&first["end_ms"]),
        "ready when `first` ended"
    );
    assert!(ms(&then["start_ms"]) >= ms(&then["ready_ms"]));
    let lanes: Vec<u64> = ["first", "locked"]
        .iter()
        .map(|i| ms(&step(i)["lane"]))
        .collect();
    assert!(
        lanes.iter().all(|&l| l < 2) && lanes[0] != lanes[1],
        "{lanes:?}"
    );
    let waits = locked["cargo_lock_waits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(waits.len(), 1, "{locked}");
    let waited = ms(&waits[0][1]) - ms(&waits[0][0]);
    assert!((800..1500).contains(&waited), "{locked}");
    assert_eq!(step("fails")["status"], "failed");
    assert_eq!(step("fails")["note"], "exit 3");
    assert_eq!(step("never")["status"], "skipped");
    assert!(step("never")["lane"].is_null());
    assert_eq!(step("kept")["status"], "cached");
    assert_eq!(
        t["critical_path"],
        serde_json::json!(["first", "then", "fails"])
    );
    assert_eq!(then["on_critical_path"], true);
    assert!(page.contains(r#"class="bar failed critical""#));
}

#[test]
fn a_step_that_waited_for_a_slot_says_how_long() {
    let ran = Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: sleep 0.4\n  - id: b\n    run: sleep 0.1\n",
        )
        .args(["ci", "-j", "1", "--report", "html=t.html"])
        .run()
        .success();
    let t = data(&std::fs::read_to_string(ran.dir().join("t.html")).expect("page"));
    let waited: Vec<u64> = t["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["waited_for_slot_ms"].as_u64().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        waited.iter().any(|&w| w >= 350),
        "one waited for the other: {waited:?}"
    );
    assert_eq!(t["steps"][0]["lane"], t["steps"][1]["lane"], "one lane");
}

#[test]
fn a_link_that_leads_nowhere_yet_is_written_through() {
    let ran = Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: 'true'\n",
        )
        .after_shell("mkdir out && ln -s out/real.html link.html && ln -s nowhere/x.html bad.html")
        .args(["ci", "--report", "html=link.html"])
        .run()
        .success();
    let page = std::fs::read_to_string(ran.dir().join("out/real.html")).unwrap_or_default();
    assert!(page.contains("flow-timeline"), "{page}");
    Flow::at(ran.dir())
        .args(["ci", "--report", "html=bad.html"])
        .run()
        .code(2)
        .stderr_has(&["the folder `nowhere` does not exist"]);
}

#[test]
fn a_report_that_fails_after_the_steps_says_so() {
    Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: a\n    run: rm -r out\n",
        )
        .after_shell("mkdir out")
        .args(["ci", "--report", "html=out/r.html"])
        .run()
        .code(2)
        .stderr_has(&[
            "1 succeeded",
            "cannot write the report `out/r.html`",
            "(after every step had ended)",
        ]);
}
