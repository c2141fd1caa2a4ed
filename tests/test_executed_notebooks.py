"""The root conftest keeps what nbval executed: GROKKIT_EXECUTED_DIR gets each notebook with its outputs.

Runs pytest (and so nbval) in a subprocess on a tiny notebook written by the test, in a
temporary folder under build/ (inside the repository, so the root conftest applies; build/
is git-ignored and never collected by a plain run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent

CELLS = [
    ("markdown", "# Tiny\nA notebook for the capture test.", "intro"),
    ("code", "import os\nprint('static', os.environ.get('GROKKIT_STATIC'))", "env"),
    ("code", "x = 6 * 7\nx", "answer"),
    ("code", "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))\nprint('after')", "html"),
]


def _notebook(path: Path, extra: list[tuple[str, str, str]] = ()) -> None:
    """Write the tiny notebook (stored without outputs, fixed cell ids)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source, cid in [*CELLS, *extra]:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.id = cid
        nb.cells.append(cell)
    nbformat.write(nb, str(path))


def _pytest(args: list[str], executed: Path | None) -> subprocess.CompletedProcess:
    """Run pytest with the project's settings on the given paths; capture on when executed is given."""
    env = dict(os.environ)
    env.pop("GROKKIT_STATIC", None)
    env.pop("GROKKIT_EXECUTED_DIR", None)
    if executed is not None:
        env["GROKKIT_EXECUTED_DIR"] = str(executed)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir():
    """A fresh folder under build/ (removed afterwards)."""
    (REPO / "build").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="capture-test-", dir=REPO / "build"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_executed_copy_has_the_outputs_nbval_saw_on_the_original_cells_errors_included(workdir):
    source = workdir / "tiny.ipynb"
    _notebook(source, extra=[("code", "raise ValueError('on purpose')", "boom"), ("code", "print('later')", "later")])
    executed = workdir / "executed"
    result = _pytest([str(source)], executed)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]     # the failing cell fails the run
    assert "1 failed, 4 passed" in result.stdout

    out = executed / source.relative_to(REPO)      # at its path in the repository
    nb = nbformat.read(str(out), as_version=4)
    nbformat.validate(nb)
    original = nbformat.read(str(source), as_version=4)
    assert [c.id for c in nb.cells] == [c.id for c in original.cells]
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5]
    env, answer, html, boom, later = code
    # the kernel ran in static mode, so widgets become kernel-free animations
    assert env.outputs == [nbformat.v4.new_output("stream", name="stdout", text="static 1\n")]
    assert answer.outputs[0].output_type == "execute_result"
    assert answer.outputs[0].data["text/plain"] == "42"
    assert answer.outputs[0].execution_count == 2
    assert html.outputs[0].output_type == "display_data"
    assert html.outputs[0].data["text/html"] == "<b>bold</b>"
    assert html.outputs[1].text == "after\n"
    assert boom.outputs[-1].output_type == "error" and boom.outputs[-1].ename == "ValueError"
    assert later.outputs[0].text == "later\n"       # nbval goes on after a failing cell
    # the source stays clean, and no temporary file is left
    assert all(not c.outputs for c in original.cells if c.cell_type == "code")
    assert not list(executed.rglob(".*tmp*"))


@pytest.mark.slow
def test_without_the_variable_nothing_is_written_and_widgets_stay_live(workdir):
    source = workdir / "tiny.ipynb"
    _notebook(source, extra=[("code", "assert os.environ.get('GROKKIT_STATIC') is None", "live")])
    result = _pytest([str(source)], None)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed" in result.stdout
    assert not (workdir / "executed").exists()
    assert json.loads(source.read_text())["cells"][1]["outputs"] == []
