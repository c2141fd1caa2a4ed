"""Notebook 05's checks pass right answers and real phenomena, and fail wrong answers and absent phenomena.

Training the 24-neuron model takes too long for a unit test, so the claim checks are
tested on stand-in runs whose final weights are written down: four key frequencies with
six neurons each, every neuron a pure wave, output phase twice the input phase, spread
evenly around each frequency's circle (this hand-made model gets every pair right, while
each group alone gets under 20%, like the trained one). Stand-ins that break one property
each must fail.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import grokkit
from grokkit import analysis, fourier
from grokkit.course import nb05
from grokkit.course.core import CheckFailed

P = 67
X = np.arange(P)
KEYS = (3, 20, 21, 33)


def waves(freqs=KEYS, per=6, out_mult=2, size=4.0):
    """Collapsed weights of a hand-made 'grokked' network: per neurons at each frequency."""
    w_in, w_out = [], []
    for k in freqs:
        for j in range(per):
            ph = 2 * np.pi * j / per + 0.3 * k
            w_in.append(np.cos(2 * np.pi * k * X / P - ph))
            w_out.append(np.cos(2 * np.pi * k * X / P - out_mult * ph))
    return size * np.array(w_in).T, size * np.array(w_out)


def noise(H=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(P, H)), rng.normal(size=(H, P))


def fake_run(final=None, start=None):
    """A stand-in Run with three snapshots: noise, halfway, final."""
    final = waves() if final is None else final
    start = noise(final[0].shape[1]) if start is None else start
    mid = tuple(0.5 * s + 0.5 * f for s, f in zip(start, final))
    steps = np.arange(0, 50_001, 1000)
    acc = np.where(steps >= 36_000, 1.0, 0.02)
    return SimpleNamespace(
        config=grokkit.PAIR_MODADD, steps=steps, snapshot_steps=np.array([0, 25_000, 50_000]),
        metrics={"train_acc": np.where(steps >= 1000, 1.0, 0.02), "test_acc": acc,
                 "train_loss": np.where(steps >= 1000, 1e-4, 4.2), "test_loss": np.where(steps >= 36_000, 1e-3, 50.0)},
        W_in=np.stack([start[0], mid[0], final[0]]), W_out=np.stack([start[1], mid[1], final[1]]),
    )


# --------------------------------------------------------------------------- exercise 5.1


def right_basis(p):
    x = np.arange(p)
    rows = [np.ones(p)]
    for k in range(1, (p - 1) // 2 + 1):
        rows += [np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)]
    b = np.array(rows)
    return b / np.linalg.norm(b, axis=1, keepdims=True)


def test_the_fft_reference_is_grokkits_basis():
    for p in (7, 13, 67):
        assert np.allclose(nb05.fft_fourier_basis(p), fourier.fourier_basis(p), atol=1e-12)


def test_fourier_basis_right_answer_passes(capsys):
    nb05.check_fourier_basis(right_basis)
    assert "✅ fourier_basis passed" in capsys.readouterr().out


def test_fourier_basis_unnormalized_rows_are_named():
    def unnormalized(p):
        b = right_basis(p)
        b[1:] *= np.sqrt(p / 2)
        return b

    with pytest.raises(CheckFailed, match=r"row 1 \(cos 1\).*norm is 5.788"):
        nb05.check_fourier_basis(unnormalized)


def test_fourier_basis_negative_sine_is_named():
    def minus_sin(p):
        b = right_basis(p)
        b[2::2] *= -1
        return b

    with pytest.raises(CheckFailed, match=r"row 2 \(sin 1\).*opposite sign"):
        nb05.check_fourier_basis(minus_sin)


def test_fourier_basis_sin_before_cos_is_named():
    def swapped(p):
        b = right_basis(p)
        b[1::2], b[2::2] = b[2::2].copy(), b[1::2].copy()
        return b

    with pytest.raises(CheckFailed, match=r"row 1 \(cos 1\).*holds sin 1"):
        nb05.check_fourier_basis(swapped)


def test_fourier_basis_wrong_shape_and_type():
    with pytest.raises(CheckFailed, match=r"wrong shape: expected \(67, 67\)"):
        nb05.check_fourier_basis(lambda p: right_basis(p)[:-1])
    with pytest.raises(CheckFailed, match="expected a numpy.ndarray, got list"):
        nb05.check_fourier_basis(lambda p: right_basis(p).tolist())
    with pytest.raises(CheckFailed, match="not implemented yet"):
        nb05.check_fourier_basis(lambda p: (_ for _ in ()).throw(NotImplementedError()))


# --------------------------------------------------------------------------- exercise 5.2


def test_key_frequencies_right_and_wrong():
    W = waves()[0]

    def right(W_in):
        return (np.abs(fourier.fourier_basis(W_in.shape[0]) @ W_in).argmax(0) + 1) // 2

    nb05.check_key_frequencies(right, [W])
    with pytest.raises(CheckFailed, match="wrong value"):           # the row index, not the frequency
        nb05.check_key_frequencies(lambda W_in: np.abs(fourier.fourier_basis(67) @ W_in).argmax(0), [W])
    with pytest.raises(CheckFailed, match="wrong value"):           # row // 2 is off by one for cos rows
        nb05.check_key_frequencies(lambda W_in: np.abs(fourier.fourier_basis(67) @ W_in).argmax(0) // 2, [W])
    with pytest.raises(CheckFailed, match="wrong type"):
        nb05.check_key_frequencies(lambda W_in: list(right(W_in)), [W])


# --------------------------------------------------------------------------- exercise 5.3


def test_ideal_logits_right_and_wrong():
    nb05.check_ideal_logits(lambda a, b, f, p: sum(np.cos(2 * np.pi * k * (a + b - np.arange(p)) / p)
                                                   for k in f) + np.zeros(p))
    with pytest.raises(CheckFailed, match="wrong value"):          # forgot the 2*pi/p
        nb05.check_ideal_logits(lambda a, b, f, p: sum(np.cos(k * (a + b - np.arange(p))) for k in f) + np.zeros(p))
    with pytest.raises(CheckFailed, match="wrong value"):          # a - b instead of a + b
        nb05.check_ideal_logits(lambda a, b, f, p: sum(np.cos(2 * np.pi * k * (a - b - np.arange(p)) / p)
                                                       for k in f) + np.zeros(p))


# --------------------------------------------------------------------------- exercise 5.4


def test_group_accuracy_right_and_wrong():
    run = fake_run()
    nb05.check_group_accuracy(nb05.group_accuracy, run)

    def dropping_the_wrong_neurons(W_in, W_out, neurons):
        others = [n for n in range(W_in.shape[1]) if n not in list(neurons)]
        return nb05.group_accuracy(W_in, W_out, others)

    with pytest.raises(CheckFailed, match="group_accuracy"):
        nb05.check_group_accuracy(dropping_the_wrong_neurons, run)

    def masking_before_relu_with_bias(W_in, W_out, neurons):       # keeps all neurons: ignores `neurons`
        return nb05.group_accuracy(W_in, W_out, range(W_in.shape[1]))

    with pytest.raises(CheckFailed, match="wrong value"):
        nb05.check_group_accuracy(masking_before_relu_with_bias, run)


# --------------------------------------------------------------------------- exercise 5.5


def test_restricted_loss_right_and_wrong():
    run = fake_run()

    def right(W_in, W_out, freqs):
        return analysis.restricted_loss(W_in, W_out, list(freqs))

    nb05.check_restricted_loss(right, run)

    def no_mean(W_in, W_out, freqs):
        _, restricted, _ = analysis.restricted_and_excluded_logits(W_in, W_out, list(freqs))
        restricted = restricted - restricted.mean(0)
        return analysis.cross_entropy(restricted, ((X[:, None] + X[None, :]) % P).ravel())

    def full_logits(W_in, W_out, freqs):
        L = analysis.all_pairs_logits(W_in, W_out).reshape(P * P, P)
        return analysis.cross_entropy(L, ((X[:, None] + X[None, :]) % P).ravel())

    for wrong in (no_mean, full_logits):
        with pytest.raises(CheckFailed, match="restricted_loss"):
            nb05.check_restricted_loss(wrong, fake_run(start=noise(seed=3), final=tuple(
                0.7 * w + 0.3 * n for w, n in zip(waves(), noise(seed=4)))))


# --------------------------------------------------------------------------- claims


def test_a_grokked_looking_run_passes_every_claim(capsys):
    run = fake_run()
    nb05.check_few_frequencies(run)
    nb05.check_single_frequency(run)
    nb05.check_doubled_phase(run)
    nb05.check_logits_match_ideal(run)
    nb05.check_frequencies_vote(run)
    assert capsys.readouterr().out.count("✅") == 6


def test_noise_has_no_few_frequencies_and_no_pure_neurons():
    run = fake_run(final=noise(seed=1))
    with pytest.raises(CheckFailed, match="only a few"):
        nb05.check_few_frequencies(run)
    with pytest.raises(CheckFailed, match="one frequency"):
        nb05.check_single_frequency(run)
    with pytest.raises(CheckFailed, match="sum of cosines"):
        nb05.check_logits_match_ideal(run)


def test_weights_already_periodic_at_the_start_fail_the_few_frequencies_claim():
    with pytest.raises(CheckFailed, match="at step 0"):
        nb05.check_few_frequencies(fake_run(start=waves()))


def test_neurons_mixing_two_frequencies_are_not_pure():
    w_in, w_out = waves()
    mixed = w_in + np.roll(w_in, 6, axis=1)           # every neuron now holds two frequencies equally
    with pytest.raises(CheckFailed, match="one frequency"):
        nb05.check_single_frequency(fake_run(final=(mixed, w_out)))


def test_output_phase_equal_to_input_phase_fails():
    with pytest.raises(CheckFailed, match="twice its input phase"):
        nb05.check_doubled_phase(fake_run(final=waves(out_mult=1)))


def test_a_single_frequency_model_does_not_vote():
    # Five neurons at one frequency solve the task alone: no group is a weak vote.
    with pytest.raises(CheckFailed, match="alone gets most pairs wrong"):
        nb05.check_frequencies_vote(fake_run(final=waves(freqs=(3,), per=5)))


def test_a_model_that_needs_every_group_fails_the_redundancy_claim():
    # Two groups (frequencies 1 and 9) get every pair right together; switching one off leaves the
    # other alone, so "the others without it beat it alone" cannot hold for both.
    w_in, w_out = waves(freqs=(1, 9), per=6)
    with pytest.raises(CheckFailed, match="without any one group"):
        nb05.check_frequencies_vote(fake_run(final=(w_in, w_out), start=noise(12)))
    # Three groups, exact together: without any one, the other two beat it alone.
    w_in, w_out = waves(freqs=(18, 21, 23), per=6)
    nb05.check_frequencies_vote(fake_run(final=(w_in, w_out), start=noise(18)))


def test_one_group_that_carries_the_model_fails_the_redundancy_claim():
    # Frequency 3 with twelve neurons gets most pairs right alone-ish; a second group of two weak
    # neurons adds little: without frequency 3 the rest is worse than frequency 3 alone.
    w_in, w_out = waves(freqs=(3, 20), per=6)
    w_in[:, 6:10] = 0.0                       # frequency 20 keeps two of its six neurons
    w_out[6:10] = 0.0
    with pytest.raises(CheckFailed, match="without any one group"):
        nb05.check_frequencies_vote(fake_run(final=(w_in, w_out), start=noise(12)), alone_below=1.01,
                                    together_above=0.0)


def test_a_model_short_of_every_pair_fails_the_together_claim():
    w_in, w_out = waves(freqs=(18, 21, 23), per=6)
    with pytest.raises(CheckFailed, match="every pair right"):
        nb05.check_frequencies_vote(fake_run(final=(w_in, w_out), start=noise(18)), together_above=1.01)


def test_only_pure_neurons_are_held_to_the_doubled_phase():
    # A third of the neurons mix in a second frequency and get a random output phase: the claim
    # about the pure ones still holds, and the count names them.
    w_in, w_out = waves(out_mult=2)
    rng = np.random.default_rng(5)
    mixed = np.arange(0, w_in.shape[1], 3)
    w_in[:, mixed] += w_in[:, (mixed + 6) % w_in.shape[1]]      # plus a neuron of the next frequency's group
    w_out[mixed] = rng.permutation(w_out[mixed].T).T
    run = fake_run(final=(w_in, w_out))
    with pytest.raises(CheckFailed, match="one frequency"):
        nb05.check_single_frequency(run, min_fraction=0.9)
    nb05.check_doubled_phase(run)


def measures(restricted, excluded, wsq):
    steps = np.arange(0, 50_001, 2500)
    return {"steps": steps, "restricted_loss": np.asarray(restricted, float),
            "excluded_loss": np.asarray(excluded, float), "weight_sq": np.asarray(wsq, float)}


GOOD = dict(
    restricted=[4.3, 36, 30, 25, 23, 21, 19, 16, 15, 12.5, 11, 7.7, 3.8, 0.95, 0.05, 0, 0, 0, 0, 0, 0],
    excluded=[4.4, 5.6, 5.6, 6.1, 6.7, 7.3, 7.9, 8.3, 8.7, 9.5, 10.6, 12.8, 15.1, 17.2, 15.6, 10, 6.5, 6, 5.7, 5.6, 5.6],
    wsq=[874, 68613, 63174, 59912, 58494, 57642, 56708, 55591, 54519, 51650, 50982, 47578, 40981, 32541,
         28790, 19363, 14488, 14234, 14081, 13999, 13949],
)


def test_hidden_progress_passes_on_the_measured_shape(capsys):
    nb05.check_hidden_progress(fake_run(), measures(**GOOD))
    assert capsys.readouterr().out.count("✅") == 3


def test_restricted_loss_falling_with_the_test_loss_fails():
    late = dict(GOOD, restricted=[4.3] + [36] * 14 + [0] * 6)       # below chance only from step 37,500
    with pytest.raises(CheckFailed, match="restricted loss falls below chance well before"):
        nb05.check_hidden_progress(fake_run(), measures(**late))


def test_flat_excluded_loss_fails():
    flat = dict(GOOD, excluded=[4.4] + [5.6] * 20)
    with pytest.raises(CheckFailed, match="excluded loss rises"):
        nb05.check_hidden_progress(fake_run(), measures(**flat))


def test_growing_weights_fail():
    grow = dict(GOOD, wsq=np.linspace(1000, 70000, 21))
    with pytest.raises(CheckFailed, match="squared weights shrinks"):
        nb05.check_hidden_progress(fake_run(), measures(**grow))


def test_a_run_that_never_generalizes_is_refused():
    run = fake_run()
    run.metrics["test_loss"] = np.full(len(run.steps), 50.0)
    with pytest.raises(CheckFailed, match="need a run that grokked"):
        nb05.check_hidden_progress(run, measures(**GOOD))


class FakeSweep:
    """Stands in for a seed sweep's SweepResults: done, test_acc and key_frequencies(r)."""

    def __init__(self, sets, acc=None):
        self.sets = [tuple(s) for s in sets]
        self.done = np.ones(len(sets), bool)
        self.test_acc = np.ones(len(sets)) if acc is None else np.asarray(acc, float)

    def key_frequencies(self, r, min_strength=None):
        return list(self.sets[r])


