//! Substituting `${name}` in a step's texts, with errors that point at the reference.
//!
//! In a shell command, a value is never written into the text: `${name}` becomes a reference
//! to the environment variable that holds the value (`${FLOW_CTX_NAME}`), which the shell
//! expands itself, and a shell never parses what an expansion produced. Only `${raw:name}`
//! writes the text in. Where no shell reads the text (the list form of `run`, `env`, `cwd`,
//! paths), the value itself is written in.

use std::collections::HashMap;

use super::names;
use super::vars::{self, Piece, Vars};
use crate::diagnostic::{Problem, Problems};
use crate::load::model::{ContextValue, Step};
use crate::source::{Source, Span};
use crate::suggest::did_you_mean;

/// Who reads the text once it is substituted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    /// A shell: each value is a reference to the environment variable that holds it.
    Shell,
    /// Nobody parses it (`env`, `cwd`, paths, an argument of the list form): the text as it
    /// is.
    Plain,
}

/// Where a text was written, for diagnostics.
pub(crate) struct At<'a> {
    /// The file.
    pub source: &'a Source,
    /// The step the text belongs to.
    pub step: &'a str,
    /// The span of the whole value.
    pub span: Span,
    /// The earlier steps the text may refer to (`${steps.<id>...}`), when it refers to any.
    pub scope: Option<&'a OutputScope<'a>>,
    /// The variables the step's environment sets (`env:`, `env_file:`), substituted, later
    /// ones winning: a `${NAME}` of one is defined, and left to the shell in a shell command.
    pub env: &'a [(String, String)],
}

/// The steps whose outputs and artifacts a step may use: those it depends on, directly or
/// not.
pub(crate) struct OutputScope<'a> {
    /// The folder that holds each step's artifacts in a subfolder named for its id.
    pub artifacts: &'a std::path::Path,
    /// Declared step ids and their indices.
    pub ids: &'a HashMap<&'a str, usize>,
    /// The declared steps.
    pub steps: &'a [Step],
    /// `ancestors[d]`: whether the step depends on step `d`, directly or not.
    pub ancestors: Vec<bool>,
}

/// What the references in a step's texts use, gathered as they are substituted.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The values a shell command reads through the environment, as `${...}` is written,
    /// with the value, for its log and `--dry-run`; outputs are in `outputs`.
    pub shown: Vec<(String, String)>,
    /// The outputs a shell command reads: (declared step, key).
    pub outputs: Vec<(usize, String)>,
    /// Artifact folders a shell command reads: (environment variable, folder).
    pub artifacts: Vec<(String, String)>,
    /// Variables of cargo flow's environment that a shell command leaves to the shell.
    pub environment: Vec<String>,
}

impl Found {
    fn show(&mut self, written: String, value: String) {
        if !self.shown.iter().any(|(w, _)| *w == written) {
            self.shown.push((written, value));
        }
    }
}

/// Substitutes `${name}` in a text. Names that no source defines are left for the shell when
/// the environment has them, else are an error pointing at the reference.
pub(crate) fn resolve(
    vars: &Vars,
    text: &str,
    quote: Quote,
    at: &At<'_>,
    found: &mut Found,
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
    let mut out = String::with_capacity(text.len() + 16);
    let mut ok = true;
    for piece in pieces {
        let r = match piece {
            Piece::Literal(s) => {
                out.push_str(&s);
                continue;
            }
            Piece::Param(r) => {
                match backslash_before(vars, text, quote, at, &r) {
                    None => out.push_str(&param(vars, &r, quote, found)),
                    Some(p) => {
                        ok = false;
                        problems.push(p);
                    }
                }
                continue;
            }
            Piece::Ref(r) => r,
        };
        match reference(vars, text, quote, at, &r, found) {
            Ok(s) => out.push_str(&s),
            Err(p) => {
                ok = false;
                problems.push(*p);
            }
        }
    }
    ok.then_some(out)
}

/// What one `${...}` becomes.
fn reference(
    vars: &Vars,
    text: &str,
    quote: Quote,
    at: &At<'_>,
    r: &vars::Reference,
    found: &mut Found,
) -> Result<String, Box<Problem>> {
    let written = &text[r.start..r.start + r.len];
    if let Some(problem) = backslash_before(vars, text, quote, at, r) {
        return Err(Box::new(problem));
    }
    if let Some(v) = vars.get(&r.name) {
        let value = vars::plain_text_of(v);
        return Ok(match quote {
            Quote::Shell if !r.raw => {
                found.show(format!("${{{}}}", r.name), value);
                format!("${{{}}}", names::context_var(&r.name))
            }
            // Text that becomes shell syntax is shown most of all.
            Quote::Shell => {
                found.show(format!("${{raw:{}}}", r.name), value.clone());
                value
            }
            Quote::Plain => value,
        });
    }
    if r.name.starts_with("steps.") {
        return step_ref(r, quote, text, at, found);
    }
    if !r.raw
        && let Some((_, value)) = at.env.iter().rev().find(|(k, _)| *k == r.name)
    {
        return Ok(match quote {
            Quote::Shell => written.to_string(),
            Quote::Plain => value.clone(),
        });
    }
    match std::env::var_os(&r.name) {
        Some(_) if !r.raw && quote == Quote::Shell => {
            if !found.environment.contains(&r.name) {
                found.environment.push(r.name.clone());
            }
            Ok(written.to_string())
        }
        Some(value) if !r.raw => Ok(value.to_string_lossy().into_owned()),
        _ => Err(Box::new(undefined(vars, text, at, r))),
    }
}

