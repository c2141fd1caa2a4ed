"""Grids of configs: a base config, an ordered product of field values (axes) and seeds.

Also the grid's identity (its spec and a hash of it), the arithmetic cost of a run, the
train_many calls a grid is trained in, the batches those calls are scheduled in, and grids
read from TOML files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..configs import Config, ModAddConfig, ParityConfig, config_from_dict, config_to_dict
from ..run import METRICS, schedule

FORMAT = "grokkit.Sweep/1"

# Fields that may not be axes: the seed has its own count, and every run of a grid must log
# at the same steps so that the curves form one array.
_NOT_AXES = ("seed", "steps", "log_every")

# A grid is built (and every config in it checked) eagerly; these bounds refuse a spec whose
# product would take minutes and gigabytes before anything is built.
MAX_COMBOS = 100_000
MAX_RUNS = 1_000_000

# With more workers than this, the largest batches go first (the longest task bounds the
# sweep's time); with fewer, the cheapest (an interrupted sweep has finished the most runs).
FEW_WORKERS = 4


class SweepError(ValueError):
    """A sweep cannot start or continue: bad name, unwritable path, or a file from another grid."""


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


@dataclass(frozen=True)
class Grid:
    """A sweep: a base config, an ordered product of field values, and seeds first_seed.. .

    batch_by names the axes whose values define a group of runs that may share one
    :func:`train_many` call; train_chunk (or else max_batch) splits a group (rows in seed-major
    order) into calls of at most that many models, and without either a call is one seed's
    runs of a group. On the CPU the calls do not change the numbers (a model's rounding does
    not depend on the models trained beside it); on a GPU they may, so they never depend on
    how many workers run the grid.
    max_batch also bounds the batch, the unit that is saved (and redone after an
    interruption). curves are the metrics stored at every logged step; keep_weights stores
    each run's final W_in and its neurons per Fourier frequency (modular addition only).
    """

    name: str
    base: Config
    axes: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    n_seeds: int = 1
    first_seed: int = 0
    batch_by: tuple[str, ...] = ()
    max_batch: int | None = None
    train_chunk: int | None = None
    curves: tuple[str, ...] = ("train_loss", "test_loss")
    keep_weights: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.base, (ModAddConfig, ParityConfig)):
            raise SweepError(f"Grid.base is a {type(self.base).__name__}: expected ModAddConfig or ParityConfig")
        try:
            axes = tuple((str(f), tuple(v)) for f, v in self.axes)
        except (TypeError, ValueError) as e:
            raise SweepError(f"Grid.axes must be (field, values) pairs: {e}") from e
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "batch_by", tuple(self.batch_by))
        object.__setattr__(self, "curves", tuple(self.curves))
        for name, v in (("n_seeds", self.n_seeds), ("first_seed", self.first_seed)):
            least = 1 if name == "n_seeds" else 0
            if not isinstance(v, int) or isinstance(v, bool) or v < least:
                raise SweepError(f"Grid.{name} = {v!r} is not allowed: it must be an integer >= {least}")
        if self.first_seed + self.n_seeds > 2 ** 32:
            raise SweepError(f"Grid seeds {self.first_seed}..{self.first_seed + self.n_seeds - 1} are not allowed: "
                             "seeds must be below 2**32")
        combos = math.prod(len(v) for _, v in axes)
        if combos > MAX_COMBOS or combos * self.n_seeds > MAX_RUNS:
            raise SweepError(f"grid {self.name!r} has {combos:,} settings x {self.n_seeds:,} seeds = "
                             f"{combos * self.n_seeds:,} runs: at most {MAX_COMBOS:,} settings and "
                             f"{MAX_RUNS:,} runs are allowed")
        fields = {f.name for f in dataclasses.fields(self.base)}
        names = [f for f, _ in axes]
        for f, values in axes:
            if f not in fields:
                raise SweepError(f"axis {f!r} is not a field of {type(self.base).__name__}: "
                                 f"allowed are {sorted(fields)}")
            if f in _NOT_AXES:
                raise SweepError(f"axis {f!r} is not allowed: {_NOT_AXES} are fixed for a grid (use n_seeds for seeds)")
            try:
                distinct = len(set(values)) == len(values)
            except TypeError:
                distinct = False
            if not values or not distinct:
                raise SweepError(f"axis {f!r} needs distinct values, got {list(values)}")
        if len(set(names)) != len(names):
            raise SweepError(f"axes repeat a field: {names}")
        for f in self.batch_by:
            if f not in names:
                raise SweepError(f"batch_by field {f!r} is not an axis: axes are {names}")
        for name in ("max_batch", "train_chunk"):
            v = getattr(self, name)
            if v is not None and not _positive_int(v):
                raise SweepError(f"Grid.{name} = {v!r} is not allowed: None or an integer >= 1")
        bad = [c for c in self.curves if c not in METRICS]
        if bad or not {"train_loss", "test_loss"} <= set(self.curves) or len(set(self.curves)) != len(self.curves):
            raise SweepError(f"Grid.curves = {self.curves} is not allowed: distinct names from {METRICS} that "
                             "include train_loss and test_loss (runs are classified from them)")
        if not isinstance(self.keep_weights, bool):
            raise SweepError(f"Grid.keep_weights = {self.keep_weights!r} is not allowed: true or false")
        if self.keep_weights and self.base.task != "modadd":
            raise SweepError("Grid.keep_weights is for modular-addition grids (Fourier frequencies of W_in)")
        for combo in itertools.product(*(v for _, v in axes)):  # every config must be valid
            try:
                dataclasses.replace(self.base, **dict(zip(names, combo)))
            except (TypeError, ValueError) as e:
                raise SweepError(f"grid {self.name!r}: {dict(zip(names, combo))} is not a valid config: {e}") from e

    # -------------------------------------------------------------- shape and runs
    @property
    def axis_names(self) -> list[str]:
        """Names of the swept fields, in order."""
        return [f for f, _ in self.axes]

    @property
    def n_combos(self) -> int:
        """Number of axis combinations (settings); each is run with every seed."""
        return math.prod(len(v) for _, v in self.axes)

    @property
    def n_runs(self) -> int:
        """Settings x seeds."""
        return self.n_combos * self.n_seeds

    @property
    def seeds(self) -> list[int]:
        """The seeds, first_seed, first_seed + 1, ..."""
        return list(range(self.first_seed, self.first_seed + self.n_seeds))

    @property
    def steps(self) -> np.ndarray:
        """The logged steps every run shares."""
        return schedule(self.base.steps, self.base.log_every)

    def combo(self, r: int) -> dict[str, Any]:
        """Axis values of run r."""
        c = int(r) % self.n_combos
        out = {}
        for f, values in reversed(self.axes):
            out[f] = values[c % len(values)]
            c //= len(values)
        return dict(reversed(list(out.items())))

    def seed(self, r: int) -> int:
        """Seed of run r."""
        return self.first_seed + int(r) // self.n_combos

    def config(self, r: int) -> Config:
        """The config of run r."""
        r = int(r)
        if not 0 <= r < self.n_runs:
            raise IndexError(f"run {r} is not in grid {self.name!r} ({self.n_runs} runs)")
        return dataclasses.replace(self.base, seed=self.seed(r), **self.combo(r))

    def with_seeds(self, n_seeds: int) -> "Grid":
        """The same grid with another number of seeds."""
        return dataclasses.replace(self, n_seeds=n_seeds)

    # -------------------------------------------------------------- identity
    def spec(self) -> dict[str, Any]:
        """What defines the grid's results (JSON-ready); the seed count and batching are not part of it."""
        return {"format": FORMAT, "base": config_to_dict(self.base),
                "axes": [[f, list(v)] for f, v in self.axes], "first_seed": self.first_seed,
                "curves": list(self.curves), "keep_weights": self.keep_weights}

    def spec_hash(self) -> str:
        """A stable short hash of :meth:`spec` (swept fields and the seed ignored in the base)."""
        return _hash_spec(self.spec())

    @classmethod
    def from_spec(cls, spec: dict[str, Any], name: str = "", n_seeds: int = 1, **kw: Any) -> "Grid":
        """Rebuild a grid from :meth:`spec` (as stored in a results file); SweepError names what is wrong."""
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            got = spec.get("format") if isinstance(spec, dict) else type(spec).__name__
            raise SweepError(f"not a grokkit sweep spec (format {got!r}, expected {FORMAT!r})")
        missing = [k for k in ("base", "axes", "first_seed", "curves", "keep_weights") if k not in spec]
        if missing:
            raise SweepError(f"the sweep spec lacks {missing}")
        axes = spec["axes"]
        if not isinstance(axes, list) or not all(isinstance(a, list) and len(a) == 2 and isinstance(a[0], str)
                                                 and isinstance(a[1], list) for a in axes):
            raise SweepError("the sweep spec's axes are not a list of [field, [values]] pairs")
        if not isinstance(spec["base"], dict) or not isinstance(spec["curves"], list):
            raise SweepError("the sweep spec's base is not a table or its curves are not a list")
        # Count before building anything: a small file may describe a huge product.
        combos = math.prod(len(v) for _, v in axes)
        if combos > MAX_COMBOS:
            raise SweepError(f"the sweep spec has {combos:,} settings: at most {MAX_COMBOS:,} are allowed")
        try:
            base = config_from_dict(spec["base"])
        except (TypeError, ValueError) as e:
            raise SweepError(f"the sweep spec's base config is not valid: {e}") from e
        return cls(name=name, base=base, axes=tuple((f, tuple(v)) for f, v in axes),
                   n_seeds=n_seeds, first_seed=spec["first_seed"], curves=tuple(spec["curves"]),
                   keep_weights=spec["keep_weights"], **kw)

    # -------------------------------------------------------------- calls and batches
    @property
    def call_size(self) -> int | None:
        """Models per train_many call within a batch_by group (None: one seed's runs of the group)."""
        return self.train_chunk or self.max_batch

    def group_size(self) -> int:
        """Runs per batch_by group (all seeds)."""
        groups = math.prod(len(v) for f, v in self.axes if f in self.batch_by)
        return self.n_runs // groups

    def calls(self, rows: Sequence[int] | None = None) -> list[list[int]]:
        """The grid's train_many calls (all runs, fixed by the grid), each cut down to ``rows`` (empty ones dropped)."""
        # Without a call size a call is one seed's runs of a group, so that more seeds add
        # calls and never change the existing ones.
        per_seed = self.call_size is None
        groups: dict[tuple, list[int]] = {}
        for r in range(self.n_runs):
            c = self.combo(r)
            key = tuple(c[f] for f in self.batch_by) + ((self.seed(r),) if per_seed else ())
            groups.setdefault(key, []).append(r)
        out = []
        for rs in groups.values():
            size = self.call_size or len(rs)
            out += [rs[i:i + size] for i in range(0, len(rs), size)]
        if rows is None:
            return out
        keep = set(int(r) for r in rows)
        return [part for c in out if (part := [r for r in c if r in keep])]

    def batches(self, rows: Sequence[int], workers: int = 1) -> list[list[int]]:
        """Rows grouped (along the grid's calls) into saved batches, in the order they should be started.

        A batch is a batch_by group's calls, at most max_batch runs. With several workers a
        batch is split (along calls) so that there are about three per worker; with more than
        FEW_WORKERS workers the most expensive go first, otherwise the cheapest (ties keep
        grid order).
        """
        if not _positive_int(workers):
            raise SweepError(f"workers = {workers!r} is not allowed: a positive integer")
        calls = self.calls(rows)
        n = sum(len(c) for c in calls)
        limit = self.max_batch or n
        if workers > 1 and n:
            limit = min(limit, max(1, math.ceil(n / (3 * workers))))
        by_group: dict[tuple, list[list[int]]] = {}
        for c in calls:
            by_group.setdefault(tuple(self.combo(c[0])[f] for f in self.batch_by), []).append(c)
        out: list[list[int]] = []
        for group in by_group.values():
            start = len(out)
            for c in group:
                if len(out) > start and len(out[-1]) + len(c) <= limit:
                    out[-1] = out[-1] + c
                else:
                    out.append(list(c))
        per_combo: dict[int, float] = {}
        for b in out:
            for r in b:
                c = r % self.n_combos
                if c not in per_combo:
                    per_combo[c] = training_flops(self.config(r))
        cost = {id(b): sum(per_combo[r % self.n_combos] for r in b) for b in out}
        return sorted(out, key=lambda b: -cost[id(b)] if workers > FEW_WORKERS else cost[id(b)])


