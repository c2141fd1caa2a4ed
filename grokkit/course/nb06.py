"""Checks for notebook 06 (Open questions).

Each ``check_*`` function prints one ``✅`` line for a right answer and raises
:class:`~grokkit.course.core.CheckFailed` saying what is wrong otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grokkit.course.claims import check_claim, differing_config_fields, first_step_at
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import _

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
    "check_constraints_story",
    "check_reverse_grokking",
    "check_collapse_story",
    "PAIRS_LABEL",
    "mirror_share",
    "architecture_groups",
    "check_architecture_story",
    "check_architecture_sweep",
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


# --------------------------------------------------------------------------- the constraint experiment


def check_constraint_experiment(base: Any, constraints: Mapping[str, Mapping[str, Any]], seeds: Sequence[int],
                                constraint_runs: Any, grok_steps: Any, level: float) -> None:
    """Notebook 06's constraint experiment (worked code, formerly an exercise): one run per (constraint, seed), trained from ``replace(base, seed=s, **constraint)``,
    and the step each one first reached ``level`` test accuracy."""
    for name, value in (("constraint_runs", constraint_runs), ("grok_steps", grok_steps)):
        if not isinstance(value, Mapping):
            raise CheckFailed(f"{name}: " + _("wrong type: expected a dict keyed by constraint name, got {type}").format(
                type=type(value).__name__))
        if list(value) != list(constraints):
            raise CheckFailed(f"{name}: " + _("wrong keys: expected {expected}, got {got}").format(
                expected=list(constraints), got=list(value)))
    for name, overrides in constraints.items():
        runs = constraint_runs[name]
        if len(runs) != len(seeds):
            raise CheckFailed(f"constraint_runs[{name!r}]: " + _("expected {n} runs (one per seed), got {got}").format(
                n=len(seeds), got=len(runs)))
        for seed, run in zip(seeds, runs):
            diff = differing_config_fields(run, dataclasses.replace(base, seed=seed, **overrides))
            if diff:
                raise CheckFailed(_("constraint_runs[{name!r}] seed {seed}: its config differs from "
                                    "replace(base, seed={seed}, **constraints[{name!r}]) in {diff}").format(
                    name=name, seed=seed, diff=diff))
        expected = generalization_steps(runs, level)
        got_steps = grok_steps[name]
        if list(got_steps) != expected:
            raise CheckFailed(f"grok_steps[{name!r}]: " + _(
                "expected {expected}, got {got} (first logged step with test accuracy >= {level}, None if never)"
            ).format(expected=expected, got=list(got_steps), level=level))
    passed(_("constraint experiment"), _("{constraints} constraints x {seeds} seeds").format(
        constraints=len(constraints), seeds=len(seeds)))


# --------------------------------------------------------------------------- 6.2


def _loss_cases() -> list[tuple]:
    rng = np.random.default_rng(6)
    p, H = 7, 5
    W_in, W_out = rng.normal(size=(p, H)), rng.normal(size=(H, p))
    pairs = np.array([(a, b) for a in range(p) for b in range(a, p)])[::2]
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    return [(W_in, W_out, pairs, labels, c) for c in (1.0, 0.5, 2.0, 3.7)]


def check_loss_at_scale(fn: Callable[..., Any]) -> None:
    """Exercise 6.1: ``fn(W_in, W_out, pairs, labels, c)`` is the mean cross-entropy with both matrices times c."""
    check_function(fn, reference_loss_at_scale, _loss_cases(), name="loss_at_scale", rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- 6.3


def _gap_cases() -> list[tuple]:
    rng = np.random.default_rng(60)
    logits = rng.normal(size=(6, 5)) * 10
    labels = np.array([0, 1, 2, 3, 4, 0])
    tie = np.array([[3.0, 3.0, 1.0], [5.0, -1.0, 2.0]])   # a tie gives gap 0; a wrong answer a negative gap
    return [(logits, labels), (tie, np.array([0, 1]))]


def check_logit_gap(fn: Callable[..., Any]) -> None:
    """Exercise 6.2: ``fn(logits, labels)`` returns, per example, correct logit minus the largest other logit."""
    check_function(fn, reference_logit_gap, _gap_cases(), name="logit_gap", rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- 6.4


def check_collapse_interpretation(collapsed: Mapping[str, float], answer: Any, threshold: float = 0.99) -> None:
    """Exercise 6.3: ``answer`` is the set of variant names whose (peak) collapsed fraction is above threshold."""
    expected = {name for name, frac in collapsed.items() if frac > threshold}
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise CheckFailed("collapsed_variants: " + _("wrong type: expected a set of names, got {type}").format(
            type=type(answer).__name__))
    got = set(answer)
    unknown = got - set(collapsed)
    if unknown:
        raise CheckFailed("collapsed_variants: " + _("unknown names {names}: choose from {choices}").format(
            names=sorted(unknown), choices=sorted(collapsed)))
    if got != expected:
        missing, extra = sorted(expected - got), sorted(got - expected)
        parts = []
        if missing:
            parts.append(_("{names} collapsed too (fractions {fractions})").format(
                names=missing, fractions=[round(collapsed[m], 3) for m in missing]))
        if extra:
            parts.append(_("{names} did not (fractions {fractions})").format(
                names=extra, fractions=[round(collapsed[e], 3) for e in extra]))
        raise CheckFailed("collapsed_variants: " + _("not quite: {parts}").format(parts="; ".join(parts)))
    passed("collapsed_variants", f"{sorted(expected)}")


# --------------------------------------------------------------------------- section checks
# One named check per section: each prints one ✅ line per claim of the section's prose, or
# fails on the first claim its runs do not bear out.


def check_constraints_story(constraint_runs: Mapping[str, Sequence[Any]], grok_steps: Mapping[str, Sequence[Any]],
                            level: float) -> None:
    """Section 1's claims: which constraints make the small model generalize within the budget."""
    best = {name: max(float(r.metrics["test_acc"].max()) for r in runs) for name, runs in constraint_runs.items()}
    reached = {name: sum(s is not None for s in steps) for name, steps in grok_steps.items()}
    fits = [first_step_at(r.steps, r.metrics["train_acc"], 0.95)
            for name in ("none", "L2 weight decay", "L1 penalty") for r in constraint_runs[name]]
    check_claim(_("with no constraint, L2 or L1, every seed fits its training pairs or nearly "
                  "(train accuracy >= 95% within 300 steps)"),
                all(s is not None and s <= 300 for s in fits), _("first steps at 95%: {fits}").format(fits=fits))
    check_claim(_("with no constraint, no seed gets even halfway (test accuracy stays below 50%)"), best["none"] < 0.5,
                _("best {best:.2f}").format(best=best["none"]))
    check_claim(_("L2 weight decay and the L1 penalty each make at least 3 of 4 seeds generalize"),
                reached["L2 weight decay"] >= 3 and reached["L1 penalty"] >= 3, f"{reached}")
    check_claim(_("dropout 0.1 does not: no seed gets halfway"), best["dropout"] < 0.5,
                _("best {best:.2f}").format(best=best["dropout"]))
    check_claim(_("the smaller model generalizes partly: some seed passes 50% test accuracy, none reaches 90%"),
                0.5 < best["smaller model"] < level, _("best {best:.2f}").format(best=best["smaller model"]))


