"""Training curves: accuracy, log loss, and both side by side (explorable figures 1, 4, 6, 10, 14)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..run import Run
from .render import begin_figure
from .style import STEP_COLOR, TEST_COLOR, TRAIN_COLOR


def _losses(run: Run, article_scale: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) loss curves, on the article's scale unless told otherwise."""
    n = run.config.n_classes if article_scale else 1
    return run.metrics["train_loss"] / n, run.metrics["test_loss"] / n


def _draw_accuracy(ax: Any, run, st: dict, prefix: str) -> None:
    """Build the accuracy axes into ax, keeping its updatable artists in st."""
    steps, m = run.steps, run.metrics
    ax.plot(steps, m["train_acc"], color=TRAIN_COLOR, lw=1.6, label="train")
    ax.plot(steps, m["test_acc"], color=TEST_COLOR, lw=1.6, label="test")
    st[prefix + "vline"] = ax.axvline(0, color=STEP_COLOR, lw=1, ls="--", zorder=1)
    st[prefix + "dots"] = ax.scatter([0, 0], [0, 0], s=22, c=[TRAIN_COLOR, TEST_COLOR], zorder=3)
    lo = 0.45 if run.config.task == "parity" else 0.0
    ax.set(xlabel="step", ylabel="accuracy", ylim=(lo - 0.02, 1.02), xlim=(steps[0], steps[-1]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(loc="lower right", frameon=False)
    ax.grid(alpha=0.25)
    st["dynamic"] += [st[prefix + "vline"], st[prefix + "dots"], ax.title]


def _update_accuracy(ax: Any, run, st: dict, prefix: str, step: int | None) -> None:
    """Move the accuracy axes' step marker and title to step (hidden when step is None)."""
    marker = step is not None
    s = int(run.steps[-1]) if step is None else step
    i = run.log_index(s)
    tr, te = float(run.metrics["train_acc"][i]), float(run.metrics["test_acc"][i])
    st[prefix + "vline"].set_xdata([s, s])
    st[prefix + "vline"].set_visible(marker)
    st[prefix + "dots"].set_offsets([[run.steps[i], tr], [run.steps[i], te]])
    st[prefix + "dots"].set_visible(marker)
    ax.set_title(f"accuracy at step {int(run.steps[i]):,}: train {tr:.0%}, test {te:.0%}")


def _draw_loss(ax: Any, run, st: dict, prefix: str, article_scale: bool) -> None:
    """Build the log-loss axes into ax."""
    tr, te = _losses(run, article_scale)
    ax.plot(run.steps, tr, color=TRAIN_COLOR, lw=1.6, label="train")
    ax.plot(run.steps, te, color=TEST_COLOR, lw=1.6, label="test")
    st[prefix + "vline"] = ax.axvline(0, color=STEP_COLOR, lw=1, ls="--", zorder=1)
    st[prefix + "dots"] = ax.scatter([0, 0], [1, 1], s=22, c=[TRAIN_COLOR, TEST_COLOR], zorder=3)
    ax.set_yscale("log")
    finite = np.concatenate([tr, te])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size:
        ax.set_ylim(max(finite.min() / 3, 1e-10), finite.max() * 3)
    ax.set(xlabel="step", ylabel="log loss" + ("" if article_scale else " (cross-entropy)"),
           xlim=(run.steps[0], run.steps[-1]))
    ax.legend(loc="upper right", frameon=False)
    ax.grid(alpha=0.25, which="major")
    st["dynamic"] += [st[prefix + "vline"], st[prefix + "dots"], ax.title]


def _update_loss(ax: Any, run, st: dict, prefix: str, step: int | None, article_scale: bool) -> None:
    """Move the loss axes' step marker and title to step."""
    marker = step is not None
    s = int(run.steps[-1]) if step is None else step
    i = run.log_index(s)
    tr, te = _losses(run, article_scale)
    st[prefix + "vline"].set_xdata([s, s])
    st[prefix + "vline"].set_visible(marker)
    st[prefix + "dots"].set_offsets([[run.steps[i], tr[i]], [run.steps[i], te[i]]])
    st[prefix + "dots"].set_visible(marker)
    ax.set_title(f"loss at step {int(run.steps[i]):,}: train {tr[i]:.1e}, test {te[i]:.1e}")


def accuracy(run: Run, step: int | None = None, *, ax: Any = None, fig: Figure | None = None) -> Figure:
    """Train and test accuracy against step, with a marker at ``step`` (figures 1, 4)."""
    fig, st, fresh = begin_figure(fig, ("accuracy", run), (8.0, 3.0), ax)
    ax = ax if ax is not None else (fig.axes[0] if not fresh else fig.subplots())
    if fresh:
        _draw_accuracy(ax, run, st, "")
    _update_accuracy(ax, run, st, "", step)
    return fig


def loss(run: Run, step: int | None = None, *, article_scale: bool = True, ax: Any = None,
         fig: Figure | None = None) -> Figure:
    """Train and test loss on a log scale, with a marker at ``step`` (figure 6)."""
    fig, st, fresh = begin_figure(fig, ("loss", run, article_scale), (8.0, 3.0), ax)
    ax = ax if ax is not None else (fig.axes[0] if not fresh else fig.subplots())
    if fresh:
        _draw_loss(ax, run, st, "", article_scale)
    _update_loss(ax, run, st, "", step, article_scale)
    return fig


def curves(run: Run, step: int | None = None, *, article_scale: bool = True, fig: Figure | None = None) -> Figure:
    """Accuracy and log loss side by side, both marked at ``step`` (figures 10, 14)."""
    fig, st, fresh = begin_figure(fig, ("curves", run, article_scale), (10.0, 3.0))
    if fresh:
        a1, a2 = fig.subplots(1, 2)
        _draw_accuracy(a1, run, st, "acc_")
        _draw_loss(a2, run, st, "loss_", article_scale)
    a1, a2 = fig.axes[:2]
    _update_accuracy(a1, run, st, "acc_", step)
    _update_loss(a2, run, st, "loss_", step, article_scale)
    return fig
