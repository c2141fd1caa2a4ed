"""Threads and streams: the one rule for how many threads a call uses, and batches trained side by side."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import grokkit
from grokkit import parallel, training

SMALL = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=120, log_every=20, save_every=60)
SMALL_PARITY = replace(grokkit.PAIR_PARITY, n_bits=10, n_train=200, n_test=100, hidden_size=16,
                       steps=120, log_every=20, save_every=60)


@pytest.fixture
def cpus(monkeypatch):
    """A machine of two CPUs whose load the test sets (``cpus["busy"]``); torch's thread count restored after."""
    before = torch.get_num_threads()
    state = {"quota": 2, "busy": 0}
    monkeypatch.setattr(parallel, "cpu_quota", lambda: state["quota"])
    monkeypatch.setattr(parallel, "busy_cpus", lambda: state["busy"])
    monkeypatch.setitem(parallel.THREAD_CHOICE, "user", None)      # as in a fresh process
    monkeypatch.setitem(parallel.THREAD_CHOICE, "set", None)
    yield state
    torch.set_num_threads(before)


def test_busy_cpus_counts_the_other_runnable_tasks_in_loadavg(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.52 0.98 0.61 3/412 12345\n")           # 3 runnable, this process among them
    assert parallel.busy_cpus(samples=2, interval=0.0, loadavg=loadavg) == 2
    loadavg.write_text("0.00 0.00 0.00 1/412 12345\n")
    assert parallel.busy_cpus(samples=1, loadavg=loadavg) == 0
    assert parallel.busy_cpus(samples=1, loadavg=tmp_path / "missing") == 0   # unknown: assume free


def test_cpu_quota_is_at_least_one_and_at_most_the_visible_cpus():
    import os
    assert 1 <= parallel.cpu_quota() <= (os.cpu_count() or 1)


def test_threads_drop_to_the_free_cpus_when_another_process_is_busy_and_come_back(cpus):
    torch.set_num_threads(2)
    cpus["busy"] = 1
    assert parallel.threads_to_use() == 1 == torch.get_num_threads()
    cpus["busy"] = 0
    assert parallel.threads_to_use() == 2 == torch.get_num_threads()
    cpus["busy"] = 5
    assert parallel.threads_to_use() == 1                          # never below one


def test_threads_never_exceed_the_users_choice_or_the_quota(cpus):
    torch.set_num_threads(1)                                       # the user asked for one thread
    assert parallel.threads_to_use() == 1
    torch.set_num_threads(2)                                       # ... until the user asks for two
    assert parallel.threads_to_use() == 2
    cpus["quota"] = 1                                              # a container allowed one CPU
    assert parallel.threads_to_use() == 1


def test_results_do_not_depend_on_the_number_of_threads(cpus):
    """Why choosing threads by load is safe: same seed, same numbers, bit for bit, for one model and for streams."""
    cfgs = [replace(SMALL, seed=s) for s in range(5)] + [replace(SMALL_PARITY, seed=s) for s in range(3)]
    results = {}
    for n in (1, 2):
        torch.set_num_threads(n)
        results[n] = grokkit.train_many(cfgs, progress=False)
        assert torch.get_num_threads() == n                        # the caller's setting is back
        results[(n, "one")] = grokkit.train(cfgs[0], progress=False)
    assert len(parallel.plan_stacks(cfgs, 2, torch.device("cpu"))) > 2
    for a, b in list(zip(results[1], results[2])) + [(results[(1, "one")], results[(2, "one")])]:
        assert a.config == b.config
        for k in a.metrics:
            assert np.array_equal(a.metrics[k], b.metrics[k]), k
        assert np.array_equal(a.W_in, b.W_in) and np.array_equal(a.W_out, b.W_out)
        for k in a.snapshots:
            assert np.array_equal(a.snapshots[k], b.snapshots[k]), k


def test_stacks_cover_every_config_once_never_mix_shapes_and_feed_every_stream():
    seeds = [replace(SMALL, seed=s) for s in range(9)]
    other = [replace(SMALL, p=19, seed=s) for s in range(2)]
    cfgs = seeds + other
    cpu = torch.device("cpu")
    for streams in (1, 2, 4):
        stacks = parallel.plan_stacks(cfgs, streams, cpu)
        assert sorted(i for st in stacks for i in st) == list(range(11))
        assert all(len({cfgs[i].p for i in st}) == 1 for st in stacks)           # a stack never mixes shapes
        assert max(len(st) for st in stacks) <= parallel.stack_cap(SMALL)
        assert len([st for st in stacks if st[0] < 9]) % streams == 0            # the 9 seeds feed every stream
    parity = [replace(SMALL_PARITY, seed=s) for s in range(6)]
    assert parallel.plan_stacks(parity, 1, cpu) == [list(range(6))]               # parity: one stack per stream
    assert sorted(map(len, parallel.plan_stacks(parity, 2, cpu))) == [3, 3]


def test_small_models_share_a_stack_with_more_models_than_pair_modadd_sized_ones():
    cpu = torch.device("cpu")
    small = [replace(grokkit.PAIR_MODADD, p=31, train_fraction=0.6, embed_size=32, hidden_size=16, seed=s)
             for s in range(16)]
    large = [replace(grokkit.PAIR_MODADD, seed=s) for s in range(16)]
    assert parallel.stack_cap(small[0]) == parallel.MAX_SMALL_MODADD_STACK > parallel.MAX_MODADD_STACK
    assert parallel.stack_cap(large[0]) == parallel.MAX_MODADD_STACK
    assert sorted(map(len, parallel.plan_stacks(small, 2, cpu))) == [8, 8]
    assert sorted(map(len, parallel.plan_stacks(large, 2, cpu))) == [4, 4, 4, 4]
    assert sorted(map(len, parallel.plan_stacks(large[:9], 1, cpu))) == [3, 3, 3]


def test_a_stack_of_eight_small_models_trains_each_as_it_trains_alone(cpus):
    cpus["quota"] = 1                                           # one stream: all eight in one stack
    options = [{}, {"weight_decay": 0.5}, {"regularizer": "l1", "weight_decay": 1e-5}, {"dropout": 0.1},
               {"lr": 3e-3}, {"init_scale": 0.5}, {"grokfast_alpha": 0.9, "grokfast_lambda": 2.0}, {"beta1": 0.8}]
    cfgs = [replace(SMALL, seed=s, **o) for s, o in enumerate(options)]
    assert parallel.plan_stacks(cfgs, 1, torch.device("cpu")) == [list(range(8))]
    for together, cfg in zip(grokkit.train_many(cfgs, progress=False), cfgs):
        alone = grokkit.train(cfg, progress=False)
        assert np.array_equal(together.W_in, alone.W_in) and np.array_equal(together.W_out, alone.W_out)
        for k in together.metrics:
            assert np.array_equal(together.metrics[k], alone.metrics[k], equal_nan=True), k


def test_an_error_in_one_stream_stops_the_others_and_reaches_the_caller(cpus, monkeypatch):
    torch.set_num_threads(2)
    ended = []
    real = training.train_stack

    def recording(cfgs, *args, **kwargs):
        try:
            return real(cfgs, *args, **kwargs)
        except BaseException as e:
            ended.append(type(e).__name__)
            raise

    def broken(stack, want_metrics):
        raise RuntimeError("parity step failed")

    monkeypatch.setattr(training, "train_stack", recording)
    monkeypatch.setattr(training, "parity_step", broken)
    long = replace(SMALL, steps=200_000, log_every=1000, save_every=0)
    with pytest.raises(RuntimeError, match="parity step failed"):
        grokkit.train_many([long, SMALL_PARITY], progress=False)
    assert sorted(ended) == ["RuntimeError", "Stopped"]            # the long run gave up, it did not finish
    assert torch.get_num_threads() == 2


def test_progress_counts_steps_from_every_stream(cpus, monkeypatch):
    torch.set_num_threads(2)
    bars = []
    real = parallel.Progress.close
    monkeypatch.setattr(parallel.Progress, "close", lambda self: (bars.append(self.done), real(self)))
    grokkit.train_many([replace(SMALL, seed=s) for s in range(4)], progress=True)
    assert bars == [4 * SMALL.steps]


def test_grokkit_progress_0_keeps_automatic_bars_closed_but_not_requested_ones(monkeypatch):
    monkeypatch.setenv("GROKKIT_PROGRESS", "0")
    auto = parallel.Progress(total=100, mode=None)
    auto.start -= 1000.0                        # looks very slow: would open a bar otherwise
    auto.update(10)
    assert auto.bar is None
    monkeypatch.setenv("GROKKIT_PROGRESS", "1")
    slow = parallel.Progress(total=100, mode=None)
    slow.start -= 1000.0
    slow.update(10)
    assert slow.bar is not None
    slow.close()
