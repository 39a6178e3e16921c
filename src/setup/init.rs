//! `cargo flow init`: a starting `ci` workflow for the workspace it runs in: fmt, clippy, test
//! and doc, ordered so that a compile error shows once, cached so that a run with nothing
//! changed does nothing, and given time for a cold build. Written as `.flow.yaml`, or into the
//! root `Cargo.toml`'s metadata.

use std::path::{Path, PathBuf};

use crate::diagnostic::Problem;

/// One step of the starting workflow.
#[derive(Debug, Clone, Default)]
pub(crate) struct Step {
    pub id: &'static str,
    pub description: &'static str,
    pub run: String,
    pub depends_on: Option<&'static str>,
    pub for_each: bool,
    pub timeout: Option<&'static str>,
    pub env: Vec<(&'static str, &'static str)>,
    /// Cache inputs; no `cache:` when empty.
    pub inputs: Vec<&'static str>,
    pub cache_env: Vec<&'static str>,
}

/// What every check but `fmt` may read: every file of the repository that git does not
/// ignore, so that no edit leaves a stale result (a test's fixture, a README that a crate
/// includes as its documentation).
const EVERYTHING: &[&str] = &["**"];

/// The steps for a workspace of `members` packages: `test` runs once per package when there
/// are several.
pub(crate) fn steps(members: usize) -> Vec<Step> {
    let per_package = members > 1;
    vec![
        Step {
            id: "toolchain",
            description: "the compiler's version, which every check's cache key depends on",
            run: r#"echo "rustc=$(rustc -V)" >> "$FLOW_OUTPUT""#.into(),
            timeout: Some("1m"),
            ..Step::default()
        },
        Step {
            id: "fmt",
            description: "formatting",
            run: "cargo fmt --all -- --check".into(),
            depends_on: Some("toolchain"),
            timeout: Some("5m"),
            inputs: vec!["**/*.rs", "rustfmt.toml", ".rustfmt.toml"],
            ..Step::default()
        },
        Step {
            id: "clippy",
            description: "lints, warnings denied",
            run: "cargo clippy --workspace --all-targets -- -D warnings".into(),
            depends_on: Some("toolchain"),
            timeout: Some("30m"),
            inputs: EVERYTHING.to_vec(),
            cache_env: vec!["RUSTFLAGS"],
            ..Step::default()
        },
        Step {
            id: "test",
            description: if per_package {
                "each package's tests"
            } else {
                "the tests"
            },
            run: if per_package {
                "cargo test -p ${package}".into()
            } else {
                "cargo test --workspace".into()
            },
            depends_on: Some("clippy"),
            for_each: per_package,
            timeout: Some("30m"),
            inputs: EVERYTHING.to_vec(),
            cache_env: vec!["RUSTFLAGS"],
            ..Step::default()
        },
        Step {
            id: "doc",
            description: "the documentation builds without warnings",
            run: "cargo doc --workspace --no-deps".into(),
            depends_on: Some("clippy"),
            timeout: Some("20m"),
            env: vec![("RUSTDOCFLAGS", "-D warnings")],
            inputs: EVERYTHING.to_vec(),
            cache_env: vec!["RUSTFLAGS"],
            ..Step::default()
        },
    ]
}

/// The first lines of a written workflow.
const HEADER: &str =
    "# The checks of this workspace, written by `cargo flow init`: `cargo flow ci` runs them,
# `cargo flow hook install` before every push. A cached step runs again only when a file
# it reads changed (files git ignores, such as target/, never count); narrow its `inputs`
# to rerun less.";

