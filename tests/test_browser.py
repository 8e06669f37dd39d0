"""The built book in a real browser, with the network blocked.

Opens every page of the HTML build in headless Chromium (Debian's
``/usr/bin/chromium`` driven by ``/usr/bin/chromedriver`` through selenium;
no downloaded browser builds) and checks what a reader would see:

* no console errors and no failed or non-local request (the page is served
  from 127.0.0.1; Chromium runs behind a dead proxy and a host-resolver rule,
  so anything remote fails, and every request is recorded and must be local);
* MathJax rendered every formula: ``mjx-container`` present where the page
  has math, no raw TeX (``$...$``, ``\\(...\\)``, ``\\begin``) left in the text,
  no MathJax error boxes;
* every image loaded (``naturalWidth > 0``);
* a theorem / proof box for every ``prf:`` directive in the page's source;
* every same-site link points to an existing file and anchor;
* in-page explorers (``kvtheory.viz.explore``): at least three chapters have
  them; on each, every explorer draws with the local Vega files, its first
  slider is moved with the keyboard, the plotted values change, and a
  formula's curve equals the library's numbers at the new setting (a grid's
  points all belong to the selected row); screenshots before and after go to
  ``explore-<name>-a.png`` / ``-b.png``.

A full-page screenshot of each page goes to ``_build/screenshots/`` (next to
the ``html`` folder tested), with ``requests.log`` listing every request seen.

The build is reused, never made here (building executes every chapter):
run ``jupyter-book build .`` first. Environment:
``KVTHEORY_BOOK_HTML`` (default ``_build/html``), ``KVTHEORY_BOOK_TOC``
(default ``_toc.yml``), ``KVTHEORY_CHROMIUM`` / ``KVTHEORY_CHROMEDRIVER``,
and ``KVTHEORY_REQUIRE_BROWSER=1`` to turn the skips into failures (CI).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from book_toc import toc_docnames

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("KVTHEORY_BOOK_HTML", ROOT / "_build" / "html")).resolve()
TOC = Path(os.environ.get("KVTHEORY_BOOK_TOC", ROOT / "_toc.yml")).resolve()
SHOTS = HTML.parent / "screenshots"
REQUIRE = os.environ.get("KVTHEORY_REQUIRE_BROWSER", "") not in ("", "0")
MAX_SHOT_HEIGHT = 12000

PRF_RE = re.compile(r"^\s*(?:```+|:::+)\{prf:([a-z]+)\}", re.MULTILINE)
# Math delimiters, "$...$", or a TeX control word (\Theta) outside rendered math.
RAW_TEX_RE = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|(?<![\\\w])\$[^$\s][^$\n]*\$"
                        r"|\\[A-Za-z]{2,}")


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"browser test required (KVTHEORY_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


def _find_browser() -> tuple[str | None, str | None]:
    def find(env: str, *names: str) -> str | None:
        if os.environ.get(env):
            return shutil.which(os.environ[env])  # None if not an executable
        return next((p for p in map(shutil.which, names) if p), None)

    return (find("KVTHEORY_CHROMIUM", "chromium", "chromium-browser"),
            find("KVTHEORY_CHROMEDRIVER", "chromedriver"))


def built_pages() -> list[str]:
    if not HTML.is_dir():
        return []
    skip = {"_static", "_sources", "_images", "_sphinx_design_static"}
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not skip & set(p.relative_to(HTML).parts))


def expected_boxes(page: str) -> dict[str, int]:
    """Count of each prf: directive in the source of a built page."""
    stem = ROOT / page[: -len(".html")]
    for suffix in (".ipynb", ".md"):
        src = stem.with_suffix(suffix)
        if src.is_file():
            break
    else:
        return {}
    if src.suffix == ".ipynb":
        cells = json.loads(src.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = src.read_text()
    counts: dict[str, int] = {}
    for kind in PRF_RE.findall(text):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(errors="replace")))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D102 - keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    if not HTML.joinpath("index.html").is_file():
        _unavailable(f"no HTML build at {HTML}: run `jupyter-book build .` first "
                     "(or set KVTHEORY_BOOK_HTML)")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def start_chromium(profile, *, width: int = 1280, height: int = 900, timeout: float = 30,
                   performance_log: bool = False, unavailable=None):
    """Headless Chromium with the network blocked (every non-loopback request
    goes to a dead proxy and no host name resolves), or skip (fail in CI)
    when Chromium, chromedriver or selenium is missing: ``unavailable(reason)``
    decides, this file's ``_unavailable`` by default. Shared by the browser
    fixtures of this file, ``test_layout.py`` and ``test_lab.py``."""
    missing = unavailable or _unavailable
    chromium, chromedriver = _find_browser()
    if not chromium or not chromedriver:
        missing("no Chromium/chromedriver installed (Debian: apt-get install "
                "chromium chromium-driver; see tools/install_browser.sh)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[dev]')")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--disable-extensions", f"--window-size={width},{height}",
                 "--proxy-server=http://127.0.0.1:9",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    if performance_log:
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
    driver.set_page_load_timeout(timeout)
    driver.set_script_timeout(timeout)
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"),
                            performance_log=True)
    log: dict[str, dict] = {}
    driver.get("about:blank")
    yield driver, log
    driver.quit()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with open(SHOTS / "requests.log", "w") as fh:
        for page, rec in log.items():
            fh.write(f"# {page}\n" + "".join(f"{u}\n" for u in rec["urls"]))
    with open(SHOTS / "summary.tsv", "w") as fh:
        fh.write("page\tformulas\trendered\timages\tboxes\trequests\tnon_local\n")
        for page, rec in log.items():
            fh.write(f"{page}\t{rec['formulas']}\t{rec['rendered']}\t{rec['images']}\t"
                     f"{rec['boxes']}\t{len(rec['urls'])}\t{rec['non_local']}\n")


def _requests(driver) -> tuple[list[str], list[str]]:
    """URLs requested since the last call, and failures (blocked, errors, HTTP >= 400)."""
    urls, failures, by_id = [], [], {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            by_id[params["requestId"]] = url
            urls.append(url)
        elif msg["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failures.append(f"{by_id.get(params['requestId'], '?')}: {params.get('errorText')}")
        elif msg["method"] == "Network.responseReceived":
            status = params["response"].get("status", 200)
            if status >= 400:
                failures.append(f"{params['response']['url']}: HTTP {status}")
    return urls, failures


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(("data:", "blob:", "about:"))


def _is_browser_internal(url: str) -> bool:
    """Chromium's own pages (new-tab page resources); not network requests."""
    return url.startswith(("chrome://", "chrome-untrusted://", "devtools://"))


