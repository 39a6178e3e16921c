//! Writing a report file at the end of a run.

/// Writes the report. A regular file (or none yet) is written whole or not at all: into a
/// temporary file beside it, renamed over it, so that a reader never sees half a report.
/// Anything else the path names (`/dev/stdout`, a FIFO, a link) is written into as it is,
/// never replaced.
pub(crate) fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let replaceable = match std::fs::symlink_metadata(path) {
        Ok(m) => m.is_file(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    if !replaceable {
        let mut out = crate::sys::open_to_write_into(path)?;
        return out.write_all(bytes);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    // A temporary file is private; the report is for sharing, as a file written plainly is.
    tmp.as_file()
        .set_permissions(crate::sys::shared_file_permissions())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
