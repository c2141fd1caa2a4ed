"""Student versions of the course notebooks, and the rules every exercise follows.

The source notebooks in ``notebooks/`` hold the solutions. :func:`build_student` writes
the versions learners get, following nbgrader's documented rules:

* in any cell, a region from a line containing ``BEGIN SOLUTION`` to a line containing
  ``END SOLUTION`` becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (code)
  or ``YOUR ANSWER HERE`` (markdown), indented like the ``BEGIN`` line;
* a cell tagged as an nbgrader solution cell that has no such region is replaced whole
  by the same stub;
* regions between ``BEGIN HIDDEN TESTS`` / ``END HIDDEN TESTS`` and between
  ``BEGIN MARK SCHEME`` / ``END MARK SCHEME`` are removed;
* outputs, execution counts and saved widget state are cleared.

Bad input (a path that is not a notebook, malformed JSON, a ``BEGIN`` without its
``END``) raises :class:`NotebookError` naming the file and the cell, before anything is
written: all notebooks are converted in memory, written to a temporary folder beside
the output, and only then moved into place.

:func:`exercise_problems` checks the exercise format of a source notebook;
:mod:`grokkit.course.tagging` adds the nbgrader cell metadata that ``nbgrader
generate_assignment`` needs.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "NotebookError",
    "CODE_STUB",
    "TEXT_STUB",
    "load_notebook",
    "dump_notebook",
    "student_notebook",
    "build_student",
    "write_notebooks",
    "notebook_paths",
    "exercise_problems",
]

CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("YOUR ANSWER HERE",)

# nbgrader's delimiters: a line that *contains* one of these strings opens or closes a
# region, whatever comment characters surround it (``### BEGIN SOLUTION`` in code,
# ``=== BEGIN MARK SCHEME ===`` in markdown).
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARK_SCHEME = ("BEGIN MARK SCHEME", "END MARK SCHEME")

# N is the notebook's number: digits, and a letter for a chapter inserted after one (01b).
# In English or as the Chinese edition words them (### 练习 N.M — ..., **难度** · **重要性** · **时间** ~10 分钟).
EXERCISE_HEADER = re.compile(r"^###\s+(?:Exercise|练习)\s+(\d+[a-z]?)\.(\d+)\s+[—–-]\s+\S")
EXERCISE_META = re.compile(
    r"\*\*(?:Difficulty|难度)\*\*\s*[🔴⚪]{5}\s*·\s*"
    r"\*\*(?:Importance|重要性)\*\*\s*[🔵⚪]{5}\s*·\s*"
    r"\*\*(?:Time|时间)\*\*\s*~?\s*\d+\s*(?:min|分钟)"
)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
CHECK_CALL = re.compile(r"\bcheck_\w*\s*\(")
GRADE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
# How far after a solution cell its check call may come (the next cell, or the one after).
CHECK_WITHIN = 2


class NotebookError(ValueError):
    """A source notebook cannot be converted; the message names the file and the cell."""


# --------------------------------------------------------------------------- reading


def _source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _set_source(cell: dict[str, Any], text: str) -> None:
    """Store a cell's source as a list of lines, as Jupyter writes it."""
    cell["source"] = text.splitlines(keepends=True)


def _cell_label(path: Path | str, index: int, cell: dict[str, Any]) -> str:
    """Name a cell for an error message: file, 1-based position, type and first line."""
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    if len(first) > 50:
        first = first[:47] + "..."
    return f"{path}, cell {index + 1} ({cell.get('cell_type', '?')} cell starting {first!r})"


