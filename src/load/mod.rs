//! Finding workflows and reading them into the model, keeping source spans.
//!
//! Workflows come from a file named on the command line, from `.flow.yaml` (or `.flow.yml`),
//! from the root manifest's `[workspace.metadata.flow.<name>]` or `[package.metadata.flow.<name>]`,
//! and from member manifests' `[package.metadata.flow.<name>]` (as `<package>:<name>`).

pub(crate) mod affected;
pub(crate) mod build;
pub(crate) mod duration;
pub(crate) mod matrix;
pub(crate) mod model;
pub(crate) mod node;
pub(crate) mod params;
pub(crate) mod schema;
pub(crate) mod toml;
pub(crate) mod workspace;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use crate::diagnostic::{Problem, Problems};
use crate::source::{Source, SourceFile, Span};
use model::{Origin, Workflow};
use node::Node;
pub(crate) use workspace::{Package, Workspace};

/// Files larger than this are refused before parsing; no workflow is this large.
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Every workflow that could be found, and the project they belong to.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// The workflows, in discovery order: `.flow.yaml`, the root manifest, then members.
    pub workflows: Vec<Workflow>,
    /// The project they belong to.
    pub project: Project,
    /// Problems found while reading them; planning adds its own before any is reported.
    pub problems: Problems,
}

/// A workflow read from a file named on the command line.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The workflow, as far as it could be read.
    pub workflow: Workflow,
    /// The project it belongs to.
    pub project: Project,
    /// Problems found while reading it; planning adds its own before any is reported.
    pub problems: Problems,
}

/// Where workflows run: a cargo workspace, or a plain folder.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// The folder steps run in by default: the workspace root, or the workflow's folder.
    pub root: PathBuf,
    /// The root `Cargo.toml`, in a cargo project.
    pub manifest_path: Option<PathBuf>,
    /// The folder logs go under (`<target>/flow/...`).
    pub target_dir: PathBuf,
    /// The workspace as `cargo metadata` describes it, once it was needed and read.
    pub workspace: Option<Workspace>,
}

/// Which manifests a catalog reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `.flow.yaml` and the root manifest: every workflow whose name has no `<package>:`.
    Root,
    /// Member manifests too, which needs `cargo metadata`.
    Members,
}

impl Project {
    fn of_workspace(ws: Workspace) -> Self {
        Self {
            root: ws.root.clone(),
            manifest_path: Some(ws.manifest_path.clone()),
            target_dir: ws.target_dir.clone(),
            workspace: Some(ws),
        }
    }

    /// The cargo project that `manifest` belongs to. Its root and target dir are found without
    /// running cargo where that can be done exactly; `cargo metadata` runs only when it is
    /// the one that can tell, or when [`Project::workspace`] is asked for.
    fn cargo(manifest: &Path, cwd: &Path) -> Result<Self, Problem> {
        match workspace::root_without_cargo(manifest) {
            Some(root_manifest) => {
                let root = root_manifest
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                Ok(Self {
                    target_dir: workspace::target_dir_without_cargo(&root, cwd),
                    root,
                    manifest_path: Some(root_manifest),
                    workspace: None,
                })
            }
            None => Ok(Self::of_workspace(workspace::read(manifest)?)),
        }
    }

    /// The workspace's members and exact facts, read with `cargo metadata --no-deps` the
    /// first time they are needed; `None` outside a cargo project.
    pub(crate) fn workspace(&mut self) -> Result<Option<&Workspace>, Problem> {
        if self.workspace.is_none()
            && let Some(manifest) = &self.manifest_path
        {
            let ws = workspace::read(manifest)?;
            self.root = ws.root.clone();
            self.target_dir = ws.target_dir.clone();
            self.workspace = Some(ws);
        }
        Ok(self.workspace.as_ref())
    }

    /// A project that is just a folder, outside any cargo workspace.
    pub(crate) fn plain(dir: &Path) -> Self {
        Self {
            root: dir.to_path_buf(),
            manifest_path: None,
            target_dir: dir.join("target"),
            workspace: None,
        }
    }
}

