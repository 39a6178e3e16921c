//! TOML into the spanned tree, for workflows declared in Cargo manifests.

use toml::de::{DeTable, DeValue};

use super::node::{Key, Node, Value};
use crate::diagnostic::Problem;
use crate::source::{Source, Span};

/// Nesting deeper than this is refused, as in YAML.
const MAX_DEPTH: usize = 64;

/// Parses a whole TOML document into the tree.
pub(crate) fn parse(source: &Source) -> Result<Node, Problem> {
    let text = source.text.as_str();
    let table = DeTable::parse(text).map_err(|err| {
        let span = err
            .span()
            .map(|r| Span::new(r.start, r.end.saturating_sub(r.start)))
            .unwrap_or_default();
        let message = err.message().trim();
        if message.contains("recursion") {
            return Problem::at(
                "flow::syntax",
                "invalid TOML: the document nests deeper than the parser allows",
                source,
                span,
                "too deep",
            )
            .with_help(super::yaml::TOO_DEEP_HELP);
        }
        Problem::at(
            "flow::syntax",
            format!("invalid TOML: {message}"),
            source,
            span,
            "here",
        )
        .with_help("fix the TOML syntax at this point")
    })?;
    let span = to_span(table.span());
    convert_table(source, table.into_inner(), span, 0)
}

fn to_span(r: std::ops::Range<usize>) -> Span {
    Span::new(r.start, r.end.saturating_sub(r.start))
}

fn convert_table(
    source: &Source,
    table: DeTable<'_>,
    span: Span,
    depth: usize,
) -> Result<Node, Problem> {
    let mut entries = Vec::with_capacity(table.len());
    for (k, v) in table {
        let key = Key {
            name: k.get_ref().to_string(),
            span: to_span(k.span()),
        };
        let vspan = to_span(v.span());
        entries.push((key, convert(source, v.into_inner(), vspan, depth + 1)?));
    }
    Ok(Node {
        value: Value::Map(entries),
        span,
    })
}

fn convert(source: &Source, value: DeValue<'_>, span: Span, depth: usize) -> Result<Node, Problem> {
    if depth > MAX_DEPTH {
        return Err(Problem::at(
            "flow::too-deep",
            format!("TOML nests deeper than {MAX_DEPTH} levels"),
            source,
            span,
            "too deep",
        )
        .with_help(super::yaml::TOO_DEEP_HELP));
    }
    let value = match value {
        DeValue::String(s) => Value::String(s.into_owned()),
        DeValue::Integer(i) => Value::Number(i.as_str().to_string()),
        DeValue::Float(f) => Value::Number(f.as_str().to_string()),
        DeValue::Boolean(b) => Value::Bool(b.to_string()),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let ispan = to_span(item.span());
                out.push(convert(source, item.into_inner(), ispan, depth + 1)?);
            }
            Value::List(out)
        }
        DeValue::Table(t) => return convert_table(source, t, span, depth),
    };
    Ok(Node { value, span })
}
