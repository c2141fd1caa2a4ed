"""Every notebook statement about a particular trained run, as code: the runs' exact configs and the claims.

Used by ``tests/test_claims_float64.py``, which retrains each run in float32 (the notebook's own
precision) and in float64 and checks every claim on both. A claim is written as in the notebook
cell it comes from (same numbers, same thresholds); prose claims (markdown cells) are turned into
the nearest measurable statement. Each cell function gets the group's runs, the precision and a
:class:`Verdicts` collector, and records one verdict per statement.
"""

from __future__ import annotations

import contextlib
import io

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

import grokkit
from grokkit import ModAddConfig, ParityConfig, analysis, fourier
from grokkit.analysis import all_pairs_logits, classify_liu, first_crossing
from grokkit.course import CheckFailed, check_grokking
from grokkit.course import nb01 as c01, nb02 as c02, nb03 as c03, nb04 as c04, nb05 as c05, nb06 as c06, nb07 as c07
from grokkit.tasks import make_split


class Verdicts:
    """Collects (statement, holds, evidence) for the statements of one cell."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bool, str]] = []

    def claim(self, text: str, holds: Any, evidence: str = "") -> None:
        """Record a statement the cell checks with ``check_claim`` (or a prose statement)."""
        self.items.append((text, bool(holds), evidence))

    def check(self, text: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Record a statement the cell backs with one of grokkit.course's check functions."""
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                fn(*args, **kwargs)
        except CheckFailed as err:
            self.items.append((text, False, str(err)))
        else:
            self.items.append((text, True, out.getvalue().strip()))


# ---------------------------------------------------------------- the runs, exactly as the notebooks make them

P = grokkit.PAIR_MODADD
_quick = replace(P, lr=3e-3, steps=8_000, save_every=1_000)                                    # nb01-058
_mini = ParityConfig(n_bits=16, k=3, n_train=300, n_test=400, hidden_size=32, regularizer="l2",  # nb03-20
                     lr=3e-2, beta1=0.9, beta2=0.98, steps=2000, log_every=40, save_every=0)
_WDS03 = (0.01, 0.03, 0.1, 0.3, 1.0)
_base06 = ModAddConfig(p=31, train_fraction=0.6, embed_size=32, hidden_size=16, lr=1e-2,          # 3dff17f0
                       weight_decay=0.0, steps=5_000, log_every=50, save_every=1_000)
CONSTRAINTS = {"none": {}, "L2 weight decay": {"weight_decay": 2.0},
               "L1 penalty": {"regularizer": "l1", "weight_decay": 3e-5}, "dropout": {"dropout": 0.1},
               "smaller model": {"embed_size": 8, "hidden_size": 12}}
_base07 = ModAddConfig(p=47, train_fraction=0.5, embed_size=32, hidden_size=24, lr=3e-3,          # 26e58fef
                       weight_decay=1.0, steps=5_000, log_every=25, save_every=0)
_GF = {"grokfast_alpha": 0.98, "grokfast_lambda": 2.0}
OPTIMIZERS = {"AdamW": {}, "AdamW + Grokfast": _GF, "no weight decay": {"weight_decay": 0.0},
              "no weight decay + Grokfast": {"weight_decay": 0.0, **_GF}}
FRACTIONS07 = [0.4, 0.5, 0.55, 0.6, 0.7, 0.8]
LRS07, WDS07 = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2], [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]
# Seed 3, as in the notebook: its weight-decay run reaches 100% (float32) and 99.5% (float64) test
# accuracy, where seed 0's float64 run stopped at 78%.
COLLAPSE = {"float32": replace(_base06, seed=3, save_every=250),                                  # 2e05d3f5
            "StableMax": replace(_base06, seed=3, save_every=250, loss="stablemax"),
            "weight decay": replace(_base06, seed=3, save_every=250, weight_decay=2.0)}
ARCHITECTURES = {f"{e}, wd {wd}": {"embedding": e, "weight_decay": wd}                          # nb06-arch-train
                 for e in ("tied", "untied", "collapsed") for wd in (0.3, 2.0)}

