"""Running a chapter live: JupyterLab, headless, with the network blocked.

Starts ``jupyter lab`` (the ``lab`` extra) on 127.0.0.1 over a temporary copy
of a chapter (so autosave never touches ``book/``), opens the chapter in
headless Chromium (Debian's, the same as ``tests/test_browser.py``, behind a
dead proxy so only localhost answers), runs every cell, moves the widget's
first slider with the keyboard and waits until the widget's figure is
redrawn. A screenshot of the notebook after the move goes to
``_build/screenshots/lab-<chapter>.png``.

Skipped, with the reason, when JupyterLab (``pip install -c constraints.txt
-e ".[lab]"``), Chromium or selenium is missing; ``KVTHEORY_REQUIRE_LAB=1``
turns the skips into failures. ``KVTHEORY_LAB_CHAPTER`` picks the chapter
(default ``01_streaming``). Takes about a minute.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = os.environ.get("KVTHEORY_LAB_CHAPTER", "01_streaming")
REQUIRE = os.environ.get("KVTHEORY_REQUIRE_LAB", "") not in ("", "0")
SHOTS = ROOT / "_build" / "screenshots"
TOKEN = "kvtheory-lab-test"


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"JupyterLab test required (KVTHEORY_REQUIRE_LAB=1) but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if importlib.util.find_spec("jupyterlab") is None:
        _unavailable('JupyterLab is not installed (pip install -c constraints.txt -e ".[lab]")')
    src = ROOT / "book" / f"{CHAPTER}.ipynb"
    if not src.is_file():
        _unavailable(f"no chapter {src}")
    work = tmp_path_factory.mktemp("lab")
    root = work / "book"
    root.mkdir()
    shutil.copy(src, root / src.name)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTER_DATA_DIR": str(work / "data"),
           "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MPLBACKEND", None)
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    if proc.poll() is not None:
        log.close()
        pytest.fail("jupyter lab exited: " + (work / "lab.log").read_text()[-2000:])
    yield base, root / src.name, work
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    from test_browser import start_chromium

    driver = start_chromium(tmp_path_factory.mktemp("lab-chromium"), width=1400, height=1000,
                            timeout=60, performance_log=True, unavailable=_unavailable)
    yield driver
    driver.quit()


def _wait(driver, js: str, what: str, timeout: float = 90.0, *args):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(js, *args)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# every code cell has run: a number in its prompt (outputs were cleared first)
DONE_JS = """
const prompts = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'));
return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
"""

CLEARED_JS = """
const prompts = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'));
return prompts.length > 0 && !prompts.some(p => /\\d/.test(p.textContent));
"""

# accept the kernel dialog if JupyterLab asks which kernel to start
ACCEPT_JS = """
const b = document.querySelector('.jp-Dialog .jp-mod-accept');
if (b) { b.click(); return 'dialog'; }
const k = document.querySelector('.jp-Notebook-ExecutionIndicator');
return k && k.getAttribute('data-status') === 'idle' ? 'idle' : null;
"""

FIGURE_JS = """
const w = document.querySelector('.jp-Notebook .widget-interact');
if (!w) return null;
const img = w.querySelector('.widget-output img, .jp-OutputArea-output img');
return img && img.complete && img.naturalWidth > 0 ? img.src : null;
"""


def test_chapter_runs_live_and_widget_redraws(lab, chrome):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, notebook, work = lab
    driver = chrome
    driver.get(f"{base}/lab/tree/{notebook.name}?token={TOKEN}")
    _wait(driver, "return window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell');",
          "the notebook to open")
    # JupyterLab may ask which kernel to start (a modal dialog): accept its default
    settle = time.monotonic() + 5
    while True:
        state = _wait(driver, ACCEPT_JS, "an idle kernel")
        if state == "idle" and time.monotonic() > settle:
            break
        time.sleep(0.5)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');")
    _wait(driver, CLEARED_JS, "the stored outputs to be cleared", timeout=30)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    _wait(driver, DONE_JS, "every cell to run", timeout=120)
    errors = driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-Notebook [data-mime-type="
        "\"application/vnd.jupyter.stderr\"], .jp-Notebook .jp-RenderedText[data-mime-type="
        "\"application/vnd.jupyter.error\"]')).map(e => e.textContent.slice(0, 300));")
    assert not [e for e in errors if "Error" in e and "Traceback" in e], errors
    try:
        first = _wait(driver, FIGURE_JS, "the widget's figure")
    except AssertionError:
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / f"lab-{CHAPTER}-failed.png"))
        html = driver.execute_script(
            "const w = document.querySelector('.jp-Notebook .jupyter-widgets, "
            ".jp-Notebook .jp-OutputArea-output[data-mime-type*=widget]');"
            "return w ? w.outerHTML.slice(0, 3000) : document.querySelector('.jp-Notebook')"
            ".innerText.slice(-3000);")
        raise AssertionError(f"no widget figure; widget area: {html}") from None
    handle = driver.find_element(By.CSS_SELECTOR,
                                 ".jp-Notebook .widget-interact .widget-slider .noUi-handle")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    before = driver.execute_script(
        "return document.querySelector('.jp-Notebook .widget-interact .widget-readout')"
        ".textContent;")
    handle.click()
    for _ in range(5):
        handle.send_keys(Keys.ARROW_RIGHT)
    after = _wait(driver, "const r = document.querySelector('.jp-Notebook .widget-interact "
                          ".widget-readout'); return r && r.textContent !== arguments[0] "
                          "? r.textContent : null;", "the slider to move", 30, before)
    second = _wait(driver, FIGURE_JS.replace("return img &&", "return img && img.src !== "
                                             "arguments[0] &&"), "the figure to change", 60,
                   first)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"lab-{CHAPTER}.png"))
    assert second != first
    print(f"slider {before} -> {after}; figure redrawn ({len(first)} -> {len(second)} "
          "bytes of PNG data URL)")
    # everything the browser fetched came from the local server
    import json

    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    remote = [u for u in urls if not u.startswith((base, "ws://127.0.0.1", "data:", "blob:",
                                                   "about:", "chrome"))]
    assert not remote, remote[:5]
