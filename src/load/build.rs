//! Turns the spanned tree into the model, checking shapes, types and keys, and reporting every
//! problem rather than stopping at the first.

use super::duration::parse_timeout;
use super::model::{
    Cache, Combination, Command, ContextEntry, ContextValue, EnvFile, EnvVar, Origin,
    PackageFilter, Retry, Step, Timeout, Workflow,
};
use super::node::{Key, Node, Value};
use crate::diagnostic::{Problem, Problems};
use crate::source::{Source, Span, Spanned};
use crate::suggest::did_you_mean;

/// The keys a workflow may have.
pub(crate) const WORKFLOW_KEYS: &[&str] = &[
    "name",
    "description",
    "context",
    "params",
    "env",
    "env_file",
    "timeout",
    "retry",
    "shell",
    "remote_cache",
    "steps",
];
/// The keys a step may have.
pub(crate) const STEP_KEYS: &[&str] = &[
    "id",
    "run",
    "depends_on",
    "after",
    "timeout",
    "env",
    "env_file",
    "cwd",
    "description",
    "for_each",
    "retry",
    "if",
    "artifacts",
    "cache",
    "shell",
    "jobserver",
    "exclusive",
    "matrix",
];

/// Reads the entries of a map, remembering which keys are allowed so that an unknown one is
/// reported with the closest allowed key.
pub(super) struct Fields<'a> {
    pub(super) source: &'a Source,
    pub(super) entries: &'a [(Key, Node)],
    pub(super) allowed: &'static [&'static str],
    pub(super) what: &'static str,
}

impl<'a> Fields<'a> {
    pub(super) fn get(&self, key: &str) -> Option<&'a Node> {
        debug_assert!(self.allowed.contains(&key));
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub(super) fn check_unknown(&self, problems: &mut Problems) {
        for (key, _) in self.entries {
            if !self.allowed.contains(&key.name.as_str()) {
                let help = synonym(&key.name)
                    .filter(|k| self.allowed.contains(k))
                    .map(|k| format!("did you mean `{k}`?"))
                    .or_else(|| did_you_mean(&key.name, self.allowed.iter().copied()))
                    .unwrap_or_else(|| {
                        format!("{} keys are: {}", self.what, self.allowed.join(", "))
                    });
                problems.push(
                    Problem::at(
                        "flow::unknown-key",
                        format!("unknown {} key `{}`", self.what, key.name),
                        self.source,
                        key.span,
                        "unknown key",
                    )
                    .with_help(help),
                );
            }
        }
    }
}

/// The key that other tools call by this name: `command` is `run` here, `needs` is
/// `depends_on`.
fn synonym(key: &str) -> Option<&'static str> {
    Some(match key.to_ascii_lowercase().as_str() {
        "command" | "comand" | "commands" | "cmd" | "cmds" | "script" | "exec" | "do" => "run",
        "needs" | "deps" | "depends" | "dependencies" | "requires" | "depend_on" | "dependson" => {
            "depends_on"
        }
        "dir" | "workdir" | "working_directory" | "working-directory" | "directory" | "cd" => "cwd",
        "environment" | "vars" | "envs" => "env",
        "name" | "key" | "step" => "id",
        "desc" | "help" | "about" | "summary" => "description",
        "tasks" | "jobs" => "steps",
        "timeout_minutes" | "time_limit" | "deadline" => "timeout",
        "variables" | "defaults" | "args" => "context",
        _ => return None,
    })
}

/// A "expected X, found Y" problem.
pub(crate) fn wrong_type(source: &Source, node: &Node, what: &str, expected: &str) -> Problem {
    Problem::at(
        "flow::wrong-type",
        format!("{what} must be {expected}, found {}", node.kind()),
        source,
        label_span(node),
        format!("expected {expected}"),
    )
}

/// A span worth underlining: a map or list spans only its first character.
fn label_span(node: &Node) -> Span {
    if node.span.len == 0 {
        Span::new(node.span.start, 1)
    } else {
        node.span
    }
}

pub(super) fn string(
    source: &Source,
    node: &Node,
    what: &str,
    problems: &mut Problems,
) -> Option<Spanned<String>> {
    match node.scalar_text() {
        Some(s) if has_nul(source, node, s, what, problems) => None,
        Some(s) => Some(Spanned::new(s.to_string(), node.span)),
        None => {
            problems.push(wrong_type(source, node, what, "a string"));
            None
        }
    }
}

/// Reports a NUL byte, which no command line, argument, path or variable can carry.
fn has_nul(source: &Source, node: &Node, text: &str, what: &str, problems: &mut Problems) -> bool {
    if !text.contains('\0') {
        return false;
    }
    problems.push(
        Problem::at(
            "flow::nul-byte",
            format!("{what} contains a NUL byte"),
            source,
            label_span(node),
            "NUL byte in here",
        )
        .with_help(
            "commands, arguments, paths and variables cannot hold a NUL byte (`\\0`); remove it",
        ),
    );
    true
}

