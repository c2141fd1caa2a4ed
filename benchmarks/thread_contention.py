"""Training in a Jupyter kernel while another process keeps a CPU busy: fixed vs adaptive threads.

Two torch threads on a 2-core machine where something else is running (another learner's
kernel, a sweep) can slow the trainer's many small operations down by an order of
magnitude inside a Jupyter kernel. ``grokkit.train_many`` therefore counts the other runnable
tasks before each training call and trains only as many stacks side by side as CPUs are free. This script measures both
choices in a real kernel (through nbclient, as a notebook runs), quiet and with
``--busy`` busy-looping processes at nice 19, and prints the times and ratios.

    python benchmarks/thread_contention.py [--busy 1] [--models 12] [--steps 300]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient

CELL = """
import time
from dataclasses import replace
import torch, grokkit
from grokkit import parallel
if {forced}:
    parallel.busy_cpus = lambda *a, **k: 0           # ignore the load: always as many stacks as the quota allows
base = grokkit.ModAddConfig(p=47, train_fraction=0.5, embed_size=32, hidden_size=24, lr=3e-3,
                            steps={steps}, log_every=25, save_every=0)
start = time.perf_counter()
grokkit.train_many([replace(base, seed=s) for s in range({models})], progress=False)
print(f"{{time.perf_counter() - start:.3f}} {{torch.get_num_threads()}}")
"""


def in_kernel(forced: bool, models: int, steps: int) -> tuple[float, int]:
    """Seconds for train_many of `models` small models in a fresh python3 kernel, and the threads used."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL.format(forced=forced, models=models,
                                                                                steps=steps))])
    NotebookClient(nb, timeout=1800, kernel_name="python3").execute()
    seconds, threads = nb.cells[0].outputs[0]["text"].split()
    return float(seconds), int(threads)


def main() -> None:
    """Measure quiet, then with busy processes; print a table with the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy", type=int, default=1, help="busy-looping processes at nice 19 (default 1)")
    ap.add_argument("--models", type=int, default=12)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    rows = []
    for load in ("quiet", f"{args.busy} busy"):
        busy = []
        if load != "quiet":
            busy = [subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", "while True: pass"])
                    for _ in range(args.busy)]
            time.sleep(1.0)
        try:
            for forced in (True, False):
                seconds, threads = in_kernel(forced, args.models, args.steps)
                rows.append((load, "fixed (all threads)" if forced else "adaptive", threads, seconds))
        finally:
            for p in busy:
                p.kill()
    print(f"train_many of {args.models} models x {args.steps} steps (p 47, E 32, H 24) in a Jupyter kernel")
    print(f"{'load':<10} {'threads':<22} {'used':>4} {'seconds':>8}")
    for load, how, threads, seconds in rows:
        print(f"{load:<10} {how:<22} {threads:>4} {seconds:>8.2f}")
    t = {(load, how): s for load, how, _, s in rows}
    busy = f"{args.busy} busy"
    print(f"busy / quiet: fixed x{t[(busy, 'fixed (all threads)')] / t[('quiet', 'fixed (all threads)')]:.1f}, "
          f"adaptive x{t[(busy, 'adaptive')] / t[('quiet', 'adaptive')]:.1f}; quiet adaptive / fixed "
          f"x{t[('quiet', 'adaptive')] / t[('quiet', 'fixed (all threads)')]:.2f}")


if __name__ == "__main__":
    main()
