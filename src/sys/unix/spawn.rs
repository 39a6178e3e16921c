//! Starting a step's process with `posix_spawn`, from an environment prepared once per run.
//!
//! std's `Command` rebuilds, for every process it starts, cargo flow's whole environment as a
//! map and then as C strings, and duplicates each descriptor it is given. On a chain of short
//! steps that work sits between one step's end and the next one's start (measured: about
//! 16 µs of a 600 µs `true`). Here the environment block is built once per run, a step adds
//! only its own variables, and the child's standard streams are set straight from the
//! descriptors given. Like std, it keeps the C library's vfork-based path: no Rust code runs
//! in the child.

use std::ffi::{CString, OsStr, OsString, c_char};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::OnceLock;

use super::super::Exit;
use super::signals::signal_name;

/// The environment every step starts from: cargo flow's own, with the run's variables set
/// over it, as `KEY=value` C strings.
pub(crate) struct Environment {
    /// Each variable's key length and its `KEY=value` string.
    vars: Vec<(usize, CString)>,
}

impl Environment {
    /// cargo flow's environment with `vars` set over it (a later one wins).
    pub(crate) fn inherit<'a>(vars: impl IntoIterator<Item = (&'a OsStr, &'a OsStr)>) -> Self {
        let mut all: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        for (key, value) in vars {
            match all.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value.to_owned(),
                None => all.push((key.to_owned(), value.to_owned())),
            }
        }
        Self {
            // A variable that cannot be a C string cannot be passed on; the plan refuses
            // such variables, and the inherited ones are C strings already.
            vars: all
                .iter()
                .filter_map(|(k, v)| Some((k.len(), entry(k, v).ok()?)))
                .collect(),
        }
    }

    /// Without the variables whose names start with `prefix` (credentials steps must not see).
    pub(crate) fn withhold(mut self, prefix: &[u8]) -> Self {
        self.vars
            .retain(|(len, kv)| !kv.as_bytes()[..*len].starts_with(prefix));
        self
    }

    /// The value of `key`, as a process started from it sees it.
    fn get(&self, key: &OsStr) -> Option<&OsStr> {
        let key = key.as_bytes();
        self.vars.iter().find_map(|(len, kv)| {
            let kv = kv.as_bytes();
            (kv[..*len] == *key).then(|| OsStr::from_bytes(&kv[len + 1..]))
        })
    }
}

/// `KEY=value` as a C string.
fn entry(key: &OsStr, value: &OsStr) -> io::Result<CString> {
    let mut kv = Vec::with_capacity(key.len() + value.len() + 1);
    kv.extend_from_slice(key.as_bytes());
    kv.push(b'=');
    kv.extend_from_slice(value.as_bytes());
    CString::new(kv).map_err(|_| nul_error())
}

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a NUL byte in a command or variable",
    )
}

/// What to start.
pub(crate) struct Spec<'a> {
    /// The program's path; a bare name is looked up in `PATH` (see [`find_program`]).
    pub program: &'a OsStr,
    /// The arguments, the program's name as written first.
    pub argv: &'a [&'a OsStr],
    /// Variables set over the run's environment (a later one wins).
    pub env: &'a [(&'a OsStr, &'a OsStr)],
    /// The folder to start it in, when not cargo flow's own.
    pub cwd: Option<&'a Path>,
    /// Where its standard input comes from.
    pub stdin: &'a Input,
    /// Where its standard output and error go, both, so that they stay in order.
    pub output: Output<'a>,
    /// Descriptors cargo flow keeps open across `exec` that this process must not get (a
    /// jobserver's pipe, for a step that asks for none).
    pub close: &'a [i32],
}

impl Spec<'_> {
    /// Its standard input, output and error.
    fn stdio(&self) -> [BorrowedFd<'_>; 3] {
        let out = match self.output {
            Output::File(f) => f.as_fd(),
            Output::Pipe(p) => p.as_fd(),
        };
        [self.stdin.0.as_fd(), out, out]
    }
}

/// A step's standard input: nothing to read. One is opened per run; a spawn only duplicates
/// it into the child.
#[derive(Debug)]
pub(crate) struct Input(OwnedFd);

/// `/dev/null`, or, were it missing, a pipe whose writing end is closed.
pub(crate) fn null_input() -> io::Result<Input> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .or_else(|_| io::pipe().map(|(reader, _)| reader.into()))
        .map(Input)
}

