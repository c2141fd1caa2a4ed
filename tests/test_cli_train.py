"""``python -m grokkit train NAME --out PATH``: bad input is refused before training; a run is saved whole."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import grokkit
from grokkit import __main__ as cli


def test_an_unknown_config_is_refused_with_the_allowed_names(tmp_path, capsys):
    assert cli.main(["train", "PAIR_MODADDD", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown config 'PAIR_MODADDD'" in err and "GEN_MEM_GEN" in err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_or_negative_seed_is_refused_before_training(tmp_path, capsys):
    assert cli.main(["train", "GEN_MEM_GEN", "--out", str(tmp_path / "no" / "such" / "r")]) == 2
    assert "does not exist or is not writable" in capsys.readouterr().err
    assert cli.main(["train", "GEN_MEM_GEN", "--seed", "-1", "--out", str(tmp_path / "r")]) == 2
    assert "--seed -1 is not allowed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_named_config_trains_and_saves_a_run_that_loads_back(tmp_path, capsys, monkeypatch):
    tiny = grokkit.ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=30, log_every=10, save_every=10)
    monkeypatch.setitem(cli.NAMED_CONFIGS, "TINY", tiny)
    assert cli.main(["train", "TINY", "--seed", "3", "--quiet", "--out", str(tmp_path / "tiny")]) == 0
    assert "TINY (seed 3)" in capsys.readouterr().out
    run = grokkit.Run.load(tmp_path / "tiny")
    assert run.config == dataclasses.replace(tiny, seed=3)
    again = grokkit.train(dataclasses.replace(tiny, seed=3), progress=False)
    assert np.array_equal(run.metrics["test_loss"], again.metrics["test_loss"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.npz"]


# --------------------------------------------------------------------------- names, devices, one-line errors

TINY = grokkit.ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=10, log_every=5, save_every=5)


@pytest.fixture
def no_training(monkeypatch):
    """Make any training attempt fail the test: refusals must come before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError("trained although the input was bad")
    monkeypatch.setattr("grokkit.training.train", refuse)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_out_with_a_dot_writes_the_whole_name_x_v2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(cli.NAMED_CONFIGS, "TINY", TINY)
    assert cli.main(["train", "TINY", "--quiet", "--out", str(tmp_path / "x.v2")]) == 0
    assert cli.main(["train", "TINY", "--quiet", "--seed", "1", "--out", str(tmp_path / "x.v3.npz")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.v2.json", "x.v2.npz", "x.v3.json", "x.v3.npz"]
    assert grokkit.Run.load(tmp_path / "x.v3").config.seed == 1
    assert "x.v2.npz: TINY" in capsys.readouterr().out


@pytest.mark.parametrize("out,words", [
    ("", "names no file"), ("{tmp}", "it is a folder"), ("{tmp}/.npz", "the file name is empty"),
    ("{tmp}/sub/", "names no file"), ("{tmp}/a_file/run", "does not exist or is not writable"),
])
def test_a_bad_out_path_is_one_line_and_exit_2_before_training(out, words, tmp_path, capsys, no_training):
    (tmp_path / "a_file").write_text("not a folder")
    assert cli.main(["train", "GEN_MEM_GEN", "--out", out.format(tmp=tmp_path)]) == 2
    assert words in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.parametrize("device,words", [
    ("cuda:99", "--device cuda:99: not available here"), ("tpu", "--device 'tpu' is not allowed"),
    ("not a device", "--device 'not a device' is not allowed"),
])
def test_an_unavailable_device_is_one_line_and_exit_2(device, words, tmp_path, capsys, no_training):
    assert cli.main(["train", "GEN_MEM_GEN", "--device", device, "--out", str(tmp_path / "r")]) == 2
    assert words in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_cuda_without_cuda_is_refused_naming_cpu_as_the_way_out(tmp_path, capsys, no_training):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cli.main(["train", "GEN_MEM_GEN", "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    assert "not available here (0 CUDA device(s) found); use --device cpu" in _one_line_error(capsys)


def test_the_device_is_passed_to_train(tmp_path, monkeypatch):
    seen = {}
    real = grokkit.training.train

    def spy(config, progress=None, device="cpu", keep_raw=True):
        seen["device"] = device
        return real(config, progress=progress, device=device, keep_raw=keep_raw)
    monkeypatch.setattr("grokkit.training.train", spy)
    monkeypatch.setitem(cli.NAMED_CONFIGS, "TINY", TINY)
    assert cli.main(["train", "TINY", "--quiet", "--device", "cpu", "--out", str(tmp_path / "r")]) == 0
    assert seen == {"device": "cpu"}


def test_a_seed_of_2_to_the_32_is_refused_on_the_command_line(tmp_path, capsys, no_training):
    assert cli.main(["train", "GEN_MEM_GEN", "--seed", str(2**32), "--out", str(tmp_path / "r")]) == 2
    assert "--seed 4294967296 is not allowed: an integer >= 0 and < 2**32" in _one_line_error(capsys)


def test_a_usage_error_is_one_line_and_exit_2(capsys, no_training):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "GEN_MEM_GEN", "--seed", "abc", "--out", "r"])
    assert stop.value.code == 2
    assert "argument --seed: invalid int value: 'abc'" in _one_line_error(capsys)


def test_summary_of_an_unreadable_path_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["summary", "modadd_seeds", "--out", str(tmp_path / "missing")]) == 2
    assert "missing" in _one_line_error(capsys)


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"grokkit {grokkit.__version__}\n"


def test_a_grokkit_console_script_runs_the_same_main(repo, monkeypatch, capsys):
    import importlib
    import tomllib

    scripts = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["grokkit"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    assert entry is cli.main
    monkeypatch.setattr("sys.argv", ["/usr/local/bin/grokkit", "--help"])
    with pytest.raises(SystemExit) as stop:
        entry()
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("usage: grokkit ")