WAIT_JS = """
const done = arguments[arguments.length - 1];
document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });
const imgs = Array.from(document.images).map(i => i.complete ? null :
    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }));
let math = Promise.resolve('none');
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  math = MathJax.startup.promise.then(() => 'ok', e => 'error: ' + e);
}
Promise.all([math, ...imgs.filter(Boolean)]).then(r => done(r[0]));
"""

INSPECT_JS = """
const q = s => Array.from(document.querySelectorAll(s));
const clone = document.body.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight, '
  + 'kbd, .headerlink, [class*=search]').forEach(e => e.remove());
const kinds = ['theorem', 'lemma', 'definition', 'remark', 'conjecture', 'corollary',
  'algorithm', 'criterion', 'axiom', 'example', 'property', 'observation', 'proposition',
  'assumption', 'notation'];
const boxes = {};
q('div.proof').forEach(d => {
  const k = kinds.find(c => d.classList.contains(c)) || 'proof';
  // prf:proof has no title bar, only "Proof." text
  if (d.textContent.trim()) boxes[k] = (boxes[k] || 0) + 1;
});
return {
  mathSources: q('span.math, div.math').length,
  mjx: q('mjx-container').length,
  mjxErrors: q('mjx-merror').map(e => e.textContent).slice(0, 5),
  mathjaxLoaded: !!(window.MathJax && MathJax.version),
  text: clone.textContent,
  badImages: q('img').filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  images: q('img').length,
  boxes: boxes,
  links: q('a[href]').map(a => a.href),
  title: document.title,
};
"""


