"""The C kernel of another git revision against the installed one (not a test).

Builds grokkit/_fused.c as it was at REV into a temporary folder (gcc, the flags of
setup.py), then trains the same configs with each kernel and prints, per case, whether
the metrics and the weights agree bit for bit, and the time per kernel call on the
state after training. A kernel edit that changes even one rounding changes which seeds
grok, so the shipped seed sweep (grokkit/data/modadd_seeds) holds only while this
prints "identical" for every case; otherwise recompute it
(python -m grokkit sweep modadd_seeds --seeds 90) and re-check the notebooks' claims.

Usage: python benchmarks/kernel_versions.py [--rev HEAD] [--steps 3000] [--calls 2000]
(the default, HEAD, checks an edit of the kernel before it is committed; rebuild the
installed kernel first: pip install --no-deps --no-build-isolation -e .)
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

import grokkit

REPO = Path(__file__).resolve().parent.parent
ENGINE = sys.modules["grokkit.train"]


def compile_kernel(source: str, folder: Path, flags: Sequence[str] = ()):
    """A _fused.c source text compiled (gcc, the flags of setup.py and ``flags``) into
    ``folder`` and imported as a module of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "_fused.c"                 # this name: the kernel includes itself by it
    src.write_text(source)
    so = folder / ("_fused" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(["gcc", "-O3", "-fno-math-errno", "-Wno-psabi", "-pthread", "-shared", "-fPIC", *flags,
                    f"-I{sysconfig.get_paths()['include']}", str(src), "-o", str(so)], check=True)
    loader = importlib.machinery.ExtensionFileLoader("_fused", str(so))
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_fused", so, loader=loader))
    loader.exec_module(module)
    return module


def kernel_source(rev: str) -> str:
    """grokkit/_fused.c as it was at git revision ``rev``."""
    return subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:grokkit/_fused.c"],
                          check=True, capture_output=True, text=True).stdout


def build_kernel(rev: str, folder: Path):
    """grokkit/_fused.c at ``rev``, compiled and imported as a module of its own."""
    module = compile_kernel(kernel_source(rev), folder)
    return OneThread(module.modadd_grad, module)


class OneThread:
    """A kernel function, called as grokkit.train calls the installed kernel, always without the helper thread.

    Kernels before the seventh session take no 11th (helper) argument; the comparison runs
    on one torch thread, where train passes False, so dropping it changes nothing.
    ``limits``: the module whose MAX_CLASSES and MAX_HIDDEN train checks.
    """

    def __init__(self, grad, limits):
        self.grad, self.MAX_CLASSES, self.MAX_HIDDEN = grad, limits.MAX_CLASSES, limits.MAX_HIDDEN

    def modadd_grad(self, *args):
        return self.grad(*args[:10])


def cases(steps: int) -> dict[str, list[grokkit.ModAddConfig]]:
    """Shapes the kernel specializes on: PAIR_MODADD, untied all pairs, the largest, no padding."""
    base = replace(grokkit.PAIR_MODADD, steps=steps, log_every=100, save_every=steps)
    return {
        "PAIR_MODADD, seeds 165, 0, 1": [replace(base, seed=s) for s in (165, 0, 1)],
        "untied, p 23, H 8, all pairs": [replace(base, embedding="untied", p=23, hidden_size=8,
                                                 symmetric=False, train_fraction=0.5, seed=s) for s in (0, 1)],
        "p 113, H 32, weight decay 0.3": [replace(base, p=113, hidden_size=32, weight_decay=0.3, seed=4)],
        "p 16, H 16": [replace(base, p=16, hidden_size=16, seed=7)],
    }


def us_per_call(kernel, run: grokkit.Run, cfg: grokkit.ModAddConfig, calls: int) -> float:
    """Time of one kernel call on the collapsed weights at the end of ``run``."""
    b = ENGINE._Batch([cfg], "cpu")
    W = torch.from_numpy(np.concatenate([run.W_in[-1], run.W_out[-1].T], 1)[None]).float().contiguous()
    args = (1, b.N, b.p, b.H, W.data_ptr(), b.loc_a.data_ptr(), b.loc_b.data_ptr(), b.loc_y.data_ptr(),
            b.loss_scale, b.G.data_ptr())
    kernel.modadd_grad(*args)
    t = time.perf_counter()
    for _ in range(calls):
        kernel.modadd_grad(*args)
    return (time.perf_counter() - t) / calls * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="HEAD", help="git revision whose kernel to compare with (default HEAD)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    if not ENGINE.fused_kernel_in_use():
        sys.exit("the installed grokkit has no C kernel (or GROKKIT_FUSED=0): nothing to compare")
    installed = ENGINE._fused
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        other = build_kernel(args.rev, Path(tmp))
        all_same = True
        for name, cfgs in cases(args.steps).items():
            runs = {}
            try:
                for label, kernel in ((args.rev, other), ("installed", installed)):
                    ENGINE._fused = kernel
                    runs[label] = grokkit.train_many(cfgs, progress=False)
            finally:
                ENGINE._fused = installed
            a, b = runs[args.rev], runs["installed"]
            same = all(np.array_equal(x.metrics[k], y.metrics[k], equal_nan=True) for x, y in zip(a, b) for k in x.metrics)
            same &= all(np.array_equal(x.W_in, y.W_in) and np.array_equal(x.W_out, y.W_out) for x, y in zip(a, b))
            all_same &= same
            times = [us_per_call(k, b[0], cfgs[0], args.calls) for k in (other, installed, other, installed)]
            print(f"{name}, {args.steps} steps: {'identical' if same else 'DIFFERENT'}; kernel call "
                  f"{args.rev} {min(times[0::2]):.0f} us, installed {min(times[1::2]):.0f} us")
    print("all identical: the shipped results stand" if all_same else
          "the kernels differ: recompute the shipped seed sweep and re-check the notebooks")


if __name__ == "__main__":
    main()
