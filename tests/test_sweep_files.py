"""A sweep's files: the user's names, one writer per name, repairs after a crash, every bad file or
command-line value refused in one line naming it, and resumes that keep the numbers or say why not."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import grokkit.run
from grokkit import sweep
from grokkit.__main__ import main as cli

SMALL = dataclasses.replace(sweep.get_grid("demo"), name="small",
                            base=dataclasses.replace(sweep.get_grid("demo").base, steps=200))
TIMING = {"seconds", "cpu_seconds"}


# One torch thread for the whole module (the shared fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def small_done(tmp_path_factory) -> sweep.SweepResults:
    """The small grid, complete."""
    return sweep.run_sweep(SMALL, tmp_path_factory.mktemp("small") / "small", progress=False)


def _one_line_error(capsys, *names: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for n in names:
        assert n in err, err
    return err


# ------------------------------------------------------------------------------ names

def test_names_with_dots_are_the_users_and_only_npz_json_are_stripped(tmp_path):
    v1 = sweep.run_sweep(SMALL, tmp_path / "results.v1", progress=False, max_batches=1)
    v2 = sweep.run_sweep(SMALL, tmp_path / "results.v2", progress=False, max_batches=2)
    assert v1.path == tmp_path / "results.v1.npz" and v2.path == tmp_path / "results.v2.npz"
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == {
        "results.v1.npz", "results.v1.json", "results.v2.npz", "results.v2.json"}
    assert sweep.load(tmp_path / "results.v1").n_done == v1.n_done != v2.n_done
    assert sweep.load(tmp_path / "results.v2.npz").n_done == v2.n_done
    assert sweep.load(tmp_path / "results.v2.json").n_done == v2.n_done
    assert sweep.results_base("a/x.tar") == Path("a/x.tar")


@pytest.mark.parametrize("bad", ["", ".npz", ".json"])
def test_an_empty_results_name_is_refused(tmp_path, bad):
    with pytest.raises(sweep.SweepError, match="not allowed as a results name"):
        sweep.run_sweep(SMALL, str(tmp_path / bad) if bad else bad, progress=False)


def test_an_existing_folder_as_out_is_refused_without_writing_beside_it(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    assert cli(["sweep", "demo", "--out", str(tmp_path / "results")]) == 2
    _one_line_error(capsys, "is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_two_processes_on_names_that_differ_after_a_dot_both_write_and_the_same_name_is_refused(tmp_path, repo):
    env = {**os.environ, "PYTHONPATH": str(repo)}
    outcomes = {}

    def other_processes(res, rows):
        for name in ("results.v2", "results.v1"):
            outcomes[name] = subprocess.run(
                [sys.executable, "-m", "grokkit", "sweep", "demo", "--out", str(tmp_path / name), "--quiet",
                 "--max-batches", "1"], env=env, capture_output=True, text=True, timeout=300)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep("demo", tmp_path / "results.v1", progress=False, on_batch=other_processes)
    assert outcomes["results.v2"].returncode == 0, outcomes["results.v2"].stderr
    assert outcomes["results.v1"].returncode == 2 and "another process" in outcomes["results.v1"].stderr
    assert sweep.load(tmp_path / "results.v2").n_done == 6
    assert sweep.load(tmp_path / "results.v1").n_done == 6  # its own first batch, untouched by the refused one


# ------------------------------------------------------------------------------ repairs

def test_a_crash_between_npz_and_json_is_repaired_when_the_sweep_is_opened(tmp_path, monkeypatch):
    out = tmp_path / "crash"
    real = grokkit.run.atomic_write

    def crash_on_the_last_json(path, write):
        if path.suffix == ".json" and sweep.SweepResults.load(out).complete:
            raise KeyboardInterrupt  # the process dies after the npz's rename
        real(path, write)
    monkeypatch.setattr(grokkit.run, "atomic_write", crash_on_the_last_json)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(SMALL, out, progress=False)
    monkeypatch.setattr(grokkit.run, "atomic_write", real)
    stale = json.loads((tmp_path / "crash.json").read_text())
    assert stale["n_done"] < SMALL.n_runs and sweep.SweepResults.load(out).complete
    res = sweep.run_sweep(SMALL, out, progress=False)  # nothing to train: only the repair
    meta = json.loads((tmp_path / "crash.json").read_text())
    assert meta["complete"] is True and meta["n_done"] == SMALL.n_runs == res.n_done
    assert meta["revision"] == int(np.load(tmp_path / "crash.npz")["revision"])


def test_stale_temporary_files_are_removed_under_the_lock(tmp_path):
    out = tmp_path / "x.v2"
    stale = [tmp_path / ".x.v2.npz.abc123.tmp", tmp_path / ".x.v2.json.def456.tmp",
             tmp_path / ".x.v2.check.789.tmp"]
    others = [tmp_path / ".x.npz.abc123.tmp", tmp_path / ".x.v20.npz.abc.tmp"]  # another name's
    for p in stale + others:
        p.write_bytes(b"half a file")
    sweep.run_sweep(SMALL, out, progress=False, max_batches=1)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in others)


# ------------------------------------------------------------------------------ resumes

def test_a_resume_with_another_batch_size_gives_the_same_numbers_when_calls_are_fixed(tmp_path, small_done):
    chunked = dataclasses.replace(SMALL, train_chunk=2)
    alone = sweep.run_sweep(chunked, tmp_path / "alone", progress=False)
    out = tmp_path / "resumed"
    sweep.run_sweep(dataclasses.replace(chunked, max_batch=2), out, progress=False, max_batches=2)
    res = sweep.run_sweep(dataclasses.replace(chunked, max_batch=6), out, progress=False)
    for k in res.arrays:
        if k not in TIMING:
            assert np.array_equal(res.arrays[k], alone.arrays[k], equal_nan=res.arrays[k].dtype.kind == "f"), k


def test_a_cpu_resume_with_another_batch_size_that_splits_a_call_gives_the_same_numbers(tmp_path, small_done):
    out = tmp_path / "demo"
    # 3 models in the first call, then 4 per call: rows 0-2 done, the second call starts mid-way
    # through the grid's first call of 4. On the CPU a model's neighbours change nothing.
    grid = dataclasses.replace(SMALL, max_batch=3)
    first = sweep.run_sweep(grid, out, progress=False, max_batches=1)
    assert 0 < first.n_done < SMALL.n_runs
    res = sweep.run_sweep(dataclasses.replace(SMALL, max_batch=4), out, progress=False)
    assert res.complete and res.n_done == SMALL.n_runs
    for k in res.arrays:
        if k not in TIMING:
            assert np.array_equal(res.arrays[k], small_done.arrays[k],
                                  equal_nan=res.arrays[k].dtype.kind == "f"), k


def test_a_gpu_sweep_resumed_with_another_batch_size_is_refused_with_the_reason(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli(["sweep", "demo", "--out", str(out), "--max-batches", "1", "--quiet"]) == 0
    res = sweep.load(out)
    res.meta["devices"] = ["cuda"]    # as if its runs were trained on a GPU
    res.save(out)
    before = (tmp_path / "demo.npz").read_bytes()
    assert cli(["sweep", "demo", "--out", str(out), "--batch-size", "4", "--quiet"]) == 2
    _one_line_error(capsys, "demo.npz", "per train_many call", "GPU", "rounding", "--batch-size")
    assert (tmp_path / "demo.npz").read_bytes() == before


# ------------------------------------------------------------------------------ command-line values

@pytest.mark.parametrize("args, names", [
    (["sweep", "demo", "--max-batches", "-1"], ["--max-batches -1"]),
    (["sweep", "demo", "--max-batches", "0"], ["--max-batches 0"]),
    (["sweep", "demo", "--jobs", "0"], ["--jobs 0"]),
    (["sweep", "demo", "--seeds", "0"], ["--seeds 0"]),
    (["sweep", "demo", "--threads", "-2"], ["--threads -2"]),
    (["sweep", "demo", "--chunk", "0"], ["--chunk 0"]),
    (["sweep", "demo", "--batch-size", "-3"], ["--batch-size -3"]),
    (["summary", "demo", "--min-loss", "nan"], ["--min-loss nan"]),
    (["summary", "demo", "--min-loss", "-1"], ["--min-loss -1"]),
    (["summary", "demo", "--max-ratio", "inf"], ["--max-ratio inf"]),
])
def test_counts_and_thresholds_are_checked_before_any_work(tmp_path, capsys, args, names):
    if args[0] == "sweep":
        args = args + ["--out", str(tmp_path / "x")]
    assert cli(args) == 2
    _one_line_error(capsys, *names)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------ tampered files

def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite(path: Path, **changes) -> None:
    a = _arrays(path)
    for k, v in changes.items():
        if v is None:
            del a[k]
        else:
            a[k] = v
    np.savez_compressed(path, **a)


def _huge_spec(a):
    spec = json.loads(str(a["spec_json"]))
    spec["axes"] = [["lr", [10.0 ** -k for k in range(1, 101)]], ["weight_decay", [0.01 * k for k in range(1, 101)]],
                    ["hidden_size", list(range(1, 101))]]
    return np.array(json.dumps(spec))


TAMPER = {
    "truncated": lambda p, a: p.write_bytes(p.read_bytes()[:200]),
    "not_a_zip": lambda p, a: p.write_bytes(b"\x00" * 100),
    "no_spec": lambda p, a: _rewrite(p, spec_json=None),
    "spec_not_json": lambda p, a: _rewrite(p, spec_json=np.array("{nope")),
    "spec_wrong_format": lambda p, a: _rewrite(p, spec_json=np.array('{"format": "other/1"}')),
    "spec_bad_base": lambda p, a: _rewrite(p, spec_json=np.array(str(a["spec_json"]).replace(
        '"task": "parity"', '"task": "parity", "wings": 2'))),
    "spec_million_runs": lambda p, a: _rewrite(p, spec_json=_huge_spec(a)),
    "n_seeds_text": lambda p, a: _rewrite(p, n_seeds=np.array("three")),
    "done_too_short": lambda p, a: _rewrite(p, done=a["done"][:5]),
    "curve_wrong_shape": lambda p, a: _rewrite(p, curve_train_loss=a["curve_train_loss"][:, :7]),
    "curve_as_text": lambda p, a: _rewrite(p, curve_test_loss=a["curve_test_loss"].astype(str)),
    "steps_changed": lambda p, a: _rewrite(p, steps=a["steps"] + 1),
    "class_code_out_of_range": lambda p, a: _rewrite(p, cls=np.full_like(a["cls"], 9)),
    "engine_index_past_the_list": lambda p, a: _rewrite(p, engine=np.full_like(a["engine"], 5)),
    "object_array": lambda p, a: np.savez(p, **{**a, "done": np.array([object()] * len(a["done"]))}),
}


@pytest.mark.parametrize("kind", sorted(TAMPER))
def test_a_tampered_results_file_is_one_error_naming_the_file(tmp_path, small_done, capsys, kind):
    path = tmp_path / "t.npz"
    path.write_bytes(small_done.path.read_bytes())
    TAMPER[kind](path, _arrays(small_done.path))
    t = time.perf_counter()
    assert cli(["summary", "demo", "--out", str(path)]) == 2
    assert time.perf_counter() - t < 2
    _one_line_error(capsys, str(path))
    with pytest.raises(sweep.SweepError, match=str(path)):  # and a sweep into it is refused, file untouched
        sweep.run_sweep(SMALL, tmp_path / "t", progress=False)


def test_summary_of_a_tampered_file_prints_no_traceback(tmp_path, small_done, repo):
    path = tmp_path / "t.npz"
    path.write_bytes(small_done.path.read_bytes())
    TAMPER["curve_wrong_shape"](path, _arrays(path))
    rc = subprocess.run([sys.executable, "-m", "grokkit", "summary", "demo", "--out", str(path)],
                        env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True, timeout=120)
    assert rc.returncode == 2 and rc.stderr.count("\n") == 1 and str(path) in rc.stderr
    assert "Traceback" not in rc.stderr


def test_an_npz_that_would_expand_past_the_limit_is_refused_before_decompressing(tmp_path, small_done,
                                                                                monkeypatch, capsys):
    monkeypatch.setattr(sweep.store, "MAX_ARRAY_BYTES", 1000)
    assert cli(["summary", "demo", "--out", str(small_done.path)]) == 2
    _one_line_error(capsys, str(small_done.path), "GiB")


def test_a_damaged_json_beside_a_good_npz_does_not_lose_the_results(tmp_path, small_done):
    for junk in ("{", "[1, 2]", '{"batch_by": ["wings"], "max_batch": "x", "devices": 3}'):
        (tmp_path / "j.npz").write_bytes(small_done.path.read_bytes())
        (tmp_path / "j.json").write_text(junk)
        assert sweep.load(tmp_path / "j").n_done == SMALL.n_runs
        res = sweep.run_sweep(SMALL, tmp_path / "j", progress=False)
        assert res.complete and json.loads((tmp_path / "j.json").read_text())["n_done"] == SMALL.n_runs


def test_a_killed_writer_whose_npz_is_then_corrupted_is_refused_and_kept(tmp_path, repo, capsys):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "grokkit", "sweep", "demo", "--seeds", "20", "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 300
        while not (tmp_path / "killed.json").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    npz = tmp_path / "killed.npz"
    assert 0 < sweep.load(out).n_done
    npz.write_bytes(npz.read_bytes()[:-100])
    damaged = npz.read_bytes()
    assert cli(["sweep", "demo", "--seeds", "20", "--out", str(out), "--quiet"]) == 2
    _one_line_error(capsys, str(npz))
    assert npz.read_bytes() == damaged
