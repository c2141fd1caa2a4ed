"""Binder (repo2docker) builds the same pinned, CPU-only environment and installs grokkit."""

from __future__ import annotations

import os
from pathlib import Path

from test_install import LEARNER_PINS, REPO, pins

BINDER = REPO / "binder"


def test_binder_pins_the_same_versions_as_requirements():
    assert pins(BINDER / "requirements.txt") == pins(REPO / "requirements.txt") == LEARNER_PINS


def test_binder_takes_torch_from_the_cpu_wheel_index_listed_first():
    lines = [
        line.strip()
        for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert lines.index("torch==2.13.0") > 0
    assert "-e ." not in lines  # repo2docker installs requirements before copying the repo


def test_binder_post_build_installs_grokkit_without_touching_the_pins():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK)
    text = post.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash")
    assert "pip install --no-cache-dir --no-deps -e ." in text
    assert "/lab/tree/learner/00_start_here.ipynb" in text


def test_binder_uses_the_tested_python():
    assert (BINDER / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"


def test_binder_opens_a_notebook_that_exists():
    assert (REPO / "notebooks" / "00_start_here.ipynb").is_file()
