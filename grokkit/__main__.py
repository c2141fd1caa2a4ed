"""Command line: ``grokkit`` (or ``python -m grokkit``) ``sweep|summary|train ...``, ``grokkit --version``.

Sub-commands:
  sweep NAME      train a named sweep (resumes an interrupted one in the same --out)
  sweep --list    list the named sweeps with their size and cost
  summary NAME    compare results (shipped, or --out PATH) with the explorable's numbers
  train NAME      train one of the explorable's named configs and save the Run (--out PATH, --device D)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from . import configs as _configs
from . import sweep as _sweep
from .run import file_pair

NAMED_CONFIGS = {name: getattr(_configs, name) for name in
                 ("PAIR_MODADD", "PAIR_FIVE_NEURON", "PAIR_PARITY", "REVERSE_GROKKING", "GEN_MEM_GEN")}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str):
        """Print one line naming the problem and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per tool."""
    prog = "grokkit" if Path(sys.argv[0]).name == "grokkit" else "python -m grokkit"
    p = _Parser(prog=prog, description="grokkit command-line tools.")
    p.add_argument("--version", action="version", version=f"grokkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sweep", help="train a named sweep, resumably",
                       description="Train a named sweep in batches, saving OUT.npz/OUT.json after each batch. "
                                   "Running the same command again continues an interrupted sweep.")
    s.add_argument("name", nargs="?", help=f"one of: {', '.join(sorted(_sweep.SWEEPS))}")
    s.add_argument("--list", action="store_true", help="list the named sweeps and exit")
    s.add_argument("--out", type=Path, default=None,
                   help="results path without suffix (default: runs/sweeps/NAME; the shipped files are "
                        "grokkit/data/NAME)")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to train (default cpu)")
    s.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="number of seeds (default: the sweep's own; 9 for parity_grid, 450 for modadd_seeds)")
    s.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J batches at once in worker processes (default 1)")
    s.add_argument("--threads", type=int, default=1, metavar="T",
                   help="torch threads per process (default 1: on a busy machine more threads spin and "
                        "slow everything down)")
    s.add_argument("--max-batches", type=int, default=None, metavar="K", help="stop after K batches")
    s.add_argument("--chunk", type=int, default=None, metavar="C",
                   help="train a batch C models per train_many call (default: the sweep's own; 1 for parity_grid)")
    s.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help="at most B models per train_many batch (default: the sweep's own; smaller batches "
                        "save more often, at some cost in speed)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")

    m = sub.add_parser("summary", help="compare a sweep's results with the explorable's published numbers")
    m.add_argument("name", help="a named sweep (its shipped results) or, with --out, the sweep of that file")
    m.add_argument("--out", type=Path, default=None, help="results path to read instead of the shipped file")
    m.add_argument("--min-loss", type=float, default=_sweep.analysis.DEFAULT_MIN_LOSS)
    m.add_argument("--max-ratio", type=float, default=_sweep.analysis.DEFAULT_MAX_RATIO)

    t = sub.add_parser("train", help="train one of the explorable's named configs and save the run",
                       description="Train a named config and save the Run as OUT.npz (arrays, no pickle) and "
                                   "OUT.json (config, status), written atomically.")
    t.add_argument("name", help=f"one of: {', '.join(NAMED_CONFIGS)}")
    t.add_argument("--out", required=True, help="name of the saved run: writes OUT.npz and OUT.json (dots are kept)")
    t.add_argument("--seed", type=int, default=None, help="another seed than the config's own")
    t.add_argument("--device", default="cpu", help="where to train: cpu (default), cuda, cuda:N or mps")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _train(args: argparse.Namespace) -> int:
    """The train command: check every argument, then train and save."""
    if args.name not in NAMED_CONFIGS:
        raise _sweep.SweepError(f"unknown config {args.name!r}: one of {', '.join(NAMED_CONFIGS)}")
    config = NAMED_CONFIGS[args.name]
    if args.seed is not None:
        if not 0 <= args.seed < 2**32:
            raise _sweep.SweepError(f"--seed {args.seed} is not allowed: an integer >= 0 and < 2**32")
        config = dataclasses.replace(config, seed=args.seed)
    _check_device(args.device)
    try:
        npz, js = file_pair(args.out)
    except ValueError as e:
        raise _sweep.SweepError(f"--out {args.out}: {str(e).split(' is not allowed: ')[-1]}") from None
    _check_writable_folder(args.out, npz.resolve().parent)
    from .training import train
    run = train(config, progress=not args.quiet, device=args.device)
    path = run.save(args.out)
    print(f"{path}: {args.name} (seed {config.seed}), {config.steps:,} steps in {run.seconds:.0f} s, "
          f"final test accuracy {run.final['test_acc']:.3f}")
    return 0


def _check_writable_folder(out: str, folder: Path) -> None:
    """Refuse, before training, a folder that is missing or where a file cannot be made (tried, not guessed)."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".grokkit-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _sweep.SweepError(f"--out {out}: the folder {folder} does not exist or is not writable "
                                f"({e.strerror})") from None


