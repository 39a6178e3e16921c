//! The names cargo flow derives from names in a workflow: the environment variables that carry
//! values to steps, and the file names of logs, artifact folders and cache records. Each
//! mapping is injective, so that two names never share a variable or a file.

/// The environment variable through which a step receives context variable `name`:
/// `FLOW_CTX_` and [`env_part`] of the name (`target` is `FLOW_CTX_TARGET`).
pub(crate) fn context_var(name: &str) -> String {
    format!("FLOW_CTX_{}", env_part(name))
}

/// The environment variable through which a step receives output `key` of step `id`:
/// `FLOW_OUTPUT_<ID>__<KEY>` (`version` of `build` is `FLOW_OUTPUT_BUILD__VERSION`).
pub(crate) fn output_var(id: &str, key: &str) -> String {
    format!("FLOW_OUTPUT_{}__{}", env_part(id), env_part(key))
}

/// The environment variable through which a step receives the artifact folder of step `id`:
/// `FLOW_ARTIFACTS_<ID>`.
pub(crate) fn artifacts_var(id: &str) -> String {
    format!("FLOW_ARTIFACTS_{}", env_part(id))
}

/// A name as part of an environment variable's name. A plain name (lower-case letters and
/// digits, with single `_` between them) is written in upper case: `workspace_root` is
/// `WORKSPACE_ROOT`. Any other name has the case of its letters swapped and `_`, `.` and `-`
/// written as `_u`, `_d` and `_h`: `TARGET` is `target`, `a.b` is `A_dB`, `a-b` is `A_hB`,
/// `a__b` is `A_u_uB`. Such a part holds a lower-case letter, which a plain name's never does,
/// and never holds `__`, so no two names (nor two pairs joined by `__`) give one part.
pub fn env_part(name: &str) -> String {
    let plain = !name.is_empty()
        && name.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if plain {
        return name.to_ascii_uppercase();
    }
    let mut out = String::with_capacity(name.len() * 2);
    for c in name.chars() {
        match c {
            'a'..='z' => out.push(c.to_ascii_uppercase()),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '0'..='9' => out.push(c),
            '_' => out.push_str("_u"),
            '.' => out.push_str("_d"),
            '-' => out.push_str("_h"),
            // Names are checked to hold nothing else; anything else is still kept apart.
            other => out.push_str(&format!("_x{:06x}", u32::from(other))),
        }
    }
    out
}

