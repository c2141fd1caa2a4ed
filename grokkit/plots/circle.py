"""Numbers on a circle: the fixed embedding, the five-neuron model, the appendix construction (figures 9, 11-13, 22)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from .. import construction as construction_model
from ..models import circular_embedding
from ..run import Run
from .common import step_shown
from .render import Bars, begin_figure, nice_limit, spines
from .style import A_COLOR, ANSWER_COLOR, B_COLOR, BAR_COLOR, DEFAULT_A, DEFAULT_B, WEIGHT_CMAP


# ---------------------------------------------------------------- 9, 11, 12, 13: the fixed embedding, five neurons

def fixed_embedding(p: int = 67, freqs: tuple[int, ...] = (1,), *, fig: Figure | None = None) -> Figure:
    """The fixed circular embedding: a (number x cos/sin) heatmap and the numbers on the circle (figure 9)."""
    fig, _, fresh = begin_figure(fig, ("fixed_embedding", p, tuple(freqs)), (7.5, 4.2))
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
    i = run.snapshot_index(step_shown(run, step))
    return run.snapshots["hidden"][i], run.snapshots["out"][i].T


def five_neuron_weights(run: Run, step: int | None = None, *, fig: Figure | None = None) -> Figure:
    """The in-projection (hidden) and out-projection (out) as cos/sin x neuron heatmaps (figure 11).

    As in the explorable, the colour scale follows the weights: at every step it is rescaled
    to a round number just above the largest |weight|.
    """
    hid, out = _circular_params(run, step)
    fig, st, fresh = begin_figure(fig, ("five_neuron_weights", run), (8.0, 2.8))
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
        st["dynamic"] += [*ims, *spines(axes), st["title"]]
    lims = []
    for im, w in zip(st["ims"], (hid, out)):
        m = nice_limit(float(np.abs(w).max()))
        im.set_data(w)
        im.set_clim(-m, m)
        lims.append(m)
    st["token"] = tuple(lims)
    s = run.snapshot_steps[run.snapshot_index(step_shown(run, step))]
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
    fig, st, fresh = begin_figure(fig, ("five_neuron_circles", run, connect), (8.0, 4.0))
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
        m = nice_limit(1.2 * float(np.abs(xy).max()))
        st["axes"][k].set(xlim=(-m, m), ylim=(-m, m))
        lims.append(m)
    st["token"] = tuple(lims)
    s = run.snapshot_steps[run.snapshot_index(step_shown(run, step))]
    st["title"].set_text(f"{H} neurons on the circle at step {s:,}")
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
    s = construction_model.construction_state(N, p, a, b, activation, offset)
    fig, st, fresh = begin_figure(fig, ("construction",), (13.0, 3.8), layout="fixed")
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
        outs = construction_model.construction_outputs(N, p, activation, offset)
        top_act = 4.0 if activation == "square" else 2.0
        radius = max(float(np.hypot(outs[..., 0], outs[..., 1]).max()), top_act)
        parts = [ax_e.scatter(s.embed[:, 0], s.embed[:, 1], s=6, color="#bbbbbb", zorder=1)]
        for i, u in enumerate(s.in_proj):
            parts.append(ax_e.annotate("", xy=(u[0] * 0.8, u[1] * 0.8), xytext=(0, 0),
                                       arrowprops=dict(arrowstyle="->", color="#555555", lw=1)))
            parts.append(ax_e.annotate(str(i), (u[0] * 0.9, u[1] * 0.9), ha="center", va="center", fontsize=7,
                                       color="#555555"))
        x = np.arange(N)
        bars_pre = Bars(ax_p, x - 0.2, width=0.4, color="#dddddd", label="projection")
        act_name = "ReLU" if activation == "relu" else "x²"
        bars_act = Bars(ax_p, x + 0.2, width=0.4, color="#555555", label=act_name)
        ax_p.set(xticks=x, xlim=(-0.7, N - 0.3), ylim=(-2.1, top_act + 0.1), title=f"in-projection → {act_name}")
        ax_p.legend(loc="upper right", fontsize=7, frameon=False)
        parts.append(ax_o.scatter(s.embed[:, 0] * radius, s.embed[:, 1] * radius, s=6, color="#bbbbbb", zorder=1))
        quiver = ax_o.quiver(np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N), angles="xy", scale_units="xy",
                             scale=1, color="#888888", width=0.008, zorder=2)
        ax_o.set(xlim=(-1.2 * radius, 1.2 * radius), ylim=(-1.2 * radius, 1.2 * radius))
        bars_logit = Bars(ax_l, np.arange(p))
        ax_l.set(xlim=(-0.7, p - 0.3), ylim=(-1.08 * radius, 1.08 * radius))
        parts += [bars_pre.collection, bars_act.collection, quiver, bars_logit.collection]
        st.update(params=params, parts=parts, radius=radius, quiver=quiver, bars_pre=bars_pre, bars_act=bars_act,
                  bars_logit=bars_logit, token=params,
                  acc=construction_model.construction_accuracy(N, p, activation, offset, outs))
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
