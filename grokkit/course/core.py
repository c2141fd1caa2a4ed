"""Generic exercise checks: compare a learner's answer with the reference, say what differs.

Every ``check_*`` function either prints one line starting with ``✅`` or raises
:class:`CheckFailed` with a message that names the problem precisely (wrong type, wrong
shape, wrong dtype, first wrong index with expected and actual values, a value outside
the tolerance, a function that raised). Raising, not just printing, is what makes an
nbval run of a notebook fail when an answer is wrong; in Jupyter the error shows as one
short line instead of a long traceback.

Per-notebook check modules (``grokkit.course.nbNN``) build on these helpers; checks of
claims about trained runs are in :mod:`grokkit.course.claims`.
"""

from __future__ import annotations

import copy
import math
import numbers
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from grokkit.course.i18n import N_, _, ngettext

__all__ = [
    "CheckFailed",
    "passed",
    "check_array",
    "check_scalar",
    "check_equal",
    "check_function",
]

DEFAULT_ATOL = 1e-6
DEFAULT_RTOL = 1e-5


class CheckFailed(AssertionError):
    """A learner's answer did not match the reference; the message says how."""

    def _render_traceback_(self) -> list[str]:
        """Show only the message in IPython/Jupyter, not a long traceback."""
        return [f"\x1b[31m❌ {type(self).__name__}: {self}\x1b[0m"]


def passed(name: str, detail: str = "") -> None:
    """Print the one-line success message of a check."""
    print(_("✅ {name} passed").format(name=name) + (_(" ({detail})").format(detail=detail) if detail else ""))


# --------------------------------------------------------------------------- helpers


def _type_name(value: Any) -> str:
    """Name a value's type the way a learner would write it (``numpy.ndarray``)."""
    kind = type(value)
    module = kind.__module__
    if module in ("builtins", None):
        return kind.__qualname__
    if module.startswith("numpy"):
        module = "numpy"
    return f"{module}.{kind.__qualname__}"


def _short(value: Any, limit: int = 80) -> str:
    """A one-line ``repr`` of a value cut to ``limit`` characters (arrays by shape)."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        return _("of shape {shape}").format(shape=tuple(value.shape))
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_tensor(value: Any) -> bool:
    """True for a ``torch.Tensor``, without importing torch when it is not loaded."""
    torch = _torch_if_loaded()
    return torch is not None and isinstance(value, torch.Tensor)


def _torch_if_loaded() -> Any:
    """Return the ``torch`` module if something already imported it, else None."""
    import sys

    return sys.modules.get("torch")


def _to_numpy(value: Any) -> np.ndarray:
    """Convert a numpy array or torch tensor to a numpy array (detached, on CPU)."""
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _dtype_family(dtype: np.dtype) -> str:
    """Group dtypes the way a learner thinks of them: bool, integer, float, complex."""
    if dtype.kind == "b":
        return N_("bool")
    if dtype.kind in "iu":
        return N_("integer")
    if dtype.kind == "f":
        return N_("float")
    if dtype.kind == "c":
        return N_("complex")
    return str(dtype)


def _dtype_name(value: Any) -> str:
    """The dtype of an array or tensor as its library prints it."""
    return str(value.dtype)


def _got(value: Any) -> str:
    """Name a wrong answer in a message: its type and a short repr."""
    return f"{_type_name(value)} {_short(value)}"


def _tolerance_text(atol: float, rtol: float) -> str:
    """Describe a tolerance in words for a failure message."""
    return _("tolerance atol={atol}, rtol={rtol}").format(atol=f"{atol:g}", rtol=f"{rtol:g}")


def _format_number(x: Any) -> str:
    """Print a number compactly (``0.25``, ``1e-07``, ``True``)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        text = f"{float(x):.6g}"
        return text if any(c in text for c in ".enai") else text + ".0"
    return _short(x)


# --------------------------------------------------------------------------- arrays


