//! The cache. A cached step's key is a blake3 hash of everything it depends on: its resolved
//! command, working directory and `env:`, the environment variables it names, the context
//! values it uses, the contents of its inputs, the outputs of earlier steps it reads and the
//! keys of the steps it depends on. When the key matches the one recorded at its last
//! success, and the outputs and artifacts recorded then are still there unchanged, it does
//! not run. What differs is kept, so that a step that runs can say why.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::artifacts::Kept;
use super::contents;
use super::files::{self, Ignored, Search};
use crate::plan::names::file_name;
use crate::plan::{CachePlan, Plan, PlannedStep, Run};

/// The version of the record format and of what goes into a key; a change makes every
/// recorded key differ.
const FORMAT: u32 = 4;

/// What an environment variable that is not set is recorded as.
const UNSET: &str = "unset";

/// A file as it was when it was hashed. The size and modification time let an unchanged
/// file skip being read again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSig {
    /// blake3 of its content, in hex.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, in nanoseconds since 1970.
    pub mtime: i64,
    /// Its inode and inode change time, mixed (see [`contents::Stat`]).
    #[serde(default)]
    pub id: u64,
}

/// What a key is made of, part by part, so that two can be compared. Values that could be
/// secrets (environment, context, outputs, the command) are kept only as hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Parts {
    /// The resolved command.
    pub command: String,
    /// The working directory.
    pub cwd: String,
    /// The step's `env:` (with the workflow's), by name.
    pub step_env: BTreeMap<String, String>,
    /// The variables named in `cache.env`, by name; `unset` when not set.
    pub env: BTreeMap<String, String>,
    /// The context variables the step uses, by name.
    pub context: BTreeMap<String, String>,
    /// A hash of every input file's name (relative to the working directory) and contents:
    /// what the key holds of them.
    pub inputs: String,
    /// A hash of every input file's name and stat: while it stays the same, so do their
    /// contents, and a cached run reads none of them.
    pub input_stats: String,
    /// How many input files there are.
    pub input_count: usize,
    /// Every input file, when they were hashed for this key; kept beside the records, by
    /// `inputs`, for the next change to name the files that changed.
    #[serde(skip)]
    pub input_files: Option<BTreeMap<String, FileSig>>,
    /// Inputs named without a wildcard that do not exist: creating one changes the key.
    pub absent: BTreeSet<String>,
    /// The key of each step it depends on (for a step without `cache:`, a hash of the
    /// outputs it wrote), by id.
    pub deps: BTreeMap<String, String>,
    /// The outputs of earlier steps it reads, by `<step>.outputs.<key>`.
    pub reads: BTreeMap<String, String>,
}

/// The state of a cached step before it runs: its key and what it was computed from.
#[derive(Debug, Clone)]
pub(crate) struct Fingerprint {
    /// The key, in hex.
    pub key: String,
    /// What it is made of.
    pub parts: Parts,
    /// When its files were hashed, in nanoseconds since 1970.
    pub hashed_at: i64,
}

/// The record of a cached step's last success.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    format: u32,
    /// The key it ran with.
    pub key: String,
    /// When its inputs were hashed, in nanoseconds since 1970.
    pub hashed_at: i64,
    /// When its outputs and artifacts were hashed.
    pub recorded_at: i64,
    /// How long it ran: the time a hit saves.
    pub duration_ms: u64,
    /// What the key was made of.
    pub parts: Parts,
    /// The files matched by `cache.outputs`, by path relative to the working directory.
    pub outputs: BTreeMap<String, FileSig>,
    /// Its artifacts, by path in its artifact folder.
    pub artifacts: BTreeMap<String, FileSig>,
    /// What it wrote to `$FLOW_OUTPUT`, restored for the steps after it.
    pub step_outputs: Vec<(String, String)>,
}

/// The largest cache record read; a larger one is not cargo flow's.
const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// What is recorded of a step's last success.
#[derive(Debug)]
pub(crate) enum Recorded {
    /// No success is recorded.
    Nothing,
    /// The record.
    Entry(Box<Entry>),
    /// A record that cannot be used, and why.
    Unusable(String),
}

impl Recorded {
    /// The record, when there is one to use.
    pub(crate) fn entry(&self) -> Option<&Entry> {
        match self {
            Recorded::Entry(e) => Some(e),
            _ => None,
        }
    }
}

/// What a step receives from the steps before it, beyond its plan.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// Environment variables holding the outputs of earlier steps that it reads.
    pub outputs: Vec<(String, String)>,
    /// For a cached step, each dependency's id and key: a cached dependency's own key, else a
    /// hash of what it hands on.
    pub deps: Vec<(String, String)>,
}

