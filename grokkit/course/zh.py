"""The Chinese edition of the course, built from the English notebooks and one catalog per notebook.

The English notebooks stay the source. Each notebook's translations live in one JSON
catalog, ``i18n/zh/NN_name.json``, keyed by cell id::

    {"notebook": "00_start_here.ipynb",
     "cells": {"start-01": {"sha256": "<sha256 of the English markdown>",
                            "en": "<that English markdown>",
                            "zh": "<its Chinese translation>",
                            "allow": {"missing": ["2"], "extra": [], "reason": "..."}}}}

``sha256`` and ``en`` record the English text a translation was made from: when the
English cell changes, its hash no longer matches and the cell is *stale*; ``en`` shows
what changed. ``allow`` (optional) documents why a number, code span or formula of the
English is missing from the translation (or added to it); every other cell must keep
them all (:func:`token_problems`).

:func:`build` writes ``notebooks/zh/NN_name.ipynb``: the English notebook with each
markdown cell replaced by its translation, code cells untouched, and two cells added
after the title (a note on the Chinese edition and a code cell that sets
``GROKKIT_LANG=zh`` so that checks answer in Chinese; the badge line under the title,
copied from the English by the catalog, is rewritten to open the Chinese learner's
edition, in Chinese words: :func:`grokkit.course.links.chapter_badges`), then the learner's edition of
those notebooks, ``learner/zh/NN_name.ipynb``, with the English edition's builder
(:func:`grokkit.course.learner.learner_notebook`): solutions stubbed, and under each
"### 练习 N.M" heading a Chinese line linking the worked solution in ``notebooks/zh/``.
``learner/zh`` sits beside ``notebooks/zh`` as ``learner`` sits beside ``notebooks``, so
both Chinese folders are two levels below the root and share the links' extra "../".
Chapters are named ``NN_name`` or ``NNx_name`` (``01b_build_the_model``): :data:`CHAPTER`.

All folders are named once, in :data:`PATHS`; a move of the English or learner's edition
is a change there.

Commands (``python -m grokkit.course zh ...``): ``build``, ``status``, ``export`` (a
worksheet of the stale and missing cells to translate) and ``import`` (read a filled-in
worksheet back into the catalogs); see :func:`main`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grokkit.course import learner as _learner
from grokkit.course import links
from grokkit.course.student import (
    NotebookError,
    dump_notebook,
    load_notebook,
    write_notebooks,
)
from grokkit.run import atomic_write

__all__ = [
    "PATHS",
    "NOTE_CELL_ID",
    "LANGUAGE_CELL_ID",
    "Issue",
    "cell_hash",
    "load_catalog",
    "save_catalog",
    "catalog_issues",
    "translated_notebook",
    "learner_notebook",
    "token_problems",
    "tokens",
    "prose",
    "english_notebooks",
    "catalog_path",
    "build",
    "status",
]

# Every folder the Chinese edition reads or writes, relative to the repository root.
PATHS = {
    "english": Path("notebooks"),  # the source notebooks, NN_name.ipynb
    "catalogs": Path("i18n/zh"),  # one NN_name.json per notebook
    "zh": Path("notebooks/zh"),  # the built Chinese notebooks
    "zh_learner": Path("learner/zh"),  # their learner's edition (solutions stubbed), beside learner/
}
# A chapter is two digits, an optional letter, then "_": 00_start_here, 01b_build_the_model.
CHAPTER = re.compile(r"^\d\d[a-z]?_.*\.ipynb$")

NOTE_CELL_ID = "zh-edition-note"
LANGUAGE_CELL_ID = "zh-edition-language"
NOTE_TEXT = (
    "> **关于中文版**：本笔记本由英文版自动生成，只有文字说明译成了中文（术语对照见仓库里的 "
    "`docs/glossary-zh.md`）；除了下一个把检查信息设为中文的单元格，代码与英文版逐字节相同。"
    "图中的坐标轴、图例和标题仍是英文：matplotlib 的默认字体没有中文字形，"
    "在没有安装中文（CJK）字体的机器上（比如 Binder），中文会显示成方框，所以图保持英文标签。"
)
LANGUAGE_CODE = (
    '# 中文版：grokkit.course 的检查信息用中文显示（改成 "en" 即恢复英文）。\n'
    "import os\n"
    "\n"
    'os.environ["GROKKIT_LANG"] = "zh"'
)
# The translated exercise heading ("### 练习 1b.3 — 训练循环") and the learner's line under it.
EXERCISE_HEADER_ZH = re.compile(r"^###\s+练习\s+(\d+[a-z]?)\.(\d+)\s+[—–-]\s+\S")
SOLUTION_LINE_ZH = "*卡住了？完整解答在[这个笔记本的教师版]({link})里的练习 {number}。*"
# Relative links out of notebooks/ need one more "../" from notebooks/zh/ (and learner/zh/).
_PARENT_LINK = re.compile(r"\]\(\.\./")


@dataclass(frozen=True)
class Issue:
    """One cell whose translation is missing, stale, orphaned or malformed."""

    notebook: str
    cell_id: str
    kind: str  # "missing", "stale", "orphan", "tokens"
    detail: str = ""

    def __str__(self) -> str:
        """One line: notebook, cell, kind and detail."""
        return f"{self.notebook} {self.cell_id}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


def cell_hash(text: str) -> str:
    """The sha256 (hex) of a markdown cell's source text, as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _source(cell: dict[str, Any]) -> str:
    """A cell's source as one string."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def english_notebooks(root: Path | str = ".") -> list[Path]:
    """The English source notebooks, ``NN_name.ipynb`` in ``PATHS['english']``, in order."""
    folder = Path(root) / PATHS["english"]
    paths = _chapters(folder)
    if not paths:
        raise NotebookError(f"{folder}: no notebooks named NN_name.ipynb")
    return paths


def _chapters(folder: Path) -> list[Path]:
    """The chapter notebooks (``NN_name.ipynb``, ``NNx_name.ipynb``) directly in ``folder``, in order."""
    return sorted(p for p in folder.glob("*.ipynb") if CHAPTER.match(p.name))


def catalog_path(root: Path | str, notebook: Path | str) -> Path:
    """Where the catalog of an English notebook lives: ``i18n/zh/NN_name.json``."""
    return Path(root) / PATHS["catalogs"] / (Path(notebook).stem + ".json")


# --------------------------------------------------------------------------- catalogs


def load_catalog(path: Path | str, notebook: str) -> dict[str, Any]:
    """Read a catalog (an empty one if the file does not exist), checking every entry's fields."""
    path = Path(path)
    if not path.exists():
        return {"notebook": notebook, "cells": {}}
    try:
        catalog = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path}: malformed JSON at line {err.lineno}: {err.msg}") from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("cells"), dict):
        raise NotebookError(f"{path}: not a translation catalog (no 'cells' object)")
    if catalog.get("notebook") != notebook:
        raise NotebookError(f"{path}: 'notebook' is {catalog.get('notebook')!r}, expected {notebook!r}")
    for cell_id, entry in catalog["cells"].items():
        where = f"{path}, cell {cell_id!r}"
        if not isinstance(entry, dict):
            raise NotebookError(f"{where}: entry must be an object with sha256, en, zh")
        for key in ("sha256", "en", "zh"):
            if not isinstance(entry.get(key), str):
                raise NotebookError(f"{where}: field {key!r} must be a string")
        if not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
            raise NotebookError(f"{where}: field 'sha256' must be 64 lowercase hex digits")
        if cell_hash(entry["en"]) != entry["sha256"]:
            raise NotebookError(f"{where}: field 'sha256' is not the hash of field 'en'")
        allow = entry.get("allow")
        if allow is not None:
            ok = (
                isinstance(allow, dict)
                and set(allow) <= {"missing", "extra", "reason"}
                and isinstance(allow.get("reason"), str)
                and allow["reason"].strip()
                and all(isinstance(allow.get(k, []), list) for k in ("missing", "extra"))
            )
            if not ok:
                raise NotebookError(
                    f"{where}: field 'allow' must be {{'missing': [...], 'extra': [...], "
                    "'reason': 'why'}} with a non-empty reason"
                )
    return catalog


