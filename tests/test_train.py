"""Training: the fast trainer equals the straightforward one, batching changes nothing, runs save as plain data."""

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

import grokkit
from grokkit.run import Run, schedule
from grokkit.training import train_reference

SMALL = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=60, log_every=10,
                save_every=20, dtype="float64")
SMALL_PARITY = replace(grokkit.PAIR_PARITY, n_bits=10, n_train=200, n_test=100, hidden_size=16,
                       steps=60, log_every=10, save_every=20, dtype="float64")


def _raw_final(run):
    return {k: v[-1] for k, v in run.snapshots.items()}


@pytest.mark.parametrize("cfg", [
    SMALL,
    replace(SMALL, embedding="untied"),
    replace(SMALL, embedding="circular", circular_freqs=(1, 3), embed_size=4),
    replace(SMALL, activation="square", regularizer="l1", weight_decay=1e-4),
    SMALL_PARITY,
    replace(SMALL_PARITY, regularizer="l2", weight_decay=0.5),
], ids=["tied", "untied", "circular", "square-l1", "parity-l1", "parity-l2"])
def test_fast_trainer_matches_autograd_and_torch_adamw(cfg):
    run = grokkit.train(cfg, progress=False)
    ref_params, ref_losses = train_reference(cfg)
    for name, value in ref_params.items():
        assert np.allclose(_raw_final(run)[name], value, rtol=1e-7, atol=1e-9), name
    # logged train loss at step s is measured before update s (ordinary CE = article loss x classes)
    s = 50
    assert np.isclose(run.metrics["train_loss"][run.log_index(s)], ref_losses[s] * cfg.n_classes, rtol=1e-7)


def test_train_many_matches_one_at_a_time():
    base = replace(SMALL, dtype="float32", steps=200, log_every=20, save_every=100)
    cfgs = [replace(base, seed=1), replace(base, seed=2, weight_decay=0.1),
            replace(base, seed=3, lr=3e-3, beta1=0.8), replace(base, seed=4, regularizer="l1", weight_decay=1e-5),
            replace(base, p=19, seed=5)]
    together = grokkit.train_many(cfgs, progress=False)
    for cfg, run in zip(cfgs, together):
        alone = grokkit.train(cfg, progress=False)
        assert run.config == cfg
        for k in run.metrics:
            assert np.allclose(run.metrics[k], alone.metrics[k], rtol=1e-4, atol=1e-6), k
        assert np.allclose(run.W_in, alone.W_in, rtol=1e-4, atol=1e-6)


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
    assert np.allclose(runs[0].metrics["train_loss"], alone.metrics["train_loss"], rtol=1e-4)


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


def test_train_many_rejects_a_non_config():
    with pytest.raises(ValueError, match="configs\\[1\\]"):
        grokkit.train_many([SMALL, {"p": 67}], progress=False)


# --------------------------------------------------------------------------- threads under contention


def test_other_runnable_tasks_reads_a_count_from_proc_loadavg():
    from grokkit.train import other_runnable_tasks
    n = other_runnable_tasks(samples=2, interval=0.0)
    assert isinstance(n, int) and n >= 0


@pytest.fixture
def thread_state(monkeypatch):
    """Restore torch's thread count and the trainer's ceiling after a test."""
    import importlib

    import torch
    T = importlib.import_module("grokkit.train")   # the module: grokkit.train is also the function's name
    before = torch.get_num_threads()
    monkeypatch.setattr(T, "_THREAD_CEILING", None)
    monkeypatch.setattr(T, "_THREADS_SET", None)
    yield T
    torch.set_num_threads(before)


def test_threads_drop_to_the_free_cpus_when_another_process_is_busy_and_come_back(thread_state, monkeypatch):
    import torch
    T = thread_state
    torch.set_num_threads(2)
    monkeypatch.setattr(T, "cpu_quota", lambda: 2)
    busy = {"n": 1}
    monkeypatch.setattr(T, "other_runnable_tasks", lambda: busy["n"])
    T._limit_threads()
    assert torch.get_num_threads() == 1
    busy["n"] = 0
    T._limit_threads()
    assert torch.get_num_threads() == 2
    busy["n"] = 5
    T._limit_threads()
    assert torch.get_num_threads() == 1                      # never below one


def test_threads_never_exceed_the_users_choice_or_the_quota(thread_state, monkeypatch):
    import torch
    T = thread_state
    torch.set_num_threads(1)                                  # the user asked for one thread
    monkeypatch.setattr(T, "cpu_quota", lambda: 2)
    monkeypatch.setattr(T, "other_runnable_tasks", lambda: 0)
    T._limit_threads()
    assert torch.get_num_threads() == 1
    torch.set_num_threads(2)                                  # ... until the user asks for two
    T._limit_threads()
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)                                  # and back to one
    T._limit_threads()
    assert torch.get_num_threads() == 1


