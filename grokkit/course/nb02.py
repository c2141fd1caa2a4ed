"""Checks for notebook 02 (Memorize or generalize: the 0/1-sequence experiment).

Each ``check_*`` function prints one ``✅`` line for a right answer and raises
:class:`~grokkit.course.core.CheckFailed` saying what is wrong otherwise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grokkit.analysis import first_crossing
from grokkit.course.claims import check_claim
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import N_, _
from grokkit.run import article_loss

__all__ = [
    "OUTCOMES",
    "reference_distractor_mass",
    "reference_pruned_step",
    "reference_objective_terms",
    "describe_run",
    "check_parity_data",
    "check_distractor_mass",
    "check_weight_decay_extremes",
    "check_pruned_step",
    "check_objective_terms",
    "check_weight_decay_experiment",
]

# The words exercise 2.5 describes a run with, and what each means (see describe_run).
OUTCOMES = {
    "fails": N_("never fits the training set: final train accuracy below 90%"),
    "memorizes": N_("fits the training set (train accuracy >= 99%) but final test accuracy stays below 90%"),
    "generalizes": N_("test accuracy reaches 99% less than twice as late as train accuracy: they rise together"),
    "groks": N_("test accuracy reaches 99% at least twice as late as train accuracy does"),
}
PRUNED_FRACTION = 0.05


# --------------------------------------------------------------------------- 2.1 data


def _data_problem(fn: Callable[..., Any], n: int, n_bits: int, k: int, seed: int) -> str | None:
    """What is wrong with fn's parity data for these arguments, or None."""
    call = f"make_parity_data({n}, {n_bits}, {k}, {seed})"
    try:
        out = fn(n, n_bits, k, seed)
    except NotImplementedError:
        return "make_parity_data: " + _("not implemented yet: replace `raise NotImplementedError()` with your code")
    except Exception as err:  # the learner's bug, reported precisely
        return _("{call} raised {error}").format(call=call, error=f"{type(err).__name__}: {err}")
    if not isinstance(out, tuple) or len(out) != 2:
        return f"{call}: " + _("expected a tuple (x, y), got {type}").format(type=type(out).__name__)
    x, y = out
    for name, a in (("x", x), ("y", y)):
        if not isinstance(a, np.ndarray):
            return f"{call}: {name}: " + _("wrong type: expected a numpy.ndarray, got {got}").format(got=type(a).__name__)
    if x.shape != (n, n_bits + 1):
        return f"{call}: x: " + _("wrong shape: expected {expected} (the bits and a bias column), got {got}").format(
            expected=(n, n_bits + 1), got=x.shape)
    if y.shape != (n,):
        return f"{call}: y: " + _("wrong shape: expected {expected}, got {got}").format(expected=(n,), got=y.shape)
    if not np.all((x == 0) | (x == 1)):
        return f"{call}: x: " + _("every entry must be 0 or 1, found {values}...").format(values=np.unique(x)[:5])
    if not np.all(x[:, -1] == 1):
        return f"{call}: x: " + _("the last column is the bias input and must be all 1s")
    if y.dtype.kind not in "iu":
        return f"{call}: y: " + _("wrong dtype: expected integer labels 0/1, got {got}").format(got=y.dtype)
    parity = (x[:, :k].sum(axis=1) % 2).astype(np.int64)
    wrong = np.nonzero(y != parity)[0]
    if wrong.size:
        i = int(wrong[0])
        return f"{call}: y[{i}] = {y[i]}" + _(
            " but the first {k} bits {bits} hold {ones} ones, so the label is {label} ({wrong} labels wrong)"
        ).format(k=k, bits=x[i, :k].astype(int).tolist(), ones=int(x[i, :k].sum()), label=parity[i], wrong=wrong.size)
    bits = x[:, :n_bits]
    if n >= 500:
        means = bits.mean(axis=0)
        bad = np.nonzero((means < 0.4) | (means > 0.6))[0]
        if bad.size:
            j = int(bad[0])
            return f"{call}: " + _("bit {j} is 1 in {share:.0%} of the rows; random bits are 1 about half the time").format(
                j=j, share=means[j])
        if n_bits >= 20 and len(np.unique(bits, axis=0)) < 0.99 * n:  # repeats are then very unlikely
            return f"{call}: " + _("many rows are identical; draw every bit at random")
    return None