impl Catalog {
    /// The workflow called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.name == name)
    }

    /// A usage problem for a workflow name that is not in the catalog.
    pub(crate) fn unknown(&self, name: &str) -> Problem {
        let names: Vec<&str> = self.workflows.iter().map(|w| w.name.as_str()).collect();
        let help = crate::suggest::did_you_mean(name, names.iter().copied()).unwrap_or_else(|| {
            if names.is_empty() {
                "no workflows are defined here; add `.flow.yaml` or `[workspace.metadata.flow.<name>]` in Cargo.toml".into()
            } else {
                format!("the workflows are: {}", names.join(", "))
            }
        });
        Problem::new(
            "flow::unknown-workflow",
            format!("no workflow named `{name}`"),
        )
        .with_help(help)
    }
}

/// Whether a command-line target names a file rather than a workflow.
pub(crate) fn is_file_target(target: &str) -> bool {
    let p = Path::new(target);
    target.contains('/')
        || target.contains(std::path::MAIN_SEPARATOR)
        || matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "toml")
        )
}

/// Reads a file as text, with a clear problem when it is missing, a folder, huge or not UTF-8.
pub(crate) fn read_source(path: &Path) -> Result<Source, Problem> {
    let shown = crate::source::display_path(path);
    let meta = std::fs::metadata(path).map_err(|e| {
        Problem::new(
            "flow::read",
            format!("cannot read workflow file `{shown}`: {}", io_reason(&e)),
        )
        .with_help("check the path; run `cargo flow list` to see the workflows found here")
    })?;
    if meta.is_dir() {
        return Err(Problem::new(
            "flow::read",
            format!("`{shown}` is a directory, not a workflow file"),
        )
        .with_help("name a YAML file, e.g. `cargo flow run path/to/workflow.yaml`"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Problem::new(
            "flow::read",
            format!(
                "`{shown}` is {} MiB; workflow files may be at most {} MiB",
                meta.len() >> 20,
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Problem::new(
            "flow::read",
            format!("cannot read workflow file `{shown}`: {}", io_reason(&e)),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Problem::new(
            "flow::read",
            format!(
                "`{shown}` is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
        .with_help("workflow files must be UTF-8 YAML or TOML")
    })?;
    Ok(SourceFile::new(path, text))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn parse(source: &Source) -> Result<Node, Problem> {
    if source.path.extension().and_then(|e| e.to_str()) == Some("toml") {
        toml::parse(source)
    } else {
        yaml::parse(source)
    }
}

fn empty_file(source: &Source) -> Problem {
    Problem::at(
        "flow::empty",
        format!("`{}` holds no workflow", source.name),
        source,
        Span::new(0, 0),
        "empty",
    )
    .with_help("a workflow file needs `steps:`, a list of steps each with an `id` and a `run`")
}

/// Loads the single workflow in a file named on the command line. Problems that stop reading
/// (a missing file, a syntax error) are the error; the others travel with the workflow.
pub(crate) fn load_file(path: &Path) -> Result<Loaded, Problems> {
    let source = read_source(path)?;
    let node = parse(&source)?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let project = match workspace::find_manifest(&dir) {
        Some(manifest) => Project::cargo(&manifest, &current_dir())?,
        None => Project::plain(&dir),
    };
    let base_dir = project.root.clone();
    let (workflow, problems) = file_workflow(path, &source, &node, base_dir)?;
    Ok(Loaded {
        workflow,
        project,
        problems,
    })
}

/// The one workflow of a file named on the command line, called by its `name:` or the file's
/// stem, and the problems found in it. A file with nothing in it, or several workflows, is
/// the error.
fn file_workflow(
    path: &Path,
    source: &Source,
    node: &Node,
    base_dir: PathBuf,
) -> Result<(Workflow, Problems), Problems> {
    if matches!(node.value, node::Value::Null) {
        return Err(empty_file(source).into());
    }
    if node.get("workflows").is_some() && node.get("steps").is_none() {
        let problem = Problem::at("flow::several-workflows", format!("`{}` holds several workflows", source.name), source, Span::new(0, 0), "here")
            .with_help("name one of them: put the file at the project root as `.flow.yaml` and run `cargo flow <name>`");
        return Err(problem.into());
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("workflow");
    // `.flow.yaml` itself has no stem left: its one workflow is `default`, as in discovery.
    let stem = match stem.strip_suffix(".flow").unwrap_or(stem) {
        "" => "default".to_string(),
        s => s.to_string(),
    };
    let origin = Origin {
        source: source.clone(),
        span: Span::new(0, 0),
        base_dir,
    };
    let mut problems = Problems::new();
    let mut wf = build::workflow(source, node, stem, origin, &mut problems);
    if let Some(title) = wf.title.as_ref().filter(|t| !t.trim().is_empty()) {
        wf.name = title.clone();
    }
    // The name names the workflow's folders: it must not reach outside them.
    if !valid_workflow_name(&wf.name) {
        problems.push(invalid_file_name(source, node, &wf));
    }
    Ok((wf, problems))
}

/// The problem with a file workflow's name, at its `name:` or, for the file's own name, in
/// general.
fn invalid_file_name(source: &Source, node: &Node, wf: &Workflow) -> Problem {
    let problem = match node.get("name") {
        Some(n) if wf.title.is_some() => Problem::at(
            "flow::invalid-name",
            format!("invalid workflow name `{}`", wf.name.escape_debug()),
            source,
            n.span,
            "invalid name",
        ),
        _ => Problem::new(
            "flow::invalid-name",
            format!(
                "the file name `{}` cannot name a workflow",
                wf.name.escape_debug()
            ),
        ),
    };
    problem.with_help(
        "workflow names may use letters, digits, `_`, `.` and `-`, and may not start with `.`; set one with `name:`",
    )
}

/// Reads the one workflow of a file's text, as [`load_file`] does, without looking for a
/// workspace around it.
pub(crate) fn parse_text(path: &Path, text: &str) -> Result<Workflow, Problems> {
    let source = SourceFile::new(path, text.to_string());
    let node = parse(&source)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (wf, problems) = file_workflow(path, &source, &node, base_dir)?;
    problems.into_result(wf)
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

/// Finds the workflows of the project around `cwd` (or the one `manifest_path` names), with
/// members' workflows when `scope` asks for them. Problems in the workflows travel in the
/// catalog, so that planning can add its own.
pub(crate) fn load_catalog(
    cwd: &Path,
    manifest_path: Option<&Path>,
    scope: Scope,
    trust: Trust<'_>,
) -> Result<Catalog, Problems> {
    let (manifest, trust) = match manifest_path {
        // Named on the command line: the user's explicit choice.
        Some(m) => (Some(given_manifest(m)?), None),
        None => (workspace::find_manifest(cwd), Some(trust)),
    };
    let mut catalog = match manifest {
        Some(manifest) => in_workspace(&manifest, cwd, scope, trust)?,
        None => outside_workspace(cwd, trust)?,
    };
    check_unique(&catalog.workflows, &mut catalog.problems);
    Ok(catalog)
}

/// Says whether a file found by looking up from the current folder may be read as the user's
/// own (a file another user could have written may not: it could run anything).
pub(crate) type Trust<'t> = &'t dyn Fn(&Path) -> Result<(), Problem>;

/// The manifest `--manifest-path` names, which must be a file.
fn given_manifest(m: &Path) -> Result<PathBuf, Problem> {
    if m.is_file() {
        return Ok(std::path::absolute(m).unwrap_or_else(|_| m.to_path_buf()));
    }
    let (what, help) = if m.is_dir() {
        let inside = m.join("Cargo.toml");
        let help = format!(
            "name the manifest in it: `--manifest-path {}`",
            inside.display()
        );
        ("is a folder", help)
    } else {
        (
            "does not exist",
            "name a `Cargo.toml`, as in cargo".to_string(),
        )
    };
    Err(Problem::new(
        "flow::manifest",
        format!("manifest path `{}` {what}", m.display()),
    )
    .with_help(help))
}

/// The workflows of a cargo workspace: its root's `.flow.yaml` and manifest, and its members'
/// manifests when `scope` asks for them.
fn in_workspace(
    manifest: &Path,
    cwd: &Path,
    scope: Scope,
    trust: Option<Trust<'_>>,
) -> Result<Catalog, Problems> {
    let mut problems = Problems::new();
    let mut workflows = Vec::new();
    let check = |file: &Path| trust.map_or(Ok(()), |t| t(file));
    check(manifest)?;
    let mut project = Project::cargo(manifest, cwd)?;
    // Before anything of them is read or handed to cargo.
    let root_manifest = project.manifest_path.clone();
    let root_flow = flow_file(&project.root);
    for file in root_manifest.iter().chain(&root_flow) {
        check(file)?;
    }
    if let Some(file) = root_flow {
        workflows.extend(from_flow_file(&file, &project.root, &mut problems));
    }
    if let Some(root_manifest) = &project.manifest_path {
        from_manifest(
            root_manifest,
            None,
            &project.root,
            &mut workflows,
            &mut problems,
        );
    }
    // Read after the root manifest, so that a syntax error there is shown with its place
    // rather than as cargo's message about it.
    if scope == Scope::Members
        && let Err(p) = project.workspace()
        && problems.is_empty()
    {
        problems.push(p);
    }
    if let Some(ws) = &project.workspace {
        let members = ws
            .packages
            .iter()
            .filter(|p| Some(&p.manifest_path) != project.manifest_path.as_ref());
        for p in members {
            from_manifest(
                &p.manifest_path,
                Some(p),
                &p.dir,
                &mut workflows,
                &mut problems,
            );
        }
    }
    Ok(Catalog {
        workflows,
        project,
        problems,
    })
}

/// Outside a workspace: the `.flow.yaml` of the current folder or its nearest ancestor.
fn outside_workspace(cwd: &Path, trust: Option<Trust<'_>>) -> Result<Catalog, Problem> {
    let mut problems = Problems::new();
    let Some(file) = cwd.ancestors().find_map(flow_file) else {
        return Ok(Catalog {
            workflows: Vec::new(),
            project: Project::plain(cwd),
            problems,
        });
    };
    if let Some(t) = trust {
        t(&file)?;
    }
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let workflows = from_flow_file(&file, &dir, &mut problems);
    Ok(Catalog {
        workflows,
        project: Project::plain(&dir),
        problems,
    })
}

fn flow_file(dir: &Path) -> Option<PathBuf> {
    [".flow.yaml", ".flow.yml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The workflows of a `.flow.yaml`: one (top-level `steps`) or several (`workflows:`).
fn from_flow_file(path: &Path, base_dir: &Path, problems: &mut Problems) -> Vec<Workflow> {
    let parsed = read_source(path).and_then(|source| parse(&source).map(|node| (source, node)));
    let (source, node) = match parsed {
        Ok(p) => p,
        Err(p) => {
            problems.push(p);
            return Vec::new();
        }
    };
    if matches!(node.value, node::Value::Null) {
        problems.push(empty_file(&source));
        return Vec::new();
    }
    let origin = |span| Origin {
        source: source.clone(),
        span,
        base_dir: base_dir.to_path_buf(),
    };
    let Some(all) = node.get("workflows") else {
        return single_workflow(&source, &node, origin, problems);
    };
    unexpected_beside_workflows(&source, &node, problems);
    let Some(entries) = all.as_map() else {
        problems.push(build::wrong_type(
            &source,
            all,
            "`workflows`",
            "a map of workflow names to workflows",
        ));
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, wf)| {
            if !valid_workflow_name(&key.name) {
                problems.push(invalid_name(&source, key));
                return None;
            }
            let origin = origin(key.span);
            Some(build::workflow(
                &source,
                wf,
                key.name.clone(),
                origin,
                problems,
            ))
        })
        .collect()
}

/// The one workflow of a `.flow.yaml` with a top-level `steps:`, called by its `name:`, or
/// `default`.
fn single_workflow(
    source: &Source,
    node: &Node,
    origin: impl Fn(Span) -> Origin,
    problems: &mut Problems,
) -> Vec<Workflow> {
    let span = node.get("name").map_or(Span::new(0, 0), |n| n.span);
    let name = node
        .get("name")
        .and_then(|n| n.scalar_text())
        .unwrap_or("default")
        .to_string();
    let wf = build::workflow(source, node, name, origin(span), problems);
    if valid_workflow_name(&wf.name) {
        return vec![wf];
    }
    problems.push(
        Problem::at(
            "flow::invalid-name",
            format!("invalid workflow name `{}`", wf.name),
            source,
            span,
            "invalid name",
        )
        .with_help("workflow names may use letters, digits, `_`, `.` and `-`"),
    );
    Vec::new()
}

/// Keys beside `workflows:` at the top level, which belong under a workflow's name.
fn unexpected_beside_workflows(source: &Source, node: &Node, problems: &mut Problems) {
    let Some(entries) = node.as_map() else { return };
    for (key, _) in entries.iter().filter(|(k, _)| k.name != "workflows") {
        let help = if build::WORKFLOW_KEYS.contains(&key.name.as_str()) {
            "with `workflows:`, every workflow's keys go under its own name"
        } else {
            "the top level holds either one workflow (`steps:`) or `workflows:`"
        };
        problems.push(
            Problem::at(
                "flow::unknown-key",
                format!("unexpected top-level key `{}` beside `workflows`", key.name),
                source,
                key.span,
                "unexpected",
            )
            .with_help(help),
        );
    }
}

/// Workflow names follow the rules of step ids, so that they are safe as folder names.
fn valid_workflow_name(name: &str) -> bool {
    build::is_valid_id(name) && !name.starts_with('.')
}

fn invalid_name(source: &Source, key: &node::Key) -> Problem {
    Problem::at(
        "flow::invalid-name",
        format!("invalid workflow name `{}`", key.name.escape_debug()),
        source,
        key.span,
        "invalid name",
    )
    .with_help("workflow names may use letters, digits, `_`, `.` and `-`")
}

/// The workflows declared in one of the workspace's own manifests: the root's
/// `[workspace.metadata.flow]` and `[package.metadata.flow]`, a member's
/// `[package.metadata.flow]` as `<package>:<name>`.
fn from_manifest(
    path: &Path,
    package: Option<&Package>,
    base_dir: &Path,
    out: &mut Vec<Workflow>,
    problems: &mut Problems,
) {
    // Most manifests declare no workflow; skip parsing those.
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !text.contains("flow") {
        return;
    }
    let source = SourceFile::new(path, text);
    let node = match toml::parse(&source) {
        Ok(n) => n,
        Err(p) => {
            problems.push(p);
            return;
        }
    };
    let tables: &[&str] = if package.is_some() {
        &["package"]
    } else {
        &["workspace", "package"]
    };
    for table in tables {
        let Some(flow) = node
            .get(table)
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("flow"))
        else {
            continue;
        };
        let Some(entries) = flow.as_map() else {
            problems.push(build::wrong_type(
                &source,
                flow,
                &format!("`{table}.metadata.flow`"),
                "a table of workflows",
            ));
            continue;
        };
        for (key, wf) in entries {
            if !valid_workflow_name(&key.name) {
                problems.push(invalid_name(&source, key));
                continue;
            }
            let name = match package {
                Some(p) => format!("{}:{}", p.name, key.name),
                None => key.name.clone(),
            };
            let origin = Origin {
                source: source.clone(),
                span: key.span,
                base_dir: base_dir.to_path_buf(),
            };
            out.push(build::workflow(&source, wf, name, origin, problems));
        }
    }
}

fn check_unique(workflows: &[Workflow], problems: &mut Problems) {
    let mut seen: std::collections::HashMap<String, &Workflow> = std::collections::HashMap::new();
    for wf in workflows {
        let Some(first) = seen.get(&wf.name.to_ascii_lowercase()) else {
            seen.insert(wf.name.to_ascii_lowercase(), wf);
            continue;
        };
        let first_at = first.origin.source.location(first.origin.span);
        let (message, help) = if first.name == wf.name {
            (
                format!(
                    "workflow `{}` is defined twice: at {first_at} and here",
                    wf.name
                ),
                format!("rename one of them or remove one; the first is at {first_at}"),
            )
        } else {
            (
                format!(
                    "workflows `{}` (at {first_at}) and `{}` differ only in case, and would share logs, artifacts and cache where file names ignore case (macOS, Windows)",
                    first.name, wf.name
                ),
                "give them names that differ in more than case".to_string(),
            )
        };
        problems.push(
            Problem::at(
                "flow::duplicate-workflow",
                message,
                &wf.origin.source,
                wf.origin.span,
                "defined again here",
            )
            .with_help(help),
        );
    }
}
