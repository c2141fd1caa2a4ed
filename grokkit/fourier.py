"""The real Fourier basis, the DFT of collapsed weights, key frequencies and neuron order.

Follows explorable.md §4: rows of the basis are the constant 1/sqrt(p), then cos k and
sin k for k = 1, 2, ..., each scaled to unit norm (for even p the last row is the
alternating cos(pi * i)). ``F @ W_in`` gives each neuron's Fourier coefficients.
"""

from __future__ import annotations

import numpy as np


def fourier_basis(p: int) -> np.ndarray:
    """Orthonormal real Fourier basis, shape (p, p); rows: const, cos 1, sin 1, cos 2, ..."""
    if not isinstance(p, (int, np.integer)) or p < 2:
        raise ValueError(f"p = {p!r} is not allowed: p must be an integer >= 2")
    i = np.arange(p)
    rows = [np.ones(p)]
    for k in range(1, p // 2 + 1):
        rows.append(np.cos(2 * np.pi * k * i / p))
        if 2 * k != p:
            rows.append(np.sin(2 * np.pi * k * i / p))
    F = np.stack(rows)
    return F / np.linalg.norm(F, axis=1, keepdims=True)


def basis_labels(p: int) -> list[str]:
    """Names of the basis rows: 'const', 'cos 1', 'sin 1', ..."""
    labels = ["const"]
    for k in range(1, p // 2 + 1):
        labels.append(f"cos {k}")
        if 2 * k != p:
            labels.append(f"sin {k}")
    return labels


def row_frequency(p: int) -> np.ndarray:
    """The frequency of each basis row (0 for the constant)."""
    return np.array([0] + [(r + 1) // 2 for r in range(1, p)])


def dft_in(W_in: np.ndarray) -> np.ndarray:
    """Fourier coefficients of each neuron's input weights: F @ W_in, shape (..., p, H)."""
    W_in = np.asarray(W_in)
    return fourier_basis(W_in.shape[-2]) @ W_in


def dft_out(W_out: np.ndarray) -> np.ndarray:
    """Fourier coefficients of each neuron's output weights: F @ W_out.T, shape (..., p, H)."""
    W_out = np.asarray(W_out)
    return fourier_basis(W_out.shape[-1]) @ np.swapaxes(W_out, -1, -2)


def neuron_frequencies(W_in: np.ndarray) -> np.ndarray:
    """Each neuron's key frequency: that of the largest |coefficient| of F @ W_in (0 = constant)."""
    coef = dft_in(W_in)
    return row_frequency(coef.shape[-2])[np.abs(coef).argmax(axis=-2)]


def neuron_strengths(W_in: np.ndarray) -> np.ndarray:
    """Each neuron's largest |Fourier coefficient| (the explorable's ``max_val``)."""
    return np.abs(dft_in(W_in)).max(axis=-2)


def neuron_phases(W_in: np.ndarray, freqs: np.ndarray | None = None) -> np.ndarray:
    """Angle atan2(sin k, cos k) of each neuron at its key frequency k (0 for constant neurons)."""
    coef = dft_in(W_in)
    if freqs is None:
        freqs = neuron_frequencies(W_in)
    cos_rows = np.clip(2 * freqs - 1, 0, None)
    sin_rows = np.clip(2 * freqs, 0, coef.shape[-2] - 1)
    h = np.arange(coef.shape[-1])
    c, s = coef[..., cos_rows, h], coef[..., sin_rows, h]
    return np.where(freqs > 0, np.arctan2(s, c), 0.0)


def neuron_order(W_in: np.ndarray) -> np.ndarray:
    """Neuron indices sorted by (key frequency, phase), as the explorable sorts them."""
    freqs = neuron_frequencies(W_in)
    phases = neuron_phases(W_in, freqs)
    return np.lexsort((phases, freqs))


def frequency_groups(W_in: np.ndarray, min_strength: float = 0.0) -> dict[int, list[int]]:
    """{key frequency: neurons} for neurons whose strongest coefficient exceeds min_strength."""
    freqs, strength = neuron_frequencies(W_in), neuron_strengths(W_in)
    groups: dict[int, list[int]] = {}
    for n in neuron_order(W_in):
        if strength[n] > min_strength and freqs[n] > 0:
            groups.setdefault(int(freqs[n]), []).append(int(n))
    return dict(sorted(groups.items()))


def key_frequencies(W_in: np.ndarray, min_strength: float = 0.0, min_neurons: int = 1) -> list[int]:
    """The distinct key frequencies a model uses (frequencies of at least min_neurons neurons)."""
    return [k for k, ns in frequency_groups(W_in, min_strength).items() if len(ns) >= min_neurons]


def frequency_power(W: np.ndarray) -> np.ndarray:
    """Share of the non-constant power of W's columns at each frequency 1..p//2 (rows of W: residues).

    For an embedding (p, d) or collapsed input weights (p, H): the sum over columns of the
    squared cos k and sin k coefficients, divided by the total over all k >= 1. A random
    matrix spreads its power about evenly; a Fourier-based solution puts it on a few k.
    """
    W = np.asarray(W, np.float64)
    if W.ndim < 2:
        raise ValueError(f"W has shape {W.shape}: it must be at least 2-D, with residues along axis -2")
    p = W.shape[-2]
    power = ((fourier_basis(p) @ W) ** 2).sum(axis=-1)            # (..., p): per basis row
    freq = row_frequency(p)
    per_k = np.stack([power[..., freq == k].sum(axis=-1) for k in range(1, p // 2 + 1)], axis=-1)
    total = per_k.sum(axis=-1, keepdims=True)
    return per_k / np.where(total > 0, total, 1.0)


def keep_frequencies(W: np.ndarray, freqs: list[int]) -> np.ndarray:
    """W (p, ...) with every Fourier component removed except the constant and the given frequencies."""
    W = np.asarray(W, np.float64)
    p = W.shape[-2]
    F = fourier_basis(p)
    mask = np.isin(row_frequency(p), [0, *freqs]).astype(np.float64)
    return F.T @ (mask[:, None] * (F @ W))


# The seed sweep counts a neuron toward a frequency only if its max |coefficient| > 10
# (FE/mod-bot/seeds/parse.js).
SEED_SWEEP_MIN_STRENGTH = 10.0

__all__ = [
    "fourier_basis", "basis_labels", "row_frequency", "dft_in", "dft_out", "neuron_frequencies",
    "neuron_strengths", "neuron_phases", "neuron_order", "frequency_groups", "key_frequencies",
    "frequency_power", "keep_frequencies",
    "SEED_SWEEP_MIN_STRENGTH",
]