def _screenshot(driver, path: Path) -> None:
    import base64

    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    height = int(min(max(height, 900), MAX_SHOT_HEIGHT))
    # A viewport as tall as the page: sticky sidebars then render as a reader
    # sees them at the top (captureBeyondViewport shifts them).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def _check_links(links: list[str], base: str) -> list[str]:
    problems = []
    for href in links:
        if not href.startswith(base):
            continue
        parts = urlsplit(href)
        rel = unquote(parts.path)[len(urlsplit(base).path):]
        target = HTML / rel
        if rel == "" or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link {href}")
        elif parts.fragment and target.suffix == ".html" \
                and unquote(parts.fragment) not in _ids(target):
            problems.append(f"missing anchor {href}")
    return problems


PAGES = built_pages()


def test_build_is_current():
    """Every document of the toc has a page in the build being tested."""
    if not PAGES:
        _unavailable(f"no HTML build at {HTML}: run `jupyter-book build .` first")
    missing = [d for d in toc_docnames(TOC) if not (HTML / f"{d}.html").is_file()]
    assert not missing, f"stale build: no page for {missing}; rebuild the book"


@pytest.mark.parametrize("page", PAGES or ["<no build>"])
def test_page_in_browser(page, server, browser):
    driver, log = browser
    if page == "<no build>":
        _unavailable(f"no HTML build at {HTML}")
    source = (HTML / page).read_text(errors="replace")
    refresh = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', source, re.I)
    if refresh:  # the root index.html only redirects to the book's first page
        target = (HTML / page).parent / refresh.group(1)
        assert target.is_file(), f"{page} redirects to missing {refresh.group(1)}"
        return
    driver.get("about:blank")
    driver.get_log("performance")  # drop entries of earlier pages
    driver.get_log("browser")
    driver.get(server + page)
    math_state = driver.execute_async_script(WAIT_JS)
    info = driver.execute_script(INSPECT_JS)
    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    urls, failures = _requests(driver)
    urls = [u for u in urls if not _is_browser_internal(u)]
    log[page] = {"urls": urls, "formulas": info["mathSources"], "rendered": info["mjx"],
                 "images": info["images"], "boxes": sum(info["boxes"].values()),
                 "non_local": sum(not _is_local(u, server) for u in urls)}
    _screenshot(driver, SHOTS / page.replace("/", "__").replace(".html", ".png"))

    problems = [f"console: {m}" for m in console]
    problems += [f"request failed: {f}" for f in failures]
    problems += [f"non-local request: {u}" for u in urls if not _is_local(u, server)]
    if info["mathSources"]:
        if not info["mathjaxLoaded"] or math_state != "ok":
            problems.append(f"MathJax did not run ({math_state})")
        if info["mjx"] < info["mathSources"]:
            problems.append(f"only {info['mjx']} of {info['mathSources']} formulas rendered")
    problems += [f"MathJax error: {e}" for e in info["mjxErrors"]]
    raw = RAW_TEX_RE.findall(info["text"])
    if raw:
        at = RAW_TEX_RE.search(info["text"]).start()
        problems.append(f"raw TeX left in the page: {raw[:5]} near "
                        f"{info['text'][max(0, at - 60):at + 60]!r}")
    if RAW_TEX_RE.search(info["title"]):
        problems.append(f"raw TeX in the page title: {info['title']!r}")
    problems += [f"image not loaded: {src}" for src in info["badImages"]]
    for kind, n in expected_boxes(page).items():
        got = info["boxes"].get(kind, 0)
        if got != n:
            problems.append(f"{n} prf:{kind} in the source but {got} boxes on the page")
    problems += _check_links(info["links"], server)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_offline_file_url(browser):
    """A reader who opens the downloaded build from disk (file://) also gets math."""
    driver, _ = browser
    pages = [p for p in PAGES if p.startswith("book/") and "notation" in p] or PAGES[:1]
    if not pages:
        _unavailable(f"no HTML build at {HTML}")
    driver.get_log("browser")
    driver.get((HTML / pages[0]).as_uri())
    math_state = driver.execute_async_script(WAIT_JS)
    info = driver.execute_script(INSPECT_JS)
    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not console, console
    if info["mathSources"]:
        assert math_state == "ok" and info["mjx"] >= info["mathSources"], info["mjx"]


