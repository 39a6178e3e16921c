//! Step outputs: what a step writes to the file named by `$FLOW_OUTPUT`, as GitHub Actions'
//! `$GITHUB_OUTPUT`: `key=value` lines, and `key<<DELIMITER` ... `DELIMITER` for values
//! of several lines.

/// Largest outputs file read; outputs are for small values, logs for the rest.
pub(crate) const MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// The outputs in `text`, in order, a later key replacing an earlier one; or what is wrong.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        // Whichever of `=` and `<<` comes first decides, as GitHub's runner reads it.
        let heredoc = match (line.find("<<"), line.find('=')) {
            (Some(h), Some(e)) => h < e,
            (Some(_), None) => true,
            _ => false,
        };
        let (key, value) = if let Some((key, delimiter)) = line.split_once("<<").filter(|_| heredoc)
        {
            let delimiter = delimiter.trim();
            if delimiter.is_empty() {
                return Err(format!(
                    "line {}: `{key}<<` needs a delimiter, e.g. `{key}<<EOF`",
                    n + 1
                ));
            }
            let mut value: Vec<&str> = Vec::new();
            loop {
                match lines.next() {
                    Some((_, l)) if l == delimiter => break,
                    Some((_, l)) => value.push(l),
                    None => {
                        return Err(format!(
                            "line {}: `{key}<<{delimiter}` is never closed by a line `{delimiter}`",
                            n + 1
                        ));
                    }
                }
            }
            (key, value.join("\n"))
        } else if let Some((key, value)) = line.split_once('=') {
            (key, value.to_string())
        } else {
            return Err(format!(
                "line {} is not `key=value` or `key<<EOF`: `{}`",
                n + 1,
                line.escape_debug()
            ));
        };
        check_key(key).map_err(|e| format!("line {}: {e}", n + 1))?;
        check_value(key, &value)?;
        out.retain(|(k, _)| k != key);
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// Outputs that did not come from an outputs file (a remote cache's record) are as one could
/// have written them.
pub(crate) fn check(outputs: &[(String, String)]) -> Result<(), String> {
    outputs
        .iter()
        .try_for_each(|(key, value)| check_key(key).and_then(|()| check_value(key, value)))
}

fn check_key(key: &str) -> Result<(), String> {
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    match valid {
        true => Ok(()),
        false => Err(format!(
            "`{}` is not an output name (letters, digits, `_`, `-`, `.`)",
            key.escape_debug()
        )),
    }
}

/// An output reaches later steps in an environment variable, which cannot hold a NUL byte,
/// and which `exec` carries only up to 128 KiB, its name included.
fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!(
            "`{key}` holds a NUL byte, which an environment variable cannot carry"
        ));
    }
    // Room for the variable's name: `FLOW_OUTPUT_`, the step's id and the key.
    let limit = crate::plan::MAX_VALUE_BYTES - 512 - 2 * key.len();
    if value.len() > limit {
        return Err(format!(
            "`{key}` is {} bytes, more than the {} KiB a later step can receive in an environment variable; write large data to a file and pass its path",
            value.len(),
            limit / 1024
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_blocks() {
        let text = "version=1.2.3\nnotes<<EOF\nfirst\n\nthird\nEOF\n\nempty=\nversion=1.2.4\n";
        let out = parse(text).unwrap();
        assert_eq!(
            out,
            vec![
                ("notes".into(), "first\n\nthird".into()),
                ("empty".into(), String::new()),
                ("version".into(), "1.2.4".into())
            ]
        );
        assert_eq!(parse("a=b=c").unwrap(), vec![("a".into(), "b=c".into())]);
        assert_eq!(
            parse("msg=a<<b").unwrap(),
            vec![("msg".into(), "a<<b".into())]
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("no equals sign").unwrap_err().contains("line 1"));
        assert!(
            parse("x<<EOF\nnever closed")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(parse("x<<\n").unwrap_err().contains("needs a delimiter"));
        assert!(
            parse("bad key=1")
                .unwrap_err()
                .contains("not an output name")
        );
        assert!(parse("=1").is_err());
        assert!(parse("a=x\0y").unwrap_err().contains("NUL byte"));
        let big = format!("a={}", "x".repeat(130 * 1024));
        assert!(parse(&big).unwrap_err().contains("more than"));
    }
}
