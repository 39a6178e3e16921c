//! `--report junit=PATH`, read back with an XML parser as a CI system would.

mod common;

use common::Flow;
use roxmltree::{Document, Node};

/// A workflow with a step of every kind of ending.
const WORKFLOW: &str = "name: ci
steps:
  - id: build
    run: echo compiled
  - id: flaky
    retry: 2
    run: c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; echo try $c; [ $c -ge 2 ]
  - id: test
    depends_on: [build]
    run: for i in $(seq 1 150); do echo line $i; done; printf 'bad \\033[31mred\\033[0m <&> \\001\\n'; exit 3
  - id: slow
    timeout: 200ms
    run: sleep 5
  - id: missing
    run: [definitely-not-a-program-xyz]
  - id: deploy
    depends_on: [test]
    run: echo never
  - id: nightly
    if: \"'a' == 'b'\"
    run: echo never
";

fn case<'a>(doc: &'a Document<'a>, name: &str) -> Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase `{name}`"))
}

fn child<'a>(node: Node<'a, 'a>, tag: &str) -> Option<Node<'a, 'a>> {
    node.children().find(|n| n.has_tag_name(tag))
}

#[test]
fn every_step_is_a_test_case_a_ci_system_can_read() {
    let ran = Flow::new()
        .workflow(WORKFLOW)
        .args(["run", "wf.yaml", "--grace", "100ms"])
        .args(["--report", "junit=junit.xml", "--report", "json=r.json"])
        .run()
        .code(1);
    let xml = ran.read("junit.xml");
    let doc = Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = child(root, "testsuite").expect("a suite");
    assert_eq!(suite.attribute("name"), Some("ci"));
    assert_eq!(suite.attribute("tests"), Some("7"));
    assert_eq!(suite.attribute("failures"), Some("2"), "{xml}");
    assert_eq!(suite.attribute("errors"), Some("1"));
    assert_eq!(suite.attribute("skipped"), Some("2"));

    let build = case(&doc, "build");
    assert_eq!(build.attribute("classname"), Some("ci"));
    assert!(build.attribute("time").is_some());
    assert!(child(build, "failure").is_none() && child(build, "skipped").is_none());

    // A step that passed on its second attempt keeps the first as a flaky failure.
    let flaky = case(&doc, "flaky");
    let first = child(flaky, "flakyFailure").expect("flaky failure");
    assert_eq!(first.attribute("message"), Some("exit 1"));

    let test = case(&doc, "test");
    let failure = child(test, "failure").expect("failure");
    assert_eq!(failure.attribute("message"), Some("exit 3"));
    assert_eq!(failure.attribute("type"), Some("exit code"));
    let text = failure.text().unwrap_or_default();
    assert!(text.contains("earlier lines in the log"), "{text}");
    assert!(text.contains("line 150\nbad red <&> \n"), "{text}");
    assert!(!text.contains("line 10\n"), "only the tail: {text}");

    let slow = child(case(&doc, "slow"), "failure").expect("timeout");
    assert_eq!(slow.attribute("type"), Some("timeout"));
    let missing = child(case(&doc, "missing"), "error").expect("error");
    assert!(
        missing
            .attribute("message")
            .is_some_and(|m| m.contains("definitely-not-a-program-xyz"))
    );
    let deploy = child(case(&doc, "deploy"), "skipped").expect("skipped");
    assert_eq!(deploy.attribute("message"), Some("test failed"));
    assert!(child(case(&doc, "nightly"), "skipped").is_some());
    // The JSON report asked for beside it is written too.
    assert_eq!(
        ran.json("r.json")["steps"].as_array().map(Vec::len),
        Some(7)
    );
}

#[test]
fn a_step_that_fails_every_attempt_lists_its_reruns() {
    let ran = Flow::new()
        .workflow("name: wf\nsteps:\n  - id: doomed\n    retry: 2\n    run: exit 4\n")
        .args(["run", "wf.yaml", "--report", "junit=j.xml"])
        .run()
        .code(1);
    let xml = ran.read("j.xml");
    let doc = Document::parse(&xml).expect("valid XML");
    let doomed = case(&doc, "doomed");
    assert!(child(doomed, "failure").is_some());
    let reruns: Vec<_> = doomed
        .children()
        .filter(|n| n.has_tag_name("rerunFailure"))
        .collect();
    assert_eq!(reruns.len(), 2, "{xml}");
}

#[test]
fn cached_steps_pass_and_say_so() {
    let tmp = common::tempdir_with(&[
        (
            "wf.yaml",
            "name: wf\nsteps:\n  - id: a\n    cache:\n      inputs: [in.txt]\n    run: 'true'\n",
        ),
        ("in.txt", "x"),
    ]);
    let run = || {
        Flow::at(tmp.path())
            .args(["run", "wf.yaml", "--report", "junit=j.xml"])
            .run()
            .success()
    };
    run();
    let xml = run().read("j.xml");
    let doc = Document::parse(&xml).expect("valid XML");
    let cached = case(&doc, "a")
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("cached"));
    assert_eq!(
        cached.and_then(|p| p.attribute("value")),
        Some("true"),
        "{xml}"
    );
}

#[test]
fn an_unknown_format_names_the_known_ones() {
    Flow::new()
        .workflow("name: wf\nsteps:\n  - id: a\n    run: 'true'\n")
        .args(["run", "wf.yaml", "--report", "xml=x.xml"])
        .refused(&["unknown report format `xml`", "json, junit"]);
}
