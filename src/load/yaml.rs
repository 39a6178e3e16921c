//! YAML into the spanned tree, through serde-saphyr with budgets that stop alias bombs and
//! deep nesting early.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::node::{Key, Node, Value};
use crate::diagnostic::Problem;
use crate::source::{Source, Span};

/// Nesting deeper than this is refused; no workflow needs a tenth of it.
const MAX_DEPTH: usize = 64;

/// Parses a YAML document into the tree.
pub fn parse(source: &Source) -> Result<Node, Problem> {
    let text = source.text.as_str();
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    // Room for very large workflows (a 100,000-step chain is ~1M events); alias limits stay
    // at their defaults, which are what stops a billion-laughs document.
    budget.max_events = 50_000_000;
    budget.max_nodes = 10_000_000;
    budget.max_depth = MAX_DEPTH;
    options.budget = Some(budget);
    options.with_snippet = false;
    options.strict_booleans = true;
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(raw) => Ok(convert(text, raw)),
        Err(err) => Err(syntax_problem(source, &err)),
    }
}

fn syntax_problem(source: &Source, err: &serde_saphyr::Error) -> Problem {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(err);
    let message = message.trim().to_string();
    let span = err
        .location()
        .map(|loc| span_of(source.text.as_str(), &loc))
        .unwrap_or_default();
    let lower = message.to_lowercase();
    let (message, help) = if lower.contains("anchor") || lower.contains("alias") {
        (
            "the document expands into too much data through aliases".to_string(),
            "aliases (`*name`) are expanded where they are used; a workflow never needs this many",
        )
    } else if lower.contains("recursion") || lower.contains("depth") || lower.contains("nesting") {
        (
            format!("the document nests deeper than {MAX_DEPTH} levels"),
            "a workflow never needs this much nesting; write it out plainly",
        )
    } else if lower.contains("budget") {
        (
            "the document is larger than a workflow can be".to_string(),
            "split it into smaller workflows",
        )
    } else {
        (message, "fix the YAML syntax at this point")
    };
    Problem::at(
        "flow::syntax",
        format!("invalid YAML: {message}"),
        source,
        span,
        "here",
    )
    .with_help(help)
}

/// A byte span from a location, falling back to the line and column when bytes are not known.
fn span_of(text: &str, loc: &serde_saphyr::Location) -> Span {
    let s = loc.span();
    if let (Some(off), Some(len)) = (s.byte_offset(), s.byte_len()) {
        let off = (off as usize).min(text.len());
        let len = (len as usize).min(text.len() - off);
        return Span::new(off, len);
    }
    // Character-based line/column to a byte offset.
    let (line, col) = (loc.line() as usize, loc.column() as usize);
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within = l
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(l.len(), |(b, _)| b);
            return Span::new(offset + within, 0);
        }
        offset += l.len();
    }
    Span::new(text.len(), 0)
}

fn convert(text: &str, raw: Spanned<Raw>) -> Node {
    let span = span_of(text, &raw.referenced);
    let value = match raw.value {
        Raw::Null => Value::Null,
        // Keep what was written: `run: 1.10` is the text `1.10`, not the float 1.1.
        Raw::Bool(b) => Value::Bool(
            written(text, span)
                .unwrap_or(if b { "true" } else { "false" })
                .to_string(),
        ),
        Raw::Number(n) => Value::Number(written(text, span).map_or(n, str::to_string)),
        Raw::String(s) => Value::String(s),
        Raw::List(items) => Value::List(items.into_iter().map(|i| convert(text, i)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = convert(text, k);
                    let name = key
                        .scalar_text()
                        .map_or_else(|| format!("<{}>", key.kind()), str::to_string);
                    (
                        Key {
                            name,
                            span: key.span,
                        },
                        convert(text, v),
                    )
                })
                .collect(),
        ),
    };
    Node { value, span }
}

fn written(text: &str, span: Span) -> Option<&str> {
    text.get(span.start..span.end()).filter(|s| !s.is_empty())
}

/// What serde-saphyr hands us before spans are turned into byte ranges.
enum Raw {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    List(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Number(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Number(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Number(v.to_string()))
    }
    fn visit_char<E>(self, v: char) -> Result<Raw, E> {
        Ok(Raw::String(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::String(v))
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}
