"""Sweeps: grids of configs, trained in batches on any executor, saved after every batch, resumed after interruption.

A :class:`Grid` is a base config, an ordered product of field values (the *axes*) and a
number of seeds (:mod:`.grid`; named grids in :mod:`.registry`, grids from TOML files with
:func:`grid_from_toml`). Its runs are trained with :func:`grokkit.train_many` in calls set
by the grid (on the CPU they do not change a model's numbers), scheduled as batches on the process that asked, a process pool, or any
``concurrent.futures`` executor such as Dask's (:mod:`.runner`), and written after every
batch to ``NAME.npz`` (arrays, read with ``allow_pickle=False``) and ``NAME.json`` (the
grid's spec and which runs are done), each through a temporary file and an atomic rename
(:mod:`.store`, :mod:`.writer`). Running the same grid into the same file again skips the
finished runs, so a killed sweep continues where it stopped; a file holding a different
grid is refused. Shards of a grid trained apart are joined with :func:`merge`.

The results keep what is needed to classify runs again with other thresholds (the loss
curves at every logged step), so changing a threshold never means retraining::

    res = load("parity_grid")                       # the shipped results
    res.class_counts(by="weight_decay", min_loss=1e-4)
    print(summary(res))                              # beside the explorable's counts (.compare)

A results file may be partial (``res.complete`` is False, ``res.n_done`` of ``res.n_runs``
runs finished, the JSON lists ``done_ranges`` and ``done_cells``); counts and summaries
cover the finished runs only and say so. Command line (``python -m grokkit``, :mod:`.cli`)::

    python -m grokkit sweep parity_grid --out grokkit/data/parity_grid --jobs 2
    python -m grokkit sweep parity_grid --dask local:8          # or --dask tcp://scheduler:8786
    python -m grokkit sweep parity_grid --shard 0/4 --out runs/p0   # then: sweep merge runs/p*.npz --out runs/p
    python -m grokkit sweep --grid my_grid.toml
    python -m grokkit summary parity_grid

Run order inside the results: row ``r`` is seed index ``r // n_combos`` and axis combination
``r % n_combos`` (first axis slowest), so a grid with more seeds extends the arrays at the
end. Stored losses are ordinary cross-entropy, as :class:`grokkit.Run` logs them; divide by
``n_classes`` (or use :meth:`SweepResults.article_losses`) for the article's scale.
"""

from __future__ import annotations

from .. import analysis, fourier
from .compare import (
    EXPLORABLE_PARITY_BY_WD, EXPLORABLE_PARITY_COUNTS, EXPLORABLE_PARITY_RUNS, EXPLORABLE_SEED_N_FREQS,
    EXPLORABLE_SEED_RUNS, grok_rate, parity_comparison, seed_comparison, summary,
)
from .grid import (
    FORMAT, Grid, SweepError, eval_flops, grid_from_toml, spec_differences, step_flops, training_flops,
)
from .registry import DATA_DIR, SWEEPS, get_grid, load, shipped_path
from .runner import ENGINE, gpu_call_size, record_run, retrain, run_sweep, train_batch, tune_allocator
from .shards import merge, parse_shard, shard_rows
from .store import SweepResults, _ranges, results_base
from .writer import check_writable, open_results

__all__ = [
    "Grid", "SweepResults", "SweepError", "SWEEPS", "get_grid", "load", "shipped_path", "run_sweep", "retrain",
    "open_results", "check_writable", "record_run", "spec_differences", "training_flops", "step_flops",
    "eval_flops", "tune_allocator", "parity_comparison", "seed_comparison", "grok_rate", "summary", "results_base",
    "grid_from_toml", "merge", "parse_shard", "shard_rows", "train_batch", "gpu_call_size", "ENGINE",
    "EXPLORABLE_PARITY_COUNTS", "EXPLORABLE_PARITY_BY_WD", "EXPLORABLE_PARITY_RUNS", "EXPLORABLE_SEED_N_FREQS",
    "EXPLORABLE_SEED_RUNS", "DATA_DIR", "FORMAT", "analysis", "fourier",
]
