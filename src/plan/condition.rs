//! `if:` conditions: a small expression language, parsed and checked when the workflow is
//! planned, and evaluated when the step becomes ready.
//!
//! ```text
//! expr    := or
//! or      := and ('||' and)*
//! and     := not ('&&' not)*
//! not     := '!' not | compare
//! compare := primary (('==' | '!=' | '<' | '>' | '<=' | '>=') primary)?
//! primary := STRING | NUMBER | true | false | NAME | env.NAME | os | arch
//!          | NAME '(' (expr (',' expr)*)? ')' | '(' expr ')'
//! ```
//!
//! Names are context variables, resolved when the plan is made, as are `env.NAME`, `os` and
//! `arch`. `exists()` and the status functions `success()`, `failure()` and `always()` are
//! evaluated when the step is ready. A condition that calls no status function means
//! `success() && (condition)`, as in GitHub Actions.

use std::path::Path;

use super::vars::Vars;
use crate::load::model::ContextValue;
use crate::suggest::did_you_mean;

/// Deeper nesting than this is refused, so that no expression can overflow the stack.
const MAX_DEPTH: usize = 32;
/// More `&&`, `||` and comparisons than this are refused, for the same reason.
const MAX_OPERATORS: usize = 256;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    /// As written, for `condition false: <expr>`.
    pub text: String,
    expr: Expr,
    /// Whether it calls `success()`, `failure()` or `always()`; if not, `success()` is implied.
    status_aware: bool,
}

/// A value of the language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Text.
    Str(String),
    /// A number.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A list context variable.
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Success,
    Failure,
    Always,
    Exists,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Value),
    Not(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// A problem with a condition, at a byte range of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConditionError {
    /// What is wrong.
    pub message: String,
    /// Where, within the condition's text.
    pub start: usize,
    /// How long the offending part is.
    pub len: usize,
    /// How to fix it.
    pub help: Option<String>,
}

/// What the status functions see: how the step's dependencies ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DependencyState {
    /// Every dependency succeeded.
    pub all_succeeded: bool,
    /// Some dependency failed, or was skipped because something before it failed.
    pub any_failed: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
}

/// The tokens of a condition, each with its start and length.
fn lex(text: &str) -> Result<Vec<(Tok, usize, usize)>, ConditionError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let (tok, len) = token(text, i)?;
        out.push((tok, i, len));
        i += len;
    }
    Ok(out)
}

/// The token that starts at `i`, and its length.
fn token(text: &str, i: usize) -> Result<(Tok, usize), ConditionError> {
    let bytes = text.as_bytes();
    let c = bytes[i];
    Ok(match c {
        b'(' => (Tok::LParen, 1),
        b')' => (Tok::RParen, 1),
        b',' => (Tok::Comma, 1),
        b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => (Tok::Dot, 1),
        b'\'' | b'"' => {
            let close = text[i + 1..]
                .find(c as char)
                .ok_or_else(|| ConditionError {
                    message: "this string is never closed".into(),
                    start: i,
                    len: text.len() - i,
                    help: Some(format!("end it with {}", c as char)),
                })?;
            (Tok::Str(text[i + 1..i + 1 + close].to_string()), close + 2)
        }
        b'0'..=b'9' | b'.' => {
            let len = text[i..]
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            let n = text[i..i + len]
                .parse::<f64>()
                .map_err(|_| ConditionError {
                    message: format!("`{}` is not a number", &text[i..i + len]),
                    start: i,
                    len,
                    help: None,
                })?;
            (Tok::Num(n), len)
        }
        c if c.is_ascii_alphabetic() || c == b'_' => {
            let len = text[i..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                .count();
            (Tok::Ident(text[i..i + len].to_string()), len)
        }
        _ => {
            let op = operator(text, i)?;
            (Tok::Op(op), op.len())
        }
    })
}

/// The operator that starts at `i`.
fn operator(text: &str, i: usize) -> Result<&'static str, ConditionError> {
    const OPERATORS: [&str; 9] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!"];
    if let Some(op) = OPERATORS.iter().find(|op| text[i..].starts_with(**op)) {
        return Ok(op);
    }
    let ch = text[i..].chars().next().unwrap_or('?');
    Err(ConditionError {
        message: format!("unexpected `{ch}`"),
        start: i,
        len: ch.len_utf8(),
        help: Some("conditions use `==`, `!=`, `<`, `>`, `&&`, `||`, `!` and parentheses".into()),
    })
}

