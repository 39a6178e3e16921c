//! `for_each: package`: a step becomes one instance per member package.

use globset::Glob;

use crate::diagnostic::{Problem, Problems};
use crate::load::model::{PackageFilter, Step};
use crate::load::{Package, Workspace};
use crate::source::{Source, Spanned};
use crate::suggest::did_you_mean;

/// The packages a `for_each` step runs for, in the workspace's order.
pub fn packages<'w>(
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
    let names = || ws.packages.iter().map(|p| p.name.as_str());
    match &filter.value {
        PackageFilter::All => ws.packages.iter().collect(),
        PackageFilter::Names(wanted) => {
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
                            did_you_mean(&name.value, names()).unwrap_or_else(|| {
                                format!(
                                    "the packages are: {}",
                                    names().collect::<Vec<_>>().join(", ")
                                )
                            }),
                        ),
                    ),
                }
            }
            // Workspace order, each once.
            ws.packages
                .iter()
                .filter(|p| out.iter().any(|o| std::ptr::eq(*o, *p)))
                .collect()
        }
        PackageFilter::Glob(glob) => match Glob::new(&glob.value) {
            Err(e) => {
                problems.push(Problem::at(
                    "flow::bad-for-each",
                    format!("invalid package glob `{}`", glob.value),
                    source,
                    glob.span,
                    e.kind().to_string(),
                ));
                Vec::new()
            }
            Ok(g) => {
                let m = g.compile_matcher();
                let out: Vec<&Package> =
                    ws.packages.iter().filter(|p| m.is_match(&p.name)).collect();
                if out.is_empty() {
                    problems.push(
                        Problem::at(
                            "flow::unknown-package",
                            format!("`{}` matches no package of this workspace", glob.value),
                            source,
                            glob.span,
                            "matches nothing",
                        )
                        .with_help(format!(
                            "the packages are: {}",
                            names().collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
                out
            }
        },
    }
}
