//! The cargo commands a step runs that lock a build folder while they build (a target dir's
//! folder of one profile, `target/debug`, `target/release`, `target/<triple>/debug`): two
//! such commands on one folder only wait for each other (`Blocking waiting for file lock on
//! build directory`), so the scheduler does not start the second until the first is done
//! building, which it says with `Finished`. A quiet command (`-q`) never says so, and is
//! left to cargo's lock.
//!
//! This reads the command as text, as a person would: `cargo`, its options, a subcommand that
//! builds, and the `--target-dir` or `--manifest-path` it is given. What it misses (a script
//! that runs cargo) only costs time, which the run then reports as waiting; what it wrongly
//! finds (`echo cargo build`) only keeps two steps from building side by side.

use std::path::{Component, Path, PathBuf};

use crate::load::{Project, workspace};

/// Subcommands that hold the target dir's lock while they build. `run` is left out: the
/// program it runs may last the whole run, and cargo lets go of the lock before starting it.
const BUILDS: &[&str] = &[
    "build", "b", "check", "c", "test", "t", "bench", "clippy", "doc", "d", "rustc", "rustdoc",
    "fix", "nextest", "llvm-cov", "hack",
];

/// cargo's options before the subcommand that take a value as the next word.
const VALUED: &[&str] = &["--color", "--config", "-Z", "-C", "--explain"];

/// One cargo command that builds, and where it was told to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Build {
    /// `--target-dir`'s value, as written.
    pub target_dir: Option<String>,
    /// `--manifest-path`'s value, as written.
    pub manifest_path: Option<String>,
    /// `--target`'s value, as written: its builds go to a folder of that name.
    pub target: Option<String>,
    /// The folder of its profile in the target dir: `debug`, `release` or the profile's name.
    pub profile: String,
}

impl Default for Build {
    fn default() -> Self {
        Build {
            target_dir: None,
            manifest_path: None,
            target: None,
            profile: "debug".into(),
        }
    }
}

/// The cargo commands that build, in a shell command's text or a program's arguments.
pub(crate) fn builds<'w>(words: impl IntoIterator<Item = &'w str>) -> Vec<Build> {
    let words: Vec<&str> = words.into_iter().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if is_cargo(words[i])
            && let Some((build, end)) = command(&words[i + 1..])
        {
            found.extend(build);
            i += end;
        }
        i += 1;
    }
    found
}

/// The build folders that a step's builds lock, sorted: in the target dir (`--target-dir`,
/// relative to where the step runs, else the step's `CARGO_TARGET_DIR` or
/// `CARGO_BUILD_TARGET_DIR`, else the target dir of the workspace it builds in), the folder
/// of its `--target` and profile. `resolve` substitutes variables in a value.
pub(crate) fn target_dirs(
    builds: &[Build],
    env: &[(String, String)],
    cwd: &Path,
    project: &Project,
    resolve: impl Fn(&str) -> String,
) -> Vec<PathBuf> {
    let set = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    if set("CARGO_TERM_QUIET").is_some_and(|v| v == "true") {
        return Vec::new();
    }
    let from_env = ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .iter()
        .find_map(|name| env.iter().rev().find(|(k, _)| k == name))
        .map(|(_, v)| v.as_str());
    let mut dirs: Vec<PathBuf> = builds
        .iter()
        .filter_map(|b| {
            let dir = target_dir(b, from_env, cwd, project, &resolve)?;
            let triple = b.target.as_deref().map(&resolve).unwrap_or_default();
            Some(dir.join(triple).join(&b.profile))
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The target dir a build uses (see [`target_dirs`]).
fn target_dir(
    b: &Build,
    from_env: Option<&str>,
    cwd: &Path,
    project: &Project,
    resolve: impl Fn(&str) -> String,
) -> Option<PathBuf> {
    match (b.target_dir.as_deref().or(from_env), &b.manifest_path) {
        (Some(dir), _) => Some(normal(&cwd.join(resolve(dir)))),
        (None, Some(manifest)) => {
            let manifest = normal(&cwd.join(resolve(manifest)));
            let dir = manifest.parent()?;
            if project.manifest_path.is_some() && dir.starts_with(&project.root) {
                Some(project.target_dir.clone())
            } else {
                Some(workspace::target_dir_without_cargo(dir, cwd))
            }
        }
        (None, None) if project.manifest_path.is_some() && cwd.starts_with(&project.root) => {
            Some(project.target_dir.clone())
        }
        (None, None) => {
            let manifest = workspace::find_manifest(cwd)?;
            Some(workspace::target_dir_without_cargo(manifest.parent()?, cwd))
        }
    }
}

/// A path with `.` and `..` folded away, as far as the text allows.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The words of a shell command, quotes removed, with each operator (`&&`, `;`, `|`, a
/// newline, a parenthesis) a word of its own; a comment is dropped.
pub(crate) fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    let mut started = false;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, started) = (Some(c), true),
            (None, '\\') => (word.extend(chars.next()), started = true).1,
            (None, '#') if !started => while chars.next_if(|&c| c != '\n').is_some() {},
            (None, c) if c.is_whitespace() || ";&|()".contains(c) => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
                if !c.is_whitespace() || c == '\n' {
                    words.push(";".to_string());
                }
            }
            (None, c) => (word.push(c), started = true).1,
        }
    }
    if started {
        words.push(word);
    }
    words
}

