"""Notebook 07's exercise checks accept right answers and name the mistake in wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import grokkit
from grokkit.analysis import classify_liu, first_crossing
from grokkit.course.core import CheckFailed
from grokkit.course.nb07 import (
    check_fraction_experiment,
    check_frequency_power,
    check_grokfast_step,
    check_phase_diagram,
    median_steps,
    phase_classes,
)

# --------------------------------------------------------------------------- 7.1


def right_grokfast(grad, slow, alpha, lam):
    new = alpha * slow + (1 - alpha) * grad
    return grad + lam * new, new


def test_a_right_filter_passes(capsys):
    check_grokfast_step(right_grokfast)
    assert "✅ grokfast_step passed (4 cases)" in capsys.readouterr().out


def test_using_the_old_average_fails():
    def stale(grad, slow, alpha, lam):
        return grad + lam * slow, alpha * slow + (1 - alpha) * grad

    with pytest.raises(CheckFailed, match="grokfast_step.*item 0"):
        check_grokfast_step(stale)


def test_returning_only_the_gradient_fails_on_type():
    with pytest.raises(CheckFailed, match="wrong type: expected a tuple"):
        check_grokfast_step(lambda grad, slow, alpha, lam: right_grokfast(grad, slow, alpha, lam)[0])


# --------------------------------------------------------------------------- 7.2

BASE = grokkit.ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=20, log_every=5, save_every=20, lr=1e-2)
FRACTIONS = [0.4, 0.8]
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def fraction_experiment():
    trained = grokkit.train_many([replace(BASE, train_fraction=f, seed=s) for f in FRACTIONS for s in SEEDS])
    runs = {f: trained[i * 2:(i + 1) * 2] for i, f in enumerate(FRACTIONS)}
    steps = {f: [first_crossing(r.steps, r.metrics["test_acc"], 0.05) for r in rs] for f, rs in runs.items()}
    return runs, steps


def test_a_right_fraction_experiment_passes(fraction_experiment, capsys):
    runs, steps = fraction_experiment
    check_fraction_experiment(BASE, FRACTIONS, SEEDS, runs, steps, 0.05)
    assert "✅ data-fraction experiment passed (2 fractions x 2 seeds)" in capsys.readouterr().out


def test_runs_of_the_wrong_fraction_are_named(fraction_experiment):
    runs, steps = fraction_experiment
    swapped = {0.4: runs[0.8], 0.8: runs[0.4]}
    with pytest.raises(CheckFailed, match=r"fraction_runs\[0.4\] seed 0: .* in \['train_fraction'\]"):
        check_fraction_experiment(BASE, FRACTIONS, SEEDS, swapped, steps, 0.05)


def test_wrong_steps_and_wrong_keys_fail(fraction_experiment):
    runs, steps = fraction_experiment
    with pytest.raises(CheckFailed, match=r"fraction_steps\[0.4\]: expected"):
        check_fraction_experiment(BASE, FRACTIONS, SEEDS, runs, {f: [-1, -1] for f in FRACTIONS}, 0.05)
    with pytest.raises(CheckFailed, match="wrong keys"):
        check_fraction_experiment(BASE, FRACTIONS, SEEDS, {0.8: runs[0.8], 0.4: runs[0.4]}, steps, 0.05)


def test_median_steps_counts_never_as_infinitely_slow():
    assert median_steps([100, None, 300]) == 300
    assert median_steps([None, None, 5]) == np.inf
    with pytest.raises(ValueError, match="at least one"):
        median_steps([])


def test_median_steps_reached_only_ignores_the_runs_that_never_got_there():
    assert median_steps([None, None, 5, 7], reached_only=True) == 6
    assert median_steps([None, None], reached_only=True) == np.inf


# --------------------------------------------------------------------------- 7.3

LRS, WDS = [1e-2, 3e-2], [0.0, 1.0, 30.0]


@pytest.fixture(scope="module")
def phase_runs():
    return grokkit.train_many([replace(BASE, steps=60, lr=lr, weight_decay=wd) for lr in LRS for wd in WDS])


def test_a_right_phase_grid_passes_and_counts_the_classes(phase_runs, capsys):
    grid = np.array([classify_liu(r.steps, r.metrics["train_acc"], r.metrics["test_acc"], 0.5, 10)
                     for r in phase_runs], dtype=object).reshape(2, 3)
    check_phase_diagram(grid, phase_runs, LRS, WDS, 0.5, 10)
    out = capsys.readouterr().out
    assert "✅ phase diagram passed" in out and "confusion" in out


def test_a_transposed_grid_fails_on_shape_and_a_wrong_cell_is_named(phase_runs):
    grid = phase_classes(phase_runs, 2, 3, 0.5, 10)
    with pytest.raises(CheckFailed, match=r"wrong shape: expected \(2, 3\)"):
        check_phase_diagram(grid.T, phase_runs, LRS, WDS, 0.5, 10)
    bad = grid.copy()
    bad[1, 2] = "grokking" if bad[1, 2] != "grokking" else "confusion"
    with pytest.raises(CheckFailed, match=r"phase\[1, 2\] \(lr 0.03, weight decay 30\)"):
        check_phase_diagram(bad, phase_runs, LRS, WDS, 0.5, 10)


# --------------------------------------------------------------------------- 7.4


def right_power(W):
    power = (np.abs(np.fft.rfft(W, axis=0)[1:]) ** 2).sum(axis=1)
    return power / power.sum()


def test_a_right_spectrum_passes(capsys):
    check_frequency_power(right_power)
    assert "✅ frequency_power passed (3 cases)" in capsys.readouterr().out


def test_counting_the_constant_fails():
    def with_constant(W):
        power = (np.abs(np.fft.rfft(W, axis=0)) ** 2).sum(axis=1)
        return (power / power.sum())[1:]

    with pytest.raises(CheckFailed, match="frequency_power"):
        check_frequency_power(with_constant)


def test_only_the_first_column_fails():
    with pytest.raises(CheckFailed, match="frequency_power"):
        check_frequency_power(lambda W: right_power(W[:, :1]))
