"""Comparisons with the article: a sweep's classes and frequencies beside the explorable's published numbers."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import analysis
from .registry import load
from .store import SweepResults

# The explorable's published numbers (explorable.md sections 2 and 4).
EXPLORABLE_PARITY_COUNTS = {"fail": 152, "memorize": 390, "generalize": 148, "grok": 435}
EXPLORABLE_PARITY_BY_WD = {0.01: {"memorize": 199}, 0.1: {"grok": 179}, 1.0: {"fail": 135}}  # of 225 runs each
EXPLORABLE_PARITY_RUNS = 1125
EXPLORABLE_SEED_N_FREQS = {2: 1, 3: 274, 4: 165, 5: 10}  # models using that many frequencies, of 450
EXPLORABLE_SEED_RUNS = 450


def parity_comparison(res: SweepResults, min_loss: float = analysis.DEFAULT_MIN_LOSS,
                      max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> dict[str, Any]:
    """Class counts of a parity grid overall and per weight decay, beside the explorable's published counts."""
    return {
        "n_done": res.n_done, "n_runs": res.n_runs, "complete": res.complete,
        "overall": res.class_counts(min_loss=min_loss, max_ratio=max_ratio),
        "by_weight_decay": res.class_counts(by="weight_decay", min_loss=min_loss, max_ratio=max_ratio),
        "explorable_overall": dict(EXPLORABLE_PARITY_COUNTS), "explorable_runs": EXPLORABLE_PARITY_RUNS,
        "explorable_by_weight_decay": {k: dict(v) for k, v in EXPLORABLE_PARITY_BY_WD.items()},
        "settings_done": res.settings(),
    }


def _crossings(res: SweepResults, rows: Sequence[int], level: float) -> dict[int, int | None]:
    """Row -> first logged step with test loss (article scale) at most level; None if never."""
    _, te = res.article_losses()
    return {int(r): analysis.first_crossing(res.steps, te[r], level, above=False) for r in rows}


def seed_comparison(res: SweepResults, level: float = 1e-2) -> dict[str, Any]:
    """Frequencies of a seed sweep beside the explorable's, over the models that generalized.

    A model counts as generalized when its test loss (article scale) reaches ``level``; the
    explorable's 450 all did, so its frequency statistics are over generalized models. The
    frequencies of a model that only memorized are noise, reported apart.
    """
    done = np.nonzero(res.done)[0]
    crossings = _crossings(res, done, level)
    generalized = [r for r in done if crossings[int(r)] is not None]

    def tally(rows: Sequence[int]) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        n_freqs: dict[int, int] = {}
        group_sizes: dict[int, int] = {}
        freq_use: dict[int, int] = {}
        for r in rows:
            counts = res.freq_neurons[r][1:]
            ks = np.nonzero(counts)[0]
            n_freqs[len(ks)] = n_freqs.get(len(ks), 0) + 1
            for k in ks:
                group_sizes[int(counts[k])] = group_sizes.get(int(counts[k]), 0) + 1
                freq_use[int(k) + 1] = freq_use.get(int(k) + 1, 0) + 1
        return dict(sorted(n_freqs.items())), dict(sorted(group_sizes.items())), dict(sorted(freq_use.items()))

    n_freqs, group_sizes, freq_use = tally(generalized)
    reached = [crossings[int(r)] for r in generalized]
    return {
        "n_done": res.n_done, "n_runs": res.n_runs, "complete": res.complete, "level": level,
        "generalized": len(generalized), "not_generalized_seeds": [int(res.seeds[r]) for r in done
                                                                   if crossings[int(r)] is None],
        "models_by_n_freqs": n_freqs, "groups_by_size": group_sizes, "models_by_freq": freq_use,
        "all_models_by_n_freqs": tally(done)[0],
        "median_crossing_step": float(np.median(reached)) if reached else None,
        "crossing_range": [int(min(reached)), int(max(reached))] if reached else None,
        "explorable_models_by_n_freqs": dict(EXPLORABLE_SEED_N_FREQS), "explorable_runs": EXPLORABLE_SEED_RUNS,
        "explorable_most_common_group": "5 neurons (435 groups)",
        "explorable_crossing": "all 450 reach test loss < 1e-2; median at 27k steps (range 6k-50k)",
    }


