"""The Run record: one trained model's config, logged metrics and weight snapshots, and its files.

Everything after training reads a Run (analysis, plots, widgets, sweeps, course checks);
nothing downstream needs the trainer to get one. A run is saved as ``NAME.npz`` (arrays,
read back with ``allow_pickle=False``) and ``NAME.json`` (config and status).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib import format as np_format

from .configs import Config, ModAddConfig, ParityConfig, config_from_dict, config_to_dict

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "l1_norm", "l2_norm")


class BadFileError(ValueError):
    """A file that cannot be read as what it claims to be; the message starts with the file's name."""


# Run.load refuses an npz whose arrays would expand to more than this (read from the .npy headers
# before anything is decompressed); the course's largest run (PAIR_MODADD, 50,000 steps) is ~25 MB.
MAX_LOAD_BYTES = 2**30
MAX_JSON_BYTES = 16 * 2**20
_MAX_MEMBERS = 256


def file_pair(path: str | os.PathLike) -> tuple[Path, Path]:
    """The (NAME.npz, NAME.json) pair of a name the user gives, whole: ``runs/wd0.1`` -> ``runs/wd0.1.npz``.

    Only a final ``.npz`` or ``.json`` is taken off first (so ``x.npz`` and ``x`` name the same pair);
    every other dot is part of the name. An empty name, a folder (an existing one, or one ending
    in a separator) and a pair member that is a folder raise ValueError.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path = {path!r} is not allowed: a file name (str or os.PathLike) is needed")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text:
        raise ValueError(f"path = {text!r} is not allowed: a file name cannot hold a NUL character")
    seps = tuple(s for s in (os.sep, os.altsep) if s)
    if not text or text.endswith(seps):
        raise ValueError(f"path = {text!r} is not allowed: it names no file (a name such as runs/my_run is needed)")
    base = Path(text)
    name = base.name
    for suffix in (".npz", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name in ("", ".", ".."):
        raise ValueError(f"path = {text!r} is not allowed: the file name is empty "
                         "(a name such as runs/my_run is needed)")
    if base.is_dir():
        raise ValueError(f"path = {text!r} is not allowed: it is a folder; name a file in it (e.g. {base / 'my_run'})")
    pair = (base.parent / (name + ".npz"), base.parent / (name + ".json"))
    for p in pair:
        if p.is_dir():
            raise ValueError(f"path = {text!r} is not allowed: {p} is a folder, not a file")
    return pair


def _npy_header(f, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of the .npy stream ``f``, read without reading its data."""
    version = np_format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np_format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np_format.read_array_header_2_0(f)
    else:
        raise BadFileError(f"{where}: .npy format version {version} is not supported")
    return shape, dtype