def check_reverse_grokking(run: Any) -> None:
    """Section 3's claims: without weight decay the small model generalizes, then turns back, with waves throughout."""
    m, steps = run.metrics, run.steps
    best = int(np.argmin(m["test_loss"]))
    share = np.array([frequency_share(W).mean() for W in run.W_in])
    after = share[run.snapshot_index(int(steps[best])):]
    check_claim(_("without weight decay, the small model starts to generalize (test accuracy above 70%)"),
                m["test_acc"].max() > 0.7, _("peak {peak:.1%}").format(peak=m["test_acc"].max()))
    check_claim(_("then it turns back towards memorizing: the test loss ends over 4x above its lowest point, "
                  "while the training loss falls over 100x further"),
                m["test_loss"][-1] > 4 * m["test_loss"][best] and m["train_loss"][-1] < m["train_loss"][best] / 100,
                _("test loss {test_best:.2f} -> {test_end:.2f}, train loss {train_best:.1e} -> {train_end:.1e}").format(
                    test_best=m["test_loss"][best], test_end=m["test_loss"][-1],
                    train_best=m["train_loss"][best], train_end=m["train_loss"][-1]))
    check_claim(_("and the test accuracy slips from its peak (by at least 2 points)"),
                m["test_acc"].max() - m["test_acc"][-1] >= 0.02, f"{m['test_acc'].max():.1%} -> {m['test_acc'][-1]:.1%}")
    check_claim(_("meanwhile its weights keep growing: the L2 norm ends at least 1.5x above its value at the best test loss"),
                m["l2_norm"][-1] > 1.5 * m["l2_norm"][best], f"{m['l2_norm'][best]:.1f} -> {m['l2_norm'][-1]:.1f}")
    check_claim(_("and its weights are waves throughout the turn: the mean frequency share of W_in (notebook 01) is "
                  "above 0.5 from the best test loss to the end, against about 0.1 for the random start"),
                after.min() > 0.5 and share[0] < 0.2,
                _("start {start:.2f}, lowest after the best test loss {lowest:.2f}").format(start=share[0], lowest=after.min()))


