//! The JSON Schema of a workflow file, for editors (completion, hovers) and validators. It
//! takes every key from the lists the loader checks keys against, so that a key cannot be
//! added to one and not the other; tests check every shape against the loader besides.
//!
//! The schema accepts what the loader accepts, read as YAML reads it: where the loader takes a
//! plain scalar as text (`run: true`, `id: 1`, `run: 1.10`), the schema allows a string, a
//! number or a boolean. What it cannot express (unknown dependencies, cycles, variables) is
//! left to `cargo flow check`.

use serde_json::{Map, Value, json};

use super::build::{CACHE_KEYS, RETRY_KEYS, STEP_KEYS, WORKFLOW_KEYS};

/// Where the schema is published, as its `$id`.
const ID: &str = "https://raw.githubusercontent.com/cargo-flow/cargo-flow/main/flow.schema.json";

/// The schema of a `.flow.yaml`: one workflow (`steps:`), or several under `workflows:`.
pub(crate) fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": ID,
        "title": "cargo flow workflow file",
        "description": "A `.flow.yaml`: one workflow with `steps:`, or several under `workflows:`. The same workflow keys go under `[workspace.metadata.flow.<name>]` in Cargo.toml.",
        "oneOf": [
            {"$ref": "#/definitions/workflow"},
            {
                "type": "object",
                "description": "Several workflows, by name.",
                "properties": {
                    "workflows": {
                        "type": "object",
                        "propertyNames": {"$ref": "#/definitions/workflowName"},
                        "additionalProperties": {"$ref": "#/definitions/workflow"}
                    }
                },
                "required": ["workflows"],
                "additionalProperties": false
            }
        ],
        "definitions": definitions(),
    })
}

/// The shapes the keys refer to.
fn definitions() -> Value {
    json!({
        "scalar": {
            "description": "Text; a number or boolean is taken as written.",
            "type": ["string", "number", "boolean"]
        },
        "scalars": {
            "description": "One entry, or a list of them.",
            "anyOf": [
                {"$ref": "#/definitions/scalar"},
                {"type": "array", "items": {"$ref": "#/definitions/scalar"}},
                {"type": "null"}
            ]
        },
        "inputs": {
            "description": "Entries: a path or glob, or `{package: NAME}` for a member as cargo reads it; one, or a list.",
            "anyOf": [
                {"$ref": "#/definitions/input"},
                {"type": "array", "items": {"$ref": "#/definitions/input"}},
                {"type": "null"}
            ]
        },
        "input": {
            "anyOf": [
                {"$ref": "#/definitions/scalar"},
                {
                    "type": "object",
                    "properties": {"package": {"$ref": "#/definitions/scalar"}},
                    "required": ["package"],
                    "additionalProperties": false
                }
            ]
        },
        "workflowName": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
        },
        "duration": {
            "description": "A number with a unit: `500ms`, `90s`, `5m`, `1h30m`, `1d`.",
            "type": "string",
            "pattern": "^([0-9.]+(ms|s|secs?|m|mins?|h|hrs?|d))+$"
        },
        "timeout": timeout(),
        "envFiles": env_files(),
        "variables": {
            "description": "Environment variables: names to values.",
            "type": "object",
            "propertyNames": {"pattern": "^[^=]+$"},
            "additionalProperties": {"$ref": "#/definitions/scalar"}
        },
        "shell": {
            "description": "The shell that runs a `run` string, with its options: `bash --posix` or `[bash, --posix]`; the command follows as `-c <command>`. Default `/bin/sh`.",
            "anyOf": [
                {"type": "string", "pattern": "\\S"},
                {"type": ["number", "boolean"]},
                {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/scalar"}}
            ]
        },
        "retry": retry(),
        "workflow": object("A workflow: its steps and what they share.", WORKFLOW_KEYS, workflow_key, &["steps"]),
        "step": object("A step: an `id` and the command it runs.", STEP_KEYS, step_key, &["id", "run"]),
    })
}

/// A timeout: a duration, `none`, or `{quiet, limit}`.
fn timeout() -> Value {
    json!({
        "description": "How long a step may run before it is stopped: `90s`, `5m`, `1h30m`; `none` for no limit; or `{quiet: 10m, limit: 2h}`: stopped after `quiet` with no output and no CPU time, or after `limit`. Without one, `{quiet: 5m, limit: 1h}`.",
        "anyOf": [
            {
                "type": "string",
                "pattern": "^\\s*([Nn][Oo][Nn][Ee]|([0-9.]+(ms|s|secs?|m|mins?|h|hrs?|d))+)\\s*$"
            },
            {
                "type": "object",
                "properties": {
                    "quiet": {"$ref": "#/definitions/duration"},
                    "limit": {"$ref": "#/definitions/duration"}
                },
                "additionalProperties": false
            }
        ]
    })
}

