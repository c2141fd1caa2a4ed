"""Notebook 04's checks pass right answers and real phenomena, and fail wrong answers and absent phenomena.

The claim checks read only a run's config, metrics and raw snapshots, so the tests use
small stand-in runs whose weights are written down by hand: a trained-looking one (equal
norms, a regular pentagon, out-projections at twice the angle) and ones that break each
property in turn.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import grokkit
from grokkit.construction import construction_accuracy
from grokkit.course import nb04
from grokkit.course.core import CheckFailed
from grokkit.models import circular_embedding


# --------------------------------------------------------------------------- stand-in runs


def fake_run(in_deg, out_deg=None, in_len=None, out_len=None, *, seed=86, train_acc=None, test_acc=None):
    """A stand-in five-neuron Run: final in-/out-projections at the given angles and lengths."""
    t = np.radians(np.asarray(in_deg, float))
    o = 2 * t if out_deg is None else np.radians(np.asarray(out_deg, float))
    li = np.ones_like(t) * 100 if in_len is None else np.asarray(in_len, float)
    lo = np.ones_like(t) * 120 if out_len is None else np.asarray(out_len, float)
    hidden = np.stack([li * np.cos(t), li * np.sin(t)])            # (2, H)
    out = np.stack([lo * np.cos(o), lo * np.sin(o)], axis=1)       # (H, 2)
    start = np.random.default_rng(0).normal(size=(2, len(t)))
    steps = np.arange(0, 301, 30)
    ramp = np.linspace(0.01, 1.0, len(steps))
    return SimpleNamespace(
        config=replace(grokkit.PAIR_FIVE_NEURON, seed=seed),
        steps=steps,
        metrics={"train_acc": ramp.copy() if train_acc is None else np.asarray(train_acc, float),
                 "test_acc": ramp.copy() if test_acc is None else np.asarray(test_acc, float)},
        snapshots={"hidden": np.stack([start, hidden]), "out": np.stack([start.T, out])},
    )


PENTAGON = [10, 82, 154, 226, 298]
# A failed-looking run: two pairs of neurons huddled together, one of each pair pointing its output wrong.
HUDDLED = [-6, -86, -168, -17, -154]
HUDDLED_OUT = [2 * -6 + 148, 2 * -86, 2 * -168 - 143, 2 * -17, 2 * -154]


# --------------------------------------------------------------------------- exercise 4.1


def test_circular_embedding_right_answer_passes(capsys):
    def right(p):
        x = 2 * np.pi * np.arange(p) / p
        e = np.stack([np.cos(x), np.sin(x)], axis=1)
        return e / np.linalg.norm(e, axis=0)

    nb04.check_circular_embedding(right)
    assert "✅ circular_embedding passed (4 cases)" in capsys.readouterr().out


def test_circular_embedding_unnormalized_is_named():
    def unit_circle(p):
        x = 2 * np.pi * np.arange(p) / p
        return np.stack([np.cos(x), np.sin(x)], axis=1)

    with pytest.raises(CheckFailed, match="each column must have unit norm"):
        nb04.check_circular_embedding(unit_circle)


def test_circular_embedding_swapped_columns_is_named():
    with pytest.raises(CheckFailed, match="columns are swapped"):
        nb04.check_circular_embedding(lambda p: circular_embedding(p)[:, ::-1].copy())


def test_circular_embedding_wrong_period_fails_with_the_call():
    def two_turns(p):
        return circular_embedding(p, (2,))

    with pytest.raises(CheckFailed, match=r"circular_embedding\(67\): wrong value"):
        nb04.check_circular_embedding(two_turns)


# --------------------------------------------------------------------------- exercise 4.2


def test_spacing_error_reference_values():
    assert nb04.spacing_error(fake_run(PENTAGON).snapshots["hidden"][-1]) == pytest.approx(0, abs=1e-9)
    # gaps 14, 68, 69, 11 and 198 (wrapping round) degrees -> worst |gap - 72| = 126
    assert nb04.spacing_error(fake_run(HUDDLED).snapshots["hidden"][-1]) == pytest.approx(126.0, abs=1e-6)


def test_spacing_error_right_answer_passes(capsys):
    def right(hidden):
        a = np.sort(np.arctan2(hidden[1], hidden[0]))
        gaps = np.diff(np.append(a, a[0] + 2 * np.pi))
        return float(np.degrees(np.abs(gaps - 2 * np.pi / len(a))).max())

    nb04.check_spacing_error(right, [fake_run(PENTAGON), fake_run(HUDDLED)])
    assert "✅ spacing_error passed (6 cases)" in capsys.readouterr().out


def test_spacing_error_forgetting_the_wrapping_gap_fails():
    def no_wrap(hidden):
        a = np.sort(np.arctan2(hidden[1], hidden[0]))
        return float(np.degrees(np.abs(np.diff(a) - 2 * np.pi / len(a))).max())

    with pytest.raises(CheckFailed, match="spacing_error"):
        nb04.check_spacing_error(no_wrap)


def test_spacing_error_in_radians_fails():
    def radians(hidden):
        a = np.sort(np.arctan2(hidden[1], hidden[0]))
        gaps = np.diff(np.append(a, a[0] + 2 * np.pi))
        return float(np.abs(gaps - 2 * np.pi / len(a)).max())

    with pytest.raises(CheckFailed, match="wrong value"):
        nb04.check_spacing_error(radians)


def test_failures_are_uneven_passes_and_fails():
    good = fake_run(PENTAGON, seed=2)
    bad = fake_run(HUDDLED, HUDDLED_OUT, seed=0, test_acc=np.full(11, 0.16))
    nb04.check_failures_are_uneven([good, bad])
    # a failed run whose neurons are nevertheless evenly spread contradicts the claim
    even_but_failed = fake_run(PENTAGON, seed=3, test_acc=np.full(11, 0.16))
    with pytest.raises(CheckFailed, match="seed 3 \\(failed\\): 0°"):
        nb04.check_failures_are_uneven([good, even_but_failed])
    # so does a solved run with huddled neurons
    with pytest.raises(CheckFailed, match="not true"):
        nb04.check_failures_are_uneven([fake_run(HUDDLED, seed=4)])


# --------------------------------------------------------------------------- exercise 4.3


def right_accuracy(N, p, activation="relu"):
    x = np.arange(p)
    th = 2 * np.pi * np.arange(N) / N
    w_in = np.cos(2 * np.pi * x[:, None] / p - th)
    w_out = np.cos(2 * np.pi * x[None, :] / p - 2 * th[:, None])
    pre = w_in[:, None, :] + w_in[None, :, :]
    act = np.maximum(pre, 0) if activation == "relu" else pre ** 2
    return float(((act @ w_out).argmax(-1) == (x[:, None] + x[None, :]) % p).mean())


def test_construction_accuracy_right_answer_passes(capsys):
    nb04.check_construction_accuracy(right_accuracy)
    assert "✅ construction_accuracy passed (9 cases, 2 with exact ties)" in capsys.readouterr().out


def test_construction_accuracy_over_the_pairs_a_le_b_only_fails_naming_it():
    def symmetric_only(N, p, activation="relu"):
        x = np.arange(p)
        th = 2 * np.pi * np.arange(N) / N
        w_in = np.cos(2 * np.pi * x[:, None] / p - th)
        w_out = np.cos(2 * np.pi * x[None, :] / p - 2 * th[:, None])
        pre = w_in[:, None, :] + w_in[None, :, :]
        act = np.maximum(pre, 0) if activation == "relu" else pre ** 2
        right = (act @ w_out).argmax(-1) == (x[:, None] + x[None, :]) % p
        return float(right[x[:, None] <= x[None, :]].mean())

    with pytest.raises(CheckFailed, match=r"is the accuracy over the pairs a <= b only; the exercise asks for all p x p = 4,489"):
        nb04.check_construction_accuracy(symmetric_only)


def test_construction_accuracy_out_at_the_same_angle_fails():
    def same_angle(N, p, activation="relu"):
        x = np.arange(p)
        th = 2 * np.pi * np.arange(N) / N
        w_in = np.cos(2 * np.pi * x[:, None] / p - th)
        w_out = w_in.T
        pre = w_in[:, None, :] + w_in[None, :, :]
        act = np.maximum(pre, 0) if activation == "relu" else pre ** 2
        return float(((act @ w_out).argmax(-1) == (x[:, None] + x[None, :]) % p).mean())

    with pytest.raises(CheckFailed, match=r"construction_accuracy\(5, 67, 'relu'\): wrong value: expected 1.0"):
        nb04.check_construction_accuracy(same_angle)


def test_construction_accuracy_ignoring_the_activation_fails():
    with pytest.raises(CheckFailed, match="'square'"):
        nb04.check_construction_accuracy(lambda N, p, activation="relu": right_accuracy(N, p, "relu"))


# --------------------------------------------------------------------------- exercise 4.4


def test_construction_sweep_right_and_wrong():
    nb04.check_construction_sweep([5, 7, 9, 10], [3, 5, 6, 7, 8, 9, 10])
    nb04.check_construction_sweep(np.array([5, 7, 9, 10]), (3, 5, 6, 7, 8, 9, 10))
    with pytest.raises(CheckFailed, match="relu_exact"):
        nb04.check_construction_sweep(list(range(5, 11)), [3, 5, 6, 7, 8, 9, 10])
    with pytest.raises(CheckFailed, match="square_exact"):
        nb04.check_construction_sweep([5, 7, 9, 10], [3, 4, 5, 6, 7, 8, 9, 10])


def test_construction_facts_hold_and_fail_when_absent(monkeypatch):
    nb04.check_construction_facts()
    # If squaring neurons were exact at N = 4 too, the claim would be false.
    real = nb04.construction_accuracy
    monkeypatch.setattr(nb04, "construction_accuracy",
                        lambda N, p, act="relu", *a: 1.0 if (N, act) == (4, "square") else real(N, p, act))
    with pytest.raises(CheckFailed, match="not for N = 4"):
        nb04.check_construction_facts()
    # If four ReLU neurons sufficed, five would not be the fewest.
    monkeypatch.setattr(nb04, "construction_accuracy",
                        lambda N, p, act="relu", *a: 1.0 if (N, act) == (4, "relu") else real(N, p, act))
    with pytest.raises(CheckFailed, match="fewest ReLU neurons"):
        nb04.check_construction_facts()


def test_small_errors_claim(monkeypatch, capsys):
    assert 1.0 < nb04.max_angle_error(5, 67) < 2.0
    assert nb04.max_angle_error(3, 67, "square") < 1e-6            # x**2 with N = 3 is exact
    nb04.check_construction_facts()
    assert "largest error 1.5" in capsys.readouterr().out
    # at p = 119 the error exceeds half the spacing (1.51 degrees): there five neurons first fail
    assert nb04.max_angle_error(5, 119) > 180 / 119
    monkeypatch.setattr(nb04, "max_angle_error", lambda N, p, act="relu": 3.0)
    with pytest.raises(CheckFailed, match="less than half the spacing of the answers"):
        nb04.check_construction_facts()


# --------------------------------------------------------------------------- exercises 4.5, 4.6


def test_mirror_strength_right_and_wrong():
    nb04.check_mirror_strength(lambda N: float(abs(np.exp(4j * 2 * np.pi * np.arange(N) / N).mean())))
    with pytest.raises(CheckFailed, match=r"mirror_strength\(1\): wrong value: expected 1.0, got 0.0"):
        # the S_2 sum instead of S_4 (and divided by 1 less)
        nb04.check_mirror_strength(lambda N: 0.0 if N == 1 else float(abs(np.exp(2j * 2 * np.pi * np.arange(N) / N).mean())))
    with pytest.raises(CheckFailed, match=r"mirror_strength\(2\): wrong value: expected 1.0, got 2.0"):
        nb04.check_mirror_strength(lambda N: float(abs(np.exp(4j * 2 * np.pi * np.arange(N) / N).sum())))


def test_first_failing_modulus():
    expected = nb04.first_failing_odd_modulus(5, "relu")
    assert construction_accuracy(5, expected, "relu") < 1.0
    assert construction_accuracy(5, expected - 2, "relu") == 1.0
    nb04.check_first_failing_modulus(expected)
    with pytest.raises(CheckFailed, match="wrong value"):
        nb04.check_first_failing_modulus(expected + 2)
    with pytest.raises(CheckFailed, match="is even"):
        nb04.check_first_failing_modulus(12)
    with pytest.raises(CheckFailed, match="expected an integer"):
        nb04.check_first_failing_modulus(float(expected))


# --------------------------------------------------------------------------- claims about training


def test_trained_looking_run_passes_every_claim(capsys):
    run = fake_run(PENTAGON, in_len=[100, 95, 105, 110, 90], out_len=[120, 118, 125, 100, 130])
    nb04.check_rise_together(run)
    nb04.check_equal_norms(run)
    nb04.check_even_spacing(run)
    nb04.check_doubled_rotation(run)
    assert capsys.readouterr().out.count("✅") == 4


def test_unequal_norms_fail():
    with pytest.raises(CheckFailed, match="norms end within 25%"):
        nb04.check_equal_norms(fake_run(PENTAGON, in_len=[100, 100, 100, 100, 30]))


def test_uneven_spacing_fails():
    with pytest.raises(CheckFailed, match="evenly spaced"):
        nb04.check_even_spacing(fake_run(HUDDLED))


def test_out_projection_at_the_same_angle_fails():
    with pytest.raises(CheckFailed, match="twice its in-projection"):
        nb04.check_doubled_rotation(fake_run(PENTAGON, out_deg=PENTAGON))


def test_out_projection_turned_by_a_constant_fails():
    # doubling plus a fixed rotation would predict a + b + constant: wrong, so the check must notice
    with pytest.raises(CheckFailed, match="twice its in-projection"):
        nb04.check_doubled_rotation(fake_run(PENTAGON, out_deg=[2 * t + 40 for t in PENTAGON]))


def test_grokking_curves_do_not_rise_together():
    steps = 11
    late = np.r_[np.full(8, 0.05), [0.5, 1.0, 1.0]]
    with pytest.raises(CheckFailed, match="rise together"):
        nb04.check_rise_together(fake_run(PENTAGON, train_acc=np.ones(steps), test_acc=late))


def test_claims_refuse_a_run_without_the_circular_embedding():
    run = fake_run(PENTAGON)
    run.config = grokkit.PAIR_MODADD
    with pytest.raises(CheckFailed, match="fixed circular embedding"):
        nb04.check_even_spacing(run)


def test_some_seeds_fail():
    ok = fake_run(PENTAGON, seed=2)
    bad = fake_run(HUDDLED, seed=0, test_acc=np.full(11, 0.16))
    nb04.check_some_seeds_fail([ok, bad])
    with pytest.raises(CheckFailed, match="seeds below 50%: none"):
        nb04.check_some_seeds_fail([ok, fake_run(PENTAGON, seed=3)])
    with pytest.raises(CheckFailed, match="seeds at 100%: none"):
        nb04.check_some_seeds_fail([bad])


@pytest.mark.slow
def test_the_real_five_neuron_run_shows_every_phenomenon():
    run = grokkit.train(grokkit.PAIR_FIVE_NEURON)
    nb04.check_rise_together(run)
    nb04.check_equal_norms(run)
    nb04.check_even_spacing(run)
    nb04.check_doubled_rotation(run)
