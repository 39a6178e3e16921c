//! The files that a step's paths and globs name: `artifacts:`, `cache.inputs` and
//! `cache.outputs`, relative to its working directory.

use std::io;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::contents::{self, Kind};

/// What one path or glob names.
#[derive(Debug)]
pub(crate) struct Matches {
    /// The files, each with the name it is known by: for a file named as it is, its file
    /// name; for a folder, its name and the path inside it; for a glob, the path below the
    /// glob's first folder that holds a wildcard. Sorted by name.
    pub files: Vec<Match>,
    /// Whether the pattern has no wildcard, so that it names one file or folder that either
    /// exists or does not.
    pub literal: bool,
}

/// One file a pattern matched.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    /// Where it is.
    pub path: PathBuf,
    /// Its name below the pattern's folder: where an artifact is copied to.
    pub name: PathBuf,
    /// What it is: a file found while walking a folder is never followed, so it may be a
    /// link; a path named as it is was followed, unless it could not be.
    pub kind: Kind,
}

/// What a search needs beyond the pattern.
#[derive(Clone, Copy)]
pub(crate) struct Search<'a> {
    /// Whether `.gitignore` rules leave files out.
    pub ignored: Ignored,
    /// The folder whose `.gitignore` files apply, with those below it: the repository's root,
    /// or the project's outside a repository. Rules above it never apply.
    pub boundary: &'a Path,
    /// Asked between files and pieces of work; `true` ends the search with an interrupt.
    pub stop: &'a dyn Fn() -> bool,
}

/// Whether `.gitignore` files are read while walking folders: inputs respect them (a build
/// folder is never an input); outputs and artifacts usually live in ignored folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ignored {
    /// Leave out what `.gitignore` (and `.git/info/exclude`) ignore.
    Skip,
    /// Take every file.
    Take,
}

/// The files `pattern` names relative to `base`: a file, every file in a folder, or every
/// file a glob matches (`*` within a folder, `**` across folders). Folders named `.git` are
/// never entered; links to folders are not followed.
pub(crate) fn find(base: &Path, pattern: &str, search: Search<'_>) -> io::Result<Matches> {
    let components: Vec<&str> = pattern.split('/').collect();
    let wild = |c: &str| c.contains(['*', '?', '[', '{']);
    let Some(first_wild) = components.iter().position(|c| wild(c)) else {
        return find_literal(base, pattern, search);
    };
    let prefix = components[..first_wild].join("/");
    let root = if prefix.is_empty() && pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        base.join(&prefix)
    };
    let rest = components[first_wild..].join("/");
    let matcher = globset::GlobBuilder::new(&rest)
        .literal_separator(true)
        .build()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
        .compile_matcher();
    if !root.is_dir() {
        return Ok(Matches {
            files: Vec::new(),
            literal: false,
        });
    }
    let mut files = Vec::new();
    walk(&root, search, |path, kind| {
        if let Ok(name) = path.strip_prefix(&root)
            && matcher.is_match(name)
        {
            files.push(Match {
                path: path.to_path_buf(),
                name: name.to_path_buf(),
                kind,
            });
        }
    })?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Matches {
        files,
        literal: false,
    })
}

/// The files a declared pattern names, which must be at least one: `what` names the pattern
/// in the error (`artifact`, `cache output`), as a promise that was not kept.
pub(crate) fn find_promised(
    base: &Path,
    pattern: &str,
    search: Search<'_>,
    what: &str,
) -> Result<Vec<Match>, String> {
    let found = find(base, pattern, search).map_err(|e| match e.kind() {
        io::ErrorKind::Interrupted => "interrupted".to_string(),
        _ => format!("cannot look for {what} `{pattern}`: {e}"),
    })?;
    match found.files.is_empty() {
        false => Ok(found.files),
        true if found.literal => Err(format!("its {what} `{pattern}` does not exist")),
        true => Err(format!("its {what} glob `{pattern}` matches no file")),
    }
}

