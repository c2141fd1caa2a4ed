"""Notebook 00's exercise check accepts a right answer and names the mistake in wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from grokkit.course.core import CheckFailed
from grokkit.course.nb00 import check_first_step_reaching


def right(steps, values, level):
    hits = np.nonzero(np.asarray(values) >= level)[0]
    return int(steps[hits[0]]) if len(hits) else None


def test_a_right_answer_passes(capsys):
    check_first_step_reaching(right)
    assert "✅ first_step_reaching passed (5 cases)" in capsys.readouterr().out


def test_returning_the_index_instead_of_the_step_fails_with_the_values():
    def index(steps, values, level):
        hits = np.nonzero(values >= level)[0]
        return int(hits[0]) if len(hits) else None

    with pytest.raises(CheckFailed) as info:
        check_first_step_reaching(index)
    assert str(info.value) == (
        "first_step_reaching(array([ 0, 100, 200, 300, 400]), "
        "array([0.02, 0.5 , 0.97, 1. , 1. ]), 0.95): wrong value: expected 200, got 2"
    )


def test_a_strict_comparison_fails_on_the_exact_level():
    def strict(steps, values, level):
        hits = np.nonzero(values > level)[0]
        return int(steps[hits[0]]) if len(hits) else None

    with pytest.raises(CheckFailed, match=r"expected 100, got 300"):
        check_first_step_reaching(strict)


def test_returning_minus_one_for_never_fails_as_wrong_type():
    def minus_one(steps, values, level):
        step = right(steps, values, level)
        return -1 if step is None else step

    with pytest.raises(CheckFailed, match=r"wrong type: expected NoneType, got int -1"):
        check_first_step_reaching(minus_one)


def test_the_unfilled_stub_says_not_implemented():
    def stub(steps, values, level):
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_first_step_reaching(stub)
