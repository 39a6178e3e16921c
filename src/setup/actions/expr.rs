//! GitHub Actions expressions (`${{ ... }}` and `if:`), parsed and folded: what the matrix
//! decides becomes a value, what only a run can decide becomes a cargo flow condition, and
//! what cargo flow has no equivalent for is an error naming it, never text for a shell.

use crate::load::node::{Node, Value as Tree};

/// A value known before anything runs.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    /// A number, with its text as written.
    Num(String),
    Str(String),
    /// A list or a map of the matrix.
    Tree(Node),
}

/// An expression as written.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(Val),
    /// `matrix.rust`, `github.event_name`, `steps.x.outputs.y`.
    Path(Vec<String>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// An expression folded as far as the matrix allows.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    Known(Val),
    /// A cargo flow condition; `status` when it calls `success()`, `failure()` or `always()`.
    Cond {
        text: String,
        status: bool,
    },
    /// `runner.os`, which becomes cargo flow's `os` once compared with a name.
    Os,
}

/// The key under which a combination holds the variables the file's `env:` maps set, so
/// that `env.NAME` reads them as GitHub does; a matrix key cannot be written with a colon
/// without quotes, and none is.
pub(crate) const ENV: &str = "env:";
/// The key under which a combination holds `runner.os`, where `runs-on` tells it.
pub(crate) const RUNNER_OS: &str = "runner.os:";

/// The GitHub contexts that are environment variables on a runner too.
const GITHUB: &[&str] = &[
    "action",
    "actor",
    "actor_id",
    "api_url",
    "base_ref",
    "event_name",
    "event_path",
    "head_ref",
    "job",
    "ref",
    "ref_name",
    "ref_protected",
    "ref_type",
    "repository",
    "repository_id",
    "repository_owner",
    "run_attempt",
    "run_id",
    "run_number",
    "server_url",
    "sha",
    "triggering_actor",
    "workflow",
];
const RUNNER: &[&str] = &["arch", "debug", "name", "temp", "tool_cache"];

/// The environment variable a runner sets for a context path (`github.sha` is `GITHUB_SHA`).
pub(crate) fn runner_variable(path: &[String]) -> Option<String> {
    match path {
        [ctx, name] if ctx == "github" && GITHUB.contains(&name.as_str()) => {
            Some(format!("GITHUB_{}", name.to_uppercase()))
        }
        [ctx, name] if ctx == "runner" && (RUNNER.contains(&name.as_str()) || name == "os") => {
            Some(format!("RUNNER_{}", name.to_uppercase()))
        }
        _ => None,
    }
}

/// Parses an expression, with or without its `${{ }}`.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        .unwrap_or(trimmed);
    let tokens = lex(inner)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some(t) => Err(format!(
            "`{}` is not understood after `{}`",
            t.text(),
            inner
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Num(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Op(s) => (*s).to_string(),
        }
    }
}

const OPS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "*",
];

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c == '\'' {
            let (s, len) = string(rest)?;
            out.push(Tok::Str(s));
            rest = &rest[len..];
        } else if c.is_ascii_digit()
            || (c == '-' && rest[1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            let len = 1 + rest[1..]
                .find(|d: char| !(d.is_ascii_alphanumeric() || d == '.'))
                .unwrap_or(rest.len() - 1);
            out.push(Tok::Num(rest[..len].to_string()));
            rest = &rest[len..];
        } else if c.is_alphabetic() || c == '_' {
            let len = rest
                .find(|d: char| !(d.is_alphanumeric() || d == '_' || d == '-'))
                .unwrap_or(rest.len());
            out.push(Tok::Ident(rest[..len].to_string()));
            rest = &rest[len..];
        } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Tok::Op(op));
            rest = &rest[op.len()..];
        } else {
            return Err(format!("`{c}` is not part of GitHub's expression syntax"));
        }
    }
    Ok(out)
}