/// Builds one workflow from its map. Problems are collected; what could be read is returned.
pub(crate) fn workflow(
    source: &Source,
    node: &Node,
    name: String,
    origin: Origin,
    problems: &mut Problems,
) -> Workflow {
    let mut wf = Workflow {
        name,
        title: None,
        description: None,
        context: Vec::new(),
        params: Vec::new(),
        env: Vec::new(),
        env_files: Vec::new(),
        timeout: None,
        retry: None,
        shell: None,
        remote_cache: None,
        steps: Vec::new(),
        origin,
    };
    let Some(entries) = node.as_map() else {
        problems.push(wrong_type(source, node, "a workflow", "a map with `steps`"));
        return wf;
    };
    let fields = Fields {
        source,
        entries,
        allowed: WORKFLOW_KEYS,
        what: "workflow",
    };
    fields.check_unknown(problems);
    wf.title = fields
        .get("name")
        .and_then(|n| string(source, n, "`name`", problems))
        .map(|s| s.value);
    wf.description = fields
        .get("description")
        .and_then(|n| string(source, n, "`description`", problems))
        .map(|s| s.value);
    if let Some(n) = fields.get("context") {
        wf.context = context(source, n, problems);
    }
    if let Some(n) = fields.get("params") {
        wf.params = super::params::read(source, n, &wf.context, problems);
    }
    if let Some(n) = fields.get("env") {
        wf.env = env(source, n, problems);
    }
    if let Some(n) = fields.get("env_file") {
        wf.env_files = env_files(source, n, problems);
    }
    wf.timeout = fields
        .get("timeout")
        .and_then(|n| timeout(source, n, problems));
    wf.retry = fields.get("retry").and_then(|n| retry(source, n, problems));
    wf.shell = fields.get("shell").and_then(|n| shell(source, n, problems));
    wf.remote_cache = fields
        .get("remote_cache")
        .and_then(|n| remote_cache(source, n, problems));
    wf.steps = steps(source, node, fields.get("steps"), problems);
    wf
}

/// `remote_cache:`: an `http://` or `https://` address.
fn remote_cache(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<String>> {
    let url = string(source, node, "`remote_cache`", problems)?;
    if is_http_url(&url.value) {
        return Some(url);
    }
    problems.push(
        Problem::at(
            "flow::bad-remote-cache",
            "`remote_cache` is not an http:// or https:// address",
            source,
            node.span,
            "not an address",
        )
        .with_help(
            "give the server's address, e.g. `remote_cache: https://cache.example.com`, or \
             leave it out and pass `--remote-cache URL`",
        ),
    );
    None
}

/// Whether `url` is an `http://` or `https://` address with a host.
pub(crate) fn is_http_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    }) && !url.chars().any(char::is_whitespace)
}

/// A workflow's `steps:`, a list that must not be empty.
fn steps(
    source: &Source,
    workflow: &Node,
    node: Option<&Node>,
    problems: &mut Problems,
) -> Vec<Step> {
    let Some(node) = node else {
        problems.push(
            Problem::at(
                "flow::missing-steps",
                "the workflow has no `steps`",
                source,
                label_span(workflow),
                "this workflow",
            )
            .with_help("add `steps:`, a list of steps each with an `id` and a `run`"),
        );
        return Vec::new();
    };
    let Value::List(items) = &node.value else {
        problems.push(wrong_type(source, node, "`steps`", "a list of steps"));
        return Vec::new();
    };
    if items.is_empty() {
        problems.push(
            Problem::at(
                "flow::missing-steps",
                "the workflow's `steps` is empty",
                source,
                label_span(node),
                "no steps",
            )
            .with_help("add at least one step with an `id` and a `run`"),
        );
    }
    items
        .iter()
        .filter_map(|item| step(source, item, problems))
        .collect()
}

