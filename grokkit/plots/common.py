"""What several figures read from a run: the step shown, the task they need, colour limits, key-frequency groups."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import fourier
from ..run import Run


def step_shown(run: Run, step: int | None) -> int:
    """The step to show: the given one, or the run's last snapshot step."""
    return int(run.snapshot_steps[-1]) if step is None else int(step)


def require_task(run: Run, task: str, what: str) -> None:
    """Raise a clear error when a figure is asked of the wrong kind of run."""
    if run.config.task != task:
        other = {"modadd": "modular-addition", "parity": "sparse-parity"}[task]
        raise ValueError(f"{what} needs a {other} run (config.task == {task!r}); this run is {run.config.task!r}")


def robust_max(x: np.ndarray, q: float = 99.5, floor: float = 1e-6) -> float:
    """A colour-scale limit: the q-th percentile of |x| (at least floor)."""
    x = np.abs(np.asarray(x, float))
    x = x[np.isfinite(x)]
    return max(float(np.percentile(x, q)) if x.size else 1.0, floor)


def key_frequency_groups(run: Run, min_strength: float | None, max_groups: int) -> list[tuple[str, list[int]]]:
    """[(label, neurons)] per key frequency of the final snapshot, the largest groups first.

    At most max_groups groups are kept (those with the most neurons, ties by frequency),
    shown in frequency order; with no frequency structure, one group of all neurons.
    """
    groups = fourier.frequency_groups(run.W_in[-1], min_strength or 0.0)
    keep = sorted(groups, key=lambda k: (-len(groups[k]), k))[:max_groups]
    out = [(f"freq {k}", groups[k]) for k in sorted(keep)]
    return out or [("all neurons", list(range(run.W_in.shape[-1])))]


def neuron_ticks(ax: Any, order: np.ndarray, axis: str = "x") -> None:
    """Label neuron positions with their original indices when there are few of them."""
    n = len(order)
    if n > 40:
        return
    pos, lab = np.arange(n), [str(int(i)) for i in order]
    if axis == "x":
        ax.set_xticks(pos, lab, fontsize=7 if n > 16 else 8)
    else:
        ax.set_yticks(pos, lab, fontsize=7 if n > 16 else 8)
