"""Notebook 02's exercise checks accept right answers and name the mistake in wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import grokkit
from grokkit.course.core import CheckFailed
from grokkit.course.nb02 import (
    check_distractor_mass,
    check_objective_terms,
    check_parity_data,
    check_pruned_step,
    check_weight_decay_experiment,
    describe_run,
    reference_distractor_mass,
    reference_pruned_step,
)
from grokkit.tasks import parity_data
from grokkit.run import Run


def fake_run(train_acc=(0.5, 1, 1, 1), test_acc=(0.5, 0.6, 0.995, 1), weight_decay=1e-6, W_in=None):
    """A parity Run with the given curves and input weights (nothing trained)."""
    train_acc, test_acc = np.asarray(train_acc, float), np.asarray(test_acc, float)
    n = len(train_acc)
    steps = np.arange(n) * 100
    W_in = np.random.default_rng(0).normal(size=(n, 31, 4)) if W_in is None else W_in
    metrics = {"train_acc": train_acc, "test_acc": test_acc,
               "train_loss": np.geomspace(0.7, 1e-5, n), "test_loss": np.geomspace(0.7, 1e-4, n),
               "l1_norm": np.linspace(500, 100, n), "l2_norm": np.linspace(40, 10, n)}
    cfg = replace(grokkit.PAIR_PARITY, weight_decay=weight_decay)
    return Run(config=cfg, steps=steps, metrics=metrics, snapshot_steps=steps[: len(W_in)],
               snapshots={}, W_in=W_in, W_out=np.ones((len(W_in), W_in.shape[-1], 1)))


# --------------------------------------------------------------------------- 2.1 data


def right_data(n, n_bits, k, seed):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, n_bits)).astype(np.float32)
    x = np.hstack([bits, np.ones((n, 1), np.float32)])
    return x, (bits[:, :k].sum(axis=1) % 2).astype(np.int64)


def test_parity_data_right_answer_passes(capsys):
    check_parity_data(right_data)
    assert "✅ make_parity_data passed" in capsys.readouterr().out


def test_parity_data_the_engine_way_passes_too():
    def engine(n, n_bits, k, seed):
        s = parity_data(n_bits, k, n, 1, seed)
        return s.train_x, s.train_y

    check_parity_data(engine)


def test_parity_data_without_the_bias_column_fails():
    def no_bias(n, n_bits, k, seed):
        x, y = right_data(n, n_bits, k, seed)
        return x[:, :-1], y

    with pytest.raises(CheckFailed, match=r"x: wrong shape: expected \(1200, 31\) \(the bits and a bias column\), got \(1200, 30\)"):
        check_parity_data(no_bias)


def test_parity_data_with_the_parity_of_all_bits_fails_naming_a_row():
    def all_bits(n, n_bits, k, seed):
        x, _ = right_data(n, n_bits, k, seed)
        return x, (x[:, :-1].sum(axis=1) % 2).astype(np.int64)

    with pytest.raises(CheckFailed, match=r"y\[\d+\] = \d but the first 3 bits \[.*\] hold \d ones, so the label is \d"):
        check_parity_data(all_bits)


def test_parity_data_with_float_labels_fails_on_dtype():
    with pytest.raises(CheckFailed, match="y: wrong dtype: expected integer labels"):
        check_parity_data(lambda *a: (right_data(*a)[0], right_data(*a)[1].astype(float)))


def test_parity_data_that_ignores_the_seed_fails():
    with pytest.raises(CheckFailed, match="seeds 7 and 8 gave the same data"):
        check_parity_data(lambda n, b, k, seed: right_data(n, b, k, 0))


def test_parity_data_unseeded_fails():
    def unseeded(n, n_bits, k, seed):
        return right_data(n, n_bits, k, np.random.randint(1 << 30))

    with pytest.raises(CheckFailed, match="same seed gave different data"):
        check_parity_data(unseeded)


def test_parity_data_with_biased_bits_fails():
    def biased(n, n_bits, k, seed):
        rng = np.random.default_rng(seed)
        bits = (rng.random((n, n_bits)) < 0.8).astype(np.float32)
        return np.hstack([bits, np.ones((n, 1), np.float32)]), (bits[:, :k].sum(1) % 2).astype(np.int64)

    with pytest.raises(CheckFailed, match=r"bit 0 is 1 in 8\d% of the rows"):
        check_parity_data(biased)


# --------------------------------------------------------------------------- 2.2 distractor mass


def test_distractor_mass_right_answer_passes(capsys):
    check_distractor_mass(lambda W, k=3: np.abs(W[..., k:-1, :]).sum(axis=(-2, -1)), fake_run())
    assert "✅ distractor_mass passed (4 cases)" in capsys.readouterr().out


def test_distractor_mass_including_the_bias_row_fails():
    with pytest.raises(CheckFailed, match=r"distractor_mass\(<array of shape \(31, 8\)>, 3\): wrong value"):
        check_distractor_mass(lambda W, k=3: np.abs(W[..., k:, :]).sum(axis=(-2, -1)))


def test_distractor_mass_summed_over_snapshots_too_fails_on_type():
    with pytest.raises(CheckFailed, match=r"\(<array of shape \(5, 31, 8\)>, 3\): wrong type: expected a numpy.ndarray"):
        check_distractor_mass(lambda W, k=3: float(np.abs(W[..., k:-1, :]).sum()))


def test_distractor_mass_without_absolute_values_fails():
    with pytest.raises(CheckFailed, match="wrong value"):
        check_distractor_mass(lambda W, k=3: W[..., k:-1, :].sum(axis=(-2, -1)))


# --------------------------------------------------------------------------- 2.3 pruned step


def pruning_run():
    W = np.ones((6, 31, 4))
    for i, s in enumerate([1.0, 2.0, 1.5, 0.5, 0.08, 0.01]):
        W[i, 3:30] = s                                   # distractor rows; peak at snapshot 1
    return fake_run(train_acc=np.ones(6), test_acc=np.ones(6), W_in=W)


def test_pruned_step_right_answer_passes(capsys):
    run = pruning_run()
    assert reference_pruned_step(run) == 400
    check_pruned_step(run, 400)
    assert "✅ pruned_step passed (step 400)" in capsys.readouterr().out


def test_pruned_step_index_instead_of_step_says_so():
    with pytest.raises(CheckFailed, match="that is an index into run.snapshot_steps"):
        check_pruned_step(pruning_run(), 4)


def test_pruned_step_too_early_or_too_late_says_which():
    with pytest.raises(CheckFailed, match="too early"):
        check_pruned_step(pruning_run(), 300)
    with pytest.raises(CheckFailed, match="too late"):
        check_pruned_step(pruning_run(), 500)


def test_pruned_step_none_when_never_pruned():
    run = fake_run(W_in=np.ones((4, 31, 4)))
    check_pruned_step(run, None)
    with pytest.raises(CheckFailed, match="expected None"):
        check_pruned_step(run, 0)


# --------------------------------------------------------------------------- 2.4 objective terms


def test_objective_terms_right_answer_passes(capsys):
    def right(run):
        return run.metrics["train_loss"] / 2, run.config.weight_decay * run.metrics["l1_norm"]

    check_objective_terms(right, fake_run())
    assert "✅ objective_terms passed (2 cases)" in capsys.readouterr().out


def test_objective_terms_forgetting_the_half_fails():
    with pytest.raises(CheckFailed, match="item 0: wrong value at index 0"):
        check_objective_terms(lambda r: (r.metrics["train_loss"], r.config.weight_decay * r.metrics["l1_norm"]),
                              fake_run())


def test_objective_terms_with_a_hard_coded_lambda_fails_on_the_second_case():
    with pytest.raises(CheckFailed, match="item 1: wrong value at index 0"):
        check_objective_terms(lambda r: (r.metrics["train_loss"] / 2, 1e-6 * r.metrics["l1_norm"]), fake_run())


def test_objective_terms_with_the_l2_norm_fails():
    with pytest.raises(CheckFailed, match="item 1: wrong value"):
        check_objective_terms(lambda r: (r.metrics["train_loss"] / 2, r.config.weight_decay * r.metrics["l2_norm"]),
                              fake_run())


# --------------------------------------------------------------------------- 2.5 experiment


def wd_runs():
    return [
        fake_run(train_acc=[0.5, 1, 1, 1], test_acc=[0.5, 0.6, 0.7, 0.74], weight_decay=0.0),
        fake_run(train_acc=[0.5, 1, 1, 1], test_acc=[0.5, 0.6, 0.995, 1.0], weight_decay=1e-6),
        fake_run(train_acc=[0.5, 0.55, 0.6, 0.62], test_acc=[0.5, 0.5, 0.5, 0.52], weight_decay=1e-3),
    ]


def test_describe_run_names_the_four_outcomes():
    assert [describe_run(r) for r in wd_runs()] == ["memorizes", "groks", "fails"]
    assert describe_run(fake_run(train_acc=[0.5, 1, 1, 1], test_acc=[0.5, 0.995, 1, 1])) == "generalizes"


def test_weight_decay_experiment_right_answer_passes(capsys):
    check_weight_decay_experiment(wd_runs(), {0.0: "memorizes", 1e-6: "groks", 1e-3: "fails"})
    assert "✅ weight-decay experiment passed (0: memorizes; 1e-06: groks; 0.001: fails)" in capsys.readouterr().out


def test_weight_decay_experiment_wrong_word_fails_with_the_runs_numbers():
    with pytest.raises(CheckFailed, match=r"outcomes\[0\]: you said 'groks', but the run memorizes .*final test accuracy 74.0%"):
        check_weight_decay_experiment(wd_runs(), {0.0: "groks", 1e-6: "groks", 1e-3: "fails"})


def test_weight_decay_experiment_unknown_word_fails():
    with pytest.raises(CheckFailed, match=r"'overfits' is not one of"):
        check_weight_decay_experiment(wd_runs(), {0.0: "overfits", 1e-6: "groks", 1e-3: "fails"})


def test_weight_decay_experiment_needs_zero_and_far_too_much():
    runs = wd_runs()
    with pytest.raises(CheckFailed, match=r"no weight decay"):
        check_weight_decay_experiment(runs[1:], {1e-6: "groks", 1e-3: "fails"})
    with pytest.raises(CheckFailed, match=r"far too much"):
        check_weight_decay_experiment(runs[:2], {0.0: "memorizes", 1e-6: "groks"})


def test_weight_decay_experiment_missing_entry_fails():
    with pytest.raises(CheckFailed, match="no entry for weight_decay 0.001"):
        check_weight_decay_experiment(wd_runs(), {0.0: "memorizes", 1e-6: "groks", 1e-2: "fails"})


def test_reference_distractor_mass_of_one_matrix_is_a_float():
    W = np.zeros((31, 2))
    W[3:30] = -1
    assert reference_distractor_mass(W) == 54.0


def test_parity_data_with_repeated_rows_fails():
    def repeated(n, n_bits, k, seed):
        x, y = right_data(400, n_bits, k, seed)   # 400 random rows, repeated
        return np.tile(x, (n // 400 + 1, 1))[:n], np.tile(y, n // 400 + 1)[:n]

    with pytest.raises(CheckFailed, match="many rows are identical"):
        check_parity_data(repeated)