/// Whether a cached step needs to run.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// It does not: this is its last success.
    Hit(Box<Entry>),
    /// It does, for these reasons.
    Miss(Vec<String>),
}

/// The key a step without `cache:` passes on to cached steps after it: a hash of what it
/// hands them, the outputs it wrote and the contents of its artifacts.
pub(crate) fn handed_digest(
    plan: &Plan,
    outputs: &[(String, String)],
    artifacts: &[Kept],
) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"outputs");
    for (k, v) in outputs {
        field(&mut h, k.as_bytes());
        field(&mut h, &portable(&plan.root, v.as_bytes()));
    }
    if !artifacts.is_empty() {
        h.update(b"artifacts");
        for a in artifacts {
            field(&mut h, relative_name(&plan.dir, &a.path).as_bytes());
            field(&mut h, a.hash.as_bytes());
        }
    }
    h.finalize().to_hex().to_string()
}

/// The input files of one key as they were hashed, kept beside the records under
/// [`Parts::inputs`]: what lets a changed file be named, and the others keep their hashes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InputFiles {
    /// When they were hashed, in nanoseconds since 1970.
    pub hashed_at: i64,
    /// Each, by name.
    pub files: BTreeMap<String, FileSig>,
}

/// The records of one workflow's cached steps, one file per step, and the lists of their
/// input files, one per set of inputs (steps that read the same files share one).
pub(crate) struct Store {
    dir: PathBuf,
    /// When this run began: a list written since is not yet named by its record.
    since: SystemTime,
    /// Whether a record was written in this run, so that lists may be left unnamed.
    saved: std::sync::atomic::AtomicBool,
    /// The input files found in this run, by the folder and the patterns they were found
    /// from.
    sets: files::Memo<(PathBuf, Vec<String>), InputSet>,
}

impl Store {
    /// The store of `plan`'s workflow.
    pub(crate) fn new(plan: &Plan) -> Self {
        Self {
            dir: plan.cache_dir(),
            since: SystemTime::now(),
            saved: std::sync::atomic::AtomicBool::new(false),
            sets: files::Memo::default(),
        }
    }

    /// The input files `inputs` name from a step's folder: found once for every step that
    /// names the same, until a step runs (which could change them); a step asking for a set
    /// being found waits for it rather than finding it again.
    fn inputs(
        &self,
        plan: &Plan,
        step: &PlannedStep,
        inputs: &[String],
        search: Search<'_>,
    ) -> Result<Arc<InputSet>, String> {
        let Some(generation) = search.walks.map(files::Walks::generation) else {
            return input_set(plan, step, inputs, search).map(Arc::new);
        };
        let key = (step.cwd.clone(), inputs.to_vec());
        self.sets
            .get(key, generation, || input_set(plan, step, inputs, search))
    }

