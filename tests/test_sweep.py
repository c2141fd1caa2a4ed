"""Sweeps: grids, resumable batched runs, plain-data results, bad input, re-classification."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import grokkit
from grokkit import analysis, fourier, sweep
from grokkit.__main__ import main as cli

DEMO = sweep.get_grid("demo")


# One torch thread for the whole module (the shared fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")
# Arrays that depend on the clock, not on the computation.
TIMING = {"seconds", "cpu_seconds"}


class Interrupt(Exception):
    """Raised from the per-batch callback to stop a sweep mid-way."""


@pytest.fixture
def count_training(monkeypatch):
    """Counts train_many calls made by the sweep and the configs they trained."""
    calls: list[list] = []
    real = sweep.runner.train_many

    def counting(configs, *args, **kwargs):
        calls.append(list(configs))
        return real(configs, *args, **kwargs)
    monkeypatch.setattr(sweep.runner, "train_many", counting)
    return calls


@pytest.fixture(scope="module")
def demo_full(tmp_path_factory) -> sweep.SweepResults:
    """The demo grid run once, uninterrupted."""
    return sweep.run_sweep("demo", tmp_path_factory.mktemp("full") / "demo", progress=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_same_results(a: sweep.SweepResults, b: sweep.SweepResults) -> None:
    assert a.grid.spec_hash() == b.grid.spec_hash()
    assert set(a.arrays) == set(b.arrays)
    for k in a.arrays:
        if k not in TIMING:
            assert np.array_equal(a.arrays[k], b.arrays[k], equal_nan=a.arrays[k].dtype.kind == "f"), k


# ------------------------------------------------------------------------------ grids

def test_grid_runs_are_the_product_of_axes_times_seeds():
    assert DEMO.n_runs == 2 * 2 * 3
    seen = {(DEMO.config(r).weight_decay, DEMO.config(r).n_train, DEMO.config(r).seed) for r in range(DEMO.n_runs)}
    assert seen == {(wd, n, s) for wd in (0.01, 1.0) for n in (80, 400) for s in (0, 1, 2)}
    # seed-major rows: more seeds only append rows
    assert [DEMO.seed(r) for r in range(DEMO.n_runs)] == [0] * 4 + [1] * 4 + [2] * 4
    assert [DEMO.config(r) for r in range(8)] == [DEMO.with_seeds(2).config(r) for r in range(8)]


def test_parity_grid_is_the_explorables_sweep():
    g = sweep.get_grid("parity_grid")
    assert g.n_runs == 1125 and g.seeds == list(range(9))
    assert dict(g.axes) == {"weight_decay": (0.01, 0.03, 0.1, 0.3, 1.0), "hidden_size": (16, 32, 64, 128, 258),
                            "n_train": (750, 1000, 1250, 1500, 1750)}
    c = g.config(0)
    assert (c.n_bits, c.k, c.n_test, c.regularizer, c.lr, c.beta1, c.beta2, c.steps, c.log_every) == \
        (30, 3, 5000, "l2", 3e-3, 0.99, 0.98, 20_000, 100)
    batches = g.batches(range(g.n_runs))
    assert len(batches) == 25 and all(len(b) == 45 for b in batches)
    for b in batches:  # one (hidden size, train size) cell: 5 weight decays x 9 seeds
        cfgs = [g.config(r) for r in b]
        assert len({(c.hidden_size, c.n_train) for c in cfgs}) == 1
        assert {(c.weight_decay, c.seed) for c in cfgs} == {(wd, s) for wd in g.axes[0][1] for s in range(9)}
    costs = [sweep.training_flops(g.config(b[0])) for b in batches]
    assert costs == sorted(costs)  # cheapest cell first


def test_modadd_seed_sweep_is_the_main_model_over_seeds():
    g = sweep.get_grid("modadd_seeds")
    assert g.n_seeds == 450 and g.axes == ()
    assert g.config(7) == dataclasses.replace(grokkit.PAIR_MODADD, seed=7, log_every=1000, save_every=0)
    assert {"train_acc", "test_acc"} <= set(g.curves) and g.keep_weights


@pytest.mark.parametrize("kwargs, message", [
    ({"axes": (("no_such_field", (1, 2)),)}, "not a field"),
    ({"axes": (("seed", (1, 2)),)}, "not allowed"),
    ({"axes": (("steps", (10, 20)),)}, "not allowed"),
    ({"axes": (("lr", (1e-3, 1e-3)),)}, "distinct"),
    ({"axes": (("lr", (1e-3, -1.0)),)}, "not a valid config"),
    ({"batch_by": ("hidden_size",)}, "not an axis"),  # hidden_size is fixed in the demo
    ({"curves": ("train_acc",)}, "train_loss and test_loss"),
    ({"n_seeds": 0}, "n_seeds"),
    ({"keep_weights": True}, "modular-addition"),
])
def test_bad_grids_are_refused_with_a_reason(kwargs, message):
    with pytest.raises(sweep.SweepError, match=message):
        dataclasses.replace(DEMO, **{"batch_by": (), **kwargs})


def test_parity_training_flops_count_the_four_products():
    c = sweep.get_grid("parity_grid").config(0)
    N, H = c.n_train, c.hidden_size
    per_step = 2 * N * 31 * H + 2 * N * H + 2 * N * H + 2 * N * 31 * H
    assert sweep.step_flops(c) == per_step
    assert sweep.training_flops(c) == c.steps * per_step + 201 * 2 * 5000 * H * 32


# ------------------------------------------------------------------------------ running and resuming

def test_results_are_plain_data_with_a_json_status(demo_full):
    npz = demo_full.path
    with np.load(npz, allow_pickle=False) as z:
        assert z["done"].all() and z["curve_train_loss"].shape == (12, 51)
    meta = json.loads(npz.with_suffix(".json").read_text())
    assert meta["format"] == sweep.FORMAT and meta["complete"] is True
    assert meta["n_done"] == 12 and meta["done_ranges"] == [[0, 12]]
    assert meta["spec_hash"] == DEMO.spec_hash()
    assert sum(meta["class_counts"].values()) == 12
    assert meta["engines"] == [sweep.ENGINE] and (demo_full.arrays["engine"] == 0).all()
    assert "training.py" in sweep.ENGINE and f"CPU kernels {torch.backends.cpu.get_cpu_capability()}" in sweep.ENGINE
    assert not [p for p in npz.parent.iterdir() if p.name.endswith(".tmp") and "lock" not in p.name]


def test_stored_runs_equal_training_their_batch_directly(demo_full):
    rows = DEMO.batches(range(DEMO.n_runs))[0]
    runs = grokkit.train_many([DEMO.config(r) for r in rows], progress=False, keep_raw=False)
    for r, run in zip(rows, runs):
        for name in DEMO.curves:
            assert np.array_equal(demo_full.curve(name)[r], run.metrics[name].astype(np.float32)), name
        assert demo_full.test_acc[r] == np.float32(run.final["test_acc"])
        assert demo_full.stored_classes[r] == analysis.classify_run(run)


def test_interrupted_sweep_resumes_without_recomputing_and_matches_an_uninterrupted_one(
        tmp_path, demo_full, count_training):
    out = tmp_path / "demo"

    def stop(res, rows):
        raise Interrupt

    with pytest.raises(Interrupt):
        sweep.run_sweep("demo", out, progress=False, on_batch=stop)
    first = sweep.SweepResults.load(out)
    assert first.n_done == 6 and not first.complete
    assert json.loads(out.with_suffix(".json").read_text())["n_done"] == 6
    finished = set(np.nonzero(first.done)[0])
    calls = len(count_training)
    assert sum(len(c) for c in count_training) == 6

    resumed = sweep.run_sweep("demo", out, progress=False)
    retrained = {(c.weight_decay, c.n_train, c.seed) for call in count_training[calls:] for c in call}
    assert len(retrained) == 6 and sum(len(c) for c in count_training[calls:]) == 6
    assert not retrained & {(DEMO.config(r).weight_decay, DEMO.config(r).n_train, DEMO.config(r).seed)
                            for r in finished}
    for k in first.arrays:  # the finished runs were not touched
        if k not in TIMING:
            rows = sorted(finished)
            assert np.array_equal(first.arrays[k][rows], resumed.arrays[k][rows], equal_nan=True), k
    _assert_same_results(resumed, demo_full)
    _assert_same_results(sweep.SweepResults.load(out), demo_full)

    calls = len(count_training)
    sweep.run_sweep("demo", out, progress=False)  # nothing left to do
    assert len(count_training) == calls


def test_killed_process_leaves_loadable_files_and_the_same_command_finishes(tmp_path, repo):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "grokkit", "sweep", "demo", "--seeds", "20", "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.time() + 300
        while not out.with_suffix(".json").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = sweep.SweepResults.load(out)
    assert 0 < partial.n_done < partial.n_runs
    assert json.loads(out.with_suffix(".json").read_text())["n_done"] == partial.n_done
    done_before = partial.done.copy()
    rc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rc.returncode == 0, rc.stdout + rc.stderr
    final = sweep.SweepResults.load(out)
    assert final.complete
    rows = np.nonzero(done_before)[0]
    assert np.array_equal(final.train_loss[rows], partial.train_loss[rows])
    assert np.array_equal(final.arrays["seconds"][rows], partial.arrays["seconds"][rows])  # not retrained


def test_train_chunk_trains_a_batch_in_smaller_train_many_calls(tmp_path, count_training):
    one_by_one = dataclasses.replace(DEMO, train_chunk=1)
    res = sweep.run_sweep(one_by_one, tmp_path / "chunked", progress=False, max_batches=1)
    assert res.n_done == 6 and [len(c) for c in count_training] == [1] * 6
    for r in np.nonzero(res.done)[0][:2]:
        alone = grokkit.train(DEMO.config(r), progress=False, keep_raw=False)
        assert np.array_equal(res.train_loss[r], alone.metrics["train_loss"].astype(np.float32))
    # on the CPU a model's neighbours in a call change nothing: the rest in the grid's own calls
    res = sweep.run_sweep("demo", tmp_path / "chunked", progress=False)
    assert res.complete
    for r in (DEMO.n_runs - 2, DEMO.n_runs - 1):
        alone = grokkit.train(DEMO.config(r), progress=False, keep_raw=False)
        assert np.array_equal(res.train_loss[r], alone.metrics["train_loss"].astype(np.float32))


def test_retrain_reproduces_stored_runs_the_way_the_sweep_trained_them(demo_full):
    rows = [1, 6]
    for r, run in zip(rows, sweep.retrain(demo_full, rows)):
        assert run.config == DEMO.config(r)
        assert analysis.classify_run(run) == demo_full.stored_classes[r]
    chunked = dataclasses.replace(demo_full, grid=dataclasses.replace(DEMO, train_chunk=1))
    for r, run in zip(rows, sweep.retrain(chunked, rows)):
        alone = grokkit.train(DEMO.config(r), progress=False, keep_raw=False)
        assert np.array_equal(run.metrics["test_loss"], alone.metrics["test_loss"])


def test_parallel_workers_give_the_same_results(tmp_path, demo_full):
    before = dict(os.environ)
    res = sweep.run_sweep("demo", tmp_path / "parallel", progress=False, jobs=2)
    _assert_same_results(res, demo_full)
    # The workers' OMP_WAIT_POLICY=PASSIVE must not leak into processes started later
    # (it made every notebook kernel of the test suite run 4-5 times slower).
    assert dict(os.environ) == before
    _assert_same_results(sweep.SweepResults.load(tmp_path / "parallel"), demo_full)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is pid (read from /proc, Linux)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_stop_when_the_sweep_process_is_killed(tmp_path, repo):
    cmd = [sys.executable, "-m", "grokkit", "sweep", "demo", "--seeds", "200", "--jobs", "2",
           "--out", str(tmp_path / "orphans"), "--quiet"]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(repo)}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 300
        while len(workers) < 3 and proc.poll() is None and time.time() < deadline:  # 2 workers + tracker
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert proc.poll() is None and workers, "the sweep ended before its workers could be seen"
        time.sleep(1.0)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.time() + 30
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.5)
        alive = [p for p in workers if Path(f"/proc/{p}").exists() and
                 "zombie" not in Path(f"/proc/{p}/status").read_text().lower()]
    assert not alive, f"workers {alive} outlived the killed sweep"


def test_a_file_written_before_a_column_existed_resumes(tmp_path):
    out = tmp_path / "old"
    sweep.run_sweep("demo", out, progress=False, max_batches=1)
    with np.load(out.with_suffix(".npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "cpu_seconds"}
    np.savez_compressed(out.with_suffix(".npz"), **arrays)
    res = sweep.run_sweep("demo", out, progress=False)
    assert res.complete
    cpu = sweep.SweepResults.load(out).arrays["cpu_seconds"]
    assert np.isnan(cpu).sum() == 6 and (cpu[~np.isnan(cpu)] > 0).all()
    engine = sweep.SweepResults.load(out).arrays["engine"]
    assert sorted(engine.tolist()) == [0] * 12  # cpu_seconds was removed, not engine


def test_more_seeds_extend_the_results_and_fewer_keep_them(tmp_path, count_training):
    out = tmp_path / "grow"
    two = sweep.run_sweep("demo", out, n_seeds=2, progress=False)
    assert two.n_runs == 8 and two.complete
    trained = sum(len(c) for c in count_training)
    three = sweep.run_sweep("demo", out, n_seeds=3, progress=False)
    assert three.n_runs == 12 and three.complete
    new = [c for call in count_training for c in call][trained:]
    assert sorted({c.seed for c in new}) == [2] and len(new) == 4
    assert np.array_equal(three.train_loss[:8], two.train_loss)
    calls = len(count_training)
    again = sweep.run_sweep("demo", out, n_seeds=1, progress=False)
    assert len(count_training) == calls and again.n_runs == 12
    assert sweep.SweepResults.load(out).n_runs == 12


# ------------------------------------------------------------------------------ bad input

def test_unknown_sweep_name_is_an_error_listing_the_names(capsys):
    with pytest.raises(sweep.SweepError, match="parity_grid.*") as e:
        sweep.get_grid("parity")
    assert all(name in str(e.value) for name in sweep.SWEEPS)
    assert cli(["sweep", "parity"]) == 2
    err = capsys.readouterr().err
    assert "unknown sweep 'parity'" in err and "modadd_seeds" in err


def test_list_names_every_sweep(capsys):
    assert cli(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in sweep.SWEEPS) and "1125 runs" in out


@pytest.mark.parametrize("make_bad", [
    lambda tmp: tmp / "a_file" / "results",            # the folder would be a regular file
    lambda tmp: tmp / "dir_named_like_results",        # results.npz exists as a directory
], ids=["parent-is-a-file", "npz-is-a-directory"])
def test_unwritable_output_is_an_error_before_any_training(tmp_path, count_training, make_bad, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "dir_named_like_results.npz").mkdir()
    out = make_bad(tmp_path)
    with pytest.raises(sweep.SweepError, match="cannot write"):
        sweep.run_sweep("demo", out, progress=False)
    assert count_training == []
    assert cli(["sweep", "demo", "--out", str(out), "--quiet"]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert count_training == []


def test_results_of_another_grid_are_refused_and_left_untouched(tmp_path, demo_full, count_training, capsys):
    out = tmp_path / "demo"
    for suffix in (".npz", ".json"):
        out.with_suffix(suffix).write_bytes(demo_full.path.with_suffix(suffix).read_bytes())
    before = {s: (_digest(out.with_suffix(s)), out.with_suffix(s).stat().st_mtime_ns) for s in (".npz", ".json")}
    other = dataclasses.replace(DEMO, base=dataclasses.replace(DEMO.base, lr=1e-3))
    with pytest.raises(sweep.SweepError, match=r"different grid.*base\.lr"):
        sweep.run_sweep(other, out, progress=False)
    with pytest.raises(sweep.SweepError, match="different grid"):
        sweep.run_sweep("demo_seeds", out, progress=False)
    assert cli(["sweep", "parity_grid", "--out", str(out), "--quiet"]) == 2
    assert "nothing was overwritten" in capsys.readouterr().err
    assert count_training == []
    after = {s: (_digest(out.with_suffix(s)), out.with_suffix(s).stat().st_mtime_ns) for s in (".npz", ".json")}
    assert after == before


def test_a_json_without_its_npz_is_not_overwritten(tmp_path, count_training):
    out = tmp_path / "orphan"
    out.with_suffix(".json").write_text("{}")
    with pytest.raises(sweep.SweepError, match="without"):
        sweep.run_sweep("demo", out, progress=False)
    assert out.with_suffix(".json").read_text() == "{}" and count_training == []


def test_a_second_writer_of_the_same_results_is_refused(tmp_path, count_training):
    out = tmp_path / "busy"

    def try_again(res, rows):
        with pytest.raises(sweep.SweepError, match="another process"):
            sweep.run_sweep("demo", out, progress=False)
        raise Interrupt

    with pytest.raises(Interrupt):
        sweep.run_sweep("demo", out, progress=False, on_batch=try_again)
    assert sum(len(c) for c in count_training) == 6  # the refused second writer trained nothing


def test_spec_differences_tolerate_a_field_added_later_with_its_default():
    spec = DEMO.spec()
    old = json.loads(json.dumps(spec))
    del old["base"]["grokfast_alpha"]           # a file written before the field existed
    assert sweep.spec_differences(old, spec) == []
    old["base"]["lr"] = 0.5
    assert any("base.lr" in d for d in sweep.spec_differences(old, spec))
    # the swept fields and the seed of the base never reach a run
    moved = dataclasses.replace(DEMO, base=dataclasses.replace(DEMO.base, weight_decay=0.5, seed=9))
    assert moved.spec_hash() == DEMO.spec_hash()


# ------------------------------------------------------------------------------ reading results

def test_thresholds_reclassify_from_stored_curves_without_retraining(demo_full, monkeypatch):
    def no_training(*a, **k):
        raise AssertionError("re-classifying must not train")
    monkeypatch.setattr(sweep.runner, "train_many", no_training)
    res = sweep.SweepResults.load(demo_full.path)
    default = res.classes()
    assert list(default) == list(res.stored_classes)
    assert set(default) == {"fail", "memorize", "generalize"}
    tr, te = res.article_losses()
    for min_loss, max_ratio in [(1e-9, 5e4), (1.0, 5e4), (1e-5, 0.5)]:
        changed = res.classes(min_loss=min_loss, max_ratio=max_ratio)
        assert list(changed) != list(default)
        assert list(changed) == [analysis.classify_losses(tr[r], te[r], min_loss, max_ratio) for r in range(12)]
    assert res.class_counts(max_ratio=0.5)["grok"] == res.class_counts()["generalize"]
    by_wd = res.class_counts(by="weight_decay")
    assert by_wd[1.0]["fail"] == 6 and sum(by_wd[0.01].values()) == 6


def test_as_grid_puts_runs_at_their_axis_values_and_seed(demo_full):
    g = demo_full.as_grid(demo_full.field("n_train"))
    assert g.shape == (2, 2, 3)
    assert (g[:, 0] == 80).all() and (g[:, 1] == 400).all()
    seeds = demo_full.as_grid(demo_full.seeds)
    assert (seeds[..., 2] == 2).all()
    assert demo_full.as_grid(demo_full.train_loss).shape == (2, 2, 3, len(demo_full.steps))


def test_rows_select_runs_by_field(demo_full):
    rows = demo_full.rows(weight_decay=1.0, n_train=400)
    assert sorted(demo_full.seeds[rows]) == [0, 1, 2]
    assert all(demo_full.config(r).weight_decay == 1.0 for r in rows)
    assert demo_full.field("hidden_size").tolist() == [32] * 12


def test_seed_sweep_stores_final_weights_and_neurons_per_frequency(tmp_path):
    res = sweep.run_sweep("demo_seeds", tmp_path / "seeds", progress=False)
    assert res.complete and res.W_in.shape == (4, 31, 12)
    assert res.curve("test_acc").shape == (4, len(res.steps))
    run = grokkit.train(res.config(1), progress=False)
    assert np.allclose(res.W_in[1], run.W_in[-1], rtol=1e-4, atol=1e-5)
    assert np.allclose(res.curve("train_acc")[1], run.metrics["train_acc"], atol=1e-6)
    for r in range(4):
        groups = fourier.frequency_groups(res.W_in[r].astype(np.float64), fourier.SEED_SWEEP_MIN_STRENGTH)
        assert res.key_frequencies(r) == list(groups)
        assert {k: int(res.freq_neurons[r][k]) for k in groups} == {k: len(v) for k, v in groups.items()}
    assert any(res.key_frequencies(r) for r in range(4))
    assert res.key_frequencies(0, min_strength=0.0) == fourier.key_frequencies(res.W_in[0].astype(np.float64))
    assert "models by number of key frequencies" in sweep.summary(res)
    c = sweep.seed_comparison(res)
    _, te = res.article_losses()
    generalized = [r for r in range(4) if np.nanmin(te[r]) <= 1e-2]
    assert c["generalized"] == len(generalized)
    assert sum(c["models_by_n_freqs"].values()) == len(generalized)
    assert sum(c["all_models_by_n_freqs"].values()) == 4



def test_grok_rate_counts_runs_whose_test_loss_reaches_the_level_in_time(tmp_path):
    res = sweep.run_sweep("demo_seeds", tmp_path / "seeds", progress=False)
    _, te = res.article_losses()
    level = float(np.nanmedian(np.nanmin(te, axis=1)))        # about half the runs reach it
    rate = sweep.grok_rate(res, level=level)
    reached = [r for r in range(4) if np.nanmin(te[r]) < level or np.isclose(np.nanmin(te[r]), level)]
    assert rate["grokked"] == len(reached) and rate["runs"] == 4 and rate["rate"] == len(reached) / 4
    assert rate["not_grokked"] == [int(res.seeds[r]) for r in range(4) if r not in reached]
    first = sweep.grok_rate(res, max_seed=2, level=level)
    assert first["runs"] == 2 and first["grokked"] == sum(r in reached for r in (0, 1))
    nobody = sweep.grok_rate(res, level=0.0)
    assert nobody["grokked"] == 0 and nobody["median_step"] is None

def test_summary_compares_with_the_explorable_and_flags_partial_results(tmp_path, demo_full):
    text = sweep.summary(demo_full)
    assert "435" in text and "152" in text and "PARTIAL" not in text
    partial = sweep.run_sweep("demo", tmp_path / "part", progress=False, max_batches=1)
    assert not partial.complete and "PARTIAL" in sweep.summary(partial)
    assert partial.done_cells() == [{"n_train": 80}]
    assert json.loads(partial.path.with_suffix(".json").read_text())["done_cells"] == [{"n_train": 80}]
    c = sweep.parity_comparison(partial)
    assert sum(c["overall"].values()) == partial.n_done == 6
    assert c["explorable_overall"] == {"fail": 152, "memorize": 390, "generalize": 148, "grok": 435}


def test_loading_a_sweep_that_is_not_shipped_says_how_to_compute_it(monkeypatch, tmp_path):
    monkeypatch.setattr(sweep.registry, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m grokkit sweep parity_grid"):
        sweep.load("parity_grid")


# ------------------------------------------------------------------------------ the architecture sweep
@pytest.mark.parametrize("name, regularizer", [("architecture", "l2"), ("architecture_l1", "l1")])
def test_architecture_grids_cross_the_explorables_axes(name, regularizer):
    g = sweep.get_grid(name)
    sizes = {"embed_size": (64, 500)} if regularizer == "l2" else {}
    assert dict(g.axes) == {"embedding": ("tied", "untied", "collapsed"), "symmetric": (True, False), **sizes,
                            "lr": (1e-3, 3e-3)}
    assert g.base.regularizer == regularizer and g.keep_weights and g.n_seeds == 3
    pairs = {g.config(r).symmetric: g.config(r).n_pairs for r in range(g.n_combos)}
    assert pairs == {True: 2278, False: 4489}


def test_tiny_architecture_sweep_runs_and_classifies(tmp_path):
    full = sweep.get_grid("architecture")
    tiny = dataclasses.replace(full, base=dataclasses.replace(full.base, p=23, steps=300, log_every=50),
                               n_seeds=1)
    res = sweep.run_sweep(tiny, tmp_path / "arch", progress=False)
    assert res.complete and res.n_runs == 24
    classes = res.classes()
    assert set(classes) <= set(analysis.CLASSES) and "" not in set(classes)
    assert res.W_in.shape == (24, 23, full.base.hidden_size)
    # The collapsed model has no embedding: its runs at the two embedding sizes are one model.
    small, big = (res.rows(embedding="collapsed", embed_size=d, symmetric=True, lr=1e-3) for d in (64, 500))
    assert np.array_equal(res.train_loss[small], res.train_loss[big])
    tied_small, tied_big = (res.rows(embedding="tied", embed_size=d, symmetric=True, lr=1e-3) for d in (64, 500))
    assert not np.array_equal(res.train_loss[tied_small], res.train_loss[tied_big])
    assert res.class_counts(by="embedding").keys() == {"tied", "untied", "collapsed"}
