//! `--affected`: the workspace members a change touches. The change is what `git diff`
//! shows against a base (a REF, or the merge base with the upstream branch) plus the files git
//! does not track yet; a member is touched when a file in its folder changed, when the entries
//! of its dependencies in Cargo.lock changed, or when it depends on a touched member through a
//! path dependency. A change to what every member reads (the root manifest, `.cargo/`, the
//! toolchain file) touches them all. Only the workspace's own manifests and its Cargo.lock are
//! read, as everywhere in cargo flow, and nothing is written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::workspace::Workspace;
use crate::diagnostic::Problem;

/// The members a change touches, each with why, in the workspace's order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Affected {
    /// What the change is measured against, as given and as a commit.
    pub base: String,
    /// Each touched member, and why.
    pub packages: Vec<(String, String)>,
}

impl Affected {
    /// Whether `package` is touched.
    pub(crate) fn contains(&self, package: &str) -> bool {
        self.packages.iter().any(|(p, _)| p == package)
    }
}

/// The members of `ws` that the change since `base` (or the merge base with the upstream
/// branch) touches.
pub(crate) fn affected(ws: &Workspace, base: Option<&str>) -> Result<Affected, Problem> {
    let top = PathBuf::from(
        git(&ws.root, &["rev-parse", "--show-toplevel"]).map_err(|e| {
            problem(
                format!("`--affected` needs a git repository: {e}"),
                "run it inside the repository's checkout",
            )
        })?,
    );
    // Git names files by their real paths; the workspace may have been reached through a link.
    let ws = &resolved(ws);
    let (shown, commit) = base_commit(&top, base)?;
    let changed = changed_files(&top, &commit)?;
    let mut why: BTreeMap<usize, String> = BTreeMap::new();
    for file in &changed {
        touch_by_file(ws, &top, file, &mut why);
    }
    if changed.iter().any(|f| *f == ws.root.join("Cargo.lock")) {
        for (i, reason) in lock_changes(ws, &top, &commit) {
            why.entry(i).or_insert(reason);
        }
    }
    spread_to_dependents(ws, &mut why);
    Ok(Affected {
        base: format!("{shown} ({})", &commit[..commit.len().min(12)]),
        packages: why
            .into_iter()
            .map(|(i, r)| (ws.packages[i].name.clone(), r))
            .collect(),
    })
}

/// The workspace with its folders as the file system resolves them.
fn resolved(ws: &Workspace) -> Workspace {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut ws = ws.clone();
    ws.root = real(&ws.root);
    for p in &mut ws.packages {
        p.dir = real(&p.dir);
        for d in &mut p.path_dirs {
            *d = real(d);
        }
    }
    ws
}

fn problem(message: String, help: &str) -> Problem {
    Problem::new("flow::affected", message).with_help(help.to_string())
}

/// Runs git in `dir`; its standard output, trimmed, or what it said went wrong.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit to compare with: `base`, or the merge base of HEAD and its upstream.
fn base_commit(top: &Path, base: Option<&str>) -> Result<(String, String), Problem> {
    let shallow = git(top, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|s| s == "true");
    let fetch = if shallow {
        "this clone is shallow: fetch the history it needs (`git fetch --unshallow`, or `fetch-depth: 0` on GitHub Actions)"
    } else {
        "name a branch, tag or commit this repository has (`git fetch` one it lacks)"
    };
    match base {
        Some(r) => {
            let unknown = || {
                problem(
                    format!("`--affected={r}`: git knows no commit `{r}`"),
                    fetch,
                )
            };
            let object = git(
                top,
                &["rev-parse", "--verify", "--quiet", "--end-of-options", r],
            )
            .map_err(|_| unknown())?;
            let peeled = format!("{object}^{{commit}}");
            let commit =
                git(top, &["rev-parse", "--verify", "--quiet", &peeled]).map_err(|_| unknown())?;
            // As for the upstream branch: what this branch changed since it left `r`, not
            // what `r` changed since.
            let base = git(top, &["merge-base", "HEAD", &commit]).map_err(|e| {
                problem(
                    format!("`--affected={r}`: HEAD and `{r}` have no common history: {e}"),
                    fetch,
                )
            })?;
            Ok((format!("the merge base with {r}"), base))
        }
        None => {
            let commit = git(top, &["merge-base", "HEAD", "@{upstream}"]).map_err(|e| {
                problem(
                    format!("`--affected` compares with the upstream branch, and git found none: {e}"),
                    "name the base: `--affected=origin/main` (the `=` is needed), or set an upstream (`git branch -u origin/main`)",
                )
            })?;
            Ok(("the upstream branch's merge base".into(), commit))
        }
    }
}

/// Files changed since `commit`, committed or not, and files git does not track yet, as
/// absolute paths.
fn changed_files(top: &Path, commit: &str) -> Result<Vec<PathBuf>, Problem> {
    let failed = |e: String| {
        problem(
            format!("`git diff` failed: {e}"),
            "check the repository with `git status`",
        )
    };
    let diff = git(
        top,
        &["diff", "--name-only", "-z", "--no-renames", commit, "--"],
    )
    .map_err(failed)?;
    let new = git(top, &["ls-files", "--others", "--exclude-standard", "-z"]).map_err(failed)?;
    Ok(diff
        .split('\0')
        .chain(new.split('\0'))
        .filter(|f| !f.is_empty())
        .map(|f| top.join(f))
        .collect())
}

/// Files at the workspace root that every member reads.
const WORKSPACE_FILES: &[&str] = &[
    "Cargo.toml",
    "rust-toolchain",
    "rust-toolchain.toml",
    "clippy.toml",
    ".clippy.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
];

