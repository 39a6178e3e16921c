//! `for_each: package`: a step becomes one instance per member package.

use globset::Glob;

use crate::diagnostic::{Problem, Problems};
use crate::load::model::{PackageFilter, Step};
use crate::load::{Package, Workspace};
use crate::source::{Source, Spanned};
use crate::suggest::did_you_mean;

/// The packages a `for_each` step runs for, in the workspace's order.
pub(crate) fn packages<'w>(
    source: &Source,
    step: &Step,
    filter: &Spanned<PackageFilter>,
    workspace: Option<&'w Workspace>,
    problems: &mut Problems,
) -> Vec<&'w Package> {
    let Some(ws) = workspace else {
        problems.push(
            Problem::at(
                "flow::bad-for-each",
                format!(
                    "step `{}` runs for each package, but this is not a cargo workspace",
                    step.id.value
                ),
                source,
                filter.span,
                "needs a cargo workspace",
            )
            .with_help("`for_each: package` runs a step once per member of the cargo workspace"),
        );
        return Vec::new();
    };
    match &filter.value {
        PackageFilter::All => ws.packages.iter().collect(),
        PackageFilter::Names(wanted) => named(source, wanted, ws, problems),
        PackageFilter::Glob(glob) => globbed(source, glob, ws, problems),
    }
}

/// Every package's name, for a help line.
fn all_names(ws: &Workspace) -> String {
    let names: Vec<&str> = ws.packages.iter().map(|p| p.name.as_str()).collect();
    format!("the packages are: {}", names.join(", "))
}

/// The packages named, in the workspace's order, each once; a name that is none is a
/// problem.
fn named<'w>(
    source: &Source,
    wanted: &[Spanned<String>],
    ws: &'w Workspace,
    problems: &mut Problems,
) -> Vec<&'w Package> {
    let mut out = Vec::new();
    for name in wanted {
        match ws.packages.iter().find(|p| p.name == name.value) {
            Some(p) => out.push(p),
            None => problems.push(
                Problem::at(
                    "flow::unknown-package",
                    format!("`{}` is not a package of this workspace", name.value),
                    source,
                    name.span,
                    "unknown package",
                )
                .with_help(
                    did_you_mean(&name.value, ws.packages.iter().map(|p| p.name.as_str()))
                        .unwrap_or_else(|| all_names(ws)),
                ),
            ),
        }
    }
    ws.packages
        .iter()
        .filter(|p| out.iter().any(|o| std::ptr::eq(*o, *p)))
        .collect()
}

/// The packages a glob matches, which must be at least one.
fn globbed<'w>(
    source: &Source,
    glob: &Spanned<String>,
    ws: &'w Workspace,
    problems: &mut Problems,
) -> Vec<&'w Package> {
    let m = match Glob::new(&glob.value) {
        Ok(g) => g.compile_matcher(),
        Err(e) => {
            problems.push(Problem::at(
                "flow::bad-for-each",
                format!("invalid package glob `{}`", glob.value),
                source,
                glob.span,
                e.kind().to_string(),
            ));
            return Vec::new();
        }
    };
    let out: Vec<&Package> = ws.packages.iter().filter(|p| m.is_match(&p.name)).collect();
    if out.is_empty() {
        problems.push(
            Problem::at(
                "flow::unknown-package",
                format!("`{}` matches no package of this workspace", glob.value),
                source,
                glob.span,
                "matches nothing",
            )
            .with_help(all_names(ws)),
        );
    }
    out
}
