"""Checks for notebook 05 (Fourier analysis).

Exercise checks compare a learner's answer with :mod:`grokkit.fourier` and
:mod:`grokkit.analysis` (and, for the Fourier basis, with ``numpy.fft``). Claim checks back
the notebook's sentences about the trained 24-neuron model ("only a few frequencies carry
weight", "each neuron uses one frequency", "the out-phase is twice the in-phase", "the
frequency groups vote", "the restricted loss falls before the test loss") with measurements
of a :class:`grokkit.Run`, and fail when the phenomenon is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grokkit import analysis, fourier
from grokkit.course.claims import check_claim
from grokkit.course.core import CheckFailed, check_function, passed
from grokkit.course.i18n import _

__all__ = [
    "fft_fourier_basis",
    "ideal_logits",
    "group_accuracy",
    "key_share",
    "purity",
    "check_fourier_basis",
    "check_key_frequencies",
    "check_ideal_logits",
    "check_group_accuracy",
    "check_restricted_loss",
    "check_few_frequencies",
    "check_single_frequency",
    "check_doubled_phase",
    "check_logits_match_ideal",
    "check_frequencies_vote",
    "check_hidden_progress",
    "check_seed_frequencies",
    "check_seed_puzzle",
]

MIN_KEY_SHARE = 0.9          # the key frequencies hold at least this share of the Fourier power at the end
MAX_KEY_SHARE_AT_START = 0.5
MIN_PURITY = 0.85            # Nanda et al.'s "single-frequency neuron": >= 85% of its power in one frequency
MIN_PURE_FRACTION = 0.9
PHASE_TOLERANCE_DEG = 20.0
MIN_IDEAL_CORRELATION = 0.6    # PAIR_MODADD: above 0.8 with torch's AVX-512 kernels, 0.73 (float32) and 0.65
                               # (float64) with its AVX2 kernels, which round differently; about 0.0 at step 0
MAX_IDEAL_CORRELATION_AT_START = 0.3


# --------------------------------------------------------------------------- references


def fft_fourier_basis(p: int) -> np.ndarray:
    """The real Fourier basis built from numpy.fft.rfft, rows const, cos 1, sin 1, ... (odd p).

    rfft of the unit vectors gives X[k, n] = exp(-2 pi i k n / p) = cos(...) - i sin(...), so
    the cos row is Re X[k] and the sin row is -Im X[k], each scaled to unit norm.
    """
    X = np.fft.rfft(np.eye(p), axis=0)                   # (p // 2 + 1, p)
    rows = [X[0].real / np.sqrt(p)]
    for k in range(1, p // 2 + 1):
        rows.append(X[k].real * np.sqrt(2 / p))
        rows.append(-X[k].imag * np.sqrt(2 / p))
    return np.array(rows[:p])


def ideal_logits(a: int, b: int, freqs: Sequence[int], p: int) -> np.ndarray:
    """sum over k in freqs of cos(2 pi k (a + b - c) / p), for c = 0..p-1."""
    c = np.arange(p)
    out = np.zeros(p)
    for k in freqs:
        out += np.cos(2 * np.pi * k * (a + b - c) / p)
    return out


def _act(x: np.ndarray, activation: str) -> np.ndarray:
    return np.maximum(x, 0.0) if activation == "relu" else x * x


def group_accuracy(W_in: np.ndarray, W_out: np.ndarray, neurons: Sequence[int], activation: str = "relu") -> float:
    """Accuracy over all p*p pairs when only ``neurons`` are kept (the others' outputs set to 0)."""
    W_in, W_out = np.asarray(W_in, float), np.asarray(W_out, float)
    p, H = W_in.shape
    keep = np.zeros(H)
    keep[list(neurons)] = 1.0
    h = _act(W_in[:, None, :] + W_in[None, :, :], activation) * keep
    a = np.arange(p)
    return float(((h @ W_out).argmax(-1) == (a[:, None] + a[None, :]) % p).mean())


def _frequency_power(coef: np.ndarray) -> np.ndarray:
    """(n_freq, H): each neuron's squared Fourier coefficients summed per frequency (row 0: constant)."""
    rf = fourier.row_frequency(coef.shape[-2])
    return np.array([(coef[rf == k] ** 2).sum(0) for k in range(rf.max() + 1)])


def key_share(coef: np.ndarray, freqs: Sequence[int]) -> float:
    """Share of all squared Fourier coefficients (p, H) that sits in the given frequencies."""
    power = _frequency_power(np.asarray(coef, float))
    return float(power[list(freqs)].sum() / power.sum())


def purity(W_in: np.ndarray) -> np.ndarray:
    """Per neuron: the largest share of its squared Fourier coefficients in a single frequency."""
    power = _frequency_power(fourier.dft_in(W_in))
    return power.max(0) / power.sum(0)


def _modadd_run(run: Any, what: str) -> None:
    cfg = getattr(run, "config", None)
    if cfg is None or getattr(cfg, "task", None) != "modadd":
        raise CheckFailed(f"{what}: " + _("needs a modular-addition run, such as grokkit.train(grokkit.PAIR_MODADD)"))


# --------------------------------------------------------------------------- exercises


def _row_names(p: int) -> list[str]:
    return fourier.basis_labels(p)


def _basis_problem(got: Any, p: int) -> str | None:
    """What is wrong with a learner's basis for modulus p (None if nothing)."""
    if not isinstance(got, np.ndarray):
        return _("expected a numpy.ndarray, got {type}").format(type=type(got).__name__)
    if got.shape != (p, p):
        return _("wrong shape: expected {expected}, got {got}").format(expected=(p, p), got=got.shape)
    if not np.issubdtype(got.dtype, np.floating):
        return _("wrong dtype: expected floats, got {got}").format(got=got.dtype)
    ref = fft_fourier_basis(p)
    names = _row_names(p)
    for r in range(p):
        if np.allclose(got[r], ref[r], atol=1e-8):
            continue
        norm = np.linalg.norm(got[r])
        why = ""
        if np.allclose(got[r], -ref[r], atol=1e-8):
            why = _(" (it has the opposite sign: use +sin, so that the coefficient of a wave at phase φ is at angle +φ)")
        elif norm > 0 and np.allclose(got[r] / norm, ref[r], atol=1e-8):
            why = _(" (the right wave, but its norm is {norm:.4g}: scale every row to unit norm)").format(norm=norm)
        else:
            for r2 in range(p):
                if r2 != r and np.allclose(got[r], ref[r2], atol=1e-8):
                    why = _(" (it holds {name}: check the order const, cos 1, sin 1, cos 2, ...)").format(name=names[r2])
                    break
        return _("row {r} ({name}) differs from the basis built with numpy.fft.rfft").format(r=r, name=names[r]) + why
    return None


def check_fourier_basis(fn: Callable[[int], Any]) -> None:
    """Exercise 5.1: ``fn(p)`` returns the real Fourier basis (rows const, cos 1, sin 1, ...), odd p.

    Compared row by row with the basis built from numpy.fft.rfft (:func:`fft_fourier_basis`),
    then checked to be orthonormal.
    """
    for p in (67, 7, 13):
        try:
            got = fn(p)
        except NotImplementedError:
            raise CheckFailed("fourier_basis: " + _("not implemented yet: replace `raise NotImplementedError()` "
                                                    "with your code")) from None
        except Exception as err:
            raise CheckFailed(_("{call} raised {error}").format(call=f"fourier_basis({p})",
                                                                error=f"{type(err).__name__}: {err}")) from err
        problem = _basis_problem(got, p)
        if problem:
            raise CheckFailed(f"fourier_basis({p}): {problem}")
        if not np.allclose(got @ got.T, np.eye(p), atol=1e-8):
            raise CheckFailed(f"fourier_basis({p}): " + _("the rows are not orthonormal (F @ F.T is not the identity)"))
    passed("fourier_basis", _("matches numpy.fft for p = 67, 7, 13, and is orthonormal"))


def _synthetic_W_in(p: int = 67, seed: int = 0) -> np.ndarray:
    """Clean waves with known frequencies and phases (some sin-dominated), plus a little noise."""
    rng = np.random.default_rng(seed)
    x = np.arange(p)
    freqs = np.array([1, 5, 17, 33, 2, 26, 9, 9])
    phases = np.array([0.0, 1.5, 3.0, -2.0, 0.7, -1.2, 2.2, -0.3])
    W = 3 * np.cos(2 * np.pi * np.outer(x, freqs) / p + phases)
    return W + 0.05 * rng.normal(size=W.shape) + 0.2


def check_key_frequencies(fn: Callable[[np.ndarray], Any], W_ins: Sequence[np.ndarray] = ()) -> None:
    """Exercise 5.2: ``fn(W_in)`` returns each neuron's key frequency, an integer array of shape (H,)."""
    cases = [_synthetic_W_in()] + [np.asarray(W, float) for W in W_ins]
    check_function(fn, lambda W: fourier.neuron_frequencies(W).astype(np.int64), cases, name="key_frequencies")


def check_ideal_logits(fn: Callable[..., Any]) -> None:
    """Exercise 5.3: ``fn(a, b, freqs, p)`` returns sum_k cos(2 pi k (a + b - c) / p) for c = 0..p-1."""
    cases = [(13, 19, [4, 5, 7, 26], 67), (0, 0, [1], 67), (66, 66, [3, 20], 67), (2, 3, [1, 2], 7),
             (40, 50, [33], 67)]
    check_function(fn, ideal_logits, cases, name="ideal_logits", atol=1e-9)


def check_group_accuracy(fn: Callable[..., Any], run: Any) -> None:
    """Exercise 5.4: ``fn(W_in, W_out, neurons)`` returns the accuracy over all pairs with only those neurons."""
    _modadd_run(run, "check_group_accuracy")
    W_in, W_out = run.W_in[-1].astype(float), run.W_out[-1].astype(float)
    groups = fourier.frequency_groups(W_in)
    H = W_in.shape[1]
    cases = [(W_in, W_out, list(range(H)))]
    for ns in list(groups.values())[:2]:
        cases.append((W_in, W_out, list(ns)))
        cases.append((W_in, W_out, [n for n in range(H) if n not in ns]))
    cases.append((W_in, W_out, []))
    check_function(fn, group_accuracy, cases, name="group_accuracy", atol=1e-9)


def check_restricted_loss(fn: Callable[..., Any], run: Any, freqs: Sequence[int] | None = None) -> None:
    """Exercise 5.5: ``fn(W_in, W_out, freqs)`` returns the restricted loss (Nanda et al.) on all p*p pairs."""
    _modadd_run(run, "check_restricted_loss")
    freqs = list(fourier.key_frequencies(run.W_in[-1]) if freqs is None else freqs)
    n = len(run.W_in)
    cases = [(run.W_in[i].astype(float), run.W_out[i].astype(float), freqs) for i in sorted({n // 2, (3 * n) // 4, n - 1})]
    cases.append((run.W_in[-1].astype(float), run.W_out[-1].astype(float), freqs[:1]))
    check_function(fn, lambda W_in, W_out, fr: analysis.restricted_loss(W_in, W_out, fr, run.config.activation),
                   cases, name="restricted_loss", atol=1e-4, rtol=1e-4)


# --------------------------------------------------------------------------- claims


def check_few_frequencies(run: Any, min_share: float = MIN_KEY_SHARE,
                          max_start_share: float = MAX_KEY_SHARE_AT_START, max_keys: int = 8) -> None:
    """Claim: at the end, a few key frequencies hold almost all of W_in's and W_out's Fourier power;
    at the start they do not."""
    _modadd_run(run, "check_few_frequencies")
    keys = fourier.key_frequencies(run.W_in[-1])
    n_freq = run.config.p // 2
    end = [key_share(fourier.dft_in(run.W_in[-1]), keys), key_share(fourier.dft_out(run.W_out[-1]), keys)]
    start = [key_share(fourier.dft_in(run.W_in[0]), keys), key_share(fourier.dft_out(run.W_out[0]), keys)]
    check_claim(
        _("only a few of the {n} frequencies carry weight at the end of training").format(n=n_freq),
        bool(0 < len(keys) <= max_keys and min(end) >= min_share and max(start) <= max_start_share),
        _("key frequencies {keys} hold {end_in:.0%} of W_in's and {end_out:.0%} of W_out's squared Fourier "
          "coefficients at the end, {start_in:.0%} and {start_out:.0%} at step 0").format(
            keys=keys, end_in=end[0], end_out=end[1], start_in=start[0], start_out=start[1]),
    )


def check_single_frequency(run: Any, min_purity: float = MIN_PURITY, min_fraction: float = MIN_PURE_FRACTION) -> None:
    """Claim: at least ``min_fraction`` of the neurons put ``min_purity`` of their input weights' power in one frequency."""
    _modadd_run(run, "check_single_frequency")
    pur = purity(run.W_in[-1])
    frac = float((pur >= min_purity).mean())
    check_claim(
        _("at least {fraction:.0%} of the neurons use essentially one frequency").format(fraction=min_fraction),
        frac >= min_fraction,
        _("{pure} of {n} neurons have >= {purity:.0%} of their power in one frequency; the least pure has "
          "{least:.0%}").format(pure=int((pur >= min_purity).sum()), n=len(pur), purity=min_purity, least=pur.min()),
    )


def _phases(coef: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    h = np.arange(coef.shape[-1])
    return np.arctan2(coef[2 * freqs, h], coef[2 * freqs - 1, h])


def check_doubled_phase(run: Any, tolerance_deg: float = PHASE_TOLERANCE_DEG,
                        min_fraction: float = MIN_PURE_FRACTION, min_purity: float = MIN_PURITY) -> None:
    """Claim: at its key frequency, each single-frequency neuron's output wave has twice the phase of its input wave.

    A neuron still mixing frequencies has no one input phase, so only the pure ones are compared."""
    _modadd_run(run, "check_doubled_phase")
    W_in, W_out = run.W_in[-1], run.W_out[-1]
    f = fourier.neuron_frequencies(W_in)
    used = (f > 0) & (purity(W_in) >= min_purity)
    off = np.degrees((_phases(fourier.dft_out(W_out), np.maximum(f, 1))
                      - 2 * _phases(fourier.dft_in(W_in), np.maximum(f, 1)) + np.pi) % (2 * np.pi) - np.pi)[used]
    good = np.abs(off) <= tolerance_deg
    check_claim(
        _("each single-frequency neuron's output phase is twice its input phase, as in the five-neuron model"),
        bool(used.any() and good.mean() >= min_fraction),
        _("{good} of {n} single-frequency neurons within {tolerance:.0f}°; largest difference {largest:.0f}°").format(
            good=int(good.sum()), n=int(used.sum()), tolerance=tolerance_deg,
            largest=np.abs(off).max() if used.any() else float("nan")),
    )


def _ideal_correlation(W_in: np.ndarray, W_out: np.ndarray, freqs: Sequence[int], activation: str) -> float:
    """Mean over all pairs of the correlation between the model's logits and the ideal ones."""
    L = analysis.all_pairs_logits(W_in, W_out, activation)
    p = L.shape[0]
    a = np.arange(p)
    d = (a[:, None, None] + a[None, :, None] - a[None, None, :]) % p
    ideal = sum(np.cos(2 * np.pi * k * d / p) for k in freqs)
    L = L - L.mean(-1, keepdims=True)
    ideal = ideal - ideal.mean(-1, keepdims=True)
    num = (L * ideal).sum(-1)
    den = np.sqrt((L ** 2).sum(-1) * (ideal ** 2).sum(-1)) + 1e-30
    return float((num / den).mean())


def check_logits_match_ideal(run: Any, min_corr: float = MIN_IDEAL_CORRELATION,
                             max_start_corr: float = MAX_IDEAL_CORRELATION_AT_START) -> None:
    """Claim: at the end the logits look like sum_k cos(w_k (a + b - c)) over the key frequencies; at the start not."""
    _modadd_run(run, "check_logits_match_ideal")
    keys = fourier.key_frequencies(run.W_in[-1])
    act = run.config.activation
    end = _ideal_correlation(run.W_in[-1], run.W_out[-1], keys, act)
    start = _ideal_correlation(run.W_in[0], run.W_out[0], keys, act)
    check_claim(
        _("the trained logits are (close to) a sum of cosines of a + b - c at the key frequencies"),
        bool(keys and end >= min_corr and start <= max_start_corr),
        _("mean correlation over all pairs {end:.2f} at the end, {start:.2f} at step 0").format(end=end, start=start),
    )


def check_frequencies_vote(run: Any, alone_below: float = 0.5, together_above: float = 0.99) -> None:
    """Claim: no frequency group gets most pairs right alone; all together get (nearly) every pair right; and
    without any one group the others get more pairs right than that group does alone."""
    _modadd_run(run, "check_frequencies_vote")
    W_in, W_out = run.W_in[-1], run.W_out[-1]
    act = run.config.activation
    groups = fourier.frequency_groups(W_in)
    H = W_in.shape[1]
    alone = {k: group_accuracy(W_in, W_out, ns, act) for k, ns in groups.items()}
    without = {k: group_accuracy(W_in, W_out, [n for n in range(H) if n not in ns], act) for k, ns in groups.items()}
    together = group_accuracy(W_in, W_out, range(H), act)
    check_claim(
        _("each frequency group alone gets most pairs wrong, all groups together get (nearly) every pair right"),
        bool(len(groups) >= 2 and max(alone.values()) < alone_below and together >= together_above),
        _("alone: {groups}; together {together:.1%}").format(
            groups=", ".join(_("freq {k} {v:.0%}").format(k=k, v=v) for k, v in alone.items()), together=together),
    )
    check_claim(
        _("without any one group, the others get more pairs right than that group alone"),
        all(without[k] > alone[k] for k in groups),
        _("without: {groups}").format(groups=", ".join(_("freq {k} {v:.1%}").format(k=k, v=v) for k, v in without.items())),
    )


def check_hidden_progress(run: Any, measures: dict[str, np.ndarray], margin: int | None = None,
                          rise: float = 1.5, shrink: float = 2.0) -> None:
    """Claims (Nanda et al.): after memorization, while the test loss is still high,
    the restricted loss falls below chance before the test loss does, the excluded loss rises,
    and the sum of squared weights falls."""
    _modadd_run(run, "check_hidden_progress")
    p = run.config.p
    chance = float(np.log(p))
    margin = int(0.04 * run.config.steps) if margin is None else margin
    snap = np.asarray(measures["steps"])
    rl, el, wsq = (np.asarray(measures[k], float) for k in ("restricted_loss", "excluded_loss", "weight_sq"))
    memorized = analysis.first_crossing(run.steps, run.metrics["train_acc"], 0.99)
    test_step = analysis.first_crossing(run.steps, run.metrics["test_loss"], chance, above=False)
    if memorized is None or test_step is None:
        raise CheckFailed(_("not true: the run memorizes and then generalizes (train accuracy never reached 99% or "
                            "the test loss never fell below chance); these measures need a run that grokked"))
    after = snap >= memorized
    restricted_step = analysis.first_crossing(snap[after], rl[after], chance, above=False)
    check_claim(
        _("the restricted loss falls below chance well before the test loss does"),
        bool(restricted_step is not None and restricted_step + margin <= test_step),
        _("chance level ln {p} = {chance:.2f}: restricted loss below it from step {restricted:,}, test loss from step "
          "{test:,}").format(p=p, chance=chance, restricted=restricted_step, test=test_step),
    )
    i0 = int(np.argmax(after))
    plateau = after & (snap <= test_step)
    peak = float(el[plateau].max())
    check_claim(
        _("the excluded loss rises while the training loss stays low"),
        bool(peak >= rise * el[i0]),
        _("excluded loss {start:.2f} at step {step:,}, up to {peak:.2f} before step {test:,}").format(
            start=el[i0], step=int(snap[i0]), peak=peak, test=test_step),
    )
    check_claim(
        _("the sum of squared weights shrinks"),
        bool(wsq[after].max() >= shrink * wsq[-1]),
        _("from {high:,.0f} after memorizing to {end:,.0f} at the end").format(high=wsq[after].max(), end=wsq[-1]),
    )


def check_seed_frequencies(results: Any, min_test_acc: float = 0.99, max_share_of_one_set: float = 0.5,
                           min_typical: float = 0.8, typical: tuple[int, int] = (2, 6),
                           rows: Sequence[int] | None = None) -> None:
    """Claims about a seed sweep: the models that grok use a few key frequencies each, and different
    seeds pick different frequencies. ``rows``: the runs that grokked (default: final test accuracy
    at least ``min_test_acc``)."""
    if rows is None:
        rows = [int(r) for r in np.nonzero(np.asarray(results.done, bool))[0] if results.test_acc[r] >= min_test_acc]
        which = _("{n} with test accuracy >= {level:.0%}").format(n=len(rows), level=min_test_acc)
    else:
        rows = [int(r) for r in rows]
        which = _("{n} that grokked").format(n=len(rows))
    if len(rows) < 3:
        raise CheckFailed(_("not true: enough models of the sweep grokked to compare their frequencies "
                            "({which})").format(which=which))
    sets = [tuple(results.key_frequencies(r)) for r in rows]
    counts = np.array([len(s) for s in sets])
    lo, hi = typical
    in_range = float(((counts >= lo) & (counts <= hi)).mean())
    check_claim(
        _("most models that grok use between {lo} and {hi} key frequencies").format(lo=lo, hi=hi),
        in_range >= min_typical,
        _("{share:.0%} of {n} models; counts {counts}").format(share=in_range, n=len(rows), counts=", ".join(
            f"{n}: {int((counts == n).sum())}" for n in sorted(set(counts.tolist())))),
    )
    common = max(sets.count(s) for s in set(sets))
    used = sorted({k for s in sets for k in s})
    check_claim(
        _("different seeds grok at different frequencies"),
        bool(common <= max_share_of_one_set * len(rows) and len(set(sets)) >= 2),
        _("{sets} different sets of frequencies among {n} models; the most common is shared by {common}; {used} "
          "different frequencies are used").format(sets=len(set(sets)), n=len(rows), common=common, used=len(used)),
    )


def _steps(step: float | None) -> str:
    """A step count as 12,345, or '-' for none."""
    return "-" if step is None else f"{step:,.0f}"


def check_seed_puzzle(rates: Mapping[str, Mapping[str, Any]], baseline: str, solution: str,
                      extended: Mapping[str, Any] | None = None, target: float = 0.95,
                      article_median: float = 27_000, timing_tolerance: float = 0.2) -> None:
    """The seed puzzle's finding, from :func:`grokkit.sweep.grok_rate` per candidate (label -> rate).

    With the article's settings (``baseline``) fewer than ``target`` of the seeds grok; with the
    change ``solution`` at least ``target`` do, and sooner than the article's median step; no
    other candidate reaches ``target``; and no candidate matches both the article's rate and its
    timing (at least ``target`` with a median step within ``timing_tolerance`` of
    ``article_median``). ``extended``, the solution's rate over all its seeds (more than the
    candidates' 30), must reach ``target`` too.
    """
    missing = [label for label in (baseline, solution) if label not in rates]
    if missing:
        raise CheckFailed("rates: " + _("no entry for {labels}; the entries are {names}").format(
            labels=missing, names=list(rates)))
    base, best = rates[baseline], rates[solution]
    check_claim(_("with the article's settings fewer than {target:.0%} of the seeds grok within 50,000 steps").format(
                    target=target), base["rate"] < target,
                _("{count} of {runs}").format(count=base["grokked"], runs=base["runs"]))
    check_claim(_("with {change}, at least {target:.0%} of the seeds grok").format(change=solution, target=target),
                best["rate"] >= target, _("{count} of {runs}").format(count=best["grokked"], runs=best["runs"]))
    if extended is not None:
        check_claim(_("and over all {runs} seeds of its sweep too").format(runs=extended["runs"]),
                    extended["rate"] >= target and extended["runs"] > best["runs"],
                    _("{count} of {runs}").format(count=extended["grokked"], runs=extended["runs"]))
    check_claim(_("and they grok sooner than the article's seeds: median step below the article's {median:,.0f}").format(
                    median=article_median),
                best["median_step"] is not None and best["median_step"] < article_median,
                _("median step {step}").format(step=_steps(best["median_step"])))
    others = {label: r for label, r in rates.items() if label not in (baseline, solution)}
    check_claim(_("no other change tried gets there (each below {target:.0%})").format(target=target),
                all(r["rate"] < target for r in others.values()),
                "; ".join(f"{label}: {r['grokked']}/{r['runs']}" for label, r in others.items()))
    changes = {label: r for label, r in rates.items() if label != baseline}

    def like_the_article(r: Mapping[str, Any]) -> bool:
        return (r["rate"] >= target and r["median_step"] is not None
                and abs(r["median_step"] - article_median) <= timing_tolerance * article_median)

    check_claim(_("no change tried, alone or combined, matches both the article's rate and its timing "
                  "(at least {target:.0%} grok with a median step within {tolerance:.0%} of {median:,.0f})").format(
                    target=target, tolerance=timing_tolerance, median=article_median),
                not any(like_the_article(r) for r in changes.values()),
                "; ".join(f"{label}: {r['grokked']}/{r['runs']}, "
                          + _("median step {step}").format(step=_steps(r["median_step"]))
                          for label, r in changes.items()))
