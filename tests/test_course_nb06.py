"""Notebook 06's exercise checks accept right answers and name the mistake in wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import grokkit
from grokkit.analysis import first_crossing
from grokkit.course.core import CheckFailed
from grokkit.course.nb06 import (
    FLOAT32_COLLAPSE_GAP,
    check_collapse_interpretation,
    check_constraint_experiment,
    check_logit_gap,
    check_loss_at_scale,
)


def test_the_collapse_gaps_are_the_log_of_the_mantissa_range():
    assert FLOAT32_COLLAPSE_GAP == pytest.approx(16.64, abs=0.01)
    one = np.float32(1.0)
    assert one - np.float32(1 / (1 + np.exp(-(FLOAT32_COLLAPSE_GAP + 1.5)))) == 0  # collapsed
    assert one - np.float32(1 / (1 + np.exp(-(FLOAT32_COLLAPSE_GAP - 1.5)))) > 0   # not yet


# --------------------------------------------------------------------------- 6.1

BASE = grokkit.ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=20, log_every=5, save_every=20,
                            weight_decay=0.0, lr=1e-2)
CONSTRAINTS = {"none": {}, "L2": {"weight_decay": 1.0}}
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def runs():
    names = [n for n in CONSTRAINTS for _ in SEEDS]
    trained = grokkit.train_many([replace(BASE, seed=s, **CONSTRAINTS[n]) for n in CONSTRAINTS for s in SEEDS])
    out = {n: [r for r, m in zip(trained, names) if m == n] for n in CONSTRAINTS}
    steps = {n: [first_crossing(r.steps, r.metrics["test_acc"], 0.1) for r in rs]
             for n, rs in out.items()}
    return out, steps


def test_a_right_experiment_passes(runs, capsys):
    constraint_runs, steps = runs
    check_constraint_experiment(BASE, CONSTRAINTS, SEEDS, constraint_runs, steps, 0.1)
    assert "✅ constraint experiment passed" in capsys.readouterr().out


def test_runs_swapped_between_constraints_fail(runs):
    constraint_runs, steps = runs
    swapped = {"none": constraint_runs["L2"], "L2": constraint_runs["none"]}
    with pytest.raises(CheckFailed, match=r"constraint_runs\['none'\] seed 0: .* in \['weight_decay'\]"):
        check_constraint_experiment(BASE, CONSTRAINTS, SEEDS, swapped, steps, 0.1)


def test_wrong_steps_fail_with_the_expected_ones(runs):
    constraint_runs, steps = runs
    wrong = {n: [-1 for _ in v] for n, v in steps.items()}
    with pytest.raises(CheckFailed, match=r"grok_steps\['none'\]: expected"):
        check_constraint_experiment(BASE, CONSTRAINTS, SEEDS, constraint_runs, wrong, 0.1)


def test_a_list_instead_of_a_dict_fails():
    with pytest.raises(CheckFailed, match="wrong type: expected a dict"):
        check_constraint_experiment(BASE, CONSTRAINTS, SEEDS, [], {}, 0.1)


# --------------------------------------------------------------------------- 6.2


def right_loss(W_in, W_out, pairs, labels, c):
    h = np.maximum(c * W_in[pairs[:, 0]] + c * W_in[pairs[:, 1]], 0)
    z = h @ (c * W_out)
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def test_a_right_loss_passes(capsys):
    check_loss_at_scale(right_loss)
    assert "✅ loss_at_scale passed (4 cases)" in capsys.readouterr().out


def test_scaling_only_one_matrix_fails():
    def one(W_in, W_out, pairs, labels, c):
        return right_loss(W_in, W_out / c, pairs, labels, c)

    with pytest.raises(CheckFailed, match="loss_at_scale"):
        check_loss_at_scale(one)


def test_the_stub_says_not_implemented():
    def stub(W_in, W_out, pairs, labels, c):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_loss_at_scale(stub)


# --------------------------------------------------------------------------- 6.3


def right_gap(logits, labels):
    n = np.arange(len(labels))
    others = logits.astype(float).copy()
    others[n, labels] = -np.inf
    return logits[n, labels] - others.max(1)


def test_a_right_gap_passes(capsys):
    check_logit_gap(right_gap)
    assert "✅ logit_gap passed (2 cases)" in capsys.readouterr().out


def test_a_gap_to_the_overall_max_fails_on_wrong_answers():
    def to_max(logits, labels):
        n = np.arange(len(labels))
        return logits[n, labels] - logits.max(1)    # 0 for right answers, never positive

    with pytest.raises(CheckFailed, match="logit_gap"):
        check_logit_gap(to_max)


# --------------------------------------------------------------------------- 6.4

FRACTIONS = {"float32": 1.0, "float64": 0.2, "StableMax": 0.0}


def test_the_right_set_passes(capsys):
    check_collapse_interpretation(FRACTIONS, {"float32"})
    assert "✅ collapsed_variants passed" in capsys.readouterr().out


def test_a_missing_or_extra_name_is_named():
    with pytest.raises(CheckFailed, match=r"\['float64'\] did not"):
        check_collapse_interpretation(FRACTIONS, {"float32", "float64"})
    with pytest.raises(CheckFailed, match=r"\['float32'\] collapsed too"):
        check_collapse_interpretation(FRACTIONS, set())
    with pytest.raises(CheckFailed, match="unknown names"):
        check_collapse_interpretation(FRACTIONS, {"float16"})


def test_frequency_share_is_one_for_a_pure_wave_and_small_for_noise():
    from grokkit.course.nb06 import frequency_share

    x = np.arange(67)
    wave = np.stack([np.cos(2 * np.pi * 5 * x / 67 + 0.3), np.sin(2 * np.pi * 11 * x / 67)], axis=1)
    assert frequency_share(wave) == pytest.approx([1.0, 1.0])
    noise = np.random.default_rng(0).normal(size=(67, 50))
    assert frequency_share(noise).mean() < 0.2


# --------------------------------------------------------------------------- section 5: architectures

def _fake_run(train_acc: float, best_test_acc: float):
    """A stand-in Run with the two curves check_architecture_story reads."""
    from types import SimpleNamespace

    return SimpleNamespace(metrics={"train_acc": np.array([0.1, train_acc]), "test_acc": np.array([0.0, best_test_acc])})


def _architecture_story(collapsed_best: float = 0.2, tied_best: float = 0.95, untied_best: float = 0.5,
                        collapsed_fit: float = 1.0) -> dict:
    return {
        "tied, wd 0.3": [_fake_run(1.0, 0.2)] * 3,
        "tied, wd 2.0": [_fake_run(1.0, tied_best)] * 3,
        "untied, wd 0.3": [_fake_run(1.0, 0.1)] * 3,
        "untied, wd 2.0": [_fake_run(1.0, untied_best)] * 3,
        "collapsed, wd 0.3": [_fake_run(collapsed_fit, collapsed_best)] * 3,
        "collapsed, wd 2.0": [_fake_run(0.4, 0.05)] * 3,
    }


def test_the_architecture_story_passes_when_only_the_tied_model_generalizes(capsys):
    from grokkit.course.nb06 import check_architecture_story

    check_architecture_story(_architecture_story(), 0.9)
    assert capsys.readouterr().out.count("✅") == 4


@pytest.mark.parametrize("change, claim", [
    ({"collapsed_best": 0.95}, "no collapsed run"),
    ({"tied_best": 0.6}, "the tied model with weight decay 2"),
    ({"untied_best": 0.93}, "the untied model does not reach"),
    ({"collapsed_fit": 0.7}, "fits its training pairs"),
])
def test_the_architecture_story_fails_when_its_phenomenon_is_absent(change, claim):
    from grokkit.course.nb06 import check_architecture_story

    with pytest.raises(CheckFailed, match=claim):
        check_architecture_story(_architecture_story(**change), 0.9)


def test_mirror_share_is_zero_on_the_pairs_a_le_b_and_near_the_train_fraction_on_all_pairs():
    from grokkit.course.nb06 import mirror_share

    assert mirror_share(replace(grokkit.PAIR_MODADD, symmetric=True)) == 0.0
    share = mirror_share(replace(grokkit.PAIR_MODADD, symmetric=False))
    # 40% of the 4,422 off-diagonal mirrors are drawn into training; the 67 pairs (a, a) have none
    assert 0.36 < share < 0.42


@pytest.fixture(scope="module")
def architecture_sweeps():
    from grokkit import sweep

    return {"L2": sweep.load("architecture"), "L1": sweep.load("architecture_l1")}


def test_the_shipped_architecture_sweeps_pass_their_checks_in_figure_20s_groups(architecture_sweeps, capsys):
    from grokkit.course.nb06 import architecture_groups, check_architecture_sweep

    groups = architecture_groups(architecture_sweeps)
    assert len(groups) == 16 and all(len(rows) == 6 for _, rows in groups.values())
    assert "collapsed · a ≤ b · L2" in groups and "tied · a ≤ b · L2 · d=64" in groups
    check_architecture_sweep(architecture_sweeps)
    assert capsys.readouterr().out.count("✅") == 4


def test_the_architecture_sweep_check_fails_if_collapsed_runs_had_generalized(architecture_sweeps):
    import copy

    from grokkit.course.nb06 import check_architecture_sweep

    tampered = copy.deepcopy(architecture_sweeps["L2"])
    collapsed = (tampered.field("embedding") == "collapsed") & tampered.field("symmetric").astype(bool)
    tampered.arrays["final_test_acc"][collapsed] = 0.99
    with pytest.raises(CheckFailed, match="every collapsed run on the pairs a ≤ b"):
        check_architecture_sweep({"L2": tampered, "L1": architecture_sweeps["L1"]})
