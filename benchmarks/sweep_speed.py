"""Speed of the sweeps, printed as figures (not a test).

Measures, in one process and with the same torch thread count throughout:
  1. this machine's float32 matmul peak (best of a 2048 x 2048 torch matmul);
  2. the parity grid's throughput: whole (hidden size, train size) cells (45 models each)
     trained through grokkit.sweep.run_sweep for a few hundred steps -- one model per
     train_many call, as the sweep does, and (--chunks 45,1) as one batched call of 45 --
     in model-steps/s and
     achieved GFLOP/s of the training arithmetic (matmul FLOPs: X@W, h@w_out, h.T@dz,
     X.T@d_pre per step, plus the test evaluation at logged steps), beside the peak;
  3. an estimate of the full 1,125-run grid's time, from a fit of the measured time per
     step of a cell to (fixed cost + FLOPs / rate), summed over the 25 cells x 20,000 steps;
  4. the same for the modular-addition seed sweep (batches of --seed-batch models);
  5. with --kernels, the individual products of the largest parity cell, and the cheaper
     equivalents the engine could use (what would make the grid faster);
  6. with --scaling (alone), the parity grid's speed-up with 1, 2 and (simulated) 8 and 32
     workers: predicted from the batches' arithmetic and the scheduler's order, measured for
     1 and 2 worker processes on a short version of the whole grid (--scaling-steps), and
     simulated for 8 and 32 from the times measured per model; with a CUDA device, also
     models per second on the GPU.

The machine is shared: other processes' load lowers every figure, including the peak.

Usage: python benchmarks/sweep_speed.py [--steps 300] [--cells 16x750,64x1250,258x1750]
       [--chunks 1] [--threads 1] [--seed-batch 5] [--kernels]
       python benchmarks/sweep_speed.py --scaling [--scaling-steps 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from grokkit import sweep


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """Best-of float32 GFLOP/s of an n x n matmul per wall second and per CPU second of this process."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best_wall = best_cpu = 0.0
    flops = 2 * n ** 3 * repeats
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            a @ b
        best_wall = max(best_wall, flops / (time.perf_counter() - t) / 1e9)
        best_cpu = max(best_cpu, flops * torch.get_num_threads() / (time.process_time() - c) / 1e9)
    return best_wall, best_cpu


def measure_cells(grid: sweep.Grid, cells: list[tuple[int, int]], steps: int, chunk: int | None) -> list[dict]:
    """Run whole parity cells for ``steps`` steps through run_sweep; time and FLOPs per cell."""
    short = dataclasses.replace(
        grid, name=grid.name + "_bench", base=dataclasses.replace(grid.base, steps=steps), train_chunk=chunk,
        axes=(grid.axes[0], ("hidden_size", tuple(sorted({h for h, _ in cells}))),
              ("n_train", tuple(sorted({n for _, n in cells})))))
    wanted = [r for r in range(short.n_runs)
              if (short.config(r).hidden_size, short.config(r).n_train) in set(cells)]
    out: list[dict] = []
    t_last = [0.0, 0.0]

    def on_batch(res: sweep.SweepResults, rows: list[int]) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        cfg = short.config(rows[0])
        full = dataclasses.replace(cfg, steps=grid.base.steps)
        out.append({"cell": (cfg.hidden_size, cfg.n_train), "models": len(rows), "seconds": now - t_last[0],
                    "cpu_seconds": cpu - t_last[1],
                    "model_steps": len(rows) * steps,
                    "flops": sum(sweep.training_flops(short.config(r)) for r in rows),
                    "full_flops": len(rows) * sweep.training_flops(full)})
        t_last[0], t_last[1] = time.perf_counter(), time.process_time()

    with tempfile.TemporaryDirectory() as tmp:
        # Train only the sampled cells: mark the rest done so the sweep skips them.
        res = sweep.SweepResults.empty(short)
        res.arrays["done"][:] = True
        res.arrays["done"][wanted] = False
        res.save(Path(tmp) / "bench")
        t_last[0], t_last[1] = time.perf_counter(), time.process_time()
        sweep.run_sweep(short, Path(tmp) / "bench", progress=False, on_batch=on_batch)
    return out


