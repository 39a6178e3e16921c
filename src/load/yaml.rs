//! YAML into the spanned tree, built straight from the events of serde-saphyr's parser
//! (granit-parser): every node keeps its byte span, no recursion follows the input's depth,
//! and aliases are expanded under a budget, so alias bombs and deep nesting end in a clear
//! error, fast, with bounded memory.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

use super::node::{Key, Node, Value};
use crate::diagnostic::Problem;
use crate::source::{Source, Span};

/// Nesting deeper than this is refused; no workflow needs a tenth of it.
pub(crate) const MAX_DEPTH: usize = 64;
/// What to do about a document nested too deeply, in YAML or TOML.
pub(crate) const TOO_DEEP_HELP: &str =
    "a workflow never needs this much nesting; write it out plainly";
/// How many nodes aliases may copy in all; a workflow that reuses a block of steps a few
/// times is far below, a "billion laughs" far above.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses a YAML document into the tree.
pub(crate) fn parse(source: &Source) -> Result<Node, Problem> {
    let text = source.text.as_str();
    let mut options = granit_parser::Options::default();
    // The parser's own limits stop runaway nesting before our depth check could.
    options.block_nesting_limit = MAX_DEPTH + 2;
    options.flow_nesting_limit = MAX_DEPTH + 2;
    let mut builder = Builder {
        source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_budget: MAX_ALIAS_NODES,
        root: None,
    };
    for event in Parser::new_from_str_with_options(text, options) {
        match event {
            Ok((event, span)) => builder.event(event, span)?,
            Err(e) => return Err(syntax_error(source, &e)),
        }
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        span: Span::new(0, 0),
    }))
}

fn syntax_error(source: &Source, err: &granit_parser::ScanError) -> Problem {
    let info = err.info();
    let lower = info.to_lowercase();
    let (message, help) = if lower.contains("unknown anchor") {
        (
            "an alias refers to no anchor".to_string(),
            "define the anchor (`&name`) before the alias (`*name`) that uses it",
        )
    } else if lower.contains("nesting") || lower.contains("recursion") || lower.contains("depth") {
        (
            format!("the document nests deeper than {MAX_DEPTH} levels"),
            TOO_DEEP_HELP,
        )
    } else {
        (info.trim().to_string(), "fix the YAML syntax at this point")
    };
    let span = marker_span(source, err.marker(), 0);
    Problem::at(
        "flow::syntax",
        format!("invalid YAML: {message}"),
        source,
        span,
        "here",
    )
    .with_help(help)
}

/// A byte span at a parser marker, falling back to the line and column.
fn marker_span(source: &Source, m: &granit_parser::Marker, len: usize) -> Span {
    let text = source.text.as_str();
    if let Some(b) = m.byte_offset() {
        let start = b.min(text.len());
        return Span::new(start, len.min(text.len() - start));
    }
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == m.line() {
            let within = l.char_indices().nth(m.col()).map_or(l.len(), |(b, _)| b);
            return Span::new(offset + within, 0);
        }
        offset += l.len();
    }
    Span::new(text.len(), 0)
}

fn event_span(source: &Source, span: &granit_parser::Span) -> Span {
    match span.byte_range() {
        Some(r) if r.end <= source.text.len() => Span::new(r.start, r.end - r.start),
        _ => marker_span(source, &span.start, 0),
    }
}