fn step(source: &Source, node: &Node, problems: &mut Problems) -> Option<Step> {
    let Some(entries) = node.as_map() else {
        problems.push(wrong_type(
            source,
            node,
            "a step",
            "a map with `id` and `run`",
        ));
        return None;
    };
    let fields = Fields {
        source,
        entries,
        allowed: STEP_KEYS,
        what: "step",
    };
    fields.check_unknown(problems);
    let id = step_id(source, node, fields.get("id"), problems);
    let run = step_run(source, node, id.as_ref(), fields.get("run"), problems);
    let (depends_on, after) = waits_for(source, &fields, problems);
    let timeout = fields
        .get("timeout")
        .and_then(|n| timeout(source, n, problems));
    let env = fields
        .get("env")
        .map(|n| env(source, n, problems))
        .unwrap_or_default();
    let env_files = fields
        .get("env_file")
        .map(|n| env_files(source, n, problems))
        .unwrap_or_default();
    let cwd = fields
        .get("cwd")
        .and_then(|n| string(source, n, "`cwd`", problems));
    let description = fields
        .get("description")
        .and_then(|n| string(source, n, "`description`", problems))
        .map(|s| s.value);
    let for_each = fields
        .get("for_each")
        .and_then(|n| for_each(source, n, problems));
    let retry = fields.get("retry").and_then(|n| retry(source, n, problems));
    let condition = fields
        .get("if")
        .and_then(|n| string(source, n, "`if`", problems));
    let artifacts = fields
        .get("artifacts")
        .map(|n| paths(source, n, "`artifacts`", problems))
        .unwrap_or_default();
    let cache = fields.get("cache").and_then(|n| cache(source, n, problems));
    let shell = fields.get("shell").and_then(|n| shell(source, n, problems));
    let (matrix, exclusive, jobserver) = how_it_runs(source, &fields, problems);
    Some(Step {
        id: id?,
        run: run?,
        depends_on,
        after,
        timeout,
        env,
        env_files,
        cwd,
        description,
        for_each,
        retry,
        condition,
        artifacts,
        cache,
        shell,
        jobserver,
        exclusive,
        matrix,
    })
}

/// `matrix:`, expanded into its combinations, as GitHub Actions expands one: each a list of
/// (key, value), values as text.
fn matrix(
    source: &Source,
    node: &Node,
    problems: &mut Problems,
) -> Option<Spanned<Vec<Combination>>> {
    let bad = |message: String, problems: &mut Problems| {
        problems.push(
            Problem::at("flow::bad-matrix", message, source, node.span, "this matrix")
                .with_help("write `matrix: {key: [value, ...], ...}`, with `include:` and `exclude:` lists of `{key: value}` maps"),
        );
    };
    let combos = match super::matrix::expand(node) {
        Ok(c) => c,
        Err(why) => {
            bad(why, problems);
            return None;
        }
    };
    let mut out = Vec::with_capacity(combos.len());
    for combo in combos {
        let mut values = Vec::with_capacity(combo.len());
        for (key, value) in combo {
            let Some(text) = value.scalar_text() else {
                bad(
                    format!(
                        "matrix `{key}` has a value that is {}; values are text, numbers or booleans",
                        value.kind()
                    ),
                    problems,
                );
                return None;
            };
            if text.chars().any(char::is_control) {
                bad(
                    format!(
                        "matrix `{key}` has a value with a control character (a line break, a NUL byte...); it names the instance's logs and lines"
                    ),
                    problems,
                );
                return None;
            }
            values.push((key, text.to_string()));
        }
        out.push(values);
    }
    Some(Spanned::new(out, node.span))
}

/// A step's `matrix`, `exclusive` and `jobserver`.
type HowItRuns = (
    Option<Spanned<Vec<Combination>>>,
    Vec<Spanned<String>>,
    bool,
);

/// Reads a step's `matrix`, `exclusive` and `jobserver`.
fn how_it_runs(source: &Source, fields: &Fields<'_>, problems: &mut Problems) -> HowItRuns {
    let matrix = fields
        .get("matrix")
        .and_then(|n| matrix(source, n, problems));
    let exclusive = fields
        .get("exclusive")
        .map(|n| names_list(source, n, "`exclusive`", problems))
        .unwrap_or_default();
    let jobserver = fields
        .get("jobserver")
        .and_then(|n| flag(source, n, "`jobserver`", problems))
        .unwrap_or(true);
    (matrix, exclusive, jobserver)
}

