#!/usr/bin/env python3
"""Several independent cargo builds in one workflow, with and without the run's jobserver.

Generates BUILDS cargo workspaces (each its own target dir) of CRATES crates with no
dependencies but plenty of code, and a workflow that builds them all at once. Runs it with the
jobserver (every nested cargo shares the run's -j slots) and with --no-jobserver (each cargo
takes every CPU), RUNS times each, alternating, and prints the medians: wall time, the peak of
the memory of all processes summed (sampled every 50 ms from /proc), and the peak and mean
number of compiler processes at once (the load cargo flow puts on the machine).

    cargo build --release
    python3 benches/jobserver.py            # BUILDS=3 CRATES=4 RUNS=3 by default
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BUILDS = int(os.environ.get("BUILDS", "3"))
CRATES = int(os.environ.get("CRATES", "4"))
RUNS = int(os.environ.get("RUNS", "3"))
FLOW = os.environ.get("FLOW", os.path.abspath("target/release/cargo-flow"))
PARALLEL = os.cpu_count() or 2


def crate_source(n):
    """A crate whose compile takes a few seconds: many small generic functions, used."""
    fns = "\n".join(
        f"pub fn f{i}<T: Clone + std::fmt::Debug>(x: T, n: usize) -> Vec<String> {{"
        f" (0..n).map(|k| format!(\"{{:?}}{i}{{}}\", x.clone(), k)).collect() }}"
        for i in range(n)
    )
    calls = "\n".join(f"    v.extend(f{i}({i}u64, 2));" for i in range(n))
    return f"{fns}\npub fn all() -> Vec<String> {{\n    let mut v = Vec::new();\n{calls}\n    v\n}}\n"


def make_builds(root):
    for b in range(BUILDS):
        ws = os.path.join(root, f"build{b}")
        members = [f"c{c}" for c in range(CRATES)]
        os.makedirs(ws)
        with open(os.path.join(ws, "Cargo.toml"), "w") as f:
            f.write(f"[workspace]\nmembers = {members!r}\nresolver = \"2\"\n".replace("'", '"'))
        for m in members:
            os.makedirs(os.path.join(ws, m, "src"))
            with open(os.path.join(ws, m, "Cargo.toml"), "w") as f:
                f.write(f"[package]\nname = \"{m}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
            with open(os.path.join(ws, m, "src", "lib.rs"), "w") as f:
                f.write(crate_source(400))
    steps = "".join(
        f"  - id: build{b}\n    run: cargo build -q --manifest-path build{b}/Cargo.toml\n"
        f"    timeout: 30m\n"
        for b in range(BUILDS)
    )
    with open(os.path.join(root, "wf.yaml"), "w") as f:
        f.write("name: builds\nsteps:\n" + steps)


def sample(stop, out):
    """Until `stop` is set: the summed resident memory of all processes, and how many
    compilers run."""
    page = os.sysconf("SC_PAGE_SIZE")
    while not stop.is_set():
        total = 0
        compilers = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * page
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "rustc":
                        compilers += 1
            except OSError:
                continue
        out.append((total, compilers))
        time.sleep(0.05)


def one_run(root, jobserver):
    subprocess.run(["rm", "-rf"] + [os.path.join(root, f"build{b}", "target") for b in range(BUILDS)])
    args = [FLOW, "flow", "run", "wf.yaml", "-j", str(PARALLEL), "-q", "--output", "none"]
    if not jobserver:
        args.append("--no-jobserver")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "CARGO_MAKEFLAGS", "MFLAGS")}
    samples = []
    stop = threading.Event()
    t = threading.Thread(target=sample, args=(stop, samples))
    t.start()
    start = time.perf_counter()
    r = subprocess.run(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    stop.set()
    t.join()
    if r.returncode != 0:
        sys.exit(f"run failed: {r.stderr.decode()[-500:]}")
    idle = min(s[0] for s in samples)
    peak_mem = max(s[0] for s in samples) - idle
    peak_rustc = max(s[1] for s in samples)
    mean_rustc = statistics.mean(s[1] for s in samples)
    return wall, peak_mem, peak_rustc, mean_rustc


def main():
    with tempfile.TemporaryDirectory() as root:
        make_builds(root)
        results = {True: [], False: []}
        for _ in range(RUNS):
            for js in (True, False):
                results[js].append(one_run(root, js))
        print(f"{BUILDS} cargo builds of {CRATES} crates each, -j {PARALLEL}, median of {RUNS} runs")
        print(f"{'':16} {'wall':>8} {'peak memory':>12} {'rustc at once':>14} {'mean rustc':>11}")
        for js, label in ((True, "jobserver"), (False, "--no-jobserver")):
            rs = results[js]
            wall = statistics.median(r[0] for r in rs)
            mem = statistics.median(r[1] for r in rs) / 2**20
            peak = statistics.median(r[2] for r in rs)
            mean = statistics.median(r[3] for r in rs)
            print(f"{label:16} {wall:7.1f}s {mem:10.0f} MiB {peak:14.0f} {mean:11.2f}")


if __name__ == "__main__":
    main()
