//! `params:`: a workflow's parameters, context variables with a declared type, a default and
//! help, set with `--param name=value` (or `-c`).
//!
//! ```yaml
//! params:
//!   profile: {one_of: [debug, release], default: debug, help: The build profile}
//!   jobs: {type: integer}          # required: no default
//!   verbose: {type: bool, default: false}
//!   target: x86_64-unknown-linux-gnu   # text, with this default
//! ```

use super::build::{Fields, string, wrong_type};
use super::model::{ContextEntry, Param, ParamKind};
use super::node::{Key, Node, Value};
use crate::diagnostic::{Problem, Problems};
use crate::source::{Source, Spanned};

const PARAM_KEYS: &[&str] = &["type", "one_of", "default", "help"];

/// The parameters of `params:`, each checked: its name, its type, its default against it, and
/// no name also under `context:`.
pub(crate) fn read(
    source: &Source,
    node: &Node,
    context: &[ContextEntry],
    problems: &mut Problems,
) -> Vec<Param> {
    let Some(entries) = node.as_map() else {
        problems.push(wrong_type(
            source,
            node,
            "`params`",
            "a map of parameter names to their settings",
        ));
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if let Some(problem) = bad_name(source, key, context) {
            problems.push(problem);
            continue;
        }
        if let Some(param) = param(source, key, value, problems) {
            out.push(param);
        }
    }
    out
}

/// Why `key` cannot name a parameter: not a variable name, reserved, or a context variable.
fn bad_name(source: &Source, key: &Key, context: &[ContextEntry]) -> Option<Problem> {
    let at = |message: String, label: &str, help: String| {
        Problem::at("flow::bad-param", message, source, key.span, label).with_help(help)
    };
    let name = &key.name;
    if !crate::plan::vars::is_valid_name(name) {
        return Some(at(
            format!("`{name}` is not a valid parameter name"),
            "invalid name",
            "use letters, digits, `_`, `.` and `-`, starting with a letter".into(),
        ));
    }
    if name == "args" || name.starts_with("steps.") {
        return Some(at(
            format!("`{name}` cannot be a parameter"),
            "reserved",
            "`args` holds the words after `--`, `steps.` what earlier steps wrote; choose another name".into(),
        ));
    }
    let twin = context.iter().find(|c| c.name.value == *name)?;
    Some(at(
        format!("`{name}` is both a parameter and a context variable"),
        "a parameter",
        format!(
            "a parameter is a context variable with a type: keep one of the two (`context.{name}` is at {})",
            source.location(twin.name.span)
        ),
    ))
}

/// One parameter: a scalar is a text parameter with that default, null a required text one,
/// a map says more.
fn param(source: &Source, key: &Key, node: &Node, problems: &mut Problems) -> Option<Param> {
    let name = Spanned::new(key.name.clone(), key.span);
    let Some(entries) = node.as_map() else {
        let default = match &node.value {
            Value::Null => None,
            _ => Some(string(
                source,
                node,
                &format!("`params.{}`", key.name),
                problems,
            )?),
        };
        return Some(Param {
            name,
            kind: ParamKind::String,
            default,
            help: None,
        });
    };
    let fields = Fields {
        source,
        entries,
        allowed: PARAM_KEYS,
        what: "parameter",
    };
    fields.check_unknown(problems);
    let kind = kind(source, &fields, problems)?;
    let help = fields
        .get("help")
        .and_then(|n| string(source, n, "`help`", problems))
        .map(|s| s.value);
    let default = fields
        .get("default")
        .and_then(|n| string(source, n, "`default`", problems));
    if let Some(d) = &default
        && !kind.accepts(&d.value)
    {
        problems.push(
            Problem::at(
                "flow::bad-param",
                format!("the default of `{}` is not {}", key.name, kind.describe()),
                source,
                d.span,
                "does not fit the type",
            )
            .with_help(format!("write {}", kind.describe())),
        );
        return None;
    }
    Some(Param {
        name,
        kind,
        default,
        help,
    })
}

/// `type: string | bool | integer`, or `one_of: [values]`.
fn kind(source: &Source, fields: &Fields<'_>, problems: &mut Problems) -> Option<ParamKind> {
    let declared = fields
        .get("type")
        .map(|n| (n, string(source, n, "`type`", problems)));
    let one_of = fields.get("one_of").map(|n| {
        let values: Vec<String> = match &n.value {
            Value::List(items) => items
                .iter()
                .filter_map(|i| string(source, i, "an entry of `one_of`", problems))
                .map(|s| s.value)
                .collect(),
            _ => Vec::new(),
        };
        (n, values)
    });
    match (declared, one_of) {
        (_, Some((n, values))) if values.is_empty() => {
            problems.push(wrong_type(
                source,
                n,
                "`one_of`",
                "a list of the values the parameter takes",
            ));
            None
        }
        (None, Some((_, values))) => Some(ParamKind::OneOf(values)),
        (Some((_, Some(t))), Some((_, values))) if t.value == "string" => {
            Some(ParamKind::OneOf(values))
        }
        (Some((_, Some(t))), None) => match t.value.as_str() {
            "string" => Some(ParamKind::String),
            "bool" => Some(ParamKind::Bool),
            "integer" => Some(ParamKind::Integer),
            other => {
                problems.push(
                    Problem::at("flow::bad-param", format!("unknown parameter type `{other}`"), source, t.span, "unknown type")
                        .with_help(crate::suggest::did_you_mean(other, ["string", "bool", "integer"]).unwrap_or_else(|| "the types are string, bool and integer; `one_of: [a, b]` for a choice".into())),
                );
                None
            }
        },
        (Some((n, Some(_))), Some(_)) => {
            problems.push(wrong_type(
                source,
                n,
                "`type` beside `one_of`",
                "`string` (or no `type`)",
            ));
            None
        }
        (Some((_, None)), _) => None,
        (None, None) => Some(ParamKind::String),
    }
}
