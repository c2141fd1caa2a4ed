"""The committed learner's edition is a fresh build of the instructor's notebooks, with no solution in it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grokkit.course.learner import (
    LEARNER_DIR, SOURCE_DIR, build_learner, leaked_solution_lines, learner_notebook,
)
from grokkit.course.student import NotebookError, dump_notebook, load_notebook

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / SOURCE_DIR
LEARNER = REPO / LEARNER_DIR
NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))


# --------------------------------------------------------------------------- the committed edition


def test_the_committed_learners_edition_is_a_fresh_build_of_the_source(tmp_path):
    # The same two sibling folders as in the repository, so that the solution links match.
    shutil.copytree(SOURCE, tmp_path / SOURCE_DIR, ignore=shutil.ignore_patterns(".*", "runs"))
    built = build_learner(tmp_path / SOURCE_DIR, tmp_path / LEARNER_DIR)
    committed = sorted(p.name for p in LEARNER.glob("*.ipynb"))
    assert committed == [p.name for p in built], (
        "learner/ does not hold one notebook per source notebook; run `python -m grokkit.course learner`"
    )
    stale = [p.name for p in built if p.read_bytes() != (LEARNER / p.name).read_bytes()]
    assert not stale, f"learner/{stale} differ from a rebuild; run `python -m grokkit.course learner`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_solution_line_leaks_into_the_learners_edition(path):
    source = load_notebook(path)
    learner = load_notebook(LEARNER / path.name)
    assert any("BEGIN SOLUTION" in "".join(c["source"]) for c in source["cells"])
    assert "BEGIN SOLUTION" not in (LEARNER / path.name).read_text(encoding="utf-8")
    leaked = leaked_solution_lines(source, learner)
    assert not leaked, f"{path.name}: solution lines in the learner's edition: {leaked}"


def test_the_leak_check_catches_a_solution_line_quoted_in_a_hint_but_not_a_fragment():
    nb = _notebook("x = 'SECRET'\nreturn_value = x")
    nb["cells"].append(nbformat.v4.new_markdown_cell("<details><summary>Hint</summary>\n\nx = 'SECRET'\n</details>"))
    nb["cells"].append(nbformat.v4.new_markdown_cell("Then `return_value = x` in a sentence."))
    learner = learner_notebook(nb, "03_x.ipynb", "../notebooks/03_x.ipynb")
    assert leaked_solution_lines(nb, learner) == ["x = 'SECRET'"]


def test_every_exercise_in_the_learners_edition_links_its_worked_solution():
    for path in NOTEBOOKS:
        source = load_notebook(path)["cells"]
        learner = load_notebook(LEARNER / path.name)["cells"]
        header = None
        linked = 0
        for i, cell in enumerate(source):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and text.startswith("### Exercise"):
                header = i
            elif "BEGIN SOLUTION" in text and header is not None:
                link = "".join(learner[header]["source"]).rsplit("\n", 1)[-1]
                assert link.startswith("*Stuck? The worked solution is Exercise"), (path.name, header)
                target = link.rsplit("](", 1)[1].split(")", 1)[0]
                assert (LEARNER / target).resolve() == path.resolve(), target
                header, linked = None, linked + 1
        assert linked > 0, path.name


def test_pytest_never_collects_the_learners_edition():
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert LEARNER_DIR not in config["testpaths"]
    assert LEARNER_DIR in config["norecursedirs"]


# --------------------------------------------------------------------------- the builder on synthetic input


def _notebook(solution: str = "x = 1") -> dict:
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("### Exercise 3.1 — Set x\n**Difficulty** 🔴⚪⚪⚪⚪ · **Importance** 🔵⚪⚪⚪⚪ · **Time** ~2 min"),
        v4.new_code_cell(f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION"),
        v4.new_code_cell("check_x(x)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return json.loads(nbformat.writes(nb))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "03_x.ipynb").write_text(dump_notebook(_notebook("x = 'SECRET'")), encoding="utf-8")
    return folder


def test_learner_notebook_stubs_the_solution_and_links_it_under_the_heading():
    nb = learner_notebook(_notebook("x = 'SECRET'"), "03_x.ipynb", "../notebooks/03_x.ipynb")
    text = json.dumps(nb)
    assert "SECRET" not in text
    assert "".join(nb["cells"][1]["source"]) == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert "".join(nb["cells"][0]["source"]).endswith(
        "*Stuck? The worked solution is Exercise 3.1 in "
        "[the instructor's edition of this notebook](../notebooks/03_x.ipynb).*"
    )


def test_the_output_folder_gets_the_umasks_permissions_not_0700(src, tmp_path):
    old = os.umask(0o022)
    try:
        build_learner(src, tmp_path / "learner")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "learner").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "learner" / "03_x.ipynb").stat().st_mode) == 0o644


def test_a_notebook_whose_source_is_gone_is_removed_on_rebuild(src, tmp_path):
    out = tmp_path / "learner"
    build_learner(src, out)
    (src / "03_x.ipynb").rename(src / "04_y.ipynb")
    build_learner(src, out)
    assert sorted(p.name for p in out.iterdir()) == ["04_y.ipynb"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def _unwritable_parent(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere but a pseudo-filesystem
        return Path("/proc/grokkit-test/learner")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "learner"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("output is a file", r"exists and is not a folder"),
        ("parent is a file", r"is a file, not a folder"),
        ("unwritable parent", r"cannot write there"),
        ("cell metadata is a list", r"03_x.ipynb, cell 2: cell metadata is a list, not an object"),
        ("nbgrader metadata is a string", r"03_x.ipynb, cell 2: metadata 'nbgrader' is a str, not an object"),
        ("nbgrader flag is not a bool", r"03_x.ipynb, cell 2: metadata nbgrader.solution is 'yes', not true or false"),
    ],
)
def test_bad_output_or_metadata_gives_one_line_and_leaves_the_output_untouched(case, message, src, tmp_path):
    out = tmp_path / "learner"
    build_learner(src, out)
    before = _snapshot(out)
    nb = _notebook()
    if case == "output is a file":
        out = tmp_path / "a_file"
        out.write_text("keep", encoding="utf-8")
    elif case == "parent is a file":
        (tmp_path / "a_file").write_text("keep", encoding="utf-8")
        out = tmp_path / "a_file" / "learner"
    elif case == "unwritable parent":
        out = _unwritable_parent(tmp_path)
    else:
        nb["cells"][1]["metadata"] = {
            "cell metadata is a list": [],
            "nbgrader metadata is a string": {"nbgrader": "solution"},
            "nbgrader flag is not a bool": {"nbgrader": {"solution": "yes", "grade_id": "a"}},
        }[case]
        (src / "03_x.ipynb").write_text(dump_notebook(nb), encoding="utf-8")
    with pytest.raises(NotebookError, match=message) as info:
        build_learner(src, out)
    assert "\n" not in str(info.value)
    assert _snapshot(tmp_path / "learner") == before
    if case in ("output is a file", "parent is a file"):
        assert (tmp_path / "a_file").read_text(encoding="utf-8") == "keep"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_command_line_rebuilds_into_the_named_folder_and_reports_errors_in_one_line(src, tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grokkit.course", "learner", *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    result = cli(str(src), str(tmp_path / "edition"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "edition" / "03_x.ipynb").is_file()
    (tmp_path / "a_file").write_text("keep", encoding="utf-8")
    result = cli(str(src), str(tmp_path / "a_file"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "a_file: exists and is not a folder" in result.stderr
