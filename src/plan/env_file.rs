//! `env_file:`: dotenv files whose variables steps get, read with dotenvy, each problem a
//! diagnostic at the entry that names the file.

use std::path::Path;

use crate::diagnostic::{Problem, Problems};
use crate::load::build::{reserved_env, reserved_env_problem};
use crate::load::model::EnvFile;
use crate::source::Source;

/// The most an env file may hold: a file of settings, not data.
const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// The bytes of an env file, opened without waiting (a FIFO put in its place between a
/// look and a read is not waited on) and checked once open: a regular file, of at most
/// [`MAX_ENV_FILE_BYTES`], without NUL bytes (which no environment variable can hold).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = crate::sys::open_for_reading(path, true)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ENV_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_ENV_FILE_BYTES {
        return Err(std::io::Error::other("it holds more than 1 MiB"));
    }
    if bytes.contains(&0) {
        return Err(std::io::Error::other("it holds a NUL byte"));
    }
    Ok(bytes)
}

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
        let text = match read_bounded(&path) {
            Ok(text) => text,
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
                Ok((key, _)) if reserved_env(&key) => {
                    let message = format!(
                        "the env file `{name}` sets `{key}`, which cargo flow sets for every step"
                    );
                    let span = file.path.span;
                    problems.push(reserved_env_problem(source, span, message));
                }
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
