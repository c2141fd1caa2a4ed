"""Pacing and reading order: stated times cover the exercises and the reading; one navigation style everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ORDER = [p.name for p in NOTEBOOKS]
# A learner reads explanatory prose at about 200 words a minute.
WORDS_PER_MINUTE = 200


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ORDER)
def test_stated_time_covers_the_core_exercises_and_the_reading(path):
    cells = _cells(path)
    stated = int(re.search(r"\*\*Time:\*\*\s*about\s+(\d+)\s+min", _text(cells[0])).group(1))
    core = 0
    for cell in cells:
        header = re.match(r"###\s+Exercise\s+\S+\s+[—–-]\s+(.*)", _text(cell))
        if cell["cell_type"] == "markdown" and header and "optional" not in header.group(1).lower():
            core += int(re.search(r"\*\*Time\*\*\s*~?\s*(\d+)\s*min", _text(cell)).group(1))
    words = sum(len(_text(c).split()) for c in cells if c["cell_type"] == "markdown")
    reading = words // WORDS_PER_MINUTE
    assert stated >= core + reading, (
        f"{path.name}: states about {stated} minutes; its core exercises take {core} and its "
        f"{words:,} words of prose about {reading}")


def _navigation(name: str) -> str:
    """The navigation line a notebook must carry at its top and bottom."""
    i = ORDER.index(name)
    parts = []
    if i > 0:
        parts.append(r"\*\*← Previous:\*\* \[[^\]]+\]\(" + re.escape(ORDER[i - 1]) + r"\)")
    if i + 1 < len(ORDER):
        parts.append(r"\*\*Next →\*\* \[[^\]]+\]\(" + re.escape(ORDER[i + 1]) + r"\)")
    return " · ".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ORDER)
def test_every_notebook_links_previous_and_next_at_top_and_bottom(path):
    cells = _cells(path)
    line = _navigation(path.name)
    assert re.search(line, _text(cells[0])), f"{path.name}: first cell lacks the navigation line"
    assert re.search(line, _text(cells[-1])), f"{path.name}: last cell lacks the navigation line"