/// `env_file:`: a path, or a list of paths and `{path: .env.local, optional: true}` maps.
fn env_files(source: &Source, node: &Node, problems: &mut Problems) -> Vec<EnvFile> {
    let items: Vec<&Node> = match &node.value {
        Value::List(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (path, optional) = match item.as_map() {
            Some(entries) => {
                let fields = Fields {
                    source,
                    entries,
                    allowed: &["path", "optional"],
                    what: "`env_file`",
                };
                fields.check_unknown(problems);
                let optional = fields
                    .get("optional")
                    .and_then(|n| flag(source, n, "`optional`", problems))
                    .unwrap_or(false);
                let Some(path) = fields.get("path") else {
                    problems.push(wrong_type(
                        source,
                        item,
                        "an `env_file` entry",
                        "a map with `path`",
                    ));
                    continue;
                };
                (string(source, path, "`path`", problems), optional)
            }
            None => (string(source, item, "an `env_file` entry", problems), false),
        };
        out.extend(path.map(|path| EnvFile { path, optional }));
    }
    out
}

/// A step's `depends_on` and `after`.
fn waits_for(
    source: &Source,
    fields: &Fields<'_>,
    problems: &mut Problems,
) -> (Vec<Spanned<String>>, Vec<Spanned<String>>) {
    let depends_on = fields
        .get("depends_on")
        .map(|n| depends_on(source, n, problems))
        .unwrap_or_default();
    let after = fields
        .get("after")
        .map(|n| names_list(source, n, "`after`", problems))
        .unwrap_or_default();
    (depends_on, after)
}

/// `true` or `false`.
fn flag(source: &Source, node: &Node, what: &str, problems: &mut Problems) -> Option<bool> {
    match node.scalar_text() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => {
            problems.push(wrong_type(source, node, what, "`true` or `false`"));
            None
        }
    }
}

/// A step's `id`, which it must have.
fn step_id(
    source: &Source,
    step: &Node,
    node: Option<&Node>,
    problems: &mut Problems,
) -> Option<Spanned<String>> {
    let Some(n) = node else {
        problems.push(
            Problem::at(
                "flow::missing-id",
                "this step has no `id`",
                source,
                label_span(step),
                "step without an id",
            )
            .with_help("give every step a unique `id`, e.g. `id: build`"),
        );
        return None;
    };
    string(source, n, "a step's `id`", problems).and_then(|id| check_id(source, id, problems))
}

/// A step's `run`, which it must have.
fn step_run(
    source: &Source,
    step: &Node,
    id: Option<&Spanned<String>>,
    node: Option<&Node>,
    problems: &mut Problems,
) -> Option<Spanned<Command>> {
    if let Some(n) = node {
        return command(source, n, problems);
    }
    let label = id.map_or("this step".to_string(), |i| format!("step `{}`", i.value));
    problems.push(
        Problem::at(
            "flow::missing-run",
            format!("{label} has no `run`"),
            source,
            id.map_or(label_span(step), |i| i.span),
            "no command",
        )
        .with_help("add `run:` with a shell command, or a list for a program and its arguments"),
    );
    None
}

