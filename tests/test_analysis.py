"""Run classes, threshold crossings and progress measures on curves whose answer is known."""

import numpy as np
import pytest

from grokkit import analysis, fourier

STEPS = np.arange(0, 20_001, 100)


def _curve(start, end, at, width=300.0):
    """Log-linear drop from start to end around step `at`."""
    s = 1 / (1 + np.exp(-(STEPS - at) / width))
    return np.exp(np.log(start) * (1 - s) + np.log(end) * s)


@pytest.mark.parametrize("train,test,expected", [
    (_curve(0.3, 1e-3, 500), _curve(0.3, 0.5, 500), "fail"),
    (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-2, 500), "memorize"),
    (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-7, 600), "generalize"),
    (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-7, 9000), "grok"),
])
def test_explorable_classes(train, test, expected):
    assert analysis.classify_losses(train, test) == expected


def test_classify_arrays_applies_the_rules_in_order_to_every_run():
    # (min train loss, min test loss, max test/train ratio) -> class under the defaults (1e-5, 5e4)
    cases = [((1e-3, 1e-7, 1e9), "fail"),          # train loss too high wins over everything else
             ((1e-7, 1e-3, 1e9), "memorize"),
             ((1e-7, 1e-7, 10.0), "generalize"),
             ((1e-7, 1e-7, 1e6), "grok"),
             ((1e-5, 1e-5, 5e4), "grok")]         # exactly at the thresholds: below neither
    stats = np.array([c for c, _ in cases]).T.reshape(3, 5, 1)
    got = analysis.classify_arrays(*stats)
    assert got.shape == (5, 1)
    assert list(got.ravel()) == [want for _, want in cases]
    assert [analysis.classify_stats(analysis.LossStats(*c)) for c, _ in cases] == [want for _, want in cases]
    assert list(analysis.classify_arrays(*stats, min_loss=1e-8).ravel()) == ["fail"] * 5
    assert list(analysis.classify_arrays(*stats, max_ratio=1e10).ravel()) == [
        "fail", "memorize", "generalize", "generalize", "generalize"]


def test_classify_arrays_marks_diverged_runs_failed_and_runs_not_done_empty():
    tr, te, ra = np.array([1e-7, 1e-7, np.nan]), np.array([1e-7, 1e-7, np.nan]), np.array([1e6, 1e6, np.nan])
    assert list(analysis.classify_arrays(tr, te, ra, diverged=[False, True, False])) == ["grok", "fail", ""]
    with pytest.raises(ValueError, match="one shape"):
        analysis.classify_arrays(tr, te, ra[:2])


def test_classify_losses_and_classify_arrays_give_one_answer_for_the_same_curves():
    curves = [(_curve(0.3, 1e-3, 500), _curve(0.3, 0.5, 500)), (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-2, 500)),
              (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-7, 600)), (_curve(0.3, 1e-7, 500), _curve(0.3, 1e-7, 9000))]
    stats = [analysis.loss_stats(tr, te) for tr, te in curves]
    arrays = [np.array([getattr(s, f) for s in stats]) for f in ("min_train_loss", "min_test_loss", "max_ratio")]
    assert list(analysis.classify_arrays(*arrays)) == [analysis.classify_losses(tr, te) for tr, te in curves] == [
        "fail", "memorize", "generalize", "grok"]


def test_thresholds_move_the_class_boundaries():
    train, test = _curve(0.3, 1e-7, 500), _curve(0.3, 1e-7, 9000)
    assert analysis.classify_losses(train, test, max_ratio=1e12) == "generalize"
    assert analysis.classify_losses(train, test, min_loss=1e-8) == "fail"


def test_first_crossing():
    acc = np.array([0.0, 0.2, 0.6, 0.99, 1.0])
    steps = np.array([0, 10, 20, 30, 40])
    assert analysis.first_crossing(steps, acc, 0.5) == 20
    assert analysis.first_crossing(steps, acc, 1.0) == 40
    assert analysis.first_crossing(steps, acc, 1.1) is None
    assert analysis.first_crossing(steps, 1 - acc, 0.02, above=False) == 30


