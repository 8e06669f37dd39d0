"""The book's reader apparatus, without a browser.

* unit tests of the helpers of ``book/_ext/kvbook.py``;
* a tiny Sphinx project built with the extension (seconds): index of results,
  chapter bar, widget fallback, alt text, offline MathJax and Vega (loaded
  only on pages with an in-page explorer), and the refusal of a remote MathJax,
  of a missing Vega and of an output that loads a remote script;
* the configuration (``_config.yml``, ``package.json``) keeps the book offline;
* if an HTML build exists (``_build/html`` or ``KVTHEORY_BOOK_HTML``), static
  checks of every page: no remote scripts, styles, fonts or images, MathJax
  served locally, the index of results lists every prf: result of the toc,
  every chapter links to the notation and offers its notebook, no launch
  button while no repository URL is configured, no widget view left without a
  fallback, the Vega files served where explorers are.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from book_toc import toc_docnames

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import kvbook  # noqa: E402

HTML = Path(os.environ.get("KVTHEORY_BOOK_HTML", ROOT / "_build" / "html")).resolve()
TOC = Path(os.environ.get("KVTHEORY_BOOK_TOC", ROOT / "_toc.yml")).resolve()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())

PRF_RE = re.compile(r"^\s*(?:```+|:::+)\{prf:([a-z]+)\}", re.MULTILINE)
REMOTE_ASSET_RE = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\ssrc=\"(?:https?:)?//[^\"]+\""
    r"|<link\b[^>]*\shref=\"(?:https?:)?//[^\"]+\"", re.I)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def test_summary_line():
    assert kvbook.summary_line({"theorem": 2, "definition": 1, "lemma": 1}) == \
        "4 results: 1 definition, 2 theorems and 1 lemma."
    assert kvbook.summary_line({"algorithm": 1}) == "1 result: 1 algorithm."
    assert kvbook.summary_line({}) == "0 results."


def test_needs_alt_and_default_alt():
    assert kvbook.needs_alt(None, "_images/a.png")
    assert kvbook.needs_alt("  ", "_images/a.png")
    assert kvbook.needs_alt("../../_images/a.png", "_images/a.png")
    assert not kvbook.needs_alt("Memory grows linearly in n.", "_images/a.png")
    assert kvbook.default_alt("  Caption. ") == "Caption."
    assert "code cell" in kvbook.default_alt("")


def test_tex_to_text_and_title_parens():
    title = r"3. The \(\Theta(nd)\) space barrier"
    assert kvbook.tex_to_text(title) == "3. The Θ(nd) space barrier"
    assert kvbook.tex_to_text(r"$O(dW)$ words, $\varepsilon\le 1$") == "O(dW) words, ε≤1"
    assert kvbook.tex_to_text("No math") == "No math"
    assert kvbook.strip_title_parens(" (A (b)", ")") == ("A (b)", "")
    assert kvbook.strip_title_parens(" (Name", " of it)") == ("Name", " of it")


def test_toc_order_is_depth_first_and_ignores_cycles():
    includes = {"root": ["a", "b"], "a": ["a1", "root"], "b": ["b1"]}
    assert kvbook.toc_order("root", includes) == ["root", "a", "a1", "b", "b1"]


# --------------------------------------------------------------------------
# the extension in a tiny Sphinx project
# --------------------------------------------------------------------------
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4f0000000"
    "0049454e44ae426082")

MINI = {
    "index.rst": """Root
====

.. toctree::
   :numbered:

   ch1
   ch2
   notation
   results
   explore
""",
    "ch1.rst": """Chapter one
===========

Text with math :math:`x^2`.

.. prf:definition:: Square
   :label: def-square

   The square of :math:`x` is :math:`x^2`.

.. prf:theorem:: Bound on :math:`n`
   :label: thm-bound

   Every square is non-negative.

.. prf:proof::

   Obvious.

.. prf:remark:: Not indexed
   :label: rem-skip

   Remarks are not in the index.

