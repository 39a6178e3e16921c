//! One run of a workflow at a time. A workflow's state (logs, `$FLOW_OUTPUT` files, artifacts,
//! cache records) is locked as cargo locks its build directory: a second run waits, and says
//! so, until the first ends. Different workflows run at once. The lock is the operating
//! system's (`flock`), so it goes with the process that held it, however that ended.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a waiting run looks again, and checks for Ctrl-C.
const POLL: Duration = Duration::from_millis(20);

/// The lock of one workflow's state, held until dropped.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// The lock file could not be made or locked.
    Io(PathBuf, io::Error),
    /// A signal came while waiting for another run.
    Interrupted(i32),
}

/// The file that locks the state of the workflow whose files are named `folder`.
pub(crate) fn lock_path(state_dir: &Path, folder: &str) -> PathBuf {
    state_dir.join("locks").join(format!("{folder}.lock"))
}

impl RunLock {
    /// Takes the lock of the workflow whose files are named `folder` under `state_dir`
    /// (`target/flow`). When another run holds it, `waiting` is told once, with that run's
    /// process id when it is known, and the lock is taken as soon as that run ends; a signal
    /// that `interrupted` reports meanwhile gives up.
    pub(crate) fn acquire(
        state_dir: &Path,
        folder: &str,
        waiting: impl FnOnce(Option<u32>),
        mut interrupted: impl FnMut() -> Option<i32>,
    ) -> Result<RunLock, LockError> {
        let path = lock_path(state_dir, folder);
        let fail = |e| LockError::Io(path.clone(), e);
        let open = || crate::sys::open_own(&path, crate::sys::Own::Keep);
        // The folder is made only the first time: a run that finds it costs no more calls.
        let mut file = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(fail)?;
                }
                open()
            }
            other => other,
        }
        .map_err(fail)?;
        let mut waiting = Some(waiting);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
            }
            if let Some(tell) = waiting.take() {
                tell(holder(&mut file));
            }
            if let Some(sig) = interrupted() {
                return Err(LockError::Interrupted(sig));
            }
            std::thread::sleep(POLL);
        }
        // Who holds it, for whoever waits next, always as many bytes, so that the file needs no
        // truncating (which costs a journal commit on some file systems: 0.5 ms measured).
        // A failure here changes nothing but the message.
        let _ = file
            .rewind()
            .and_then(|()| file.write_all(format!("{:>10}\n", std::process::id()).as_bytes()));
        Ok(RunLock { _file: file })
    }
}

/// The process id written by the run that holds the lock.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first =
            RunLock::acquire(dir.path(), "wf", |_| panic!("no wait"), || None).expect("first");
        let mut told = None;
        let second = RunLock::acquire(dir.path(), "wf", |pid| told = Some(pid), || Some(2));
        assert!(matches!(second, Err(LockError::Interrupted(2))));
        assert_eq!(told, Some(Some(std::process::id())));
        // Another workflow is not held up.
        let other = RunLock::acquire(dir.path(), "other", |_| panic!("no wait"), || None);
        assert!(other.is_ok());
        drop(first);
        let third = RunLock::acquire(dir.path(), "wf", |_| panic!("no wait"), || None);
        assert!(third.is_ok());
    }
}
