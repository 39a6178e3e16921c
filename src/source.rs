//! Source files and byte spans: what every diagnostic points into.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A byte range inside a [`SourceFile`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Length in bytes; zero points at a position.
    pub len: usize,
}

impl Span {
    /// A span from `start` covering `len` bytes.
    pub const fn new(start: usize, len: usize) -> Self {
        Self { start, len }
    }

    /// The exclusive end offset.
    pub const fn end(&self) -> usize {
        self.start + self.len
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.len).into()
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub(crate) const fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

/// The text of one file that workflows were read from.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to a person: relative to the current directory where it can be.
    pub name: String,
    /// The path on disk.
    pub path: PathBuf,
    /// The whole text; shared with the diagnostics that quote it.
    pub text: Arc<String>,
}

/// A shared handle on a source file.
pub(crate) type Source = Arc<SourceFile>;

impl SourceFile {
    /// Wraps text read from `path`.
    pub fn new(path: &Path, text: String) -> Source {
        Arc::new(Self {
            name: display_path(path),
            path: path.to_path_buf(),
            text: Arc::new(text),
        })
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// `name:line:col` of a span, as compilers print it.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.name)
    }
}

/// The largest char boundary at or below `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A path relative to the current directory when it lies below it, else as given.
pub(crate) fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
        && !rel.as_os_str().is_empty()
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}
