"""Shared test settings: a non-interactive matplotlib backend for tests and notebook kernels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before anything imports matplotlib. Kernels started by nbval inherit this
# environment, so notebooks executed in the suite draw off-screen too.
os.environ["MPLBACKEND"] = "Agg"

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
