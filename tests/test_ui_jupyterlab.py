"""Notebook 09's explorer as a user meets it: in a real JupyterLab, in headless Chromium.

The test starts ``jupyter lab`` on 127.0.0.1 (a free port, a token, its own runtime, config,
settings and workspace folders, runs in ``$RIPR_RUNS`` or else a temporary folder), drives
Debian's ``chromium`` with Playwright (``executable_path=``, no browser download), opens a copy
of ``notebooks/09_qualitative.ipynb`` and runs it from JupyterLab's Run menu (its saved
parameters are the smoke profile: tiny models are trained on first use). Then it drags the
resolution slider and picks another query, and checks that the LR/SR images and the top-k
lists shown change, and that no cell shows a traceback and no widget an error.

A screenshot of the explorer is written to the test's temporary folder, or to
``$RIPR_UI_SCREENSHOT`` when set (``figures/explorer_jupyterlab.png`` is made that way).
Without ``chromium`` or the ``playwright`` package the test is skipped.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09_qualitative.ipynb"
BROWSERS = ("chromium", "chromium-browser")  # Debian's package, Ubuntu's name
SERVER_START_S = 90
NOTEBOOK_RUN_S = 900  # trains the smoke models on first use: about 1-3 min on 2 cores
WIDGET_UPDATE_S = 120

# JupyterLab user settings for the test: every cell in the DOM, never save the notebook
# copy, no news or update checks (there is no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

EXPLORER = ".jp-OutputArea-output .widget-vbox:has(.widget-hslider)"
# The explorer's figure (lib.report.widgets.render_panel): a title, then a row with the LR and SR
# images, then one row per model with its ranked gallery. Fractions of the figure's height:
IMAGES_ROW = (0.10, 0.30)
RANKED_ROWS = (0.38, 1.0)

# Run All has finished (every code cell numbered) or stopped at an error.
FINISHED_JS = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(e => e.textContent.trim());
    const done = prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
    const text = [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.textContent).join('\\n');
    return done || text.includes('Traceback') || text.includes('Error displaying widget');
}"""

# The explorer's figure is an <img> again and differs from the one shown before.
REDRAWN_JS = """([selector, before]) => {
    const img = document.querySelector(selector + ' .widget-output img');
    return img !== null && img.complete && img.src !== before;
}"""


def _browser() -> str | None:
    named = os.environ.get("RIPR_CHROMIUM")
    return named if named and Path(named).is_file() else next(map(shutil.which, BROWSERS), None)