def read_npz(path: Path, max_bytes: int = MAX_LOAD_BYTES,
             expect: dict[str, tuple[tuple[int, ...], str]] | None = None,
             expect_from: str = "its config") -> dict[str, np.ndarray]:
    """The arrays of an npz file, with every header checked before any data is decompressed.

    Refused (BadFileError naming the file): not a zip of .npy members, object arrays, arrays
    that together would expand to more than ``max_bytes``, and, for the names in ``expect``
    (name -> (shape, dtype kinds such as 'f' or 'iu'), said to come from ``expect_from``), another
    shape or kind. Never unpickles.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise BadFileError(f"{path}: {len(infos)} arrays, more than the {_MAX_MEMBERS} allowed")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise BadFileError(f"{path}: an array name appears twice")
            total = 0
            for info in infos:
                key = info.filename[:-4]
                where = f"{path}: array {key!r}"
                if not info.filename.endswith(".npy"):
                    raise BadFileError(f"{path}: member {info.filename!r} is not a .npy array")
                with zf.open(info) as f:
                    shape, dtype = _npy_header(f, where)
                if dtype.hasobject:
                    raise BadFileError(f"{where} holds Python objects (dtype {dtype}); only plain numbers are read")
                total += math.prod(shape) * dtype.itemsize
                if total > max_bytes:
                    raise BadFileError(f"{where}: the arrays would expand to {total:,} bytes, more than the limit "
                                       f"of {max_bytes:,} (max_bytes)")
                if expect is not None and key in expect:
                    want, kinds = expect[key]
                    if tuple(shape) != tuple(want) or dtype.kind not in kinds:
                        raise BadFileError(f"{where} has shape {tuple(shape)} and dtype {dtype}; "
                                           f"{expect_from} means shape {tuple(want)} of {_KIND_WORDS[kinds]}")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (BadFileError, FileNotFoundError, PermissionError):
        raise
    except Exception as e:  # noqa: BLE001 -- whatever the parsers raise (BadZipFile, zlib.error, ...) is a bad file
        raise BadFileError(f"{path}: not a readable npz file ({type(e).__name__}: {' '.join(str(e).split())})") from e


_KIND_WORDS = {"f": "floats", "iu": "integers"}


def _read_json(path: Path) -> dict:
    """The JSON object in ``path`` (at most MAX_JSON_BYTES), or BadFileError naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise BadFileError(f"{path}: {size:,} bytes, more than the {MAX_JSON_BYTES:,} a run's JSON may have")
        meta = json.loads(path.read_bytes())
    except (BadFileError, FileNotFoundError):
        raise
    except (ValueError, OSError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadFileError(f"{path}: not readable JSON ({type(e).__name__}: {' '.join(str(e).split())})") from e
    if not isinstance(meta, dict):
        raise BadFileError(f"{path}: holds a {type(meta).__name__}, not a JSON object")
    return meta


_META_KEYS = {"format", "config", "diverged", "diverged_step", "seconds", "extra"}


def _raw_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    """Shapes of one snapshot of the raw parameters a config's model has (grokkit.models.init_params)."""
    H = cfg.hidden_size
    if cfg.task != "modadd":
        return {"hidden": (cfg.n_bits + 1, H), "out": (H, 1)}
    p = cfg.p
    d = p if cfg.embedding == "collapsed" else cfg.embed_size     # collapsed: hidden is W_in, out is W_out
    shapes = {} if cfg.embedding in ("circular", "collapsed") else {"embed": (p, d)}
    if cfg.embedding == "untied":
        shapes["unembed"] = (p, d)
    return {**shapes, "hidden": (d, H), "out": (H, d)}


def _n_scheduled(steps: int, every: int) -> int:
    """len(schedule(steps, every)), without making it."""
    return 2 if every == 0 else steps // every + 1 + (steps % every != 0)


def expected_arrays(config: Config, raw: bool = True) -> dict[str, tuple[tuple[int, ...], str]]:
    """What a saved run of ``config`` holds: npz array name -> (shape, dtype kinds), raw snapshots if ``raw``."""
    n_log = _n_scheduled(config.steps, config.log_every)
    n_save = _n_scheduled(config.steps, config.save_every)
    n_in, n_out = (config.p, config.p) if config.task == "modadd" else (config.n_bits + 1, 1)
    H = config.hidden_size
    arrays = {"steps": ((n_log,), "iu"), "snapshot_steps": ((n_save,), "iu"),
              "W_in": ((n_save, n_in, H), "f"), "W_out": ((n_save, H, n_out), "f")}
    arrays.update({f"metric_{k}": ((n_log,), "f") for k in METRICS})
    if raw:
        arrays.update({f"snapshot_{k}": ((n_save, *s), "f") for k, s in _raw_shapes(config).items()})
    return arrays


def _problem(run: "Run") -> str | None:
    """The first inconsistency of a Run with its own config (shapes, schedule, status), or None."""
    cfg = run.config
    if not isinstance(cfg, (ModAddConfig, ParityConfig)):
        return f"config is a {type(cfg).__name__}, not a ModAddConfig or ParityConfig"
    if not isinstance(run.metrics, dict) or not isinstance(run.snapshots, dict):
        return "metrics and snapshots must be dicts of arrays"
    if set(run.metrics) != set(METRICS):
        return f"metrics {sorted(run.metrics)} are not the logged ones {list(METRICS)}"
    if run.snapshots and set(run.snapshots) != set(_raw_shapes(cfg)):
        return f"snapshots {sorted(run.snapshots)} are not the model's parameters {sorted(_raw_shapes(cfg))}"
    have = {"steps": run.steps, "snapshot_steps": run.snapshot_steps, "W_in": run.W_in, "W_out": run.W_out}
    have.update({f"metric_{k}": v for k, v in run.metrics.items()})
    have.update({f"snapshot_{k}": v for k, v in run.snapshots.items()})
    for key, (shape, kinds) in expected_arrays(cfg, raw=bool(run.snapshots)).items():
        a = have[key]
        if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind not in kinds:
            got = f"shape {a.shape} and dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
            return f"{key} has {got}; its config means shape {shape} of {_KIND_WORDS[kinds]}"
    if not np.array_equal(run.steps, schedule(cfg.steps, cfg.log_every)):
        return f"steps are not the config's log schedule (every {cfg.log_every} of {cfg.steps})"
    if not np.array_equal(run.snapshot_steps, schedule(cfg.steps, cfg.save_every)):
        return f"snapshot_steps are not the config's save schedule (every {cfg.save_every} of {cfg.steps})"
    if not isinstance(run.diverged, (bool, np.bool_)):
        return f"diverged = {run.diverged!r} is not a bool"
    step = run.diverged_step
    if run.diverged:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step not in set(run.steps.tolist()):
            return f"diverged_step = {step!r} is not one of the logged steps, though diverged is true"
    else:
        if step is not None:
            return f"diverged_step = {step!r} though diverged is false (it must be null)"
        for k in ("train_loss", "l2_norm"):
            if not np.isfinite(run.metrics[k]).all():
                return f"metric {k} is not finite though diverged is false"
    for k in ("train_acc", "test_acc"):
        v = run.metrics[k]
        if ((v < 0) | (v > 1)).any():
            return f"metric {k} has values outside [0, 1]"
    if (isinstance(run.seconds, bool) or not isinstance(run.seconds, (int, float))
            or not math.isfinite(run.seconds) or run.seconds < 0):
        return f"seconds = {run.seconds!r} is not a finite number >= 0"
    if not isinstance(run.extra, dict):
        return f"extra = {run.extra!r:.60} is not a dict"
    return None


@dataclass
class Run:
    """One trained model: its config, logged metrics, and weight snapshots.

    ``steps`` are the logged steps and ``metrics[name]`` the values there (metrics at step s
    are measured before update s; the last one after the final update). ``snapshots`` hold
    raw parameters at ``snapshot_steps`` (leading axis: snapshot), ``W_in``/``W_out`` the
    collapsed weights there.
    """

    config: Config
    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    snapshot_steps: np.ndarray
    snapshots: dict[str, np.ndarray]
    W_in: np.ndarray
    W_out: np.ndarray
    diverged: bool = False
    diverged_step: int | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        c = self.config
        last = {k: float(v[-1]) for k, v in self.metrics.items() if k in ("train_acc", "test_acc")}
        state = "diverged" if self.diverged else "ok"
        return (f"Run({c.task}, seed={c.seed}, steps={c.steps}, {state}, "
                f"final train_acc={last.get('train_acc', float('nan')):.3f}, "
                f"test_acc={last.get('test_acc', float('nan')):.3f})")

    def snapshot_index(self, step: int) -> int:
        """Index of the last snapshot at or before ``step`` (0 if step precedes them all)."""
        i = int(np.searchsorted(self.snapshot_steps, step, side="right")) - 1
        return max(i, 0)

    def log_index(self, step: int) -> int:
        """Index of the last logged step at or before ``step``."""
        return max(int(np.searchsorted(self.steps, step, side="right")) - 1, 0)

    def weights_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Collapsed (W_in, W_out) at the last snapshot at or before ``step``."""
        i = self.snapshot_index(step)
        return self.W_in[i], self.W_out[i]

    def params_at(self, step: int) -> dict[str, np.ndarray]:
        """Raw parameters at the last snapshot at or before ``step``."""
        i = self.snapshot_index(step)
        return {k: v[i] for k, v in self.snapshots.items()}

    @property
    def final(self) -> dict[str, float]:
        """The last logged value of every metric."""
        return {k: float(v[-1]) for k, v in self.metrics.items()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``NAME.npz`` (arrays, no pickle) and ``NAME.json`` (config, status); returns the npz path.

        NAME is the whole name given (``runs/wd0.1`` -> ``runs/wd0.1.npz``; see :func:`file_pair`). A run
        inconsistent with its own config raises ValueError before anything is written.
        """
        npz, js = file_pair(path)
        problem = _problem(self)
        if problem is not None:
            raise ValueError(f"cannot save {npz}: {problem}")
        arrays = {"steps": self.steps, "snapshot_steps": self.snapshot_steps,
                  "W_in": self.W_in, "W_out": self.W_out}
        arrays.update({f"metric_{k}": v for k, v in self.metrics.items()})
        arrays.update({f"snapshot_{k}": v for k, v in self.snapshots.items()})
        meta = {"format": "grokkit.Run/1", "config": config_to_dict(self.config),
                "diverged": bool(self.diverged),
                "diverged_step": None if self.diverged_step is None else int(self.diverged_step),
                "seconds": float(self.seconds), "extra": self.extra}
        text = json.dumps(meta, indent=1, allow_nan=False).encode()
        atomic_write(npz, lambda f: np.savez_compressed(f, **arrays))
        atomic_write(js, lambda f: f.write(text))
        return npz

    @classmethod
    def load(cls, path: str | os.PathLike, max_bytes: int = MAX_LOAD_BYTES) -> "Run":
        """Read a run written by :meth:`save`, checking it whole; a bad file raises BadFileError naming it.

        The JSON's config fixes every array's shape; the npz's headers are checked against it (and
        against ``max_bytes`` in all) before any array is decompressed, never unpickling anything.
        """
        npz, js = file_pair(path)
        meta = _read_json(js)
        if meta.get("format") != "grokkit.Run/1":
            raise BadFileError(f"{js}: not a grokkit run (format {meta.get('format')!r:.60}, not 'grokkit.Run/1')")
        unknown = sorted(map(str, set(meta) - _META_KEYS))
        missing = sorted(_META_KEYS - {"extra"} - set(meta))
        if unknown or missing:
            raise BadFileError(f"{js}: " + (f"unknown keys {unknown}" if unknown else f"missing keys {missing}"))
        try:
            config = config_from_dict(meta["config"])
        except (ValueError, TypeError) as e:
            raise BadFileError(f"{js}: config: {e}") from e
        expect = expected_arrays(config)
        data = read_npz(npz, max_bytes, expect, expect_from=f"the config in {js.name}")
        unknown = sorted(set(data) - set(expect))
        missing = sorted(set(expect) - set(data) - {f"snapshot_{k}" for k in _raw_shapes(config)})
        if unknown or missing:
            raise BadFileError(f"{npz}: " + (f"unknown arrays {unknown}" if unknown else f"missing arrays {missing}")
                               + f" for its config ({js.name})")
        run = cls(
            config=config, steps=data["steps"], snapshot_steps=data["snapshot_steps"],
            metrics={k: data[f"metric_{k}"] for k in METRICS},
            snapshots={k: data[f"snapshot_{k}"] for k in _raw_shapes(config) if f"snapshot_{k}" in data},
            W_in=data["W_in"], W_out=data["W_out"], diverged=meta["diverged"],
            diverged_step=meta["diverged_step"], seconds=meta["seconds"], extra=meta.get("extra", {}),
        )
        problem = _problem(run)
        if problem is not None:
            raise BadFileError(f"{npz} and {js.name}: {problem}")
        return run


def atomic_write(path: Path, write) -> None:
    """Write through a hidden temporary file in the same folder, then rename it into place.

    Shared by saved runs and sweep results: a reader never sees a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; saved files are for sharing
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def article_loss(loss: np.ndarray | float, config: Config) -> np.ndarray | float:
    """Convert ordinary cross-entropy to the article's scale (divided by the number of classes)."""
    return loss / config.n_classes


def schedule(steps: int, every: int) -> np.ndarray:
    """Steps 0, every, 2*every, ... and always the final step (every = 0: first and last only)."""
    s = np.arange(0, steps + 1, every) if every > 0 else np.array([0])
    if s[-1] != steps:
        s = np.append(s, steps)
    return s.astype(np.int64)



__all__ = ["Run", "METRICS", "article_loss", "schedule", "atomic_write", "file_pair", "read_npz", "expected_arrays",
           "BadFileError", "MAX_LOAD_BYTES"]
