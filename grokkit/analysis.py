"""Reading runs: the explorable's four run classes, threshold crossings, progress measures.

Nothing here trains or changes a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import fourier
from .configs import ModAddConfig

# The explorable's sweep classes (explorable.md §2), checked in this order.
CLASSES = ("fail", "memorize", "generalize", "grok")
CLASS_LABELS = {
    "fail": "High train loss (fails to fit)",
    "memorize": "High test loss (memorizes)",
    "generalize": "Train and test drop together",
    "grok": "Grokking",
}
# The explorable's colours: grey, white, blue, yellow (distinguishable in the common forms
# of colour blindness; white dots get a dark edge in the plots).
CLASS_COLORS = {"fail": "#aaaaaa", "memorize": "#ffffff", "generalize": "#7CB9DF", "grok": "#F7DB5C"}
DEFAULT_MIN_LOSS = 1e-5
DEFAULT_MAX_RATIO = 5e4


@dataclass(frozen=True)
class LossStats:
    """The three numbers the explorable classifies a run by (article loss scale)."""

    min_train_loss: float
    min_test_loss: float
    max_ratio: float


def loss_stats(train_loss: np.ndarray, test_loss: np.ndarray) -> LossStats:
    """min train loss, min test loss and max(test/train) over the logged steps (NaNs ignored)."""
    tr, te = np.asarray(train_loss, float), np.asarray(test_loss, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = te / tr
    finite = np.isfinite(ratio)
    return LossStats(
        min_train_loss=float(np.nanmin(tr)) if np.isfinite(tr).any() else float("inf"),
        min_test_loss=float(np.nanmin(te)) if np.isfinite(te).any() else float("inf"),
        max_ratio=float(ratio[finite].max()) if finite.any() else float("inf"),
    )


def classify_arrays(min_train_loss: np.ndarray, min_test_loss: np.ndarray, test_train_ratio: np.ndarray, /,
                    min_loss: float = DEFAULT_MIN_LOSS, max_ratio: float = DEFAULT_MAX_RATIO,
                    diverged: np.ndarray | None = None) -> np.ndarray:
    """The explorable's class of many runs at once: 'fail', 'memorize', 'generalize' or 'grok'.

    The three arrays (one shape, any shape) are per-run statistics on the article's loss
    scale, as :func:`loss_stats` computes them: the smallest train loss, the smallest test
    loss, and max(test loss / train loss). Rules, in order: train loss never below
    ``min_loss``: fail; test loss never below it: memorize; ratio below ``max_ratio``:
    generalize; otherwise grok. Runs marked in ``diverged`` fail; runs whose
    min_train_loss is NaN (not run yet) get ''. Returns a str array of that shape.
    """
    tr, te, ra = (np.asarray(a, float) for a in (min_train_loss, min_test_loss, test_train_ratio))
    if not tr.shape == te.shape == ra.shape:
        raise ValueError(f"min_train_loss, min_test_loss and test_train_ratio must share one shape; "
                         f"got {tr.shape}, {te.shape} and {ra.shape}")
    out = np.select([tr > min_loss, te > min_loss, ra < max_ratio],
                    ["fail", "memorize", "generalize"], "grok").astype("<U10")
    if diverged is not None:
        out[np.asarray(diverged, bool)] = "fail"
    out[np.isnan(tr)] = ""
    return out


def classify_stats(stats: LossStats, min_loss: float = DEFAULT_MIN_LOSS, max_ratio: float = DEFAULT_MAX_RATIO) -> str:
    """The explorable's class of one run: fail, memorize, generalize (quickly) or grok (see :func:`classify_arrays`)."""
    return str(classify_arrays(stats.min_train_loss, stats.min_test_loss, stats.max_ratio, min_loss, max_ratio)[()])


def classify_losses(train_loss: np.ndarray, test_loss: np.ndarray, min_loss: float = DEFAULT_MIN_LOSS,
                    max_ratio: float = DEFAULT_MAX_RATIO) -> str:
    """Classify loss curves given on the article's scale (cross-entropy / number of classes)."""
    return classify_stats(loss_stats(train_loss, test_loss), min_loss, max_ratio)


def classify_run(run, min_loss: float = DEFAULT_MIN_LOSS, max_ratio: float = DEFAULT_MAX_RATIO) -> str:
    """Classify a Run (its losses are converted to the article's scale first); diverged runs fail."""
    if run.diverged:
        return "fail"
    n = run.config.n_classes
    return classify_losses(run.metrics["train_loss"] / n, run.metrics["test_loss"] / n, min_loss, max_ratio)


def first_crossing(steps: np.ndarray, values: np.ndarray, level: float, above: bool = True) -> int | None:
    """First logged step at which values >= level (above=True) or <= level; None if never."""
    v = np.asarray(values, float)
    hit = v >= level if above else v <= level
    idx = np.nonzero(hit)[0]
    return int(np.asarray(steps)[idx[0]]) if len(idx) else None


def classify_liu(steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, level: float = 0.9,
                 delay: int = 1000) -> str:
    """Liu et al.'s phases: comprehension, grokking, memorization or confusion (literature.md §5)."""
    t_train = first_crossing(steps, train_acc, level)
    t_test = first_crossing(steps, test_acc, level)
    if t_train is None:
        return "confusion"
    if t_test is None:
        return "memorization"
    return "comprehension" if t_test - t_train < delay else "grokking"


# ---------------------------------------------------------------- progress measures (MLP)

