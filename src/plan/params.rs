//! A workflow's parameters against the values the command line gives: every `--param` names
//! one, every value fits its parameter's type, and every parameter without a default is set.

use super::Planner;
use crate::diagnostic::{Problem, Problems};
use crate::suggest::did_you_mean;

impl Planner<'_> {
    /// Reports a `--param` naming no parameter, a value that does not fit, and a parameter
    /// without a default that nothing sets.
    pub(super) fn check_params(&self, problems: &mut Problems) {
        let params = &self.wf.params;
        for (name, _) in &self.options.params {
            if !params.iter().any(|p| p.name.value == *name) {
                let names = params.iter().map(|p| p.name.value.as_str());
                let help =
                    did_you_mean(name, names.clone()).unwrap_or_else(|| match params.is_empty() {
                        true => format!(
                            "`{}` declares no `params:`; `-c {name}=VALUE` sets a context variable",
                            self.wf.name
                        ),
                        false => format!(
                            "its parameters are {}",
                            names.collect::<Vec<_>>().join(", ")
                        ),
                    });
                problems.push(
                    Problem::new(
                        "flow::bad-param",
                        format!("workflow `{}` has no parameter `{name}`", self.wf.name),
                    )
                    .with_help(help),
                );
            }
        }
        let source = &self.wf.origin.source;
        for p in params {
            let name = &p.name.value;
            // `--param` over `-c`, the last one given of each.
            let given = self
                .options
                .params
                .iter()
                .rev()
                .chain(self.options.context.iter().rev())
                .find(|(k, _)| k == name);
            match (given, &p.default) {
                (Some((_, value)), _) if !p.kind.accepts(value) => problems.push(
                    Problem::at(
                        "flow::bad-param",
                        format!("`{name}={value}`: `{name}` takes {}", p.kind.describe()),
                        source,
                        p.name.span,
                        "declared here",
                    )
                    .with_help(format!(
                        "pass `--param {name}=VALUE` with {}",
                        p.kind.describe()
                    )),
                ),
                (None, None) if self.options.require_params => problems.push(
                    Problem::at(
                        "flow::missing-param",
                        format!("parameter `{name}` is not set"),
                        source,
                        p.name.span,
                        "no default",
                    )
                    .with_help(format!(
                        "pass `--param {name}=VALUE` ({}), or give it a `default:`",
                        p.kind.describe()
                    )),
                ),
                _ => {}
            }
        }
    }
}