fn is_cargo(word: &str) -> bool {
    word == "cargo" || word.ends_with("/cargo")
}

/// After `cargo`: the build it runs, if it builds, and how many words its command took.
fn command(words: &[&str]) -> Option<(Option<Build>, usize)> {
    let mut i = 0;
    let mut quiet = false;
    let sub = loop {
        let word = *words.get(i)?;
        if word == ";" {
            return Some((None, i));
        }
        i += 1;
        quiet |= is_quiet(word);
        if VALUED.contains(&word) {
            i += 1;
        } else if !word.starts_with('-') && !word.starts_with('+') {
            break word;
        }
    };
    let end = words[i..]
        .iter()
        .position(|w| *w == ";" || *w == "--")
        .map_or(words.len(), |p| i + p);
    let args = &words[i..end];
    if !BUILDS.contains(&sub) || quiet || args.iter().any(|w| is_quiet(w)) {
        return Some((None, end));
    }
    let profile = match option(args, "--profile").as_deref() {
        Some("dev" | "test") => "debug".to_string(),
        Some("release" | "bench") => "release".to_string(),
        Some(named) => named.to_string(),
        None if args.iter().any(|w| *w == "--release" || *w == "-r") => "release".into(),
        None if sub == "bench" => "release".into(),
        None => "debug".into(),
    };
    Some((
        Some(Build {
            target_dir: option(args, "--target-dir"),
            manifest_path: option(args, "--manifest-path"),
            target: option(args, "--target"),
            profile,
        }),
        end,
    ))
}

/// `-q` or `--quiet`: a cargo that says nothing, `Finished` included.
fn is_quiet(word: &str) -> bool {
    word == "-q" || word == "--quiet"
}

/// The value of `--name value` or `--name=value`, the last one given.
fn option(args: &[&str], name: &str) -> Option<String> {
    let mut value = None;
    for (n, arg) in args.iter().enumerate() {
        if *arg == name {
            value = args.get(n + 1).map(|v| v.to_string());
        } else if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            value = Some(v.to_string());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Vec<Build> {
        let words = shell_words(text);
        builds(words.iter().map(String::as_str))
    }

    fn plain() -> Build {
        Build::default()
    }

    #[test]
    fn building_subcommands_are_found_after_options_and_toolchains() {
        assert_eq!(of("cargo build"), [plain()]);
        assert_eq!(of("cargo +nightly --locked test --workspace"), [plain()]);
        assert_eq!(of("cargo --color always clippy -- -D warnings"), [plain()]);
        assert_eq!(of("~/.cargo/bin/cargo nextest run"), [plain()]);
    }

    #[test]
    fn a_quiet_build_never_says_it_finished_and_is_left_to_cargos_lock() {
        assert!(of("cargo -q test").is_empty());
        assert!(of("cargo build --quiet --release").is_empty());
        assert_eq!(of("cargo test -- -q"), [plain()]);
    }

    #[test]
    fn each_profile_and_target_builds_in_a_folder_of_its_own() {
        let profile = |text: &str| {
            of(text)
                .first()
                .map(|b| (b.profile.clone(), b.target.clone()))
        };
        let folder = |p: &str| Some((p.to_string(), None));
        assert_eq!(profile("cargo build"), folder("debug"));
        assert_eq!(profile("cargo build --release"), folder("release"));
        assert_eq!(profile("cargo b -r"), folder("release"));
        assert_eq!(profile("cargo bench"), folder("release"));
        assert_eq!(profile("cargo test --profile dev"), folder("debug"));
        assert_eq!(profile("cargo build --profile=ci"), folder("ci"));
        assert_eq!(
            profile("cargo build --target x86_64-unknown-linux-musl"),
            Some(("debug".into(), Some("x86_64-unknown-linux-musl".into())))
        );
    }

    #[test]
    fn commands_that_do_not_build_are_not() {
        assert!(of("cargo fmt --check").is_empty());
        assert!(of("cargo run --bin server").is_empty());
        assert!(of("cargo --version").is_empty());
        assert!(of("cargo metadata --no-deps; cargo tree").is_empty());
        assert!(of("echo 'cargo build'").is_empty());
        assert!(of("# cargo build\nls").is_empty());
    }

    #[test]
    fn each_command_of_a_script_is_looked_at() {
        let found = of("cargo fmt --check && cargo test --target-dir=t2\ncargo doc|tee x");
        assert_eq!(
            found,
            [
                Build {
                    target_dir: Some("t2".into()),
                    ..plain()
                },
                plain()
            ]
        );
        assert_eq!(of("(cargo check;cargo build)").len(), 2);
    }

    #[test]
    fn target_dir_and_manifest_are_read_before_the_arguments_for_the_tests() {
        let found =
            of("cargo test --manifest-path 'a b/Cargo.toml' --target-dir \"$T\" -- --target-dir x");
        assert_eq!(
            found,
            [Build {
                target_dir: Some("$T".into()),
                manifest_path: Some("a b/Cargo.toml".into()),
                ..plain()
            }]
        );
    }
}
