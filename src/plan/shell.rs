//! Where a `${name}` stands in a shell command (outside quotes, inside `'...'` or inside
//! `"..."`), so that its value can be written to stay exactly one literal word there.

use crate::load::model::ContextValue;

/// The quoting around a position of a shell command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Outside any quotes: the value is quoted as needed.
    Unquoted,
    /// Inside `'...'`: the quote is closed, the value written quoted, the quote reopened.
    Single,
    /// Inside `"..."`: `\`, `"`, `$` and `` ` `` are escaped.
    Double,
    /// Inside a here-document's text: with `expand`, `\`, `$` and `` ` `` are escaped;
    /// without (`<<'EOF'`), nothing is read there. A line break could end it, so a value
    /// with one cannot stand there.
    Heredoc {
        /// Whether the shell expands `$` in it.
        expand: bool,
    },
}

#[derive(Clone, Copy)]
enum Frame {
    /// The command itself, or the inside of `$(...)` (with its open-paren depth) or of
    /// `` `...` ``; `arith` inside `$((...))` and `((...))`, where `<<` is a shift.
    Code {
        parens: usize,
        backtick: bool,
        arith: bool,
    },
    Single,
    Double,
}

/// A here-document announced by `<<WORD` whose text starts on the next line.
struct Pending {
    delimiter: String,
    expand: bool,
    strip_tabs: bool,
}

/// The quoting context at each of `positions` (byte offsets, ascending) of `text`, read the
/// way `sh` reads quotes, backslashes, comments, here-documents, `$(...)` and backticks.
pub fn contexts(text: &str, positions: &[usize]) -> Vec<Context> {
    let bytes = text.as_bytes();
    let top = Frame::Code {
        parens: 0,
        backtick: false,
        arith: false,
    };
    let mut stack = vec![top];
    let mut pending: Vec<Pending> = Vec::new();
    let mut heredoc: Option<Pending> = None;
    let mut out = Vec::with_capacity(positions.len());
    let mut next = positions.iter().copied().peekable();
    let mut i = 0;
    loop {
        // Every position reached or passed (a skipped escaped character) takes the context here.
        while next.peek().is_some_and(|&p| p <= i) {
            next.next();
            out.push(match (&heredoc, stack.last()) {
                (Some(h), _) => Context::Heredoc { expand: h.expand },
                (None, Some(Frame::Single)) => Context::Single,
                (None, Some(Frame::Double)) => Context::Double,
                _ => Context::Unquoted,
            });
        }
        if i >= bytes.len() {
            break;
        }
        // A here-document's text runs line by line up to its delimiter.
        if let Some(h) = &heredoc {
            let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            let line = &text[i..end];
            let line = if h.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if line == h.delimiter {
                heredoc = if pending.is_empty() {
                    None
                } else {
                    Some(pending.remove(0))
                };
            }
            i = end + 1;
            continue;
        }
        let b = bytes[i];
        let frame = stack.last().copied().unwrap_or(top);
        match frame {
            Frame::Single => {
                if b == b'\'' {
                    stack.pop();
                }
            }
            Frame::Double => match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                _ => i += open_substitution(bytes, i, &mut stack),
            },
            Frame::Code {
                parens,
                backtick,
                arith,
            } => match b {
                b'\\' => i += 1,
                b'\'' => stack.push(Frame::Single),
                b'"' => stack.push(Frame::Double),
                b'#' if i == 0
                    || bytes[i - 1].is_ascii_whitespace()
                    || b";&|()<>".contains(&bytes[i - 1]) =>
                {
                    // A comment: nothing in it is quoting.
                    i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                    continue;
                }
                b'\n' if !pending.is_empty() => heredoc = Some(pending.remove(0)),
                b'(' if parens == 0 && bytes.get(i + 1) == Some(&b'(') => {
                    // `((...))`: arithmetic, read like `$((...))`.
                    stack.push(Frame::Code {
                        parens: 2,
                        backtick: false,
                        arith: true,
                    });
                    i += 1;
                }
                b'<' if !arith
                    && bytes.get(i + 1) == Some(&b'<')
                    && bytes.get(i + 2) != Some(&b'<') =>
                {
                    let (announced, used) = here_document(&text[i + 2..]);
                    pending.extend(announced);
                    i += 1 + used;
                }
                b'`' if backtick => {
                    stack.pop();
                }
                b'`' | b'$' => i += open_substitution(bytes, i, &mut stack),
                b'(' if parens > 0 => {
                    if let Some(Frame::Code { parens, .. }) = stack.last_mut() {
                        *parens += 1;
                    }
                }
                b')' if parens > 0 => {
                    if parens == 1 {
                        stack.pop();
                    } else if let Some(Frame::Code { parens, .. }) = stack.last_mut() {
                        *parens -= 1;
                    }
                }
                _ => {}
            },
        }
        if stack.is_empty() {
            stack.push(top);
        }
        i += 1;
    }
    out.resize(positions.len(), Context::Unquoted);
    out
}

