"""Training: the engine equals the literal model trained with autograd, batching changes nothing, runs save as plain data."""

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch

import grokkit
from grokkit.reference import train_reference
from grokkit.run import Run, schedule
from grokkit.training import round_inputs

SMALL = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=60, log_every=10,
                save_every=20, dtype="float64")
SMALL_PARITY = replace(grokkit.PAIR_PARITY, n_bits=10, n_train=200, n_test=100, hidden_size=16,
                       steps=60, log_every=10, save_every=20, dtype="float64")


def _raw_final(run):
    return {k: v[-1] for k, v in run.snapshots.items()}


OPTIONS = {
    "tied": SMALL,
    "untied": replace(SMALL, embedding="untied"),
    "circular": replace(SMALL, embedding="circular", circular_freqs=(1, 3), embed_size=4),
    "collapsed": replace(SMALL, embedding="collapsed"),
    "square-l1": replace(SMALL, activation="square", regularizer="l1", weight_decay=1e-4),
    "dropout": replace(SMALL, dropout=0.2),
    "stablemax": replace(SMALL, loss="stablemax"),
    "grokfast": replace(SMALL, grokfast_alpha=0.9, grokfast_lambda=2.0),
    "parity-l1": SMALL_PARITY,
    "parity-l2-dropout": replace(SMALL_PARITY, regularizer="l2", weight_decay=0.5, dropout=0.1),
    "parity-square": replace(SMALL_PARITY, activation="square"),
}


@pytest.mark.parametrize("cfg", OPTIONS.values(), ids=OPTIONS.keys())
def test_engine_matches_the_literal_model_trained_with_autograd(cfg):
    cfg = replace(cfg, steps=200, log_every=50, save_every=100)
    run = grokkit.train(cfg, progress=False)
    ref_params, ref_losses = train_reference(cfg)
    for name, value in ref_params.items():
        assert np.allclose(run.snapshots[name][-1], value, rtol=1e-7, atol=1e-9), name
    # the logged train loss at step s is measured before update s (ordinary CE = article loss x classes)
    for s in (0, 50, 150):
        assert np.isclose(run.metrics["train_loss"][run.log_index(s)], ref_losses[s] * cfg.n_classes, rtol=1e-7)


def test_engine_matches_the_literal_model_in_float32_too():
    cfg = replace(SMALL, dtype="float32", steps=200, log_every=50)
    run = grokkit.train(cfg, progress=False)
    ref_params, ref_losses = train_reference(cfg)
    for name, value in ref_params.items():
        assert np.allclose(run.snapshots[name][-1], value, rtol=1e-3, atol=1e-4), name
    assert np.isclose(run.metrics["train_loss"][-2], ref_losses[150] * cfg.n_classes, rtol=1e-4)


def test_train_many_matches_one_at_a_time():
    base = replace(SMALL, dtype="float32", steps=200, log_every=20, save_every=100)
    cfgs = [replace(base, seed=1), replace(base, seed=2, weight_decay=0.1),
            replace(base, seed=3, lr=3e-3, beta1=0.8), replace(base, seed=4, regularizer="l1", weight_decay=1e-5),
            replace(base, p=19, seed=5), replace(base, seed=6, matmul_rounding="tf32"),
            replace(base, seed=7, matmul_rounding="bfloat16")]
    parity = [replace(SMALL_PARITY, dtype="float32", steps=200, seed=s, weight_decay=0.1 * s) for s in range(3)]
    together = grokkit.train_many(cfgs + parity, progress=False)
    for cfg, run in zip(cfgs + parity, together):
        alone = grokkit.train(cfg, progress=False)     # bit for bit: neighbours in a stack change nothing
        assert run.config == cfg
        for k in run.metrics:
            assert np.array_equal(run.metrics[k], alone.metrics[k]), k
        assert np.array_equal(run.W_in, alone.W_in) and np.array_equal(run.W_out, alone.W_out)
        for k in run.snapshots:
            assert np.array_equal(run.snapshots[k], alone.snapshots[k]), k


def test_same_config_same_result():
    a = grokkit.train(replace(SMALL, dtype="float32", dropout=0.1), progress=False)
    b = grokkit.train(replace(SMALL, dtype="float32", dropout=0.1), progress=False)
    for k in a.metrics:
        assert np.array_equal(a.metrics[k], b.metrics[k]), k
    assert np.array_equal(a.W_in, b.W_in)


def test_dropout_changes_training():
    a = grokkit.train(replace(SMALL, dtype="float32"), progress=False)
    b = grokkit.train(replace(SMALL, dtype="float32", dropout=0.3), progress=False)
    assert not np.allclose(a.W_in[-1], b.W_in[-1])


def test_diverging_run_stops_without_stopping_the_others():
    good = replace(SMALL, dtype="float32", steps=100)
    bad = replace(good, lr=1e35, seed=2)
    runs = grokkit.train_many([good, bad], progress=False)
    assert not runs[0].diverged and np.isfinite(runs[0].metrics["train_loss"]).all()
    assert runs[1].diverged and runs[1].diverged_step is not None
    assert np.isnan(runs[1].metrics["train_loss"][-1])
    alone = grokkit.train(good, progress=False)
    assert np.array_equal(runs[0].metrics["train_loss"], alone.metrics["train_loss"])
    assert np.all(runs[1].W_in[-1] == 0)                       # frozen at zero, not NaN


