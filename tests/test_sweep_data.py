"""The shipped sweep results (grokkit/data): well-formed, honest about being partial, and reproducible.

Reproduction retrains a sample the way the sweep trained it (``sweep.retrain``) and
compares it with the shipped rows:
- parity grid: two settings x 9 seeds of one cheap (hidden size, train size) cell, chosen
  by a seeded random draw among the finished cells (16, 1000) and (16, 1500) (1-2 minutes
  on one core), preferring two weight decays whose shipped majority classes differ; each
  setting must reproduce the shipped class for at least 8 of its 9 seeds. The cheap cells
  (16, 750) and (16, 1250) are left out on purpose: their classes depend on float rounding.
  After an engine change that only reordered sums (e3127e3), (16, 750) kept the class of
  5/9 seeds at weight decay 0.1 and 7/9 at 0.3, (16, 1250) 7/9 at 0.1, while (16, 1000)
  and (16, 1500) kept at least 8/9 in every setting. With the engine that computed the
  shipped runs, retraining is exact (9/9).
- seed sweep: the first two shipped seeds (50,000 steps each, ~2 minutes), which must
  have the same key frequencies (only where torch runs the kernels that computed them: below).
- seed-puzzle candidates (notebook 05): seed 0 of the change that makes every seed grok
  (train fraction 0.5; ~30 s), whose test loss must reach the article's level at the
  shipped step; and for the seed sweep and every candidate, seed 0's first 5,000 steps
  (~5 s each), whose losses and L2 norm must follow the shipped curves (within 1%).
- architecture sweeps: three runs of notebook 06's claims (~15 s each): a collapsed run and a
  tied run on the pairs a <= b (L2), and a collapsed run on all pairs (L1), each retrained
  alone; each must keep its class and its final test accuracy within 0.02 (on the machine
  that computed them the match is exact).

The shipped sweeps were computed on x86 machines where torch runs its AVX-512 kernels
(``torch.backends.cpu.get_cpu_capability()`` says "AVX512"). Torch's AVX2 kernels round
differently, and a modular-addition run then parts from the shipped one within its first
1,000 steps (measured 2026-12-08 on seed 0 of every seed sweep: a logged train loss up to 45x
apart, the weight norm up to 20%; classes and test accuracies of the parity and architecture
samples held). On such a machine the seed-sweep checks keep what rounding cannot change: the
logged values at step 0 (seed, split, initialization, loss) exactly, the weight norm's path
within 25%; the key-frequency check, which needs the same kernels, skips saying so.
A test skips only then, or when that sweep's file is not shipped at all.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import grokkit
from grokkit import analysis, sweep

CHEAP_CELLS = [(16, 1000), (16, 1500)]
SAMPLE_SEED = 2023
N_SEED_SWEEP_CHECK = 2
SHIPPED_KERNELS = "AVX512"       # the torch CPU capability of the machines that computed the shipped sweeps
KERNELS = torch.backends.cpu.get_cpu_capability()
SAME_KERNELS = KERNELS == SHIPPED_KERNELS


# One torch thread for the whole module (the shared fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def _shipped(name: str) -> sweep.SweepResults:
    path = sweep.shipped_path(name)
    if not path.exists():
        pytest.skip(f"{name} results are not shipped yet ({path.name}); "
                    f"`python -m grokkit sweep {name} --out grokkit/data/{name}` computes them")
    return sweep.SweepResults.load(path)


@pytest.mark.parametrize("name", ["parity_grid", "modadd_seeds", "architecture", "architecture_l1",
                                  *sweep.registry.SEED_CANDIDATES])
def test_shipped_results_belong_to_their_grid_and_say_whether_they_are_complete(name):
    res = _shipped(name)
    grid = sweep.get_grid(name)
    assert sweep.spec_differences(res.grid.spec(), grid.spec()) == []
    assert res.n_done > 0
    with np.load(res.path, allow_pickle=False) as z:
        assert z["done"].sum() == res.n_done
    meta = json.loads(res.path.with_suffix(".json").read_text())
    assert meta["n_done"] == res.n_done and meta["n_runs"] == res.n_runs
    assert meta["complete"] == (res.n_done == res.n_runs) == res.complete
    listed = [i for start, stop in meta["done_ranges"] for i in range(start, stop)]
    assert listed == np.flatnonzero(res.done).tolist()
    assert all(b[0] > a[1] for a, b in zip(meta["done_ranges"], meta["done_ranges"][1:]))  # maximal ranges
    done = res.done
    for name_ in res.grid.curves:
        assert np.isfinite(res.curve(name_)[done & ~res.diverged]).all(), name_
        assert np.isnan(res.curve(name_)[~done]).all(), name_
    assert list(res.classes()) == list(res.stored_classes)


def test_shipped_parity_grid_finishes_whole_cells():
    res = _shipped("parity_grid")
    H, N = res.field("hidden_size"), res.field("n_train")
    for h, n in {(int(h), int(n)) for h, n in zip(H[res.done], N[res.done])}:
        cell = (H == h) & (N == n)
        assert res.done[cell].all() and cell.sum() == 45, (h, n)


def _pick_parity_sample(res: sweep.SweepResults) -> list[float]:
    """Seeded draw: a finished cheap cell, then two of its weight decays (distinct majority classes if possible)."""
    rng = np.random.default_rng(SAMPLE_SEED)
    done_cells = [c for c in CHEAP_CELLS if res.done[res.rows(done_only=False, hidden_size=c[0], n_train=c[1])].all()]
    assert done_cells, f"none of the cheap cells {CHEAP_CELLS} is finished in the shipped parity grid"
    cell = done_cells[rng.integers(len(done_cells))]
    stored = res.stored_classes
    majority = {}
    for wd in dict(res.grid.axes)["weight_decay"]:
        rows = res.rows(weight_decay=wd, hidden_size=cell[0], n_train=cell[1])
        values, counts = np.unique(stored[rows], return_counts=True)
        majority[wd] = values[counts.argmax()]
    wds = list(majority)
    first = wds[rng.integers(len(wds))]
    others = [w for w in wds if majority[w] != majority[first]] or [w for w in wds if w != first]
    second = others[rng.integers(len(others))]
    return [cell, first, second]


@pytest.mark.slow
def test_recomputed_parity_sample_has_the_shipped_classes():
    res = _shipped("parity_grid")
    (h, n), *wds = _pick_parity_sample(res)
    rows = np.concatenate([res.rows(weight_decay=wd, hidden_size=h, n_train=n) for wd in wds])
    assert len(rows) == 18
    runs = sweep.retrain(res, rows)
    got = np.array([sweep.analysis.classify_run(run) for run in runs])
    shipped = res.stored_classes[rows]
    for i, wd in enumerate(wds):
        part = slice(9 * i, 9 * (i + 1))
        matches = int((got[part] == shipped[part]).sum())
        engines = sorted({res.meta["engines"][e] if e >= 0 else "unknown"
                          for e in res.arrays["engine"][rows[part]]})
        assert matches >= 8, (f"weight decay {wd}, cell {(h, n)}: retrained {list(got[part])} vs shipped "
                              f"{list(shipped[part])}; shipped runs computed by {engines}, this is {sweep.ENGINE}. "
                              "If the engine changed, recompute the shipped grid.")


@pytest.mark.slow
def test_recomputed_first_seeds_have_the_shipped_key_frequencies():
    res = _shipped("modadd_seeds")
    if not SAME_KERNELS:
        pytest.skip(f"torch runs its {KERNELS} kernels here, the shipped seeds were "
                    f"computed with its {SHIPPED_KERNELS} ones: which frequencies a seed finds depends on the rounding")
    rows = [r for r in range(N_SEED_SWEEP_CHECK)]
    assert res.done[rows].all(), f"the first {N_SEED_SWEEP_CHECK} seeds are not in the shipped seed sweep"
    runs = sweep.retrain(res, rows)
    for r, run in zip(rows, runs):
        rec = sweep.record_run(res.grid, run)
        got = [int(k) for k in np.nonzero(rec["freq_neurons"][1:])[0] + 1]
        assert got == res.key_frequencies(r), f"seed {res.seeds[r]}: recomputed {got}, shipped {res.key_frequencies(r)}"


# (sweep, embedding, symmetric, learning rate, seed): runs far from any class boundary.
ARCHITECTURE_SAMPLE = [("architecture", "collapsed", True, 1e-3, 0), ("architecture", "tied", True, 3e-3, 0),
                       ("architecture_l1", "collapsed", False, 3e-3, 1)]


@pytest.mark.slow
@pytest.mark.parametrize("name, embedding, symmetric, lr, seed", ARCHITECTURE_SAMPLE)
def test_recomputed_architecture_runs_keep_their_class_and_test_accuracy(name, embedding, symmetric, lr, seed):
    res = _shipped(name)
    match = (res.field("embedding") == embedding) & (res.field("symmetric").astype(bool) == symmetric) \
        & np.isclose(res.field("lr"), lr) & (res.seeds == seed) & res.done
    row = int(np.flatnonzero(match)[0])          # the first (embedding size 64 in the L2 sweep)
    (run,) = sweep.retrain(res, [row])
    test_acc = float(run.metrics["test_acc"][-1])
    assert abs(test_acc - float(res.test_acc[row])) <= 0.02, (
        f"{res.config(row)}: test accuracy {test_acc:.4f} retrained, {float(res.test_acc[row]):.4f} shipped")
    assert analysis.classify_run(run) == res.stored_classes[row]


@pytest.mark.parametrize("name", ["modadd_seeds", *sweep.registry.SEED_CANDIDATES])
def test_each_seed_sweeps_first_5000_steps_of_seed_0_recompute_to_the_shipped_curves(name):
    res = _shipped(name)
    row = int(np.flatnonzero(res.done & (res.seeds == 0))[0])
    run = grokkit.train(dataclasses.replace(res.config(row), steps=5_000), progress=False, keep_raw=False)
    n = len(run.steps)
    assert np.array_equal(run.steps, res.steps[:n])
    # the same kernels: exact on the machine that computed them, 1% for another such CPU; other kernels: the
    # runs part (module docstring), only the weight norm's path stays near
    rtol = dict.fromkeys(("train_loss", "test_loss", "l2_norm"), 1e-2) if SAME_KERNELS else {"l2_norm": 0.25}
    for curve in ("train_loss", "test_loss", "l2_norm"):
        got, shipped = run.metrics[curve], res.curve(curve)[row, :n]
        assert np.isclose(got[0], shipped[0], rtol=1e-6, atol=0), f"{name}, {curve} at step 0: {got[0]}, {shipped[0]}"
        if curve in rtol:
            assert np.allclose(got, shipped, rtol=rtol[curve], atol=0), f"{name}, {curve}: {got}, shipped {shipped}"


@pytest.mark.slow
def test_recomputed_seed_of_the_puzzles_solution_groks_when_the_shipped_one_did():
    res = _shipped("seeds_fraction50")
    row = int(np.flatnonzero(res.done & (res.seeds == 0))[0])
    (run,) = sweep.retrain(res, [row])
    shipped = sweep.grok_rate(res, max_seed=1)
    assert shipped["grokked"] == 1, "seed 0 of the shipped seeds_fraction50 does not grok"
    te = run.metrics["test_loss"] / run.config.n_classes
    got = analysis.first_crossing(run.steps, te, 1e-2, above=False)
    want = analysis.first_crossing(res.steps, res.article_losses()[1][row], 1e-2, above=False)
    # the same logged steps (every 1,000): exact on the machine that computed it, one interval elsewhere
    assert got is not None and abs(got - want) <= 1_000, f"retrained crosses at {got}, shipped at {want}"


def test_seed_sweep_summary_gives_steps_as_counts():
    res = _shipped("seeds_tf32")
    assert "median step 29,000, range 15,000-47,000;" in sweep.summary(res)