def _missing() -> str:
    missing = []
    if _browser() is None:
        missing.append("the chromium browser (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    return " and ".join(missing)


pytestmark = pytest.mark.skipif(
    bool(_missing()),
    reason=f"drives JupyterLab in headless Chromium with Playwright; missing {_missing()}",
)


def _write_settings(folder: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_for_server(proc: subprocess.Popen, runtime: Path, log: Path) -> dict:
    """The server's own description (port, token, url) once it is listening."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()}")
        for path in runtime.glob("jpserver-*.json"):
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:  # being written
                pass
        time.sleep(0.2)
    raise TimeoutError(f"jupyter lab did not start in {SERVER_START_S} s:\n{log.read_text()}")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a copy of notebook 09 (the checkout's file is never written);
    yields its URL with the token. Stops the server and its kernel afterwards."""
    served, runtime, settings = tmp_path / "notebooks", tmp_path / "runtime", tmp_path / "lab"
    served.mkdir()
    shutil.copy(NOTEBOOK, served)
    _write_settings(settings / "settings")
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "RIPR_RUNS": os.environ.get("RIPR_RUNS") or str(tmp_path / "runs"),
        "RIPR_OUTPUT": str(tmp_path / "output"),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", "--port=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={served}", "--ServerApp.terminals_enabled=False",
        f"--LabApp.user_settings_dir={settings / 'settings'}",
        f"--LabApp.workspaces_dir={settings / 'workspaces'}",
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=",
    ]  # fmt: skip
    log = tmp_path / "jupyter.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        info = _wait_for_server(proc, runtime, log)
        yield f"{info['url']}lab/tree/{NOTEBOOK.name}?token={token}"
    finally:
        # the server and the kernel it started are in the process group made for it
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def _figure(page) -> tuple[str, np.ndarray]:
    """The explorer's figure as shown: its data URL and its pixels (H, W, 3)."""
    src = page.locator(f"{EXPLORER} .widget-output img").get_attribute("src")
    assert src and src.startswith("data:image/png;base64,"), src
    png = base64.b64decode(src.split(",", 1)[1])
    return src, np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _band(pixels: np.ndarray, rows: tuple[float, float]) -> np.ndarray:
    height = pixels.shape[0]
    return pixels[int(rows[0] * height) : int(rows[1] * height)]


def _changed(before: np.ndarray, after: np.ndarray, rows: tuple[float, float]) -> bool:
    a, b = _band(before, rows), _band(after, rows)
    return a.shape != b.shape or bool(np.any(a != b))


def _redrawn(page, before: str, after_what: str) -> tuple[str, np.ndarray]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(REDRAWN_JS, arg=[EXPLORER, before], timeout=WIDGET_UPDATE_S * 1000)
    except PlaywrightTimeout:
        _assert_no_errors(page)
        raise AssertionError(
            f"the explorer's figure was not redrawn {WIDGET_UPDATE_S} s after {after_what}"
        ) from None
    return _figure(page)


def _assert_no_errors(page) -> None:
    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
    tracebacks = [text for text in outputs if "Traceback" in text]
    assert not tracebacks, f"a cell shows an error:\n{tracebacks[0][-3000:]}"
    widget_errors = [text for text in outputs if "Error displaying widget" in text]
    assert not widget_errors, widget_errors[0]
    assert page.locator(".jupyter-widgets-error-widget").count() == 0, "a widget shows an error"


def _save_screenshot(page, path: Path) -> None:
    """The JupyterLab window scrolled to the explorer, as a small palette PNG."""
    page.locator(EXPLORER).scroll_into_view_if_needed()
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=128).save(path, optimize=True)


def test_explorer_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_browser(), args=["--disable-dev-shm-usage", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(lab, timeout=SERVER_START_S * 1000)
            # the notebook is open and its kernel connected
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=SERVER_START_S * 1000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            try:
                page.wait_for_function(FINISHED_JS, timeout=NOTEBOOK_RUN_S * 1000, polling=1000)
            except PlaywrightTimeout:
                raise AssertionError(
                    f"{NOTEBOOK.name} did not finish in {NOTEBOOK_RUN_S} s"
                ) from None
            ran = time.monotonic() - started
            _assert_no_errors(page)

            explorer = page.locator(EXPLORER)
            explorer.scroll_into_view_if_needed()
            query = explorer.locator(".widget-dropdown select")
            readout = explorer.locator(".widget-slider .widget-readout")
            first_query = query.input_value()
            src, shown = _figure(page)

            # drag the resolution slider to its left end (r = 0.125)
            handle = explorer.locator(".noUi-handle").bounding_box()
            track = explorer.locator(".noUi-base").bounding_box()
            assert handle and track
            y = handle["y"] + handle["height"] / 2
            page.mouse.move(handle["x"] + handle["width"] / 2, y)
            page.mouse.down()
            page.mouse.move(track["x"] - 20, y, steps=8)
            page.mouse.up()
            assert readout.inner_text() == "0.125"
            src, at_low_r = _redrawn(page, src, "moving the r slider")
            assert _changed(shown, at_low_r, IMAGES_ROW), "the LR/SR images did not change with r"
            assert _changed(shown, at_low_r, RANKED_ROWS), "the top-k lists did not change with r"

            # pick the last query (another identity than the first)
            query.select_option(index=query.locator("option").count() - 1)
            assert query.input_value() != first_query
            _, other = _redrawn(page, src, "picking another query")
            assert _changed(at_low_r, other, IMAGES_ROW), "the images did not change with the query"
            assert _changed(at_low_r, other, RANKED_ROWS), "the top-k lists did not change"
            assert readout.inner_text() == "0.125"  # r is kept across queries
            _assert_no_errors(page)

            screenshot = Path(os.environ.get("RIPR_UI_SCREENSHOT") or tmp_path / "explorer.png")
            _save_screenshot(page, screenshot)
            print(f"notebook ran in {ran:.0f} s, test {time.monotonic() - started:.0f} s")
        except Exception:
            page.screenshot(path=tmp_path / "failure.png")
            raise
        finally:
            browser.close()
