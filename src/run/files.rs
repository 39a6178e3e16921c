//! The files that a step's paths and globs name: `artifacts:`, `cache.inputs` and
//! `cache.outputs`, relative to its working directory.

use std::io;
use std::path::{Component, Path, PathBuf};

/// What one path or glob names.
#[derive(Debug)]
pub struct Matches {
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
pub struct Match {
    /// Where it is.
    pub path: PathBuf,
    /// Its name below the pattern's folder: where an artifact is copied to.
    pub name: PathBuf,
}

/// Whether `.gitignore` files are read while walking folders: inputs respect them (a build
/// folder is never an input); outputs and artifacts usually live in ignored folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Leave out what `.gitignore` (and `.git/info/exclude`) ignore.
    Skip,
    /// Take every file.
    Take,
}

/// The files `pattern` names relative to `base`: a file, every file in a folder, or every
/// file a glob matches (`*` within a folder, `**` across folders). Folders named `.git` are
/// never entered; links to folders are not followed.
pub fn find(base: &Path, pattern: &str, ignored: Ignored) -> io::Result<Matches> {
    let components: Vec<&str> = pattern.split('/').collect();
    let wild = |c: &str| c.contains(['*', '?', '[', '{']);
    let Some(first_wild) = components.iter().position(|c| wild(c)) else {
        return find_literal(base, pattern, ignored);
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
    walk(&root, ignored, |path| {
        if let Ok(name) = path.strip_prefix(&root)
            && matcher.is_match(name)
        {
            files.push(Match {
                path: path.to_path_buf(),
                name: name.to_path_buf(),
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
pub fn find_promised(
    base: &Path,
    pattern: &str,
    ignored: Ignored,
    what: &str,
) -> Result<Vec<Match>, String> {
    let found = find(base, pattern, ignored)
        .map_err(|e| format!("cannot look for {what} `{pattern}`: {e}"))?;
    match found.files.is_empty() {
        false => Ok(found.files),
        true if found.literal => Err(format!("its {what} `{pattern}` does not exist")),
        true => Err(format!("its {what} glob `{pattern}` matches no file")),
    }
}

/// A path without wildcards: the file itself, or every file in the folder.
fn find_literal(base: &Path, pattern: &str, ignored: Ignored) -> io::Result<Matches> {
    let path = base.join(pattern);
    let literal = |files| {
        Ok(Matches {
            files,
            literal: true,
        })
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        // A dangling link is still a file that was named: it is reported as one.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return literal(match std::fs::symlink_metadata(&path) {
                Ok(_) => vec![Match {
                    name: file_name(&path),
                    path,
                }],
                Err(_) => Vec::new(),
            });
        }
        Err(e) => return Err(e),
    };
    let name = file_name(&path);
    if !meta.is_dir() {
        return literal(vec![Match { path, name }]);
    }
    let mut files = Vec::new();
    walk(&path, ignored, |p| {
        if let Ok(inner) = p.strip_prefix(&path) {
            files.push(Match {
                path: p.to_path_buf(),
                name: name.join(inner),
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

/// Calls `found` with every file below `root` (links included, not followed into folders).
fn walk(root: &Path, ignored: Ignored, mut found: impl FnMut(&Path)) -> io::Result<()> {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git");
    if ignored == Ignored::Skip {
        builder
            .git_ignore(true)
            .git_exclude(true)
            .parents(true)
            .require_git(false);
    }
    for entry in builder.build() {
        let entry = entry.map_err(|e| match e.into_io_error() {
            Some(io) => io,
            None => io::Error::other("cannot read a folder"),
        })?;
        if entry.file_type().is_some_and(|t| !t.is_dir()) {
            found(entry.path());
        }
    }
    Ok(())
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

        let glob = find(base, "src/**/*.rs", Ignored::Skip)?;
        assert_eq!(names(&glob), ["a.rs", "deep/c.rs"]);
        assert!(!glob.literal);
        let shallow = find(base, "src/*.rs", Ignored::Skip)?;
        assert_eq!(names(&shallow), ["a.rs"]);
        let all = find(base, "**/*.rs", Ignored::Skip)?;
        assert_eq!(names(&all), ["src/a.rs", "src/deep/c.rs", "top.rs"]);
        let with_ignored = find(base, "**/*.rs", Ignored::Take)?;
        assert_eq!(
            names(&with_ignored),
            ["src/a.rs", "src/deep/c.rs", "target/x.rs", "top.rs"]
        );
        let folder = find(base, "src", Ignored::Skip)?;
        assert_eq!(names(&folder), ["src/a.rs", "src/b.txt", "src/deep/c.rs"]);
        assert!(folder.literal);
        let file = find(base, "src/deep/c.rs", Ignored::Skip)?;
        assert_eq!(names(&file), ["c.rs"]);
        let missing = find(base, "nope/x", Ignored::Skip)?;
        assert!(missing.files.is_empty() && missing.literal);
        let no_root = find(base, "nope/*.rs", Ignored::Skip)?;
        assert!(no_root.files.is_empty() && !no_root.literal);
        Ok(())
    }
}
