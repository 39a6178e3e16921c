//! Shell completion: the scripts that `cargo flow completions <shell>` prints, and the answers
//! to the requests they make (`COMPLETE=<shell> cargo-flow -- <words>`, clap_complete's
//! protocol). Workflow and step names come from the project in the current folder.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::sync::OnceLock;

use clap::CommandFactory;
use clap_complete::engine::{
    ArgValueCompleter, CompletionCandidate, PathCompleter, ValueCompleter,
};
use clap_complete::env::{EnvCompleter, Shells};

use super::args::{Cli, VALUED};
use crate::load::{self, Scope};

/// The environment variable that makes a run a completion request, as clap_complete names it.
const VAR: &str = "COMPLETE";
/// The program the scripts call back, found on `PATH` as `cargo install` puts it there.
const PROGRAM: &str = "cargo-flow";

/// The words of the command line being completed, for completers that need more than the
/// word under the cursor (the steps of the workflow named before it).
static WORDS: OnceLock<Vec<OsString>> = OnceLock::new();

/// The shells there are scripts for.
const SHELLS: Shells<'static> = Shells::builtins();

/// Answers a completion request, when this run is one: `Some(exit code)`.
pub(crate) fn respond() -> Option<i32> {
    let shell = std::env::var_os(VAR).filter(|s| !s.is_empty() && s != "0")?;
    let shell = shell.to_string_lossy().into_owned();
    let Some(completer) = SHELLS.completer(&shell) else {
        eprintln!(
            "error: unknown shell `{shell}`: the shells are {}",
            shells()
        );
        return Some(2);
    };
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let mut out = Vec::new();
    let written = if words.is_empty() {
        registration(completer, &mut out)
    } else {
        let _ = WORDS.set(words.clone());
        let cwd = std::env::current_dir().ok();
        let mut command = command(&words);
        command.build();
        completer.write_complete(&mut command, words, cwd.as_deref(), &mut out)
    };
    match written.and_then(|()| std::io::stdout().write_all(&out)) {
        Ok(()) => Some(0),
        Err(e) => {
            eprintln!("error: {e}");
            Some(1)
        }
    }
}

/// The names of the shells there are scripts for.
pub(crate) fn shells() -> String {
    SHELLS.names().collect::<Vec<_>>().join(", ")
}

