//! Restoring a step's files from the server: every blob checked against its SHA-256 and
//! size as it arrives, and nothing put in place until every one of them has arrived whole.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::Target;
use super::action::{ARTIFACTS, OUTPUTS, OutputFile, hex};
use super::http::{Client, Failure};
use crate::run::cache::Entry;
use crate::sys;

/// A blob read whole into memory (a record, a signature), checked; at most `limit` bytes.
pub(super) fn blob(client: &Client, file: &OutputFile, limit: u64) -> Result<Vec<u8>, Failure> {
    let digest = file.digest.as_ref().ok_or_else(|| missing(file))?;
    let size = digest.size().unwrap_or(u64::MAX);
    if size > limit {
        return Err(Failure::Refused(format!("`{}` is too large", file.path)));
    }
    let mut sink = Checked::new(Vec::new());
    if !client.get_into(&format!("cas/{}", digest.hash), size, &mut sink)? {
        return Err(missing(file));
    }
    sink.verify(file)
}

/// The files an entry holds are those its record names.
pub(super) fn check_listed(record: &Entry, files: &[OutputFile]) -> Result<(), String> {
    let named = |prefix: &str| -> BTreeSet<&str> {
        files
            .iter()
            .filter_map(|f| f.path.strip_prefix(prefix))
            .collect()
    };
    let outputs: BTreeSet<&str> = record.outputs.keys().map(String::as_str).collect();
    let artifacts: BTreeSet<&str> = record.artifacts.keys().map(String::as_str).collect();
    if named(OUTPUTS) != outputs || named(ARTIFACTS) != artifacts {
        return Err("its entry's files are not those its record names".into());
    }
    Ok(())
}

/// Every output an entry names is one the step's `cache.outputs` match, and none lies in a
/// `.git` folder or in cargo flow's own: a server cannot write elsewhere in the checkout.
pub(super) fn check_allowed(target: &Target<'_>, record: &Entry) -> Result<(), String> {
    let mut globs = globset::GlobSetBuilder::new();
    for pattern in target.outputs {
        let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| e.to_string())?;
        globs.add(glob);
    }
    let globs = globs.build().map_err(|e| e.to_string())?;
    let under_literal = |name: &str| {
        target.outputs.iter().any(|p| {
            let p = p.strip_prefix("./").unwrap_or(p).trim_end_matches('/');
            name.strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    for name in record.outputs.keys() {
        let matched = globs.is_match(name) || under_literal(name);
        let git = name.split('/').any(|part| part == ".git");
        if !matched || git || target.cwd.join(name).starts_with(target.state_dir) {
            return Err(format!(
                "its entry names `{name}`, which is not one of its `cache.outputs`"
            ));
        }
    }
    Ok(())
}

/// Downloads every file and, once all are whole, puts them in place: outputs in the step's
/// folder, artifacts as its artifact folder (replacing what was there).
pub(super) fn write(
    client: &Client,
    target: &Target<'_>,
    files: &[OutputFile],
) -> Result<(), Failure> {
    let local = |e: io::Error| Failure::Refused(format!("cannot write what it restores: {e}"));
    let parent = target.artifact_dir.parent().unwrap_or(target.artifact_dir);
    std::fs::create_dir_all(parent).map_err(local)?;
    let staging = tempfile::Builder::new()
        .prefix(".restoring-")
        .tempdir_in(parent)
        .map_err(local)?;
    let mut outputs = Vec::new();
    for file in files {
        if (target.stop)() {
            return Err(Failure::Refused("interrupted".into()));
        }
        let (base, name) = match file.path.strip_prefix(OUTPUTS) {
            Some(name) => (target.cwd, name),
            None => (
                staging.path(),
                file.path.strip_prefix(ARTIFACTS).unwrap_or(&file.path),
            ),
        };
        let dest = base.join(name);
        let folder = dest.parent().unwrap_or(base);
        refuse_links(base, name).map_err(Failure::Refused)?;
        std::fs::create_dir_all(folder).map_err(local)?;
        let tmp = tempfile::NamedTempFile::new_in(folder).map_err(local)?;
        let tmp = download(client, file, tmp)?;
        tmp.as_file()
            .set_permissions(sys::restored_file_permissions(file.is_executable))
            .map_err(local)?;
        outputs.push((tmp, dest));
    }
    for (tmp, dest) in outputs {
        // A rename: a link at `dest` is replaced, never written through.
        tmp.persist(&dest).map_err(|e| local(e.error))?;
    }
    crate::run::artifacts::clear(target.artifact_dir).map_err(Failure::Refused)?;
    let staging = staging.keep();
    std::fs::rename(&staging, target.artifact_dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staging);
        local(e)
    })
}

/// A restored file is never written through a link: not one on the way to it below `base`
/// (a link a checkout holds could lead anywhere).
fn refuse_links(base: &Path, name: &str) -> Result<(), String> {
    let mut path = base.to_path_buf();
    for part in name.split('/') {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "`{name}` would be written through the link `{part}`"
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Downloads one file into `tmp`, checked.
fn download(
    client: &Client,
    file: &OutputFile,
    tmp: tempfile::NamedTempFile,
) -> Result<tempfile::NamedTempFile, Failure> {
    let digest = file.digest.as_ref().ok_or_else(|| missing(file))?;
    let size = digest.size().unwrap_or(u64::MAX);
    let mut sink = Checked::new(io::BufWriter::new(tmp));
    if !client.get_into(&format!("cas/{}", digest.hash), size, &mut sink)? {
        return Err(missing(file));
    }
    let writer = sink.verify(file)?;
    writer
        .into_inner()
        .map_err(|e| Failure::Refused(format!("cannot write `{}`: {}", file.path, e.error())))
}

fn missing(file: &OutputFile) -> Failure {
    Failure::Refused(format!("`{}` is missing from its /cas", file.path))
}

/// A writer that hashes and counts what passes through it.
struct Checked<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Checked<W> {
    fn new(inner: W) -> Self {
        Checked {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// What was written, when it is exactly the blob `file` names.
    fn verify(self, file: &OutputFile) -> Result<W, Failure> {
        let digest = file.digest.as_ref().ok_or_else(|| missing(file))?;
        let hash = hex(&self.hasher.finalize());
        if Some(self.written) != digest.size() || hash != digest.hash {
            return Err(Failure::Refused(format!(
                "`{}` arrived damaged: its contents do not match their SHA-256",
                file.path
            )));
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
