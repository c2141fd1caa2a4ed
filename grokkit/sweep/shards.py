"""Shards: a grid split by batches over processes that share no driver (a SLURM array, several laptops).

``run_sweep(..., shard=(i, n))`` trains every n-th batch of the grid, from the i-th, into its
own results file; :func:`merge` joins the files, refusing shards of another grid.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from .grid import Grid, SweepError, calls_fix_the_numbers, spec_differences
from .store import SweepResults, pair
from .writer import check_writable, locked


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' (0 <= i < n) as (i, n); SweepError otherwise."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        i, n = -1, 0
    if not (n >= 1 and 0 <= i < n):
        raise SweepError(f"--shard {text!r} is not allowed: I/N with 0 <= I < N, e.g. 0/4 .. 3/4")
    return i, n


def shard_rows(grid: Grid, shard: tuple[int, int]) -> list[int]:
    """The rows of shard (i, n): every n-th batch of the grid (one worker's batches, in grid order), from the i-th."""
    i, n = shard
    ordered = sorted(grid.batches(range(grid.n_runs)), key=min)
    return sorted(r for b in ordered[i::n] for r in b)


def merge(paths: list[str | os.PathLike], out: str | os.PathLike) -> SweepResults:
    """Join shard files of one grid into OUT (its own done runs are kept); SweepError for shards of another grid.

    A run done in two files must be the same run (every array equal but the timings).
    """
    if not paths:
        raise SweepError("merge needs at least one shard file")
    base = check_writable(out)
    with locked(base):
        shards = [SweepResults.load(p) for p in paths]
        if pair(base)[0].exists():
            shards.insert(0, SweepResults.load(pair(base)[0]))
        first = shards[0]
        for s in shards[1:]:
            diffs = spec_differences(first.grid.spec(), s.grid.spec())
            if diffs:
                raise SweepError(f"{s.path} is not a shard of the grid of {first.path}: " + "; ".join(diffs[:4]))
            devices = [*s.meta.get("devices", []), *first.meta.get("devices", [])]
            if calls_fix_the_numbers(devices) and s.meta.get("calls") != first.meta.get("calls") and s.done.any() and first.done.any():
                raise SweepError(f"{s.path} was trained in other train_many calls ({s.meta.get('calls')}) than "
                                 f"{first.path} ({first.meta.get('calls')}): its runs would not match")
        n_seeds = max(s.grid.n_seeds for s in shards)
        res = SweepResults.empty(first.grid.with_seeds(n_seeds))
        res.meta = {"engines": [], "devices": [], "merged_from": []}
        for s in shards:
            _add(res, s.resized(n_seeds) if s.grid.n_seeds < n_seeds else s)
        res.save(base)
    return res


_TIMINGS = ("seconds", "cpu_seconds", "engine")


def _add(res: SweepResults, s: SweepResults) -> None:
    """Copy the done runs of shard s into res."""
    rows = np.nonzero(s.done)[0]
    for r in rows[res.done[rows]]:
        for k, v in res.arrays.items():
            if k not in _TIMINGS and not np.array_equal(v[r], s.arrays[k][r], equal_nan=v.dtype.kind == "f"):
                raise SweepError(f"{s.path}: run {r} is done in two shards with different {k}")
    engines = res.meta["engines"]
    for e in s.meta.get("engines", []):
        if e not in engines:
            engines.append(e)
    remap = np.array([engines.index(e) for e in s.meta.get("engines", [])] + [-1], np.int16)
    for k, v in res.arrays.items():
        if k != "steps":
            v[rows] = s.arrays[k][rows]
    res.arrays["engine"][rows] = remap[s.arrays["engine"][rows]]
    for d in s.meta.get("devices", []):
        if d not in res.meta["devices"]:
            res.meta["devices"].append(d)
    res.meta["merged_from"].append(str(s.path))
    if s.meta.get("calls"):
        res.meta["calls"] = s.meta["calls"]
    if s.grid.batch_by or s.grid.max_batch or s.grid.train_chunk:
        res.grid = dataclasses.replace(res.grid, batch_by=s.grid.batch_by, max_batch=s.grid.max_batch,
                                       train_chunk=s.grid.train_chunk, name=s.grid.name,
                                       description=s.grid.description)


__all__ = ["parse_shard", "shard_rows", "merge"]
