"""The student builder removes every solution, keeps runnable stubs, and refuses bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grokkit.course.student import (
    NotebookError,
    build_student,
    dump_notebook,
    exercise_problems,
    student_notebook,
)
from grokkit.course.tagging import tag_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# Sentinels that appear only inside solution / hidden-test / mark-scheme regions.
SECRETS = ("SECRET_SOLUTION_ALPHA", "SECRET_SOLUTION_BETA", "SECRET_HIDDEN", "SECRET_MARKS", "SECRET_ESSAY")


def _synthetic() -> nbformat.NotebookNode:
    """A small notebook with one of everything the builder must handle."""
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    solution = v4.new_code_cell(
        "import numpy as np\n"
        "\n"
        "def modsum(a, b, p=67):\n"
        '    """Return (a + b) mod p."""\n'
        "    ### BEGIN SOLUTION\n"
        "    SECRET_SOLUTION_ALPHA = (a + b) % p\n"
        "    return SECRET_SOLUTION_ALPHA\n"
        "    ### END SOLUTION\n"
    )
    solution.outputs = [v4.new_output("stream", name="stdout", text="hello\n")]
    solution.execution_count = 3
    check = v4.new_code_cell(
        "from grokkit.course import check_function\n"
        "check_function(modsum, lambda a, b: (a + b) % 67, [(1, 2), (60, 10)])\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert modsum(66, 1) == 0  # SECRET_HIDDEN\n"
        "### END HIDDEN TESTS\n"
    )
    check.execution_count = 4
    toplevel = v4.new_code_cell(
        "### BEGIN SOLUTION\nSECRET_SOLUTION_BETA = 911\nanswer = SECRET_SOLUTION_BETA\n### END SOLUTION\n"
        "check_scalar_later = answer"
    )
    essay = v4.new_markdown_cell("Why does test accuracy lag?\n\n=== BEGIN SOLUTION ===\nSECRET_ESSAY\n=== END SOLUTION ===")
    task = v4.new_markdown_cell("Describe the curve.\n\n=== BEGIN MARK SCHEME ===\nSECRET_MARKS\n=== END MARK SCHEME ===")
    task.metadata["nbgrader"] = {
        "grade": False, "grade_id": "task1", "locked": False, "points": 2,
        "schema_version": 3, "solution": False, "task": True,
    }
    nb.cells = [
        v4.new_markdown_cell(
            "### Exercise 3.1 — Add modulo p\n"
            "**Difficulty** 🔴⚪⚪⚪⚪ · **Importance** 🔵🔵⚪⚪⚪ · **Time** ~5 min\n\nWrite `modsum`."
        ),
        solution,
        check,
        v4.new_markdown_cell("<details><summary>Hint</summary>Use %.</details>"),
        v4.new_markdown_cell(
            "### Exercise 3.2 — Count\n**Difficulty** 🔴⚪⚪⚪⚪ · **Importance** 🔵⚪⚪⚪⚪ · **Time** ~2 min"
        ),
        toplevel,
        v4.new_code_cell("from grokkit.course import check_scalar\ncheck_scalar('answer', answer, 911)"),
        essay,
        task,
    ]
    tagged, _ = tag_notebook(json.loads(nbformat.writes(nb)), "03_synthetic.ipynb")
    return nbformat.from_dict(tagged)


def _write(path: Path, nb: nbformat.NotebookNode | dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_notebook(dict(nb)), encoding="utf-8")
    return path


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    _write(src / "03_synthetic.ipynb", _synthetic())
    return src


# --------------------------------------------------------------------------- conversion


def test_student_version_contains_no_solution_hidden_test_or_mark_scheme_text(synthetic_dir, tmp_path):
    [out] = build_student(synthetic_dir, tmp_path / "out")
    text = out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "MARK SCHEME" not in text


def test_student_stubs_keep_indentation_and_raise_not_implemented(synthetic_dir, tmp_path):
    [out] = build_student(synthetic_dir, tmp_path / "out")
    nb = nbformat.read(out, as_version=4)
    function_cell = nb.cells[1].source
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in function_cell
    assert 'def modsum(a, b, p=67):\n    """Return (a + b) mod p."""\n    # YOUR CODE HERE' in function_cell
    namespace: dict = {}
    exec(function_cell, namespace)  # defining the stub works...
    with pytest.raises(NotImplementedError):
        namespace["modsum"](1, 2)  # ...calling it raises
    with pytest.raises(NotImplementedError):
        exec(nb.cells[5].source, {})  # a top-level stub raises when the cell runs


def test_student_version_keeps_check_calls_and_prose(synthetic_dir, tmp_path):
    [out] = build_student(synthetic_dir, tmp_path / "out")
    nb = nbformat.read(out, as_version=4)
    assert "check_function(modsum" in nb.cells[2].source
    assert nb.cells[0].source.startswith("### Exercise 3.1")
    assert nb.cells[7].source == "Why does test accuracy lag?\n\nYOUR ANSWER HERE"
    assert nb.cells[8].source == "Describe the curve.\n"


def test_student_version_has_no_outputs_counts_or_widget_state_and_is_valid(synthetic_dir, tmp_path):
    [out] = build_student(synthetic_dir, tmp_path / "out")
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "widgets" not in nb.metadata


def test_student_notebook_leaves_its_input_unchanged():
    nb = json.loads(nbformat.writes(_synthetic()))
    before = json.dumps(nb, sort_keys=True)
    student_notebook(nb, "x.ipynb")
    assert json.dumps(nb, sort_keys=True) == before


def test_untagged_solution_cell_without_markers_is_left_alone_but_tagged_one_is_stubbed():
    v4 = nbformat.v4
    plain = v4.new_code_cell("x = 1")
    whole = v4.new_code_cell("x = SECRET_SOLUTION_ALPHA")
    whole.metadata["nbgrader"] = {"grade": False, "grade_id": "w", "locked": False,
                                  "schema_version": 3, "solution": True, "task": False}
    nb = json.loads(nbformat.writes(v4.new_notebook(cells=[plain, whole])))
    student = student_notebook(nb)
    assert "".join(student["cells"][0]["source"]) == "x = 1"
    assert "".join(student["cells"][1]["source"]) == "# YOUR CODE HERE\nraise NotImplementedError()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_course_notebook_round_trips_to_a_valid_student_version(path, tmp_path):
    [out] = build_student(path, tmp_path / "student")
    student = nbformat.read(out, as_version=4)
    nbformat.validate(student)
    source = nbformat.read(path, as_version=4)
    assert len(student.cells) == len(source.cells)
    for src_cell, stu_cell in zip(source.cells, student.cells):
        if "BEGIN SOLUTION" in src_cell.source:
            solution_lines = _solution_lines(src_cell.source)
            for line in solution_lines:
                assert line not in stu_cell.source, f"solution line survived: {line!r}"
            if src_cell.cell_type == "code":
                with pytest.raises(NotImplementedError):
                    _run_stub(stu_cell.source)
        else:
            assert stu_cell.source == src_cell.source or "HIDDEN TESTS" in src_cell.source


def _solution_lines(source: str) -> list[str]:
    """The distinctive lines inside a cell's solution regions (not blank, not trivial)."""
    lines, inside = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 12:
            lines.append(line.strip())
    return lines