/// A `'...'` string (`''` is a quote), and the bytes it takes.
fn string(text: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut i = 1;
    loop {
        let Some(end) = text[i..].find('\'') else {
            return Err("a string is never closed".into());
        };
        out.push_str(&text[i..i + end]);
        i += end + 1;
        if text[i..].starts_with('\'') {
            out.push('\'');
            i += 1;
        } else {
            return Ok((out, i));
        }
    }
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    /// How deep the expression nests so far.
    depth: usize,
}

/// Nesting deeper than this is refused: no workflow needs it, and each level is a frame.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn eat(&mut self, op: &'static str) -> bool {
        if self.tokens.get(self.pos) == Some(&Tok::Op(op)) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.compare()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.compare()?));
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(op) = ["==", "!=", "<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| self.tokens.get(self.pos) == Some(&Tok::Op(op)))
        {
            self.pos += 1;
            left = Expr::Cmp(op, Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the expression nests deeper than {MAX_DEPTH} levels"
            ));
        }
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Str(s)) => Ok(Expr::Lit(Val::Str(s))),
            Some(Tok::Num(n)) => Ok(Expr::Lit(Val::Num(n))),
            Some(Tok::Op("(")) => {
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(Tok::Ident(name)) => self.named(name),
            Some(t) => Err(format!("`{}` cannot start an expression", t.text())),
            None => Err("an expression ends too early".into()),
        }
    }

    fn named(&mut self, name: String) -> Result<Expr, String> {
        match name.as_str() {
            "true" => return Ok(Expr::Lit(Val::Bool(true))),
            "false" => return Ok(Expr::Lit(Val::Bool(false))),
            "null" => return Ok(Expr::Lit(Val::Null)),
            _ => {}
        }
        if self.eat("(") {
            let mut args = Vec::new();
            if !self.eat(")") {
                loop {
                    args.push(self.or()?);
                    if self.eat(")") {
                        break;
                    }
                    self.expect(",")?;
                }
            }
            return Ok(Expr::Call(name, args));
        }
        let mut path = vec![name];
        loop {
            if self.eat(".") {
                match self.tokens.get(self.pos).cloned() {
                    Some(Tok::Ident(seg)) => path.push(seg),
                    _ => return Err(format!("`{}.` must be followed by a name", path.join("."))),
                }
                self.pos += 1;
            } else if self.eat("[") {
                match self.tokens.get(self.pos).cloned() {
                    Some(Tok::Str(seg) | Tok::Num(seg)) => path.push(seg),
                    _ => return Err(format!("`{}[...]` must hold a name", path.join("."))),
                }
                self.pos += 1;
                self.expect("]")?;
            } else {
                return Ok(Expr::Path(path));
            }
        }
    }

    fn expect(&mut self, op: &'static str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected `{op}`"))
        }
    }
}

/// GitHub's truthiness: `false`, `0`, `''` and `null` are false; everything else true.
pub(crate) fn truthy(v: &Val) -> bool {
    match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Num(n) => number(n).is_some_and(|n| n != 0.0),
        Val::Str(s) => !s.is_empty(),
        Val::Tree(_) => true,
    }
}

/// The text GitHub writes for a value; `None` for a list or map.
pub(crate) fn text(v: &Val) -> Option<String> {
    match v {
        Val::Null => Some(String::new()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Num(n) | Val::Str(n) => Some(n.clone()),
        Val::Tree(_) => None,
    }
}

fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    t.parse().ok()
}

/// Whether a shell can name a variable so: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_variable(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value of a matrix entry as an expression sees it.
pub(crate) fn of_node(node: &Node) -> Val {
    match &node.value {
        Tree::Null => Val::Null,
        Tree::Bool(b) => Val::Bool(b == "true"),
        Tree::Number(n) => Val::Num(n.clone()),
        Tree::String(s) => Val::Str(s.clone()),
        Tree::List(_) | Tree::Map(_) => Val::Tree(node.clone()),
    }
}

