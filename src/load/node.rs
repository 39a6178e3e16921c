//! The spanned document tree that both YAML and TOML are read into, so that one builder turns
//! either into the model with the same checks and the same messages.

use crate::source::Span;

/// A value and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written; for maps and lists, where they start.
    pub span: Span,
}

/// A key of a map and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// The key's text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// What a node holds. Scalars other than strings keep their source text, so that `run: true`
/// or `run: 1.10` is the command text exactly as written.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`, with its text.
    Bool(String),
    /// An integer or float, with its text.
    Number(String),
    /// A string.
    String(String),
    /// A sequence or array.
    List(Vec<Node>),
    /// A mapping or table, in written order.
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// "a string", "a list", ... for "expected X, found Y".
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// The text of a scalar (string, number, boolean); `None` for null, lists and maps.
    pub(crate) fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Bool(s) | Value::Number(s) | Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a map.
    pub(crate) fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key` of a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}
