"""Command line: ``python -m grokkit sweep NAME [--out PATH] [--device cpu|cuda] [--seeds N]``.

Sub-commands:
  sweep NAME      train a named sweep (resumes an interrupted one in the same --out); also
                  --grid FILE.toml, --dask ADDRESS, --shard I/N, `sweep merge`, `sweep --list`
                  (grokkit/sweep/cli.py)
  summary NAME    compare results (shipped, or --out PATH) with the explorable's numbers
  train NAME      train one of the explorable's named configs and save the Run (--out PATH)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from . import configs as _configs
from . import sweep as _sweep
from .sweep import cli as _sweep_cli

NAMED_CONFIGS = {name: getattr(_configs, name) for name in
                 ("PAIR_MODADD", "PAIR_FIVE_NEURON", "PAIR_PARITY", "REVERSE_GROKKING", "GEN_MEM_GEN")}


def _parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per tool."""
    p = argparse.ArgumentParser(prog="python -m grokkit", description="grokkit command-line tools.")
    sub = p.add_subparsers(dest="command", required=True)

    _sweep_cli.add_parsers(sub)

    t = sub.add_parser("train", help="train one of the explorable's named configs and save the run",
                       description="Train a named config and save the Run as OUT.npz (arrays, no pickle) and "
                                   "OUT.json (config, status), written atomically.")
    t.add_argument("name", help=f"one of: {', '.join(NAMED_CONFIGS)}")
    t.add_argument("--out", type=Path, required=True, help="path of the saved run, without suffix")
    t.add_argument("--seed", type=int, default=None, help="another seed than the config's own")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _train(args: argparse.Namespace) -> int:
    """The train command: check every argument, then train and save."""
    if args.name not in NAMED_CONFIGS:
        raise _sweep.SweepError(f"unknown config {args.name!r}: one of {', '.join(NAMED_CONFIGS)}")
    config = NAMED_CONFIGS[args.name]
    if args.seed is not None:
        if args.seed < 0:
            raise _sweep.SweepError(f"--seed {args.seed} is not allowed: an integer >= 0")
        config = dataclasses.replace(config, seed=args.seed)
    folder = args.out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise _sweep.SweepError(f"--out {args.out}: the folder {folder} does not exist or is not writable")
    from .training import train
    run = train(config, progress=not args.quiet)
    path = run.save(args.out)
    print(f"{path}: {args.name} (seed {config.seed}), {config.steps:,} steps in {run.seconds:.0f} s, "
          f"final test accuracy {run.final['test_acc']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    args = _parser().parse_args(argv)
    if args.command in ("sweep", "summary"):
        return _sweep_cli.run(args)
    try:
        if args.command == "train":
            return _train(args)
    except (_sweep.SweepError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished batches are saved; run the same command to continue", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
