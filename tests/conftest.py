"""Shared test settings: a non-interactive matplotlib backend for tests and notebook kernels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before anything imports matplotlib. Kernels started by nbval inherit this
# environment, so notebooks executed in the suite draw off-screen too.
os.environ["MPLBACKEND"] = "Agg"
# No automatic progress bars in executed notebooks: hundreds of bar updates can overflow the
# kernel's output channel while nbval waits for a long cell, and the lost "idle" message
# then fails the cell ("Timeout of 5 seconds exceeded waiting for output").
os.environ["GROKKIT_PROGRESS"] = "0"

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
