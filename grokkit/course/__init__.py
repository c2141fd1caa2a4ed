"""Exercise tooling for the grokkit course: checks for learners, student notebooks for instructors.

The exercise format
-------------------
Every exercise in every notebook has the same four parts, in this order::

    (markdown)  ### Exercise N.M — Title
                **Difficulty** 🔴🔴⚪⚪⚪ · **Importance** 🔵🔵🔵⚪⚪ · **Time** ~10 min

                What to do, in a few sentences. Add "(optional)" to the title for an
                exercise that is not part of the core path.

    (code)      def answer(...):
                    \"\"\"Docstring saying what to return.\"\"\"
                    ### BEGIN SOLUTION
                    ...the reference solution...
                    ### END SOLUTION

    (code)      check_answer(answer)        # or any grokkit.course check_* call

    (markdown)  <details><summary>Hint</summary>...</details>   (optional, may come
                before the check cell too)

``N`` is the notebook's number (``01_...ipynb`` has exercises 1.1, 1.2, ...). The check
call comes within two cells after the solution cell. Solution and check cells carry
nbgrader metadata (a solution cell, and an autograded test cell worth one point);
``python -m grokkit.course tag notebooks/`` adds it. A check cell may hold
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` blocks, which run in the source
notebook but are removed from the student version.

Commands
--------
``python -m grokkit.course student SRC OUT``
    write student versions of the notebooks in SRC (a folder or one .ipynb) into OUT:
    solutions become ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, hidden tests
    and outputs are removed. Nothing is written if any notebook is bad.
``python -m grokkit.course tag PATH...``
    add the nbgrader metadata to untagged solution and check cells, in place.
``python -m grokkit.course lint PATH...``
    list every departure from the exercise format; exit status 1 if there is one.

Checks
------
:mod:`grokkit.course.core` holds the generic checks that notebooks and the per-notebook
check modules (``grokkit.course.nbNN``) use: :func:`check_array`, :func:`check_scalar`,
:func:`check_equal`, :func:`check_function`; :mod:`grokkit.course.claims` the checks of
claims about trained runs: :func:`check_claim`, :func:`check_grokking`.
Each prints ``✅ ... passed`` or raises :class:`CheckFailed` with a precise message.

Language
--------
Check messages are in English unless the environment variable ``GROKKIT_LANG`` is ``zh``
(Simplified Chinese); :func:`set_language` sets it, and the Chinese notebooks set it in
their first code cell. The messages go through :mod:`gettext`; see
:mod:`grokkit.course.i18n`.

The Chinese edition
-------------------
``python -m grokkit.course zh build`` writes ``notebooks/zh/`` (and its learner's
edition, ``learner/zh/``) from the English notebooks and the translation catalogs in ``i18n/zh/``;
``zh status`` lists what is stale or missing. See :mod:`grokkit.course.zh`.
"""

from grokkit.course.claims import check_claim, check_grokking, first_step_at
from grokkit.course.core import CheckFailed, check_array, check_equal, check_function, check_scalar, passed
from grokkit.course.i18n import language, set_language
from grokkit.course.student import (
    NotebookError,
    build_student,
    exercise_problems,
    student_notebook,
)
from grokkit.course.tagging import tag_notebook

__all__ = [
    "CheckFailed",
    "NotebookError",
    "build_student",
    "check_array",
    "check_claim",
    "check_equal",
    "check_function",
    "check_grokking",
    "check_scalar",
    "exercise_problems",
    "first_step_at",
    "language",
    "passed",
    "set_language",
    "student_notebook",
    "tag_notebook",
]