/// The name a shell form expands (`target` in `${target:-x}`): in a shell command, a context
/// variable's is that of the environment variable holding its value, as for `${target}`;
/// any other is the shell's own, and keys a cached step like `${NAME}`.
fn param(vars: &Vars, r: &vars::Reference, quote: Quote, found: &mut Found) -> String {
    if quote != Quote::Shell {
        return r.name.clone();
    }
    match vars.get(&r.name) {
        Some(v) => {
            found.show(format!("${{{}}}", r.name), vars::plain_text_of(v));
            names::context_var(&r.name)
        }
        None => {
            if !found.environment.contains(&r.name) {
                found.environment.push(r.name.clone());
            }
            r.name.clone()
        }
    }
}

/// `${steps.<id>.outputs.<key>}`, read through the environment variable that holds it, or
/// `${steps.<id>.artifacts}`, the folder its artifacts are copied to.
fn step_ref(
    r: &vars::Reference,
    quote: Quote,
    text: &str,
    at: &At<'_>,
    found: &mut Found,
) -> Result<String, Box<Problem>> {
    let name = r.name.as_str();
    let problem = |message: String, help: &str| {
        Box::new(
            Problem::at(
                "flow::bad-output",
                format!("step `{}`: {message}", at.step),
                at.source,
                sub_span(at, text, r.start, r.len),
                "here",
            )
            .with_help(help.to_string()),
        )
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
        Some(scope) if quote == Quote::Shell || key.is_none() => scope,
        _ => {
            return Err(problem(
                format!("`{name}` is used outside a shell `run`"),
                "outputs can be read in a shell `run` (`run: deploy \"${steps.build.outputs.version}\"`); pass them on from there",
            ));
        }
    };
    let d = earlier_step(scope, id, key.is_some(), at).map_err(|(m, h)| problem(m, &h))?;
    let Some(key) = key else {
        if scope.steps[d].artifacts.is_empty() {
            return Err(problem(
                format!("`{id}` declares no `artifacts`"),
                &format!("list the files `{id}` keeps under its `artifacts:`"),
            ));
        }
        let folder = scope
            .artifacts
            .join(names::file_name(id))
            .display()
            .to_string();
        if quote == Quote::Plain || r.raw {
            return Ok(folder);
        }
        let var = names::artifacts_var(id);
        found.show(format!("${{{name}}}"), folder.clone());
        if !found.artifacts.iter().any(|(v, _)| *v == var) {
            found.artifacts.push((var.clone(), folder));
        }
        return Ok(format!("${{{var}}}"));
    };
    if r.raw || key.is_empty() {
        return Err(problem(
            format!("`{}` cannot be used here", &text[r.start..r.start + r.len]),
            "write `${steps.<id>.outputs.<key>}`",
        ));
    }
    if !found.outputs.iter().any(|(s, k)| *s == d && k == key) {
        found.outputs.push((d, key.to_string()));
    }
    Ok(format!("${{{}}}", names::output_var(id, key)))
}

/// The declared step `id` that a reference reads, which must be one the step depends on and
/// run once; or what is wrong and how to fix it.
fn earlier_step(
    scope: &OutputScope<'_>,
    id: &str,
    output: bool,
    at: &At<'_>,
) -> Result<usize, (String, String)> {
    let Some(&d) = scope.ids.get(id) else {
        let help = did_you_mean(id, scope.ids.keys().copied())
            .unwrap_or_else(|| "name a step of this workflow".into());
        return Err((format!("`{id}` is not a step of this workflow"), help));
    };
    if !scope.ancestors.get(d).copied().unwrap_or(false) {
        let what = if output { "outputs" } else { "artifacts" };
        return Err((
            format!(
                "`{id}` is not a step that `{}` depends on, so its {what} are not known when it starts",
                at.step
            ),
            format!("add `{id}` to `depends_on`"),
        ));
    }
    if scope.steps[d].for_each.is_some() || scope.steps[d].matrix.is_some() {
        return Err((
            format!(
                "`{id}` runs once per package or matrix combination; its outputs cannot be read yet"
            ),
            "read outputs and artifacts of steps that run once".into(),
        ));
    }
    Ok(d)
}

