#![no_main]
//! Variable substitution: any text splits or is refused cleanly; the text of a shell command
//! never depends on the values it reads, which reach it through the environment; and names
//! that differ never share an environment variable or a file.

use std::path::Path;

use cargo_flow::diagnostic::Problems;
use cargo_flow::load::model::ContextValue;
use cargo_flow::plan::substitute::{self, At, Found, Quote};
use cargo_flow::plan::{names, vars};
use cargo_flow::source::{SourceFile, Span};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = vars::split(text);
    let (template, rest) = text.split_once('\u{1}').unwrap_or((text, ""));
    let (a, b) = rest.split_once('\u{1}').unwrap_or((rest, "another value"));
    let source = SourceFile::new(Path::new("wf.yaml"), template.to_string());
    let resolve = |value: &str| {
        let mut vars = vars::Vars::default();
        vars.insert("x", ContextValue::One(value.to_string()));
        vars.insert("list", ContextValue::Many(vec![value.to_string(), value.to_string()]));
        let at = At { source: &source, step: "s", span: Span::new(0, template.len()), scope: None };
        let mut found = Found::default();
        let mut problems = Problems::new();
        substitute::resolve(&vars, template, Quote::Shell, &at, &mut found, &mut problems)
    };
    if !template.contains("raw:") {
        assert_eq!(resolve(a), resolve(b), "the command's text depends on a value");
    }
    if a != b {
        assert_ne!(names::env_part(a), names::env_part(b));
        assert_ne!(names::file_name(a), names::file_name(b));
    }
});
