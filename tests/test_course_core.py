"""The generic exercise checks pass right answers and name exactly what is wrong otherwise."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from grokkit.course.claims import check_claim, check_grokking, differing_config_fields, first_step_at
from grokkit.course.core import CheckFailed, check_array, check_equal, check_function, check_scalar


def test_check_failed_is_an_assertion_error_so_nbval_fails_on_it():
    assert issubclass(CheckFailed, AssertionError)


def test_check_failed_renders_as_one_short_line_in_ipython():
    lines = CheckFailed("W: wrong shape")._render_traceback_()
    assert len(lines) == 1
    assert "W: wrong shape" in lines[0] and "❌" in lines[0]


@pytest.mark.slow
def test_a_wrong_answer_fails_the_notebook_cell_with_a_short_error():
    """Run a real kernel, as nbval does: the cell errors, and the error is one line."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np\nfrom grokkit.course.core import check_array\n"
            "check_array('W', np.zeros((4, 3)), np.zeros((3, 4)))"
        )
    ]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    assert error.ename == "CheckFailed"
    assert len(error.traceback) == 1
    assert "W: wrong shape: expected (3, 4), got (4, 3)" in error.traceback[0]


# --------------------------------------------------------------------------- check_array


def test_check_array_passes_equal_arrays_and_prints_pass(capsys):
    check_array("W", np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3))
    assert capsys.readouterr().out.strip() == "✅ W passed"


def test_check_array_passes_within_tolerance():
    check_array("W", np.array([1.0, 2.0 + 1e-9]), np.array([1.0, 2.0]))
    check_array("W", np.array([1.0, 2.05]), np.array([1.0, 2.0]), atol=0.1)


def test_check_array_accepts_integers_for_a_float_answer():
    check_array("counts", np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]))


def test_check_array_passes_matching_torch_tensors():
    check_array("logits", torch.ones(2, 3), torch.ones(2, 3))


def test_check_array_reports_wrong_shape_and_suggests_transpose():
    with pytest.raises(CheckFailed, match=r"W: wrong shape: expected \(3, 4\), got \(4, 3\) \(transposed\?\)"):
        check_array("W", np.zeros((4, 3)), np.zeros((3, 4)))


def test_check_array_reports_wrong_type_for_a_list():
    with pytest.raises(CheckFailed, match=r"wrong type: expected a numpy.ndarray, got list"):
        check_array("W", [1.0, 2.0], np.array([1.0, 2.0]))


def test_check_array_reports_a_tensor_where_a_numpy_array_was_expected():
    with pytest.raises(CheckFailed, match=r"got torch.Tensor \(convert it with .detach\(\).numpy\(\)\)"):
        check_array("W", torch.zeros(2), np.zeros(2))


def test_check_array_reports_a_numpy_array_where_a_tensor_was_expected():
    with pytest.raises(CheckFailed, match=r"expected a torch.Tensor, got numpy.ndarray of shape \(2,\)"):
        check_array("W", np.zeros(2), torch.zeros(2))


def test_check_array_reports_wrong_dtype_family():
    with pytest.raises(CheckFailed, match=r"wrong dtype: expected a float array \(float64\), got bool"):
        check_array("mask", np.array([True, False]), np.array([1.0, 0.0]))


def test_check_array_reports_exact_dtype_when_asked():
    with pytest.raises(CheckFailed, match=r"wrong dtype: expected float64, got float32"):
        check_array("W", np.zeros(2, np.float32), np.zeros(2), exact_dtype=True)


def test_check_array_reports_first_wrong_index_with_expected_and_got():
    expected = np.zeros((3, 4))
    got = expected.copy()
    got[1, 2] = 0.5
    got[2, 0] = 7.0
    with pytest.raises(CheckFailed) as info:
        check_array("W", got, expected)
    message = str(info.value)
    assert "wrong value at index (1, 2): expected 0.0, got 0.5" in message
    assert "2 of 12 entries differ" in message
    assert "atol=1e-06" in message


def test_check_array_reports_a_flat_index_for_vectors_and_exact_integers():
    with pytest.raises(CheckFailed, match=r"wrong value at index 2: expected 3, got 4 \(1 of 3 entries differ\)"):
        check_array("labels", np.array([1, 2, 4]), np.array([1, 2, 3]))