    /// Where the input list of `digest` is; `None` for a name that is not a digest (a
    /// record edited to name a path elsewhere).
    fn inputs_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| self.dir.join("inputs").join(format!("{digest}.json")))
    }

    /// The input files recorded under `digest`, when they are kept and readable.
    pub(crate) fn input_files(&self, digest: &str) -> Option<InputFiles> {
        let path = self.inputs_path(digest)?;
        let bytes = contents::read_own(&path, MAX_RECORD_BYTES).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Removes the input lists that no record names, but those written since this run
    /// began (another run of the workflow could be writing a list before its record).
    fn sweep(&self) {
        #[derive(Deserialize)]
        struct Named {
            parts: NamedParts,
        }
        #[derive(Deserialize)]
        struct NamedParts {
            inputs: String,
        }
        let Ok(records) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let named: BTreeSet<String> = records
            .flatten()
            .filter(|e| e.file_name().as_encoded_bytes().ends_with(b".json"))
            .filter_map(|e| contents::read_own(&e.path(), MAX_RECORD_BYTES).ok()?)
            .filter_map(|bytes| serde_json::from_slice::<Named>(&bytes).ok())
            .map(|n| format!("{}.json", n.parts.inputs))
            .collect();
        let Ok(lists) = std::fs::read_dir(self.dir.join("inputs")) else {
            return;
        };
        for e in lists.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < self.since);
            let name = e.file_name().to_string_lossy().into_owned();
            if old && !named.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn path(&self, step: &PlannedStep) -> PathBuf {
        self.dir.join(format!("{}.json", file_name(&step.id)))
    }

    /// The record of a step's last success, or why there is none to use.
    pub(crate) fn load(&self, step: &PlannedStep) -> Recorded {
        let path = self.path(step);
        let bytes = match contents::read_own(&path, MAX_RECORD_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Recorded::Nothing,
            Err(e) => return Recorded::Unusable(format!("its cache record cannot be read: {e}")),
        };
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        match serde_json::from_slice::<Version>(&bytes) {
            Ok(v) if v.format != FORMAT => {
                return Recorded::Unusable(
                    "its cache record was written by another version of cargo flow".to_string(),
                );
            }
            Ok(_) => {}
            Err(_) => return Recorded::Unusable("its cache record is damaged".to_string()),
        }
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(e) => Recorded::Entry(Box::new(e)),
            Err(_) => Recorded::Unusable("its cache record is damaged".to_string()),
        }
    }

    /// Records a success, replacing the earlier record at once (never half-written), through
    /// a temporary file of a name of its own.
    pub(crate) fn save(&self, step: &PlannedStep, entry: &Entry) -> io::Result<()> {
        if let (Some(files), Some(path)) = (
            &entry.parts.input_files,
            self.inputs_path(&entry.parts.inputs),
        ) {
            let list = InputFiles {
                hashed_at: entry.hashed_at,
                files: files.clone(),
            };
            let text = serde_json::to_vec(&list).map_err(io::Error::other)?;
            write_whole(&self.dir.join("inputs"), &path, &text)?;
        }
        let text = serde_json::to_vec_pretty(entry).map_err(io::Error::other)?;
        write_whole(&self.dir, &self.path(step), &text)?;
        self.saved.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for Store {
    /// Once the run is over, the lists that no record names any more go: looked for once,
    /// not at each record written.
    fn drop(&mut self) {
        if *self.saved.get_mut() {
            self.sweep();
        }
    }
}

/// Writes a file whole or not at all, through a temporary file of a name of its own.
fn write_whole(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Forgets every record in a workflow's cache folder, with the input lists beside them; how
/// many records there were.
pub(crate) fn forget_all(folder: &Path) -> io::Result<usize> {
    let records = std::fs::read_dir(folder).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .count()
    });
    match std::fs::remove_dir_all(folder) {
        Ok(()) => Ok(records),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Computes a step's fingerprint before it runs. `previous` lets files whose size and time
/// did not change keep their hashes.
pub(crate) fn fingerprint(
    plan: &Plan,
    index: usize,
    cache: &CachePlan,
    upstream: &Upstream,
    previous: Option<&Entry>,
    store: &Store,
    search: Search<'_>,
) -> Result<Fingerprint, String> {
    let step = &plan.steps[index];
    let hashed_at = now_ns();
    let mut parts = Parts {
        command: digest(&portable(&plan.root, &command_bytes(&step.command))),
        cwd: folder_name(plan, &step.cwd),
        ..Parts::default()
    };
    for (k, v) in &step.env {
        parts
            .step_env
            .insert(k.clone(), digest(&portable(&plan.root, v.as_bytes())));
    }
    for name in &cache.env {
        let value = std::env::var_os(name)
            .map_or_else(|| UNSET.to_string(), |v| digest(v.as_encoded_bytes()));
        parts.env.insert(name.clone(), value);
    }
    for (k, v) in &cache.context {
        parts
            .context
            .insert(k.clone(), digest(&portable(&plan.root, v.as_bytes())));
    }
    for r in &step.output_refs {
        if let Some((_, v)) = upstream.outputs.iter().find(|(k, _)| *k == r.env) {
            let name = format!("{}.outputs.{}", plan.steps[r.step].id, r.key);
            parts
                .reads
                .insert(name, digest(&portable(&plan.root, v.as_bytes())));
        }
    }
    for (id, key) in &upstream.deps {
        parts.deps.insert(id.clone(), key.clone());
    }
    let search = Search {
        ignored: Ignored::Skip,
        ..search
    };
    let found = store.inputs(plan, step, &cache.inputs, search)?;
    let (files, newest) = (&found.files, found.newest);
    parts.absent = found.absent.clone();
    parts.input_stats = found.stats.clone();
    parts.input_count = files.len();
    // Nothing was touched since the last hash, nor just before it: the contents are those
    // hashed then, and no file is read.
    let unchanged = previous.filter(|e| {
        e.parts.input_stats == parts.input_stats && newest.saturating_add(MARGIN_NS) < e.hashed_at
    });
    if let Some(e) = unchanged {
        parts.inputs = e.parts.inputs.clone();
    } else {
        let known = previous.and_then(|e| store.input_files(&e.parts.inputs));
        let mut hashed = BTreeMap::new();
        for (name, input) in files {
            let before = known
                .as_ref()
                .and_then(|k| k.files.get(name).map(|sig| (sig, k.hashed_at)));
            let sig = hash_file(&input.path, input.follow, input.stat, before, search.stop)
                .map_err(|e| failure(e, &format!("cannot read its cache input `{name}`")))?;
            hashed.insert(name.clone(), sig);
        }
        parts.inputs = inputs_digest(&hashed);
        parts.input_files = Some(hashed);
    }
    Ok(Fingerprint {
        key: key_of(&parts),
        parts,
        hashed_at,
    })
}

/// The input files of a set of patterns, found once for the steps that name the same
/// patterns from the same folder, until a step runs.
struct InputSet {
    files: Vec<(String, Input)>,
    absent: BTreeSet<String>,
    /// A hash of their names and stats, and the latest modification time among them (see
    /// [`stats_digest`]).
    stats: String,
    newest: i64,
}

/// The input set `inputs` name from a step's folder, found now.
fn input_set(
    plan: &Plan,
    step: &PlannedStep,
    inputs: &[String],
    search: Search<'_>,
) -> Result<InputSet, String> {
    let mut absent = BTreeSet::new();
    let files = input_files(plan, step, inputs, &mut absent, search)?;
    let (stats, newest) = stats_digest(&files);
    Ok(InputSet {
        files,
        absent,
        stats,
        newest,
    })
}

/// An input file, found.
struct Input {
    path: PathBuf,
    /// Whether it was named as it is, a link then followed.
    follow: bool,
    stat: contents::Stat,
}

/// The files a step's `cache.inputs` name, by name relative to its folder (the first pattern
/// to name one wins), but those its `!` patterns leave out and cargo flow's own state. A
/// path named without a wildcard that is absent goes in `parts.absent`; a glob that
/// matches nothing is an error.
fn input_files(
    plan: &Plan,
    step: &PlannedStep,
    inputs: &[String],
    absent: &mut BTreeSet<String>,
    search: Search<'_>,
) -> Result<Vec<(String, Input)>, String> {
    let excluded = exclusions(inputs)?;
    let mut files = Vec::new();
    for pattern in inputs.iter().filter(|p| !p.starts_with('!')) {
        let found = files::find(&step.cwd, pattern, search)
            .map_err(|e| failure(e, &format!("cannot read its cache input `{pattern}`")))?;
        if found.files.is_empty() {
            if !found.literal {
                return Err(format!(
                    "its cache input glob `{pattern}` matches no file: a pattern that matches nothing (a typo) would leave the step cached whatever changes; fix it, or name a file or folder, which may be absent"
                ));
            }
            absent.insert(pattern.clone());
        }
        let named = step.cwd.join(pattern);
        // cargo flow's own state (records, locks, logs) is never an input: a pattern that
        // reaches it would make every run a miss.
        for file in found.files {
            if below(&file.path, &plan.dir) {
                continue;
            }
            let name = relative_name(&step.cwd, &file.path);
            if !excluded.is_empty() && excluded.is_match(&name) {
                continue;
            }
            let follow = found.literal && file.path == named;
            let (path, stat) = (file.path, file.stat);
            files.push((name, Input { path, follow, stat }));
        }
    }
    // Stable, so that of two entries of one name the first pattern's stays.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|b, a| a.0 == b.0);
    Ok(files)
}

/// A hash of the files' names and stats, and the latest modification time among them (the
/// greatest there is when one is a link, whose stat says nothing of the file it leads to).
fn stats_digest(files: &[(String, Input)]) -> (String, i64) {
    // Written out whole and hashed at once: many small updates cost more than the hash.
    let mut bytes = Vec::with_capacity(files.len() * 64);
    let mut newest = i64::MIN;
    for (name, input) in files {
        let s = &input.stat;
        let kind: &[u8] = match s.kind {
            contents::Kind::File => b"file",
            contents::Kind::Folder => b"folder",
            contents::Kind::Link => b"link",
            contents::Kind::Special(what) => what.as_bytes(),
        };
        for field in [name.as_bytes(), kind] {
            bytes.extend_from_slice(&(field.len() as u64).to_le_bytes());
            bytes.extend_from_slice(field);
        }
        bytes.extend_from_slice(&s.size.to_le_bytes());
        bytes.extend_from_slice(&s.mtime.to_le_bytes());
        bytes.extend_from_slice(&s.id.to_le_bytes());
        bytes.push(u8::from(input.follow));
        newest = match s.kind {
            contents::Kind::Link => i64::MAX,
            _ => newest.max(s.mtime),
        };
    }
    let mut h = blake3::Hasher::new_derive_key("cargo flow 2026 input stats");
    h.update(&bytes);
    (h.finalize().to_hex().to_string(), newest)
}

/// A hash of the input files' names and contents.
fn inputs_digest(files: &BTreeMap<String, FileSig>) -> String {
    let mut h = blake3::Hasher::new_derive_key("cargo flow 2026 inputs");
    h.update(&(files.len() as u64).to_le_bytes());
    for (name, sig) in files {
        field(&mut h, name.as_bytes());
        field(&mut h, sig.hash.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// The files that `!pattern` entries of `cache.inputs` leave out, by their names relative to
/// the step's folder: a glob, or a path and everything below it.
fn exclusions(inputs: &[String]) -> Result<globset::GlobSet, String> {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in inputs.iter().filter_map(|p| p.strip_prefix('!')) {
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        for glob in [pattern.to_string(), format!("{pattern}/**")] {
            let glob = globset::GlobBuilder::new(&glob)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("its cache input `!{pattern}` is not a valid glob: {e}"))?;
            set.add(glob);
        }
    }
    set.build()
        .map_err(|e| format!("its cache exclusions cannot be used: {e}"))
}

/// Whether a step with this fingerprint can be skipped, given its last recorded success.
pub(crate) fn check(
    step: &PlannedStep,
    artifact_dir: &Path,
    fp: &Fingerprint,
    recorded: Recorded,
    store: &Store,
    stop: &dyn Fn() -> bool,
) -> Verdict {
    let entry = match recorded {
        Recorded::Entry(e) => *e,
        Recorded::Nothing => {
            return Verdict::Miss(vec!["no earlier success is recorded".to_string()]);
        }
        Recorded::Unusable(why) => return Verdict::Miss(vec![why]),
    };
    if entry.key != fp.key {
        let old_files = (entry.parts.inputs != fp.parts.inputs)
            .then(|| store.input_files(&entry.parts.inputs))
            .flatten();
        let mut why = differences(&entry.parts, old_files.as_ref(), &fp.parts);
        if why.is_empty() {
            // Every part is the same, yet the key is not: the record was changed since.
            why.push(
                "its cache record does not match its own key (it was edited or damaged)"
                    .to_string(),
            );
        }
        return Verdict::Miss(why);
    }
    let mut why = Vec::new();
    let recorded = [
        ("output", step.cwd.as_path(), &entry.outputs),
        ("artifact", artifact_dir, &entry.artifacts),
    ];
    for (what, base, files) in recorded {
        for (name, sig) in files {
            let path = base.join(name);
            let now = contents::stat_of(&path, false).and_then(|stat| {
                hash_file(&path, false, stat, Some((sig, entry.recorded_at)), stop)
            });
            match now {
                Ok(now) if now.hash == sig.hash => {}
                Ok(_) => why.push(format!("{what} `{name}` was changed")),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    why.push(format!("{what} `{name}` is missing"));
                }
                Err(e) => why.push(format!("{what} `{name}` cannot be read: {e}")),
            }
        }
    }
    if why.is_empty() {
        Verdict::Hit(Box::new(entry))
    } else {
        Verdict::Miss(limit(why))
    }
}

/// The record of a success: the fingerprint it ran with, and the outputs and artifacts it
/// left, which must all exist.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    step: &PlannedStep,
    cache: &CachePlan,
    fp: Fingerprint,
    duration: Duration,
    artifacts: &[Kept],
    artifact_dir: &Path,
    step_outputs: &[(String, String)],
    search: Search<'_>,
) -> Result<Entry, String> {
    let recorded_at = now_ns();
    let mut outputs = BTreeMap::new();
    let search = Search {
        ignored: Ignored::Take,
        ..search
    };
    for pattern in &cache.outputs {
        for file in files::find_promised(&step.cwd, pattern, search, "cache output")? {
            let name = relative_name(&step.cwd, &file.path);
            let sig = contents::stat_of(&file.path, false)
                .and_then(|stat| hash_file(&file.path, false, stat, None, search.stop))
                .map_err(|e| failure(e, &format!("cannot read its cache output `{name}`")))?;
            outputs.insert(name, sig);
        }
    }
    let mut kept = BTreeMap::new();
    for k in artifacts {
        let name = relative_name(artifact_dir, &k.path);
        let stat = contents::stat_of(&k.path, false)
            .map_err(|e| format!("cannot read its artifact `{name}`: {e}"))?;
        let sig = FileSig {
            hash: k.hash.clone(),
            size: k.size,
            mtime: stat.mtime,
            id: stat.id,
        };
        kept.insert(name, sig);
    }
    Ok(Entry {
        format: FORMAT,
        key: fp.key,
        hashed_at: fp.hashed_at,
        recorded_at,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        parts: fp.parts,
        outputs,
        artifacts: kept,
        step_outputs: step_outputs.to_vec(),
    })
}

/// The local record of a success restored from the remote cache: its files as they are now
/// here, under the fingerprint this run computed (which the remote record's key matched).
pub(crate) fn restored(
    step: &PlannedStep,
    artifact_dir: &Path,
    fp: Fingerprint,
    remote: Entry,
    stop: &dyn Fn() -> bool,
) -> Result<Entry, String> {
    let sig = |base: &Path, name: &String| {
        let path = base.join(name);
        contents::stat_of(&path, false)
            .and_then(|stat| hash_file(&path, false, stat, None, stop))
            .map(|sig| (name.clone(), sig))
            .map_err(|e| failure(e, &format!("cannot read `{name}`, which it restored")))
    };
    let outputs = remote.outputs.keys().map(|n| sig(&step.cwd, n));
    let artifacts = remote.artifacts.keys().map(|n| sig(artifact_dir, n));
    Ok(Entry {
        format: FORMAT,
        key: fp.key,
        hashed_at: fp.hashed_at,
        recorded_at: now_ns(),
        duration_ms: remote.duration_ms,
        parts: fp.parts,
        outputs: outputs.collect::<Result<_, _>>()?,
        artifacts: artifacts.collect::<Result<_, _>>()?,
        step_outputs: remote.step_outputs,
    })
}

/// The input files that differ, named when the files of both keys are at hand.
fn input_differences(old: Option<&InputFiles>, new: &Parts, why: &mut Vec<String>) {
    let (Some(old), Some(new_files)) = (old, &new.input_files) else {
        why.push(format!(
            "its inputs changed ({} files now)",
            new.input_count
        ));
        return;
    };
    let hashes = |files: &BTreeMap<String, FileSig>| -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(k, v)| (k.clone(), v.hash.clone()))
            .collect()
    };
    compare(
        &hashes(&old.files),
        &hashes(new_files),
        why,
        |name, change| {
            let change = match change {
                "was added" => "was added",
                "was removed" => "was removed",
                _ => "was edited",
            };
            format!("input `{name}` {change}")
        },
    );
}

