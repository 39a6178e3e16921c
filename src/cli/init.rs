//! `cargo flow init`: the wiring of `setup::init`.

use std::path::{Path, PathBuf};

use super::workflows::cwd;
use crate::diagnostic::{Problem, Problems};
use crate::load::{self, workspace};
use crate::report::notes;
use crate::setup::{actions, init};

/// Where editors find the schema of workflow files.
const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/cargo-flow/cargo-flow/main/flow.schema.json";

/// Imports the GitHub Actions workflow `file` as the workspace's `.flow.yaml`.
pub(super) fn import(file: &Path, force: bool) -> Result<i32, Problems> {
    let cwd = cwd()?;
    let ws = workspace_here(&cwd)?;
    let source = load::read_source(file).map_err(|p| {
        p.with_help("name a GitHub Actions workflow, e.g. `--from .github/workflows/ci.yml`")
    })?;
    let root = load::yaml::parse(&source)?;
    let name = workflow_name(file);
    let imported = actions::import(&source, &root, &name)?;
    let path = ws.root.join(".flow.yaml");
    refuse_second(&cwd, &name)?;
    passes_check(&path, &ws.root, &imported.yaml)?;
    init::write_new(&path, &imported.yaml, force)?;
    eprintln!(
        "{}",
        notes::imported(
            &path,
            &name,
            (imported.jobs, imported.steps),
            &imported.left
        )
    );
    Ok(0)
}

/// Holds an import to what `cargo flow check` asks of a workflow before it is written; one
/// that fails is the import's fault, and said so.
fn passes_check(path: &Path, root: &Path, yaml: &str) -> Result<(), Problems> {
    let checked = load::parse_text(path, yaml).and_then(|wf| {
        let project = load::Project::plain(root);
        crate::plan::plan(&wf, &project, &crate::plan::PlanOptions::default()).map(|_| ())
    });
    checked.map_err(|mut problems| {
        problems.push(
            Problem::new(
                "flow::init-from",
                "the imported workflow does not pass `cargo flow check`, so it was not written",
            )
            .with_help("this is a fault of the import: please report it with the workflow file"),
        );
        problems
    })
}

/// The workflow's name: the file's, in the characters names may hold (`ci.yml` is `ci`).
fn workflow_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match name.trim_matches('-') {
        "" => "ci".to_string(),
        n => n.to_string(),
    }
}

/// The workspace around `cwd`, or why `init` needs one.
fn workspace_here(cwd: &Path) -> Result<workspace::Workspace, Problem> {
    let Some(manifest) = workspace::find_manifest(cwd) else {
        return Err(Problem::new(
            "flow::init-workspace",
            "there is no Cargo.toml here or in a folder above",
        )
        .with_help("`cargo flow init` writes the checks of a cargo workspace: run it in one (`cargo init` makes one)"));
    };
    workspace::read(&manifest)
}

/// Writes the starting workflow of the workspace around the current folder.
pub(super) fn init(cargo_toml: bool, force: bool) -> Result<i32, Problems> {
    let cwd = cwd()?;
    let ws = workspace_here(&cwd)?;
    let steps = init::steps(ws.packages.len());
    let written = if cargo_toml {
        into_manifest(&ws.manifest_path, &steps, force)?
    } else {
        let path = ws.root.join(".flow.yaml");
        refuse_second(&cwd, "ci")?;
        init::write_new(&path, &init::yaml(&steps, SCHEMA_URL), force)?;
        path
    };
    eprintln!("{}", notes::initialized(&written, ws.packages.len()));
    if !init::target_ignored(&ws.root, &ws.target_dir) {
        eprintln!("{}", notes::target_not_ignored(&ws.target_dir));
    }
    Ok(0)
}

/// A workflow `name` in the manifests would make two with the `.flow.yaml` written: the one
/// in a `.flow.yaml` is the one written over, with `--force`.
fn refuse_second(cwd: &Path, name: &str) -> Result<(), Problem> {
    let Ok(catalog) = load::load_catalog(cwd, None, load::Scope::Root, &super::workflows::trust)
    else {
        return Ok(());
    };
    let in_flow_file = |path: &Path| {
        path.file_name()
            .is_some_and(|n| n == ".flow.yaml" || n == ".flow.yml")
    };
    match catalog
        .workflows
        .iter()
        .find(|wf| wf.name == name && !in_flow_file(&wf.origin.source.path))
    {
        Some(wf) => Err(Problem::new(
            "flow::init-exists",
            format!(
                "a workflow `{name}` is already defined in `{}`",
                wf.origin.source.name
            ),
        )
        .with_help(format!(
            "`cargo flow {name}` runs it; remove it first to start from a new one"
        ))),
        None => Ok(()),
    }
}

/// Writes the steps into the root manifest: `[workspace.metadata.flow.ci]` where it declares
/// `[workspace]`, else `[package.metadata.flow.ci]`.
fn into_manifest(manifest: &Path, steps: &[init::Step], force: bool) -> Result<PathBuf, Problem> {
    let text = std::fs::read_to_string(manifest).map_err(|e| {
        Problem::new(
            "flow::init-write",
            format!("cannot read `{}`: {e}", manifest.display()),
        )
    })?;
    let table: &[&str] = if text.lines().any(|l| l.trim() == "[workspace]") {
        &["workspace", "metadata", "flow"]
    } else {
        &["package", "metadata", "flow"]
    };
    let updated = init::into_manifest(&text, table, steps, force).map_err(|why| {
        Problem::new(
            "flow::init-exists",
            format!("cannot add the workflow to `{}`: {why}", manifest.display()),
        )
        .with_help("pass `--force` to replace the `ci` workflow there")
    })?;
    init::write_new(manifest, &updated, true)?;
    Ok(manifest.to_path_buf())
}