/// `cargo flow completions <shell>`: the script that registers completion in `shell`.
pub(crate) fn script(shell: &str) -> Result<String, String> {
    let completer = SHELLS
        .completer(shell)
        .ok_or_else(|| format!("unknown shell `{shell}`: the shells are {}", shells()))?;
    let mut out = Vec::new();
    registration(completer, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// clap_complete's registration for `cargo-flow`, and what reaches it from `cargo flow`.
fn registration(shell: &dyn EnvCompleter, out: &mut dyn Write) -> std::io::Result<()> {
    shell.write_registration(VAR, PROGRAM, PROGRAM, PROGRAM, out)?;
    match shell.name() {
        // cargo's own zsh completion hands `cargo flow ...` to `_cargo-flow`, with the words
        // from `flow` on, which the completer takes as it takes `cargo-flow flow ...`.
        "zsh" => writeln!(
            out,
            "\nfunction _cargo-flow() {{ _clap_dynamic_completer_cargo_flow }}"
        ),
        // fish's cargo completion knows no third-party commands: `cargo flow` is added here.
        "fish" => writeln!(
            out,
            "complete --keep-order --exclusive --command cargo --condition '__fish_seen_subcommand_from flow' --arguments \"({VAR}=fish {PROGRAM} -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))\""
        ),
        // bash: cargo's completion hands `cargo flow ...` to `cargo-flow`'s where
        // bash-completion is 2.12 or later.
        _ => Ok(()),
    }
}

/// The command line as completion sees it: cargo flow's own, or `run`'s for the short form
/// `cargo flow <WORKFLOW> [STEP...]`, with the `flow` that cargo passes as a hidden command of
/// the same shape. `words` are those of the line, the one being completed last.
fn command(words: &[OsString]) -> clap::Command {
    let mut cli = Cli::command()
        .arg(
            clap::Arg::new("workflow")
                .help("A workflow to run")
                .add(ArgValueCompleter::new(workflows)),
        )
        .args_conflicts_with_subcommands(true);
    // Positionals are numbered, and global options reach every command, as it is built.
    cli.build();
    let typed = words.split_last().map_or(&[][..], |(_, before)| before);
    let first = operands(typed).next();
    let short_form = first.is_some_and(|w| cli.find_subcommand(&w).is_none());
    let shape = match cli.find_subcommand("run").filter(|_| short_form) {
        Some(run) => run.clone().name("cargo-flow").bin_name("cargo flow"),
        None => cli,
    };
    shape.clone().subcommand(shape.name("flow").hide(true))
}

/// Workflow names beginning with `current`, with their descriptions, or files for a path.
pub(crate) fn workflows(current: &OsStr) -> Vec<CompletionCandidate> {
    let text = current.to_string_lossy();
    if text.contains('/') || text.starts_with('.') {
        return PathCompleter::any().complete(current);
    }
    let scope = if text.contains(':') {
        Scope::Members
    } else {
        Scope::Root
    };
    let Some(catalog) = catalog(scope) else {
        return Vec::new();
    };
    catalog
        .workflows
        .iter()
        .filter(|wf| wf.name.starts_with(text.as_ref()))
        .map(|wf| {
            let help = wf.description.clone().or_else(|| wf.title.clone());
            CompletionCandidate::new(&wf.name).help(help.map(Into::into))
        })
        .collect()
}

/// The step ids of the workflow named earlier on the command line that begin with `current`.
pub(crate) fn steps(current: &OsStr) -> Vec<CompletionCandidate> {
    let text = current.to_string_lossy();
    named_workflow()
        .map(|wf| wf.steps)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.id.value.starts_with(text.as_ref()))
        .map(|s| CompletionCandidate::new(&s.id.value).help(s.description.map(Into::into)))
        .collect()
}

/// `--param`: the parameters of the workflow named on the command line as `NAME=`, with
/// their help; after `NAME=`, the values a choice or a bool takes.
pub(crate) fn params(current: &OsStr) -> Vec<CompletionCandidate> {
    let text = current.to_string_lossy();
    let params = named_workflow().map(|wf| wf.params).unwrap_or_default();
    if let Some((name, partial)) = text.split_once('=') {
        let Some(p) = params.iter().find(|p| p.name.value == name) else {
            return Vec::new();
        };
        let values = match &p.kind {
            crate::load::model::ParamKind::OneOf(values) => values.clone(),
            crate::load::model::ParamKind::Bool => vec!["true".into(), "false".into()],
            _ => Vec::new(),
        };
        return values
            .into_iter()
            .filter(|v| v.starts_with(partial))
            .map(|v| CompletionCandidate::new(format!("{name}={v}")))
            .collect();
    }
    params
        .iter()
        .filter(|p| p.name.value.starts_with(text.as_ref()))
        .map(|p| {
            let help = match &p.help {
                Some(h) => format!("{h} ({})", p.kind.describe()),
                None => p.kind.describe(),
            };
            CompletionCandidate::new(format!("{}=", p.name.value)).help(Some(help.into()))
        })
        .collect()
}

/// The workflow named earlier on the command line, when it can be read.
fn named_workflow() -> Option<crate::load::model::Workflow> {
    let target = WORDS.get().and_then(|w| target(w))?;
    if load::is_file_target(&target) {
        return load::load_file(std::path::Path::new(&target))
            .ok()
            .map(|l| l.workflow);
    }
    let scope = if target.contains(':') {
        Scope::Members
    } else {
        Scope::Root
    };
    catalog(scope).and_then(|c| c.get(&target).cloned())
}

/// The project's workflows, when they can be read and are trusted; nothing is said of a
/// problem while completing.
fn catalog(scope: Scope) -> Option<load::Catalog> {
    let cwd = std::env::current_dir().ok()?;
    load::load_catalog(&cwd, None, scope, &super::workflows::trust).ok()
}

/// The workflow a command line names: its first operand, or its second after `run`.
fn target(words: &[OsString]) -> Option<String> {
    let mut operands = operands(words).peekable();
    operands.next_if(|w| w == "run");
    operands.next()
}

/// The words of a command line that are neither the program (with cargo's `flow`), nor an
/// option, nor an option's value.
fn operands(words: &[OsString]) -> impl Iterator<Item = String> + '_ {
    let mut rest = words.iter().skip(1).map(|w| w.to_string_lossy()).peekable();
    rest.next_if(|w| w == "flow");
    let mut value_next = false;
    rest.filter(move |word| {
        let value = std::mem::take(&mut value_next);
        if word.starts_with('-') {
            value_next = VALUED.contains(&word.as_ref());
            return false;
        }
        !value
    })
    .map(|w| w.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn the_target_is_found_after_the_command_and_options() {
        assert_eq!(target(&words("cargo-flow run ci b")), Some("ci".into()));
        assert_eq!(
            target(&words("cargo flow run -j 2 ci b")),
            Some("ci".into())
        );
        assert_eq!(target(&words("cargo-flow ci")), Some("ci".into()));
        assert_eq!(
            target(&words("cargo-flow --color never ci x")),
            Some("ci".into())
        );
        assert_eq!(target(&words("cargo-flow run")), None);
    }
}