/// Folds `expr` with the matrix combination `matrix` (empty outside a matrix).
pub(crate) fn fold(expr: &Expr, matrix: &[(String, Node)]) -> Result<Part, String> {
    Ok(match expr {
        Expr::Lit(v) => Part::Known(v.clone()),
        Expr::Path(path) => path_part(path, matrix)?,
        Expr::Not(inner) => match fold(inner, matrix)? {
            Part::Known(v) => Part::Known(Val::Bool(!truthy(&v))),
            Part::Cond { text, status } => Part::Cond {
                text: match text.strip_prefix('!') {
                    Some(inner) if !inner.contains(' ') => inner.to_string(),
                    _ => format!("!{}", grouped(&text)),
                },
                status,
            },
            Part::Os => return Err("`!runner.os` has no equivalent".into()),
        },
        Expr::And(a, b) => logic(fold(a, matrix)?, || fold(b, matrix), true)?,
        Expr::Or(a, b) => logic(fold(a, matrix)?, || fold(b, matrix), false)?,
        Expr::Cmp(op, a, b) => compare(op, fold(a, matrix)?, fold(b, matrix)?)?,
        Expr::Call(name, args) => call(name, args, matrix)?,
    })
}

fn path_part(path: &[String], matrix: &[(String, Node)]) -> Result<Part, String> {
    let written = path.join(".");
    match path {
        [ctx, rest @ ..] if ctx == "matrix" => Ok(Part::Known(lookup(matrix, rest))),
        [ctx, name] if ctx == "env" && !is_variable(name) => Err(format!(
            "`{written}` names no variable an environment can hold"
        )),
        [ctx, name] if ctx == "env" => Ok(match lookup(matrix, &[ENV.to_string(), name.clone()]) {
            Val::Null => Part::Cond {
                text: format!("env.{name}"),
                status: false,
            },
            known => Part::Known(known),
        }),
        [ctx, os] if ctx == "runner" && os == "os" => {
            Ok(match lookup(matrix, &[RUNNER_OS.to_string()]) {
                Val::Null => Part::Os,
                known => Part::Known(known),
            })
        }
        _ => match runner_variable(path) {
            Some(var) => Ok(Part::Cond {
                text: format!("env.{var}"),
                status: false,
            }),
            None => Err(format!(
                "`{written}` is known only on GitHub Actions, and cargo flow has no equivalent"
            )),
        },
    }
}

/// `matrix.<path>` in a combination; `null` where it has no such entry, as on GitHub.
fn lookup(matrix: &[(String, Node)], path: &[String]) -> Val {
    let Some((first, rest)) = path.split_first() else {
        return Val::Null;
    };
    let Some(entry) = matrix.iter().find(|(k, _)| k == first) else {
        return Val::Null;
    };
    let mut node = &entry.1;
    for seg in rest {
        match node.get(seg) {
            Some(n) => node = n,
            None => return Val::Null,
        }
    }
    of_node(node)
}

/// `a && b` (`and`) or `a || b`, folded where one side decides.
fn logic(a: Part, b: impl FnOnce() -> Result<Part, String>, and: bool) -> Result<Part, String> {
    if let Part::Known(v) = &a {
        return if truthy(v) == and { b() } else { Ok(a) };
    }
    let b = b()?;
    match (a, b) {
        (a, Part::Known(v)) if truthy(&v) == and => Ok(a),
        (_, Part::Known(_)) => Ok(Part::Known(Val::Bool(!and))),
        (Part::Cond { text: x, status: s }, Part::Cond { text: y, status: t }) => Ok(Part::Cond {
            text: format!(
                "{} {} {}",
                grouped(&x),
                if and { "&&" } else { "||" },
                grouped(&y)
            ),
            status: s || t,
        }),
        _ => Err("`runner.os` is only carried over compared with a name".into()),
    }
}

fn compare(op: &'static str, a: Part, b: Part) -> Result<Part, String> {
    match (a, b) {
        (Part::Known(x), Part::Known(y)) => Ok(Part::Known(Val::Bool(known_cmp(op, &x, &y)))),
        (Part::Os, Part::Known(v)) | (Part::Known(v), Part::Os) if matches!(op, "==" | "!=") => {
            let name = text(&v).unwrap_or_default().to_lowercase();
            Ok(Part::Cond {
                text: format!("os {op} {}", literal(&Val::Str(name))?),
                status: false,
            })
        }
        (Part::Os, _) | (_, Part::Os) => {
            Err("`runner.os` is only carried over compared with `==` or `!=`".into())
        }
        (a, b) => Ok(Part::Cond {
            text: format!("{} {op} {}", operand(&a)?, operand(&b)?),
            status: false,
        }),
    }
}