# Group name -> the configs of the runs one notebook cell trains (float32, as in the notebook).
GROUPS: dict[str, list] = {
    "nb00_seed165": [replace(P, lr=3e-3, steps=10_000, log_every=100, seed=165)],                 # start-03
    "pair_modadd": [P],                                                                          # nb01-016, nb05-002
    "nb01_fractions": [replace(_quick, train_fraction=f) for f in (0.3, 0.5, 0.7)],               # nb01-058
    "parity": [grokkit.PAIR_PARITY],                                                             # nb02-012
    "parity_wd": [replace(grokkit.PAIR_PARITY, weight_decay=wd) for wd in (0.0, 1e-6, 1e-2)],    # nb02-048
    "mini_sweep": [replace(_mini, weight_decay=wd, seed=s) for wd in _WDS03 for s in range(3)],  # nb03-22
    "five_neuron": [grokkit.PAIR_FIVE_NEURON],                                                   # nb04-009
    "five_seeds": [replace(grokkit.PAIR_FIVE_NEURON, seed=s) for s in range(8)],                 # nb04-020
    "constraints": [replace(_base06, seed=s, **o) for o in CONSTRAINTS.values() for s in range(4)],  # 88ad4d65
    "reverse": [grokkit.REVERSE_GROKKING],                                                       # c53e8094
    "gen_mem_gen": [grokkit.GEN_MEM_GEN, replace(grokkit.GEN_MEM_GEN, seed=3)],                  # d5be58b7, cb14a6a0
    "collapse": list(COLLAPSE.values()),                                                         # 2e05d3f5
    "architectures": [replace(_base06, seed=s, **o) for o in ARCHITECTURES.values() for s in range(3)],  # nb06-arch-train
    "grokfast": [replace(_base07, seed=s, **o) for o in OPTIMIZERS.values() for s in range(6)],  # 26e58fef
    "fractions47": [replace(_base07, train_fraction=f, seed=s) for f in FRACTIONS07 for s in range(3)],  # 0d7610f9
    "phase": [replace(_base07, steps=4_000, lr=lr, weight_decay=wd) for lr in LRS07 for wd in WDS07],  # 725d5352
}


# ---------------------------------------------------------------- the claims, cell by cell

def start_07(runs, dtype, v: Verdicts) -> None:
    """00: seed 165 at lr 3e-3 groks within 10,000 steps (check cell and the prose around it)."""
    (run,) = runs
    m = run.metrics
    v.check("test accuracy reaches 95% at least ten times later than train accuracy", check_grokking,
            run.steps, m["train_acc"], m["test_acc"], min_ratio=10)
    t95 = first_crossing(run.steps, m["train_acc"], 0.95)
    v.claim("(start-06) the train curve reaches 100% within a few hundred steps (95% by step 1,000)",
            t95 is not None and t95 <= 1_000, f"train 95% at step {t95}")
    v.claim("(start-06) the test curve ends at 100% too (final test accuracy >= 99%)",
            m["test_acc"][-1] >= 0.99, f"final test accuracy {m['test_acc'][-1]:.3f}")


def nb01_main(runs, dtype, v: Verdicts) -> None:
    """01: the article's main model (PAIR_MODADD, seed 0, 50,000 steps): cells 022, 027, 031, 033, 055."""
    (run,) = runs
    m, steps = run.metrics, run.steps
    v.check("(nb01-022) test accuracy reaches 99% at least ten times later than train accuracy", check_grokking,
            steps, m["train_acc"], m["test_acc"], level=0.99, min_ratio=10)
    train_99 = first_crossing(steps, m["train_acc"], 0.99)
    test_10 = first_crossing(steps, m["test_acc"], 0.10)
    test_99 = first_crossing(steps, m["test_acc"], 0.99)
    if None in (train_99, test_10, test_99):
        v.claim("(nb01-027) train reaches 99%, test reaches 10% and 99%", False,
                f"train 99% {train_99}, test 10% {test_10}, test 99% {test_99}")
        return
    v.claim("(nb01-027) when the training accuracy reaches 99%, the test accuracy is still below 5%",
            m["test_acc"][run.log_index(train_99)] < 0.05, f"{m['test_acc'][run.log_index(train_99)]:.3f} at {train_99}")
    v.claim("(nb01-027) the test accuracy stays below 10% more than twice as long as its climb from 10% to 99%",
            test_10 - train_99 > 2 * (test_99 - test_10), f"train 99% {train_99}, test 10% {test_10}, test 99% {test_99}")
    tl, te = m["train_loss"], m["test_loss"]
    peak = int(np.argmax(te))
    before = run.log_index(test_10) - 1
    v.claim("(nb01-031) the training loss falls by more than four orders of magnitude",
            tl[-1] < 1e-4 * tl[0], f"{tl[0]:.2g} -> {tl[-1]:.2g}")
    v.claim("(nb01-031) the memorizing network's test loss peaks above ln 67", te[peak] > np.log(67), f"{te[peak]:.2f}")
    v.claim("(nb01-031) the test loss falls by half from its peak before the test accuracy reaches 10%",
            te[before] < 0.5 * te[peak], f"{te[peak]:.1f} at {steps[peak]}, {te[before]:.1f} at {steps[before]}")
    l2 = m["l2_norm"]
    v.claim("(nb01-033) the weights grow while memorizing, then shrink below their starting size",
            l2.max() > 1.2 * l2[0] and l2[-1] < l2[0], f"{l2[0]:.1f}, peak {l2.max():.1f}, end {l2[-1]:.1f}")
    share = np.array([c01.reference_frequency_share(W).mean() for W in run.W_in])
    memorized = int(run.snapshot_steps[np.searchsorted(run.snapshot_steps, train_99)])
    at_mem = share[run.snapshot_index(memorized)]
    before_jump = share[run.snapshot_index(test_10) - 1]
    v.claim("(nb01-055) just after memorizing the mean frequency share is below 0.35", at_mem < 0.35, f"{at_mem:.2f}")
    v.claim("(nb01-055) the share rises by 0.1 before the test accuracy reaches 10%",
            before_jump > at_mem + 0.1, f"{at_mem:.2f} -> {before_jump:.2f}")
    v.claim("(nb01-055) at the end the mean share is above 0.75", share[-1] > 0.75, f"{share[-1]:.2f}")
    keys = fourier.key_frequencies(run.W_in[-1], min_strength=10)
    v.claim("(nb01-055) the network uses 2 to 6 key frequencies", 2 <= len(keys) <= 6, f"{keys}")
    v.claim("(nb01-021) test accuracy near chance for tens of thousands of steps (below 10% until step 20,000)",
            test_10 >= 20_000, f"test 10% at step {test_10}")


