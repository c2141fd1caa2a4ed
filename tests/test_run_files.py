"""Saved runs: the user's name is the name used, and a bad file is refused naming it, before any big allocation."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib import format as np_format

import grokkit
from grokkit.run import BadFileError, Run, file_pair, read_npz


def _arrays(npz: Path) -> dict[str, np.ndarray]:
    with np.load(npz, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite_npz(npz: Path, change) -> None:
    """Rewrite a saved npz after ``change(arrays)`` edits its dict of arrays in place."""
    arrays = _arrays(npz)
    change(arrays)
    with open(npz, "wb") as f:
        np.savez_compressed(f, **arrays)


def _rewrite_json(js: Path, change) -> None:
    meta = json.loads(js.read_text())
    change(meta)
    js.write_text(json.dumps(meta))


# --------------------------------------------------------------------------- names


def test_names_with_dots_keep_every_run_wd01_and_wd03_both_survive(tiny_run, tmp_path):
    runs = {}
    for wd in (0.1, 0.3):
        run = replace(tiny_run, config=replace(tiny_run.config, weight_decay=wd))
        assert run.save(tmp_path / f"wd{wd}") == tmp_path / f"wd{wd}.npz"
        runs[wd] = run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wd0.1.json", "wd0.1.npz", "wd0.3.json", "wd0.3.npz"]
    assert Run.load(tmp_path / "wd0.1").config.weight_decay == 0.1
    assert Run.load(tmp_path / "wd0.3").config.weight_decay == 0.3


def test_file_pair_appends_to_the_whole_name_and_strips_only_npz_and_json():
    assert file_pair("runs/x.v2") == (Path("runs/x.v2.npz"), Path("runs/x.v2.json"))
    assert file_pair("runs/x.v2.npz") == (Path("runs/x.v2.npz"), Path("runs/x.v2.json"))
    assert file_pair(Path("runs/x.json")) == (Path("runs/x.npz"), Path("runs/x.json"))
    assert file_pair("runs/x.tar.gz") == (Path("runs/x.tar.gz.npz"), Path("runs/x.tar.gz.json"))
    assert file_pair("x.npz.npz") == (Path("x.npz.npz"), Path("x.npz.json"))


@pytest.mark.parametrize("name", ["", ".npz", ".json", "runs/", "runs/.npz", ".", ".."])
def test_an_empty_name_is_a_one_line_error(name, tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is not allowed") as err:
        tiny_run.save(name)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_as_a_file_name_is_refused(tiny_run, tmp_path):
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="results' is not allowed: it is a folder"):
        tiny_run.save(tmp_path / "results")
    (tmp_path / "pair.npz").mkdir()
    with pytest.raises(ValueError, match=r"pair.npz is a folder, not a file"):
        tiny_run.save(tmp_path / "pair")
    with pytest.raises(ValueError, match="it is a folder"):
        Run.load(tmp_path / "results")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair.npz", "results"]


def test_save_refuses_a_run_inconsistent_with_its_config_before_writing(tiny_run, tmp_path):
    bad = replace(tiny_run, config=replace(tiny_run.config, p=13))
    with pytest.raises(ValueError, match="W_in has shape"):
        bad.save(tmp_path / "bad")
    assert list(tmp_path.iterdir()) == []


def test_a_run_without_raw_snapshots_round_trips(tiny_run, tmp_path):
    lean = replace(tiny_run, snapshots={})
    back = Run.load(lean.save(tmp_path / "lean"))
    assert back.snapshots == {} and np.array_equal(back.W_out, tiny_run.W_out)


# --------------------------------------------------------------------------- inconsistent files

def _short_metric(a):
    a["metric_test_loss"] = a["metric_test_loss"][:-1]


def _steps_of_another_length(a):
    a["steps"] = np.arange(0, 30, 5)


def _steps_not_the_schedule(a):
    a["steps"] = a["steps"] + 1


def _win_wrong_shape(a):
    a["W_in"] = a["W_in"][:, :-1]


def _wout_wrong_shape(a):
    a["W_out"] = a["W_out"][..., :-1]


def _raw_snapshot_wrong_shape(a):
    a["snapshot_embed"] = a["snapshot_embed"][:, :, :2]


def _fewer_snapshots_than_snapshot_steps(a):
    a["W_in"], a["W_out"] = a["W_in"][:-1], a["W_out"][:-1]


def _metric_of_strings(a):
    a["metric_train_acc"] = np.array(["x"] * len(a["steps"]))


def _metric_missing(a):
    del a["metric_l2_norm"]


def _snapshot_steps_missing(a):
    del a["snapshot_steps"]


def _unknown_array(a):
    a["weights_of_another_model"] = np.zeros(3)


def _nan_loss_though_not_diverged(a):
    a["metric_train_loss"][2] = np.nan


def _accuracy_above_one(a):
    a["metric_test_acc"][1] = 1.5


def _diverged_as_a_string(m):
    m["diverged"] = "no"


def _config_p_disagrees_with_the_arrays(m):
    m["config"]["p"] = 13


def _config_steps_disagree_with_the_arrays(m):
    m["config"]["steps"] = 40


def _diverged_step_though_not_diverged(m):
    m["diverged_step"] = 10


def _diverged_at_a_step_never_logged(m):
    m["diverged"], m["diverged_step"] = True, 7


def _seconds_as_a_string(m):
    m["seconds"] = "fast"


INCONSISTENT_NPZ = [_short_metric, _steps_of_another_length, _steps_not_the_schedule, _win_wrong_shape,
                    _wout_wrong_shape, _raw_snapshot_wrong_shape, _fewer_snapshots_than_snapshot_steps,
                    _metric_of_strings, _metric_missing, _snapshot_steps_missing, _unknown_array,
                    _nan_loss_though_not_diverged, _accuracy_above_one]
INCONSISTENT_JSON = [_diverged_as_a_string, _config_p_disagrees_with_the_arrays, _config_steps_disagree_with_the_arrays,
                     _diverged_step_though_not_diverged, _diverged_at_a_step_never_logged, _seconds_as_a_string]


@pytest.mark.parametrize("change", INCONSISTENT_NPZ, ids=lambda f: f.__name__[1:])
def test_an_npz_inconsistent_with_its_config_is_refused_naming_the_file(change, tiny_run_files):
    npz, js = tiny_run_files
    _rewrite_npz(npz, change)
    with pytest.raises(BadFileError) as err:
        Run.load(npz)
    assert str(err.value).startswith(str(npz)), str(err.value)


@pytest.mark.parametrize("change", INCONSISTENT_JSON, ids=lambda f: f.__name__[1:])
def test_a_json_inconsistent_with_its_arrays_is_refused_naming_the_file(change, tiny_run_files):
    npz, js = tiny_run_files
    _rewrite_json(js, change)
    with pytest.raises(BadFileError) as err:
        Run.load(js)
    assert str(err.value).startswith((str(js), str(npz))), str(err.value)
    assert js.name in str(err.value)


def test_a_diverged_run_loads_with_its_nan_metrics(tiny_run_files):
    npz, js = tiny_run_files
    _rewrite_json(js, lambda m: m.update(diverged=True, diverged_step=10))
    _rewrite_npz(npz, lambda a: [a[f"metric_{k}"].__setitem__(slice(3, None), np.nan) for k in grokkit.run.METRICS])
    run = Run.load(npz)
    assert run.diverged is True and run.diverged_step == 10 and np.isnan(run.metrics["train_loss"][-1])


def test_a_run_that_really_diverged_saves_and_loads(tmp_path):
    cfg = grokkit.ModAddConfig(p=11, embed_size=4, hidden_size=4, steps=20, log_every=5, save_every=10, lr=1e4,
                               init_scale=50.0, activation="square")
    run = grokkit.train(cfg, progress=False)
    assert run.diverged
    back = Run.load(run.save(tmp_path / "diverged"))
    assert back.diverged and back.diverged_step == run.diverged_step
    assert np.array_equal(back.metrics["train_loss"], run.metrics["train_loss"], equal_nan=True)


# --------------------------------------------------------------------------- parse errors


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _flip_in_member(b: bytes, name: str) -> bytes:
    """Flip a byte in the middle of one zip member's compressed data (not in a header)."""
    info = zipfile.ZipFile(io.BytesIO(b)).getinfo(name)
    start = info.header_offset + 30 + int.from_bytes(b[info.header_offset + 26:info.header_offset + 28], "little") \
        + int.from_bytes(b[info.header_offset + 28:info.header_offset + 30], "little")
    i = start + info.compress_size // 2
    return b[:i] + bytes([b[i] ^ 0xFF]) + b[i + 1:]