/// A part as an operand of a cargo flow condition.
fn operand(part: &Part) -> Result<String, String> {
    match part {
        Part::Cond { text, .. } => Ok(grouped(text)),
        Part::Known(v) => literal(v),
        Part::Os => Ok("os".into()),
    }
}

/// A condition as an operand: in parentheses when it has an operator.
pub(crate) fn grouped(text: &str) -> String {
    if text.contains(' ') {
        format!("({text})")
    } else {
        text.to_string()
    }
}

/// A value as a cargo flow condition's literal.
fn literal(v: &Val) -> Result<String, String> {
    match v {
        Val::Num(n) if number(n).is_some() && !n.starts_with("0x") => Ok(n.clone()),
        _ => {
            let t = text(v).ok_or("a list or map cannot be compared")?;
            if !t.contains('\'') {
                Ok(format!("'{t}'"))
            } else if !t.contains('"') {
                Ok(format!("\"{t}\""))
            } else {
                Err(format!("`{t}` holds both kinds of quote"))
            }
        }
    }
}

/// GitHub's comparison: numbers as numbers, strings without regard to case, and values of
/// different types as numbers.
fn known_cmp(op: &str, x: &Val, y: &Val) -> bool {
    use std::cmp::Ordering;
    let order = match (x, y) {
        (Val::Str(a), Val::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        _ => as_number(x).partial_cmp(&as_number(y)),
    };
    match (op, order) {
        ("!=", None) => true,
        (_, None) => false,
        ("==", Some(o)) => o == Ordering::Equal,
        ("!=", Some(o)) => o != Ordering::Equal,
        ("<", Some(o)) => o == Ordering::Less,
        (">", Some(o)) => o == Ordering::Greater,
        ("<=", Some(o)) => o != Ordering::Greater,
        (_, Some(o)) => o != Ordering::Less,
    }
}

fn as_number(v: &Val) -> f64 {
    match v {
        Val::Null => 0.0,
        Val::Bool(b) => f64::from(u8::from(*b)),
        Val::Num(n) | Val::Str(n) if n.trim().is_empty() => 0.0,
        Val::Num(n) | Val::Str(n) => number(n).unwrap_or(f64::NAN),
        Val::Tree(_) => f64::NAN,
    }
}

fn call(name: &str, args: &[Expr], matrix: &[(String, Node)]) -> Result<Part, String> {
    let lower = name.to_lowercase();
    match lower.as_str() {
        // GitHub's `success()` is "nothing before failed"; cargo flow's is "every dependency
        // succeeded", which a step skipped by its own condition is not.
        "success" if args.is_empty() => Ok(Part::Cond {
            text: "!failure()".into(),
            status: true,
        }),
        "failure" | "always" if args.is_empty() => Ok(Part::Cond {
            text: format!("{lower}()"),
            status: true,
        }),
        // Once a run is stopped, cargo flow starts nothing more.
        // Once a run is stopped, cargo flow starts nothing more: `cancelled()` is never true
        // for a step that starts, yet it is a status function, so the implicit `success()`
        // does not apply (`!cancelled()` runs after a failure, as `always()` does).
        "cancelled" if args.is_empty() => Ok(Part::Cond {
            text: "!always()".into(),
            status: true,
        }),
        "contains" | "startswith" | "endswith" | "format" => {
            let parts = args
                .iter()
                .map(|a| fold(a, matrix))
                .collect::<Result<Vec<_>, _>>()?;
            text_function(&lower, name, parts)
        }
        _ => Err(format!("`{name}()` has no equivalent in cargo flow")),
    }
}

fn text_function(lower: &str, name: &str, parts: Vec<Part>) -> Result<Part, String> {
    let known: Option<Vec<Val>> = parts
        .iter()
        .map(|p| match p {
            Part::Known(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let Some(vals) = known else {
        return match (lower, parts.as_slice()) {
            ("contains", [a, b]) => Ok(Part::Cond {
                text: format!("contains({}, {})", operand(a)?, operand(b)?),
                status: false,
            }),
            _ => Err(format!(
                "`{name}()` of what only a run knows has no equivalent in cargo flow"
            )),
        };
    };
    let texts = |i: usize| -> String {
        vals.get(i)
            .and_then(text)
            .unwrap_or_default()
            .to_lowercase()
    };
    let result =
        match lower {
            "contains" => match vals.first() {
                Some(Val::Tree(node)) => Val::Bool(items(node).iter().any(|item| {
                    text(&of_node(item)).is_some_and(|t| t.to_lowercase() == texts(1))
                })),
                _ => Val::Bool(texts(0).contains(&texts(1))),
            },
            "startswith" => Val::Bool(texts(0).starts_with(&texts(1))),
            "endswith" => Val::Bool(texts(0).ends_with(&texts(1))),
            _ => Val::Str(format(&vals)),
        };
    Ok(Part::Known(result))
}

fn items(node: &Node) -> &[Node] {
    match &node.value {
        Tree::List(items) => items,
        _ => &[],
    }
}

/// `format('{0}-{1}', a, b)`, with `{{` and `}}` for braces.
fn format(vals: &[Val]) -> String {
    let pattern = vals.first().and_then(text).unwrap_or_default();
    let mut out = String::new();
    let mut rest = pattern.as_str();
    while let Some(c) = rest.chars().next() {
        let arg = rest
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
            .and_then(|(n, after)| Some((n.parse::<usize>().ok()?, after)));
        if rest.starts_with("{{") || rest.starts_with("}}") {
            out.push(c);
            rest = &rest[2..];
        } else if let Some((n, after)) = arg {
            out.push_str(&vals.get(n + 1).and_then(text).unwrap_or_default());
            rest = after;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> String {
        match fold(&parse(text).unwrap(), &[]).unwrap() {
            Part::Known(v) => format!("= {}", super::text(&v).unwrap()),
            Part::Cond { text, .. } => text,
            Part::Os => "os".into(),
        }
    }

    #[test]
    fn what_the_run_decides_becomes_a_condition_and_the_rest_folds() {
        for (text, want) in [
            (
                "github.event_name == 'push'",
                "env.GITHUB_EVENT_NAME == 'push'",
            ),
            ("${{ runner.os == 'Linux' }}", "os == 'linux'"),
            ("always() && env.X != ''", "always() && (env.X != '')"),
            ("!cancelled()", "always()"),
            (
                "runner.os == 'x'' || always() || ''y'",
                "os == \"x' || always() || 'y\"",
            ),
            ("success() && env.A", "!failure() && env.A"),
            ("true && env.A == 'b'", "env.A == 'b'"),
            ("false && env.A == 'b'", "= false"),
            // Known values compare as GitHub compares them.
            ("'Stable' == 'stable'", "= true"),
            ("1.0 == 1", "= true"),
            ("'' == 0", "= true"),
            ("'a' && 'b' || 'c'", "= b"),
            ("format('{0}-{1}', 'x', 2)", "= x-2"),
            ("format('{{{0}}}}}', 'x')", "= {x}}"),
            ("startsWith('nightly-2024', 'nightly')", "= true"),
            ("'it''s'", "= it's"),
        ] {
            assert_eq!(folded(text), want, "{text}");
        }
    }

    #[test]
    fn what_has_no_equivalent_is_an_error() {
        for text in [
            "hashFiles('**/Cargo.lock')",
            "secrets.TOKEN == ''",
            "needs.a.result",
            "a ==",
            "env['X) || always() || (env.X'] == 'x'",
            "x[*]",
        ] {
            assert!(parse(text).and_then(|e| fold(&e, &[])).is_err(), "{text}");
        }
    }
}