/// A path without wildcards: the file itself (followed, if it is a link that can be), or
/// every file in the folder.
fn find_literal(base: &Path, pattern: &str, search: Search<'_>) -> io::Result<Matches> {
    let path = base.join(pattern);
    let literal = |files| {
        Ok(Matches {
            files,
            literal: true,
        })
    };
    let kind = match contents::stat(&path, true) {
        Ok((kind, _, _)) => kind,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return literal(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = file_name(&path);
    if kind != Kind::Folder {
        return literal(vec![Match { path, name, kind }]);
    }
    let mut files = Vec::new();
    walk(&path, search, |p, kind| {
        if let Ok(inner) = p.strip_prefix(&path) {
            files.push(Match {
                path: p.to_path_buf(),
                name: name.join(inner),
                kind,
            });
        }
    })?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    literal(files)
}

/// The last named component of a path (`target/release/app` is `app`; `.` is the name of
/// the folder it stands for).
fn file_name(path: &Path) -> PathBuf {
    let normal = path.components().rev().find_map(|c| match c {
        Component::Normal(n) => Some(PathBuf::from(n)),
        _ => None,
    });
    normal.unwrap_or_else(|| PathBuf::from("root"))
}

/// Calls `found` with every file below `root` and what it is (links included, never
/// followed).
fn walk(root: &Path, search: Search<'_>, mut found: impl FnMut(&Path, Kind)) -> io::Result<()> {
    let above = match search.ignored {
        Ignored::Skip => rules_above(root, search.boundary),
        Ignored::Take => Vec::new(),
    };
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(move |e| {
            e.file_name() != ".git" && !ignored_above(&above, e.path(), e.path().is_dir())
        });
    if search.ignored == Ignored::Skip {
        builder
            .git_ignore(true)
            .git_exclude(true)
            .require_git(false);
    }
    for entry in builder.build() {
        if (search.stop)() {
            return Err(contents::interrupted());
        }
        let entry = entry.map_err(|e| match e.into_io_error() {
            Some(io) => io,
            None => io::Error::other("cannot read a folder"),
        })?;
        let kind = match entry.file_type() {
            Some(t) if t.is_dir() => continue,
            Some(t) if t.is_symlink() => Kind::Link,
            Some(t) if t.is_file() => Kind::File,
            _ => match entry.metadata() {
                Ok(m) => Kind::of(&m),
                Err(_) => Kind::Special("unreadable"),
            },
        };
        found(entry.path(), kind);
    }
    Ok(())
}

/// The `.gitignore` rules of the folders from `boundary` down to the parent of `root`, deepest
/// first, with the repository's `.git/info/exclude`: the rules that apply to `root` from
/// above. None when `root` is not below `boundary` as written.
fn rules_above(root: &Path, boundary: &Path) -> Vec<(PathBuf, Gitignore)> {
    let plain = |p: &Path| p.components().all(|c| !matches!(c, Component::ParentDir));
    if !plain(root) || !plain(boundary) || !root.starts_with(boundary) || root == boundary {
        return Vec::new();
    }
    let mut rules = Vec::new();
    for dir in root.ancestors().skip(1) {
        let mut builder = GitignoreBuilder::new(dir);
        let _ = builder.add(dir.join(".gitignore"));
        if dir == boundary {
            let _ = builder.add(dir.join(".git/info/exclude"));
        }
        if let Ok(gi) = builder.build()
            && !gi.is_empty()
        {
            rules.push((dir.to_path_buf(), gi));
        }
        if dir == boundary {
            break;
        }
    }
    rules
}

/// Whether rules from above the walk leave `path` out: the deepest folder whose rules say
/// anything about it decides.
fn ignored_above(rules: &[(PathBuf, Gitignore)], path: &Path, is_dir: bool) -> bool {
    for (dir, gi) in rules {
        if !path.starts_with(dir) {
            continue;
        }
        let m = gi.matched_path_or_any_parents(path, is_dir);
        if m.is_ignore() {
            return true;
        }
        if m.is_whitelist() {
            return false;
        }
    }
    false
}

/// The folder whose `.gitignore` rules apply to paths below `dir`: the nearest ancestor
/// holding `.git` (a folder, or a file in a worktree), or else `project`.
pub(crate) fn ignore_boundary(dir: &Path, project: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(project)
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(m: &Matches) -> Vec<String> {
        m.files
            .iter()
            .map(|f| f.name.display().to_string())
            .collect()
    }

    #[test]
    fn finds_files_folders_and_globs() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let base = dir.path();
        for f in [
            "src/a.rs",
            "src/b.txt",
            "src/deep/c.rs",
            "target/x.rs",
            "top.rs",
        ] {
            let p = base.join(f);
            std::fs::create_dir_all(p.parent().unwrap_or(base))?;
            std::fs::write(p, f)?;
        }
        std::fs::write(base.join(".gitignore"), "target/\n")?;

        let stop = || false;
        let search = |ignored| Search {
            ignored,
            boundary: base,
            stop: &stop,
        };
        let (skip, take) = (search(Ignored::Skip), search(Ignored::Take));
        let glob = find(base, "src/**/*.rs", skip)?;
        assert_eq!(names(&glob), ["a.rs", "deep/c.rs"]);
        assert!(!glob.literal);
        let shallow = find(base, "src/*.rs", skip)?;
        assert_eq!(names(&shallow), ["a.rs"]);
        let all = find(base, "**/*.rs", skip)?;
        assert_eq!(names(&all), ["src/a.rs", "src/deep/c.rs", "top.rs"]);
        let with_ignored = find(base, "**/*.rs", take)?;
        assert_eq!(
            names(&with_ignored),
            ["src/a.rs", "src/deep/c.rs", "target/x.rs", "top.rs"]
        );
        let folder = find(base, "src", skip)?;
        assert_eq!(names(&folder), ["src/a.rs", "src/b.txt", "src/deep/c.rs"]);
        assert!(folder.literal);
        let file = find(base, "src/deep/c.rs", skip)?;
        assert_eq!(names(&file), ["c.rs"]);
        let missing = find(base, "nope/x", skip)?;
        assert!(missing.files.is_empty() && missing.literal);
        let no_root = find(base, "nope/*.rs", skip)?;
        assert!(no_root.files.is_empty() && !no_root.literal);
        Ok(())
    }
}
