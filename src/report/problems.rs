//! Problems, rendered as miette diagnostics.

use std::io::Write;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic::Problems;

/// Renders every problem as a miette diagnostic on stderr.
pub(crate) fn print(problems: Problems, color: bool) {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let n = problems.len();
    let mut err = std::io::stderr().lock();
    for p in problems {
        let mut out = String::new();
        if handler.render_report(&mut out, &p).is_err() {
            out = format!("error: {p}\n");
        }
        let _ = writeln!(err, "{out}");
    }
    if n > 1 {
        let _ = writeln!(err, "error: {n} problems found; nothing was run");
    }
}
