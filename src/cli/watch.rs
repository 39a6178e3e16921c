//! `cargo flow run --watch`: runs a workflow, then again whenever a file its steps read
//! changes, until `q` or Ctrl-C. Each run is an ordinary run, cache included, so only the
//! steps whose key changed run again, each saying why. The workflow's lock is held only while
//! a run lasts.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::args::{Cli, OnChange, RunArgs};
use super::run::run_once;
use crate::diagnostic::{Problem, Problems};
use crate::plan::Plan;
use crate::run::scheduler::Message;

/// How long changes must stop coming before a run starts: an editor's save or a `git
/// checkout` is one change, not many.
const SETTLE: Duration = Duration::from_millis(200);

/// What a watch shares between the run, the file watcher's thread and the keys' thread.
pub(crate) struct Session {
    state: Mutex<State>,
    wake: Condvar,
    mode: OnChange,
    /// The file watcher, and the folders it watches.
    watcher: Mutex<Option<(notify::RecommendedWatcher, Vec<Folder>)>>,
}

#[derive(Default)]
struct State {
    /// Tells the run under way to stop, under `--on-change restart`.
    run: Option<SyncSender<Message>>,
    /// The parameters asked for at the first run.
    params: Option<Vec<(String, String)>>,
    /// Which changes count.
    filter: Option<Filter>,
    /// Changes not yet run for.
    pending: Vec<PathBuf>,
    /// A key pressed: `r` or `q`.
    key: Option<char>,
}

impl Session {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The parameters asked for at the first run, to ask only once.
    pub(crate) fn params(&self) -> Option<Vec<(String, String)>> {
        self.state().params.clone()
    }

    pub(crate) fn keep_params(&self, params: &[(String, String)]) {
        self.state().params = Some(params.to_vec());
    }

    /// A run is planned: what it reads, and the file that defines it, are watched from now
    /// on.
    pub(crate) fn planned(&self, plan: &Plan, definition: &Path) {
        let definition = std::path::absolute(definition).unwrap_or_default();
        let mut wanted = folders(plan);
        if let Some(dir) = definition.parent()
            && !wanted
                .iter()
                .any(|(w, all)| w == dir || *all && dir.starts_with(w))
        {
            wanted.push((dir.to_path_buf(), false));
        }
        self.state().filter = Some(Filter::of(plan, definition));
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((w, watched)) = watcher.as_mut() {
            *watched = watch_folders(w, std::mem::take(watched), &wanted);
        }
    }

    fn watched(&self) -> usize {
        let watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        watcher.as_ref().map_or(0, |(_, watched)| watched.len())
    }

    /// A run is under way; `run` stops it. A change that came since it began, before it
    /// could be stopped, stops it now.
    pub(crate) fn running(&self, run: SyncSender<Message>) {
        let mut state = self.state();
        match state.pending.first() {
            Some(path) if self.mode == OnChange::Restart => {
                let _ = run.try_send(Message::Restart(shown(path)));
            }
            _ => state.run = Some(run),
        }
    }

    /// The run is over.
    pub(crate) fn stopped(&self) {
        self.state().run = None;
    }

    /// A file changed: noted when it counts, and the run under way stopped under `restart`.
    fn changed(&self, path: PathBuf) {
        let mut state = self.state();
        if !state.filter.as_ref().is_some_and(|f| f.counts(&path)) {
            return;
        }
        if self.mode == OnChange::Restart
            && let Some(run) = state.run.take()
        {
            let _ = run.try_send(Message::Restart(shown(&path)));
        }
        state.pending.push(path);
        self.wake.notify_all();
    }

    /// A signal while waiting, kept as a key of its number.
    fn signalled(&self, sig: i32) {
        self.pressed(char::from_u32(sig as u32).unwrap_or('q'));
    }

    fn pressed(&self, key: char) {
        self.state().key = Some(key);
        self.wake.notify_all();
    }

