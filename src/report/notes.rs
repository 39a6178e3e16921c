//! The lines cargo flow says beside a run: waiting for another run, stopping strays, cleaning
//! the cache.

use console::style;

/// `Blocking: waiting for another run of ci (pid 1234)`.
pub(crate) fn blocking(workflow: &str, pid: Option<u32>) -> String {
    let by = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    format!(
        "{} waiting for another run of {workflow}{by}",
        style("Blocking:").cyan().bold()
    )
}

/// `Interrupted by SIGINT while waiting for another run of ci`.
pub(crate) fn interrupted_waiting(signal: &str, workflow: &str) -> String {
    format!(
        "{} by {signal} while waiting for another run of {workflow}",
        style("Interrupted").yellow().bold()
    )
}

/// How many processes that left their step's group were stopped at the end of a run.
pub(crate) fn strays(n: usize) -> String {
    let s = if n == 1 { "" } else { "es" };
    format!("Stopped {n} process{s} that steps left running outside their process groups")
}

/// `Removed 3 cache records from target/flow/cache/ci`.
pub(crate) fn removed_records(n: usize, from: &std::path::Path) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!(
        "Removed {n} cache record{s} from {}",
        crate::source::display_path(from)
    )
}

/// `Installed the pre-push hook: \`git push\` runs \`cargo flow run ci\` first`.
pub(crate) fn hook_installed(
    name: &str,
    workflow: &str,
    path: &std::path::Path,
    moved: Option<&std::path::Path>,
) -> String {
    let mut text = format!(
        "{} the {name} hook ({}): it runs `cargo flow run {workflow}`",
        style("Installed").green().bold(),
        crate::source::display_path(path)
    );
    if let Some(moved) = moved {
        text.push_str(&format!(
            "\nThe hook that was there is now {}",
            crate::source::display_path(moved)
        ));
    }
    text
}

/// What `hook uninstall` did.
pub(crate) fn hook_removed(name: &str, removed: bool) -> String {
    if removed {
        format!("{} the {name} hook", style("Removed").green().bold())
    } else {
        format!("There is no {name} hook to remove")
    }
}

/// `hook list`: each hook present, with the workflow it runs when cargo flow wrote it.
pub(crate) fn hooks(hooks: &[(&str, Option<&str>)]) -> String {
    if hooks.is_empty() {
        return "No git hooks are installed\n".to_string();
    }
    let width = hooks.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    hooks
        .iter()
        .map(|(name, workflow)| match workflow {
            Some(workflow) => format!("{name:width$}  cargo flow run {workflow}\n"),
            None => format!("{name:width$}  (not cargo flow's)\n"),
        })
        .collect()
}

/// What `cargo flow init` wrote, and what to do next.
pub(crate) fn initialized(path: &std::path::Path, members: usize) -> String {
    let test = if members > 1 {
        "test (per package)"
    } else {
        "test"
    };
    format!(
        "{} the `ci` workflow to {}: fmt, clippy, {test} and doc\nRun it with `cargo flow ci`; `cargo flow hook install` runs it before every push",
        style("Wrote").green().bold(),
        crate::source::display_path(path)
    )
}

/// A GitHub Actions workflow was imported, and what did not carry over.
pub(crate) fn imported(
    path: &std::path::Path,
    name: &str,
    (jobs, steps): (usize, usize),
    left: &[String],
) -> String {
    let mut out = format!(
        "{} {} from {} jobs: {} in workflow `{name}`",
        style("Wrote").green().bold(),
        crate::source::display_path(path),
        jobs,
        if steps == 1 {
            "1 step".to_string()
        } else {
            format!("{steps} steps")
        }
    );
    if !left.is_empty() {
        out.push_str(&format!(
            "\n{} (each also a comment in the file):",
            style("Not carried over").yellow().bold()
        ));
        for what in left {
            out.push_str(&format!("\n  - {what}"));
        }
    }
    out.push_str(&format!(
        "\nCheck it with `cargo flow check {name}`, run it with `cargo flow run {name}`"
    ));
    out
}

/// What `--affected` chose: the packages, and with `explain`, why each.
pub(crate) fn affected(
    found: &crate::load::affected::Affected,
    members: usize,
    explain: bool,
) -> String {
    let names: Vec<&str> = found.packages.iter().map(|(p, _)| p.as_str()).collect();
    let list = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let mut out = format!(
        "{} since {}: {list} ({} of {members} packages; per-package steps run for these only)",
        style("Affected").cyan().bold(),
        found.base,
        names.len()
    );
    if explain {
        for (package, why) in &found.packages {
            out.push_str(&format!("\n  {package}: {why}"));
        }
    }
    out
}

/// `--affected` outside a cargo workspace.
pub(crate) fn affected_outside_workspace() -> String {
    format!(
        "{} this is no cargo workspace, so no step runs per package: `--affected` leaves every step to run",
        style("note:").cyan().bold()
    )
}

/// The target directory is not ignored by git.
pub(crate) fn target_not_ignored(target: &std::path::Path) -> String {
    format!(
        "{} git does not ignore {}: cached steps would read build outputs and always run; add it to .gitignore",
        style("warning:").yellow().bold(),
        crate::source::display_path(target)
    )
}

/// `--watch`, after a run: what it watches, and how to go on.
pub(crate) fn watching(folders: usize, code: i32, keys: bool) -> String {
    let how = match keys {
        true => "; r Enter: run everything again, q Enter or Ctrl-C: quit",
        false => "; Ctrl-C: quit",
    };
    let last = match code {
        0 => String::new(),
        code => format!(" (the last run ended with {code})"),
    };
    let head = style("Watching").cyan().bold();
    format!(
        "{head} {folders} folder{} for changes{last}{how}",
        if folders == 1 { "" } else { "s" }
    )
}

/// `--watch`: the files whose change starts a run.
pub(crate) fn changed(paths: &[String]) -> String {
    let head = style("Changed").cyan().bold();
    let mut unique: Vec<&String> = Vec::new();
    for p in paths {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    let more = match unique.len() {
        0..=3 => String::new(),
        n => format!(" and {} more", n - 3),
    };
    let names: Vec<String> = unique.iter().take(3).map(|p| format!("`{p}`")).collect();
    format!("{head} {}{more}: running again", names.join(", "))
}

/// `--watch`: a folder that could not be watched.
pub(crate) fn not_watched(folder: &str, why: &str) -> String {
    let head = style("warning:").yellow().bold();
    format!(
        "{head} cannot watch `{folder}` for changes: {why} (on Linux, raise fs.inotify.max_user_watches, or let git ignore the folders that need not be watched)"
    )
}
