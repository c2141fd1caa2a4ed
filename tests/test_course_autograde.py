"""`nbgrader autograde` of notebook 00: a correct submission earns its point, the untouched stub none."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "00_start_here.ipynb"
NBGRADER = Path(sys.executable).parent / "nbgrader"
# The same setting docs/instructors.md gives: training cells run longer than nbgrader's 30 s default.
CONFIG = 'c = get_config()\nc.CourseDirectory.course_id = "grokkit"\nc.Execute.timeout = 600\n'


def _nbgrader(course: Path, *args: str) -> None:
    # nbgrader runs `alembic` (set up its database) from PATH: the venv's bin, also when not activated.
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(NBGRADER), *args], cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _fill_in_solutions(released: dict, source: dict) -> dict:
    """The released notebook with each solution cell's stub replaced by the source's solution."""
    by_id = {
        cell["metadata"]["nbgrader"]["grade_id"]: cell
        for cell in source["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    filled = 0
    for cell in released["cells"]:
        grader = cell.get("metadata", {}).get("nbgrader", {})
        if grader.get("solution"):
            cell["source"] = by_id[grader["grade_id"]]["source"]
            filled += 1
    assert filled > 0
    return released


@pytest.mark.slow
def test_nbgrader_autograde_gives_a_correct_submission_full_marks_and_the_stub_none(tmp_path):
    if not NBGRADER.exists():
        pytest.skip("nbgrader is not installed (it is in requirements-dev.txt)")
    course = tmp_path / "course"
    (course / "source" / "ps00").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    shutil.copy(NOTEBOOK, course / "source" / "ps00" / NOTEBOOK.name)
    _nbgrader(course, "generate_assignment", "ps00")

    released = json.loads((course / "release" / "ps00" / NOTEBOOK.name).read_text(encoding="utf-8"))
    source = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    submissions = {
        "correct": _fill_in_solutions(json.loads(json.dumps(released)), source),
        "stub": released,
    }
    for student, nb in submissions.items():
        folder = course / "submitted" / student / "ps00"
        folder.mkdir(parents=True)
        (folder / NOTEBOOK.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _nbgrader(course, "autograde", "ps00")
    _nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))

    with open(tmp_path / "grades.csv", encoding="utf-8") as handle:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(handle)}
    assert scores == {"correct": (1.0, 1.0), "stub": (0.0, 1.0)}


def test_the_instructors_guide_sets_the_timeout_the_autograde_test_uses_and_says_answers_are_importable():
    guide = (REPO / "docs" / "instructors.md").read_text(encoding="utf-8")
    assert "c.Execute.timeout = 600" in guide and "c.Execute.timeout = 600" in CONFIG
    assert "the reference answers ship inside\n`grokkit.course`" in guide
    assert "### BEGIN HIDDEN TESTS" in guide