def test_liu_phases():
    up = lambda at: (STEPS >= at).astype(float)  # noqa: E731
    assert analysis.classify_liu(STEPS, up(500), up(800)) == "comprehension"
    assert analysis.classify_liu(STEPS, up(500), up(9000)) == "grokking"
    assert analysis.classify_liu(STEPS, up(500), 0 * STEPS) == "memorization"
    assert analysis.classify_liu(STEPS, 0 * STEPS, 0 * STEPS) == "confusion"


def _fourier_solution(p=23, freqs=(3, 7), per_freq=6):
    """A hand-built MLP that computes a+b with the key frequencies (x**2 activation)."""
    cols_in, cols_out = [], []
    i = np.arange(p)
    for k in freqs:
        for j in range(per_freq):
            th = 2 * np.pi * j / per_freq
            cols_in.append(np.cos(2 * np.pi * k * i / p + th))
            cols_out.append(np.cos(2 * np.pi * k * i / p + 2 * th))
    return 3 * np.array(cols_in).T, 3 * np.array(cols_out)


def test_restricted_loss_is_low_and_excluded_loss_high_for_a_fourier_solution():
    W_in, W_out = _fourier_solution()
    assert fourier.key_frequencies(W_in) == [3, 7]
    p = 23
    pairs = np.array([(a, b) for a in range(p) for b in range(p)])
    logits = analysis.all_pairs_logits(W_in, W_out, "square").reshape(p * p, p)
    z = logits - logits.max(-1, keepdims=True)
    full = float(-(z - np.log(np.exp(z).sum(-1, keepdims=True)))[np.arange(p * p), pairs.sum(1) % p].mean())
    restricted = analysis.restricted_loss(W_in, W_out, [3, 7], "square")
    excluded = analysis.excluded_loss(W_in, W_out, [3, 7], pairs, "square")
    assert restricted <= full + 1e-6
    assert excluded > np.log(p) - 0.5  # nothing left to score with: about chance
    assert analysis.restricted_loss(W_in, W_out, [5], "square") > np.log(p) - 0.5


def test_progress_measures_agree_with_the_single_snapshot_functions():
    from dataclasses import replace

    import grokkit
    from grokkit.tasks import make_split
    cfg = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=300, save_every=100)
    run = grokkit.train(cfg, progress=False)
    pm = analysis.progress_measures(run, [3, 5])
    train_pairs = make_split(cfg).train_x
    for i, (W_in, W_out) in enumerate(zip(run.W_in, run.W_out)):
        assert np.isclose(pm["restricted_loss"][i], analysis.restricted_loss(W_in, W_out, [3, 5]))
        assert np.isclose(pm["excluded_loss"][i], analysis.excluded_loss(W_in, W_out, [3, 5], train_pairs))
    assert list(pm["steps"]) == [0, 100, 200, 300]


def test_fourier_concentration_is_one_for_a_few_waves_and_low_for_noise():
    p, x = 67, np.arange(67)[:, None]
    waves = np.concatenate([np.cos(2 * np.pi * k * x / p + phase) for k, phase in ((4, 0.3), (5, 1.0), (26, 2.0))]
                           + [np.sin(2 * np.pi * 7 * x / p) * np.ones((1, 3))], axis=1)
    assert analysis.fourier_concentration(waves, top=4) == pytest.approx(1.0)
    assert analysis.fourier_concentration(waves, top=2) < 0.8        # four frequencies carry it, not two
    noise = np.random.default_rng(0).normal(size=(p, 500))
    assert 0.08 < analysis.fourier_concentration(noise, top=4) < 0.2  # about 4/33
    stacked = analysis.fourier_concentration(np.stack([waves[:, :3], noise[:, :3]]), top=4)
    assert stacked.shape == (2,) and stacked[0] > 0.99 > stacked[1]
    with pytest.raises(ValueError, match="top"):
        analysis.fourier_concentration(noise, top=34)
