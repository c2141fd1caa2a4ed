"""Configs: the explorable's defaults, and clear errors for values outside their domain."""

from dataclasses import replace

import pytest

import grokkit
from grokkit.configs import ModAddConfig, ParityConfig, config_from_dict, config_to_dict, make_config


def test_main_model_defaults_are_the_explorables():
    c = grokkit.PAIR_MODADD
    assert (c.p, c.train_fraction, c.symmetric, c.embedding) == (67, 0.4, True, "tied")
    assert (c.embed_size, c.hidden_size, c.weight_decay, c.lr) == (500, 24, 1.0, 1e-3)
    assert (c.beta1, c.beta2, c.steps, c.seed, c.regularizer) == (0.9, 0.98, 50_000, 0, "l2")
    assert (c.n_pairs, c.n_train) == (2278, 911)


def test_five_neuron_and_open_question_configs():
    f = grokkit.PAIR_FIVE_NEURON
    assert (f.embedding, f.circular_freqs, f.hidden_size, f.n_train, f.lr, f.weight_decay, f.steps, f.seed) == (
        "circular", (1,), 5, 683, 1e-2, 1e-3, 15_000, 86)
    r, g = grokkit.REVERSE_GROKKING, grokkit.GEN_MEM_GEN
    assert (r.embed_size, r.hidden_size, r.weight_decay, r.steps, r.seed) == (5, 10, 0.0, 20_000, 68)
    assert (g.train_fraction, g.n_train, g.embed_size, g.hidden_size, g.weight_decay, g.steps, g.seed) == (
        0.7, 1594, 8, 16, 0.05, 80_000, 78)


def test_replace_makes_an_experiment():
    c = replace(grokkit.PAIR_MODADD, weight_decay=0.1)
    assert c.weight_decay == 0.1 and grokkit.PAIR_MODADD.weight_decay == 1.0


@pytest.mark.parametrize("field,value", [
    ("p", 2), ("train_fraction", 0.0), ("train_fraction", 1.5), ("embedding", "shared"),
    ("embed_size", 0), ("hidden_size", -3), ("activation", "tanh"), ("dropout", 1.0),
    ("regularizer", "l3"), ("weight_decay", -1.0), ("lr", 0.0), ("lr", -1e-3), ("beta1", 1.0),
    ("steps", 0), ("log_every", 0), ("save_every", -1), ("seed", -1), ("loss", "mse"), ("dtype", "int8"),
])
def test_bad_modadd_value_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(grokkit.PAIR_MODADD, **{field: value})


@pytest.mark.parametrize("field,value", [
    ("lr", 0.0), ("weight_decay", -1.0), ("beta2", 1.0), ("grokfast_alpha", 1.0), ("grokfast_lambda", -1.0),
    ("steps", 0), ("log_every", True), ("save_every", -1), ("save_every", True), ("seed", -1), ("seed", True),
])
def test_mlp_and_transformer_configs_refuse_a_shared_field_with_the_same_words(field, value):
    from grokkit.transformer import TransformerConfig

    messages = []
    for base in (grokkit.PAIR_MODADD, grokkit.PAIR_PARITY, TransformerConfig()):
        with pytest.raises(ValueError, match=field) as err:
            replace(base, **{field: value})
        messages.append(str(err.value).split(" is not allowed: ")[1])
    assert len(set(messages)) == 1, messages


@pytest.mark.parametrize("field,value", [("k", 31), ("n_bits", 0), ("n_train", 0), ("hidden_size", 0)])
def test_bad_parity_value_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(grokkit.PAIR_PARITY, **{field: value})


def test_circular_embedding_size_must_match_frequencies():
    with pytest.raises(ValueError, match="embed_size"):
        ModAddConfig(embedding="circular", circular_freqs=(1, 2), embed_size=2)
    with pytest.raises(ValueError, match="circular_freqs"):
        ModAddConfig(embedding="circular", circular_freqs=(40,), embed_size=2)


def test_unknown_option_name_is_rejected_with_the_allowed_names():
    with pytest.raises(ValueError, match="hiden_size"):
        make_config("modadd", hiden_size=3)
    with pytest.raises(ValueError, match="task"):
        make_config("division")


def test_config_dict_round_trip():
    for c in (grokkit.PAIR_MODADD, grokkit.PAIR_FIVE_NEURON, grokkit.PAIR_PARITY):
        assert config_from_dict(config_to_dict(c)) == c
    assert isinstance(config_from_dict(config_to_dict(grokkit.PAIR_PARITY)), ParityConfig)