def save_catalog(path: Path | str, catalog: dict[str, Any], order: list[str] | None = None) -> None:
    """Write a catalog atomically, its cells in notebook ``order`` (unknown ids last)."""
    path = Path(path)
    cells = catalog["cells"]
    order = [c for c in (order or []) if c in cells] + sorted(c for c in cells if c not in (order or []))
    data = {"notebook": catalog["notebook"], "cells": {c: cells[c] for c in order}}
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


# --------------------------------------------------------------------------- checking


_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
_CODE = re.compile(r"`[^`\n]+`")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def tokens(text: str) -> Counter[str]:
    """The multiset of a text's fenced code blocks, formulas, inline code spans and numbers.

    Blocks, formulas and spans are taken whole (backticks and dollars included) and then
    removed, so the numbers counted are those of the prose.
    """
    found: Counter[str] = Counter()
    for pattern in (_FENCE, _MATH, _CODE):
        found.update(pattern.findall(text))
        text = pattern.sub(" ", text)
    found.update(_NUMBER.findall(text))
    return found


def prose(text: str) -> str:
    """A markdown text without its fenced code blocks, formulas and inline code spans."""
    for pattern in (_FENCE, _MATH, _CODE):
        text = pattern.sub(" ", text)
    return text


def token_problems(english: str, chinese: str, allow: dict[str, Any] | None = None) -> str:
    """Say which numbers, code spans or formulas differ between a cell and its translation ('' if none).

    ``allow`` lists the differences a catalog documents (``missing``: in the English
    only, ``extra``: in the Chinese only); an allowance no longer needed is a problem too.
    """
    en, zh = tokens(english), tokens(chinese)
    missing, extra = en - zh, zh - en
    allow = allow or {}
    want_missing, want_extra = Counter(allow.get("missing", [])), Counter(allow.get("extra", []))
    parts = []
    if missing != want_missing:
        parts.append(f"missing from the Chinese: {sorted((missing - want_missing).elements())}")
        if want_missing - missing:
            parts.append(f"allowed as missing but present: {sorted((want_missing - missing).elements())}")
    if extra != want_extra:
        parts.append(f"only in the Chinese: {sorted((extra - want_extra).elements())}")
        if want_extra - extra:
            parts.append(f"allowed as extra but absent: {sorted((want_extra - extra).elements())}")
    return "; ".join(parts)