def test_seed_frequencies_pass_and_fail():
    varied = [(4, 5, 7), (3, 20, 21, 33), (1, 9, 30), (2, 14, 25, 31), (6, 11, 17), (8, 12, 27)]
    nb05.check_seed_frequencies(FakeSweep(varied))
    with pytest.raises(CheckFailed, match="different seeds grok at different frequencies"):
        nb05.check_seed_frequencies(FakeSweep([(4, 5, 7)] * 5 + [(1, 2, 3)]))
    with pytest.raises(CheckFailed, match="between 2 and 6 key frequencies"):
        nb05.check_seed_frequencies(FakeSweep([(k,) for k in range(1, 7)]))
    with pytest.raises(CheckFailed, match="enough models"):
        nb05.check_seed_frequencies(FakeSweep(varied, acc=[1, 1, 0, 0, 0, 0]))
    # models that did not grok do not count towards the frequencies
    nb05.check_seed_frequencies(FakeSweep(varied + [(k,) for k in range(1, 30)], acc=[1] * 6 + [0.1] * 29))


# --------------------------------------------------------------------------- the seed puzzle

def _rate(grokked: int, runs: int = 30, median: float | None = 10_000.0) -> dict:
    return {"grokked": grokked, "runs": runs, "rate": grokked / runs, "median_step": median, "not_grokked": []}


