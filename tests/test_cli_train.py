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
