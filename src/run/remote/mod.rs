//! The remote cache: cached steps' results shared through a server that speaks the Bazel
//! HTTP cache protocol (bazel-remote, nginx with WebDAV, BuildBuddy and others). A step's
//! files go to `/cas/<sha256>`, its entry (see [`action`]) to `/ac/<key>`. A local miss asks
//! the server; a success is stored there unless the cache is read-only. The server is never
//! needed: when it cannot be reached, or answers wrongly, the step runs here, with a warning.

mod action;
mod http;
mod restore;
mod sign;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::cache::{Entry, ROOT, portable};
use crate::sys;
use action::{ARTIFACTS, ActionResult, Digest, OUTPUTS, OutputFile, RECORD, SIGNATURE};
use http::{Client, Failure};

/// How to reach the remote cache and what it may do.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The server: `http://host:9090` or `https://host/prefix`.
    pub url: String,
    /// Never store results there (a pull request's run, say): only restore.
    pub read_only: bool,
    /// A header sent with every request (`Authorization: Bearer …`).
    pub header: Option<(String, String)>,
    /// The secret entries are signed with, and must be signed with to be restored.
    pub signing_key: Option<Vec<u8>>,
    /// How long one request may take, from connecting to the last byte.
    pub timeout: Duration,
}

/// The largest entry read from `/ac`.
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;
/// The largest cache record read from `/cas`.
const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// A connection to the remote cache for one run.
pub(crate) struct Remote {
    client: Client,
    read_only: bool,
    secret: Option<Vec<u8>>,
    /// Why the server was given up on, once it could not be reached: the rest of the run
    /// does not wait for it again.
    given_up: OnceLock<String>,
}

/// A step, as the remote cache knows it.
pub(crate) struct Target<'a> {
    /// Its workflow's name.
    pub workflow: &'a str,
    /// Its id.
    pub step: &'a str,
    /// Its cache key.
    pub key: &'a str,
    /// Where its outputs are, relative to which they are named.
    pub cwd: &'a Path,
    /// Its artifact folder.
    pub artifact_dir: &'a Path,
    /// Its `cache.outputs` patterns: what may be restored into `cwd`.
    pub outputs: &'a [String],
    /// The project's root, written as `${workspace_root}` in the outputs stored.
    pub root: &'a Path,
    /// cargo flow's own folder, which nothing restored may go into.
    pub state_dir: &'a Path,
    /// Whether the run is being stopped: a restore stops between files.
    pub stop: Box<dyn Fn() -> bool + 'a>,
}

impl Target<'_> {
    /// Its entry's name in `/ac`: the SHA-256 of its workflow, id and key, as bazel-remote
    /// requires of `/ac` keys.
    fn ac_key(&self) -> String {
        let text = format!(
            "cargo-flow action 1\0{}\0{}\0{}",
            self.workflow, self.step, self.key
        );
        action::hex(&Sha256::digest(text.as_bytes()))
    }
}

impl Remote {
    /// A connection as `settings` say.
    pub(crate) fn new(settings: &Settings) -> Self {
        Remote {
            client: Client::new(&settings.url, settings.header.clone(), settings.timeout),
            read_only: settings.read_only,
            secret: settings.signing_key.clone(),
            given_up: OnceLock::new(),
        }
    }

    /// Restores `target`'s last success from the server, when it has one: its outputs and
    /// artifacts written in place, and its record returned. `Err` is a warning: the step
    /// runs here.
    pub(crate) fn restore(&self, target: &Target<'_>) -> Result<Option<Entry>, String> {
        if self.given_up.get().is_some() {
            return Ok(None);
        }
        let ac_key = target.ac_key();
        let fetched = self.fetch(target, &ac_key);
        fetched
            .map_err(|f| self.failure(f))?
            .map_or(Ok(None), |(entry, files)| {
                restore::write(&self.client, target, &files)
                    .map(|()| Some(entry))
                    .map_err(|f| self.failure(f))
            })
    }

    /// The entry and record at `ac_key`, checked: every path safe, the signature good, the
    /// record's key `target`'s.
    fn fetch(
        &self,
        target: &Target<'_>,
        ac_key: &str,
    ) -> Result<Option<(Entry, Vec<OutputFile>)>, Failure> {
        let Some(bytes) = self.client.get(&format!("ac/{ac_key}"), MAX_ENTRY_BYTES)? else {
            return Ok(None);
        };
        let entry = ActionResult::from_bytes(&bytes).map_err(Failure::Refused)?;
        check_paths(&entry).map_err(Failure::Refused)?;
        if let Some(secret) = &self.secret {
            let file = entry.file(SIGNATURE).ok_or_else(|| {
                Failure::Refused("its entry is not signed, and only signed ones are used".into())
            })?;
            let signature = restore::blob(&self.client, file, 1024)?;
            if !sign::verify(secret, ac_key, &entry, &signature) {
                return Err(Failure::Refused(
                    "its entry's signature is wrong: it was not written with this signing key"
                        .into(),
                ));
            }
        }
        let record = entry.file(RECORD).ok_or_else(|| {
            Failure::Refused("its entry holds no cache record: it is not cargo flow's".into())
        })?;
        let record = restore::blob(&self.client, record, MAX_RECORD_BYTES)?;
        let record: Entry = serde_json::from_slice(&record)
            .map_err(|_| Failure::Refused("its cache record on the server is damaged".into()))?;
        crate::run::outputs::check(&record.step_outputs)
            .map_err(|e| Failure::Refused(format!("its record's outputs cannot be used: {e}")))?;
        if record.key != target.key {
            return Err(Failure::Refused(
                "its entry on the server is for another key: it was not written by cargo flow"
                    .into(),
            ));
        }
        let files = entry
            .output_files
            .into_iter()
            .filter(|f| f.path.starts_with(OUTPUTS) || f.path.starts_with(ARTIFACTS))
            .collect::<Vec<_>>();
        restore::check_listed(&record, &files).map_err(Failure::Refused)?;
        restore::check_allowed(target, &record).map_err(Failure::Refused)?;
        let mut record = record;
        for (_, value) in &mut record.step_outputs {
            *value = value.replace(ROOT, &target.root.to_string_lossy());
        }
        Ok(Some((record, files)))
    }