def _puzzle(**change) -> dict:
    rates = {"article": _rate(16, median=29_000), "more data": _rate(30, median=6_500), "larger step": _rate(27)}
    rates.update(change)
    return rates


def test_the_seed_puzzle_passes_when_one_change_makes_nearly_every_seed_grok(capsys):
    from grokkit.course.nb05 import check_seed_puzzle

    check_seed_puzzle(_puzzle(), "article", "more data", extended=_rate(89, runs=90, median=7_000))
    assert capsys.readouterr().out.count("✅") == 6


@pytest.mark.parametrize("change, extended, claim", [
    ({"article": _rate(29)}, None, "with the article's settings fewer than 95%"),
    ({"more data": _rate(27)}, None, "at least 95% of the seeds grok"),
    ({"more data": _rate(30, median=30_000)}, None, "sooner than the article's seeds"),
    ({"larger step": _rate(29)}, None, "no other change tried gets there"),
    ({}, _rate(80, runs=90), "over all 90 seeds"),
    ({"more data": _rate(30, median=25_000)}, None, "matches both the article's rate and its timing"),
])
def test_the_seed_puzzle_fails_when_its_finding_is_absent(change, extended, claim):
    from grokkit.course.nb05 import check_seed_puzzle

    with pytest.raises(CheckFailed, match=claim):
        check_seed_puzzle(_puzzle(**change), "article", "more data", extended=extended)


def test_the_seed_puzzle_names_a_missing_label():
    from grokkit.course.nb05 import check_seed_puzzle

    with pytest.raises(CheckFailed, match="no entry for"):
        check_seed_puzzle(_puzzle(), "article", "float64")
