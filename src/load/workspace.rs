//! The cargo workspace a workflow belongs to: its root, target dir and member packages, read
//! with `cargo metadata --no-deps`, so only the workspace's own manifests are ever looked at.

use std::path::{Path, PathBuf};

use crate::diagnostic::Problem;

/// The facts of a cargo workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
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
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The folder of its manifest.
    pub dir: PathBuf,
}

/// The nearest `Cargo.toml` at or above `dir`.
pub fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
}

/// Reads the workspace that `manifest` belongs to.
pub fn read(manifest: &Path) -> Result<Workspace, Problem> {
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