def grok_rate(res: SweepResults, max_seed: int | None = None, level: float = 1e-2) -> dict[str, Any]:
    """How many done runs of a seed sweep (those with seed < max_seed, if given) reach test loss < level, and when.

    The article's criterion (test loss on its scale below 1e-2 within the run's steps). Returns
    {"name", "grokked", "runs", "rate", "median_step" (over the runs that grokked; None if none),
    "not_grokked" (their seeds)}.
    """
    rows = [int(r) for r in np.nonzero(res.done)[0] if max_seed is None or res.seeds[r] < max_seed]
    steps = _crossings(res, rows, level)
    reached = [s for s in steps.values() if s is not None]
    return {"name": res.name, "grokked": len(reached), "runs": len(rows),
            "rate": len(reached) / len(rows) if rows else float("nan"),
            "median_step": float(np.median(reached)) if reached else None,
            "not_grokked": [int(res.seeds[r]) for r, s in steps.items() if s is None]}


def summary(res: SweepResults | str, min_loss: float = analysis.DEFAULT_MIN_LOSS,
            max_ratio: float = analysis.DEFAULT_MAX_RATIO) -> str:
    """A printable comparison of a sweep's results with the explorable's published numbers."""
    if isinstance(res, str):
        res = load(res)
    status = (f"{res.name}: {res.n_done} of {res.n_runs} runs done"
              + ("" if res.complete else " (PARTIAL: counts cover only the finished runs)"))
    lines = [status]
    if res.grid.base.task == "parity":
        c = parity_comparison(res, min_loss, max_ratio)
        n = max(res.n_done, 1)
        lines.append(f"thresholds: min loss {min_loss:g}, max test/train ratio {max_ratio:g}")
        lines.append(f"{'class':<11}{'here':>7}{'%':>7}   {'explorable':>10}{'%':>7}")
        for k in analysis.CLASSES:
            ours, theirs = c["overall"][k], EXPLORABLE_PARITY_COUNTS[k]
            lines.append(f"{k:<11}{ours:>7}{100 * ours / n:>7.1f}   "
                         f"{theirs:>10}{100 * theirs / EXPLORABLE_PARITY_RUNS:>7.1f}")
        lines.append("per weight decay (here; explorable where published, of 225 runs):")
        lines.append(f"{'wd':<6}{'runs':>6}" + "".join(f"{k:>12}" for k in analysis.CLASSES))
        for wd, counts in c["by_weight_decay"].items():
            total = sum(counts.values())
            pub = EXPLORABLE_PARITY_BY_WD.get(float(wd), {})
            cells = "".join(f"{counts[k]:>5}" + (f" ({pub[k]:>3})" if k in pub else " " * 6) + " "
                            for k in analysis.CLASSES)
            lines.append(f"{wd:<6g}{total:>6}{cells}")
        by = res.grid.batch_by
        if not res.complete and by:
            cells = sorted({tuple(s[f] for f in by) for s in c["settings_done"]})
            lines.append(f"finished ({', '.join(by)}) cells: {cells}")
    else:
        c = seed_comparison(res)
        g = c["generalized"]
        median, span = c["median_crossing_step"], c["crossing_range"]
        timing = f"median step {median:,.0f}, range {span[0]:,}-{span[1]:,}" if span else "no crossing"
        lines.append(f"generalized (test loss < 1e-2, article scale, within {res.grid.base.steps:,} steps): {g} of "
                     f"{res.n_done}; {timing}; explorable: {c['explorable_crossing']}")
        lines.append(f"models by number of key frequencies, over the {g} generalized models "
                     "(neurons with max |Fourier coefficient| > 10):")
        for k in sorted(set(c["models_by_n_freqs"]) | set(EXPLORABLE_SEED_N_FREQS)):
            ours, theirs = c["models_by_n_freqs"].get(k, 0), EXPLORABLE_SEED_N_FREQS.get(k, 0)
            lines.append(f"  {k} frequencies: {ours:>4} ({100 * ours / max(g, 1):5.1f}%)   "
                         f"explorable {theirs:>4} ({100 * theirs / EXPLORABLE_SEED_RUNS:5.1f}%)")
        if c["groups_by_size"]:
            common = max(c["groups_by_size"].items(), key=lambda kv: kv[1])
            lines.append(f"most common group size: {common[0]} neurons ({common[1]} groups); explorable: "
                         f"{c['explorable_most_common_group']}")
        if c["not_generalized_seeds"]:
            lines.append(f"not generalized (their Fourier 'frequencies' are noise): seeds {c['not_generalized_seeds']}")
    return "\n".join(lines)



__all__ = ["EXPLORABLE_PARITY_COUNTS", "EXPLORABLE_PARITY_BY_WD", "EXPLORABLE_PARITY_RUNS", "EXPLORABLE_SEED_N_FREQS",
           "EXPLORABLE_SEED_RUNS", "parity_comparison", "seed_comparison", "grok_rate", "summary"]
