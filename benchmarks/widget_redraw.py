"""How long one slider move takes to redraw each grokkit widget (target: < 150 ms).

    .venv/bin/python benchmarks/widget_redraw.py [--moves 12] [--cache DIR]

Trains three small runs with the explorable's shapes (p = 67, 24 neurons, 101 snapshots;
parity with 128 neurons and 201 snapshots; five neurons), builds every widget, moves its
control ``--moves`` times and prints the median wall-clock and CPU time of one redraw:
the plot function's update plus the PNG sent to the browser. CPU time is this process's
own, so it stays meaningful on a machine shared with other jobs; wall time is what a
learner waits for on an idle machine when the two agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from functools import partial

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets  # noqa: E402
import numpy as np  # noqa: E402

import grokkit  # noqa: E402
from grokkit import plots, widgets  # noqa: E402


def train_runs(cache: str | None = None) -> dict[str, grokkit.Run]:
    """Runs with the figures' real shapes, short enough to train in seconds (kept in ``cache`` if given)."""
    cfgs = {
        "modadd": replace(grokkit.PAIR_MODADD, embed_size=64, lr=3e-3, steps=4000, log_every=40, save_every=40),
        "parity": replace(grokkit.PAIR_PARITY, steps=2000, save_every=10),
        "five": replace(grokkit.PAIR_FIVE_NEURON, steps=3000),
    }
    runs = {}
    for name, cfg in cfgs.items():
        path = os.path.join(cache, f"bench_{name}") if cache else None
        if path and os.path.exists(path + ".npz"):
            runs[name] = grokkit.Run.load(path)
            if runs[name].config == cfg:
                continue
        t = time.perf_counter()
        runs[name] = grokkit.train(cfg, progress=False)
        print(f"trained {name:7s} in {time.perf_counter() - t:5.1f} s: {runs[name]!r}", file=sys.stderr)
        if path:
            runs[name].save(path)
    return runs


def sweep_arrays(seed: int = 0) -> dict:
    """A synthetic 5 x 5 x 5 x 9 sweep (statistics and loss curves) with the explorable's axes."""
    rng = np.random.default_rng(seed)
    shape = (5, 5, 5, 9)
    steps = np.arange(0, 20_001, 100)
    final = 10.0 ** rng.uniform(-9, -1, shape + (1,))
    tr = 0.01 * (final / 0.01) ** np.minimum(steps / rng.uniform(500, 5000, shape + (1,)), 1.0)
    te = 0.01 * (final / 0.01) ** np.minimum(steps / rng.uniform(500, 20_000, shape + (1,)), 1.0)
    with np.errstate(divide="ignore"):
        ratio = np.nanmax(te / tr, axis=-1)
    return dict(min_train_loss=tr.min(-1), min_test_loss=te.min(-1), max_ratio=ratio,
                weight_decays=[0.01, 0.03, 0.1, 0.3, 1.0], hidden_sizes=[16, 32, 64, 128, 258],
                train_sizes=[750, 1000, 1250, 1500, 1750], steps=steps, train_loss=tr, test_loss=te)


def measure(name: str, widget: widgets.Explorer, moves: list) -> tuple[str, float, float]:
    """Apply each move (a callable changing a control) and return median wall and CPU ms."""
    wall, cpu = [], []
    for i, move in enumerate(moves):
        move()
        if i >= 1:                       # the first move builds caches (layout freeze etc.)
            wall.append(widget.last_redraw_s)
            cpu.append(widget.last_redraw_cpu_s)
    return name, 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def slider_moves(slider, n: int, adjacent: bool = False) -> list:
    """n moves of a slider: jumps spread over its whole range, or (adjacent) one notch at a time
    from the top, as a drag does. Log sliders move in their exponent."""
    lo, hi = slider.min, slider.max
    if adjacent:
        notch = slider.step
        values = [hi - notch * (i + 1) for i in range(n)]
    else:
        values = list(np.linspace(lo, hi, n + 1)[::-1][1:])
    if isinstance(slider, ipywidgets.FloatLogSlider):
        values = [slider.base ** v for v in values]
    elif isinstance(slider, ipywidgets.IntSlider):
        values = [int(round(v)) for v in values]
    return [partial(setattr, slider, "value", v) for v in values]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=12)
    ap.add_argument("--cache", help="folder to keep the trained runs in between invocations")
    args = ap.parse_args()
    n = args.moves
    runs = train_runs(args.cache)
    m, par, five = runs["modadd"], runs["parity"], runs["five"]
    rows = []
    for fn in (plots.curves, plots.weights, plots.waves, plots.dft, plots.frequency_stars):
        w = widgets.scrubber(m, fn, static=False)
        rows.append(measure(f"scrubber({fn.__name__}) modadd: drag", w, slider_moves(w.slider, n, True)))
    for fn in (plots.curves, plots.parity_weights, plots.parity_trajectories):
        w = widgets.scrubber(par, fn, static=False)
        rows.append(measure(f"scrubber({fn.__name__}) parity: drag", w, slider_moves(w.slider, n, True)))
    for fn in (plots.five_neuron_weights, partial(plots.five_neuron_circles, connect=True)):
        w = widgets.scrubber(five, fn, static=False)
        name = getattr(fn, "__name__", None) or fn.func.__name__ + "(connect)"
        rows.append(measure(f"scrubber({name}) five: drag", w, slider_moves(w.slider, n, True)))
        rows.append(measure(f"scrubber({name}) five: jumps", w, slider_moves(w.slider, n)))
    w = widgets.scrubber(m, plots.curves, plots.weights, plots.dft, static=False)
    rows.append(measure("scrubber(curves+weights+dft): drag", w, slider_moves(w.slider, n, True)))
    rows.append(measure("scrubber(curves+weights+dft): jumps", w, slider_moves(w.slider, n)))
    w = widgets.logit_explorer(m, static=False)
    rows.append(measure("logit_explorer: move a", w, slider_moves(w.a, n)))
    rows.append(measure("logit_explorer: drag step", w, slider_moves(w.slider, n, True)))
    rows.append(measure("logit_explorer: step jumps", w, slider_moves(w.slider, n)))
    sw = sweep_arrays()
    w = widgets.sweep_explorer(**sw, static=False)
    rows.append(measure("sweep_explorer: min-loss slider", w, slider_moves(w.min_loss, n)))
    rows.append(measure("sweep_explorer: ratio slider", w, slider_moves(w.max_ratio, n)))
    rows.append(measure("sweep_explorer: choose cell", w,
                        [partial(setattr, w.hidden, "value", i % 5) for i in range(1, n + 1)]))
    w = widgets.construction_explorer(static=False)
    rows.append(measure("construction_explorer: move a", w, slider_moves(w.a, n)))
    rows.append(measure("construction_explorer: change N", w,
                        [partial(setattr, w.N, "value", 3 + i % 8) for i in range(1, n + 1)]))
    w.p.value = 500
    rows.append(measure("construction_explorer: a at p=500", w, slider_moves(w.a, n)))

    print(f"\n{'widget and control':46s} {'wall ms':>8s} {'CPU ms':>8s}")
    for name, wall, cpu in rows:
        flag = "" if cpu < 150 else "  <- over 150 ms"
        print(f"{name:46s} {wall:8.0f} {cpu:8.0f}{flag}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, load average {load:.1f}; medians of {n - 1} moves after one warm-up move")


if __name__ == "__main__":
    main()