def check_collapse_story(zero_grad: Mapping[str, np.ndarray], gap_median: Mapping[str, np.ndarray],
                         runs: Mapping[str, Any]) -> None:
    """Section 4's claims: where softmax collapse happens, and that weight decay both avoids it and generalizes."""
    peak = {name: float(np.max(frac)) for name, frac in zero_grad.items()}
    check_claim(_("in float32, at some point over a quarter of the training pairs have an exactly-zero right-answer "
                  "gradient"), peak["float32"] > 0.25, _("peak {peak:.0%}").format(peak=peak["float32"]))
    check_claim(_("in float64 only a few pairs ever do (under 10%), with StableMax and with weight decay not a single one"),
                peak["float64"] < 0.1 and peak["StableMax"] == peak["weight decay"] == 0.0,
                ", ".join(f"{name} {frac:.0%}" for name, frac in peak.items()))
    check_claim(_("weight decay keeps every snapshot's median gap below the float32 wall of 16.6"),
                float(np.max(gap_median["weight decay"])) < FLOAT32_COLLAPSE_GAP,
                _("largest median gap {gap:.1f}").format(gap=np.max(gap_median["weight decay"])))
    best = {n: float(r.metrics["test_acc"].max()) for n, r in runs.items()}
    check_claim(_("none of the three runs without weight decay generalizes within 5,000 steps (test accuracy below 50%)"),
                all(best[n] < 0.5 for n in ("float32", "float64", "StableMax")),
                f"{ {n: round(b, 2) for n, b in best.items()} }")
    check_claim(_("the weight-decay run does generalize (test accuracy above 80%)"), best["weight decay"] > 0.8,
                f"{best['weight decay']:.0%}")


# --------------------------------------------------------------------------- section 5: architectures

def mirror_share(config: Any) -> float:
    """Share of a split's test pairs (a, b) whose mirror (b, a) is a training pair.

    Every MLP here uses one W_in for both inputs, so it answers (b, a) exactly as (a, b):
    trained on all ordered pairs, it gets this share of the test set right for free.
    """
    from grokkit.tasks import make_split

    split = make_split(config)
    train = {(int(a), int(b)) for a, b in split.train_x}
    test = [(int(a), int(b)) for a, b in split.test_x]
    return sum((b, a) in train for a, b in test) / len(test)


# Figure labels stay in English (the figures keep English labels in every edition).
PAIRS_LABEL = {True: "a ≤ b", False: "all pairs"}


def _architecture_rows(results: Any, embedding: str, symmetric: bool, size: int | None = None) -> np.ndarray:
    """Done rows of one architecture sweep with this embedding, these pairs and (if given) this embedding size.

    The collapsed model has no embedding: where a sweep varies the embedding size, its
    collapsed runs repeat at every size, and only those at the first size are returned.
    """
    sizes = dict(results.grid.axes).get("embed_size")
    if embedding == "collapsed" and sizes:
        size = sizes[0]
    mask = (results.field("embedding") == embedding) & (results.field("symmetric").astype(bool) == symmetric) \
        & results.done
    if size is not None:
        mask &= results.field("embed_size") == size
    return np.nonzero(mask)[0]


def architecture_groups(sweeps: Mapping[str, Any]) -> dict[str, tuple[Any, np.ndarray]]:
    """The shipped architecture sweeps' runs in groups, in the order of figure 20: label -> (sweep, row indices).

    sweeps maps a regularizer's name ("L2", "L1") to its sweep. A label reads
    "embedding · pairs · regularizer" (with "d=<embedding size>" where the sweep varies it);
    collapsed runs ignore the embedding size, so only one copy of each is kept.
    """
    groups: dict[str, tuple[Any, np.ndarray]] = {}
    for reg, results in sweeps.items():
        fields = dict(results.grid.axes)
        sizes = fields.get("embed_size")
        for emb in fields["embedding"]:
            for sym in fields["symmetric"]:
                label = f"{emb} · {PAIRS_LABEL[bool(sym)]} · {reg}"
                if not sizes or emb == "collapsed":
                    groups[label] = (results, _architecture_rows(results, emb, bool(sym)))
                    continue
                for size in sizes:
                    groups[f"{label} · d={size}"] = (results, _architecture_rows(results, emb, bool(sym), size))
    return groups