/// Why a step with these parts runs when `old` were recorded (with `old_files`, its input
/// files, when they are kept): every difference, in words.
fn differences(old: &Parts, old_files: Option<&InputFiles>, new: &Parts) -> Vec<String> {
    let mut why = Vec::new();
    if old.command != new.command {
        why.push("its command changed".to_string());
    }
    if old.cwd != new.cwd {
        why.push(format!(
            "its working directory changed from `{}` to `{}`",
            old.cwd, new.cwd
        ));
    }
    compare(&old.step_env, &new.step_env, &mut why, |name, change| {
        format!("its `env.{name}` {change}")
    });
    compare(&old.env, &new.env, &mut why, |name, change| {
        let change = match (
            old.env.get(name).map(String::as_str),
            new.env.get(name).map(String::as_str),
        ) {
            (Some(UNSET), Some(_)) => "was set",
            (Some(_), Some(UNSET)) => "was unset",
            _ => change,
        };
        format!("environment variable `{name}` {change}")
    });
    compare(&old.context, &new.context, &mut why, |name, change| {
        format!("context variable `{name}` {change}")
    });
    if old.inputs != new.inputs {
        input_differences(old_files, new, &mut why);
    }
    for name in old.absent.difference(&new.absent) {
        why.push(format!("input `{name}` now exists"));
    }
    compare(
        &old.deps,
        &new.deps,
        &mut why,
        |name, change| match change {
            "changed" => format!("dependency `{name}` changed"),
            _ => format!("dependency `{name}` {change}"),
        },
    );
    compare(&old.reads, &new.reads, &mut why, |name, change| {
        format!("`${{steps.{name}}}` {change}")
    });
    limit(why)
}

