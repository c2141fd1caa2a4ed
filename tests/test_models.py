"""Models: parameter counts, initialisation, collapsed weights equal the literal forward pass."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import grokkit
from grokkit import models, tasks


def test_parameter_counts_match_the_article():
    assert models.count_parameters(grokkit.PAIR_MODADD) == {"raw": 57_500, "collapsed": 3_216}
    assert models.count_parameters(grokkit.PAIR_FIVE_NEURON)["raw"] == 20


def test_initial_l2_norm_matches_the_reference_log():
    params = models.init_params(grokkit.PAIR_MODADD)
    norm = float(torch.sqrt(sum((v ** 2).sum() for v in params.values())))
    assert abs(norm - 37.39) < 1.0  # the reference logged 37.39 at step 0


def test_init_is_seeded():
    a = models.init_params(grokkit.PAIR_MODADD)["hidden"]
    b = models.init_params(grokkit.PAIR_MODADD)["hidden"]
    c = models.init_params(replace(grokkit.PAIR_MODADD, seed=1))["hidden"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_circular_embedding_columns_are_unit_norm_cos_sin():
    e = models.circular_embedding(67, (1,))
    assert e.shape == (67, 2)
    assert np.allclose(np.linalg.norm(e, axis=0), 1.0)
    assert np.allclose(e[:, 0] / e[0, 0], np.cos(2 * np.pi * np.arange(67) / 67))


@pytest.mark.parametrize("cfg", [
    replace(grokkit.PAIR_MODADD, embed_size=40, hidden_size=8),
    replace(grokkit.PAIR_MODADD, embedding="untied", embed_size=40, hidden_size=8),
    grokkit.PAIR_FIVE_NEURON,
    replace(grokkit.PAIR_MODADD, embed_size=40, hidden_size=8, activation="square"),
    replace(grokkit.PAIR_MODADD, embedding="collapsed", hidden_size=8),
])
def test_collapsed_weights_give_the_literal_forward(cfg):
    params = {k: v for k, v in models.init_params(cfg).items()}
    pairs = torch.as_tensor(tasks.modadd_pairs(cfg.p)[:200])
    literal = models.forward(params, cfg, pairs)
    W_in, W_out = models.collapse(params, cfg)
    collapsed = models.activation(W_in[pairs[:, 0]] + W_in[pairs[:, 1]], cfg.activation) @ W_out
    assert W_in.shape == (cfg.p, cfg.hidden_size) and W_out.shape == (cfg.hidden_size, cfg.p)
    assert torch.allclose(literal, collapsed, atol=1e-10)


def test_collapsed_model_trains_W_in_and_W_out_themselves():
    cfg = replace(grokkit.PAIR_MODADD, embedding="collapsed")
    params = models.init_params(cfg)
    assert {k: tuple(v.shape) for k, v in params.items()} == {"hidden": (67, 24), "out": (24, 67)}
    W_in, W_out = models.collapse(params, cfg)
    assert torch.equal(W_in, params["hidden"]) and torch.equal(W_out, params["out"])
    assert models.count_parameters(cfg) == {"raw": 3_216, "collapsed": 3_216}


def test_collapsed_init_has_the_explorables_variances():
    # As the explorable's code initialises its collapsed variant: W_in = VarianceScaling(2)
    # (variance 2/p), W_out = Linear(p) (TruncatedNormal(1/sqrt(H)), variance 0.7737/H). The
    # factored model's embed @ hidden has variance 0.7737 * 2/p at init, whatever embed_size.
    cfg = replace(grokkit.PAIR_MODADD, embedding="collapsed", hidden_size=400)
    collapsed = models.init_params(cfg)
    factored = models.collapse(models.init_params(replace(grokkit.PAIR_MODADD, hidden_size=400)),
                               grokkit.PAIR_MODADD)[0]
    assert np.isclose(float(collapsed["hidden"].var()), 2 / 67, rtol=0.05)
    assert np.isclose(float(factored.var()), 0.7737 * 2 / 67, rtol=0.05)
    assert np.isclose(float(collapsed["out"].var()), 0.7737 / 400, rtol=0.05)   # 0.7737: variance of N(0,1) cut at +-2


def test_collapsed_model_ignores_embed_size():
    a = models.init_params(replace(grokkit.PAIR_MODADD, embedding="collapsed", embed_size=500))
    b = models.init_params(replace(grokkit.PAIR_MODADD, embedding="collapsed", embed_size=32))
    assert all(torch.equal(a[k], b[k]) for k in a)
