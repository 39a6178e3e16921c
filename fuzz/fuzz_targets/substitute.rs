#![no_main]
//! Variable substitution: any text is substituted or refused cleanly; the text of a shell
//! command never depends on the values it reads, which reach it through the environment; and
//! names that differ never share an environment variable or a file.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, rest) = text.split_once('\u{1}').unwrap_or((text, ""));
    let (a, b) = rest.split_once('\u{1}').unwrap_or((rest, "another value"));
    if !template.contains("raw:") {
        assert_eq!(
            cargo_flow::shell_command(template, &[("x", a)]),
            cargo_flow::shell_command(template, &[("x", b)]),
            "the command's text depends on a value"
        );
    }
    if a != b {
        assert_ne!(cargo_flow::env_part(a), cargo_flow::env_part(b));
        assert_ne!(cargo_flow::file_name(a), cargo_flow::file_name(b));
    }
});