/// The `.flow.yaml` text of `steps`.
pub(crate) fn yaml(steps: &[Step], schema: &str) -> String {
    let mut out = format!("# yaml-language-server: $schema={schema}\n{HEADER}\nname: ci\nsteps:\n");
    for step in steps {
        out.push_str(&format!("  - id: {}\n", step.id));
        out.push_str(&format!("    description: {}\n", scalar(step.description)));
        if let Some(d) = step.depends_on {
            out.push_str(&format!("    depends_on: {d}\n"));
        }
        if step.for_each {
            out.push_str("    for_each: package\n");
        }
        out.push_str(&format!("    run: {}\n", scalar(&step.run)));
        if let Some(t) = step.timeout {
            out.push_str(&format!("    timeout: {t}\n"));
        }
        if !step.env.is_empty() {
            out.push_str("    env:\n");
            for (k, v) in &step.env {
                out.push_str(&format!("      {k}: {}\n", scalar(v)));
            }
        }
        if !step.inputs.is_empty() {
            out.push_str("    cache:\n");
            out.push_str(&format!("      inputs: [{}]\n", list(&step.inputs)));
            if !step.cache_env.is_empty() {
                out.push_str(&format!("      env: [{}]\n", list(&step.cache_env)));
            }
        }
    }
    out
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| scalar(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A YAML scalar for `text`: plain when nothing in it means anything to YAML, single-quoted
/// when YAML keeps every character of it there, else double-quoted with escapes.
pub(crate) fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./=-".contains(c))
        && !text.starts_with(['-', ' ', '.'])
        && !text.ends_with(' ')
        && !matches!(
            text,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        );
    if plain && text.parse::<f64>().is_err() {
        return text.to_string();
    }
    if !text.contains('\'') && text.chars().all(printable) {
        return format!("'{text}'");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Whether YAML keeps `c` as it is inside a quoted scalar, a literal block or a comment:
/// its printable characters, less the line and paragraph separators that some readers take
/// for line breaks.
pub(crate) fn printable(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Adds the steps as `[<table>.ci]` to the manifest's text (`workspace.metadata.flow` or
/// `package.metadata.flow`), replacing a `ci` workflow there only with `force`.
pub(crate) fn into_manifest(
    text: &str,
    table: &[&str],
    steps: &[Step],
    force: bool,
) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut at = doc.as_table_mut();
    for key in table {
        let entry = at
            .entry(key)
            .or_insert_with(|| toml_edit::Item::Table(implicit()));
        at = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a table"))?;
    }
    if at.contains_key("ci") && !force {
        return Err(format!("`[{}.ci]` exists", table.join(".")));
    }
    let mut ci = toml_edit::Table::new();
    ci.insert("steps", toml_edit::Item::ArrayOfTables(toml_steps(steps)));
    ci.set_implicit(true);
    at.insert("ci", toml_edit::Item::Table(ci));
    Ok(doc.to_string())
}

fn implicit() -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.set_implicit(true);
    t
}

fn toml_steps(steps: &[Step]) -> toml_edit::ArrayOfTables {
    let mut array = toml_edit::ArrayOfTables::new();
    for step in steps {
        let mut t = toml_edit::Table::new();
        t.insert("id", toml_edit::value(step.id));
        t.insert("description", toml_edit::value(step.description));
        if let Some(d) = step.depends_on {
            t.insert("depends_on", toml_edit::value(d));
        }
        if step.for_each {
            t.insert("for_each", toml_edit::value("package"));
        }
        t.insert("run", toml_edit::value(step.run.as_str()));
        if let Some(timeout) = step.timeout {
            t.insert("timeout", toml_edit::value(timeout));
        }
        if !step.env.is_empty() {
            let env: toml_edit::InlineTable = step.env.iter().map(|(k, v)| (*k, *v)).collect();
            t.insert("env", toml_edit::value(env));
        }
        if !step.inputs.is_empty() {
            let mut cache = toml_edit::InlineTable::new();
            cache.insert(
                "inputs",
                step.inputs
                    .iter()
                    .copied()
                    .collect::<toml_edit::Array>()
                    .into(),
            );
            if !step.cache_env.is_empty() {
                cache.insert(
                    "env",
                    step.cache_env
                        .iter()
                        .copied()
                        .collect::<toml_edit::Array>()
                        .into(),
                );
            }
            t.insert("cache", toml_edit::value(cache));
        }
        array.push(t);
    }
    array
}

/// Writes `text` as a new file, or over one only with `force`; the error says why not.
pub(crate) fn write_new(path: &Path, text: &str, force: bool) -> Result<(), Problem> {
    if path.exists() && !force {
        return Err(Problem::new(
            "flow::init-exists",
            format!("`{}` exists, and is left as it is", path.display()),
        )
        .with_help("pass `--force` to write over it, or remove it first"));
    }
    std::fs::write(path, text).map_err(|e| {
        Problem::new(
            "flow::init-write",
            format!("cannot write `{}`: {e}", path.display()),
        )
    })
}

/// Whether git ignores the target directory, where it is inside the repository: if not, every
/// build would change the files cached steps read.
pub(crate) fn target_ignored(root: &Path, target: &Path) -> bool {
    let Ok(relative) = target.strip_prefix(root) else {
        return true;
    };
    std::process::Command::new("git")
        .args(["check-ignore", "-q", "--"])
        .arg(PathBuf::from(relative).join("x"))
        .current_dir(root)
        .status()
        .map_or(true, |s| s.code() != Some(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_yaml_reads_them_as_written() {
        for (text, want) in [
            ("cargo fmt --all -- --check", "cargo fmt --all -- --check"),
            ("-D warnings", "'-D warnings'"),
            ("**", "'**'"),
            ("true", "'true'"),
            ("1.10", "'1.10'"),
            ("a: b", "'a: b'"),
            ("it's", "\"it's\""),
            ("a\rb\u{7f}\u{2028}\"\\", "\"a\\x0Db\\x7F\\u2028\\\"\\\\\""),
        ] {
            assert_eq!(scalar(text), want, "{text:?}");
        }
    }
}
