"""The named section checks of notebooks 02 and 06 pass on runs that show each claimed phenomenon and fail without it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grokkit.course import CheckFailed
from grokkit.course.nb02 import check_weight_decay_extremes
from grokkit.course.nb06 import check_collapse_story, check_constraints_story, check_reverse_grokking


def _run(**metrics):
    n = len(next(iter(metrics.values())))
    return SimpleNamespace(steps=np.arange(n) * 100, metrics={k: np.asarray(v, float) for k, v in metrics.items()})


# --------------------------------------------------------------------------- 02


def _parity(train_acc, test_acc, l1, W_in):
    return SimpleNamespace(final={"train_acc": train_acc, "test_acc": test_acc, "l1_norm": l1}, W_in=W_in)


def _parity_weights(distractor_end: float) -> np.ndarray:
    """Snapshots of a (31 x 4) W_in: digits 0-2 large, distractors peaking at 1 and ending at distractor_end."""
    W = np.ones((3, 31, 4))
    W[:, :3] = 3.0
    W[0, 3:30], W[1, 3:30], W[2, 3:30] = 0.5, 1.0, distractor_end
    return W


def test_weight_decay_extremes_pass_and_fail_when_the_distractors_are_pruned(capsys):
    default = _parity(1.0, 1.0, 10.0, _parity_weights(0.0))
    too_much = _parity(0.6, 0.5, 1.0, _parity_weights(0.0))
    check_weight_decay_extremes(_parity(1.0, 0.6, 500.0, _parity_weights(0.9)), default, too_much, 3)
    assert capsys.readouterr().out.count("✅") == 5
    with pytest.raises(CheckFailed, match="distractor weights are never pruned"):
        check_weight_decay_extremes(_parity(1.0, 0.6, 500.0, _parity_weights(0.1)), default, too_much, 3)


# --------------------------------------------------------------------------- 06


def test_constraints_story_passes_and_fails_when_dropout_generalizes(capsys):
    fit = [0.5, 0.96, 1, 1]

    def runs(test):
        return [_run(train_acc=fit, test_acc=test) for _ in range(4)]

    constraint_runs = {"none": runs([0, 0.1, 0.2, 0.3]), "L2 weight decay": runs([0, 0.3, 0.95, 1]),
                       "L1 penalty": runs([0, 0.3, 0.95, 1]), "dropout": runs([0, 0.1, 0.2, 0.3]),
                       "smaller model": runs([0, 0.3, 0.6, 0.7])}
    grok = {"none": [None] * 4, "L2 weight decay": [200] * 4, "L1 penalty": [200] * 4,
            "dropout": [None] * 4, "smaller model": [None] * 4}
    check_constraints_story(constraint_runs, grok, 0.9)
    assert capsys.readouterr().out.count("✅") == 5
    constraint_runs["dropout"] = runs([0, 0.3, 0.95, 1])
    with pytest.raises(CheckFailed, match="dropout 0.1 does not"):
        check_constraints_story(constraint_runs, grok, 0.9)


def _reverse(waves: bool):
    x = np.arange(31)[:, None]
    wave = np.cos(2 * np.pi * 3 * x / 31 + np.arange(8)[None, :])
    noise = np.random.default_rng(0).normal(size=(31, 8))
    W_in = np.stack([noise, wave if waves else noise, wave if waves else noise])
    run = _run(test_acc=[0.0, 0.8, 0.7], test_loss=[5.0, 1.0, 6.0], train_loss=[5.0, 1e-1, 1e-4],
               l2_norm=[10.0, 12.0, 30.0])
    run.W_in = W_in
    run.snapshot_index = lambda step: int(step) // 100
    return run


def test_reverse_grokking_passes_with_waves_and_fails_without():
    check_reverse_grokking(_reverse(waves=True))
    with pytest.raises(CheckFailed, match="its weights are waves throughout the turn"):
        check_reverse_grokking(_reverse(waves=False))


def test_collapse_story_passes_and_fails_when_weight_decay_collapses_too(capsys):
    zero = {"float32": np.array([0, 0.5]), "float64": np.array([0, 0.05]), "StableMax": np.zeros(2),
            "weight decay": np.zeros(2)}
    gaps = {"weight decay": np.array([2.0, 5.0])}
    runs = {n: _run(test_acc=[0, 0.3]) for n in ("float32", "float64", "StableMax")}
    runs["weight decay"] = _run(test_acc=[0, 0.95])
    check_collapse_story(zero, gaps, runs)
    assert capsys.readouterr().out.count("✅") == 5
    zero["weight decay"] = np.array([0, 0.01])
    with pytest.raises(CheckFailed, match="with StableMax and with weight decay not a single one"):
        check_collapse_story(zero, gaps, runs)