def check_parity_data(fn: Callable[..., Any]) -> None:
    """Exercise 2.1: ``fn(n, n_bits, k, seed)`` returns random bit rows with a bias column, and parity labels."""
    cases = [(1200, 30, 3, 0), (600, 10, 2, 1), (50, 5, 5, 2)]
    for case in cases:
        problem = _data_problem(fn, *case)
        if problem:
            raise CheckFailed(problem)
    a, b = fn(600, 30, 3, 7), fn(600, 30, 3, 7)
    if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
        raise CheckFailed("make_parity_data: " + _("two calls with the same seed gave different data; draw from "
                                                   "np.random.RandomState(seed) or np.random.default_rng(seed)"))
    c = fn(600, 30, 3, 8)
    if np.array_equal(a[0], c[0]):
        raise CheckFailed("make_parity_data: " + _("seeds 7 and 8 gave the same data; use the seed"))
    passed("make_parity_data", _("{n} cases, seeded").format(n=len(cases)))


# --------------------------------------------------------------------------- 2.2, 2.3 distractors


def reference_distractor_mass(W_in: np.ndarray, k: int = 3) -> np.ndarray | float:
    """Sum of |w| over the distractor rows k .. n_bits-1 of W_in (..., n_bits + 1, H); the bias row is last."""
    W_in = np.asarray(W_in)
    mass = np.abs(W_in[..., k:-1, :]).sum(axis=(-2, -1))
    return float(mass) if np.ndim(mass) == 0 else mass


def check_distractor_mass(fn: Callable[..., Any], run=None) -> None:
    """Exercise 2.2: ``fn(W_in, k)`` sums |w| over the distractor digits, per snapshot if W_in is a stack."""
    rng = np.random.default_rng(2)
    cases: list[Any] = [
        (rng.normal(size=(31, 8)), 3),
        (rng.normal(size=(11, 4)), 2),
        (rng.normal(size=(5, 31, 8)), 3),
    ]
    if run is not None:
        cases.append((run.W_in, run.config.k))
    check_function(fn, reference_distractor_mass, cases, name="distractor_mass", rtol=1e-5)


def reference_pruned_step(run, fraction: float = PRUNED_FRACTION) -> int | None:
    """First snapshot step after the distractor mass peaks at which it is below fraction x its peak."""
    mass = reference_distractor_mass(run.W_in, run.config.k)
    peak = int(np.argmax(mass))
    below = np.nonzero(mass[peak:] < fraction * mass[peak])[0]
    return int(run.snapshot_steps[peak + below[0]]) if below.size else None


def check_pruned_step(run, pruned_step: Any) -> None:
    """Exercise 2.3: the first snapshot step, after the peak, with distractor mass below 5% of the peak."""
    expected = reference_pruned_step(run)
    steps = np.asarray(run.snapshot_steps)
    if expected is None:
        if pruned_step is None:
            passed("pruned_step", _("the distractor weights are never pruned in this run"))
            return
        raise CheckFailed("pruned_step: " + _("expected None (in this run the distractor mass never falls below "
                                              "{fraction:.0%} of its peak), got {got!r}").format(
            fraction=PRUNED_FRACTION, got=pruned_step))
    if pruned_step is None:
        raise CheckFailed("pruned_step: " + _("expected a step, got None (the mass does fall below {fraction:.0%} "
                                              "of its peak)").format(fraction=PRUNED_FRACTION))
    if isinstance(pruned_step, (bool, np.bool_)) or not isinstance(pruned_step, numbers.Integral):
        raise CheckFailed("pruned_step: " + _("wrong type: expected an int, got {type} {got!r} (use int(...))").format(
            type=type(pruned_step).__name__, got=pruned_step))
    got = int(pruned_step)
    if got != expected:
        hint = ""
        if 0 <= got < len(steps) and int(steps[got]) == expected:
            hint = _(" (that is an index into run.snapshot_steps; return the step there)")
        elif got < expected:
            hint = _(" (too early: at that step the mass is still above 5% of its peak)")
        else:
            hint = _(" (too late: the mass is already below 5% of its peak at an earlier snapshot)")
        raise CheckFailed("pruned_step: " + _("wrong value: expected {expected}, got {got}").format(
            expected=expected, got=got) + hint)
    passed("pruned_step", _("step {step}").format(step=expected))


