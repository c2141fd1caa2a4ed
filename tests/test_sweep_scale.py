"""Sweeps beyond one process: any executor, Dask with a killed worker, shards and merge, scheduling,
grids from TOML files, and many models per call on a GPU."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grokkit import sweep
from grokkit.__main__ import main as cli

# A small, fast grid: 12 parity runs of 300 steps, three seeds, two batch_by groups.
SMALL = dataclasses.replace(sweep.get_grid("demo"), name="small",
                            base=dataclasses.replace(sweep.get_grid("demo").base, steps=300))
TIMING = {"seconds", "cpu_seconds"}


# One torch thread for the whole module (the shared fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def small_alone(tmp_path_factory) -> sweep.SweepResults:
    """The small grid trained in this process, one batch after another."""
    return sweep.run_sweep(SMALL, tmp_path_factory.mktemp("alone") / "small", progress=False)


def _assert_same(a: sweep.SweepResults, b: sweep.SweepResults) -> None:
    assert a.complete and b.complete and set(a.arrays) == set(b.arrays)
    for k in a.arrays:
        if k not in TIMING:
            assert np.array_equal(a.arrays[k], b.arrays[k], equal_nan=a.arrays[k].dtype.kind == "f"), k


# ------------------------------------------------------------------------------ executors

def test_any_executor_gives_the_results_of_one_process(tmp_path, small_alone):
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        res = sweep.run_sweep(SMALL, tmp_path / "threads", progress=False, executor=ex, workers=2, threads=1)
    _assert_same(res, small_alone)
    _assert_same(sweep.SweepResults.load(tmp_path / "threads"), small_alone)


def test_a_task_sets_its_own_process_up(monkeypatch):
    import torch
    torch.set_num_threads(2)
    try:
        recs = sweep.train_batch(SMALL, SMALL.calls()[0], "cpu", threads=1)
        assert torch.get_num_threads() == 1  # set inside the task, not by a pool initializer
    finally:
        torch.set_num_threads(1)
    assert len(recs) == len(SMALL.calls()[0]) and all(r["engine"] == sweep.ENGINE for r in recs)


def test_an_executor_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(sweep.SweepError, match="concurrent.futures.Executor"):
        sweep.run_sweep(SMALL, tmp_path / "x", progress=False, executor=object())


def test_dask_cluster_with_a_killed_worker_loses_nothing_and_matches_one_process(tmp_path, small_alone):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is the optional extra grokkit[dask]")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed: list[str] = []
        saved: list[list[int]] = []

        def kill_a_busy_worker(res, rows):
            saved.append(rows)
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            victim = (busy or list(pids))[0]
            killed.append((victim, bool(busy)))
            os.kill(pids[victim], signal.SIGKILL)

        res = sweep.run_sweep(SMALL, tmp_path / "dask", progress=False, executor=client.get_executor(),
                              workers=2, threads=1, on_batch=kill_a_busy_worker)
    assert killed and killed[0][1], "no worker was killed while it held a batch"
    assert len(saved) > 2, "the sweep ended before a killed worker could matter"
    assert sorted(r for rows in saved for r in rows) == list(range(SMALL.n_runs))  # each run saved once
    _assert_same(res, small_alone)
    _assert_same(sweep.SweepResults.load(tmp_path / "dask"), small_alone)


def test_dask_option_runs_on_a_local_cluster(tmp_path, small_alone, repo):
    pytest.importorskip("distributed", reason="dask.distributed is the optional extra grokkit[dask]")
    grid = tmp_path / "small.toml"
    grid.write_text(_toml_of(SMALL))
    out = tmp_path / "cli_dask"
    cmd = [sys.executable, "-m", "grokkit", "sweep", "--grid", str(grid), "--dask", "local:2", "--out", str(out),
           "--quiet"]
    rc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(repo)}, cwd=tmp_path, capture_output=True,
                        text=True, timeout=600)
    assert rc.returncode == 0, rc.stdout + rc.stderr
    _assert_same(sweep.SweepResults.load(out), small_alone)


def test_dask_option_without_a_reachable_scheduler_or_with_a_bad_count_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed", reason="dask.distributed is the optional extra grokkit[dask]")
    assert cli(["sweep", "demo", "--dask", "local:0", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --dask 'local:0' is not allowed") and "\n" not in err


# ------------------------------------------------------------------------------ shards

def test_shards_cover_the_grid_once_and_merge_to_the_whole_sweep(tmp_path, small_alone):
    parts = [set(sweep.shard_rows(SMALL, (i, 3))) for i in range(3)]
    assert set().union(*parts) == set(range(SMALL.n_runs)) and sum(map(len, parts)) == SMALL.n_runs
    for i in range(3):
        res = sweep.run_sweep(SMALL, tmp_path / f"part.{i}", progress=False, shard=f"{i}/3")
        assert set(np.nonzero(res.done)[0]) == parts[i]
    out = tmp_path / "merged"
    assert cli(["sweep", "merge", *[str(tmp_path / f"part.{i}.npz") for i in range(3)], "--out", str(out)]) == 0
    merged = sweep.SweepResults.load(out)
    _assert_same(merged, small_alone)
    assert merged.meta["engines"] == [sweep.ENGINE]


def test_merge_refuses_a_shard_of_another_grid_and_leaves_out_untouched(tmp_path, capsys):
    a = sweep.run_sweep(SMALL, tmp_path / "a", progress=False, shard=(0, 2))
    other = dataclasses.replace(SMALL, base=dataclasses.replace(SMALL.base, lr=1e-2))
    b = sweep.run_sweep(other, tmp_path / "b", progress=False, shard=(1, 2), max_batches=1)
    assert cli(["sweep", "merge", str(a.path), str(b.path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "b.npz is not a shard of the grid of" in err and "base.lr" in err
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("shard", ["3/3", "-1/2", "1", "a/b", "0/0"])
def test_a_bad_shard_is_one_line(tmp_path, capsys, shard):
    assert cli(["sweep", "demo", f"--shard={shard}", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --shard") and "\n" not in err and not (tmp_path / "x.npz").exists()


# ------------------------------------------------------------------------------ scheduling

def test_few_workers_start_cheapest_many_workers_largest_and_batches_follow_the_worker_count():
    grid = sweep.get_grid("parity_grid")
    rows = range(grid.n_runs)
    cost = [lambda b: len(b) * sweep.training_flops(grid.config(b[0]))][0]
    one = grid.batches(rows, workers=1)
    assert len(one) == 25 and [cost(b) for b in one] == sorted(cost(b) for b in one)
    many = grid.batches(rows, workers=32)
    assert [cost(b) for b in many] == sorted((cost(b) for b in many), reverse=True)
    assert len(many) >= 3 * 32 - 32 and max(map(len, many)) <= 12
    for batches in (one, many):  # same calls either way: the numbers do not depend on the workers
        assert sorted(c for b in batches for c in b) == list(rows)
        assert all(any(set(c) <= set(b) for b in batches) for c in grid.calls())


def test_benchmark_predicts_speed_up_from_batch_costs(repo):
    sys.path.insert(0, str(repo / "benchmarks"))
    try:
        import sweep_speed
    finally:
        sys.path.pop(0)
    grid = sweep.get_grid("parity_grid")
    p1, p8, p32 = (sweep_speed.predicted_speedup(grid, w) for w in (1, 8, 32))
    assert p1 == pytest.approx(1.0) and 1 < p8 <= 8 and p8 < p32 <= 32


# ------------------------------------------------------------------------------ grids from files

def _toml_of(grid: sweep.Grid) -> str:
    sets = {k: v for k, v in sweep.grid.config_to_dict(grid.base).items()
            if k not in ("task", "seed") and v != getattr(sweep.grid.named_configs()["PAIR_PARITY"], k)}
    lines = [f'name = "{grid.name}"', 'base = "PAIR_PARITY"', f"seeds = {grid.n_seeds}",
             f"batch_by = {json.dumps(list(grid.batch_by))}", "[set]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in sets.items()]
    lines += ["[axes]"] + [f"{f} = {json.dumps(list(v))}" for f, v in grid.axes]
    return "\n".join(lines) + "\n"


def test_a_grid_file_runs_from_the_command_line_and_resumes(tmp_path, small_alone, repo):
    path = tmp_path / "small.toml"
    path.write_text(_toml_of(SMALL))
    grid = sweep.grid_from_toml(path)
    assert grid.spec_hash() == SMALL.spec_hash() and grid.calls() == SMALL.calls()
    out = tmp_path / "from_file"
    assert cli(["sweep", "--grid", str(path), "--out", str(out), "--max-batches", "1", "--quiet"]) == 0
    assert 0 < sweep.SweepResults.load(out).n_done < SMALL.n_runs
    assert cli(["sweep", "--grid", str(path), "--out", str(out), "--quiet"]) == 0
    _assert_same(sweep.SweepResults.load(out), small_alone)


@pytest.mark.parametrize("text, says", [
    ('base = "PAIR_PARITY"\n[axes]\nwidth = [1, 2]\n', "axis 'width' is not a field"),
    ('base = "NOPE"\n', "base = 'NOPE' is not allowed"),
    ('base = "PAIR_PARITY"\nseeds = 0\n', "n_seeds = 0"),
    ('base = "PAIR_PARITY"\nseed = 3\n', "unknown key(s) ['seed']"),
    ('base = "PAIR_PARITY"\n[set]\nlr = "fast"\n', "[set]"),
    ('base = "PAIR_PARITY"\n[axes]\nlr = 0.1\n', "axes.lr must be a list"),
    ('base = "PAIR_PARITY"\n[axes]\nlr = [0.1, 0.1]\n', "distinct values"),
    ('base = "PAIR_PARITY"\n[axes]\nlr = [0.1, -1.0]\n', "not a valid config"),
    ('base = [1\n', "is not a TOML file"),
    ('base = "PAIR_PARITY"\n[axes]\na = [1,2,3,4,5,6,7,8,9,10]\nb = [1,2,3,4,5,6,7,8,9,10]\nc = [1,2,3,4,5,6,7,8,9,10]\n'
     'd = [1,2,3,4,5,6,7,8,9,10]\ne = [1,2,3,4,5,6,7,8,9,10]\nf = [1,2,3,4,5,6,7,8,9,10]\n', "1,000,000 runs"),
])
def test_a_bad_grid_file_is_one_line_naming_the_file_before_any_work(tmp_path, capsys, text, says):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    t = time.perf_counter()
    assert cli(["sweep", "--grid", str(path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert time.perf_counter() - t < 5
    assert str(path) in err and says in err and "\n" not in err, err
    assert not list(tmp_path.glob("x*"))


# ------------------------------------------------------------------------------ GPU

def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="no CUDA device: the GPU path is tested where torch sees one")
def test_cuda_trains_many_models_per_call_and_resumes(tmp_path, monkeypatch):
    calls: list[int] = []
    real = sweep.runner.train_many

    def counting(configs, *a, **k):
        calls.append(len(configs))
        assert k.get("device") == "cuda"
        return real(configs, *a, **k)
    monkeypatch.setattr(sweep.runner, "train_many", counting)
    grid = sweep.get_grid("parity_grid")
    assert sweep.gpu_call_size(grid) == 45  # a cell's 45 models fit in one call on any CUDA GPU
    small = dataclasses.replace(SMALL, train_chunk=1)
    out = tmp_path / "gpu"
    part = sweep.run_sweep(small, out, device="cuda", progress=False, max_batches=1)
    assert calls and max(calls) > 1 and part.n_done == max(calls)
    res = sweep.run_sweep(small, out, device="cuda", progress=False)
    assert res.complete and np.isfinite(res.train_loss).all() and set(calls) == {max(calls)}
    cpu = sweep.retrain(res, res.grid.calls()[0])
    for r, run in zip(res.grid.calls()[0], cpu):
        assert np.allclose(res.train_loss[r], run.metrics["train_loss"], rtol=1e-2, atol=1e-4)


def test_gpu_calls_are_sized_from_the_gpus_memory_and_capped_at_a_group(monkeypatch):
    import torch

    class Props:
        total_memory = 0
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Props)
    grid = sweep.get_grid("parity_grid")
    sizes = {}
    for gib in (80, 1, 0.05):
        Props.total_memory = int(gib * 2 ** 30)
        sizes[gib] = sweep.gpu_call_size(grid)
    assert sizes[80] == grid.group_size() == 45 and 1 < sizes[1] < 45 and sizes[0.05] == 1
    seeds = sweep.get_grid("modadd_seeds")
    Props.total_memory = 80 * 2 ** 30
    assert sweep.gpu_call_size(seeds) == seeds.n_runs  # one call for all 450 seeds on a large GPU


def test_cuda_without_a_device_is_one_line_before_any_work(tmp_path, capsys):
    if _cuda():
        pytest.skip("torch sees a CUDA device here")
    assert cli(["sweep", "demo", "--device", "cuda", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: device 'cuda' was asked for") and "\n" not in err, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("pool_notices_first", [False, True], ids=["at_once", "pool_noticed"])
def test_a_killed_pool_worker_stops_the_sweep_in_one_error_and_the_same_call_finishes_it(
        tmp_path, small_alone, pool_notices_first):
    import multiprocessing as mp
    out = tmp_path / "pool"

    def kill_a_worker(res, rows):
        workers = mp.active_children()
        if workers and res.n_done < SMALL.n_runs:
            os.kill(workers[0].pid, signal.SIGKILL)
            if pool_notices_first:  # the next submit, not a result, then meets the broken pool
                workers[0].join(timeout=10)
                time.sleep(1.0)

    with pytest.raises(sweep.SweepError, match="a worker process died.*run the same command to continue"):
        sweep.run_sweep(SMALL, out, progress=False, jobs=2, on_batch=kill_a_worker)
    partial = sweep.load(out)
    assert 0 < partial.n_done < SMALL.n_runs
    _assert_same(sweep.run_sweep(SMALL, out, progress=False, jobs=2), small_alone)
