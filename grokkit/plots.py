"""One matplotlib function per figure of the explorable (explorable.md section 6).

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot, so that
nothing stays open in loops and a notebook shows it once (return it as a cell's last
value, or pass it to ``display``). Functions that follow training take a ``Run`` and a
``step`` (the last snapshot at or before it is shown; ``None`` means the end of training).

Redrawing. Pass the figure back as ``fig=`` to redraw it at another step: when the run and
the options are the same, the function only updates its artists (image data, line data,
the step marker) instead of building the figure again, which is what keeps the
:mod:`grokkit.widgets` sliders fast. With other options the figure is cleared and rebuilt.

Style, shared by the whole course: train ``TRAIN_COLOR`` (purple), test ``TEST_COLOR``
(green), weights in a red/blue diverging map centred at 0 (positive red), run classes in
:data:`grokkit.analysis.CLASS_COLORS` (grey, white, blue, yellow; white dots get a dark
edge). Losses are on the article's scale (cross-entropy / number of classes) unless a
function says otherwise.

Figures of section 6 and their functions:

====  ==========================================  =========================================
 #    explorable figure                           function
====  ==========================================  =========================================
1,4   accuracy (mod-top, parity)                  :func:`accuracy`
6     log loss (parity)                           :func:`loss`
10,14 accuracy + loss (five neurons, mod-bot)      :func:`curves`
2,21  W_input / W_output heatmaps                 :func:`weights`
3,15  waves per key frequency                     :func:`waves`
5     parity input weights + output column        :func:`parity_weights`
7     every parity input weight over training     :func:`parity_trajectories`
8     sparse-parity sweep grid                    :func:`sweep_grid` (+ :func:`classify_grid`)
8     a sweep cell's nine loss curves             :func:`cell_losses`
9     the fixed circular embedding                :func:`fixed_embedding`
11    five-neuron cos/sin heatmaps                :func:`five_neuron_weights`
12,13 five-neuron circles, connected star         :func:`five_neuron_circles`
16    DFT of W_input / W_output                   :func:`dft`
17    per-frequency star plots                    :func:`frequency_stars`
18    logits per frequency group for a, b         :func:`logits`
19    small multiples of many runs' losses        :func:`loss_grid`, :func:`seed_grid`
20    class counts per architecture               :func:`class_bars`
22    the appendix construction                   :func:`construction`
====  ==========================================  =========================================

Without a kernel, :func:`animate` turns any of the step-following functions into a short
JavaScript animation (``IPython.display.HTML``) that a rendered notebook still plays.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any, Callable, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

from . import analysis, construction as _construction, fourier
from .models import circular_embedding
from .run import Run

# ---------------------------------------------------------------- style

TRAIN_COLOR = "#9730c9"
TEST_COLOR = "#4CB769"
STEP_COLOR = "#444444"
WEIGHT_CMAP = "RdBu_r"            # diverging, centred at 0: positive red, negative blue
CLASS_COLORS = analysis.CLASS_COLORS
CLASS_EDGE = "#333333"            # every class dot gets this edge, so white dots show
# Okabe-Ito colours (colour-blind safe) for the digits that decide the parity; the bias pink.
DIGIT_COLORS = ("#0072B2", "#D55E00", "#E69F00", "#56B4E9", "#009E73")
BIAS_COLOR = "#CC79A7"
DISTRACTOR_COLOR = "#9a9a9a"
A_COLOR, B_COLOR = "#0072B2", "#D55E00"   # the two inputs of the logit and appendix figures
ANSWER_COLOR = "#111111"
BAR_COLOR = "#b9b9b9"

DEFAULT_A, DEFAULT_B = 13, 19     # the explorable's logit sliders start here
ANIMATION_FRAMES = 24             # frames of a kernel-free animation (keep notebooks small)
ANIMATION_DPI = 60


# ---------------------------------------------------------------- figure plumbing

_STATE = "_grokkit_state"


def new_figure(figsize: tuple[float, float] = (8.0, 3.2), layout: str | None = "constrained") -> Figure:
    """A pyplot-free Figure with an Agg canvas (constrained layout unless layout=None)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _encode(fig: Figure) -> bytes:
    """The Agg canvas's current pixels as PNG bytes (fast zlib level)."""
    from PIL import Image

    w, h = fig.canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _blit(fig: Figure, st: dict) -> bytes:
    """Draw only the changing artists over a cached background, then encode.

    The background (everything but ``st['dynamic']``) is drawn again whenever the dpi, the
    size or ``st['token']`` (e.g. axis limits) changes.
    """
    canvas, dynamic = fig.canvas, st["dynamic"]
    key = (fig.dpi, canvas.get_width_height(physical=True), st["token"])
    if st["bg"] is None or st["bg_key"] != key:
        for a in dynamic:
            a.set_animated(True)
        try:
            canvas.draw()
        finally:
            for a in dynamic:
                a.set_animated(False)
        st["bg"], st["bg_key"] = canvas.copy_from_bbox(fig.bbox), key
    else:
        canvas.restore_region(st["bg"])
    renderer = canvas.get_renderer()
    for a in dynamic:
        if a.get_visible():
            a.draw(renderer)
    return _encode(fig)