/// Reports the keys that differ between two maps.
fn compare<V: PartialEq>(
    old: &BTreeMap<impl Ord + std::fmt::Display, V>,
    new: &BTreeMap<impl Ord + std::fmt::Display, V>,
    why: &mut Vec<String>,
    say: impl Fn(&str, &str) -> String,
) {
    let old_keys: BTreeMap<String, &V> = old.iter().map(|(k, v)| (k.to_string(), v)).collect();
    let new_keys: BTreeMap<String, &V> = new.iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (k, v) in &new_keys {
        match old_keys.get(k) {
            None => why.push(say(k, "was added")),
            Some(o) if o != v => why.push(say(k, "changed")),
            Some(_) => {}
        }
    }
    for k in old_keys.keys().filter(|k| !new_keys.contains_key(*k)) {
        why.push(say(k, "was removed"));
    }
}

/// At most eight reasons, and how many more there were.
fn limit(mut why: Vec<String>) -> Vec<String> {
    const MAX: usize = 8;
    if why.len() > MAX {
        let more = why.len() - MAX;
        why.truncate(MAX);
        why.push(format!("and {more} more"));
    }
    why
}

/// Time stamps are coarse and clocks drift: a modification time this close to a hash proves
/// nothing about what was hashed.
const MARGIN_NS: i64 = 2_000_000_000;

