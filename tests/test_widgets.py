"""grokkit.widgets: controls redraw their figures; static fallbacks are short animations."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import ipywidgets as W
import numpy as np
import pytest
from IPython.display import HTML

import grokkit
from grokkit import analysis, plots, widgets


@pytest.fixture(scope="module")
def mod() -> grokkit.Run:
    """A 300-step modular-addition run (p = 23, 8 neurons, 7 snapshots)."""
    cfg = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=300, log_every=10, save_every=50)
    return grokkit.train(cfg, progress=False)


@pytest.fixture(autouse=True)
def interactive(monkeypatch):
    """Tests see widgets unless they ask for the static fallback."""
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)


def _sweep(seed: int = 0, n_steps: int = 30) -> dict:
    """A small synthetic sweep in the array contract of sweep_explorer."""
    rng = np.random.default_rng(seed)
    shape = (3, 2, 2, 9)
    steps = np.arange(n_steps) * 100
    tr = 10.0 ** -rng.uniform(0, 9, shape + (n_steps,))
    te = 10.0 ** -rng.uniform(0, 9, shape + (n_steps,))
    return dict(min_train_loss=tr.min(-1), min_test_loss=te.min(-1), max_ratio=(te / tr).max(-1),
                weight_decays=[0.01, 0.1, 1.0], hidden_sizes=[16, 32], train_sizes=[750, 1000],
                steps=steps, train_loss=tr, test_loss=te)


def test_static_mode_reads_the_environment(monkeypatch):
    assert not widgets.static_mode()
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert widgets.static_mode()
    monkeypatch.setenv(widgets.STATIC_ENV, "0")
    assert not widgets.static_mode()


def test_scrubber_drives_every_figure_in_sync(mod):
    w = widgets.scrubber(mod, plots.curves, plots.weights)
    assert isinstance(w, widgets.Scrubber) and isinstance(w, W.VBox)
    assert w.slider.max == len(mod.snapshot_steps) - 1 and w.slider.value == w.slider.max
    assert isinstance(w.play, W.Play) and (w.play.min, w.play.max) == (w.slider.min, w.slider.max)
    assert w.step == 300 and w.label.value == "step 300"
    before = [bytes(img.value) for img in w.images]
    assert all(v.startswith(b"\x89PNG") for v in before)
    w.slider.value = 2
    assert w.step == 100 and w.label.value == "step 100"
    after = [bytes(img.value) for img in w.images]
    assert all(a != b for a, b in zip(after, before))
    assert "step 100" in w.figures[1].get_suptitle()
    assert list(w.figures[0].axes[0].get_lines()[2].get_xdata()) == [100, 100]
    assert w.last_redraw_s > 0 and w.last_redraw_cpu_s >= 0
    assert w.children[1] is w.images[0] and w.children[2] is w.images[1]


def test_scrubber_starts_at_a_chosen_step_and_takes_options(mod):
    w = widgets.scrubber(mod, partial(plots.weights, sort=False), start=120)
    assert w.step == 100
    np.testing.assert_array_equal(w.figures[0].axes[0].images[0].get_array(), mod.W_in[2])


def test_scrubber_defaults_to_the_curves(mod):
    w = widgets.scrubber(mod)
    assert len(w.figures) == 1 and w.figures[0].axes[0].get_ylabel() == "accuracy"


def test_scrubber_static_fallback_is_a_short_animation(mod, monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    html = widgets.scrubber(mod, plots.curves, plots.weights, frames=3)
    assert isinstance(html, HTML)
    assert html.data.count("data:image/png;base64") == 6 and html.data.count("<script") >= 2
    assert isinstance(widgets.scrubber(mod, plots.curves, static=False), widgets.Scrubber)


def test_logit_explorer_a_b_and_step(mod):
    w = widgets.logit_explorer(mod, a=3, b=5)
    assert (w.a.value, w.b.value, w.a.max) == (3, 5, 22)
    fig = w.figures[0]
    assert "a = 3, b = 5" in fig.get_suptitle()
    first = bytes(w.images[0].value)
    w.a.value = 10
    assert "a = 10, b = 5" in fig.get_suptitle() and bytes(w.images[0].value) != first
    second = bytes(w.images[0].value)
    w.slider.value = 0
    assert "step 0" in fig.get_suptitle() and bytes(w.images[0].value) != second
    assert w.figures[0] is fig


def test_logit_explorer_static_and_wrong_task(mod):
    html = widgets.logit_explorer(mod, static=True, frames=2)
    assert html.data.count("data:image/png;base64") == 2
    par = grokkit.train(replace(grokkit.PAIR_PARITY, hidden_size=4, steps=10), progress=False)
    with pytest.raises(ValueError, match="modular-addition"):
        widgets.logit_explorer(par)


def test_sweep_explorer_thresholds_recolour_the_grid():
    sw = _sweep()
    w = widgets.sweep_explorer(**sw)
    assert len(w.images) == 2
    want = analysis.classify_arrays(sw["min_train_loss"], sw["min_test_loss"], sw["max_ratio"])
    np.testing.assert_array_equal(w.classes(), want)
    grid = bytes(w.images[0].value)
    w.min_loss.value = 1e-8
    assert bytes(w.images[0].value) != grid
    np.testing.assert_array_equal(w.classes(), analysis.classify_arrays(
        sw["min_train_loss"], sw["min_test_loss"], sw["max_ratio"], min_loss=1e-8))
    assert (w.classes() != want).any()
    w.min_loss.value = 1.0
    w.max_ratio.value = 1e8
    assert set(np.unique(w.classes())) <= {"generalize", "grok"}


def test_sweep_explorer_cell_menus_show_its_loss_curves():
    sw = _sweep()
    w = widgets.sweep_explorer(**sw, cell=(1, 0, 1))
    ax = w.figures[1].axes[0]
    assert ax.get_title().startswith("wd 0.1, hidden 16, train 1000:")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.clip(sw["train_loss"][1, 0, 1, 0], 1e-8, 1))
    before = bytes(w.images[1].value)
    w.hidden.value = 1
    assert w.cell == (1, 1, 1)
    assert w.figures[1].axes[0].get_title().startswith("wd 0.1, hidden 32, train 1000:")
    assert bytes(w.images[1].value) != before
    classes = w.classes()[1, 1, 1]
    for c in analysis.CLASSES:
        if (classes == c).any():
            assert f"{int((classes == c).sum())} {c}" in w.figures[1].axes[0].get_title()
    boxes = [p for p in w.figures[0].axes[1].patches if p.get_visible()]
    assert len(boxes) == 1 and boxes[0].get_xy() == (0.5, 0.5)


def test_sweep_explorer_checks_the_array_contract():
    sw = _sweep()
    with pytest.raises(ValueError, match="share one shape"):
        widgets.sweep_explorer(**{**sw, "max_ratio": sw["max_ratio"][0]})
    with pytest.raises(ValueError, match="together"):
        widgets.sweep_explorer(**{**sw, "test_loss": None})
    with pytest.raises(ValueError, match="must have shape"):
        widgets.sweep_explorer(**{**sw, "train_loss": sw["train_loss"][..., :5]})
    grid_only = {k: v for k, v in sw.items() if k not in ("steps", "train_loss", "test_loss")}
    assert len(widgets.sweep_explorer(**grid_only).images) == 1


def test_sweep_explorer_static_animates_the_threshold():
    sw = _sweep()
    html = widgets.sweep_explorer(**sw, static=True)
    assert html.data.count("data:image/png;base64") == 9


def test_construction_explorer_controls():
    w = widgets.construction_explorer()
    fig = w.figures[0]
    assert "5 neurons, modulus 67, ReLU" in fig.get_suptitle()
    assert "100% right" in fig.axes[3].get_title()
    first = bytes(w.images[0].value)
    w.N.value = 4
    assert "4 neurons" in w.figures[0].get_suptitle() and "3% right" in w.figures[0].axes[3].get_title()
    assert bytes(w.images[0].value) != first
    w.activation.value = "square"
    assert "x²" in w.figures[0].get_suptitle()
    w.a.value = 60
    calls = []
    w.panels[0].draw = lambda *a, **k: calls.append(a) or plots.construction(*a, **k)
    w.p.value = 13
    assert (w.a.max, w.a.value, w.b.value) == (12, 12, 12)
    assert len(calls) == 1 and calls[0][:4] == (4, 13, 12, 12)


def test_construction_explorer_static_runs_through_n():
    html = widgets.construction_explorer(p=23, static=True)
    assert html.data.count("data:image/png;base64") == 8


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """A real 2 x 2 x 2 x 2 parity sweep of 60-step runs, half of it done."""
    from grokkit import sweep
    base = grokkit.ParityConfig(n_bits=8, k=3, n_train=80, n_test=100, hidden_size=8, regularizer="l2",
                                weight_decay=0.1, lr=3e-2, beta1=0.9, beta2=0.98, steps=60, log_every=10,
                                save_every=0, seed=0)
    grid = sweep.Grid(name="widget_test", base=base, axes=(("weight_decay", (0.01, 1.0)), ("hidden_size", (8, 16)),
                                                          ("n_train", (80, 120))),
                      n_seeds=2, batch_by=("hidden_size", "n_train"))
    return sweep.run_sweep(grid, tmp_path_factory.mktemp("sweep") / "widget_test", progress=False, max_batches=2)


def test_sweep_explorer_for_reads_sweep_results(tiny_sweep):
    res = tiny_sweep
    assert 0 < res.n_done < res.n_runs
    w = widgets.sweep_explorer_for(res)
    assert w.wd.description == "weight decay" and w.hidden.description == "hidden size"
    assert w.train.description == "train size"
    classes = w.classes()
    assert classes.shape == (2, 2, 2, 2)
    want = res.as_grid(res.classes())
    np.testing.assert_array_equal(classes, want)       # '' for runs not done yet, same classes otherwise
    assert (classes == "").sum() == res.n_runs - res.n_done
    dots = w.figures[0].axes[0].collections[0]
    assert len(dots.get_offsets()) == 2 * 2 * 2
    tr, _ = res.article_losses()
    w.wd.value, w.hidden.value, w.train.value = 0, 0, 0
    first_done = np.nonzero(res.as_grid(res.done)[0, 0, 0])[0]
    if len(first_done):
        line = w.figures[1].axes[0].get_lines()[first_done[0]]
        np.testing.assert_allclose(line.get_ydata(), np.clip(res.as_grid(tr)[0, 0, 0, first_done[0]], 1e-8, 1))


def test_plots_seed_grid_reads_seed_sweep_results(tmp_path):
    from grokkit import sweep
    base = grokkit.ModAddConfig(p=13, train_fraction=0.6, embed_size=16, hidden_size=6, lr=1e-2, steps=40,
                                log_every=10, save_every=0)
    grid = sweep.Grid(name="seed_test", base=base, n_seeds=3, keep_weights=True)
    res = sweep.run_sweep(grid, tmp_path / "seed_test", progress=False)
    fig = plots.seed_grid(res, ncols=3)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    assert [ax.get_title().replace("\n", " ") for ax in axes] == [plots.freqs_title(res.W_in[r]) for r in range(3)]
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), np.clip(res.article_losses()[0][0], 1e-8, 1))


@pytest.fixture(scope="module")
def seed_sweep(tmp_path_factory):
    """The demo seed sweep (4 seeds of an 800-step p = 31 model), run for real."""
    from grokkit import sweep
    return sweep.run_sweep("demo_seeds", tmp_path_factory.mktemp("seeds") / "demo_seeds", progress=False)


def test_seed_explorer_recomputes_a_seed_it_does_not_hold_and_shows_its_figures(seed_sweep):
    w = widgets.seed_explorer(seed_sweep, seed=1)
    assert w.seed == 1 and set(w.runs) == {1}
    assert "recomputed in" in w.status.value and "seed 1" in w.status.value
    # the recomputed run is the shipped one: same final W_in (stored as float32)
    np.testing.assert_allclose(w.runs[1].W_in[-1], seed_sweep.W_in[1], rtol=1e-5, atol=1e-6)
    assert len(w.images) == 4 and all(img.value for img in w.images)
    before = [bytes(img.value) for img in w.images]
    w.menu.value = 2
    w.button.click()
    assert w.seed == 2 and set(w.runs) == {1, 2}
    assert [bytes(img.value) for img in w.images] != before


def test_seed_explorer_uses_runs_in_hand_without_training(seed_sweep, monkeypatch):
    from grokkit import sweep
    run0 = grokkit.train(replace(seed_sweep.config(0), save_every=400), progress=False)
    monkeypatch.setattr(sweep, "retrain", lambda *a, **k: pytest.fail("retrained a run in hand"))
    w = widgets.seed_explorer(seed_sweep, runs={0: run0})
    assert w.seed == 0 and "not retrained" in w.status.value
    with pytest.raises(ValueError, match="another config"):
        widgets.seed_explorer(seed_sweep, runs={1: run0})
    with pytest.raises(ValueError, match="not a finished seed"):
        widgets.seed_explorer(seed_sweep, seed=99, runs={0: run0})


def test_seed_explorer_static_shows_one_seeds_four_figures(seed_sweep, monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    out = widgets.seed_explorer(seed_sweep, seed=3)
    assert isinstance(out, HTML) and out.data.count("<img") == 4 and "seed 3" in out.data


def test_seed_explorer_needs_stored_weights(tiny_sweep):
    with pytest.raises(ValueError, match="keeps weights"):
        widgets.seed_explorer(tiny_sweep)
