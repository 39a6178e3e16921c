//! What a step's process runs: the program and its arguments, found on `PATH` once per run.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use crate::plan::{PlannedStep, Run};
use crate::run::status::StepError;
use crate::sys::{self, Environment};

/// Where programs named without a path were found on `PATH`, so that each spawn execs the
/// program's path without searching again. Only for steps that see cargo flow's own `PATH`
/// (a step that sets its own is looked up each time), and only while every `PATH` entry is
/// absolute, so the answer cannot depend on a step's working directory. A program not found
/// is looked up again the next time: a step may install it.
pub(super) struct Programs {
    usable: bool,
    found: std::sync::Mutex<std::collections::HashMap<String, OsString>>,
}

impl Programs {
    pub(super) fn new() -> Self {
        let usable = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).all(|d| d.is_absolute()));
        Self {
            usable,
            found: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The program to exec for `name`, for a step started with `over` set over the run's
    /// environment, in `cwd`.
    pub(super) fn resolve(
        &self,
        name: &str,
        env: &Environment,
        over: &[(&OsStr, &OsStr)],
        cwd: &Path,
    ) -> io::Result<OsString> {
        let find = || sys::find_program(OsStr::new(name), env, over, cwd);
        if !self.usable || name.contains('/') || over.iter().any(|(k, _)| *k == "PATH") {
            return find();
        }
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = found.get(name) {
            return Ok(p.clone());
        }
        let path = find()?;
        found.insert(name.to_string(), path.clone());
        Ok(path)
    }
}

/// The program and arguments a step runs: a command line with no shell syntax is executed
/// without a shell, as make does, which saves starting one per step.
pub(super) fn argv(step: &PlannedStep) -> Vec<&str> {
    // The words after `--` follow the command as the shell's `$0` (the step's id) and
    // positional parameters, for a shell that keeps them words: pwsh would run them.
    let positional = || {
        let shell = match &step.command {
            Run::Shell { shell, .. } => shell.as_deref(),
            Run::Argv(_) => None,
        };
        let given = !step.args.is_empty() && crate::plan::reevaluate::takes_words(shell);
        given
            .then(|| std::iter::once(step.id.as_str()).chain(step.args.iter().map(String::as_str)))
            .into_iter()
            .flatten()
    };
    match &step.command {
        Run::Shell { line, shell: None } => match direct_argv(line) {
            Some(direct) => direct,
            None => ["/bin/sh", "-c", line]
                .into_iter()
                .chain(positional())
                .collect(),
        },
        Run::Shell {
            line,
            shell: Some(shell),
        } => shell
            .iter()
            .map(String::as_str)
            .chain(["-c", line.as_str()])
            .chain(positional())
            .collect(),
        Run::Argv(args) => args.iter().map(String::as_str).collect(),
    }
}

/// For a command run directly without a shell, how `sh -c` runs it.
pub(super) fn through_sh(step: &PlannedStep) -> Option<[&str; 3]> {
    match &step.command {
        Run::Shell { line, shell: None } if direct_argv(line).is_some() => {
            Some(["/bin/sh", "-c", line.as_str()])
        }
        _ => None,
    }
}

/// Whether a step's command goes through a shell, which reports a program it cannot find or
/// run as exit code 127 or 126.
pub(super) fn through_shell(step: &PlannedStep) -> bool {
    match &step.command {
        Run::Shell { line, shell: None } => direct_argv(line).is_none(),
        Run::Shell { .. } => true,
        Run::Argv(_) => false,
    }
}

/// Words of the shell's own that no program on PATH stands in for.
const SHELL_WORDS: &[&str] = &[
    // Builtins that also exist as programs but behave differently there (`echo -e`, `pwd`).
    "echo", "printf", "pwd", "kill", "test", "[", "!", ".", ":", "alias", "break", "case", "cd",
    "command", "continue", "do", "done", "elif", "else", "esac", "eval", "exec", "exit", "export",
    "fi", "for", "function", "getopts", "hash", "if", "local", "read", "readonly", "return", "set",
    "shift", "source", "then", "times", "trap", "type", "ulimit", "umask", "unalias", "unset",
    "until", "wait", "while", "{", "}",
];

/// The words of a command line that `sh -c` would run as one plain program, or `None` when
/// it uses any shell syntax (quotes, variables, globs, redirections, operators, comments) or
/// starts with a shell builtin or an assignment.
pub(super) fn direct_argv(line: &str) -> Option<Vec<&str>> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b" \t-_./=:,+@%".contains(&b) && b != b'\\';
    if !line.bytes().all(plain) {
        return None;
    }
    let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    if first.contains('=') || SHELL_WORDS.contains(&first) {
        return None;
    }
    Some(words)
}

/// Why a step's program could not be started.
pub(super) fn spawn_error(step: &PlannedStep, e: &io::Error) -> StepError {
    let program = argv(step).first().copied().unwrap_or_default().to_string();
    match e.kind() {
        io::ErrorKind::NotFound => StepError::NotFound { program },
        io::ErrorKind::PermissionDenied => StepError::NotExecutable { program },
        _ => StepError::CannotStart {
            program,
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::direct_argv;

    #[test]
    fn runs_plain_commands_without_a_shell() {
        assert_eq!(direct_argv("true"), Some(vec!["true"]));
        assert_eq!(
            direct_argv("cargo test --all  -p x"),
            Some(vec!["cargo", "test", "--all", "-p", "x"])
        );
        for shell in [
            "echo $HOME",
            "a && b",
            "a | b",
            "echo 'x'",
            "ls *.rs",
            "cd x",
            "X=1 cmd",
            "a > f",
            "echo ~",
            "a # c",
            "a\nb",
            "exit 1",
            "",
            "   ",
        ] {
            assert_eq!(direct_argv(shell), None, "{shell}");
        }
    }
}