def _array_problem(
    got: Any,
    expected: Any,
    *,
    atol: float,
    rtol: float,
    exact_dtype: bool,
) -> str | None:
    """Return what is wrong with ``got`` compared with the array ``expected``, or None."""
    if _is_tensor(expected):
        if not _is_tensor(got):
            return _("wrong type: expected a torch.Tensor, got {got}").format(got=_got(got))
    elif not isinstance(got, np.ndarray):
        hint = ""
        if _is_tensor(got):
            hint = _(" (convert it with .detach().numpy())")
        elif isinstance(got, (list, tuple)):
            hint = _(" (wrap it in np.array(...))")
        return _("wrong type: expected a numpy.ndarray, got {got}").format(got=_type_name(got)) + hint

    got_np, exp_np = _to_numpy(got), _to_numpy(expected)
    if got_np.shape != exp_np.shape:
        hint = ""
        if got_np.ndim == 2 and got_np.shape[::-1] == exp_np.shape:
            hint = _(" (transposed?)")
        return _("wrong shape: expected {expected}, got {got}").format(
            expected=tuple(exp_np.shape), got=tuple(got_np.shape)
        ) + hint
    if exact_dtype:
        if got_np.dtype != exp_np.dtype:
            return _("wrong dtype: expected {expected}, got {got}").format(
                expected=_dtype_name(expected), got=_dtype_name(got)
            )
    else:
        got_family, exp_family = _dtype_family(got_np.dtype), _dtype_family(exp_np.dtype)
        # An integer answer to a float question is fine; anything else is a real mistake.
        if got_family != exp_family and not (exp_family == "float" and got_family == "integer"):
            return _("wrong dtype: expected a {family} array ({expected}), got {got}").format(
                family=_(exp_family), expected=_dtype_name(expected), got=_dtype_name(got)
            )

    if exp_np.size == 0:
        return None
    if _dtype_family(exp_np.dtype) in ("float", "complex"):
        ok = np.isclose(got_np, exp_np, atol=atol, rtol=rtol, equal_nan=True)
        tol = _("; {tolerance}").format(tolerance=_tolerance_text(atol, rtol))
    else:
        ok = got_np == exp_np
        tol = ""
    if bool(np.all(ok)):
        return None
    wrong = np.argwhere(~ok)
    first = tuple(int(i) for i in wrong[0])
    index = first[0] if len(first) == 1 else first
    return _(
        "wrong value at index {index}: expected {expected}, got {got} "
        "({count} of {size} entries differ{tol})"
    ).format(
        index=index, expected=_format_number(exp_np[first]), got=_format_number(got_np[first]),
        count=len(wrong), size=exp_np.size, tol=tol,
    )


def check_array(
    name: str,
    got: Any,
    expected: Any,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    exact_dtype: bool = False,
) -> None:
    """Check that an array or tensor equals the reference in type, shape, dtype and values."""
    problem = _array_problem(got, expected, atol=atol, rtol=rtol, exact_dtype=exact_dtype)
    if problem:
        raise CheckFailed(f"{name}: {problem}")
    passed(name)


# --------------------------------------------------------------------------- scalars


def _scalar_problem(got: Any, expected: Any, *, atol: float, rtol: float) -> str | None:
    """Return what is wrong with the number ``got`` compared with ``expected``, or None."""
    if _is_tensor(got) or isinstance(got, np.ndarray):
        if getattr(got, "ndim", 1) == 0:
            return _(
                "wrong type: expected a plain number, got a 0-d {type} "
                "(use .item() to get the number out)"
            ).format(type=_type_name(got))
        return _("wrong type: expected a single number, got an array of shape {shape}").format(
            shape=tuple(got.shape)
        )
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return _("wrong type: expected True or False, got {got}").format(got=_got(got))
        if bool(got) != bool(expected):
            return _("wrong value: expected {expected}, got {got}").format(
                expected=bool(expected), got=bool(got)
            )
        return None
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Number):
        return _("wrong type: expected a number, got {got}").format(got=_got(got))
    if isinstance(expected, numbers.Integral):
        if not isinstance(got, numbers.Integral):
            if isinstance(got, numbers.Real) and float(got).is_integer():
                return _(
                    "wrong type: expected an integer, got the float {got} "
                    "(use int(...) or integer division //)"
                ).format(got=_format_number(got))
            return _("wrong type: expected an integer, got {got}").format(got=_got(got))
        if int(got) != int(expected):
            return _("wrong value: expected {expected}, got {got}").format(
                expected=int(expected), got=int(got)
            )
        return None
    if isinstance(expected, numbers.Complex) and not isinstance(expected, numbers.Real):
        ok = bool(np.isclose(complex(got), complex(expected), atol=atol, rtol=rtol))
    else:
        if not isinstance(got, numbers.Real):
            return _("wrong type: expected a real number, got {got}").format(got=_got(got))
        g, e = float(got), float(expected)
        if math.isnan(e):
            ok = math.isnan(g)
        else:
            ok = not math.isnan(g) and bool(np.isclose(g, e, atol=atol, rtol=rtol))
    if ok:
        return None
    return _("wrong value: expected {expected}, got {got}").format(
        expected=_format_number(expected), got=_format_number(got)
    ) + _(" ({detail})").format(detail=_tolerance_text(atol, rtol))


