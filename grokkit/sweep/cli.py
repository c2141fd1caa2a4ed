"""The sweep and summary sub-commands of ``python -m grokkit`` (registered by grokkit/__main__.py).

    python -m grokkit sweep NAME [--out PATH] [--jobs J | --dask ADDRESS|local:N] [--shard I/N] [--device cuda]
    python -m grokkit sweep --grid my_grid.toml [--out PATH] ...
    python -m grokkit sweep merge SHARD.npz ... --out PATH
    python -m grokkit sweep --list
    python -m grokkit summary NAME [--out PATH] [--min-loss X] [--max-ratio Y]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from .. import analysis
from .compare import summary
from .grid import Grid, SweepError, grid_from_toml, training_flops
from .registry import SWEEPS, get_grid, load, shipped_path
from .runner import run_sweep, tune_allocator
from .shards import merge, parse_shard
from .store import SweepResults


def add_parsers(sub: Any) -> None:
    """Add the sweep and summary sub-commands to an argparse sub-parsers object."""
    s = sub.add_parser("sweep", help="train a named sweep or a grid file, resumably; merge shards",
                       description="Train a sweep in batches, saving OUT.npz/OUT.json after each batch. "
                                   "Running the same command again continues an interrupted sweep. "
                                   "`sweep merge SHARD... --out PATH` joins shard files of one grid.")
    s.add_argument("name", nargs="?", help=f"one of: {', '.join(sorted(SWEEPS))}; or merge")
    s.add_argument("files", nargs="*", help="with merge: the shard results files (PATH.npz)")
    s.add_argument("--list", action="store_true", help="list the named sweeps and exit")
    s.add_argument("--grid", type=Path, default=None, metavar="FILE.toml",
                   help="a grid from a TOML file (a base config name, [set] fields, [axes], seeds) instead of NAME")
    s.add_argument("--out", type=Path, default=None,
                   help="results name: writes OUT.npz and OUT.json (default: runs/sweeps/NAME; the shipped files "
                        "are grokkit/data/NAME)")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where to train (default cpu); cuda trains as many models per call as fit")
    s.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="number of seeds (default: the sweep's own; 9 for parity_grid, 450 for modadd_seeds)")
    s.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J batches at once in worker processes on this machine (default 1)")
    s.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="train on a Dask cluster: a scheduler address (tcp://host:8786) or local:N for N local "
                        "worker processes (pip install grokkit[dask])")
    s.add_argument("--shard", default=None, metavar="I/N",
                   help="train only every N-th batch, from the I-th (0 <= I < N), into OUT; join with sweep merge")
    s.add_argument("--threads", type=int, default=1, metavar="T",
                   help="torch threads per task (default 1: on a busy machine more threads spin and "
                        "slow everything down)")
    s.add_argument("--max-batches", type=int, default=None, metavar="K", help="stop after K batches")
    s.add_argument("--chunk", type=int, default=None, metavar="C",
                   help="C models per train_many call (default: the sweep's own; 1 for parity_grid; on cuda as "
                        "many as fit)")
    s.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help="at most B models per saved batch (default: the sweep's own; smaller batches "
                        "save more often, at some cost in speed)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")

    m = sub.add_parser("summary", help="compare a sweep's results with the explorable's published numbers")
    m.add_argument("name", help="a named sweep (its shipped results) or, with --out, the sweep of that file")
    m.add_argument("--out", type=Path, default=None, help="results path to read instead of the shipped file")
    m.add_argument("--min-loss", type=float, default=analysis.DEFAULT_MIN_LOSS,
                   help=f"loss threshold of the classes (default {analysis.DEFAULT_MIN_LOSS:g})")
    m.add_argument("--max-ratio", type=float, default=analysis.DEFAULT_MAX_RATIO,
                   help=f"test/train loss ratio threshold (default {analysis.DEFAULT_MAX_RATIO:g})")


def _positive(args: argparse.Namespace, *names: str) -> None:
    """Counts given on the command line are positive integers (SweepError naming the option otherwise)."""
    for name in names:
        v = getattr(args, name)
        if v is not None and v < 1:
            raise SweepError(f"--{name.replace('_', '-')} {v} is not allowed: a positive integer")


def _threshold(name: str, v: float) -> None:
    if not math.isfinite(v) or v <= 0:
        raise SweepError(f"--{name} {v} is not allowed: a finite number > 0")


def _list() -> str:
    """One line per named sweep: runs, batches, arithmetic, and whether results ship."""
    lines = []
    width = max(len(name) for name in SWEEPS)
    for name in sorted(SWEEPS):
        g = get_grid(name)
        flops = sum(training_flops(g.config(r)) for r in range(g.n_runs))
        shipped = shipped_path(name)
        state = "not shipped"
        if shipped.exists():
            res = SweepResults.load(shipped)
            state = f"shipped: {res.n_done}/{res.n_runs} runs"
        lines.append(f"{name:<{width}} {g.n_runs:>5} runs ({g.n_combos} settings x {g.n_seeds} seeds), "
                     f"{len(g.batches(range(g.n_runs))):>3} batches, {flops / 1e12:8.2f} TFLOP; {state}")
        if g.description:
            lines.append(f"{'':<{width + 1}}{g.description}")
    return "\n".join(lines)


def _log_batch(t0: float):
    """A per-batch callback printing one line (for --quiet runs whose output goes to a log file)."""
    def log(res: SweepResults, rows: list[int]) -> None:
        c = {f: v for f, v in res.grid.combo(rows[0]).items() if f in res.grid.batch_by}
        print(f"{time.strftime('%H:%M:%S')} saved {len(rows)} runs {c or ''} -> {res.n_done}/{res.n_runs} done "
              f"({time.time() - t0:.0f} s)", flush=True)
    return log


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[tuple[Any, int]]:
    """(executor, workers) of a Dask cluster at ADDRESS, or of a local one for 'local:N'; closed afterwards."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise SweepError("--dask needs dask.distributed: pip install 'grokkit[dask]'") from e
    cluster = None
    if address.startswith("local:"):
        try:
            n = int(address[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise SweepError(f"--dask {address!r} is not allowed: local:N with N >= 1 workers, or a scheduler address")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=30)
        except (OSError, TimeoutError, ValueError) as e:
            raise SweepError(f"--dask {address!r}: cannot reach the scheduler: {e}") from e
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield client.get_executor(), workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _sweep(args: argparse.Namespace) -> int:
    """The sweep command: check every argument, then train (or merge)."""
    if args.list:
        print(_list())
        return 0
    if args.name == "merge":
        if not args.files:
            raise SweepError("sweep merge needs shard files: sweep merge A.npz B.npz ... --out PATH")
        if args.out is None:
            raise SweepError("sweep merge needs --out PATH for the merged results")
        res = merge(args.files, args.out)
        print(f"{res.path}: {res.n_done}/{res.n_runs} runs done" + ("" if res.complete else " (partial)"))
        return 0
    if args.files:
        raise SweepError(f"unexpected arguments {args.files}: give one sweep name (or merge with shard files)")
    if args.grid is not None:
        if args.name:
            raise SweepError(f"give a sweep name or --grid, not both ({args.name!r} and {args.grid})")
        grid: Grid = grid_from_toml(args.grid)
    elif not args.name:
        raise SweepError(f"name a sweep: one of {', '.join(sorted(SWEEPS))} (or --grid FILE.toml, or --list)")
    else:
        grid = get_grid(args.name)
    _positive(args, "seeds", "jobs", "threads", "max_batches", "chunk", "batch_size")
    if args.dask is not None and args.jobs != 1:
        raise SweepError("--jobs and --dask exclude each other: Dask's workers train the batches")
    shard = parse_shard(args.shard) if args.shard is not None else None
    if args.batch_size is not None:
        grid = dataclasses.replace(grid, max_batch=args.batch_size)
    if args.chunk is not None:
        grid = dataclasses.replace(grid, train_chunk=args.chunk)
    out = args.out if args.out is not None else Path("runs") / "sweeps" / grid.name
    tune_allocator()
    kw: dict[str, Any] = dict(device=args.device, n_seeds=args.seeds, progress=not args.quiet, jobs=args.jobs,
                              threads=args.threads, max_batches=args.max_batches, shard=shard,
                              gpu_batch=args.chunk is None,
                              on_batch=_log_batch(time.time()) if args.quiet else None)
    if args.dask is not None:
        kw["jobs"] = 1
        with dask_executor(args.dask) as (executor, workers):
            res = run_sweep(grid, out, executor=executor, workers=workers, **kw)
    else:
        res = run_sweep(grid, out, **kw)
    print(f"{res.path}: {res.n_done}/{res.n_runs} runs done" + ("" if res.complete else " (partial)"))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the sweep or summary command; bad input prints one line and returns 2."""
    try:
        if args.command == "sweep":
            return _sweep(args)
        _threshold("min-loss", args.min_loss)
        _threshold("max-ratio", args.max_ratio)
        res = load(args.out if args.out is not None else args.name)
        print(summary(res, args.min_loss, args.max_ratio))
        return 0
    except (SweepError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {getattr(e, 'filename', None) or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished batches are saved; run the same command to continue", file=sys.stderr)
        return 130


__all__ = ["add_parsers", "run", "dask_executor"]
