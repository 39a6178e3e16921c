//! 200 MB of output reaches the log in full while cargo flow's memory stays small. Alone in
//! its test binary, so that the peak RSS of waited-for children is cargo flow's own.

mod common;

use common::write_files;

#[test]
#[cfg(target_os = "linux")]
fn two_hundred_megabytes_are_logged_in_bounded_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: big\n    run: yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c 200000000\n",
        )],
    );
    for mode in ["grouped", "stream"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-flow"))
            .args(["run", "wf.yaml", "--output", mode])
            .current_dir(tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawns");
        let status = child.wait().expect("waits");
        assert!(status.success());
        let size = std::fs::metadata(tmp.path().join("target/flow/logs/wf/big.log"))
            .expect("log")
            .len();
        assert_eq!(size, 200_000_000, "{mode}: the log is complete");
    }
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let max_rss_mib = usage.ru_maxrss / 1024;
    assert!(max_rss_mib < 40, "peak RSS {max_rss_mib} MiB");
    eprintln!("peak RSS of cargo flow with 200 MB of output: {max_rss_mib} MiB");
}
