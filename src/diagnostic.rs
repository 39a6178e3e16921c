//! Problems found in workflows, rendered as miette diagnostics.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use crate::source::{Source, Span};

/// One thing wrong with a workflow or the command line: what, where, and how to fix it.
/// Boxed, so that results carrying one stay small.
#[derive(Debug)]
pub struct Problem(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: &'static str,
    message: String,
    source: Option<NamedSource<std::sync::Arc<String>>>,
    location: Option<String>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl Problem {
    /// A problem with no place in a file (a missing file, a bad option).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            message: message.into(),
            source: None,
            location: None,
            labels: Vec::new(),
            help: None,
        }))
    }

    /// A problem at `span` of `source`, with `label` under the offending token.
    pub fn at(
        code: &'static str,
        message: impl Into<String>,
        source: &Source,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        let named = NamedSource::new(source.name.clone(), source.text.clone()).with_language(
            if source.name.ends_with(".toml") {
                "TOML"
            } else {
                "YAML"
            },
        );
        Self(Box::new(Inner {
            code,
            message: message.into(),
            source: Some(named),
            location: Some(source.location(span)),
            labels: vec![LabeledSpan::new_primary_with_span(Some(label.into()), span)],
            help: None,
        }))
    }

    /// Adds a secondary label in the same file.
    pub fn with_label(mut self, span: Span, label: impl Into<String>) -> Self {
        self.0
            .labels
            .push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }

    /// Adds the hint that says how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// Adds a hint only when there is one.
    pub fn with_help_opt(self, help: Option<String>) -> Self {
        match help {
            Some(h) => self.with_help(h),
            None => self,
        }
    }

    /// The stable code, e.g. `flow::unknown-key`.
    pub fn code_str(&self) -> &'static str {
        self.0.code
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// `file:line:col` of the primary label, when the problem has a place.
    pub fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.0.source.is_none() || self.0.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.0.labels.iter().cloned()))
    }
}

/// Every problem found so far; loading and planning report all of them, not just the first.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Records every problem of another collection.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was found, else the problems.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Self(vec![p])
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
