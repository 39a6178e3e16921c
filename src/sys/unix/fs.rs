//! Files as the platform sees them: opening without waiting or following, holes of sparse
//! files, who may have written a file, whether a disk is full.

use std::io;
use std::os::fd::AsRawFd;

/// Whether files can be created in `dir`, asked of the kernel in one call: permissions for
/// ordinary users, a read-only file system for everyone.
pub(crate) fn check_writable(dir: &std::path::Path) -> io::Result<()> {
    access(dir, libc::W_OK | libc::X_OK)
}

/// Whether `file` (or what it leads to) can be written into.
pub(crate) fn check_writable_file(file: &std::path::Path) -> io::Result<()> {
    access(file, libc::W_OK)
}

fn access(path: &std::path::Path, mode: libc::c_int) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a valid NUL-terminated path; access has no other preconditions.
    if unsafe { libc::access(path.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the file system that holds `file` is full: a program writing there may have lost
/// what it wrote, whether or not it noticed.
pub(crate) fn disk_full(file: &std::fs::File) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: fstatvfs writes into the valid buffer for a descriptor we own.
    if unsafe { libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful call.
    let st = unsafe { st.assume_init() };
    // Root may write into the blocks kept back for it; others may not.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    st.f_blocks > 0 && (if root { st.f_bfree } else { st.f_bavail }) == 0
}

/// Who may have written a file: `None` when only the current user can have, else why not, in
/// words. The file (and, when it is a link, the link), and the folder it is in, must belong to
/// the current user, as git asks of a repository; neither may be writable by others, nor by a
/// group other than the user's own.
pub(crate) fn written_by_another(path: &std::path::Path) -> io::Result<Option<String>> {
    let link = std::fs::symlink_metadata(path)?;
    if link.file_type().is_symlink()
        && let Some(why) = not_the_users(&link, "the link to it")
    {
        return Ok(Some(why));
    }
    if let Some(why) = not_the_users(&std::fs::metadata(path)?, "it") {
        return Ok(Some(why));
    }
    // Steps run in the folder of the file as it was found, a link's folder included.
    let folder = path.parent().map(std::fs::metadata).transpose()?;
    Ok(folder.and_then(|f| not_the_users(&f, "its folder")))
}

/// Why `what`, with this metadata, is not only the current user's to write.
fn not_the_users(meta: &std::fs::Metadata, what: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid and getegid have no preconditions.
    let (me, my_group) = unsafe { (libc::geteuid(), libc::getegid()) };
    if meta.uid() != me {
        return Some(format!(
            "{what} belongs to another user (uid {})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o002 != 0 && !meta.is_symlink() {
        return Some(format!("any user may write to {what}"));
    }
    if meta.mode() & 0o020 != 0 && meta.gid() != my_group && !meta.is_symlink() {
        return Some(format!("the group {} may write to {what}", meta.gid()));
    }
    None
}

/// Whether an error says that a path's links go round in a loop (`ELOOP`).
pub(crate) fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Opens a file for reading without ever waiting: a FIFO opens at once (and reads as empty),
/// and with `follow` false a link is refused (`ELOOP`) rather than followed.
pub(crate) fn open_for_reading(path: &std::path::Path, follow: bool) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path);
    match opened {
        // What `O_NOFOLLOW` says of a link, in words.
        Err(e) if !follow && e.raw_os_error() == Some(libc::ELOOP) => {
            Err(io::Error::other("it is a link"))
        }
        other => other,
    }
}

/// The next stretch of `file` at or after `offset` that may hold data, as `(start, end)`:
/// holes of a sparse file are skipped without reading them. `None` past the last. Where the
/// file system cannot tell, the rest of the file is one stretch.
pub(crate) fn next_data(
    file: &std::fs::File,
    offset: u64,
    len: u64,
) -> io::Result<Option<(u64, u64)>> {
    if offset >= len {
        return Ok(None);
    }
    let fd = file.as_raw_fd();
    let Ok(at) = libc::off_t::try_from(offset) else {
        return Ok(Some((offset, len)));
    };
    // SAFETY: lseek on a descriptor we own; it only moves the file offset.
    let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
    if data < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(Some((offset, len))),
            _ => Err(e),
        };
    }
    // SAFETY: as above.
    let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
    let end = if hole < 0 {
        len
    } else {
        (hole as u64).min(len)
    };
    Ok(Some((data as u64, end)))
}

/// The files cargo flow's standard output and error are written to, when they are files.
pub(crate) fn output_files() -> Vec<std::path::PathBuf> {
    [1, 2]
        .iter()
        .filter_map(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok())
        .filter(|p| p.is_file())
        .collect()
}

/// Whether starting a program failed because it is no program the system can run (a script
/// without `#!`).
pub(crate) fn is_exec_format_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOEXEC)
}

/// What tells one file from another beyond its name, size and time: its inode and the time
/// its inode last changed (a file replaced by another, or changed and set back to its old
/// time, differs here), mixed into one number.
pub(crate) fn file_id(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let changed = (meta.ctime() as u64).wrapping_mul(1_000_000_000) ^ meta.ctime_nsec() as u64;
    meta.ino() ^ meta.dev().rotate_left(32) ^ changed.rotate_left(17)
}

/// What a file that is not a regular file, a folder or a link is: `a FIFO`, `a socket`,
/// `a device`.
pub(crate) fn special_file(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// The permissions of a file meant to be shared, as a plain `File::create` under the usual
/// umask gives: read and write for its owner, read for others.
pub(crate) fn shared_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// How [`open_own`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Own {
    /// Made anew or emptied.
    Fresh,
    /// Written at its end.
    Append,
    /// Made if missing, kept as it is otherwise (a lock).
    Keep,
}

/// Opens a file cargo flow keeps its own state in (a step's log, a run's lock) for writing:
/// never through a link, never waiting on a FIFO; anything but a regular file there is an
/// error that says what it is.
pub(crate) fn open_own(path: &std::path::Path, how: Own) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    // Readable too: a step's log is read back as the step writes it (its latest line).
    options.read(true);
    match how {
        Own::Fresh => options.truncate(true),
        Own::Append => options.append(true),
        Own::Keep => &mut options,
    };
    let file = match options.open(path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io::Error::other("it is a link"));
        }
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(io::Error::other("it is a FIFO"));
        }
        other => other?,
    };
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::other(format!("it is {}", special_file(&kind))));
    }
    blocking(&file)?;
    Ok(file)
}

/// Reads from `offset` without moving the file's position, which a step writing to the same
/// file shares.
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Opens something that is there and is not a regular file (`/dev/stdout`, a FIFO) for
/// writing, without waiting for a reader that is not there.
pub(crate) fn open_to_write_into(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Created where a link leads nowhere yet, as a shell's `>` would.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::other("it is a FIFO that no program reads"),
            _ => e,
        })?;
    blocking(&file)?;
    Ok(file)
}

/// Makes writes to `file` wait again, as they do on a file opened plainly.
fn blocking(file: &std::fs::File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with flags it returned.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Removes whatever is at `path` (a file, a link but not what it leads to, a FIFO, a folder
/// and what it holds); nothing there is not an error.
pub(crate) fn remove_any(path: &std::path::Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether a file may be run (any execute bit set).
pub(crate) fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// The permissions of a file restored from elsewhere: those of a shared file, and
/// executable when it was.
pub(crate) fn restored_file_permissions(executable: bool) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 })
}
