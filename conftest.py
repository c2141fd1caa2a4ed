"""Settings for every test and notebook kernel, and the executed copies of the notebooks nbval runs.

Environment (set before anything imports matplotlib; kernels started by nbval inherit it,
also when a single notebook is run with ``pytest notebooks/NN_name.ipynb``):
MPLBACKEND=Agg draws off-screen; GROKKIT_PROGRESS=0 turns off automatic progress bars in
executed notebooks (hundreds of bar updates can overflow the kernel's output channel while
nbval waits for a long cell, and the lost "idle" message then fails the cell with "Timeout
of 5 seconds exceeded waiting for output").

Executed copies: keep the notebooks nbval executes, so the course website is built from the same run (no second execution).

When the environment variable ``GROKKIT_EXECUTED_DIR`` names a folder (CI sets it), every
notebook that nbval runs is written there, at its path in the repository (e.g.
build/executed/notebooks/00_start_here.ipynb), as an executed copy when its last cell has run:
the original cells (ids, metadata, source) with the outputs nbval received from the kernel
attached, and execution counts in run order. The copy is written through a temporary file
and renamed, so a reader never sees half a notebook. Its kernel is started with
``GROKKIT_STATIC=1``: every widget is drawn as the kernel-free animation a website can
show (a widget needs a live kernel). Without the variable this plugin does nothing.

A root conftest (not tests/conftest.py) because pytest applies a conftest's hooks only to
the items under its folder, and the notebooks live in notebooks/.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

os.environ["MPLBACKEND"] = "Agg"
os.environ["GROKKIT_PROGRESS"] = "0"

EXECUTED_ENV = "GROKKIT_EXECUTED_DIR"
STATIC_ENV = "GROKKIT_STATIC"       # grokkit.widgets.STATIC_ENV, not imported: importing grokkit here is slow


def _executed_dir() -> Path | None:
    """The folder for executed copies, or None when capture is off."""
    value = os.environ.get(EXECUTED_ENV, "").strip()
    return Path(value).resolve() if value else None


def _is_notebook_cell(item: pytest.Item) -> bool:
    """True for nbval's items (one per code cell, with .cell, .test_outputs and .parent.nb)."""
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell") and hasattr(item.parent, "nb")


class ExecutedNotebooks:
    """Collects nbval's outputs cell by cell and writes each notebook once its cells have run."""

    def __init__(self, folder: Path, root: Path):
        self.folder = folder
        self.root = root
        self.pending: dict[Any, dict[int, tuple[list, int]]] = {}   # notebook item -> cell index -> outputs
        self.counter: dict[Any, int] = {}

    def record(self, item: pytest.Item) -> None:
        """Keep the outputs of one executed cell (none when nbval skipped it)."""
        outputs = getattr(item, "test_outputs", None)
        if outputs is None:
            return
        nb_item = item.parent
        cells = nb_item.nb.cells
        index = next(i for i, c in enumerate(cells) if c is item.cell)
        count = self.counter.get(nb_item, 0) + 1
        self.counter[nb_item] = count
        self.pending.setdefault(nb_item, {})[index] = (copy.deepcopy(list(outputs)), count)

    def write(self, nb_item: Any) -> Path | None:
        """Write the executed copy of one notebook (atomically); None when none of its cells ran."""
        import nbformat

        executed = self.pending.pop(nb_item, None)
        self.counter.pop(nb_item, None)
        if not executed:
            return None
        nb = copy.deepcopy(nb_item.nb)
        for index, (outputs, count) in executed.items():
            cell = nb.cells[index]
            cell.execution_count = count
            cell.outputs = [_clean_output(o, count) for o in outputs]
        nbformat.validate(nb)
        source = Path(str(nb_item.path)).resolve()
        # the notebook's path in the repository (notebooks/zh/00_x.ipynb and notebooks/00_x.ipynb stay apart)
        target = self.folder / (source.relative_to(self.root) if source.is_relative_to(self.root) else source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        try:
            nbformat.write(nb, str(tmp))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def flush(self) -> None:
        """Write every notebook still pending (a run stopped early, e.g. by -x)."""
        for nb_item in list(self.pending):
            self.write(nb_item)


def _clean_output(out: Any, count: int) -> Any:
    """An nbformat-valid output from nbval's record of one iopub message."""
    import nbformat

    kind = out.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=out["name"], text=out["text"])
    if kind == "error":
        return nbformat.v4.new_output("error", ename=out["ename"], evalue=out["evalue"],
                                      traceback=list(out["traceback"]))
    if kind == "execute_result":
        return nbformat.v4.new_output("execute_result", data=out["data"], metadata=out.get("metadata", {}),
                                      execution_count=count)
    return nbformat.v4.new_output("display_data", data=out["data"], metadata=out.get("metadata", {}))


# Two workers (the README's ``pytest -n 2 --dist loadfile``, pytest-xdist): each file runs
# whole on one worker, in order (a notebook's cells share one kernel). Files are handed out
# in the order below, the longest first (measured with --durations) so both workers finish
# at about the same time; the rest keep their order. Notebook 05 comes right after 01: the
# worker that runs 01 is then the one that takes 05 next, and 05 loads the model 01 saved in
# runs/ instead of training it again (if the other worker takes 05 first, 05 trains it
# itself: slower, same result). Only the order depends on this list, never a result.
# (Not --dist loadgroup: pytest-xdist 3.8's groups do not reach the scheduler under pytest 9.)
LONGEST_FIRST = [
    "tests/test_claims_float64.py", "notebooks/01_grokking_modular_addition.ipynb",
    "notebooks/05_fourier_analysis.ipynb",
    "notebooks/06_open_questions.ipynb", "notebooks/07_beyond_the_article.ipynb",
    "tests/test_sweep_data.py", "notebooks/04_five_neurons.ipynb", "notebooks/02_memorize_or_generalize.ipynb",
    "tests/test_science.py", "tests/test_binder.py", "tests/test_course_autograde.py",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the longest files first (a stable sort: each file's items keep their order)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_configure(config: pytest.Config) -> None:
    """Register the capture when GROKKIT_EXECUTED_DIR is set; keep the collection order for xdist."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False    # xdist would otherwise start the units with most items first
    folder = _executed_dir()
    if folder is not None:
        config.pluginmanager.register(ExecutedNotebooksPlugin(ExecutedNotebooks(folder, config.rootpath.resolve())), "grokkit-executed")


class ExecutedNotebooksPlugin:
    """The hooks: static widgets in the kernel, record after each cell, write after a notebook's last cell."""

    def __init__(self, store: ExecutedNotebooks):
        self.store = store

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        """Start nbval's kernel (in the first cell's setup) with GROKKIT_STATIC=1, and only it."""
        if not _is_notebook_cell(item):
            yield
            return
        old = os.environ.get(STATIC_ENV)
        os.environ[STATIC_ENV] = "1"
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(STATIC_ENV, None)
            else:
                os.environ[STATIC_ENV] = old

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        """Record the cell's outputs once it has run, whether it passed or failed."""
        yield
        if _is_notebook_cell(item):
            self.store.record(item)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """After a notebook's last collected cell, write its executed copy."""
        if _is_notebook_cell(item) and (nextitem is None or getattr(nextitem, "parent", None) is not item.parent):
            self.store.write(item.parent)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write what an interrupted run left pending."""
        self.store.flush()
