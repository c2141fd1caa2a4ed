"""The named grids (the explorable's sweeps and two tiny ones for tests) and their shipped results."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

from ..configs import ModAddConfig, ParityConfig
from .grid import Grid, SweepError
from .store import SweepResults

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def _parity_grid() -> Grid:
    # A cell's 45 models are one saved batch, but train one at a time (train_chunk=1): on this
    # engine's CPU path a single parity model trains 1.1-2x faster per model-step than a
    # batch of 45 (torch.bmm with a model axis is slow for the n = 1 products h @ w_out and
    # h.T @ dz; measured with benchmarks/sweep_speed.py --chunks). Results are the same runs.
    base = ParityConfig(n_bits=30, k=3, n_train=1000, n_test=5000, hidden_size=64, regularizer="l2",
                        weight_decay=0.1, lr=3e-3, beta1=0.99, beta2=0.98, steps=20_000, log_every=100,
                        save_every=0, seed=0)
    return Grid(
        name="parity_grid", base=base,
        axes=(("weight_decay", (0.01, 0.03, 0.1, 0.3, 1.0)), ("hidden_size", (16, 32, 64, 128, 258)),
              ("n_train", (750, 1000, 1250, 1500, 1750))),
        n_seeds=9, batch_by=("hidden_size", "n_train"), train_chunk=1,
        description="The explorable's sparse-parity sweep (section 2): weight decay x hidden size x "
                    "train size x 9 seeds, 20,000 steps, L2, lr 3e-3, betas (0.99, 0.98), 5,000 test sequences.")


def _modadd_seeds() -> Grid:
    from ..configs import PAIR_MODADD
    return Grid(
        name="modadd_seeds", base=dataclasses.replace(PAIR_MODADD, log_every=1000, save_every=0),
        n_seeds=450, max_batch=15, curves=("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm"),
        keep_weights=True,
        description="The explorable's seed sweep (section 4): the main modular-addition model "
                    "(PAIR_MODADD, 50,000 steps) with seeds 0, 1, 2, ...; curves every 1,000 steps, "
                    "final W_in and neurons per key frequency.")


def _architecture(regularizer: str = "l2") -> Grid:
    # The explorable's architecture sweep (figure 20, explorable.md §5) on the axes this engine
    # expresses: tied / untied / collapsed (W_in and W_out trained directly), the a <= b pairs
    # or all 4,489, embedding size and learning rate. L1 and L2 are two grids because their
    # strengths live on different scales (the explorable sweeps L2 1 ... 0.01, L1 1e-7 ...
    # 1e-11): a product with one weight_decay axis would spend half its runs on nonsense.
    # The collapsed model has no embedding, so in the L2 grid its runs at the two embedding
    # sizes are the same model trained twice (count one of them); the L1 grid keeps the
    # article's 500. 30,000 steps and the L1 grid's single embedding size keep both grids
    # within ~1.5 CPU-hours (configs.estimate_cost: about 60 + 30 CPU-minutes).
    from ..configs import PAIR_MODADD
    wd = {"l2": 1.0, "l1": 1e-7}[regularizer]
    base = dataclasses.replace(PAIR_MODADD, regularizer=regularizer, weight_decay=wd, steps=30_000,
                               log_every=500, save_every=0)
    sizes = (("embed_size", (64, 500)),) if regularizer == "l2" else ()
    return Grid(
        name="architecture" if regularizer == "l2" else "architecture_l1", base=base,
        axes=(("embedding", ("tied", "untied", "collapsed")), ("symmetric", (True, False)), *sizes,
              ("lr", (1e-3, 3e-3))),
        n_seeds=3, batch_by=("embedding", "symmetric", *(f for f, _ in sizes)), max_batch=6,
        curves=("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm"), keep_weights=True,
        description=f"The explorable's architecture sweep (figure 20) with {regularizer.upper()} weight decay "
                    f"{wd:g}: embedding tied / untied / collapsed (W_in, W_out trained directly) x "
                    "symmetric pairs or all 4,489 x "
                    + ("embedding size 64 / 500 x " if sizes else "")
                    + "lr 1e-3 / 3e-3 x 3 seeds, 30,000 steps; final W_in kept."
                    + (" Collapsed runs ignore the embedding size (repeated)." if sizes else ""))


# The seed puzzle (notebook 05): the article's 450 seeds all grok within 50,000 steps, about
# half of ours do. Each candidate changes one or two settings of the main model and keeps
# everything else; its grid is the seed sweep with those fields changed. Each was run for
# seeds 0-29 (``--seeds 30``), the one that makes every seed grok (half the pairs) for 90.
SEED_CANDIDATES: dict[str, tuple[dict[str, float | str], str]] = {
    "seeds_fraction45": ({"train_fraction": 0.45}, "45% of the pairs for training instead of 40%"),
    "seeds_fraction50": ({"train_fraction": 0.5}, "half the pairs for training instead of 40%"),
    "seeds_lr3e-3": ({"lr": 3e-3}, "learning rate 3e-3 instead of 1e-3"),
    "seeds_init05": ({"init_scale": 0.5}, "initial weights at half the article's scale"),
    "seeds_fraction50_lr3e-4": ({"train_fraction": 0.5, "lr": 3e-4},
                                "half the pairs for training and learning rate 3e-4, to slow half the pairs "
                                "down to the article's timing"),
    "seeds_tf32": ({"matmul_rounding": "tf32"},
                   "every matrix product's inputs rounded to TF32, as on a GPU's tensor cores"),
    "seeds_bfloat16": ({"matmul_rounding": "bfloat16"},
                       "every matrix product's inputs rounded to bfloat16, as on a TPU"),
    "seeds_float64": ({"dtype": "float64"}, "float64 arithmetic instead of float32"),
}


def _seed_candidate(name: str) -> Grid:
    fields, what = SEED_CANDIDATES[name]
    seeds = _modadd_seeds()
    settings = ", ".join(f"{field} = {value:g}" if isinstance(value, float) else f"{field} = {value!r}"
                         for field, value in fields.items())
    return Grid(name=name, base=dataclasses.replace(seeds.base, **fields), n_seeds=90,
                max_batch=seeds.max_batch, curves=seeds.curves, keep_weights=True,
                description=f"A candidate for the seed puzzle: the seed sweep (PAIR_MODADD, 50,000 steps) "
                            f"with {what} ({settings}).")


def _demo() -> Grid:
    # Chosen so that the three common classes all appear: 80 examples memorize, 400 generalize,
    # weight decay 1 fails (measured on this engine, seeds 0-2).
    base = ParityConfig(n_bits=10, k=3, n_train=400, n_test=300, hidden_size=32, regularizer="l2",
                        weight_decay=0.1, lr=3e-2, beta1=0.9, beta2=0.98, steps=1000, log_every=20,
                        save_every=0, seed=0)
    return Grid(name="demo", base=base, axes=(("weight_decay", (0.01, 1.0)), ("n_train", (80, 400))),
                n_seeds=3, batch_by=("n_train",),
                description="A tiny parity grid (12 runs, seconds) for tests and trying the command.")


def _demo_seeds() -> Grid:
    base = ModAddConfig(p=31, train_fraction=0.6, embed_size=64, hidden_size=12, weight_decay=1.0, lr=1e-2,
                        steps=800, log_every=100, save_every=0)
    return Grid(name="demo_seeds", base=base, n_seeds=4, max_batch=2,
                curves=("train_loss", "test_loss", "train_acc", "test_acc"), keep_weights=True,
                description="A tiny modular-addition seed sweep (4 runs, seconds) for tests.")


SWEEPS: dict[str, Callable[[], Grid]] = {
    "parity_grid": _parity_grid, "modadd_seeds": _modadd_seeds, "architecture": _architecture,
    "architecture_l1": lambda: _architecture("l1"), "demo": _demo, "demo_seeds": _demo_seeds,
    **{name: (lambda name=name: _seed_candidate(name)) for name in SEED_CANDIDATES},
}


def get_grid(name: str) -> Grid:
    """The named sweep's grid; an unknown name raises SweepError listing the names."""
    if name not in SWEEPS:
        raise SweepError(f"unknown sweep {name!r}: the sweeps are {', '.join(sorted(SWEEPS))}")
    return SWEEPS[name]()


def shipped_path(name: str) -> Path:
    """Where the package ships a named sweep's results (grokkit/data/NAME.npz)."""
    get_grid(name)
    return DATA_DIR / f"{name}.npz"


def load(name_or_path: str | os.PathLike) -> SweepResults:
    """Load shipped results by sweep name ('parity_grid', 'modadd_seeds'), or results from a path."""
    if isinstance(name_or_path, str) and name_or_path in SWEEPS:
        path = shipped_path(name_or_path)
        if not path.exists():
            raise FileNotFoundError(f"the results of {name_or_path!r} are not shipped yet ({path}); "
                                    f"run `python -m grokkit sweep {name_or_path}` to compute them")
        return SweepResults.load(path)
    return SweepResults.load(name_or_path)


__all__ = ["DATA_DIR", "SWEEPS", "get_grid", "shipped_path", "load"]