/// `env_file:`: a path, or a list of paths and `{path, optional}` maps.
fn env_files() -> Value {
    json!({
        "description": "A dotenv file (`NAME=value` a line), or a list of them; paths relative to the workflow's folder. A missing file is an error unless `{path: .env.local, optional: true}`.",
        "anyOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "optional": {"type": "boolean"}
                            },
                            "required": ["path"],
                            "additionalProperties": false
                        }
                    ]
                }
            }
        ]
    })
}

/// `params:`: each parameter a default, or its settings.
fn params() -> Value {
    json!({
        "description": "Parameters: context variables with a type, a default and help, set with `--param name=value`. A text is a text parameter with that default; null, one that must be given.",
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                {"$ref": "#/definitions/scalar"},
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["string", "bool", "integer"]},
                        "one_of": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/scalar"}},
                        "default": {"$ref": "#/definitions/scalar"},
                        "help": {"type": "string"}
                    },
                    "additionalProperties": false
                }
            ]
        }
    })
}

/// An object with exactly `keys`, each described by `property`.
fn object(
    description: &str,
    keys: &[&str],
    property: fn(&str) -> Value,
    required: &[&str],
) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|key| (key.to_string(), property(key)))
        .collect();
    json!({
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

/// The schema of a workflow's key.
fn workflow_key(key: &str) -> Value {
    match key {
        "name" => json!({
            "description": "The workflow's name, for a file run by its path (default: the file name; left empty, too).",
            "anyOf": [
                {"$ref": "#/definitions/workflowName"},
                {"type": "string", "pattern": "^\\s*$"},
                {"type": ["number", "boolean"]}
            ]
        }),
        "description" => described("What the workflow is for, shown by `cargo flow list`."),
        "context" => json!({
            "description": "Context variables' defaults, read as `${name}`; `--context name=value` overrides them.",
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"$ref": "#/definitions/scalar"},
                    {"type": "array", "items": {"$ref": "#/definitions/scalar"}}
                ]
            }
        }),
        "params" => params(),
        "env" => with_ref("Environment variables for every step.", "variables"),
        "env_file" => with_ref(
            "Dotenv files whose variables every step gets, under the workflow's `env`.",
            "envFiles",
        ),
        "timeout" => with_ref("The timeout of every step that sets none.", "timeout"),
        "retry" => with_ref("Retries for every step that sets none.", "retry"),
        "shell" => with_ref("The shell of every step that sets none.", "shell"),
        "remote_cache" => json!({
            "description": "The remote cache that shares cached steps' results between machines: a server of the Bazel HTTP cache protocol (bazel-remote, nginx with WebDAV, ...). `--remote-cache` and `CARGO_FLOW_REMOTE_CACHE` override it.",
            "type": "string",
            "pattern": "^https?://[^/\\s]\\S*$"
        }),
        "steps" => json!({
            "description": "The steps, run in parallel as their `depends_on` allow.",
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/definitions/step"}
        }),
        _ => json!({}),
    }
}

