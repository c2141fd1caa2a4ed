"""grokkit.plots: every figure rendered from short real runs, its axes and data checked."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import colors as mcolors
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import grokkit
from grokkit import analysis, construction, fourier, plots


@pytest.fixture(scope="module")
def mod() -> grokkit.Run:
    """A 300-step modular-addition run (p = 23, 8 neurons, 7 snapshots)."""
    cfg = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=300, log_every=10, save_every=50)
    return grokkit.train(cfg, progress=False)


@pytest.fixture(scope="module")
def par() -> grokkit.Run:
    """A 200-step sparse-parity run with 16 neurons."""
    return grokkit.train(replace(grokkit.PAIR_PARITY, hidden_size=16, steps=200), progress=False)


@pytest.fixture(scope="module")
def five() -> grokkit.Run:
    """The five-neuron model on the fixed circular embedding, 600 steps."""
    return grokkit.train(replace(grokkit.PAIR_FIVE_NEURON, steps=600), progress=False)


def _mid(run) -> int:
    """A snapshot step in the middle of a run."""
    return int(run.snapshot_steps[len(run.snapshot_steps) // 2])


def _color(c) -> str:
    """A colour as lower-case #rrggbb."""
    return mcolors.to_hex(c).lower()


def _bars(ax, i: int = 0) -> tuple[np.ndarray, list[str]]:
    """(heights, colours) of the i-th bar collection of an axes."""
    coll = [c for c in ax.collections if isinstance(c, PolyCollection)][i]
    heights = np.array([path.vertices[1, 1] for path in coll.get_paths()])
    return heights, [_color(c) for c in coll.get_facecolors()]


def _png_ok(fig: Figure) -> bytes:
    """Render the figure and check it is a real PNG."""
    png = plots.to_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    return png


# ---------------------------------------------------------------- plumbing

def test_to_png_renders_at_the_requested_dpi_and_keeps_the_figures_dpi():
    fig = plots.new_figure((4.0, 2.0))
    fig.subplots().plot([0, 1], [0, 1])
    from PIL import Image
    import io
    small = Image.open(io.BytesIO(plots.to_png(fig, dpi=50)))
    big = Image.open(io.BytesIO(plots.to_png(fig, dpi=100)))
    assert small.size == (200, 100) and big.size == (400, 200)
    assert fig.dpi == 100


def test_plot_functions_leave_no_pyplot_figures_open(mod, par, five):
    before = set(plt.get_fignums())
    plots.curves(mod, 100)
    plots.weights(mod, 100)
    plots.parity_weights(par, 100)
    plots.five_neuron_circles(five, 300, connect=True)
    plots.construction(5, 67)
    assert set(plt.get_fignums()) == before


# ---------------------------------------------------------------- curves

def test_accuracy_curves_marker_and_labels(mod):
    step = 150
    fig = plots.accuracy(mod, step)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "accuracy"
    train, test = ax.get_lines()[:2]
    assert _color(train.get_color()) == plots.TRAIN_COLOR.lower()
    assert _color(test.get_color()) == plots.TEST_COLOR.lower()
    np.testing.assert_array_equal(train.get_ydata(), mod.metrics["train_acc"])
    vline = ax.get_lines()[2]
    assert list(vline.get_xdata()) == [step, step] and vline.get_visible()
    i = mod.log_index(step)
    assert f"step {step:,}" in ax.get_title() and f"train {mod.metrics['train_acc'][i]:.0%}" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]
    _png_ok(fig)


def test_accuracy_without_a_step_hides_the_marker(mod):
    ax = plots.accuracy(mod).axes[0]
    assert not ax.get_lines()[2].get_visible()


def test_parity_accuracy_axis_starts_near_chance(par):
    ax = plots.accuracy(par, 100).axes[0]
    assert 0.4 < ax.get_ylim()[0] < 0.45


def test_loss_is_log_scale_on_the_article_scale(mod):
    fig = plots.loss(mod, 100)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "log loss" and ax.get_xlabel() == "step"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), mod.metrics["train_loss"] / mod.config.p)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), mod.metrics["test_loss"] / mod.config.p)
    raw = plots.loss(mod, 100, article_scale=False).axes[0]
    np.testing.assert_allclose(raw.get_lines()[0].get_ydata(), mod.metrics["train_loss"])