def fit_time_per_step(rows: list[dict], steps: int, key: str = "seconds") -> tuple[float, float]:
    """Least-squares (fixed seconds per step, FLOP/s) from measured cells: t/step = a + flops/step / rate."""
    x = np.array([r["flops"] / steps for r in rows])
    y = np.array([r[key] / steps for r in rows])
    if len(rows) == 1:
        return 0.0, float(x[0] / y[0])
    A = np.stack([np.ones_like(x), x], 1)
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    a, b = max(float(a), 0.0), max(float(b), 1e-15)
    return a, 1.0 / b


def modadd_throughput(batch: int, steps: int) -> dict:
    """model-steps/s and GFLOP/s of a batch of the seed sweep's model, through run_sweep."""
    g = sweep.get_grid("modadd_seeds")
    short = dataclasses.replace(g, name="modadd_bench", base=dataclasses.replace(g.base, steps=steps),
                                n_seeds=batch, max_batch=batch)
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        sweep.run_sweep(short, Path(tmp) / "bench", progress=False)
        dt, dc = time.perf_counter() - t, time.process_time() - c
    flops = batch * sweep.training_flops(short.base)
    full = sweep.training_flops(g.base)
    return {"seconds": dt, "model_steps_per_s": batch * steps / dt, "gflops": flops / dt / 1e9,
            "cpu_model_steps_per_s": batch * steps / dc, "cpu_gflops": flops / dc / 1e9,
            "hours_per_90": 90 * full / (flops / dt) / 3600, "hours_per_450": 450 * full / (flops / dt) / 3600,
            "cpu_hours_per_90": 90 * full / (flops / dc) / 3600}


def kernels(H: int = 258, N: int = 1750, M: int = 45, repeats: int = 10) -> None:
    """Time each product of the largest parity cell and cheaper equivalents (the engine adopted the
    broadcast products and the in-place ReLU on 2026-12-01)."""
    def t(f) -> float:
        f()
        start = time.perf_counter()
        for _ in range(repeats):
            f()
        return (time.perf_counter() - start) / repeats * 1e3

    X, W = torch.randn(M, N, 31), torch.randn(M, 31, H)
    h, o, dz = torch.randn(M, N, H), torch.randn(M, H, 1), torch.randn(M, N, 1)
    print(f"\nkernels of one step, cell H={H}, N={N}, {M} models (ms; '->' an equivalent):")
    print(f"  X @ W             bmm                {t(lambda: torch.bmm(X, W)):8.2f}")
    print(f"  X.T @ d_pre       bmm(X.mT, d)       {t(lambda: torch.bmm(X.transpose(1, 2), h)):8.2f}")
    print(f"  h @ w_out         bmm (n = 1)        {t(lambda: torch.bmm(h, o)):8.2f}"
          f"   -> (h * w_out.mT).sum(-1)  {t(lambda: (h * o.transpose(1, 2)).sum(-1, keepdim=True)):8.2f}")
    print(f"  h.T @ dz          bmm(h.mT, dz)      {t(lambda: torch.bmm(h.transpose(1, 2), dz)):8.2f}"
          f"   -> bmm(dz.mT, h).mT         {t(lambda: torch.bmm(dz.transpose(1, 2), h)):8.2f}")
    buf = h.clone()
    print(f"  relu(pre)         new tensor         {t(lambda: torch.relu(h)):8.2f}"
          f"   -> relu_ in place           {t(lambda: buf.relu_()):8.2f}")
    Xs, Ws = X[:9], torch.randn(9, 31, 5 * H)
    print(f"  X @ W, 5 weight decays sharing a seed's X as one (N x 31) @ (31 x 5H) product: "
          f"{t(lambda: torch.bmm(Xs, Ws)):8.2f}")


def makespan(times: list[float], workers: int) -> float:
    """Time to run tasks of these durations, in this order, each on the first free of ``workers``."""
    free = [0.0] * workers
    for t in times:
        i = min(range(workers), key=free.__getitem__)
        free[i] += t
    return max(free)


def predicted_speedup(grid: sweep.Grid, workers: int, model_time=None) -> float:
    """Speed-up of ``workers`` over one worker for the grid's batches in the scheduler's order.

    model_time(row) is a run's cost (default: its training FLOPs).
    """
    cost = model_time or (lambda r: sweep.training_flops(grid.config(r)))
    per_row = [cost(r) for r in range(grid.n_runs)]
    times = [sum(per_row[r] for r in b) for b in grid.batches(range(grid.n_runs), workers=workers)]
    return sum(times) / makespan(times, workers)


