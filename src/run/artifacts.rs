//! Artifacts: files a step keeps, copied out of its working directory after it succeeds, so
//! that they survive the next build and later steps can find them in one place. Only the
//! project's own files are copied: a link that leads outside the project, nowhere, or to
//! something that is not a file fails the step rather than being copied or left out silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::contents::{self, Kind};
use super::files::{self, Ignored, Search};

/// Empties a step's artifact folder, so that a failed run never leaves the artifacts of an
/// earlier one looking like its own.
pub(crate) fn clear(folder: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "cannot empty its artifact folder `{}`: {e}",
            folder.display()
        )),
    }
}

/// A file kept: its copy in the artifact folder, with its size and the hash of its contents.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The blake3 hash of its contents, in hex.
    pub hash: String,
}

/// Where artifacts may come from: the folders of the project (its root, its target dir),
/// links resolved.
pub(crate) struct Project {
    given: Vec<PathBuf>,
    /// The folders with links resolved, found when first needed.
    roots: std::sync::OnceLock<Vec<PathBuf>>,
}

impl Project {
    /// The project whose files lie below `roots`.
    pub(crate) fn new(roots: &[&Path]) -> Self {
        Self {
            given: roots.iter().map(|r| r.to_path_buf()).collect(),
            roots: std::sync::OnceLock::new(),
        }
    }

    fn holds(&self, path: &Path) -> bool {
        let roots = self.roots.get_or_init(|| {
            self.given
                .iter()
                .filter_map(|r| std::fs::canonicalize(r).ok())
                .collect()
        });
        roots.iter().any(|r| path.starts_with(r))
    }
}

/// What a step keeps, and where.
pub(crate) struct Keep<'a> {
    /// The step's working directory, which its patterns are relative to.
    pub(crate) cwd: &'a Path,
    /// Its `artifacts:`.
    pub(crate) patterns: &'a [String],
    /// Its artifact folder.
    pub(crate) folder: &'a Path,
    /// Where artifacts may come from.
    pub(crate) project: &'a Project,
    /// Asked between pieces of work; `true` ends it with an interrupt.
    pub(crate) stop: &'a (dyn Fn() -> bool + Sync),
}

impl Keep<'_> {
    /// Copies the files that the patterns name into the folder and returns the copies,
    /// sorted. A file keeps its name, a folder its name and what is inside it, a glob's match
    /// its path below the glob's first folder with a wildcard. A pattern that names nothing is
    /// an error: a declared artifact is a promise. On an error the folder is left empty.
    pub(crate) fn collect(&self) -> Result<Vec<Kept>, String> {
        clear(self.folder)?;
        self.copy_all().inspect_err(|_| {
            let _ = clear(self.folder);
        })
    }

    fn copy_all(&self) -> Result<Vec<Kept>, String> {
        let Keep {
            cwd,
            patterns,
            folder,
            project,
            stop,
        } = *self;
        let search = Search {
            ignored: Ignored::Take,
            boundary: cwd,
            stop,
            walks: None,
        };
        let mut names = BTreeSet::new();
        let mut kept = Vec::new();
        for pattern in patterns {
            for file in files::find_promised(cwd, pattern, search, "artifact")? {
                if !names.insert(file.name.clone()) {
                    return Err(format!(
                        "two of its artifacts would both be copied to `{}`; name them by folder or with a glob",
                        file.name.display()
                    ));
                }
                check_source(&file.path, file.stat.kind, project)?;
                let to = folder.join(&file.name);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        format!(
                            "cannot create its artifact folder `{}`: {e}",
                            parent.display()
                        )
                    })?;
                }
                let (size, hash) =
                    contents::copy(&file.path, &to, stop).map_err(|e| match e.kind() {
                        std::io::ErrorKind::Interrupted => "interrupted".to_string(),
                        _ => format!(
                            "cannot copy its artifact `{}` to `{}`: {e}",
                            file.path.display(),
                            to.display()
                        ),
                    })?;
                kept.push(Kept {
                    path: to,
                    size,
                    hash,
                });
            }
        }
        kept.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(kept)
    }
}

/// An artifact must be a regular file of the project, reached through links or not.
fn check_source(path: &Path, kind: Kind, project: &Project) -> Result<(), String> {
    let shown = path.display();
    let real = std::fs::canonicalize(path).map_err(|_| {
        let to = std::fs::read_link(path)
            .map(|t| format!(" (to `{}`)", t.display()))
            .unwrap_or_default();
        format!("its artifact `{shown}` is a link that leads nowhere{to}")
    })?;
    if !project.holds(&real) {
        return Err(format!(
            "its artifact `{shown}` leads to `{}`, outside the project; only the project's own files are kept (copy the file into the project first)",
            real.display()
        ));
    }
    let kind = match kind {
        Kind::Link => contents::stat_of(&real, false).map_or(kind, |s| s.kind),
        k => k,
    };
    match kind {
        Kind::File => Ok(()),
        other => Err(format!(
            "its artifact `{shown}` is {}; artifacts are files",
            other.describe()
        )),
    }
}