    /// Waits for what comes next: changes (once they settle), or a key.
    fn next(&self) -> Next {
        let mut state = self.state();
        loop {
            match state.key.take() {
                Some('q') => return Next::Quit,
                Some('r') => return Next::Everything,
                Some(sig) => return Next::Signal(sig as i32),
                None => {}
            }
            if !state.pending.is_empty() {
                // Until no change has come for a while.
                let mut seen = state.pending.len();
                loop {
                    drop(state);
                    std::thread::sleep(SETTLE);
                    state = self.state();
                    if state.pending.len() == seen {
                        break;
                    }
                    seen = state.pending.len();
                }
                return Next::Changed(std::mem::take(&mut state.pending));
            }
            state = self
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What a watch does next.
enum Next {
    Changed(Vec<PathBuf>),
    Everything,
    Quit,
    /// A signal came while waiting: cargo flow ends as it would.
    Signal(i32),
}

/// `--watch`.
pub(super) fn watch(cli: &Cli, args: &RunArgs) -> Result<i32, Problems> {
    let session = Arc::new(Session {
        state: Mutex::default(),
        wake: Condvar::new(),
        mode: args.on_change,
        watcher: Mutex::new(None),
    });
    let watcher = start_watcher(&session)?;
    *session
        .watcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some((watcher, Vec::new()));
    let terminal = read_keys(&session);
    // For the whole watch, so that no signal falls between two runs: during a run, the run
    // is stopped by its own; between runs, nothing runs, and a signal ends the watch.
    let mut signals = crate::sys::SignalForwarder::install();
    let to = Arc::clone(&session);
    signals.start(move |sig| {
        to.signalled(sig);
        true
    });
    let mut args = args.clone();
    (args.explain, args.watch) = (true, false);
    loop {
        session.state().pending.clear();
        let code = match run_once(cli, &args, Some(&session)) {
            Ok(ran) if ran.interrupted => return Ok(ran.code),
            Ok(ran) => ran.code,
            Err(problems) => {
                crate::report::problems::print(problems, console::colors_enabled_stderr());
                super::INVALID
            }
        };
        args.no_cache = false;
        // A run stopped by a change starts again at once.
        let changed = !session.state().pending.is_empty();
        if !cli.global.quiet && !changed {
            eprintln!(
                "{}",
                crate::report::notes::watching(session.watched(), code, terminal)
            );
        }
        match session.next() {
            Next::Quit => return Ok(code),
            Next::Signal(sig) => return Ok(128 + sig),
            Next::Everything => args.no_cache = true,
            Next::Changed(paths) => {
                if !cli.global.quiet {
                    let shown: Vec<String> = paths.iter().map(|p| shown(p)).collect();
                    eprintln!("{}", crate::report::notes::changed(&shown));
                }
            }
        }
    }
}

/// The file watcher, telling `session` of each change.
fn start_watcher(session: &Arc<Session>) -> Result<notify::RecommendedWatcher, Problems> {
    let to = Arc::clone(session);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        use notify::EventKind as K;
        let Ok(event) = event else {
            return;
        };
        if let K::Create(_) | K::Remove(_) | K::Modify(_) = event.kind
            && !matches!(
                event.kind,
                K::Modify(notify::event::ModifyKind::Metadata(_))
            )
        {
            for path in event.paths {
                to.changed(path);
            }
        }
    });
    watcher.map_err(|e| {
        Problem::new("flow::watch", format!("cannot watch for changes: {e}"))
            .with_help("on Linux, raise fs.inotify.max_user_instances or max_user_watches")
            .into()
    })
}

/// A folder to watch, and whether with what is below it.
type Folder = (PathBuf, bool);

/// Watches `wanted`, no longer the folders of `before` it does not hold; the folders
/// watched.
fn watch_folders(
    watcher: &mut notify::RecommendedWatcher,
    before: Vec<Folder>,
    wanted: &[Folder],
) -> Vec<Folder> {
    use notify::{RecursiveMode, Watcher};
    for old in before.iter().filter(|b| !wanted.contains(b)) {
        let _ = watcher.unwatch(&old.0);
    }
    let mut watched = Vec::new();
    for folder in wanted {
        let mode = match folder.1 {
            true => RecursiveMode::Recursive,
            false => RecursiveMode::NonRecursive,
        };
        if before.contains(folder) || watcher.watch(&folder.0, mode).is_ok() {
            watched.push(folder.clone());
        }
    }
    watched
}

/// Reads `r` and `q` (each then Enter) from a terminal; whether there is one.
fn read_keys(session: &Arc<Session>) -> bool {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return false;
    }
    let to = Arc::clone(session);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else {
                break;
            };
            match line.trim() {
                "q" => to.pressed('q'),
                "r" => to.pressed('r'),
                _ => {}
            }
        }
    });
    true
}