/// The file name that stands for a workflow name or a step id (`test:alpha`, one package's
/// instance of `test`): the name as it is, with `:` written as `@` and as `%XX`, byte by byte,
/// any other character outside `[A-Za-z0-9_.-]` (`@` and `%` among them), a final dot (all the
/// dots of a name of only dots) and the first letter of a name Windows keeps for devices
/// (`con`, `nul`, `com1`, also before a dot: `aux.x`). No two names give one file name, none is
/// `.` or `..`, and none is refused or changed by a platform.
pub fn file_name(name: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    if name.bytes().all(plain) && !name.ends_with('.') && !is_device(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 8);
    // `.` and `..` name folders that are already there; names are checked never to be only
    // dots, and would not reach them anyway.
    let dots = name.bytes().all(|b| b == b'.');
    let device = is_device(name);
    for (i, b) in name.bytes().enumerate() {
        let last = i + 1 == name.len();
        match b {
            _ if i == 0 && device => out.push_str(&format!("%{b:02X}")),
            b'.' if dots || last => out.push_str("%2E"),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => out.push(b as char),
            b':' => out.push('@'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Whether Windows takes a file of this name for a device, whatever its extension.
fn is_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).as_bytes();
    match stem {
        [a, b, c, d] if d.is_ascii_digit() => {
            let head = [*a, *b, *c];
            head.eq_ignore_ascii_case(b"com") || head.eq_ignore_ascii_case(b"lpt")
        }
        _ => [b"con", b"prn", b"aux", b"nul"]
            .iter()
            .any(|word| stem.eq_ignore_ascii_case(*word)),
    }
}

/// The longest a file name made by [`file_name`] may be: file systems take 255 bytes, and a
/// log (`.log`), outputs file (`.outputs`) or cache record (`.json`, and its temporary copy)
/// adds to it.
pub(crate) const MAX_FILE_NAME: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn plain_names_keep_their_documented_variables() {
        assert_eq!(context_var("target"), "FLOW_CTX_TARGET");
        assert_eq!(context_var("workspace_root"), "FLOW_CTX_WORKSPACE_ROOT");
        assert_eq!(output_var("build", "version"), "FLOW_OUTPUT_BUILD__VERSION");
        assert_eq!(artifacts_var("build"), "FLOW_ARTIFACTS_BUILD");
    }

    #[test]
    fn a_workflow_may_set_none_of_the_variables_that_carry_values() {
        use crate::load::build::reserved_env;
        for name in [
            context_var("x"),
            output_var("a", "b"),
            artifacts_var("a"),
            "FLOW_OUTPUT".into(),
            "FLOW_STEP".into(),
            "FLOW_WORKFLOW".into(),
        ] {
            assert!(reserved_env(&name), "{name}");
        }
        assert!(!reserved_env("FLOWER") && !reserved_env("MY_FLOW_CTX_X"));
    }

    #[test]
    fn names_that_differ_give_variables_that_differ() {
        let names = [
            "a_b", "a-b", "A.B", "a.b", "A_B", "ab", "AB", "Ab", "a__b", "_a", "a_", "a", "A",
            "target", "TARGET", "Target", "a_d", "A_d", "a-d", "x1", "X1", "1x", "a.", "a..b",
            "a_u", "a_uB", "_", "__", "-", ".",
        ];
        let vars: HashSet<String> = names.iter().map(|n| env_part(n)).collect();
        assert_eq!(vars.len(), names.len(), "{vars:?}");
        for v in &vars {
            assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            assert!(!v.contains("__") && !v.ends_with('_'), "{v}");
        }
        // Pairs joined by `__` stay apart too.
        let mut pairs = HashSet::new();
        for a in names {
            for b in names {
                assert!(pairs.insert(output_var(a, b)), "{a} {b}");
            }
        }
    }

    #[test]
    fn file_names_are_injective_and_portable() {
        let names = [
            "test:alpha",
            "test@alpha",
            "test-alpha",
            "a%3A",
            "a:",
            "é",
            "a b",
            "con",
            "CON",
            "%43on",
            "Con.x",
            "com1",
            "com10",
            "lpt9.release",
            "a.",
            "a%2E",
            "a.b",
        ];
        let files: HashSet<String> = names.iter().map(|n| file_name(n)).collect();
        assert_eq!(files.len(), names.len());
        assert_eq!(file_name("test:alpha"), "test@alpha");
        assert_eq!(file_name("pkg-1.release_x"), "pkg-1.release_x");
        assert_eq!(file_name(".."), "%2E%2E");
        assert_eq!(file_name("con"), "%63on");
        assert_eq!(file_name("Con.x"), "%43on.x");
        assert_eq!(file_name("com10"), "com10");
        assert_eq!(file_name("a."), "a%2E");
        for f in &files {
            assert!(!f.contains([':', '/', '\\', '<', '>', '"', '|', '?', '*', ' ']));
            assert!(!is_device(f) && !f.ends_with('.'), "{f}");
            assert_eq!(file_name(&decode(f)), *f, "decoding gives the name back");
        }
    }

    /// The name a file name stands for, which is unique: every `%` and `@` in one was written
    /// by [`file_name`].
    fn decode(file: &str) -> String {
        let mut bytes = Vec::new();
        let mut rest = file.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            match b {
                b'%' => {
                    let hex = std::str::from_utf8(&tail[..2]).unwrap();
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                    rest = &tail[2..];
                    continue;
                }
                b'@' => bytes.push(b':'),
                other => bytes.push(other),
            }
            rest = tail;
        }
        String::from_utf8(bytes).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn file_names_decode_to_their_name(name in "[a-zA-Z0-9_.:%@ -]{1,12}|(con|nul|com1|lpt2)[.:a-z]{0,3}") {
            let file = file_name(&name);
            proptest::prop_assert_eq!(decode(&file), name);
            proptest::prop_assert!(!is_device(&file) && !file.ends_with('.'));
        }
    }
}
