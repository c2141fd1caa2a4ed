"""How many CPUs training uses, which models share a stack, stacks side by side, the progress bar.

The rule, in one place (:func:`threads_to_use`): a training call uses as many CPUs as
torch is set to use (``torch.set_num_threads``, by default one per core), but never more
than the CPUs this process may really use (its affinity set and its cgroup v1 or v2 CPU
quota: a Binder or JupyterHub container often sees a large host's cores but may use only
one or two) and never more than the CPUs that are free right now (another busy process
on the same cores slows spinning threads down many times over).

Each stack of models trains on one thread (:func:`run_side_by_side`); with two CPUs, two
stacks train at once. One thread per stack keeps the numbers independent of the thread
count: the matrix library splits some products differently over two threads, and the
split changes how sums round. For the small matrices here, two stacks on one core each
also keep the cores busier than two threads sharing every small operation.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .configs import Config, config_to_dict, step_floats

# Fields in which models trained in one stack may differ; all others fix shapes and schedule.
PER_MODEL_FIELDS = {
    "seed", "weight_decay", "lr", "beta1", "beta2", "eps", "regularizer", "dropout",
    "init_scale", "grokfast_alpha", "grokfast_lambda",
}

# On the CPU, a modular-addition stack of more than 4 PAIR_MODADD-sized models stops fitting
# in a core's cache and every model-step gets slower; small models share the cost of a step
# with more. Per model-step on one thread (2026-12-08): PAIR_MODADD 699 us in a stack of 4,
# 743 in one of 8; p = 31 with 298 training pairs 244 us in a stack of 4, 150 in one of 8,
# 164 in one of 16. A model counts as small when its step touches under SMALL_MODEL_FLOATS
# floats (configs.step_floats): PAIR_MODADD ~335,000, that p = 31 model ~27,000.
MAX_MODADD_STACK = 4
MAX_SMALL_MODADD_STACK = 8
SMALL_MODEL_FLOATS = 250_000


def _cgroup_cpus() -> float | None:
    """The cgroup CPU quota in CPUs (v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), or None when unlimited/unknown."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def cpu_quota() -> int:
    """CPUs this process may use: the smaller of its affinity set and its cgroup quota (rounded up)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpus()
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(1, n)


def busy_cpus(samples: int = 5, interval: float = 0.002, loadavg: Path = Path("/proc/loadavg")) -> int:
    """Tasks ready to run besides this one, from /proc/loadavg: the fewest of a few samples (0 where unknown)."""
    counts = []
    for i in range(samples):
        try:
            running = int(loadavg.read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return max(0, min(counts))


# "user": torch's thread setting as the user left it; "set": what threads_to_use last set
# (finding another value there means the user changed the setting since).
THREAD_CHOICE: dict[str, int | None] = {"user": None, "set": None}


def threads_to_use() -> int:
    """Set and return the threads for one training call: min(user's setting, CPU quota, free CPUs), at least 1."""
    now = torch.get_num_threads()
    if THREAD_CHOICE["user"] is None or now != THREAD_CHOICE["set"]:
        THREAD_CHOICE["user"] = now
    quota = cpu_quota()
    want = max(1, min(THREAD_CHOICE["user"], quota, quota - busy_cpus()))
    if want != now:
        torch.set_num_threads(want)
    THREAD_CHOICE["set"] = want
    return want


def stack_key(cfg: Config) -> tuple:
    """Configs with equal keys have equal shapes and schedules, so they can train as one stack."""
    return tuple(sorted((k, str(v)) for k, v in config_to_dict(cfg).items() if k not in PER_MODEL_FIELDS))


def stack_cap(cfg: Config) -> int:
    """The most models of this modular-addition config's shape that one CPU stack holds."""
    return MAX_SMALL_MODADD_STACK if step_floats(cfg) < SMALL_MODEL_FLOATS else MAX_MODADD_STACK


def plan_stacks(configs: Sequence[Config], streams: int, device: torch.device) -> list[list[int]]:
    """Indices of the configs, grouped into stacks; largest first.

    On a GPU every group of same-shaped configs is one stack. On the CPU, modular-addition
    groups are cut into stacks of at most :func:`stack_cap` models, and with several streams
    every group is cut into a multiple of ``streams`` near-equal stacks so all CPUs keep busy.
    """
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(stack_key(c), []).append(i)
    stacks = []
    for idx in groups.values():
        if device.type != "cpu":
            stacks.append(idx)
            continue
        cap = stack_cap(configs[idx[0]]) if configs[idx[0]].task == "modadd" else len(idx)
        parts = min(len(idx), streams * math.ceil(len(idx) / (streams * cap)))
        stacks += [list(part) for part in np.array_split(idx, parts)]
    return sorted(stacks, key=lambda st: -len(st) * configs[st[0]].steps)


def run_side_by_side(tasks: Sequence[Callable[[threading.Event], None]], workers: int,
                     progress: "Progress") -> None:
    """Run ``tasks`` on ``workers`` Python threads, one torch thread each; the first error (or Ctrl-C) stops all.

    Each task is called with a stop event it checks once per training step.
    """
    stop = threading.Event()
    caller_threads = torch.get_num_threads()

    def one_thread(task: Callable[[threading.Event], None]) -> None:
        torch.set_num_threads(1)   # per OS thread; the caller's setting is restored below
        task(stop)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grokkit-train")
    pending = {pool.submit(one_thread, t) for t in tasks}
    try:
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            progress.flush()
            for f in done:
                if f.exception() is not None:
                    raise f.exception()
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(caller_threads)
        progress.flush()


class Stopped(Exception):
    """Raised inside a training task when another task failed or the user interrupted."""


class Progress:
    """A tqdm bar opened when asked (True), never (False), or once training looks slower than 5 s (None).

    Training threads call :meth:`update`; only the thread that made the bar draws it.
    """

    def __init__(self, total: int, mode: bool | None):
        if mode is None and os.environ.get("GROKKIT_PROGRESS") == "0":
            mode = False   # the test suite sets this: executed notebooks then print no bars
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
        """Count ``n`` more model-steps (from any thread)."""
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
            if (time.perf_counter() - self.start) / self.done * self.total > 5.0:
                self._open()
                return
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        """Flush and close the bar."""
        self.flush()
        if self.bar is not None:
            self.bar.close()


__all__ = ["cpu_quota", "busy_cpus", "threads_to_use", "stack_key", "plan_stacks", "run_side_by_side", "Progress",
           "Stopped", "PER_MODEL_FIELDS", "MAX_MODADD_STACK",
           "MAX_SMALL_MODADD_STACK", "SMALL_MODEL_FLOATS", "stack_cap"]