.. image:: pixel.png

.. raw:: html

   <script type="application/vnd.jupyter.widget-view+json">{"model_id": "abc"}</script>
""",
    "notation.rst": "Notation\n========\n\nSymbols; see :doc:`ch2`.\n",
    "ch2.rst": """The :math:`\\Theta(n)` chapter
=============================

.. prf:lemma:: Window (the book's reading)
   :label: lem-window

   Text.
""",
    "results.rst": "Results\n=======\n\n.. theorem-index::\n",
    "explore.rst": """Explore
=======

.. raw:: html

   <div class="kv-explorer" id="kv-explore-demo" data-kv-explorer="demo"></div>
   <script type="text/javascript">window.kvDemo = 1;</script>
""",
}


def _build_mini(tmp_path, **overrides):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    for name, text in MINI.items():
        (src / name).write_text(text)
    (src / "pixel.png").write_bytes(PNG_1PX)
    mathjax = tmp_path / "mathjax"
    (mathjax / "output").mkdir(parents=True)
    (mathjax / "tex-mml-chtml.js").write_text("/* stub */")
    (mathjax / "tex-svg-full.js").write_text("/* unused bundle */")
    modules = tmp_path / "node_modules"
    for f in kvbook.VEGA_FILES:
        (modules / f).parent.mkdir(parents=True, exist_ok=True)
        (modules / f).write_text(f"/* stub {f} */")
    conf = {
        "extensions": ["sphinx_proof", "kvbook"],
        "numfig": True,
        "mathjax_path": "mathjax/tex-mml-chtml.js",
        "kvbook_mathjax_dir": str(mathjax),
        "kvbook_vega_dir": str(modules),
        "kvbook_apparatus_pages": {"notation": "notation", "theorem_index": "results"},
        **overrides,
    }
    (src / "conf.py").write_text("".join(f"{k} = {v!r}\n" for k, v in conf.items()))
    out = tmp_path / "out"
    warnings = io.StringIO()
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                 status=None, warning=warnings, freshenv=True)
    app.build()
    # Several Sphinx apps in one process re-register docutils nodes; that
    # warning is about the test harness, not the extension.
    real = [w for w in warnings.getvalue().splitlines()
            if w.strip() and "is already registered" not in w]
    assert not real, real
    return out


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory):
    return _build_mini(tmp_path_factory.mktemp("kvbook"))


def test_theorem_index_lists_numbered_linked_results(mini_build):
    page = (mini_build / "results.html").read_text()
    assert "This index lists 3 results: 1 definition, 1 theorem and 1 lemma." in page
    assert "Window (the book’s reading)</p>" in page or "Window (the book's reading)</p>" in page
    assert "\\Theta" not in re.sub(r'<span class="math[^"]*">[^<]*</span>', "", page)
    assert 'href="ch1.html#def-square">Definition 1.1</a>' in page
    assert 'href="ch1.html#thm-bound">Theorem 1.1</a>' in page
    assert "rem-skip" not in page
    # the title keeps its math, and the page loads MathJax for it
    assert re.search(r"Bound on <span class=\"math[^\"]*\">", page)
    assert "mathjax/tex-mml-chtml.js" in page


def test_chapter_bar_widget_fallback_and_alt_text(mini_build):
    page = (mini_build / "ch1.html").read_text()
    bar = re.search(r'<div class="kv-chapter-bar[^"]*">(.*?)</div>', page, re.S)
    assert bar and 'href="notation.html"' in bar.group(1) and 'href="results.html"' in bar.group(1)
    assert "widget-view+json" not in page
    assert "kv-widget-fallback" in page and "live Jupyter kernel" in page
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts and all("code cell" in a for a in alts)
    notation = (mini_build / "notation.html").read_text()
    assert "kv-chapter-bar" not in notation
    # the :doc: link to a chapter whose title has math shows rendered math
    link = re.search(r'<a class="reference internal" href="ch2.html">(.*?)</a>', notation, re.S)
    assert link and 'class="math' in link.group(1), link
    ch2 = (mini_build / "ch2.html").read_text()
    assert re.search(r"<title>[^<]*Θ\(n\)[^<]*</title>", ch2), "tab title not plain text"


def test_mathjax_copied_without_unused_bundles(mini_build):
    static = mini_build / "_static" / "mathjax"
    assert (static / "tex-mml-chtml.js").is_file()
    assert not (static / "tex-svg-full.js").exists()


def test_vega_copied_and_loaded_only_where_explorers_are(mini_build):
    static = mini_build / "_static" / "vega"
    names = [Path(f).name for f in kvbook.VEGA_FILES]
    assert all((static / n).is_file() for n in names)
    page = (mini_build / "explore.html").read_text()
    tags = re.findall(r'<script src="([^"]*vega[^"]*)"', page)
    assert [t.split("/")[-1].split("?")[0] for t in tags] == names, tags
    assert page.index(tags[-1]) < page.index('id="kv-explore-demo"')
    assert "require.js" not in page
    assert "vega" not in (mini_build / "ch1.html").read_text()


def test_missing_vega_is_a_clear_error(tmp_path):
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="npm ci"):
        _build_mini(tmp_path, kvbook_vega_dir=str(tmp_path / "nowhere"))


def test_output_loading_a_remote_script_is_refused(tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    monkeypatch.setitem(MINI, "explore.rst", MINI["explore.rst"].replace(
        "<script type", '<script src="https://cdn.example.org/vega.js"></script>\n   <script type'))
    with pytest.raises(ExtensionError, match="remote script"):
        _build_mini(tmp_path)


def test_remote_mathjax_is_refused(tmp_path):
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="remote"):
        _build_mini(tmp_path, mathjax_path="https://cdn.example.org/mathjax/tex-chtml.js")


def test_missing_mathjax_is_a_clear_error(tmp_path):
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="npm ci"):
        _build_mini(tmp_path, kvbook_mathjax_dir=str(tmp_path / "nowhere"))


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def test_config_reads_offline():
    sphinx = CONFIG["sphinx"]
    assert sphinx["local_extensions"] == {"kvbook": "book/_ext"}
    assert "://" not in sphinx["config"]["mathjax_path"]
    assert sphinx["config"]["nb_ipywidgets_js"] == {}
    for pattern in ("node_modules", "node_modules/**", "_build"):
        assert pattern in CONFIG["exclude_patterns"]
    assert CONFIG["launch_buttons"]["thebe"] is False
    assert (ROOT / CONFIG["html"]["favicon"]).is_file()
    for f in sphinx["config"]["latex_additional_files"]:
        assert (ROOT / f).is_file()


def test_launch_buttons_only_with_a_real_repository_url():
    """No Binder/Colab button may point to a placeholder: either the
    repository URL is configured (and is not OWNER) or there are none."""
    url = (CONFIG.get("repository") or {}).get("url", "")
    buttons = {k: v for k, v in (CONFIG.get("launch_buttons") or {}).items()
               if k in ("binderhub_url", "colab_url", "jupyterhub_url") and v}
    if buttons:
        assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+", url), url
        assert "OWNER" not in url, "placeholder repository URL"
    assert "OWNER" not in (ROOT / "_config.yml").read_text()


@pytest.mark.parametrize("package", ["mathjax", "vega", "vega-lite", "vega-embed"])
def test_browser_assets_pinned_in_package_files(package):
    manifest = json.loads((ROOT / "package.json").read_text())
    version = manifest["dependencies"][package]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pin an exact {package} version"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{package}"]["version"] == version


# --------------------------------------------------------------------------
# the built book, if there is one
# --------------------------------------------------------------------------
def _source(doc: str) -> Path | None:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{doc}{suffix}").is_file():
            return ROOT / f"{doc}{suffix}"
    return None


def _markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


@pytest.fixture(scope="module")
def built():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no HTML build at {HTML}: run `jupyter-book build .` first")
    if not (HTML / "_static" / "kvbook.css").is_file():
        pytest.fail(f"{HTML} predates the reader apparatus (no _static/kvbook.css): rebuild")
    return HTML


def test_no_page_loads_remote_assets(built):
    offenders = {}
    for page in built.rglob("*.html"):
        hits = REMOTE_ASSET_RE.findall(page.read_text(errors="replace"))
        if hits:
            offenders[str(page.relative_to(built))] = hits[:3]
    css = [p for p in (built / "_static").rglob("*.css")
           if re.search(r"url\(\s*['\"]?(?:https?:)?//", p.read_text(errors="replace"))]
    assert not offenders and not css, (offenders, css)
    assert (built / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    for page in built.rglob("*.html"):
        text = page.read_text(errors="replace")
        if kvbook.EXPLORER_MARK in text:
            for f in kvbook.VEGA_FILES:
                assert (built / "_static" / "vega" / Path(f).name).is_file()
                assert f"_static/vega/{Path(f).name}" in text, f"{page}: {f} not loaded"


def test_index_of_results_counts_every_result(built):
    expected = 0
    for doc in toc_docnames(TOC):
        src = _source(doc)
        if src is not None:
            expected += sum(k in kvbook.INDEX_KINDS for k in PRF_RE.findall(_markdown(src)))
    index = built / f"{CONFIG_INDEX_DOC}.html"
    if not index.is_file():
        pytest.skip(f"{CONFIG_INDEX_DOC} is not in the toc of this build")
    page = index.read_text()
    m = re.search(r"This index lists (\d+) results?", page)
    assert m, "no summary line on the index page"
    assert int(m.group(1)) == expected
    tables = page.count('class="kv-theorem-index table"')
    assert page.count('<tr class="row-') - tables == expected  # rows less one header each


CONFIG_INDEX_DOC = "book/theorem_index"


def test_every_chapter_links_apparatus_and_notebook(built):
    problems = []
    skip = {"book/index", "book/notation", "book/references", CONFIG_INDEX_DOC}
    for doc in toc_docnames(TOC):
        if doc in skip:
            continue
        page = (built / f"{doc}.html").read_text()
        bar = re.search(r'<div class="kv-chapter-bar[^"]*">(.*?)</div>', page, re.S)
        if not bar or 'href="notation.html"' not in bar.group(1):
            problems.append(f"{doc}: no link to the notation page")
            continue
        src = _source(doc)
        if src is not None and src.suffix == ".ipynb":
            nb = f"_sources/{doc}.ipynb"
            if nb.split("/")[-1] not in bar.group(1) or not (built / nb).is_file():
                problems.append(f"{doc}: no download link to {nb}")
            url = (CONFIG.get("repository") or {}).get("url", "")
            launch = CONFIG.get("launch_buttons") or {}
            repo = url.removeprefix("https://github.com/")
            for key, host in (("binderhub_url", "mybinder.org/v2/gh/" + repo),
                              ("colab_url", "colab.research.google.com/github/" + repo)):
                if launch.get(key) and url and host not in page:
                    problems.append(f"{doc}: no launch link {host}")
                if not (launch.get(key) and url) and "OWNER" in page:
                    problems.append(f"{doc}: launch link to the placeholder repository")
    assert not problems, problems


def test_no_widget_view_left_and_images_described(built):
    problems = []
    for page in built.rglob("*.html"):
        text = page.read_text(errors="replace")
        if "application/vnd.jupyter.widget-view+json" in text:
            problems.append(f"{page.name}: widget view without fallback")
        for alt, src in re.findall(r'<img alt="([^"]*)" src="([^"]*)"', text):
            if kvbook.needs_alt(alt, src):
                problems.append(f"{page.name}: image {src} has no alt text")
    assert not problems, problems