def all_pairs_logits(W_in: np.ndarray, W_out: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Logits for every (a, b) in p x p: shape (p, p, p) indexed [a, b, c]."""
    Wi = torch.as_tensor(np.asarray(W_in, np.float64))
    Wo = torch.as_tensor(np.asarray(W_out, np.float64))
    pre = Wi[:, None, :] + Wi[None, :, :]
    h = torch.relu(pre) if activation == "relu" else pre * pre
    return (h @ Wo).numpy()


def sum_directions(p: int, freqs: list[int]) -> np.ndarray:
    """Unit vectors cos(w_k(a+b)) and sin(w_k(a+b)) over the p x p grid, shape (2K, p*p)."""
    a = np.arange(p)
    s = (a[:, None] + a[None, :]).ravel()
    dirs = []
    for k in freqs:
        for f in (np.cos, np.sin):
            v = f(2 * np.pi * k * s / p)
            dirs.append(v / np.linalg.norm(v))
    return np.array(dirs).reshape(len(dirs), p * p)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of logits (n, p) against integer labels."""
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def restricted_and_excluded_logits(W_in: np.ndarray, W_out: np.ndarray, freqs: list[int],
                                   activation: str = "relu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits, restricted, excluded), each (p*p, p).

    restricted keeps, for each output c, the per-c mean over pairs plus the components along
    cos/sin(w_k (a+b)) for the key frequencies k; excluded removes those components.
    """
    logits = all_pairs_logits(W_in, W_out, activation)
    p = logits.shape[0]
    L = logits.reshape(p * p, p)
    D = sum_directions(p, freqs)                   # (2K, p*p), orthonormal
    along = D.T @ (D @ L)                          # projection onto the key directions
    mean = L.mean(0, keepdims=True)
    return L, mean + along, L - along


def restricted_loss(W_in: np.ndarray, W_out: np.ndarray, freqs: list[int], activation: str = "relu") -> float:
    """Nanda et al.'s restricted loss: cross-entropy on all p*p pairs using only the key-frequency logits."""
    _, restricted, _ = restricted_and_excluded_logits(W_in, W_out, freqs, activation)
    p = restricted.shape[1]
    a = np.arange(p)
    labels = ((a[:, None] + a[None, :]) % p).ravel()
    return cross_entropy(restricted, labels)


def excluded_loss(W_in: np.ndarray, W_out: np.ndarray, freqs: list[int], train_pairs: np.ndarray,
                  activation: str = "relu") -> float:
    """Nanda et al.'s excluded loss: training-set cross-entropy with the key-frequency logits removed."""
    _, _, excluded = restricted_and_excluded_logits(W_in, W_out, freqs, activation)
    p = excluded.shape[1]
    rows = train_pairs[:, 0] * p + train_pairs[:, 1]
    return cross_entropy(excluded[rows], (train_pairs[:, 0] + train_pairs[:, 1]) % p)


def progress_measures(run, freqs: list[int] | None = None) -> dict[str, np.ndarray]:
    """Restricted loss, excluded loss and sum of squared collapsed weights at every snapshot.

    freqs defaults to the key frequencies of the final snapshot.
    """
    cfg = run.config
    if not isinstance(cfg, ModAddConfig):
        raise ValueError("progress_measures needs a modular-addition run (config.task == 'modadd')")
    from .tasks import make_split
    if freqs is None:
        freqs = fourier.key_frequencies(run.W_in[-1])
    train_pairs = make_split(cfg).train_x
    p = cfg.p
    a = np.arange(p)
    all_labels = ((a[:, None] + a[None, :]) % p).ravel()
    train_rows = train_pairs[:, 0] * p + train_pairs[:, 1]
    rl, el, ss = [], [], []
    for W_in, W_out in zip(run.W_in, run.W_out):
        _, restricted, excluded = restricted_and_excluded_logits(W_in, W_out, freqs, cfg.activation)
        rl.append(cross_entropy(restricted, all_labels))
        el.append(cross_entropy(excluded[train_rows], all_labels[train_rows]))
        ss.append(float((W_in ** 2).sum() + (W_out ** 2).sum()))
    return {"steps": run.snapshot_steps.copy(), "restricted_loss": np.array(rl),
            "excluded_loss": np.array(el), "weight_sq": np.array(ss), "freqs": np.array(freqs)}


def fourier_concentration(W: np.ndarray, top: int = 4) -> float | np.ndarray:
    """Share of W's non-constant Fourier power in its ``top`` strongest frequencies (rows of W: residues).

    W is an embedding (p, d) or collapsed input weights (p, H), optionally with leading axes
    (snapshots, runs), which the result keeps. 1.0: all power on ``top`` frequencies (a
    Fourier solution with that many key frequencies); a random matrix gives about
    top / (p // 2) (0.12 for top=4, p=67). Built on :func:`grokkit.fourier.frequency_power`.
    """
    power = fourier.frequency_power(W)
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or not 1 <= top <= power.shape[-1]:
        raise ValueError(f"top = {top!r} is not allowed: top must be an integer in 1..{power.shape[-1]}")
    share = np.sort(power, axis=-1)[..., ::-1][..., :top].sum(axis=-1)
    return float(share) if np.ndim(share) == 0 else share


__all__ = [
    "CLASSES", "CLASS_LABELS", "CLASS_COLORS", "DEFAULT_MIN_LOSS", "DEFAULT_MAX_RATIO", "LossStats",
    "loss_stats", "classify_arrays", "classify_stats", "classify_losses", "classify_run", "first_crossing",
    "classify_liu",
    "cross_entropy", "all_pairs_logits", "sum_directions", "restricted_and_excluded_logits",
    "restricted_loss",
    "excluded_loss", "progress_measures", "fourier_concentration",
]
