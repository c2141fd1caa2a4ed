"""Checks for notebook 01 (Grokking modular addition).

Each ``check_*`` function prints one ``✅`` line for a right answer and raises
:class:`~grokkit.course.core.CheckFailed` saying what is wrong otherwise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from grokkit import fourier
from grokkit.analysis import first_crossing
from grokkit.course.claims import differing_config_fields
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import _
from grokkit.tasks import modadd_split

__all__ = [
    "reference_split",
    "reference_parameter_count",
    "reference_collapse",
    "reference_frequency_share",
    "grokking_step",
    "check_split",
    "check_parameter_count",
    "check_crossing_steps",
    "check_collapse",
    "check_frequency_share",
    "check_data_experiment",
    "check_data_interpretation",
    "memorizer_delay",
]

# Test accuracy at or above this level counts as "generalized" in the data experiment.
GROK_LEVEL = 0.99


# --------------------------------------------------------------------------- references


def reference_split(p: int, train_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(train_pairs, train_labels, test_pairs, test_labels), as the course's engine splits."""
    s = modadd_split(p, train_fraction, True, seed)
    return (s.train_x, s.train_y, s.test_x, s.test_y)


def reference_parameter_count(p: int, embed_size: int, hidden_size: int) -> tuple[int, int]:
    """(raw, collapsed) parameter counts of the tied-embedding model."""
    raw = p * embed_size + embed_size * hidden_size + hidden_size * embed_size
    return (raw, 2 * p * hidden_size)


def reference_collapse(embed: np.ndarray, hidden: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W_in, W_out) = (embed @ hidden, out @ embed.T)."""
    return (embed @ hidden, out @ embed.T)


def reference_frequency_share(W_in: np.ndarray) -> np.ndarray:
    """Per neuron, the fraction of sum(w**2) that lies in its strongest non-constant frequency."""
    W_in = np.asarray(W_in, dtype=np.float64)
    coef = fourier.dft_in(W_in)                       # (p, H): const, cos 1, sin 1, ...
    freq = fourier.row_frequency(W_in.shape[0])
    power = np.zeros((freq.max() + 1, W_in.shape[1]))
    np.add.at(power, freq, coef ** 2)                 # power per frequency (row 0: constant)
    total = (W_in ** 2).sum(axis=0)
    return power[1:].max(axis=0) / total


def grokking_step(run, level: float = GROK_LEVEL) -> int | None:
    """First logged step at which the run's test accuracy is at least ``level`` (None if never)."""
    return first_crossing(run.steps, run.metrics["test_acc"], level)


# --------------------------------------------------------------------------- 1.1


def check_split(fn: Callable[..., Any]) -> None:
    """Exercise 1.1: ``fn(p, train_fraction, seed)`` returns the four arrays of the split."""
    cases = [(67, 0.4, 165), (5, 0.5, 0), (11, 0.3, 7), (13, 0.8, 1)]
    check_function(fn, reference_split, cases, name="split_pairs")


# --------------------------------------------------------------------------- 1.2


def check_parameter_count(fn: Callable[..., Any]) -> None:
    """Exercise 1.2: ``fn(p, embed_size, hidden_size)`` returns ``(raw, collapsed)``."""
    cases = [(67, 500, 24), (5, 3, 2), (11, 7, 4), (97, 128, 48)]
    check_function(fn, reference_parameter_count, cases, name="count_parameters")


# --------------------------------------------------------------------------- 1.3


def _step_problem(name: str, got: Any, expected: int | None, steps: np.ndarray) -> str | None:
    """What is wrong with a crossing step the learner found, or None."""
    if expected is None:
        if got is None:
            return None
        return f"{name}: " + _("expected None (the curve never gets there in this run), got {got!r}").format(got=got)
    if got is None:
        return f"{name}: " + _("expected a step, got None (the curve does get there in this run)")
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
        if isinstance(got, numbers.Real) and float(got).is_integer():
            return f"{name}: " + _("wrong type: expected an int, got the float {got!r} (use int(...))").format(got=got)
        return f"{name}: " + _("wrong type: expected an int, got {type} {got!r}").format(type=type(got).__name__, got=got)
    got = int(got)
    if got == expected:
        return None
    hint = ""
    if 0 <= got < len(steps) and int(steps[got]) == expected:
        hint = _(" (that is the index into run.steps; return run.steps[index] instead)")
    elif got in steps:
        hint = (_(" (the curve already gets there at an earlier logged step)") if got > expected
                else _(" (at step {got} the curve has not got there yet)").format(got=got))
    return f"{name}: " + _("wrong value: expected {expected}, got {got}").format(expected=expected, got=got) + hint


def check_crossing_steps(run, train_99: Any, test_50: Any, test_99: Any) -> None:
    """Exercise 1.3: the first logged steps where train accuracy reaches 99% and test 50%, 99%."""
    steps, m = np.asarray(run.steps), run.metrics
    expected = {
        "train_99": first_crossing(steps, m["train_acc"], 0.99),
        "test_50": first_crossing(steps, m["test_acc"], 0.50),
        "test_99": first_crossing(steps, m["test_acc"], 0.99),
    }
    got = {"train_99": train_99, "test_50": test_50, "test_99": test_99}
    for name in expected:
        problem = _step_problem(name, got[name], expected[name], steps)
        if problem:
            raise CheckFailed(problem)
    passed(_("crossing steps"), ", ".join(f"{k} = {v}" for k, v in expected.items()))


# --------------------------------------------------------------------------- 1.4


def check_collapse(fn: Callable[..., Any], run=None) -> None:
    """Exercise 1.4: ``fn(embed, hidden, out)`` returns ``(W_in, W_out)``.

    Tested on small random weights and, if ``run`` is given, on its first and last
    snapshots.
    """
    rng = np.random.default_rng(0)
    cases: list[Any] = [
        (rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3, 4))),
        (rng.normal(size=(7, 6)), rng.normal(size=(6, 2)), rng.normal(size=(2, 6))),
    ]
    if run is not None and run.snapshots:
        for i in (0, -1):
            s = run.snapshots
            cases.append((s["embed"][i], s["hidden"][i], s["out"][i]))
    check_function(fn, reference_collapse, cases, name="collapse", atol=1e-4, rtol=1e-4)


# --------------------------------------------------------------------------- 1.5


def check_frequency_share(fn: Callable[..., Any], run=None) -> None:
    """Exercise 1.5: ``fn(W_in)`` returns each neuron's share of weight in its strongest frequency."""
    rng = np.random.default_rng(1)
    x = np.arange(67)[:, None]
    pure = np.hstack([np.cos(2 * np.pi * 4 * x / 67 + 0.3), 2 * np.sin(2 * np.pi * 26 * x / 67)])
    mixed = np.hstack([np.cos(2 * np.pi * 5 * x / 67) + 0.5 * np.cos(2 * np.pi * 7 * x / 67),
                       1.0 + 0.1 * np.cos(2 * np.pi * x / 67)])
    cases: list[Any] = [pure, mixed, rng.normal(size=(67, 24)), rng.normal(size=(11, 3))]
    if run is not None:
        cases += [run.W_in[0], run.W_in[-1]]
    check_function(fn, reference_frequency_share, cases, name="frequency_share", atol=1e-6, rtol=1e-4)


# --------------------------------------------------------------------------- 1.6, 1.7


def _fraction_key(grok_steps: Mapping, fraction: float) -> Any:
    """The key of grok_steps that stands for fraction (compared as floats), or None."""
    for k in grok_steps:
        if isinstance(k, numbers.Real) and math.isclose(float(k), fraction, abs_tol=1e-9):
            return k
    return None


def _experiment_runs(runs: Any) -> list:
    """Validate the learner's runs of the data experiment; return them sorted by train fraction."""
    if not isinstance(runs, Sequence) or isinstance(runs, (str, bytes)):
        raise CheckFailed("data_runs: " + _("wrong type: expected a list of runs, got {type}").format(
            type=type(runs).__name__))
    if len(runs) < 3:
        raise CheckFailed("data_runs: " + _("expected at least 3 runs (one per train fraction), got {n}").format(
            n=len(runs)))
    for i, r in enumerate(runs):
        if not hasattr(r, "metrics") or getattr(getattr(r, "config", None), "task", None) != "modadd":
            raise CheckFailed(f"data_runs[{i}]: " + _("expected a modular-addition grokkit Run, got {type}").format(
                type=type(r).__name__))
    fractions = [float(r.config.train_fraction) for r in runs]
    if len(set(fractions)) != len(fractions):
        raise CheckFailed("data_runs: " + _("each run needs a different train_fraction, got {fractions}").format(
            fractions=fractions))
    return sorted(runs, key=lambda r: r.config.train_fraction)


def check_data_experiment(runs: Any, grok_steps: Any, base: Any = None) -> None:
    """Exercise 1.6: runs with different train fractions, and the step each reaches 99% test accuracy.

    ``grok_steps`` maps each run's train fraction to the first logged step where its test
    accuracy is at least 99%, or None if it never gets there. With ``base`` (the exercise's
    ``quick``), each run's config must be ``replace(base, train_fraction=...)``.
    """
    runs = _experiment_runs(runs)
    if base is not None:
        for i, r in enumerate(runs):
            want = replace(base, train_fraction=r.config.train_fraction)
            fields = differing_config_fields(r, want)
            if fields:
                raise CheckFailed(_(
                    "data_runs (train_fraction {f:g}): its config differs from "
                    "replace(quick, train_fraction={f:g}) in {fields}; build every config from `quick`"
                ).format(f=r.config.train_fraction, fields=", ".join(fields)))
    if not isinstance(grok_steps, Mapping):
        raise CheckFailed("grok_steps: " + _("wrong type: expected a dict {{fraction: step}}, got {type}").format(
            type=type(grok_steps).__name__))
    if len(grok_steps) != len(runs):
        raise CheckFailed("grok_steps: " + _("expected {n} entries (one per run), got {got}").format(
            n=len(runs), got=len(grok_steps)))
    found = []
    for r in runs:
        f = float(r.config.train_fraction)
        key = _fraction_key(grok_steps, f)
        if key is None:
            raise CheckFailed("grok_steps: " + _("no entry for train_fraction {f:g} (keys: {keys})").format(
                f=f, keys=sorted(grok_steps)))
        problem = _step_problem(f"grok_steps[{f:g}]", grok_steps[key], grokking_step(r), np.asarray(r.steps))
        if problem:
            raise CheckFailed(problem)
        found.append(f"{f:g}: {grokking_step(r)}")
    passed(_("data experiment"), "; ".join(found))


def memorizer_delay(run: Any, level: float = GROK_LEVEL) -> int | None:
    """Steps from the first logged step with train accuracy >= level to the first with test accuracy >= level."""
    train = first_crossing(run.steps, run.metrics["train_acc"], level)
    test = first_crossing(run.steps, run.metrics["test_acc"], level)
    return None if train is None or test is None else int(test - train)


def more_data_groks_sooner(runs: Sequence) -> bool:
    """True if, ordered by train fraction, the 99% step never gets later (never = infinitely late)
    and at least one run gets there."""
    runs = sorted(runs, key=lambda r: r.config.train_fraction)
    steps = [grokking_step(r) for r in runs]
    t = [math.inf if s is None else s for s in steps]
    return any(s is not None for s in steps) and all(b <= a for a, b in zip(t, t[1:]))


def check_data_interpretation(runs: Any, answer: Any, delays: Any = None) -> None:
    """Exercise 1.7: ``delays`` maps each train fraction to its memorizer delay (test 99% step minus
    train 99% step, None if either never comes), and ``answer`` says whether more data made the
    network reach 99% test accuracy sooner in the runs."""
    runs = _experiment_runs(runs)
    if delays is not None:
        if not isinstance(delays, Mapping):
            raise CheckFailed("delays: " + _("wrong type: expected a dict {{fraction: steps}}, got {type}").format(
                type=type(delays).__name__))
        for r in runs:
            f = float(r.config.train_fraction)
            key = _fraction_key(delays, f)
            if key is None:
                raise CheckFailed("delays: " + _("no entry for train_fraction {f:g} (keys: {keys})").format(
                    f=f, keys=sorted(delays)))
            want, got = memorizer_delay(r), delays[key]
            if got is None or want is None:
                if got is not want:
                    raise CheckFailed(f"delays[{f:g}]: " + _(
                        "expected {want}, got {got!r} (None only when test or train accuracy never reaches 99%)"
                    ).format(want=want, got=got))
            elif not isinstance(got, numbers.Integral) or int(got) != want:
                raise CheckFailed(f"delays[{f:g}]: " + _(
                    "expected {want} steps (test 99% step minus train 99% step), got {got!r}").format(want=want, got=got))
    if not isinstance(answer, (bool, np.bool_)):
        raise CheckFailed("more_data_groks_sooner: " + _("wrong type: expected True or False, got {got!r}").format(
            got=answer))
    truth = more_data_groks_sooner(runs)
    steps = ", ".join(f"{r.config.train_fraction:g} → {grokking_step(r)}" for r in runs)
    if bool(answer) != truth:
        raise CheckFailed("more_data_groks_sooner: " + _(
            "your runs say {truth}, you said {answer} (step of 99% test accuracy per train fraction: {steps}; "
            "None = never)").format(truth=truth, answer=bool(answer), steps=steps))
    passed(_("interpretation"), _("your runs: {steps}").format(steps=steps))