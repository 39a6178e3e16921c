//! Reading and copying the files that steps name (cache inputs and outputs, artifacts, cache
//! records) without ever waiting on them: a FIFO, socket or device is never read, a link is
//! read as a link where it must not be followed, large files go in pieces so that an
//! interrupt stops the work at once, and a copy keeps the holes of a sparse file.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::sys;

/// How much is read or copied between two checks for an interrupt.
const PIECE: usize = 1024 * 1024;

/// What a path is, as far as its contents go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link, not followed.
    Link,
    /// A FIFO, socket or device: never opened.
    Special(&'static str),
}

impl Kind {
    /// The kind a file's metadata says.
    pub(crate) fn of(meta: &Metadata) -> Kind {
        let t = meta.file_type();
        if t.is_file() {
            Kind::File
        } else if t.is_dir() {
            Kind::Folder
        } else if t.is_symlink() {
            Kind::Link
        } else {
            Kind::Special(sys::special_file(&t))
        }
    }
}

/// What `stat` says of a file that tells whether it may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub kind: Kind,
    pub size: u64,
    /// Its modification time, in nanoseconds since 1970.
    pub mtime: i64,
    /// Its inode and inode change time (see [`sys::file_id`]).
    pub id: u64,
}

impl Stat {
    /// The stat of this metadata.
    pub(crate) fn of(meta: &Metadata) -> Stat {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Stat {
            kind: Kind::of(meta),
            size: meta.len(),
            mtime,
            id: sys::file_id(meta),
        }
    }
}

/// What a path is and when it last changed, as `stat` (`follow`) or `lstat` sees it. With
/// `follow`, a link that cannot be followed (dangling, or a loop) is taken as the link.
pub(crate) fn stat_of(path: &Path, follow: bool) -> io::Result<Stat> {
    let meta = if follow {
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound || sys::is_link_loop(&e) => {
                std::fs::symlink_metadata(path).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        }
    } else {
        std::fs::symlink_metadata(path)?
    };
    Ok(Stat::of(&meta))
}

/// The blake3 hash, in hex, of what a path holds: a file's contents; a link's target, and the
/// contents of the file it leads to when it leads to one (a link is not walked into when
/// `follow` is false, nor when it cannot be followed); for anything else, what it is. `stop` is asked between pieces, and ends the work with an `Interrupted` error.
pub(crate) fn digest(
    path: &Path,
    kind: Kind,
    follow: bool,
    stop: &dyn Fn() -> bool,
) -> io::Result<String> {
    let hash = match kind {
        Kind::File => {
            let file = sys::open_for_reading(path, follow)?;
            let meta = file.metadata()?;
            if !meta.is_file() {
                // It changed under us into something that must not be read.
                return digest(path, Kind::Special("not a regular file"), follow, stop);
            }
            let mut h = blake3::Hasher::new();
            let mut reader = io::BufReader::with_capacity(64 * 1024, file);
            // A small file is read whole into a buffer of its size (and one byte more, to
            // see its end), not into a piece of a megabyte.
            let fits = usize::try_from(meta.len()).map_or(PIECE, |n| n.saturating_add(1));
            let mut piece = vec![0u8; fits.min(PIECE)];
            loop {
                if stop() {
                    return Err(interrupted());
                }
                let n = read_full(&mut reader, &mut piece)?;
                h.update(&piece[..n]);
                if n < piece.len() {
                    break;
                }
            }
            h.finalize()
        }
        Kind::Link => {
            let target = std::fs::read_link(path)?;
            let mut h = blake3::Hasher::new_derive_key("cargo flow 2026 link target");
            h.update(target.as_os_str().as_encoded_bytes());
            // A link to a file stands for the file too: editing it changes the link's hash.
            if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                h.update(digest(path, Kind::File, true, stop)?.as_bytes());
            }
            h.finalize()
        }
        Kind::Folder | Kind::Special(_) => {
            let mut h = blake3::Hasher::new_derive_key("cargo flow 2026 special file");
            h.update(format!("{kind:?}").as_bytes());
            h.finalize()
        }
    };
    Ok(hash.to_hex().to_string())
}

/// Reads until `buf` is full or the end is reached; how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The error that says the work was stopped by an interrupt.
pub(crate) fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted")
}