def test_check_array_reports_nan_where_a_number_was_expected():
    with pytest.raises(CheckFailed, match=r"index 1: expected 2.0, got nan"):
        check_array("W", np.array([1.0, np.nan]), np.array([1.0, 2.0]))


# --------------------------------------------------------------------------- check_scalar


def test_check_scalar_passes_close_floats_and_equal_ints(capsys):
    check_scalar("loss", 0.1 + 0.2, 0.3)
    check_scalar("count", 911, 911)
    check_scalar("count", np.int64(911), 911)
    check_scalar("grokked", True, True)
    assert capsys.readouterr().out.count("passed") == 4


def test_check_scalar_reports_wrong_value_with_tolerance():
    with pytest.raises(CheckFailed, match=r"loss: wrong value: expected 0.5, got 0.25 \(tolerance atol=1e-06, rtol=1e-05\)"):
        check_scalar("loss", 0.25, 0.5)


def test_check_scalar_reports_wrong_integer():
    with pytest.raises(CheckFailed, match=r"pairs: wrong value: expected 2278, got 4489"):
        check_scalar("pairs", 4489, 2278)


def test_check_scalar_reports_a_float_where_an_integer_was_expected():
    with pytest.raises(CheckFailed, match=r"expected an integer, got the float 911.0"):
        check_scalar("n_train", 911.0, 911)


def test_check_scalar_reports_a_string_as_wrong_type():
    with pytest.raises(CheckFailed, match=r"wrong type: expected a number, got str '0.5'"):
        check_scalar("x", "0.5", 0.5)


def test_check_scalar_reports_a_zero_d_tensor_and_suggests_item():
    with pytest.raises(CheckFailed, match=r"0-d torch.Tensor \(use .item\(\)"):
        check_scalar("loss", torch.tensor(0.5), 0.5)


def test_check_scalar_reports_an_array_where_one_number_was_expected():
    with pytest.raises(CheckFailed, match=r"expected a single number, got an array of shape \(3,\)"):
        check_scalar("loss", np.zeros(3), 0.0)


def test_check_scalar_does_not_take_a_bool_for_a_number():
    with pytest.raises(CheckFailed, match=r"expected a number, got bool"):
        check_scalar("count", True, 1)


def test_check_scalar_reports_wrong_bool():
    with pytest.raises(CheckFailed, match=r"wrong value: expected True, got False"):
        check_scalar("grokked", False, True)


def test_check_scalar_reports_nan():
    with pytest.raises(CheckFailed, match=r"expected 1.0, got nan"):
        check_scalar("loss", float("nan"), 1.0)


# --------------------------------------------------------------------------- check_equal


def test_check_equal_passes_matching_tuples_and_dicts():
    check_equal("answer", (1, np.array([0.5])), (1, np.array([0.5])))
    check_equal("answer", {"a": 1, "b": "x"}, {"a": 1, "b": "x"})
    check_equal("answer", "memorize", "memorize")


def test_check_equal_reports_the_wrong_item_of_a_tuple():
    with pytest.raises(CheckFailed, match=r"answer: item 1: wrong value: expected 3, got 4"):
        check_equal("answer", (1, 4), (1, 3))