def test_curves_has_accuracy_and_loss_panels(mod):
    fig = plots.curves(mod, 200)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylabel() == "accuracy" and fig.axes[1].get_yscale() == "log"
    assert all(list(ax.get_lines()[2].get_xdata()) == [200, 200] for ax in fig.axes)
    _png_ok(fig)


def test_curves_draw_into_given_axes(mod):
    fig = plots.new_figure((8, 3))
    a1, a2 = fig.subplots(1, 2)
    assert plots.accuracy(mod, 50, ax=a1) is fig
    assert plots.loss(mod, 50, ax=a2) is fig
    assert a1.get_ylabel() == "accuracy" and a2.get_yscale() == "log"


# ---------------------------------------------------------------- weights, waves

def test_weights_heatmaps_at_a_step(mod):
    step = _mid(mod)
    fig = plots.weights(mod, step)
    ax_in, ax_out, cbar = fig.axes
    assert len(fig.axes) == 3
    order = fourier.neuron_order(mod.W_in[-1])
    W_in, W_out = mod.weights_at(step)
    np.testing.assert_array_equal(ax_in.images[0].get_array(), W_in[:, order])
    np.testing.assert_array_equal(ax_out.images[0].get_array(), W_out[order].T)
    im = ax_in.images[0]
    assert im.get_cmap().name == plots.WEIGHT_CMAP
    lo, hi = im.get_clim()
    assert lo == -hi and hi > 0
    assert "neuron" in ax_in.get_xlabel() and "input" in ax_in.get_ylabel()
    assert ax_in.get_title().startswith("W_in") and ax_out.get_title().startswith("W_out")
    assert cbar.get_ylabel() == "weight"
    assert f"step {step:,}" in fig.get_suptitle()
    assert [t.get_text() for t in ax_in.get_xticklabels()] == [str(i) for i in order]
    _png_ok(fig)


def test_weights_unsorted_keeps_neuron_order(mod):
    ax_in = plots.weights(mod, 0, sort=False, vmax=2.0).axes[0]
    np.testing.assert_array_equal(ax_in.images[0].get_array(), mod.W_in[0])
    assert ax_in.images[0].get_clim() == (-2.0, 2.0)


def test_redraw_reuses_the_figure_and_its_artists(mod):
    fig = plots.weights(mod, 0)
    im = fig.axes[0].images[0]
    first = np.array(im.get_array())
    assert plots.weights(mod, 300, fig=fig) is fig
    assert fig.axes[0].images[0] is im
    assert not np.array_equal(first, im.get_array())
    np.testing.assert_array_equal(im.get_array(), mod.W_in[-1][:, fourier.neuron_order(mod.W_in[-1])])
    # other options: the figure is cleared and rebuilt
    plots.weights(mod, 300, sort=False, fig=fig)
    assert fig.axes[0].images[0] is not im and len(fig.axes) == 3


def test_redrawn_figure_freezes_its_layout_after_the_first_render(mod):
    fig = plots.curves(mod, 0)
    plots.to_png(fig)
    plots.curves(mod, 100, fig=fig)
    assert not isinstance(fig.get_layout_engine(), matplotlib.layout_engine.ConstrainedLayoutEngine)
    before = plots.to_png(fig)
    plots.curves(mod, 300, fig=fig)
    assert plots.to_png(fig) != before


def test_a_figure_can_switch_to_another_plot(mod):
    fig = plots.weights(mod, 0)
    plots.curves(mod, 0, fig=fig)
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "accuracy"


def test_weights_refuse_a_parity_run(par):
    with pytest.raises(ValueError, match="modular-addition"):
        plots.weights(par, 0)


