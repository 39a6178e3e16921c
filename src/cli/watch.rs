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
    /// What cargo flow itself writes in the project: its reports, the files its output is
    /// sent to.
    own: Vec<PathBuf>,
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
    /// What a key (`r`, `q`) or a signal asked for.
    asked: Option<Next>,
    /// The steps the run under way was told to stop.
    told: Told,
}

/// The steps a run was told to stop, so that each is told once, however many files change:
/// a `git checkout` is thousands of changes.
#[derive(Default)]
struct Told {
    all: bool,
    steps: std::collections::BTreeSet<usize>,
}

impl Told {
    /// Records `steps` (`None`: every step); whether any was not told before.
    fn news(&mut self, steps: Option<&[usize]>) -> bool {
        if self.all {
            return false;
        }
        match steps {
            None => {
                self.all = true;
                true
            }
            Some(steps) => {
                let before = self.steps.len();
                self.steps.extend(steps);
                self.steps.len() > before
            }
        }
    }
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
        let mut filter = Filter::of(plan, definition.clone(), &self.own);
        let mut wanted = folders(plan, &mut filter);
        if let Some(dir) = definition.parent()
            && !wanted
                .iter()
                .any(|(w, all)| w == dir || *all && dir.starts_with(w))
        {
            wanted.push((dir.to_path_buf(), false));
        }
        self.state().filter = Some(filter);
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((w, watched)) = watcher.as_mut() {
            *watched = watch_folders(w, std::mem::take(watched), &wanted);
        }
    }

    fn watched(&self) -> usize {
        let watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        watcher.as_ref().map_or(0, |(_, watched)| watched.len())
    }

    /// A run is under way; `run` stops the steps a change affects. A change or a `q` that
    /// came since it began, before it could be told, is told now. Called on the scheduler's
    /// thread, which must not wait on its own channel: the message goes from a thread of
    /// its own.
    pub(crate) fn running(&self, run: SyncSender<Message>) {
        let mut state = self.state();
        state.run = Some(run.clone());
        state.told = Told::default();
        if matches!(state.asked, Some(Next::Quit)) {
            std::thread::spawn(move || {
                let _ = run.send(Message::Signal(crate::sys::INTERRUPT));
            });
            return;
        }
        if self.mode == OnChange::Queue || state.pending.is_empty() {
            return;
        }
        let pending = state.pending.clone();
        let Some(filter) = state.filter.as_ref() else {
            return;
        };
        let mut steps = Some(Vec::new());
        for path in &pending {
            steps = steps.zip(filter.affected(path)).map(|(mut all, more)| {
                all.extend(more);
                all
            });
        }
        state.told.news(steps.as_deref());
        let message = Message::Restart {
            path: shown(&pending[0]),
            steps,
        };
        std::thread::spawn(move || {
            let _ = run.send(message);
        });
    }

    /// The run is over.
    pub(crate) fn stopped(&self) {
        self.state().run = None;
    }

    /// A file changed: noted when it counts, and, under `restart`, the steps it affects in
    /// the run under way stopped.
    fn changed(&self, path: PathBuf) {
        let mut state = self.state();
        let Some(filter) = state.filter.as_mut() else {
            return;
        };
        if !filter.counts(&path) {
            return;
        }
        let steps = filter.affected(&path);
        let run = match self.mode {
            OnChange::Restart if state.run.is_some() && state.told.news(steps.as_deref()) => {
                state.run.clone()
            }
            _ => None,
        };
        state.pending.push(path.clone());
        drop(state);
        self.wake.notify_all();
        // Waited for, outside the lock: a run flooding its channel with output must not
        // lose the message.
        if let Some(run) = run {
            let path = shown(&path);
            let _ = run.send(Message::Restart { path, steps });
        }
    }

    /// A key or a signal asked for something; `q` also stops the run under way, as Ctrl-C
    /// does.
    fn ask(&self, next: Next) {
        let mut state = self.state();
        let run = matches!(next, Next::Quit)
            .then(|| state.run.clone())
            .flatten();
        state.asked = Some(next);
        drop(state);
        self.wake.notify_all();
        if let Some(run) = run {
            let _ = run.send(Message::Signal(crate::sys::INTERRUPT));
        }
    }

    /// Waits for what comes next: changes (once they settle), or a key.
    fn next(&self) -> Next {
        let mut state = self.state();
        loop {
            if let Some(asked) = state.asked.take() {
                return asked;
            }
            if !state.pending.is_empty() {
                // Until no change has come for a while, or for ten times that at most.
                let mut seen = state.pending.len();
                for _ in 0..10 {
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
        own: own_files(args),
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
        to.ask(Next::Signal(sig));
        true
    });
    let mut args = args.clone();
    (args.explain, args.watch) = (true, false);
    loop {
        session.state().pending.clear();
        let code = match run_once(cli, &args, Some(&session)) {
            Ok(ran) if ran.interrupted => return Ok(ran.code),
            Ok(ran) => ran.code,
            // Invalid from the start: nothing is known to watch.
            Err(problems) if session.state().filter.is_none() => return Err(problems),
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
        // Again each time: a folder removed and made again lost its watch.
        let _ = watcher.unwatch(&folder.0);
        match watcher.watch(&folder.0, mode) {
            Ok(()) => watched.push(folder.clone()),
            Err(e) => eprintln!(
                "{}",
                crate::report::notes::not_watched(&shown(&folder.0), &e.to_string())
            ),
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
                "q" => to.ask(Next::Quit),
                "r" => to.ask(Next::Everything),
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
fn folders(plan: &Plan, filter: &mut Filter) -> Vec<Folder> {
    // The nearest folder that exists: one made later is seen being made there.
    let mut roots: Vec<PathBuf> = fixed_paths(plan)
        .into_iter()
        .filter_map(|p| p.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf))
        .collect();
    if roots.is_empty() {
        roots.push(plan.root.clone());
    }
    let target = plan.dir.parent().unwrap_or(&plan.dir).to_path_buf();
    let mut out: Vec<Folder> = Vec::new();
    for root in roots {
        if target.starts_with(&root) || root.join(".git").exists() {
            let inside = entries_but(&root, &target).into_iter();
            // A folder git ignores is not watched: it may hold many (a build's), and each
            // costs one of the user's inotify watches.
            out.extend(
                inside
                    .filter(|d| !filter.ignored(d, true))
                    .map(|d| (d, true)),
            );
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

/// Where each cached step's inputs are: a pattern's path before its first wildcard.
fn fixed_paths(plan: &Plan) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let Some(cache) = &step.cache else {
            continue;
        };
        for pattern in cache.inputs.iter().filter(|p| !p.starts_with('!')) {
            let fixed: Vec<&str> = pattern
                .split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '{']))
                .collect();
            out.push(step.cwd.join(fixed.join("/")));
        }
    }
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
    /// Each cached step's inputs: the step, its folder, what it takes and leaves out.
    inputs: Vec<(usize, PathBuf, GlobSet, GlobSet)>,
    /// The steps without `cache:`, which may read anything.
    uncached: Vec<usize>,
    /// The steps each step keys: those after it but for those only `after:` it.
    keyed: Vec<Vec<usize>>,
    /// Where each input pattern's fixed part leads: making or removing a folder on the way
    /// counts (it was not watched, or is no longer).
    on_way: Vec<PathBuf>,
    written: Vec<(PathBuf, GlobSet)>,
    /// What cargo flow writes itself (reports, with the temporary files they are written
    /// through, and where its output goes).
    own: Vec<PathBuf>,
    root: PathBuf,
    target: PathBuf,
    /// The `.gitignore` of each folder looked at so far (`None`: it has none), the root's
    /// with the repository's `.git/info/exclude`.
    rules: std::collections::HashMap<PathBuf, Option<Gitignore>>,
    /// The user's own excludes (`core.excludesFile`).
    global: Gitignore,
}

impl Filter {
    fn of(plan: &Plan, definition: PathBuf, own: &[PathBuf]) -> Filter {
        let mut inputs = Vec::new();
        let mut written = Vec::new();
        let mut uncached = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            if let Some(cache) = &step.cache {
                let (left_out, taken): (Vec<&String>, Vec<&String>) =
                    cache.inputs.iter().partition(|p| p.starts_with('!'));
                let left_out = left_out.iter().map(|p| &p[1..]);
                inputs.push((i, step.cwd.clone(), globs(taken), globs(left_out)));
                written.push((step.cwd.clone(), globs(&cache.outputs)));
            } else {
                uncached.push(i);
            }
            written.push((step.cwd.clone(), globs(&step.artifacts)));
        }
        let keyed = (0..plan.steps.len())
            .map(|i| {
                let after = |d: &&usize| !plan.steps[**d].after.contains(&i);
                plan.steps[i]
                    .dependents
                    .iter()
                    .filter(after)
                    .copied()
                    .collect()
            })
            .collect();
        Filter {
            definition,
            inputs,
            uncached,
            keyed,
            on_way: fixed_paths(plan),
            written,
            own: own.to_vec(),
            root: plan.root.clone(),
            target: plan.dir.parent().unwrap_or(&plan.dir).to_path_buf(),
            rules: std::collections::HashMap::new(),
            global: Gitignore::global().0,
        }
    }

    fn counts(&mut self, path: &Path) -> bool {
        let matches = |cwd: &Path, set: &GlobSet| matches(path, cwd, set);
        if path == self.definition {
            return true;
        }
        let own = |o: &PathBuf| {
            path == o
                || path.parent() == o.parent()
                    && path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp"))
        };
        if path.starts_with(&self.target)
            || path.components().any(|c| c.as_os_str() == ".git")
            || self.own.iter().any(own)
            || self.written.iter().any(|(cwd, set)| matches(cwd, set))
        {
            return false;
        }
        if self.on_way.iter().any(|w| w.starts_with(path)) {
            return true;
        }
        if self.inputs.is_empty() {
            return path.starts_with(&self.root) && !self.ignored(path, path.is_dir());
        }
        self.inputs
            .iter()
            .any(|(_, cwd, taken, left_out)| matches(cwd, taken) && !matches(cwd, left_out))
    }

    /// The steps a change to `path` (one that counts) affects: those whose inputs name it
    /// and those without `cache:` (which read what they like), with every step they key in
    /// turn; `None` when that is every step, or what defines the workflow changed.
    fn affected(&self, path: &Path) -> Option<Vec<usize>> {
        let whole = path == self.definition
            || self.inputs.is_empty()
            || self.on_way.iter().any(|w| w.starts_with(path));
        if whole {
            return None;
        }
        let mut todo = self.uncached.clone();
        for (step, cwd, taken, left_out) in &self.inputs {
            if matches(path, cwd, taken) && !matches(path, cwd, left_out) {
                todo.push(*step);
            }
        }
        let mut hit = vec![false; self.keyed.len()];
        while let Some(i) = todo.pop() {
            if !std::mem::replace(&mut hit[i], true) {
                todo.extend(&self.keyed[i]);
            }
        }
        let steps: Vec<usize> = (0..hit.len()).filter(|&i| hit[i]).collect();
        (steps.len() < hit.len()).then_some(steps)
    }

    /// Whether git ignores a path of the project: the rules of its folder and of each folder
    /// above it up to the root, the deepest that says anything deciding, then the user's.
    fn ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let folders: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(&self.root))
            .map(Path::to_path_buf)
            .collect();
        for folder in folders {
            let root = folder == self.root;
            let rules = self
                .rules
                .entry(folder.clone())
                .or_insert_with(|| folder_rules(&folder, root));
            if let Some(rules) = rules {
                let m = rules.matched_path_or_any_parents(path, is_dir);
                if m.is_ignore() {
                    return true;
                }
                if m.is_whitelist() {
                    return false;
                }
            }
        }
        self.global
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
    }
}

/// Whether `path`, relative to `cwd`, is one that `set` names.
fn matches(path: &Path, cwd: &Path, set: &GlobSet) -> bool {
    path.strip_prefix(cwd)
        .is_ok_and(|rel| !set.is_empty() && set.is_match(rel))
}

/// A folder's `.gitignore` (with `.git/info/exclude` at the root), when it has rules.
fn folder_rules(folder: &Path, root: bool) -> Option<Gitignore> {
    let mut builder = GitignoreBuilder::new(folder);
    if root {
        let _ = builder.add(folder.join(".git/info/exclude"));
    }
    let _ = builder.add(folder.join(".gitignore"));
    builder.build().ok().filter(|g| !g.is_empty())
}

/// What cargo flow writes in the project while watching: its reports, and the files its
/// standard output and error go to.
fn own_files(args: &RunArgs) -> Vec<PathBuf> {
    let mut own: Vec<PathBuf> = args
        .report
        .iter()
        .filter_map(|r| std::path::absolute(&r.path).ok())
        .collect();
    own.extend(crate::sys::output_files());
    own
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
