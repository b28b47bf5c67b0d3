"""Real-browser test: JupyterLab in headless Chromium runs notebook 03 and moves the explorer.

Starts JupyterLab on loopback over a temporary copy of the notebook (so autosave can never
touch the stored outputs), opens it in the system's Chromium through Playwright (no browser
download), runs every cell in fast mode, presses the first slider's knob to the right, and
checks that the readout and the decoded image (compared as element screenshots) changed.
Screenshots are written to ``AAE_ARTEFACTS`` (default ``build/test-artefacts/``), never to git.

Skipped, with the reason, when Playwright or a Chromium binary is missing; ``.ci/run`` installs
Debian's ``chromium`` package so CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aae_utils.config import REPO_ROOT

NOTEBOOK = "03_adversarial_autoencoder.ipynb"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 120_000


def _chromium() -> str | None:
    for candidate in (os.environ.get("AAE_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """Lab settings for a quiet, deterministic page: no news toast, no autosave, every cell in
    the DOM (JupyterLab 4 otherwise only renders the cells on screen)."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, content in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback serving a copy of the explorer notebook."""
    if _chromium() is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set AAE_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    dirs = {name: tmp / name for name in ("config", "runtime", "settings", "workspaces", "ckpt")}
    for d in dirs.values():
        d.mkdir()
    _write_settings(dirs["settings"])
    env = {
        **os.environ,
        "AAE_FAST": "1", "AAE_PROGRESS": "0", "AAE_CHECKPOINT_DIR": str(dirs["ckpt"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
    }
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}", "--ServerApp.disable_check_xsrf=True",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (tmp / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_explorer_slider_changes_the_decoded_image(lab):
    from playwright.sync_api import expect, sync_playwright

    artefacts = Path(os.environ.get("AAE_ARTEFACTS", REPO_ROOT / "build" / "test-artefacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab}/lab/tree/{NOTEBOOK}", timeout=TIMEOUT_MS)
            status = page.locator(".jp-StatusBar-TextItem", has_text="Idle")
            expect(status.first).to_be_visible()
            page.locator(".jp-NotebookPanel").first.click(position={"x": 300, "y": 200})
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator('li[data-command="runmenu:run-all"]').click()

            slider = page.locator(".jupyter-widgets.widget-slider").first
            expect(slider).to_be_visible()
            images = page.locator(".jupyter-widgets.widget-image")
            expect(images.nth(1)).to_be_visible()
            readout = slider.locator(".widget-readout")
            decoded = images.nth(1)
            decoded.scroll_into_view_if_needed()
            time.sleep(1.0)  # let the first PNG paint
            before_value = readout.inner_text()
            before = decoded.screenshot(path=str(artefacts / "explorer-before.png"))

            knob = slider.locator(".noUi-handle")
            knob.focus()
            for _ in range(25):  # 25 steps of lim/50: half the slider's range
                knob.press("ArrowRight")
            expect(readout).not_to_have_text(before_value)

            after = before
            deadline = time.monotonic() + 30
            while after == before and time.monotonic() < deadline:
                time.sleep(0.5)
                after = decoded.screenshot(path=str(artefacts / "explorer-after.png"))
            page.screenshot(path=str(artefacts / "explorer-page.png"))
            assert float(readout.inner_text()) > float(before_value)
            assert after != before, "the decoded image did not change after moving the slider"
        finally:
            browser.close()