/// Where a step's output goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Output<'a> {
    /// Straight into its log file.
    File(&'a std::fs::File),
    /// Into a pipe that cargo flow reads.
    Pipe(&'a io::PipeWriter),
}

/// A started process, in a process group of its own whose id is its pid.
#[derive(Debug)]
pub(crate) struct Process {
    pid: libc::pid_t,
}

impl Process {
    /// Its process id, which is also its process group's.
    pub(crate) fn id(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// Waits for it to end, reaps it, and says how it ended.
    pub(crate) fn wait(&self) -> io::Result<Exit> {
        let status = self.wait_status()?;
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(signal_name(sig)),
            (None, None) => Exit::Code(-1),
        })
    }

    fn wait_status(&self) -> io::Result<ExitStatus> {
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes the status of our own child into a valid int.
            if unsafe { libc::waitpid(self.pid, &mut status, 0) } == self.pid {
                return Ok(ExitStatus::from_raw(status));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Where `name` is found for a process started from `env` in `cwd`: a name with a slash is
/// a path already; a bare name is looked up in that process's `PATH`, as `execvp` would.
pub(crate) fn find_program(
    name: &OsStr,
    env: &Environment,
    over: &[(&OsStr, &OsStr)],
    cwd: &Path,
) -> io::Result<OsString> {
    if name.as_bytes().contains(&b'/') {
        return Ok(name.to_owned());
    }
    // Without a PATH, the default `execvp` searches.
    let path = over
        .iter()
        .rev()
        .find(|(k, _)| *k == "PATH")
        .map(|(_, v)| *v)
        .or_else(|| env.get(OsStr::new("PATH")))
        .unwrap_or(OsStr::new("/bin:/usr/bin"));
    which::which_in(name, Some(path), cwd)
        .map(|p| p.into_os_string())
        .map_err(|_| io::Error::from(io::ErrorKind::NotFound))
}

/// Starts `spec` in a new process group, with the signal mask cleared and every signal at its
/// default disposition but those cargo flow was started ignoring (SIGPIPE, which Rust ignores,
/// goes back to its default too).
pub(crate) fn spawn(env: &Environment, spec: &Spec) -> io::Result<Process> {
    let Some(addchdir) = spec.cwd.map_or(Some(None), |_| chdir_action().map(Some)) else {
        // A C library too old to change folders in posix_spawn: std's way, which forks.
        return spawn_with_std(env, spec);
    };
    let program = CString::new(spec.program.as_bytes()).map_err(|_| nul_error())?;
    let argv = spec
        .argv
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| nul_error()))
        .collect::<io::Result<Vec<_>>>()?;
    let mut argv_ptrs: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let over = over_entries(spec.env)?;
    let mut envp: Vec<*mut c_char> = env
        .vars
        .iter()
        .filter(|(len, kv)| {
            !over
                .iter()
                .any(|(l, o)| l == len && o.as_bytes()[..*l] == kv.as_bytes()[..*len])
        })
        .map(|(_, kv)| kv.as_ptr().cast_mut())
        .chain(over.iter().map(|(_, kv)| kv.as_ptr().cast_mut()))
        .collect();
    envp.push(std::ptr::null_mut());
    let cwd = spec
        .cwd
        .map(|d| CString::new(d.as_os_str().as_bytes()).map_err(|_| nul_error()))
        .transpose()?;

    let actions = file_actions(spec, addchdir, cwd.as_deref())?;
    let attr = attributes()?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: program, argv and envp are NUL-terminated strings in NULL-terminated arrays
    // that outlive the call; actions and attr are initialised.
    check(unsafe {
        libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            actions.as_ptr(),
            attr.as_ptr(),
            argv_ptrs.as_ptr(),
            envp.as_ptr(),
        )
    })?;
    Ok(Process { pid })
}

/// What the child does before `exec`: its standard streams set from the spec's descriptors,
/// and its folder changed when `cwd` is given.
fn file_actions(
    spec: &Spec,
    addchdir: Option<AddChdir>,
    cwd: Option<&std::ffi::CStr>,
) -> io::Result<Object<libc::posix_spawn_file_actions_t>> {
    let mut actions = Object::new(
        libc::posix_spawn_file_actions_init,
        libc::posix_spawn_file_actions_destroy,
    )?;
    for (target, fd) in spec.stdio().iter().enumerate() {
        // SAFETY: `actions` is initialised; both descriptors are plain integers here.
        check(unsafe {
            libc::posix_spawn_file_actions_adddup2(actions.as_mut(), fd.as_raw_fd(), target as i32)
        })?;
    }
    for &fd in spec.close {
        // SAFETY: `actions` is initialised; closing a descriptor in the child only.
        check(unsafe { libc::posix_spawn_file_actions_addclose(actions.as_mut(), fd) })?;
    }
    if let (Some(add), Some(dir)) = (addchdir, cwd) {
        // SAFETY: `add` is posix_spawn_file_actions_addchdir_np; `dir` outlives the spawn.
        check(unsafe { add(actions.as_mut(), dir.as_ptr()) })?;
    }
    Ok(actions)
}