def catalog_issues(nb: dict[str, Any], catalog: dict[str, Any], name: str) -> list[Issue]:
    """List the markdown cells of an English notebook with no, or a stale, translation, and orphans."""
    issues: list[Issue] = []
    cells = catalog["cells"]
    ids = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        cell_id = cell.get("id")
        if not cell_id:
            raise NotebookError(f"{name}: a markdown cell has no id (nbformat 4.5 cell ids are required)")
        ids.add(cell_id)
        text = _source(cell)
        entry = cells.get(cell_id)
        if entry is None or not entry["zh"].strip():
            issues.append(Issue(name, cell_id, "missing"))
        elif entry["sha256"] != cell_hash(text):
            issues.append(Issue(name, cell_id, "stale", "the English changed since it was translated"))
        else:
            problem = token_problems(text, entry["zh"], entry.get("allow"))
            if problem:
                issues.append(Issue(name, cell_id, "tokens", problem))
    for cell_id in cells:
        if cell_id not in ids:
            issues.append(Issue(name, cell_id, "orphan", "no markdown cell with this id in the English"))
    return issues


# --------------------------------------------------------------------------- building


def _new_cell(kind: str, cell_id: str, text: str) -> dict[str, Any]:
    """A fresh notebook cell with the given id and source."""
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def translated_notebook(
    nb: dict[str, Any], catalog: dict[str, Any], name: str, *, english_fallback: bool = False,
    chapters: list[str] | None = None,
) -> dict[str, Any]:
    """The Chinese notebook: markdown from the catalog, code cells as in ``nb``, two cells added.

    A cell with no translation raises NotebookError, unless ``english_fallback`` keeps
    its English. A stale translation is used as it is (:func:`status` reports it). The
    badge line under the title (:mod:`grokkit.course.links`) opens the Chinese learner's
    edition, its neighbours among ``chapters`` (the English file names, in order) included.
    """
    zh = copy.deepcopy(nb)
    for cell in zh["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        entry = catalog["cells"].get(cell.get("id", ""))
        if entry is None or not entry["zh"].strip():
            if english_fallback:
                continue
            raise NotebookError(
                f"{name}: markdown cell {cell.get('id')!r} has no translation; run "
                "`python -m grokkit.course zh export` and translate it (or build with --english-fallback)"
            )
        cell["source"] = _PARENT_LINK.sub("](../../", entry["zh"]).splitlines(keepends=True)
    cells = zh["cells"]
    _open_chinese_learner_edition(cells, name, chapters or [name])
    at = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
    cells[at:at] = [_new_cell("markdown", NOTE_CELL_ID, NOTE_TEXT), _new_cell("code", LANGUAGE_CELL_ID, LANGUAGE_CODE)]
    return zh


def _open_chinese_learner_edition(cells: list[dict[str, Any]], name: str, chapters: list[str]) -> None:
    """Rewrite the badge line of the first markdown cell (if it has one) to open ``learner/zh/``, in Chinese."""
    first = next((c for c in cells if c["cell_type"] == "markdown"), None)
    if first is None:
        return
    badges = links.chapter_badges(PATHS["zh_learner"].as_posix(), chapters, name, lang="zh")
    first["source"] = links.with_badge_line(_source(first), badges, name, insert=False).splitlines(keepends=True)


def learner_notebook(zh_nb: dict[str, Any], name: Path | str, root: Path | str = ".") -> dict[str, Any]:
    """The learner's edition of a Chinese notebook: solutions stubbed, each exercise linking its worked solution."""
    root = Path(root)
    link = _learner.solution_link(root / PATHS["zh"] / Path(name).name, root / PATHS["zh_learner"])
    return _learner.learner_notebook(zh_nb, name, link, header=EXERCISE_HEADER_ZH, line=SOLUTION_LINE_ZH)


def _load_all(root: Path) -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """Every English notebook with its catalog."""
    result = []
    for path in english_notebooks(root):
        result.append((path, load_notebook(path), load_catalog(catalog_path(root, path), path.name)))
    return result


def status(root: Path | str = ".") -> list[Issue]:
    """Every missing, stale, orphaned or token-mismatched translation of every notebook."""
    return [
        issue
        for path, nb, catalog in _load_all(Path(root))
        for issue in catalog_issues(nb, catalog, path.name)
    ]


def build(root: Path | str = ".", *, english_fallback: bool = False) -> list[Path]:
    """Write the Chinese notebooks and their learner's edition; return the paths written.

    Everything is translated in memory first, so a missing translation writes nothing.
    The English learner's folder (``learner/``) is left alone; only its ``zh`` subfolder is written.
    """
    root = Path(root)
    loaded = _load_all(root)
    chapters = [path.name for path, _, _ in loaded]
    built = [
        (path.name, translated_notebook(nb, catalog, path.name, english_fallback=english_fallback, chapters=chapters))
        for path, nb, catalog in loaded
    ]
    out, learner = root / PATHS["zh"], root / PATHS["zh_learner"]
    learners = [(name, dump_notebook(learner_notebook(nb, name, root))) for name, nb in built]
    written = write_notebooks(out, [(name, dump_notebook(nb)) for name, nb in built])
    written += write_notebooks(learner, learners)
    for folder in (out, learner):
        for stale in sorted(set(_chapters(folder)) - set(written)):
            stale.unlink()  # its English notebook is gone
    return written