def _check_device(name: str) -> None:
    """Refuse a device torch cannot parse or this machine does not have, in one line."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise _sweep.SweepError(f"--device {name!r} is not allowed: cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise _sweep.SweepError(f"--device {name}: not available here ({count} CUDA device(s) found); "
                                    "use --device cpu")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise _sweep.SweepError(f"--device {name}: not available here (no Apple GPU found); use --device cpu")
    elif device.type != "cpu":
        raise _sweep.SweepError(f"--device {name!r} is not allowed: cpu, cuda, cuda:N or mps")


def _list() -> str:
    """One line per named sweep: runs, batches, arithmetic, and whether results ship."""
    lines = []
    for name in sorted(_sweep.SWEEPS):
        g = _sweep.get_grid(name)
        flops = sum(_sweep.training_flops(g.config(r)) for r in range(g.n_runs))
        shipped = _sweep.shipped_path(name)
        state = "not shipped"
        if shipped.exists():
            res = _sweep.SweepResults.load(shipped)
            state = f"shipped: {res.n_done}/{res.n_runs} runs"
        lines.append(f"{name:<13} {g.n_runs:>5} runs ({g.n_combos} settings x {g.n_seeds} seeds), "
                     f"{len(g.batches(range(g.n_runs))):>3} batches, {flops / 1e12:8.2f} TFLOP; {state}")
        if g.description:
            lines.append(f"{'':<14}{g.description}")
    return "\n".join(lines)


def _log_batch(t0: float):
    """A per-batch callback printing one line (for --quiet runs whose output goes to a log file)."""
    def log(res: _sweep.SweepResults, rows: list[int]) -> None:
        c = {f: v for f, v in res.grid.combo(rows[0]).items() if f in res.grid.batch_by}
        print(f"{time.strftime('%H:%M:%S')} saved {len(rows)} runs {c or ''} -> {res.n_done}/{res.n_runs} done "
              f"({time.time() - t0:.0f} s)", flush=True)
    return log


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "sweep":
            if args.list:
                print(_list())
                return 0
            if not args.name:
                raise _sweep.SweepError(f"name a sweep: one of {', '.join(sorted(_sweep.SWEEPS))} (or --list)")
            grid = _sweep.get_grid(args.name)
            out = args.out if args.out is not None else Path("runs") / "sweeps" / args.name
            if args.seeds is not None and args.seeds < 1:
                raise _sweep.SweepError(f"--seeds {args.seeds} is not allowed: a positive integer")
            if args.batch_size is not None:
                if args.batch_size < 1:
                    raise _sweep.SweepError(f"--batch-size {args.batch_size} is not allowed: a positive integer")
                grid = dataclasses.replace(grid, max_batch=args.batch_size)
            if args.chunk is not None:
                if args.chunk < 1:
                    raise _sweep.SweepError(f"--chunk {args.chunk} is not allowed: a positive integer")
                grid = dataclasses.replace(grid, train_chunk=args.chunk)
            if args.threads < 1:
                raise _sweep.SweepError(f"--threads {args.threads} is not allowed: a positive integer")
            _sweep.tune_allocator()
            res = _sweep.run_sweep(grid, out, device=args.device, n_seeds=args.seeds, progress=not args.quiet,
                                   jobs=args.jobs, threads=args.threads, max_batches=args.max_batches,
                                   on_batch=_log_batch(time.time()) if args.quiet else None)
            print(f"{res.path}: {res.n_done}/{res.n_runs} runs done" + ("" if res.complete else " (partial)"))
            return 0
        if args.command == "train":
            return _train(args)
        if args.command == "summary":
            res = _sweep.load(args.out if args.out is not None else args.name)
            print(_sweep.summary(res, args.min_loss, args.max_ratio))
            return 0
    except (_sweep.SweepError, ValueError, OSError) as e:
        # Bad input or an unreadable/unwritable path: one line naming it, no traceback.
        message = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.filename}: {e.strerror}"
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished batches are saved; run the same command to continue", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