class _Anything:
    """Stands in for whatever earlier cells defined: every operation gives another _Anything."""

    def __getattr__(self, name: str) -> "_Anything":
        return self

    def __call__(self, *args, **kwargs) -> "_Anything":
        return self

    def __getitem__(self, key) -> "_Anything":
        return self

    def __iter__(self):
        return iter(())

    def __enter__(self) -> "_Anything":
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def __format__(self, spec: str) -> str:
        return "anything"

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __call__
    __rtruediv__ = __floordiv__ = __mod__ = __pow__ = __neg__ = __matmul__ = __rmatmul__ = __call__


def _names(code) -> set[str]:
    """Every global name a code object and the code objects nested in it refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


def _run_stub(source: str) -> None:
    """Run a stub cell alone, with stand-ins for names defined by earlier cells, then call
    each function it defines (with stand-in arguments): the stub must raise."""
    import builtins
    import inspect

    import torch

    code = compile(source, "<stub>", "exec")
    namespace: dict = {name: _Anything() for name in _names(code) if not hasattr(builtins, name)}
    if "torch" in namespace:
        namespace["torch"] = torch  # a stub may subclass torch.nn.Module
    exec(code, namespace)
    for value in list(namespace.values()):
        if inspect.isclass(value) and getattr(value.__init__, "__code__", None) is not None \
                and value.__init__.__code__.co_filename == "<stub>":
            value()  # a stubbed __init__ raises
        if inspect.isfunction(value) and value.__code__.co_filename == "<stub>":
            params = inspect.signature(value).parameters.values()
            args = [_Anything() for p in params if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            value(*args)


def test_rebuilding_replaces_old_student_files(synthetic_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "03_synthetic.ipynb").write_text("stale", encoding="utf-8")
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    build_student(synthetic_dir, out)
    assert (out / "03_synthetic.ipynb").read_text(encoding="utf-8") != "stale"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder left


# --------------------------------------------------------------------------- bad input


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


def test_a_path_that_is_not_a_notebook_is_refused_by_name(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(NotebookError, match=r"notes.txt: not a notebook"):
        build_student(text, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_malformed_json_is_refused_with_file_and_position(synthetic_dir, tmp_path):
    (synthetic_dir / "04_broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(NotebookError, match=r"04_broken.ipynb: malformed JSON at line 1, column 12"):
        build_student(synthetic_dir, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")  # the good notebook was not written either


def test_json_that_is_not_a_notebook_is_refused(tmp_path):
    path = tmp_path / "data.ipynb"
    path.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(NotebookError, match=r"data.ipynb: not a Jupyter notebook"):
        build_student(path, tmp_path / "out")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", r"'BEGIN SOLUTION' on line 2 has no matching 'END SOLUTION'"),
        ("x = 1\n### END SOLUTION\n", r"line 2 has 'END SOLUTION' without 'BEGIN SOLUTION'"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", r"line 2 opens a second 'BEGIN SOLUTION' region"),
        ("check()\n### BEGIN HIDDEN TESTS\nassert True\n", r"'BEGIN HIDDEN TESTS' on line 2 has no matching"),
    ],
    ids=["begin-without-end", "end-without-begin", "nested", "hidden-without-end"],
)
def test_unbalanced_markers_are_refused_naming_file_and_cell(source, message, synthetic_dir, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("intro"), nbformat.v4.new_code_cell(source)])
    _write(synthetic_dir / "05_bad.ipynb", nb)
    out = tmp_path / "out"
    with pytest.raises(NotebookError) as info:
        build_student(synthetic_dir, out)
    text = str(info.value)
    assert "05_bad.ipynb, cell 2 (code cell starting" in text
    assert __import__("re").search(message, text)
    _assert_nothing_written(out)


def test_a_bad_notebook_leaves_an_existing_output_folder_untouched(synthetic_dir, tmp_path):
    out = tmp_path / "out"
    build_student(synthetic_dir, out)
    before = (out / "03_synthetic.ipynb").read_text(encoding="utf-8")
    _write(synthetic_dir / "00_bad.ipynb", nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION")]))
    with pytest.raises(NotebookError):
        build_student(synthetic_dir, out)
    assert sorted(p.name for p in out.iterdir()) == ["03_synthetic.ipynb"]
    assert (out / "03_synthetic.ipynb").read_text(encoding="utf-8") == before


def test_writing_into_the_source_folder_is_refused(synthetic_dir):
    with pytest.raises(NotebookError, match="would overwrite the solutions"):
        build_student(synthetic_dir, synthetic_dir)


def test_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotebookError, match="no notebooks"):
        build_student(tmp_path / "empty", tmp_path / "out")


# --------------------------------------------------------------------------- command line


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grokkit.course", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_command_line_writes_student_notebooks(synthetic_dir, tmp_path):
    result = _cli("student", str(synthetic_dir), str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert (tmp_path / "out" / "03_synthetic.ipynb").is_file()


def test_command_line_reports_bad_input_in_one_line_with_status_2(synthetic_dir, tmp_path):
    (synthetic_dir / "04_broken.ipynb").write_text("{not json", encoding="utf-8")
    result = _cli("student", str(synthetic_dir), str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "04_broken.ipynb: malformed JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_command_line_lint_flags_a_solution_without_check(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    path = _write(tmp_path / "01_lonely.ipynb", nb)
    result = _cli("lint", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert "no check call" in result.stdout
    assert "no '### Exercise N.M — title' markdown cell" in result.stdout


def test_command_line_tag_makes_a_notebook_pass_the_format_rules(tmp_path):
    nb = json.loads(nbformat.writes(_synthetic()))
    for cell in nb["cells"]:
        cell["metadata"].pop("nbgrader", None)
    nb["cells"][8]["metadata"]["nbgrader"] = _synthetic().cells[8].metadata["nbgrader"]  # the task cell
    path = _write(tmp_path / "03_synthetic.ipynb", nb)
    assert exercise_problems(nb, path)  # untagged: problems
    result = _cli("tag", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tagged 5 cells" in result.stdout
    assert exercise_problems(json.loads(path.read_text(encoding="utf-8")), path) == []


# --------------------------------------------------------------------------- exercise format


def test_synthetic_notebook_follows_the_exercise_format():
    nb = json.loads(nbformat.writes(_synthetic()))
    assert exercise_problems(nb, "03_synthetic.ipynb") == []


def test_format_rules_catch_missing_metadata_line_wrong_number_and_duplicate_ids():
    nb = json.loads(nbformat.writes(_synthetic()))
    nb["cells"][0]["source"] = "### Exercise 2.1 — Add modulo p\nno metadata line"
    nb["cells"][6]["metadata"]["nbgrader"]["grade_id"] = nb["cells"][2]["metadata"]["nbgrader"]["grade_id"]
    problems = "\n".join(exercise_problems(nb, "03_synthetic.ipynb"))
    assert "exercise 2.1 should be numbered 3.M" in problems
    assert "exercise header lacks the line" in problems
    assert "repeats cell 3" in problems


def test_format_rules_flag_markers_in_prose_cells():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Put code between ### BEGIN SOLUTION and ...")])
    problems = exercise_problems(json.loads(nbformat.writes(nb)), "00_x.ipynb")
    assert any("outside an nbgrader solution cell" in p for p in problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_course_notebook_follows_the_exercise_format(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert exercise_problems(nb, path.relative_to(REPO)) == []


# --------------------------------------------------------------------------- nbgrader


def _nbgrader_release(tmp_path: Path, notebooks: list[Path]) -> Path:
    """Run `nbgrader generate_assignment` on copies of notebooks; return the release folder."""
    if shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("nbgrader is not installed (it is in requirements-dev.txt)")
    course = tmp_path / "course"
    source = course / "source" / "grokkit"
    source.mkdir(parents=True)
    for nb in notebooks:
        shutil.copy(nb, source / nb.name)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", "grokkit",
         "--no-db", "--force", f"--CourseDirectory.root={course}"],
        cwd=course, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return course / "release" / "grokkit"


@pytest.mark.slow
def test_nbgrader_accepts_the_course_notebooks_and_agrees_with_our_student_build(synthetic_dir, tmp_path):
    sources = [synthetic_dir / "03_synthetic.ipynb", *NOTEBOOKS]
    release = _nbgrader_release(tmp_path, sources)
    for src in sources:
        ours = nbformat.read(build_student(src, tmp_path / "ours" / src.stem)[0], as_version=4)
        theirs = nbformat.read(release / src.name, as_version=4)
        assert [c.source for c in ours.cells] == [c.source for c in theirs.cells], src.name
