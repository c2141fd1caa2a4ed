"""Full-batch training, one model or many at once, and the Run record everything else reads.

How it is fast. The article's model multiplies every example through the 67 x 500
embedding. Here the forward pass first collapses the weights (``W = embed @ [hidden |
out.T]``, one 67 x 500 x 48 product per step), looks rows of W up for a and b, and does
the per-example work in the 24-neuron space. Gradients are written out by hand (the
model is three matrix products and a ReLU), and AdamW is PyTorch's fused kernel. The
per-example part (look-ups, ReLU, logits, softmax cross-entropy and their gradients) is
one call of a small C kernel, ``grokkit._fused`` (built by setup.py), where it applies
(float32 ReLU models with a trained embedding, p <= 128, H <= 32); elsewhere, or where the
package was installed without a C compiler, it is ~15 torch operations that compute the
same mathematics, ~1.3x slower for PAIR_MODADD and rounded differently. The kernel sums the
examples as two halves; a single model with two free CPUs has the second half summed on a
helper thread on the other CPU (same numbers, a step ~1.2x faster). Many models train
as one computation: every tensor has a leading model axis and the products are batched
(``torch.bmm``). With two free CPUs, ``train_many`` cuts the models into small batches
and trains them side by side, one thread per CPU (or, when they do not split evenly, in
equal batches on one thread each, the system sharing the CPUs): a step's small operations
keep one core busy each, where two threads sharing every operation spend much of their
time waiting for each other.

The objective. Training minimises the article's loss, cross-entropy divided by the number
of classes (``-mean(one_hot * log_softmax)`` over batch x classes), so that Adam sees the
gradients the reference saw. The logged ``train_loss``/``test_loss`` are ordinary
per-example cross-entropy: multiply the article's numbers by p (67) to compare, or use
:func:`article_loss`. Parity uses one logit (sigmoid cross-entropy), counted as 2 classes.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
import warnings
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import models
from .configs import Config, ModAddConfig, ParityConfig, config_to_dict
from .run import METRICS, Run, article_loss, schedule
from .tasks import make_split

try:  # the C kernel of setup.py; absent where the package was installed without a compiler
    from . import _fused
except ImportError:  # pragma: no cover - depends on the installation
    _fused = None

# Train modular addition with the fused C kernel where it applies (see _Batch.fused).
# False (or GROKKIT_FUSED=0 in the environment) forces the pure-torch path everywhere.
USE_FUSED = os.environ.get("GROKKIT_FUSED", "1") != "0"


def fused_kernel_in_use() -> bool:
    """Whether modular-addition models that fit the C kernel train with it (built and not switched off)."""
    return _fused is not None and USE_FUSED


_WARNED_NO_KERNEL = False


def _warn_if_kernel_missing(configs: Sequence[Config], device: str) -> None:
    """Once per process: say that modular addition trains on the CPU without the C kernel because it was not built.

    The install skips the kernel quietly where it does not compile; the learner should
    know why training is slower and why a borderline seed may grok elsewhere than the
    notebooks say. Switching it off on purpose (GROKKIT_FUSED=0) is not warned about.
    """
    global _WARNED_NO_KERNEL
    if (_fused is None and USE_FUSED and not _WARNED_NO_KERNEL and torch.device(device).type == "cpu"
            and any(c.task == "modadd" for c in configs)):
        _WARNED_NO_KERNEL = True
        warnings.warn("grokkit's C kernel (grokkit/_fused.c) is not built, so modular addition trains with "
                      "the pure-PyTorch path: slower, and rounded differently, so a borderline seed may grok "
                      "at another step than the notebooks say. Reinstall with a C compiler (gcc or clang): "
                      "pip install -e .", stacklevel=3)


# Fields that may differ between models trained in one batched computation.
_PER_MODEL_FIELDS = {
    "seed", "weight_decay", "lr", "beta1", "beta2", "eps", "regularizer", "dropout",
    "init_scale", "grokfast_alpha", "grokfast_lambda",
}


_THREAD_CEILING: int | None = None     # torch threads allowed: min(torch default or user choice, quota)
_THREADS_SET: int | None = None        # what _limit_threads last set (another value: the user changed it)


def cpu_quota() -> int:
    """CPUs this process may really use: the smaller of its affinity set and its cgroup quota.

    On Binder and JupyterHub, containers often see all of a large host's cores but may use
    only one or two; torch would start a thread per visible core and slow to a crawl.
    """
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def other_runnable_tasks(samples: int = 5, interval: float = 0.002) -> int:
    """Tasks ready to run on this machine besides the caller, from /proc/loadavg (0 where unknown).

    The fewest over a few samples a couple of milliseconds apart, so that a passing
    process (or this process's own idle threads) is not taken for a busy CPU.
    """
    counts = []
    for i in range(samples):
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return max(0, min(counts))


def _limit_threads() -> int:
    """Before each training call: use the CPUs that are free, at most the quota and the user's choice.

    Two torch threads on two CPUs that something else is also using slow the small
    per-step operations here down 10-80x (each thread waits for the other at every
    operation while it is descheduled), so when another process is busy, fewer threads
    are used. The thread count does not change the results (same seed, same numbers).
    Returns the number of threads set.
    """
    global _THREAD_CEILING, _THREADS_SET
    now = torch.get_num_threads()
    if _THREAD_CEILING is None or now != _THREADS_SET:      # first call, or set by the user since
        _THREAD_CEILING = max(1, min(now, cpu_quota()))
    want = max(1, min(_THREAD_CEILING, cpu_quota() - other_runnable_tasks()))
    if now != want:
        torch.set_num_threads(want)
    _THREADS_SET = want
    return want


# Largest batch one stream trains at once: bigger batches stop fitting in a core's cache
# and each model-step gets slower (measured on PAIR_MODADD: 2-4 models are the sweet spot).
_MAX_STREAM_BATCH = 4


def _plan_batches(configs: Sequence[Config], streams: int) -> tuple[list[list[int]], int]:
    """Split the configs into batches of equal shape, and say how many threads train them.

    Each modular-addition shape group is cut into near-equal contiguous parts: at least one
    per stream when it has the models for it, none larger than _MAX_STREAM_BATCH. Parity
    groups stay whole: their sigmoid runs over all models' examples as one vector, so a
    model's last few values round differently when the batch around it changes, while
    modular addition's softmax works row by row and gives every model the same numbers
    in any batch (tested). Largest batches first, trained by ``streams`` threads.

    One exception: a single modular-addition group whose models do not split evenly over
    the streams (9 seeds on 2 CPUs: 3 + 2 + 2 + 2 leaves one CPU idle for the last fifth
    of the time) is cut into equal batches that all train at once, one thread each
    (3 + 3 + 3 on three threads), and the system shares the CPUs evenly among them
    (measured: 5-7% faster for 9 seeds on 2 CPUs).
    """
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(_group_key(c), []).append(i)
    if streams <= 1:
        return list(groups.values()), 1
    if len(groups) == 1 and configs[0].task == "modadd" and len(configs) % streams:
        n = len(configs)
        for parts in range(max(streams, math.ceil(n / _MAX_STREAM_BATCH)), 2 * streams + 1):
            if n % parts == 0:
                size = n // parts
                return [list(range(k * size, (k + 1) * size)) for k in range(parts)], parts
    batches = []
    for idx in groups.values():
        if configs[idx[0]].task != "modadd":
            batches.append(idx)
            continue
        parts = min(len(idx), streams * math.ceil(len(idx) / (streams * _MAX_STREAM_BATCH)))
        size, extra = divmod(len(idx), parts)
        start = 0
        for k in range(parts):
            end = start + size + (k < extra)
            batches.append(idx[start:end])
            start = end
    batches.sort(key=lambda b: -len(b) * configs[b[0]].steps)
    return batches, streams


def _group_key(cfg: Config) -> tuple:
    """Configs with equal keys have equal shapes and schedules, so they can share one batch."""
    d = config_to_dict(cfg)
    return tuple(sorted((k, str(v)) for k, v in d.items() if k not in _PER_MODEL_FIELDS))


def train(config: Config, progress: bool | None = None, device: str = "cpu",
          keep_raw: bool = True) -> Run:
    """Train one model full-batch and return its Run.

    progress: True/False shows/hides a progress bar; None shows one if the run is expected
    to take more than a few seconds. keep_raw=False stores only collapsed snapshots.
    """
    return train_many([config], progress=progress, device=device, keep_raw=keep_raw)[0]


def train_many(configs: Sequence[Config], progress: bool | None = None, device: str = "cpu",
               keep_raw: bool = True) -> list[Run]:
    """Train many models; configs with equal shapes train together in batched computations.

    On several free CPUs the batches train side by side, one thread each. Results come
    back in the order of ``configs`` and match training each one alone.
    A model whose loss becomes NaN/inf stops, is marked ``diverged``, and the others go on.
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, (ModAddConfig, ParityConfig)):
            raise ValueError(f"configs[{i}] is a {type(c).__name__}: expected ModAddConfig or ParityConfig")
        if c.task == "parity" and c.loss != "cross_entropy":
            raise ValueError(f"configs[{i}].loss = {c.loss!r} is not allowed for parity: use 'cross_entropy'")
    if not configs:
        return []
    _warn_if_kernel_missing(configs, device)
    threads = _limit_threads()
    streams = threads if torch.device(device).type == "cpu" else 1
    batches, workers = _plan_batches(configs, streams)
    bar = _Progress(sum(c.steps for c in configs), progress)
    runs: list[Run | None] = [None] * len(configs)
    try:
        if streams > 1 and len(batches) > 1:
            _train_streams(configs, batches, workers, device, keep_raw, bar, runs)
        else:
            for idx in batches:
                for i, run in zip(idx, _train_group([configs[i] for i in idx], device, keep_raw, bar)):
                    runs[i] = run
    finally:
        bar.close()
    return runs  # type: ignore[return-value]


