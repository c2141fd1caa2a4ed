"""Training speed of the engine, printed as figures (not a test).

Measures, in one process:
  1. this machine's float32 matmul peak (a large torch matmul on all allowed threads);
  2. PAIR_MODADD, --steps steps, one run (goals for 50,000 steps: <= 30 s on 2 cores,
     <= 35 s on 1 core; a single model trains on one thread either way);
  3. train_many of --seeds seeds of PAIR_MODADD: FLOPs per step counted from the model's
     matrix products, achieved GFLOP/s and the fraction of the peak (goal: >= 35%), and
     what the lone run's step time of 2 would give with no loss side by side (the busiest
     of --threads workers trains ceil(seeds / threads) models), against the step time 35% needs;
  4. the straightforward implementation (grokkit.reference: the literal torch.nn model,
     autograd, torch.optim.AdamW) for --ref-steps steps, and the engine's speed-up over it;
  5. with --kernel-checkout DIR: the single run of step 2 again in a subprocess that imports
     grokkit from DIR, e.g. a checkout of the last commit with the C kernel (5ba383e) built
     in place (see benchmarks/README.md), so the price of readability is measured on the
     same machine in the same sitting;
  6. with --compile: steps 2 and 3 again with the modular-addition step compiled by
     torch.compile, which grokkit does not offer (docs/performance.md says why).

Usage: python benchmarks/train_speed.py [--steps 50000] [--seeds 9] [--ref-steps 300]
       [--threads 2] [--kernel-checkout DIR] [--compile]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from dataclasses import replace

import torch

import grokkit


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Best-of float32 GFLOP/s of an n x n matmul (the machine's practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e9)
    return best


def modadd_flops_per_step(cfg: grokkit.ModAddConfig) -> float:
    """Matrix-product FLOPs of one training step of the tied model, as grokkit.training computes it."""
    p, d, h, n = cfg.p, cfg.embed_size, cfg.hidden_size, cfg.n_train
    collapse = 2 * (2 * p * d * h)          # W_in = embed @ hidden, W_out = out @ embed.T
    per_example = 3 * (2 * n * h * p)       # logits, d W_out, d h
    chain_rule = 4 * (2 * p * d * h)        # d hidden, d out, d embed (two products)
    return collapse + per_example + chain_rule


def one_run_seconds(steps: int) -> float:
    """Seconds for one PAIR_MODADD run of ``steps`` steps (best of two, after a short warm-up)."""
    cfg = replace(grokkit.PAIR_MODADD, steps=steps)
    grokkit.train(replace(cfg, steps=50), progress=False)
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        grokkit.train(cfg, progress=False)
        best = min(best, time.perf_counter() - t)
    return best


def many_seeds_seconds(cfg: grokkit.ModAddConfig, seeds: int) -> float:
    """Seconds for train_many of ``seeds`` seeds of ``cfg`` (after a short warm-up of the same stacks)."""
    configs = [replace(cfg, seed=s) for s in range(seeds)]
    grokkit.train_many([replace(c, steps=50) for c in configs], progress=False)
    t = time.perf_counter()
    grokkit.train_many(configs, progress=False)
    return time.perf_counter() - t


def compiled_figures(steps: int, seeds: int, flops: float, peak: float) -> None:
    """Print steps 2 and 3 with grokkit.training.modadd_step swapped for its torch.compile'd version."""
    from grokkit import training

    eager = training.modadd_step
    training.modadd_step = torch.compile(eager, dynamic=False)
    try:
        t = time.perf_counter()
        grokkit.train(replace(grokkit.PAIR_MODADD, steps=50), progress=False)
        print(f"torch.compile (inductor, default mode): first 50 steps {time.perf_counter() - t:.1f} s with compiling")
        one = one_run_seconds(steps)
        many = many_seeds_seconds(replace(grokkit.PAIR_MODADD, steps=steps), seeds)
    finally:
        training.modadd_step = eager
    print(f"  compiled: one run {one:.1f} s ({one / steps * 50_000:.1f} s per 50,000 steps); train_many of {seeds} "
          f"seeds {many:.1f} s = {100 * flops * steps * seeds / many / 1e9 / peak:.0f}% of peak")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, default=9)
    ap.add_argument("--ref-steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kernel-checkout", default=None, help="a checkout of grokkit with its C kernel built")
    ap.add_argument("--compile", action="store_true", help="also time the step compiled by torch.compile")
    ap.add_argument("--one-run-only", action="store_true", help=argparse.SUPPRESS)   # the subprocess of step 5
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.one_run_only:
        print(f"{one_run_seconds(args.steps):.2f}")
        return

    cfg = replace(grokkit.PAIR_MODADD, steps=args.steps)
    flops = modadd_flops_per_step(cfg)
    peak = matmul_peak_gflops()
    print(f"torch {torch.__version__}, {args.threads} threads allowed, grokkit at {os.path.dirname(grokkit.__file__)}")
    print(f"matmul peak: {peak:.1f} GFLOP/s (float32, 2048 x 2048)")

    one = one_run_seconds(args.steps)
    per_50k = one / args.steps * 50_000
    print(f"one PAIR_MODADD run, {args.steps:,} steps: {one:.1f} s ({per_50k:.1f} s per 50,000 steps; "
          f"{flops * args.steps / one / 1e9:.1f} GFLOP/s, {100 * flops * args.steps / one / 1e9 / peak:.0f}% of peak)")

    many = many_seeds_seconds(cfg, args.seeds)
    gflops = flops * args.steps * args.seeds / many / 1e9
    print(f"train_many, {args.seeds} seeds: {many:.1f} s, {gflops:.1f} GFLOP/s = {100 * gflops / peak:.0f}% of peak "
          f"({many / args.seeds / args.steps * 50_000:.1f} s per run of 50,000 steps)")
    busiest = math.ceil(args.seeds / args.threads)
    lossless = flops * args.seeds / (busiest * one / args.steps) / 1e9
    needed = flops * args.seeds / (busiest * 0.35 * peak * 1e9)
    print(f"  at the lone run's step time, side by side with no loss ({busiest} of {args.seeds} models on the "
          f"busiest of {args.threads} workers): {lossless:.1f} GFLOP/s = {100 * lossless / peak:.0f}% of peak; "
          f"35% needs {needed * 1e6:.0f} us per model-step ({needed * 50_000:.1f} s per run of 50,000 steps)")

    if args.compile:
        compiled_figures(args.steps, args.seeds, flops, peak)

    from grokkit.reference import train_reference   # here: step 5's subprocess may import an older grokkit

    ref_cfg = replace(cfg, steps=args.ref_steps)
    train_reference(replace(ref_cfg, steps=5))
    t = time.perf_counter()
    train_reference(ref_cfg)
    ref = (time.perf_counter() - t) / args.ref_steps
    print(f"straightforward torch.nn + autograd + torch.optim.AdamW: {ref * 1e3:.1f} ms per step "
          f"({ref * 50_000:.0f} s per 50,000 steps); the engine is {ref / (one / args.steps):.1f}x as fast")

    if args.kernel_checkout:
        env = dict(os.environ, PYTHONPATH=os.path.abspath(args.kernel_checkout))
        out = subprocess.run([sys.executable, __file__, "--one-run-only", "--steps", str(args.steps),
                              "--threads", str(args.threads)], env=env, capture_output=True, text=True,
                             cwd=os.path.abspath(args.kernel_checkout))
        if out.returncode:
            print(f"kernel checkout failed: {out.stderr.strip().splitlines()[-1:]}")
        else:
            kernel = float(out.stdout.split()[-1])
            print(f"the C kernel ({args.kernel_checkout}), same run: {kernel:.1f} s; "
                  f"readable engine / kernel = {one / kernel:.2f}")


if __name__ == "__main__":
    main()