def load_notebook(path: Path | str) -> dict[str, Any]:
    """Read a notebook file as JSON, raising NotebookError if it is not an nbformat-4 notebook."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise NotebookError(f"{path}: not a notebook (expected a .ipynb file)")
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NotebookError(f"{path}: not a notebook (not UTF-8 text: {err})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(
            f"{path}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells)")
    if nb.get("nbformat") != 4:
        raise NotebookError(
            f"{path}: nbformat {nb.get('nbformat')!r} is not supported (expected 4)"
        )
    if not isinstance(nb.get("metadata", {}), dict):
        raise NotebookError(f"{path}: notebook metadata is a {type(nb['metadata']).__name__}, not an object")
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"{path}, cell {index + 1}: not a valid notebook cell")
        _check_cell_metadata(cell, f"{path}, cell {index + 1}")
    return nb


def _check_cell_metadata(cell: dict[str, Any], where: str) -> None:
    """Refuse cell metadata of the wrong type (the builder reads it to find solutions)."""
    meta = cell.get("metadata", {})
    if not isinstance(meta, dict):
        raise NotebookError(f"{where}: cell metadata is a {type(meta).__name__}, not an object")
    grader = meta.get("nbgrader", {})
    if not isinstance(grader, dict):
        raise NotebookError(
            f"{where}: metadata 'nbgrader' is a {type(grader).__name__}, not an object"
        )
    for key in ("solution", "grade", "locked", "task"):
        if key in grader and not isinstance(grader[key], bool):
            raise NotebookError(
                f"{where}: metadata nbgrader.{key} is {grader[key]!r}, not true or false"
            )


def dump_notebook(nb: dict[str, Any]) -> str:
    """Serialize a notebook the way Jupyter does (sorted keys, one-space indent)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- converting


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    """The cell's nbgrader metadata (empty if it has none)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _replace_regions(
    text: str,
    markers: tuple[str, str],
    stub: tuple[str, ...] | None,
    where: str,
) -> tuple[str, bool]:
    """Replace each region between ``markers`` by ``stub`` (or drop it if ``stub`` is None).

    Returns the new text and whether a region was found. Lines are split and joined on
    "\\n" exactly as nbgrader does, so the result matches ``nbgrader generate_assignment``.
    """
    begin, end = markers
    out: list[str] = []
    inside = False
    found = False
    begin_line = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if begin in line:
            if inside:
                raise NotebookError(
                    f"{where}: line {number} opens a second {begin!r} region before "
                    f"line {begin_line}'s region was closed with {end!r}"
                )
            inside, found, begin_line = True, True, number
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)  # type: ignore[union-attr]
                out.extend(indent + stub_line for stub_line in stub)
        elif end in line:
            if not inside:
                raise NotebookError(f"{where}: line {number} has {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{where}: {begin!r} on line {begin_line} has no matching {end!r}")
    return "\n".join(out), found


def _student_cell(cell: dict[str, Any], where: str) -> dict[str, Any]:
    """Return the student version of one cell (a new dict; the input is left unchanged)."""
    cell = copy.deepcopy(cell)
    kind = cell["cell_type"]
    text = _source(cell)
    stub = CODE_STUB if kind == "code" else TEXT_STUB
    text, replaced = _replace_regions(text, SOLUTION, stub, where)
    if _nbgrader(cell).get("solution") and not replaced:
        text = "\n".join(stub)
    text, _ = _replace_regions(text, HIDDEN_TESTS, None, where)
    text, _ = _replace_regions(text, MARK_SCHEME, None, where)
    _set_source(cell, text)
    if kind == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    meta = cell.get("metadata", {})
    for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
        meta.pop(key, None)
    return cell


def student_notebook(nb: dict[str, Any], path: Path | str = "<notebook>") -> dict[str, Any]:
    """Return the student version of a notebook: solutions stubbed, hidden parts and outputs gone."""
    student = copy.deepcopy(nb)
    student["cells"] = [
        _student_cell(cell, _cell_label(path, i, cell)) for i, cell in enumerate(nb["cells"])
    ]
    meta = student.setdefault("metadata", {})
    meta.pop("widgets", None)  # saved widget state is output too
    meta.pop("celltoolbar", None)
    return student


def notebook_paths(src: Path | str) -> list[Path]:
    """The notebooks a source path names: the file itself, or a folder's ``*.ipynb`` in order."""
    src = Path(src)
    if src.is_dir():
        paths = sorted(p for p in src.glob("*.ipynb") if p.is_file())
        if not paths:
            raise NotebookError(f"{src}: no notebooks (*.ipynb) in this folder")
        return paths
    if not src.exists():
        raise NotebookError(f"{src}: no such file or folder")
    if src.suffix != ".ipynb":
        raise NotebookError(f"{src}: not a notebook (expected a .ipynb file or a folder)")
    return [src]


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_output_folder(out: Path) -> None:
    """Refuse, in one line, an output path that cannot become a folder of notebooks."""
    if out.exists() and not out.is_dir():
        raise NotebookError(f"{out}: exists and is not a folder")
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotebookError(f"{out}: cannot be created, {ancestor} is a file, not a folder")
    writable = out if out.exists() else ancestor
    if not os.access(writable, os.W_OK | os.X_OK):
        raise NotebookError(f"{out}: cannot write there ({writable} is not writable)")
    if out.exists() and not os.access(out.parent, os.W_OK | os.X_OK):
        raise NotebookError(f"{out}: cannot write there ({out.parent} is not writable)")