PARSE_ERRORS = {
    "npz_truncated": ("npz", lambda b: b[: len(b) // 2]),
    "npz_empty": ("npz", lambda b: b""),
    "npz_is_text": ("npz", lambda b: b"steps,W_in\n1,2\n"),
    "npz_member_not_npy": ("npz", lambda b: _zip_of({"steps.npy": b"not an array", "W_in.npy": b""})),
    "npz_member_named_txt": ("npz", lambda b: _zip_of({"readme.txt": b"hello"})),
    "npz_compressed_bytes_flipped": ("npz", lambda b: _flip_in_member(b, "W_in.npy")),
    "json_truncated": ("json", lambda b: b[: len(b) // 2]),
    "json_empty": ("json", lambda b: b""),
    "json_not_utf8": ("json", lambda b: b"\xff\xfe{]"),
    "json_a_list": ("json", lambda b: b"[1, 2, 3]"),
    "json_missing_config": ("json", lambda b: json.dumps(
        {k: v for k, v in json.loads(b).items() if k != "config"}).encode()),
    "json_config_a_string": ("json", lambda b: json.dumps({**json.loads(b), "config": "modadd"}).encode()),
    "json_config_without_task": ("json", lambda b: json.dumps(
        {**json.loads(b), "config": {k: v for k, v in json.loads(b)["config"].items() if k != "task"}}).encode()),
    "json_config_unknown_field": ("json", lambda b: json.dumps(
        {**json.loads(b), "config": {**json.loads(b)["config"], "hiden_size": 3}}).encode()),
    "json_format_of_another_program": ("json", lambda b: json.dumps({**json.loads(b), "format": "other/2"}).encode()),
    "json_unknown_key": ("json", lambda b: json.dumps({**json.loads(b), "surprise": 1}).encode()),
    "json_deeply_nested": ("json", lambda b: b"[" * 100_000 + b"]" * 100_000),
    "json_huge_integer": ("json", lambda b: json.dumps(json.loads(b)).replace('"seed": 0', '"seed": ' + "9" * 5000)
                          .encode()),
}


@pytest.mark.parametrize("kind", PARSE_ERRORS)
def test_a_parse_failure_is_one_error_naming_the_file(kind, tiny_run_files):
    npz, js = tiny_run_files
    which, change = PARSE_ERRORS[kind]
    path = npz if which == "npz" else js
    path.write_bytes(change(path.read_bytes()))
    with pytest.raises(BadFileError) as err:
        Run.load(npz)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message


def test_a_missing_file_names_the_file(tiny_run_files):
    npz, js = tiny_run_files
    npz.unlink()
    with pytest.raises(FileNotFoundError, match="run.npz"):
        Run.load(js)


# --------------------------------------------------------------------------- zip bombs


def _npy_header_only(shape: tuple[int, ...], dtype=np.float64) -> bytes:
    """A .npy member whose header promises ``shape`` but which holds only a few bytes of data."""
    buf = io.BytesIO()
    np_format.write_array_header_1_0(buf, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 64


def test_an_npz_promising_80_gb_is_refused_from_its_header_without_allocating(tiny_run_files):
    npz, js = tiny_run_files
    npz.write_bytes(_zip_of({"steps.npy": _npy_header_only((10**10,))}))
    tracemalloc.start()
    try:
        with pytest.raises(BadFileError, match=r"would expand to 80,000,000,000 bytes, more than the limit of "
                                               r"1,073,741,824"):
            Run.load(npz)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, peak


def test_a_400_kb_npz_expanding_to_400_mb_is_refused_before_decompressing(tiny_run_files, tmp_path):
    npz, js = tiny_run_files
    bomb = tmp_path / "bomb.npz"
    zeros = np.zeros(2**20)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("steps.npy", "w", force_zip64=True) as f:
        np_format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (50 * 2**20,)})
        for _ in range(50):
            f.write(zeros.tobytes())
    assert bomb.stat().st_size < 600_000
    os.replace(bomb, npz)
    tracemalloc.start()
    try:
        with pytest.raises(BadFileError, match=r"run.npz: array 'steps': the arrays would expand to 419,430,400 bytes"):
            Run.load(npz, max_bytes=100 * 2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, peak
    with pytest.raises(BadFileError, match=r"array 'steps' has shape \(52428800,\) and dtype float64; "
                                           r"the config in run.json means shape \(5,\) of integers"):
        Run.load(npz)


def test_object_arrays_are_refused_without_unpickling(tiny_run_files):
    npz, js = tiny_run_files
    buf = io.BytesIO()
    np_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    npz.write_bytes(_zip_of({"steps.npy": buf.getvalue() + b"cos\nsystem\n(S'echo pwned'\ntR."}))
    with pytest.raises(BadFileError, match="holds Python objects"):
        Run.load(npz)


def test_read_npz_checks_expected_shapes_for_any_caller(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, x=np.zeros((2, 3)), n=np.arange(4))
    assert set(read_npz(path, expect={"x": ((2, 3), "f")})) == {"x", "n"}
    with pytest.raises(BadFileError, match=r"a.npz: array 'n' has shape \(4,\) and dtype int64"):
        read_npz(path, expect={"n": ((5,), "iu")})


# --------------------------------------------------------------------------- property-based: tampered files

# At least 500 generated cases per run (CI included); GROKKIT_HYPOTHESIS_EXAMPLES asks for more.
EXAMPLES = max(500, int(os.environ.get("GROKKIT_HYPOTHESIS_EXAMPLES", "500")))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)
RANDOM_ARRAYS = hnp.arrays(
    dtype=st.one_of(hnp.integer_dtypes(), hnp.floating_dtypes(), hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
                    hnp.unicode_string_dtypes(max_len=3)),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12),
)


@st.composite
def tamperings(draw):
    """One change to a saved run's files: (which file, description, function from (npz bytes, meta) to both)."""
    kind = draw(st.sampled_from(["json_value", "json_delete", "json_add", "json_bytes", "npz_array", "npz_element",
                                 "npz_drop", "npz_bytes"]))
    if kind.startswith("json_"):
        in_config = draw(st.booleans())
        keys = sorted(grokkit.configs.config_to_dict(grokkit.ModAddConfig()).keys()) if in_config else \
            ["format", "config", "diverged", "diverged_step", "seconds", "extra"]
        key = draw(st.sampled_from(keys) | st.text(min_size=1, max_size=6))
        value = draw(JSON_VALUES)
        cut = draw(st.integers(0, 2000))
        junk = draw(st.binary(max_size=8))

        def change(arrays, meta, text):
            target = meta["config"] if in_config else meta
            if kind == "json_value" or kind == "json_add":
                target[key] = value
            elif kind == "json_delete":
                target.pop(key, None)
            else:
                return arrays, text[:cut] + junk + text[cut + len(junk):]
            return arrays, None
        return kind, change
    names = ["steps", "snapshot_steps", "W_in", "W_out", "snapshot_embed", "snapshot_unembed", "snapshot_hidden",
             "snapshot_out"] + [f"metric_{k}" for k in grokkit.run.METRICS]
    name = draw(st.sampled_from(names) | st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1,
                                                max_size=6))
    new = draw(RANDOM_ARRAYS)
    index = draw(st.integers(0, 10**6))
    element = draw(st.sampled_from([np.nan, np.inf, -1.0, 2.0, 1e30, 0.5, 7.0]))
    at, flip = draw(st.floats(0, 1)), draw(st.integers(1, 255))

    def change(arrays, meta, text):
        if kind == "npz_array":
            arrays[name] = new
        elif kind == "npz_element" and name in arrays and arrays[name].size:
            a = arrays[name].copy()
            flat = a.reshape(-1)
            if a.dtype.kind == "f":
                flat[index % flat.size] = element
            else:
                flat[index % flat.size] = int(element) if np.isfinite(element) and abs(element) < 1e6 else 0
            arrays[name] = a
        elif kind == "npz_drop":
            arrays.pop(name, None)
        return arrays, None
    return kind, change, at, flip


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=tamperings())
def test_tampered_files_are_refused_naming_the_file_or_load_consistent(tiny_run, tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("tampered")
    npz, js = tiny_run.save(folder / "run"), folder / "run.json"
    kind, change = case[0], case[1]
    arrays, text = _arrays(npz), js.read_bytes()
    meta = json.loads(text)
    arrays, new_text = change(arrays, meta, text)
    if kind == "json_bytes":
        js.write_bytes(new_text)
    elif kind.startswith("json_"):
        js.write_text(json.dumps(meta))
    elif kind == "npz_bytes":
        at, flip = case[2], case[3]
        data = npz.read_bytes()
        i = min(int(at * len(data)), len(data) - 1)
        npz.write_bytes(data[:i] + bytes([data[i] ^ flip]) + data[i + 1:] if flip % 3 else data[:i])
    else:
        with open(npz, "wb") as f:
            np.savez_compressed(f, **arrays)
    try:
        run = Run.load(npz)
    except BadFileError as err:
        message = str(err)
        assert message.startswith((str(npz), str(js))), message
        assert "\n" not in message
        event(f"{kind}: refused")
        return
    event(f"{kind}: loaded")
    assert run.W_in.shape[0] == run.W_out.shape[0] == len(run.snapshot_steps)
    assert all(len(v) == len(run.steps) for v in run.metrics.values())
    assert isinstance(run.diverged, bool)
    Run.load(run.save(folder / "again.v2"))
