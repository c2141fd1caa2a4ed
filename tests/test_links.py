"""Launch links and the install cell come from one place (grokkit/course/links.py) and every file agrees with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from grokkit.course import links
from grokkit.course.__main__ import main

from test_install import README, REPO


def test_every_file_is_in_step_with_links_py():
    stale = links.out_of_step(REPO)
    assert not stale, f"run `python -m grokkit.course links`: {[str(p.relative_to(REPO)) for p in stale]}"


def test_the_repository_name_is_written_nowhere_else(repo):
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.split()
    generated = {"README.md", "README.zh-CN.md", "pyproject.toml", "grokkit/course/links.py", "tests/test_links.py"}
    # Only links.py and the files it writes may name the repository: the notebooks, and the
    # editions and translation catalogs built from them (learner/, i18n/).
    elsewhere = [
        path for path in tracked
        if path not in generated and not path.startswith(("notebooks/", "learner/", "i18n/")) and (repo / path).is_file()
        and links.REPOSITORY in (repo / path).read_text(encoding="utf-8", errors="ignore")
    ]
    assert not elsewhere, elsewhere


def test_urls_open_the_given_file_on_the_branch():
    path = "notebooks/05_fourier_analysis.ipynb"
    assert links.colab_url(path) == f"https://colab.research.google.com/github/{links.REPOSITORY}/blob/{links.BRANCH}/{path}"
    assert links.binder_url(path) == f"https://mybinder.org/v2/gh/{links.REPOSITORY}/{links.BRANCH}?urlpath=lab/tree/{path}"
    assert links.binder_url("learner/00_start_here.ipynb") in README     # README opens the learner's edition
    assert links.colab_url("learner/00_start_here.ipynb") in README


@pytest.fixture()
def copy_of_repo(tmp_path):
    """README, pyproject and the notebooks, copied to a scratch folder."""
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".*"))
    return tmp_path


def test_a_fork_changes_the_repository_once_and_the_command_rewrites_every_link(copy_of_repo, monkeypatch, capsys):
    monkeypatch.setattr(links, "REPOSITORY", "someone/fork")
    monkeypatch.setattr(links, "BRANCH", "dev")
    assert main(["links", "--check", str(copy_of_repo)]) == 1
    assert main(["links", str(copy_of_repo)]) == 0
    written = capsys.readouterr().out
    assert written.count("wrote ") == 2 + len(list((copy_of_repo / "notebooks").glob("*.ipynb")))
    assert main(["links", "--check", str(copy_of_repo)]) == 0  # idempotent: nothing left to change
    assert links.write_links(copy_of_repo) == []
    readme = (copy_of_repo / "README.md").read_text(encoding="utf-8")
    assert "someone/fork/dev?urlpath=lab/tree/learner/00_start_here.ipynb" in readme and "grokkit/grokkit" not in readme
    assert 'Homepage = "https://github.com/someone/fork"' in (copy_of_repo / "pyproject.toml").read_text(encoding="utf-8")
    nb = json.loads((copy_of_repo / "notebooks" / "03_when_does_grokking_happen.ipynb").read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    assert "github/someone/fork/blob/dev/learner/02_memorize_or_generalize.ipynb" in first
    assert "github/someone/fork/blob/dev/learner/04_five_neurons.ipynb" in first
    assert 'git+https://github.com/someone/fork@dev"' in "".join(nb["cells"][1]["source"])


def test_the_command_keeps_every_other_cell_and_id(copy_of_repo, monkeypatch):
    path = copy_of_repo / "notebooks" / "02_memorize_or_generalize.ipynb"
    before = json.loads(path.read_text(encoding="utf-8"))["cells"]
    monkeypatch.setattr(links, "BRANCH", "other")
    links.write_links(copy_of_repo)
    after = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert [c["id"] for c in after] == [c["id"] for c in before]
    assert after[2:] == before[2:]


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb")), ids=lambda p: p.name)
def test_notebook_starts_with_badges_and_then_the_install_cell(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    name = f"learner/{path.name}"     # the badges open the learner's edition, built from this notebook
    assert cells[0]["cell_type"] == "markdown" and links.colab_url(name) in "".join(cells[0]["source"])
    assert cells[1]["cell_type"] == "code" and cells[1]["id"] == links.INSTALL_CELL_ID


def test_install_cell_installs_only_where_grokkit_is_missing_and_keeps_torch():
    python = TransformerManager().transform_cell(links.install_source())
    assert "get_ipython().run_line_magic('pip'" in python
    calls = []
    namespace = {"get_ipython": lambda: type("Shell", (), {"run_line_magic": lambda self, *a: calls.append(a)})()}
    exec(compile(python, "install-cell", "exec"), namespace)  # grokkit imports here: nothing is installed
    assert calls == []
    # Without grokkit the cell asks pip for grokkit alone; pip keeps installed packages that
    # satisfy grokkit's loose requirements (torch>=2.0), so Colab's torch stays.
    blocked = dict(namespace, __builtins__={**__builtins__, "__import__": _no_grokkit} if isinstance(__builtins__, dict)
                   else {**vars(__builtins__), "__import__": _no_grokkit})
    exec(compile(python, "install-cell", "exec"), blocked)
    assert calls == [("pip", f'install -q "grokkit @ git+https://github.com/{links.REPOSITORY}@{links.BRANCH}"')]
    assert "upgrade" not in links.install_source().lower() and "torch" not in calls[0][1]


def _no_grokkit(name, *args, **kwargs):
    """An __import__ that behaves as if grokkit were not installed."""
    if name.split(".")[0] == "grokkit":
        raise ImportError(f"No module named {name!r}")
    return __import__(name, *args, **kwargs)


def test_links_command_runs_from_the_command_line():
    result = subprocess.run([sys.executable, "-m", "grokkit.course", "links", "--check", str(REPO)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
