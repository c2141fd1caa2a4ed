"""Notebook 01's exercise checks accept right answers and name the mistake in wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import grokkit
from grokkit.course.core import CheckFailed
from grokkit.course.nb01 import (
    check_collapse,
    check_crossing_steps,
    check_data_experiment,
    check_data_interpretation,
    check_frequency_share,
    check_parameter_count,
    check_split,
    grokking_step,
    more_data_groks_sooner,
    reference_frequency_share,
)
from grokkit.models import count_parameters
from grokkit.run import Run

# --------------------------------------------------------------------------- fake runs


def fake_run(train_acc, test_acc, steps=None, train_fraction=0.4, snapshots=None, W_in=None):
    """A modular-addition Run with the given accuracy curves (nothing trained)."""
    train_acc, test_acc = np.asarray(train_acc, float), np.asarray(test_acc, float)
    steps = np.arange(len(train_acc)) * 100 if steps is None else np.asarray(steps)
    cfg = replace(grokkit.PAIR_MODADD, train_fraction=train_fraction)
    W_in = np.zeros((2, 67, 24)) if W_in is None else W_in
    metrics = {"train_acc": train_acc, "test_acc": test_acc,
               "train_loss": np.ones_like(train_acc), "test_loss": np.ones_like(train_acc)}
    return Run(config=cfg, steps=steps, metrics=metrics, snapshot_steps=np.array([0, steps[-1]]),
               snapshots=snapshots or {}, W_in=W_in, W_out=np.zeros((2, 24, 67)))


GROKS = fake_run([0.1, 0.995, 1, 1, 1, 1, 1], [0.0, 0.01, 0.02, 0.3, 0.6, 0.995, 1.0])


# --------------------------------------------------------------------------- 1.1 split


def right_split(p, train_fraction, seed):
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1)
    pairs = pairs[pairs[:, 0] <= pairs[:, 1]]
    order = np.random.RandomState(seed).permutation(len(pairs))
    n = int(train_fraction * len(pairs))
    labels = pairs.sum(axis=1) % p
    return pairs[order[:n]], labels[order[:n]], pairs[order[n:]], labels[order[n:]]


def test_split_right_answer_passes(capsys):
    check_split(right_split)
    assert "✅ split_pairs passed (4 cases)" in capsys.readouterr().out


def test_split_with_all_ordered_pairs_fails_on_shape():
    def ordered(p, train_fraction, seed):
        a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
        pairs = np.stack([a.ravel(), b.ravel()], axis=1)
        order = np.random.RandomState(seed).permutation(len(pairs))
        n = int(train_fraction * len(pairs))
        labels = pairs.sum(axis=1) % p
        return pairs[order[:n]], labels[order[:n]], pairs[order[n:]], labels[order[n:]]

    with pytest.raises(CheckFailed, match=r"split_pairs\(67, 0.4, 165\): item 0: wrong shape: expected \(911, 2\), got \(1795, 2\)"):
        check_split(ordered)


def test_split_returning_a_list_fails_on_type():
    with pytest.raises(CheckFailed, match="wrong type: expected a tuple, got list"):
        check_split(lambda p, f, s: list(right_split(p, f, s)))


def test_split_with_the_labels_not_reduced_mod_p_fails():
    def unreduced(p, f, s):
        tr, _, te, _ = right_split(p, f, s)
        return tr, tr.sum(1), te, te.sum(1)

    with pytest.raises(CheckFailed, match=r"item 1: wrong value at index"):
        check_split(unreduced)


# --------------------------------------------------------------------------- 1.2 parameters


def test_parameter_count_right_answer_passes_and_agrees_with_the_engine(capsys):
    def right(p, d, h):
        return p * d + d * h + h * d, 2 * p * h

    check_parameter_count(right)
    assert "✅ count_parameters passed (4 cases)" in capsys.readouterr().out
    assert right(67, 500, 24) == (57_500, 3_216)
    assert count_parameters(grokkit.PAIR_MODADD) == {"raw": 57_500, "collapsed": 3_216}


def test_parameter_count_forgetting_the_output_layer_fails():
    with pytest.raises(CheckFailed, match=r"count_parameters\(67, 500, 24\): item 0: wrong value: expected 57500, got 45500"):
        check_parameter_count(lambda p, d, h: (p * d + d * h, 2 * p * h))


def test_parameter_count_of_one_collapsed_matrix_only_fails():
    with pytest.raises(CheckFailed, match="item 1: wrong value: expected 3216, got 1608"):
        check_parameter_count(lambda p, d, h: (p * d + 2 * d * h, p * h))


# --------------------------------------------------------------------------- 1.3 crossings


def test_crossing_steps_right_answer_passes(capsys):
    check_crossing_steps(GROKS, 100, 400, 500)
    assert "✅ crossing steps passed (train_99 = 100, test_50 = 400, test_99 = 500)" in capsys.readouterr().out


def test_crossing_steps_given_as_indices_say_so():
    with pytest.raises(CheckFailed, match=r"test_50: wrong value: expected 400, got 4 \(that is the index"):
        check_crossing_steps(GROKS, 100, 4, 500)


def test_crossing_steps_too_late_says_the_curve_got_there_earlier():
    with pytest.raises(CheckFailed, match=r"test_99: wrong value: expected 500, got 600 \(the curve already gets there"):
        check_crossing_steps(GROKS, 100, 400, 600)


def test_crossing_steps_as_numpy_floats_fail_on_type():
    with pytest.raises(CheckFailed, match="train_99: wrong type: expected an int, got the float"):
        check_crossing_steps(GROKS, 100.0, 400, 500)


def test_crossing_steps_none_when_never_reached():
    never = fake_run([0.1, 1, 1], [0.0, 0.1, 0.2])
    check_crossing_steps(never, 100, None, None)
    with pytest.raises(CheckFailed, match="test_50: expected None"):
        check_crossing_steps(never, 100, 200, None)


# --------------------------------------------------------------------------- 1.4 collapse


def small_snapshot_run():
    rng = np.random.default_rng(3)
    snaps = {"embed": rng.normal(size=(2, 67, 8)).astype(np.float32),
             "hidden": rng.normal(size=(2, 8, 24)).astype(np.float32),
             "out": rng.normal(size=(2, 24, 8)).astype(np.float32)}
    return fake_run([0, 1], [0, 1], snapshots=snaps)


def test_collapse_right_answer_passes_including_run_snapshots(capsys):
    check_collapse(lambda e, h, o: (e @ h, o @ e.T), small_snapshot_run())
    assert "✅ collapse passed (4 cases)" in capsys.readouterr().out


def test_collapse_with_a_transposed_w_out_fails():
    with pytest.raises(CheckFailed, match=r"item 1: wrong shape: expected \(3, 5\), got \(5, 3\) \(transposed\?\)"):
        check_collapse(lambda e, h, o: (e @ h, e @ o.T))


def test_collapse_that_raises_names_the_error():
    with pytest.raises(CheckFailed, match="raised ValueError"):
        check_collapse(lambda e, h, o: (e @ h, o @ e))


# --------------------------------------------------------------------------- 1.5 frequency share


def right_share(W):
    X = np.fft.rfft(W, axis=0)
    p = W.shape[0]
    power = 2 * np.abs(X[1:]) ** 2 / p
    return power.max(axis=0) / (W ** 2).sum(axis=0)


def test_frequency_share_right_answer_passes(capsys):
    run = fake_run([0, 1], [0, 1], W_in=np.random.default_rng(0).normal(size=(2, 67, 24)))
    check_frequency_share(right_share, run)
    assert "✅ frequency_share passed (6 cases)" in capsys.readouterr().out


def test_frequency_share_of_a_pure_wave_is_one_and_of_noise_is_small():
    x = np.arange(67)[:, None]
    assert np.allclose(reference_frequency_share(np.cos(2 * np.pi * 3 * x / 67 + 1.0)), 1.0)
    noise = reference_frequency_share(np.random.default_rng(0).normal(size=(67, 200)))
    assert 0.05 < noise.mean() < 0.25


def test_frequency_share_forgetting_the_factor_two_fails():
    def half(W):
        X = np.fft.rfft(W, axis=0)
        return (np.abs(X[1:]) ** 2 / W.shape[0]).max(axis=0) / (W ** 2).sum(axis=0)

    with pytest.raises(CheckFailed, match=r"frequency_share\(<array of shape \(67, 2\)>\): wrong value at index 0: expected 1.0, got 0.5"):
        check_frequency_share(half)


def test_frequency_share_counting_the_constant_fails():
    def with_constant(W):
        X = np.fft.rfft(W, axis=0)
        power = np.abs(X) ** 2 / W.shape[0]
        power[1:] *= 2
        return power.max(axis=0) / (W ** 2).sum(axis=0)

    with pytest.raises(CheckFailed, match=r"\(67, 2\)>\): wrong value at index 1"):
        check_frequency_share(with_constant)


# --------------------------------------------------------------------------- 1.6, 1.7 experiment


def data_runs():
    return [
        fake_run([0.5, 1, 1, 1], [0.0, 0.0, 0.0, 0.01], train_fraction=0.3),
        fake_run([0.5, 1, 1, 1], [0.0, 0.2, 0.995, 1.0], train_fraction=0.5),
        fake_run([0.5, 1, 1, 1], [0.3, 0.999, 1.0, 1.0], train_fraction=0.7),
    ]


def test_data_experiment_right_answer_passes(capsys):
    check_data_experiment(data_runs(), {0.3: None, 0.5: 200, 0.7: 100})
    assert "✅ data experiment passed (0.3: None; 0.5: 200; 0.7: 100)" in capsys.readouterr().out


def test_data_experiment_built_from_another_config_than_quick_fails_naming_the_fields(capsys):
    quick = replace(grokkit.PAIR_MODADD, train_fraction=0.4)
    check_data_experiment(data_runs(), {0.3: None, 0.5: 200, 0.7: 100}, quick)
    assert "✅ data experiment passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"differs from replace\(quick, train_fraction=0.3\) in lr, steps; build every config from `quick`"):
        check_data_experiment(data_runs(), {0.3: None, 0.5: 200, 0.7: 100}, replace(quick, lr=3e-3, steps=8_000))


def test_data_experiment_wrong_step_fails():
    with pytest.raises(CheckFailed, match=r"grok_steps\[0.5\]: wrong value: expected 200, got 300"):
        check_data_experiment(data_runs(), {0.3: None, 0.5: 300, 0.7: 100})


def test_data_experiment_needs_three_different_fractions():
    runs = data_runs()
    with pytest.raises(CheckFailed, match="at least 3 runs"):
        check_data_experiment(runs[:2], {0.3: None, 0.5: 200})
    runs[2] = fake_run([1, 1, 1, 1], [0, 0, 0, 0], train_fraction=0.5)
    with pytest.raises(CheckFailed, match="different train_fraction"):
        check_data_experiment(runs, {0.3: None, 0.5: 200, 0.7: 100})


def test_data_experiment_missing_fraction_fails():
    with pytest.raises(CheckFailed, match="no entry for train_fraction 0.7"):
        check_data_experiment(data_runs(), {0.3: None, 0.5: 200, 0.6: 100})


def test_interpretation_follows_the_learners_own_runs(capsys):
    runs = data_runs()
    assert more_data_groks_sooner(runs)
    check_data_interpretation(runs, True)
    assert "✅ interpretation passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="your runs say True, you said False"):
        check_data_interpretation(runs, False)
    # Had the largest fraction grokked later, the right answer would be False.
    runs[2] = fake_run([0.5, 1, 1, 1], [0.0, 0.0, 0.0, 0.995], train_fraction=0.7)
    assert grokking_step(runs[2]) == 300 and not more_data_groks_sooner(runs)
    check_data_interpretation(runs, False)
    with pytest.raises(CheckFailed, match="wrong type: expected True or False"):
        check_data_interpretation(runs, "yes")


def test_interpretation_needs_the_delays_so_a_guessed_boolean_does_not_pass(capsys):
    runs = data_runs()  # train 99% at step 100 in each run; test 99% never, at 200, at 100
    check_data_interpretation(runs, True, {0.3: None, 0.5: 100, 0.7: 0})
    assert "✅ interpretation passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"delays\[0.5\]: expected 100 steps"):
        check_data_interpretation(runs, True, {0.3: None, 0.5: 200, 0.7: 0})
    with pytest.raises(CheckFailed, match=r"delays\[0.3\]: expected None"):
        check_data_interpretation(runs, True, {0.3: 0, 0.5: 100, 0.7: 0})
    with pytest.raises(CheckFailed, match=r"delays: no entry for train_fraction 0.7"):
        check_data_interpretation(runs, True, {0.3: None, 0.5: 100})
