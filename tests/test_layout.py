"""The built book's layout in a real browser: nothing clipped, dark mode readable.

Reuses the headless-Chromium set-up of ``tests/test_browser.py`` (its
``server`` and ``browser`` fixtures and page list; network blocked) and opens
every chapter page at two window widths, a laptop (1300 px) and a phone
(390 px), in the theme's light and dark modes. It fails when

* a code cell's source, or any output of a code cell (text, table, image),
  is wider than the box that shows it: the reader would have to scroll
  sideways or would not see the end of the line. The failure names the page,
  the width, the cell (its position on the page and the start of its source)
  and by how many pixels the content overflows;
* in dark mode, a table's text does not stand out from the background behind
  it (WCAG contrast below 4.5), or a figure has no opaque light background
  of its own (a transparent or dark PNG on the dark page).

Long code lines wrap (``book/_static/kvbook.css``) rather than clip; the
line length that fits at 1300 px is checked by ruff over the notebooks
(``test_chapter_code_fits_the_column``), and ``layout.tsv`` counts the code
lines still wrapped at each width. Screenshots of every chapter (light and
dark, both widths) go to ``_build/screenshots/layout/`` beside the tested
HTML, and ``layout.tsv`` lists the cells and boxes checked per page and
width. As for the browser test, the build is reused, never made here: run
``jupyter-book build .`` first.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401 - server is a fixture used below
    HTML,
    PAGES,
    SHOTS,
    WAIT_JS,
    _unavailable,
    server,
    start_chromium,
)

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = {"laptop": 1300, "phone": 390}
LAYOUT_SHOTS = SHOTS / "layout"
MAX_SHOT_HEIGHT = 16000
CHAPTERS = [p for p in PAGES if p.startswith("book/") and Path(p).stem[:2].isdigit()]

#: Every code cell on the page: its source box and each output box, measured.
#: A box clips when its content is wider than the box (scrollWidth > clientWidth)
#: or when it sticks out to the right of the article column.
MEASURE_JS = """
const col = document.querySelector('article.bd-article') || document.querySelector('main');
const colRight = col.getBoundingClientRect().right;
const cells = Array.from(col.querySelectorAll('div.cell'));
const out = {cells: cells.length, boxes: 0, clipped: [], wrapped: 0};
cells.forEach((cell, i) => {
  const src = cell.querySelector('div.cell_input pre');
  const label = 'cell ' + (i + 1) + ' of ' + cells.length + ' ('
    + (src ? JSON.stringify(src.textContent.trim().split('\\n')[0].slice(0, 60)) : 'no source')
    + ')';
  const boxes = [];
  cell.querySelectorAll('div.cell_input pre').forEach(e => boxes.push(['source', e]));
  cell.querySelectorAll('div.cell_output pre').forEach(e => boxes.push(['text output', e]));
  cell.querySelectorAll('div.cell_output div.output').forEach(e => boxes.push(['output', e]));
  cell.querySelectorAll('div.cell_output table').forEach(e => boxes.push(['table', e]));
  cell.querySelectorAll('div.cell_output img').forEach(e => boxes.push(['image', e]));
  boxes.forEach(([kind, e]) => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;   // folded away (hide-input)
    out.boxes += 1;
    if (kind === 'source') {   // code lines wrapped (not clipped): reported, not failed
      const cs = getComputedStyle(e);
      const inner = e.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
      const shown = Math.round(inner / parseFloat(cs.lineHeight));
      const n = e.textContent.replace(/\\n$/, '').split('\\n').length;
      out.wrapped += Math.max(0, shown - n);
    }
    const over = Math.max(e.scrollWidth - e.clientWidth, r.right - colRight);
    if (over > 1) {
      let line = '';
      if (e.tagName === 'PRE') {
        line = e.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '');
      }
      out.clipped.push(label + ': ' + kind + ' overflows by ' + Math.round(over) + ' px'
        + (line ? ' (longest line, ' + line.length + ' chars: '
           + JSON.stringify(line.slice(0, 80)) + ')' : ''));
    }
  });
});
return out;
"""

#: Dark mode: tables' text against the colour really behind it, and figures'
#: own background (a corner pixel of the PNG, which must be opaque and light).
DARK_JS = """
const rgba = s => {
  const m = s.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
const lum = c => {
  const f = v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
const behind = e => {
  for (; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0.5) return c;
  }
  return [255, 255, 255, 1]; };
const col = document.querySelector('article.bd-article') || document.querySelector('main');
const problems = []; let tables = 0, figures = 0;
col.querySelectorAll('div.cell_output table').forEach((t, i) => {
  tables += 1;
  t.querySelectorAll('th, td').forEach(c => {
    const fg = rgba(getComputedStyle(c).color), bg = behind(c);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5 && problems.length < 20)
      problems.push('table ' + (i + 1) + ' cell ' + JSON.stringify(c.textContent.slice(0, 30))
        + ': contrast ' + ratio.toFixed(2));
  });
});
col.querySelectorAll('div.cell_output img').forEach((img, i) => {
  if (!img.naturalWidth) return;
  figures += 1;
  const cv = document.createElement('canvas');
  cv.width = img.naturalWidth; cv.height = img.naturalHeight;
  const g = cv.getContext('2d'); g.drawImage(img, 0, 0);
  const p = g.getImageData(1, 1, 1, 1).data;
  const cardBg = rgba(getComputedStyle(img).backgroundColor);
  const light = p[3] === 255 ? lum(p) : (cardBg[3] > 0.5 ? lum(cardBg) : 0);
  if (light < 0.8)
    problems.push('figure ' + (i + 1) + ' (' + img.alt.slice(0, 50) + '): background not '
      + 'light in dark mode (corner rgba ' + Array.from(p).join(',') + ')');
});
return {tables: tables, figures: figures, problems: problems};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium as in test_browser.py (same flags, network blocked),
    without its request log (that fixture's teardown writes the log files)."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium-layout"), width=1300)
    yield driver
    driver.quit()


def _open(driver, url: str, width: int, dark: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.get("about:blank")
    driver.get(url)
    driver.execute_async_script(WAIT_JS)
    mode = "dark" if dark else "light"
    driver.execute_script(
        "document.documentElement.dataset.theme = arguments[0];"
        "document.documentElement.dataset.mode = arguments[0];", mode)


def _shot(driver, width: int, path: Path) -> None:
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    height = int(min(max(height, 900), MAX_SHOT_HEIGHT))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def layout_log():
    rows: list[str] = []
    yield rows
    LAYOUT_SHOTS.mkdir(parents=True, exist_ok=True)
    (LAYOUT_SHOTS / "layout.tsv").write_text(
        "page\twidth\tcells\tboxes\tclipped\twrapped_code_lines\n" + "".join(rows))


@pytest.mark.parametrize("width", sorted(WIDTHS), ids=str)
@pytest.mark.parametrize("page", CHAPTERS or ["<no build>"])
def test_nothing_clipped(page, width, server, browser, layout_log):  # noqa: F811
    driver = browser
    if page == "<no build>":
        _unavailable(f"no HTML build with chapters at {HTML}")
    px = WIDTHS[width]
    try:
        _open(driver, server + page, px, dark=False)
        info = driver.execute_script(MEASURE_JS)
        _shot(driver, px, LAYOUT_SHOTS / f"{Path(page).stem}-{width}-light.png")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    layout_log.append(f"{page}\t{px}\t{info['cells']}\t{info['boxes']}\t"
                      f"{len(info['clipped'])}\t{info['wrapped']}\n")
    assert info["cells"] > 0, f"{page}: no code cells found (page layout changed?)"
    assert not info["clipped"], (f"{page} at {px} px: {len(info['clipped'])} clipped:\n  "
                                 + "\n  ".join(info["clipped"]))


@pytest.mark.parametrize("width", sorted(WIDTHS), ids=str)
@pytest.mark.parametrize("page", CHAPTERS or ["<no build>"])
def test_dark_mode_readable(page, width, server, browser):  # noqa: F811
    driver = browser
    if page == "<no build>":
        _unavailable(f"no HTML build with chapters at {HTML}")
    px = WIDTHS[width]
    try:
        _open(driver, server + page, px, dark=True)
        info = driver.execute_script(DARK_JS)
        _shot(driver, px, LAYOUT_SHOTS / f"{Path(page).stem}-{width}-dark.png")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not info["problems"], (f"{page} at {px} px, dark mode:\n  "
                                  + "\n  ".join(info["problems"]))


# ---------------------------------------------------------------- line length
NOTEBOOKS = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_chapter_code_fits_the_column(notebook):
    """ruff's E501 over the chapter's code cells at the book's line length
    (``book/ruff.toml``): a line that fits is never clipped at 1300 px."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    out = subprocess.run([ruff, "check", "--select", "E501", "--output-format", "concise",
                          "--no-cache", f"book/{notebook}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, f"lines too long in book/{notebook}:\n{out.stdout}"
