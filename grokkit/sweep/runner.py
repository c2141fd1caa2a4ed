"""Running a grid: its unfinished calls trained on any executor, one writer saving after every batch.

Tasks (:func:`train_batch`) are plain functions of a grid and rows, so any
``concurrent.futures.Executor`` runs them (a Dask client's executor, a process pool, a
thread pool); each task does its own setup (torch threads, the allocator). Only the process
that called :func:`run_sweep` writes the results, under a lock, after each finished batch,
so a killed worker costs at most its batch and a killed sweep resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import concurrent.futures.process
import contextlib
import dataclasses
import hashlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import analysis, fourier
from ..run import Run
from ..training import train_many
from .grid import Grid, SweepError, training_flops
from .shards import parse_shard, shard_rows
from .store import SweepResults, pair
from .writer import check_writable, locked, open_results


def _engine_id() -> str:
    """Which engine computed a run: grokkit and torch versions, a hash of the training module as imported, and the
    CPU kernels torch runs (AVX512, AVX2, ...: they round differently, so runs part after a few hundred steps)."""
    import torch

    from .. import __version__
    engine = sys.modules[train_many.__module__]

    def digest(path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        except OSError:
            return "unknown"
    return (f"grokkit {__version__}, torch {torch.version.__version__}, {Path(engine.__file__).name} "
            f"{digest(Path(engine.__file__))}, CPU kernels {torch.backends.cpu.get_cpu_capability()}")


# Read once, when the engine is imported (a later edit of the engine does not change this process).
ENGINE = _engine_id()


def record_run(grid: Grid, run: Run) -> dict[str, Any]:
    """The row a finished Run contributes to its grid's results."""
    if not np.array_equal(run.steps, grid.steps):
        raise SweepError(f"run logged steps {run.steps[:3]}... differ from the grid's {grid.steps[:3]}...")
    rec: dict[str, Any] = {
        "final_train_acc": run.metrics["train_acc"][-1], "final_test_acc": run.metrics["test_acc"][-1],
        "diverged": run.diverged, "diverged_step": -1 if run.diverged_step is None else run.diverged_step,
        "seconds": run.seconds, "cls": analysis.CLASSES.index(analysis.classify_run(run)),
    }
    for m in grid.curves:
        rec["curve_" + m] = run.metrics[m].astype(np.float32)
    if grid.keep_weights:
        W = np.asarray(run.W_in[-1], np.float64)
        freqs, strength = fourier.neuron_frequencies(W), fourier.neuron_strengths(W)
        strong = freqs[strength > fourier.SEED_SWEEP_MIN_STRENGTH]
        rec["W_in"] = W.astype(np.float32)
        rec["freq_neurons"] = np.bincount(strong, minlength=W.shape[0] // 2 + 1).astype(np.int16)
    return rec


def tune_allocator() -> bool:
    """Keep large freed buffers in glibc's heap instead of returning them to the OS on every step.

    The trainer allocates (models x examples x neurons) tensors every step; by default glibc
    maps each one fresh and the page faults cost as much as the arithmetic for the big parity
    cells (measured: ReLU on 45 x 1750 x 258 floats 86 ms -> 14 ms). Returns False where
    glibc's mallopt is not available.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
        return bool(ok)
    except (OSError, AttributeError):
        return False


def _train_rows(grid: Grid, rows: list[int], device: str, progress: bool = False,
                on_chunk: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Train a batch's rows in the grid's calls (cut down to the rows) and return their records, in row order."""
    calls = grid.calls(rows)
    if sum(len(c) for c in calls) != len(rows):
        raise SweepError(f"rows {rows[:4]}... are not distinct runs of grid {grid.name!r} (0 to {grid.n_runs - 1})")
    recs: dict[int, dict[str, Any]] = {}
    for call in calls:
        cpu = time.process_time()
        runs = train_many([grid.config(r) for r in call], progress=progress and len(calls) == 1,
                          device=device, keep_raw=False)
        cpu = (time.process_time() - cpu) / len(call)
        for r, run in zip(call, runs):
            recs[r] = record_run(grid, run)
            recs[r]["cpu_seconds"] = cpu
            recs[r]["engine"] = ENGINE
        if on_chunk is not None:
            on_chunk(sum(grid.config(r).steps for r in call))
    return [recs[r] for r in rows]


_ALLOCATOR_TUNED = False


def train_batch(grid: Grid, rows: list[int], device: str = "cpu", threads: int | None = 1) -> list[dict[str, Any]]:
    """One task: set this process up (torch threads, allocator), train the rows, return their records.

    This is what an executor runs; it needs nothing from the process that submitted it.
    """
    global _ALLOCATOR_TUNED
    import torch
    if threads:
        torch.set_num_threads(threads)
    if not _ALLOCATOR_TUNED:
        _ALLOCATOR_TUNED = True
        tune_allocator()
    return _train_rows(grid, list(rows), device)


def retrain(res: SweepResults, rows: Sequence[int], device: str = "cpu", progress: bool = False) -> list[Run]:
    """Train runs of a sweep again, in calls of the sweep's call size (what matters on a GPU): full Runs."""
    rows = [int(r) for r in rows]
    size = res.grid.call_size or len(rows)
    runs: list[Run] = []
    for i in range(0, len(rows), size):
        runs += train_many([res.config(r) for r in rows[i:i + size]], progress=progress, device=device,
                           keep_raw=False)
    return runs


def gpu_call_size(grid: Grid, device: str = "cuda") -> int:
    """Models per train_many call that fill about a third of the GPU's memory (at least 1, at most a group)."""
    import torch
    total = torch.cuda.get_device_properties(torch.device(device)).total_memory
    cfg = max((grid.config(r) for r in range(grid.n_combos)), key=training_flops)
    if cfg.task == "parity":
        floats = (cfg.n_train + cfg.n_test) * cfg.hidden_size * 4 + cfg.hidden_size * (cfg.n_bits + 3) * 8
    else:
        n_test = cfg.n_pairs - cfg.n_train
        floats = (cfg.n_train + n_test) * (cfg.hidden_size + cfg.p) * 3 + cfg.p * (cfg.embed_size + cfg.hidden_size) * 8
    size = int(total / 3 // (floats * 4))
    return max(1, min(size, grid.group_size()))


def _check_device(device: str) -> None:
    if not isinstance(device, str) or (device not in ("cpu", "cuda") and not device.startswith("cuda:")):
        raise SweepError(f"device {device!r} is not allowed: 'cpu' or 'cuda'")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise SweepError("device 'cuda' was asked for but torch sees no CUDA device")


def run_sweep(grid: Grid | str, out: str | os.PathLike, device: str = "cpu", n_seeds: int | None = None,
              progress: bool = True, jobs: int = 1, threads: int | None = None, max_batches: int | None = None,
              on_batch: Callable[[SweepResults, list[int]], None] | None = None,
              executor: cf.Executor | None = None, workers: int | None = None,
              shard: tuple[int, int] | str | None = None, gpu_batch: bool = True) -> SweepResults:
    """Train a grid's unfinished runs in batches, saving OUT.npz/.json after each; returns the results.

    Finished runs in an existing OUT are skipped; OUT from another grid raises SweepError and
    is left untouched. n_seeds overrides the grid's seed count (runs of more seeds already in
    OUT are kept). executor: any concurrent.futures.Executor to train batches on (workers:
    how many run at once, for batch sizes and order); without one, jobs > 1 starts a process
    pool of that many workers and jobs = 1 trains here. threads sets torch's intra-op threads
    per task. max_batches stops after that many batches. shard=(i, n) trains only every n-th
    batch (see :func:`shard_rows`). On a GPU (gpu_batch) a call holds as many models as
    :func:`gpu_call_size` allows. on_batch(results, rows) is called after each batch is saved.
    """
    from .registry import get_grid
    if isinstance(grid, str):
        grid = get_grid(grid)
    if n_seeds is not None:
        if not isinstance(n_seeds, int) or isinstance(n_seeds, bool) or n_seeds < 1:
            raise SweepError(f"n_seeds = {n_seeds!r} is not allowed: a positive integer")
        grid = grid.with_seeds(n_seeds)
    _check_device(device)
    for name, v in (("jobs", jobs), ("threads", threads), ("max_batches", max_batches), ("workers", workers)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise SweepError(f"{name} = {v!r} is not allowed: a positive integer")
    if executor is not None and not isinstance(executor, cf.Executor):
        raise SweepError(f"executor = {executor!r} is not allowed: a concurrent.futures.Executor")
    if isinstance(shard, str):
        shard = parse_shard(shard)
    elif shard is not None:
        shard = parse_shard(f"{shard[0]}/{shard[1]}")
    auto_gpu = device.startswith("cuda") and gpu_batch
    if auto_gpu:
        grid = dataclasses.replace(grid, train_chunk=gpu_call_size(grid, device))
    n_workers = workers or (jobs if executor is None else 1)
    base = check_writable(out)
    with locked(base):
        res = open_results(grid, base, adopt_calls=auto_gpu, device=device)
        todo = [r for r in range(res.grid.n_runs) if not res.done[r]]
        if shard is not None:
            mine = set(shard_rows(res.grid, shard))
            todo = [r for r in todo if r in mine]
            res.meta["shard"] = list(shard)
        batches = res.grid.batches(todo, workers=n_workers)
        if max_batches is not None:
            batches = batches[:max_batches]
        if not batches:
            if not res.path:
                res.save(base)
            return res
        devices = res.meta.setdefault("devices", [])
        if device not in devices:
            devices.append(device)
        res.meta["versions"] = _versions()
        with _Bar(res.grid, batches, progress) as bar:
            if executor is None and jobs == 1:
                import torch
                old_threads = torch.get_num_threads()
                if threads:
                    torch.set_num_threads(threads)
                try:
                    for rows in batches:
                        bar.start(rows)
                        recs = _train_rows(res.grid, rows, device, progress, on_chunk=bar.advance)
                        _finish_batch(res, base, rows, recs, bar, on_batch)
                finally:
                    torch.set_num_threads(old_threads)
            elif executor is None:
                with _process_pool(jobs) as pool:
                    _run_on(pool, res, base, batches, device, threads or 1, jobs, bar, on_batch)
            else:
                _run_on(executor, res, base, batches, device, threads or 1, n_workers, bar, on_batch)
    return res


def _finish_batch(res: SweepResults, base: Path, rows: list[int], recs: list[dict], bar: "_Bar",
                  on_batch: Callable | None) -> None:
    engines = res.meta.setdefault("engines", [])
    for r, rec in zip(rows, recs):
        rec = dict(rec)
        if "engine" in rec:
            if rec["engine"] not in engines:
                engines.append(rec["engine"])
            rec["engine"] = engines.index(rec["engine"])
        for k, v in rec.items():
            res.arrays[k][r] = v
        res.arrays["done"][r] = True
    res.save(base)
    bar.finish(rows, res)
    if on_batch is not None:
        on_batch(res, rows)


@contextlib.contextmanager
def _environment(**defaults: str):
    """Set environment variables that are not set yet, and remove them again afterwards."""
    added = [k for k in defaults if k not in os.environ]
    for k in added:
        os.environ[k] = defaults[k]
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _exit_with(parent: int) -> None:
    """Pool initializer: a killed sweep must not leave its workers training for nothing."""
    import threading

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)
    threading.Thread(target=watch, daemon=True).start()


@contextlib.contextmanager
def _process_pool(jobs: int):
    """The built-in executor: a pool of spawned worker processes."""
    import multiprocessing as mp
    # Workers import torch afresh: let their OpenMP threads sleep instead of spinning while
    # they wait (with spinning threads a busy machine runs torch tens of times slower).
    # Only while the workers start: a process started later from this one (a Jupyter
    # kernel under the test suite, say) must not inherit it, as passive threads make
    # single-process training several times slower.
    with _environment(OMP_WAIT_POLICY="PASSIVE"), \
            cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_exit_with,
                                   initargs=(os.getpid(),)) as pool:
        yield pool


def _run_on(executor: cf.Executor, res: SweepResults, base: Path, batches: list[list[int]], device: str,
            threads: int, workers: int, bar: "_Bar", on_batch: Callable | None) -> None:
    """Submit batches in order, a few per worker ahead, and save each as it finishes."""
    pending: dict[cf.Future, list[int]] = {}
    queue = list(batches)
    ahead = 2 * max(1, workers)
    try:
        while queue or pending:
            while queue and len(pending) < ahead:
                rows = queue.pop(0)
                pending[executor.submit(train_batch, res.grid, rows, device, threads)] = rows
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: min(pending[f])):
                rows = pending.pop(fut)
                _finish_batch(res, base, rows, fut.result(), bar, on_batch)
    except BaseException as e:
        for fut in pending:
            fut.cancel()
        if isinstance(e, cf.process.BrokenProcessPool):    # from result() or, once the pool knows, submit()
            raise SweepError(f"a worker process died ({e}); the {res.n_done} runs saved in "
                             f"{pair(base)[0]} are kept: run the same command to continue") from e
        raise


