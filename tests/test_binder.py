"""Binder (repo2docker) builds the same pinned, CPU-only environment, without resolver conflicts, and installs grokkit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_install import LEARNER_PINS, REPO, pins

BINDER = REPO / "binder"
REPO2DOCKER = shutil.which("repo2docker", path=str(Path(sys.executable).parent)) or shutil.which("repo2docker")
needs_repo2docker = pytest.mark.skipif(REPO2DOCKER is None, reason="repo2docker is not installed (requirements-dev.txt pins it)")


def _lines(path: Path) -> list[str]:
    """A requirements file's lines without comments and blank lines."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def test_binder_pins_the_same_versions_as_requirements():
    assert pins(BINDER / "requirements.txt") == pins(REPO / "requirements.txt") == LEARNER_PINS


def test_binder_requirements_are_the_learners_without_the_editable_install():
    # repo2docker installs binder/requirements.txt before it copies the repository.
    assert _lines(BINDER / "requirements.txt") == [line for line in _lines(REPO / "requirements.txt") if line != "-e ."]


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


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile repo2docker writes for this repository (`--no-build`: nothing is built or pulled)."""
    if REPO2DOCKER is None:
        pytest.skip("repo2docker is not installed (requirements-dev.txt pins it)")
    result = subprocess.run([REPO2DOCKER, "--no-build", "--debug", str(REPO)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _image_environment() -> dict[str, str]:
    """{pip name: version} of the top-level packages (environment.yml) of repo2docker's Python 3.11 base environment."""
    from repo2docker.buildpacks import conda

    folder = Path(conda.__file__).parent
    top = re.findall(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*[=<>]", (folder / "environment.yml").read_text(encoding="utf-8"), flags=re.M)
    lock = (folder / "environment.py-3.11-linux-64.lock").read_text(encoding="utf-8")
    locked = dict(re.findall(r"/([A-Za-z0-9_.\-]+?)-([0-9][A-Za-z0-9_.]*)-[^-/]+\.conda", lock))
    rename = {"jupyterhub-singleuser": "jupyterhub"}  # conda's metapackage for PyPI's jupyterhub
    return {
        rename.get(name, name).replace("_", "-").lower(): locked[name]
        for name in top if name not in ("python", "nodejs", "pip")
    }


@needs_repo2docker
def test_binder_image_is_ubuntu_24_04_and_installs_the_requirements_then_post_build(dockerfile):
    assert re.search(r"^FROM docker\.io/library/buildpack-deps:24\.04$", dockerfile, flags=re.M)
    # The Python 3.11 base environment (its lock file's name is escaped in the COPY line).
    assert "environment-2epy-2d3-2e11-2dlinux-2d64-2elock" in dockerfile
    install = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    assert install < dockerfile.index("RUN ./binder/postBuild")
    for place in ("docs/instructors.md", "README.md", ".ci/run"):
        assert "22.04" not in (REPO / place).read_text(encoding="utf-8"), place


def _dry_run(lines: list[str], tmp: Path) -> tuple[int, str, dict[str, str]]:
    """pip's resolution of these requirement lines: (exit status, last error line, {name: version})."""
    requirements = tmp / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp / "report.json"
    env = dict(os.environ, PIP_RETRIES="1", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
         "-r", str(requirements)], env=env, capture_output=True, text=True, timeout=600,
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    chosen = {}
    if result.returncode == 0:
        chosen = {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    return result.returncode, (errors[-1] if errors else result.stderr[-300:]), chosen


@needs_repo2docker
@pytest.mark.slow
def test_binder_pins_resolve_together_with_the_images_own_jupyter(tmp_path):
    # pip installs binder/requirements.txt over the image's environment and upgrades only what
    # our pins need: the image's top-level packages outside our pins' dependencies stay at their
    # locked versions (notebook 7.4.7, which requires jupyterlab < 4.5, was the conflict). torch
    # and its index are left out: they touch nothing of the image's.
    ours = [line for line in _lines(BINDER / "requirements.txt") if not line.startswith(("--", "torch"))]
    image = _image_environment()
    assert {"notebook", "jupyterlab", "ipywidgets"} <= set(image), image
    status, error, needed = _dry_run(ours, tmp_path)
    if status != 0 and ("No matching distribution" in error or "Could not find a version" in error):
        pytest.skip(f"a package index could not be reached: {error}")
    assert status == 0, error
    kept = [f"{name}=={version}" for name, version in image.items() if name not in needed]
    assert any(k.startswith("jupyterhub==") for k in kept), kept
    status, error, chosen = _dry_run(ours + kept, tmp_path)
    assert status == 0, f"binder/requirements.txt conflicts with the image's {kept}: {error}"
    assert chosen["jupyterlab"] == LEARNER_PINS["jupyterlab"] and chosen["notebook"] == LEARNER_PINS["notebook"]
