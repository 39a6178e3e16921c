//! Text with `${{ ... }}` in it, rewritten for cargo flow. In a shell command, each expression
//! becomes a reference to an environment variable that holds its value, so that no value
//! is ever read by a shell as syntax; where nothing parses the text (`env`, a folder), a value
//! the matrix decides is written in. Every `${` that was the shell's is kept the shell's
//! (`$${`, which cargo flow writes as `${`).

use super::expr::{self, Part, is_variable};
use crate::load::matrix::Combination;

/// What a shell command needs beside its text.
#[derive(Debug, Default)]
pub(crate) struct Shell {
    /// Variables the step's environment must hold: (name, value).
    pub env: Vec<(String, String)>,
    /// What the command reads that only a GitHub runner has.
    pub notes: Vec<String>,
}

/// Ids of the job's earlier steps as GitHub names them, with their cargo flow ids.
pub(crate) type StepIds = [(String, String)];

/// Rewrites a shell command; the variables it adds take no name of `taken`.
pub(crate) fn shell(
    text: &str,
    combo: &Combination,
    ids: &StepIds,
    taken: &[String],
    out: &mut Shell,
) -> Result<String, String> {
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        result.push_str(&escape(&github_files(&rest[..start])));
        let end = start + closing(&rest[start..])?;
        let written = &rest[start..end + 2];
        let after = &rest[end + 2..];
        if in_single_quotes(text, text.len() - rest.len() + start) {
            out.notes.push(format!(
                "`{written}` is inside single quotes, where the shell does not expand the variable that now holds it: use double quotes"
            ));
        }
        let reference = reference(written, combo, ids, taken, out)?;
        result.push_str(&reference.written(after));
        rest = after;
    }
    result.push_str(&escape(&github_files(rest)));
    Ok(result)
}

/// What an expression in a shell command becomes.
enum Reference {
    /// A variable of the step's environment.
    Variable(String),
    /// A folder a GitHub runner sets, which must not be empty where it is not set
    /// (`rm -rf $RUNNER_TEMP/x`).
    Folder(String),
    /// A `${...}` that cargo flow resolves itself.
    Flow(String),
}

impl Reference {
    /// The reference as written before `after`: `$NAME` where no name character follows.
    fn written(&self, after: &str) -> String {
        match self {
            Reference::Flow(name) => format!("${{{name}}}"),
            Reference::Folder(name) => format!("$${{{name}:?is set only on a GitHub runner}}"),
            Reference::Variable(name)
                if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') =>
            {
                format!("$${{{name}}}")
            }
            Reference::Variable(name) => format!("${name}"),
        }
    }
}

fn reference(
    written: &str,
    combo: &Combination,
    ids: &StepIds,
    taken: &[String],
    out: &mut Shell,
) -> Result<Reference, String> {
    let parsed = expr::parse(written)?;
    if let expr::Expr::Path(path) = &parsed
        && let Some(r) = path_reference(path, combo, ids, out)?
    {
        return Ok(r);
    }
    // A value is written into the step's `env:`, where cargo flow reads `${`.
    let value = escape(&known(&parsed, combo, written)?);
    let base = match &parsed {
        expr::Expr::Path(path) if path[0] == "matrix" => variable_name(path),
        _ => "EXPR".to_string(),
    };
    if let Some((name, _)) = out
        .env
        .iter()
        .find(|(n, v)| n.starts_with(&base) && *v == value)
    {
        return Ok(Reference::Variable(name.clone()));
    }
    let free = |n: &String| !taken.contains(n) && !out.env.iter().any(|(t, _)| t == n);
    let name = std::iter::once(base.clone())
        .filter(|_| base != "EXPR")
        .chain((1..).map(|i| format!("{base}_{i}")))
        .find(free)
        .unwrap_or(base);
    out.env.push((name.clone(), value));
    Ok(Reference::Variable(name))
}

