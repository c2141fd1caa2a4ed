"""Sweeps: grids of configs, trained in batches, saved after every batch, resumed after interruption.

A :class:`Grid` is a base config, an ordered product of field values (the *axes*) and a
number of seeds. Its runs are trained with :func:`grokkit.train_many` in batches (for the
parity grid, one batch per (hidden size, train size) cell: 5 weight decays x 9 seeds) and
written after every batch to ``NAME.npz`` (arrays, read with ``allow_pickle=False``) and
``NAME.json`` (the grid's spec and which runs are done), each through a temporary file and
an atomic rename. Running the same grid into the same file again skips the finished runs,
so a killed sweep continues where it stopped; a file holding a different grid is refused.

The results keep what is needed to classify runs again with other thresholds (the loss
curves at every logged step), so changing a threshold never means retraining::

    res = load("parity_grid")                       # the shipped results
    res.class_counts(by="weight_decay", min_loss=1e-4)
    print(summary(res))                              # beside the explorable's counts

A results file may be partial (``res.complete`` is False, ``res.n_done`` of ``res.n_runs``
runs finished, the JSON lists ``done_ranges`` and ``done_cells``); counts and summaries
cover the finished runs only and say so. Command line (``python -m grokkit``)::

    python -m grokkit sweep parity_grid --out grokkit/data/parity_grid --jobs 2
    python -m grokkit summary parity_grid

Run order inside the results: row ``r`` is seed index ``r // n_combos`` and axis combination
``r % n_combos`` (first axis slowest), so a grid with more seeds extends the arrays at the
end. Stored losses are ordinary cross-entropy, as :class:`grokkit.Run` logs them; divide by
``n_classes`` (or use :meth:`SweepResults.article_losses`) for the article's scale.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import analysis, fourier
from .configs import Config, ModAddConfig, ParityConfig, config_from_dict, config_to_dict
from .run import METRICS, Run, atomic_write as _atomic_write, schedule
from .training import train_many

FORMAT = "grokkit.Sweep/1"
DATA_DIR = Path(__file__).resolve().parent / "data"


def _engine_id() -> str:
    """Which engine computed a run: grokkit and torch versions and a hash of the training module as imported."""
    import torch

    from . import __version__
    engine = sys.modules[train_many.__module__]

    def digest(path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        except OSError:
            return "unknown"
    return f"grokkit {__version__}, torch {torch.__version__}, {Path(engine.__file__).name} {digest(Path(engine.__file__))}"


# Read once, when the engine is imported (a later edit of the engine does not change this process).
ENGINE = _engine_id()

# Fields that may not be axes: the seed has its own count, and every run of a grid must log
# at the same steps so that the curves form one array.
_NOT_AXES = ("seed", "steps", "log_every")


class SweepError(ValueError):
    """A sweep cannot start or continue: bad name, unwritable path, or a file from another grid."""


# ------------------------------------------------------------------------------ the grid

@dataclass(frozen=True)
class Grid:
    """A sweep: a base config, an ordered product of field values, and seeds first_seed.. .

    batch_by names the axes whose values define one batch of :func:`train_many` (all other
    axes and the seeds train together); max_batch splits larger batches. A batch is the unit
    that is saved (and so redone after an interruption); train_chunk, if set, trains it with
    several train_many calls of at most that many models each. curves are the
    metrics stored at every logged step; keep_weights stores each run's final W_in and its
    neurons per Fourier frequency (modular addition only).
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
        axes = tuple((str(f), tuple(v)) for f, v in self.axes)
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "batch_by", tuple(self.batch_by))
        object.__setattr__(self, "curves", tuple(self.curves))
        fields = {f.name for f in dataclasses.fields(self.base)}
        names = [f for f, _ in axes]
        for f, values in axes:
            if f not in fields:
                raise SweepError(f"axis {f!r} is not a field of {type(self.base).__name__}: "
                                 f"allowed are {sorted(fields)}")
            if f in _NOT_AXES:
                raise SweepError(f"axis {f!r} is not allowed: {_NOT_AXES} are fixed for a grid (use n_seeds for seeds)")
            if not values or len(set(values)) != len(values):
                raise SweepError(f"axis {f!r} needs distinct values, got {list(values)}")
        if len(set(names)) != len(names):
            raise SweepError(f"axes repeat a field: {names}")
        for f in self.batch_by:
            if f not in names:
                raise SweepError(f"batch_by field {f!r} is not an axis: axes are {names}")
        for name, v in (("n_seeds", self.n_seeds), ("first_seed", self.first_seed)):
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if name == "n_seeds" else 0):
                least = 1 if name == "n_seeds" else 0
                raise SweepError(f"Grid.{name} = {v!r} is not allowed: it must be an integer >= {least}")
        for name in ("max_batch", "train_chunk"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise SweepError(f"Grid.{name} = {v!r} is not allowed: None or an integer >= 1")
        bad = [c for c in self.curves if c not in METRICS]
        if bad or not {"train_loss", "test_loss"} <= set(self.curves):
            raise SweepError(f"Grid.curves = {self.curves} is not allowed: a subset of {METRICS} that "
                             "includes train_loss and test_loss (runs are classified from them)")
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
        """Rebuild a grid from :meth:`spec` (as stored in a results file)."""
        if spec.get("format") != FORMAT:
            raise SweepError(f"not a grokkit sweep spec (format {spec.get('format')!r}, expected {FORMAT!r})")
        return cls(name=name, base=config_from_dict(spec["base"]), axes=tuple((f, tuple(v)) for f, v in spec["axes"]),
                   n_seeds=n_seeds, first_seed=spec["first_seed"], curves=tuple(spec["curves"]),
                   keep_weights=spec["keep_weights"], **kw)

    # -------------------------------------------------------------- batches
    def batches(self, rows: Sequence[int]) -> list[list[int]]:
        """Rows grouped into train_many batches (by the batch_by axes), cheapest first."""
        groups: dict[tuple, list[int]] = {}
        for r in rows:
            c = self.combo(r)
            groups.setdefault(tuple(c[f] for f in self.batch_by), []).append(r)
        out = []
        for rs in groups.values():
            size = self.max_batch or len(rs)
            out += [rs[i:i + size] for i in range(0, len(rs), size)]
        # Cheapest cell first: an interrupted sweep has finished as many runs as possible.
        # Ties keep grid order (sorted is stable).
        return sorted(out, key=lambda b: training_flops(self.config(b[0])))


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
    p, d, N = cfg.p, cfg.embed_size, cfg.n_train
    collapse = 2.0 * p * d * 2 * H          # embed @ [hidden | out.T]
    grads = {"tied": 2, "untied": 2, "circular": 1}[cfg.embedding] * collapse
    return collapse + grads + 3 * 2.0 * N * H * p   # logits, grad W_out, grad h


def eval_flops(cfg: Config) -> float:
    """Matrix-product FLOPs of one test-set evaluation of one model (done at logged steps)."""
    H = cfg.hidden_size
    if isinstance(cfg, ParityConfig):
        return 2.0 * cfg.n_test * H * (cfg.n_bits + 2)
    return 2.0 * (cfg.n_pairs - cfg.n_train) * H * cfg.p


# ------------------------------------------------------------------------------ results

@dataclass
class SweepResults:
    """A sweep's results: one row per run (done or not), with curves to classify them again.

    Arrays (row = run): ``done``, ``seed``, the swept fields (:meth:`field`), ``steps``
    (shared logged steps), curves ``curve(metric)`` of shape (runs, logged steps), final
    ``train_acc``/``test_acc``, ``diverged``, ``seconds`` (wall) and ``cpu_seconds`` (this
    process's CPU time) per model, ``engine`` (index into ``meta["engines"]``: versions and
    train.py hash that computed the run; -1 unknown), and for seed sweeps ``W_in`` (final collapsed
    input weights) and ``freq_neurons`` (neurons per Fourier frequency with strength above
    :data:`grokkit.fourier.SEED_SWEEP_MIN_STRENGTH`; column k = frequency k).
    """

    grid: Grid
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    path: Path | None = None

    # -------------------------------------------------------------- construction
    @classmethod
    def empty(cls, grid: Grid) -> "SweepResults":
        """Results for a grid with no run done yet."""
        R, L = grid.n_runs, len(grid.steps)
        a: dict[str, np.ndarray] = {
            "done": np.zeros(R, bool),
            "seed": np.array([grid.seed(r) for r in range(R)], np.int64),
            "steps": grid.steps.copy(),
            "final_train_acc": np.full(R, np.nan, np.float32),
            "final_test_acc": np.full(R, np.nan, np.float32),
            "diverged": np.zeros(R, bool),
            "diverged_step": np.full(R, -1, np.int64),
            "seconds": np.full(R, np.nan, np.float32),
            "cpu_seconds": np.full(R, np.nan, np.float32),
            "engine": np.full(R, -1, np.int16),
            "cls": np.full(R, -1, np.int8),
        }
        for f, values in grid.axes:
            a["field_" + f] = np.array([grid.combo(r)[f] for r in range(R)])
        for m in grid.curves:
            a["curve_" + m] = np.full((R, L), np.nan, np.float32)
        if grid.keep_weights:
            cfg = grid.base
            a["W_in"] = np.full((R, cfg.p, cfg.hidden_size), np.nan, np.float32)
            a["freq_neurons"] = np.zeros((R, cfg.p // 2 + 1), np.int16)
        return cls(grid=grid, arrays=a)

    def resized(self, n_seeds: int) -> "SweepResults":
        """A copy holding n_seeds seeds (more rows are added empty; fewer is refused if they are done)."""
        grid = self.grid.with_seeds(n_seeds)
        new = SweepResults.empty(grid)
        keep = min(self.grid.n_runs, grid.n_runs)
        if self.done[keep:].any():
            raise SweepError(f"cannot drop seeds from {self.grid.name!r}: "
                             f"runs beyond seed index {n_seeds - 1} are done")
        for k, v in self.arrays.items():
            if k != "steps" and k in new.arrays:
                new.arrays[k][:keep] = v[:keep]
        return SweepResults(grid=grid, arrays=new.arrays, meta=dict(self.meta), path=self.path)

    # -------------------------------------------------------------- plain accessors
    @property
    def name(self) -> str:
        """The grid's name."""
        return self.grid.name

    @property
    def done(self) -> np.ndarray:
        """Boolean per run: finished and stored."""
        return self.arrays["done"]

    @property
    def n_runs(self) -> int:
        """Number of runs in the grid (done or not)."""
        return self.grid.n_runs

    @property
    def n_done(self) -> int:
        """Number of finished runs."""
        return int(self.done.sum())

    @property
    def complete(self) -> bool:
        """True when every run of the grid is done."""
        return bool(self.done.all())

    @property
    def steps(self) -> np.ndarray:
        """Logged steps, shared by all runs."""
        return self.arrays["steps"]

    @property
    def seeds(self) -> np.ndarray:
        """Seed per run."""
        return self.arrays["seed"]

    def field(self, name: str) -> np.ndarray:
        """Per-run values of a config field (swept, the seed, or the base value repeated)."""
        if name == "seed":
            return self.seeds
        if "field_" + name in self.arrays:
            return self.arrays["field_" + name]
        if name in {f.name for f in dataclasses.fields(self.grid.base)}:
            return np.full(self.n_runs, getattr(self.grid.base, name))
        raise KeyError(f"{name!r} is not a config field of grid {self.name!r}")

    def curve(self, metric: str) -> np.ndarray:
        """Per-run curve of a stored metric at :attr:`steps`, shape (runs, steps); NaN for runs not done."""
        key = "curve_" + metric
        if key not in self.arrays:
            raise KeyError(f"metric {metric!r} is not stored for {self.name!r}: stored are {list(self.grid.curves)}")
        return self.arrays[key]

    @property
    def train_loss(self) -> np.ndarray:
        """Training cross-entropy curves (ordinary scale), (runs, steps)."""
        return self.curve("train_loss")

    @property
    def test_loss(self) -> np.ndarray:
        """Test cross-entropy curves (ordinary scale), (runs, steps)."""
        return self.curve("test_loss")

    def article_losses(self) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) loss curves on the article's scale: cross-entropy / number of classes."""
        n = self.grid.base.n_classes
        return self.train_loss.astype(np.float64) / n, self.test_loss.astype(np.float64) / n

    @property
    def train_acc(self) -> np.ndarray:
        """Final training accuracy per run."""
        return self.arrays["final_train_acc"]

    @property
    def test_acc(self) -> np.ndarray:
        """Final test accuracy per run."""
        return self.arrays["final_test_acc"]

    @property
    def diverged(self) -> np.ndarray:
        """Per run: the loss became NaN/inf and training stopped."""
        return self.arrays["diverged"]

    def config(self, r: int) -> Config:
        """Config of run r."""
        return self.grid.config(r)

    def rows(self, done_only: bool = True, **where: Any) -> np.ndarray:
        """Indices of runs whose fields equal ``where`` (e.g. weight_decay=0.1), done ones only by default."""
        mask = self.done.copy() if done_only else np.ones(self.n_runs, bool)
        for name, value in where.items():
            vals = self.field(name)
            mask &= np.isclose(vals, value) if np.issubdtype(vals.dtype, np.floating) else vals == value
        return np.nonzero(mask)[0]

    def settings(self, done_only: bool = True) -> list[dict[str, Any]]:
        """Axis combinations that have at least one (done) run, in grid order."""
        out, seen = [], set()
        for r in range(self.grid.n_combos):
            rows = np.arange(r, self.n_runs, self.grid.n_combos)
            if done_only and not self.done[rows].any():
                continue
            c = self.grid.combo(r)
            key = tuple(c.values())
            if key not in seen:
                seen.add(key)
                out.append(c)
        return out

    def as_grid(self, values: np.ndarray) -> np.ndarray:
        """Per-run values reshaped to (*axis lengths, seeds, ...), e.g. classes -> (5 wd, 5 H, 5 N, 9)."""
        values = np.asarray(values)
        lens = [len(v) for _, v in self.grid.axes]
        out = values.reshape(self.grid.n_seeds, *lens, *values.shape[1:])
        return np.moveaxis(out, 0, len(lens))

    def done_cells(self) -> list[dict[str, Any]]:
        """The batch_by combinations (e.g. hidden size, train size) whose runs are all done."""
        by = self.grid.batch_by
        if not by:
            return []
        cells: dict[tuple, bool] = {}
        for r in range(self.n_runs):
            c = self.grid.combo(r)
            key = tuple(_py(c[f]) for f in by)
            cells[key] = cells.get(key, True) and bool(self.done[r])
        return [dict(zip(by, k)) for k, ok in cells.items() if ok]

    # -------------------------------------------------------------- classes
    def classes(self, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> np.ndarray:
        """Class per run recomputed from the stored curves ('' for runs not done); no retraining."""
        tr, te = self.article_losses()
        out = np.full(self.n_runs, "", dtype="<U10")
        for r in np.nonzero(self.done)[0]:
            out[r] = "fail" if self.diverged[r] else analysis.classify_losses(tr[r], te[r], min_loss, max_ratio)
        return out

    @property
    def stored_classes(self) -> np.ndarray:
        """Class per run as written at training time (default thresholds); '' for runs not done."""
        codes = self.arrays["cls"]
        names = np.array(("",) + analysis.CLASSES, dtype="<U10")
        return names[codes.astype(np.int64) + 1]

    def class_counts(self, by: str | None = None, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                     max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict:
        """Counts of each class over done runs; with ``by``, a dict {field value: counts}."""
        cls = self.classes(min_loss, max_ratio)

        def count(mask: np.ndarray) -> dict[str, int]:
            return {c: int(((cls == c) & mask).sum()) for c in analysis.CLASSES}
        if by is None:
            return count(self.done)
        vals = self.field(by)
        return {_py(v): count(self.done & (vals == v)) for v in _unique_in_order(vals)}

    # -------------------------------------------------------------- Fourier (seed sweeps)
    @property
    def W_in(self) -> np.ndarray:
        """Final collapsed input weights per run, (runs, p, H) (seed sweeps only)."""
        if "W_in" not in self.arrays:
            raise KeyError(f"grid {self.name!r} does not store weights (keep_weights=False)")
        return self.arrays["W_in"]

    @property
    def freq_neurons(self) -> np.ndarray:
        """Neurons per frequency (strength > 10) per run, (runs, p // 2 + 1); column 0 = constant."""
        if "freq_neurons" not in self.arrays:
            raise KeyError(f"grid {self.name!r} does not store frequencies (keep_weights=False)")
        return self.arrays["freq_neurons"]

    def key_frequencies(self, r: int, min_strength: float | None = None) -> list[int]:
        """Key frequencies of run r: those with at least one neuron above min_strength (default 10)."""
        if not self.done[r]:
            raise ValueError(f"run {r} of {self.name!r} is not done")
        if min_strength is None:
            return [int(k) for k in np.nonzero(self.freq_neurons[r][1:])[0] + 1]
        return fourier.key_frequencies(self.W_in[r].astype(np.float64), min_strength)

    # -------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write PATH.npz then PATH.json, each via a temporary file and an atomic rename; returns the npz path."""
        base = results_base(path)
        spec = self.grid.spec()
        arrays = dict(self.arrays)
        arrays["spec_json"] = np.array(json.dumps(spec, sort_keys=True))
        arrays["n_seeds"] = np.array(self.grid.n_seeds)
        meta = dict(self.meta)
        meta.update({
            "format": FORMAT, "name": self.grid.name, "description": self.grid.description,
            "spec": spec, "spec_hash": self.grid.spec_hash(), "n_seeds": self.grid.n_seeds,
            "n_runs": self.n_runs, "n_done": self.n_done, "complete": self.complete,
            "done_ranges": _ranges(self.done), "axes": [[f, list(v)] for f, v in self.grid.axes],
            "run_order": "row r: seed index r // n_combos, axis combination r % n_combos (first axis slowest)",
            "losses": "ordinary cross-entropy; divide by n_classes for the article's scale",
            "stored_class_thresholds": {"min_loss": analysis.DEFAULT_MIN_LOSS, "max_ratio": analysis.DEFAULT_MAX_RATIO},
            "class_counts": self.class_counts(),
            "done_cells": self.done_cells(),
            "batch_by": list(self.grid.batch_by), "max_batch": self.grid.max_batch,
            "train_chunk": self.grid.train_chunk,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        meta["revision"] = int(meta.get("revision", 0)) + 1
        meta.setdefault("engines", [])
        arrays["revision"] = np.array(meta["revision"])
        arrays["engines_json"] = np.array(json.dumps(meta["engines"]))
        _atomic_write(base.with_suffix(".npz"), lambda f: np.savez_compressed(f, **arrays))
        _atomic_write(base.with_suffix(".json"), lambda f: f.write((json.dumps(meta, indent=1) + "\n").encode()))
        self.meta, self.path = meta, base.with_suffix(".npz")
        return self.path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SweepResults":
        """Read results written by :meth:`save` (the npz is authoritative; it is opened without pickle)."""
        base = results_base(path)
        npz = base.with_suffix(".npz")
        if not npz.exists():
            raise FileNotFoundError(f"no sweep results at {npz}")
        try:
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as e:
            raise SweepError(f"{npz} is not a readable sweep results file: {e}") from e
        if "spec_json" not in arrays:
            raise SweepError(f"{npz} is not a grokkit sweep results file (no spec)")
        spec = json.loads(str(arrays.pop("spec_json")))
        n_seeds = int(arrays.pop("n_seeds"))
        revision = int(arrays.pop("revision", 0))
        engines = json.loads(str(arrays.pop("engines_json", "[]")))
        meta: dict[str, Any] = {}
        if base.with_suffix(".json").exists():
            with contextlib.suppress(ValueError):
                meta = json.loads(base.with_suffix(".json").read_text())
        meta["revision"] = revision  # the npz wins if a crash left the json one save behind
        meta["engines"] = engines
        kw = {}
        if isinstance(meta.get("batch_by"), list):
            kw["batch_by"] = tuple(meta["batch_by"])
            kw["max_batch"] = meta.get("max_batch")
            kw["train_chunk"] = meta.get("train_chunk")
        grid = Grid.from_spec(spec, name=meta.get("name", base.name), n_seeds=n_seeds,
                              description=meta.get("description", ""), **kw)
        res = cls(grid=grid, arrays=arrays, meta=meta, path=npz)
        if len(res.done) != grid.n_runs:
            raise SweepError(f"{npz}: {len(res.done)} rows but the grid has {grid.n_runs} runs")
        for k, v in cls.empty(grid).arrays.items():
            arrays.setdefault(k, v)  # a column added to the format after the file was written
        return res

    def __repr__(self) -> str:
        state = "complete" if self.complete else "partial"
        return f"SweepResults({self.name!r}, {self.n_done}/{self.n_runs} runs done, {state})"


def results_base(path: str | os.PathLike) -> Path:
    """PATH without a .npz/.json suffix: the common stem of the results pair."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def _ranges(mask: np.ndarray) -> list[list[int]]:
    """[start, stop) index ranges where mask is True."""
    out, start = [], None
    for i, v in enumerate(list(mask) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append([start, i])
            start = None
    return out


def _unique_in_order(values: np.ndarray) -> list:
    seen, out = set(), []
    for v in values.tolist():
        if v not in seen:
            seen.add(v)
            out.append(v)
    return sorted(out) if all(isinstance(v, (int, float)) for v in out) else out


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# ------------------------------------------------------------------------------ recording one run

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


def _store(res: SweepResults, r: int, rec: dict[str, Any]) -> None:
    for k, v in rec.items():
        res.arrays[k][r] = v
    res.arrays["done"][r] = True


# ------------------------------------------------------------------------------ named sweeps

def _parity_grid() -> Grid:
    # A cell's 45 models are one saved batch, but train one at a time (train_chunk=1): on this
    # engine's CPU path a single parity model trains 1.1-2x faster per model-step than a
    # batch of 45 (torch.bmm with a model axis is slow for the n = 1 products h @ w_out and
    # h.T @ dz; measured with benchmarks/sweep_speed.py --chunks). Results are the same runs.
    base = ParityConfig(n_bits=30, k=3, n_train=1000, n_test=5000, hidden_size=64, regularizer="l2",
                        weight_decay=0.1, lr=3e-3, beta1=0.99, beta2=0.98, steps=20_000, log_every=100,
                        save_every=0, seed=0)
    return Grid(
        name="parity_grid", base=base,
        axes=(("weight_decay", (0.01, 0.03, 0.1, 0.3, 1.0)), ("hidden_size", (16, 32, 64, 128, 258)),
              ("n_train", (750, 1000, 1250, 1500, 1750))),
        n_seeds=9, batch_by=("hidden_size", "n_train"), train_chunk=1,
        description="The explorable's sparse-parity sweep (section 2): weight decay x hidden size x "
                    "train size x 9 seeds, 20,000 steps, L2, lr 3e-3, betas (0.99, 0.98), 5,000 test sequences.")


def _modadd_seeds() -> Grid:
    from .configs import PAIR_MODADD
    return Grid(
        name="modadd_seeds", base=dataclasses.replace(PAIR_MODADD, log_every=1000, save_every=0),
        n_seeds=450, max_batch=15, curves=("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm"),
        keep_weights=True,
        description="The explorable's seed sweep (section 4): the main modular-addition model "
                    "(PAIR_MODADD, 50,000 steps) with seeds 0, 1, 2, ...; curves every 1,000 steps, "
                    "final W_in and neurons per key frequency.")


def _demo() -> Grid:
    # Chosen so that the three common classes all appear: 80 examples memorize, 400 generalize,
    # weight decay 1 fails (measured on this engine, seeds 0-2).
    base = ParityConfig(n_bits=10, k=3, n_train=400, n_test=300, hidden_size=32, regularizer="l2",
                        weight_decay=0.1, lr=3e-2, beta1=0.9, beta2=0.98, steps=1000, log_every=20,
                        save_every=0, seed=0)
    return Grid(name="demo", base=base, axes=(("weight_decay", (0.01, 1.0)), ("n_train", (80, 400))),
                n_seeds=3, batch_by=("n_train",),
                description="A tiny parity grid (12 runs, seconds) for tests and trying the command.")


def _demo_seeds() -> Grid:
    base = ModAddConfig(p=31, train_fraction=0.6, embed_size=64, hidden_size=12, weight_decay=1.0, lr=1e-2,
                        steps=800, log_every=100, save_every=0)
    return Grid(name="demo_seeds", base=base, n_seeds=4, max_batch=2,
                curves=("train_loss", "test_loss", "train_acc", "test_acc"), keep_weights=True,
                description="A tiny modular-addition seed sweep (4 runs, seconds) for tests.")


SWEEPS: dict[str, Callable[[], Grid]] = {
    "parity_grid": _parity_grid, "modadd_seeds": _modadd_seeds, "demo": _demo, "demo_seeds": _demo_seeds,
}


def get_grid(name: str) -> Grid:
    """The named sweep's grid; an unknown name raises SweepError listing the names."""
    if name not in SWEEPS:
        raise SweepError(f"unknown sweep {name!r}: the sweeps are {', '.join(sorted(SWEEPS))}")
    return SWEEPS[name]()


def shipped_path(name: str) -> Path:
    """Where the package ships a named sweep's results (grokkit/data/NAME.npz)."""
    get_grid(name)
    return DATA_DIR / f"{name}.npz"


def load(name_or_path: str | os.PathLike) -> SweepResults:
    """Load shipped results by sweep name ('parity_grid', 'modadd_seeds'), or results from a path."""
    if isinstance(name_or_path, str) and name_or_path in SWEEPS:
        path = shipped_path(name_or_path)
        if not path.exists():
            raise FileNotFoundError(f"the results of {name_or_path!r} are not shipped yet ({path}); "
                                    f"run `python -m grokkit sweep {name_or_path}` to compute them")
        return SweepResults.load(path)
    return SweepResults.load(name_or_path)


# ------------------------------------------------------------------------------ running

def check_writable(path: str | os.PathLike) -> Path:
    """Make sure PATH.npz and PATH.json can be written (the folder is created); SweepError if not."""
    base = results_base(path)
    folder = base.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + base.name + ".check.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise SweepError(f"cannot write sweep results to {folder}: {e.strerror or e}") from e
    for suffix in (".npz", ".json"):
        f = base.with_suffix(suffix)
        if f.exists() and (f.is_dir() or not os.access(f, os.W_OK)):
            raise SweepError(f"cannot write sweep results to {f}: it exists and is not a writable file")
    return base


@contextlib.contextmanager
def _lock(base: Path) -> Iterator[None]:
    """Hold an exclusive lock on PATH so two processes never write the same results."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    lock_path = base.parent / f".{base.name}.lock.tmp"
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise SweepError(f"another process is writing {base}.npz (lock {lock_path} is held)") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_results(grid: Grid, path: str | os.PathLike) -> SweepResults:
    """Results at PATH if they belong to ``grid`` (grown to its seed count), or empty ones; SweepError otherwise."""
    base = results_base(path)
    npz, js = base.with_suffix(".npz"), base.with_suffix(".json")
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
    res = old.resized(max(grid.n_seeds, old.grid.n_seeds)) if old.grid.n_seeds < grid.n_seeds else old
    res.grid = dataclasses.replace(res.grid, name=grid.name, batch_by=grid.batch_by, max_batch=grid.max_batch,
                                   train_chunk=grid.train_chunk,
                                   description=grid.description or res.grid.description)
    return res


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


def _train_rows(grid: Grid, rows: list[int], device: str, progress: bool,
                on_chunk: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Train a batch of rows (one train_many call per train_chunk models) and return their records."""
    size = grid.train_chunk or len(rows)
    recs: list[dict[str, Any]] = []
    for i in range(0, len(rows), size):
        chunk = rows[i:i + size]
        cpu = time.process_time()
        runs = train_many([grid.config(r) for r in chunk], progress=progress and size == len(rows),
                          device=device, keep_raw=False)
        cpu = (time.process_time() - cpu) / len(chunk)
        for run in runs:
            recs.append(record_run(grid, run))
            recs[-1]["cpu_seconds"] = cpu
            recs[-1]["engine"] = ENGINE
        if on_chunk is not None:
            on_chunk(sum(grid.config(r).steps for r in chunk))
    return recs


def retrain(res: SweepResults, rows: Sequence[int], device: str = "cpu", progress: bool = False) -> list[Run]:
    """Train runs of a sweep again, as the sweep trains them (its train_chunk models per call): full Runs."""
    rows = [int(r) for r in rows]
    size = res.grid.train_chunk or len(rows)
    runs: list[Run] = []
    for i in range(0, len(rows), size):
        runs += train_many([res.config(r) for r in rows[i:i + size]], progress=progress, device=device,
                           keep_raw=False)
    return runs


def _worker_init(threads: int, parent: int) -> None:
    import threading

    import torch
    torch.set_num_threads(threads)
    tune_allocator()

    def exit_with_parent() -> None:  # a killed sweep must not leave workers training for nothing
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)
    threading.Thread(target=exit_with_parent, daemon=True).start()


def run_sweep(grid: Grid | str, out: str | os.PathLike, device: str = "cpu", n_seeds: int | None = None,
              progress: bool = True, jobs: int = 1, threads: int | None = None, max_batches: int | None = None,
              on_batch: Callable[[SweepResults, list[int]], None] | None = None) -> SweepResults:
    """Train a grid's unfinished runs in batches, saving OUT.npz/.json after each; returns the results.

    Finished runs in an existing OUT are skipped; OUT from another grid raises SweepError and
    is left untouched. n_seeds overrides the grid's seed count (runs of more seeds already in
    OUT are kept). jobs > 1 trains that many batches at once in worker processes; threads sets
    torch's intra-op threads (per worker). max_batches stops after that many batches.
    on_batch(results, rows) is called after each batch is saved.
    """
    if isinstance(grid, str):
        grid = get_grid(grid)
    if n_seeds is not None:
        grid = grid.with_seeds(n_seeds)
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise SweepError(f"device {device!r} is not allowed: 'cpu' or 'cuda'")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise SweepError("device 'cuda' was asked for but torch sees no CUDA device")
    if not isinstance(jobs, int) or jobs < 1:
        raise SweepError(f"jobs = {jobs!r} is not allowed: a positive integer")
    base = check_writable(out)
    with _lock(base):
        res = open_results(grid, base)
        todo = [r for r in range(grid.n_runs) if not res.done[r]]
        batches = res.grid.batches(todo)
        if max_batches is not None:
            batches = batches[:max_batches]
        if not batches:
            if not res.path:
                res.save(base)
            return res
        res.meta.setdefault("devices", [])
        if device not in res.meta["devices"]:
            res.meta["devices"].append(device)
        res.meta["versions"] = _versions()
        with _Bar(res.grid, batches, progress) as bar:
            if jobs == 1:
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
            else:
                _run_parallel(res, base, batches, device, jobs, threads or 1, bar, on_batch)
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
        _store(res, r, rec)
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


def _run_parallel(res: SweepResults, base: Path, batches: list[list[int]], device: str, jobs: int,
                  threads: int, bar: "_Bar", on_batch: Callable | None) -> None:
    import concurrent.futures as cf
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    # Workers import torch afresh: let their OpenMP threads sleep instead of spinning while
    # they wait (with spinning threads a busy machine runs torch tens of times slower).
    # Only while the workers start: a process started later from this one (a Jupyter
    # kernel under the test suite, say) must not inherit it, as passive threads make
    # single-process training several times slower.
    with _environment(OMP_WAIT_POLICY="PASSIVE"), \
            cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                   initargs=(threads, os.getpid())) as pool:
        pending = {}
        queue = list(batches)
        try:
            while queue or pending:
                while queue and len(pending) < jobs:
                    rows = queue.pop(0)
                    pending[pool.submit(_train_rows, res.grid, rows, device, False)] = rows
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    rows = pending.pop(fut)
                    _finish_batch(res, base, rows, fut.result(), bar, on_batch)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _versions() -> dict[str, str]:
    import torch

    from . import __version__
    return {"grokkit": __version__, "torch": torch.__version__, "numpy": np.__version__,
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
        """A batch starts (sequential runs report its chunks through :meth:`advance`)."""
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


# ------------------------------------------------------------------------------ summaries

# The explorable's published numbers (explorable.md sections 2 and 4).
EXPLORABLE_PARITY_COUNTS = {"fail": 152, "memorize": 390, "generalize": 148, "grok": 435}
EXPLORABLE_PARITY_BY_WD = {0.01: {"memorize": 199}, 0.1: {"grok": 179}, 1.0: {"fail": 135}}  # of 225 runs each
EXPLORABLE_PARITY_RUNS = 1125
EXPLORABLE_SEED_N_FREQS = {2: 1, 3: 274, 4: 165, 5: 10}  # models using that many frequencies, of 450
EXPLORABLE_SEED_RUNS = 450


def parity_comparison(res: SweepResults, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                      max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict[str, Any]:
    """Class counts of a parity grid overall and per weight decay, beside the explorable's published counts."""
    return {
        "n_done": res.n_done, "n_runs": res.n_runs, "complete": res.complete,
        "overall": res.class_counts(min_loss=min_loss, max_ratio=max_ratio),
        "by_weight_decay": res.class_counts(by="weight_decay", min_loss=min_loss, max_ratio=max_ratio),
        "explorable_overall": dict(EXPLORABLE_PARITY_COUNTS), "explorable_runs": EXPLORABLE_PARITY_RUNS,
        "explorable_by_weight_decay": {k: dict(v) for k, v in EXPLORABLE_PARITY_BY_WD.items()},
        "settings_done": res.settings(),
    }


def seed_comparison(res: SweepResults, level: float = 1e-2) -> dict[str, Any]:
    """Frequencies of a seed sweep beside the explorable's, over the models that generalized.

    A model counts as generalized when its test loss (article scale) reaches ``level``; the
    explorable's 450 all did, so its frequency statistics are over generalized models. The
    frequencies of a model that only memorized are noise, reported apart.
    """
    done = np.nonzero(res.done)[0]
    _, te = res.article_losses()
    crossings = {int(r): analysis.first_crossing(res.steps, te[r], level, above=False) for r in done}
    generalized = [r for r in done if crossings[int(r)] is not None]

    def tally(rows: Sequence[int]) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        n_freqs: dict[int, int] = {}
        group_sizes: dict[int, int] = {}
        freq_use: dict[int, int] = {}
        for r in rows:
            counts = res.freq_neurons[r][1:]
            ks = np.nonzero(counts)[0]
            n_freqs[len(ks)] = n_freqs.get(len(ks), 0) + 1
            for k in ks:
                group_sizes[int(counts[k])] = group_sizes.get(int(counts[k]), 0) + 1
                freq_use[int(k) + 1] = freq_use.get(int(k) + 1, 0) + 1
        return dict(sorted(n_freqs.items())), dict(sorted(group_sizes.items())), dict(sorted(freq_use.items()))

    n_freqs, group_sizes, freq_use = tally(generalized)
    reached = [crossings[int(r)] for r in generalized]
    return {
        "n_done": res.n_done, "n_runs": res.n_runs, "complete": res.complete, "level": level,
        "generalized": len(generalized), "not_generalized_seeds": [int(res.seeds[r]) for r in done
                                                                   if crossings[int(r)] is None],
        "models_by_n_freqs": n_freqs, "groups_by_size": group_sizes, "models_by_freq": freq_use,
        "all_models_by_n_freqs": tally(done)[0],
        "median_crossing_step": float(np.median(reached)) if reached else None,
        "crossing_range": [int(min(reached)), int(max(reached))] if reached else None,
        "explorable_models_by_n_freqs": dict(EXPLORABLE_SEED_N_FREQS), "explorable_runs": EXPLORABLE_SEED_RUNS,
        "explorable_most_common_group": "5 neurons (435 groups)",
        "explorable_crossing": "all 450 reach test loss < 1e-2; median at 27k steps (range 6k-50k)",
    }


def summary(res: SweepResults | str, min_loss: float = analysis.DEFAULT_MIN_LOSS,
            max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> str:
    """A printable comparison of a sweep's results with the explorable's published numbers."""
    if isinstance(res, str):
        res = load(res)
    status = (f"{res.name}: {res.n_done} of {res.n_runs} runs done"
              + ("" if res.complete else " (PARTIAL: counts cover only the finished runs)"))
    lines = [status]
    if res.grid.base.task == "parity":
        c = parity_comparison(res, min_loss, max_ratio)
        n = max(res.n_done, 1)
        lines.append(f"thresholds: min loss {min_loss:g}, max test/train ratio {max_ratio:g}")
        lines.append(f"{'class':<11}{'here':>7}{'%':>7}   {'explorable':>10}{'%':>7}")
        for k in analysis.CLASSES:
            ours, theirs = c["overall"][k], EXPLORABLE_PARITY_COUNTS[k]
            lines.append(f"{k:<11}{ours:>7}{100 * ours / n:>7.1f}   "
                         f"{theirs:>10}{100 * theirs / EXPLORABLE_PARITY_RUNS:>7.1f}")
        lines.append("per weight decay (here; explorable where published, of 225 runs):")
        lines.append(f"{'wd':<6}{'runs':>6}" + "".join(f"{k:>12}" for k in analysis.CLASSES))
        for wd, counts in c["by_weight_decay"].items():
            total = sum(counts.values())
            pub = EXPLORABLE_PARITY_BY_WD.get(float(wd), {})
            cells = "".join(f"{counts[k]:>5}" + (f" ({pub[k]:>3})" if k in pub else " " * 6) + " "
                            for k in analysis.CLASSES)
            lines.append(f"{wd:<6g}{total:>6}{cells}")
        by = res.grid.batch_by
        if not res.complete and by:
            cells = sorted({tuple(s[f] for f in by) for s in c["settings_done"]})
            lines.append(f"finished ({', '.join(by)}) cells: {cells}")
    else:
        c = seed_comparison(res)
        g = c["generalized"]
        lines.append(f"generalized (test loss < 1e-2, article scale, within {res.grid.base.steps:,} steps): {g} of "
                     f"{res.n_done}; median step {c['median_crossing_step']}, range {c['crossing_range']}; "
                     f"explorable: {c['explorable_crossing']}")
        lines.append(f"models by number of key frequencies, over the {g} generalized models "
                     "(neurons with max |Fourier coefficient| > 10):")
        for k in sorted(set(c["models_by_n_freqs"]) | set(EXPLORABLE_SEED_N_FREQS)):
            ours, theirs = c["models_by_n_freqs"].get(k, 0), EXPLORABLE_SEED_N_FREQS.get(k, 0)
            lines.append(f"  {k} frequencies: {ours:>4} ({100 * ours / max(g, 1):5.1f}%)   "
                         f"explorable {theirs:>4} ({100 * theirs / EXPLORABLE_SEED_RUNS:5.1f}%)")
        if c["groups_by_size"]:
            common = max(c["groups_by_size"].items(), key=lambda kv: kv[1])
            lines.append(f"most common group size: {common[0]} neurons ({common[1]} groups); explorable: "
                         f"{c['explorable_most_common_group']}")
        if c["not_generalized_seeds"]:
            lines.append(f"not generalized (their Fourier 'frequencies' are noise): seeds {c['not_generalized_seeds']}")
    return "\n".join(lines)


__all__ = [
    "Grid", "SweepResults", "SweepError", "SWEEPS", "get_grid", "load", "shipped_path", "run_sweep", "retrain",
    "open_results", "check_writable", "record_run", "spec_differences", "training_flops", "step_flops",
    "eval_flops", "tune_allocator", "parity_comparison", "seed_comparison", "summary", "results_base",
    "EXPLORABLE_PARITY_COUNTS", "EXPLORABLE_PARITY_BY_WD", "EXPLORABLE_SEED_N_FREQS", "DATA_DIR", "FORMAT",
]
