"""Configs: the explorable's defaults, and clear errors for values outside their domain."""

import dataclasses
import math
import os
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import grokkit
from grokkit.configs import (
    MAX_MEMORY_BYTES, MAX_SECONDS, ModAddConfig, ParityConfig, config_from_dict, config_to_dict, estimate_cost,
    make_config,
)
from grokkit.transformer import TransformerConfig


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
    ("matmul_rounding", "fp16"), ("matmul_rounding", None),
])
def test_bad_modadd_value_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(grokkit.PAIR_MODADD, **{field: value})


def test_matmul_rounding_is_refused_with_float64_naming_both():
    with pytest.raises(ValueError, match="matmul_rounding = 'tf32' is not allowed.*dtype = 'float64'"):
        replace(grokkit.PAIR_MODADD, dtype="float64", matmul_rounding="tf32")


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


# --------------------------------------------------------------------------- the reproductions


REAL_FIELDS = ["weight_decay", "lr", "eps", "init_scale", "grokfast_lambda", "grokfast_alpha", "beta1", "beta2",
               "dropout", "train_fraction"]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("field", REAL_FIELDS)
def test_inf_and_nan_are_refused_for_every_real_field(field, value):
    with pytest.raises(ValueError, match=rf"^ModAddConfig\.{field} = .* is not allowed: {field} must be .*finite"):
        replace(grokkit.PAIR_MODADD, **{field: value})


def test_eps_inf_no_longer_trains_200_steps_that_learn_nothing():
    with pytest.raises(ValueError, match="eps = inf is not allowed: eps must be a number > 0"):
        ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=200, eps=math.inf)


@pytest.mark.parametrize("base", [grokkit.PAIR_MODADD, grokkit.PAIR_PARITY, TransformerConfig()],
                         ids=["modadd", "parity", "transformer"])
def test_a_seed_of_2_to_the_32_or_more_is_refused_naming_the_seed(base):
    assert replace(base, seed=2**32 - 1).seed == 2**32 - 1
    for seed in (2**32, 2**64, -1):
        with pytest.raises(ValueError, match=r"seed = \d+ is not allowed: seed must be an integer >= 0 and < 2\*\*32"
                           if seed > 0 else "seed = -1 is not allowed"):
            replace(base, seed=seed)


@pytest.mark.parametrize("field,value", [
    ("train_fraction", True), ("lr", True), ("weight_decay", False), ("steps", True), ("hidden_size", True),
    ("p", True), ("seed", False), ("circular_freqs", (True,)), ("symmetric", 1), ("dropout", False),
])
def test_bools_are_refused_where_numbers_are_meant(field, value):
    with pytest.raises(ValueError, match=rf"ModAddConfig\.{field} = .* is not allowed: {field} must be"):
        replace(grokkit.PAIR_MODADD, **{field: value})


def test_train_fraction_true_or_one_would_leave_no_test_set_and_is_refused():
    for value in (True, 1.0, 1):
        with pytest.raises(ValueError, match="train_fraction must be in \\(0, 1\\), leaving pairs to test on"):
            replace(grokkit.PAIR_MODADD, train_fraction=value)
    assert ModAddConfig(p=3, embed_size=2, hidden_size=2, train_fraction=1 - 2**-53).n_train == 5


@pytest.mark.parametrize("field,value", [
    ("lr", "0.1"), ("weight_decay", "1"), ("steps", "100"), ("steps", 100.0), ("p", 67.0), ("seed", 1.5),
    ("hidden_size", None), ("embedding", 3), ("activation", ["relu"]), ("dtype", None), ("eps", [1e-8]),
    ("beta1", 0.9j), ("log_every", "10"), ("save_every", None),
])
def test_wrong_types_are_refused_with_a_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"ModAddConfig\.{field} = .* is not allowed: {field} must be"):
        replace(grokkit.PAIR_MODADD, **{field: value})


