//! Substituting `${name}` in a step's command, environment and working directory, with
//! errors that point at the reference.

use std::cell::RefCell;
use std::collections::HashMap;

use super::shell;
use super::vars::{self, Piece, Vars};
use crate::diagnostic::{Problem, Problems};
use crate::load::model::{ContextValue, Step};
use crate::source::{Source, Span};
use crate::suggest::did_you_mean;

/// How a value is written into the text around it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// Inside a shell command: each value is one word, a list several.
    Shell,
    /// In `env` and `cwd`: the text as it is.
    Plain,
}

/// Where a text was written, for diagnostics.
pub struct At<'a> {
    /// The file.
    pub source: &'a Source,
    /// The step the text belongs to.
    pub step: &'a str,
    /// The span of the whole value.
    pub span: Span,
    /// The earlier steps the text may refer to (`${steps.<id>...}`), when it refers to any.
    pub scope: Option<&'a OutputScope<'a>>,
    /// Whether step outputs may be read here: only in a shell `run`, which gets them through
    /// environment variables.
    pub outputs_allowed: bool,
}

/// The steps whose outputs and artifacts a step may use: those it depends on, directly or
/// not.
pub struct OutputScope<'a> {
    /// The folder that holds each step's artifacts in a subfolder named for its id.
    pub artifacts: &'a std::path::Path,
    /// Declared step ids and their indices.
    pub ids: &'a HashMap<&'a str, usize>,
    /// The declared steps.
    pub steps: &'a [Step],
    /// `ancestors[d]`: whether the step depends on step `d`, directly or not.
    pub ancestors: Vec<bool>,
    /// The outputs used so far: (declared step, key).
    pub used: RefCell<Vec<(usize, String)>>,
}

/// The environment variable through which a step reads another's output.
pub fn output_env(step: &str, key: &str) -> String {
    vars::env_name_with("FLOW_OUTPUT_", &format!("{step}_{key}"))
}

/// `${steps.<id>.outputs.<key>}`, written so that the shell expands it from the environment
/// variable holding the value (the value is never read as shell syntax), or
/// `${steps.<id>.artifacts}`, the folder its artifacts are copied to.
fn step_ref(
    name: &str,
    r: &vars::Reference,
    quote: Quote,
    context: shell::Context,
    text: &str,
    at: &At<'_>,
) -> Result<String, Problem> {
    let problem = |message: String, help: &str| {
        Problem::at(
            "flow::bad-output",
            format!("step `{}`: {message}", at.step),
            at.source,
            sub_span(at, text, r.start, r.len),
            "here",
        )
        .with_help(help.to_string())
    };
    let rest = name.strip_prefix("steps.").unwrap_or(name);
    let (id, key) = match (
        rest.rsplit_once(".outputs."),
        rest.strip_suffix(".artifacts"),
    ) {
        (Some((id, key)), _) => (id, Some(key)),
        (None, Some(id)) => (id, None),
        (None, None) => {
            return Err(problem(
                format!("`{name}` is not a step output or artifact folder"),
                "write `${steps.<id>.outputs.<key>}` or `${steps.<id>.artifacts}`",
            ));
        }
    };
    let scope = match at.scope {
        Some(scope) if at.outputs_allowed || key.is_none() => scope,
        _ => {
            return Err(problem(
                format!("`{name}` is used outside a shell `run`"),
                "outputs can be read in a shell `run` (`run: deploy \"${steps.build.outputs.version}\"`); pass them on from there",
            ));
        }
    };
    let Some(&d) = scope.ids.get(id) else {
        let help = did_you_mean(id, scope.ids.keys().copied())
            .unwrap_or_else(|| "name a step of this workflow".into());
        return Err(problem(
            format!("`{id}` is not a step of this workflow"),
            &help,
        ));
    };
    if !scope.ancestors.get(d).copied().unwrap_or(false) {
        let what = if key.is_some() {
            "outputs"
        } else {
            "artifacts"
        };
        return Err(problem(
            format!(
                "`{id}` is not a step that `{}` depends on, so its {what} are not known when it starts",
                at.step
            ),
            &format!("add `{id}` to `depends_on`"),
        ));
    }
    if scope.steps[d].for_each.is_some() {
        return Err(problem(
            format!("`{id}` runs once per package; its outputs cannot be read yet"),
            "read outputs and artifacts of steps that run once",
        ));
    }
    let Some(key) = key else {
        if scope.steps[d].artifacts.is_empty() {
            return Err(problem(
                format!("`{id}` declares no `artifacts`"),
                &format!("list the files `{id}` keeps under its `artifacts:`"),
            ));
        }
        let folder = ContextValue::One(scope.artifacts.join(id).display().to_string());
        return Ok(match quote {
            Quote::Shell if !r.raw => shell::write(&folder, context),
            _ => vars::plain_text_of(&folder),
        });
    };
    if r.raw || key.is_empty() {
        return Err(problem(
            format!("`{}` cannot be used here", &text[r.start..r.start + r.len]),
            "write `${steps.<id>.outputs.<key>}`",
        ));
    }
    scope.used.borrow_mut().push((d, key.to_string()));
    let var = output_env(id, key);
    Ok(match context {
        shell::Context::Unquoted => format!("\"${{{var}}}\""),
        shell::Context::Double | shell::Context::Heredoc { expand: true } => format!("${{{var}}}"),
        shell::Context::Single => format!("'\"${{{var}}}\"'"),
        shell::Context::Heredoc { expand: false } => {
            return Err(problem(
                format!("`{name}` is inside a here-document that expands nothing (`<<'EOF'`)"),
                "write the delimiter unquoted (`<<EOF`) so that the output is expanded",
            ));
        }
    })
}

