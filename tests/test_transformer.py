"""The one-layer transformer of notebook 07: config checks, forward pass, training, Grokfast, ablations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from grokkit.tasks import modadd_split
import grokkit
from grokkit.transformer import TransformerConfig, forward, held_out_accuracy, init_params, train_transformer

SMALL = TransformerConfig(p=7, train_fraction=0.6, d_model=16, n_heads=2, d_mlp=16, lr=3e-2, weight_decay=0.1, steps=40,
                          log_every=10,
                          save_every=20)


@pytest.mark.parametrize("field, value, words", [
    ("p", 2, "p = 2 is not allowed: p must be an integer >= 3"),
    ("train_fraction", 1.0, "train_fraction must be in (0, 1)"),
    ("n_heads", 3, "n_heads must be a divisor of d_model = 64"),
    ("d_mlp", 0, "d_mlp must be a positive integer"),
    ("lr", 0.0, "lr must be a number > 0"),
    ("grokfast_alpha", 1.0, "grokfast_alpha must be in [0, 1)"),
    ("save_every", -1, "save_every must be an integer >= 0"),
    ("seed", -3, "seed must be an integer >= 0"),
])
def test_a_bad_value_is_refused_naming_the_field_and_what_is_allowed(field, value, words):
    with pytest.raises(ValueError, match=r"TransformerConfig\." + field) as err:
        TransformerConfig(**{field: value})
    assert words.split(" must be ")[-1] in str(err.value)


def test_forward_gives_one_row_of_p_logits_per_pair_and_depends_on_the_order_of_a_and_b():
    params = init_params(SMALL)
    pairs = torch.tensor([[1, 2], [2, 1], [0, 6]])
    logits = forward(params, SMALL, pairs)
    assert logits.shape == (3, SMALL.p)
    assert not torch.allclose(logits[0], logits[1])     # positions make the model order-aware


def test_forward_matches_a_plain_full_attention_layer_read_at_the_last_position():
    cfg, params = SMALL, init_params(SMALL)
    pairs = torch.tensor([[3, 4], [5, 0]])
    x = params["W_E"][torch.cat([pairs, torch.full((2, 1), cfg.p)], 1)] + params["W_pos"]
    d, h = cfg.d_model, cfg.n_heads
    q, k, v = (x @ params[w] for w in ("W_Q", "W_K", "W_V"))
    split = lambda t: t.view(2, 3, h, d // h).transpose(1, 2)               # noqa: E731
    att = torch.softmax(split(q) @ split(k).transpose(-1, -2) / (d // h) ** 0.5, -1)  # every position, no mask
    z = (att @ split(v)).transpose(1, 2).reshape(2, 3, d) @ params["W_O"]
    resid = (x + z)[:, 2]
    resid = resid + torch.relu(resid @ params["W_in"] + params["b_in"]) @ params["W_out"]
    assert torch.allclose(forward(params, cfg, pairs), resid @ params["W_U"], atol=1e-6)


def test_training_is_seeded_logs_on_schedule_and_lowers_the_training_loss():
    a, b = train_transformer(SMALL), train_transformer(SMALL)
    assert a.steps.tolist() == [0, 10, 20, 30, 40]
    assert a.snapshot_steps.tolist() == [0, 20, 40]
    assert a.embeddings.shape == (3, SMALL.p, SMALL.d_model)
    for name, values in a.metrics.items():
        assert np.array_equal(values, b.metrics[name]), name
    assert a.metrics["train_loss"][-1] < 0.01 * a.metrics["train_loss"][0] and a.metrics["train_acc"][-1] == 1.0
    assert not np.array_equal(a.metrics["train_loss"], train_transformer(replace(SMALL, seed=1)).metrics["train_loss"])


def test_grokfast_changes_the_trajectory_and_lambda_zero_is_plain_adamw():
    plain = train_transformer(SMALL)
    off = train_transformer(replace(SMALL, grokfast_alpha=0.9, grokfast_lambda=0.0))
    on = train_transformer(replace(SMALL, grokfast_alpha=0.9, grokfast_lambda=2.0))
    assert np.array_equal(plain.metrics["train_loss"], off.metrics["train_loss"])
    assert not np.allclose(plain.metrics["train_loss"], on.metrics["train_loss"])


def test_held_out_accuracy_agrees_with_the_log_and_the_embedding_can_be_replaced():
    run = train_transformer(SMALL)
    assert held_out_accuracy(run) == pytest.approx(run.metrics["test_acc"][-1], abs=1e-6)
    same = held_out_accuracy(run, run.params["W_E"][:SMALL.p])
    assert same == pytest.approx(run.metrics["test_acc"][-1], abs=1e-6)
    # A zero embedding makes every pair look the same, so one answer for all: accuracy = that class's share.
    zero = held_out_accuracy(run, np.zeros((SMALL.p, SMALL.d_model)))
    test_y = modadd_split(SMALL.p, SMALL.train_fraction, symmetric=False, seed=SMALL.seed).test_y
    assert zero in {float(np.mean(test_y == c)) for c in range(SMALL.p)}
    with pytest.raises(ValueError, match=r"embedding has shape \(3, 8\): it must be \(p, d_model\) = \(7, 16\)"):
        held_out_accuracy(run, np.zeros((3, 8)))


def test_a_wrong_config_type_is_refused():
    with pytest.raises(TypeError, match="TransformerConfig"):
        train_transformer(object())


def test_the_transformer_run_is_the_run_record_everything_else_reads():
    run = train_transformer(SMALL)
    assert isinstance(run, grokkit.Run)
    assert run.embeddings.shape == (len(run.snapshot_steps), SMALL.p, SMALL.d_model)
    assert np.array_equal(run.weights_at(SMALL.steps)[0], run.params["W_E"][:SMALL.p])
    assert "TransformerRun(" in repr(run)