def test_lr_as_a_string_names_lr_instead_of_a_comparison_type_error():
    with pytest.raises(ValueError) as err:
        replace(grokkit.PAIR_MODADD, lr="0.1")
    assert str(err.value) == ("ModAddConfig.lr = '0.1' is not allowed: lr must be a number > 0 "
                              "(a finite real number, not a bool or a string)")


@pytest.mark.parametrize("embedding", ["tied", "untied", "circular"])
@pytest.mark.parametrize("freqs", ["abc", (), (0,), (34,), (1, 1), (1.0,), (True,), None, 5, ((1,),), {1}])
def test_circular_freqs_garbage_is_refused_for_every_embedding(embedding, freqs):
    with pytest.raises(ValueError, match="circular_freqs = .* is not allowed: circular_freqs must be a non-empty tuple "
                                         "of distinct integers in 1..33"):
        replace(grokkit.PAIR_MODADD, embedding=embedding, circular_freqs=freqs, embed_size=2)


def test_numpy_numbers_are_accepted_and_stored_as_python_numbers():
    c = replace(grokkit.PAIR_MODADD, lr=np.float32(0.5), steps=np.int64(10), circular_freqs=[np.int64(2)])
    assert type(c.lr) is float and type(c.steps) is int and c.circular_freqs == (2,)
    assert config_from_dict(config_to_dict(c)) == c


@pytest.mark.parametrize("cls,field,value", [
    (ModAddConfig, "hidden_size", 10**9), (ModAddConfig, "steps", 10**12), (ModAddConfig, "p", 10**6),
    (ModAddConfig, "embed_size", 10**8), (ModAddConfig, "save_every", 1), (ParityConfig, "n_train", 10**10),
    (ParityConfig, "n_bits", 10**9), (TransformerConfig, "d_mlp", 10**8),
])
def test_huge_sizes_and_steps_are_refused_with_the_memory_and_time_estimate(cls, field, value):
    kw = {"steps": 10**6} if field == "save_every" else {}
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.{field} = {value} is not allowed: {field} must be "
                                         r"(smaller|larger): this config would need about [\d,^]+ \w+ of memory "
                                         r"\(limit 16 GiB\) and about [\d,^]+ \w+ of training on one CPU core "
                                         r"\(limit 7 days; "):
        cls(**{field: value, **kw})


def test_the_estimate_names_what_it_refuses_and_accepts_the_course_configs():
    for c in (grokkit.PAIR_MODADD, grokkit.PAIR_PARITY, grokkit.GEN_MEM_GEN, grokkit.PAIR_FIVE_NEURON):
        memory, seconds = estimate_cost(c)
        assert 10**5 < memory < 2**30 and 0.1 < seconds < 600, (c, memory, seconds)
    memory, seconds = estimate_cost(replace(grokkit.PAIR_MODADD, steps=10**7))
    assert memory < MAX_MEMORY_BYTES * 10 and seconds < MAX_SECONDS
    big = replace(grokkit.PAIR_MODADD, steps=10**7, save_every=10**6)   # few snapshots: fits
    assert estimate_cost(big)[0] < MAX_MEMORY_BYTES


def test_parity_with_stablemax_is_refused_by_the_config_not_later_by_the_trainer():
    # Found by the property-based test below (ParityConfig(loss="stablemax") passed the config's checks).
    message = "ParityConfig.loss = 'stablemax' is not allowed: loss must be 'cross_entropy'"
    with pytest.raises(ValueError, match=message):
        ParityConfig(n_bits=1, k=1, n_train=1, n_test=1, hidden_size=1, steps=1, loss="stablemax")


def test_config_from_dict_refuses_a_non_dict_and_a_task_that_is_not_a_string():
    with pytest.raises(ValueError, match="config must be a dict"):
        config_from_dict(["modadd"])
    with pytest.raises(ValueError, match="task must be 'modadd' or 'parity'"):
        config_from_dict({"task": ["modadd"]})


# --------------------------------------------------------------------------- property-based: generated configs