/// Reads the `WORD` of `<<WORD` (or `<<-WORD`) from `rest`, the text after `<<`: the
/// here-document it announces, and how many bytes that took.
fn here_document(rest: &str) -> (Option<Pending>, usize) {
    let strip_tabs = rest.starts_with('-');
    let after_dash = usize::from(strip_tabs);
    let blanks =
        rest[after_dash..].len() - rest[after_dash..].trim_start_matches([' ', '\t']).len();
    let start = after_dash + blanks;
    let word_len = rest[start..]
        .find(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')'))
        .unwrap_or(rest.len() - start);
    let word = &rest[start..start + word_len];
    if word.is_empty() {
        return (None, start);
    }
    let expand = !word.contains(['\'', '"', '\\']);
    let delimiter: String = word
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    (
        Some(Pending {
            delimiter,
            expand,
            strip_tabs,
        }),
        start + word_len,
    )
}

/// Opens a command substitution (`` ` `` or `$(`) at `i`, whose inside is read as code;
/// returns how many bytes beyond `i` it took.
fn open_substitution(bytes: &[u8], i: usize, stack: &mut Vec<Frame>) -> usize {
    match bytes[i] {
        b'`' => {
            stack.push(Frame::Code {
                parens: 0,
                backtick: true,
                arith: false,
            });
            0
        }
        b'$' if bytes.get(i + 1) == Some(&b'(') => {
            // `$((` opens arithmetic; its second `(` is counted as it is read.
            stack.push(Frame::Code {
                parens: 1,
                backtick: false,
                arith: bytes.get(i + 2) == Some(&b'('),
            });
            1
        }
        _ => 0,
    }
}

/// A value written so that, in `context`, the shell reads it back as this literal text: one
/// word, or (outside quotes) one word per item of a list. In a here-document, the caller
/// must first refuse a value with a line break.
pub fn write(value: &ContextValue, context: Context) -> String {
    let joined = || match value {
        ContextValue::One(s) => s.clone(),
        ContextValue::Many(items) => items.join(" "),
    };
    let escaped = |specials: &[char]| {
        let text = joined();
        let mut out = String::with_capacity(text.len() + 2);
        for c in text.chars() {
            if specials.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    match context {
        Context::Unquoted => match value {
            ContextValue::One(s) => quote(s),
            ContextValue::Many(items) => {
                items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
            }
        },
        Context::Single => format!("'{}'", quote(&joined())),
        Context::Double => escaped(&['\\', '"', '$', '`']),
        // As a command substitution of a quoted word: the value in a here-document, and still
        // only text should the here-document have been misread and this be code.
        Context::Heredoc { expand: true } => format!("$(printf '%s' {})", quote(&joined())),
        Context::Heredoc { expand: false } => joined(),
    }
}

/// Quotes a word for `sh` only where it must be: `librex/equilibria` stays as it is.
pub fn quote(word: &str) -> String {
    shell_words::quote(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, marker: &str) -> Context {
        contexts(text, &[text.find(marker).unwrap()])[0]
    }

    #[test]
    fn reads_quotes_like_sh() {
        assert_eq!(at("echo X", "X"), Context::Unquoted);
        assert_eq!(at("echo 'a X'", "X"), Context::Single);
        assert_eq!(at("echo \"a X\"", "X"), Context::Double);
        assert_eq!(at("echo \"a $(b X)\"", "X"), Context::Unquoted);
        assert_eq!(at("echo \"$(b 'X')\"", "X"), Context::Single);
        assert_eq!(at("echo `b \"X\"`", "X"), Context::Double);
        assert_eq!(at("echo \\'X", "X"), Context::Unquoted);
        assert_eq!(at("echo \"\\\"X\"", "X"), Context::Double);
        assert_eq!(at("echo $(a (b) c) X", "X"), Context::Unquoted);
        assert_eq!(at("echo 'a\"b' \"X", "X"), Context::Double);
        // A quote in a comment is no quote.
        assert_eq!(at("# don't\necho X", "X"), Context::Unquoted);
        assert_eq!(at("echo a#b 'X'", "X"), Context::Single);
        // A position right after an escaped character still gets its context.
        assert_eq!(at("echo \"\\$Y X\"", "X"), Context::Double);
        // Here-documents.
        assert_eq!(
            at("cat <<EOF\nvalue: X\nEOF\necho Y", "X"),
            Context::Heredoc { expand: true }
        );
        assert_eq!(
            at("cat <<'EOF'\nvalue: X\nEOF", "X"),
            Context::Heredoc { expand: false }
        );
        assert_eq!(at("cat <<-EOF\n\tX\n\tEOF\necho 'Y'", "Y"), Context::Single);
        assert_eq!(at("cat <<EOF\nX\nEOF\necho Y", "Y"), Context::Unquoted);
        assert_eq!(at("cat <<<X", "X"), Context::Unquoted);
        // `<<` in arithmetic is a shift, not a here-document.
        assert_eq!(at("echo $((1 << 2))\necho X", "X"), Context::Unquoted);
        assert_eq!(at("echo $(( (1) << 2 ))\necho 'X'", "X"), Context::Single);
        assert_eq!(at("((n = 1 << 2))\necho X", "X"), Context::Unquoted);
    }

    #[test]
    fn writes_one_literal_word() {
        let v = ContextValue::One("a'b\"c$d`e\\f".into());
        assert_eq!(write(&v, Context::Double), "a'b\\\"c\\$d\\`e\\\\f");
        assert_eq!(
            write(&ContextValue::One("x y".into()), Context::Single),
            "''x y''"
        );
        assert_eq!(
            write(&ContextValue::One("plain".into()), Context::Single),
            "'plain'"
        );
        assert_eq!(
            write(
                &ContextValue::One("librex/equilibria".into()),
                Context::Unquoted
            ),
            "librex/equilibria"
        );
    }
}
