//! The JSON Schema of workflow files agrees with the loader: the committed file is what
//! `cargo flow schema` prints, every valid workflow validates against it with a real
//! validator, and on generated workflows every shape the loader refuses the schema refuses
//! too, while everything the loader accepts the schema accepts.

mod common;

use std::path::Path;

use common::{Flow, root};
use proptest::prelude::*;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("flow.schema.json")).expect("flow.schema.json"),
    )
    .expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid schema")
}

/// A YAML text as a validator receives it: `run: true` is a boolean, `run: 1.10` a number.
fn as_json(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    validator
        .iter_errors(&as_json(yaml))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_cargo_flow_prints() {
    let printed = Flow::at(root()).arg("schema").run().success();
    let committed = std::fs::read_to_string(root().join("flow.schema.json")).expect("committed");
    assert!(
        printed.stdout() == committed,
        "flow.schema.json is out of date: run `cargo run -- flow schema > flow.schema.json`"
    );
}

/// The workflows in the README's YAML examples, each a whole file.
fn readme_workflows() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let mut blocks = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for line in readme.lines() {
        let indent = line.len() - line.trim_start().len();
        match &mut block {
            None if line.trim_start() == "```yaml" => block = Some((indent, String::new())),
            Some(_) if line.trim_start() == "```" => blocks.extend(block.take().map(|b| b.1)),
            Some((indent, text)) => {
                text.push_str(line.get(*indent..).unwrap_or(""));
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
        .into_iter()
        .filter(|text| {
            let first = text.lines().find(|l| !l.starts_with('#')).unwrap_or("");
            ["name:", "steps:", "workflows:"]
                .iter()
                .any(|k| first.starts_with(k))
        })
        .collect()
}

#[test]
fn every_valid_workflow_validates() {
    let validator = validator();
    let mut files: Vec<(String, String)> = Vec::new();
    for dir in ["fixtures/valid", "fixtures/seed"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("fixtures") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("fixture");
            files.push((path.display().to_string(), text));
        }
    }
    let readme = readme_workflows();
    assert!(readme.len() >= 2, "the README shows whole workflows");
    for (name, text) in &files {
        let problems = errors(&validator, text);
        assert!(problems.is_empty(), "{name}: {problems:#?}\n{text}");
        let parsed = cargo_flow::parse(Path::new("wf.yaml"), text);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
    }
    // The README's examples may need `--context`; their shapes are what counts.
    let readme = readme_workflows();
    assert!(readme.len() >= 8, "the README shows whole workflows");
    for text in &readme {
        let problems = errors(&validator, text);
        assert!(problems.is_empty(), "README: {problems:#?}\n{text}");
        if !text.contains("workflows:") {
            let parsed = cargo_flow::parse(Path::new("wf.yaml"), text);
            assert!(parsed.is_ok(), "README: {:?}\n{text}", parsed.err());
        }
    }
}

#[test]
fn shapes_the_loader_refuses_the_schema_refuses() {
    let validator = validator();
    for name in [
        "context-wrong-type",
        "cwd-wrong-type",
        "depends-on-wrong-type",
        "description-wrong-type",
        "id-wrong-type",
        "invalid-id",
        "missing-id",
        "missing-run",
        "missing-steps",
        "not-a-map",
        "run-empty",
        "steps-empty",
        "steps-not-list",
        "timeout-invalid",
        "env-invalid",
        "unknown-key",
        "unknown-workflow-key",
        "wrong-type",
    ] {
        let path = root().join(format!("fixtures/invalid/{name}.yaml"));
        let text = std::fs::read_to_string(&path).expect("fixture");
        assert!(
            !errors(&validator, &text).is_empty(),
            "{name}.yaml is refused by cargo flow but not by the schema"
        );
        Flow::at(root()).args(["check"]).arg(&path).run().code(2);
    }
}

/// Values for each key: those the loader takes, and those it refuses for their shape (a
/// refusal for another reason, such as an invalid glob, is not a shape and is left out).
struct Pool {
    key: &'static str,
    good: &'static [&'static str],
    bad: &'static [&'static str],
}