# At least 500 generated cases per run (CI included); GROKKIT_HYPOTHESIS_EXAMPLES asks for more.
EXAMPLES = max(500, int(os.environ.get("GROKKIT_HYPOTHESIS_EXAMPLES", "500")))
GARBAGE = st.one_of(
    st.none(), st.booleans(), st.text(max_size=4), st.sampled_from([math.inf, -math.inf, math.nan]),
    st.lists(st.integers(0, 3), max_size=2), st.complex_numbers(max_magnitude=2, allow_nan=False, allow_infinity=False),
    st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=1), st.sampled_from([np.bool_(True), b"1"]),
)


def _finite(lo=None, hi=None, exclude_min=False, exclude_max=False):
    return st.floats(lo, hi, exclude_min=exclude_min, exclude_max=exclude_max, allow_nan=False, allow_infinity=False)


def _reals(lo, hi, lo_open=False, hi_open=False, sample=None):
    """(valid, invalid) strategies for a real field whose domain is lo..hi; valid values drawn from ``sample``."""
    invalid = [GARBAGE, _finite(None, lo, exclude_max=lo_open is False)]
    if lo_open:
        invalid.append(st.sampled_from([lo, int(lo)]))
    if hi is not None:
        invalid.append(_finite(hi, None, exclude_min=not hi_open))
    a, b = sample if sample is not None else (lo, hi)
    return _finite(a, b, exclude_min=lo_open and a == lo, exclude_max=hi_open and b == hi), st.one_of(*invalid)


def _ints(lo, hi, huge=None):
    """(valid, invalid) strategies for an integer field with valid values lo..hi (huge: refused by the estimate)."""
    invalid = [GARBAGE, st.integers(max_value=lo - 1), st.integers(lo, hi).map(lambda i: i + 0.5)]
    if huge is not None:
        invalid.append(st.integers(huge, huge * 10**20))
    return st.one_of(st.integers(lo, hi), st.integers(lo, hi).map(np.int64)), st.one_of(*invalid)


def _choices(options):
    return st.sampled_from(options), st.one_of(GARBAGE, st.text(max_size=8).filter(lambda s: s not in options))


COMMON = {
    "weight_decay": _reals(0.0, None, sample=(0.0, 1.0)), "lr": _reals(0.0, None, lo_open=True, sample=(1e-4, 1.0)),
    "eps": _reals(0.0, None, lo_open=True, sample=(1e-9, 1.0)),
    "init_scale": _reals(0.0, None, lo_open=True, sample=(0.05, 3.0)),
    "grokfast_lambda": _reals(0.0, None, sample=(0.0, 2.0)),
    "beta1": _reals(0.0, 1.0, hi_open=True), "beta2": _reals(0.0, 1.0, hi_open=True),
    "grokfast_alpha": _reals(0.0, 1.0, hi_open=True), "dropout": _reals(0.0, 1.0, hi_open=True),
    "steps": _ints(1, 12, huge=10**13), "log_every": _ints(1, 10**9), "save_every": _ints(0, 10**9),
    "seed": (st.integers(0, 2**32 - 1), st.one_of(GARBAGE, st.integers(2**32, 2**70), st.integers(max_value=-1))),
    "activation": _choices(grokkit.configs.ACTIVATIONS), "regularizer": _choices(grokkit.configs.REGULARIZERS),
    "loss": _choices(grokkit.configs.LOSSES), "dtype": _choices(grokkit.configs.DTYPES),
}
MODADD = {
    "p": _ints(3, 13, huge=10**7), "train_fraction": _reals(0.0, 1.0, lo_open=True, hi_open=True),
    "symmetric": (st.booleans(), st.one_of(st.integers(0, 1), st.text(max_size=3), st.none())),
    "embedding": _choices(grokkit.configs.EMBEDDINGS), "embed_size": _ints(1, 6, huge=10**10),
    "hidden_size": _ints(1, 6, huge=10**10), "matmul_rounding": _choices(grokkit.configs.MATMUL_ROUNDINGS),
}
PARITY = {"n_bits": _ints(1, 8, huge=10**11), "k": _ints(1, 8), "n_train": _ints(1, 24, huge=10**12),
          "n_test": _ints(1, 24, huge=10**12), "hidden_size": _ints(1, 6, huge=10**10)}


