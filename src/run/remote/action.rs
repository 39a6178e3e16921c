//! A step's entry on the server, as the remote-execution API writes an action's result: an
//! `ActionResult` whose output files are the step's outputs (`out/…`), artifacts
//! (`artifacts/…`), its cache record (`flow/record.json`) and, when entries are signed, the
//! signature (`flow/signature`). Servers that validate `/ac` entries parse them as such and
//! check that every blob they name is in `/cas`.

use prost::Message;
use sha2::{Digest as _, Sha256};

/// `build.bazel.remote.execution.v2.Digest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct Digest {
    /// The SHA-256 of the blob, in lower-case hex.
    #[prost(string, tag = "1")]
    pub hash: String,
    /// Its size in bytes.
    #[prost(int64, tag = "2")]
    pub size_bytes: i64,
}

/// `build.bazel.remote.execution.v2.OutputFile`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct OutputFile {
    /// Its path, relative to the action's working directory.
    #[prost(string, tag = "1")]
    pub path: String,
    /// Its contents, in `/cas`.
    #[prost(message, optional, tag = "2")]
    pub digest: Option<Digest>,
    /// Whether it is executable.
    #[prost(bool, tag = "4")]
    pub is_executable: bool,
}

/// `build.bazel.remote.execution.v2.ActionResult`, with the fields cargo flow writes.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ActionResult {
    /// The files it left.
    #[prost(message, repeated, tag = "2")]
    pub output_files: Vec<OutputFile>,
    /// Its exit code: a success is all that is stored.
    #[prost(int32, tag = "4")]
    pub exit_code: i32,
}

/// The record's path among the output files.
pub(crate) const RECORD: &str = "flow/record.json";
/// The signature's path.
pub(crate) const SIGNATURE: &str = "flow/signature";
/// Where outputs go, relative to the step's folder.
pub(crate) const OUTPUTS: &str = "out/";
/// Where artifacts go, relative to its artifact folder.
pub(crate) const ARTIFACTS: &str = "artifacts/";

impl Digest {
    /// The digest of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Digest {
            hash: hex(&Sha256::digest(bytes)),
            size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        }
    }

    /// Its size, when it is one a file can have.
    pub(crate) fn size(&self) -> Option<u64> {
        u64::try_from(self.size_bytes).ok()
    }

    /// Whether it names a blob as `/cas` does: 64 lower-case hex digits.
    pub(crate) fn is_valid(&self) -> bool {
        is_sha256(&self.hash) && self.size().is_some()
    }
}

impl ActionResult {
    /// The entry as it is stored.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// An entry read from the server.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::decode(bytes).map_err(|e| format!("its entry is not an ActionResult: {e}"))
    }

    /// The output file at `path`.
    pub(crate) fn file(&self, path: &str) -> Option<&OutputFile> {
        self.output_files.iter().find(|f| f.path == path)
    }
}

/// Whether `s` is a SHA-256 in lower-case hex.
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Bytes in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a path read from an entry may be written: relative, with no `.` or `..` and no
/// empty part, so that it stays inside the folder it is restored into.
pub(crate) fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let entry = ActionResult {
            output_files: vec![OutputFile {
                path: "out/dist/app".into(),
                digest: Some(Digest::of(b"bin")),
                is_executable: true,
            }],
            exit_code: 0,
        };
        let back = ActionResult::from_bytes(&entry.to_bytes()).unwrap();
        assert_eq!(back, entry);
        assert!(back.output_files[0].digest.as_ref().unwrap().is_valid());
        assert!(ActionResult::from_bytes(b"\xff\xff\xff").is_err());
    }

    #[test]
    fn only_paths_inside_their_folder_are_safe() {
        for ok in ["a", "a/b.txt", "dist/.hidden", "a..b"] {
            assert!(is_safe_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a\\b",
        ] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }
}
