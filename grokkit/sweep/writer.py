"""Opening a results pair for writing: checks, the lock, repairs after a crash, and the calls of a resume."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .grid import Grid, SweepError, calls_fix_the_numbers, spec_differences
from .store import SweepResults, pair, results_base


def check_writable(path: str | os.PathLike) -> Path:
    """Make sure PATH.npz and PATH.json can be written (the folder is created); SweepError if not."""
    base = results_base(path)
    if base.is_dir():
        raise SweepError(f"{base} is a folder: give a results name inside it, such as {base / 'results'}")
    folder = base.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + base.name + ".check.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise SweepError(f"cannot write sweep results to {folder}: {e.strerror or e}") from e
    for f in pair(base):
        if f.exists() and (f.is_dir() or not os.access(f, os.W_OK)):
            raise SweepError(f"cannot write sweep results to {f}: it exists and is not a writable file")
    return base


def lock_path(base: Path) -> Path:
    """The lock file of a results pair (hidden, beside it, named after the whole name)."""
    return base.parent / f".{base.name}.lock"


@contextlib.contextmanager
def locked(base: Path) -> Iterator[None]:
    """Hold an exclusive lock on the results pair BASE so two processes never write it; SweepError if held."""
    import filelock
    lock = filelock.FileLock(str(lock_path(base)), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as e:
        raise SweepError(f"another process is writing {pair(base)[0]} (lock {lock_path(base)} is held)") from e
    try:
        yield
    finally:
        lock.release()


def stale_temporaries(base: Path) -> list[Path]:
    """Temporary files a crashed writer of BASE left behind (only safe to remove under the lock)."""
    pats = [f".{base.name}.npz.*.tmp", f".{base.name}.json.*.tmp", f".{base.name}.check.*.tmp"]
    return sorted({p for pat in pats for p in base.parent.glob(pat)})


def open_results(grid: Grid, path: str | os.PathLike, adopt_calls: bool = False,
                 device: str = "cpu") -> SweepResults:
    """Results at PATH if they belong to ``grid`` (grown to its seed count), or empty ones; SweepError otherwise.

    Call it holding :func:`locked`: it removes stale temporary files and rewrites a JSON that
    a crash left behind its npz. device is where the rest will train: on the CPU any call
    size continues a CPU sweep; where a GPU trained or will train, another call size is
    refused, or, with adopt_calls (the grid's call size was only a default), the file's is used.
    """
    base = results_base(path)
    npz, js = pair(base)
    for tmp in stale_temporaries(base):
        with contextlib.suppress(OSError):
            tmp.unlink()
    if not npz.exists():
        if js.exists():
            raise SweepError(f"{js} exists without {npz}: not overwriting it; move it away or choose another --out")
        return SweepResults.empty(grid)
    old = SweepResults.load(npz)
    diffs = spec_differences(old.grid.spec(), grid.spec())
    if diffs:
        raise SweepError(
            f"{npz} holds results of a different grid ({old.name!r}, spec {old.grid.spec_hash()}) than "
            f"{grid.name!r} (spec {grid.spec_hash()}); nothing was overwritten. Differences: "
            + "; ".join(diffs[:8]) + ("; ..." if len(diffs) > 8 else "")
            + ". Choose another output path, or move the file away to start over.")
    if old.meta.get("json_revision") != old.meta["revision"]:
        old.write_json()
    res = old.resized(max(grid.n_seeds, old.grid.n_seeds)) if old.grid.n_seeds < grid.n_seeds else old
    res.grid = dataclasses.replace(res.grid, name=grid.name, batch_by=grid.batch_by, max_batch=grid.max_batch,
                                   train_chunk=grid.train_chunk,
                                   description=grid.description or res.grid.description)
    stored = old.meta.get("calls")
    if adopt_calls and old.done.any() and isinstance(stored, dict) and stored.get("batch_by") == list(grid.batch_by):
        res.grid = dataclasses.replace(res.grid, train_chunk=stored.get("call_size"))
    _check_calls(res, old, npz, device)
    return res


def _check_calls(res: SweepResults, old: SweepResults, npz: Path, device: str) -> None:
    """Refuse to continue a GPU sweep with train_many calls other than those that computed the done runs.

    Where :func:`calls_fix_the_numbers` (a GPU trained or will train), runs of another call
    size could differ from those this grid would compute in one go; on the CPU they cannot.
    """
    if not old.done.any() or not calls_fix_the_numbers([*old.meta.get("devices", []), device]):
        return
    stored = old.meta.get("calls") or {"batch_by": list(old.grid.batch_by), "call_size": old.grid.call_size}
    now = {"batch_by": list(res.grid.batch_by), "call_size": res.grid.call_size}
    mixed = [c for c in res.grid.calls() if 0 < res.done[c].sum() < len(c)]
    if stored != now or mixed:
        def say(c: dict) -> str:
            size = c.get("call_size")
            return (f"{'whole groups' if size is None else f'{size} models'} per train_many call"
                    + (f" by {', '.join(c.get('batch_by') or [])}" if c.get("batch_by") else ""))
        raise SweepError(
            f"{npz}: its {old.n_done} done runs were trained {say(stored)}, this sweep would train {say(now)}; "
            "on a GPU a model's float rounding can depend on the models trained beside it, so the resumed "
            "runs might not match. Resume with the file's --batch-size/--chunk, or choose another --out.")


__all__ = ["check_writable", "lock_path", "locked", "stale_temporaries", "open_results"]
