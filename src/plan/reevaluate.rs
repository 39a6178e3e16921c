//! The one place where a shell reads an expanded value again. A value reaches a shell command
//! through an environment variable, and no shell re-parses what an expansion produced, with
//! one exception of the shell's own: bash (and ksh and zsh) evaluate a value again where they
//! expect a number or a variable name, and there an array subscript runs the commands in it
//! (`a[$(cmd)]`). cargo flow refuses a value that could do so, `$` or a backtick in it, in a
//! step whose command has such a place. The places are found by looking for the words and
//! signs that make them, which finds more than there are: a refusal too many is harmless, one
//! too few is not.

/// Words after which bash takes a value as a number or a variable name: `let n=$x`,
/// `declare -i n=$x`, `read "$x"`, and their relatives.
const WORDS: &[&str] = &["let", "declare", "typeset", "local", "readonly", "read"];

/// Builtins with an option that names a variable: `printf -v "$x"`, `test -v "$x"`,
/// `wait -p "$x"` (and `[ -v "$x" ]`).
const NAMING: &[(&str, &str)] = &[("printf", "-v"), ("test", "-v"), ("wait", "-p")];

/// The first place in a shell command where bash may evaluate a value again, as it is written
/// there: `((` (in `$((...))`, `((...))` and `for ((...))`), `$[`, `[[`, `${!`, an array
/// subscript (`a[`), a substring (`${v:`), one of [`WORDS`], or an option of [`NAMING`] or
/// `[ -v`. `None` when there is none.
pub(crate) fn construct(text: &str) -> Option<String> {
    for seq in ["((", "$[", "[[", "${!"] {
        if text.contains(seq) {
            return Some(seq.to_string());
        }
    }
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if let Some(i) = (1..bytes.len()).find(|&i| bytes[i] == b'[' && ident(bytes[i - 1])) {
        let start = (0..i)
            .rev()
            .take_while(|&j| ident(bytes[j]))
            .last()
            .unwrap_or(i);
        return Some(text[start..=i].to_string());
    }
    if let Some(sub) = substring(text) {
        return Some(sub);
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(w) = WORDS.iter().find(|w| words.contains(w)) {
        return Some((*w).to_string());
    }
    if let Some((w, o)) = NAMING
        .iter()
        .find(|(w, o)| words.contains(w) && text.contains(o))
    {
        return Some(format!("{w} {o}"));
    }
    (text.contains('[') && text.contains("-v")).then(|| "[ -v".to_string())
}

/// `${name:` not followed by `-`, `=`, `?` or `+`: a substring, whose offset and length bash
/// evaluates as arithmetic (`${v:$x}`); `${v:-default}` is not one.
fn substring(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'*'))
            .count();
        let tail = &after[name_len..];
        if name_len > 0 && tail.starts_with(':') && !tail[1..].starts_with(['-', '=', '?', '+']) {
            return Some(format!("${{{}:", &after[..name_len]));
        }
        rest = after;
    }
    None
}

/// Whether a value could run a command if bash evaluated it again: it holds `$` or a
/// backtick. Without one, an array subscript in it has nothing to run, and a name in it
/// leads only to another value, which is checked in turn or is not cargo flow's.
pub(crate) fn is_risky(value: &str) -> bool {
    value.contains(['$', '`'])
}

/// Whether a step's shell is one that never evaluates a value again: `dash` (Debian's and
/// Ubuntu's `/bin/sh`, named explicitly, since `/bin/sh` is bash elsewhere).
pub(crate) fn shell_is_safe(shell: &[String]) -> bool {
    shell.first().is_some_and(|program| {
        std::path::Path::new(program)
            .file_name()
            .is_some_and(|n| n == "dash")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command in which bash was seen to run `a[$(touch P)]` held in `X` (or reached
    /// from it), each with a value standing for X.
    const RUNS_A_VALUE: &[&str] = &[
        "echo $(( ${X} + 1 ))",
        "(( ${X} ))",
        "let n=${X}",
        "[[ ${X} -eq 1 ]]",
        "declare -i n; n=${X}",
        "a=(1 2); echo ${a[${X}]}",
        "v=abc; echo ${v:${X}}",
        "test -v \"${X}\"",
        "[ -v \"${X}\" ]",
        "read \"${X}\" </dev/null",
        "printf -v \"${X}\" x",
        "echo ${!X}",
        "declare -n r=\"${X}\"; echo $r",
        "for ((i=0;i<${X};i++)); do :; done",
        "echo $[${X}]",
        "x=(); x[${X}]=1",
        "set -- a b; echo ${@:${X}}",
        "a=(1); let \"a[${X}]\"",
        "typeset -i n=${X}",
        "readonly -i n=${X}",
        "sleep 0 & wait -p \"${X}\"",
    ];

    /// Commands where bash was seen to take the same value literally.
    const TAKES_IT_LITERALLY: &[&str] = &[
        "[ \"${X}\" -eq 1 ]",
        "printf %d \"${X}\"",
        "shift \"${X}\"",
        "exit \"${X}\"",
        "echo \"${X}\" | xargs echo",
        "case 1 in ${X}) ;; esac",
        "cargo test -p \"${X}\"",
        "echo ${X:-default}",
        "ls *.[ch]",
    ];

    #[test]
    fn finds_every_place_bash_evaluates_a_value_again() {
        for cmd in RUNS_A_VALUE {
            assert!(construct(cmd).is_some(), "{cmd}");
        }
        for cmd in TAKES_IT_LITERALLY {
            assert_eq!(construct(cmd), None, "{cmd}");
        }
        assert_eq!(construct("echo $((1+2))").as_deref(), Some("(("));
        assert_eq!(construct("echo ${arr[0]}").as_deref(), Some("arr["));
        assert_eq!(construct("echo ${v:1}").as_deref(), Some("${v:"));
    }

    #[test]
    fn risky_values_hold_an_expansion() {
        assert!(is_risky("a[$(touch P)]"));
        assert!(is_risky("a[`touch P`]"));
        assert!(is_risky("${Y@P}"));
        assert!(!is_risky("a[Y]"));
        assert!(!is_risky("x; rm -rf ~"));
    }

    #[test]
    fn only_dash_is_known_safe() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(shell_is_safe(&s(&["dash"])));
        assert!(shell_is_safe(&s(&["/usr/bin/dash", "-e"])));
        assert!(!shell_is_safe(&s(&["/bin/sh"])));
        assert!(!shell_is_safe(&s(&["bash", "--posix"])));
    }
}
