#![no_main]
//! Variable substitution: any text splits or is refused cleanly, and any value substituted
//! into a shell command comes back from a shell-words parse as exactly that one word.

use cargo_flow::load::model::ContextValue;
use cargo_flow::plan::{shell, vars};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = vars::split(text);
    let (template, value) = text.split_once('\u{1}').unwrap_or((text, text));
    if value.contains('\0') {
        return;
    }
    let quoted = shell::write(&ContextValue::One(value.to_string()), shell::Context::Unquoted);
    let words = shell_words::split(&quoted).expect("a quoted word parses");
    assert_eq!(words, vec![value.to_string()], "{quoted}");
    let _ = vars::split(template);
    // Inside double quotes, the escaped value reads back as itself too.
    let doubled = format!("\"{}\"", shell::write(&ContextValue::One(value.to_string()), shell::Context::Double));
    assert_eq!(shell_words::split(&doubled).expect("parses"), vec![value.to_string()], "{doubled}");
    let positions: Vec<usize> = (0..=template.len()).filter(|&i| template.is_char_boundary(i)).collect();
    assert_eq!(shell::contexts(template, &positions).len(), positions.len());
});