def _train_streams(configs: list[Config], batches: list[list[int]], streams: int, device: str,
                   keep_raw: bool, bar: "_Progress", runs: list) -> None:
    """Train the batches on ``streams`` Python threads, one torch thread each (the caller's count restored).

    Many small operations per step make one model hard to spread over two cores (the
    threads meet at every operation); independent batches on one core each keep both
    busy. Each model's numbers are the same as when trained alone (tested). Ctrl-C (or
    an error in one stream) stops all streams at their next step.
    """
    stop = threading.Event()

    def work(idx: list[int]) -> None:
        torch.set_num_threads(1)      # this thread's own OpenMP setting; the caller's is restored below
        for i, run in zip(idx, _train_group([configs[i] for i in idx], device, keep_raw, bar, stop)):
            runs[i] = run

    caller_threads = torch.get_num_threads()
    pool = ThreadPoolExecutor(max_workers=streams, thread_name_prefix="grokkit-train")
    futures = [pool.submit(work, idx) for idx in batches]
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            bar.flush()
            for f in done:
                exc = f.exception()
                if exc is not None:
                    raise exc
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(caller_threads)   # MKL's thread count is process-wide: put it back
        bar.flush()


class _Progress:
    """A tqdm bar (notebook-aware) opened only when asked, or when training looks slow.

    Training threads call :meth:`update`; only the thread that made the bar draws it
    (at once when it is the one training, else when it calls :meth:`flush`).
    """

    def __init__(self, total: int, mode: bool | None):
        if mode is None and os.environ.get("GROKKIT_PROGRESS") == "0":
            mode = False      # set by the test suite: executed notebooks send no progress-bar messages
        self.total, self.mode, self.done, self.bar = total, mode, 0, None
        self.start = time.perf_counter()
        self._pending, self._lock, self._owner = 0, threading.Lock(), threading.get_ident()
        if mode:
            self._open()

    def _open(self) -> None:
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.total, unit="step", desc="training", leave=True)
        self.bar.update(self.done)

    def update(self, n: int) -> None:
        with self._lock:
            self._pending += n
        if threading.get_ident() == self._owner:
            self.flush()

    def flush(self) -> None:
        """Show the steps counted so far (call from the thread that made the bar)."""
        with self._lock:
            n, self._pending = self._pending, 0
        if not n:
            return
        self.done += n
        if self.bar is None and self.mode is None and self.done >= 0.01 * self.total:
            elapsed = time.perf_counter() - self.start
            if elapsed / self.done * self.total > 5.0:
                self._open()
                return
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        self.flush()
        if self.bar is not None:
            self.bar.close()


