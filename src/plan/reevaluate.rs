//! The one place where a shell reads an expanded value again. A value reaches a shell command
//! through an environment variable, and no shell re-parses what an expansion produced, with
//! one exception of the shell's own: bash, ksh, mksh and zsh evaluate a value again where they
//! expect a number or a variable name, and there an array subscript runs the commands in it
//! (`a[$(cmd)]`); a name in the value leads to that variable's value, evaluated in turn.
//! cargo flow refuses a value that could run something so, in a step whose command has such a
//! place (any step, for ksh, mksh and zsh, which have such places almost everywhere). The
//! places are found by looking for the words and signs that make them, which finds more than
//! there are: a refusal too many is harmless, one too few is not.

use std::collections::HashSet;

/// Words after which a shell takes a value as a number, a variable name or code: `let n=$x`,
/// `declare -i n=$x`, `read "$x"`, `unset "$x"`, `export "$x=1"` (zsh), `shift "$x"` (mksh),
/// `eval "$x"`, and their relatives.
const WORDS: &[&str] = &[
    "let",
    "declare",
    "typeset",
    "local",
    "readonly",
    "read",
    "unset",
    "export",
    "integer",
    "print",
    "shift",
    "ulimit",
    "exit",
    "return",
    "break",
    "continue",
    "eval",
    "trap",
    "compgen",
    "complete",
    "source",
    "mapfile",
    "readarray",
];

/// Variables that bash, ksh, mksh or zsh evaluate as arithmetic when assigned: `RANDOM="$x"`.
const ARITHMETIC_VARIABLES: &[&str] = &[
    "RANDOM",
    "SRANDOM",
    "OPTIND",
    "HISTCMD",
    "SECONDS",
    "LINENO",
    "EPOCHSECONDS",
];

/// Builtins with an option that names a variable: `printf -v "$x"`, `test -v "$x"`,
/// `wait -p "$x"` (and `[ -v "$x" ]`).
const NAMING: &[(&str, &str)] = &[("printf", "-v"), ("test", "-v"), ("wait", "-p")];

/// Numeric comparisons of `test` and `[`, which ksh and mksh evaluate as arithmetic.
const COMPARISONS: &[&str] = &["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];

/// How a step's shell treats values, from the safest to the most dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Shell {
    /// It never evaluates a value again: dash.
    Safe,
    /// It does in some places, which its command must be looked at for: bash, `/bin/sh`.
    Places,
    /// It does almost everywhere: ksh, mksh, zsh, and any program not known.
    Everywhere,
}

/// How the shell that runs a step (`None` for `/bin/sh`) treats values: the program named
/// (after `env` and its options, as in `[env, zsh]`), and the program a link of that name
/// leads to, whichever is the more dangerous. A shell not known is taken as one that
/// evaluates values everywhere.
pub(crate) fn shell(shell: Option<&[String]>) -> Shell {
    let Some(words) = shell else {
        return Shell::Places;
    };
    let Some(program) = program(words) else {
        return Shell::Everywhere;
    };
    let named = of_name(base_name(program));
    let target = which::which(program)
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map_or(named, |p| {
            of_name(p.file_name().and_then(|n| n.to_str()).unwrap_or(""))
        });
    named.max(target)
}

/// The program a `shell:` runs: its first word after `env` and its options.
fn program(words: &[String]) -> Option<&str> {
    let mut words = words.iter().map(String::as_str).peekable();
    while words.next_if(|w| base_name(w) == "env").is_some() {
        while words
            .next_if(|w| w.starts_with('-') || w.contains('='))
            .is_some()
        {}
    }
    words.next()
}

/// Whether a shell keeps the words after its command (`-c COMMAND WORDS...`) as words, its
/// positional parameters: the sh family and fish. Another (pwsh joins them to its command)
/// is given none.
pub(crate) fn takes_words(shell: Option<&[String]>) -> bool {
    let Some(words) = shell else {
        return true;
    };
    program(words).map(base_name).is_some_and(|p| {
        matches!(
            p,
            "sh" | "bash"
                | "rbash"
                | "dash"
                | "posh"
                | "ash"
                | "ksh"
                | "ksh93"
                | "mksh"
                | "zsh"
                | "yash"
                | "fish"
        )
    })
}

