//! `cargo flow hook install|uninstall|list`: the wiring of `setup::hook`.

use super::args::{Cli, HookCmd};
use super::workflows::{cwd, resolve};
use crate::diagnostic::{Problem, Problems};
use crate::report::notes;
use crate::setup::hook;

/// Runs a `hook` command.
pub(super) fn hook(cli: &Cli, action: &HookCmd) -> Result<i32, Problems> {
    let folder = hook::folder(&cwd()?)?;
    match action {
        HookCmd::Install {
            workflow,
            hook: name,
            force,
        } => {
            // The workflow must be one that runs here, named as the hook will name it.
            let (_, _, problems) = resolve(cli, workflow)?;
            if workflow.contains('\'') {
                return Err(Problem::new(
                    "flow::hook-workflow",
                    format!("a hook cannot name `{workflow}`, which holds a `'`"),
                )
                .with_help("rename the workflow file")
                .into());
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            let moved = hook::install(&folder, name, workflow, *force)?;
            eprintln!(
                "{}",
                notes::hook_installed(name, workflow, &folder.join(name), moved.as_deref())
            );
        }
        HookCmd::Uninstall { hook: name } => {
            let removed = hook::uninstall(&folder, name)?;
            eprintln!("{}", notes::hook_removed(name, removed));
        }
        HookCmd::List => {
            let hooks = hook::list(&folder);
            let shown: Vec<(&str, Option<&str>)> = hooks
                .iter()
                .map(|(name, h)| match h {
                    hook::Hook::Ours { workflow } => (*name, Some(workflow.as_str())),
                    hook::Hook::Theirs { .. } => (*name, None),
                })
                .collect();
            print!("{}", notes::hooks(&shown));
        }
    }
    Ok(0)
}