def test_results_do_not_depend_on_the_number_of_threads(thread_state, monkeypatch):
    """Why choosing threads by load is safe: same seed, same numbers, bit for bit."""
    import torch
    T = thread_state
    cfg = grokkit.ModAddConfig(p=23, embed_size=16, hidden_size=8, steps=150, log_every=10, save_every=50)
    runs = {}
    for n in (1, 2):
        monkeypatch.setattr(T, "_THREAD_CEILING", n)
        monkeypatch.setattr(T, "_THREADS_SET", torch.get_num_threads())
        monkeypatch.setattr(T, "cpu_quota", lambda: 2)
        monkeypatch.setattr(T, "other_runnable_tasks", lambda: 0)
        runs[n] = grokkit.train_many([cfg, replace(cfg, seed=1)], progress=False)
        assert torch.get_num_threads() == n
    for a, b in zip(runs[1], runs[2]):
        assert np.array_equal(a.metrics["train_loss"], b.metrics["train_loss"])
        assert np.array_equal(a.W_in, b.W_in)


def test_grokkit_progress_0_keeps_automatic_bars_closed_but_not_requested_ones(monkeypatch):
    from grokkit.train import _Progress
    monkeypatch.setenv("GROKKIT_PROGRESS", "0")
    auto = _Progress(total=100, mode=None)
    auto.start -= 1000.0                        # looks very slow: would open a bar otherwise
    auto.update(10)
    assert auto.bar is None
    monkeypatch.setenv("GROKKIT_PROGRESS", "1")
    slow = _Progress(total=100, mode=None)
    slow.start -= 1000.0
    slow.update(10)
    assert slow.bar is not None
    slow.close()


# --------------------------------------------------------------------------- streams: one batch per free CPU


def test_batches_split_a_shape_group_across_streams_and_cover_every_config_once():
    from grokkit.train import _plan_batches
    seeds = [replace(SMALL, seed=s) for s in range(9)]
    other = [replace(SMALL, p=19, seed=s) for s in range(2)]
    cfgs = seeds + other
    one, threads = _plan_batches(cfgs, 1)
    assert sorted(map(sorted, one)) == [list(range(9)), [9, 10]] and threads == 1  # whole shape groups
    two, threads = _plan_batches(cfgs, 2)
    assert threads == 2
    assert sorted(i for b in two for i in b) == list(range(11))
    assert all(len({_shape(cfgs[i]) for i in b}) == 1 for b in two)   # a batch never mixes shapes
    assert max(len(b) for b in two) <= 4
    assert len([b for b in two if b[0] < 9]) >= 2                      # the 9 seeds feed both streams
    parity = [replace(SMALL_PARITY, seed=s) for s in range(6)]
    assert _plan_batches(parity, 2) == ([list(range(6))], 2)             # parity groups stay whole


def test_models_that_do_not_split_evenly_over_the_streams_train_in_equal_batches_all_at_once():
    from grokkit.train import _plan_batches
    seeds = [replace(SMALL, seed=s) for s in range(12)]
    # 9 on 2 CPUs: 3 + 3 + 3 on three threads instead of 3 + 2 + 2 + 2 on two
    assert _plan_batches(seeds[:9], 2) == ([[0, 1, 2], [3, 4, 5], [6, 7, 8]], 3)
    assert _plan_batches(seeds[:3], 2) == ([[0], [1], [2]], 3)
    for n, sizes in ((5, [3, 2]), (7, [4, 3])):   # no equal split into 2-4 batches: the usual plan
        batches, threads = _plan_batches(seeds[:n], 2)
        assert threads == 2 and [len(b) for b in batches] == sizes
    batches, threads = _plan_batches(seeds[:8], 2)                  # even: the usual plan
    assert threads == 2 and [len(b) for b in batches] == [4, 4]
    batches, threads = _plan_batches(seeds[:9], 4)                  # 9 on 4 CPUs: no equal split in 4..8
    assert threads == 4 and sorted(len(b) for b in batches) == [2, 2, 2, 3]


def _shape(cfg):
    return (cfg.p, cfg.embed_size, cfg.hidden_size)  # the fields SMALL's variants above differ in