/// The last component of a path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How a shell of this name treats values.
fn of_name(name: &str) -> Shell {
    match name {
        "dash" | "posh" => Shell::Safe,
        "sh" | "bash" | "rbash" => Shell::Places,
        _ => Shell::Everywhere,
    }
}

/// Where a shell may evaluate a value again in a command, as it is written there, or `None`.
pub(crate) fn place(shell: Shell, text: &str) -> Option<String> {
    match shell {
        Shell::Safe => None,
        Shell::Everywhere => Some("any command of its shell".to_string()),
        Shell::Places => construct(text),
    }
}

/// The first place in a shell command where a shell may evaluate a value again, as it is
/// written there: `((` (in `$((...))`, `((...))` and `for ((...))`), `$[`, `[[`, `${!`, an
/// array subscript (`a[`), a compound assignment (`=(`), a substring (`${v:`), one of
/// [`WORDS`], an option of [`NAMING`] or `[ -v`, or a numeric comparison. `None` when there
/// is none.
pub(crate) fn construct(text: &str) -> Option<String> {
    for seq in ["((", "$[", "[[", "${!", "=("] {
        if text.contains(seq) {
            return Some(seq.to_string());
        }
    }
    if let Some(sub) = subscript(text)
        .or_else(|| substring(text))
        .or_else(|| transformation(text))
        .or_else(|| duplication(text))
    {
        return Some(sub);
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(w) = WORDS.iter().find(|w| words.contains(w)) {
        return Some((*w).to_string());
    }
    if let Some(v) = ARITHMETIC_VARIABLES
        .iter()
        .find(|v| text.contains(&format!("{v}=")) || text.contains(&format!("{v}+=")))
    {
        return Some(format!("{v}="));
    }
    if let Some((w, o)) = NAMING
        .iter()
        .find(|(w, o)| words.contains(w) && text.contains(o))
    {
        return Some(format!("{w} {o}"));
    }
    if text.contains('[') && text.contains("-v") {
        return Some("[ -v".to_string());
    }
    COMPARISONS
        .iter()
        .find(|c| text.split_whitespace().any(|w| w == **c))
        .map(|c| (*c).to_string())
}

/// `name[`: an array subscript.
fn subscript(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let i = (1..bytes.len()).find(|&i| bytes[i] == b'[' && ident(bytes[i - 1]))?;
    let start = (0..i)
        .rev()
        .take_while(|&j| ident(bytes[j]))
        .last()
        .unwrap_or(i);
    Some(text[start..=i].to_string())
}

/// `${name:` not followed by `-`, `=`, `?` or `+`: a substring, whose offset and length bash
/// evaluates as arithmetic (`${v:$x}`); `${v:-default}` is not one.
fn substring(text: &str) -> Option<String> {
    expansions(text, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'*')
    })
    .find(|(_, tail)| tail.starts_with(':') && !tail[1..].starts_with(['-', '=', '?', '+']))
    .map(|(name, _)| format!("${{{name}:"))
}

/// `${name@`: a transformation, of which `@P` expands the value as a prompt, running the
/// commands in it.
fn transformation(text: &str) -> Option<String> {
    expansions(text, |b| b.is_ascii_alphanumeric() || b == b'_')
        .find(|(_, tail)| tail.starts_with('@'))
        .map(|(name, _)| format!("${{{name}@"))
}

/// Each `${name` in `text` whose name is made of `in_name` bytes, with what follows it.
fn expansions(text: &str, in_name: fn(u8) -> bool) -> impl Iterator<Item = (&str, &str)> {
    text.match_indices("${").filter_map(move |(at, _)| {
        let after = &text[at + 2..];
        let len = after.bytes().take_while(|b| in_name(*b)).count();
        (len > 0).then(|| (&after[..len], &after[len..]))
    })
}

/// `>&` followed by anything but a number or `-`: bash expands the word after it twice
/// (`echo hi >&"$x"` runs what `$x` holds).
fn duplication(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(">&") {
        let after = rest[at + 2..].trim_start();
        if !after.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Some(">&".to_string());
        }
        rest = &rest[at + 2..];
    }
    None
}

/// Variables the shell fills with text the script handled (`$_`, the last argument; `REPLY`,
/// the line `read` read; `BASH_REMATCH`...): a value naming one leads to whatever that was.
const FILLED_BY_THE_SHELL: &[&str] = &[
    "_",
    "REPLY",
    "BASH_REMATCH",
    "MAPFILE",
    "OPTARG",
    "BASH_COMMAND",
    "BASH_EXECUTION_STRING",
    "BASH_ARGV",
    "READLINE_LINE",
    "COMPREPLY",
    "BASH_SOURCE",
];