const TIMEOUTS: (&[&str], &[&str]) = (
    &["90s", "5m", "none", "NONE", "1h30m", "500ms", "' 2m '"],
    &["90", "5x", "[5m]", "~", "true", "{a: 1}"],
);
const ENVS: (&[&str], &[&str]) = (
    &["{A: '1'}", "{A: 1, B: true}", "{}"],
    &["[A]", "{A: [1]}", "{A: ~}", "{'A=B': x}", "x", "~"],
);
const RETRIES: (&[&str], &[&str]) = (
    &[
        "0",
        "3",
        "100",
        "{attempts: 2}",
        "{attempts: 1, delay: 2s, backoff: exponential, max_delay: 30s, jitter: true}",
        "{attempts: 1, jitter: 'false', backoff: fixed}",
    ],
    &[
        "101",
        "-1",
        "'3'",
        "{delay: 2s}",
        "{attempts: 1, delay: 2}",
        "{attempts: 1, backoff: linear}",
        "{attempts: 1, jitter: maybe}",
        "{attempts: 1, extra: 1}",
        "~",
        "3.5",
    ],
);
const SHELLS: (&[&str], &[&str]) = (
    &["bash", "bash --posix", "[bash, --posix]", "1"],
    &["[]", "{a: 1}", "~", "''"],
);

const STEP_POOLS: &[Pool] = &[
    Pool {
        key: "depends_on",
        good: &["~", "[]", "s9", "[s9]"],
        bad: &["{a: 1}", "[[a]]"],
    },
    Pool {
        key: "timeout",
        good: TIMEOUTS.0,
        bad: TIMEOUTS.1,
    },
    Pool {
        key: "env",
        good: ENVS.0,
        bad: ENVS.1,
    },
    Pool {
        key: "cwd",
        good: &["sub", "1"],
        bad: &["[a]", "{a: 1}", "~"],
    },
    Pool {
        key: "description",
        good: &["hi", "2"],
        bad: &["[a]", "~"],
    },
    Pool {
        key: "for_each",
        good: &["package", "{package: [a, b]}", "{package: 'flow-*'}"],
        bad: &["packages", "[package]", "{crate: a}", "~"],
    },
    Pool {
        key: "retry",
        good: RETRIES.0,
        bad: RETRIES.1,
    },
    Pool {
        key: "if",
        good: &["'always()'", "\"env == 'x'\""],
        bad: &["[a]", "{a: 1}"],
    },
    Pool {
        key: "artifacts",
        good: &["out/app", "[a, 'b/**']", "~"],
        bad: &["{a: 1}", "[[a]]"],
    },
    Pool {
        key: "cache",
        good: &[
            "{}",
            "{inputs: ['src/**']}",
            "{inputs: a, outputs: [b], env: [X]}",
            "{env: ~}",
        ],
        bad: &[
            "[a]",
            "{input: [a]}",
            "~",
            "{inputs: {a: 1}}",
            "{env: {A: 1}}",
        ],
    },
    Pool {
        key: "shell",
        good: SHELLS.0,
        bad: SHELLS.1,
    },
    Pool {
        key: "depends-on",
        good: &[],
        bad: &["x"],
    },
];

const WORKFLOW_POOLS: &[Pool] = &[
    Pool {
        key: "name",
        good: &["wf", "a.b", "'7'", "''"],
        bad: &["[a]", "'.hidden'", "'a b'", "{a: 1}"],
    },
    Pool {
        key: "description",
        good: &["about"],
        bad: &["[a]"],
    },
    Pool {
        key: "context",
        good: &["{a: x}", "{a: [x, y]}", "{a: 1}", "{}"],
        bad: &["{a: ~}", "{a: {b: c}}", "[a]"],
    },
    Pool {
        key: "env",
        good: ENVS.0,
        bad: ENVS.1,
    },
    Pool {
        key: "timeout",
        good: TIMEOUTS.0,
        bad: TIMEOUTS.1,
    },
    Pool {
        key: "retry",
        good: RETRIES.0,
        bad: RETRIES.1,
    },
    Pool {
        key: "shell",
        good: SHELLS.0,
        bad: SHELLS.1,
    },
    Pool {
        key: "stpes",
        good: &[],
        bad: &["[]"],
    },
];

