//! `cargo flow init`: the wiring of `setup::init`.

use std::path::{Path, PathBuf};

use super::workflows::cwd;
use crate::diagnostic::{Problem, Problems};
use crate::load::{self, workspace};
use crate::report::notes;
use crate::setup::init;

/// Where editors find the schema of workflow files.
const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/cargo-flow/cargo-flow/main/flow.schema.json";

/// Writes the starting workflow of the workspace around the current folder.
pub(super) fn init(cargo_toml: bool, force: bool) -> Result<i32, Problems> {
    let cwd = cwd()?;
    let Some(manifest) = workspace::find_manifest(&cwd) else {
        return Err(Problem::new(
            "flow::init-workspace",
            "there is no Cargo.toml here or in a folder above",
        )
        .with_help("`cargo flow init` writes the checks of a cargo workspace: run it in one (`cargo init` makes one)")
        .into());
    };
    let ws = workspace::read(&manifest)?;
    let steps = init::steps(ws.packages.len());
    let written = if cargo_toml {
        into_manifest(&ws.manifest_path, &steps, force)?
    } else {
        let path = ws.root.join(".flow.yaml");
        refuse_second_ci(&cwd)?;
        init::write_new(&path, &init::yaml(&steps, SCHEMA_URL), force)?;
        path
    };
    eprintln!("{}", notes::initialized(&written, ws.packages.len()));
    if !init::target_ignored(&ws.root, &ws.target_dir) {
        eprintln!("{}", notes::target_not_ignored(&ws.target_dir));
    }
    Ok(0)
}

/// A `ci` workflow in the manifests would make two with the `.flow.yaml` written: the one
/// in a `.flow.yaml` is the one written over, with `--force`.
fn refuse_second_ci(cwd: &Path) -> Result<(), Problem> {
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
        .find(|wf| wf.name == "ci" && !in_flow_file(&wf.origin.source.path))
    {
        Some(wf) => Err(Problem::new(
            "flow::init-exists",
            format!(
                "a workflow `ci` is already defined in `{}`",
                wf.origin.source.name
            ),
        )
        .with_help("`cargo flow ci` runs it; remove it first to start from a new one")),
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