def test_logs_and_snapshots_follow_the_schedule():
    run = grokkit.train(SMALL, progress=False)
    assert list(run.steps) == [0, 10, 20, 30, 40, 50, 60]
    assert list(run.snapshot_steps) == [0, 20, 40, 60]
    assert run.W_in.shape == (4, 23, 8) and run.W_out.shape == (4, 8, 23)
    assert run.snapshots["embed"].shape == (4, 23, 32)
    assert list(schedule(25, 10)) == [0, 10, 20, 25] and list(schedule(25, 0)) == [0, 25]


def test_save_and_load_round_trip_as_plain_data(tmp_path):
    run = grokkit.train(SMALL_PARITY, progress=False)
    path = run.save(tmp_path / "parity_run")
    with zipfile.ZipFile(path) as z:
        assert all(name.endswith(".npy") for name in z.namelist())
    np.load(path, allow_pickle=False)  # must not need pickle
    meta = json.loads((tmp_path / "parity_run.json").read_text())
    assert meta["config"]["task"] == "parity"
    back = Run.load(tmp_path / "parity_run")
    assert back.config == run.config
    assert np.array_equal(back.W_in, run.W_in)
    for k in run.metrics:
        assert np.array_equal(back.metrics[k], run.metrics[k])
    assert not list(tmp_path.glob("*.tmp"))


def test_progress_false_prints_nothing(capsys):
    grokkit.train(SMALL, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_shows_a_bar(capsys):
    grokkit.train(SMALL, progress=True)
    assert "step" in capsys.readouterr().err


def test_grokfast_and_stablemax_options_run_and_change_training():
    base = replace(SMALL, dtype="float32")
    plain = grokkit.train(base, progress=False)
    gf = grokkit.train(replace(base, grokfast_alpha=0.98, grokfast_lambda=2.0), progress=False)
    sm = grokkit.train(replace(base, loss="stablemax"), progress=False)
    assert not np.allclose(plain.W_in[-1], gf.W_in[-1])
    assert not np.allclose(plain.W_in[-1], sm.W_in[-1])
    assert np.isfinite(sm.metrics["train_loss"]).all()


def test_round_inputs_keeps_ten_or_seven_mantissa_bits_rounding_ties_to_even():
    x = torch.tensor([1 + 2**-11, 1 + 3 * 2**-11, -(1 + 3 * 2**-11), 1 + 2**-11 + 2**-20, 1 + 2**-8, 1 + 3 * 2**-8])
    assert round_inputs(x, "tf32").tolist() == [1.0, 1 + 2**-9, -(1 + 2**-9), 1 + 2**-10, 1 + 2**-8, 1 + 3 * 2**-8]
    assert round_inputs(x, "bfloat16").tolist() == [1.0, 1.0, -1.0, 1.0, 1.0, 1 + 2**-6]
    y = torch.randn(40, 30, generator=torch.Generator().manual_seed(0))
    y = (y.sign() * y.abs().clamp(min=2**-14)).t()   # a transposed view, as the engine passes: same values
    # float16 keeps 10 bits too, but only where it is normal: below 2**-14 its subnormals keep fewer
    assert torch.equal(round_inputs(y, "tf32"), y.half().float())


def test_matmul_rounding_changes_a_step_by_about_its_precision():
    base = replace(SMALL, dtype="float32", steps=1, log_every=1, save_every=0)
    plain, tf32, bf16 = (grokkit.train(replace(base, matmul_rounding=r), progress=False)
                         for r in ("none", "tf32", "bfloat16"))

    def gap(run):    # after one step; later, Adam's sign-like first steps blur the difference
        return np.abs(run.W_in[-1] - plain.W_in[-1]).max() / np.abs(plain.W_in[-1]).max()
    assert 0 < gap(tf32) < 1e-3                  # measured 4e-4 (TF32 keeps 10 bits)
    assert 3 * gap(tf32) < gap(bf16) < 1e-2      # measured 2.7e-3 (bfloat16 keeps 7)


def test_the_literal_model_refuses_matmul_rounding_by_name():
    with pytest.raises(ValueError, match="matmul_rounding = 'tf32' is not allowed"):
        train_reference(replace(SMALL, dtype="float32", matmul_rounding="tf32"))


def test_train_many_rejects_a_non_config():
    with pytest.raises(ValueError, match="configs\\[1\\]"):
        grokkit.train_many([SMALL, {"p": 67}], progress=False)




def test_asking_for_a_device_that_is_not_there_is_a_one_line_value_error():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device = 'cuda' is not available") as err:
        grokkit.train(SMALL, progress=False, device="cuda")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="device = 'tpu0' is not a device name"):
        grokkit.train_many([SMALL], progress=False, device="tpu0")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_training_matches_the_cpu(dtype):
    import torch
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    cfgs = [replace(SMALL, dtype=dtype, seed=s) for s in range(3)] + [replace(SMALL_PARITY, dtype=dtype)]
    gpu = grokkit.train_many(cfgs, progress=False, device="cuda")
    for cfg, run in zip(cfgs, gpu):
        cpu = grokkit.train(cfg, progress=False)
        tol = 1e-9 if dtype == "float64" else 1e-3
        assert np.allclose(run.metrics["train_loss"], cpu.metrics["train_loss"], rtol=tol, atol=tol)
        assert np.allclose(run.W_in, cpu.W_in, rtol=tol, atol=tol)