const IDS: (&[&str], &[&str]) = (
    &["build", "a.b-c_1", "1", "true", "'x'"],
    &["'a b'", "'..'", "[a]", "{a: 1}", "~", "''"],
);
const RUNS: (&[&str], &[&str]) = (
    &[
        "echo hi",
        "true",
        "1.10",
        "[cargo, test]",
        "'x'",
        "[a, 1, true]",
    ],
    &["''", "'  '", "[]", "{a: 1}", "~", "[[a]]", "[a, ~]"],
);

/// One key's value: `Some((snippet, bad))`, or nothing when the key is left out.
fn value(pool: &'static Pool) -> impl Strategy<Value = Option<(&'static str, bool)>> {
    let good = pool.good.iter().map(|s| (*s, false));
    let bad = pool.bad.iter().map(|s| (*s, true));
    let all: Vec<(&'static str, bool)> = good.chain(bad).collect();
    prop_oneof![
        3 => Just(None),
        1 => proptest::sample::select(all).prop_map(Some),
    ]
}

fn entries(
    pools: &'static [Pool],
) -> impl Strategy<Value = Vec<(&'static str, &'static str, bool)>> {
    pools
        .iter()
        .map(|pool| value(pool).prop_map(move |v| v.map(|(s, bad)| (pool.key, s, bad))))
        .collect::<Vec<_>>()
        .prop_map(|vs| vs.into_iter().flatten().collect())
}

/// A required key: its value, or left out (which is a bad shape).
fn required(
    values: (&'static [&'static str], &'static [&'static str]),
) -> impl Strategy<Value = Option<(&'static str, bool)>> {
    let all: Vec<(&'static str, bool)> = values
        .0
        .iter()
        .map(|s| (*s, false))
        .chain(values.1.iter().map(|s| (*s, true)))
        .collect();
    prop_oneof![
        8 => proptest::sample::select(values.0.to_vec()).prop_map(|s| Some((s, false))),
        2 => proptest::sample::select(all).prop_map(Some),
        1 => Just(None),
    ]
}

/// A generated workflow file and whether it has a shape the loader refuses.
fn workflow() -> impl Strategy<Value = (String, bool)> {
    (
        entries(WORKFLOW_POOLS),
        required(IDS),
        required(RUNS),
        entries(STEP_POOLS),
        0..3usize,
    )
        .prop_map(|(top, id, run, step, more)| {
            let mut bad = id.is_none_or(|v| v.1) || run.is_none_or(|v| v.1);
            let mut text = String::new();
            for (key, v, b) in &top {
                text.push_str(&format!("{key}: {v}\n"));
                bad |= b;
            }
            text.push_str("steps:\n  - ");
            let mut lines = Vec::new();
            if let Some((v, _)) = id {
                lines.push(format!("id: {v}"));
            }
            if let Some((v, _)) = run {
                lines.push(format!("run: {v}"));
            }
            for (key, v, b) in &step {
                lines.push(format!("{key}: {v}"));
                bad |= b;
            }
            if lines.is_empty() {
                lines.push("{}".into());
            }
            text.push_str(&lines.join("\n    "));
            text.push('\n');
            for i in 0..more {
                text.push_str(&format!("  - id: s{i}\n    run: echo {i}\n"));
            }
            (text, bad)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn the_schema_and_the_loader_agree_on_shapes((text, bad) in workflow()) {
        thread_local! {
            static VALIDATOR: jsonschema::Validator = validator();
        }
        let loaded = cargo_flow::parse(Path::new("wf.yaml"), &text);
        let schema_errors = VALIDATOR.with(|v| errors(v, &text));
        if bad {
            prop_assert!(loaded.is_err(), "the loader took a bad shape:\n{text}");
            prop_assert!(!schema_errors.is_empty(), "the schema took a shape the loader refuses:\n{text}");
        } else {
            prop_assert!(loaded.is_ok(), "the loader refused:\n{text}\n{:?}", loaded.err());
            prop_assert!(schema_errors.is_empty(), "the schema refused what the loader takes:\n{text}\n{schema_errors:#?}");
        }
    }
}
