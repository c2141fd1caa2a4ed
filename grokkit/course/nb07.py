"""Checks for notebook 07 (Beyond the article).

Each ``check_*`` function prints one ``✅`` line for a right answer and raises
:class:`~grokkit.course.core.CheckFailed` saying what is wrong otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grokkit.analysis import classify_liu
from grokkit.course.claims import differing_config_fields, first_step_at
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import _
from grokkit.fourier import frequency_power

__all__ = [
    "reference_grokfast_step",
    "reference_frequency_power",
    "median_steps",
    "phase_classes",
    "check_grokfast_step",
    "check_fraction_experiment",
    "check_phase_diagram",
    "check_frequency_power",
]


# --------------------------------------------------------------------------- references


def reference_grokfast_step(grad: np.ndarray, slow: np.ndarray, alpha: float,
                            lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Grokfast-EMA: the new slow average alpha*slow + (1-alpha)*grad, and grad + lam * that average."""
    new_slow = alpha * np.asarray(slow, np.float64) + (1 - alpha) * np.asarray(grad, np.float64)
    return np.asarray(grad, np.float64) + lam * new_slow, new_slow


def reference_frequency_power(W: np.ndarray) -> np.ndarray:
    """Share of the non-constant Fourier power of W (p, d) at each frequency 1..p//2."""
    return frequency_power(W)


def median_steps(steps: Sequence[int | None], reached_only: bool = False) -> float:
    """Median of steps-to-generalize, counting a run that never got there (None) as infinitely slow.

    reached_only=True: the median over the runs that got there (inf if none did).
    """
    if len(steps) == 0:
        raise ValueError("median_steps needs at least one value")
    if reached_only:
        steps = [s for s in steps if s is not None]
        if not steps:
            return np.inf
    return float(np.median([np.inf if s is None else s for s in steps]))


def phase_classes(runs: Sequence[Any], n_lrs: int, n_wds: int, level: float, delay: int) -> np.ndarray:
    """Liu et al.'s class of each run, as an (n_lrs, n_wds) array (runs ordered lr-major)."""
    classes = [classify_liu(r.steps, r.metrics["train_acc"], r.metrics["test_acc"], level, delay) for r in runs]
    return np.array(classes, dtype=object).reshape(n_lrs, n_wds)


# --------------------------------------------------------------------------- 7.1


def _grokfast_cases() -> list[tuple]:
    rng = np.random.default_rng(7)
    g, s = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return [(g, s, 0.98, 2.0), (g, np.zeros_like(g), 0.98, 2.0), (g, s, 0.5, 0.0), (g[0], s[0], 0.9, 5.0)]


def check_grokfast_step(fn: Callable[..., Any]) -> None:
    """Exercise 7.1: ``fn(grad, slow, alpha, lam)`` returns (filtered gradient, new slow average)."""
    check_function(fn, reference_grokfast_step, _grokfast_cases(), name="grokfast_step", rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- the data-efficiency experiment


def check_fraction_experiment(base: Any, fractions: Sequence[float], seeds: Sequence[int], fraction_runs: Any,
                              fraction_steps: Any, level: float) -> None:
    """Notebook 07's data-efficiency experiment (worked code, formerly an exercise): one run per (fraction, seed) from ``replace(base, train_fraction=f, seed=s)``,
    and each run's first step at ``level`` test accuracy."""
    for name, value in (("fraction_runs", fraction_runs), ("fraction_steps", fraction_steps)):
        if not isinstance(value, dict):
            raise CheckFailed(f"{name}: " + _("wrong type: expected a dict keyed by fraction, got {type}").format(
                type=type(value).__name__))
        if list(value) != list(fractions):
            raise CheckFailed(f"{name}: " + _("wrong keys: expected {expected} in that order, got {got}").format(
                expected=list(fractions), got=list(value)))
    for f in fractions:
        runs = fraction_runs[f]
        if len(runs) != len(seeds):
            raise CheckFailed(f"fraction_runs[{f}]: " + _("expected {n} runs (one per seed), got {got}").format(
                n=len(seeds), got=len(runs)))
        for seed, run in zip(seeds, runs):
            diff = differing_config_fields(run, dataclasses.replace(base, train_fraction=f, seed=seed))
            if diff:
                raise CheckFailed(_("fraction_runs[{f}] seed {seed}: its config differs from "
                                    "replace(base, train_fraction={f}, seed={seed}) in {diff}").format(
                    f=f, seed=seed, diff=diff))
        expected = [first_step_at(r.steps, r.metrics["test_acc"], level) for r in runs]
        if list(fraction_steps[f]) != expected:
            raise CheckFailed(f"fraction_steps[{f}]: " + _(
                "expected {expected}, got {got} (first logged step with test accuracy >= {level}, None if never)"
            ).format(expected=expected, got=list(fraction_steps[f]), level=level))
    passed(_("data-fraction experiment"), _("{fractions} fractions x {seeds} seeds").format(
        fractions=len(fractions), seeds=len(seeds)))


# --------------------------------------------------------------------------- 7.3


def check_phase_diagram(phase: Any, runs: Sequence[Any], lrs: Sequence[float], wds: Sequence[float],
                        level: float, delay: int) -> None:
    """Exercise 7.2: ``phase[i, j]`` is the Liu class of the run with learning rate lrs[i], weight decay wds[j]."""
    expected = phase_classes(runs, len(lrs), len(wds), level, delay)
    arr = np.asarray(phase, dtype=object)
    if arr.shape != expected.shape:
        raise CheckFailed("phase: " + _("wrong shape: expected {expected} (learning rates x weight decays), "
                                        "got {got}").format(expected=expected.shape, got=arr.shape))
    for i, lr in enumerate(lrs):
        for j, wd in enumerate(wds):
            if arr[i, j] != expected[i, j]:
                raise CheckFailed(f"phase[{i}, {j}] " + _("(lr {lr:g}, weight decay {wd:g}): expected {expected!r}, "
                                                         "got {got!r}").format(lr=lr, wd=wd, expected=expected[i, j],
                                                                               got=arr[i, j]))
    counts = {c: int((expected == c).sum()) for c in ("comprehension", "grokking", "memorization", "confusion")}
    passed(_("phase diagram"), ", ".join(f"{n} {c}" for c, n in counts.items()))


# --------------------------------------------------------------------------- 7.4


def _power_cases() -> list[tuple]:
    rng = np.random.default_rng(70)
    p = 11
    i = np.arange(p)
    wave = np.stack([np.cos(2 * np.pi * 3 * i / p), np.sin(2 * np.pi * 3 * i / p) + 0.1 * rng.normal(size=p)], 1)
    return [(rng.normal(size=(p, 4)),), (wave,), (rng.normal(size=(7, 3)) + 5.0,)]


def check_frequency_power(fn: Callable[..., Any]) -> None:
    """Exercise 7.3: ``fn(W)`` returns the share of W's non-constant power at each frequency 1..p//2."""
    check_function(fn, reference_frequency_power, _power_cases(), name="frequency_power", rtol=1e-6, atol=1e-9)