/// Substitutes `${name}` in a text. Names that no source defines are left for the shell when
/// the environment has them, else are an error pointing at the reference.
pub fn resolve(
    vars: &Vars,
    text: &str,
    quote: Quote,
    at: &At<'_>,
    problems: &mut Problems,
) -> Option<String> {
    if !text.contains("${") {
        return Some(text.to_string());
    }
    let pieces = match vars::split(text) {
        Ok(p) => p,
        Err(bad) => {
            problems.push(
                Problem::at(
                    "flow::bad-variable",
                    format!("step `{}`: {}", at.step, bad.message),
                    at.source,
                    sub_span(at, text, bad.start, bad.len),
                    "here",
                )
                .with_help("write `${name}` for a variable, or `$${` for a literal `${`"),
            );
            return None;
        }
    };
    // Where each reference stands in the shell's quoting decides how its value is written.
    let contexts = match quote {
        Quote::Shell => {
            let starts: Vec<usize> = pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Ref(r) => Some(r.start),
                    Piece::Literal(_) => None,
                })
                .collect();
            shell::contexts(text, &starts)
        }
        Quote::Plain => Vec::new(),
    };
    let mut contexts = contexts.into_iter();
    let mut out = String::with_capacity(text.len());
    let mut ok = true;
    for piece in pieces {
        let context = match &piece {
            Piece::Ref(_) => contexts.next().unwrap_or(shell::Context::Unquoted),
            Piece::Literal(_) => shell::Context::Unquoted,
        };
        match piece {
            Piece::Literal(s) => out.push_str(&s),
            Piece::Ref(r)
                if quote == Quote::Shell
                    && !r.raw
                    && escaped(text, r.start)
                    && (vars.get(&r.name).is_some() || r.name.starts_with("steps.")) =>
            {
                // `\${x}`: the backslash would escape the value's first character.
                ok = false;
                problems.push(
                    Problem::at(
                        "flow::bad-variable",
                        format!(
                            "step `{}`: a backslash stands right before `{}`",
                            at.step,
                            &text[r.start..r.start + r.len]
                        ),
                        at.source,
                        sub_span(at, text, r.start.saturating_sub(1), r.len + 1),
                        "ambiguous",
                    )
                    .with_help(
                        "write `$${` for a literal `${`, or remove the backslash to use the value",
                    ),
                );
            }
            Piece::Ref(r) => match vars.get(&r.name) {
                Some(v)
                    if quote == Quote::Shell
                        && !r.raw
                        && matches!(context, shell::Context::Heredoc { .. })
                        && vars::plain_text_of(v).contains('\n') =>
                {
                    ok = false;
                    problems.push(
                        Problem::at(
                            "flow::bad-variable",
                            format!("step `{}`: `${{{}}}` holds a line break and stands in a here-document, where a line can end it", at.step, r.name),
                            at.source,
                            sub_span(at, text, r.start, r.len),
                            "in a here-document",
                        )
                        .with_help("pass the value through the environment instead: `$FLOW_CTX_...`"),
                    );
                }
                Some(v) if quote == Quote::Shell && !r.raw => {
                    out.push_str(&shell::write(v, context))
                }
                Some(v) => out.push_str(&vars::plain_text_of(v)),
                None if r.name.starts_with("steps.") => {
                    match step_ref(&r.name, &r, quote, context, text, at) {
                        Ok(s) => out.push_str(&s),
                        Err(p) => {
                            ok = false;
                            problems.push(p);
                        }
                    }
                }
                None if !r.raw && std::env::var_os(&r.name).is_some() => {
                    if quote == Quote::Shell {
                        out.push_str(&text[r.start..r.start + r.len]);
                    } else {
                        out.push_str(&std::env::var(&r.name).unwrap_or_default());
                    }
                }
                None => {
                    ok = false;
                    problems.push(undefined(vars, text, at, &r));
                }
            },
        }
    }
    ok.then_some(out)
}

/// Whether the byte at `pos` follows an odd number of backslashes.
fn escaped(text: &str, pos: usize) -> bool {
    text.as_bytes()[..pos]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// One argument of the list form: a lone `${list}` becomes several arguments.
pub fn resolve_arg(vars: &Vars, text: &str, at: &At<'_>, problems: &mut Problems) -> Vec<String> {
    if let Ok(pieces) = vars::split(text)
        && let [Piece::Ref(r)] = pieces.as_slice()
        && let Some(v) = vars.get(&r.name)
    {
        return match v {
            ContextValue::One(s) => vec![s.clone()],
            ContextValue::Many(items) => items.clone(),
        };
    }
    resolve(vars, text, Quote::Plain, at, problems)
        .into_iter()
        .collect()
}

fn undefined(vars: &Vars, text: &str, at: &At<'_>, r: &vars::Reference) -> Problem {
    let help = did_you_mean(&r.name, vars.names()).unwrap_or_else(|| {
        format!(
            "pass it with `--context {}=VALUE`, or give it a default under the workflow's `context:`",
            r.name
        )
    });
    Problem::at(
        "flow::undefined-variable",
        format!(
            "step `{}` uses `${{{}}}`, which is not defined",
            at.step, r.name
        ),
        at.source,
        sub_span(at, text, r.start, r.len),
        "undefined variable",
    )
    .with_help(help)
}

/// The span of `text[start..start+len]` within the source, when the text appears there as
/// written (plain or quoted without escapes); else the whole value.
pub fn sub_span(at: &At<'_>, text: &str, start: usize, len: usize) -> Span {
    let written = at
        .source
        .text
        .get(at.span.start..at.span.end())
        .unwrap_or("");
    let needle = &text[start..start + len];
    match written.find(needle) {
        Some(off) if written.len() >= text.len() => Span::new(at.span.start + off, len),
        _ => at.span,
    }
}
