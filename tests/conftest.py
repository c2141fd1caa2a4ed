"""Shared test fixtures (the environment every test and notebook kernel sees is set in the root conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def glossary_rules() -> list[tuple[str, str, list[str]]]:
    """docs/glossary-zh.md's consistency table: (English pattern, Chinese term, avoided variants) per row."""
    text = (REPO / "docs" / "glossary-zh.md").read_text(encoding="utf-8").split("## 一致性检查")[1]
    rules = []
    for line in text.splitlines():
        match = re.match(r"^\| `(.+)` \| (.+?) \| (.+?) \|$", line)
        if match:
            pattern = match.group(1).replace("\\|", "|")  # a pipe is escaped inside a markdown table
            rules.append((pattern, match.group(2).strip(), [w.strip() for w in match.group(3).split("/")]))
    return rules


# A tiny modular-addition model (every raw parameter kind: embed, unembed, hidden, out), trained
# once per session; tests that tamper with saved runs copy its files.
TINY_UNTIED = dict(p=11, embedding="untied", embed_size=4, hidden_size=3, steps=20, log_every=5, save_every=10)


@pytest.fixture(scope="session")
def tiny_run():
    """A trained tiny Run (11 classes, untied embedding, 20 steps): cheap to save, load and tamper with."""
    import grokkit

    return grokkit.train(grokkit.ModAddConfig(**TINY_UNTIED), progress=False)


@pytest.fixture
def tiny_run_files(tiny_run, tmp_path) -> tuple[Path, Path]:
    """The tiny run saved as tmp_path/run.npz and tmp_path/run.json (a fresh copy per test)."""
    tiny_run.save(tmp_path / "run")
    return tmp_path / "run.npz", tmp_path / "run.json"


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module: on a shared 2-core machine two spinning threads are ~10x slower."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
