//! Signed entries. An `/ac` entry is found by the step's key, not by its contents, so
//! whoever may write to the server can put any result under any key. With a signing key,
//! every entry carries an HMAC-SHA256 of its key and of every file it names (path, SHA-256,
//! size, mode), and an entry whose signature is missing or wrong is never restored from.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::action::{ActionResult, SIGNATURE, hex};

type HmacSha256 = Hmac<Sha256>;

/// What is signed: the entry's key, then each file but the signature, in path order, one
/// line each. Paths cannot hold a newline that would make two lists read alike: each is
/// checked (see [`super::action::is_safe_path`]) and written with its length.
fn signed_text(ac_key: &str, entry: &ActionResult) -> Vec<u8> {
    let mut files: Vec<_> = entry
        .output_files
        .iter()
        .filter(|f| f.path != SIGNATURE)
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut text = format!("cargo-flow signed entry 1\n{ac_key}\n").into_bytes();
    for f in files {
        let (hash, size) = f
            .digest
            .as_ref()
            .map_or(("", -1), |d| (d.hash.as_str(), d.size_bytes));
        let mode = if f.is_executable { 'x' } else { '-' };
        text.extend_from_slice(
            format!("{} {} {hash} {size} {mode}\n", f.path.len(), f.path).as_bytes(),
        );
    }
    text
}

/// The MAC of `text` (an HMAC takes a key of any length, so there is always one).
fn mac(secret: &[u8], text: &[u8]) -> Option<HmacSha256> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret).ok()?;
    m.update(text);
    Some(m)
}

/// The signature of `entry`, stored under `ac_key`, in hex.
pub(crate) fn sign(secret: &[u8], ac_key: &str, entry: &ActionResult) -> Option<String> {
    let m = mac(secret, &signed_text(ac_key, entry))?;
    Some(hex(&m.finalize().into_bytes()))
}

/// Whether `signature` (as stored: hex) is `entry`'s under `ac_key`; compared in constant
/// time.
pub(crate) fn verify(secret: &[u8], ac_key: &str, entry: &ActionResult, signature: &[u8]) -> bool {
    let Some(bytes) = unhex(signature) else {
        return false;
    };
    mac(secret, &signed_text(ac_key, entry)).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.trim_ascii();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::action::{Digest, OutputFile};
    use super::*;

    fn entry(content: &[u8]) -> ActionResult {
        ActionResult {
            output_files: vec![OutputFile {
                path: "out/a".into(),
                digest: Some(Digest::of(content)),
                is_executable: false,
            }],
            exit_code: 0,
        }
    }

    #[test]
    fn a_signature_holds_only_for_its_key_its_files_and_its_secret() {
        let signature = sign(b"secret", "k1", &entry(b"a")).unwrap_or_default();
        assert!(verify(b"secret", "k1", &entry(b"a"), signature.as_bytes()));
        assert!(!verify(b"secret", "k2", &entry(b"a"), signature.as_bytes()));
        assert!(!verify(b"secret", "k1", &entry(b"b"), signature.as_bytes()));
        assert!(!verify(b"other", "k1", &entry(b"a"), signature.as_bytes()));
        assert!(!verify(b"secret", "k1", &entry(b"a"), b"zz"));
        let mut executable = entry(b"a");
        executable.output_files[0].is_executable = true;
        assert!(!verify(b"secret", "k1", &executable, signature.as_bytes()));
    }
}