def test_waves_group_neurons_by_final_key_frequency(mod):
    step = _mid(mod)
    fig = plots.waves(mod, step, max_groups=3)
    groups = fourier.frequency_groups(mod.W_in[-1])
    kept = sorted(sorted(groups, key=lambda k: (-len(groups[k]), k))[:3])
    assert len(fig.axes) == 2 * len(kept)
    left = fig.axes[0::2]
    assert [ax.get_ylabel().split("\n")[0] for ax in left] == [f"freq {k}" for k in kept]
    W_in, W_out = mod.weights_at(step)
    first = groups[kept[0]]
    for line, n in zip(fig.axes[0].get_lines(), first):
        np.testing.assert_array_equal(line.get_ydata(), W_in[:, n])
    for line, n in zip(fig.axes[1].get_lines(), first):
        np.testing.assert_array_equal(line.get_ydata(), W_out[n, :])
    assert fig.axes[-2].get_xlabel() == "input x" and fig.axes[-1].get_xlabel() == "output c"
    assert fig.axes[0].get_title().startswith("W_in") and fig.axes[1].get_title().startswith("W_out")
    _png_ok(fig)


# ---------------------------------------------------------------- Fourier

def test_dft_heatmaps_show_fourier_coefficients(mod):
    step = _mid(mod)
    fig = plots.dft(mod, step)
    assert len(fig.axes) == 3
    order = fourier.neuron_order(mod.W_in[-1])
    W_in, W_out = mod.weights_at(step)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), fourier.dft_in(W_in)[:, order].T)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), fourier.dft_out(W_out)[:, order].T)
    assert "frequency" in fig.axes[1].get_xlabel()
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels[0] == "1" and all(lab.isdigit() for lab in labels)
    assert fig.axes[0].get_ylabel() == "neuron"
    assert fig.axes[2].get_ylabel() == "Fourier coefficient"
    _png_ok(fig)


def test_frequency_stars_plot_cos_sin_coefficients(mod):
    step = int(mod.snapshot_steps[-1])
    fig = plots.frequency_stars(mod, step, max_groups=2)
    groups = fourier.frequency_groups(mod.W_in[-1])
    kept = sorted(sorted(groups, key=lambda k: (-len(groups[k]), k))[:2])
    assert len(fig.axes) == 2 * len(kept)
    k = kept[0]
    coef = fourier.dft_in(mod.W_in[-1])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               np.stack([coef[2 * k - 1, groups[k]], coef[2 * k, groups[k]]], axis=1))
    assert ax.get_title() == f"W_in, frequency {k}"
    assert fig.axes[len(kept)].get_title() == f"W_out, frequency {k}"
    assert fig.axes[len(kept)].get_xlabel() == "cos k coefficient" and ax.get_ylabel() == "sin k coefficient"
    _png_ok(fig)


def test_freqs_title_names_the_key_frequencies():
    p = 67
    x = np.arange(p)[:, None]
    ks = np.array([4, 5, 7, 7, 26])
    W_in = 20 * np.cos(2 * np.pi * ks[None, :] * x / p + np.arange(5))
    assert plots.freqs_title(W_in) == "Freqs: 4, 5, 7, 26"
    assert plots.freqs_title(0.01 * W_in) == "Freqs: none"


# ---------------------------------------------------------------- logits

def test_logit_bars_per_frequency_group_and_all(mod):
    step, a, b = int(mod.snapshot_steps[-1]), 3, 5
    fig = plots.logits(mod, step, a, b, max_groups=4)
    groups = fourier.frequency_groups(mod.W_in[-1])
    kept = sorted(sorted(groups, key=lambda k: (-len(groups[k]), k))[:4])
    assert len(fig.axes) == len(kept) + 1
    W_in, W_out = mod.weights_at(step)
    full = analysis.all_pairs_logits(W_in, W_out, "relu")[a, b]
    heights, colors = _bars(fig.axes[-1])
    np.testing.assert_allclose(heights, full, rtol=1e-5, atol=1e-6)
    k = kept[0]
    masked = np.maximum(W_in[a] + W_in[b], 0)[groups[k]] @ W_out[groups[k]]
    np.testing.assert_allclose(_bars(fig.axes[0])[0], masked, rtol=1e-5, atol=1e-6)
    answer = (a + b) % mod.config.p
    assert colors[answer] == plots.ANSWER_COLOR and colors[answer + 1] == plots.BAR_COLOR.lower()
    lo, hi = fig.axes[-1].get_ylim()
    assert lo == -hi and hi >= np.abs(full).max()
    assert fig.axes[-1].get_title(loc="left").startswith(f"all neurons: predicts {int(np.argmax(full))}")
    assert fig.axes[0].get_title(loc="left").startswith(f"freq {k} (neurons")
    assert fig.axes[-1].get_xlabel() == "output c" and fig.axes[0].get_ylabel() == "logit"
    # moving b redraws in place and moves the highlight
    plots.logits(mod, step, a, b + 1, max_groups=4, fig=fig)
    colors = _bars(fig.axes[-1])[1]
    assert colors[answer] == plots.BAR_COLOR.lower() and colors[(answer + 1) % mod.config.p] == plots.ANSWER_COLOR
    _png_ok(fig)


