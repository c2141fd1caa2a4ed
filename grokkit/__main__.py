"""Command line: ``grokkit`` (or ``python -m grokkit``) ``sweep|summary|train ...``, ``grokkit --version``.

Sub-commands:
  sweep NAME      train a named sweep (resumes an interrupted one in the same --out); also
                  --grid FILE.toml, --dask ADDRESS, --shard I/N, `sweep merge`, `sweep --list`
                  (grokkit/sweep/cli.py)
  summary NAME    compare results (shipped, or --out PATH) with the explorable's numbers
  train NAME      train one of the explorable's named configs and save the Run (--out PATH, --device D)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from . import __version__
from . import configs as _configs
from . import sweep as _sweep
from .run import file_pair
from .sweep import cli as _sweep_cli

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

    _sweep_cli.add_parsers(sub)

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


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    args = _parser().parse_args(argv)
    if args.command in ("sweep", "summary"):
        return _sweep_cli.run(args)
    try:
        if args.command == "train":
            return _train(args)
    except (_sweep.SweepError, ValueError, OSError) as e:
        # Bad input or an unreadable/unwritable path: one line naming it, no traceback.
        message = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.filename}: {e.strerror}"
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the run was not saved", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
