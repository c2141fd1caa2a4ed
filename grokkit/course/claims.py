"""Checks that back a notebook's sentences about trained runs with measurements.

``check_claim`` turns any measured fact into a ``✅`` line or a :class:`CheckFailed` naming
the evidence; ``check_grokking`` checks the grokking story of a pair of accuracy curves;
``differing_config_fields`` says how a learner's run differs from the one asked for.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from grokkit.course.core import CheckFailed, _type_name, passed
from grokkit.course.i18n import _

__all__ = ["check_claim", "check_grokking", "first_step_at", "differing_config_fields"]


# --------------------------------------------------------------------------- claims


def check_claim(claim: str, holds: bool, evidence: str = "") -> None:
    """Back a sentence of the notebook with a fact: pass if ``holds``, else fail saying why."""
    if not holds:
        raise CheckFailed(
            _("not true: {claim}").format(claim=_(claim))
            + (_(" ({detail})").format(detail=evidence) if evidence else "")
        )
    passed(_(claim), evidence)


def first_step_at(steps: Any, values: Any, level: float) -> int | None:
    """Return the first logged step whose value is at least ``level`` (None if never)."""
    steps_np, values_np = np.asarray(steps), np.asarray(values)
    if steps_np.shape != values_np.shape:
        raise ValueError(
            f"steps and values differ in shape: {steps_np.shape} vs {values_np.shape}"
        )
    hits = np.nonzero(values_np >= level)[0]
    return int(steps_np[hits[0]]) if hits.size else None


def check_grokking(
    steps: Any,
    train_acc: Any,
    test_acc: Any,
    *,
    level: float = 0.95,
    min_ratio: float = 2.0,
) -> None:
    """Check the grokking story: train accuracy reaches ``level`` first, test accuracy much later.

    "Much later" means the test curve crosses ``level`` at a step at least ``min_ratio``
    times the step where the train curve did.
    """
    train_step = first_step_at(steps, train_acc, level)
    test_step = first_step_at(steps, test_acc, level)
    claim = _("test accuracy rises well after train accuracy")
    not_true = _("not true: {claim}").format(claim=claim)
    if train_step is None:
        raise CheckFailed(not_true + _(
            " (train accuracy never reached {level}; its best was {best})"
        ).format(level=f"{level:.0%}", best=f"{float(np.max(train_acc)):.1%}"))
    if test_step is None:
        raise CheckFailed(not_true + _(
            " (test accuracy never reached {level}; its best was {best}, so the model "
            "memorized without generalizing; train longer?)"
        ).format(level=f"{level:.0%}", best=f"{float(np.max(test_acc)):.1%}"))
    reached = _("train reached {level} at step {train_step}, test at step {test_step}").format(
        level=f"{level:.0%}", train_step=train_step, test_step=test_step
    )
    if test_step < min_ratio * max(train_step, 1):
        raise CheckFailed(not_true + _(" ({detail})").format(detail=reached + _(
            ": less than {ratio}x later, so they rose together"
        ).format(ratio=f"{min_ratio:g}")))
    passed(claim, reached)


# --------------------------------------------------------------------------- runs


def differing_config_fields(run: Any, want: Any) -> list[str]:
    """Names of the fields where ``run.config`` differs from the dataclass ``want`` ([] when equal)."""
    got = getattr(run, "config", None)
    if got == want:
        return []
    if got is None:
        return [_("(not a run)")]
    names = [f.name for f in dataclasses.fields(want) if getattr(got, f.name, None) != getattr(want, f.name)]
    # Equal field values in unequal configs: a different config class.
    return names or [_("(a {got}, not a {want})").format(got=_type_name(got), want=_type_name(want))]