def check_scalar(
    name: str,
    got: Any,
    expected: Any,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """Check that a single number (int, float or bool) matches the reference."""
    problem = _scalar_problem(got, expected, atol=atol, rtol=rtol)
    if problem:
        raise CheckFailed(f"{name}: {problem}")
    passed(name)


# --------------------------------------------------------------------------- anything


def _value_problem(got: Any, expected: Any, *, atol: float, rtol: float) -> str | None:
    """Compare any answer with the reference, choosing the array/scalar/plain comparison."""
    if isinstance(expected, np.ndarray) or _is_tensor(expected):
        return _array_problem(got, expected, atol=atol, rtol=rtol, exact_dtype=False)
    if isinstance(expected, (numbers.Number, np.bool_)):
        return _scalar_problem(got, expected, atol=atol, rtol=rtol)
    if isinstance(expected, (tuple, list)) and not isinstance(expected, str):
        if type(got) is not type(expected):
            return _("wrong type: expected a {expected}, got {got}").format(
                expected=_type_name(expected), got=_got(got)
            )
        if len(got) != len(expected):
            return _("wrong length: expected {expected} items, got {got}").format(
                expected=len(expected), got=len(got)
            )
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _value_problem(g, e, atol=atol, rtol=rtol)
            if problem:
                return _("item {i}: {problem}").format(i=i, problem=problem)
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return _("wrong type: expected a dict, got {got}").format(got=_got(got))
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing:
            return _("missing key {key}").format(key=repr(missing[0]))
        if extra:
            return _("unexpected key {key}").format(key=repr(extra[0]))
        for key in expected:
            problem = _value_problem(got[key], expected[key], atol=atol, rtol=rtol)
            if problem:
                return _("key {key}: {problem}").format(key=repr(key), problem=problem)
        return None
    if type(got) is not type(expected) and not (
        isinstance(got, type(expected)) or isinstance(expected, type(got))
    ):
        return _("wrong type: expected {expected}, got {got}").format(
            expected=_type_name(expected), got=_got(got)
        )
    if got != expected:
        return _("wrong value: expected {expected}, got {got}").format(
            expected=_short(expected), got=_short(got)
        )
    return None


def check_equal(
    name: str,
    got: Any,
    expected: Any,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """Check any answer (number, array, string, tuple, list, dict) against the reference."""
    problem = _value_problem(got, expected, atol=atol, rtol=rtol)
    if problem:
        raise CheckFailed(f"{name}: {problem}")
    passed(name)


# --------------------------------------------------------------------------- functions


def _arg_text(value: Any) -> str:
    """Write one argument of a call: small arrays in full, large ones by shape."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        arr = _to_numpy(value)
        if arr.size <= 10:
            body = " ".join(np.array2string(arr, separator=", ").split())
            return f"tensor({body})" if _is_tensor(value) else f"array({body})"
        return "<" + _("array of shape {shape}").format(shape=tuple(arr.shape)) + ">"
    return _short(value, 40)


def _call_text(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """Write a call as source text, shortening long arguments."""
    parts = [_arg_text(a) for a in args] + [f"{k}={_arg_text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _as_call(case: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Turn a test case into positional and keyword arguments.

    A tuple is the positional arguments; a dict is keyword arguments; a pair
    ``(tuple, dict)`` is both; anything else is a single positional argument.
    """
    if (
        isinstance(case, tuple)
        and len(case) == 2
        and isinstance(case[0], tuple)
        and isinstance(case[1], dict)
    ):
        return case[0], dict(case[1])
    if isinstance(case, tuple):
        return case, {}
    if isinstance(case, dict):
        return (), dict(case)
    return (case,), {}


def _where_it_failed(err: BaseException) -> str:
    """Quote the learner's line where an exception was raised, if there is one."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return _(" at line {line}: `{code}`").format(line=last.lineno, code=last.line.strip()) if last.line else ""


def check_function(
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Iterable[Any],
    *,
    name: str | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """Call a learner's function and the reference on each case and compare the results.

    Each case is a tuple of positional arguments, a dict of keyword arguments, a pair
    ``(args, kwargs)``, or a single argument. Arguments are deep-copied for each call, so
    a function that changes its inputs cannot change the reference's.
    """
    label = name or getattr(fn, "__name__", _("your function"))
    if not callable(fn):
        raise CheckFailed(
            f"{label}: " + _("wrong type: expected a function, got {got}").format(got=_type_name(fn))
        )
    count = 0
    for case in cases:
        args, kwargs = _as_call(case)
        call = _call_text(label, args, kwargs)
        expected = reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        try:
            got = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except NotImplementedError:
            raise CheckFailed(
                f"{label}: "
                + _("not implemented yet: replace `raise NotImplementedError()` with your code")
            ) from None
        except Exception as err:  # the learner's bug, reported precisely
            raise CheckFailed(
                _("{call} raised {error}").format(call=call, error=f"{type(err).__name__}: {err}")
                + _where_it_failed(err)
            ) from err
        problem = _value_problem(got, expected, atol=atol, rtol=rtol)
        if problem:
            raise CheckFailed(f"{call}: {problem}")
        count += 1
    if count == 0:
        raise ValueError("check_function needs at least one test case")
    passed(label, ngettext("{n} case", "{n} cases", count).format(n=count))