def to_png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure rendered as PNG bytes at ``dpi`` (default: the figure's).

    One draw of the Agg canvas (``savefig`` draws twice when a layout engine is set). A
    figure that a plot function has redrawn in place, at its own dpi, is blitted: only
    the artists that change with the step (or a, b, ...) are drawn over a cached
    background, which is what keeps widget redraws quick.
    """
    if not isinstance(fig.canvas, FigureCanvasAgg):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
        return buf.getvalue()
    st = getattr(fig, _STATE, None)
    if (dpi is None or dpi == fig.dpi) and st is not None and st["frozen"] and st["dynamic"]:
        return _blit(fig, st)
    old_dpi = fig.dpi
    if dpi is not None and dpi != old_dpi:
        fig.set_dpi(dpi)
    try:
        fig.canvas.draw()
        return _encode(fig)
    finally:
        if fig.dpi != old_dpi:
            fig.set_dpi(old_dpi)


def _primitive(x: Any) -> bool:
    """True for values compared by ==; everything else is compared by identity."""
    if isinstance(x, tuple):
        return all(_primitive(v) for v in x)
    return x is None or isinstance(x, (bool, int, float, str, np.integer, np.floating))


def _same_key(k1: tuple, k2: tuple) -> bool:
    """Equal plot keys: same length, primitives equal, objects identical."""
    if len(k1) != len(k2):
        return False
    return all(a is b or (_primitive(a) and _primitive(b) and a == b) for a, b in zip(k1, k2))


def _begin(fig: Figure | None, key: tuple, figsize: tuple[float, float], ax: Any = None,
           layout: str = "constrained") -> tuple[Figure, dict, bool]:
    """(figure, state, fresh): reuse a figure drawn with the same key, else (re)build it.

    The state dict lives on the figure (or on ``ax`` when the caller draws into its own
    axes). A plot function lists in ``state['dynamic']`` the artists it changes on a
    redraw and may set ``state['token']`` to anything that changes the rest (axis limits).
    After the first redraw of a reused figure its constrained layout is frozen, so later
    redraws skip the layout pass and :func:`to_png` can blit. layout='fixed': the function
    places its axes itself (no layout pass at all).
    """
    host = ax if ax is not None else fig
    old = getattr(host, _STATE, None) if host is not None else None
    if old is not None and _same_key(old["key"], key):
        if ax is None and not old["frozen"] and old["drawn"]:
            old["fig"].set_layout_engine("none")
            old["frozen"] = True
        return old["fig"], old, False
    if ax is not None:
        ax.clear()
        fig = ax.figure
    elif fig is None:
        fig = new_figure(figsize, layout=None if layout == "fixed" else "constrained")
    else:
        if old is not None and old.get("cid") is not None:
            fig.canvas.mpl_disconnect(old["cid"])
        with warnings.catch_warnings():        # clearing shared log axes warns about their limits
            warnings.simplefilter("ignore", UserWarning)
            fig.clear()
        if layout == "fixed":
            fig.set_layout_engine("none")
        elif not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
            fig.set_layout_engine("constrained")
    state: dict = {"key": key, "fig": fig, "drawn": False, "frozen": layout == "fixed" and ax is None,
                   "cid": None, "dynamic": [], "token": None, "bg": None, "bg_key": None}
    if ax is None:
        state["cid"] = fig.canvas.mpl_connect("draw_event", lambda _e: state.__setitem__("drawn", True))
    setattr(host if host is not None else fig, _STATE, state)
    return fig, state, True


_NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _nice(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= x.

    Axis limits rounded up this way change only now and then while scrubbing, so the
    cached background (ticks, labels) of a blitted figure can be reused.
    """
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    m = x / 10.0 ** e
    return next(n for n in _NICE_STEPS if m <= n * (1 + 1e-9)) * 10.0 ** e


class _Bars:
    """Vertical bars as one PolyCollection: one draw call, heights and colours set in place."""

    def __init__(self, ax: Any, x: np.ndarray, width: float = 0.85, color: Any = BAR_COLOR, **kw: Any):
        self.x = np.asarray(x, float)
        self.width = width
        self.heights = np.zeros(len(self.x))
        self.collection = PolyCollection(self._verts(self.heights), facecolors=color, edgecolors="none", **kw)
        ax.add_collection(self.collection)
        ax.update_datalim([(self.x.min() - width, 0), (self.x.max() + width, 0)])

    def _verts(self, h: np.ndarray) -> np.ndarray:
        x0, x1, z = self.x - self.width / 2, self.x + self.width / 2, np.zeros_like(h)
        return np.stack([np.stack(c, axis=1) for c in ((x0, z), (x0, h), (x1, h), (x1, z))], axis=1)

    def set_heights(self, heights: np.ndarray) -> None:
        """New bar heights."""
        self.heights = np.asarray(heights, float)
        self.collection.set_verts(self._verts(self.heights))

    def set_colors(self, colors: Any) -> None:
        """New face colours (one, or one per bar)."""
        self.collection.set_facecolors(colors)


def _step_of(run: Run, step: int | None) -> int:
    """The step to show: the given one, or the run's last snapshot step."""
    return int(run.snapshot_steps[-1]) if step is None else int(step)


def _need(run: Run, task: str, what: str) -> None:
    """Raise a clear error when a figure is asked of the wrong kind of run."""
    if run.config.task != task:
        other = {"modadd": "modular-addition", "parity": "sparse-parity"}[task]
        raise ValueError(f"{what} needs a {other} run (config.task == {task!r}); this run is {run.config.task!r}")


def _robust_max(x: np.ndarray, q: float = 99.5, floor: float = 1e-6) -> float:
    """A colour-scale limit: the q-th percentile of |x| (at least floor)."""
    x = np.abs(np.asarray(x, float))
    x = x[np.isfinite(x)]
    return max(float(np.percentile(x, q)) if x.size else 1.0, floor)


def _losses(run: Run, article_scale: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) loss curves, on the article's scale unless told otherwise."""
    n = run.config.n_classes if article_scale else 1
    return run.metrics["train_loss"] / n, run.metrics["test_loss"] / n


def _groups(run: Run, min_strength: float | None, max_groups: int) -> list[tuple[str, list[int]]]:
    """[(label, neurons)] per key frequency of the final snapshot, the largest groups first.

    At most max_groups groups are kept (those with the most neurons, ties by frequency),
    shown in frequency order; with no frequency structure, one group of all neurons.
    """
    groups = fourier.frequency_groups(run.W_in[-1], min_strength or 0.0)
    keep = sorted(groups, key=lambda k: (-len(groups[k]), k))[:max_groups]
    out = [(f"freq {k}", groups[k]) for k in sorted(keep)]
    return out or [("all neurons", list(range(run.W_in.shape[-1])))]


def _neuron_ticks(ax: Any, order: np.ndarray, axis: str = "x") -> None:
    """Label neuron positions with their original indices when there are few of them."""
    n = len(order)
    if n > 40:
        return
    pos, lab = np.arange(n), [str(int(i)) for i in order]
    if axis == "x":
        ax.set_xticks(pos, lab, fontsize=7 if n > 16 else 8)
    else:
        ax.set_yticks(pos, lab, fontsize=7 if n > 16 else 8)


def _spines(axes: Any) -> list:
    """The spines of some axes (redrawn over their images when blitting)."""
    return [sp for ax in np.atleast_1d(axes).ravel() for sp in ax.spines.values()]


# ---------------------------------------------------------------- 1, 4, 6, 10, 14: curves

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
    fig, st, fresh = _begin(fig, ("accuracy", run), (8.0, 3.0), ax)
    ax = ax if ax is not None else (fig.axes[0] if not fresh else fig.subplots())
    if fresh:
        _draw_accuracy(ax, run, st, "")
    _update_accuracy(ax, run, st, "", step)
    return fig


def loss(run: Run, step: int | None = None, *, article_scale: bool = True, ax: Any = None,
         fig: Figure | None = None) -> Figure:
    """Train and test loss on a log scale, with a marker at ``step`` (figure 6)."""
    fig, st, fresh = _begin(fig, ("loss", run, article_scale), (8.0, 3.0), ax)
    ax = ax if ax is not None else (fig.axes[0] if not fresh else fig.subplots())
    if fresh:
        _draw_loss(ax, run, st, "", article_scale)
    _update_loss(ax, run, st, "", step, article_scale)
    return fig


def curves(run: Run, step: int | None = None, *, article_scale: bool = True, fig: Figure | None = None) -> Figure:
    """Accuracy and log loss side by side, both marked at ``step`` (figures 10, 14)."""
    fig, st, fresh = _begin(fig, ("curves", run, article_scale), (10.0, 3.0))
    if fresh:
        a1, a2 = fig.subplots(1, 2)
        _draw_accuracy(a1, run, st, "acc_")
        _draw_loss(a2, run, st, "loss_", article_scale)
    a1, a2 = fig.axes[:2]
    _update_accuracy(a1, run, st, "acc_", step)
    _update_loss(a2, run, st, "loss_", step, article_scale)
    return fig


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
    _need(run, "modadd", "weights()")
    fig, st, fresh = _begin(fig, ("weights", run, sort, vmax), (9.0, 4.2))
    if fresh:
        order = neuron_display_order(run, sort)
        lim = vmax or _robust_max(np.concatenate([run.W_in.ravel(), run.W_out.ravel()]))
        p, H = run.W_in.shape[1:]
        axes = fig.subplots(1, 2, sharey=True)
        kw = dict(cmap=WEIGHT_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        im_in = axes[0].imshow(np.zeros((p, H)), **kw)
        im_out = axes[1].imshow(np.zeros((p, H)), **kw)
        axes[0].set(title="W_in: input → neuron", xlabel="neuron" + (" (sorted by frequency)" if sort else ""),
                    ylabel="input number / output number")
        axes[1].set(title="W_out: neuron → output", xlabel="neuron" + (" (sorted by frequency)" if sort else ""))
        for ax in axes:
            _neuron_ticks(ax, order)
        fig.colorbar(im_out, ax=axes, shrink=0.9, label="weight")
        st.update(order=order, im_in=im_in, im_out=im_out, title=fig.suptitle(" "))
        st["dynamic"] += [im_in, im_out, *_spines(axes), st["title"]]
    W_in, W_out = run.weights_at(_step_of(run, step))
    st["im_in"].set_data(W_in[:, st["order"]])
    st["im_out"].set_data(W_out[st["order"], :].T)
    st["title"].set_text(f"collapsed weights at step {run.snapshot_steps[run.snapshot_index(_step_of(run, step))]:,}")
    return fig


# ---------------------------------------------------------------- 3, 15: waves

def waves(run: Run, step: int | None = None, *, min_strength: float | None = None, max_groups: int = 6,
          fig: Figure | None = None) -> Figure:
    """Each neuron's W_in and W_out column as a line over 0..p-1, one row per key frequency (figures 3, 15).

    Groups and colours (the neuron's phase) come from the final snapshot, so a scrubbed
    figure shows noise turning into waves. At most max_groups frequencies are shown.
    """
    _need(run, "modadd", "waves()")
    fig, st, fresh = _begin(fig, ("waves", run, min_strength, max_groups), (9.0, 5.0))
    if fresh:
        groups = _groups(run, min_strength, max_groups)
        fig.set_size_inches(9.0, 1.1 + 1.35 * len(groups))
        lim = _robust_max(np.concatenate([run.W_in.ravel(), run.W_out.ravel()]), q=99.9) * 1.05
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
    W_in, W_out = run.weights_at(_step_of(run, step))
    for neurons, (row_in, row_out) in st["lines"]:
        for n, l_in, l_out in zip(neurons, row_in, row_out):
            l_in.set_ydata(W_in[:, n])
            l_out.set_ydata(W_out[n, :])
    s = run.snapshot_steps[run.snapshot_index(_step_of(run, step))]
    st["title"].set_text(f"each neuron's weights as a wave, grouped by key frequency (step {s:,})")
    return fig


# ---------------------------------------------------------------- 5, 7: sparse parity

def parity_input_labels(run: Run) -> list[str]:
    """Input names of a parity model: '0' ... 'n_bits-1' and 'Bias'."""
    return [str(i) for i in range(run.config.n_bits)] + ["Bias"]


def parity_weights(run: Run, step: int | None = None, *, sort: bool = True, vmax: float | None = None,
                   fig: Figure | None = None) -> Figure:
    """The parity model's W_in (neuron x input digit, plus Bias) and its W_out column (figure 5).

    sort puts neurons with the largest final |output weight| on top. The first k digits
    (the ones the label depends on) have coloured tick labels.
    """
    _need(run, "parity", "parity_weights()")
    fig, st, fresh = _begin(fig, ("parity_weights", run, sort, vmax), (9.0, 5.0))
    if fresh:
        n_in, H = run.W_in.shape[1:]
        order = np.argsort(-np.abs(run.W_out[-1][:, 0]), kind="stable") if sort else np.arange(H)
        lim = vmax or _robust_max(run.W_in)
        lim_out = vmax or _robust_max(run.W_out)
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
        st["dynamic"] += [im_in, im_out, *_spines(axes), st["title"]]
    W_in, W_out = run.weights_at(_step_of(run, step))
    st["im_in"].set_data(W_in[:, st["order"]].T)
    st["im_out"].set_data(W_out[st["order"], :])
    s = run.snapshot_steps[run.snapshot_index(_step_of(run, step))]
    st["title"].set_text(f"sparse parity weights at step {s:,}: the first {run.config.k} digits decide the label")
    return fig


def parity_trajectories(run: Run, step: int | None = None, *, ylim: float | None = None,
                        fig: Figure | None = None) -> Figure:
    """Every input weight of the parity model against step (figure 7).

    The first k digits are coloured, the distractor digits faint grey, the bias pink.
    ylim: symmetric y limit (default: the largest |weight| of the run).
    """
    _need(run, "parity", "parity_trajectories()")
    fig, st, fresh = _begin(fig, ("parity_trajectories", run, ylim), (9.0, 4.0))
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
    s = _step_of(run, step)
    st["vline"].set_xdata([s, s])
    st["vline"].set_visible(step is not None)
    return fig


# ---------------------------------------------------------------- 8, 19, 20: sweeps

def classify_grid(min_train_loss: np.ndarray, min_test_loss: np.ndarray, max_ratio: np.ndarray,
                  min_loss: float = analysis.DEFAULT_MIN_LOSS,
                  max_ratio_threshold: float = analysis.DEFAULT_MAX_RATIO,
                  diverged: np.ndarray | None = None) -> np.ndarray:
    """Classes of many runs at once, by the rules of :func:`grokkit.analysis.classify_stats`.

    The three arrays (any equal shapes) are per-run statistics on the article's loss scale:
    the smallest train loss, the smallest test loss, and max(test loss / train loss).
    Returns an array of class names ('fail', 'memorize', 'generalize', 'grok'); runs
    marked in ``diverged`` fail, and runs whose min_train_loss is NaN (not run yet) get ''.
    """
    tr, te, ra = (np.asarray(a, float) for a in (min_train_loss, min_test_loss, max_ratio))
    out = np.select([tr > min_loss, te > min_loss, ra < max_ratio_threshold],
                    ["fail", "memorize", "generalize"], "grok").astype("<U10")
    if diverged is not None:
        out[np.asarray(diverged, bool)] = "fail"
    out[np.isnan(tr)] = ""
    return out


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
    class names (see :func:`classify_grid`); each cell shows one dot per seed, and runs
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
    fig, st, fresh = _begin(fig, key, (2.3 * n_wd + 1.0, 3.4))
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
    fig, st, fresh = _begin(fig, ("cell_losses", tr.shape, ylim), (5.0, 3.2), ax)
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


def freqs_title(W_in: np.ndarray, min_strength: float = fourier.SEED_SWEEP_MIN_STRENGTH) -> str:
    """'Freqs: 4, 5, 7': the key frequencies of a final W_in, as the seed sweep titles its charts."""
    ks = fourier.key_frequencies(W_in, min_strength)
    return "Freqs: " + (", ".join(str(k) for k in ks) if ks else "none")


def loss_grid(steps: np.ndarray, train_loss: np.ndarray, test_loss: np.ndarray,
              titles: Sequence[str] | None = None, *, ncols: int = 6, max_panels: int = 48,
              ylim: tuple[float, float] = (1e-8, 1.0), fig: Figure | None = None) -> Figure:
    """Small multiples: one small log-loss chart per run (figure 19).

    steps: (n_steps,) or (n_runs, n_steps); train_loss, test_loss: (n_runs, n_steps) on the
    article's scale. At most max_panels runs are drawn (a figure of hundreds of axes is slow).
    """
    tr, te = np.atleast_2d(np.asarray(train_loss, float)), np.atleast_2d(np.asarray(test_loss, float))
    n = min(len(tr), max_panels)
    steps = np.asarray(steps, float)
    steps = np.broadcast_to(steps, tr.shape) if steps.ndim == 1 else steps
    rows = math.ceil(n / ncols)
    key = ("loss_grid", train_loss, test_loss, tuple(titles) if titles is not None else None, n, ncols, ylim)
    fig, st, fresh = _begin(fig, key, (1.6 * min(n, ncols) + 0.6, 1.35 * rows + 0.6))
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
        ax.set_title(titles[i] if titles is not None else f"run {i}", fontsize=8)
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
        _need(r, "modadd", "seed_grid()")
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


def class_bars(classes: Mapping[str, np.ndarray], *, title: str | None = None,
               fig: Figure | None = None) -> Figure:
    """Stacked bars of class counts, one bar per group of runs, e.g. per architecture (figure 20).

    classes: {group name: array of class names of its runs}.
    """
    names = list(classes)
    counts = np.array([[int((_check_classes(classes[g]) == c).sum()) for c in analysis.CLASSES] for g in names])
    fig, _, fresh = _begin(fig, ("class_bars", tuple(names), counts.tobytes(), title), (8.0, 0.45 * len(names) + 1.6))
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


# ---------------------------------------------------------------- 9, 11, 12, 13: five neurons

def fixed_embedding(p: int = 67, freqs: tuple[int, ...] = (1,), *, fig: Figure | None = None) -> Figure:
    """The fixed circular embedding: a (number x cos/sin) heatmap and the numbers on the circle (figure 9)."""
    fig, _, fresh = _begin(fig, ("fixed_embedding", p, tuple(freqs)), (7.5, 4.2))
    if not fresh:
        return fig
    E = circular_embedding(p, tuple(freqs), normalize=False)
    ax_h, ax_c = fig.subplots(1, 2, width_ratios=[1, 1.6])
    im = ax_h.imshow(E, cmap=WEIGHT_CMAP, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    cols = [f"{f} {k}" for k in freqs for f in ("cos", "sin")]
    ax_h.set_xticks(np.arange(len(cols)), cols)
    ax_h.set(ylabel="number x", title="W_embed")
    fig.colorbar(im, ax=ax_h, label="value", shrink=0.8)
    x = np.arange(p)
    sc = ax_c.scatter(E[:, 0], E[:, 1], c=x, cmap="viridis", s=18, zorder=2)
    for i in range(0, p, max(1, p // 12)):
        ax_c.annotate(str(i), (E[i, 0] * 1.13, E[i, 1] * 1.13), ha="center", va="center", fontsize=7)
    ax_c.add_patch(Circle((0, 0), 1, fill=False, color="#cccccc", lw=0.8))
    ax_c.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3), xlabel=f"cos(2π·{freqs[0]}·x/{p})",
             ylabel=f"sin(2π·{freqs[0]}·x/{p})", title="each number is a point on a circle")
    ax_c.set_aspect("equal")
    fig.colorbar(sc, ax=ax_c, label="number x", shrink=0.8)
    return fig


def _circular_params(run: Run, step: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(hidden (2F, H), out.T (2F, H)) of a circular-embedding run at step."""
    cfg = run.config
    if cfg.task != "modadd" or cfg.embedding != "circular":
        raise ValueError("this figure needs a run with the fixed circular embedding "
                         "(config.embedding == 'circular', e.g. grokkit.PAIR_FIVE_NEURON)")
    i = run.snapshot_index(_step_of(run, step))
    return run.snapshots["hidden"][i], run.snapshots["out"][i].T


def five_neuron_weights(run: Run, step: int | None = None, *, fig: Figure | None = None) -> Figure:
    """The in-projection (hidden) and out-projection (out) as cos/sin x neuron heatmaps (figure 11).

    As in the explorable, the colour scale follows the weights: at every step it is rescaled
    to a round number just above the largest |weight|.
    """
    hid, out = _circular_params(run, step)
    fig, st, fresh = _begin(fig, ("five_neuron_weights", run), (8.0, 2.8))
    if fresh:
        rows = [f"{f} {k}" for k in run.config.circular_freqs for f in ("cos", "sin")]
        axes = fig.subplots(1, 2)
        ims = []
        for ax, name in zip(axes, ("in-projection (hidden)", "out-projection (out)")):
            im = ax.imshow(np.zeros_like(hid), cmap=WEIGHT_CMAP, aspect="auto", interpolation="nearest")
            ax.set_yticks(np.arange(len(rows)), rows)
            ax.set_xticks(np.arange(hid.shape[1]))
            ax.set(title=name, xlabel="neuron")
            fig.colorbar(im, ax=ax, shrink=0.9, label="weight")
            ims.append(im)
        st.update(ims=ims, title=fig.suptitle(" "))
        st["dynamic"] += [*ims, *_spines(axes), st["title"]]
    lims = []
    for im, w in zip(st["ims"], (hid, out)):
        m = _nice(float(np.abs(w).max()))
        im.set_data(w)
        im.set_clim(-m, m)
        lims.append(m)
    st["token"] = tuple(lims)
    s = run.snapshot_steps[run.snapshot_index(_step_of(run, step))]
    st["title"].set_text(f"the {hid.shape[1]} neurons' weights at step {s:,} (colour scale follows the weights)")
    return fig


def circle_order(run: Run) -> np.ndarray:
    """Neurons sorted by the angle of their final in-projection (the order the star joins them)."""
    hid = run.snapshots["hidden"][-1]
    return np.argsort(np.arctan2(hid[1], hid[0]))


def five_neuron_circles(run: Run, step: int | None = None, *, connect: bool = False,
                        fig: Figure | None = None) -> Figure:
    """Each neuron's in- and out-projection as a (cos, sin) point (figures 12, 13).

    connect=True joins the neurons in the angle order of their final in-projections:
    a polygon on the left, and on the right a star, because the out-projection turns
    twice as fast. Axes follow the weights (about 1.2 x the largest |weight|, rounded up).
    """
    hid, out = _circular_params(run, step)
    fig, st, fresh = _begin(fig, ("five_neuron_circles", run, connect), (8.0, 4.0))
    H = hid.shape[1]
    if fresh:
        order = np.r_[circle_order(run), circle_order(run)[:1]]
        axes = fig.subplots(1, 2)
        pts, links, labels = [], [], []
        cmap = matplotlib.colormaps["tab10"]
        for ax, name in zip(axes, ("in-projection", "out-projection")):
            links.append(ax.plot(np.zeros(H + 1), np.zeros(H + 1), color="#888888", lw=1, visible=connect,
                                 zorder=1)[0])
            pts.append(ax.scatter(np.zeros(H), np.zeros(H), c=[cmap(i % 10) for i in range(H)], s=45, zorder=3))
            labels.append([ax.annotate(str(i), (0, 0), xytext=(5, 5), textcoords="offset points", fontsize=9)
                           for i in range(H)])
            ax.axhline(0, color="#dddddd", lw=0.6, zorder=0)
            ax.axvline(0, color="#dddddd", lw=0.6, zorder=0)
            ax.set(title=name + (" (joined in angle order)" if connect else ""), xlabel="cos weight",
                   ylabel="sin weight")
            ax.set_aspect("equal")
        st.update(order=order, pts=pts, links=links, labels=labels, axes=axes, title=fig.suptitle(" "))
        st["dynamic"] += [*pts, *links, *[t for ts in labels for t in ts], st["title"]]
    lims = []
    for k, w in enumerate((hid, out)):
        xy = w[:2].T
        st["pts"][k].set_offsets(xy)
        st["links"][k].set_data(xy[st["order"], 0], xy[st["order"], 1])
        for i, t in enumerate(st["labels"][k]):
            t.xy = (xy[i, 0], xy[i, 1])
        m = _nice(1.2 * float(np.abs(xy).max()))
        st["axes"][k].set(xlim=(-m, m), ylim=(-m, m))
        lims.append(m)
    st["token"] = tuple(lims)
    s = run.snapshot_steps[run.snapshot_index(_step_of(run, step))]
    st["title"].set_text(f"{H} neurons on the circle at step {s:,}")
    return fig


# ---------------------------------------------------------------- 16, 17: Fourier

def _frequency_ticks(ax: Any, p: int) -> None:
    """x ticks of a basis-index axis, labelled by frequency (cos k and sin k share a label)."""
    top = p // 2
    every = max(1, round(top / 11))
    ks = [k for k in range(1, top + 1) if k % every == 0 or k == 1]
    ax.set_xticks([2 * k - 0.5 for k in ks], [str(k) for k in ks], fontsize=8)
    ax.set_xlabel("Fourier basis (cos k, sin k), labelled by frequency k")


def dft(run: Run, step: int | None = None, *, sort: bool = True, vmax: float | None = None,
        fig: Figure | None = None) -> Figure:
    """Fourier coefficients of every neuron's W_in and W_out at ``step`` (figure 16).

    Rows: neurons (sorted by final frequency and phase); columns: the real Fourier basis
    (const, cos 1, sin 1, ...). vmax: colour limit (default: from the whole run, fixed).
    """
    _need(run, "modadd", "dft()")
    fig, st, fresh = _begin(fig, ("dft", run, sort, vmax), (9.0, 5.0))
    if fresh:
        c_in, c_out = fourier.dft_in(run.W_in), fourier.dft_out(run.W_out)      # (n_snap, p, H)
        order = neuron_display_order(run, sort)
        lim = vmax or _robust_max(np.concatenate([c_in.ravel(), c_out.ravel()]), q=99.9)
        p, H = c_in.shape[1:]
        axes = fig.subplots(2, 1, sharex=True)
        kw = dict(cmap=WEIGHT_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        ims = [ax.imshow(np.zeros((H, p)), **kw) for ax in axes]
        for ax, name in zip(axes, ("W_in", "W_out")):
            ax.set(title=f"DFT of {name}", ylabel="neuron")
            _neuron_ticks(ax, order, "y")
        _frequency_ticks(axes[1], p)
        fig.colorbar(ims[0], ax=axes, shrink=0.9, label="Fourier coefficient")
        st.update(c_in=c_in, c_out=c_out, order=order, ims=ims, title=fig.suptitle(" "))
        st["dynamic"] += [*ims, *_spines(axes), st["title"]]
    i = run.snapshot_index(_step_of(run, step))
    st["ims"][0].set_data(st["c_in"][i][:, st["order"]].T)
    st["ims"][1].set_data(st["c_out"][i][:, st["order"]].T)
    st["title"].set_text(f"each neuron in the Fourier basis at step {run.snapshot_steps[i]:,}")
    return fig


def frequency_stars(run: Run, step: int | None = None, *, min_strength: float | None = None, max_groups: int = 6,
                    fig: Figure | None = None) -> Figure:
    """Per key frequency k, each neuron's (cos k, sin k) coefficients as points joined in phase order (figure 17).

    Top row W_in, bottom row W_out; groups and order from the final snapshot. The dashed
    circle has the points' mean length; axes are +-1.2 x the longest at each step (no ticks:
    the shape matters, not the scale).
    """
    _need(run, "modadd", "frequency_stars()")
    fig, st, fresh = _begin(fig, ("frequency_stars", run, min_strength, max_groups), (9.0, 4.5))
    if fresh:
        groups = [(lab, ns) for lab, ns in _groups(run, min_strength, max_groups) if lab != "all neurons"]
        if not groups:
            raise ValueError("frequency_stars: the final weights have no key frequency; train longer")
        ks = [int(lab.split()[1]) for lab, _ in groups]
        fig.set_size_inches(max(2.2 * len(groups), 4.4) + 0.4, 4.8)
        axes = np.atleast_2d(fig.subplots(2, len(groups), squeeze=False))
        cmap = matplotlib.colormaps["tab20"]
        artists = []
        for j, (k, (lab, ns)) in enumerate(zip(ks, groups)):
            for r, name in enumerate(("W_in", "W_out")):
                ax = axes[r, j]
                line = ax.plot(np.zeros(len(ns) + 1), np.zeros(len(ns) + 1), color="#888888", lw=1, zorder=1)[0]
                pts = ax.scatter(np.zeros(len(ns)), np.zeros(len(ns)), c=[cmap(n % 20) for n in ns], s=28, zorder=3)
                ring = Circle((0, 0), 1, fill=False, ls="--", color="#bbbbbb", lw=0.8)
                ax.add_patch(ring)
                texts = [ax.annotate(str(n), (0, 0), xytext=(3, 3), textcoords="offset points", fontsize=7)
                         for n in ns]
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.axhline(0, color="#eeeeee", lw=0.6, zorder=0)
                ax.axvline(0, color="#eeeeee", lw=0.6, zorder=0)
                ax.set_title(f"{name}, frequency {k}", fontsize=9)
                if j == 0:
                    ax.set_ylabel("sin k coefficient", fontsize=8)
                if r == 1:
                    ax.set_xlabel("cos k coefficient", fontsize=8)
                artists.append((ax, k, ns, r, line, pts, ring, texts))
        st.update(artists=artists, c_in=fourier.dft_in(run.W_in), c_out=fourier.dft_out(run.W_out),
                  title=fig.suptitle(" "))
        st["dynamic"] += [a for _, _, _, _, line, pts, ring, texts in artists for a in (line, pts, ring, *texts)]
        st["dynamic"].append(st["title"])
    i = run.snapshot_index(_step_of(run, step))
    for ax, k, ns, r, line, pts, ring, texts in st["artists"]:
        c = (st["c_in"] if r == 0 else st["c_out"])[i]
        xy = np.stack([c[2 * k - 1, ns], c[2 * k, ns]], axis=1)
        pts.set_offsets(xy)
        closed = np.r_[xy, xy[:1]]
        line.set_data(closed[:, 0], closed[:, 1])
        norms = np.hypot(xy[:, 0], xy[:, 1])
        ring.set_radius(float(norms.mean()))
        for t, pt in zip(texts, xy):
            t.xy = (pt[0], pt[1])
        m = 1.2 * max(float(norms.max()), 1e-9)
        ax.set(xlim=(-m, m), ylim=(-m, m))           # no ticks: the background does not change
    st["title"].set_text(f"neurons of each key frequency in its cos/sin plane, step {run.snapshot_steps[i]:,}")
    return fig


# ---------------------------------------------------------------- 18: logits

def _max_abs_logits(W_in: np.ndarray, W_out: np.ndarray, groups: Sequence[Sequence[int]],
                    act: Callable[[np.ndarray], np.ndarray], chunk: int = 512) -> list[float]:
    """For each group of neurons, the largest |logit| it produces alone over all pairs a <= b.

    In blocks of rows: one big product would make a multi-threaded BLAS spin, which on a
    busy 2-core machine costs ~10x more than these small single-threaded ones.
    """
    a, b = np.triu_indices(W_in.shape[0])
    h = act(W_in[a] + W_in[b])
    out = [0.0] * len(groups)
    for s in range(0, len(h), chunk):
        block = h[s:s + chunk]
        for g, ns in enumerate(groups):
            out[g] = max(out[g], float(np.abs(block[:, ns] @ W_out[ns]).max()))
    return out


def logits(run: Run, step: int | None = None, a: int = DEFAULT_A, b: int = DEFAULT_B, *,
           min_strength: float | None = None, max_groups: int = 6, fig: Figure | None = None) -> Figure:
    """The logits for inputs a and b from each key-frequency group alone (other neurons masked) and from all (figure 18).

    The bar of the right answer (a + b) mod p is dark; each panel's title says what it predicts.
    A panel's y range is the largest |logit| of its neurons over all pairs at that step, so
    moving a and b changes only the bars.
    """
    _need(run, "modadd", "logits()")
    p = run.config.p
    if not (0 <= a < p and 0 <= b < p):
        raise ValueError(f"a = {a!r}, b = {b!r} are not allowed: both must be in 0..{p - 1}")
    fig, st, fresh = _begin(fig, ("logits", run, min_strength, max_groups), (9.0, 5.0))
    if fresh:
        groups = _groups(run, min_strength, max_groups)
        if groups[0][0] == "all neurons":
            groups = []
        panels = groups + [("all neurons", list(range(run.W_in.shape[-1])))]
        fig.set_size_inches(9.0, 0.9 + 1.25 * len(panels))
        axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
        bars, titles = [], []
        for ax in axes:
            bars.append(_Bars(ax, np.arange(p)))
            ax.axhline(0, color="#999999", lw=0.6)
            ax.set_ylabel("logit", fontsize=8)
            ax.tick_params(labelsize=7)
            titles.append(ax.set_title(" ", fontsize=9, loc="left"))
        axes[-1].set_xlabel("output c")
        axes[-1].set_xlim(-0.7, p - 0.3)
        masks = np.zeros((len(panels), run.W_in.shape[-1]))
        for j, (_, ns) in enumerate(panels):
            masks[j, ns] = 1.0
        st.update(panels=panels, axes=axes, bars=bars, masks=masks, titles=titles, title=fig.suptitle(" "),
                  limits={})
        st["dynamic"] += [b_.collection for b_ in bars] + titles + [st["title"]]
    i = run.snapshot_index(_step_of(run, step))
    W_in, W_out = run.W_in[i], run.W_out[i]
    act = (lambda x: np.maximum(x, 0.0)) if run.config.activation == "relu" else (lambda x: x * x)
    values = (st["masks"] * act(W_in[a] + W_in[b])) @ W_out                # (panels, p)
    if i not in st["limits"]:         # per panel: the largest |logit| over all pairs at this snapshot
        st["limits"][i] = [_nice(1.05 * m) for m in _max_abs_logits(W_in, W_out, [ns for _, ns in st["panels"]],
                                                                    act)]
    answer = (a + b) % p
    colors = [BAR_COLOR] * p
    colors[answer] = ANSWER_COLOR
    lims = []
    for ax, bars, title, (label, ns), v in zip(st["axes"], st["bars"], st["titles"], st["panels"], values):
        bars.set_heights(v)
        bars.set_colors(colors)
        m = st["limits"][i][len(lims)]
        if st["token"] is None or st["token"][len(lims)] != m:
            ax.set_ylim(-m, m)
            ax.set_yticks([-m, 0.0, m], [f"{-m:g}", "0", f"{m:g}"])
        lims.append(m)
        pred = int(np.argmax(v))
        who = label if label == "all neurons" else f"{label} (neurons {', '.join(map(str, ns))})"
        title.set_text(f"{who}: predicts {pred}" + (" ✓" if pred == answer else ""))
    st["token"] = tuple(lims)
    s = run.snapshot_steps[run.snapshot_index(_step_of(run, step))]
    st["title"].set_text(f"logits for a = {a}, b = {b} at step {s:,}; "
                         f"the right answer {a} + {b} mod {p} = {answer} is dark")
    return fig


# ---------------------------------------------------------------- 22: the appendix construction

def construction(N: int = 5, p: int = 67, a: int = DEFAULT_A, b: int = DEFAULT_B, activation: str = "relu",
                 offset: float = 0.0, *, fig: Figure | None = None) -> Figure:
    """The appendix's hand-built model with N neurons and modulus p, followed for inputs a and b (figure 22).

    Panels: the embedding circle with the in-projections; each neuron's projection before
    and after the activation; the out-projections (scaled by the activations), their sum
    and the unembedding circle; the logits, with the accuracy over all p*p pairs. Scales
    are fixed for given N, p and activation (the largest output over all pairs), so that
    moving a and b only moves the data.
    """
    s = _construction.construction_state(N, p, a, b, activation, offset)
    fig, st, fresh = _begin(fig, ("construction",), (13.0, 3.8), layout="fixed")
    if fresh:
        fig.subplots_adjust(left=0.055, right=0.99, bottom=0.14, top=0.8, wspace=0.32)
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.5])
        ax_e, ax_p, ax_o, ax_l = axes
        st["pt_a"] = ax_e.scatter([0], [0], s=50, color=A_COLOR, zorder=3, label="a")
        st["pt_b"] = ax_e.scatter([0], [0], s=50, color=B_COLOR, zorder=3, label="b")
        ax_e.legend(loc="lower right", fontsize=7, frameon=False, handletextpad=0.1)
        ax_e.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), title="embedding, in-projections",
                 xlabel="cos", ylabel="sin")
        ax_e.set_aspect("equal")
        ax_p.axhline(0, color="#999999", lw=0.6)
        ax_p.set(xlabel="neuron")
        st["sum"] = ax_o.quiver([0], [0], [0], [0], angles="xy", scale_units="xy", scale=1, color=ANSWER_COLOR,
                                width=0.014, zorder=3)
        st["pt_c"] = ax_o.scatter([0], [0], s=60, facecolor="none", edgecolor=ANSWER_COLOR, lw=1.5, zorder=4)
        ax_o.set(title="out-projections and their sum", xlabel="cos", ylabel="sin")
        ax_o.set_aspect("equal")
        ax_l.axhline(0, color="#999999", lw=0.6)
        ax_l.set(xlabel="output c", ylabel="logit")
        st.update(axes=axes, params=None, parts=[], title=fig.suptitle(" "), logit_title=ax_l.set_title(" "))
    ax_e, ax_p, ax_o, ax_l = st["axes"]
    params = (int(N), int(p), activation, float(offset))
    if st["params"] != params:             # N, p or the activation changed: rebuild what depends on them
        for artist in st["parts"]:
            artist.remove()
        outs = _construction.construction_outputs(N, p, activation, offset)
        top_act = 4.0 if activation == "square" else 2.0
        radius = max(float(np.hypot(outs[..., 0], outs[..., 1]).max()), top_act)
        parts = [ax_e.scatter(s.embed[:, 0], s.embed[:, 1], s=6, color="#bbbbbb", zorder=1)]
        for i, u in enumerate(s.in_proj):
            parts.append(ax_e.annotate("", xy=(u[0] * 0.8, u[1] * 0.8), xytext=(0, 0),
                                       arrowprops=dict(arrowstyle="->", color="#555555", lw=1)))
            parts.append(ax_e.annotate(str(i), (u[0] * 0.9, u[1] * 0.9), ha="center", va="center", fontsize=7,
                                       color="#555555"))
        x = np.arange(N)
        bars_pre = _Bars(ax_p, x - 0.2, width=0.4, color="#dddddd", label="projection")
        act_name = "ReLU" if activation == "relu" else "x²"
        bars_act = _Bars(ax_p, x + 0.2, width=0.4, color="#555555", label=act_name)
        ax_p.set(xticks=x, xlim=(-0.7, N - 0.3), ylim=(-2.1, top_act + 0.1), title=f"in-projection → {act_name}")
        ax_p.legend(loc="upper right", fontsize=7, frameon=False)
        parts.append(ax_o.scatter(s.embed[:, 0] * radius, s.embed[:, 1] * radius, s=6, color="#bbbbbb", zorder=1))
        quiver = ax_o.quiver(np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N), angles="xy", scale_units="xy",
                             scale=1, color="#888888", width=0.008, zorder=2)
        ax_o.set(xlim=(-1.2 * radius, 1.2 * radius), ylim=(-1.2 * radius, 1.2 * radius))
        bars_logit = _Bars(ax_l, np.arange(p))
        ax_l.set(xlim=(-0.7, p - 0.3), ylim=(-1.08 * radius, 1.08 * radius))
        parts += [bars_pre.collection, bars_act.collection, quiver, bars_logit.collection]
        st.update(params=params, parts=parts, radius=radius, quiver=quiver, bars_pre=bars_pre, bars_act=bars_act,
                  bars_logit=bars_logit, acc=_construction.construction_accuracy(N, p, activation, offset, outs),
                  token=params)
        st["dynamic"] = [st["pt_a"], st["pt_b"], bars_pre.collection, bars_act.collection, quiver, st["sum"],
                         st["pt_c"], bars_logit.collection, st["logit_title"], st["title"]]
    st["pt_a"].set_offsets([s.embed[s.a]])
    st["pt_b"].set_offsets([s.embed[s.b]])
    st["bars_pre"].set_heights(s.pre)
    st["bars_act"].set_heights(s.act)
    vec = s.act[:, None] * s.out_proj
    st["quiver"].set_UVC(vec[:, 0], vec[:, 1])
    st["sum"].set_UVC([s.out[0]], [s.out[1]])
    st["pt_c"].set_offsets([s.embed[s.answer] * st["radius"]])
    st["bars_logit"].set_heights(s.logits)
    colors = [BAR_COLOR] * p
    colors[s.answer] = ANSWER_COLOR
    st["bars_logit"].set_colors(colors)
    ok = "✓" if s.predicted == s.answer else "✗"
    st["logit_title"].set_text(f"logits: predicts {s.predicted} {ok}  (all pairs: {st['acc']:.0%} right)")
    act_name = "ReLU" if activation == "relu" else "x²"
    st["title"].set_text(f"{N} neurons, modulus {p}, {act_name}: a = {a}, b = {b}, a + b mod {p} = {s.answer}")
    return fig


# ---------------------------------------------------------------- animations (no kernel)

def animation_html(fig: Figure, update: Callable[[Any], Any], frames: Sequence[Any], *,
                   interval: int = 250, dpi: float = ANIMATION_DPI) -> Any:
    """An ``IPython.display.HTML`` JavaScript animation: update(frame) redraws fig for each frame."""
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    frames = list(frames)
    old_dpi = fig.dpi
    fig.set_dpi(dpi)

    def frame(f: Any) -> list:
        """Draw one frame (no blitting: FuncAnimation saves whole figures)."""
        update(f)
        return []

    try:
        if frames:          # lay the figure out once; then each saved frame is drawn only once
            update(frames[0])
            fig.canvas.draw()
            fig.set_layout_engine(None)
        anim = FuncAnimation(fig, frame, frames=frames, interval=interval,
                             blit=False, repeat=True, cache_frame_data=False)
        html = anim.to_jshtml(default_mode="loop")
    finally:
        fig.set_dpi(old_dpi)
    return HTML(html)


def animation_steps(run: Run, frames: int = ANIMATION_FRAMES) -> list[int]:
    """At most ``frames`` snapshot steps, evenly spread from first to last."""
    snaps = np.asarray(run.snapshot_steps)
    idx = np.unique(np.linspace(0, len(snaps) - 1, min(frames, len(snaps))).round().astype(int))
    return [int(snaps[i]) for i in idx]


def animate(run: Run, plot: Callable[..., Figure] = curves, steps: Sequence[int] | None = None, *,
            frames: int = ANIMATION_FRAMES, dpi: float = ANIMATION_DPI, interval: int = 250, **options: Any) -> Any:
    """A kernel-free animation of ``plot(run, step, **options)`` over training, as embedded HTML.

    steps default to ``frames`` snapshot steps spread over the run.
    """
    steps = list(steps) if steps is not None else animation_steps(run, frames)
    fig = plot(run, steps[0], **options)
    return animation_html(fig, lambda s: plot(run, s, fig=fig, **options), steps, interval=interval, dpi=dpi)


# ---------------------------------------------------------------- IPython display

def _register_png_formatter() -> None:
    """Let IPython show pyplot-free Figures as PNG, unless a backend already does."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    ip = get_ipython()
    if ip is None:
        return
    png = ip.display_formatter.formatters.get("image/png")
    if png is None:
        return
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, lambda f: to_png(f))


_register_png_formatter()



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


def _embedding_at(run: Any, step: int) -> np.ndarray:
    """The residue-indexed input weights at a step: a transformer's embedding or an MLP's W_in."""
    i = run.snapshot_index(step)
    return run.embeddings[i] if hasattr(run, "embeddings") else run.W_in[i]


def frequency_spectrum(run: Any, step: int | None = None, *, fig: Figure | None = None) -> Figure:
    """Share of the embedding's (or W_in's) Fourier power at each frequency, at ``step``, against step 0."""
    step = _step_of(run, step)
    fig, st, fresh = _begin(fig, ("frequency_spectrum", run), (8.0, 3.0))
    first = fourier.frequency_power(_embedding_at(run, 0))
    now = fourier.frequency_power(_embedding_at(run, step))
    ks = np.arange(1, len(now) + 1)
    if fresh:
        ax = fig.subplots()
        ax.step(ks, first, where="mid", color="grey", lw=1, label="step 0")
        st["bars"] = ax.bar(ks, now, color=TEST_COLOR, width=0.7, label="this step")
        ax.set(xlabel="frequency k", ylabel="share of the power", xlim=(0.3, len(ks) + 0.7), ylim=(0, 1))
        ax.set_xticks(ks)
        ax.legend(loc="upper right", frameon=False)
        ax.grid(alpha=0.25, axis="y")
        st["dynamic"] += list(st["bars"]) + [ax.title]
    ax = fig.axes[0]
    for bar, h in zip(st["bars"], now):
        bar.set_height(h)
    top = np.sort(now)[::-1][:3].sum()
    ax.set_title(f"step {int(run.snapshot_steps[run.snapshot_index(step)]):,}: the 3 strongest frequencies "
                 f"hold {top:.0%} of the power")
    return fig

__all__ = [
    "TRAIN_COLOR", "TEST_COLOR", "STEP_COLOR", "WEIGHT_CMAP", "CLASS_COLORS", "CLASS_EDGE", "DIGIT_COLORS",
    "BIAS_COLOR", "DISTRACTOR_COLOR", "A_COLOR", "B_COLOR", "ANSWER_COLOR", "new_figure", "to_png",
    "accuracy", "loss", "curves", "neuron_display_order", "weights", "waves", "parity_input_labels",
    "parity_weights", "parity_trajectories", "classify_grid", "sweep_grid", "cell_losses", "freqs_title",
    "loss_grid", "seed_grid", "class_bars", "fixed_embedding", "five_neuron_weights", "circle_order",
    "five_neuron_circles", "dft", "frequency_stars", "logits", "construction", "animation_html",
    "animation_steps", "animate", "LIU_CLASSES", "LIU_COLORS", "steps_to_generalize", "phase_diagram",
    "frequency_spectrum",
]