def check_architecture_story(arch_runs: Mapping[str, Sequence[Any]], level: float) -> None:
    """Section 5's live claims: the factored (tied) model generalizes, the directly trained matrices do not."""
    best = {name: [float(r.metrics["test_acc"].max()) for r in runs] for name, runs in arch_runs.items()}
    fit = {name: [float(r.metrics["train_acc"][-1]) for r in runs] for name, runs in arch_runs.items()}
    tied = [name for name in arch_runs if name.startswith("tied") and name.endswith("2.0")]
    collapsed = [name for name in arch_runs if name.startswith("collapsed")]
    untied = [name for name in arch_runs if name.startswith("untied")]
    if not (tied and collapsed and untied):
        raise CheckFailed("arch_runs: " + _("expected the names of the architectures cell (tied / untied / collapsed, "
                                            "weight decay 0.3 and 2.0), got {names}").format(names=list(arch_runs)))
    reached = sum(b >= level for b in best[tied[0]])
    check_claim(_("the tied model with weight decay 2 reaches {level:.0%} test accuracy for at least 2 of 3 seeds").format(level=level),
                reached >= 2, _("best {best}").format(best=[round(b, 3) for b in best[tied[0]]]))
    worst_collapsed = max(b for name in collapsed for b in best[name])
    check_claim(_("no collapsed run (W_in and W_out trained directly) gets even halfway: test accuracy below 50%"),
                worst_collapsed < 0.5, _("best {best:.3f}").format(best=worst_collapsed))
    light = [name for name in collapsed if not name.endswith("2.0")]
    check_claim(_("yet with the lighter weight decay the collapsed model fits its training pairs (train accuracy at least 99%): "
                  "it memorizes"), all(f >= 0.99 for name in light for f in fit[name]),
                _("train accuracy {fit}").format(fit={name: [round(f, 3) for f in fit[name]] for name in light}))
    worst_untied = max(b for name in untied for b in best[name])
    check_claim(_("the untied model does not reach {level:.0%} within the budget either").format(level=level),
                worst_untied < level, _("best {best:.3f}").format(best=worst_untied))


def check_architecture_sweep(sweeps: Mapping[str, Any]) -> None:
    """Section 5's claims about the shipped sweeps at the article's scale (figure 20)."""
    def test_acc(emb: str, symmetric: bool, reg: str | None = None, size: int | None = None) -> np.ndarray:
        values = [results.test_acc[_architecture_rows(results, emb, symmetric, size)]
                  for name, results in sweeps.items() if reg is None or name == reg]
        if not values or not sum(len(v) for v in values):
            raise CheckFailed(_("no runs of {what} in the sweeps given").format(what=(emb, symmetric, reg, size)))
        return np.concatenate(values)

    collapsed_sym = test_acc("collapsed", True)
    check_claim(_("every collapsed run on the pairs a ≤ b fails to generalize, with L2 or L1 (test accuracy below 20%)"),
                collapsed_sym.max() < 0.2, _("best {best:.3f} over {n} runs").format(best=collapsed_sym.max(), n=len(collapsed_sym)))
    tied = test_acc("tied", True, "L2", 64)
    check_claim(_("the tied model on the same pairs (embedding 64, L2) generalizes in every run (test accuracy at least 99%)"),
                tied.min() >= 0.99, _("worst {worst:.3f} over {n} runs").format(worst=tied.min(), n=len(tied)))
    results = sweeps["L2"]
    rows = _architecture_rows(results, "collapsed", False)
    shares = np.array([mirror_share(results.grid.config(int(r))) for r in rows])
    excess = results.test_acc[rows] - shares
    check_claim(_("on all ordered pairs with L2, the collapsed model gets little beyond the mirror pairs "
                  "(test accuracy at most 15 points above the share of test pairs whose mirror it trained on)"),
                excess.max() <= 0.15, _("test accuracy {acc}, mirror share {share}").format(
                    acc=np.round(results.test_acc[rows].astype(np.float64), 3).tolist(), share=np.round(shares, 3).tolist()))
    l1 = test_acc("collapsed", False, "L1")
    check_claim(_("but on all ordered pairs with L1 it does generalize (test accuracy at least 80% in every run)"),
                l1.min() >= 0.8, _("worst {worst:.3f} over {n} runs").format(worst=l1.min(), n=len(l1)))
