//! The cargo workspace a workflow belongs to: its root, target dir and member packages, read
//! with `cargo metadata --no-deps`, so only the workspace's own manifests are ever looked at.

use std::path::{Path, PathBuf};

use crate::diagnostic::Problem;

/// The facts of a cargo workspace.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// The workspace root folder.
    pub root: PathBuf,
    /// The root manifest.
    pub manifest_path: PathBuf,
    /// The target directory, honouring `CARGO_TARGET_DIR` and `build.target-dir`.
    pub target_dir: PathBuf,
    /// The member packages, in cargo's order.
    pub packages: Vec<Package>,
}

/// A member package of the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The folder of its manifest.
    pub dir: PathBuf,
    /// The members it depends on through path dependencies (normal, dev and build).
    pub path_deps: Vec<String>,
    /// The folders of its path dependencies that are not members (their manifests are not
    /// read: a change in the folder is a change to the package).
    pub path_dirs: Vec<PathBuf>,
}

/// The nearest `Cargo.toml` at or above `dir`.
pub(crate) fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
}

/// The root manifest of the workspace that `manifest` belongs to, when that can be told
/// without cargo: `manifest` declares `[workspace]` itself, or no manifest above it does.
/// `None` means only `cargo metadata` can say (a `[workspace]` further up may or may not
/// include this package).
pub(crate) fn root_without_cargo(manifest: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let Ok(table) = toml::de::DeTable::parse(&text) else {
        // Broken TOML: our own diagnostics will say where, if this is visibly the root.
        let declares = text.lines().any(|l| l.trim() == "[workspace]");
        return declares.then(|| manifest.to_path_buf());
    };
    let table = table.get_ref();
    if table.contains_key("workspace") {
        return Some(manifest.to_path_buf());
    }
    let points_elsewhere = table.get("package").is_some_and(
        |p| matches!(p.get_ref(), toml::de::DeValue::Table(t) if t.contains_key("workspace")),
    );
    if points_elsewhere {
        return None;
    }
    let dir = manifest.parent()?;
    for candidate in dir.ancestors().skip(1).map(|d| d.join("Cargo.toml")) {
        if std::fs::read_to_string(&candidate).is_ok_and(|text| text.contains("workspace")) {
            return None;
        }
    }
    Some(manifest.to_path_buf())
}

/// The target directory as cargo resolves it, without running cargo: `CARGO_TARGET_DIR`,
/// `CARGO_BUILD_TARGET_DIR` and `build.target-dir` of cargo's configuration files, read as
/// cargo reads them (cargo-config2), else `<root>/target`. A configuration that cannot be
/// read leaves it to `<root>/target`, as cargo itself would then stop with the error.
pub(crate) fn target_dir_without_cargo(root: &Path, cwd: &Path) -> PathBuf {
    cargo_config2::Config::load_with_cwd(cwd)
        .ok()
        .and_then(|config| config.build.target_dir)
        .unwrap_or_else(|| root.join("target"))
}

/// Reads the workspace that `manifest` belongs to.
pub(crate) fn read(manifest: &Path) -> Result<Workspace, Problem> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps().manifest_path(manifest);
    let meta = cmd.exec().map_err(|e| {
        let detail = match &e {
            cargo_metadata::Error::CargoMetadata { stderr } => stderr.trim().to_string(),
            other => other.to_string(),
        };
        Problem::new(
            "flow::workspace",
            format!(
                "could not read the cargo workspace of {}",
                manifest.display()
            ),
        )
        .with_help(format!("`cargo metadata` said: {detail}"))
    })?;
    let root: PathBuf = meta.workspace_root.clone().into_std_path_buf();
    let members: std::collections::HashSet<_> = meta.workspace_members.iter().collect();
    let names: std::collections::HashSet<&str> = meta
        .packages
        .iter()
        .filter(|p| members.contains(&p.id))
        .map(|p| p.name.as_str())
        .collect();
    let packages = meta
        .packages
        .iter()
        .filter(|p| members.contains(&p.id))
        .map(|p| {
            let manifest_path = p.manifest_path.clone().into_std_path_buf();
            Package {
                name: p.name.to_string(),
                version: p.version.to_string(),
                dir: manifest_path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                manifest_path,
                path_deps: p
                    .dependencies
                    .iter()
                    .filter(|d| d.path.is_some() && names.contains(d.name.as_str()))
                    .map(|d| d.name.clone())
                    .collect(),
                path_dirs: p
                    .dependencies
                    .iter()
                    .filter(|d| !names.contains(d.name.as_str()))
                    .filter_map(|d| d.path.clone())
                    .map(|p| p.into_std_path_buf())
                    .collect(),
            }
        })
        .collect();
    Ok(Workspace {
        manifest_path: root.join("Cargo.toml"),
        target_dir: meta.target_directory.clone().into_std_path_buf(),
        root,
        packages,
    })
}
