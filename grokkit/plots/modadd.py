"""A modular-addition model's weights: heatmaps and waves per key frequency (explorable figures 2, 3, 15, 21)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import fourier
from ..run import Run
from .common import key_frequency_groups, neuron_ticks, require_task, robust_max, step_shown
from .render import begin_figure, spines
from .style import WEIGHT_CMAP


# ---------------------------------------------------------------- 2, 21: weight heatmaps

def neuron_display_order(run: Run, sort: bool = True) -> np.ndarray:
    """Neurons in display order: by key frequency and phase of the final snapshot, or as stored."""
    H = run.W_in.shape[-1]
    return fourier.neuron_order(run.W_in[-1]) if sort else np.arange(H)


def weights(run: Run, step: int | None = None, *, sort: bool = True, vmax: float | None = None,
            fig: Figure | None = None) -> Figure:
    """Heatmaps of W_in (input x neuron) and W_out (output x neuron) at ``step`` (figures 2, 21).

    sort orders neurons by the final snapshot's key frequency and phase, so the order
    does not jump while scrubbing. vmax: colour limit (default: 99.5th percentile of
    |weights| over the run, fixed for all steps).
    """
    require_task(run, "modadd", "weights()")
    fig, st, fresh = begin_figure(fig, ("weights", run, sort, vmax), (9.0, 4.2))
    if fresh:
        order = neuron_display_order(run, sort)
        lim = vmax or robust_max(np.concatenate([run.W_in.ravel(), run.W_out.ravel()]))
        p, H = run.W_in.shape[1:]
        axes = fig.subplots(1, 2, sharey=True)
        kw = dict(cmap=WEIGHT_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        im_in = axes[0].imshow(np.zeros((p, H)), **kw)
        im_out = axes[1].imshow(np.zeros((p, H)), **kw)
        axes[0].set(title="W_in: input → neuron", xlabel="neuron" + (" (sorted by frequency)" if sort else ""),
                    ylabel="input number / output number")
        axes[1].set(title="W_out: neuron → output", xlabel="neuron" + (" (sorted by frequency)" if sort else ""))
        for ax in axes:
            neuron_ticks(ax, order)
        fig.colorbar(im_out, ax=axes, shrink=0.9, label="weight")
        st.update(order=order, im_in=im_in, im_out=im_out, title=fig.suptitle(" "))
        st["dynamic"] += [im_in, im_out, *spines(axes), st["title"]]
    W_in, W_out = run.weights_at(step_shown(run, step))
    st["im_in"].set_data(W_in[:, st["order"]])
    st["im_out"].set_data(W_out[st["order"], :].T)
    st["title"].set_text(f"collapsed weights at step {run.snapshot_steps[run.snapshot_index(step_shown(run, step))]:,}")
    return fig


# ---------------------------------------------------------------- 3, 15: waves

def waves(run: Run, step: int | None = None, *, min_strength: float | None = None, max_groups: int = 6,
          fig: Figure | None = None) -> Figure:
    """Each neuron's W_in and W_out column as a line over 0..p-1, one row per key frequency (figures 3, 15).

    Groups and colours (the neuron's phase) come from the final snapshot, so a scrubbed
    figure shows noise turning into waves. At most max_groups frequencies are shown.
    """
    require_task(run, "modadd", "waves()")
    fig, st, fresh = begin_figure(fig, ("waves", run, min_strength, max_groups), (9.0, 5.0))
    if fresh:
        groups = key_frequency_groups(run, min_strength, max_groups)
        fig.set_size_inches(9.0, 1.1 + 1.35 * len(groups))
        lim = robust_max(np.concatenate([run.W_in.ravel(), run.W_out.ravel()]), q=99.9) * 1.05
        cmap = matplotlib.colormaps["tab10"]
        axes = np.atleast_2d(fig.subplots(len(groups), 2, sharex=True, sharey=True, squeeze=False))
        p = run.W_in.shape[1]
        x = np.arange(p)
        lines = []
        for r, (label, neurons) in enumerate(groups):
            row = []
            for c in range(2):
                ax = axes[r, c]
                row.append([ax.plot(x, np.zeros(p), lw=1.1, color=cmap(j % 10))[0]
                            for j, n in enumerate(neurons)])
                ax.axhline(0, color="#cccccc", lw=0.6, zorder=0)
                ax.set_ylim(-lim, lim)
            lines.append((neurons, row))
            axes[r, 0].set_ylabel(f"{label}\n({len(neurons)} neurons)", fontsize=9)
        axes[0, 0].set_title("W_in: weight from input x")
        axes[0, 1].set_title("W_out: weight to output c")
        axes[-1, 0].set_xlabel("input x")
        axes[-1, 1].set_xlabel("output c")
        axes[0, 0].set_xlim(0, p - 1)
        axes[0, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
        st.update(lines=lines, title=fig.suptitle(" "))
        st["dynamic"] += [ln for _, row in lines for side in row for ln in side] + [st["title"]]
    W_in, W_out = run.weights_at(step_shown(run, step))
    for neurons, (row_in, row_out) in st["lines"]:
        for n, l_in, l_out in zip(neurons, row_in, row_out):
            l_in.set_ydata(W_in[:, n])
            l_out.set_ydata(W_out[n, :])
    s = run.snapshot_steps[run.snapshot_index(step_shown(run, step))]
    st["title"].set_text(f"each neuron's weights as a wave, grouped by key frequency (step {s:,})")
    return fig