/// Copies a regular file to `to` (created anew), in pieces, asking `stop` between them, and
/// returns its length and the blake3 hash of its contents, in hex. The holes of a sparse file,
/// and blocks of zeros, are left as holes in the copy.
pub(crate) fn copy(from: &Path, to: &Path, stop: &dyn Fn() -> bool) -> io::Result<(u64, String)> {
    let mut src = sys::open_for_reading(from, true)?;
    let meta = src.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "it is {}",
            Kind::of(&meta).describe()
        )));
    }
    let len = meta.len();
    let mut dst = File::create(to)?;
    // A program stays runnable, a secret stays private.
    dst.set_permissions(meta.permissions())?;
    let mut h = blake3::Hasher::new();
    let mut piece = vec![0u8; 64 * 1024];
    let mut at = 0;
    while let Some((start, end)) = sys::next_data(&src, at, len)? {
        hash_zeros(&mut h, start - at.min(start), stop)?;
        src.seek(SeekFrom::Start(start))?;
        at = start;
        while at < end {
            if stop() {
                return Err(interrupted());
            }
            let want = piece
                .len()
                .min(usize::try_from(end - at).unwrap_or(piece.len()));
            let n = read_full(&mut src, &mut piece[..want])?;
            if n == 0 {
                break;
            }
            h.update(&piece[..n]);
            if piece[..n].iter().any(|&b| b != 0) {
                dst.seek(SeekFrom::Start(at))?;
                dst.write_all(&piece[..n])?;
            }
            at += n as u64;
        }
        if at < end {
            break; // the file shrank while it was copied
        }
    }
    hash_zeros(&mut h, len.saturating_sub(at), stop)?;
    // The length, holes at the end included.
    dst.set_len(len)?;
    Ok((len, h.finalize().to_hex().to_string()))
}

/// Feeds `n` zero bytes to a hash: a hole reads as zeros.
fn hash_zeros(h: &mut blake3::Hasher, mut n: u64, stop: &dyn Fn() -> bool) -> io::Result<()> {
    let zeros = [0u8; 64 * 1024];
    while n > 0 {
        if stop() {
            return Err(interrupted());
        }
        let k = n.min(zeros.len() as u64) as usize;
        h.update(&zeros[..k]);
        n -= k as u64;
    }
    Ok(())
}

impl Kind {
    /// What it is, for a message: `a FIFO`, `a link`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::File => "a file",
            Kind::Folder => "a folder",
            Kind::Link => "a link",
            Kind::Special(what) => what,
        }
    }
}

/// Reads a small regular file that cargo flow wrote itself (a cache record): `None` when it
/// does not exist; an error when it is a link, a FIFO or anything else, or larger than
/// `limit`, which is never read.
pub(crate) fn read_own(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match sys::open_for_reading(path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "it is {}",
            Kind::of(&meta).describe()
        )));
    }
    if meta.len() > limit {
        return Err(io::Error::other(format!(
            "it is larger than {} MiB",
            limit >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_never_opened_and_a_link_is_read_as_a_link() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()?
                .success()
        );
        let kind = stat_of(&fifo, true)?.kind;
        assert_eq!(kind, Kind::Special("a FIFO"));
        assert!(digest(&fifo, kind, true, &|| false).is_ok());
        // Even taken for a file, it is opened without waiting and not read.
        assert!(digest(&fifo, Kind::File, true, &|| false).is_ok());
        assert!(read_own(&fifo, 1 << 20).is_err());
        // A link loop: `ln -s loop loop`.
        let link = dir.path().join("loop");
        let made = std::process::Command::new("ln")
            .args(["-s", "loop"])
            .arg(&link)
            .status()?;
        assert!(made.success());
        let kind = stat_of(&link, true)?.kind;
        assert_eq!(kind, Kind::Link);
        assert!(digest(&link, kind, true, &|| false).is_ok());
        Ok(())
    }

    #[test]
    fn a_copy_hashes_what_it_copies_and_stops_when_asked() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let from = dir.path().join("sparse");
        let f = File::create(&from)?;
        f.set_len(256 << 20)?;
        (&f).seek(SeekFrom::Start(100 << 20))?;
        (&f).write_all(b"data in the middle")?;
        drop(f);
        let to = dir.path().join("copy");
        let (len, hash) = copy(&from, &to, &|| false)?;
        assert_eq!(len, 256 << 20);
        assert_eq!(
            hash,
            blake3::hash(&std::fs::read(&from)?).to_hex().to_string()
        );
        // That the copy keeps the holes is checked through the binary (tests/files.rs).
        assert_eq!(std::fs::read(&to)?.len(), 256 << 20);
        let stopped = copy(&from, &to, &|| true);
        assert_eq!(
            stopped.map_err(|e| e.kind()),
            Err(io::ErrorKind::Interrupted)
        );
        Ok(())
    }
}