def test_check_equal_reports_wrong_length_and_missing_keys_and_strings():
    with pytest.raises(CheckFailed, match=r"wrong length: expected 2 items, got 3"):
        check_equal("freqs", [4, 5, 7], [4, 5])
    with pytest.raises(CheckFailed, match=r"missing key 'b'"):
        check_equal("d", {"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(CheckFailed, match=r"wrong value: expected 'generalize', got 'memorize'"):
        check_equal("class", "memorize", "generalize")


# --------------------------------------------------------------------------- check_function


def _reference(a: int, b: int) -> int:
    return (a + b) % 67


def test_check_function_passes_a_correct_function_and_counts_cases(capsys):
    def add(a: int, b: int) -> int:
        return (b + a) % 67

    check_function(add, _reference, [(1, 2), (60, 10), ((3,), {"b": 66})])
    assert capsys.readouterr().out.strip() == "✅ add passed (3 cases)"


def test_check_function_reports_the_failing_call_and_values():
    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(CheckFailed, match=r"add\(60, 10\): wrong value: expected 3, got 70"):
        check_function(add, _reference, [(1, 2), (60, 10)])


def test_check_function_reports_an_exception_with_its_line():
    def add(a: int, b: int) -> int:
        return a / (b - b)

    with pytest.raises(CheckFailed) as info:
        check_function(add, _reference, [(1, 2)])
    message = str(info.value)
    assert message.startswith("add(1, 2) raised ZeroDivisionError: division by zero")
    assert "`return a / (b - b)`" in message


def test_check_function_says_not_implemented_for_a_stub():
    def add(a: int, b: int) -> int:
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match=r"add: not implemented yet"):
        check_function(add, _reference, [(1, 2)])


def test_check_function_compares_arrays_and_protects_inputs_from_mutation():
    def double(x: np.ndarray) -> np.ndarray:
        x *= 2  # mutates its input: must not change what the reference sees
        return x

    check_function(double, lambda x: x * 2, [(np.arange(3.0),)])

    def wrong_shape(x: np.ndarray) -> np.ndarray:
        return x[None]

    with pytest.raises(CheckFailed, match=r"wrong shape: expected \(3,\), got \(1, 3\)"):
        check_function(wrong_shape, lambda x: x * 1, [np.arange(3.0)])


def test_check_function_rejects_something_that_is_not_a_function():
    with pytest.raises(CheckFailed, match=r"expected a function, got int"):
        check_function(3, _reference, [(1, 2)], name="add")  # type: ignore[arg-type]


def test_check_function_refuses_an_empty_case_list():
    with pytest.raises(ValueError, match="at least one test case"):
        check_function(_reference, _reference, [])


# --------------------------------------------------------------------------- claims


def test_check_claim_passes_a_true_claim_and_fails_a_false_one(capsys):
    check_claim("weights shrink", True, "norm 51 -> 29")
    assert "✅ weights shrink passed (norm 51 -> 29)" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"not true: weights shrink \(norm 29 -> 51\)"):
        check_claim("weights shrink", False, "norm 29 -> 51")


def test_first_step_at_finds_the_first_crossing_or_none():
    steps = np.array([0, 10, 20, 30])
    assert first_step_at(steps, [0.1, 0.5, 0.96, 0.2], 0.95) == 20
    assert first_step_at(steps, [0.1, 0.5, 0.6, 0.2], 0.95) is None
    with pytest.raises(ValueError, match="differ in shape"):
        first_step_at(steps, [0.1], 0.5)


STEPS = np.arange(0, 1000, 100)
TRAIN = np.array([0.1, 0.99, 1, 1, 1, 1, 1, 1, 1, 1])


def test_check_grokking_passes_when_test_accuracy_rises_much_later(capsys):
    test = np.array([0.0, 0.0, 0.02, 0.03, 0.05, 0.1, 0.6, 0.97, 1, 1])
    check_grokking(STEPS, TRAIN, test)
    assert "train reached 95% at step 100, test at step 700" in capsys.readouterr().out


def test_check_grokking_fails_when_train_and_test_rise_together():
    with pytest.raises(CheckFailed, match="rose together"):
        check_grokking(STEPS, TRAIN, TRAIN)


def test_check_grokking_fails_when_the_model_never_generalizes():
    with pytest.raises(CheckFailed, match=r"test accuracy never reached 95%; its best was 10.0%"):
        check_grokking(STEPS, TRAIN, np.full(10, 0.1))


def test_check_grokking_fails_when_the_model_never_fits_the_training_set():
    with pytest.raises(CheckFailed, match="train accuracy never reached 95%"):
        check_grokking(STEPS, np.full(10, 0.5), np.full(10, 0.5))


@dataclass(frozen=True)
class _Config:
    lr: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class _OtherConfig:
    lr: float = 1e-3
    seed: int = 0


def test_differing_config_fields_names_each_field_that_differs():
    want = _Config()
    assert differing_config_fields(SimpleNamespace(config=want), want) == []
    assert differing_config_fields(SimpleNamespace(config=replace(want, lr=1.0, seed=3)), want) == ["lr", "seed"]
    assert differing_config_fields("a string, not a run", want) == ["(not a run)"]
    other = differing_config_fields(SimpleNamespace(config=_OtherConfig()), want)
    assert len(other) == 1 and "_OtherConfig" in other[0]
