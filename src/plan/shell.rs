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
}

#[derive(Clone, Copy)]
enum Frame {
    /// The command itself, or the inside of `$(...)` (with its open-paren depth) or of `` `...` ``.
    Code {
        parens: usize,
        backtick: bool,
    },
    Single,
    Double,
}

/// The quoting context at each of `positions` (byte offsets, ascending) of `text`, read the
/// way `sh` reads quotes, backslashes, `$(...)` and backticks.
pub fn contexts(text: &str, positions: &[usize]) -> Vec<Context> {
    let bytes = text.as_bytes();
    let mut stack = vec![Frame::Code {
        parens: 0,
        backtick: false,
    }];
    let mut out = Vec::with_capacity(positions.len());
    let mut next = positions.iter().copied().peekable();
    let mut i = 0;
    while i <= bytes.len() {
        while next.peek() == Some(&i) {
            next.next();
            out.push(match stack.last() {
                Some(Frame::Single) => Context::Single,
                Some(Frame::Double) => Context::Double,
                _ => Context::Unquoted,
            });
        }
        if i == bytes.len() {
            break;
        }
        let b = bytes[i];
        let top = stack.last().copied().unwrap_or(Frame::Code {
            parens: 0,
            backtick: false,
        });
        match top {
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
            Frame::Code { parens, backtick } => match b {
                b'\\' => i += 1,
                b'\'' => stack.push(Frame::Single),
                b'"' => stack.push(Frame::Double),
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
            stack.push(Frame::Code {
                parens: 0,
                backtick: false,
            });
        }
        i += 1;
    }
    // Positions past the end (none in practice) count as unquoted.
    out.resize(positions.len(), Context::Unquoted);
    out
}

/// Opens a command substitution (`` ` `` or `$(`) at `i`, whose inside is read as code;
/// returns how many bytes beyond `i` it took.
fn open_substitution(bytes: &[u8], i: usize, stack: &mut Vec<Frame>) -> usize {
    match bytes[i] {
        b'`' => {
            stack.push(Frame::Code {
                parens: 0,
                backtick: true,
            });
            0
        }
        b'$' if bytes.get(i + 1) == Some(&b'(') => {
            stack.push(Frame::Code {
                parens: 1,
                backtick: false,
            });
            1
        }
        _ => 0,
    }
}

/// A value written so that, in `context`, the shell reads it back as this literal text: one
/// word, or (outside quotes) one word per item of a list.
pub fn write(value: &ContextValue, context: Context) -> String {
    let joined = || match value {
        ContextValue::One(s) => s.clone(),
        ContextValue::Many(items) => items.join(" "),
    };
    match context {
        Context::Unquoted => match value {
            ContextValue::One(s) => quote(s),
            ContextValue::Many(items) => {
                items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
            }
        },
        Context::Single => format!("'{}'", quote(&joined())),
        Context::Double => {
            let text = joined();
            let mut out = String::with_capacity(text.len() + 2);
            for c in text.chars() {
                if matches!(c, '\\' | '"' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
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
