"""The sparse-parity model: its weights and every input weight over training (explorable figures 5, 7)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..run import Run
from .common import require_task, robust_max, step_shown
from .render import begin_figure, spines
from .style import BIAS_COLOR, DIGIT_COLORS, DISTRACTOR_COLOR, STEP_COLOR, WEIGHT_CMAP


# ---------------------------------------------------------------- 5: weights

def parity_input_labels(run: Run) -> list[str]:
    """Input names of a parity model: '0' ... 'n_bits-1' and 'Bias'."""
    return [str(i) for i in range(run.config.n_bits)] + ["Bias"]


def parity_weights(run: Run, step: int | None = None, *, sort: bool = True, vmax: float | None = None,
                   fig: Figure | None = None) -> Figure:
    """The parity model's W_in (neuron x input digit, plus Bias) and its W_out column (figure 5).

    sort puts neurons with the largest final |output weight| on top. The first k digits
    (the ones the label depends on) have coloured tick labels.
    """
    require_task(run, "parity", "parity_weights()")
    fig, st, fresh = begin_figure(fig, ("parity_weights", run, sort, vmax), (9.0, 5.0))
    if fresh:
        n_in, H = run.W_in.shape[1:]
        order = np.argsort(-np.abs(run.W_out[-1][:, 0]), kind="stable") if sort else np.arange(H)
        lim = vmax or robust_max(run.W_in)
        lim_out = vmax or robust_max(run.W_out)
        axes = fig.subplots(1, 2, sharey=True, width_ratios=[n_in, 2.5])
        kw = dict(cmap=WEIGHT_CMAP, aspect="auto", interpolation="nearest")
        im_in = axes[0].imshow(np.zeros((H, n_in)), vmin=-lim, vmax=lim, **kw)
        im_out = axes[1].imshow(np.zeros((H, 1)), vmin=-lim_out, vmax=lim_out, **kw)
        labels = parity_input_labels(run)
        axes[0].set_xticks(np.arange(n_in), labels, fontsize=7)
        axes[0].get_xticklabels()[-1].set_rotation(90)
        for i, t in enumerate(axes[0].get_xticklabels()[: run.config.k]):
            t.set_color(DIGIT_COLORS[i % len(DIGIT_COLORS)])
            t.set_fontweight("bold")
        axes[0].get_xticklabels()[-1].set_color(BIAS_COLOR)
        axes[0].set(title="W_in: input digit → neuron", xlabel="input digit",
                    ylabel="neuron" + (" (sorted by |output weight|)" if sort else ""))
        axes[1].set(title="W_out", xticks=[0])
        axes[1].set_xticklabels(["out"])
        fig.colorbar(im_in, ax=axes[0], shrink=0.9, label="input weight", location="left", pad=0.02)
        fig.colorbar(im_out, ax=axes[1], shrink=0.9, label="output weight")
        st.update(order=order, im_in=im_in, im_out=im_out, title=fig.suptitle(" "))
        st["dynamic"] += [im_in, im_out, *spines(axes), st["title"]]
    W_in, W_out = run.weights_at(step_shown(run, step))
    st["im_in"].set_data(W_in[:, st["order"]].T)
    st["im_out"].set_data(W_out[st["order"], :])
    s = run.snapshot_steps[run.snapshot_index(step_shown(run, step))]
    st["title"].set_text(f"sparse parity weights at step {s:,}: the first {run.config.k} digits decide the label")
    return fig


# ---------------------------------------------------------------- 7: every input weight over training

def parity_trajectories(run: Run, step: int | None = None, *, ylim: float | None = None,
                        fig: Figure | None = None) -> Figure:
    """Every input weight of the parity model against step (figure 7).

    The first k digits are coloured, the distractor digits faint grey, the bias pink.
    ylim: symmetric y limit (default: the largest |weight| of the run).
    """
    require_task(run, "parity", "parity_trajectories()")
    fig, st, fresh = begin_figure(fig, ("parity_trajectories", run, ylim), (9.0, 4.0))
    if fresh:
        ax = fig.subplots()
        W = run.W_in                                    # (n_snap, n_in, H)
        steps = run.snapshot_steps.astype(float)
        k, n_bits = run.config.k, run.config.n_bits

        def segments(rows: Sequence[int]) -> np.ndarray:
            """One line per (input row, neuron): (lines, snapshots, 2) step/weight points."""
            ys = W[:, rows, :].reshape(len(steps), -1).T        # (lines, n_snap)
            return np.stack([np.broadcast_to(steps, ys.shape), ys], axis=-1)

        ax.add_collection(LineCollection(segments(range(k, n_bits)), colors=DISTRACTOR_COLOR,
                                         linewidths=0.5, alpha=0.18, zorder=1))
        ax.add_collection(LineCollection(segments([n_bits]), colors=BIAS_COLOR, linewidths=0.8,
                                         alpha=0.55, zorder=2))
        for i in range(k):
            ax.add_collection(LineCollection(segments([i]), colors=DIGIT_COLORS[i % len(DIGIT_COLORS)],
                                             linewidths=0.9, alpha=0.8, zorder=3))
        lim = ylim or float(np.abs(W).max()) * 1.05
        ax.set(xlim=(steps[0], steps[-1]), ylim=(-lim, lim), xlabel="step", ylabel="input weight")
        st["vline"] = ax.axvline(0, color=STEP_COLOR, lw=1, ls="--", zorder=4)
        handles = [Line2D([], [], color=DIGIT_COLORS[i % len(DIGIT_COLORS)], lw=2, label=f"digit {i}")
                   for i in range(k)]
        handles += [Line2D([], [], color=DISTRACTOR_COLOR, lw=2, label=f"digits {k}–{n_bits - 1}"),
                    Line2D([], [], color=BIAS_COLOR, lw=2, label="bias")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
        ax.set_title("every input weight during training")
        st["dynamic"].append(st["vline"])
    s = step_shown(run, step)
    st["vline"].set_xdata([s, s])
    st["vline"].set_visible(step is not None)
    return fig
