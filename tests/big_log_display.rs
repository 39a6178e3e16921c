//! Showing a huge log (with `-v`, or the tail of a failure) streams it: cargo flow runs under
//! a 256 MiB address-space limit while a step prints a single 100 MB line.

mod common;

use common::write_files;

#[test]
#[cfg(target_os = "linux")]
fn showing_a_huge_log_streams_it() {
    // Separate binary run: -v shows a successful step's whole output, a failure shows the tail
    // of a single 100 MB line; neither may hold it in memory.
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(
        tmp.path(),
        &[(
            "wf.yaml",
            "steps:\n  - id: big\n    run: head -c 100000000 /dev/zero | tr '\\\\0' x; exit 1\n",
        )],
    );
    let script = "ulimit -v 262144; exec \"$0\" run wf.yaml -v";
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_cargo-flow"))
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("runs");
    assert_eq!(
        out.code(),
        Some(1),
        "a 100 MB line is shown within 256 MiB of address space"
    );
}
