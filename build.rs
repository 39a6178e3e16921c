//! Links the unwinder statically on GNU/Linux, when the C compiler can say where it is.
//!
//! Rust links `libgcc_s.so` for unwinding (which turns a bug in handling one step into that
//! step's error instead of a crash). Loading it costs every start of cargo flow about 60 µs
//! (its start-up code probes the CPU), a few percent of a one-step run. The same unwinder is
//! in `libgcc_eh.a`; linked from there, the linker drops `libgcc_s.so` as unneeded. Where the
//! archive cannot be found (another C library, a cross build, a compiler that does not know),
//! nothing changes.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let var = |k: &str| env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let Ok(out) = Command::new(&cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let printed = String::from_utf8_lossy(&out.stdout);
    let archive = Path::new(printed.trim());
    // A compiler that does not know the file prints its bare name back.
    if !out.status.success() || !archive.is_absolute() || !archive.is_file() {
        return;
    }
    if let Some(dir) = archive.parent() {
        // A compiler update may move it; then the search path must be found again.
        println!("cargo:rerun-if-changed={}", archive.display());
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
}