/// `shell:`: the program that runs a shell `run`, with its options, as `bash --posix` or
/// `[bash, --posix]`; the command follows as `-c <command>`.
fn shell(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<Vec<String>>> {
    let words = match &node.value {
        Value::List(items) => items
            .iter()
            .map(|i| string(source, i, "a word of `shell`", problems).map(|s| s.value))
            .collect::<Option<Vec<String>>>()?,
        _ => {
            let text = string(source, node, "`shell`", problems)?;
            match shell_words::split(&text.value) {
                Ok(words) => words,
                Err(e) => {
                    problems.push(
                        Problem::at(
                            "flow::bad-shell",
                            format!("`shell` cannot be read as words: {e}"),
                            source,
                            label_span(node),
                            "here",
                        )
                        .with_help("write the program and its options, e.g. `shell: bash --posix`"),
                    );
                    return None;
                }
            }
        }
    };
    if words.first().is_none_or(|w| w.is_empty()) {
        problems.push(
            Problem::at(
                "flow::bad-shell",
                "`shell` names no program",
                source,
                label_span(node),
                "empty",
            )
            .with_help("name the shell that runs the command, e.g. `shell: bash`"),
        );
        return None;
    }
    Some(Spanned::new(words, node.span))
}

/// A list of paths or globs (`[dist/app, "docs/**/*.html"]`), or a single one as a string.
fn paths(
    source: &Source,
    node: &Node,
    what: &str,
    problems: &mut Problems,
) -> Vec<Spanned<String>> {
    let items: Vec<&Node> = match &node.value {
        Value::List(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![node],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(path) = string(source, item, &format!("an entry of {what}"), problems) else {
            continue;
        };
        if path.value.trim().is_empty() {
            problems.push(
                Problem::at(
                    "flow::bad-path",
                    format!("an entry of {what} is empty"),
                    source,
                    label_span(item),
                    "empty path",
                )
                .with_help("write a path or a glob relative to the step's working directory, e.g. `target/release/app` or `src/**/*.rs`"),
            );
            continue;
        }
        // `!` leaves files out of the inputs; anywhere else it would name a file `!…`.
        let excludes = what.contains("cache.inputs") || what.contains("`inputs`");
        if let Some(rest) = path.value.strip_prefix('!')
            && (!excludes || rest.trim().is_empty())
        {
            let (message, help) = match excludes {
                true => (
                    "an exclusion `!` names nothing".to_string(),
                    "write the files to leave out after the `!`, e.g. `!src/generated/**`",
                ),
                false => (
                    format!(
                        "`{}` in {what} is an exclusion, which only `cache.inputs` has",
                        path.value
                    ),
                    "leave it out: list the files to keep instead",
                ),
            };
            problems.push(
                Problem::at("flow::bad-path", message, source, path.span, "here").with_help(help),
            );
            continue;
        }
        if let Err(e) = globset::Glob::new(&path.value) {
            problems.push(
                Problem::at(
                    "flow::bad-path",
                    format!("invalid glob `{}` in {what}", path.value),
                    source,
                    path.span,
                    e.kind().to_string(),
                )
                .with_help(
                    "globs use `*` within a folder, `**` across folders, `?`, `[abc]` and `{a,b}`",
                ),
            );
            continue;
        }
        out.push(path);
    }
    out
}

/// The keys of `cache:`.
pub(crate) const CACHE_KEYS: &[&str] = &["inputs", "outputs", "env"];

/// `cache: {inputs: [globs], outputs: [globs], env: [NAMES]}`.
fn cache(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<Cache>> {
    let Some(entries) = node.as_map() else {
        problems.push(wrong_type(source, node, "`cache`", "a map").with_help(
            "write `cache: {inputs: [\"src/**\"], outputs: [\"dist/app\"], env: [RUSTFLAGS]}`",
        ));
        return None;
    };
    let fields = Fields {
        source,
        entries,
        allowed: CACHE_KEYS,
        what: "cache",
    };
    fields.check_unknown(problems);
    let list = |key: &str, problems: &mut Problems| {
        fields
            .get(key)
            .map(|n| paths(source, n, &format!("`cache.{key}`"), problems))
            .unwrap_or_default()
    };
    let (inputs, packages) = match fields.get("inputs") {
        Some(n) => inputs(source, n, problems),
        None => (Vec::new(), Vec::new()),
    };
    let outputs = list("outputs", problems);
    let mut env = Vec::new();
    if let Some(n) = fields.get("env") {
        let items: Vec<&Node> = match &n.value {
            Value::List(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![n],
        };
        for item in items {
            let Some(name) = string(source, item, "an entry of `cache.env`", problems) else {
                continue;
            };
            if name.value.is_empty() || name.value.contains('=') {
                problems.push(
                    Problem::at(
                        "flow::invalid-env",
                        format!(
                            "invalid environment variable name `{}` in `cache.env`",
                            name.value.escape_debug()
                        ),
                        source,
                        label_span(item),
                        "invalid name",
                    )
                    .with_help(
                        "name a variable, e.g. `RUSTFLAGS`; a name cannot be empty or contain `=`",
                    ),
                );
                continue;
            }
            env.push(name);
        }
    }
    Some(Spanned::new(
        Cache {
            inputs,
            outputs,
            env,
            packages,
        },
        node.span,
    ))
}

/// `cache.inputs`: paths and globs, and `{package: NAME}` entries.
fn inputs(
    source: &Source,
    node: &Node,
    problems: &mut Problems,
) -> (Vec<Spanned<String>>, Vec<Spanned<String>>) {
    let items: Vec<&Node> = match &node.value {
        Value::List(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut packages = Vec::new();
    let mut globs = Vec::new();
    for item in items {
        match item.as_map() {
            Some([(key, name)]) if key.name == "package" => {
                packages.extend(string(source, name, "`package`", problems));
            }
            Some(_) => problems.push(
                wrong_type(
                    source,
                    item,
                    "an entry of `cache.inputs`",
                    "a path, a glob or `{package: NAME}`",
                )
                .with_help("write `inputs: [\"src/**\", {package: core}]`"),
            ),
            None => globs.extend(paths(source, item, "`cache.inputs`", problems)),
        }
    }
    (globs, packages)
}

/// The keys of `retry:` in its long form.
pub(crate) const RETRY_KEYS: &[&str] = &["attempts", "delay", "backoff", "max_delay", "jitter"];

/// `retry: 3`, or `retry: {attempts: 3, delay: 2s, backoff: exponential, max_delay: 30s, jitter: true}`.
fn retry(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<Retry>> {
    let Some(entries) = node.as_map() else {
        let retries = retry_count(source, node, problems)?;
        return Some(Spanned::new(
            Retry {
                retries,
                ..Retry::NONE
            },
            node.span,
        ));
    };
    let fields = Fields {
        source,
        entries,
        allowed: RETRY_KEYS,
        what: "retry",
    };
    fields.check_unknown(problems);
    let Some(attempts) = fields.get("attempts") else {
        problems.push(
            Problem::at(
                "flow::bad-retry",
                "`retry` has no `attempts`",
                source,
                label_span(node),
                "how many retries?",
            )
            .with_help("add `attempts: 3` to try a failing step up to 3 more times"),
        );
        return None;
    };
    let mut r = Retry {
        retries: retry_count(source, attempts, problems)?,
        ..Retry::NONE
    };
    if let Some(n) = fields.get("delay") {
        r.delay = retry_duration(source, n, "`retry.delay`", problems)?;
    }
    if let Some(n) = fields.get("max_delay") {
        r.max_delay = Some(retry_duration(source, n, "`retry.max_delay`", problems)?);
    }
    if let Some(n) = fields.get("backoff") {
        r.exponential = backoff(source, n, problems)?;
    }
    if let Some(n) = fields.get("jitter") {
        r.jitter = flag(source, n, "`jitter`", problems)?;
    }
    Some(Spanned::new(r, node.span))
}

/// A number of retries: a whole number from 0 to 100.
fn retry_count(source: &Source, n: &Node, problems: &mut Problems) -> Option<u32> {
    match (&n.value, n.scalar_text().map(str::parse::<u32>)) {
        (Value::Number(_), Some(Ok(k))) if k <= 100 => Some(k),
        _ => {
            problems.push(
                Problem::at(
                    "flow::bad-retry",
                    "the number of retries must be a whole number from 0 to 100",
                    source,
                    label_span(n),
                    "not a retry count",
                )
                .with_help("`retry: 3` tries a failing step up to 3 more times"),
            );
            None
        }
    }
}

/// A wait between retries: `500ms`, `2s`, `1m`.
fn retry_duration(
    source: &Source,
    n: &Node,
    what: &str,
    problems: &mut Problems,
) -> Option<std::time::Duration> {
    let text = string(source, n, what, problems)?;
    match super::duration::parse_duration(&text.value) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(
                Problem::at(
                    "flow::bad-duration",
                    format!("invalid {what} `{}`", text.value),
                    source,
                    text.span,
                    e.0,
                )
                .with_help("durations look like `500ms`, `2s`, `1m`"),
            );
            None
        }
    }
}

/// `backoff: fixed` or `exponential`: whether the delay doubles after each retry.
fn backoff(source: &Source, n: &Node, problems: &mut Problems) -> Option<bool> {
    match n.scalar_text() {
        Some("fixed") => Some(false),
        Some("exponential") => Some(true),
        _ => {
            problems.push(
                Problem::at(
                    "flow::bad-retry",
                    "`backoff` must be `fixed` or `exponential`",
                    source,
                    label_span(n),
                    "unknown backoff",
                )
                .with_help("`exponential` doubles the delay after each retry"),
            );
            None
        }
    }
}

/// `for_each: package`, or `for_each: {package: [names]}`, or `for_each: {package: "glob"}`.
fn for_each(
    source: &Source,
    node: &Node,
    problems: &mut Problems,
) -> Option<Spanned<PackageFilter>> {
    let unknown = |problems: &mut Problems, span: Span, what: &str| {
        problems.push(
            Problem::at(
                "flow::bad-for-each",
                format!("`for_each` cannot iterate over {what}"),
                source,
                span,
                "not `package`",
            )
            .with_help("write `for_each: package`, or filter: `for_each: {package: [a, b]}` or `{package: \"flow-*\"}`"),
        );
    };
    if let Some(text) = node.scalar_text() {
        if text == "package" {
            return Some(Spanned::new(PackageFilter::All, node.span));
        }
        unknown(problems, node.span, &format!("`{text}`"));
        return None;
    }
    let Some(entries) = node.as_map() else {
        problems.push(wrong_type(
            source,
            node,
            "`for_each`",
            "`package` or `{package: ...}`",
        ));
        return None;
    };
    let mut result = None;
    for (key, value) in entries {
        if key.name != "package" {
            unknown(problems, key.span, &format!("`{}`", key.name));
            continue;
        }
        result = match &value.value {
            Value::List(items) => {
                let names = items
                    .iter()
                    .filter_map(|i| string(source, i, "a package name", problems))
                    .collect();
                Some(Spanned::new(PackageFilter::Names(names), value.span))
            }
            _ => string(source, value, "`for_each.package`", problems)
                .map(|g| Spanned::new(PackageFilter::Glob(g.clone()), g.span)),
        };
    }
    result
}

/// Whether `id` is a valid step id: `[A-Za-z0-9_.-]+`, not only dots (an id names the
/// step's log file and artifact folder, and `..` would name a folder outside).
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.bytes().all(|b| b == b'.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_id(
    source: &Source,
    id: Spanned<String>,
    problems: &mut Problems,
) -> Option<Spanned<String>> {
    if is_valid_id(&id.value) {
        return Some(id);
    }
    let suggestion: String = id
        .value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let help = if !suggestion.is_empty() && suggestion.bytes().all(|b| b == b'.') {
        "an id cannot be only dots; ids may use letters, digits, `_`, `.` and `-`".to_string()
    } else if suggestion.trim_matches('-').is_empty() {
        "ids may use letters, digits, `_`, `.` and `-`".to_string()
    } else {
        format!(
            "ids may use letters, digits, `_`, `.` and `-`: e.g. `{}`",
            suggestion.trim_matches('-')
        )
    };
    problems.push(
        Problem::at(
            "flow::invalid-id",
            format!("invalid step id `{}`", id.value.escape_debug()),
            source,
            label_span(&Node {
                value: Value::Null,
                span: id.span,
            }),
            "invalid id",
        )
        .with_help(help),
    );
    None
}

fn command(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<Command>> {
    match &node.value {
        Value::List(items) => {
            if items.is_empty() {
                problems.push(
                    Problem::at(
                        "flow::empty-run",
                        "`run` is an empty list",
                        source,
                        label_span(node),
                        "nothing to run",
                    )
                    .with_help("name the program first, then its arguments: `run: [cargo, test]`"),
                );
                return None;
            }
            let mut argv = Vec::with_capacity(items.len());
            for item in items {
                argv.push(string(source, item, "an argument of `run`", problems)?);
            }
            Some(Spanned::new(Command::Argv(argv), node.span))
        }
        _ => match node.scalar_text() {
            Some(text) if has_nul(source, node, text, "`run`", problems) => None,
            Some(text) if text.trim().is_empty() => {
                problems.push(
                    Problem::at(
                        "flow::empty-run",
                        "`run` is empty",
                        source,
                        label_span(node),
                        "nothing to run",
                    )
                    .with_help("write the command to run, e.g. `run: cargo build`"),
                );
                None
            }
            Some(text) => Some(Spanned::new(Command::Shell(text.to_string()), node.span)),
            None => {
                problems.push(wrong_type(
                    source,
                    node,
                    "`run`",
                    "a command string or a list of arguments",
                ));
                None
            }
        },
    }
}

fn depends_on(source: &Source, node: &Node, problems: &mut Problems) -> Vec<Spanned<String>> {
    names_list(source, node, "`depends_on`", problems)
}

/// A name or a list of names (`depends_on`, `exclusive`).
fn names_list(
    source: &Source,
    node: &Node,
    what: &str,
    problems: &mut Problems,
) -> Vec<Spanned<String>> {
    match &node.value {
        Value::List(items) => items
            .iter()
            .filter_map(|i| string(source, i, &format!("an item of {what}"), problems))
            .collect(),
        Value::Null => Vec::new(),
        _ => string(source, node, what, problems).into_iter().collect(),
    }
}

fn timeout(source: &Source, node: &Node, problems: &mut Problems) -> Option<Spanned<Timeout>> {
    if let Some(entries) = node.as_map() {
        return quiet_timeout(source, node, entries, problems);
    }
    let text = string(source, node, "`timeout`", problems)?;
    match parse_timeout(&text.value) {
        Ok(t) => Some(Spanned::new(t, text.span)),
        Err(e) => {
            problems.push(
                Problem::at(
                    "flow::bad-duration",
                    format!("invalid timeout `{}`", text.value),
                    source,
                    text.span,
                    e.0,
                )
                .with_help("durations look like `90s`, `5m`, `1h30m`; `none` disables the timeout"),
            );
            None
        }
    }
}

/// `timeout: {quiet: 10m, limit: 2h}`: stopped after `quiet` with no output and no CPU time,
/// or after `limit`; what is left out is the default's.
fn quiet_timeout(
    source: &Source,
    node: &Node,
    entries: &[(Key, Node)],
    problems: &mut Problems,
) -> Option<Spanned<Timeout>> {
    let Timeout::Quiet {
        mut quiet,
        mut limit,
    } = Timeout::DEFAULT
    else {
        return None;
    };
    let mut ok = true;
    for (key, value) in entries {
        let slot = match key.name.as_str() {
            "quiet" => &mut quiet,
            "limit" => &mut limit,
            other => {
                problems.push(
                    Problem::at(
                        "flow::unknown-key",
                        format!("unknown key `{other}` in `timeout`"),
                        source,
                        key.span,
                        "not a timeout key",
                    )
                    .with_help("a timeout map has `quiet` (no output and no CPU time for so long) and `limit` (at most so long)"),
                );
                ok = false;
                continue;
            }
        };
        match timeout(source, value, problems).map(|t| t.value) {
            Some(Timeout::After(d)) => *slot = d,
            Some(_) => {
                problems.push(Problem::at(
                    "flow::bad-duration",
                    format!("`{}` in `timeout` must be a duration", key.name),
                    source,
                    value.span,
                    "a duration such as `10m`",
                ));
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then(|| Spanned::new(Timeout::Quiet { quiet, limit }, node.span))
}

/// The entries of a map of variable names to values (`env`, `context`), or a problem.
fn variables<'n>(
    source: &Source,
    node: &'n Node,
    what: &str,
    problems: &mut Problems,
) -> &'n [(Key, Node)] {
    node.as_map().unwrap_or_else(|| {
        problems.push(wrong_type(
            source,
            node,
            what,
            "a map of variable names to values",
        ));
        &[]
    })
}

/// Whether cargo flow sets an environment variable of this name for every step, so a
/// workflow may not: `FLOW_WORKFLOW`, `FLOW_STEP`, `FLOW_OUTPUT`, and those that carry
/// values (`FLOW_CTX_*`, `FLOW_OUTPUT_*`, `FLOW_ARTIFACTS_*`), which checks have passed.
pub(crate) fn reserved_env(name: &str) -> bool {
    matches!(name, "FLOW_WORKFLOW" | "FLOW_STEP" | "FLOW_OUTPUT")
        || ["FLOW_CTX_", "FLOW_OUTPUT_", "FLOW_ARTIFACTS_"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// The problem of setting a [`reserved_env`] name at `span`.
pub(crate) fn reserved_env_problem(source: &Source, span: Span, message: String) -> Problem {
    Problem::at(
        "flow::invalid-env",
        message,
        source,
        span,
        "reserved",
    )
    .with_help(
        "cargo flow passes context values, outputs and artifact folders in `FLOW_*` variables; choose another name",
    )
}

fn env(source: &Source, node: &Node, problems: &mut Problems) -> Vec<EnvVar> {
    let entries = variables(source, node, "`env`", problems);
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if key.name.is_empty() || key.name.contains('=') || key.name.contains('\0') {
            let message = if key.name.is_empty() {
                "an environment variable name is empty".to_string()
            } else {
                format!(
                    "invalid environment variable name `{}`",
                    key.name.escape_debug()
                )
            };
            problems.push(
                Problem::at(
                    "flow::invalid-env",
                    message,
                    source,
                    key.span,
                    "invalid name",
                )
                .with_help("a variable name cannot be empty or contain `=`"),
            );
            continue;
        }
        if reserved_env(&key.name) {
            let message = format!("`{}` is set by cargo flow for every step", key.name);
            problems.push(reserved_env_problem(source, key.span, message));
            continue;
        }
        let Some(text) = value.scalar_text() else {
            problems.push(wrong_type(
                source,
                value,
                &format!("`env.{}`", key.name),
                "a string",
            ));
            continue;
        };
        if text.contains('\0') {
            problems.push(Problem::at(
                "flow::invalid-env",
                format!("`env.{}` contains a NUL byte", key.name),
                source,
                value.span,
                "NUL byte",
            ));
            continue;
        }
        out.push(EnvVar {
            name: Spanned::new(key.name.clone(), key.span),
            value: Spanned::new(text.to_string(), value.span),
        });
    }
    out
}

fn context(source: &Source, node: &Node, problems: &mut Problems) -> Vec<ContextEntry> {
    let entries = variables(source, node, "`context`", problems);
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let reserved = match key.name.as_str() {
            "args" => Some("`${args}` holds the words after `--` on the command line"),
            n if n.starts_with("steps.") => {
                Some("`${steps.<id>...}` reads what earlier steps wrote")
            }
            _ => None,
        };
        if let Some(why) = reserved {
            problems.push(
                Problem::at(
                    "flow::bad-variable",
                    format!("`{}` cannot be a context variable", key.name),
                    source,
                    key.span,
                    "reserved",
                )
                .with_help(format!("{why}; choose another name")),
            );
            continue;
        }
        let v = match &value.value {
            Value::List(items) => {
                let mut words = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(s) = string(source, item, "a context list item", problems) {
                        words.push(s.value);
                    }
                }
                ContextValue::Many(words)
            }
            _ => match value.scalar_text() {
                Some(s)
                    if has_nul(
                        source,
                        value,
                        s,
                        &format!("`context.{}`", key.name),
                        problems,
                    ) =>
                {
                    continue;
                }
                Some(s) => ContextValue::One(s.to_string()),
                None => {
                    problems.push(wrong_type(
                        source,
                        value,
                        &format!("`context.{}`", key.name),
                        "a string or a list of strings",
                    ));
                    continue;
                }
            },
        };
        out.push(ContextEntry {
            name: Spanned::new(key.name.clone(), key.span),
            value: Spanned::new(v, value.span),
        });
    }
    out
}
