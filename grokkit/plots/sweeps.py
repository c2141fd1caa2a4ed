"""Many runs at once: sweep grids, small multiples of loss curves, class counts, phases.

Explorable figures 8, 19 and 20, and notebook 07's steps to generalize and phase diagram.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath
from matplotlib.ticker import MaxNLocator

from .. import analysis, fourier
from .common import require_task
from .render import begin_figure, new_figure
from .style import CLASS_COLORS, CLASS_EDGE, STEP_COLOR, TEST_COLOR, TRAIN_COLOR


# ---------------------------------------------------------------- 8: the sweep grid and a cell's loss curves

def _check_classes(classes: np.ndarray) -> np.ndarray:
    """Classes as a str array ('' = not run yet); unknown names raise ValueError naming the allowed ones."""
    classes = np.asarray(classes).astype(str)
    bad = sorted(set(np.unique(classes)) - set(analysis.CLASSES) - {""})
    if bad:
        raise ValueError(f"unknown class name(s) {bad}: classes must be among {analysis.CLASSES} ('' = not run)")
    return classes


def _dot_offsets(n: int) -> np.ndarray:
    """Offsets of n dots inside a unit cell, on a near-square grid (3 x 3 for nine seeds)."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    i = np.arange(n)
    return np.stack([(i % cols - (cols - 1) / 2) * 0.26, ((rows - 1) / 2 - i // cols) * 0.26], axis=1)


def sweep_grid(classes: np.ndarray, weight_decays: Sequence[float], hidden_sizes: Sequence[int],
               train_sizes: Sequence[int], *, selected: tuple[int, int, int] | None = None,
               title: str | None = None, fig: Figure | None = None) -> Figure:
    """The sweep as class-coloured dots: one panel per weight decay, hidden size x train size (figure 8).

    classes: array of shape (n_weight_decays, n_hidden_sizes, n_train_sizes, n_seeds) of
    class names (see :func:`grokkit.analysis.classify_arrays`); each cell shows one dot per seed, and runs
    not done yet ('') an empty circle.
    selected: (weight-decay index, hidden index, train index) of a cell to outline.
    """
    classes = _check_classes(classes)
    n_wd, n_h, n_t, n_s = classes.shape
    if (len(weight_decays), len(hidden_sizes), len(train_sizes)) != (n_wd, n_h, n_t):
        raise ValueError(f"classes has shape {classes.shape}, but there are {len(weight_decays)} weight decays, "
                         f"{len(hidden_sizes)} hidden sizes and {len(train_sizes)} train sizes")
    key = ("sweep_grid", classes.shape, tuple(map(float, weight_decays)), tuple(map(int, hidden_sizes)),
           tuple(map(int, train_sizes)), title)
    fig, st, fresh = begin_figure(fig, key, (2.3 * n_wd + 1.0, 3.4))
    if fresh:
        axes = np.atleast_1d(fig.subplots(1, n_wd, sharey=True, squeeze=False)[0])
        off = _dot_offsets(n_s)
        hi, ti, si = np.meshgrid(np.arange(n_h), np.arange(n_t), np.arange(n_s), indexing="ij")
        xy = np.stack([hi.ravel() + off[si.ravel(), 0], ti.ravel() + off[si.ravel(), 1]], axis=1)
        dots, boxes = [], []
        size = 150.0 / max(n_s, 1) ** 0.5 * (3.0 / max(n_h, n_t, 3))
        for w, ax in enumerate(axes):
            dots.append(ax.scatter(xy[:, 0], xy[:, 1], s=size, c="white", edgecolors=CLASS_EDGE,
                                   linewidths=0.6, zorder=2))
            box = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="black", lw=2, zorder=3, visible=False)
            ax.add_patch(box)
            boxes.append(box)
            ax.set_xticks(np.arange(n_h), [str(h) for h in hidden_sizes])
            ax.set_yticks(np.arange(n_t), [str(t) for t in train_sizes])
            ax.set_xticks(np.arange(n_h + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(n_t + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="#dddddd", lw=0.8)
            ax.tick_params(which="minor", length=0)
            ax.set(xlim=(-0.5, n_h - 0.5), ylim=(-0.5, n_t - 0.5), xlabel="hidden size",
                   title=f"weight decay {weight_decays[w]:g}")
            ax.set_aspect("equal")
        axes[0].set_ylabel("train size")
        handles = [Line2D([], [], ls="", marker="o", ms=8, mfc=CLASS_COLORS[c], mec=CLASS_EDGE, label=c)
                   for c in analysis.CLASSES]
        leg = fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9)
        if title:
            fig.suptitle(title)
        st.update(dots=dots, boxes=boxes, legend=leg)
        st["dynamic"] += [*dots, *boxes, leg]
    flat = classes.reshape(n_wd, -1)
    rgba = {c: mcolors.to_rgba(CLASS_COLORS[c]) for c in analysis.CLASSES}
    rgba[""] = (1.0, 1.0, 1.0, 0.0)
    edge = {c: mcolors.to_rgba(CLASS_EDGE) for c in analysis.CLASSES}
    edge[""] = mcolors.to_rgba("#cccccc")
    for w, d in enumerate(st["dots"]):
        d.set_facecolors([rgba[c] for c in flat[w]])
        d.set_edgecolors([edge[c] for c in flat[w]])
    for c, text in zip(analysis.CLASSES, st["legend"].get_texts()):
        text.set_text(f"{analysis.CLASS_LABELS[c]}: {int((classes == c).sum())}")
    for w, box in enumerate(st["boxes"]):
        on = selected is not None and selected[0] == w
        box.set_visible(on)
        if on:
            box.set_xy((selected[1] - 0.5, selected[2] - 0.5))
    return fig


def cell_losses(steps: np.ndarray, train_loss: np.ndarray, test_loss: np.ndarray, *, title: str | None = None,
                ylim: tuple[float, float] = (1e-8, 1.0), ax: Any = None, fig: Figure | None = None) -> Figure:
    """Loss curves of several runs on one log axis, e.g. a sweep cell's nine seeds (figure 8).

    steps: (n_steps,) shared by all runs; train_loss, test_loss: (n_runs, n_steps) on the
    article's scale (NaN where a run has no value). Values outside ylim are clipped to it.
    """
    tr, te = np.atleast_2d(np.asarray(train_loss, float)), np.atleast_2d(np.asarray(test_loss, float))
    steps = np.asarray(steps, float)
    if tr.shape != te.shape or tr.shape[1] != len(steps):
        raise ValueError(f"train_loss {tr.shape} and test_loss {te.shape} must both be (n_runs, {len(steps)})")
    fig, st, fresh = begin_figure(fig, ("cell_losses", tr.shape, ylim), (5.0, 3.2), ax)
    if fresh:
        ax = ax if ax is not None else fig.subplots()
        st["train"] = [ax.plot(steps, np.ones_like(steps), color=TRAIN_COLOR, lw=1, alpha=0.7)[0] for _ in tr]
        st["test"] = [ax.plot(steps, np.ones_like(steps), color=TEST_COLOR, lw=1, alpha=0.7)[0] for _ in te]
        ax.set(yscale="log", ylim=ylim, xlim=(steps[0], steps[-1]), xlabel="step", ylabel="log loss")
        ax.legend(handles=[Line2D([], [], color=TRAIN_COLOR, label="train"),
                           Line2D([], [], color=TEST_COLOR, label="test")], loc="upper right", frameon=False)
        ax.grid(alpha=0.25)
        st["ax"] = ax
        st["dynamic"] += [*st["train"], *st["test"], ax.title]
    lo, hi = ylim
    for line, y in zip(st["train"], tr):
        line.set_data(steps, np.clip(y, lo, hi))
    for line, y in zip(st["test"], te):
        line.set_data(steps, np.clip(y, lo, hi))
    st["ax"].set_title(title or f"{len(tr)} runs")
    return fig


# ---------------------------------------------------------------- 19: small multiples of loss curves

def freqs_title(W_in: np.ndarray, min_strength: float = fourier.SEED_SWEEP_MIN_STRENGTH) -> str:
    """'Freqs: 4, 5, 7': the key frequencies of a final W_in, as the seed sweep titles its charts."""
    ks = fourier.key_frequencies(W_in, min_strength)
    return "Freqs: " + (", ".join(str(k) for k in ks) if ks else "none")


_PANEL_WIDTH = 1.6        # inches per small multiple of loss_grid
_PANEL_HEIGHT = 1.35
_TITLE_SIZE = 8
# A title may use this many points of its panel's width, leaving a gap to its neighbours' titles.
_TITLE_WIDTH_PT = 0.85 * 72 * _PANEL_WIDTH


def _wrap_title(title: str, width_pt: float = _TITLE_WIDTH_PT, fontsize: float = _TITLE_SIZE) -> str:
    """The title broken at spaces into lines at most width_pt points wide in the given font size.

    Widths are measured in the figure font, so a seed's long list of frequencies wraps
    instead of running into the next panel's title; a single word wider than that stays whole.
    """
    prop, measure = FontProperties(size=fontsize), TextToPath()
    lines: list[str] = []
    for given in title.split("\n"):
        lines.append("")
        for word in given.split(" "):
            joined = f"{lines[-1]} {word}" if lines[-1] else word
            if lines[-1] and measure.get_text_width_height_descent(joined, prop, ismath=False)[0] > width_pt:
                lines.append(word)
            else:
                lines[-1] = joined
    return "\n".join(lines)


def loss_grid(steps: np.ndarray, train_loss: np.ndarray, test_loss: np.ndarray,
              titles: Sequence[str] | None = None, *, ncols: int = 6, max_panels: int = 48,
              ylim: tuple[float, float] = (1e-8, 1.0), fig: Figure | None = None) -> Figure:
    """Small multiples: one small log-loss chart per run (figure 19).

    steps: (n_steps,) or (n_runs, n_steps); train_loss, test_loss: (n_runs, n_steps) on the
    article's scale. At most max_panels runs are drawn (a figure of hundreds of axes is slow).
    Long titles wrap onto more lines (see :func:`_wrap_title`) and the rows grow to fit them.
    """
    tr, te = np.atleast_2d(np.asarray(train_loss, float)), np.atleast_2d(np.asarray(test_loss, float))
    n = min(len(tr), max_panels)
    steps = np.asarray(steps, float)
    steps = np.broadcast_to(steps, tr.shape) if steps.ndim == 1 else steps
    rows = math.ceil(n / ncols)
    key = ("loss_grid", train_loss, test_loss, tuple(titles) if titles is not None else None, n, ncols, ylim)
    shown = [_wrap_title(titles[i] if titles is not None else f"run {i}") for i in range(n)]
    extra_lines = max(t.count("\n") for t in shown)
    size = (_PANEL_WIDTH * min(n, ncols) + 0.6, (_PANEL_HEIGHT + 0.14 * extra_lines) * rows + 0.6)
    fig, st, fresh = begin_figure(fig, key, size)
    if not fresh:
        return fig
    axes = fig.subplots(rows, min(n, ncols), sharex=True, sharey=True, squeeze=False).ravel()
    lo, hi = ylim
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_visible(False)
            continue
        ax.plot(steps[i], np.clip(tr[i], lo, hi), color=TRAIN_COLOR, lw=0.9)
        ax.plot(steps[i], np.clip(te[i], lo, hi), color=TEST_COLOR, lw=0.9)
        ax.set_yscale("log")
        ax.set_ylim(lo, hi)
        ax.set_title(shown[i], fontsize=_TITLE_SIZE)
        ax.tick_params(labelsize=6)
    for ax in axes.reshape(rows, -1)[-1]:
        ax.set_xlabel("step", fontsize=7)
    for ax in axes.reshape(rows, -1)[:, 0]:
        ax.set_ylabel("log loss", fontsize=7)
    fig.legend(handles=[Line2D([], [], color=TRAIN_COLOR, label="train"),
                        Line2D([], [], color=TEST_COLOR, label="test")],
               loc="outside upper right", ncol=2, frameon=False, fontsize=8)
    fig.suptitle(f"loss curves of {n} runs" + (f" (of {len(tr)})" if n < len(tr) else ""), fontsize=10)
    return fig


def seed_grid(runs: Any, *, min_strength: float = fourier.SEED_SWEEP_MIN_STRENGTH, ncols: int = 6,
              max_panels: int = 48, fig: Figure | None = None) -> Figure:
    """Small multiples of modular-addition runs titled by their key frequencies, 'Freqs: 4, 5, 7' (figure 19).

    runs: a sequence of Runs, or a seed sweep's :class:`grokkit.sweep.SweepResults` (its
    stored curves and final W_in; runs not done yet are left out).
    """
    if hasattr(runs, "article_losses"):                  # a SweepResults
        tr, te = runs.article_losses()
        rows = np.nonzero(np.asarray(runs.done, bool))[0][:max_panels]
        if not len(rows):
            raise ValueError("seed_grid: none of the sweep's runs is done yet")
        titles = [freqs_title(runs.W_in[r], min_strength) for r in rows]
        return loss_grid(np.asarray(runs.steps), tr[rows], te[rows], titles, ncols=ncols, max_panels=max_panels,
                         fig=fig)
    runs = list(runs)[:max_panels]
    if not runs:
        raise ValueError("seed_grid needs at least one run")
    for r in runs:
        require_task(r, "modadd", "seed_grid()")
    n_steps = max(len(r.steps) for r in runs)

    def padded(name: str) -> np.ndarray:
        """A metric of every run on the article's scale, NaN-padded to the longest run."""
        out = np.full((len(runs), n_steps), np.nan)
        for i, r in enumerate(runs):
            out[i, : len(r.steps)] = r.metrics[name] / r.config.n_classes
        return out

    steps = np.full((len(runs), n_steps), np.nan)
    for i, r in enumerate(runs):
        steps[i, : len(r.steps)] = r.steps
    titles = [freqs_title(r.W_in[-1], min_strength) for r in runs]
    return loss_grid(steps, padded("train_loss"), padded("test_loss"), titles, ncols=ncols,
                     max_panels=max_panels, fig=fig)


# ---------------------------------------------------------------- 20: class counts per group

def class_bars(classes: Mapping[str, np.ndarray], *, title: str | None = None,
               fig: Figure | None = None) -> Figure:
    """Stacked bars of class counts, one bar per group of runs, e.g. per architecture (figure 20).

    classes: {group name: array of class names of its runs}.
    """
    names = list(classes)
    counts = np.array([[int((_check_classes(classes[g]) == c).sum()) for c in analysis.CLASSES] for g in names])
    key = ("class_bars", tuple(names), counts.tobytes(), title)
    fig, _, fresh = begin_figure(fig, key, (8.0, 0.45 * len(names) + 1.6))
    if not fresh:
        return fig
    ax = fig.subplots()
    left = np.zeros(len(names))
    for j, c in enumerate(analysis.CLASSES):
        ax.barh(names, counts[:, j], left=left, color=CLASS_COLORS[c], edgecolor=CLASS_EDGE, lw=0.6,
                label=analysis.CLASS_LABELS[c])
        left += counts[:, j]
    ax.invert_yaxis()
    ax.set(xlabel="number of runs", title=title or "how runs end, per group")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    return fig


# ---------------------------------------------------------------- notebook 07: beyond the article

LIU_CLASSES = ("comprehension", "grokking", "memorization", "confusion")
# Liu et al.'s phases drawn in the colours of the article's classes they correspond to.
LIU_COLORS = {"comprehension": CLASS_COLORS["generalize"], "grokking": CLASS_COLORS["grok"],
              "memorization": CLASS_COLORS["memorize"], "confusion": CLASS_COLORS["fail"]}


def steps_to_generalize(groups: Mapping[str, Sequence[int | None]], budget: int, level: float, *,
                        xlabel: str = "", title: str = "", ax: Any = None) -> Figure:
    """One column of dots per group: each run's steps to ``level`` test accuracy, 'never' above the budget."""
    fig = ax.figure if ax is not None else new_figure((8.0, 3.2))
    ax = ax if ax is not None else fig.subplots()
    never = budget * 1.15
    for i, (name, steps) in enumerate(groups.items()):
        steps = list(steps)
        ys = [never if s is None else s for s in steps]
        xs = i + np.linspace(-0.15, 0.15, len(ys)) if len(ys) > 1 else [i]
        ax.scatter(xs, ys, color=[TEST_COLOR if s is not None else "grey" for s in steps], zorder=3,
                   edgecolor=CLASS_EDGE, linewidth=0.5)
        done = sorted(s for s in steps if s is not None)
        if len(done) * 2 > len(steps):                    # the median is a real step
            med = float(np.median([np.inf if s is None else s for s in steps]))
            ax.plot([i - 0.25, i + 0.25], [med, med], color=STEP_COLOR, lw=1.5, zorder=2)
    ax.axhline(budget, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(len(groups)), [str(k) for k in groups])
    ticks = [t for t in MaxNLocator(5).tick_values(0, budget) if 0 <= t <= budget]
    ax.set_yticks(ticks + [never], [f"{int(t):,}" for t in ticks] + ["never"])
    ax.set_ylim(-0.03 * never, never * 1.06)
    ax.set(xlabel=xlabel, ylabel=f"steps to {level:.0%} test accuracy", title=title)
    ax.grid(alpha=0.25, axis="y")
    return fig


def phase_diagram(classes: np.ndarray, lrs: Sequence[float], wds: Sequence[float], *, title: str = "",
                  ax: Any = None) -> Figure:
    """Liu et al.'s phase of each (learning rate, weight decay) run as a coloured grid, lr up, wd right."""
    classes = np.asarray(classes, dtype=object)
    if classes.shape != (len(lrs), len(wds)):
        raise ValueError(f"classes has shape {classes.shape}: expected (len(lrs), len(wds)) = {(len(lrs), len(wds))}")
    unknown = sorted({str(c) for c in classes.ravel()} - set(LIU_CLASSES))
    if unknown:
        raise ValueError(f"classes holds {unknown}: each must be one of {LIU_CLASSES}")
    fig = ax.figure if ax is not None else new_figure((7.5, 3.6))
    ax = ax if ax is not None else fig.subplots()
    for i in range(len(lrs)):
        for j in range(len(wds)):
            c = classes[i, j]
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=LIU_COLORS[c], edgecolor=CLASS_EDGE, lw=0.6))
            ax.text(j, i, c[:5], ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.5, len(wds) - 0.5)
    ax.set_ylim(-0.5, len(lrs) - 0.5)
    ax.set_xticks(range(len(wds)), [f"{w:g}" for w in wds])
    ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set(xlabel="weight decay", ylabel="learning rate", title=title)
    handles = [Rectangle((0, 0), 1, 1, facecolor=LIU_COLORS[c], edgecolor=CLASS_EDGE) for c in LIU_CLASSES]
    ax.legend(handles, LIU_CLASSES, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig
