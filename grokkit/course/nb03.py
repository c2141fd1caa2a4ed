"""Checks for notebook 03 (When does grokking happen?).

Every check compares the learner's answer with a reference computed here (or in
:mod:`grokkit.analysis`) and says precisely what differs; the data-dependent ones (the
live mini-sweep, the answers read off it) recompute the truth from the learner's own runs,
so they stay right whatever the runs turned out to be.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grokkit import analysis
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import _

__all__ = [
    "reference_classify",
    "reference_liu",
    "reference_grok_steps",
    "class_table",
    "grok_counts",
    "generalizing_counts",
    "GENERALIZING",
    "check_classify",
    "check_liu",
    "check_mini_sweep",
    "check_goldilocks_answer",
    "check_grok_steps",
    "check_slowest_answer",
]

# The classes whose test loss reaches the minimum loss: the model ends up generalizing.
GENERALIZING = ("generalize", "grok")

# ------------------------------------------------------------------------------ references


def reference_classify(train_loss: np.ndarray, test_loss: np.ndarray, min_loss: float = 1e-5,
                       max_ratio: float = 5e4) -> str:
    """The explorable's class of one run from its article-scale loss curves."""
    return analysis.classify_losses(train_loss, test_loss, min_loss, max_ratio)


def reference_liu(steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, level: float = 0.9,
                  delay: int = 1000) -> str:
    """Liu et al.'s phase of one run: comprehension, grokking, memorization or confusion."""
    return analysis.classify_liu(steps, train_acc, test_acc, level, delay)


def reference_grok_steps(steps: np.ndarray, test_loss: np.ndarray, weight_decays: np.ndarray,
                         classes: np.ndarray, min_loss: float = 1e-5) -> dict[float, float | None]:
    """Per weight decay: the median first step at which a generalizing run's test loss is <= min_loss.

    test_loss is (runs, steps) on the article's scale; only runs whose class is 'generalize' or
    'grok' (the test loss gets low) count; a weight decay with no such run maps to None. Keys are plain floats, in increasing order.
    """
    steps = np.asarray(steps)
    test_loss = np.asarray(test_loss, float)
    weight_decays = np.asarray(weight_decays, float)
    classes = np.asarray(classes).astype(str)
    out: dict[float, float | None] = {}
    for wd in sorted(set(weight_decays.tolist())):
        hits = []
        for r in np.nonzero((weight_decays == wd) & np.isin(classes, GENERALIZING))[0]:
            s = analysis.first_crossing(steps, test_loss[r], min_loss, above=False)
            if s is not None:
                hits.append(s)
        out[float(wd)] = float(np.median(hits)) if hits else None
    return out


def class_table(runs: Sequence, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict[float, dict[str, int]]:
    """{weight decay: {class: number of runs}} for trained parity Runs (classified with classify_run)."""
    table: dict[float, dict[str, int]] = {}
    for r in runs:
        wd = float(r.config.weight_decay)
        row = table.setdefault(wd, {c: 0 for c in analysis.CLASSES})
        row[analysis.classify_run(r, min_loss, max_ratio)] += 1
    return dict(sorted(table.items()))


def grok_counts(runs: Sequence, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict[float, int]:
    """{weight decay: number of runs that grok}."""
    return {wd: row["grok"] for wd, row in class_table(runs, min_loss, max_ratio).items()}


def generalizing_counts(runs: Sequence, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                        max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict[float, int]:
    """{weight decay: number of runs whose test loss gets low, i.e. that generalize or grok}."""
    return {wd: sum(row[c] for c in GENERALIZING) for wd, row in class_table(runs, min_loss, max_ratio).items()}


# ------------------------------------------------------------------------------ test curves

def _curve(*pieces: tuple[float, float, int]) -> np.ndarray:
    """A log-linear curve through (start, end, n points) pieces."""
    return np.concatenate([np.logspace(math.log10(a), math.log10(b), n) for a, b, n in pieces])


_N = 40
# (train, test) article-scale curves, one of each class at the default thresholds, plus edge cases.
_FAIL = (_curve((0.5, 1e-3, _N)), _curve((0.5, 0.3, _N)))
_MEMORIZE = (_curve((0.5, 1e-7, _N)), _curve((0.5, 0.2, 10), (0.2, 2.0, 30)))
_GENERALIZE = (_curve((0.5, 1e-7, _N)), _curve((0.5, 1e-6, _N)))
_GROK = (_curve((0.5, 1e-8, 10), (1e-8, 1e-8, 30)), _curve((0.5, 0.3, 20), (0.3, 1e-6, 20)))
# Test loss bottoms out at 1e-5 exactly: "above the threshold" is strict, so this one is not memorize.
_EDGE = (_curve((0.5, 1e-7, _N)), _curve((0.5, 1e-5, _N)))
# The test loss ends high although it was low once: the rule looks at the minimum, not the end.
_FORGETS = (_curve((0.5, 1e-7, _N)), np.concatenate([_curve((0.5, 1e-6, 20)), _curve((1e-6, 0.5, 20))]))


def _classify_cases() -> list:
    cases: list = [c for c in (_FAIL, _MEMORIZE, _GENERALIZE, _GROK, _EDGE, _FORGETS)]
    cases += [(_GROK[0], _GROK[1], 1e-5, 1e8),      # a huge ratio threshold: grokking counts as together
              (_FAIL[0], _FAIL[1], 1e-2, 5e4),      # a loose loss threshold: the failing run now memorizes
              (_MEMORIZE[0], _MEMORIZE[1], 1.0, 5e4),  # everything below 1 is low: generalizes
              ((_GENERALIZE[0],), {"test_loss": _GENERALIZE[1], "max_ratio": 5.0})]
    return cases


def check_classify(fn: Callable[..., Any]) -> None:
    """Exercise 3.1: ``fn(train_loss, test_loss, min_loss=1e-5, max_ratio=5e4)`` returns the class name."""
    check_function(fn, reference_classify, _classify_cases(), name="classify")


def _accs(train_at: int, test_at: int | None, n: int = 60, every: int = 100) -> tuple:
    steps = np.arange(n) * every
    tr = np.where(steps >= train_at, 1.0, 0.6)
    te = np.full(n, 0.5) if test_at is None else np.where(steps >= test_at, 0.97, 0.5)
    return steps, tr, te


def check_liu(fn: Callable[..., Any]) -> None:
    """Exercise 3.4: ``fn(steps, train_acc, test_acc, level=0.9, delay=1000)`` returns Liu et al.'s phase."""
    steps = np.arange(60) * 100
    cases: list = [
        _accs(300, 800),                       # together: comprehension (delay 500 < 1000)
        _accs(300, 1300),                      # delay 1000 exactly: not < 1000, so grokking
        _accs(300, 4000),                      # grokking
        _accs(300, None),                      # memorization
        (steps, np.full(60, 0.7), np.full(60, 0.5)),   # confusion
        (steps, np.full(60, 0.7), np.full(60, 0.95)),  # test good, train never: still confusion
        (_accs(300, 4000) + (0.9, 5000)),      # a longer allowed delay: comprehension
        ((steps, np.full(60, 0.95), np.full(60, 0.93)), {"level": 0.99}),  # a stricter level: confusion
        ((steps, np.full(60, 0.95), np.full(60, 0.93)), {"level": 0.9}),   # at step 0 together
    ]
    check_function(fn, reference_liu, cases, name="liu_class")


def _grok_cases() -> list:
    steps = np.arange(_N) * 500
    tr = np.stack([_GROK[0], _GROK[0], _GENERALIZE[0], _MEMORIZE[0], _GROK[0], _GROK[0]])
    late = np.concatenate([_curve((0.5, 0.3, 30)), _curve((0.3, 1e-6, 10))])
    te = np.stack([_GROK[1], late, _GENERALIZE[1], _MEMORIZE[1], late, _GROK[1]])
    wds = np.array([0.1, 0.1, 0.3, 0.01, 0.03, 0.03])
    classes = np.array(["grok", "grok", "generalize", "memorize", "grok", "grok"])
    return [(steps, te, wds, classes), ((steps, te, wds, classes), {"min_loss": 1e-4}),
            (steps, te[:4], wds[:4], classes[:4])]


def check_grok_steps(fn: Callable[..., Any], steps: Any = None, test_loss: Any = None, weight_decays: Any = None,
                     classes: Any = None) -> None:
    """Exercise 3.5: ``fn(steps, test_loss, weight_decays, classes, min_loss=1e-5)`` returns
    {weight decay: median step at which generalizing runs reach min_loss, or None}.

    Given the notebook's data as well, the function is also compared with the reference on it.
    """
    cases = _grok_cases()
    if steps is not None:
        cases.append((np.asarray(steps), np.asarray(test_loss, float), np.asarray(weight_decays, float),
                      np.asarray(classes).astype(str)))
    check_function(fn, reference_grok_steps, cases, name="median_grok_step")


# ------------------------------------------------------------------------------ the live mini-sweep

def _parity_runs(runs: Any, name: str = "mini_runs") -> list:
    if not isinstance(runs, Sequence) or isinstance(runs, (str, bytes)):
        raise CheckFailed(f"{name}: " + _("wrong type: expected a list of grokkit Runs, got {type}").format(
            type=type(runs).__name__))
    for i, r in enumerate(runs):
        if not hasattr(r, "metrics") or getattr(getattr(r, "config", None), "task", None) != "parity":
            raise CheckFailed(f"{name}[{i}]: " + _("expected a parity grokkit Run, got {type}").format(
                type=type(r).__name__))
    return list(runs)


def check_mini_sweep(runs: Any, weight_decays: Sequence[float], n_seeds: int, base: Any = None) -> None:
    """Exercise 3.2: one run per (weight decay, seed), seeds 0..n_seeds-1, everything else as in base."""
    runs = _parity_runs(runs)
    wds = [float(w) for w in weight_decays]
    if len(runs) != len(wds) * n_seeds:
        raise CheckFailed("mini_runs: " + _("expected {wds} weight decays x {seeds} seeds = {n} runs, got {got}").format(
            wds=len(wds), seeds=n_seeds, n=len(wds) * n_seeds, got=len(runs)))
    have = sorted((float(r.config.weight_decay), int(r.config.seed)) for r in runs)
    want = sorted((w, s) for w in wds for s in range(n_seeds))
    missing = sorted(set(want) - set(have))
    if missing:
        w, s = missing[0]
        raise CheckFailed("mini_runs: " + _("no run with weight_decay={wd:g} and seed={seed} (each weight decay needs "
                                            "seeds 0..{last} once)").format(wd=w, seed=s, last=n_seeds - 1))
    if len(set(have)) != len(have):
        raise CheckFailed("mini_runs: " + _("some (weight decay, seed) pair was trained twice"))
    if base is not None:
        import dataclasses
        for i, r in enumerate(runs):
            diff = [f.name for f in dataclasses.fields(base) if f.name not in ("weight_decay", "seed")
                    and getattr(r.config, f.name) != getattr(base, f.name)]
            if diff:
                f = diff[0]
                raise CheckFailed(f"mini_runs[{i}]: " + _("{field} is {got!r}, but the base config has {want!r}: "
                                                          "change only weight_decay and seed").format(
                    field=f, got=getattr(r.config, f), want=getattr(base, f)))
    passed(_("mini sweep"), _("{n} runs: {wds} weight decays x {seeds} seeds").format(
        n=len(runs), wds=len(wds), seeds=n_seeds))


def _wd_answer(name: str, answer: Any, options: Sequence[float]) -> float:
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, numbers.Real):
        raise CheckFailed(f"{name}: " + _("wrong type: expected one of the weight decays {options}, got {got!r}").format(
            options=list(options), got=answer))
    for w in options:
        if math.isclose(float(answer), w, rel_tol=1e-9):
            return w
    raise CheckFailed(f"{name}: " + _("{got!r} is not one of the weight decays {options}").format(
        got=answer, options=list(options)))


def check_goldilocks_answer(runs: Any, answer: Any) -> None:
    """Exercise 3.3: ``answer`` is a weight decay at which the most of the learner's runs generalize
    (class 'generalize' or 'grok': the test loss gets below the minimum loss)."""
    runs = _parity_runs(runs)
    counts = generalizing_counts(runs)
    wd = _wd_answer("best_wd", answer, list(counts))
    best = max(counts.values())
    table = ", ".join(f"{w:g}: {n}" for w, n in counts.items())
    if best == 0:
        raise CheckFailed("best_wd: " + _("none of your runs generalized ({table}), so no weight decay can be named; "
                                          "did the sweep train long enough?").format(table=table))
    if counts[wd] != best:
        raise CheckFailed("best_wd: " + _("at weight decay {wd:g} {n} runs generalize, but {best_wd:g} has {best} "
                                          "(generalizing runs per weight decay: {table})").format(
            wd=wd, n=counts[wd], best_wd=max(counts, key=counts.get), best=best, table=table))
    passed(_("best weight decay"), _("runs that generalize or grok, per weight decay: {table}").format(table=table))


def check_slowest_answer(median_steps: Any, answer: Any) -> None:
    """Exercise 3.5: ``answer`` is the weight decay whose generalizing runs took the most steps (from median_steps)."""
    if not isinstance(median_steps, Mapping):
        raise CheckFailed("median_steps: " + _("wrong type: expected a dict {{weight decay: step}}, got {type}").format(
            type=type(median_steps).__name__))
    known = {float(w): s for w, s in median_steps.items() if s is not None}
    if not known:
        raise CheckFailed("slowest_wd: " + _("no weight decay has a generalizing run, so there is nothing to compare"))
    wd = _wd_answer("slowest_wd", answer, sorted(float(w) for w in median_steps))
    if known.get(wd) is None:
        raise CheckFailed("slowest_wd: " + _("no run generalized at weight decay {wd:g}, so it cannot be the "
                                             "slowest").format(wd=wd))
    slowest = max(known.values())
    text = ", ".join(f"{w:g}: {s:g}" for w, s in sorted(known.items()))
    if known[wd] != slowest:
        raise CheckFailed("slowest_wd: " + _("generalizing at {wd:g} took a median {steps:g} steps, but {other:g} "
                                             "took {slowest:g} (median steps: {text})").format(
            wd=wd, steps=known[wd], other=max(known, key=known.get), slowest=slowest, text=text))
    passed(_("slowest to generalize"), _("median steps to test loss 1e-5: {text}").format(text=text))
