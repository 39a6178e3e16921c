//! `env_file:`: dotenv files whose variables steps get, read with dotenvy, each problem a
//! diagnostic at the entry that names the file.

use std::path::Path;

use crate::diagnostic::{Problem, Problems};
use crate::load::model::EnvFile;
use crate::source::Source;

/// The variables of `files`, in order (a later file's value of a name wins), paths relative
/// to `base`. A file that is missing (unless optional), not a regular file, or not valid
/// dotenv is a problem.
pub(crate) fn read(
    files: &[EnvFile],
    base: &Path,
    source: &Source,
    problems: &mut Problems,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for file in files {
        let path = base.join(&file.path.value);
        let problem = |message: String, label: &str| {
            Problem::at("flow::env-file", message, source, file.path.span, label)
        };
        let name = &file.path.value;
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !file.optional {
                    problems.push(
                        problem(
                            format!("the env file `{name}` does not exist"),
                            "no such file",
                        )
                        .with_help(format!(
                            "create `{}`, or mark it `{{path: {name}, optional: true}}`",
                            path.display()
                        )),
                    );
                }
                continue;
            }
            // A FIFO or a device would be waited on, or read without end.
            Ok(m) if !m.is_file() => {
                problems.push(problem(
                    format!("the env file `{name}` is not a regular file"),
                    "not a file",
                ));
                continue;
            }
            _ => {}
        }
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(problem(
                    format!("cannot read the env file `{name}`: {e}"),
                    "cannot be read",
                ));
                continue;
            }
        };
        for item in dotenvy::from_read_iter(text.as_slice()) {
            match item {
                Ok((key, value)) => {
                    out.retain(|(k, _)| *k != key);
                    out.push((key, value));
                }
                Err(e) => {
                    problems.push(
                        problem(
                            format!("the env file `{name}` is not valid: {}", describe(&e)),
                            "invalid dotenv file",
                        )
                        .with_help(
                            "write one `NAME=value` a line; quote values with spaces or `#`",
                        ),
                    );
                    break;
                }
            }
        }
    }
    out
}

/// What dotenvy found wrong, in words: the line, and what it is.
fn describe(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(line, at) => {
            format!("cannot parse `{}` at character {}", line.trim_end(), at + 1)
        }
        other => other.to_string(),
    }
}
