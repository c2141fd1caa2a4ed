"""The fused C kernel (grokkit._fused): built, same gradients as the torch path, used exactly where it applies."""

import importlib
import importlib.machinery
import importlib.util
import platform
import shutil
import subprocess
import sysconfig
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import grokkit
from grokkit.train import train_reference

engine = importlib.import_module("grokkit.train")

SMALL = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=60, log_every=10, save_every=20)


def test_the_fused_kernel_is_built():
    """The course's install (pip install with a C compiler) builds the kernel; else CI would test the slow path."""
    assert engine._fused is not None, "grokkit._fused is not built: reinstall with a C compiler (pip install -e .)"
    assert engine._fused.MAX_CLASSES == 128 and engine._fused.MAX_HIDDEN == 32


def _batch(cfgs, fused, monkeypatch):
    monkeypatch.setattr(engine, "USE_FUSED", fused)
    return engine._Batch(cfgs, "cpu")


def _grad(kernel, W, a, b, y, *extra):
    M, N = a.shape
    p, H = W.shape[1], W.shape[2] // 2
    G = torch.full_like(W, float("nan"))
    kernel.modadd_grad(M, N, p, H, W.data_ptr(), a.data_ptr(), b.data_ptr(), y.data_ptr(), 1.0 / (N * p),
                       G.data_ptr(), *extra)
    return G


def _random_problem(M, N, p, H, seed):
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(M, p, 2 * H, generator=gen)           # mixed signs: about half the neurons inactive
    a, b, y = (torch.randint(0, p, (M, N), generator=gen) for _ in range(3))
    return W, a, b, y


@pytest.mark.parametrize("cfg", [
    grokkit.PAIR_MODADD,
    replace(SMALL, p=16, hidden_size=16),          # whole vectors, no padding lanes
    replace(SMALL, p=3, hidden_size=1, embed_size=4),
    replace(SMALL, p=128, hidden_size=32, embed_size=64),
    replace(SMALL, p=31, hidden_size=20, embedding="untied", symmetric=False),
    SMALL,
], ids=["pair-modadd", "p16-h16", "p3-h1", "p128-h32", "untied-p31-h20", "p23-h8"])
def test_fused_gradients_and_metrics_match_the_torch_path(cfg, monkeypatch):
    cfgs = [replace(cfg, seed=s, weight_decay=wd) for s, wd in ((0, 1.0), (1, 0.3), (2, 0.0))]
    slow = _batch(cfgs, False, monkeypatch)
    assert not slow.fused
    with torch.no_grad():
        for _ in range(30):                        # away from the initial weights first
            grads, _ = slow.step_modadd(False)
            slow.update(grads)
        fast = _batch(cfgs, True, monkeypatch)
        assert fast.fused
        for k in slow.params:
            fast.params[k].copy_(slow.params[k])
        g_slow, m_slow = slow.step_modadd(True)
        g_fast, m_fast = fast.step_modadd(True)
    assert set(g_slow) == set(g_fast)
    for k in g_slow:
        # per model: relative to its largest entry (a model whose one neuron is dead has all zeros)
        scale = g_slow[k].abs().amax(dim=tuple(range(1, g_slow[k].dim())), keepdim=True).clamp_min(1e-30)
        err = ((g_fast[k] - g_slow[k]).abs() / scale).max().item()
        assert err < 1e-4, f"{k}: largest difference {err:.2e} of the largest gradient entry"
    for k in m_slow:
        assert torch.allclose(m_fast[k], m_slow[k], rtol=1e-6, atol=1e-9), k


def test_fused_training_follows_the_straightforward_implementation():
    cfg = replace(SMALL, dtype="float32")
    run = grokkit.train(cfg, progress=False)
    ref_params, ref_losses = train_reference(cfg)
    for name, value in ref_params.items():
        got = run.snapshots[name][-1]
        assert np.allclose(got, value, rtol=1e-3, atol=1e-5), (name, np.abs(got - value).max())
    assert np.isclose(run.metrics["train_loss"][run.log_index(50)], ref_losses[50] * cfg.n_classes, rtol=1e-4)


@pytest.mark.parametrize("change, fused", [
    ({}, True),
    ({"embedding": "untied"}, True),
    ({"p": 128, "hidden_size": 32}, True),
    ({"embedding": "circular", "embed_size": 2}, False),
    ({"activation": "square"}, False),
    ({"dropout": 0.1}, False),
    ({"loss": "stablemax"}, False),
    ({"dtype": "float64"}, False),
    ({"hidden_size": 33}, False),
    ({"p": 129}, False),
])
def test_fused_kernel_is_used_exactly_where_it_applies(change, fused):
    b = engine._Batch([replace(SMALL, **change)], "cpu")
    assert b.fused is fused


