"""ipywidgets controls around :mod:`grokkit.plots`: scrub through training, move a, b, thresholds, N.

Every control redraws figures that :mod:`grokkit.plots` draws; nothing here trains or
computes anything new, with one exception: the seed explorer trains a seed of a seed sweep
again (timed, through :func:`grokkit.sweep.retrain`) when its weights are not shipped. Each figure lives in one persistent matplotlib Figure, redrawn in
place (the plot functions only update their artists) and sent to the browser as PNG
bytes in an ``ipywidgets.Image``, which works the same in JupyterLab, Notebook 7, VS Code
and Binder.

How notebooks use them (a widget is the last value of its cell)::

    from grokkit import plots, widgets
    widgets.scrubber(run, plots.curves, plots.weights)   # one step slider drives both figures
    widgets.logit_explorer(run)                          # a and b sliders (and a step slider)
    widgets.sweep_explorer_for(grokkit.sweep.load("parity_grid"))   # threshold sliders, a cell's curves
    widgets.sweep_explorer(...)                          # the same from plain arrays (see its docstring)
    widgets.construction_explorer()                      # N, modulus, activation, a, b
    widgets.seed_explorer(grokkit.sweep.load("modadd_seeds"), runs={0: run})   # open any seed

Without a kernel (nbviewer, a rendered HTML or PDF page) a widget shows nothing, so every
builder has a fallback that still moves: with ``static=True``, or when the environment
variable ``GROKKIT_STATIC`` is set to 1 (e.g. ``GROKKIT_STATIC=1 jupyter nbconvert
--execute --to html ...``), it returns a short JavaScript animation
(``IPython.display.HTML``, at most ``plots.ANIMATION_FRAMES`` small frames) instead of the
widget. Notebooks stay clean: they always call the builder, and CI (which does not set
the variable) pays only for one drawing of each widget.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import replace
from typing import Any, Callable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from . import analysis, plots
from .run import Run

STATIC_ENV = "GROKKIT_STATIC"
WIDGET_DPI = 80


def static_mode() -> bool:
    """True when ``GROKKIT_STATIC`` asks for kernel-free animations instead of widgets."""
    return os.environ.get(STATIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _static(static: bool | None) -> bool:
    """The effective static flag: the argument, or the environment when it is None."""
    return static_mode() if static is None else bool(static)


def _join_html(parts: Sequence[Any]) -> Any:
    """Several HTML displays as one."""
    from IPython.display import HTML
    return HTML("\n".join(getattr(p, "data", str(p)) for p in parts))


class FigurePanel:
    """One plot function drawn into one persistent Figure, shown as an ``ipywidgets.Image``."""

    def __init__(self, draw: Callable[..., Figure], dpi: float = WIDGET_DPI):
        self.draw = draw
        self.dpi = dpi
        self.fig: Figure | None = None
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))

    def render(self, *args: Any, **kwargs: Any) -> None:
        """Redraw the figure with these arguments and send its PNG to the browser."""
        self.fig = self.draw(*args, fig=self.fig, **kwargs)
        if self.fig.dpi != self.dpi:       # render at the figure's own dpi, so redraws can blit
            self.fig.set_dpi(self.dpi)
        self.image.value = plots.to_png(self.fig)


class Explorer(W.VBox):
    """Base of the grokkit widgets: controls on top, figure images below.

    ``redraw()`` draws every panel from the current control values; ``last_redraw_s``
    (wall clock) and ``last_redraw_cpu_s`` (this process's CPU time) say how long the
    latest one took.
    """

    def __init__(self, controls: Sequence[W.Widget], panels: Sequence[FigurePanel], **kwargs: Any):
        self.panels = list(panels)
        self.last_redraw_s = 0.0
        self.last_redraw_cpu_s = 0.0
        self._hold = False
        super().__init__([*controls, *[p.image for p in self.panels]], **kwargs)

    @property
    def figures(self) -> list[Figure | None]:
        """The panels' matplotlib figures."""
        return [p.fig for p in self.panels]

    @property
    def images(self) -> list[W.Image]:
        """The panels' image widgets."""
        return [p.image for p in self.panels]

    def _draw(self) -> None:
        """Draw every panel from the controls (subclasses)."""
        raise NotImplementedError

    def redraw(self, change: Any = None) -> None:
        """Redraw all panels, timing it; a no-op while controls are being adjusted together."""
        if self._hold:
            return
        t, c = time.perf_counter(), time.process_time()
        self._draw()
        self.last_redraw_s = time.perf_counter() - t
        self.last_redraw_cpu_s = time.process_time() - c


def _step_controls(steps: Sequence[int], start: int | None, interval: int,
                   continuous_update: bool) -> tuple[W.IntSlider, W.Play, W.Label]:
    """A step-index slider, a Play button linked to it in the browser, and a step label."""
    n = len(steps)
    value = n - 1 if start is None else int(np.clip(np.searchsorted(steps, start, side="right") - 1, 0, n - 1))
    slider = W.IntSlider(value=value, min=0, max=n - 1, step=1, description="step", readout=False,
                         continuous_update=continuous_update, layout=W.Layout(width="420px"))
    play = W.Play(value=value, min=0, max=n - 1, step=1, interval=interval, description="play",
                  show_repeat=False)
    W.jslink((play, "value"), (slider, "value"))
    label = W.Label(f"step {int(steps[value]):,}")
    return slider, play, label


class Scrubber(Explorer):
    """A step slider with a Play button that redraws several plot functions in sync."""

    def __init__(self, run: Run, plot_fns: Sequence[Callable[..., Figure]], steps: Sequence[int],
                 start: int | None = None, dpi: float = WIDGET_DPI, interval: int = 300,
                 continuous_update: bool = True):
        self.run = run
        self.steps = np.asarray(steps, dtype=np.int64)
        self.slider, self.play, self.label = _step_controls(self.steps, start, interval, continuous_update)
        super().__init__([W.HBox([self.play, self.slider, self.label])], [FigurePanel(f, dpi) for f in plot_fns])
        self.slider.observe(self.redraw, names="value")
        self.redraw()

    @property
    def step(self) -> int:
        """The step shown."""
        return int(self.steps[self.slider.value])

    def _draw(self) -> None:
        self.label.value = f"step {self.step:,}"
        for p in self.panels:
            p.render(self.run, self.step)


def scrubber(run: Run, *plot_fns: Callable[..., Figure], steps: Sequence[int] | None = None, start: int | None = None,
             dpi: float = WIDGET_DPI, interval: int = 300, continuous_update: bool = True,
             static: bool | None = None, frames: int = plots.ANIMATION_FRAMES) -> Scrubber | Any:
    """A step slider (with Play) driving ``plot_fn(run, step)`` for each plot function, in sync.

    plot_fns default to ``plots.curves``; pass options with ``functools.partial``. steps
    default to the run's snapshot steps; start is the step shown first (default: the last).
    static (or GROKKIT_STATIC=1): return an animation of each figure instead (frames frames).
    """
    fns = plot_fns or (plots.curves,)
    steps = run.snapshot_steps if steps is None else np.asarray(steps)
    if len(steps) == 0:
        raise ValueError("scrubber needs at least one step")
    if _static(static):
        idx = np.unique(np.linspace(0, len(steps) - 1, min(frames, len(steps))).round().astype(int))
        return _join_html([plots.animate(run, f, [int(steps[i]) for i in idx], interval=interval) for f in fns])
    return Scrubber(run, fns, steps, start=start, dpi=dpi, interval=interval, continuous_update=continuous_update)


class LogitExplorer(Explorer):
    """The a and b sliders of the logit figure, with a step slider."""

    def __init__(self, run: Run, a: int, b: int, step: int | None, dpi: float, **options: Any):
        p = run.config.p
        self.run, self.options = run, options
        self.steps = np.asarray(run.snapshot_steps)
        self.a = W.IntSlider(value=a, min=0, max=p - 1, description="a", layout=W.Layout(width="360px"))
        self.b = W.IntSlider(value=b, min=0, max=p - 1, description="b", layout=W.Layout(width="360px"))
        self.slider, self.play, self.label = _step_controls(self.steps, step, 300, True)
        super().__init__([W.HBox([self.a, self.b]), W.HBox([self.play, self.slider, self.label])],
                         [FigurePanel(plots.logits, dpi)])
        for w in (self.a, self.b, self.slider):
            w.observe(self.redraw, names="value")
        self.redraw()

    @property
    def step(self) -> int:
        """The step shown."""
        return int(self.steps[self.slider.value])

    def _draw(self) -> None:
        self.label.value = f"step {self.step:,}"
        self.panels[0].render(self.run, self.step, self.a.value, self.b.value, **self.options)


def logit_explorer(run: Run, a: int = plots.DEFAULT_A, b: int = plots.DEFAULT_B, step: int | None = None, *,
                   dpi: float = WIDGET_DPI, static: bool | None = None, frames: int = plots.ANIMATION_FRAMES,
                   **options: Any) -> LogitExplorer | Any:
    """Sliders for a and b (and the step) over :func:`grokkit.plots.logits`.

    static (or GROKKIT_STATIC=1): an animation of the logits for a and b over training.
    """
    if run.config.task != "modadd":
        raise ValueError("logit_explorer needs a modular-addition run (config.task == 'modadd')")
    if _static(static):
        return plots.animate(run, plots.logits, frames=frames, a=a, b=b, **options)
    return LogitExplorer(run, a, b, step, dpi, **options)


class SweepExplorer(Explorer):
    """Threshold sliders that recolour the sweep grid, and menus choosing a cell whose loss curves show."""

    def __init__(self, stats: tuple[np.ndarray, np.ndarray, np.ndarray], axes: tuple[Sequence, Sequence, Sequence],
                 curves: tuple[np.ndarray, np.ndarray, np.ndarray] | None, cell: tuple[int, int, int], dpi: float,
                 diverged: np.ndarray | None = None, names: Sequence[str] = ("weight decay", "hidden size",
                                                                             "train size")):
        self.stats, self.axes_values, self.curves, self.diverged = stats, axes, curves, diverged
        self.names = tuple(names)
        wds, hs, ts = axes
        self.min_loss = W.FloatLogSlider(value=analysis.DEFAULT_MIN_LOSS, base=10, min=-8, max=0, step=0.25,
                                         description="min loss", readout_format=".0e",
                                         style={"description_width": "110px"}, layout=W.Layout(width="420px"))
        self.max_ratio = W.FloatLogSlider(value=analysis.DEFAULT_MAX_RATIO, base=10, min=0, max=8, step=0.25,
                                          description="max test/train", readout_format=".0e",
                                          style={"description_width": "110px"}, layout=W.Layout(width="420px"))
        self.wd = W.Dropdown(options=[(f"{v:g}", i) for i, v in enumerate(wds)], value=cell[0],
                             description=self.names[0], style={"description_width": "90px"})
        self.hidden = W.Dropdown(options=[(str(v), i) for i, v in enumerate(hs)], value=cell[1],
                                 description=self.names[1], style={"description_width": "90px"})
        self.train = W.Dropdown(options=[(str(v), i) for i, v in enumerate(ts)], value=cell[2],
                                description=self.names[2], style={"description_width": "90px"})
        panels = [FigurePanel(plots.sweep_grid, dpi)]
        if curves is not None:
            panels.append(FigurePanel(plots.cell_losses, dpi))
        controls = [W.HBox([self.min_loss, self.max_ratio]), W.HBox([self.wd, self.hidden, self.train])]
        super().__init__(controls, panels)
        for w in (self.min_loss, self.max_ratio, self.wd, self.hidden, self.train):
            w.observe(self.redraw, names="value")
        self.redraw()

    @property
    def cell(self) -> tuple[int, int, int]:
        """(weight-decay, hidden, train) indices of the chosen cell."""
        return int(self.wd.value), int(self.hidden.value), int(self.train.value)

    def classes(self) -> np.ndarray:
        """Every run's class under the current thresholds."""
        return analysis.classify_arrays(*self.stats, min_loss=self.min_loss.value, max_ratio=self.max_ratio.value,
                                        diverged=self.diverged)

    def _draw(self) -> None:
        classes = self.classes()
        wds, hs, ts = self.axes_values
        self.panels[0].render(classes, wds, hs, ts, selected=self.cell)
        if self.curves is not None:
            w, h, t = self.cell
            steps, tr, te = self.curves
            mine = classes[w, h, t]
            counts = ", ".join(f"{int((mine == c).sum())} {c}" for c in analysis.CLASSES if (mine == c).any())
            short = {"weight decay": "wd", "hidden size": "hidden", "train size": "train"}
            where = ", ".join(f"{short.get(n, n)} {v:g}" if isinstance(v, float) else f"{short.get(n, n)} {v}"
                              for n, v in zip(self.names, (wds[w], hs[h], ts[t])))
            self.panels[1].render(steps, tr[w, h, t], te[w, h, t], title=f"{where}: {counts or 'not run yet'}")


def sweep_explorer(min_train_loss: np.ndarray, min_test_loss: np.ndarray, max_ratio: np.ndarray,
                   weight_decays: Sequence[float], hidden_sizes: Sequence[int], train_sizes: Sequence[int], *,
                   steps: np.ndarray | None = None, train_loss: np.ndarray | None = None,
                   test_loss: np.ndarray | None = None, diverged: np.ndarray | None = None,
                   cell: tuple[int, int, int] = (0, 0, 0), names: Sequence[str] = ("weight decay", "hidden size",
                                                                                   "train size"),
                   dpi: float = WIDGET_DPI, static: bool | None = None) -> SweepExplorer | Any:
    """Threshold sliders recolouring the sweep grid; menus choosing a cell show its runs' loss curves.

    Array contract (article loss scale, i.e. cross-entropy / number of classes):
    min_train_loss, min_test_loss, max_ratio: (n_weight_decays, n_hidden_sizes,
    n_train_sizes, n_seeds), one number per run (see :func:`grokkit.analysis.loss_stats`;
    NaN min_train_loss = not run yet); diverged: optional bool array of that shape (those
    runs fail); steps: (n_steps,); train_loss, test_loss: (n_weight_decays,
    n_hidden_sizes, n_train_sizes, n_seeds, n_steps), NaN where a run logged nothing.
    Without the curves only the grid is shown. :func:`sweep_explorer_for` fills all of
    this from a :class:`grokkit.sweep.SweepResults`.
    static (or GROKKIT_STATIC=1): an animation of the grid as the min-loss threshold moves.
    """
    stats = tuple(np.asarray(a, float) for a in (min_train_loss, min_test_loss, max_ratio))
    if not (stats[0].shape == stats[1].shape == stats[2].shape) or stats[0].ndim != 4:
        raise ValueError("min_train_loss, min_test_loss and max_ratio must share one shape "
                         "(n_weight_decays, n_hidden_sizes, n_train_sizes, n_seeds); got "
                         f"{[s.shape for s in stats]}")
    if diverged is not None and np.shape(diverged) != stats[0].shape:
        raise ValueError(f"diverged must have shape {stats[0].shape}; got {np.shape(diverged)}")
    axes = (list(weight_decays), list(hidden_sizes), list(train_sizes))
    curves = None
    if train_loss is not None or test_loss is not None:
        if steps is None or train_loss is None or test_loss is None:
            raise ValueError("give steps, train_loss and test_loss together (or none of them)")
        tr, te = np.asarray(train_loss, float), np.asarray(test_loss, float)
        want = stats[0].shape + (len(steps),)
        if tr.shape != want or te.shape != want:
            raise ValueError(f"train_loss and test_loss must have shape {want}; got {tr.shape} and {te.shape}")
        curves = (np.asarray(steps), tr, te)
    if _static(static):
        fig = plots.sweep_grid(analysis.classify_arrays(*stats, diverged=diverged), *axes)
        levels = [10.0 ** e for e in range(-8, 1)]

        def frame(level: float) -> None:
            """The grid at one min-loss threshold."""
            plots.sweep_grid(analysis.classify_arrays(*stats, min_loss=level, diverged=diverged), *axes, fig=fig)
            fig.suptitle(f"min loss threshold {level:.0e}")

        return plots.animation_html(fig, frame, levels, interval=600)
    return SweepExplorer(stats, axes, curves, cell, dpi, diverged=diverged, names=names)


def sweep_explorer_for(results: Any, *, cell: tuple[int, int, int] = (0, 0, 0), dpi: float = WIDGET_DPI,
                       static: bool | None = None) -> SweepExplorer | Any:
    """:func:`sweep_explorer` for a :class:`grokkit.sweep.SweepResults` with three axes.

    The grid's axes, in order, become the panels, the x axis and the y axis (for the
    explorable's parity sweep: weight_decay, hidden_size, n_train); seeds give the dots.
    Runs not done yet show as empty circles; nothing is retrained.
    """
    axes = results.grid.axes
    if len(axes) != 3:
        raise ValueError(f"sweep_explorer_for needs a grid with three axes; this one has {[n for n, _ in axes]}")
    tr, te = results.article_losses()
    done = np.asarray(results.done, bool)
    stats = np.full((3, len(done)), np.nan)
    for r in np.nonzero(done)[0]:
        s = analysis.loss_stats(tr[r], te[r])
        stats[:, r] = (s.min_train_loss, s.min_test_loss, s.max_ratio)
    grid = [results.as_grid(a) for a in stats]
    names = [n.replace("_", " ").replace("n train", "train size") for n, _ in axes]
    return sweep_explorer(*grid, *(list(v) for _, v in axes), steps=np.asarray(results.steps),
                          train_loss=results.as_grid(tr), test_loss=results.as_grid(te),
                          diverged=results.as_grid(np.asarray(results.diverged, bool) & done),
                          cell=cell, names=names, dpi=dpi, static=static)


class ConstructionExplorer(Explorer):
    """N, modulus, activation, a and b controls for the appendix construction."""

    def __init__(self, N: int, p: int, a: int, b: int, activation: str, offset: float, dpi: float):
        self.offset = offset
        self.N = W.IntSlider(value=N, min=1, max=12, description="neurons N", style={"description_width": "80px"})
        self.p = W.BoundedIntText(value=p, min=12, max=500, description="modulus p",
                                  style={"description_width": "80px"}, layout=W.Layout(width="180px"))
        self.activation = W.ToggleButtons(options=[("ReLU", "relu"), ("x²", "square")], value=activation,
                                          description="activation", style={"button_width": "60px"})
        self.a = W.IntSlider(value=a, min=0, max=p - 1, description="a", layout=W.Layout(width="360px"))
        self.b = W.IntSlider(value=b, min=0, max=p - 1, description="b", layout=W.Layout(width="360px"))
        super().__init__([W.HBox([self.N, self.p, self.activation]), W.HBox([self.a, self.b])],
                         [FigurePanel(plots.construction, dpi)])
        for w in (self.N, self.activation, self.a, self.b):
            w.observe(self.redraw, names="value")
        self.p.observe(self._on_modulus, names="value")
        self.redraw()

    def _on_modulus(self, change: Any) -> None:
        """A new modulus: clamp a and b into 0..p-1 first, then redraw once."""
        p = int(self.p.value)
        self._hold = True
        try:
            for s in (self.a, self.b):
                s.value = min(s.value, p - 1)
                s.max = p - 1
        finally:
            self._hold = False
        self.redraw()

    def _draw(self) -> None:
        self.panels[0].render(int(self.N.value), int(self.p.value), int(self.a.value), int(self.b.value),
                              self.activation.value, self.offset)


def construction_explorer(N: int = 5, p: int = 67, a: int = plots.DEFAULT_A, b: int = plots.DEFAULT_B,
                          activation: str = "relu", offset: float = 0.0, *, dpi: float = WIDGET_DPI,
                          static: bool | None = None) -> ConstructionExplorer | Any:
    """Controls for N (neurons), the modulus, the activation, a and b of the appendix construction.

    static (or GROKKIT_STATIC=1): an animation over N = 3..10 at this modulus and activation.
    """
    if _static(static):
        fig = plots.construction(3, p, a, b, activation, offset)
        return plots.animation_html(fig, lambda n: plots.construction(n, p, a, b, activation, offset, fig=fig),
                                    list(range(3, 11)), interval=900)
    return ConstructionExplorer(N, p, a, b, activation, offset, dpi)


def _row_of_seed(results: Any, seed: int) -> int:
    """The results row of a finished seed; ValueError listing some finished seeds otherwise."""
    rows = np.nonzero(np.asarray(results.done, bool) & (np.asarray(results.seeds) == seed))[0]
    if len(rows) == 0:
        done = [int(s) for s in np.asarray(results.seeds)[np.asarray(results.done, bool)][:8]]
        raise ValueError(f"seed = {seed!r} is not a finished seed of {results.name!r}: finished are {done}, ...")
    return int(rows[0])


def _seed_run(results: Any, runs: dict[int, Run], seed: int, device: str) -> tuple[Run, str]:
    """The run of ``seed``: from ``runs``, or trained again (and added to ``runs``); and a status line."""
    r = _row_of_seed(results, seed)
    note = "in hand, not retrained"
    if seed not in runs:
        from .sweep import retrain     # shipped results keep only the final W_in and the curves
        t = time.perf_counter()
        runs[seed] = retrain(results, [r], device=device)[0]
        note = f"recomputed in {time.perf_counter() - t:.1f} s ({results.config(r).steps:,} steps)"
    run = runs[seed]
    diff = float(np.abs(run.W_in[-1] - results.W_in[r]).max())
    return run, (f"<b>seed {seed}</b>: {note}; final test accuracy {run.metrics['test_acc'][-1]:.1%} "
                 f"(shipped {results.test_acc[r]:.1%}); largest difference from the shipped W_in {diff:.2g}")


SEED_FIGURES = (plots.waves, plots.dft, plots.frequency_stars, plots.logits)


class SeedExplorer(Explorer):
    """A seed menu over a seed sweep: the chosen seed's waves, DFT, stars and logits (figure 19 into 14-18)."""

    def __init__(self, results: Any, runs: dict[int, Run], seed: int, device: str, dpi: float):
        self.results, self.runs, self.device = results, runs, device
        rows = np.nonzero(np.asarray(results.done, bool))[0]
        options = [(_seed_label(results, r), int(results.seeds[r])) for r in rows]
        self.menu = W.Dropdown(options=options, value=seed, description="seed", layout=W.Layout(width="460px"))
        self.button = W.Button(description="open this seed", button_style="primary")
        self.status = W.HTML()
        super().__init__([W.HBox([self.menu, self.button]), self.status],
                         [FigurePanel(f, dpi) for f in SEED_FIGURES])
        self.button.on_click(lambda _: self.show_seed(int(self.menu.value)))
        self.seed = seed
        self.show_seed(seed)

    def show_seed(self, seed: int) -> Run:
        """Show ``seed``'s figures, training its run first (timed) unless it is in hand; returns the run."""
        if seed not in self.runs:
            self.status.value = f"training seed {seed} ..."
        run, self.status.value = _seed_run(self.results, self.runs, int(seed), self.device)
        self.seed = int(seed)
        self.redraw()
        return run

    def _draw(self) -> None:
        for panel in self.panels:
            panel.render(self.runs[self.seed])


def _seed_label(results: Any, r: int) -> str:
    """A menu entry: the seed, its final test accuracy and key frequencies."""
    freqs = ", ".join(map(str, results.key_frequencies(r))) or "none"
    return f"seed {int(results.seeds[r])}: test accuracy {results.test_acc[r]:.0%}, frequencies {freqs}"


def seed_explorer(results: Any, seed: int | None = None, *, runs: dict[int, Run] | None = None,
                  device: str = "cpu", dpi: float = WIDGET_DPI, static: bool | None = None) -> SeedExplorer | Any:
    """Open any seed of a seed sweep (e.g. ``grokkit.sweep.load("modadd_seeds")``) in the Fourier figures.

    A menu lists the finished seeds with their test accuracy and key frequencies; "open this
    seed" shows its waves, DFT, frequency stars and logits. Shipped results keep only each
    seed's final W_in and curves, so a seed is trained again (``grokkit.sweep.retrain``; the
    time is shown) unless ``runs`` ({seed: Run}, e.g. the notebook's own run of seed 0) holds
    it; opened seeds are added to ``runs``. seed: shown first (default: the first of ``runs``,
    else the first finished seed). static (or GROKKIT_STATIC=1): that seed's four figures as images.
    """
    if "W_in" not in getattr(results, "arrays", {}):
        raise ValueError("seed_explorer needs a seed sweep that keeps weights (Grid.keep_weights), "
                         "such as grokkit.sweep.load('modadd_seeds')")
    runs = {} if runs is None else runs
    for s, run in runs.items():
        want = results.config(_row_of_seed(results, s))
        if replace(run.config, log_every=want.log_every, save_every=want.save_every) != want:
            raise ValueError(f"runs[{s}] was trained with another config than seed {s} of {results.name!r}")
    if seed is None:
        finished = np.asarray(results.seeds)[np.asarray(results.done, bool)]
        seed = next(iter(runs), int(finished[0]) if len(finished) else None)
    _row_of_seed(results, seed)
    if _static(static):
        from IPython.display import HTML
        run, status = _seed_run(results, runs, int(seed), device)
        images = "".join(f'<img src="data:image/png;base64,{base64.b64encode(plots.to_png(f(run))).decode()}" '
                         'style="max-width:100%"/>' for f in SEED_FIGURES)
        return HTML(f"<p>{status} (a static page: run the notebook to open another seed)</p>{images}")
    return SeedExplorer(results, runs, int(seed), device, dpi)

__all__ = [
    "STATIC_ENV", "WIDGET_DPI", "static_mode", "FigurePanel", "Explorer", "Scrubber", "scrubber",
    "LogitExplorer", "logit_explorer", "SweepExplorer", "sweep_explorer", "sweep_explorer_for",
    "ConstructionExplorer", "construction_explorer", "SeedExplorer", "seed_explorer", "SEED_FIGURES",
]