def nb01_fractions(runs, dtype, v: Verdicts) -> None:
    """01 §7: quick runs at 30/50/70% of the pairs (cells 064, 065 and the prose of 066)."""
    grok = {r.config.train_fraction: c01.grokking_step(r) for r in runs}
    s30, s50, s70 = (grok[f] for f in (0.3, 0.5, 0.7))
    v.claim("(nb01-065) with 30% no 99% within 8,000 steps; with 50% yes, with 70% sooner still",
            s30 is None and s50 is not None and s70 is not None and s70 < s50, f"99% test accuracy at {grok}")
    v.claim("(nb01-064) more data groks sooner (the answer True of exercise 1.7)", c01.more_data_groks_sooner(runs),
            f"{grok}")
    r70 = runs[2]
    t99 = first_crossing(r70.steps, r70.metrics["train_acc"], 0.99)
    v.claim("(nb01-066) with 70% the delay has shrunk to a few hundred or a couple of thousand steps (<= 2,500)",
            s70 is not None and t99 is not None and s70 - t99 <= 2_500, f"train 99% {t99}, test 99% {s70}")


def nb02_main(runs, dtype, v: Verdicts) -> None:
    """02: PAIR_PARITY (cells 015, 031, 034, 041, 045)."""
    (run,) = runs
    m, steps = run.metrics, run.steps
    memorized = first_crossing(steps, m["train_acc"], 1.0)
    generalized = first_crossing(steps, m["test_acc"], 0.99)
    v.check("(nb02-015) test accuracy reaches 99% at least twice as late as train accuracy", check_grokking,
            steps, m["train_acc"], m["test_acc"], level=0.99, min_ratio=2)
    if memorized is None or generalized is None:
        v.claim("(nb02-015) train reaches 100% and test 99%", False, f"{memorized}, {generalized}")
        return
    v.claim("(nb02-015) when the training accuracy reaches 100%, the test accuracy is below 70%",
            m["test_acc"][run.log_index(memorized)] < 0.7, f"{m['test_acc'][run.log_index(memorized)]:.3f}")
    mass = c02.reference_distractor_mass(run.W_in, run.config.k)
    key_mass = np.abs(run.W_in[:, : run.config.k, :]).sum(axis=(1, 2))
    pruned = c02.reference_pruned_step(run)
    peak = int(np.argmax(mass))
    peak_step = int(run.snapshot_steps[peak])
    at = lambda s: float(mass[run.snapshot_index(s)] / mass[peak])  # noqa: E731
    i_m = run.snapshot_index(memorized)
    v.claim("(nb02-031) the distractors hold most (>70%) of the digit weight when it memorizes",
            mass[i_m] / (mass + key_mass)[i_m] > 0.7, f"{mass[i_m] / (mass + key_mass)[i_m]:.2f}")
    v.claim("(nb02-031) the distractor weights peak before the model generalizes, and are pruned after",
            pruned is not None and peak_step < generalized < pruned, f"peak {peak_step}, 99% {generalized}, pruned {pruned}")
    if pruned is not None:
        d = np.diff(mass[peak: run.snapshot_index(pruned) + 1])
        v.claim("(nb02-031) the pruning is gradual (falls at every snapshot, by at most 10% of the peak)",
                (d < 0).all() and -d.min() < 0.1 * mass[peak], f"largest drop {-d.min() / mass[peak]:.3f}")
    tl, te = m["train_loss"], m["test_loss"]
    i_gen = run.log_index(generalized)
    i_min = int(np.argmin(tl[: i_gen + 1]))
    v.claim("(nb02-034) the training loss rises (2x) before the model generalizes",
            steps[i_min] < generalized and tl[i_gen] > 2 * tl[i_min], f"{tl[i_gen] / tl[i_min]:.1f}x")
    i_meet = i_gen + int(np.argmax(te[i_gen:] < 2 * tl[i_gen:]))
    v.claim("(nb02-034) the test loss comes down to the training loss only once 90% of the distractor weight is gone",
            te[i_meet] < 2 * tl[i_meet] and at(steps[i_meet]) < 0.1, f"step {steps[i_meet]}, {at(steps[i_meet]):.2f} left")
    loss_term, decay_term = c02.reference_objective_terms(run)
    rise, fall = loss_term[i_gen] - loss_term[i_min], decay_term[i_min] - decay_term[i_gen]
    v.claim("(nb02-041) once memorized, the weight-decay term is over 100x the loss term",
            decay_term[i_min] > 100 * loss_term[i_min], f"{decay_term[i_min]:.1e} vs {loss_term[i_min]:.1e}")
    v.claim("(nb02-041) the cut in weight decay is over 100x the rise in loss", rise > 0 and fall > 100 * rise,
            f"rise {rise:.1e}, fall {fall:.1e}")
    W = run.W_in[-1]
    k = run.config.k
    v.claim("(nb02-045) at the end, the largest key-digit weight is over 100x the largest distractor weight",
            np.abs(W[:k]).max() > 100 * np.abs(W[k:-1]).max(), f"{np.abs(W[:k]).max():.2f} vs {np.abs(W[k:-1]).max():.4f}")


