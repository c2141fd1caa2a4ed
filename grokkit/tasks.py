"""Datasets: modular addition and sparse parity, with their seeded train/test splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """A dataset split into train and test parts (inputs and integer labels)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def modadd_pairs(p: int, symmetric: bool = True) -> np.ndarray:
    """All (a, b) input pairs, shape (n_pairs, 2): a <= b if symmetric, else every ordered pair."""
    if not isinstance(p, int) or p < 3:
        raise ValueError(f"p = {p!r} is not allowed: p must be an integer >= 3")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1)
    if symmetric:
        pairs = pairs[pairs[:, 0] <= pairs[:, 1]]
    return pairs.astype(np.int64)


def modadd_split(p: int = 67, train_fraction: float = 0.4, symmetric: bool = True, seed: int = 165) -> Split:
    """The explorable's split: a seeded permutation of the pairs; its first int(fraction * n) train."""
    if not 0.0 < train_fraction <= 1.0:
        raise ValueError(f"train_fraction = {train_fraction!r} is not allowed: it must be in (0, 1]")
    pairs = modadd_pairs(p, symmetric)
    order = np.random.RandomState(seed).permutation(len(pairs))
    n_train = int(train_fraction * len(pairs))
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    tr, te = order[:n_train], order[n_train:]
    return Split(pairs[tr], labels[tr], pairs[te], labels[te])


def parity_data(n_bits: int = 30, k: int = 3, n_train: int = 1200, n_test: int = 2000, seed: int = 0) -> Split:
    """Random bit strings with a constant-1 bias column appended; label = parity of the first k bits.

    Inputs have shape (n, n_bits + 1) with values 0/1 (float32); labels are 0/1 (int64).
    """
    for name, v in (("n_bits", n_bits), ("k", k), ("n_train", n_train), ("n_test", n_test)):
        if not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} = {v!r} is not allowed: {name} must be a positive integer")
    if k > n_bits:
        raise ValueError(f"k = {k} is not allowed: k must be at most n_bits = {n_bits}")
    rng = np.random.RandomState(seed)
    bits = rng.randint(0, 2, size=(n_train + n_test, n_bits)).astype(np.float32)
    x = np.concatenate([bits, np.ones((len(bits), 1), np.float32)], axis=1)
    y = (bits[:, :k].sum(axis=1) % 2).astype(np.int64)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def make_split(cfg) -> Split:
    """The split a config trains on (its task, sizes and seed)."""
    if cfg.task == "modadd":
        return modadd_split(cfg.p, cfg.train_fraction, cfg.symmetric, cfg.seed)
    return parity_data(cfg.n_bits, cfg.k, cfg.n_train, cfg.n_test, cfg.seed)


__all__ = ["Split", "modadd_pairs", "modadd_split", "parity_data", "make_split"]
