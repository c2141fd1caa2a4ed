"""Notebook 03's exercise checks accept right answers and name the mistake in wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from grokkit import ParityConfig, analysis
from grokkit.course.core import CheckFailed
from grokkit.course.nb03 import (
    check_classify,
    check_goldilocks_answer,
    check_grok_steps,
    check_liu,
    check_mini_sweep,
    check_slowest_answer,
    class_table,
    generalizing_counts,
    grok_counts,
    reference_grok_steps,
)
from grokkit.run import Run

# --------------------------------------------------------------------------- fake runs

BASE = ParityConfig(n_bits=20, k=3, n_train=300, n_test=500, hidden_size=32, regularizer="l2",
                    weight_decay=0.1, steps=1000, log_every=100, save_every=0)
STEPS = np.arange(11) * 100
HI, LO = np.full(11, 0.6), np.array([0.6] + [1e-8] * 10)
LATE = np.concatenate([np.full(6, 0.6), np.geomspace(0.6, 1e-7, 5)])


def fake_run(wd, seed, train_loss, test_loss, base=BASE):
    """A parity Run with the given ordinary-scale (x2) loss curves; nothing trained."""
    cfg = replace(base, weight_decay=wd, seed=seed)
    m = {"train_loss": 2 * np.asarray(train_loss, float), "test_loss": 2 * np.asarray(test_loss, float),
         "train_acc": np.ones(11), "test_acc": np.ones(11)}
    return Run(config=cfg, steps=STEPS, metrics=m, snapshot_steps=np.array([0, 1000]), snapshots={},
               W_in=np.zeros((2, 21, 32)), W_out=np.zeros((2, 32, 1)))


def runs_with(grok_at):
    """3 seeds per weight decay; grok_at[wd] of them grok, the others memorize."""
    out = []
    for wd, n in grok_at.items():
        for s in range(3):
            out.append(fake_run(wd, s, LO, LATE) if s < n else fake_run(wd, s, LO, HI))
    return out


GOLDILOCKS = runs_with({0.01: 0, 0.03: 1, 0.1: 3, 0.3: 1, 1.0: 0})


# --------------------------------------------------------------------------- 3.1 classify


def right_classify(train_loss, test_loss, min_loss=1e-5, max_ratio=5e4):
    if np.nanmin(train_loss) > min_loss:
        return "fail"
    if np.nanmin(test_loss) > min_loss:
        return "memorize"
    if np.nanmax(test_loss / train_loss) < max_ratio:
        return "generalize"
    return "grok"


def test_classify_right_answer_passes(capsys):
    check_classify(right_classify)
    assert "✅ classify passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, needle", [
    # the final loss instead of the smallest
    (lambda tr, te, min_loss=1e-5, max_ratio=5e4: right_classify(tr[-1:], te[-1:], min_loss, max_ratio), "expected"),
    # the ratio test before the test-loss test
    (lambda tr, te, min_loss=1e-5, max_ratio=5e4: ("fail" if tr.min() > min_loss else "generalize"
                                                   if (te / tr).max() < max_ratio else "memorize"
                                                   if te.min() > min_loss else "grok"), "expected"),
    # thresholds ignored
    (lambda tr, te, min_loss=1e-5, max_ratio=5e4: right_classify(tr, te), "expected"),
    # >= instead of >
    (lambda tr, te, min_loss=1e-5, max_ratio=5e4: ("fail" if tr.min() >= min_loss else "memorize"
                                                   if te.min() >= min_loss else "generalize"
                                                   if (te / tr).max() < max_ratio else "grok"), "expected"),
])
def test_classify_wrong_answers_fail(wrong, needle):
    with pytest.raises(CheckFailed, match=needle):
        check_classify(wrong)


def test_classify_not_implemented_says_so():
    def stub(train_loss, test_loss, min_loss=1e-5, max_ratio=5e4):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented"):
        check_classify(stub)


# --------------------------------------------------------------------------- 3.4 Liu


def right_liu(steps, train_acc, test_acc, level=0.9, delay=1000):
    tr = np.nonzero(train_acc >= level)[0]
    te = np.nonzero(test_acc >= level)[0]
    if len(tr) == 0:
        return "confusion"
    if len(te) == 0:
        return "memorization"
    return "comprehension" if steps[te[0]] - steps[tr[0]] < delay else "grokking"


def test_liu_right_answer_passes(capsys):
    check_liu(right_liu)
    assert "✅ liu_class passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [
    # <= instead of <: a delay of exactly 1000 is comprehension
    lambda s, tr, te, level=0.9, delay=1000: ("confusion" if not (tr >= level).any() else "memorization"
                                              if not (te >= level).any() else "comprehension"
                                              if s[np.argmax(te >= level)] - s[np.argmax(tr >= level)] <= delay
                                              else "grokking"),
    # test accuracy checked first
    lambda s, tr, te, level=0.9, delay=1000: ("memorization" if not (te >= level).any()
                                              else right_liu(s, tr, te, level, delay)),
    # level ignored
    lambda s, tr, te, level=0.9, delay=1000: right_liu(s, tr, te, 0.9, delay),
])
def test_liu_wrong_answers_fail(wrong):
    with pytest.raises(CheckFailed):
        check_liu(wrong)


# --------------------------------------------------------------------------- 3.2, 3.3 mini-sweep

WDS = (0.01, 0.03, 0.1, 0.3, 1.0)


def test_mini_sweep_right_runs_pass(capsys):
    check_mini_sweep(GOLDILOCKS, WDS, 3, base=BASE)
    assert "✅ mini sweep passed" in capsys.readouterr().out


def test_mini_sweep_wrong_runs_fail():
    with pytest.raises(CheckFailed, match="expected 5 weight decays x 3 seeds"):
        check_mini_sweep(GOLDILOCKS[:-1], WDS, 3)
    doubled = GOLDILOCKS[:-1] + [GOLDILOCKS[0]]
    with pytest.raises(CheckFailed, match="no run with weight_decay=1 and seed=2"):
        check_mini_sweep(doubled, WDS, 3)
    other = GOLDILOCKS[:-1] + [fake_run(1.0, 2, LO, HI, base=replace(BASE, hidden_size=64))]
    with pytest.raises(CheckFailed, match="hidden_size"):
        check_mini_sweep(other, WDS, 3, base=BASE)
    with pytest.raises(CheckFailed, match="wrong type"):
        check_mini_sweep("runs", WDS, 3)


def test_tables_count_classes():
    table = class_table(GOLDILOCKS)
    assert table[0.1] == {"fail": 0, "memorize": 0, "generalize": 0, "grok": 3}
    assert table[0.01]["memorize"] == 3
    assert grok_counts(GOLDILOCKS) == {0.01: 0, 0.03: 1, 0.1: 3, 0.3: 1, 1.0: 0}
    assert generalizing_counts(GOLDILOCKS) == {0.01: 0, 0.03: 1, 0.1: 3, 0.3: 1, 1.0: 0}
    assert generalizing_counts([fake_run(0.1, 0, LO, LO)]) == {0.1: 1}
    assert analysis.classify_run(GOLDILOCKS[6]) == "grok"


def test_goldilocks_answer_right_and_wrong(capsys):
    check_goldilocks_answer(GOLDILOCKS, 0.1)
    assert "✅ best weight decay passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="at weight decay 0.01 0 runs generalize, but 0.1 has 3"):
        check_goldilocks_answer(GOLDILOCKS, 0.01)
    with pytest.raises(CheckFailed, match="not one of the weight decays"):
        check_goldilocks_answer(GOLDILOCKS, 0.2)
    with pytest.raises(CheckFailed, match="wrong type"):
        check_goldilocks_answer(GOLDILOCKS, "0.1")
    with pytest.raises(CheckFailed, match="none of your runs generalized"):
        check_goldilocks_answer(runs_with({w: 0 for w in WDS}), 0.1)


# --------------------------------------------------------------------------- 3.5 slowest grokking


def right_grok_steps(steps, test_loss, weight_decays, classes, min_loss=1e-5):
    out = {}
    for wd in sorted(set(weight_decays.tolist())):
        hits = [steps[np.argmax(test_loss[r] <= min_loss)] for r in range(len(test_loss))
                if weight_decays[r] == wd and classes[r] in ("grok", "generalize") and (test_loss[r] <= min_loss).any()]
        out[float(wd)] = float(np.median(hits)) if hits else None
    return out


def test_grok_steps_right_answer_passes(capsys):
    tr, te = np.stack([LO] * 3), np.stack([LATE, LO, HI])
    check_grok_steps(right_grok_steps, STEPS, te, np.array([0.1, 0.1, 0.3]), np.array(["grok", "grok", "memorize"]))
    assert "✅ median_grok_step passed (4 cases)" in capsys.readouterr().out
    assert tr.shape == te.shape


@pytest.mark.parametrize("wrong", [
    # only the grokking runs counted, not the ones that generalize at once
    lambda s, te, wds, cls, min_loss=1e-5: right_grok_steps(s, te, wds, np.where(cls == "grok", "grok", "x"),
                                                            min_loss),
    # mean instead of median
    lambda s, te, wds, cls, min_loss=1e-5: {w: (None if v is None else v + 1) for w, v in
                                            right_grok_steps(s, te, wds, cls, min_loss).items()},
    # threshold ignored
    lambda s, te, wds, cls, min_loss=1e-5: right_grok_steps(s, te, wds, cls),
])
def test_grok_steps_wrong_answers_fail(wrong):
    with pytest.raises(CheckFailed):
        check_grok_steps(wrong)


def test_slowest_answer_right_and_wrong(capsys):
    medians = {0.01: None, 0.03: 4000.0, 0.1: 1500.0, 0.3: 800.0, 1.0: None}
    check_slowest_answer(medians, 0.03)
    assert "✅ slowest to generalize passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="took a median 800 steps, but 0.03 took 4000"):
        check_slowest_answer(medians, 0.3)
    with pytest.raises(CheckFailed, match="no run generalized at weight decay 0.01"):
        check_slowest_answer(medians, 0.01)
    with pytest.raises(CheckFailed, match="no weight decay has a generalizing run"):
        check_slowest_answer({0.1: None}, 0.1)
    assert reference_grok_steps(STEPS, np.stack([LATE]), np.array([0.1]), np.array(["grok"])) == {0.1: 900.0}