/// The child's attributes: a process group of its own, an empty signal mask, and signals at
/// their defaults (see [`to_default`]).
fn attributes() -> io::Result<Object<libc::posix_spawnattr_t>> {
    let mut attr = Object::new(libc::posix_spawnattr_init, libc::posix_spawnattr_destroy)?;
    // SAFETY: every pointer is to initialised local data; the sigset functions only write
    // into `set`.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        check(libc::posix_spawnattr_setsigmask(
            attr.as_mut(),
            set.as_ptr(),
        ))?;
        check(libc::posix_spawnattr_setsigdefault(
            attr.as_mut(),
            to_default(),
        ))?;
        check(libc::posix_spawnattr_setpgroup(attr.as_mut(), 0))?;
        let flags = libc::POSIX_SPAWN_SETPGROUP
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        check(libc::posix_spawnattr_setflags(
            attr.as_mut(),
            flags as libc::c_short,
        ))?;
    }
    Ok(attr)
}

/// The signals a child starts with at their default disposition: all but those ignored in
/// cargo flow when the first step starts, which a child inherits, as through a plain `exec`.
/// (SIGINT, SIGTERM, SIGHUP and SIGQUIT are not among them even when cargo flow was started
/// ignoring them, under `nohup` or in a shell's background job: it handles them itself, and
/// an `exec` resets a handled signal.) Naming them all matters for speed: the C library
/// resets any signal not named here in the child with two system calls instead of one, 64
/// extra calls at every start (13 µs of a 600 µs step).
fn to_default() -> &'static libc::sigset_t {
    struct Set(libc::sigset_t);
    // SAFETY: a sigset_t is plain data, only read once made.
    unsafe impl Sync for Set {}
    unsafe impl Send for Set {}
    static SET: OnceLock<Set> = OnceLock::new();
    &SET.get_or_init(|| {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises the set; sigaction with no new action only reads
        // the current one into `old`; sigdelset edits the initialised set.
        unsafe {
            libc::sigfillset(set.as_mut_ptr());
            for sig in 1..=last_signal() {
                let mut old = MaybeUninit::<libc::sigaction>::zeroed();
                if sig != libc::SIGPIPE
                    && libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) == 0
                    && old.assume_init().sa_sigaction == libc::SIG_IGN
                {
                    libc::sigdelset(set.as_mut_ptr(), sig);
                }
            }
            Set(set.assume_init())
        }
    })
    .0
}

/// The highest signal number.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn last_signal() -> libc::c_int {
    libc::SIGRTMAX()
}

/// The highest signal number: the classic 31 (a signal not named for reset is still reset,
/// with one more call).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn last_signal() -> libc::c_int {
    31
}

/// The variables set over the run's environment as `KEY=value` strings with their key
/// lengths, the last of each key only.
fn over_entries(env: &[(&OsStr, &OsStr)]) -> io::Result<Vec<(usize, CString)>> {
    let mut out: Vec<(usize, CString)> = Vec::with_capacity(env.len());
    for (i, (k, v)) in env.iter().enumerate() {
        if env[i + 1..].iter().any(|(later, _)| later == k) {
            continue;
        }
        out.push((k.len(), entry(k, v)?));
    }
    Ok(out)
}

/// A posix_spawn return value as a result.
fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

type AddChdir =
    unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const c_char) -> libc::c_int;

/// `posix_spawn_file_actions_addchdir_np`, looked up at run time: glibc has it from 2.29,
/// macOS from 10.15, and a direct reference would stop cargo flow building on older ones.
fn chdir_action() -> Option<AddChdir> {
    static FOUND: OnceLock<Option<AddChdir>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let name = c"posix_spawn_file_actions_addchdir_np";
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
        let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        // SAFETY: the symbol, when present, has this signature (POSIX draft, glibc, macOS).
        (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, AddChdir>(f) })
    })
}

/// The way std starts a process in another folder where posix_spawn cannot.
fn spawn_with_std(env: &Environment, spec: &Spec) -> io::Result<Process> {
    use std::os::unix::process::CommandExt;
    let (arg0, args) = spec.argv.split_first().ok_or(io::ErrorKind::InvalidInput)?;
    let mut cmd = std::process::Command::new(spec.program);
    cmd.arg0(arg0).args(args).env_clear();
    for (len, kv) in &env.vars {
        let kv = kv.as_bytes();
        cmd.env(
            OsStr::from_bytes(&kv[..*len]),
            OsStr::from_bytes(&kv[len + 1..]),
        );
    }
    cmd.envs(spec.env.iter().copied());
    if let Some(dir) = spec.cwd {
        cmd.current_dir(dir);
    }
    let [stdin, stdout, stderr] = spec.stdio();
    cmd.stdin(stdin.try_clone_to_owned()?)
        .stdout(stdout.try_clone_to_owned()?)
        .stderr(stderr.try_clone_to_owned()?)
        .process_group(0);
    // The child is waited for through its pid; dropping std's handle neither waits nor kills.
    let child = cmd.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    Ok(Process { pid })
}

