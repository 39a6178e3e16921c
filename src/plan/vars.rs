//! `${name}` context variables: where their values come from, and where they stand in a text.

use std::collections::HashMap;

use crate::load::model::ContextValue;

/// The variables known to a workflow, most specific first: `--context`, the workflow's
/// `context:` defaults, then the workspace facts. Names found in none of them are left for
/// the shell when the environment has them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    map: HashMap<String, ContextValue>,
}

impl Vars {
    /// Sets a variable unless a more specific source already did.
    pub(crate) fn insert_default(&mut self, name: &str, value: ContextValue) {
        self.map.entry(name.to_string()).or_insert(value);
    }

    /// Sets a variable over any other source.
    pub(crate) fn insert(&mut self, name: &str, value: ContextValue) {
        self.map.insert(name.to_string(), value);
    }

    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&ContextValue> {
        self.map.get(name)
    }

    /// Every variable with its value, sorted by name.
    pub(crate) fn sorted(&self) -> Vec<(&str, &ContextValue)> {
        let mut all: Vec<(&str, &ContextValue)> =
            self.map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// Every variable name, for "did you mean".
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Every variable as the environment variable a step sees it as, sorted by name.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .map
            .iter()
            .map(|(k, v)| (super::names::context_var(k), plain_text_of(v)))
            .collect();
        out.sort();
        out
    }
}

/// One `${...}` reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    /// The variable's name.
    pub name: String,
    /// Byte offset of `$` within the text.
    pub start: usize,
    /// Byte length of `${name}`.
    pub len: usize,
    /// Written `${raw:name}`: the value is inserted as it is, even into a shell command.
    pub raw: bool,
}

/// A piece of a text: literal or a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Text as written (with `$${` already turned into `${`).
    Literal(std::borrow::Cow<'a, str>),
    /// A `${name}` reference.
    Ref(Reference),
    /// The variable name of a shell form (`target` in `${target:-x}` or `${#target}`): its
    /// `start` and `len` are those of the name alone.
    Param(Reference),
}

/// A `${` without its `}` or with an invalid name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadReference {
    /// Byte offset of `$`.
    pub start: usize,
    /// Byte length of what was read.
    pub len: usize,
    /// What is wrong.
    pub message: String,
}

/// Whether `name` is a valid variable name: `[A-Za-z_][A-Za-z0-9_.-]*`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Splits a text into literals and references. `$${` is a literal `${`. A shell's own form
/// (`${VAR:-default}`, `${#x}`) is left as it is, but references inside it are found:
/// `${a:-${x}}` refers to `x`.
pub(crate) fn split(text: &str) -> Result<Vec<Piece<'_>>, BadReference> {
    let mut pieces = Vec::new();
    let bytes = text.as_bytes();
    let mut lit_start = 0;
    let mut i = 0;
    let mut owned: Option<String> = None;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') && bytes.get(i + 2) == Some(&b'{') {
            // `$${` -> literal `${`
            let buf = owned.get_or_insert_with(String::new);
            buf.push_str(&text[lit_start..i]);
            buf.push_str("${");
            i += 3;
            lit_start = i;
            continue;
        }
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            match brace(text, i)? {
                Brace::Ref(r) => {
                    push_literal(&mut pieces, &mut owned, &text[lit_start..i]);
                    i += r.len;
                    lit_start = i;
                    pieces.push(Piece::Ref(r));
                }
                Brace::Shell(Some(param)) => {
                    push_literal(&mut pieces, &mut owned, &text[lit_start..param.start]);
                    i = param.start + param.len;
                    lit_start = i;
                    pieces.push(Piece::Param(param));
                }
                Brace::Shell(None) => i += 2,
            }
            continue;
        }
        i += 1;
    }
    match owned {
        Some(mut buf) => {
            buf.push_str(&text[lit_start..]);
            if !buf.is_empty() {
                pieces.push(Piece::Literal(buf.into()));
            }
        }
        None if lit_start < text.len() => pieces.push(Piece::Literal(text[lit_start..].into())),
        None => {}
    }
    Ok(pieces)
}

/// What a `${` starts.
enum Brace {
    /// A reference to a variable.
    Ref(Reference),
    /// A shell form such as `${VAR:-default}` or `${#x}`, and the name it expands if it names
    /// one; what follows the name is read on.
    Shell(Option<Reference>),
}