def _versions() -> dict[str, str]:
    import torch

    from .. import __version__
    return {"grokkit": __version__, "torch": torch.version.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0]}


class _Bar:
    """The overall progress bar: model-steps done, with an ETA weighted by each batch's arithmetic."""

    def __init__(self, grid: Grid, batches: list[list[int]], enabled: bool):
        self.total_steps = sum(grid.config(r).steps for b in batches for r in b)
        self.flops = {tuple(b): sum(training_flops(grid.config(r)) for r in b) for b in batches}
        self.steps_of = {tuple(b): sum(grid.config(r).steps for r in b) for b in batches}
        self.total_flops = sum(self.flops.values())
        self.done_flops = 0.0
        self.current: tuple | None = None
        self.current_steps = 0
        self.n_batches, self.k = len(batches), 0
        self.t0 = time.perf_counter()
        self.bar = None
        self.status = f"batch 0/{self.n_batches}"
        if enabled:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.total_steps, unit="model-step", unit_scale=True, desc=f"sweep {grid.name}",
                            position=0, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                                   "model-steps [{elapsed}{postfix}]")
            self._show()

    def __enter__(self) -> "_Bar":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()

    def start(self, rows: list[int]) -> None:
        """A batch starts (sequential runs report its calls through :meth:`advance`)."""
        self.current, self.current_steps = tuple(rows), 0

    def advance(self, steps: int) -> None:
        """Model-steps finished inside the current batch."""
        self.current_steps += steps
        if self.bar is not None:
            self.bar.update(steps)
            self._show()

    def finish(self, rows: list[int], res: SweepResults) -> None:
        """A batch is saved."""
        key = tuple(rows)
        self.k += 1
        self.done_flops += self.flops[key]
        rest = self.steps_of[key] - (self.current_steps if key == self.current else 0)
        self.current, self.current_steps = None, 0
        self.status = f"batch {self.k}/{self.n_batches}, {res.n_done}/{res.n_runs} runs saved"
        if self.bar is not None:
            self.bar.update(rest)
            self._show()

    def _show(self) -> None:
        done = self.done_flops
        if self.current is not None:
            done += self.flops[self.current] * self.current_steps / self.steps_of[self.current]
        elapsed = time.perf_counter() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total_flops - done) / rate if rate > 0 else float("nan")
        self.bar.set_postfix_str(f"{self.status}, {rate / 1e9:.1f} GFLOP/s, eta {_fmt_time(eta)}", refresh=True)


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


__all__ = ["ENGINE", "record_run", "tune_allocator", "train_batch", "retrain", "gpu_call_size", "run_sweep"]