def scaling(steps: int) -> None:
    """Print the parity grid's predicted, measured and simulated speed-up for 1, 2, 8 and 32 workers."""
    full = sweep.get_grid("parity_grid")
    grid = dataclasses.replace(full, name="parity_scaling", base=dataclasses.replace(
        full.base, steps=steps, log_every=min(full.base.log_every, steps)))
    model_s: dict[int, float] = {}
    wall: dict[int, float] = {}
    for jobs in (1, 2):
        last = [time.perf_counter()]

        def on_batch(res: sweep.SweepResults, rows: list[int]) -> None:
            now = time.perf_counter()
            if jobs == 1:
                for r in rows:
                    model_s[r] = (now - last[0]) / len(rows)
            last[0] = now
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            sweep.run_sweep(grid, Path(tmp) / "s", progress=False, jobs=jobs, threads=1, on_batch=on_batch)
            wall[jobs] = time.perf_counter() - t
    print(f"\nparity grid scaling ({grid.n_runs} runs of {steps} steps; 1 torch thread per worker; "
          f"{os.cpu_count()} CPUs, shared with other work):")
    print(f"  {'workers':>7}{'batches':>9}{'predicted':>11}{'measured':>10}{'simulated':>11}")
    for w in (1, 2, 8, 32):
        pred = predicted_speedup(grid, w)
        sim = predicted_speedup(grid, w, model_s.__getitem__)
        meas = f"{wall[1] / wall[w]:>10.2f}" if w in wall else f"{'':>10}"
        print(f"  {w:>7}{len(grid.batches(range(grid.n_runs), workers=w)):>9}{pred:>11.2f}{meas}{sim:>11.2f}")
    print(f"  (one worker: {wall[1]:.1f} s; two: {wall[2]:.1f} s. 'simulated' schedules the batches with the time "
          "measured per model in the one-worker run)")
    if torch.cuda.is_available():
        chunk = sweep.gpu_call_size(grid)
        cells = dataclasses.replace(grid, train_chunk=chunk)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            sweep.run_sweep(cells, Path(tmp) / "g", device="cuda", progress=False)
            dt = time.perf_counter() - t
        print(f"  GPU ({torch.cuda.get_device_name()}): {grid.n_runs / dt:.1f} models/s of {steps} steps "
              f"({grid.n_runs * steps / dt:.0f} model-steps/s), {chunk} models per call; CPU, one worker: "
              f"{grid.n_runs / wall[1]:.1f} models/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="steps per sampled cell (default 300)")
    ap.add_argument("--cells", default="16x750,32x1000,64x1250,128x1500,258x1750",
                    help="sampled (hidden size)x(train size) cells; 'all' for the 25")
    ap.add_argument("--chunks", default="1",
                    help="models per train_many call to compare, e.g. 45,1 (default 1, the sweep's setting)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the sweep command's default is 1)")
    ap.add_argument("--seed-batch", type=int, default=5, help="models per batch of the seed sweep (0: skip)")
    ap.add_argument("--seed-steps", type=int, default=200)
    ap.add_argument("--kernels", action="store_true", help="time the largest cell's products (slow)")
    ap.add_argument("--scaling", action="store_true", help="only the speed-up table for 1, 2, 8, 32 workers")
    ap.add_argument("--scaling-steps", type=int, default=100, help="steps per run in --scaling (default 100)")
    args = ap.parse_args()
    if args.scaling:
        torch.set_num_threads(1)
        sweep.tune_allocator()
        scaling(args.scaling_steps)
        return
    torch.set_num_threads(args.threads)
    sweep.tune_allocator()
    grid = sweep.get_grid("parity_grid")
    all_cells = [(h, n) for h in dict(grid.axes)["hidden_size"] for n in dict(grid.axes)["n_train"]]
    cells = all_cells if args.cells == "all" else [tuple(int(v) for v in c.split("x")) for c in args.cells.split(",")]

    n_cpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_cpu != args.threads:
        torch.set_num_threads(n_cpu)
        print(f"float32 matmul peak (2048 x 2048) with {n_cpu} threads: {matmul_peak_gflops()[0]:.1f} GFLOP/s")
        torch.set_num_threads(args.threads)
    peak, peak_cpu = matmul_peak_gflops()
    print(f"torch {torch.__version__}, {args.threads} thread(s) from here on; float32 matmul peak (2048 x 2048): "
          f"{peak:.1f} GFLOP/s per wall second, {peak_cpu:.1f} per CPU second of one thread")
    print("(GFLOP/s 'wall' is per elapsed second; 'cpu' per CPU second this process got, i.e. what a free core "
          "would give; on a busy machine the two differ)")

    for chunk in [int(c) for c in args.chunks.split(",")]:
        rows = measure_cells(grid, cells, args.steps, chunk)
        print(f"\nparity grid cells ({args.steps} steps each, 45 models = 5 weight decays x 9 seeds, "
              f"{chunk} model(s) per train_many call):")
        print(f"  {'cell (H, N)':<14}{'wall s':>8}{'cpu s':>8}{'model-steps/s':>15}{'GFLOP/s':>9}{'% peak':>8}"
              f"{'cpu GFLOP/s':>13}{'% peak':>8}")
        for r in rows:
            g, gc = r["flops"] / r["seconds"] / 1e9, r["flops"] / r["cpu_seconds"] / 1e9
            print(f"  {str(r['cell']):<14}{r['seconds']:>8.2f}{r['cpu_seconds']:>8.2f}"
                  f"{r['model_steps'] / r['seconds']:>15.0f}{g:>9.1f}{100 * g / peak:>7.1f}%"
                  f"{gc:>13.1f}{100 * gc / peak_cpu:>7.1f}%")
        tot_s = sum(r["seconds"] for r in rows)
        tot_c = sum(r["cpu_seconds"] for r in rows)
        tot_f = sum(r["flops"] for r in rows)
        print(f"  sampled cells together: {sum(r['model_steps'] for r in rows) / tot_s:.0f} model-steps/s, "
              f"{tot_f / tot_s / 1e9:.1f} GFLOP/s = {100 * tot_f / tot_s / 1e9 / peak:.1f}% of peak (wall); "
              f"{sum(r['model_steps'] for r in rows) / tot_c:.0f} model-steps/s, {tot_f / tot_c / 1e9:.1f} GFLOP/s "
              f"= {100 * tot_f / tot_c / 1e9 / peak_cpu:.1f}% of peak (cpu)")
        grid_flops = sum(45 * sweep.training_flops(dataclasses.replace(grid.base, hidden_size=h, n_train=n))
                         for h, n in all_cells)
        print(f"  full grid: {grid_flops / 1e12:.0f} TFLOP of matmuls; 90 min needs {grid_flops / 5400 / 1e9:.0f} "
              f"GFLOP/s")
        for key, label, pk in (("seconds", "at this load (wall)", peak), ("cpu_seconds", "on a free core (cpu)", peak_cpu)):
            a, rate = fit_time_per_step(rows, args.steps, key)
            est = sum(a * grid.base.steps + 45 * sweep.training_flops(
                dataclasses.replace(grid.base, hidden_size=h, n_train=n)) / rate for h, n in all_cells)
            line = (f"  estimated time of the 1,125 runs {label}: {est / 3600:.2f} h in one process of "
                    f"{args.threads} thread(s) ({grid_flops / est / 1e9:.1f} GFLOP/s = "
                    f"{100 * grid_flops / est / 1e9 / pk:.0f}% of peak; fit {a * 1e3:.2f} ms/step + "
                    f"{rate / 1e9:.1f} GFLOP/s)")
            if key == "cpu_seconds":
                line += f"; --jobs 2 on 2 free cores ~{est / 2 / 3600:.2f} h"
            print(line)

    if args.seed_batch:
        m = modadd_throughput(args.seed_batch, args.seed_steps)
        print(f"\nseed sweep (PAIR_MODADD, batches of {args.seed_batch}, {args.seed_steps} steps): "
              f"{m['model_steps_per_s']:.0f} model-steps/s, {m['gflops']:.1f} GFLOP/s "
              f"({100 * m['gflops'] / peak:.1f}% of peak); 90 seeds x 50k steps ~ {m['hours_per_90']:.2f} h, "
              f"450 seeds ~ {m['hours_per_450']:.2f} h at this load; per CPU second "
              f"{m['cpu_model_steps_per_s']:.0f} model-steps/s, {m['cpu_gflops']:.1f} GFLOP/s "
              f"({100 * m['cpu_gflops'] / peak_cpu:.1f}% of peak), 90 seeds ~ {m['cpu_hours_per_90']:.2f} h of one core")
    if args.kernels:
        kernels()


if __name__ == "__main__":
    main()