/// The schema of a step's key.
fn step_key(key: &str) -> Value {
    match key {
        "id" => json!({
            "description": "The step's unique id: letters, digits, `_`, `.` and `-`.",
            "anyOf": [
                {"type": "string", "pattern": "^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$"},
                {"type": ["number", "boolean"]}
            ]
        }),
        "run" => json!({
            "description": "A shell command, or a list: a program and its arguments, run without a shell. `${name}` reads a context variable.",
            "anyOf": [
                {"type": "string", "pattern": "\\S"},
                {"type": ["number", "boolean"]},
                {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/scalar"}}
            ]
        }),
        "depends_on" => with_ref(
            "The steps that must succeed before this one starts: an id or a list of ids. Their results key a cached step.",
            "scalars",
        ),
        "after" => with_ref(
            "Steps that must succeed before this one starts, for order only: their results do not key a cached step.",
            "scalars",
        ),
        "timeout" => with_ref("How long the step may run before it is stopped.", "timeout"),
        "env" => with_ref("Environment variables for this step.", "variables"),
        "env_file" => with_ref(
            "Dotenv files whose variables the step gets, over the workflow's `env` and under its own.",
            "envFiles",
        ),
        "cwd" => described("The folder the step runs in, relative to the workflow's folder."),
        "description" => described("What the step does."),
        "for_each" => for_each(),
        "retry" => with_ref("How many more times a failing step is tried.", "retry"),
        "if" => described(
            "A condition: the step runs only when it holds, e.g. `env == 'prod'`, `always()`, `failure()`.",
        ),
        "artifacts" => with_ref(
            "Files or globs the step produces, copied to target/flow/artifacts/<workflow>/<step>.",
            "scalars",
        ),
        "cache" => object(
            "Skip the step when its inputs, command and environment are as at its last success.",
            CACHE_KEYS,
            cache_key,
            &[],
        ),
        "shell" => with_ref("The shell that runs this step's `run` string.", "shell"),
        "matrix" => json!({
            "description": "One instance of the step per combination: `{key: [values]}`, with `include` and `exclude` lists of `{key: value}` maps, as in GitHub Actions; `${matrix.<key>}` reads a value.",
            "type": "object"
        }),
        "exclusive" => with_ref(
            "Names of groups: steps sharing one never run at once (a fixed port, one device).",
            "scalars",
        ),
        "jobserver" => json!({
            "description": "Whether the step gets the run's jobserver (MAKEFLAGS, CARGO_MAKEFLAGS); true unless false.",
            "type": "boolean"
        }),
        _ => json!({}),
    }
}

/// The schema of a key of `cache:`.
fn cache_key(key: &str) -> Value {
    let description = match key {
        "inputs" => {
            return with_ref(
                "Files or globs whose contents key the cache, or `{package: NAME}`: a member's files, those of the members it depends on by path, and its dependencies' entries in Cargo.lock.",
                "inputs",
            );
        }
        "outputs" => "Files or globs the step writes, restored or checked on a cache hit.",
        "env" => "Environment variables whose values key the cache.",
        _ => "",
    };
    with_ref(description, "scalars")
}

/// `retry: 3`, or its long form.
fn retry() -> Value {
    let count = json!({"type": "integer", "minimum": 0, "maximum": 100});
    let property = |key: &str| match key {
        "attempts" => json!({"description": "How many more times to try.", "allOf": [count]}),
        "delay" => with_ref(
            "The wait before the first retry (default none).",
            "duration",
        ),
        "backoff" => {
            json!({"description": "`exponential` doubles the wait after each retry.", "enum": ["fixed", "exponential"]})
        }
        "max_delay" => with_ref("The longest wait between retries.", "duration"),
        "jitter" => {
            json!({"description": "Randomise each wait.", "enum": [true, false, "true", "false"]})
        }
        _ => json!({}),
    };
    let properties: Map<String, Value> = RETRY_KEYS
        .iter()
        .map(|key| (key.to_string(), property(key)))
        .collect();
    json!({
        "description": "How many more times a failing step is tried: a number, or `{attempts, delay, backoff, max_delay, jitter}`.",
        "anyOf": [
            count,
            {
                "type": "object",
                "properties": properties,
                "required": ["attempts"],
                "additionalProperties": false
            }
        ]
    })
}

/// `for_each: package`, or one filtered by names or a glob.
fn for_each() -> Value {
    json!({
        "description": "Run the step once for each workspace member (`package`), or for some: `{package: [a, b]}`, `{package: \"flow-*\"}`.",
        "anyOf": [
            {"const": "package"},
            {
                "type": "object",
                "properties": {
                    "package": {
                        "anyOf": [
                            {"$ref": "#/definitions/scalar"},
                            {"type": "array", "items": {"$ref": "#/definitions/scalar"}}
                        ]
                    }
                },
                "additionalProperties": false
            }
        ]
    })
}

/// A text described for hovers.
fn described(description: &str) -> Value {
    with_ref(description, "scalar")
}

/// A shape from the definitions, described for hovers.
fn with_ref(description: &str, definition: &str) -> Value {
    json!({"description": description, "allOf": [{"$ref": format!("#/definitions/{definition}")}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = v["properties"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    fn sorted(keys: &[&'static str]) -> Vec<&'static str> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn every_key_the_loader_knows_has_a_description() {
        let s = schema();
        let defs = &s["definitions"];
        assert_eq!(keys(&defs["workflow"]), sorted(WORKFLOW_KEYS));
        assert_eq!(keys(&defs["step"]), sorted(STEP_KEYS));
        assert_eq!(
            keys(&defs["step"]["properties"]["cache"]),
            sorted(CACHE_KEYS)
        );
        assert_eq!(keys(&defs["retry"]["anyOf"][1]), sorted(RETRY_KEYS));
        for def in ["workflow", "step"] {
            for (key, property) in defs[def]["properties"].as_object().into_iter().flatten() {
                assert!(
                    property["description"].is_string(),
                    "{def}.{key} has no description"
                );
            }
        }
    }
}