@st.composite
def config_cases(draw):
    """(config class, field values, names of the fields given invalid values): about half of the cases valid."""
    cls = draw(st.sampled_from([ModAddConfig, ParityConfig]))
    specs = {**COMMON, **(MODADD if cls is ModAddConfig else PARITY)}
    n_bad = draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
    bad = set(draw(st.lists(st.sampled_from(sorted(specs)), min_size=n_bad, max_size=n_bad, unique=True)))
    values = {name: draw(specs[name][name in bad]) for name in specs}
    if cls is ModAddConfig:
        p_ok = "p" not in bad
        top = (values["p"] - 1) // 2 if p_ok else 1
        if draw(st.integers(0, 9)) == 0:
            bad.add("circular_freqs")
            values["circular_freqs"] = draw(st.one_of(
                GARBAGE.filter(lambda v: not isinstance(v, list) or not v or not 1 <= min(v) <= max(v) <= top
                               or len(set(v)) < len(v)),
                st.sampled_from([(), (0,), (top + 1,), (1, 1), (1.0,), [True], "1"])))
        else:
            values["circular_freqs"] = tuple(draw(st.lists(st.integers(1, top), min_size=1, max_size=3, unique=True)))
            if values["embedding"] == "circular" and "embed_size" not in bad and draw(st.integers(0, 3)):
                values["embed_size"] = 2 * len(values["circular_freqs"])
    return cls, values, bad


def _violated_relations(cls, v, bad):
    """Fields a valid-typed config is refused for because of another field (computed independently)."""
    out = set()
    if cls is ParityConfig:
        if not {"k", "n_bits"} & bad and v["k"] > v["n_bits"]:
            out.add("k")
        if "loss" not in bad and v["loss"] != "cross_entropy":
            out.add("loss")
        return out
    if not {"embedding", "embed_size", "circular_freqs"} & bad and v["embedding"] == "circular" \
            and v["embed_size"] != 2 * len(v["circular_freqs"]):
        out.add("embed_size")
    if not {"matmul_rounding", "dtype"} & bad and v["matmul_rounding"] != "none" and v["dtype"] != "float32":
        out.add("matmul_rounding")
    if not {"p", "symmetric", "train_fraction"} & bad:
        n_pairs = v["p"] * (v["p"] + 1) // 2 if v["symmetric"] else v["p"] ** 2
        if int(v["train_fraction"] * n_pairs) < 1:
            out.add("train_fraction")
    return out


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(config_cases())
def test_generated_configs_are_refused_naming_a_bad_field_or_train_to_finite_numbers(tmp_path_factory, case):
    cls, values, bad = case
    expected = bad | _violated_relations(cls, values, bad)
    try:
        cfg = cls(**values)
    except ValueError as err:
        message = str(err)
        named = message.split(" = ", 1)[0].removeprefix(cls.__name__ + ".")
        assert message.startswith(f"{cls.__name__}.{named} = ") and f"{named} must be" in message, message
        assert named in expected, (message, expected)
        assert "\n" not in message
        event(f"refused: {'invalid field' if named in bad else 'relation'}")
        return
    event("accepted, trained, saved and loaded")
    assert not expected, f"accepted although {sorted(expected)} are bad: {values}"
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        assert type(v) in (int, float, str, bool, tuple), (f.name, v)
        assert not isinstance(v, float) or math.isfinite(v)
    run = grokkit.train(cfg, progress=False)
    finite = all(np.isfinite(m).all() for m in run.metrics.values()) and np.isfinite(run.W_in).all()
    assert finite or (run.diverged and run.diverged_step in set(run.steps.tolist())), run
    path = tmp_path_factory.mktemp("run") / f"lr{cfg.lr}"
    back = grokkit.Run.load(run.save(path))
    assert back.config == cfg and np.array_equal(back.W_out, run.W_out)