    /// Stores a success: its files in `/cas`, then its entry in `/ac`. `Err` is a warning.
    pub(crate) fn store(&self, target: &Target<'_>, record: &Entry) -> Result<(), String> {
        if self.read_only || self.given_up.get().is_some() {
            return Ok(());
        }
        self.upload(target, record).map_err(|f| self.failure(f))
    }

    fn upload(&self, target: &Target<'_>, record: &Entry) -> Result<(), Failure> {
        let mut files = Vec::new();
        let sets = [
            (OUTPUTS, target.cwd, &record.outputs),
            (ARTIFACTS, target.artifact_dir, &record.artifacts),
        ];
        for (prefix, base, names) in sets {
            for name in names.keys() {
                if !action::is_safe_path(name) {
                    return Err(Failure::Refused(format!(
                        "`{name}` is outside its folder, so its result is not shared"
                    )));
                }
                let path = base.join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|e| Failure::Refused(format!("cannot read `{name}`: {e}")))?;
                let executable = std::fs::metadata(&path).is_ok_and(|m| sys::is_executable(&m));
                files.push(self.put_blob(&format!("{prefix}{name}"), &bytes, executable)?);
            }
        }
        // An output naming a path in this checkout names the same path in another.
        let mut record = record.clone();
        // What the key is made of stays here: hashes of `env:` and `cache.env` values, which
        // a server could try to guess, are no business of its, nor needed by a reader.
        record.parts = Default::default();
        for (_, value) in &mut record.step_outputs {
            let stored = portable(target.root, value.as_bytes());
            *value = String::from_utf8_lossy(&stored).into_owned();
        }
        let text = serde_json::to_vec(&record).map_err(|e| Failure::Refused(e.to_string()))?;
        files.push(self.put_blob(RECORD, &text, false)?);
        let mut entry = ActionResult {
            output_files: files,
            exit_code: 0,
        };
        let ac_key = target.ac_key();
        if let Some(secret) = &self.secret {
            let signature = sign::sign(secret, &ac_key, &entry)
                .ok_or_else(|| Failure::Refused("the signing key cannot be used".into()))?;
            let file = self.put_blob(SIGNATURE, signature.as_bytes(), false)?;
            entry.output_files.push(file);
        }
        self.client.put(&format!("ac/{ac_key}"), &entry.to_bytes())
    }

    /// Stores `bytes` in `/cas` unless the server has them.
    fn put_blob(
        &self,
        path: &str,
        bytes: &[u8],
        is_executable: bool,
    ) -> Result<OutputFile, Failure> {
        let digest = Digest::of(bytes);
        let at = format!("cas/{}", digest.hash);
        if !self.client.has(&at)? {
            self.client.put(&at, bytes)?;
        }
        Ok(OutputFile {
            path: path.to_string(),
            digest: Some(digest),
            is_executable,
        })
    }

    /// A failure as the warning it is; an unreachable server is given up on for the run.
    fn failure(&self, failure: Failure) -> String {
        match failure {
            Failure::Unreachable(why) => {
                let message = format!(
                    "the remote cache cannot be reached ({why}): steps run here, and it is not \
                     asked again in this run"
                );
                match self.given_up.set(why) {
                    Ok(()) => message,
                    // Another step said so already.
                    Err(_) => String::new(),
                }
            }
            Failure::Refused(why) => format!("the remote cache was not used: {why}"),
        }
    }
}

/// Every path in an entry is one cargo flow writes, and safe to restore.
fn check_paths(entry: &ActionResult) -> Result<(), String> {
    for f in &entry.output_files {
        let rest = f
            .path
            .strip_prefix(OUTPUTS)
            .or_else(|| f.path.strip_prefix(ARTIFACTS));
        let known =
            f.path == RECORD || f.path == SIGNATURE || rest.is_some_and(action::is_safe_path);
        if !known {
            return Err(format!(
                "its entry names a path it may not write: `{}`",
                f.path
            ));
        }
        if !f.digest.as_ref().is_some_and(Digest::is_valid) {
            return Err(format!("its entry names `{}` by no valid digest", f.path));
        }
    }
    Ok(())
}