def nb02_weight_decay(runs, dtype, v: Verdicts) -> None:
    """02 §8: no weight decay, the default and far too much (cells 049, 052 and the prose of 053)."""
    no_wd, default, too_much = runs
    v.check("(nb02-049) the outcomes are memorizes / groks / fails", c02.check_weight_decay_experiment, runs,
            {0.0: "memorizes", 1e-6: "groks", 1e-2: "fails"})
    k = no_wd.config.k
    mass = c02.reference_distractor_mass(no_wd.W_in, k)
    v.claim("(nb02-052) without weight decay it memorizes and never generalizes",
            no_wd.final["train_acc"] == 1.0 and no_wd.final["test_acc"] < 0.9,
            f"train {no_wd.final['train_acc']:.3f}, test {no_wd.final['test_acc']:.3f}")
    v.claim("(nb02-052) without weight decay over half of the distractor peak remains", mass[-1] > 0.5 * mass.max(),
            f"{mass[-1] / mass.max():.2f}")
    v.claim("(nb02-052) without weight decay Σ|w| ends over 10x the grokking model's",
            no_wd.final["l1_norm"] > 10 * default.final["l1_norm"], f"{no_wd.final['l1_norm']:.0f} vs {default.final['l1_norm']:.0f}")
    per_digit = np.abs(no_wd.W_in[-1][:-1]).mean(axis=1)
    v.claim("(nb02-052) without weight decay the first three digits get more weight than a typical distractor",
            per_digit[:k].mean() > per_digit[k:].mean(), f"{per_digit[:k].mean():.2f} vs {per_digit[k:].mean():.2f}")
    v.claim("(nb02-052) with far too much weight decay train accuracy stays below 90%",
            too_much.final["train_acc"] < 0.9, f"{too_much.final['train_acc']:.3f}")


