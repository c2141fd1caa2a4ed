"""The course's repository address, in one place, and the launch links written from it.

A fork changes REPOSITORY (and BRANCH) here once, then runs ``python -m grokkit.course links``,
which (re)writes, idempotently:

- README.md: the badge line under the title (Binder and Colab, opening notebook 00);
- every notebook's first markdown cell: a badge line under the title (Colab and Binder for that
  notebook, and absolute Colab links to the previous and next notebooks, since relative links
  between notebooks do not work on Colab); the Chinese edition's builder (``zh build``) writes the
  same line for notebooks/zh and learner/zh, opening learner/zh/ in Chinese words;
- every notebook's first code cell (id ``install-grokkit``): installs grokkit from the
  repository where it is missing (Colab, a fresh kernel), keeping the installed torch;
- pyproject.toml's Homepage.

``python -m grokkit.course links --check`` changes nothing and exits 1 when a file is out of step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grokkit.run import atomic_write

REPOSITORY = "grokkit/grokkit"
BRANCH = "main"

INSTALL_CELL_ID = "install-grokkit"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
_BADGE_LINE = re.compile(r"^\[!\[(Open In Colab|Binder)\]")
_HOMEPAGE = re.compile(r'^Homepage = ".*"$', flags=re.M)


def github_url(path: str = "") -> str:
    """The repository's page for `path` (a file relative to the repository root) on BRANCH."""
    return f"https://github.com/{REPOSITORY}" + (f"/blob/{BRANCH}/{path}" if path else "")


def binder_url(path: str) -> str:
    """mybinder.org URL that opens JupyterLab on `path` (relative to the repository root)."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{path}"


def colab_url(path: str) -> str:
    """Colab URL that opens the notebook `path` (relative to the repository root) from GitHub."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def install_source() -> str:
    """The first code cell of every notebook: install grokkit only where it cannot be imported."""
    return (
        "# On Colab (or any kernel without grokkit) this installs the course's package from GitHub;\n"
        "# torch and the other packages already installed are kept. Elsewhere it does nothing.\n"
        "try:\n"
        "    import grokkit\n"
        "except ImportError:\n"
        f'    %pip install -q "grokkit @ git+https://github.com/{REPOSITORY}@{BRANCH}"'
    )


# The first notebook each README opens (README.zh-CN.md: the Chinese learner's edition).
README_FIRST = {"README.md": "learner/00_start_here.ipynb",
                "README.zh-CN.md": "learner/zh/00_start_here.ipynb"}


def readme_badges(first: str = README_FIRST["README.md"]) -> str:
    """A README's badge line: Binder and Colab, both opening the notebook ``first``."""
    return f"[![Binder]({BINDER_BADGE})]({binder_url(first)}) [![Open In Colab]({COLAB_BADGE})]({colab_url(first)})"


# What leads the Colab links to a notebook's neighbours, in each language of the course.
NEIGHBOURS_LEAD = {"en": " · on Colab: ", "zh": " · 在 Colab 中打开："}


def notebook_badges(path: str, previous: str | None, following: str | None, lang: str = "en") -> str:
    """A notebook's badge line: Colab and Binder for `path`, then Colab links to its neighbours (words in `lang`)."""
    line = f"[![Open In Colab]({COLAB_BADGE})]({colab_url(path)}) [![Binder]({BINDER_BADGE})]({binder_url(path)})"
    steps = []
    if previous:
        steps.append(f"[← {Path(previous).name.split('_')[0]}]({colab_url(previous)})")
    if following:
        steps.append(f"[{Path(following).name.split('_')[0]} →]({colab_url(following)})")
    return line + (NEIGHBOURS_LEAD[lang] + " · ".join(steps) if steps else "")


def chapter_badges(folder: str, chapters: list[str], name: str, lang: str = "en") -> str:
    """The badge line of chapter `name` among `chapters` (file names, in order), opening them in `folder`."""
    paths = [f"{folder}/{chapter}" for chapter in chapters]
    i = chapters.index(name)
    return notebook_badges(paths[i], paths[i - 1] if i > 0 else None, paths[i + 1] if i + 1 < len(paths) else None, lang)


def with_badge_line(text: str, badges: str, where: str, *, insert: bool = True) -> str:
    """`text` with its badge line replaced by `badges`, or (with `insert`) `badges` put after its first (title) line."""
    lines = text.split("\n")
    found = [i for i, line in enumerate(lines) if _BADGE_LINE.match(line)]
    if found:
        lines[found[0]] = badges
        return "\n".join(lines)
    if not insert:
        return text
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"{where}: the first line must be a '# ' title to put the badges under")
    return "\n".join([lines[0], "", badges] + lines[1:])


def _source_lines(text: str) -> list[str]:
    """A cell source as nbformat stores it: lines that keep their newline."""
    return text.splitlines(keepends=True)


def _synced_notebook(nb: dict, path: str, badges: str) -> dict:
    """The notebook with its badge line `badges` and install cell as this module writes them."""
    cells = nb["cells"]
    first_md = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), None)
    if first_md is None:
        raise ValueError(f"{path}: no markdown cell to put the badges in")
    text = "".join(cells[first_md]["source"])
    cells[first_md]["source"] = _source_lines(with_badge_line(text, badges, path))
    install = [i for i, c in enumerate(cells) if c.get("id") == INSTALL_CELL_ID]
    if install:
        cell = cells.pop(install[0])
        if install[0] < first_md:
            first_md -= 1
    else:
        cell = {"cell_type": "code", "execution_count": None, "id": INSTALL_CELL_ID, "metadata": {}, "outputs": []}
    cell["source"] = _source_lines(install_source())
    cells.insert(first_md + 1, cell)
    return nb


def expected_files(root: Path) -> dict[Path, str]:
    """{file: the text it should have} for the READMEs, pyproject.toml and every notebooks/NN_*.ipynb under `root`."""
    result: dict[Path, str] = {}
    for name, first in README_FIRST.items():
        readme = root / name
        if readme.exists() or name == "README.md":
            result[readme] = with_badge_line(readme.read_text(encoding="utf-8"), readme_badges(first), name)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if not _HOMEPAGE.search(text):
        raise ValueError('pyproject.toml: no Homepage = "..." line under [project.urls]')
    result[pyproject] = _HOMEPAGE.sub(f'Homepage = "{github_url()}"', text)
    notebooks = sorted(p for p in (root / "notebooks").glob("*.ipynb") if re.match(r"\d\d[a-z]?_", p.name))
    # The badges open the learner's edition (learner/, built from notebooks/ with these cells).
    # The Chinese edition's builder (grokkit.course.zh) writes its own, opening learner/zh/.
    chapters = [p.name for p in notebooks]
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        nb = _synced_notebook(nb, f"learner/{path.name}", chapter_badges("learner", chapters, path.name))
        result[path] = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return result


def out_of_step(root: Path) -> list[Path]:
    """The files under `root` whose links or install cell differ from what this module writes."""
    return [path for path, text in expected_files(root).items() if path.read_text(encoding="utf-8") != text]


def write_links(root: Path) -> list[Path]:
    """Rewrite the badges, install cells and Homepage under `root`; return the files that changed."""
    changed = []
    for path, text in expected_files(root).items():
        if path.read_text(encoding="utf-8") != text:
            atomic_write(path, lambda f: f.write(text.encode("utf-8")))
            changed.append(path)
    return changed