class _Batch:
    """The tensors of M same-shaped models: parameters, optimizer state, data."""

    def __init__(self, cfgs: list[Config], device: str):
        self.cfgs, self.M = cfgs, len(cfgs)
        c0 = cfgs[0]
        self.task = c0.task
        self.dtype = torch.float64 if c0.dtype == "float64" else torch.float32
        self.device = torch.device(device)
        dev, dt, M = self.device, self.dtype, self.M

        def per_model(name: str, fn=float) -> torch.Tensor:
            return torch.tensor([fn(getattr(c, name)) for c in cfgs], dtype=dt, device=dev)

        self.weight_decay = per_model("weight_decay")
        self.l1 = torch.tensor([c.regularizer == "l1" for c in cfgs], device=dev)
        self.dropout = [c.dropout for c in cfgs]
        self.gf_alpha = per_model("grokfast_alpha")
        self.gf_lambda = per_model("grokfast_lambda")
        self.use_grokfast = any(c.grokfast_lambda > 0 for c in cfgs)
        self.use_l1 = bool(self.l1.any()) and any(c.weight_decay > 0 for c in cfgs if c.regularizer == "l1")
        self.use_dropout = any(p > 0 for p in self.dropout)
        self.drop_gens = [torch.Generator(device=dev).manual_seed(10_000 + c.seed) for c in cfgs]

        # Data: same shapes for all models, different contents per seed.
        splits = [make_split(c) for c in cfgs]
        if self.task == "modadd":
            self.p, self.H = c0.p, c0.hidden_size
            offs = torch.arange(M, device=dev)[:, None] * self.p

            def idx(arrs):
                t = torch.as_tensor(np.stack(arrs), device=dev)
                return t, (t + offs).reshape(-1)
            loc_a, self.tr_a = idx([s.train_x[:, 0] for s in splits])
            loc_b, self.tr_b = idx([s.train_x[:, 1] for s in splits])
            _, self.te_a = idx([s.test_x[:, 0] for s in splits])
            _, self.te_b = idx([s.test_x[:, 1] for s in splits])
            self.tr_y = torch.as_tensor(np.stack([s.train_y for s in splits]), device=dev)
            self.te_y = torch.as_tensor(np.stack([s.test_y for s in splits]), device=dev)
            self.N = self.tr_y.shape[1]
            self.loss_scale = 1.0 / (self.N * self.p)
            self.embedding = c0.embedding
            # The fused kernel covers the article's trainable MLPs: tied or untied embedding,
            # ReLU, softmax cross-entropy, no dropout, float32 on the CPU, p <= 128, H <= 32.
            self.fused = (fused_kernel_in_use() and self.embedding != "circular"
                          and c0.activation == "relu" and c0.loss == "cross_entropy"
                          and not self.use_dropout and dt == torch.float32 and dev.type == "cpu"
                          and self.p <= _fused.MAX_CLASSES and self.H <= _fused.MAX_HIDDEN)
            if self.fused:  # the kernel's inputs: each model's own indices, int64, contiguous
                self.loc_a, self.loc_b, self.loc_y = (t.to(torch.int64).contiguous() for t in (loc_a, loc_b, self.tr_y))
                self.G = torch.empty(M, self.p, 2 * self.H, dtype=dt)
                self.kernel_helper = False   # set by _train_group when a second CPU is free
            else:  # the torch path's labels, one-hot
                self.Y = torch.nn.functional.one_hot(self.tr_y, self.p).to(dt)
            if self.embedding == "circular":
                e = torch.as_tensor(models.fixed_embedding(c0), dtype=dt, device=dev)
                self.fixed_E = e.expand(M, *e.shape)
        else:
            self.fused = False
            self.tr_x = torch.as_tensor(np.stack([s.train_x for s in splits]), dtype=dt, device=dev)
            self.te_x = torch.as_tensor(np.stack([s.test_x for s in splits]), dtype=dt, device=dev)
            self.tr_y = torch.as_tensor(np.stack([s.train_y for s in splits]), dtype=dt, device=dev)[..., None]
            self.te_y = torch.as_tensor(np.stack([s.test_y for s in splits]), dtype=dt, device=dev)[..., None]
            self.N = self.tr_y.shape[1]
            self.loss_scale = 1.0 / (self.N * 2)

        # Parameters, stacked over models. Modular addition keeps hidden and out.T side by
        # side in one (d x 2H) matrix P, so one product gives both collapsed matrices.
        inits = [models.init_params(c) for c in cfgs]
        stack = {k: torch.stack([ini[k] for ini in inits]).to(dev, dt) for k in inits[0]}
        if self.task == "modadd":
            self.params = {}
            if "embed" in stack:
                self.params["embed"] = stack["embed"].contiguous()
            if "unembed" in stack:
                self.params["unembed"] = stack["unembed"].contiguous()
            self.params["P"] = torch.cat([stack["hidden"], stack["out"].transpose(1, 2)], dim=2).contiguous()
        else:
            self.params = {"hidden": stack["hidden"].contiguous(), "out": stack["out"].contiguous()}
        self.names = list(self.params)
        self.exp_avg = {k: torch.zeros_like(v) for k, v in self.params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(v) for k, v in self.params.items()}
        self.gf_ema = {k: torch.zeros_like(v) for k, v in self.params.items()} if self.use_grokfast else None
        # One step counter per (model, tensor), as the fused AdamW reads them: 0-dim views
        # of one tensor, so that one add_ counts a step for all of them (a _foreach_add_
        # over separate counters took longer than the AdamW of a PAIR_MODADD model).
        self.step_count = torch.zeros(M, len(self.names), dtype=torch.float32, device=dev)
        # The step writes its gradients into these: nothing to allocate, and the per-model
        # views the fused AdamW reads are made once (_make_opt_groups).
        self.grad_buffers = {k: torch.empty_like(v) for k, v in self.params.items()}
        self.active = [True] * M
        self._make_opt_groups()

    def _make_opt_groups(self) -> None:
        """Models with identical optimizer settings share one fused AdamW call."""
        groups: dict[tuple, list[int]] = {}
        for m, c in enumerate(self.cfgs):
            if self.active[m]:
                wd = c.weight_decay if c.regularizer == "l2" else 0.0
                groups.setdefault((c.lr, c.beta1, c.beta2, c.eps, wd), []).append(m)
        self.opt_groups = []
        for (lr, b1, b2, eps, wd), ms in groups.items():
            lists = [[self.params[k][m] for m in ms for k in self.names]]
            for st in (self.exp_avg, self.exp_avg_sq):
                lists.append([st[k][m] for m in ms for k in self.names])
            steps = [self.step_count[m, j] for m in ms for j in range(len(self.names))]
            grad_views = [self.grad_buffers[k][m] for m in ms for k in self.names]
            self.opt_groups.append((ms, lists, steps, grad_views,
                                    dict(lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd)))

    def raw_params(self) -> dict[str, torch.Tensor]:
        """Parameters under the names of :func:`models.init_params` (M leading)."""
        out = {k: v for k, v in self.params.items() if k != "P"}
        if "P" in self.params:
            P = self.params["P"]
            out["hidden"] = P[..., : self.H]
            out["out"] = P[..., self.H:].transpose(1, 2)
        return out

    def collapsed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_in, W_out) for all models: (M, p, H) and (M, H, p); parity (M, n_in, H), (M, H, 1)."""
        if self.task != "modadd":
            return self.params["hidden"], self.params["out"]
        W_in, W_outT = self._collapse()
        return W_in, W_outT.transpose(1, 2)

    def _collapse(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_in, W_out.T), each (M, p, H)."""
        P, H = self.params["P"], self.H
        if self.embedding == "untied":
            return torch.bmm(self.params["embed"], P[..., :H]), torch.bmm(self.params["unembed"], P[..., H:])
        W = self._collapse_joint()
        return W[..., :H], W[..., H:]

    def _collapse_joint(self) -> torch.Tensor:
        """[W_in | W_out.T] as one contiguous (M, p, 2H) tensor, as the C kernel reads it."""
        if self.embedding == "untied":
            return torch.cat(self._collapse(), 2)
        E = self.fixed_E if self.embedding == "circular" else self.params["embed"]
        return torch.bmm(E, self.params["P"])

    def _act(self, pre: torch.Tensor) -> torch.Tensor:
        return torch.relu(pre) if self.cfgs[0].activation == "relu" else pre * pre

    def _act_backward(self, d: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        if self.cfgs[0].activation == "relu":
            return torch.ops.aten.threshold_backward(d, pre, 0)
        return d.mul_(pre).mul_(2.0)

    def _dropout_masks(self, shape: tuple[int, ...]) -> torch.Tensor | None:
        if not self.use_dropout:
            return None
        masks = []
        for m, rate in enumerate(self.dropout):
            if rate > 0:
                keep = torch.empty(shape, dtype=self.dtype, device=self.device).bernoulli_(1 - rate, generator=self.drop_gens[m])
                masks.append(keep / (1 - rate))
            else:
                masks.append(torch.ones(shape, dtype=self.dtype, device=self.device))
        return torch.stack(masks)

    def _loss_grad(self, logits: torch.Tensor) -> torch.Tensor:
        """d(article loss)/d(logits) for modular addition, softmax or StableMax."""
        if self.cfgs[0].loss == "stablemax":
            s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))
            ds = torch.where(logits >= 0, torch.ones_like(s), s * s)
            g = ds / s.sum(-1, keepdim=True) - self.Y * (ds / s)
            return g.mul_(self.loss_scale)
        # As in every float32 softmax cross-entropy: p_y - 1 rounds to 0 once the correct
        # logit leads by more than ~16.6 (softmax collapse, notebook 06).
        return torch.softmax(logits, -1).sub_(self.Y).mul_(self.loss_scale)

    def _metrics_modadd(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-model mean cross-entropy (ordinary scale) and accuracy."""
        if self.cfgs[0].loss == "stablemax":
            s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))
            logp = torch.log(s / s.sum(-1, keepdim=True))
        else:
            logp = torch.log_softmax(logits, -1)
        loss = -logp.gather(-1, y[..., None]).squeeze(-1).mean(-1)
        acc = (logits.argmax(-1) == y).to(self.dtype).mean(-1)
        return loss, acc

    def step_modadd(self, want_metrics: bool) -> tuple[dict[str, torch.Tensor], dict]:
        """One forward/backward pass on the training set; returns grads and (optionally) metrics."""
        if self.fused:
            return self._step_modadd_fused(want_metrics)
        M, p, H = self.M, self.p, self.H
        W_in, W_outT = self._collapse()                      # (M, p, H) each
        W_in_flat = W_in.reshape(M * p, H)
        pre = W_in_flat.index_select(0, self.tr_a) + W_in_flat.index_select(0, self.tr_b)
        pre = pre.view(M, self.N, H)
        h = self._act(pre)
        mask = self._dropout_masks((self.N, H))
        if mask is not None:
            h = h * mask
        logits = torch.bmm(h, W_outT.transpose(1, 2))        # (M, N, p)
        out: dict = {}
        if want_metrics:
            out["train_loss"], out["train_acc"] = self._metrics_modadd(logits, self.tr_y)
            te_logits = self._logits(W_in_flat, W_outT, self.te_a, self.te_b)
            out["test_loss"], out["test_acc"] = self._metrics_modadd(te_logits, self.te_y)
        d_logits = self._loss_grad(logits)                   # (M, N, p)
        g_WoutT = torch.bmm(d_logits.transpose(1, 2), h)     # (M, p, H)
        d_h = torch.bmm(d_logits, W_outT)                    # (M, N, H)
        if mask is not None:
            d_h = d_h * mask
        d_pre = self._act_backward(d_h, pre).reshape(M * self.N, H)
        g_Win = torch.zeros(M * p, H, dtype=self.dtype, device=self.device)
        g_Win.index_add_(0, self.tr_a, d_pre).index_add_(0, self.tr_b, d_pre)
        g_Win = g_Win.view(M, p, H)
        return self._param_grads(torch.cat([g_Win, g_WoutT], dim=2)), out

    def _logits(self, W_in_flat: torch.Tensor, W_outT: torch.Tensor, a: torch.Tensor,
                b: torch.Tensor) -> torch.Tensor:
        """Logits (M, n, p) of the pairs (a, b) (flat, model offsets added), no dropout."""
        pre = W_in_flat.index_select(0, a) + W_in_flat.index_select(0, b)
        return torch.bmm(self._act(pre.view(self.M, -1, self.H)), W_outT.transpose(1, 2))

    def _param_grads(self, G: torch.Tensor) -> dict[str, torch.Tensor]:
        """Gradients of the trained parameters from G = [dW_in | dW_out.T], (M, p, 2H), in grad_buffers."""
        P, H = self.params["P"], self.H
        grads = self.grad_buffers
        if self.embedding == "untied":
            E, U = self.params["embed"], self.params["unembed"]
            g_Win, g_WoutT = G[..., :H], G[..., H:]
            torch.bmm(g_Win, P[..., :H].transpose(1, 2), out=grads["embed"])
            torch.bmm(g_WoutT, P[..., H:].transpose(1, 2), out=grads["unembed"])
            torch.cat([torch.bmm(E.transpose(1, 2), g_Win), torch.bmm(U.transpose(1, 2), g_WoutT)], 2, out=grads["P"])
            return grads
        E = self.fixed_E if self.embedding == "circular" else self.params["embed"]
        if self.embedding == "tied":
            torch.bmm(G, P.transpose(1, 2), out=grads["embed"])
        torch.bmm(E.transpose(1, 2), G, out=grads["P"])
        return grads

    def _step_modadd_fused(self, want_metrics: bool) -> tuple[dict[str, torch.Tensor], dict]:
        """step_modadd with the per-example work in the C kernel: same gradients, other rounding."""
        M, p, H = self.M, self.p, self.H
        W = self._collapse_joint()                           # (M, p, 2H) = [W_in | W_out.T]
        G = self.G
        _fused.modadd_grad(M, self.N, p, H, W.data_ptr(), self.loc_a.data_ptr(), self.loc_b.data_ptr(),
                           self.loc_y.data_ptr(), self.loss_scale, G.data_ptr(), self.kernel_helper)
        out: dict = {}
        if want_metrics:
            W_in_flat, W_outT = W[..., :H].reshape(M * p, H), W[..., H:]
            for part, a, b, y in (("train", self.tr_a, self.tr_b, self.tr_y),
                                  ("test", self.te_a, self.te_b, self.te_y)):
                logits = self._logits(W_in_flat, W_outT, a, b)
                out[f"{part}_loss"], out[f"{part}_acc"] = self._metrics_modadd(logits, y)
        return self._param_grads(G), out

    def step_parity(self, want_metrics: bool) -> tuple[dict[str, torch.Tensor], dict]:
        """One forward/backward pass of the parity MLP (single logit, sigmoid cross-entropy)."""
        W, o = self.params["hidden"], self.params["out"]
        o_row = o.transpose(1, 2)                            # (M, 1, H)
        pre = torch.bmm(self.tr_x, W)                        # (M, N, H)
        relu = self.cfgs[0].activation == "relu"
        # ReLU in place: pre > 0 exactly where h > 0, so h serves the backward pass too.
        h = pre.relu_() if relu else self._act(pre)
        mask = self._dropout_masks(tuple(pre.shape[1:]))
        if mask is not None:
            h = h * mask
        # One output column: a broadcast multiply-and-sum beats bmm with n = 1 on CPU.
        z = (h * o_row).sum(-1, keepdim=True)                # (M, N, 1)
        out: dict = {}
        if want_metrics:
            out["train_loss"], out["train_acc"] = self._metrics_parity(z, self.tr_y)
            tz = torch.bmm(self._act(torch.bmm(self.te_x, W)), o)
            out["test_loss"], out["test_acc"] = self._metrics_parity(tz, self.te_y)
        dz = torch.sigmoid(z).sub_(self.tr_y).mul_(self.loss_scale)
        g_out = self.grad_buffers["out"]                     # (M, H, 1), laid out as (M, 1, H)
        torch.bmm(dz.transpose(1, 2), h, out=g_out.view(self.M, 1, -1))
        d_h = dz * o_row
        if mask is not None:
            d_h = d_h * mask
        d_pre = torch.ops.aten.threshold_backward(d_h, h, 0) if relu else self._act_backward(d_h, pre)
        g_hidden = torch.bmm(self.tr_x.transpose(1, 2), d_pre, out=self.grad_buffers["hidden"])
        return self.grad_buffers, out

    def _metrics_parity(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none").mean((1, 2))
        acc = ((z > 0).to(self.dtype) == y).to(self.dtype).mean((1, 2))
        return loss, acc

    def norms(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-model L1 and L2 norms over all trainable parameters."""
        l1 = sum(v.abs().flatten(1).sum(1) for v in self.params.values())
        l2 = torch.sqrt(sum(v.square().flatten(1).sum(1) for v in self.params.values()))
        return l1, l2

    def update(self, grads: dict[str, torch.Tensor]) -> None:
        """Regularizer terms that act through the gradient (L1, Grokfast), then fused AdamW.

        ``grads``: what the step returned, i.e. ``grad_buffers``, whose views AdamW reads.
        """
        if self.use_l1:
            wd = torch.where(self.l1, self.weight_decay, torch.zeros_like(self.weight_decay))
            for k, g in grads.items():
                g.add_(torch.sign(self.params[k]) * wd.view(-1, *[1] * (g.dim() - 1)))
        if self.use_grokfast:
            for k, g in grads.items():
                shape = (-1, *[1] * (g.dim() - 1))
                ema = self.gf_ema[k]
                ema.mul_(self.gf_alpha.view(shape)).add_(g * (1 - self.gf_alpha.view(shape)))
                g.add_(ema * self.gf_lambda.view(shape))
        self.step_count.add_(1.0)       # a stopped model's counters run on; nothing reads them
        for ms, (ps, m1, m2), steps, grad_views, hp in self.opt_groups:
            torch._fused_adamw_(ps, grad_views, m1, m2, [], steps, amsgrad=False, maximize=False, **hp)

    def kill(self, m: int) -> None:
        """Stop a diverged model: zero its parameters and drop it from the optimizer."""
        self.active[m] = False
        for d in (self.params, self.exp_avg, self.exp_avg_sq):
            for v in d.values():
                v[m].zero_()
        self._make_opt_groups()


class _Stopped(Exception):
    """Raised in a training stream when another stream failed or the user interrupted."""


def _train_group(cfgs: list[Config], device: str, keep_raw: bool, bar: _Progress,
                 stop: threading.Event | None = None) -> list[Run]:
    """Train same-shaped models together and split the result into Runs (``stop`` set: give up)."""
    start = time.perf_counter()
    b = _Batch(cfgs, device)
    torch_threads = torch.get_num_threads()
    if b.fused and torch_threads > 1:
        # With the kernel doing the per-example work, a second torch thread only helps the
        # three embedding products a little, and its spinning between them slows the kernel
        # on the other CPU (measured on PAIR_MODADD: 470-490 us per step on one thread,
        # 480-650 on two). The second CPU does half of the kernel's examples instead
        # (kernel ~190 -> ~115 us per step). Same numbers either way.
        torch.set_num_threads(1)
        b.kernel_helper = True
    c0 = cfgs[0]
    log_steps, save_steps = schedule(c0.steps, c0.log_every), schedule(c0.steps, c0.save_every)
    is_log = np.zeros(c0.steps + 1, bool)
    is_log[log_steps] = True
    is_save = np.zeros(c0.steps + 1, bool)
    is_save[save_steps] = True
    metrics = {k: torch.full((len(log_steps), b.M), float("nan"), dtype=b.dtype, device=b.device) for k in METRICS}
    snaps_raw: list[dict[str, torch.Tensor]] = []
    snaps_in, snaps_out = [], []
    diverged_at: list[int | None] = [None] * b.M
    step_fn = b.step_modadd if b.task == "modadd" else b.step_parity
    flush = torch.is_denormal_enabled() if hasattr(torch, "is_denormal_enabled") else None
    torch.set_flush_denormal(True)  # tiny Adam moments late in training are otherwise very slow
    li, last_reported = 0, 0
    try:
        with torch.no_grad():
            for step in range(c0.steps + 1):
                if stop is not None and stop.is_set():
                    raise _Stopped()
                if is_save[step]:
                    W_in, W_out = b.collapsed()
                    snaps_in.append(W_in.clone())
                    snaps_out.append(W_out.clone())
                    if keep_raw:
                        snaps_raw.append({k: v.clone() for k, v in b.raw_params().items()})
                grads, met = step_fn(is_log[step])
                if is_log[step]:
                    l1, l2 = b.norms()
                    met["l1_norm"], met["l2_norm"] = l1, l2
                    for k in METRICS:
                        metrics[k][li] = met[k]
                    bad = ~torch.isfinite(met["train_loss"]) | ~torch.isfinite(l2)
                    for m in torch.nonzero(bad).flatten().tolist():
                        if b.active[m]:
                            diverged_at[m] = int(step)
                            b.kill(m)
                    li += 1
                    bar.update((step - last_reported) * b.M)
                    last_reported = step
                if step < c0.steps:
                    b.update(grads)
    finally:
        torch.set_flush_denormal(bool(flush) if flush is not None else False)
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
    seconds = (time.perf_counter() - start) / b.M
    metrics_np = {k: v.cpu().numpy().astype(np.float64) for k, v in metrics.items()}
    W_in_all = torch.stack(snaps_in).cpu().numpy()
    W_out_all = torch.stack(snaps_out).cpu().numpy()
    raw_all = {k: torch.stack([s[k] for s in snaps_raw]).cpu().numpy() for k in snaps_raw[0]} if keep_raw else {}
    runs = []
    for m, cfg in enumerate(cfgs):
        met = {k: v[:, m].copy() for k, v in metrics_np.items()}
        if diverged_at[m] is not None:
            after = log_steps > diverged_at[m]
            for v in met.values():
                v[after] = np.nan
        runs.append(Run(
            config=cfg, steps=log_steps.copy(), metrics=met, snapshot_steps=save_steps.copy(),
            snapshots={k: v[:, m].copy() for k, v in raw_all.items()},
            W_in=W_in_all[:, m].copy(), W_out=W_out_all[:, m].copy(),
            diverged=diverged_at[m] is not None, diverged_step=diverged_at[m], seconds=seconds,
        ))
    return runs




def train_reference(config: Config, steps: int | None = None) -> tuple[dict[str, np.ndarray], list[float]]:
    """The straightforward implementation: the literal forward pass, autograd and torch.optim.

    Slow (it multiplies every example through the embedding); tests use it to check the fast
    trainer and the benchmark to measure the speed-up. Supports L2 and L1, no dropout or
    Grokfast. Returns the final raw parameters and the article-scale training loss per step.
    """
    if config.dropout or config.grokfast_lambda or config.loss != "cross_entropy":
        raise ValueError("train_reference supports neither dropout, Grokfast nor StableMax")
    steps = config.steps if steps is None else steps
    dt = torch.float64 if config.dtype == "float64" else torch.float32
    params = {k: torch.nn.Parameter(v.to(dt)) for k, v in models.init_params(config).items()}
    split = make_split(config)
    x = torch.as_tensor(split.train_x)
    x = x.to(dt) if config.task == "parity" else x
    y = torch.as_tensor(split.train_y)
    kw = dict(lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)
    if config.regularizer == "l2":
        opt = torch.optim.AdamW(params.values(), weight_decay=config.weight_decay, **kw)
    else:
        opt = torch.optim.Adam(params.values(), **kw)
    losses = []
    for _ in range(steps):
        logits = models.forward(params, config, x)
        if config.task == "parity":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.to(dt)) / 2
        else:
            loss = torch.nn.functional.cross_entropy(logits, y) / config.p
        opt.zero_grad()
        loss.backward()
        if config.regularizer == "l1":
            for v in params.values():
                v.grad.add_(torch.sign(v.detach()) * config.weight_decay)
        opt.step()
        losses.append(float(loss.detach()))
    return {k: v.detach().numpy() for k, v in params.items()}, losses


__all__ = ["Run", "train", "train_many", "train_reference", "article_loss", "schedule", "METRICS"]