def test_streams_give_the_same_numbers_as_one_thread(thread_state, monkeypatch):
    """Training batches side by side on two threads changes nothing, bit for bit (modular addition and parity)."""
    import torch
    T = thread_state
    monkeypatch.setattr(T, "cpu_quota", lambda: 2)
    monkeypatch.setattr(T, "other_runnable_tasks", lambda: 0)
    base = replace(SMALL, dtype="float32", steps=120, log_every=20, save_every=60)
    par = replace(SMALL_PARITY, dtype="float32", steps=120, log_every=20, save_every=60)
    cfgs = [replace(base, seed=s) for s in range(5)] + [replace(par, seed=s) for s in range(3)]
    results = {}
    for n in (1, 2):
        monkeypatch.setattr(T, "_THREAD_CEILING", n)
        monkeypatch.setattr(T, "_THREADS_SET", torch.get_num_threads())
        results[n] = grokkit.train_many(cfgs, progress=False)
        assert torch.get_num_threads() == n                          # the caller's setting is back
    assert len(T._plan_batches(cfgs, 2)[0]) > 2
    for a, b in zip(results[1], results[2]):
        assert a.config == b.config
        for k in a.metrics:
            assert np.array_equal(a.metrics[k], b.metrics[k]), k
        assert np.array_equal(a.W_in, b.W_in) and np.array_equal(a.W_out, b.W_out)
        for k in a.snapshots:
            assert np.array_equal(a.snapshots[k], b.snapshots[k]), k
    alone = grokkit.train(cfgs[1], progress=False)                  # modular addition: as alone, too
    assert np.array_equal(alone.W_in, results[2][1].W_in)
    assert np.array_equal(alone.metrics["test_loss"], results[2][1].metrics["test_loss"])


def test_three_batches_on_two_cpus_give_the_same_numbers_as_training_alone(two_free_cpus, monkeypatch):
    """Three seeds on two CPUs train as three one-model batches at once (more threads than CPUs)."""
    import torch
    T = two_free_cpus
    base = replace(SMALL, dtype="float32", steps=120, log_every=20, save_every=60)
    cfgs = [replace(base, seed=s) for s in range(3)]
    used = []
    real = T._train_streams
    monkeypatch.setattr(T, "_train_streams", lambda c, batches, workers, *a: (used.append(workers), real(c, batches, workers, *a)))
    together = grokkit.train_many(cfgs, progress=False)
    assert used == [3] and torch.get_num_threads() == 2
    for cfg, run in zip(cfgs, together):
        alone = grokkit.train(cfg, progress=False)
        for k in alone.metrics:
            assert np.array_equal(alone.metrics[k], run.metrics[k]), k
        assert np.array_equal(alone.W_in, run.W_in) and np.array_equal(alone.W_out, run.W_out)


@pytest.fixture
def two_free_cpus(thread_state, monkeypatch):
    """Two CPUs, both free, two torch threads allowed: train_many trains batches side by side."""
    import torch
    T = thread_state
    monkeypatch.setattr(T, "cpu_quota", lambda: 2)
    monkeypatch.setattr(T, "other_runnable_tasks", lambda: 0)
    monkeypatch.setattr(T, "_THREAD_CEILING", 2)
    monkeypatch.setattr(T, "_THREADS_SET", torch.get_num_threads())
    return T


def test_an_error_in_one_stream_stops_the_others_and_reaches_the_caller(two_free_cpus, monkeypatch):
    import torch
    T = two_free_cpus
    ended = []
    real = T._train_group

    def recording(cfgs, *args, **kwargs):
        try:
            return real(cfgs, *args, **kwargs)
        except BaseException as e:
            ended.append(type(e).__name__)
            raise

    def broken(self, want_metrics):
        raise RuntimeError("parity step failed")

    monkeypatch.setattr(T, "_train_group", recording)
    monkeypatch.setattr(T._Batch, "step_parity", broken)
    long = replace(SMALL, dtype="float32", steps=200_000, log_every=1000, save_every=0)
    with pytest.raises(RuntimeError, match="parity step failed"):
        grokkit.train_many([long, replace(SMALL_PARITY, dtype="float32")], progress=False)
    assert sorted(ended) == ["RuntimeError", "_Stopped"]               # the long run gave up, it did not finish
    assert torch.get_num_threads() == 2


def test_progress_counts_steps_from_every_stream(two_free_cpus, monkeypatch, capsys):
    T = two_free_cpus
    bars = []
    real = T._Progress.close
    monkeypatch.setattr(T._Progress, "close", lambda self: (bars.append(self.done), real(self)))
    cfgs = [replace(SMALL, dtype="float32", seed=s) for s in range(4)]
    grokkit.train_many(cfgs, progress=True)
    assert bars == [4 * SMALL.steps]
    assert "training" in capsys.readouterr().err
