"""Checks for notebook 00 (Start here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grokkit.course.claims import first_step_at
from grokkit.course.core import check_function

_STEPS = np.array([0, 100, 200, 300, 400])


def check_first_step_reaching(fn: Callable[..., Any]) -> None:
    """Exercise 0.1: ``fn(steps, values, level)`` returns the first step at ``level`` or None."""
    cases = [
        (_STEPS, np.array([0.02, 0.5, 0.97, 1.0, 1.0]), 0.95),
        (_STEPS, np.array([0.02, 0.95, 0.2, 1.0, 1.0]), 0.95),  # reaching the level exactly counts
        (_STEPS, np.array([0.99, 1.0, 1.0, 1.0, 1.0]), 0.95),  # already there at the first step
        (_STEPS, np.array([0.1, 0.2, 0.3, 0.4, 0.5]), 0.95),  # never: None
        (np.array([10, 20, 30]), np.array([0.1, 0.6, 0.7]), 0.5),  # steps need not start at 0
    ]
    check_function(fn, first_step_at, cases, name="first_step_reaching")