/// A context path read from the environment or from cargo flow, if it is one.
fn path_reference(
    path: &[String],
    combo: &Combination,
    ids: &StepIds,
    out: &mut Shell,
) -> Result<Option<Reference>, String> {
    let written = path.join(".");
    Ok(Some(match path {
        [ctx, name] if ctx == "env" && is_variable(name) => Reference::Variable(name.clone()),
        [ctx, name] if (ctx == "secrets" || ctx == "vars") && is_variable(name) => {
            out.notes.push(format!(
                "reads `{written}` from the environment variable {name}: set it before running"
            ));
            Reference::Variable(name.clone())
        }
        [ctx, name] if ctx == "github" && name == "workspace" => {
            Reference::Flow("workspace_root".into())
        }
        [ctx, _, outputs, key] if ctx == "steps" && outputs == "outputs" && !is_variable(key) => {
            return Err(format!("`{written}` names no output cargo flow can hold"));
        }
        // Where `runs-on` tells the system, its name is a value like any other.
        [ctx, os]
            if ctx == "runner"
                && os == "os"
                && !matches!(
                    expr::fold(&expr::Expr::Path(path.to_vec()), combo)?,
                    Part::Os
                ) =>
        {
            return Ok(None);
        }
        [ctx, id, outputs, key] if ctx == "steps" && outputs == "outputs" => {
            let (_, flow_id) = ids
                .iter()
                .find(|(gh, _)| gh == id)
                .ok_or_else(|| format!("`{written}` names no earlier step of this job"))?;
            Reference::Flow(format!("steps.{flow_id}.outputs.{key}"))
        }
        [ctx, name] if ctx == "secrets" || ctx == "vars" => {
            return Err(format!("`{written}` names no variable a shell can read"));
        }
        _ => match expr::runner_variable(path) {
            Some(var) if FOLDERS.contains(&var.as_str()) => Reference::Folder(var),
            Some(var) => {
                out.notes.push(format!(
                    "reads `{written}` as ${var}, which only a GitHub runner sets"
                ));
                Reference::Variable(var)
            }
            None => return Ok(None),
        },
    }))
}

/// Folders a runner names, which a command may build paths on.
const FOLDERS: &[&str] = &["RUNNER_TEMP", "RUNNER_TOOL_CACHE", "GITHUB_EVENT_PATH"];

/// The value of an expression that the matrix decides.
fn known(parsed: &expr::Expr, combo: &Combination, written: &str) -> Result<String, String> {
    match expr::fold(parsed, combo)? {
        Part::Known(v) => {
            expr::text(&v).ok_or_else(|| format!("`{written}` is a list or a map, not text"))
        }
        _ => Err(format!(
            "`{written}` is known only while GitHub runs the workflow"
        )),
    }
}