/// Whether a value could run a command if a shell evaluated it again: it holds `$` or a
/// backtick, or a name in it leads, through the variables of the step's environment
/// (`lookup`), to a value that does, or names a variable the shell fills with text the script
/// handled. Without any of these, an array subscript in it has nothing to run.
pub(crate) fn runs_something(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let mut seen: HashSet<String> = HashSet::new();
    let mut todo = vec![value.to_string()];
    while let Some(v) = todo.pop() {
        if v.contains(['$', '`']) {
            return true;
        }
        let names = v
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'));
        if names.clone().any(|n| FILLED_BY_THE_SHELL.contains(&n)) {
            return true;
        }
        for name in names {
            if seen.insert(name.to_string())
                && let Some(next) = lookup(name)
            {
                todo.push(next);
            }
        }
    }
    false
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
        "a=(1 2); unset \"${X}\"",
        "b=([${X}]=1)",
        "[ \"${X}\" -gt 2 ]",
        "shift \"${X}\"",
        "export \"${X}=1\"",
        "RANDOM=\"${X}\"",
        "OPTIND=\"${X}\"",
        "HISTCMD=\"${X}\"",
        "SRANDOM=\"${X}\"",
        "echo \"${X@P}\"",
        "echo hi >&\"${X}\"",
        "mapfile -C \"${X}\" -c 1 a < /etc/hostname",
    ];

    /// Commands where bash was seen to take the same value literally.
    const TAKES_IT_LITERALLY: &[&str] = &[
        "printf %d \"${X}\"",
        "echo \"${X}\" | xargs echo",
        "case 1 in ${X}) ;; esac",
        "cargo test -p \"${X}\"",
        "echo ${X:-default}",
        "ls *.[ch]",
        "echo \"${X}\" >&2",
        "cargo build 2>&1 | tee log",
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
    fn values_that_run_something_hold_an_expansion_or_lead_to_one() {
        let env = |name: &str| match name {
            "PR_TITLE" => Some("a[$(touch P)]".to_string()),
            "PLAIN" => Some("1".to_string()),
            "HOP" => Some("PR_TITLE".to_string()),
            "LOOP" => Some("LOOP".to_string()),
            _ => None,
        };
        for risky in [
            "a[$(touch P)]",
            "a[`touch P`]",
            "${Y@P}",
            "PR_TITLE",
            "1+HOP",
            "_",
            "1+REPLY",
            "BASH_REMATCH[0]",
        ] {
            assert!(runs_something(risky, &env), "{risky}");
        }
        for inert in ["a[Y]", "x; rm -rf ~", "PLAIN", "LOOP", "release"] {
            assert!(!runs_something(inert, &env), "{inert}");
        }
    }

    #[test]
    fn shells_are_told_apart() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(shell(Some(&s(&["dash"]))), Shell::Safe);
        assert_eq!(shell(Some(&s(&["/usr/bin/dash", "-e"]))), Shell::Safe);
        assert_eq!(shell(None), Shell::Places);
        assert_eq!(shell(Some(&s(&["bash", "--posix"]))), Shell::Places);
        assert_eq!(shell(Some(&s(&["mksh"]))), Shell::Everywhere);
        assert_eq!(shell(Some(&s(&["/bin/zsh"]))), Shell::Everywhere);
        assert_eq!(shell(Some(&s(&["env", "zsh"]))), Shell::Everywhere);
        assert_eq!(
            shell(Some(&s(&["/usr/bin/env", "-i", "A=1", "mksh"]))),
            Shell::Everywhere
        );
        assert_eq!(shell(Some(&s(&["rzsh"]))), Shell::Everywhere);
        assert_eq!(shell(Some(&s(&["mksh-static"]))), Shell::Everywhere);
        assert_eq!(shell(Some(&s(&["python3"]))), Shell::Everywhere);
        assert_eq!(shell(Some(&s(&["env", "dash"]))), Shell::Safe);
        // A link is judged by what it leads to as well as by its name.
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("dash");
        std::os::unix::fs::symlink(which::which("bash").expect("bash"), &link).expect("link");
        let link = link.display().to_string();
        assert_eq!(shell(Some(&s(&[link.as_str()]))), Shell::Places);
    }
}
