"""The Run record: one trained model's config, logged metrics and weight snapshots, and its files.

Everything after training reads a Run (analysis, plots, widgets, sweeps, course checks);
nothing downstream needs the trainer to get one. A run is saved as ``NAME.npz`` (arrays,
read back with ``allow_pickle=False``) and ``NAME.json`` (config and status).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .configs import Config, config_from_dict, config_to_dict

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "l1_norm", "l2_norm")

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
        """Write ``path.npz`` (arrays, no pickle) and ``path.json`` (config, status); returns the npz path."""
        base = Path(path)
        if base.suffix in (".npz", ".json"):
            base = base.with_suffix("")
        arrays = {"steps": self.steps, "snapshot_steps": self.snapshot_steps,
                  "W_in": self.W_in, "W_out": self.W_out}
        arrays.update({f"metric_{k}": v for k, v in self.metrics.items()})
        arrays.update({f"snapshot_{k}": v for k, v in self.snapshots.items()})
        meta = {"format": "grokkit.Run/1", "config": config_to_dict(self.config),
                "diverged": self.diverged, "diverged_step": self.diverged_step,
                "seconds": self.seconds, "extra": self.extra}
        atomic_write(base.with_suffix(".npz"), lambda f: np.savez_compressed(f, **arrays))
        atomic_write(base.with_suffix(".json"), lambda f: f.write(json.dumps(meta, indent=1).encode()))
        return base.with_suffix(".npz")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Run":
        """Read a run written by :meth:`save` (npz opened with allow_pickle=False)."""
        base = Path(path)
        if base.suffix in (".npz", ".json"):
            base = base.with_suffix("")
        meta = json.loads(base.with_suffix(".json").read_text())
        if meta.get("format") != "grokkit.Run/1":
            raise ValueError(f"{base.with_suffix('.json')}: not a grokkit run (format {meta.get('format')!r})")
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        return cls(
            config=config_from_dict(meta["config"]),
            steps=data["steps"], snapshot_steps=data["snapshot_steps"],
            metrics={k[7:]: v for k, v in data.items() if k.startswith("metric_")},
            snapshots={k[9:]: v for k, v in data.items() if k.startswith("snapshot_")},
            W_in=data["W_in"], W_out=data["W_out"], diverged=meta["diverged"],
            diverged_step=meta["diverged_step"], seconds=meta.get("seconds", 0.0),
            extra=meta.get("extra", {}),
        )


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



__all__ = ["Run", "METRICS", "article_loss", "schedule", "atomic_write"]