/// `MATRIX_RUST` for `matrix.rust`, `MATRIX_TARGET_OS` for `matrix.target.os`.
fn variable_name(path: &[String]) -> String {
    path.iter()
        .map(|s| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Text where nothing parses it (`env`, `working-directory`, a toolchain): the value the
/// matrix decides, written in.
pub(crate) fn plain(text: &str, combo: &Combination) -> Result<String, String> {
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        result.push_str(&escape(&rest[..start]));
        let end = start + closing(&rest[start..])?;
        let written = &rest[start..end + 2];
        let parsed = expr::parse(written)?;
        match &parsed {
            expr::Expr::Path(p) if p.len() == 2 && p[0] == "github" && p[1] == "workspace" => {
                result.push_str("${workspace_root}");
            }
            _ => result.push_str(&escape(&known(&parsed, combo, written)?)),
        }
        rest = &rest[end + 2..];
    }
    result.push_str(&escape(rest));
    Ok(result)
}

/// Where the `}}` that closes the expression at the start of `text` is: the first outside
/// a `'...'` string.
fn closing(text: &str) -> Result<usize, String> {
    let mut quoted = false;
    for (i, c) in text.char_indices().skip(3) {
        match c {
            '\'' => quoted = !quoted,
            '}' if !quoted && text[i..].starts_with("}}") => return Ok(i),
            _ => {}
        }
    }
    Err("a `${{` is never closed".into())
}

/// The shell's own `${`, kept from cargo flow's substitution.
fn escape(text: &str) -> String {
    text.replace("${", "$${")
}

/// GitHub's step outputs file is cargo flow's, which reads the same `key=value` lines:
/// `$GITHUB_OUTPUT` and `${GITHUB_OUTPUT}` become `$FLOW_OUTPUT` (not `$GITHUB_OUTPUT_DIR`).
fn github_files(text: &str) -> String {
    let text = text.replace("${GITHUB_OUTPUT}", "$FLOW_OUTPUT");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("$GITHUB_OUTPUT") {
        let end = at + "$GITHUB_OUTPUT".len();
        let whole = !rest[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if whole {
            "$FLOW_OUTPUT"
        } else {
            "$GITHUB_OUTPUT"
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Whether byte `at` of a command lies between single quotes on its line, as far as
/// counting them tells: a hint for a note, not a reading of the shell's syntax.
fn in_single_quotes(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].matches('\'').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::node::{Node, Value};
    use crate::source::Span;

    fn combo() -> Combination {
        let s = |t: &str| Node {
            value: Value::String(t.into()),
            span: Span::new(0, 0),
        };
        vec![
            ("rust".into(), s("nightly")),
            ("os".into(), s("ubuntu-latest")),
        ]
    }

    #[test]
    fn expressions_become_variables_and_the_shells_own_syntax_is_kept() {
        let mut out = Shell::default();
        let ids = [("ver".to_string(), "build-ver".to_string())];
        let text = "cargo +${{ matrix.rust }} test ${FEATURES} ${{ env.ARGS }}_x \"${{ steps.ver.outputs.v }}\" >> $GITHUB_OUTPUT";
        assert_eq!(
            shell(text, &combo(), &ids, &[], &mut out).unwrap(),
            "cargo +$MATRIX_RUST test $${FEATURES} $${ARGS}_x \"${steps.build-ver.outputs.v}\" >> $FLOW_OUTPUT"
        );
        assert_eq!(
            out.env,
            [("MATRIX_RUST".to_string(), "nightly".to_string())]
        );
    }

    #[test]
    fn a_value_never_becomes_text_in_a_shell_command() {
        let mut out = Shell::default();
        let text = "echo ${{ matrix.os == 'ubuntu-latest' && '$(touch x)' || 'y' }}";
        assert_eq!(
            shell(text, &combo(), &[], &[], &mut out).unwrap(),
            "echo $EXPR_1"
        );
        assert_eq!(out.env[0].1, "$(touch x)");
        let mut out = Shell::default();
        let text = "echo ${{ env['x;touch y'] }} ${{ secrets['a`b`'] }}";
        assert!(shell(text, &combo(), &[], &[], &mut out).is_err());
        let text = "echo ${{ format('{0}}}', '${workspace_root}') }} $GITHUB_OUTPUT_DIR";
        assert_eq!(
            shell(text, &combo(), &[], &[], &mut out).unwrap(),
            "echo $EXPR_1 $GITHUB_OUTPUT_DIR"
        );
        assert_eq!(out.env[0].1, "$${workspace_root}}");
    }

    #[test]
    fn what_only_github_knows_is_refused_or_noted() {
        let mut out = Shell::default();
        assert!(shell("echo ${{ hashFiles('x') }}", &combo(), &[], &[], &mut out).is_err());
        assert!(
            shell(
                "echo ${{ needs.a.outputs.b }}",
                &combo(),
                &[],
                &[],
                &mut out
            )
            .is_err()
        );
        assert_eq!(
            shell("echo ${{ github.sha }}", &combo(), &[], &[], &mut out).unwrap(),
            "echo $GITHUB_SHA"
        );
        assert_eq!(out.notes.len(), 1);
        assert_eq!(
            shell("rm -r ${{ runner.temp }}/x", &combo(), &[], &[], &mut out).unwrap(),
            "rm -r $${RUNNER_TEMP:?is set only on a GitHub runner}/x"
        );
        let taken = ["MATRIX_RUST".to_string()];
        assert_eq!(
            shell("${{ matrix.rust }}", &combo(), &[], &taken, &mut out).unwrap(),
            "$MATRIX_RUST_1"
        );
        assert_eq!(
            plain("${{ matrix.rust }}-x", &combo()).unwrap(),
            "nightly-x"
        );
        assert!(plain("${{ secrets.T }}", &combo()).is_err());
    }
}
