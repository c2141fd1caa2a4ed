"""The rendering layer under every figure: pyplot-free figures, PNG encoding, blitted redraws.

A plot function starts with :func:`begin_figure`, which hands back the figure drawn last
time with the same key (so it only updates its changing artists) or a fresh one, and keeps
a state dict on it: the artists that change (``dynamic``), a token for anything else that
changes (axis limits), the cached background. :func:`to_png` then draws only the dynamic
artists over that background, which is what keeps the widget sliders fast.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .style import BAR_COLOR

_STATE = "_grokkit_state"


# ---------------------------------------------------------------- figures and PNG

def new_figure(figsize: tuple[float, float] = (8.0, 3.2), layout: str | None = "constrained") -> Figure:
    """A pyplot-free Figure with an Agg canvas (constrained layout unless layout=None)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def encode_png(fig: Figure) -> bytes:
    """The Agg canvas's current pixels as PNG bytes (fast zlib level)."""
    from PIL import Image

    w, h = fig.canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def blit(fig: Figure, st: dict) -> bytes:
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
    return encode_png(fig)


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
        return blit(fig, st)
    old_dpi = fig.dpi
    if dpi is not None and dpi != old_dpi:
        fig.set_dpi(dpi)
    try:
        fig.canvas.draw()
        return encode_png(fig)
    finally:
        if fig.dpi != old_dpi:
            fig.set_dpi(old_dpi)


# ---------------------------------------------------------------- redrawing in place

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


def begin_figure(fig: Figure | None, key: tuple, figsize: tuple[float, float], ax: Any = None,
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


# ---------------------------------------------------------------- helpers for blitted figures

_NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_limit(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= x.

    Axis limits rounded up this way change only now and then while scrubbing, so the
    cached background (ticks, labels) of a blitted figure can be reused.
    """
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    m = x / 10.0 ** e
    return next(n for n in _NICE_STEPS if m <= n * (1 + 1e-9)) * 10.0 ** e


class Bars:
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

def spines(axes: Any) -> list:
    """The spines of some axes (redrawn over their images when blitting)."""
    return [sp for ax in np.atleast_1d(axes).ravel() for sp in ax.spines.values()]


# ---------------------------------------------------------------- IPython display

def register_png_formatter() -> None:
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


register_png_formatter()