# --------------------------------------------------------------------------
# in-page explorers (kvtheory.viz.explore): sliders that work without a kernel
# --------------------------------------------------------------------------
MIN_EXPLORER_CHAPTERS = 11


def explorer_pages() -> list[str]:
    return [p for p in PAGES
            if 'class="kv-explorer"' in (HTML / p).read_text(errors="replace")]


EXPLORER_PAGES = explorer_pages()

READY_JS = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
(function poll() {
  const els = Array.from(document.querySelectorAll('.kv-explorer'));
  if (els.length && els.every(e => e.getAttribute('data-kv-ready') === '1')) {
    done(els.map(e => e.getAttribute('data-kv-explorer')));
  } else if (Date.now() - t0 > 20000) {
    done({timeout: els.filter(e => e.getAttribute('data-kv-ready') !== '1')
                      .map(e => e.id)});
  } else { setTimeout(poll, 100); }
})();
"""

# Every plotted line/point/text item of an explorer's Vega view (its datum),
# the view's signal values, and the specification's usermeta, after the view
# has finished running.
PLOTTED_JS = """
const [name, done] = [arguments[0], arguments[arguments.length - 1]];
const view = window.kvExplorers[name];
view.runAsync().then(() => {
  const items = [];
  (function walk(node, mark) {
    if (!node) return;
    if (node.marktype) mark = node;
    for (const it of node.items || []) {
      const role = (mark && mark.role) || '';
      if (it.datum && mark && ['line', 'symbol', 'text'].includes(mark.marktype)
          && !role.startsWith('axis') && !role.startsWith('legend') && role !== 'title')
        items.push({mark: mark.marktype, datum: it.datum, text: it.text});
      walk(it, mark);
    }
  })(view.scenegraph().root, null);
  const el = document.getElementById('kv-explore-' + name);
  const sliders = Array.from(el.querySelectorAll('input[type=range]')).map(i => i.name);
  const signals = {};
  sliders.forEach(s => { signals[s] = view.signal(s); });
  done(JSON.stringify({items: items, signals: signals, sliders: sliders}));
});
"""


def _explorer_state(driver, name: str) -> dict:
    return json.loads(driver.execute_async_script(PLOTTED_JS, name))


def _usermeta(driver, name: str) -> dict:
    meta = driver.execute_script(
        "const s = (window.kvExplorerSpecs || {})[arguments[0]];"
        "return s && s.usermeta ? JSON.stringify(s.usermeta.kvtheory || {}) : null;", name)
    assert meta, f"{name}: no specification recorded by the explorer's script"
    return json.loads(meta)


def _check_formula(meta: dict, state: dict) -> tuple[int, list[str]]:
    """Compare every plotted point of a formula curve with the library."""
    import math

    from kvtheory.viz.explore import formula

    checked, problems = 0, []
    values = {sym: state["signals"][p] for p, sym in meta["params"].items()}
    for item in state["items"]:
        if item["mark"] != "line":
            continue
        datum = item["datum"]
        key = meta["curves"].get(datum.get("curve"))
        if key is None or datum.get("value") is None or not math.isfinite(datum["value"]):
            continue
        F = formula(key)
        args = {**values, meta["x"]: datum["x"]}
        want = F.library(**{k: args[k] for k in F.symbols})
        if not math.isclose(datum["value"], want, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"{key} at {args}: page {datum['value']!r}, library {want!r}")
        checked += 1
    return checked, problems


def _check_records(meta: dict, state: dict) -> tuple[int, list[str]]:
    """Every plotted point belongs to the grid row the slider selects."""
    k = state["signals"][meta["param"]]
    pts = [i for i in state["items"] if i["mark"] in ("line", "symbol")]
    problems = [f"point of grid row {i['datum'].get('_k')} shown at slider {k}"
                for i in pts if i["datum"].get("_k") != k]
    label = f"{meta['slider']} = "
    texts = [i["text"] for i in state["items"] if i["mark"] == "text" and i.get("text")]
    if not any(str(t).startswith(label) for t in texts):
        problems.append(f"no '{label}...' label on the figure")
    return len(pts), problems


def _plotted_values(state: dict) -> list:
    return sorted(json.dumps(i["datum"], sort_keys=True) for i in state["items"]
                  if i["mark"] in ("line", "symbol"))


def test_explorers_on_enough_chapters():
    if not PAGES:
        _unavailable(f"no HTML build at {HTML}")
    chapters = {p for p in EXPLORER_PAGES if re.match(r"book/\d\d_", p)}
    assert len(chapters) >= MIN_EXPLORER_CHAPTERS, \
        f"in-page explorers on {sorted(chapters)}; want at least {MIN_EXPLORER_CHAPTERS} chapters"


@pytest.mark.parametrize("page", EXPLORER_PAGES or ["<no explorer>"])
def test_explorer_sliders_in_browser(page, server, browser):
    """Move every explorer's first slider; the plot must change and, for a
    formula, match the library's numbers at the new setting. Screenshots of
    each explorer before and after go to ``_build/screenshots/explore-*.png``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, log = browser
    if page == "<no explorer>":
        _unavailable(f"no page with an in-page explorer in {HTML}")
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(server + page)
    names = driver.execute_async_script(READY_JS)
    assert isinstance(names, list), f"{page}: explorers not drawn: {names}"
    problems = []
    for name in names:
        meta = _usermeta(driver, name)
        el = driver.find_element(By.ID, f"kv-explore-{name}")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
        before = _explorer_state(driver, name)
        assert before["sliders"], f"{name}: no slider"
        SHOTS.mkdir(parents=True, exist_ok=True)
        el.screenshot(str(SHOTS / f"explore-{name}-a.png"))
        slider = el.find_element(By.CSS_SELECTOR, f"input[type=range][name={before['sliders'][0]}]")
        at_max = driver.execute_script("return arguments[0].value === arguments[0].max;", slider)
        slider.send_keys(Keys.HOME if at_max else Keys.END)
        after = _explorer_state(driver, name)
        el.screenshot(str(SHOTS / f"explore-{name}-b.png"))
        if after["signals"] == before["signals"]:
            problems.append(f"{name}: moving the slider did not change {before['signals']}")
        if _plotted_values(after) == _plotted_values(before):
            problems.append(f"{name}: the plotted values did not change")
        check = _check_formula if meta.get("kind") == "formula" else _check_records
        for state in (before, after):
            n, bad = check(meta, state)
            problems += [f"{name}: {b}" for b in bad]
            if n == 0:
                problems.append(f"{name}: nothing plotted at {state['signals']}")
        log[f"{page} explorer {name}"] = {
            "urls": [], "formulas": 0, "rendered": 0, "images": 0, "boxes": 0,
            "non_local": 0, "signals": (before["signals"], after["signals"])}
    urls, failures = _requests(driver)
    urls = [u for u in urls if not _is_browser_internal(u)]
    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    log[f"{page} (explorers)"] = {"urls": urls, "formulas": 0, "rendered": 0, "images": 0,
                                  "boxes": 0,
                                  "non_local": sum(not _is_local(u, server) for u in urls)}
    problems += [f"console: {m}" for m in console]
    problems += [f"request failed: {f}" for f in failures]
    problems += [f"non-local request: {u}" for u in urls if not _is_local(u, server)]
    vega = [u for u in urls if "/_static/vega/" in u]
    if len(vega) < 3:
        problems.append(f"the page did not load the local Vega files: {vega}")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
