//! The files that a step's paths and globs name: `artifacts:`, `cache.inputs` and
//! `cache.outputs`, relative to its working directory.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::contents::{self, Kind, Stat};
use super::walk::{self, Listing};

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
    /// What `stat` said of it when it was found, what it is included: a file found while
    /// walking a folder is never followed, so it may be a link; a path named as it is was
    /// followed, unless it could not be.
    pub stat: Stat,
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
    pub stop: &'a (dyn Fn() -> bool + Sync),
    /// The walks already done in this run, to share.
    pub walks: Option<&'a Walks>,
}

/// The walks of one run, shared by the steps whose patterns read the same folder, so that a
/// fully cached run walks each folder once however many steps read it. A walk holds only
/// until a step runs, which could change the files.
#[derive(Default)]
pub(crate) struct Walks {
    generation: AtomicU64,
    done: Memo<(PathBuf, Ignored), Listing>,
}

impl Walks {
    /// How many times what was walked may have changed since the run began.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A step is about to run: what was walked may change.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The files below `root`, walked once per generation.
    fn listing(&self, root: &Path, search: Search<'_>) -> io::Result<Arc<Listing>> {
        let key = (root.to_path_buf(), search.ignored);
        self.done.get(key, self.generation(), || walk(root, search))
    }
}

/// What the steps of a run find from the files, kept by key for one generation of its
/// walks: a step asking for a value being found waits for it rather than finding it again.
/// A failure is not kept: it may be the asking step's own interrupt.
pub(crate) struct Memo<K, V> {
    slots: Mutex<HashMap<K, Arc<Slot<V>>>>,
}

/// One value of a memo, found or being found, and the generation it was asked in.
struct Slot<V> {
    generation: u64,
    value: Mutex<Option<Arc<V>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            slots: Mutex::default(),
        }
    }
}

impl<K: Eq + std::hash::Hash, V> Memo<K, V> {
    /// The value of `key` in `generation`: kept, or found now by `find`.
    pub(crate) fn get<E>(
        &self,
        key: K,
        generation: u64,
        find: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = || {
                Arc::new(Slot {
                    generation,
                    value: Mutex::new(None),
                })
            };
            let slot = slots.entry(key).or_insert_with(fresh);
            if slot.generation != generation {
                *slot = fresh();
            }
            Arc::clone(slot)
        };
        // Held while the value is found, so that others asking wait.
        let mut value = slot.value.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = &*value {
            return Ok(Arc::clone(value));
        }
        let found = Arc::new(find()?);
        *value = Some(Arc::clone(&found));
        Ok(found)
    }
}

/// The files below `root`: from this run's walks when it keeps them, else walked now.
fn listing(root: &Path, search: Search<'_>) -> io::Result<Arc<Listing>> {
    match search.walks {
        Some(walks) => walks.listing(root, search),
        None => walk(root, search).map(Arc::new),
    }
}

/// Whether `.gitignore` files are read while walking folders: inputs respect them (a build
/// folder is never an input); outputs and artifacts usually live in ignored folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    // `**` alone matches every name: no need to ask.
    let every = rest == "**";
    let files = listing(&root, search)?
        .iter()
        .filter(|(name, _)| every || matcher.is_match(name))
        .map(|(name, stat)| Match {
            path: walk::joined(&root, name),
            name: name.clone(),
            stat: *stat,
        })
        .collect();
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
    let stat = match contents::stat_of(&path, true) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return literal(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = file_name(&path);
    if stat.kind != Kind::Folder {
        return literal(vec![Match { path, name, stat }]);
    }
    let files = listing(&path, search)?
        .iter()
        .map(|(inner, stat)| Match {
            path: walk::joined(&path, inner),
            name: walk::joined(&name, inner),
            stat: *stat,
        })
        .collect();
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

/// Every file below `root`, walked now.
fn walk(root: &Path, search: Search<'_>) -> io::Result<Listing> {
    let options = walk::Options {
        skip_ignored: search.ignored == Ignored::Skip,
        boundary: search.boundary,
        stop: search.stop,
    };
    walk::walk(root, options)
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
            walks: None,
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