def nb03_mini(runs, dtype, v: Verdicts) -> None:
    """03: the 15-run mini-sweep (cell 29 and the prose of 28 and 49)."""
    good = c03.generalizing_counts(runs)
    wds = sorted(good)
    mid = wds[len(wds) // 2]
    v.claim(f"(nb03-29) more runs generalize at weight decay {mid:g} than at {wds[0]:g} and {wds[-1]:g}",
            good[mid] > good[wds[0]] and good[mid] > good[wds[-1]], f"{good}")
    classes = [analysis.classify_run(r) for r in runs]
    at1 = [c for r, c in zip(runs, classes) if r.config.weight_decay == 1.0]
    v.claim("(nb03-28) at weight decay 1 every run fails", all(c == "fail" for c in at1), f"{at1}")
    n = runs[0].config.n_classes
    test = np.stack([r.metrics["test_loss"] / n for r in runs])
    med = c03.reference_grok_steps(runs[0].steps, test, np.array([r.config.weight_decay for r in runs]),
                                   np.array(classes))


def nb04_main(runs, dtype, v: Verdicts) -> None:
    """04: PAIR_FIVE_NEURON, seed 86 (cells 013 and 017)."""
    (run,) = runs
    v.check("(nb04-013) train and test accuracy rise together and reach 100%", c04.check_rise_together, run)
    v.check("(nb04-017) the neurons' norms end about equal", c04.check_equal_norms, run)
    v.check("(nb04-017) the in-projections end evenly spaced", c04.check_even_spacing, run)
    v.check("(nb04-017) each out-projection sits at twice its in-projection's angle", c04.check_doubled_rotation, run)


def nb04_seeds(runs, dtype, v: Verdicts) -> None:
    """04: seeds 0-7 of PAIR_FIVE_NEURON (cells 021, 023, 029)."""
    v.check("(nb04-021) some seeds reach 100% test accuracy and others stay below 50%", c04.check_some_seeds_fail, runs)
    v.check("(nb04-029) failed seeds leave uneven gaps, solved ones even", c04.check_failures_are_uneven, runs)


def nb05_main(runs, dtype, v: Verdicts) -> None:
    """05: PAIR_MODADD (cells 003, 016, 023, 026, 035, 041, 051)."""
    (run,) = runs
    m = run.metrics
    v.check("(nb05-003) test accuracy reaches 95% at least ten times later", check_grokking,
            run.steps, m["train_acc"], m["test_acc"], min_ratio=10)
    v.check("(nb05-016) a few key frequencies hold nearly all of the weights", c05.check_few_frequencies, run)
    v.check("(nb05-023) at least half of the neurons are pure", c05.check_single_frequency, run,
            min_fraction=0.5)
    v.check("(nb05-026) each pure neuron writes at twice its angle", c05.check_doubled_phase, run)
    v.check("(nb05-035) the logits match the ideal ones at the end", c05.check_logits_match_ideal, run)
    v.check("(nb05-041) each group alone is weak, the others without it beat it alone",
            c05.check_frequencies_vote, run)
    v.check("(nb05-051) restricted loss falls, excluded loss rises before the jump", c05.check_hidden_progress,
            run, analysis.progress_measures(run))


def nb06_constraints(runs, dtype, v: Verdicts) -> None:
    """06 §1-2: five constraints x four seeds (cells 06cbb699, 6a6c9377 and the prose of b4808c95)."""
    level = 0.9
    by = {name: runs[i * 4:(i + 1) * 4] for i, name in enumerate(CONSTRAINTS)}
    steps = {name: [first_crossing(r.steps, r.metrics["test_acc"], level) for r in rs] for name, rs in by.items()}
    best = {name: max(float(r.metrics["test_acc"].max()) for r in rs) for name, rs in by.items()}
    reached = {name: sum(s is not None for s in ss) for name, ss in steps.items()}
    fit = [first_crossing(r.steps, r.metrics["train_acc"], 0.95) for n in ("none", "L2 weight decay", "L1 penalty")
           for r in by[n]]
    v.claim("(06cbb699) every seed without dropout reaches 95% train accuracy within 300 steps",
            all(s is not None and s <= 300 for s in fit), f"{fit}")
    v.claim("(06cbb699) with no constraint no seed gets halfway", best["none"] < 0.5, f"{best['none']:.2f}")
    v.claim("(06cbb699) L2 and L1 each make at least 3 of 4 seeds generalize",
            reached["L2 weight decay"] >= 3 and reached["L1 penalty"] >= 3, f"{reached}")
    v.claim("(06cbb699) dropout 0.1: no seed gets halfway", best["dropout"] < 0.5, f"{best['dropout']:.2f}")
    v.claim("(06cbb699) the smaller model passes 50% but no seed reaches 90%", 0.5 < best["smaller model"] < level,
            f"{best['smaller model']:.2f}")
    small = sorted(float(r.metrics["test_acc"].max()) for r in by["smaller model"])
    v.claim("(b4808c95) three of the four smaller-model seeds climb to 66-86% test accuracy (rounded)",
            sum(0.655 <= a < 0.865 for a in small) == 3, f"peak test accuracies {np.round(small, 2).tolist()}")
    sizes: dict[str, list[float]] = {}
    for name, rs in by.items():
        for r in rs:
            final = r.metrics["test_acc"][-1]
            kind = "generalizer" if final >= level else "memorizer" if final < 0.5 else None
            if kind and r.metrics["train_acc"][-1] == 1.0 and r.W_in.shape[-1] == _base06.hidden_size:
                split = make_split(r.config)
                sizes.setdefault(kind, []).append(_weight_size_for_loss(r.W_in[-1], r.W_out[-1], split.train_x, split.train_y))
    v.claim("(6a6c9377) the median generalizer needs smaller weights than the median memorizer for the same training loss",
            "generalizer" in sizes and "memorizer" in sizes
            and float(np.median(sizes["generalizer"])) < float(np.median(sizes["memorizer"])),
            f"{ {k: np.round(s, 1).tolist() for k, s in sizes.items()} }")


def nb06_architectures(runs, dtype, v: Verdicts) -> None:
    """06 §5: tied / untied / collapsed x weight decay 0.3 / 2 x three seeds (cell nb06-arch-check and the prose after it)."""
    by = {name: runs[3 * i:3 * i + 3] for i, name in enumerate(ARCHITECTURES)}
    v.check("(nb06-arch-check) the architecture story", c06.check_architecture_story, by, 0.9)
    best = {name: [float(r.metrics["test_acc"].max()) for r in rs] for name, rs in by.items()}
    fit = {name: [float(r.metrics["train_acc"][-1]) for r in rs] for name, rs in by.items()}
    v.claim("(nb06-arch-after) collapsed with weight decay 0.3: most seeds get at most about a quarter of the test pairs (< 30%)",
            sum(b < 0.3 for b in best["collapsed, wd 0.3"]) >= 2, f"{best['collapsed, wd 0.3']}")
    v.claim("(nb06-arch-after) collapsed with weight decay 2 fits only about 40% of its training pairs (35-50%)",
            all(0.35 <= f <= 0.5 for f in fit["collapsed, wd 2.0"]), f"{fit['collapsed, wd 2.0']}")
    v.claim("(nb06-arch-after) untied with weight decay 2 gets between a fifth and about half of the test pairs (0.2-0.6)",
            all(0.2 <= b <= 0.6 for b in best["untied, wd 2.0"]), f"{best['untied, wd 2.0']}")


def _weight_size_for_loss(W_in, W_out, pairs, labels, target=1e-3) -> float:
    """Notebook 06's bisection (cell 20f45381)."""
    lo, hi = 1e-3, 1e3
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if c06.reference_loss_at_scale(W_in, W_out, pairs, labels, mid) > target else (lo, mid)
    c = np.sqrt(lo * hi)
    return float(c * np.sqrt((W_in ** 2).sum() + (W_out ** 2).sum()))


def nb06_reverse(runs, dtype, v: Verdicts) -> None:
    """06 §3: REVERSE_GROKKING, seed 68 (cell 5d9de4b6)."""
    (r,) = runs
    m, steps = r.metrics, r.steps
    best = int(np.argmin(m["test_loss"]))
    share = np.array([c06.frequency_share(W).mean() for W in r.W_in])
    v.claim("(5d9de4b6) without weight decay it starts to generalize (test accuracy above 70%)",
            m["test_acc"].max() > 0.7, f"{m['test_acc'].max():.3f}")
    v.claim("(5d9de4b6) the test loss ends over 4x above its lowest, the train loss falls over 100x further",
            m["test_loss"][-1] > 4 * m["test_loss"][best] and m["train_loss"][-1] < m["train_loss"][best] / 100,
            f"test {m['test_loss'][best]:.2f} -> {m['test_loss'][-1]:.2f}, train {m['train_loss'][best]:.1e} -> {m['train_loss'][-1]:.1e}")
    v.claim("(5d9de4b6) the test accuracy slips from its peak by at least 2 points",
            m["test_acc"].max() - m["test_acc"][-1] >= 0.02, f"{m['test_acc'].max():.3f} -> {m['test_acc'][-1]:.3f}")
    v.claim("(5d9de4b6) the L2 norm ends at least 1.5x above its value at the best test loss",
            m["l2_norm"][-1] > 1.5 * m["l2_norm"][best], f"{m['l2_norm'][best]:.1f} -> {m['l2_norm'][-1]:.1f}")
    low = share[r.snapshot_index(int(steps[best])):].min()
    v.claim("(5d9de4b6) the mean frequency share stays above 0.5 from the best test loss on (about 0.1 at start)",
            low > 0.5 and share[0] < 0.2, f"start {share[0]:.2f}, lowest after best {low:.2f}")


def _round_trip(run) -> tuple[int, int, float]:
    """A GEN_MEM_GEN run's first generalizing log index (<= 5,000 steps), its test-loss peak after it, the accuracy low between."""
    m = run.metrics
    early = int(np.argmin(np.where(run.steps <= 5_000, m["test_loss"], np.inf)))
    peak = early + int(np.argmax(m["test_loss"][early:]))
    return early, peak, float(m["test_acc"][early:peak + 1].min())


def nb06_gen_mem_gen(runs, dtype, v: Verdicts) -> None:
    """06 §3: GEN_MEM_GEN, seed 78 (cell 46d4090c), and seed 3, which the prose of cb14a6a0 says makes the round trip."""
    m, steps = runs[0].metrics, runs[0].steps
    early, peak, low = _round_trip(runs[0])
    v.claim("(46d4090c) it generalizes first: test accuracy above 90% within 5,000 steps", m["test_acc"][early] > 0.9,
            f"{m['test_acc'][early]:.3f} at {steps[early]}")
    v.claim("(46d4090c) then memorizes: test loss more than quadruples, train accuracy 100%, test accuracy drops",
            m["test_loss"][peak] > 4 * m["test_loss"][early] and m["train_acc"][peak] == 1.0
            and low < m["test_acc"][early] - 0.02,
            f"test loss {m['test_loss'][early]:.2f} -> {m['test_loss'][peak]:.2f} at {steps[peak]}, acc low {low:.3f}")
    v.claim("(46d4090c) then generalizes again: test loss below half its peak, end accuracy 2 points above its low",
            m["test_loss"][peak:].min() < m["test_loss"][peak] / 2 and m["test_acc"][-1] >= low + 0.02,
            f"lowest test loss after the peak {m['test_loss'][peak:].min():.2f}, end acc {m['test_acc'][-1]:.3f}")
    m3 = runs[1].metrics
    early3, _, low3 = _round_trip(runs[1])
    v.claim("(cb14a6a0) seed 3 makes the round trip: about 92%, a dip to about 91%, then 100%",
            abs(m3["test_acc"][early3] - 0.92) < 0.01 and abs(low3 - 0.91) < 0.01 and low3 < m3["test_acc"][early3]
            and m3["test_acc"][-1] == 1.0,
            f"{m3['test_acc'][early3]:.3f}, low {low3:.3f}, end {m3['test_acc'][-1]:.3f}")


def _right_probability(logits, labels, dtype, loss):
    """Notebook 06's cell 47b915f2: the right answer's probability in the variant's own arithmetic."""
    import torch
    z = torch.as_tensor(logits.astype(dtype))
    if loss == "stablemax":
        s = torch.where(z >= 0, z + 1, 1 / (1 - z.clamp(max=0)))
        probs = s / s.sum(-1, keepdim=True)
    else:
        probs = torch.softmax(z, -1)
    return probs.numpy()[np.arange(len(labels)), labels]


def nb06_collapse(runs, dtype, v: Verdicts) -> None:
    """06 §4: softmax collapse (cell 972b3c1c). Its float64 variant is this table's float64 retrain of "float32"."""
    by = dict(zip(COLLAPSE, runs))
    split = make_split(runs[0].config)          # the notebook: make_split(collapse_variants["float32"])
    x, y = split.train_x, split.train_y
    gap, zero = {}, {}
    for name, r in by.items():
        np_dtype = np.float64 if r.config.dtype == "float64" else np.float32
        med, frac = [], []
        for W_in, W_out in zip(r.W_in, r.W_out):
            logits = all_pairs_logits(W_in, W_out)[x[:, 0], x[:, 1]]
            med.append(np.median(c06.reference_logit_gap(logits, y)))
            frac.append(np.mean(_right_probability(logits, y, np_dtype, r.config.loss) == 1.0))
        gap[name], zero[name] = np.array(med), np.array(frac)
    peak = {name: float(f.max()) for name, f in zero.items()}
    if dtype == "float32":
        v.claim("(972b3c1c) in float32 at some point over a quarter of the training pairs have zero gradient",
                peak["float32"] > 0.25, f"{peak}")
    else:
        v.claim("(972b3c1c) in float64 under 10% of the training pairs ever have zero gradient",
                peak["float32"] < 0.1, f"{peak}")
    v.claim("(972b3c1c) with StableMax and with weight decay not a single pair does",
            peak["StableMax"] == peak["weight decay"] == 0.0, f"{peak}")
    v.claim("(972b3c1c) weight decay keeps every median gap below the float32 wall of 16.6",
            gap["weight decay"].max() < np.log(2.0 ** 24), f"{gap['weight decay'].max():.1f}")
    v.claim("(972b3c1c) none of the runs without weight decay generalizes (test accuracy below 50%)",
            all(by[n].metrics["test_acc"].max() < 0.5 for n in ("float32", "StableMax")),
            f"{ {n: round(float(r.metrics['test_acc'].max()), 2) for n, r in by.items()} }")
    v.claim("(972b3c1c) the weight-decay run generalizes (test accuracy above 80%)",
            by["weight decay"].metrics["test_acc"].max() > 0.8, f"{by['weight decay'].metrics['test_acc'].max():.3f}")


def nb07_grokfast(runs, dtype, v: Verdicts) -> None:
    """07 §1: Grokfast, six seeds, four optimizers (cell 3730363d)."""
    by = {name: runs[i * 6:(i + 1) * 6] for i, name in enumerate(OPTIMIZERS)}
    st = {name: [first_crossing(r.steps, r.metrics["test_acc"], 0.95) for r in rs] for name, rs in by.items()}
    best = {name: max(float(r.metrics["test_acc"].max()) for r in rs) for name, rs in by.items()}
    med = {name: c07.median_steps(s, reached_only=True) for name, s in st.items()}
    reached = {name: sum(s is not None for s in ss) for name, ss in st.items()}
    v.claim("(3730363d) without weight decay no seed generalizes, with or without Grokfast",
            best["no weight decay"] < 0.5 and best["no weight decay + Grokfast"] < 0.5, f"{best}")
    v.claim("(3730363d) with weight decay plain AdamW makes at least half of the seeds generalize",
            reached["AdamW"] >= 3, f"{reached}")
    v.claim("(3730363d) Grokfast brings no more seeds to 95% than AdamW",
            reached["AdamW + Grokfast"] <= reached["AdamW"], f"{reached}")
    v.claim("(3730363d) with Grokfast the seeds that reach 95% get there no sooner (median)",
            med["AdamW + Grokfast"] >= med["AdamW"], f"{st}")


def nb07_fractions(runs, dtype, v: Verdicts) -> None:
    """07 §2: data efficiency, six fractions x three seeds (cell 8f05c302)."""
    st = {f: [first_crossing(r.steps, r.metrics["test_acc"], 0.99) for r in runs[i * 3:(i + 1) * 3]]
          for i, f in enumerate(FRACTIONS07)}
    medians = np.array([c07.median_steps(st[f]) for f in FRACTIONS07])
    v.claim("(8f05c302) with 40% no seed reaches 99% within 5,000 steps", all(s is None for s in st[0.4]), f"{st}")
    v.claim("(8f05c302) at 50% not every seed gets there", sum(s is None for s in st[0.5]) >= 1, f"{st[0.5]}")
    v.claim("(8f05c302) from 60% every seed gets there; from 55% the median never rises",
            all(s is not None for f in FRACTIONS07[3:] for s in st[f]) and bool(np.all(np.diff(medians[2:]) <= 0)),
            f"{st}")
    v.claim("(8f05c302) from 80% down to 55% generalization is at least 3x slower", medians[2] >= 3 * medians[-1],
            f"medians {medians.tolist()}")


def nb07_phase(runs, dtype, v: Verdicts) -> None:
    """07 §3: phase diagram, 5 learning rates x 6 weight decays (cell 64db805a and the prose of 208d9ff1)."""
    phase = np.array([classify_liu(r.steps, r.metrics["train_acc"], r.metrics["test_acc"], 0.9, 250) for r in runs],
                     dtype=object).reshape(len(LRS07), len(WDS07))
    gen = np.isin(phase, ["comprehension", "grokking"])
    v.claim("(64db805a) without weight decay every run memorizes", bool(np.all(phase[:, 0] == "memorization")), f"{phase.tolist()}")
    v.claim("(64db805a) at the largest weight decay every run is in confusion", bool(np.all(phase[:, -1] == "confusion")),
            f"{phase.tolist()}")
    v.claim("(64db805a) at least 4 runs generalize, all at weight decays 0.1 to 3",
            gen.sum() >= 4 and not gen[:, 0].any() and not gen[:, -1].any(), f"{int(gen.sum())}")
    top = [c for j, c in enumerate(phase[-1]) if j == 0 or c != phase[-1][j - 1]]
    v.claim("(64db805a) along the largest lr: memorization, then grokking, then comprehension",
            top[:3] == ["memorization", "grokking", "comprehension"], f"{list(phase[-1])}")
    col3 = list(phase[:, WDS07.index(3.0)])
    v.claim("(208d9ff1) three of the five cells at weight decay 3 memorize", col3.count("memorization") == 3, f"{col3}")


@dataclass(frozen=True)
class Cell:
    """One notebook cell's (or section's) statements about the runs of one group."""

    notebook: str
    cell: str
    group: str
    check: Callable[[list, str, Verdicts], None]


CELLS = [
    Cell("00_start_here", "start-07", "nb00_seed165", start_07),
    Cell("01_grokking_modular_addition", "nb01-022..055", "pair_modadd", nb01_main),
    Cell("01_grokking_modular_addition", "nb01-064..066", "nb01_fractions", nb01_fractions),
    Cell("02_memorize_or_generalize", "nb02-015..045", "parity", nb02_main),
    Cell("02_memorize_or_generalize", "nb02-049..053", "parity_wd", nb02_weight_decay),
    Cell("03_when_does_grokking_happen", "nb03-28..49", "mini_sweep", nb03_mini),
    Cell("04_five_neurons", "nb04-013..017", "five_neuron", nb04_main),
    Cell("04_five_neurons", "nb04-021..029", "five_seeds", nb04_seeds),
    Cell("05_fourier_analysis", "nb05-003..051", "pair_modadd", nb05_main),
    Cell("06_open_questions", "06cbb699,b4808c95,6a6c9377", "constraints", nb06_constraints),
    Cell("06_open_questions", "5d9de4b6", "reverse", nb06_reverse),
    Cell("06_open_questions", "46d4090c", "gen_mem_gen", nb06_gen_mem_gen),
    Cell("06_open_questions", "972b3c1c", "collapse", nb06_collapse),
    Cell("06_open_questions", "nb06-arch-check,nb06-arch-after", "architectures", nb06_architectures),
    Cell("07_beyond_the_article", "3730363d", "grokfast", nb07_grokfast),
    Cell("07_beyond_the_article", "8f05c302", "fractions47", nb07_fractions),
    Cell("07_beyond_the_article", "64db805a,208d9ff1", "phase", nb07_phase),
]
