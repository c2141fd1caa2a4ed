"""The learner's edition: what a learner opens by default, generated from the instructor's source.

The instructor's notebooks in ``notebooks/`` hold the solutions (between nbgrader's
markers) and are what CI executes. The learner's edition in ``learner/`` is the same
course with every solution replaced by a stub (:func:`grokkit.course.student.student_notebook`),
the hints and checks kept, and one line added under each exercise's heading that links
the worked solution: the same exercise in the instructor's notebook. The two folders sit
side by side, so a relative path such as ``../runs`` or ``../docs`` means the same
thing in both editions.

``python -m grokkit.course learner`` rebuilds it; a test fails when the committed
edition differs from a rebuild or when a solution line leaks into it. Never edit the
learner's edition by hand.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from grokkit.course.student import (
    EXERCISE_HEADER,
    SOLUTION,
    NotebookError,
    _check_output_folder,
    _refuse_source_folder,
    _set_source,
    _source,
    dump_notebook,
    load_notebook,
    notebook_paths,
    student_notebook,
    write_notebooks,
)

__all__ = [
    "SOURCE_DIR", "LEARNER_DIR", "NotebookError", "solution_link", "learner_notebook", "build_learner",
    "leaked_solution_lines", "stale_notebooks",
]

# Both relative to the repository root.
SOURCE_DIR = "notebooks"
LEARNER_DIR = "learner"

SOLUTION_LINE = "*Stuck? The worked solution is Exercise {number} in [the instructor's edition of this notebook]({link}).*"


def solution_link(source: Path | str, out: Path | str) -> str:
    """The link, relative to the folder ``out``, to the instructor's notebook ``source`` (with / separators)."""
    return Path(os.path.relpath(Path(source).resolve(), Path(out).resolve())).as_posix()


def learner_notebook(
    nb: dict[str, Any], path: Path | str, link: str, *, header: re.Pattern[str] = EXERCISE_HEADER,
    line: str = SOLUTION_LINE,
) -> dict[str, Any]:
    """The learner's version of a source notebook: solutions stubbed, a solution link under each exercise heading.

    ``link`` is where the learner's notebook finds the instructor's one (a relative path).
    ``header`` (groups: chapter, number) and ``line`` (``{number}``, ``{link}``) let a
    translated edition find its own headings and word its own link line.
    """
    learner = student_notebook(nb, path)
    header_cell: dict[str, Any] | None = None
    number = ""
    for src_cell, cell in zip(nb["cells"], learner["cells"]):
        if cell["cell_type"] == "markdown":
            match = header.match(_source(cell).lstrip())
            if match:
                header_cell, number = cell, f"{match.group(1)}.{match.group(2)}"
                continue
        if header_cell is not None and SOLUTION[0] in _source(src_cell):
            text = _source(header_cell).rstrip("\n")
            _set_source(header_cell, text + "\n\n" + line.format(number=number, link=link))
            header_cell = None
    return learner


def _lines(text: str, solution: bool) -> list[str]:
    """The stripped, non-blank lines of a cell inside (solution=True) or outside its solution regions."""
    found, inside = [], False
    for line in text.split("\n"):
        if SOLUTION[0] in line:
            inside = True
        elif SOLUTION[1] in line:
            inside = False
        elif line.strip() and inside == solution:
            found.append(line.strip())
    return found


def leaked_solution_lines(source: dict[str, Any], learner: dict[str, Any]) -> list[str]:
    """Solution lines of ``source`` that stand as a whole line anywhere in ``learner``.

    A hint may quote a fragment inside a sentence; a line the source's code also has
    outside every solution region (``return x``) is not counted as a solution line.
    """
    outside = {
        line
        for cell in source["cells"]
        if cell["cell_type"] == "code"
        for line in _lines(_source(cell), solution=False)
    }
    shown = {line.strip() for cell in learner["cells"] for line in _source(cell).split("\n")}
    return [
        line
        for cell in source["cells"]
        for line in _lines(_source(cell), solution=True)
        if line not in outside and line in shown
    ]


def build_learner(src: Path | str = SOURCE_DIR, out: Path | str = LEARNER_DIR) -> list[Path]:
    """Write the learner's edition of the notebooks in ``src`` into ``out``, all or nothing.

    Raises NotebookError (one line, naming the file or folder) before anything is written
    when a notebook is bad or ``out`` cannot be written. Notebooks in ``out`` whose source
    is gone are removed after the new ones are in place. Returns the paths written.
    """
    inputs = notebook_paths(src)
    out = Path(out)
    _check_output_folder(out)
    _refuse_source_folder(inputs, out)
    converted = [
        (p.name, dump_notebook(learner_notebook(load_notebook(p), p, solution_link(p, out))))
        for p in inputs
    ]
    written = write_notebooks(out, converted)
    for path in stale_notebooks(src, out):
        path.unlink()
    return written


def stale_notebooks(src: Path | str = SOURCE_DIR, out: Path | str = LEARNER_DIR) -> list[Path]:
    """Notebooks in ``out`` that have no source in ``src`` any more (left from a renamed chapter)."""
    names = {p.name for p in notebook_paths(src)}
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p for p in out.glob("*.ipynb") if p.name not in names)