/// Reads the `${...}` whose `$` is at `i`.
fn brace(text: &str, i: usize) -> Result<Brace, BadReference> {
    let Some(close) = text[i + 2..].find('}') else {
        return Err(BadReference {
            start: i,
            len: text.len() - i,
            message: "`${` is never closed with `}`".into(),
        });
    };
    let name = &text[i + 2..i + 2 + close];
    let len = close + 3;
    let (raw, trimmed) = match name.trim().strip_prefix("raw:") {
        Some(rest) => (true, rest.trim()),
        None => (false, name.trim()),
    };
    if is_valid_name(trimmed) {
        let name = trimmed.to_string();
        return Ok(Brace::Ref(Reference {
            name,
            start: i,
            len,
            raw,
        }));
    }
    // `${raw:-x}` and `${raw:0:2}` are shell forms of a variable `raw`; `${raw:}` is not.
    let meant_raw = raw && !trimmed.starts_with(|c: char| "-=+?0123456789 ".contains(c));
    if !meant_raw && looks_like_shell_expansion(name) {
        let skip = usize::from(name.starts_with('#'));
        let param = shell_name(&name[skip..]);
        return Ok(Brace::Shell((!param.is_empty()).then(|| Reference {
            name: param.to_string(),
            start: i + 2 + skip,
            len: param.len(),
            raw: false,
        })));
    }
    let message = if meant_raw {
        format!("`{name}`: `raw:` must be followed by a variable name")
    } else {
        format!("`{name}` is not a variable name")
    };
    Err(BadReference {
        start: i,
        len,
        message,
    })
}

/// Ends the literal before a reference: what was gathered, then `text`.
fn push_literal<'a>(pieces: &mut Vec<Piece<'a>>, owned: &mut Option<String>, text: &str) {
    let mut lit = owned.take().unwrap_or_default();
    lit.push_str(text);
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit.into()));
    }
}

/// The shell variable name at the start of `text` (`[A-Za-z_][A-Za-z0-9_]*`), possibly empty.
fn shell_name(text: &str) -> &str {
    let starts = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    if starts { &text[..end] } else { "" }
}

/// `${VAR:-x}`, `${#VAR}`, `${VAR%.rs}` and the like: parameter expansions for the shell.
fn looks_like_shell_expansion(inner: &str) -> bool {
    let mut chars = inner.chars();
    match chars.next() {
        Some('#' | '!' | '@' | '*' | '$' | '?' | '-') => true,
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let rest: String = inner
                .chars()
                .skip_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest.starts_with([':', '-', '=', '+', '?', '%', '#', '/', '^', ',', '[', '@'])
        }
        Some(c) if c.is_ascii_digit() => true,
        _ => false,
    }
}

/// A value as plain text, for `env` and `cwd`: a list is joined with spaces.
pub(crate) fn plain_text_of(value: &ContextValue) -> String {
    match value {
        ContextValue::One(s) => s.clone(),
        ContextValue::Many(items) => items.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references() {
        let p = split("pytest ${target} --x").unwrap();
        assert_eq!(p.len(), 3);
        assert!(matches!(&p[1], Piece::Ref(r) if r.name == "target" && r.start == 7 && r.len == 9));
        let p = split("echo ${raw:flags}").unwrap();
        assert!(matches!(&p[1], Piece::Ref(r) if r.name == "flags" && r.raw));
        let p = split("echo $${HOME} ${a}").unwrap();
        assert_eq!(p[0], Piece::Literal("echo ${HOME} ".into()));
        assert!(split("echo ${a").is_err());
        assert!(split("echo ${a b}").is_err());
        assert!(
            matches!(&split("echo ${HOME:-x}").unwrap()[1], Piece::Param(r) if r.name == "HOME")
        );
        let nested = split("echo ${a:-${x}}").unwrap();
        assert!(matches!(&nested[1], Piece::Param(r) if r.name == "a" && r.start == 7));
        assert!(matches!(&nested[3], Piece::Ref(r) if r.name == "x" && r.start == 10));
        assert_eq!(nested[4], Piece::Literal("}".into()));
        assert!(matches!(&split("${#n}").unwrap()[1], Piece::Param(r) if r.name == "n"));
        assert_eq!(split("${!n} ${#} ${@:2}").unwrap().len(), 1);
        assert!(split("${raw:}").is_err());
        assert!(split("${raw:raw:x}").is_err());
        assert!(matches!(&split("${raw:-x}").unwrap()[1], Piece::Param(r) if r.name == "raw"));
        assert_eq!(split("echo $HOME").unwrap().len(), 1);
    }
}