def calls_fix_the_numbers(devices: Sequence[str]) -> bool:
    """Whether runs trained on ``devices`` depend on their train_many calls: only where a GPU took part.

    On the CPU a model's numbers do not depend on the models trained beside it (bit for bit:
    tests/test_train.py); on a GPU the products' algorithms are chosen by batch size.
    """
    return any(d != "cpu" for d in devices)


def _normalized_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without the base's seed and swept fields (they never reach a run)."""
    s = json.loads(json.dumps(spec))
    swept = {f for f, _ in s["axes"]} | {"seed"}
    s["base"] = {k: v for k, v in s["base"].items() if k not in swept}
    return s


def _hash_spec(spec: dict[str, Any]) -> str:
    text = json.dumps(_normalized_spec(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def spec_differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Human-readable differences between two grid specs; empty if the results are interchangeable.

    A base field missing from the stored spec (a field added to grokkit later) counts as
    equal when the wanted value is that field's default.
    """
    a, b = _normalized_spec(stored), _normalized_spec(wanted)
    diffs = []
    for key in sorted(set(a) | set(b)):
        if key == "base":
            continue
        if a.get(key) != b.get(key):
            diffs.append(f"{key}: file has {a.get(key)!r}, this grid has {b.get(key)!r}")
    ba, bb = a.get("base", {}), b.get("base", {})
    defaults: dict[str, Any] = {}
    task = bb.get("task")
    if task in ("modadd", "parity"):
        cls = ModAddConfig if task == "modadd" else ParityConfig
        defaults = config_to_dict(cls())
    for key in sorted(set(ba) | set(bb)):
        if key in ba and key in bb and ba[key] == bb[key]:
            continue
        if key not in ba and key in defaults and bb[key] == defaults[key]:
            continue
        diffs.append(f"base.{key}: file has {ba.get(key, '(absent)')!r}, this grid has {bb.get(key, '(absent)')!r}")
    return diffs


# ------------------------------------------------------------------------------ cost

def training_flops(cfg: Config) -> float:
    """Matrix-product FLOPs of training one model of ``cfg`` (all steps, plus test evaluation at logged steps).

    Parity, per step: forward X@W and h@w_out (2*N*(n_bits+1)*H + 2*N*H), backward
    h.T@dz (2*N*H) and X.T@d_pre (2*N*(n_bits+1)*H). Modular addition: collapsing the
    embedding, its gradient(s), and the per-example products in the hidden space.
    """
    return cfg.steps * step_flops(cfg) + len(schedule(cfg.steps, cfg.log_every)) * eval_flops(cfg)


def step_flops(cfg: Config) -> float:
    """Matrix-product FLOPs of one training step (forward and backward) of one model."""
    H = cfg.hidden_size
    if isinstance(cfg, ParityConfig):
        n_in = cfg.n_bits + 1
        return 4.0 * cfg.n_train * H * (n_in + 1)
    p, N = cfg.p, cfg.n_train
    d = p if cfg.embedding == "collapsed" else cfg.embed_size     # collapsed: the identity embedding
    collapse = 2.0 * p * d * 2 * H          # embed @ [hidden | out.T]
    grads = {"tied": 2, "untied": 2, "circular": 1, "collapsed": 1}[cfg.embedding] * collapse
    return collapse + grads + 3 * 2.0 * N * H * p   # logits, grad W_out, grad h


def eval_flops(cfg: Config) -> float:
    """Matrix-product FLOPs of one test-set evaluation of one model (done at logged steps)."""
    H = cfg.hidden_size
    if isinstance(cfg, ParityConfig):
        return 2.0 * cfg.n_test * H * (cfg.n_bits + 2)
    return 2.0 * (cfg.n_pairs - cfg.n_train) * H * cfg.p


# ------------------------------------------------------------------------------ grids from files

_TOML_KEYS = {"name", "description", "base", "set", "axes", "seeds", "first_seed", "batch_by", "max_batch",
              "train_chunk", "curves", "keep_weights"}


def named_configs() -> dict[str, Config]:
    """The explorable's named configs a grid file may start from (PAIR_MODADD, PAIR_PARITY, ...)."""
    from .. import configs
    return {k: v for k, v in vars(configs).items() if k.isupper() and isinstance(v, (ModAddConfig, ParityConfig))}


def grid_from_toml(path: str | os.PathLike) -> Grid:
    """A grid from a TOML file: a base config name, field overrides, axes and seeds; SweepError naming the file.

    Example::

        name = "wd_scan"
        base = "PAIR_PARITY"          # a config of grokkit.configs
        seeds = 3
        batch_by = ["hidden_size"]
        [set]                         # fields of the base changed for every run
        steps = 2000
        [axes]                        # swept fields, in order (first slowest)
        weight_decay = [0.01, 0.1, 1.0]
        hidden_size = [32, 64]
    """
    import tomllib
    p = Path(path)
    try:
        with open(p, "rb") as f:
            d = tomllib.load(f)
    except OSError as e:
        raise SweepError(f"cannot read grid file {p}: {e.strerror or e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SweepError(f"{p} is not a TOML file: {e}") from e

    def fail(msg: str) -> SweepError:
        return SweepError(f"{p}: {msg}")
    unknown = sorted(set(d) - _TOML_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {unknown}: allowed are {sorted(_TOML_KEYS)}")
    configs = named_configs()
    if d.get("base") not in configs:
        raise fail(f"base = {d.get('base')!r} is not allowed: one of {', '.join(sorted(configs))}")
    for key, kind in (("set", dict), ("axes", dict), ("batch_by", list), ("curves", list)):
        if key in d and not isinstance(d[key], kind):
            raise fail(f"{key} must be a {'table' if kind is dict else 'list'}, got {d[key]!r}")
    for key in ("name", "description"):
        if key in d and not isinstance(d[key], str):
            raise fail(f"{key} must be a string, got {d[key]!r}")
    name = d.get("name", p.stem)
    if not name or "/" in name or "\\" in name:
        raise fail(f"name = {name!r} is not allowed: a non-empty name without slashes")
    base = configs[d["base"]]
    overrides = d.get("set", {})
    if "seed" in overrides:
        raise fail("set.seed is not allowed: the seeds are first_seed, first_seed + 1, ... (keys seeds, first_seed)")
    try:
        base = config_from_dict({**config_to_dict(base), **overrides})
    except (TypeError, ValueError) as e:
        raise fail(f"[set]: {e}") from e
    axes = []
    for f, values in d.get("axes", {}).items():
        if not isinstance(values, list):
            raise fail(f"axes.{f} must be a list of values, got {values!r}")
        axes.append((f, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
    kw: dict[str, Any] = {}
    for key in ("max_batch", "train_chunk"):
        if key in d:
            kw[key] = d[key]
    if "curves" in d:
        kw["curves"] = tuple(d["curves"])
    try:
        return Grid(name=name, base=base, axes=tuple(axes), n_seeds=d.get("seeds", 1),
                    first_seed=d.get("first_seed", 0), batch_by=tuple(d.get("batch_by", ())),
                    keep_weights=d.get("keep_weights", False), description=d.get("description", ""), **kw)
    except SweepError as e:
        raise fail(str(e)) from e


__all__ = ["FORMAT", "MAX_COMBOS", "MAX_RUNS", "FEW_WORKERS", "SweepError", "Grid", "spec_differences",
           "training_flops", "step_flops", "eval_flops", "named_configs", "grid_from_toml"]
