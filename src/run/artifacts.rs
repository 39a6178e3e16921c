//! Artifacts: files a step keeps, copied out of its working directory after it succeeds, so
//! that they survive the next build and later steps can find them in one place.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::files::{self, Ignored};

/// Empties a step's artifact folder, so that a failed run never leaves the artifacts of an
/// earlier one looking like its own.
pub fn clear(folder: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "cannot empty its artifact folder `{}`: {e}",
            folder.display()
        )),
    }
}

/// Copies the files that `patterns` name (relative to `cwd`) into `folder` and returns the
/// copies, sorted. A file keeps its name, a folder its name and what is inside it, a glob's
/// match its path below the glob's first folder with a wildcard. A pattern that names nothing
/// is an error: a declared artifact is a promise. On an error the folder is left empty.
pub fn collect(cwd: &Path, patterns: &[String], folder: &Path) -> Result<Vec<PathBuf>, String> {
    clear(folder)?;
    copy_all(cwd, patterns, folder).inspect_err(|_| {
        let _ = clear(folder);
    })
}

fn copy_all(cwd: &Path, patterns: &[String], folder: &Path) -> Result<Vec<PathBuf>, String> {
    let mut names = BTreeSet::new();
    let mut copies = Vec::new();
    for pattern in patterns {
        for file in files::find_promised(cwd, pattern, Ignored::Take, "artifact")? {
            if !names.insert(file.name.clone()) {
                return Err(format!(
                    "two of its artifacts would both be copied to `{}`; name them by folder or with a glob",
                    file.name.display()
                ));
            }
            let to = folder.join(&file.name);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    format!(
                        "cannot create its artifact folder `{}`: {e}",
                        parent.display()
                    )
                })?;
            }
            std::fs::copy(&file.path, &to).map_err(|e| {
                format!(
                    "cannot copy its artifact `{}` to `{}`: {e}",
                    file.path.display(),
                    to.display()
                )
            })?;
            copies.push(to);
        }
    }
    copies.sort();
    Ok(copies)
}