/// The folders to watch: where the cached steps' inputs are (the folder before a pattern's
/// first wildcard), or, when no step declares any, the project's root; a folder holding the
/// target dir or `.git` is watched alone, and each folder in it but those two with what is
/// below it, so that what builds write is never watched.
fn folders(plan: &Plan) -> Vec<Folder> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for step in &plan.steps {
        let Some(cache) = &step.cache else {
            continue;
        };
        for pattern in cache.inputs.iter().filter(|p| !p.starts_with('!')) {
            let fixed: Vec<&str> = pattern
                .split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '{']))
                .collect();
            let path = step.cwd.join(fixed.join("/"));
            let dir = match path.is_dir() {
                true => path,
                false => path.parent().map_or(step.cwd.clone(), Path::to_path_buf),
            };
            roots.push(dir);
        }
    }
    if roots.is_empty() {
        roots.push(plan.root.clone());
    }
    let target = plan.dir.parent().unwrap_or(&plan.dir).to_path_buf();
    let mut out: Vec<Folder> = Vec::new();
    for root in roots {
        if target.starts_with(&root) || root.join(".git").exists() {
            out.extend(entries_but(&root, &target).into_iter().map(|d| (d, true)));
            out.push((root, false));
        } else if !root.starts_with(&target) {
            out.push((root, true));
        }
    }
    out.sort();
    out.dedup();
    let nested: Vec<Folder> = out
        .iter()
        .filter(|(d, _)| {
            out.iter()
                .any(|(o, all)| *all && o != d && d.starts_with(o))
        })
        .cloned()
        .collect();
    out.retain(|d| !nested.contains(d));
    out
}

/// The folders in `root`, but the target dir and `.git`.
fn entries_but(root: &Path, target: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p != target && !p.ends_with(".git"))
        .collect()
}

/// Which changes count: a file a cached step's inputs name (or, when none declares any, any
/// file of the project that git does not ignore), but never in the target dir or `.git`, nor
/// one a step's outputs or artifacts name, so that a step that writes files cannot loop.
struct Filter {
    /// The file that defines the workflow: a change to it always counts.
    definition: PathBuf,
    inputs: Vec<(PathBuf, GlobSet, GlobSet)>,
    written: Vec<(PathBuf, GlobSet)>,
    root: PathBuf,
    target: PathBuf,
    ignored: Gitignore,
}

impl Filter {
    fn of(plan: &Plan, definition: PathBuf) -> Filter {
        let mut inputs = Vec::new();
        let mut written = Vec::new();
        for step in &plan.steps {
            if let Some(cache) = &step.cache {
                let (left_out, taken): (Vec<&String>, Vec<&String>) =
                    cache.inputs.iter().partition(|p| p.starts_with('!'));
                let left_out = left_out.iter().map(|p| &p[1..]);
                inputs.push((step.cwd.clone(), globs(taken), globs(left_out)));
                written.push((step.cwd.clone(), globs(&cache.outputs)));
            }
            written.push((step.cwd.clone(), globs(&step.artifacts)));
        }
        let mut ignored = GitignoreBuilder::new(&plan.root);
        let _ = ignored.add(plan.root.join(".gitignore"));
        let _ = ignored.add(plan.root.join(".git/info/exclude"));
        Filter {
            definition,
            inputs,
            written,
            root: plan.root.clone(),
            target: plan.dir.parent().unwrap_or(&plan.dir).to_path_buf(),
            ignored: ignored.build().unwrap_or_else(|_| Gitignore::empty()),
        }
    }

    fn counts(&self, path: &Path) -> bool {
        let matches = |cwd: &Path, set: &GlobSet| {
            path.strip_prefix(cwd)
                .is_ok_and(|rel| !set.is_empty() && set.is_match(rel))
        };
        if path == self.definition {
            return true;
        }
        if path.starts_with(&self.target)
            || path.components().any(|c| c.as_os_str() == ".git")
            || self.written.iter().any(|(cwd, set)| matches(cwd, set))
        {
            return false;
        }
        if self.inputs.is_empty() {
            return path.starts_with(&self.root)
                && !self
                    .ignored
                    .matched_path_or_any_parents(path, false)
                    .is_ignore();
        }
        self.inputs
            .iter()
            .any(|(cwd, taken, left_out)| matches(cwd, taken) && !matches(cwd, left_out))
    }
}

/// Patterns as globs, each also standing for what is below it (a folder named stands for
/// its files); one that is not a glob is left out.
fn globs<'p>(patterns: impl IntoIterator<Item = &'p (impl AsRef<str> + 'p + ?Sized)>) -> GlobSet {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let p = pattern
            .as_ref()
            .trim_start_matches("./")
            .trim_end_matches('/');
        for glob in [p.to_string(), format!("{p}/**")] {
            if let Ok(g) = GlobBuilder::new(&glob).literal_separator(true).build() {
                set.add(g);
            }
        }
    }
    set.build().unwrap_or_else(|_| GlobSet::empty())
}

/// A path as people are shown it: relative to the current folder when inside it.
fn shown(path: &Path) -> String {
    let here = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&here)
        .unwrap_or(path)
        .display()
        .to_string()
}
