//! One walk of a folder: every file below it with its stat, by as many threads as there are
//! cores, with `.gitignore` rules applied as git applies them.
//!
//! Each folder is read once and each file asked of relative to its open folder (`fstatat`),
//! so that the kernel resolves one name a file, not the whole path: a walk costs what
//! `git status` costs on the same tree.

use std::ffi::OsStr;
use std::fs::DirEntry;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::contents::{self, Kind, Stat};

/// Every file below a folder: its path relative to the folder and its stat, sorted by path.
pub(crate) type Listing = Vec<(PathBuf, Stat)>;

/// The `.gitignore` rules that apply in a folder, deepest first: the first whose rules say
/// anything of a path decides. The repository's `info/exclude` is below its root's rules, as
/// git gives it the lowest precedence. The rules are the project's repository's from the
/// boundary down, in a repository nested in it too (a submodule), so that a folder's files
/// are the same walked from above it or from inside it.
struct Rules {
    matcher: Gitignore,
    up: Option<Arc<Rules>>,
}

type Chain = Option<Arc<Rules>>;

/// Whether the rules leave out what `said` asks them of: the deepest that says anything
/// decides.
fn ignored<'g>(
    chain: &'g Chain,
    said: impl Fn(&'g Gitignore) -> ignore::Match<&'g ignore::gitignore::Glob>,
) -> bool {
    let mut at = chain.as_deref();
    while let Some(rules) = at {
        let m = said(&rules.matcher);
        if m.is_ignore() {
            return true;
        }
        if m.is_whitelist() {
            return false;
        }
        at = rules.up.as_deref();
    }
    false
}

fn push(chain: &Chain, matcher: Gitignore) -> Chain {
    match matcher.is_empty() {
        true => chain.clone(),
        false => Some(Arc::new(Rules {
            matcher,
            up: chain.clone(),
        })),
    }
}

/// The rules of one file of ignore patterns, read relative to `dir`.
fn read_rules(dir: &Path, file: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(dir);
    let _ = builder.add(file);
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// The `info/exclude` file of the repository whose `.git` is `git`: a folder, or a file
/// naming it (a worktree, whose excludes are those of the repository it belongs to).
fn exclude_file(git: &Path) -> Option<PathBuf> {
    let dir = match std::fs::symlink_metadata(git).ok()?.is_dir() {
        true => git.to_path_buf(),
        false => {
            let text = std::fs::read_to_string(git).ok()?;
            let named = Path::new(text.strip_prefix("gitdir:")?.trim());
            let gitdir = git.parent()?.join(named);
            match std::fs::read_to_string(gitdir.join("commondir")) {
                Ok(common) => gitdir.join(common.trim()),
                Err(_) => gitdir,
            }
        }
    };
    Some(dir.join("info").join("exclude"))
}

/// What a walk needs to know of ignore files.
#[derive(Clone, Copy)]
pub(crate) struct Options<'a> {
    /// Whether `.gitignore` and `info/exclude` rules leave files out.
    pub skip_ignored: bool,
    /// The folder whose rules apply to the walk's root from above (see [`rules_above`]).
    pub boundary: &'a Path,
    /// Asked between folders; `true` ends the walk with an interrupt.
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

/// Every file below `root` with its stat (links included, never followed; folders named
/// `.git` never entered), sorted by path.
pub(crate) fn walk(root: &Path, options: Options<'_>) -> io::Result<Listing> {
    // `a//b` and `a/./b` as `a/b`: rules are matched by the path's components.
    let root: PathBuf = root.components().collect();
    let root = root.as_path();
    let mut chain = None;
    if options.skip_ignored {
        for matcher in rules_above(root, options.boundary) {
            chain = push(&chain, matcher);
        }
        // The root, or a folder it is in.
        if ignored(&chain, |g| g.matched_path_or_any_parents(root, true)) {
            return Ok(Vec::new());
        }
    }
    let walk = Walk {
        options,
        queue: Mutex::new(Queue {
            folders: vec![Folder {
                path: root.to_path_buf(),
                name: PathBuf::new(),
                chain,
            }],
            busy: 0,
            failed: None,
        }),
        changed: Condvar::new(),
        found: Mutex::new(Vec::new()),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(|| walk.work());
        }
        walk.work();
    });
    let queue = walk.queue.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = queue.failed {
        return Err(e);
    }
    let mut files = walk.found.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_unstable_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    Ok(files)
}

/// A folder to read: where it is, its path below the walk's root, and the rules in it.
struct Folder {
    path: PathBuf,
    name: PathBuf,
    chain: Chain,
}

/// The folders left to read, how many are being read, and the first failure.
struct Queue {
    folders: Vec<Folder>,
    busy: usize,
    failed: Option<io::Error>,
}