struct Parser<'a> {
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
    text: &'a str,
    vars: &'a Vars,
    depth: usize,
    operators: usize,
    status_aware: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _, _)| t)
    }

    fn here(&self) -> (usize, usize) {
        self.toks
            .get(self.pos)
            .map_or((self.text.len(), 0), |(_, s, l)| (*s, *l))
    }

    fn error(&self, message: impl Into<String>, help: Option<String>) -> ConditionError {
        let (start, len) = self.here();
        ConditionError {
            message: message.into(),
            start,
            len,
            help,
        }
    }

    fn nested(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                format!("the condition nests deeper than {MAX_DEPTH} levels"),
                None,
            ));
        }
        Ok(())
    }

    /// Counts a binary operator: a long `a && b && ...` chain is a deep tree, which
    /// evaluating and dropping would walk recursively.
    fn operator(&mut self) -> Result<(), ConditionError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(self.error(
                format!("the condition has more than {MAX_OPERATORS} operators"),
                None,
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        self.chain("||", Op::Or, Self::and)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        self.chain("&&", Op::And, Self::not)
    }

    /// `next (token next)*`, as `op` applied from the left.
    fn chain(
        &mut self,
        token: &'static str,
        op: Op,
        next: fn(&mut Self) -> Result<Expr, ConditionError>,
    ) -> Result<Expr, ConditionError> {
        let mut left = next(self)?;
        while self.peek() == Some(&Tok::Op(token)) {
            self.operator()?;
            self.pos += 1;
            let right = next(self)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ConditionError> {
        if self.peek() == Some(&Tok::Op("!")) {
            self.pos += 1;
            self.nested()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ConditionError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => Op::Eq,
            Some(Tok::Op("!=")) => Op::Ne,
            Some(Tok::Op("<")) => Op::Lt,
            Some(Tok::Op(">")) => Op::Gt,
            Some(Tok::Op("<=")) => Op::Le,
            Some(Tok::Op(">=")) => Op::Ge,
            _ => return Ok(left),
        };
        self.operator()?;
        self.pos += 1;
        let right = self.primary()?;
        Ok(Expr::Bin(op, Box::new(left), Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        let Some((tok, start, len)) = self.toks.get(self.pos).cloned() else {
            return Err(self.error(
                "the condition ends too early",
                Some("complete the expression".into()),
            ));
        };
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Expr::Lit(Value::Str(s))),
            Tok::Num(n) => Ok(Expr::Lit(Value::Num(n))),
            Tok::LParen => {
                self.nested()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.error("expected `)`", Some("close the parenthesis".into())));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Ident(name) if self.peek() == Some(&Tok::LParen) => self.call(&name, start, len),
            Tok::Ident(name) if name == "env" && self.peek() == Some(&Tok::Dot) => {
                self.pos += 1;
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Ident(var), _, _)) => {
                        self.pos += 1;
                        Ok(Expr::Lit(Value::Str(
                            std::env::var(&var).unwrap_or_default(),
                        )))
                    }
                    _ => Err(self.error(
                        "expected a variable name after `env.`",
                        Some("e.g. `env.CI == 'true'`".into()),
                    )),
                }
            }
            Tok::Ident(name) if name == "matrix" && self.peek() == Some(&Tok::Dot) => {
                self.pos += 1;
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Ident(key), _, key_len)) => {
                        self.pos += 1;
                        let whole = self.toks[self.pos - 1].1 + key_len - start;
                        self.name(&format!("matrix.{key}"), start, whole)
                    }
                    _ => Err(self.error(
                        "expected a key of the step's matrix after `matrix.`",
                        Some("e.g. `matrix.toolchain == 'nightly'`".into()),
                    )),
                }
            }
            Tok::Ident(name) => self.name(&name, start, len),
            Tok::Op(op) => Err(ConditionError {
                message: format!("expected a value, found `{op}`"),
                start,
                len,
                help: None,
            }),
            Tok::RParen | Tok::Comma | Tok::Dot => Err(ConditionError {
                message: "expected a value".into(),
                start,
                len,
                help: None,
            }),
        }
    }

    fn name(&self, name: &str, start: usize, len: usize) -> Result<Expr, ConditionError> {
        match name {
            "true" => return Ok(Expr::Lit(Value::Bool(true))),
            "false" => return Ok(Expr::Lit(Value::Bool(false))),
            "os" => return Ok(Expr::Lit(Value::Str(std::env::consts::OS.into()))),
            "arch" => return Ok(Expr::Lit(Value::Str(std::env::consts::ARCH.into()))),
            _ => {}
        }
        match self.vars.get(name) {
            Some(ContextValue::One(s)) => Ok(Expr::Lit(Value::Str(s.clone()))),
            Some(ContextValue::Many(items)) => Ok(Expr::Lit(Value::List(items.clone()))),
            None => {
                let known = self.vars.names().chain(["os", "arch", "true", "false"]);
                Err(ConditionError {
                    message: format!("`{name}` is not a known name"),
                    start,
                    len,
                    help: Some(did_you_mean(name, known).unwrap_or_else(|| {
                        format!(
                            "names are context variables (pass `--context {name}=VALUE` or set a default under `context:`), `os`, `arch` and `env.NAME`"
                        )
                    })),
                })
            }
        }
    }

    fn call(&mut self, name: &str, start: usize, len: usize) -> Result<Expr, ConditionError> {
        let (func, arity) = match name {
            "success" => (Func::Success, 0),
            "failure" => (Func::Failure, 0),
            "always" => (Func::Always, 0),
            "exists" => (Func::Exists, 1),
            "contains" => (Func::Contains, 2),
            _ => {
                let funcs = ["success", "failure", "always", "exists", "contains"];
                return Err(ConditionError {
                    message: format!("`{name}` is not a function"),
                    start,
                    len,
                    help: Some(
                        did_you_mean(name, funcs)
                            .unwrap_or_else(|| format!("the functions are: {}", funcs.join(", "))),
                    ),
                });
            }
        };
        if matches!(func, Func::Success | Func::Failure | Func::Always) {
            self.status_aware = true;
        }
        self.pos += 1; // `(`
        self.nested()?;
        let mut args = Vec::new();
        if self.peek() != Some(&Tok::RParen) {
            loop {
                args.push(self.or()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.depth -= 1;
        if self.peek() != Some(&Tok::RParen) {
            return Err(self.error("expected `)` or `,`", None));
        }
        self.pos += 1;
        if args.len() != arity {
            return Err(ConditionError {
                message: format!(
                    "`{name}()` takes {arity} argument{}, found {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
                start,
                len,
                help: None,
            });
        }
        Ok(Expr::Call(func, args))
    }
}

/// Parses and checks a condition; names are resolved from `vars`.
pub(crate) fn parse(text: &str, vars: &Vars) -> Result<Condition, ConditionError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(ConditionError {
            message: "the condition is empty".into(),
            start: 0,
            len: text.len(),
            help: Some("write an expression, e.g. `always()` or `target == 'release'`".into()),
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        text,
        vars,
        depth: 0,
        operators: 0,
        status_aware: false,
    };
    let expr = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.error(
            "unexpected text after the condition",
            Some("join conditions with `&&` or `||`".into()),
        ));
    }
    Ok(Condition {
        text: text.trim().to_string(),
        expr,
        status_aware: p.status_aware,
    })
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Str(s) => !matches!(s.as_str(), "" | "false" | "0"),
            Value::List(items) => !items.is_empty(),
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::List(items) => items.join(" "),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn compare(op: Op, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (a.number(), b.number()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => Some(a.text().cmp(&b.text())),
        },
    };
    match op {
        Op::Eq => ord == Some(Ordering::Equal),
        Op::Ne => ord != Some(Ordering::Equal),
        Op::Lt => ord == Some(Ordering::Less),
        Op::Gt => ord == Some(Ordering::Greater),
        Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        Op::And | Op::Or => false,
    }
}

fn eval(expr: &Expr, deps: DependencyState, cwd: &Path) -> Value {
    match expr {
        Expr::Lit(v) => v.clone(),
        Expr::Not(e) => Value::Bool(!eval(e, deps, cwd).truthy()),
        Expr::Bin(Op::And, a, b) => {
            Value::Bool(eval(a, deps, cwd).truthy() && eval(b, deps, cwd).truthy())
        }
        Expr::Bin(Op::Or, a, b) => {
            Value::Bool(eval(a, deps, cwd).truthy() || eval(b, deps, cwd).truthy())
        }
        Expr::Bin(op, a, b) => Value::Bool(compare(*op, &eval(a, deps, cwd), &eval(b, deps, cwd))),
        Expr::Call(Func::Success, _) => Value::Bool(deps.all_succeeded),
        Expr::Call(Func::Failure, _) => Value::Bool(deps.any_failed),
        Expr::Call(Func::Always, _) => Value::Bool(true),
        Expr::Call(Func::Exists, args) => {
            let path = args
                .first()
                .map(|a| eval(a, deps, cwd).text())
                .unwrap_or_default();
            Value::Bool(!path.is_empty() && cwd.join(path).exists())
        }
        Expr::Call(Func::Contains, args) => {
            let (Some(hay), Some(needle)) = (args.first(), args.get(1)) else {
                return Value::Bool(false);
            };
            let needle = eval(needle, deps, cwd).text();
            Value::Bool(match eval(hay, deps, cwd) {
                Value::List(items) => items.contains(&needle),
                other => other.text().contains(&needle),
            })
        }
    }
}

impl Condition {
    /// Whether it calls `success()`, `failure()` or `always()`, and so is asked even when a
    /// dependency did not succeed.
    pub(crate) fn status_aware(&self) -> bool {
        self.status_aware
    }

    /// Whether the step runs, given how its dependencies ended; `exists()` looks in `cwd`.
    pub(crate) fn holds(&self, deps: DependencyState, cwd: &Path) -> bool {
        if !self.status_aware && !deps.all_succeeded {
            return false;
        }
        eval(&self.expr, deps, cwd).truthy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.insert("target", ContextValue::One("librex/equilibria".into()));
        v.insert("env", ContextValue::One("staging".into()));
        v.insert("count", ContextValue::One("10".into()));
        v.insert(
            "packages",
            ContextValue::Many(vec!["alpha".into(), "beta".into()]),
        );
        v
    }

    const OK: DependencyState = DependencyState {
        all_succeeded: true,
        any_failed: false,
    };
    const FAILED: DependencyState = DependencyState {
        all_succeeded: false,
        any_failed: true,
    };
    const SKIPPED: DependencyState = DependencyState {
        all_succeeded: false,
        any_failed: false,
    };

    fn holds(text: &str, deps: DependencyState) -> bool {
        parse(text, &vars())
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
            .holds(deps, Path::new("."))
    }

    #[test]
    fn operators() {
        assert!(holds("env == 'staging'", OK));
        assert!(holds("env != \"prod\"", OK));
        assert!(holds("count > 9 && count < 11", OK));
        assert!(holds("count >= 10 && count <= 10", OK));
        assert!(holds("count > 9.5", OK));
        assert!(holds("'b' > 'a'", OK));
        assert!(holds("!(env == 'prod') || false", OK));
        assert!(!holds("!true", OK));
        assert!(holds(
            "(env == 'prod' || env == 'staging') && target == 'librex/equilibria'",
            OK
        ));
        assert!(holds("os == 'linux' || os == 'macos' || os != ''", OK));
        assert!(holds("arch != ''", OK));
        assert!(holds("env.FLOW_CONDITION_TEST_UNSET == ''", OK));
    }

    #[test]
    fn functions() {
        assert!(holds("contains(packages, 'beta')", OK));
        assert!(!holds("contains(packages, 'gamma')", OK));
        assert!(holds("contains(target, 'equi')", OK));
        assert!(holds("exists('Cargo.toml')", OK));
        assert!(!holds("exists('no/such/file')", OK));
        assert!(holds("always()", FAILED));
        assert!(holds("failure()", FAILED));
        assert!(!holds("failure()", OK));
        assert!(!holds("failure()", SKIPPED));
        assert!(holds("success()", OK));
        assert!(!holds("success()", SKIPPED));
        // Without a status function, success() is implied.
        assert!(!holds("true", FAILED));
        assert!(!holds("true", SKIPPED));
        assert!(holds("always() && env == 'staging'", FAILED));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = |t: &str| parse(t, &vars()).unwrap_err();
        let e = err("taget == 'x'");
        assert_eq!((e.start, e.len), (0, 5));
        assert_eq!(e.help.as_deref(), Some("did you mean `target`?"));
        assert_eq!(err("env == ").message, "the condition ends too early");
        assert_eq!(err("env = 'x'").message, "unexpected `=`");
        assert_eq!(
            err("sucess()").help.as_deref(),
            Some("did you mean `success`?")
        );
        assert_eq!(
            err("exists()").message,
            "`exists()` takes 1 argument, found 0"
        );
        assert_eq!(err("(env == 'x'").message, "expected `)`");
        assert_eq!(err("'open").message, "this string is never closed");
        assert_eq!(
            err("env == 'x' env").message,
            "unexpected text after the condition"
        );
        assert!(err(&"(".repeat(10_000)).message.contains("nests deeper"));
        assert!(err(&"!".repeat(10_000)).message.contains("nests deeper"));
        assert_eq!(err("").message, "the condition is empty");
        let long = format!("{}true", "true && ".repeat(30_000));
        assert!(err(&long).message.contains("more than 256 operators"));
    }
}
