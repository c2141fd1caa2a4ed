"""A real browser: JupyterLab in headless chromium runs a notebook, and a widget slider redraws its figure.

Starts JupyterLab on a free localhost port with a random token (in a temporary folder
holding a small notebook written by this test, so nothing in the repository is touched
or autosaved), opens the notebook in Debian's chromium through Playwright (never a
downloaded browser), runs all cells from the Run menu, then checks that

- a step slider and its figure image render,
- moving the slider changes the image (its source and its pixels),
- the static figure displays, and no cell shows an error.

A screenshot goes to screenshots/ (git-ignored). Without chromium the test is skipped
locally and fails in CI (the environment variable CI is set).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "screenshots"

NOTEBOOK_CELLS = [
    ("markdown", "# Browser check\nA tiny run, a step scrubber over two figures, and one static figure."),
    ("code", "from dataclasses import replace\n\nimport grokkit\nfrom grokkit import plots, widgets\n\n"
             "config = replace(grokkit.PAIR_MODADD, p=23, embed_size=32, hidden_size=8, steps=300,\n"
             "                 log_every=10, save_every=50)\nrun = grokkit.train(config, progress=False)\nrun"),
    ("code", "scrub = widgets.scrubber(run, plots.curves, plots.weights, static=False)\nscrub"),
    ("code", "plots.dft(run)"),
]


def _missing(reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path) -> None:
    """The notebook the browser runs (python3 kernel, no outputs)."""
    cells = []
    for kind, source in NOTEBOOK_CELLS:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        cells.append(cell)
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Poll the server's status API until it answers."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server we started (and its kernels, in its process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def _run_all_cells(page, tries: int = 4) -> None:
    """Run > Run All Cells, retried until the cells are queued.

    A click can come too early on a busy machine: the command may be disabled, or JupyterLab
    may not have attached the kernel to the notebook yet and answer with its "Select Kernel"
    dialog, whose default (the notebook's own Python 3 kernel) is accepted.
    """
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                       .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for _ in range(tries):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        item = page.locator(".lm-Menu-item:not(.lm-mod-disabled)").filter(
            has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")))
        item.wait_for(state="visible", timeout=30_000)
        item.click()
        end = time.monotonic() + 60
        while time.monotonic() < end:      # do not click twice while a slow machine catches up
            if page.evaluate(started):
                return
            dialog = page.locator(".jp-Dialog")
            if dialog.count() and "Select Kernel" in dialog.first.inner_text():
                dialog.first.locator(".jp-mod-accept").click()
            time.sleep(0.5)
        page.keyboard.press("Escape")
    raise AssertionError(f"Run All Cells did not start the cells after {tries} tries")


@pytest.fixture
def lab():
    """A running JupyterLab on a temporary folder with the check notebook: yields (base url, token, log).

    The folder comes from tempfile, not pytest's tmp_path: other pytest sessions on the same
    machine prune old tmp_path folders, which would pull the notebook and the kernel's
    runtime files from under a running server.
    """
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed")
    tmp_path = Path(tempfile.mkdtemp(prefix="grokkit-browser-"))
    root = tmp_path / "lab"
    root.mkdir()
    _write_notebook(root / "browser_check.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                 "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    env.pop("GROKKIT_STATIC", None)     # a learner's setting must not turn the widget into an animation
    log = tmp_path / "jupyter.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           # a starved browser must not be taken for a gone one (the kernel would lose its client)
           "--ServerApp.websocket_ping_interval=600", "--ServerApp.websocket_ping_timeout=600"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:      # containers and CI often run as root
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
                                start_new_session=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log)
        yield f"http://127.0.0.1:{port}", token, log
    finally:
        _stop(proc)
        if SCREENSHOTS.is_dir():       # keep the server's log next to the screenshot
            shutil.copy(log, SCREENSHOTS / "browser_jupyter.log")
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_widget_slider_redraws_its_figure_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    base, token, log = lab
    SCREENSHOTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(120_000)
            try:
                page.goto(f"{base}/lab/tree/browser_check.ipynb?reset&token={token}")
                page.wait_for_selector(".jp-Notebook .jp-CodeCell")
                # the status bar says "Python 3 (ipykernel) | Idle" once the kernel is attached
                page.wait_for_function("""() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                                           .some(e => /\\|\\s*Idle/.test(e.textContent))""")

                _run_all_cells(page)

                # every code cell has run: its prompt holds a number, no cell is queued or busy
                page.wait_for_function(
                    """() => {
                        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                        return prompts.length === 3 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                    }""", timeout=180_000)

                slider = page.locator(".widget-hslider .noUi-target").first
                slider.wait_for(state="visible")
                images = page.locator("img.widget-image")
                images.first.wait_for(state="visible")
                assert images.count() == 2, "the scrubber should show two figures"
                label = page.locator(".widget-label").filter(has_text=re.compile(r"^\s*step [\d,]+\s*$")).first
                assert label.inner_text().strip() == "step 300"
                imgs = [images.nth(0).element_handle(), images.nth(1).element_handle()]
                for h in imgs:
                    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=h)
                src_before = [h.get_attribute("src") for h in imgs]
                pixels_before = [h.screenshot() for h in imgs]

                box = slider.bounding_box()
                page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + box["height"] / 2)

                for h, old in zip(imgs, src_before):
                    page.wait_for_function("([img, old]) => img.src !== old && img.complete && img.naturalWidth > 100",
                                           arg=[h, old], timeout=60_000)
                page.wait_for_function(
                    "el => el.textContent.trim() !== 'step 300'", arg=label.element_handle(), timeout=60_000)
                # the status bar says "Python 3 (ipykernel) | Idle" once the kernel is attached
                page.wait_for_function("""() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                                           .some(e => /\\|\\s*Idle/.test(e.textContent))""")
                pixels_after = [h.screenshot() for h in imgs]
                assert pixels_after[0] != pixels_before[0], "moving the slider did not change the curves"
                assert pixels_after[1] != pixels_before[1], "moving the slider did not change the weights"

                # the static figure displayed as an image
                static = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
                assert static.count() >= 1, "plots.dft(run) did not display a PNG"

                errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
                texts = [errors.nth(i).inner_text() for i in range(errors.count())]
                bad = [t for t in texts if "Traceback" in t or "Error" in t]
                assert not bad, "a cell shows an error:\n" + "\n---\n".join(bad)
                body = page.locator("body").inner_text()
                assert "Error displaying widget" not in body and "Failed to load model" not in body
            except Exception as e:
                dialogs = page.locator(".jp-Dialog")
                shown = [dialogs.nth(i).inner_text() for i in range(dialogs.count())]
                if shown:   # a JupyterLab dialog (kernel died, ...) says more than a timeout
                    raise AssertionError(f"JupyterLab shows a dialog: {shown}\nserver log:\n"
                                         f"{log.read_text()[-3000:]}") from e
                raise
            finally:
                try:    # the "Jupyter news?" toast, best effort, so the screenshot is clean
                    page.get_by_role("button", name="No", exact=True).first.click(timeout=2_000)
                except Exception:
                    pass
                page.screenshot(path=str(SCREENSHOTS / "browser_widget_check.png"), full_page=True)
        finally:
            browser.close()
    elapsed = time.monotonic() - t0
    print(f"browser part took {elapsed:.1f} s")

