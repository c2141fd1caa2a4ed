"""nbgrader metadata for the course's exercises: which cells are solutions, which are graded checks.

:func:`tag_notebook` marks each untagged solution cell (and the check cell right after a
code solution) the way ``nbgrader generate_assignment`` expects; :func:`tag_notebooks`
does it in place for files (``python -m grokkit.course tag``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from grokkit.course.student import (
    CHECK_CALL, CHECK_WITHIN, DIGITS, EXERCISE_HEADER, LETTERS, SOLUTION, _nbgrader, _notebook_number, _source,
    dump_notebook, load_notebook,
)
from grokkit.run import atomic_write

__all__ = ["tag_notebook", "tag_notebooks"]


def _nbgrader_meta(grade_id: str, *, solution: bool, grade: bool, points: int = 1) -> dict[str, Any]:
    """Build nbgrader schema-3 cell metadata."""
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": grade and not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def tag_notebook(nb: dict[str, Any], path: Path | str = "<notebook>") -> tuple[dict[str, Any], int]:
    """Add nbgrader metadata to untagged solution cells and their check cells.

    Code solution cells become nbgrader solution cells; the check cell after each becomes
    an autograded test cell worth one point; markdown solution cells become manually
    graded answers. Returns the tagged copy and how many cells were changed.
    """
    nb = copy.deepcopy(nb)
    cells = nb["cells"]
    stem = re.sub(r"[^A-Za-z0-9_\-]", "_", Path(path).stem) or "nb"
    number = _notebook_number(path)
    prefix = f"nb{int(number.rstrip(LETTERS)):02d}{number.lstrip(DIGITS)}" if number is not None else stem
    used = {
        str(_nbgrader(c).get("grade_id"))
        for c in cells
        if _nbgrader(c).get("grade_id")
    }
    exercise = None
    changed = 0
    count = 0

    def fresh(base: str) -> str:
        candidate, k = base, 2
        while candidate in used:
            candidate, k = f"{base}_{k}", k + 1
        used.add(candidate)
        return candidate

    for i, cell in enumerate(cells):
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            header = EXERCISE_HEADER.match(text.lstrip())
            if header:
                exercise = f"{header.group(1)}_{header.group(2)}"
        if SOLUTION[0] not in text or _nbgrader(cell).get("solution"):
            continue
        count += 1
        base = f"{prefix}_ex{exercise}" if exercise else f"{prefix}_solution{count}"
        meta = cell.setdefault("metadata", {})
        if cell["cell_type"] == "code":
            meta["nbgrader"] = _nbgrader_meta(fresh(base), solution=True, grade=False)
            for follow in cells[i + 1 : i + 1 + CHECK_WITHIN]:
                if follow["cell_type"] == "code" and CHECK_CALL.search(_source(follow)):
                    if not _nbgrader(follow).get("grade"):
                        follow.setdefault("metadata", {})["nbgrader"] = _nbgrader_meta(
                            fresh(f"{base}_check"), solution=False, grade=True
                        )
                        changed += 1
                    break
        else:
            meta["nbgrader"] = _nbgrader_meta(fresh(base), solution=True, grade=True)
        changed += 1
    return nb, changed


def tag_notebooks(paths: list[Path]) -> int:
    """Tag notebooks in place (only files that change are rewritten); return cells changed."""
    total = 0
    for path in paths:
        nb = load_notebook(path)
        tagged, changed = tag_notebook(nb, path)
        if changed:
            text = dump_notebook(tagged).encode("utf-8")
            atomic_write(Path(path), lambda f: f.write(text))     # never a half-written notebook
            total += changed
    return total
