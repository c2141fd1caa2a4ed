"""Fourier analysis: the real basis agrees with numpy.fft; key frequencies and neuron order."""

import numpy as np
import pytest

from grokkit import fourier


@pytest.mark.parametrize("p", [67, 12, 5])
def test_basis_is_orthonormal(p):
    F = fourier.fourier_basis(p)
    assert F.shape == (p, p)
    assert np.allclose(F @ F.T, np.eye(p), atol=1e-12)
    assert len(fourier.basis_labels(p)) == p


def test_basis_coefficients_agree_with_numpy_fft():
    p = 67
    x = np.random.RandomState(0).randn(p)
    coef = fourier.fourier_basis(p) @ x
    fft = np.fft.rfft(x)
    assert np.isclose(coef[0], fft[0].real / np.sqrt(p))
    for k in range(1, p // 2 + 1):
        # cos row k has coefficient sqrt(2/p) Re(X_k), sin row k has -sqrt(2/p) Im(X_k)
        assert np.isclose(coef[2 * k - 1], np.sqrt(2 / p) * fft[k].real)
        assert np.isclose(coef[2 * k], -np.sqrt(2 / p) * fft[k].imag)


def _waves(p, freqs, phases, amp=5.0):
    i = np.arange(p)[:, None]
    return amp * np.cos(2 * np.pi * np.array(freqs) * i / p + np.array(phases))


def test_key_frequency_phase_and_order_of_synthetic_neurons():
    freqs, phases = [7, 4, 26, 4, 7], [0.3, -1.0, 2.0, 1.2, -2.5]
    W = _waves(67, freqs, phases)
    assert list(fourier.neuron_frequencies(W)) == freqs
    # cos(wi + phi) = cos phi cos wi - sin phi sin wi, so atan2(sin coef, cos coef) = -phi
    assert np.allclose(fourier.neuron_phases(W), -np.array(phases))
    order = fourier.neuron_order(W)
    assert [freqs[n] for n in order] == [4, 4, 7, 7, 26]
    assert fourier.frequency_groups(W) == {4: [3, 1], 7: [0, 4], 26: [2]}
    assert fourier.key_frequencies(W) == [4, 7, 26]
    assert fourier.key_frequencies(W, min_neurons=2) == [4, 7]


def test_strength_threshold_drops_weak_neurons():
    W = np.concatenate([_waves(67, [3], [0.0], amp=5.0), _waves(67, [9], [0.0], amp=0.1)], axis=1)
    assert fourier.key_frequencies(W, min_strength=1.0) == [3]


def test_dft_out_transforms_each_neurons_output_row():
    W_out = _waves(67, [5, 11], [0.0, 0.5]).T
    coef = fourier.dft_out(W_out)
    assert coef.shape == (67, 2)
    assert np.abs(coef[:, 0]).argmax() == 2 * 5 - 1


def test_bad_modulus_is_rejected():
    with pytest.raises(ValueError, match="p"):
        fourier.fourier_basis(1)


def test_frequency_power_of_a_pure_wave_is_all_at_its_frequency_and_shares_sum_to_one():
    p = 13
    i = np.arange(p)
    W = np.stack([np.cos(2 * np.pi * 4 * i / p + 0.3), 2 * np.sin(2 * np.pi * 4 * i / p), np.ones(p)], 1)
    share = fourier.frequency_power(W)
    assert share.shape == (6,)
    assert share[3] == pytest.approx(1.0) and np.allclose(np.delete(share, 3), 0, atol=1e-12)
    rand = fourier.frequency_power(np.random.RandomState(1).randn(p, 50))
    assert rand.sum() == pytest.approx(1.0) and rand.max() < 0.35


def test_frequency_power_agrees_with_numpy_fft():
    p = 11
    W = np.random.RandomState(2).randn(p, 4)
    power = (np.abs(np.fft.rfft(W, axis=0)[1:]) ** 2).sum(axis=1)
    assert np.allclose(fourier.frequency_power(W), power / power.sum())


def test_keep_frequencies_keeps_the_constant_and_the_chosen_waves_only():
    p = 13
    i = np.arange(p)
    waves = {k: np.cos(2 * np.pi * k * i / p) for k in (2, 5)}
    W = (3.0 + waves[2] + 0.5 * waves[5])[:, None]
    assert np.allclose(fourier.keep_frequencies(W, [2]), (3.0 + waves[2])[:, None])
    assert np.allclose(fourier.keep_frequencies(W, [2, 5]), W)
    assert np.allclose(fourier.keep_frequencies(W, []), 3.0)


def test_frequency_power_refuses_a_vector():
    with pytest.raises(ValueError, match="at least 2-D"):
        fourier.frequency_power(np.ones(5))
