"""Checks for notebook 06 (Open questions).

Each ``check_*`` function prints one ``✅`` line for a right answer and raises
:class:`~grokkit.course.core.CheckFailed` saying what is wrong otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grokkit.course.core import CheckFailed, check_function, differing_config_fields, first_step_at, passed

__all__ = [
    "FLOAT32_COLLAPSE_GAP",
    "FLOAT64_COLLAPSE_GAP",
    "reference_loss_at_scale",
    "reference_logit_gap",
    "generalization_steps",
    "frequency_share",
    "check_constraint_experiment",
    "check_loss_at_scale",
    "check_logit_gap",
    "check_collapse_interpretation",
]

# 1 - softmax(correct) rounds to 0 once the correct logit leads every other one by more
# than ln(2**24) in float32 (ln(2**53) in float64): the gradient of that example vanishes.
FLOAT32_COLLAPSE_GAP = float(np.log(2.0 ** 24))
FLOAT64_COLLAPSE_GAP = float(np.log(2.0 ** 53))


# --------------------------------------------------------------------------- references


def generalization_steps(runs: Sequence[Any], level: float) -> list[int | None]:
    """For each run, the first logged step whose test accuracy is at least ``level`` (None if never)."""
    return [first_step_at(r.steps, r.metrics["test_acc"], level) for r in runs]


def frequency_share(W_in: np.ndarray) -> np.ndarray:
    """Per neuron (column of W_in, p odd): the share of its sum of squares at its strongest non-constant frequency."""
    W_in = np.asarray(W_in, np.float64)
    p = W_in.shape[0]
    power = 2 * np.abs(np.fft.rfft(W_in, axis=0)[1:]) ** 2 / p     # Parseval, odd p
    return power.max(axis=0) / (W_in ** 2).sum(axis=0)


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def reference_loss_at_scale(W_in: np.ndarray, W_out: np.ndarray, pairs: np.ndarray, labels: np.ndarray,
                            c: float) -> float:
    """Mean cross-entropy on ``pairs`` of the network whose W_in and W_out are both multiplied by c."""
    W_in = np.asarray(W_in, np.float64) * c
    W_out = np.asarray(W_out, np.float64) * c
    h = np.maximum(W_in[pairs[:, 0]] + W_in[pairs[:, 1]], 0.0)
    return _cross_entropy(h @ W_out, np.asarray(labels))


def reference_logit_gap(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per example: the correct class's logit minus the largest of the other logits."""
    logits = np.asarray(logits, np.float64)
    n = np.arange(len(labels))
    correct = logits[n, labels]
    others = logits.copy()
    others[n, labels] = -np.inf
    return correct - others.max(axis=-1)


# --------------------------------------------------------------------------- 6.1


def check_constraint_experiment(base: Any, constraints: Mapping[str, Mapping[str, Any]], seeds: Sequence[int],
                                constraint_runs: Any, grok_steps: Any, level: float) -> None:
    """Exercise 6.1: one run per (constraint, seed), trained from ``replace(base, seed=s, **constraint)``,
    and the step each one first reached ``level`` test accuracy."""
    for name, value in (("constraint_runs", constraint_runs), ("grok_steps", grok_steps)):
        if not isinstance(value, Mapping):
            raise CheckFailed(f"{name}: wrong type: expected a dict keyed by constraint name, got {type(value).__name__}")
        if list(value) != list(constraints):
            raise CheckFailed(f"{name}: wrong keys: expected {list(constraints)}, got {list(value)}")
    for name, overrides in constraints.items():
        runs = constraint_runs[name]
        if len(runs) != len(seeds):
            raise CheckFailed(f"constraint_runs[{name!r}]: expected {len(seeds)} runs (one per seed), got {len(runs)}")
        for seed, run in zip(seeds, runs):
            diff = differing_config_fields(run, dataclasses.replace(base, seed=seed, **overrides))
            if diff:
                raise CheckFailed(f"constraint_runs[{name!r}] seed {seed}: its config differs from "
                                  f"replace(base, seed={seed}, **constraints[{name!r}]) in {diff}")
        expected = generalization_steps(runs, level)
        got_steps = grok_steps[name]
        if list(got_steps) != expected:
            raise CheckFailed(f"grok_steps[{name!r}]: expected {expected}, got {list(got_steps)} "
                              f"(first logged step with test accuracy >= {level}, None if never)")
    passed("constraint experiment", f"{len(constraints)} constraints x {len(seeds)} seeds")


# --------------------------------------------------------------------------- 6.2


def _loss_cases() -> list[tuple]:
    rng = np.random.default_rng(6)
    p, H = 7, 5
    W_in, W_out = rng.normal(size=(p, H)), rng.normal(size=(H, p))
    pairs = np.array([(a, b) for a in range(p) for b in range(a, p)])[::2]
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    return [(W_in, W_out, pairs, labels, c) for c in (1.0, 0.5, 2.0, 3.7)]


def check_loss_at_scale(fn: Callable[..., Any]) -> None:
    """Exercise 6.2: ``fn(W_in, W_out, pairs, labels, c)`` is the mean cross-entropy with both matrices times c."""
    check_function(fn, reference_loss_at_scale, _loss_cases(), name="loss_at_scale", rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- 6.3


def _gap_cases() -> list[tuple]:
    rng = np.random.default_rng(60)
    logits = rng.normal(size=(6, 5)) * 10
    labels = np.array([0, 1, 2, 3, 4, 0])
    tie = np.array([[3.0, 3.0, 1.0], [5.0, -1.0, 2.0]])   # a tie gives gap 0; a wrong answer a negative gap
    return [(logits, labels), (tie, np.array([0, 1]))]


def check_logit_gap(fn: Callable[..., Any]) -> None:
    """Exercise 6.3: ``fn(logits, labels)`` returns, per example, correct logit minus the largest other logit."""
    check_function(fn, reference_logit_gap, _gap_cases(), name="logit_gap", rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- 6.4


def check_collapse_interpretation(collapsed: Mapping[str, float], answer: Any, threshold: float = 0.99) -> None:
    """Exercise 6.4: ``answer`` is the set of variant names whose (peak) collapsed fraction is above threshold."""
    expected = {name for name, frac in collapsed.items() if frac > threshold}
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise CheckFailed(f"collapsed_variants: wrong type: expected a set of names, got {type(answer).__name__}")
    got = set(answer)
    unknown = got - set(collapsed)
    if unknown:
        raise CheckFailed(f"collapsed_variants: unknown names {sorted(unknown)}: choose from {sorted(collapsed)}")
    if got != expected:
        missing, extra = sorted(expected - got), sorted(got - expected)
        parts = []
        if missing:
            parts.append(f"{missing} collapsed too (fractions {[round(collapsed[m], 3) for m in missing]})")
        if extra:
            parts.append(f"{extra} did not (fractions {[round(collapsed[e], 3) for e in extra]})")
        raise CheckFailed("collapsed_variants: not quite: " + "; ".join(parts))
    passed("collapsed_variants", f"{sorted(expected)}")
