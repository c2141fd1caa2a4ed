"""The C kernel's speed at each vector width, and another revision's as each x86-64 level runs it (not a test).

The installed kernel is compiled for vectors of 16 floats (AVX-512), 8 (AVX2 + FMA) and
4 (SSE2) and uses the widest this processor runs; here it is timed at each of them on the
collapsed weights of a PAIR_MODADD run. With --rev, the kernel of that git revision is
built once per x86-64 level (x86-64-v4, -v3 and the baseline, with any target_clones
attribute removed and -march set to that level), which is the code a processor of that
level runs, and timed the same way. Kernels before the eighth session used 16-float
vectors everywhere; on an AVX2 processor the compiler split them, badly.

With --train-steps N, PAIR_MODADD is also trained N steps with each of them (one torch
thread, so no helper thread) and the whole step timed.

Usage: python benchmarks/kernel_widths.py [--rev REV] [--steps 3000] [--calls 1000] [--train-steps 0]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import grokkit
from kernel_versions import OneThread, compile_kernel, kernel_source   # beside this script

ENGINE = sys.modules["grokkit.train"]
LEVELS = {"x86-64-v4": ("avx512f", "avx512bw", "avx512vl", "avx512dq"), "x86-64-v3": ("avx2", "fma"), "x86-64": ()}


def cpu_flags() -> set[str]:
    """The processor's feature flags (empty where /proc/cpuinfo is missing)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    found = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(found.group(1).split()) if found else set()


def build_for_level(rev: str, level: str, folder: Path):
    """REV's grokkit/_fused.c built for one x86-64 level only, imported as a module of its own."""
    source = re.sub(r"__attribute__\(\(target_clones\([^)]*\)\)\)", "", kernel_source(rev))
    return compile_kernel(source, folder / level, ["-DGROKKIT_ONE_TARGET", f"-march={level}"])


def us_per_call(call, calls: int) -> float:
    """Microseconds per call, after one warm-up call."""
    call()
    t = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - t) / calls * 1e6


def seconds_per_step(grad, steps: int) -> float:
    """Seconds per step of PAIR_MODADD trained by grokkit.train on one thread with kernel ``grad``."""
    installed = ENGINE._fused
    ENGINE._fused = OneThread(grad, installed)
    try:
        t = time.perf_counter()
        grokkit.train(replace(grokkit.PAIR_MODADD, steps=steps, save_every=steps), progress=False)
        return (time.perf_counter() - t) / steps
    finally:
        ENGINE._fused = installed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default=None, help="also time this git revision's kernel per x86-64 level")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--train-steps", type=int, default=0,
                    help="also train PAIR_MODADD this many steps with each kernel (one thread) and time a step")
    args = ap.parse_args()
    if not ENGINE.fused_kernel_in_use():
        sys.exit("the installed grokkit has no C kernel (or GROKKIT_FUSED=0): nothing to time")
    torch.set_num_threads(1)
    cfg = replace(grokkit.PAIR_MODADD, steps=args.steps, save_every=args.steps)
    run = grokkit.train(cfg, progress=False)
    b = ENGINE._Batch([cfg], "cpu")
    W = torch.from_numpy(np.concatenate([run.W_in[-1], run.W_out[-1].T], 1)[None]).float().contiguous()
    G = torch.zeros_like(W)
    base = (1, b.N, b.p, b.H, W.data_ptr(), b.loc_a.data_ptr(), b.loc_b.data_ptr(), b.loc_y.data_ptr(),
            b.loss_scale, G.data_ptr())
    kernel = ENGINE._fused
    grads = {f"installed, width {w}": (lambda *a, w=w: kernel.modadd_grad(*a, False, w)) for w in kernel.WIDTHS}
    with tempfile.TemporaryDirectory() as tmp:
        if args.rev:
            flags = cpu_flags()
            for level, needs in LEVELS.items():
                if all(f in flags for f in needs):
                    grads[f"{args.rev} built for {level}"] = build_for_level(args.rev, level, Path(tmp)).modadd_grad
        times: dict[str, list[float]] = {k: [] for k in grads}
        for _ in range(3):                      # interleaved: a slow moment of the host hits all alike
            for name, grad in grads.items():
                times[name].append(us_per_call(lambda: grad(*base), args.calls))
        print(f"PAIR_MODADD after {args.steps} steps, one kernel call (one thread, no helper), us; best of 3:")
        for name, t in times.items():
            print(f"  {name:32s} {min(t):8.0f}   ({', '.join(f'{x:.0f}' for x in t)})")
        if args.train_steps:
            print(f"PAIR_MODADD trained {args.train_steps} steps on one thread, whole step:")
            for name, grad in grads.items():
                step = seconds_per_step(grad, args.train_steps)
                print(f"  {name:32s} {step * 1e6:8.0f} us   (50,000 steps: {step * 50_000:.0f} s)")


if __name__ == "__main__":
    main()