/// Marks the members a changed path touches: the innermost member folder holding it, every
/// member inside it (a submodule shows as one path), the members whose path dependencies
/// outside the workspace hold it; or every member, for what they all read (the files above,
/// `.config/`, and `.cargo/` in the workspace or a folder above it, up to the repository).
fn touch_by_file(ws: &Workspace, top: &Path, file: &Path, why: &mut BTreeMap<usize, String>) {
    let shown = file.strip_prefix(top).unwrap_or(file).display().to_string();
    let wide = (file.parent() == Some(ws.root.as_path())
        && file
            .file_name()
            .is_some_and(|n| WORKSPACE_FILES.iter().any(|w| n == *w)))
        || file.starts_with(ws.root.join(".config"))
        || ws
            .root
            .ancestors()
            .take_while(|d| d.starts_with(top))
            .any(|d| file.starts_with(d.join(".cargo")));
    if wide {
        for i in 0..ws.packages.len() {
            why.entry(i)
                .or_insert_with(|| format!("{shown} changed, which every member reads"));
        }
        return;
    }
    let owner = ws
        .packages
        .iter()
        .enumerate()
        .filter(|(_, p)| file.starts_with(&p.dir))
        .max_by_key(|(_, p)| p.dir.components().count());
    if let Some((i, _)) = owner {
        why.entry(i).or_insert_with(|| format!("{shown} changed"));
    }
    for (i, p) in ws.packages.iter().enumerate() {
        if p.dir.starts_with(file) && p.dir != file {
            why.entry(i)
                .or_insert_with(|| format!("{shown} changed (a folder holding it)"));
        }
        if let Some(dir) = p.path_dirs.iter().find(|d| file.starts_with(d)) {
            let dir = dir.strip_prefix(top).unwrap_or(dir).display().to_string();
            why.entry(i)
                .or_insert_with(|| format!("{shown} changed, in its path dependency {dir}"));
        }
    }
}

/// Adds the members that depend, through path dependencies, on a touched one.
fn spread_to_dependents(ws: &Workspace, why: &mut BTreeMap<usize, String>) {
    let mut queue: Vec<usize> = why.keys().copied().collect();
    while let Some(i) = queue.pop() {
        let name = ws.packages[i].name.as_str();
        for (j, p) in ws.packages.iter().enumerate() {
            if p.path_deps.iter().any(|d| d == name) && !why.contains_key(&j) {
                why.insert(j, format!("depends on {name}"));
                queue.push(j);
            }
        }
    }
}

/// Members whose dependencies' entries in Cargo.lock differ between `commit` and now.
fn lock_changes(ws: &Workspace, top: &Path, commit: &str) -> Vec<(usize, String)> {
    let relative = ws.root.join("Cargo.lock");
    let relative = relative
        .strip_prefix(top)
        .unwrap_or(&relative)
        .to_string_lossy()
        .replace('\\', "/");
    let old = git(top, &["show", &format!("{commit}:{relative}")]).unwrap_or_default();
    let new = std::fs::read_to_string(ws.root.join("Cargo.lock")).unwrap_or_default();
    let (old, new) = (lock_entries(&old), lock_entries(&new));
    if new.is_empty() && !old.is_empty() {
        let all = (0..ws.packages.len()).map(|i| (i, "Cargo.lock was removed".to_string()));
        return all.collect();
    }
    let changed: HashSet<&(String, String)> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let is_member = |n: &str| ws.packages.iter().any(|p| p.name == n);
    let mut out = Vec::new();
    for (i, p) in ws.packages.iter().enumerate() {
        // A member's own entry, and those of the members it reaches, are their folders' news.
        let reached = lock_closure(&new, &[p.name.as_str()], &is_member);
        if let Some((dep, _)) = reached
            .iter()
            .find(|k| !is_member(&k.0) && changed.contains(k))
        {
            out.push((
                i,
                format!("Cargo.lock changed for {dep}, which it depends on"),
            ));
        }
    }
    out
}

/// A lock file's packages: (name, version) to (source, checksum, dependencies).
pub(crate) type Entries = HashMap<(String, String), (String, String, Vec<String>)>;

pub(crate) fn lock_entries(text: &str) -> Entries {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Entries::new();
    };
    let packages = doc
        .get("package")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    packages
        .iter()
        .map(|p| {
            let s = |k: &str| {
                p.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let deps = p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|d| {
                    d.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (
                (s("name"), s("version")),
                (s("source"), s("checksum"), deps),
            )
        })
        .collect()
}

/// The entries of a lock file that `roots` lead to through their dependencies, roots
/// included, in the order found; a dependency is written `name`, `name version` or `name
/// version (source)`, and names an entry by name, and by version where it gives one. The
/// entries of packages for which `stop` holds (but for the roots) are not followed further.
pub(crate) fn lock_closure(
    entries: &Entries,
    roots: &[&str],
    stop: &dyn Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut found = Vec::new();
    let mut queue: Vec<(String, bool)> = roots.iter().map(|r| ((*r).to_string(), true)).collect();
    while let Some((spec, root)) = queue.pop() {
        let mut words = spec.split(' ');
        let name = words.next().unwrap_or_default();
        let version = words.next();
        for (key, (_, _, deps)) in entries
            .iter()
            .filter(|((n, v), _)| n == name && version.is_none_or(|w| w == v))
        {
            if !seen.insert(key.clone()) {
                continue;
            }
            found.push(key.clone());
            if root || !stop(&key.0) {
                queue.extend(deps.iter().map(|d| (d.clone(), false)));
            }
        }
    }
    found
}
