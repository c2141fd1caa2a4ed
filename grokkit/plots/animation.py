"""Kernel-free animations: a step-following figure redrawn per frame, embedded as JavaScript HTML."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..run import Run
from .metrics import curves
from .style import ANIMATION_DPI, ANIMATION_FRAMES


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