# --------------------------------------------------------------------------- 2.4 the trade


def reference_objective_terms(run) -> tuple[np.ndarray, np.ndarray]:
    """(loss term, weight-decay term) at every logged step: train_loss / 2 and lambda * l1_norm."""
    cfg = run.config
    loss_term = article_loss(np.asarray(run.metrics["train_loss"]), cfg)
    lam = cfg.weight_decay
    if cfg.regularizer == "l1":
        decay_term = lam * np.asarray(run.metrics["l1_norm"])
    else:  # not used by the notebook; L2 written as lambda/2 * sum(w**2) for completeness
        decay_term = lam / 2 * np.asarray(run.metrics["l2_norm"]) ** 2
    return loss_term, decay_term


def check_objective_terms(fn: Callable[..., Any], run) -> None:
    """Exercise 2.4: ``fn(run)`` returns (loss term, L1 term) of the objective at every logged step."""
    from dataclasses import replace

    other = replace(run, config=replace(run.config, weight_decay=run.config.weight_decay * 7))
    check_function(fn, reference_objective_terms, [run, other], name="objective_terms", atol=0, rtol=1e-6)


# --------------------------------------------------------------------------- 2.5 experiment


def describe_run(run) -> str:
    """'fails', 'memorizes', 'generalizes' or 'groks', by the rules in OUTCOMES."""
    m = run.metrics
    if run.diverged or float(m["train_acc"][-1]) < 0.9:
        return "fails"
    train_step = first_crossing(run.steps, m["train_acc"], 0.99)
    test_step = first_crossing(run.steps, m["test_acc"], 0.99)
    if train_step is None or float(m["test_acc"][-1]) < 0.9 or test_step is None:
        return "fails" if train_step is None else "memorizes"
    return "groks" if test_step >= 2 * max(train_step, 1) else "generalizes"


def _key_for(outcomes: Mapping, wd: float) -> Any:
    for key in outcomes:
        if isinstance(key, numbers.Real) and math.isclose(float(key), wd, rel_tol=1e-9, abs_tol=1e-15):
            return key
    return None