def write_notebooks(out: Path | str, converted: list[tuple[str, str]]) -> list[Path]:
    """Write (file name, text) pairs into the folder ``out``, all or nothing.

    Everything is written into a temporary folder beside ``out`` first; only when all
    files are there are they renamed into place, so a failure leaves ``out`` as it was.
    The folder and files get the permissions the user's umask gives (not mkdtemp's 0700).
    """
    out = Path(out)
    _check_output_folder(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as err:
        raise NotebookError(f"{out}: cannot write there ({err.strerror})") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for name, text in converted:
            (tmp / name).write_text(text, encoding="utf-8")
        if not out.exists():
            os.rename(tmp, out)
        else:
            for name, _ in converted:
                os.replace(tmp / name, out / name)
    except OSError as err:
        raise NotebookError(f"{out}: cannot write there ({err.strerror})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return [out / name for name, _ in converted]


def _refuse_source_folder(inputs: list[Path], out: Path) -> None:
    """Refuse an output folder that holds one of the source notebooks."""
    resolved_out = out.resolve()
    for path in inputs:
        if path.resolve().parent == resolved_out:
            raise NotebookError(
                f"{out}: the output folder holds the source notebook {path.name}; "
                "writing there would overwrite the solutions"
            )


def build_student(src: Path | str, out: Path | str) -> list[Path]:
    """Write student versions of the notebooks in ``src`` (a folder or one file) into ``out``.

    Every notebook is converted in memory first; if any is bad, or ``out`` cannot be
    written, NotebookError is raised and nothing is written. Returns the paths written.
    """
    inputs = notebook_paths(src)
    out = Path(out)
    _check_output_folder(out)
    _refuse_source_folder(inputs, out)
    converted = [(p.name, dump_notebook(student_notebook(load_notebook(p), p))) for p in inputs]
    return write_notebooks(out, converted)


# --------------------------------------------------------------------------- exercise format


def _chapter(digits: str, letter: str = "") -> str:
    """A chapter's number without leading zeros: "01", "b" -> "1b"."""
    return f"{int(digits)}{letter}"


def _notebook_number(path: Path | str) -> str | None:
    """The NN of a file named ``NN_something.ipynb``, or None."""
    match = re.match(r"^(\d+)([a-z]?)_", Path(path).name)
    return _chapter(match.group(1), match.group(2)) if match else None


def exercise_problems(nb: dict[str, Any], path: Path | str = "<notebook>") -> list[str]:
    """List every way a source notebook breaks the course's exercise format (empty if none).

    The rules (docs/instructors.md): each code solution cell comes after a markdown header
    ``### Exercise N.M — title`` (N = the notebook's number) with a Difficulty ·
    Importance · Time line; a check call (``check_...(``) follows within two cells;
    solution cells and check cells carry nbgrader metadata with unique grade ids; hidden
    tests sit only in grade cells and mark schemes only in task cells.
    """
    problems: list[str] = []
    cells = nb.get("cells", [])
    number = _notebook_number(path)
    last_header: tuple[int, int, int] | None = None  # (cell index, N, M)
    seen_ids: dict[str, int] = {}
    previous_m = 0

    for i, cell in enumerate(cells):
        where = _cell_label(path, i, cell)
        text = _source(cell)
        meta = _nbgrader(cell)
        kind = cell.get("cell_type")

        if kind == "markdown":
            header = EXERCISE_HEADER.match(text.lstrip())
            if header:
                n = _chapter(*re.match(r"(\d+)([a-z]?)", header.group(1)).groups())  # type: ignore[union-attr]
                m = int(header.group(2))
                if number is not None and n != number:
                    problems.append(f"{where}: exercise {n}.{m} should be numbered {number}.M")
                if m <= previous_m:
                    problems.append(f"{where}: exercise {n}.{m} is not numbered after {n}.{previous_m}")
                previous_m = m
                if not EXERCISE_META.search(text):
                    problems.append(
                        f"{where}: exercise header lacks the line "
                        "'**Difficulty** 🔴🔴⚪⚪⚪ · **Importance** 🔵🔵🔵⚪⚪ · **Time** ~10 min'"
                    )
                last_header = (i, n, m)

        for markers, rule, ok in (
            (SOLUTION, "solution cell (nbgrader solution: true)", bool(meta.get("solution"))),
            (HIDDEN_TESTS, "grade cell (nbgrader grade: true)", bool(meta.get("grade"))),
            (MARK_SCHEME, "task cell (nbgrader task: true)", bool(meta.get("task"))),
        ):
            if any(marker in text for marker in markers) and not ok:
                problems.append(
                    f"{where}: {markers[0]!r} region outside an nbgrader {rule}; "
                    "run `python -m grokkit.course tag` on this notebook"
                )
        try:
            _student_cell(cell, where)
        except NotebookError as err:
            problems.append(str(err))

        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            grade_id = str(meta.get("grade_id", ""))
            if not GRADE_ID.match(grade_id):
                problems.append(f"{where}: nbgrader grade_id {grade_id!r} is missing or invalid")
            elif grade_id in seen_ids:
                problems.append(
                    f"{where}: nbgrader grade_id {grade_id!r} repeats cell {seen_ids[grade_id] + 1}"
                )
            else:
                seen_ids[grade_id] = i
            if meta.get("grade") and "points" not in meta:
                problems.append(f"{where}: nbgrader grade cell has no points")

        if kind == "code" and SOLUTION[0] in text:
            if last_header is None:
                problems.append(
                    f"{where}: solution cell has no '### Exercise N.M — title' markdown cell "
                    "before it"
                )
            follow = cells[i + 1 : i + 1 + CHECK_WITHIN]
            checks = [
                c for c in follow if c.get("cell_type") == "code" and CHECK_CALL.search(_source(c))
            ]
            if not checks:
                problems.append(
                    f"{where}: no check call (check_...) in the {CHECK_WITHIN} cells after "
                    "this solution cell"
                )
            elif not _nbgrader(checks[0]).get("grade"):
                problems.append(
                    f"{_cell_label(path, cells.index(checks[0]), checks[0])}: check cell is "
                    "not an nbgrader grade cell; run `python -m grokkit.course tag` on this "
                    "notebook"
                )
    return problems