def test_fused_kernel_rejects_sizes_it_was_not_built_for():
    W = torch.zeros(1, 129, 16)
    idx = torch.zeros(1, 4, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"p = 129, H = 8; supported: p <= 128, H <= 32"):
        engine._fused.modadd_grad(1, 4, 129, 8, W.data_ptr(), idx.data_ptr(), idx.data_ptr(), idx.data_ptr(),
                                  1.0, W.data_ptr())


def test_fused_kernel_passes_nan_weights_through_to_the_gradients():
    """A diverged model must show NaN (so training marks it diverged), not a silent finite gradient."""
    b = engine._Batch([SMALL], "cpu")
    with torch.no_grad():
        b.params["P"][0, 0, 0] = float("nan")
        grads, _ = b.step_modadd(False)
    assert not torch.isfinite(grads["P"]).all()


def test_environment_variable_turns_the_kernel_off_before_any_training():
    import os
    import subprocess
    import sys

    code = ("import importlib, grokkit; T = importlib.import_module('grokkit.train'); "
            "print(T.USE_FUSED, T._Batch([grokkit.PAIR_MODADD], 'cpu').fused)")
    for value, expected in (("0", "False False"), ("1", "True True")):
        env = {**os.environ, "GROKKIT_FUSED": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == expected.split()


@pytest.mark.parametrize("M, N, p, H", [(1, 911, 67, 24), (3, 7, 23, 8), (2, 1, 3, 1), (1, 2, 128, 32), (2, 64, 16, 16)])
def test_the_helper_thread_gives_the_same_gradients_bit_for_bit(M, N, p, H):
    """The second half of the examples on a helper thread: the same sums as one thread doing both halves."""
    gen = torch.Generator().manual_seed(M * 1000 + N)
    W = torch.randn(M, p, 2 * H, generator=gen).abs()     # positive: every neuron active, no zero rows
    a, b, y = (torch.randint(0, p, (M, N), generator=gen) for _ in range(3))
    G_one, G_two = (_grad(engine._fused, W, a, b, y, helper) for helper in (False, True))
    assert torch.isfinite(G_one).all() and G_one.abs().sum() > 0
    assert torch.equal(G_one, G_two)


def test_training_with_the_helper_thread_gives_the_same_run():
    """Metrics and weights after 200 steps of PAIR_MODADD with and without the helper: identical."""
    cfg = replace(grokkit.PAIR_MODADD, steps=200)
    params = []
    for helper in (False, True):
        b = engine._Batch([cfg], "cpu")
        b.kernel_helper = helper
        with torch.no_grad():
            for _ in range(cfg.steps):
                grads, met = b.step_modadd(False)
                b.update(grads)
            _, met = b.step_modadd(True)
        params.append(({k: v.clone() for k, v in b.params.items()}, met))
    (p1, m1), (p2, m2) = params
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    assert all(torch.equal(m1[k], m2[k]) for k in m1)


def test_a_single_run_uses_the_helper_thread_when_it_has_two_threads(monkeypatch):
    """_train_group turns the helper on for one kernel batch given two torch threads, and off given one."""
    seen = []
    real = engine._fused

    class Spy:
        MAX_CLASSES, MAX_HIDDEN = real.MAX_CLASSES, real.MAX_HIDDEN

        @staticmethod
        def modadd_grad(*args):
            seen.append(args[-1])
            return real.modadd_grad(*args)

    monkeypatch.setattr(engine, "_fused", Spy)
    threads = torch.get_num_threads()
    try:
        for n in (2, 1):
            torch.set_num_threads(n)
            seen.clear()
            engine._train_group([replace(SMALL, steps=5)], "cpu", True, engine._Progress(5, False))
            assert seen and set(seen) == {n == 2}
            assert torch.get_num_threads() == n          # the caller's thread count is restored
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("M, N, p, H", [(1, 911, 67, 24), (3, 7, 23, 8), (2, 3, 3, 2), (1, 2, 128, 32),
                                        (2, 64, 16, 16), (1, 50, 113, 17), (1, 40, 33, 9)])
def test_every_vector_width_with_fma_gives_the_same_gradients_bit_for_bit(M, N, p, H):
    """The kernel at each width this processor runs: with FMA (widths 16 and 8 on x86-64), the same bits.

    Width 4 on x86-64 is the SSE2 build without FMA: it rounds each product separately, so
    there it only has to agree to float32 precision.
    """
    kernel = engine._fused
    assert kernel.WIDTHS and kernel.WIDTHS[0] == max(kernel.WIDTHS)
    W, a, b, y = _random_problem(M, N, p, H, seed=M * 1000 + N + p)
    widest = _grad(kernel, W, a, b, y, False, 0)
    assert torch.isfinite(widest).all() and widest.abs().sum() > 0
    assert torch.equal(widest, _grad(kernel, W, a, b, y, False, kernel.WIDTHS[0]))
    for width in kernel.WIDTHS:
        for helper in (False, True):
            G = _grad(kernel, W, a, b, y, helper, width)
            if width >= 8:
                assert torch.equal(G, widest), f"width {width}, helper {helper}"
            else:
                torch.testing.assert_close(G, widest, rtol=1e-4, atol=1e-9)


def test_training_at_every_vector_width_gives_the_same_run(monkeypatch):
    """200 steps of PAIR_MODADD with the kernel forced to each width with FMA: identical weights and metrics."""
    real = engine._fused
    cfg = replace(grokkit.PAIR_MODADD, steps=200, log_every=50, save_every=100)
    runs = {}
    for width in [w for w in real.WIDTHS if w >= 8] or [real.WIDTHS[0]]:
        class AtWidth:
            MAX_CLASSES, MAX_HIDDEN, WIDTHS = real.MAX_CLASSES, real.MAX_HIDDEN, real.WIDTHS

            @staticmethod
            def modadd_grad(*args, w=width):
                return real.modadd_grad(*args, w)

        monkeypatch.setattr(engine, "_fused", AtWidth)
        runs[width] = grokkit.train(cfg, progress=False)
    first, *others = runs.values()
    for run in others:
        assert all(np.array_equal(first.metrics[k], run.metrics[k]) for k in first.metrics)
        assert np.array_equal(first.W_in, run.W_in) and np.array_equal(first.W_out, run.W_out)


def test_the_kernel_rejects_a_vector_width_this_processor_does_not_run():
    W, a, b, y = _random_problem(1, 4, 5, 3, seed=0)
    with pytest.raises(ValueError, match=r"width = 5 is not one this processor runs"):
        _grad(engine._fused, W, a, b, y, False, 5)


def _build(tmp_path, compiler, flags):
    """The installed grokkit/_fused.c built by ``compiler`` with ``flags``, imported as a module of its own."""
    src = Path(engine.__file__).with_name("_fused.c")
    (tmp_path / "_fused.c").write_bytes(src.read_bytes())        # this name: the kernel includes itself by it
    so = tmp_path / ("_fused" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([compiler, "-O3", "-fno-math-errno", "-Wno-psabi", "-pthread", "-shared", "-fPIC", *flags,
                    f"-I{sysconfig.get_paths()['include']}", str(tmp_path / "_fused.c"), "-o", str(so)],
                   check=True, timeout=600)
    loader = importlib.machinery.ExtensionFileLoader("_fused", str(so))
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_fused", so, loader=loader))
    loader.exec_module(module)
    return module


KERNEL_SHAPES = [(1, 911, 67, 24), (2, 64, 16, 16), (1, 2, 128, 32), (1, 50, 113, 17), (3, 7, 23, 8)]


# gcc-11: Ubuntu 22.04's compiler (Binder's images have been built on it); clang: macOS's. CI installs both.
@pytest.mark.parametrize("compiler, flags", [
    ("gcc-11", []),
    ("clang", []),
    ("gcc", ["-DGROKKIT_ONE_TARGET", "-mfma"]),
    ("gcc-11", ["-DGROKKIT_ONE_TARGET", "-mfma"]),
    ("clang", ["-DGROKKIT_ONE_TARGET", "-mfma"]),
], ids=["gcc-11", "clang", "gcc-four-floats-fma", "gcc-11-four-floats-fma", "clang-four-floats-fma"])
def test_other_compilers_and_the_four_float_fma_version_give_the_same_gradients(tmp_path, compiler, flags):
    """The kernel built by another compiler, or as vectors of 4 floats with FMA (what arm64 runs): the same bits.

    Each build's widths with FMA are compared with the installed kernel's widest on five
    shapes. The sums across lanes are always taken as over 16 lanes in one fixed order, so
    neither the width nor the compiler changes the numbers (GCC before 12 lacks
    __builtin_shufflevector: the kernel did not build at all there until it used
    __builtin_shuffle).
    """
    if platform.machine() not in ("x86_64", "AMD64") or shutil.which(compiler) is None:
        pytest.skip(f"needs {compiler} on x86-64")
    kernel = engine._fused
    if max(kernel.WIDTHS) < 8:
        pytest.skip("this processor has no FMA width to compare with")
    other = _build(tmp_path, compiler, flags)
    widths = [w for w in other.WIDTHS if w >= 8 or "-mfma" in flags]
    assert widths and ("-mfma" not in flags or other.WIDTHS == (4,))
    for M, N, p, H in KERNEL_SHAPES:
        W, a, b, y = _random_problem(M, N, p, H, seed=N + p)
        expected = _grad(kernel, W, a, b, y)
        for width in widths:
            assert torch.equal(_grad(other, W, a, b, y, False, width), expected), (M, N, p, H, width)


def test_training_without_the_built_kernel_says_so_once(monkeypatch):
    """A kernel that failed to build is named in one warning; GROKKIT_FUSED=0 (on purpose) warns nothing."""
    monkeypatch.setattr(engine, "_fused", None)
    monkeypatch.setattr(engine, "_WARNED_NO_KERNEL", False)
    cfg = replace(SMALL, steps=5)
    with pytest.warns(UserWarning, match=r"C kernel \(grokkit/_fused.c\) is not built"):
        grokkit.train(cfg, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grokkit.train(cfg, progress=False)                      # once per process
        monkeypatch.setattr(engine, "_WARNED_NO_KERNEL", False)
        monkeypatch.setattr(engine, "USE_FUSED", False)
        grokkit.train(cfg, progress=False)                      # switched off on purpose
    assert not [w for w in caught if "C kernel" in str(w.message)]


ARM64_BUILDS = {
    "gcc": ["aarch64-linux-gnu-gcc", "-static"],
    "clang": ["clang", "--target=aarch64-linux-gnu", "--sysroot=/usr/aarch64-linux-gnu", "--gcc-toolchain=/usr",
              "-fuse-ld=/usr/bin/aarch64-linux-gnu-ld", "-static"],
}


@pytest.mark.parametrize("compiler", list(ARM64_BUILDS))
def test_the_kernel_built_for_arm64_gives_the_same_gradients_bit_for_bit(tmp_path, compiler):
    """What an arm64 machine (Apple silicon, Graviton) computes, run under qemu: the same bits as here.

    tests/fused_harness.c drives the kernel without Python; it is cross-compiled for arm64
    (NEON, 4 floats per vector, FMA) by gcc (Linux) or clang (macOS's compiler) and run
    by qemu-aarch64, whose floating point is exact IEEE arithmetic. CI installs the cross
    compiler and qemu (Debian's gcc-aarch64-linux-gnu and qemu-user).
    """
    command = ARM64_BUILDS[compiler]
    if shutil.which(command[0]) is None or shutil.which("aarch64-linux-gnu-gcc") is None \
            or shutil.which("qemu-aarch64") is None:
        pytest.skip("needs the arm64 cross compiler (gcc-aarch64-linux-gnu), qemu-aarch64 and " + command[0])
    kernel = engine._fused
    if max(kernel.WIDTHS) < 8:
        pytest.skip("this processor has no FMA width to compare with")
    (tmp_path / "_fused.c").write_bytes(Path(engine.__file__).with_name("_fused.c").read_bytes())
    (tmp_path / "harness.c").write_bytes(Path(__file__).with_name("fused_harness.c").read_bytes())
    exe = tmp_path / "harness"
    subprocess.run([*command, "-O3", "-fno-math-errno", "-Wno-psabi", "-pthread", f"-I{sysconfig.get_paths()['include']}",
                    "-Wl,--unresolved-symbols=ignore-all", str(tmp_path / "harness.c"), "-o", str(exe)],
                   check=True, timeout=600)
    b = engine._Batch([grokkit.PAIR_MODADD], "cpu")
    trained = grokkit.train(replace(grokkit.PAIR_MODADD, steps=300, save_every=300), progress=False)
    problems = [(torch.from_numpy(np.concatenate([trained.W_in[-1], trained.W_out[-1].T], 1)[None]).float(),
                 b.loc_a, b.loc_b, b.loc_y)]
    problems += [_random_problem(M, N, p, H, seed=N + p) for M, N, p, H in KERNEL_SHAPES]
    for W, a, bb, y in problems:
        M, p, H2 = W.shape
        N = a.shape[1]
        scale = np.float32(1.0 / (N * p))
        (tmp_path / "in.bin").write_bytes(np.array([M, N, p, H2 // 2], np.int32).tobytes() + scale.tobytes()
                                          + W.contiguous().numpy().tobytes()
                                          + b"".join(t.contiguous().numpy().astype(np.int64).tobytes() for t in (a, bb, y)))
        out = subprocess.run(["qemu-aarch64", str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0 and out.stdout.split() == ["4"], out
        arm64 = torch.from_numpy(np.fromfile(tmp_path / "out.bin", np.float32).reshape(W.shape))
        here = _grad(kernel, W, a, bb, y)
        assert torch.isfinite(here).all()
        assert torch.equal(arm64, here), (M, N, p, H2 // 2)
