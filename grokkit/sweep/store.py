"""The results store: one row per run in NAME.npz (arrays, no pickle) and NAME.json (spec, progress).

Both files are written through a temporary file and a rename; the npz is authoritative and
is written first, so a crash between the two leaves a JSON one save behind, which the next
writer repairs (:func:`open_results`). Loading validates what it loads and names the file in
every error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import analysis, fourier
from .. import run as record
from ..configs import Config
from .grid import FORMAT, Grid, SweepError

SUFFIXES = (".npz", ".json")
# A results file is refused before it is decompressed if its arrays would hold more than this.
MAX_ARRAY_BYTES = 4 << 30


@dataclass
class SweepResults:
    """A sweep's results: one row per run (done or not), with curves to classify them again.

    Arrays (row = run): ``done``, ``seed``, the swept fields (:meth:`field`), ``steps``
    (shared logged steps), curves ``curve(metric)`` of shape (runs, logged steps), final
    ``train_acc``/``test_acc``, ``diverged``, ``seconds`` (wall) and ``cpu_seconds`` (the
    worker's CPU time) per model, ``engine`` (index into ``meta["engines"]``: versions,
    training-module hash and CPU kernels that computed the run; -1 unknown), and for seed sweeps ``W_in`` (final collapsed
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
        rows = np.nonzero(self.done)[0]
        out[rows] = _classify_rows(tr[rows], te[rows], self.diverged[rows], min_loss, max_ratio)
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
    def _meta(self) -> dict[str, Any]:
        """The JSON side of the pair, from the arrays (a revision is not counted here)."""
        meta = {k: v for k, v in self.meta.items() if k != "json_revision"}
        spec = self.grid.spec()
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
        })
        meta.setdefault("engines", [])
        meta.setdefault("revision", 0)
        return meta

    def save(self, path: str | os.PathLike) -> Path:
        """Write PATH.npz then PATH.json, each via a temporary file and an atomic rename; returns the npz path."""
        base = results_base(path)
        meta = self._meta()
        meta["revision"] = int(meta["revision"]) + 1
        meta["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        arrays = dict(self.arrays)
        arrays["spec_json"] = np.array(json.dumps(self.grid.spec(), sort_keys=True))
        arrays["n_seeds"] = np.array(self.grid.n_seeds)
        arrays["revision"] = np.array(meta["revision"])
        arrays["engines_json"] = np.array(json.dumps(meta["engines"]))
        arrays["calls_json"] = np.array(json.dumps({"batch_by": list(self.grid.batch_by),
                                                    "call_size": self.grid.call_size}))
        npz, js = pair(base)
        record.atomic_write(npz, lambda f: np.savez_compressed(f, **arrays))
        record.atomic_write(js, lambda f: f.write((json.dumps(meta, indent=1) + "\n").encode()))
        self.meta, self.path = meta, npz
        return npz

    def write_json(self) -> Path:
        """Rewrite the JSON side of the pair from the arrays (its revision is the npz's)."""
        if self.path is None:
            raise SweepError("these results have no file yet: save them first")
        meta = self._meta()
        js = pair(results_base(self.path))[1]
        record.atomic_write(js, lambda f: f.write((json.dumps(meta, indent=1) + "\n").encode()))
        self.meta = meta
        return js

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SweepResults":
        """Read results written by :meth:`save` (the npz is authoritative; opened without pickle, validated)."""
        base = results_base(path)
        npz, js = pair(base)
        if not npz.exists():
            raise FileNotFoundError(f"no sweep results at {npz}")
        arrays = _read_npz(npz)

        def bad(msg: str) -> SweepError:
            return SweepError(f"{npz} is not a valid sweep results file: {msg}")
        for key in ("spec_json", "n_seeds", "done"):
            if key not in arrays:
                raise bad(f"it has no {key!r} array")
        spec = _json_array(arrays.pop("spec_json"), "spec_json", bad)
        n_seeds = _int_array(arrays.pop("n_seeds"), "n_seeds", bad)
        revision = _int_array(arrays.pop("revision", np.array(0)), "revision", bad)
        engines = _json_array(arrays.pop("engines_json", np.array("[]")), "engines_json", bad)
        calls = _json_array(arrays.pop("calls_json", np.array("null")), "calls_json", bad)
        if not isinstance(engines, list) or not all(isinstance(e, str) for e in engines):
            raise bad("engines_json is not a list of strings")
        meta: dict[str, Any] = {}
        if js.exists():
            with contextlib.suppress(ValueError, OSError):
                meta = json.loads(js.read_text())
            if not isinstance(meta, dict):
                meta = {}
        kw: dict[str, Any] = {}
        if isinstance(meta.get("batch_by"), list):
            kw = {"batch_by": tuple(meta["batch_by"]), "max_batch": meta.get("max_batch"),
                  "train_chunk": meta.get("train_chunk")}
        name = meta.get("name") if isinstance(meta.get("name"), str) else base.name
        description = meta.get("description") if isinstance(meta.get("description"), str) else ""
        meta["json_revision"] = meta.get("revision")
        meta["revision"] = revision  # the npz wins if a crash left the json one save behind
        meta["engines"] = engines
        meta["calls"] = calls
        if not isinstance(meta.get("devices", []), list):
            meta["devices"] = []
        if n_seeds < 1:
            raise bad(f"n_seeds is {n_seeds}")
        try:
            grid = Grid.from_spec(spec, name=name, n_seeds=n_seeds, description=description, **kw)
        except SweepError:
            try:  # the JSON's batching may be what is damaged: the npz alone defines the results
                grid = Grid.from_spec(spec, name=name, n_seeds=n_seeds, description=description)
            except SweepError as e:
                raise bad(str(e)) from e
        res = cls(grid=grid, arrays=arrays, meta=meta, path=npz)
        _validate_arrays(res, bad)
        return res

    def __repr__(self) -> str:
        state = "complete" if self.complete else "partial"
        return f"SweepResults({self.name!r}, {self.n_done}/{self.n_runs} runs done, {state})"


def _classify_rows(train: np.ndarray, test: np.ndarray, diverged: np.ndarray, min_loss: float,
                   max_ratio: float) -> np.ndarray:
    """Classes of done runs from their article-scale curves (rows), diverged runs fail."""
    out = np.array([analysis.classify_losses(a, b, min_loss, max_ratio) for a, b in zip(train, test)], dtype="<U10")
    out[np.asarray(diverged, bool)] = "fail"
    return out


def _read_npz(npz: Path) -> dict[str, np.ndarray]:
    """The arrays of an npz, refused before decompression if they promise more than MAX_ARRAY_BYTES."""
    try:
        with zipfile.ZipFile(npz) as zf:
            total = sum(i.file_size for i in zf.infolist())
        if total > MAX_ARRAY_BYTES:
            raise SweepError(f"{npz} is not a valid sweep results file: its arrays would take "
                             f"{total / 2**30:.1f} GiB, more than the {MAX_ARRAY_BYTES / 2**30:.0f} GiB allowed")
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except SweepError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as e:
        raise SweepError(f"{npz} is not a readable sweep results file: {type(e).__name__}: {e}") from e


def _json_array(a: np.ndarray, key: str, bad) -> Any:
    if a.shape != () or a.dtype.kind != "U":
        raise bad(f"{key} is not a string")
    try:
        return json.loads(str(a))
    except ValueError as e:
        raise bad(f"{key} is not JSON: {e}") from e


def _int_array(a: np.ndarray, key: str, bad) -> int:
    if a.shape != () or a.dtype.kind not in "iu":
        raise bad(f"{key} is not an integer")
    return int(a)


def _validate_arrays(res: SweepResults, bad) -> None:
    """Types and shapes of a loaded file's arrays against its grid; columns added later are filled in."""
    grid, arrays = res.grid, res.arrays
    if arrays["done"].shape != (grid.n_runs,) or arrays["done"].dtype != bool:
        raise bad(f"its done array has shape {arrays['done'].shape} and dtype {arrays['done'].dtype}, "
                  f"the grid needs ({grid.n_runs},) booleans")
    want = SweepResults.empty(grid).arrays
    for k, v in arrays.items():
        if k not in want:
            raise bad(f"unexpected array {k!r}")
        w = want[k]
        if v.shape != w.shape:
            raise bad(f"array {k!r} has shape {v.shape}, the grid needs {w.shape}")
        same_kind = v.dtype.kind == w.dtype.kind or (v.dtype.kind in "iu" and w.dtype.kind in "iu")
        if not same_kind and not (k.startswith("field_") and v.dtype.kind in "iuf" and w.dtype.kind in "iuf"):
            raise bad(f"array {k!r} has dtype {v.dtype}, expected {w.dtype}")
    for k, v in want.items():
        arrays.setdefault(k, v)  # a column added to the format after the file was written
    if not np.array_equal(arrays["steps"], want["steps"]):
        raise bad("its logged steps differ from the grid's")
    if not np.array_equal(arrays["seed"], want["seed"]):
        raise bad("its seeds differ from the grid's")
    for f, _ in grid.axes:
        if not np.array_equal(arrays["field_" + f], want["field_" + f]):
            raise bad(f"its {f} values differ from the grid's axis")
    codes = arrays["cls"][arrays["done"]]
    if ((codes < 0) | (codes >= len(analysis.CLASSES))).any():
        raise bad("a done run has no valid class code")
    engines = arrays["engine"]
    if ((engines < -1) | (engines >= len(res.meta.get("engines", [])))).any():
        raise bad("an engine index points past engines_json")


def results_base(path: str | os.PathLike) -> Path:
    """PATH without a .npz/.json suffix (only those two are stripped: ``x.v2`` stays ``x.v2``)."""
    p = Path(path)
    if p.name in ("", ".", "..") or p.name in SUFFIXES:
        raise SweepError(f"{str(path)!r} is not allowed as a results name: give a file name such as runs/my_sweep")
    return p.with_name(p.name[:-len(p.suffix)]) if p.suffix in SUFFIXES else p


def pair(base: Path) -> tuple[Path, Path]:
    """BASE.npz and BASE.json: the suffixes appended to the whole name."""
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


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


__all__ = ["SweepResults", "results_base", "pair", "SUFFIXES", "MAX_ARRAY_BYTES"]
