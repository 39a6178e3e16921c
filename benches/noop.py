#!/usr/bin/env python3
"""A fully cached run against `git status --porcelain` on the same tree.

Generates a git repository of FILES source files (SIZE bytes each, in folders of 100) and a
workflow of STEPS cached steps that all take `src/**` as their input, runs it once so that
every step is recorded, then times RUNS fully cached runs (nothing changed) and RUNS
`git status --porcelain`, alternating, and prints the medians, their ratio, and the peak
memory of a cached run (`/usr/bin/time -f %M`). Also times the same on a checkout given as
TREE (this repository by default: its own workflow's inputs), when TREE is set.

    cargo build --release
    python3 benches/noop.py                 # FILES=20000 SIZE=4096 STEPS=3 RUNS=15
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FILES = int(os.environ.get("FILES", "20000"))
SIZE = int(os.environ.get("SIZE", "4096"))
STEPS = int(os.environ.get("STEPS", "3"))
RUNS = int(os.environ.get("RUNS", "15"))
FLOW = os.environ.get("FLOW", os.path.abspath("target/release/cargo-flow"))


def generate(root):
    """The tree, committed, and the workflow."""
    for i in range(FILES):
        folder = os.path.join(root, "src", f"d{i // 100:04}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"f{i:05}.rs"), "wb") as f:
            f.write((f"// file {i}\n".encode() * (SIZE // 12 + 1))[:SIZE])
    steps = "".join(
        f"  - id: s{n}\n    run: 'true'\n    cache: {{inputs: ['src/**']}}\n"
        for n in range(STEPS)
    )
    with open(os.path.join(root, ".flow.yaml"), "w") as f:
        f.write(f"name: ci\nsteps:\n{steps}")
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("/target\n")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(git + ["init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-qm", "tree"], cwd=root, check=True)


def timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_kb(cmd, cwd):
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return int(out.stderr.strip().splitlines()[-1])


def compare(root, workflow):
    flow = [FLOW, "flow", workflow]
    git = ["git", "status", "--porcelain"]
    # A file written less than two seconds before it is hashed proves nothing by its time,
    # and is read again: let the tree's times settle first, as an edited tree's have.
    time.sleep(2.5)
    subprocess.run(flow, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ran = subprocess.run(flow + ["--explain"], cwd=root, capture_output=True, text=True)
    if "cached" not in ran.stderr or ran.returncode != 0:
        sys.exit(f"the second run was not cached:\n{ran.stderr}")
    f, g = [], []
    for _ in range(RUNS):
        f.append(timed(flow, root))
        g.append(timed(git, root))
    fm, gm = statistics.median(f), statistics.median(g)
    print(f"{root}: cached `cargo flow {workflow}` {fm * 1000:.0f} ms, "
          f"`git status --porcelain` {gm * 1000:.0f} ms: {fm / gm:.2f}x; "
          f"peak memory {peak_kb(flow, root) / 1024:.1f} MB "
          f"(git {peak_kb(git, root) / 1024:.1f} MB)")


def main():
    root = tempfile.mkdtemp(prefix="flow-noop-")
    try:
        generate(root)
        print(f"{FILES} files of {SIZE} bytes, {STEPS} cached steps on src/**, median of {RUNS}")
        compare(root, "ci")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    tree = os.environ.get("TREE")
    if tree:
        compare(tree, os.environ.get("WORKFLOW", "ci"))


if __name__ == "__main__":
    main()
