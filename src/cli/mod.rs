//! The command line: parses arguments and wires load, plan, run and report together.

pub(crate) mod args;
mod commands;
mod complete;
mod hook;
mod init;
mod remote;
mod run;
mod watch;
mod workflows;

use std::io::IsTerminal;

use clap::Parser;

use crate::report;
use args::{CacheCmd, Cli, Cmd, Color};

/// Exit code for an invalid workflow or usage.
const INVALID: i32 = 2;

/// Runs cargo flow with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    crate::sys::claim_jobserver();
    if let Some(code) = complete::respond() {
        return code;
    }
    let args = args::normalize(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { INVALID } else { 0 };
        }
    };
    let color = use_color(cli.global.color);
    console::set_colors_enabled(color);
    console::set_colors_enabled_stderr(color);
    let result = match &cli.command {
        None => commands::list(&cli, None),
        Some(Cmd::List { workflow }) => commands::list(&cli, workflow.as_deref()),
        Some(Cmd::Check { target, context }) => commands::check(&cli, target.as_deref(), context),
        Some(Cmd::Graph {
            target,
            format,
            context,
        }) => commands::graph(&cli, target, (*format).into(), context),
        Some(Cmd::Run(args)) => run::run_command(&cli, args),
        Some(Cmd::Schema) => commands::schema(),
        Some(Cmd::Completions { shell }) => commands::completions(shell),
        Some(Cmd::Hook { action }) => hook::hook(&cli, action),
        Some(Cmd::Init {
            cargo_toml,
            force,
            from,
        }) => match from {
            Some(file) => init::import(file, *force),
            None => init::init(*cargo_toml, *force),
        },
        Some(Cmd::Cache {
            action: CacheCmd::Clean { workflow },
        }) => commands::cache_clean(&cli, workflow.as_deref()),
        Some(Cmd::Export { to }) => commands::export(&cli, to),
    };
    match result {
        Ok(code) => code,
        Err(problems) => {
            report::problems::print(problems, color);
            INVALID
        }
    }
}

/// Colour as cargo decides it: `--color`, then `CARGO_TERM_COLOR`, then NO_COLOR and the terminal.
fn use_color(flag: Option<Color>) -> bool {
    let choice = flag.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
        Some("always") => Some(Color::Always),
        Some("never") => Some(Color::Never),
        _ => None,
    });
    match choice {
        Some(Color::Always) => true,
        Some(Color::Never) => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}