def test_logits_reject_inputs_outside_the_modulus(mod):
    with pytest.raises(ValueError, match="0..22"):
        plots.logits(mod, 0, 23, 0)


# ---------------------------------------------------------------- parity

def test_parity_weights_label_digits_and_bias(par):
    step = _mid(par)
    fig = plots.parity_weights(par, step)
    ax_in, ax_out = fig.axes[:2]
    assert len(fig.axes) == 4                      # two heatmaps, two colour bars
    labels = [t.get_text() for t in ax_in.get_xticklabels()]
    assert labels == [str(i) for i in range(30)] + ["Bias"]
    order = np.argsort(-np.abs(par.W_out[-1][:, 0]), kind="stable")
    W_in, W_out = par.weights_at(step)
    np.testing.assert_array_equal(ax_in.images[0].get_array(), W_in[:, order].T)
    np.testing.assert_array_equal(ax_out.images[0].get_array(), W_out[order])
    assert ax_in.get_xlabel() == "input digit" and ax_in.get_ylabel().startswith("neuron")
    assert ax_out.get_title() == "W_out"
    assert _color(ax_in.get_xticklabels()[0].get_color()) == plots.DIGIT_COLORS[0].lower()
    assert _color(ax_in.get_xticklabels()[-1].get_color()) == plots.BIAS_COLOR.lower()
    _png_ok(fig)


