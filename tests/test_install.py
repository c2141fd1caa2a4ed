"""The install story holds together: README commands, pins, CI script and pytest settings."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")

TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt "
    "&& .venv/bin/python -m pytest"
)
COURSE_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt "
    "&& .venv/bin/jupyter lab learner/00_start_here.ipynb"
)
LEARNER_PINS = {
    "torch": "2.13.0",
    "numpy": "2.3.5",
    "matplotlib": "3.10.8",
    "ipywidgets": "8.1.9",
    "jupyterlab": "4.6.6",
    "tqdm": "4.70.1",
}
DEV_PINS = {"pytest": "9.2.0", "nbval": "0.11.0", "pytest-timeout": "2.4.0", "playwright": "1.65.2"}


def pins(path: Path) -> dict[str, str]:
    """Parse `name==version` lines of a requirements file (comments and options skipped)."""
    result = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", line)
        assert match, f"{path.name}: not pinned exactly: {line!r}"
        result[match.group(1).lower()] = match.group(2)
    return result


def shell_commands(markdown: str) -> list[str]:
    """The lines of the README's bash code blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_gives_exactly_the_two_commands():
    assert shell_commands(README) == [COURSE_COMMAND, TEST_COMMAND]


def test_ci_runs_exactly_the_readme_test_command_in_a_fresh_venv():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in ci
    assert "set -euo pipefail" in ci
    assert ci.index("rm -rf .venv") < ci.index(TEST_COMMAND)
    assert "chromium" in ci
    # pytest's exit status must reach CI: the test command is the script's last line and
    # nothing after it swallows a failure.
    assert ci.rstrip().splitlines()[-1] == TEST_COMMAND
    assert "|| true" not in ci and "set +e" not in ci


def test_ci_script_is_executable_bash():
    path = REPO / ".ci" / "run"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")
    assert os.access(path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


def test_requirements_pin_the_learner_packages_and_install_grokkit_editable():
    assert pins(REPO / "requirements.txt") == LEARNER_PINS
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    assert "-e ." in lines


def test_dev_requirements_add_pinned_test_tools_to_the_learner_ones():
    text = (REPO / "requirements-dev.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in text.splitlines()
    dev = pins(REPO / "requirements-dev.txt")
    for name, version in DEV_PINS.items():
        assert dev.get(name) == version, name


def test_pytest_settings_collect_tests_and_notebooks_with_nbval():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_cfg = config["tool"]["pytest"]["ini_options"]
    assert pytest_cfg["testpaths"] == ["tests", "notebooks"]
    for flag in ("--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=", "-p no:cacheprovider"):
        assert flag in pytest_cfg["addopts"]
    markers = " ".join(pytest_cfg["markers"])
    assert "browser:" in markers and "slow:" in markers
    for folder in (".ipynb_checkpoints", "student", "students", "student_build"):
        assert any(fnmatch.fnmatch(folder, pattern) for pattern in pytest_cfg["norecursedirs"]), folder


def test_package_metadata_includes_subpackages_and_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["name"] == "grokkit"
    assert "grokkit.*" in config["tool"]["setuptools"]["packages"]["find"]["include"]
    data = config["tool"]["setuptools"]["package-data"]["grokkit"]
    assert "data/*.npz" in data and "data/*.json" in data


@pytest.mark.parametrize("folder", ["notebooks", "tmp"])
def test_grokkit_imports_from_any_folder(folder, tmp_path):
    cwd = REPO / "notebooks" if folder == "notebooks" else tmp_path
    cwd.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", "import grokkit, grokkit.course; print(grokkit.__file__)"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == (REPO / "grokkit" / "__init__.py").resolve()


def test_tests_draw_with_a_non_interactive_matplotlib_backend():
    assert os.environ.get("MPLBACKEND") == "Agg"


def test_readme_lists_every_notebook_with_a_time_and_every_link_exists_unless_coming():
    rows = re.findall(r"^\| (\d\d[a-z]?) \| \[([^\]]+)\]\(learner/([^)]+\.ipynb)\) \| (.+) \| (\d+) min \|$", README, flags=re.M)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert [r[0] for r in rows if r[0].isdigit()] == [f"{i:02d}" for i in range(8)]
    listed = {r[2] for r in rows}
    for path in (REPO / "notebooks").glob("*.ipynb"):
        assert path.name in listed, f"{path.name} is not in the README's notebook list"
    for number, title, name, description, minutes in rows:
        assert 15 <= int(minutes) <= 90, name
        exists = (REPO / "notebooks" / name).is_file()
        if exists:
            stated = _stated_minutes(REPO / "notebooks" / name)
            assert stated == int(minutes), f"README says {minutes} min for {name}, the notebook {stated}"
        assert exists or "(coming)" in title, f"{name} is listed but missing and not marked (coming)"


def _stated_minutes(path: Path) -> int | None:
    """The learner time a notebook's first cell states ("**Time:** about N minutes")."""
    import json

    first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    match = re.search(r"\*\*Time:\*\*\s*about\s+(\d+)\s+min", first)
    return int(match.group(1)) if match else None


def test_readme_has_a_binder_badge_opening_lab_on_the_first_notebook():
    assert (
        "https://mybinder.org/v2/gh/grokkit/grokkit/HEAD?urlpath=lab/tree/learner/00_start_here.ipynb"
        in README
    )


def test_start_here_links_the_same_notebooks_as_the_readme():
    import json

    nb = json.loads((REPO / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")
    linked = set(re.findall(r"\]\((\d\d[a-z]?_[a-z_]+\.ipynb)\)", text))
    in_readme = set(re.findall(r"\]\(learner/(\d\d[a-z]?_[a-z_]+\.ipynb)\)", README))
    assert linked == in_readme - {"00_start_here.ipynb"}
