"""Fourier views of a modular-addition model: DFT heatmaps, frequency stars, logits per frequency, power spectrum.

Explorable figures 16, 17, 18, and notebook 07's spectrum of an embedding.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from .. import fourier
from ..run import Run
from .common import key_frequency_groups, neuron_ticks, require_task, robust_max, step_shown
from .modadd import neuron_display_order
from .render import Bars, begin_figure, nice_limit, spines
from .style import ANSWER_COLOR, BAR_COLOR, DEFAULT_A, DEFAULT_B, TEST_COLOR, WEIGHT_CMAP


# ---------------------------------------------------------------- 16, 17: DFT, frequency stars

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
    require_task(run, "modadd", "dft()")
    fig, st, fresh = begin_figure(fig, ("dft", run, sort, vmax), (9.0, 5.0))
    if fresh:
        c_in, c_out = fourier.dft_in(run.W_in), fourier.dft_out(run.W_out)      # (n_snap, p, H)
        order = neuron_display_order(run, sort)
        lim = vmax or robust_max(np.concatenate([c_in.ravel(), c_out.ravel()]), q=99.9)
        p, H = c_in.shape[1:]
        axes = fig.subplots(2, 1, sharex=True)
        kw = dict(cmap=WEIGHT_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        ims = [ax.imshow(np.zeros((H, p)), **kw) for ax in axes]
        for ax, name in zip(axes, ("W_in", "W_out")):
            ax.set(title=f"DFT of {name}", ylabel="neuron")
            neuron_ticks(ax, order, "y")
        _frequency_ticks(axes[1], p)
        fig.colorbar(ims[0], ax=axes, shrink=0.9, label="Fourier coefficient")
        st.update(c_in=c_in, c_out=c_out, order=order, ims=ims, title=fig.suptitle(" "))
        st["dynamic"] += [*ims, *spines(axes), st["title"]]
    i = run.snapshot_index(step_shown(run, step))
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
    require_task(run, "modadd", "frequency_stars()")
    fig, st, fresh = begin_figure(fig, ("frequency_stars", run, min_strength, max_groups), (9.0, 4.5))
    if fresh:
        groups = [(lab, ns) for lab, ns in key_frequency_groups(run, min_strength, max_groups) if lab != "all neurons"]
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
    i = run.snapshot_index(step_shown(run, step))
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
    """The logits for inputs a and b from each key-frequency group alone (others masked) and from all (figure 18).

    The bar of the right answer (a + b) mod p is dark; each panel's title says what it predicts.
    A panel's y range is the largest |logit| of its neurons over all pairs at that step, so
    moving a and b changes only the bars.
    """
    require_task(run, "modadd", "logits()")
    p = run.config.p
    if not (0 <= a < p and 0 <= b < p):
        raise ValueError(f"a = {a!r}, b = {b!r} are not allowed: both must be in 0..{p - 1}")
    fig, st, fresh = begin_figure(fig, ("logits", run, min_strength, max_groups), (9.0, 5.0))
    if fresh:
        groups = key_frequency_groups(run, min_strength, max_groups)
        if groups[0][0] == "all neurons":
            groups = []
        panels = groups + [("all neurons", list(range(run.W_in.shape[-1])))]
        fig.set_size_inches(9.0, 0.9 + 1.25 * len(panels))
        axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
        bars, titles = [], []
        for ax in axes:
            bars.append(Bars(ax, np.arange(p)))
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
    i = run.snapshot_index(step_shown(run, step))
    W_in, W_out = run.W_in[i], run.W_out[i]
    act = (lambda x: np.maximum(x, 0.0)) if run.config.activation == "relu" else (lambda x: x * x)
    values = (st["masks"] * act(W_in[a] + W_in[b])) @ W_out                # (panels, p)
    if i not in st["limits"]:         # per panel: the largest |logit| over all pairs at this snapshot
        tops = _max_abs_logits(W_in, W_out, [ns for _, ns in st["panels"]], act)
        st["limits"][i] = [nice_limit(1.05 * m) for m in tops]
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
    s = run.snapshot_steps[run.snapshot_index(step_shown(run, step))]
    st["title"].set_text(f"logits for a = {a}, b = {b} at step {s:,}; "
                         f"the right answer {a} + {b} mod {p} = {answer} is dark")
    return fig


# ---------------------------------------------------------------- notebook 07: the embedding's spectrum

def _embedding_at(run: Any, step: int) -> np.ndarray:
    """The residue-indexed input weights at a step: a transformer's embedding or an MLP's W_in."""
    i = run.snapshot_index(step)
    return run.embeddings[i] if hasattr(run, "embeddings") else run.W_in[i]


def frequency_spectrum(run: Any, step: int | None = None, *, fig: Figure | None = None) -> Figure:
    """Share of the embedding's (or W_in's) Fourier power at each frequency, at ``step``, against step 0."""
    step = step_shown(run, step)
    fig, st, fresh = begin_figure(fig, ("frequency_spectrum", run), (8.0, 3.0))
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