def test_parity_trajectories_draw_every_input_weight(par):
    fig = plots.parity_trajectories(par, 100)
    ax = fig.axes[0]
    n_snap, n_in, H = par.W_in.shape
    segs = [seg for c in ax.collections for seg in c.get_segments()]
    assert len(segs) == n_in * H and all(len(s) == n_snap for s in segs)
    distractors, bias, *digits = ax.collections
    assert len(digits) == par.config.k and len(bias.get_segments()) == H
    np.testing.assert_array_equal(digits[0].get_segments()[0][:, 1], par.W_in[:, 0, 0])
    assert distractors.get_alpha() < 0.3 < digits[0].get_alpha()
    assert _color(bias.get_color()[0]) == plots.BIAS_COLOR.lower()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["digit 0", "digit 1", "digit 2", "digits 3–29", "bias"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "input weight"
    assert list(ax.get_lines()[0].get_xdata()) == [100, 100]
    _png_ok(fig)


def test_parity_figures_refuse_a_modadd_run(mod):
    with pytest.raises(ValueError, match="sparse-parity"):
        plots.parity_weights(mod)


# ---------------------------------------------------------------- sweeps

AXES = ([0.01, 0.03, 0.1, 0.3, 1.0], [16, 32, 64, 128, 258], [750, 1000, 1250, 1500, 1750])


def test_sweep_grid_panels_dots_and_legend():
    rng = np.random.default_rng(1)
    classes = rng.choice(analysis.CLASSES, size=(5, 5, 5, 9))
    fig = plots.sweep_grid(classes, *AXES, selected=(2, 1, 3))
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == ["weight decay 0.01", "weight decay 0.03", "weight decay 0.1",
                                                   "weight decay 0.3", "weight decay 1"]
    assert fig.axes[0].get_ylabel() == "train size" and all(ax.get_xlabel() == "hidden size" for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["16", "32", "64", "128", "258"]
    dots = fig.axes[2].collections[0]
    assert len(dots.get_offsets()) == 5 * 5 * 9
    want = [_color(analysis.CLASS_COLORS[c]) for c in classes[2].reshape(-1)]
    assert [_color(c) for c in dots.get_facecolors()] == want
    assert {_color(c) for c in dots.get_edgecolors()} == {plots.CLASS_EDGE}
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(texts) == 4
    for c, t in zip(analysis.CLASSES, texts):
        assert t == f"{analysis.CLASS_LABELS[c]}: {int((classes == c).sum())}"
    box = [p for p in fig.axes[2].patches if p.get_visible()]
    assert len(box) == 1 and box[0].get_xy() == (0.5, 2.5)
    assert not any(p.get_visible() for p in fig.axes[0].patches)
    _png_ok(fig)


def test_sweep_grid_recolours_in_place():
    classes = np.full((5, 5, 5, 9), "grok", dtype="<U10")
    fig = plots.sweep_grid(classes, *AXES)
    dots = fig.axes[0].collections[0]
    classes[0] = "memorize"
    plots.sweep_grid(classes, *AXES, fig=fig)
    assert fig.axes[0].collections[0] is dots
    assert {_color(c) for c in dots.get_facecolors()} == {"#ffffff"}


def test_sweep_grid_rejects_unknown_classes_and_wrong_axes():
    with pytest.raises(ValueError, match="unknown class"):
        plots.sweep_grid(np.full((5, 5, 5, 9), "groks"), *AXES)
    with pytest.raises(ValueError, match="weight decays"):
        plots.sweep_grid(np.full((4, 5, 5, 9), "grok"), *AXES)


def test_cell_losses_draw_every_run():
    steps = np.arange(0, 2001, 100)
    tr = np.exp(-np.outer(np.arange(1, 10), steps / 200))
    fig = plots.cell_losses(steps, tr, tr * 10, title="wd 0.1, hidden 32, train 1000")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 18 and ax.get_yscale() == "log" and ax.get_ylim() == (1e-8, 1.0)
    assert ax.get_title() == "wd 0.1, hidden 32, train 1000"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.clip(tr[0], 1e-8, 1))
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "log loss"
    with pytest.raises(ValueError, match="n_runs"):
        plots.cell_losses(steps, tr[:, :5], tr)


def test_loss_grid_and_seed_grid_small_multiples(mod):
    fig = plots.seed_grid([mod, mod, mod], ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4
    assert all(ax.get_title().startswith("Freqs: ") for ax in visible)
    assert visible[0].get_yscale() == "log"
    np.testing.assert_allclose(visible[0].get_lines()[0].get_ydata(),
                               np.clip(mod.metrics["train_loss"] / mod.config.p, 1e-8, 1))
    steps = np.arange(10)
    fig = plots.loss_grid(steps, np.ones((60, 10)), np.ones((60, 10)), max_panels=12, ncols=6)
    assert sum(ax.get_visible() for ax in fig.axes) == 12 and "of 60" in fig.get_suptitle()


def test_seed_grid_titles_do_not_overlap_when_runs_list_many_frequencies(mod):
    p = mod.config.p
    x = np.arange(p)[:, None]
    ks = np.repeat(np.arange(1, p // 2 + 1), 2)               # every frequency 1..11, two neurons each
    W_in = 20 * np.cos(2 * np.pi * ks[None, :] * x / p + np.arange(len(ks)))
    many = replace(mod, W_in=np.broadcast_to(W_in, (len(mod.snapshot_steps), *W_in.shape)))
    want = plots.freqs_title(W_in)
    assert want == "Freqs: " + ", ".join(str(k) for k in range(1, p // 2 + 1))
    fig = plots.seed_grid([many, mod, many, many, many, mod], ncols=3)
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes[0].get_title().replace("\n", " ") == want           # every frequency is still named
    titles = [ax.title.get_window_extent() for ax in axes]
    others = [ax.get_window_extent() for ax in axes] + [leg.get_window_extent() for leg in fig.legends]
    for i, box in enumerate(titles):
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
        for j, other in enumerate(titles):
            assert j == i or not box.overlaps(other), f"the titles of panels {i} and {j} overlap"
        for k, other in enumerate(others):
            what = f"panel {k}" if k < len(axes) else "the legend"
            assert k == i or not box.overlaps(other), f"panel {i}'s title overlaps {what}"


def test_class_bars_stack_counts():
    fig = plots.class_bars({"tied": np.array(["grok"] * 5 + ["fail"] * 2), "untied": np.array(["memorize"] * 4)})
    ax = fig.axes[0]
    widths = np.array([p.get_width() for p in ax.patches]).reshape(4, 2)   # class x group
    np.testing.assert_array_equal(widths[:, 0], [2, 0, 0, 5])
    np.testing.assert_array_equal(widths[:, 1], [0, 4, 0, 0])
    assert ax.get_xlabel() == "number of runs" and len(fig.legends[0].get_texts()) == 4


# ---------------------------------------------------------------- five neurons

def test_fixed_embedding_heatmap_and_circle():
    fig = plots.fixed_embedding(67)
    assert len(fig.axes) == 4
    data = fig.axes[0].images[0].get_array()
    x = np.arange(67)
    np.testing.assert_allclose(data, np.stack([np.cos(2 * np.pi * x / 67), np.sin(2 * np.pi * x / 67)], 1))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["cos 1", "sin 1"]
    assert fig.axes[0].get_ylabel() == "number x"
    _png_ok(fig)


def test_five_neuron_weights_rescale_each_step(five):
    fig = plots.five_neuron_weights(five, 0)
    assert len(fig.axes) == 4
    ax_in, ax_out = fig.axes[:2]
    np.testing.assert_array_equal(ax_in.images[0].get_array(), five.snapshots["hidden"][0])
    np.testing.assert_array_equal(ax_out.images[0].get_array(), five.snapshots["out"][0].T)
    lim0 = ax_in.images[0].get_clim()[1]
    plots.five_neuron_weights(five, 600, fig=fig)
    lim1 = ax_in.images[0].get_clim()[1]
    m0, m1 = np.abs(five.snapshots["hidden"][0]).max(), np.abs(five.snapshots["hidden"][-1]).max()
    assert m0 <= lim0 <= 1.25 * m0 and m1 <= lim1 <= 1.25 * m1 and lim1 != lim0
    assert [t.get_text() for t in ax_in.get_yticklabels()] == ["cos 1", "sin 1"]
    assert ax_in.get_xlabel() == "neuron"
    _png_ok(fig)


def test_five_neuron_circles_and_star(five):
    fig = plots.five_neuron_circles(five, 600, connect=True)
    ax_in, ax_out = fig.axes
    hid, out = five.snapshots["hidden"][-1], five.snapshots["out"][-1]
    np.testing.assert_allclose(ax_in.collections[0].get_offsets(), hid.T)
    np.testing.assert_allclose(ax_out.collections[0].get_offsets(), out)
    order = plots.circle_order(five)
    link = ax_in.get_lines()[0]
    assert link.get_visible()
    np.testing.assert_allclose(link.get_xdata(), hid[0, np.r_[order, order[:1]]])
    angles = np.arctan2(hid[1, order], hid[0, order])
    assert np.all(np.diff(angles) > 0)
    assert 1.2 * np.abs(hid).max() <= ax_in.get_xlim()[1] <= 1.5 * np.abs(hid).max()
    assert "joined" in ax_in.get_title() and ax_in.get_xlabel() == "cos weight"
    assert not plots.five_neuron_circles(five, 600).axes[0].get_lines()[0].get_visible()
    _png_ok(fig)


def test_five_neuron_figures_need_the_circular_embedding(mod):
    with pytest.raises(ValueError, match="circular"):
        plots.five_neuron_weights(mod)


# ---------------------------------------------------------------- appendix construction

@pytest.mark.parametrize("N, want", [(3, 0.02), (4, 0.03), (5, 1.0), (6, 0.19), (7, 1.0), (8, 0.64), (9, 1.0),
                                     (10, 1.0)])
def test_construction_relu_accuracy_matches_the_literature(N, want):
    assert construction.construction_accuracy(N, 67, "relu") == pytest.approx(want, abs=0.005)


@pytest.mark.parametrize("N", range(3, 11))
def test_construction_square_is_exact_except_for_four_neurons(N):
    acc = construction.construction_accuracy(N, 67, "square")
    assert acc == (pytest.approx(0.03, abs=0.005) if N == 4 else 1.0)


def test_construction_square_logits_follow_the_closed_form():
    p, N = 67, 7
    w = 2 * np.pi / p
    a = np.arange(p)
    A, B, C = np.meshgrid(a, a, a, indexing="ij")
    want = N * np.cos((A - B) * w / 2) ** 2 * np.cos((A + B - C) * w)
    np.testing.assert_allclose(construction.construction_logits(N, p, "square"), want, atol=1e-9)


def test_construction_predictions_are_the_argmax_of_the_logits():
    for N, act in [(5, "relu"), (6, "relu"), (8, "relu"), (3, "square")]:
        pred = construction.construction_predictions(N, 67, act)
        np.testing.assert_array_equal(pred, construction.construction_logits(N, 67, act).argmax(-1))


def test_construction_weights_are_a_model_in_collapsed_form():
    W_in, W_out = construction.construction_weights(5, 23)
    np.testing.assert_allclose(analysis.all_pairs_logits(W_in, W_out, "relu"),
                               construction.construction_logits(5, 23, "relu"))


def test_construction_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        construction.construction_accuracy(5, 67, "tanh")
    with pytest.raises(ValueError, match="0..66"):
        construction.construction_state(5, 67, 67, 0)


def test_construction_figure(mod):
    fig = plots.construction(5, 67, 13, 19)
    assert len(fig.axes) == 4
    s = construction.construction_state(5, 67, 13, 19)
    ax_e, ax_p, ax_o, ax_l = fig.axes
    heights, colors = _bars(ax_l)
    np.testing.assert_allclose(heights, s.logits)
    assert colors[32] == plots.ANSWER_COLOR and colors[31] == plots.BAR_COLOR.lower()
    assert "predicts 32 ✓" in ax_l.get_title() and "100% right" in ax_l.get_title()
    assert "5 neurons, modulus 67, ReLU" in fig.get_suptitle()
    np.testing.assert_allclose(_bars(ax_p, 0)[0], s.pre)
    np.testing.assert_allclose(_bars(ax_p, 1)[0], s.act)
    assert ax_l.get_xlabel() == "output c" and ax_p.get_xlabel() == "neuron"
    fig4 = plots.construction(4, 67, 13, 19, "relu")
    assert "3% right" in fig4.axes[3].get_title()
    _png_ok(fig)


# ---------------------------------------------------------------- animations

def test_animate_returns_a_small_javascript_animation(mod):
    html = plots.animate(mod, plots.weights, frames=3, dpi=30)
    assert "<script" in html.data and html.data.count("data:image/png;base64") == 3
    assert plots.animation_steps(mod, 3) == [0, 150, 300]
    assert len(plots.animation_steps(mod, 100)) == len(mod.snapshot_steps)


def test_sweep_grid_shows_runs_not_done_as_empty_circles():
    classes = np.full((5, 5, 5, 9), "grok", dtype="<U10")
    classes[1, 0, 0, :4] = ""
    fig = plots.sweep_grid(classes, *AXES)
    dots = fig.axes[1].collections[0]
    face = dots.get_facecolors()
    assert (face[:4, 3] == 0).all() and (face[4:, 3] == 1).all()
    assert fig.legends[0].get_texts()[3].get_text().endswith(f": {5 * 5 * 5 * 9 - 4}")


def _pixels(png: bytes) -> np.ndarray:
    """Decoded RGBA pixels of a PNG."""
    import io
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


@pytest.mark.parametrize("name", ["curves", "weights", "logits", "parity_trajectories", "sweep_grid",
                                  "construction", "five_neuron_circles"])
def test_blitted_redraw_matches_a_full_draw(name, mod, par, five):
    rng = np.random.default_rng(2)
    classes = [rng.choice(analysis.CLASSES, size=(5, 5, 5, 9)) for _ in range(3)]
    draw = {
        "curves": lambda i, fig=None: plots.curves(mod, 50 * i, fig=fig),
        "weights": lambda i, fig=None: plots.weights(mod, 50 * i, fig=fig),
        "logits": lambda i, fig=None: plots.logits(mod, 300, i, 2 * i, fig=fig),
        "parity_trajectories": lambda i, fig=None: plots.parity_trajectories(par, 60 * i, fig=fig),
        "sweep_grid": lambda i, fig=None: plots.sweep_grid(classes[i], *AXES, selected=(i, i, i), fig=fig),
        "construction": lambda i, fig=None: plots.construction(5, 67, 3 * i, 5 * i, fig=fig),
        "five_neuron_circles": lambda i, fig=None: plots.five_neuron_circles(five, 300 * i, connect=True, fig=fig),
    }[name]
    fig = draw(0)
    plots.to_png(fig)
    draw(1, fig)
    first = plots.to_png(fig)                      # captures the background
    draw(2, fig)
    blitted = _pixels(plots.to_png(fig))           # only the changing artists drawn
    assert not np.array_equal(_pixels(first), blitted)
    fig.canvas.draw()                              # everything drawn again, the ordinary way
    full = np.asarray(fig.canvas.buffer_rgba()).astype(int)
    assert blitted.shape == full.shape
    differ = (np.abs(blitted - full).max(axis=-1) > 40).mean()
    assert differ < 0.003, f"{differ:.2%} of the pixels differ from a full draw"


def test_logit_panels_span_the_largest_logit_over_all_pairs(mod):
    step = int(mod.snapshot_steps[-1])
    fig = plots.logits(mod, step, 0, 0, max_groups=2)
    W_in, W_out = mod.weights_at(step)
    every = np.abs(analysis.all_pairs_logits(W_in, W_out, "relu")).max()
    hi = fig.axes[-1].get_ylim()[1]
    assert every * 1.05 <= hi <= every * 1.05 * 1.25
    bg = plots.to_png(fig)
    plots.logits(mod, step, 5, 7, max_groups=2, fig=fig)
    assert fig.axes[-1].get_ylim()[1] == hi       # moving a and b keeps the scale
    assert plots.to_png(fig) != bg


# ---------------------------------------------------------------- notebook 07


def test_steps_to_generalize_puts_never_above_the_budget_and_marks_medians():
    fig = plots.steps_to_generalize({"a": [100, 200, None], "b": [None, None, 50]}, 1000, 0.95, xlabel="x")
    ax = fig.axes[0]
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(offsets[:, 1].tolist()) == [50, 100, 200, 1150, 1150, 1150]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.get_yticklabels()[-1].get_text() == "never"
    medians = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    assert len(medians) == 1 and medians[0].get_ydata()[0] == 200   # only "a" has a real median


def test_phase_diagram_colours_each_cell_by_its_class_and_refuses_unknown_classes():
    classes = np.array([["memorization", "grokking"], ["comprehension", "confusion"]], dtype=object)
    fig = plots.phase_diagram(classes, [1e-3, 1e-2], [0.0, 1.0])
    ax = fig.axes[0]
    cells = [p for p in ax.patches if isinstance(p, plt.Rectangle)]
    colours = [mcolors.to_hex(p.get_facecolor()) for p in cells[:4]]
    assert colours == [mcolors.to_hex(plots.LIU_COLORS[c]) for c in classes.ravel()]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.001", "0.01"]
    with pytest.raises(ValueError, match="each must be one of"):
        plots.phase_diagram(np.array([["lost"]], dtype=object), [1e-3], [0.0])
    with pytest.raises(ValueError, match="expected \\(len\\(lrs\\), len\\(wds\\)\\)"):
        plots.phase_diagram(classes, [1e-3], [0.0, 1.0])


def test_frequency_spectrum_bars_are_the_embedding_power_at_the_step(mod):
    step = int(mod.snapshot_steps[2])
    fig = plots.frequency_spectrum(mod, step)
    heights = [b.get_height() for b in fig.axes[0].patches]
    assert np.allclose(heights, fourier.frequency_power(mod.W_in[2]))
    plots.frequency_spectrum(mod, int(mod.snapshot_steps[-1]), fig=fig)        # redraw in place
    heights = [b.get_height() for b in fig.axes[0].patches]
    assert np.allclose(heights, fourier.frequency_power(mod.W_in[-1]))
    assert f"step {int(mod.snapshot_steps[-1]):,}" in fig.axes[0].get_title()