/// `\${x}` (or `\${x:-y}`) where `x` is cargo flow's: the shell would read a literal `${...}`,
/// not the value, so it is an error rather than a surprise.
fn backslash_before(
    vars: &Vars,
    text: &str,
    quote: Quote,
    at: &At<'_>,
    r: &vars::Reference,
) -> Option<Problem> {
    let ours = vars.get(&r.name).is_some() || r.name.starts_with("steps.");
    // A shell form's reference is its name: its `${` comes before.
    let dollar = if text[r.start..].starts_with("${") {
        r.start
    } else {
        text[..r.start].rfind("${")?
    };
    if quote != Quote::Shell || r.raw || !ours || !escaped(text, dollar) {
        return None;
    }
    let end = text[r.start..]
        .find('}')
        .map_or(text.len(), |i| r.start + i + 1);
    let written = &text[dollar..end];
    Some(
        Problem::at(
            "flow::bad-variable",
            format!(
                "step `{}`: a backslash stands right before `{written}`",
                at.step
            ),
            at.source,
            sub_span(at, text, dollar.saturating_sub(1), end - dollar + 1),
            "ambiguous",
        )
        .with_help("write `$${` for a literal `${`, or remove the backslash to use the value"),
    )
}

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
pub(crate) fn resolve_arg(
    vars: &Vars,
    text: &str,
    at: &At<'_>,
    found: &mut Found,
    problems: &mut Problems,
) -> Vec<String> {
    if let Ok(pieces) = vars::split(text)
        && let [Piece::Ref(r)] = pieces.as_slice()
        && !r.raw
        && let Some(v) = vars.get(&r.name)
    {
        return match v {
            ContextValue::One(s) => vec![s.clone()],
            ContextValue::Many(items) => items.clone(),
        };
    }
    resolve(vars, text, Quote::Plain, at, found, problems)
        .into_iter()
        .collect()
}

/// Where a variable that only some steps have is defined: a package's facts, a matrix's keys.
fn where_defined(name: &str) -> Option<String> {
    if [
        "package",
        "package_dir",
        "package_version",
        "package_manifest",
    ]
    .contains(&name)
    {
        return Some(format!(
            "`${{{name}}}` is defined in steps with `for_each: package`, once for each member of the workspace: add that to this step, or name the package"
        ));
    }
    let key = name.strip_prefix("matrix.")?;
    Some(format!(
        "`${{{name}}}` is defined in a step whose `matrix:` has the key `{key}`: add it to this step's `matrix:`"
    ))
}

fn undefined(vars: &Vars, text: &str, at: &At<'_>, r: &vars::Reference) -> Problem {
    // `${VAR-default}` is the shell's default where `VAR` is set, but `-` may be part of a
    // name here.
    let shell_form = r.name.split_once('-').filter(|(name, _)| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let set = |name: &str| vars.get(name).is_some() || std::env::var_os(name).is_some();
    let shell_default = |(name, default): (&str, &str)| {
        format!(
            "`${{{0}}}` reads a variable named `{0}`; for the shell's default when `{name}` is unset or empty, write `${{{name}:-{default}}}`",
            r.name
        )
    };
    let help = shell_form
        .filter(|(name, _)| set(name))
        .map(shell_default)
        .or_else(|| where_defined(&r.name))
        .or_else(|| did_you_mean(&r.name, vars.names()))
        .or_else(|| shell_form.map(shell_default))
        .unwrap_or_else(|| {
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
pub(crate) fn sub_span(at: &At<'_>, text: &str, start: usize, len: usize) -> Span {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use proptest::prelude::*;

    fn shell_text(template: &str, value: &str) -> Option<String> {
        let source = SourceFile::new(std::path::Path::new("wf.yaml"), template.to_string());
        let mut vars = Vars::default();
        vars.insert("x", ContextValue::One(value.to_string()));
        vars.insert(
            "list",
            ContextValue::Many(vec![value.to_string(), "b".into()]),
        );
        let at = At {
            source: &source,
            step: "s",
            span: Span::new(0, template.len()),
            scope: None,
            env: &[],
        };
        let mut found = Found::default();
        resolve(
            &vars,
            template,
            Quote::Shell,
            &at,
            &mut found,
            &mut Problems::new(),
        )
    }

    proptest! {
        /// The text of a shell command never depends on the values it reads: they reach it
        /// through the environment.
        #[test]
        fn a_shell_command_never_holds_a_value(
            template in r#"([a-z ;'"\\$`{}:\-#!()\[\]\n]|\$\{x\}|\$\{list\}|\$\{x:-|\$\$\{x\}){0,24}"#,
            a in any::<String>(),
            b in any::<String>(),
        ) {
            prop_assert_eq!(shell_text(&template, &a), shell_text(&template, &b));
        }
    }

    #[test]
    fn references_become_environment_variables() {
        assert_eq!(
            shell_text("echo ${x} \"${list}\" '${x}' $${x}", "v").as_deref(),
            Some("echo ${FLOW_CTX_X} \"${FLOW_CTX_LIST}\" '${FLOW_CTX_X}' ${x}")
        );
        assert_eq!(
            shell_text("echo ${raw:x}", "a; b").as_deref(),
            Some("echo a; b")
        );
        assert_eq!(shell_text("echo \\${x}", "v"), None);
    }
}
