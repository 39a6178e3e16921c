//! The imported workflow as `.flow.yaml` text, comments where something was dropped.

use super::step::default_shell;
use super::{Entry, Step};
use crate::setup::init::{printable, scalar};

/// The whole file.
pub(crate) fn workflow(
    name: &str,
    description: &str,
    env: &[(String, String)],
    entries: &[Entry],
    from: &str,
) -> String {
    let mut out = format!(
        "# Imported from {from} by `cargo flow init --from`: each job's `run:` steps are a\n\
         # chain of steps, `needs:` orders the jobs, a matrix is one chain per combination, and\n\
         # an expression's value reaches the shell through an environment variable. Comments\n\
         # say what was dropped or left out.\n\
         name: {}\ndescription: {}\n",
        scalar(name),
        scalar(description)
    );
    out.push_str(&format!("shell: {}\n", shell(&default_shell())));
    // GitHub allows a job six hours; a cold cargo build fits in far less.
    out.push_str("timeout: 30m\n");
    if !env.is_empty() {
        out.push_str("env:\n");
        for (k, v) in env {
            out.push_str(&format!("  {}: {}\n", scalar(k), scalar(v)));
        }
    }
    out.push_str("steps:\n");
    for entry in entries {
        match entry {
            Entry::Comment(text) => {
                for line in text.split('\n') {
                    out.push_str(&format!("  # {}\n", visible(line)));
                }
            }
            Entry::Step(step) => write_step(&mut out, step),
        }
    }
    out
}

fn write_step(out: &mut String, step: &Step) {
    out.push_str(&format!("  - id: {}\n", scalar(&step.id)));
    if let Some(d) = &step.description {
        out.push_str(&format!("    description: {}\n", scalar(d)));
    }
    match step.depends_on.as_slice() {
        [] => {}
        [one] => out.push_str(&format!("    depends_on: {}\n", scalar(one))),
        many => {
            let items: Vec<String> = many.iter().map(|d| scalar(d)).collect();
            out.push_str(&format!("    depends_on: [{}]\n", items.join(", ")));
        }
    }
    if let Some(c) = &step.condition {
        out.push_str(&format!("    if: {}\n", scalar(c)));
    }
    if let Some(cwd) = &step.cwd {
        out.push_str(&format!("    cwd: {}\n", scalar(cwd)));
    }
    if let Some(s) = &step.shell {
        out.push_str(&format!("    shell: {}\n", shell(s)));
    }
    if let Some(t) = &step.timeout {
        out.push_str(&format!("    timeout: {t}\n"));
    }
    if !step.env.is_empty() {
        out.push_str("    env:\n");
        for (k, v) in &step.env {
            out.push_str(&format!("      {}: {}\n", scalar(k), scalar(v)));
        }
    }
    match &step.argv {
        Some(words) => out.push_str(&format!("    run: {}\n", shell(words))),
        None => out.push_str(&format!("    run: {}\n", block(&step.run, "      "))),
    }
}

/// A line of a comment or a note, with what YAML could read as a line break or cannot hold,
/// and what a terminal would obey, escaped: nothing in it ends the comment or moves the
/// cursor.
pub(super) fn visible(line: &str) -> String {
    line.chars()
        .map(|c| {
            if printable(c) {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// A shell as a flow list of scalars.
fn shell(words: &[String]) -> String {
    let items: Vec<String> = words.iter().map(|w| scalar(w)).collect();
    format!("[{}]", items.join(", "))
}

/// A command: a literal block when it has several lines that YAML keeps as they are, else
/// a scalar.
fn block(text: &str, indent: &str) -> String {
    let keeps = text.contains('\n')
        && !text.starts_with([' ', '\t', '\n'])
        && !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        && !text.contains('\r');
    if !keeps {
        return scalar(text);
    }
    let body = text.trim_end_matches('\n');
    let trailing = text.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in text
        .split('\n')
        .take(body.split('\n').count() + trailing.saturating_sub(1))
    {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_ends_a_comment_early() {
        let entries = [Entry::Comment(
            "a\rb: c\r  - id: x\u{2028}y\u{85}z\x7f".into(),
        )];
        let text = workflow("w", "d", &[], &entries, "f.yml");
        let source = crate::source::SourceFile::new(std::path::Path::new("w.yaml"), text.clone());
        let node = crate::load::yaml::parse(&source).unwrap();
        assert!(
            matches!(
                node.get("steps").map(|s| &s.value),
                Some(crate::load::node::Value::Null)
            ),
            "{text}"
        );
        assert!(
            !text.contains(['\r', '\u{2028}', '\u{85}', '\x7f']),
            "{text}"
        );
    }

    fn read_back(text: &str) -> String {
        let yaml = format!("run: {}\n", block(text, "  "));
        let source = crate::source::SourceFile::new(std::path::Path::new("x.yaml"), yaml.clone());
        let node = crate::load::yaml::parse(&source).unwrap();
        node.get("run")
            .and_then(|r| r.scalar_text())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{yaml}"))
    }

    #[test]
    fn commands_read_back_as_written() {
        for text in [
            "cargo test",
            "a\nb",
            "a\nb\n",
            "a\n\n  b\n\n\n",
            "if x; then\n\ty\nfi\n",
            "  leading\nspace",
            "a: b\n# c\n'd'\n",
            "cargo test -- --nocapture",
            "a\rb\n",
            "x\u{7f}\u{2028}\u{85}\ny",
        ] {
            assert_eq!(read_back(text), text, "{text:?}");
        }
    }
}