enum Frame {
    List {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'s> {
    source: &'s Source,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    root: Option<Node>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: granit_parser::Span) -> Result<(), Problem> {
        match event {
            Event::DocumentStart(..) if self.root.is_some() => Err(Problem::at(
                "flow::syntax",
                "invalid YAML: the file holds more than one document",
                self.source,
                event_span(self.source, &span),
                "a second document starts here",
            )
            .with_help("a workflow file is one YAML document; remove the `---` and what follows, or merge them")),
            Event::Scalar(text, style, anchor, tag) => {
                let span = event_span(self.source, &span);
                let is_str = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let value = scalar(text.into_owned(), style, is_str);
                let node = Node { value, span };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.check_depth(&span)?;
                let span = event_span(self.source, &span);
                self.stack.push(Frame::List { span: Span::new(span.start, 0), anchor, items: Vec::new() });
                Ok(())
            }
            Event::MappingStart(_, anchor, _) => {
                self.check_depth(&span)?;
                let span = event_span(self.source, &span);
                self.stack.push(Frame::Map { span: Span::new(span.start, 0), anchor, entries: Vec::new(), key: None });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return Ok(()) };
                let (node, anchor) = match frame {
                    Frame::List { span, anchor, items } => (Node { value: Value::List(items), span }, anchor),
                    Frame::Map { span, anchor, entries, .. } => {
                        (Node { value: Value::Map(self.finish_map(entries)?), span }, anchor)
                    }
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)
            }
            Event::Alias(id) => {
                let at = event_span(self.source, &span);
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Problem::at("flow::syntax", "invalid YAML: unknown alias", self.source, at, "no such anchor")
                        .with_help("define the anchor (`&name`) before using it (`*name`)"));
                };
                let size = count_nodes(target);
                if size > self.alias_budget {
                    return Err(Problem::at(
                        "flow::syntax",
                        "invalid YAML: the document expands into too much data through aliases",
                        self.source,
                        at,
                        "expanding this alias goes past the limit",
                    )
                    .with_help("aliases (`*name`) are expanded where they are used; a workflow never needs this many"));
                }
                self.alias_budget -= size;
                let mut node = target.clone();
                node.span = at;
                self.push(node)
            }
            _ => Ok(()),
        }
    }

    fn check_depth(&self, span: &granit_parser::Span) -> Result<(), Problem> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Problem::at(
                "flow::syntax",
                format!("invalid YAML: the document nests deeper than {MAX_DEPTH} levels"),
                self.source,
                event_span(self.source, span),
                "too deep",
            )
            .with_help(TOO_DEEP_HELP));
        }
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<(), Problem> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::List { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let name = k
                        .scalar_text()
                        .map_or_else(|| format!("<{}>", k.kind()), str::to_string);
                    entries.push((Key { name, span: k.span }, node));
                }
            },
        }
        Ok(())
    }

    /// Applies `<<` merge keys (explicit keys win) and refuses duplicate keys.
    fn finish_map(&self, entries: Vec<(Key, Node)>) -> Result<Vec<(Key, Node)>, Problem> {
        let mut out: Vec<(Key, Node)> = Vec::with_capacity(entries.len());
        let mut merged: Vec<(Key, Node)> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::with_capacity(entries.len());
        for (key, value) in entries {
            if key.name == "<<" {
                let maps: Vec<Node> = match value.value {
                    Value::Map(_) => vec![value],
                    Value::List(items) => items,
                    _ => vec![value],
                };
                for m in maps {
                    match m.value {
                        Value::Map(es) => merged.extend(es),
                        _ => {
                            return Err(Problem::at(
                                "flow::syntax",
                                "invalid YAML: `<<` merges maps only",
                                self.source,
                                m.span,
                                "not a map",
                            ));
                        }
                    }
                }
                continue;
            }
            if let Some(first) = seen.get(&key.name) {
                return Err(Problem::at(
                    "flow::duplicate-key",
                    format!("duplicate key `{}`", key.name),
                    self.source,
                    key.span,
                    "written again here",
                )
                .with_label(*first, "first written here")
                .with_help("a key may appear once in a map; remove one of them"));
            }
            seen.insert(key.name.clone(), key.span);
            out.push((key, value));
        }
        for (key, value) in merged {
            if !seen.contains_key(&key.name) {
                seen.insert(key.name.clone(), key.span);
                out.push((key, value));
            }
        }
        Ok(out)
    }
}

/// How many nodes a subtree holds, counted without recursion.
fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::List(items) => stack.extend(items.iter()),
            Value::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}

/// A scalar as YAML 1.2's core schema reads it; the text is kept as written.
fn scalar(text: String, style: ScalarStyle, tagged_str: bool) -> Value {
    if style != ScalarStyle::Plain || tagged_str {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Value::Bool(text),
        t if is_number(t) => Value::Number(text),
        _ => Value::String(text),
    }
}

fn is_number(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(t, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let int_ok = int.bytes().all(|b| b.is_ascii_digit());
        let frac_ok = frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()));
        int_ok && frac_ok && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    };
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn parse_str(text: &str) -> Result<Node, Problem> {
        parse(&SourceFile::new(
            std::path::Path::new("t.yaml"),
            text.to_string(),
        ))
    }

    #[test]
    fn scalars_keep_their_text() {
        let n = parse_str("a: true\nb: 1.10\nc: 'x'\nd: ~\ne: 0x1F\nf: !!str 5\n").unwrap();
        assert!(matches!(&n.get("a").unwrap().value, Value::Bool(s) if s == "true"));
        assert!(matches!(&n.get("b").unwrap().value, Value::Number(s) if s == "1.10"));
        assert!(matches!(&n.get("c").unwrap().value, Value::String(s) if s == "x"));
        assert!(matches!(n.get("d").unwrap().value, Value::Null));
        assert!(matches!(&n.get("e").unwrap().value, Value::Number(_)));
        assert!(matches!(&n.get("f").unwrap().value, Value::String(s) if s == "5"));
        let b = n.get("b").unwrap();
        assert_eq!((b.span.start, b.span.len), (11, 4));
    }

    #[test]
    fn numbers() {
        for t in [
            "1", "-2", "+3", "1.5", ".5", "1e3", "1.2E-3", ".inf", "-.inf", ".nan", "0o17",
        ] {
            assert!(is_number(t), "{t}");
        }
        for t in ["1.2.3", "e3", ".", "1e", "abc", "1_000", "0x", "--1"] {
            assert!(!is_number(t), "{t}");
        }
    }

    #[test]
    fn aliases_merges_and_duplicates() {
        let n = parse_str("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n").unwrap();
        let u = n.get("use").unwrap();
        assert!(matches!(&u.get("x").unwrap().value, Value::Number(s) if s == "1"));
        assert!(matches!(&u.get("y").unwrap().value, Value::Number(s) if s == "3"));
        assert!(parse_str("a: 1\na: 2\n").is_err());
        assert!(parse_str("a: 1\n---\nb: 2\n").is_err());
    }
}
