//! Git hooks that run a workflow: `cargo flow hook install|uninstall|list`. The hooks folder
//! is the one git uses (`core.hooksPath`, worktrees), found by asking git. A hook cargo flow
//! wrote says so in a line of its own; any other hook is never replaced or removed without
//! `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::Problem;

/// The hooks a workflow can run from: those git runs on the developer's machine before or
/// after something it does.
pub(crate) const HOOKS: &[&str] = &[
    "pre-push",
    "pre-commit",
    "pre-merge-commit",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "pre-rebase",
    "post-rewrite",
];

/// The line that marks a hook as cargo flow's.
const MARK: &str = "# Written by `cargo flow hook install`";

/// What a hook file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hook {
    /// One cargo flow wrote, running this workflow.
    Ours {
        /// The workflow it runs.
        workflow: String,
    },
    /// Another program's or a person's, with its first lines.
    Theirs {
        /// Its first lines, to show.
        head: String,
    },
}

/// The folder git runs hooks from, for the repository around `cwd`.
pub(crate) fn folder(cwd: &Path) -> Result<PathBuf, Problem> {
    let output = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(cwd)
        .output()
        .map_err(|e| {
            Problem::new("flow::git", format!("cannot run git: {e}"))
                .with_help("hooks are git's: install git, or run this where it is on PATH")
        })?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(Problem::new(
            "flow::git",
            format!("this is not in a git repository: git says `{said}`"),
        )
        .with_help("run `cargo flow hook` inside the repository whose pushes it should check"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let path = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    Ok(if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    })
}

/// What the hook `name` in `folder` is, if there is one.
pub(crate) fn read(folder: &Path, name: &str) -> Option<Hook> {
    let text = std::fs::read(folder.join(name)).ok()?;
    let text = String::from_utf8_lossy(&text);
    if text.lines().any(|l| l == MARK) {
        let workflow = text
            .lines()
            .find_map(|l| l.strip_prefix("workflow='")?.strip_suffix('\''))
            .unwrap_or_default()
            .to_string();
        return Some(Hook::Ours { workflow });
    }
    let head = text.lines().take(5).collect::<Vec<_>>().join("\n");
    Some(Hook::Theirs { head })
}

/// The hooks present in `folder`, by name, in [`HOOKS`]'s order.
pub(crate) fn list(folder: &Path) -> Vec<(&'static str, Hook)> {
    HOOKS
        .iter()
        .filter_map(|name| read(folder, name).map(|h| (*name, h)))
        .collect()
}

/// Writes hook `name` running `workflow`. Another program's hook is moved aside to
/// `<name>.before-cargo-flow` with `force`, and is otherwise an error that shows it.
/// Returns where the hook that was there went, if it was moved.
pub(crate) fn install(
    folder: &Path,
    name: &str,
    workflow: &str,
    force: bool,
) -> Result<Option<PathBuf>, Problem> {
    let path = folder.join(name);
    let mut moved = None;
    if let Some(Hook::Theirs { head }) = read(folder, name) {
        if !force {
            return Err(Problem::new(
                "flow::hook-exists",
                format!(
                    "`{}` is not cargo flow's, and is left as it is; it begins:\n{head}",
                    path.display()
                ),
            )
            .with_help("run it from a workflow step instead, or pass `--force` to move it aside (to `<hook>.before-cargo-flow`) and install cargo flow's"));
        }
        let aside = folder.join(format!("{name}.before-cargo-flow"));
        std::fs::rename(&path, &aside).map_err(|e| write_problem(&path, &e))?;
        moved = Some(aside);
    }
    std::fs::create_dir_all(folder).map_err(|e| write_problem(folder, &e))?;
    write_executable(&path, &script(name, workflow)).map_err(|e| write_problem(&path, &e))?;
    Ok(moved)
}

/// Removes hook `name` if cargo flow wrote it: `Ok(true)` when it did, `Ok(false)` when there
/// was none; another program's hook is an error and stays.
pub(crate) fn uninstall(folder: &Path, name: &str) -> Result<bool, Problem> {
    let path = folder.join(name);
    match read(folder, name) {
        None => Ok(false),
        Some(Hook::Ours { .. }) => std::fs::remove_file(&path)
            .map(|()| true)
            .map_err(|e| write_problem(&path, &e)),
        Some(Hook::Theirs { .. }) => Err(Problem::new(
            "flow::hook-exists",
            format!(
                "`{}` is not cargo flow's, and is left as it is",
                path.display()
            ),
        )
        .with_help("remove it yourself if it should go")),
    }
}

fn write_problem(path: &Path, e: &std::io::Error) -> Problem {
    Problem::new(
        "flow::hook-write",
        format!("cannot write `{}`: {e}", path.display()),
    )
    .with_help("check that the repository's hooks folder can be written")
}

/// Writes an executable file whole: a temporary file beside it, renamed over it.
fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The hook's script. A pre-push hook reads the refs being pushed: it runs nothing when the
/// push only deletes branches, and otherwise only what the pushed commits affect.
pub(crate) fn script(name: &str, workflow: &str) -> String {
    let body = if name == "pre-push" {
        PRE_PUSH
    } else {
        "# Its arguments and input are git's, which the workflow does not need.\nexec cargo flow run \"$workflow\" </dev/null\n"
    };
    let skip = match name {
        "pre-push" => "# `git push --no-verify` skips it once.\n",
        "pre-commit" | "commit-msg" => "# `git commit --no-verify` skips it once.\n",
        "pre-merge-commit" => "# `git merge --no-verify` skips it once.\n",
        _ => "",
    };
    format!(
        "#!/bin/sh\n# cargo flow: the {name} hook runs the workflow `{workflow}`.\n{MARK}\n# `cargo flow hook uninstall --hook {name}` removes it.\n{skip}workflow='{workflow}'\n{body}"
    )
}

/// Reads what git says it pushes (`<local ref> <local sha> <remote ref> <remote sha>` a line,
/// the remote's name in `$1`), stops when every line deletes a branch (a local sha of zeros),
/// and runs the workflow for what the push changes: `--affected=<the remote's sha>`, or for a
/// new branch the merge base with the remote's default branch. Where no base is known (a new
/// branch of a remote whose default branch is not known here, a remote commit this clone
/// lacks, several refs with different bases), it runs the whole workflow and says why.
const PRE_PUSH: &str = r#"pushes=0
base=
whole=
while read -r local_ref local_sha remote_ref remote_sha; do
    case "$local_sha" in
        *[!0]*) ;;
        *) continue ;;
    esac
    pushes=$((pushes + 1))
    case "$remote_sha" in
        *[!0]*) this=$remote_sha ;;
        *) this=$(git merge-base "$local_sha" "refs/remotes/$1/HEAD" 2>/dev/null) ;;
    esac
    if [ -z "$this" ]; then
        whole="$remote_ref is new, and the default branch of $1 is not known here (\`git remote set-head $1 --auto\`)"
    elif ! git cat-file -e "$this^{commit}" 2>/dev/null; then
        whole="this clone lacks $1's side of $remote_ref ($this)"
    elif [ -n "$base" ] && [ "$base" != "$this" ]; then
        whole="refs with different bases are pushed"
    fi
    base=$this
done
if [ "$pushes" = 0 ]; then
    echo "cargo flow: this push only deletes; \`$workflow\` is not run" >&2
    exit 0
fi
if [ -n "$whole" ]; then
    echo "cargo flow: $whole: running the whole of \`$workflow\`" >&2
    exec cargo flow run "$workflow" </dev/null
fi
exec cargo flow run "$workflow" "--affected=$base" </dev/null
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_written_is_read_back_as_ours() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            install(dir.path(), "pre-push", "ci", false).ok(),
            Some(None)
        );
        assert_eq!(
            read(dir.path(), "pre-push"),
            Some(Hook::Ours {
                workflow: "ci".into()
            })
        );
        std::fs::write(dir.path().join("pre-commit"), "#!/bin/sh\nlint-staged\n").expect("write");
        assert!(
            matches!(read(dir.path(), "pre-commit"), Some(Hook::Theirs { head }) if head.contains("lint-staged"))
        );
        assert!(install(dir.path(), "pre-commit", "ci", false).is_err());
        assert_eq!(list(dir.path()).len(), 2);
    }
}