struct Walk<'a> {
    options: Options<'a>,
    queue: Mutex<Queue>,
    changed: Condvar,
    found: Mutex<Listing>,
}

impl Walk<'_> {
    /// Reads folders until none is left and none is being read (which could find more).
    fn work(&self) {
        let mut mine = Vec::new();
        while let Some(folder) = self.next() {
            let read = match (self.options.stop)() {
                true => Err(contents::interrupted()),
                // A panic would leave the folder counted as being read, and the other
                // threads waiting for it without end.
                false => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.read(&folder, &mut mine)
                }))
                .unwrap_or_else(|_| Err(io::Error::other("reading a folder failed"))),
            };
            let mut queue = self.lock();
            queue.busy -= 1;
            match read {
                Ok(below) => queue.folders.extend(below),
                Err(e) => {
                    queue.failed.get_or_insert(e);
                }
            }
            self.changed.notify_all();
        }
        self.found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&mut mine);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next folder to read, waiting while others are read; `None` when all are done or
    /// one failed.
    fn next(&self) -> Option<Folder> {
        let mut queue = self.lock();
        loop {
            if queue.failed.is_some() {
                return None;
            }
            if let Some(folder) = queue.folders.pop() {
                queue.busy += 1;
                return Some(folder);
            }
            if queue.busy == 0 {
                return None;
            }
            queue = self.changed.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Reads one folder: its files go to `found`, its folders are returned.
    fn read(&self, folder: &Folder, found: &mut Listing) -> io::Result<Vec<Folder>> {
        let mut entries = Vec::new();
        // The folder named: "Permission denied" alone would not say where.
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("`{}`: {e}", folder.path.display()));
        for entry in std::fs::read_dir(&folder.path).map_err(named)? {
            let entry = entry.map_err(named)?;
            entries.push((entry.file_name(), entry));
        }
        let chain = self.rules_in(folder, &entries);
        let mut below = Vec::new();
        // One path to ask the rules of, its last name replaced for each entry.
        let mut asked = joined(&folder.path, Path::new("-"));
        for (name, entry) in entries {
            if name == OsStr::new(".git") {
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if chain.is_some() {
                asked.set_file_name(&name);
                if ignored(&chain, |g| g.matched(&asked, is_dir)) {
                    continue;
                }
            }
            let inner = joined(&folder.name, Path::new(&name));
            if is_dir {
                below.push(Folder {
                    path: entry.path(),
                    name: inner,
                    chain: chain.clone(),
                });
                continue;
            }
            // Asked of the open folder, by name: one lookup, not the whole path's.
            let stat = entry.metadata().map_or(UNREADABLE, |m| Stat::of(&m));
            found.push((inner, stat));
        }
        Ok(below)
    }

    /// The rules that apply in a folder: those above it and its own `.gitignore` (with the
    /// repository's `info/exclude`, at the boundary).
    fn rules_in(&self, folder: &Folder, entries: &[(std::ffi::OsString, DirEntry)]) -> Chain {
        if !self.options.skip_ignored {
            return None;
        }
        let has = |name: &str| entries.iter().any(|(n, _)| n == name);
        let mut chain = folder.chain.clone();
        if folder.path == self.options.boundary
            && let Some(exclude) = exclude_file(&folder.path.join(".git"))
        {
            chain = push(&chain, read_rules(&folder.path, &exclude));
        }
        if has(".gitignore") {
            let rules = read_rules(&folder.path, &folder.path.join(".gitignore"));
            chain = push(&chain, rules);
        }
        chain
    }
}

/// `base` joined with the relative `name`, allocated once: tens of thousands are made in a
/// walk.
pub(crate) fn joined(base: &Path, name: &Path) -> PathBuf {
    let size = base.as_os_str().len() + 1 + name.as_os_str().len();
    let mut path = PathBuf::with_capacity(size);
    path.push(base);
    path.push(name);
    path
}

const UNREADABLE: Stat = Stat {
    kind: Kind::Special("unreadable"),
    size: 0,
    mtime: 0,
    id: 0,
};

/// The `.gitignore` rules of the folders from `boundary` down to the parent of `root`,
/// shallowest first, the repository's `info/exclude` before them: the rules that apply to
/// `root` from above. None when `root` is not below `boundary` as written.
fn rules_above(root: &Path, boundary: &Path) -> Vec<Gitignore> {
    let plain = |p: &Path| p.components().all(|c| !matches!(c, Component::ParentDir));
    if !plain(root) || !plain(boundary) || !root.starts_with(boundary) || root == boundary {
        return Vec::new();
    }
    let mut rules = Vec::new();
    for dir in root.ancestors().skip(1) {
        rules.push(read_rules(dir, &dir.join(".gitignore")));
        if dir == boundary {
            if let Some(exclude) = exclude_file(&dir.join(".git")) {
                rules.push(read_rules(dir, &exclude));
            }
            break;
        }
    }
    rules.reverse();
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) -> io::Result<()> {
        for (name, text) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap_or(root))?;
            std::fs::write(path, text)?;
        }
        Ok(())
    }

    fn names(root: &Path, boundary: &Path, skip_ignored: bool) -> io::Result<Vec<String>> {
        let stop = || false;
        let options = Options {
            skip_ignored,
            boundary,
            stop: &stop,
        };
        Ok(walk(root, options)?
            .into_iter()
            .map(|(name, _)| name.display().to_string())
            .collect())
    }

    fn git(root: &Path, args: &[&str]) -> io::Result<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()?;
        assert!(out.status.success(), "git {args:?} failed");
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The files git leaves in, from a tree of rules that override each other.
    #[test]
    fn leaves_out_what_git_ignores() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        git(root, &["init", "-q"])?;
        write(
            root,
            &[
                (".gitignore", "*.log\n/build\ncache/\n!keep.log\n"),
                ("a.rs", ""),
                ("a.log", ""),
                ("keep.log", ""),
                ("build/out", ""),
                ("src/build/x.rs", ""),
                ("src/cache/y", ""),
                ("src/.gitignore", "!*.log\ngen*\n"),
                ("src/z.log", ""),
                ("src/gen.rs", ""),
                ("src/deep/generated/w", ""),
                ("src/deep/.gitignore", "!gen.rs\n"),
                ("src/deep/gen.rs", ""),
                ("src/ok.rs", ""),
                ("docs/secret.md", ""),
                ("docs/plain.md", ""),
                ("docs/.gitignore", "!secret.md\n"),
                ("notes.tmp", ""),
                ("a.b", ""),
                ("a/b", ""),
            ],
        )?;
        write(root, &[(".git/info/exclude", "*.tmp\nsecret.md\n")])?;
        let mut expected: Vec<String> = git(root, &["ls-files", "-o", "--exclude-standard"])?
            .lines()
            .map(str::to_string)
            .collect();
        expected.sort();
        assert_eq!(names(root, root, true)?, expected);
        // From a folder below the root, the rules above it still apply.
        let src: Vec<String> = expected
            .iter()
            .filter_map(|n| n.strip_prefix("src/").map(str::to_string))
            .collect();
        assert_eq!(names(&root.join("src"), root, true)?, src);
        let all = names(root, root, false)?;
        assert!(all.contains(&"build/out".to_string()) && all.contains(&"a.log".to_string()));
        assert!(!all.iter().any(|n| n.starts_with(".git/")));
        Ok(())
    }

    /// A repository inside another (a submodule) has the project's rules, walked from above
    /// or from inside it; a folder ignored from above gives nothing; links are listed, never
    /// followed; a root written with `//` or `./` is the same root.
    #[test]
    fn nested_repositories_ignored_roots_and_links() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        write(
            root,
            &[
                (".gitignore", "*.o\nout/\n"),
                ("inner/.git/info/exclude", "*.tmp\n"),
                ("inner/x.o", ""),
                ("inner/y.tmp", ""),
                ("inner/z.rs", ""),
                ("out/a", ""),
                ("real/f", ""),
            ],
        )?;
        std::fs::create_dir(root.join(".git"))?;
        std::os::unix::fs::symlink(root.join("real"), root.join("link"))?;
        let found = names(root, root, true)?;
        assert_eq!(
            found,
            [".gitignore", "inner/y.tmp", "inner/z.rs", "link", "real/f"]
        );
        assert_eq!(names(&root.join("inner"), root, true)?, ["y.tmp", "z.rs"]);
        assert_eq!(
            names(&root.join("inner//./"), root, true)?,
            ["y.tmp", "z.rs"]
        );
        assert!(names(&root.join("out"), root, true)?.is_empty());
        assert!(names(&root.join("./out"), root, true)?.is_empty());
        let stop = || false;
        let options = Options {
            skip_ignored: true,
            boundary: root,
            stop: &stop,
        };
        let link = walk(root, options)?
            .into_iter()
            .find(|(n, _)| n == Path::new("link"))
            .map(|(_, stat)| stat.kind);
        assert_eq!(link, Some(Kind::Link));
        Ok(())
    }

    #[test]
    fn a_stop_ends_the_walk() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        write(dir.path(), &[("a/b", "")])?;
        let stop = || true;
        let options = Options {
            skip_ignored: false,
            boundary: dir.path(),
            stop: &stop,
        };
        let e = walk(dir.path(), options).err().map(|e| e.kind());
        assert_eq!(e, Some(io::ErrorKind::Interrupted));
        Ok(())
    }
}