/// A file's signature, `stat` being what was just seen of it. When `before` says it had the
/// same size, time and inode, and that time was well before it was hashed, the hash is taken
/// as it was: a write after the hash would have given it a later time. Otherwise it is read,
/// never waiting on it (see [`contents`]); a link is followed only with `follow`.
fn hash_file(
    path: &Path,
    follow: bool,
    stat: contents::Stat,
    before: Option<(&FileSig, i64)>,
    stop: &dyn Fn() -> bool,
) -> io::Result<FileSig> {
    let contents::Stat {
        kind,
        size,
        mtime,
        id,
    } = stat;
    // A link's own size and time say nothing of the file it leads to.
    if let Some((sig, hashed_at)) = before
        && kind != contents::Kind::Link
        && (sig.size, sig.mtime, sig.id) == (size, mtime, id)
        && mtime.saturating_add(MARGIN_NS) < hashed_at
    {
        return Ok(sig.clone());
    }
    let hash = match manifest_digest(path, kind) {
        Some(hash) => hash,
        None => contents::digest(path, kind, follow, stop)?,
    };
    Ok(FileSig {
        hash,
        size,
        mtime,
        id,
    })
}

/// The digest of a `Cargo.toml` without its `[package.metadata.flow]` and
/// `[workspace.metadata.flow]` tables: editing a workflow kept in a manifest changes only
/// the steps whose definition changed, not every step that reads the manifest.
fn manifest_digest(path: &Path, kind: contents::Kind) -> Option<String> {
    if kind != contents::Kind::File || path.file_name()? != "Cargo.toml" {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
    for table in ["package", "workspace"] {
        if let Some(metadata) = doc
            .get_mut(table)
            .and_then(|t| t.get_mut("metadata"))
            .and_then(|m| m.as_table_like_mut())
        {
            metadata.remove("flow");
        }
    }
    Some(digest(doc.to_string().as_bytes()))
}

/// A failure to read files as a message, or `interrupted` when an interrupt stopped it.
fn failure(e: io::Error, what: &str) -> String {
    match e.kind() {
        io::ErrorKind::Interrupted => "interrupted".to_string(),
        _ => format!("{what}: {e}"),
    }
}

/// A path as it is named in records: relative to `base` when inside it.
fn relative_name(base: &Path, path: &Path) -> String {
    // Compared as bytes: tens of thousands of inputs are named in a run.
    let (b, p) = (
        base.as_os_str().as_encoded_bytes(),
        path.as_os_str().as_encoded_bytes(),
    );
    match p.strip_prefix(b) {
        Some([b'/', rest @ ..]) if !b.is_empty() && !b.ends_with(b"/") => {
            String::from_utf8_lossy(rest).into_owned()
        }
        Some(rest) if b.ends_with(b"/") => String::from_utf8_lossy(rest).into_owned(),
        _ => path
            .strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string(),
    }
}

/// Whether `path` is `dir` or below it, as written (compared as bytes).
fn below(path: &Path, dir: &Path) -> bool {
    let (p, d) = (
        path.as_os_str().as_encoded_bytes(),
        dir.as_os_str().as_encoded_bytes(),
    );
    match p.strip_prefix(d) {
        Some(rest) => rest.is_empty() || rest[0] == b'/' || d.ends_with(b"/"),
        None => false,
    }
}

fn command_bytes(run: &Run) -> Vec<u8> {
    let mut h = Vec::new();
    match run {
        Run::Shell { line, shell } => {
            h.extend_from_slice(b"sh");
            for word in shell.iter().flatten() {
                h.push(0);
                h.extend_from_slice(word.as_bytes());
            }
            h.extend_from_slice(b"\0-c\0");
            h.extend_from_slice(line.as_bytes());
        }
        Run::Argv(args) => {
            h.extend_from_slice(b"argv");
            for a in args {
                h.push(0);
                h.extend_from_slice(a.as_bytes());
            }
        }
    }
    h
}

/// A step's folder as the key names it: relative to the project's root (`.` for the root).
fn folder_name(plan: &Plan, cwd: &Path) -> String {
    match relative_name(&plan.root, cwd) {
        name if name.is_empty() => ".".to_string(),
        name => name,
    }
}

/// What the project's root is written as where a value must not depend on where the
/// checkout is: in keys, and in the outputs a remote cache stores.
pub(crate) const ROOT: &str = "${workspace_root}";

/// A value as the key (or a remote cache) sees it: the project's own path `root` written as
/// [`ROOT`], so that two checkouts of one commit at different paths, on different machines,
/// share keys.
pub(crate) fn portable<'b>(root: &Path, bytes: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
    let root = root.as_os_str().as_encoded_bytes();
    if root.len() < 2 || memchr::memmem::find(bytes, root).is_none() {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = memchr::memmem::find(rest, root) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(ROOT.as_bytes());
        rest = &rest[at + root.len()..];
    }
    out.extend_from_slice(rest);
    std::borrow::Cow::Owned(out)
}

fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Feeds one length-prefixed field, so that no two different sequences hash alike.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn key_of(parts: &Parts) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&FORMAT.to_le_bytes());
    field(&mut h, parts.command.as_bytes());
    field(&mut h, parts.cwd.as_bytes());
    field(&mut h, b"inputs");
    field(&mut h, parts.inputs.as_bytes());
    let maps: [(&str, Vec<(&String, &String)>); 5] = [
        ("step_env", parts.step_env.iter().collect()),
        ("env", parts.env.iter().collect()),
        ("context", parts.context.iter().collect()),
        ("deps", parts.deps.iter().collect()),
        ("reads", parts.reads.iter().collect()),
    ];
    for (name, entries) in maps {
        field(&mut h, name.as_bytes());
        h.update(&(entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            field(&mut h, k.as_bytes());
            field(&mut h, v.as_bytes());
        }
    }
    field(&mut h, b"absent");
    h.update(&(parts.absent.len() as u64).to_le_bytes());
    for a in &parts.absent {
        field(&mut h, a.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_changes_the_key() {
        let base = Parts {
            command: "c".into(),
            cwd: "/w".into(),
            ..Parts::default()
        };
        let sig = |h: &str| FileSig {
            hash: h.into(),
            size: 1,
            mtime: 1,
            id: 1,
        };
        let files = |sig: FileSig| inputs_digest(&BTreeMap::from([("A".to_string(), sig)]));
        let mut variants = vec![base.clone()];
        let mut add = |f: &dyn Fn(&mut Parts)| {
            let mut p = base.clone();
            f(&mut p);
            variants.push(p);
        };
        add(&|p| p.command = "d".into());
        add(&|p| p.cwd = "/x".into());
        add(&|p| {
            p.step_env.insert("A".into(), "1".into());
        });
        add(&|p| {
            p.env.insert("A".into(), "1".into());
        });
        add(&|p| {
            p.context.insert("A".into(), "1".into());
        });
        add(&|p| p.inputs = files(sig("1")));
        add(&|p| p.inputs = files(sig("2")));
        add(&|p| {
            p.absent.insert("A".into());
        });
        add(&|p| {
            p.deps.insert("A".into(), "1".into());
        });
        add(&|p| {
            p.reads.insert("A".into(), "1".into());
        });
        let keys: BTreeSet<String> = variants.iter().map(key_of).collect();
        assert_eq!(
            keys.len(),
            variants.len(),
            "two different parts gave one key"
        );
        // Sizes and times are not part of the key: only content is.
        let mut touched = base.clone();
        touched.inputs = files(FileSig {
            mtime: 9,
            id: 9,
            ..sig("1")
        });
        touched.input_stats = "other".into();
        let mut original = base;
        original.inputs = files(sig("1"));
        assert_eq!(key_of(&touched), key_of(&original));
    }

    #[test]
    fn an_unchanged_file_keeps_its_hash_only_when_its_time_is_well_before_the_hash()
    -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        std::fs::write(&path, "abc")?;
        let fresh = hash_file(&path, true, contents::stat_of(&path, true)?, None, &|| {
            false
        })?;
        assert_eq!(fresh.hash, blake3::hash(b"abc").to_hex().to_string());
        // A made-up earlier hash, to see which one is returned.
        let recorded = FileSig {
            hash: "earlier".into(),
            ..fresh.clone()
        };
        let long_after = fresh.mtime + 10_000_000_000;
        assert_eq!(
            hash_file(
                &path,
                true,
                contents::stat_of(&path, true)?,
                Some((&recorded, long_after)),
                &|| false
            )?
            .hash,
            "earlier"
        );
        // Hashed right after it was written: the time proves nothing, so it is read.
        let right_after = fresh.mtime + 1_000;
        assert_eq!(
            hash_file(
                &path,
                true,
                contents::stat_of(&path, true)?,
                Some((&recorded, right_after)),
                &|| false
            )?
            .hash,
            fresh.hash
        );
        // Another size: read.
        let other_size = FileSig {
            size: 4,
            ..recorded
        };
        assert_eq!(
            hash_file(
                &path,
                true,
                contents::stat_of(&path, true)?,
                Some((&other_size, long_after)),
                &|| false
            )?
            .hash,
            fresh.hash
        );
        Ok(())
    }
}