/// One of posix_spawn's C objects (file actions, attributes): initialised when made,
/// destroyed when dropped, and never moved in between, as the C library may keep pointers
/// into it.
struct Object<T> {
    value: Box<MaybeUninit<T>>,
    destroy: unsafe extern "C" fn(*mut T) -> libc::c_int,
}

impl<T> Object<T> {
    fn new(
        init: unsafe extern "C" fn(*mut T) -> libc::c_int,
        destroy: unsafe extern "C" fn(*mut T) -> libc::c_int,
    ) -> io::Result<Self> {
        let mut value = Box::new(MaybeUninit::uninit());
        // SAFETY: `init` writes an initial value into the allocation.
        check(unsafe { init(value.as_mut_ptr()) })?;
        Ok(Self { value, destroy })
    }

    fn as_mut(&mut self) -> *mut T {
        self.value.as_mut_ptr()
    }

    fn as_ptr(&self) -> *const T {
        self.value.as_ptr()
    }
}

impl<T> Drop for Object<T> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            (self.destroy)(self.value.as_mut_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn run(spawner: fn(&Environment, &Spec) -> io::Result<Process>, cwd: Option<&Path>) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let out_path = dir.path().join("out");
        let out = File::create(&out_path).expect("create");
        let null = null_input().expect("null");
        let env = Environment::inherit([
            (OsStr::new("FLOW_A"), OsStr::new("base")),
            (OsStr::new("FLOW_B"), OsStr::new("base")),
        ]);
        let over = [
            (OsStr::new("FLOW_B"), OsStr::new("first")),
            (OsStr::new("FLOW_B"), OsStr::new("step")),
            (OsStr::new("FLOW_C"), OsStr::new("new")),
        ];
        let argv = [
            OsStr::new("sh"),
            OsStr::new("-c"),
            OsStr::new(
                "echo \"$FLOW_A $FLOW_B $FLOW_C $(env | grep -c ^FLOW_B=)\"; pwd; echo err >&2; \
                 awk '/^SigIgn/ { print $2 }' /proc/self/status",
            ),
        ];
        let spec = Spec {
            close: &[],
            program: OsStr::new("/bin/sh"),
            argv: &argv,
            env: &over,
            cwd,
            stdin: &null,
            output: Output::File(&out),
        };
        let p = spawner(&env, &spec).expect("spawns");
        // Its own process group, whose id is its pid: unreaped, it keeps it.
        // SAFETY: getpgid only reads.
        assert_eq!(unsafe { libc::getpgid(p.pid) }, p.pid);
        assert_eq!(p.wait().expect("waits"), Exit::Code(0));
        let text = std::fs::read_to_string(&out_path).expect("read");
        // The last line: the signals the child ignores. cargo flow ignores SIGPIPE; its
        // children must not inherit that.
        let (text, ignored) = text.trim_end().rsplit_once('\n').expect("lines");
        let ignored = u64::from_str_radix(ignored, 16).expect("hex mask");
        assert_eq!(ignored & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored");
        format!("{text}\n")
    }

    #[test]
    fn posix_spawn_sets_env_cwd_and_streams() {
        let dir = std::env::temp_dir().canonicalize().expect("temp");
        let text = run(spawn, Some(&dir));
        assert_eq!(text, format!("base step new 1\n{}\nerr\n", dir.display()));
    }

    #[test]
    fn the_fallback_through_std_does_the_same() {
        let dir = std::env::temp_dir().canonicalize().expect("temp");
        let text = run(spawn_with_std, Some(&dir));
        assert_eq!(text, format!("base step new 1\n{}\nerr\n", dir.display()));
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let env = Environment::inherit([]);
        let e = find_program(
            OsStr::new("surely-no-such-program-x"),
            &env,
            &[],
            Path::new("/"),
        )
        .expect_err("missing");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let found = find_program(OsStr::new("sh"), &env, &[], Path::new("/")).expect("sh");
        assert!(Path::new(&found).is_absolute());
        // A step's own PATH is the one searched.
        let over = [(OsStr::new("PATH"), OsStr::new("/nonexistent"))];
        assert!(find_program(OsStr::new("sh"), &env, &over, Path::new("/")).is_err());
    }
}