def check_weight_decay_experiment(runs: Any, outcomes: Any) -> None:
    """Exercise 2.5: parity runs with no, the default and far too much weight decay, each described.

    ``outcomes`` maps each run's weight decay to one word of :data:`OUTCOMES`; the check
    compares it with what the run measurably did (:func:`describe_run`).
    """
    if not isinstance(runs, Sequence) or isinstance(runs, (str, bytes)):
        raise CheckFailed("wd_runs: " + _("wrong type: expected a list of runs, got {type}").format(
            type=type(runs).__name__))
    for i, r in enumerate(runs):
        if not hasattr(r, "metrics") or getattr(getattr(r, "config", None), "task", None) != "parity":
            raise CheckFailed(f"wd_runs[{i}]: " + _("expected a sparse-parity grokkit Run, got {type}").format(
                type=type(r).__name__))
    wds = [float(r.config.weight_decay) for r in runs]
    if len(set(wds)) != len(wds):
        raise CheckFailed("wd_runs: " + _("each run needs a different weight_decay, got {wds}").format(wds=wds))
    if 0.0 not in wds:
        raise CheckFailed("wd_runs: " + _("one run must have no weight decay (weight_decay=0.0); got {wds}").format(
            wds=wds))
    if max(wds) < 1e-4:
        raise CheckFailed("wd_runs: " + _("one run must have far too much weight decay (at least 1e-4, 100 times "
                                          "the default); the largest is {largest:g}").format(largest=max(wds)))
    if not isinstance(outcomes, Mapping):
        raise CheckFailed("outcomes: " + _("wrong type: expected a dict {{weight_decay: word}}, got {type}").format(
            type=type(outcomes).__name__))
    if len(outcomes) != len(runs):
        raise CheckFailed("outcomes: " + _("expected {n} entries (one per run), got {got}").format(
            n=len(runs), got=len(outcomes)))
    said = []
    for r in sorted(runs, key=lambda r: r.config.weight_decay):
        wd = float(r.config.weight_decay)
        key = _key_for(outcomes, wd)
        if key is None:
            raise CheckFailed("outcomes: " + _("no entry for weight_decay {wd:g} (keys: {keys})").format(
                wd=wd, keys=sorted(outcomes)))
        word = outcomes[key]
        if word not in OUTCOMES:
            raise CheckFailed(f"outcomes[{wd:g}]: " + _("{word!r} is not one of {words}").format(
                word=word, words=sorted(OUTCOMES)))
        truth = describe_run(r)
        if word != truth:
            m = r.metrics
            raise CheckFailed(f"outcomes[{wd:g}]: " + _(
                "you said {word!r}, but the run {truth} ({meaning}): final train accuracy {train:.1%}, final test "
                "accuracy {test:.1%}, train reaches 99% at step {train_step}, test at step {test_step}"
            ).format(word=word, truth=truth, meaning=_(OUTCOMES[truth]), train=float(m["train_acc"][-1]),
                     test=float(m["test_acc"][-1]), train_step=first_crossing(r.steps, m["train_acc"], 0.99),
                     test_step=first_crossing(r.steps, m["test_acc"], 0.99)))
        said.append(f"{wd:g}: {word}")
    passed(_("weight-decay experiment"), "; ".join(said))


def check_weight_decay_extremes(no_wd: Any, default: Any, too_much: Any, k: int) -> None:
    """The section's claims about no weight decay and far too much, against the grokking model (one ✅ per claim)."""
    mass = reference_distractor_mass(no_wd.W_in, k)
    check_claim(_("without weight decay the model memorizes and never generalizes"),
                no_wd.final["train_acc"] == 1.0 and no_wd.final["test_acc"] < 0.9,
                _("final train {train:.0%}, test {test:.1%}").format(
                    train=no_wd.final["train_acc"], test=no_wd.final["test_acc"]))
    check_claim(_("without weight decay the distractor weights are never pruned: more than half of their peak remains"),
                mass[-1] > 0.5 * mass.max(), _("{share:.0%} of the peak at the end").format(share=mass[-1] / mass.max()))
    check_claim(_("without weight decay the weights keep growing, to many times those of the grokking model"),
                no_wd.final["l1_norm"] > 10 * default.final["l1_norm"],
                _("Σ|w| = {no_wd:.0f} vs {default:.0f}").format(
                    no_wd=no_wd.final["l1_norm"], default=default.final["l1_norm"]))
    per_digit = np.abs(no_wd.W_in[-1][:-1]).mean(axis=1)
    check_claim(_("without weight decay the first three digits still end up with more weight than a typical distractor"),
                per_digit[:k].mean() > per_digit[k:].mean(),
                _("mean |w| {first:.2f} on digits 0-{last}, {others:.2f} on the others").format(
                    first=per_digit[:k].mean(), last=k - 1, others=per_digit[k:].mean()))
    check_claim(_("with far too much weight decay the model cannot even fit the training set"),
                too_much.final["train_acc"] < 0.9,
                _("final train accuracy {train:.0%}").format(train=too_much.final["train_acc"]))
