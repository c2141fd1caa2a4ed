"""Training speed of the engine, printed as figures (not a test).

Measures, in one process:
  1. this machine's float32 matmul peak (a large torch matmul);
  2. PAIR_MODADD, 50,000 steps, one run (goal: <= 20 s on 2 cores);
  3. train_many of 9 seeds of PAIR_MODADD: FLOPs per step counted from the model's
     matrix products, achieved GFLOP/s and the fraction of the peak (goal: >= 50%);
     for comparison, the same seeds as one batch on all threads (train_many's way before
     it trained small batches side by side), for --compare-steps steps;
  4. a straightforward torch.nn + autograd + torch.optim.AdamW implementation of the same
     model (grokkit.train.train_reference) for a few hundred steps, and the speed-up;
  5. the engine's fused C kernel with its helper thread (second half of the examples on the
     second CPU), the kernel on one thread, and the pure-torch path (GROKKIT_FUSED=0), one
     run of --path-steps steps each, alternating three times.

The FLOP count is the model's: every product of the step as dense matrices. The C kernel
skips the products with hidden units that the ReLU set to zero (about half of them in
the per-example part), so it executes fewer operations than it is credited with; the
seconds are what to compare.

The single run is timed twice and the faster time counts: on a shared virtual machine two
threads that meet at every operation lose much of their speed whenever the host takes one
of the CPUs away for a while (seen here as runs that suddenly take twice as long).

Usage: python benchmarks/train_speed.py [--steps 50000] [--seeds 9] [--ref-steps 300]
       [--compare-steps 5000] [--path-steps 5000] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import torch

import grokkit
from grokkit.train import _Progress, _plan_batches, _train_group, train_reference


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
    """Matmul FLOPs of one training step of the tied model, as the fast trainer computes it."""
    p, d, h, n = cfg.p, cfg.embed_size, cfg.hidden_size, cfg.n_train
    collapse = 2 * p * d * 2 * h          # W = embed @ [hidden | out.T]
    per_example = 3 * 2 * n * h * p       # logits, dW_out, dh
    embed_grads = 2 * (2 * p * 2 * h * d)  # d embed, d [hidden | out.T]
    return collapse + per_example + embed_grads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, default=9)
    ap.add_argument("--ref-steps", type=int, default=300)
    ap.add_argument("--compare-steps", type=int, default=5_000)
    ap.add_argument("--path-steps", type=int, default=5_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = replace(grokkit.PAIR_MODADD, steps=args.steps)
    flops = modadd_flops_per_step(cfg)

    peak = matmul_peak_gflops()
    engine = sys.modules["grokkit.train"]
    fused = engine.fused_kernel_in_use()
    print(f"threads: {torch.get_num_threads()}; fused C kernel: {'yes' if fused else 'no (pure-torch path)'}")
    print(f"float32 matmul peak (2048^3): {peak:.1f} GFLOP/s")
    print(f"PAIR_MODADD matmul FLOPs per model-step: {flops / 1e6:.2f} MFLOP")

    times, used = [], []
    for _ in range(2):
        torch.set_num_threads(args.threads)
        t = time.perf_counter()
        run = grokkit.train(cfg, progress=False)
        times.append(time.perf_counter() - t)
        used.append(engine._THREADS_SET)   # train uses fewer threads when it finds a CPU busy
    one = min(times)
    print(f"one run, {args.steps} steps: {one:.1f} s, best of {', '.join(f'{x:.1f}' for x in times)} s "
          f"(threads {', '.join(map(str, used))}; "
          f"{one / args.steps * 1e6:.0f} us/step, {flops * args.steps / one / 1e9:.1f} GFLOP/s = "
          f"{flops * args.steps / one / 1e9 / peak:.0%} of peak); final test acc {run.final['test_acc']:.3f}")

    cfgs = [replace(cfg, seed=s, save_every=0) for s in range(args.seeds)]
    torch.set_num_threads(args.threads)
    plan, workers = _plan_batches(cfgs, engine._limit_threads())   # the plan train_many makes now
    t = time.perf_counter()
    grokkit.train_many(cfgs, progress=False, keep_raw=False)
    many = time.perf_counter() - t
    achieved = flops * args.steps * args.seeds / many / 1e9
    print(f"train_many, {args.seeds} seeds x {args.steps} steps: {many:.1f} s "
          f"({many / args.seeds / args.steps * 1e6:.0f} us per model-step), "
          f"{achieved:.1f} GFLOP/s = {achieved / peak:.0%} of peak "
          f"(batches side by side: {[len(b) for b in plan]} on {workers} threads)")

    short = [replace(c, steps=args.compare_steps) for c in cfgs]
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    _train_group(short, "cpu", False, _Progress(0, False))
    batch = (time.perf_counter() - t) / args.seeds / args.compare_steps
    # a fused batch trains on one torch thread, with the kernel's helper thread on the second CPU
    how = "one torch thread and the kernel's helper" if fused else f"{torch.get_num_threads()} threads"
    print(f"  the same {args.seeds} seeds as one batch ({how}), {args.compare_steps} steps: "
          f"{batch * 1e6:.0f} us per model-step, {flops / batch / 1e9 / peak:.0%} of peak "
          f"(side by side is x{batch / (many / args.seeds / args.steps):.2f} faster)")

    ref_cfg = replace(cfg, steps=args.ref_steps)
    t = time.perf_counter()
    train_reference(ref_cfg)
    ref = (time.perf_counter() - t) / args.ref_steps
    print(f"straightforward torch.nn/autograd/AdamW: {ref * 1e6:.0f} us/step "
          f"(50,000 steps would take {ref * 50_000:.0f} s)")
    print(f"speed-up of the fast trainer: x{ref / (one / args.steps):.1f} (one run), "
          f"x{ref / (many / args.seeds / args.steps):.1f} (per model in train_many)")

    if fused:
        # kernel with its helper thread (two threads), kernel on one thread, pure-torch path
        path_cfg = replace(cfg, steps=args.path_steps)
        modes = {"kernel + helper": (True, args.threads), "kernel, one thread": (True, 1),
                 "pure-torch path": (False, args.threads)}
        per_step: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(3):
            for mode, (use_kernel, threads) in modes.items():
                engine.USE_FUSED = use_kernel
                torch.set_num_threads(threads)
                t = time.perf_counter()
                grokkit.train(path_cfg, progress=False)
                per_step[mode].append((time.perf_counter() - t) / args.path_steps)
        engine.USE_FUSED = True
        torch.set_num_threads(args.threads)
        best = {k: min(v) for k, v in per_step.items()}
        print(f"one run, {args.path_steps} steps, alternating (us/step): " + "; ".join(
            f"{m} {', '.join(f'{x * 1e6:.0f}' for x in v)}" for m, v in per_step.items()))
        print(f"  best to best: the kernel on one thread x{best['pure-torch path'] / best['kernel, one thread']:.2f} "
              f"faster than the pure-torch path; with its helper thread x"
              f"{best['kernel, one thread'] / best['kernel + helper']:.2f} faster again")
    end_peak = matmul_peak_gflops()
    print(f"float32 matmul peak again at the end: {end_peak:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
