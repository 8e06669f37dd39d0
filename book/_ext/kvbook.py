"""Reader apparatus of the kvtheory book: a small Sphinx extension.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. Everything it
does applies to every page of ``_toc.yml`` automatically; chapter authors do
nothing beyond what ``book/_ext/README.md`` asks.

What it does
------------
Offline reading
    Copies MathJax 3 from the npm package pinned in ``package.json``
    (``node_modules/mathjax/es5``, installed by ``npm ci``) into
    ``_static/mathjax`` of an HTML build; ``_config.yml`` points
    ``mathjax_path`` there. A build without it fails with a clear error
    instead of silently loading MathJax from the network. It also refuses a
    remote ``mathjax_path`` and remote ipywidgets scripts.
In-page explorers
    ``kvtheory.viz.explore`` writes Vega-Lite charts whose sliders run in the
    page. Vega, Vega-Lite and vega-embed (pinned in ``package.json``) are
    copied from ``node_modules`` into ``_static/vega`` and loaded, as plain
    scripts (no require.js), on the pages that hold an explorer. A build
    without them fails with a clear error; an output that loads a script
    from the network fails the build.
Widget cells
    ipywidgets need a live kernel; their JavaScript is not loaded (offline,
    and the static book cannot run callbacks). Each widget view is replaced
    by a visible note pointing to the static figure that precedes it, so no
    empty box is left.
Theorem index
    The ``theorem-index`` directive (used by ``book/theorem_index.md``) is
    filled at build time with every ``prf:`` definition, theorem, lemma,
    proposition, corollary and algorithm of the book, grouped by chapter in
    toc order, each linked to its statement and numbered as in the text.
Chapter bar
    Under the title of every page except the apparatus pages, a line of
    links: Notation, Index of results, References, and (for notebooks) the
    chapter's ``.ipynb`` download.
Figures
    Output images that carry no author-supplied alt text (myst-nb uses the
    file name) get the figure caption, or a generic description, instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode
from sphinx.util.osutil import relative_uri

__version__ = "0.1.0"

logger = logging.getLogger(__name__)

#: prf: kinds listed in the theorem index, in the order of the summary line.
INDEX_KINDS = ("definition", "theorem", "lemma", "proposition", "corollary", "algorithm")

#: MIME type of an ipywidgets view in a notebook output.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

WIDGET_NOTE = (
    "Interactive widget: its controls need a live Jupyter kernel. Run this "
    "chapter in Jupyter to use them; the figure above shows the same plot at "
    "the default parameters."
)

#: Top-level MathJax bundles not used by the book (the book loads tex-mml-chtml.js).
_MATHJAX_SKIP = (
    "tex-chtml-full-speech.js", "tex-chtml-full.js", "tex-chtml.js", "tex-mml-svg.js",
    "tex-svg-full.js", "tex-svg.js", "mml-chtml.js", "mml-svg.js", "node-main.js",
)

_HTML_BUILDERS = ("html", "dirhtml", "singlehtml")

#: Browser builds of the Vega stack, relative to ``kvbook_vega_dir``
#: (``node_modules``), in load order; copied into ``_static/vega``.
VEGA_FILES = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
              "vega-embed/build/vega-embed.min.js")

#: Marker of an in-page explorer in a cell output (``kvtheory.viz.explore``).
EXPLORER_MARK = 'class="kv-explorer"'

_REMOTE_SCRIPT_RE = re.compile(r"<script\b[^>]*\ssrc=[\"']?(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def remote_scripts(html: str) -> list[str]:
    """Script tags in ``html`` that load from the network.

    >>> remote_scripts('<script src="https://cdn.example.org/vega.js"></script>')
    ['<script src="https://']
    >>> remote_scripts('<script src="_static/vega/vega.min.js"></script><script>1</script>')
    []
    """
    return _REMOTE_SCRIPT_RE.findall(html)


# --------------------------------------------------------------------------
# pure helpers (unit-tested in tests/test_book_apparatus.py)
# --------------------------------------------------------------------------
def plural(kind: str, count: int) -> str:
    """``"2 theorems"``, ``"3 corollaries"``.

    >>> plural("corollary", 3), plural("theorem", 1)
    ('3 corollaries', '1 theorem')
    """
    if count == 1:
        return f"{count} {kind}"
    if kind.endswith("y") and kind[-2:-1] not in "aeiou":
        return f"{count} {kind[:-1]}ies"
    return f"{count} {kind}s"


def summary_line(counts: dict[str, int]) -> str:
    """The sentence above the index, e.g. ``"4 results: 3 definitions and 1 theorem."``.

    >>> summary_line({"definition": 3, "theorem": 1})
    '4 results: 3 definitions and 1 theorem.'
    >>> summary_line({})
    '0 results.'
    """
    total = sum(counts.values())
    parts = [plural(k, counts[k]) for k in INDEX_KINDS if counts.get(k)]
    head = plural("result", total)
    if not parts:
        return head + "."
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{head}: {body}."


def default_alt(caption: str | None) -> str:
    """Alt text for an output image that has none of its own.

    >>> default_alt("Bits kept by exact attention.")
    'Bits kept by exact attention.'
    >>> default_alt(None)[:30]
    'Figure generated by the code c'
    """
    if caption and caption.strip():
        return caption.strip()
    return ("Figure generated by the code cell above; the surrounding text "
            "describes what it shows.")


def needs_alt(alt: str | None, uri: str) -> bool:
    """True if ``alt`` is missing or just the image's file name (myst-nb's default).

    >>> needs_alt("../_images/ab12.png", "_images/ab12.png")
    True
    >>> needs_alt("A plot of memory against n.", "_images/ab12.png")
    False
    """
    if not alt or not alt.strip():
        return True
    return Path(alt.strip()).name == Path(uri).name


_TEX_SYMBOLS = {
    "Theta": "Θ", "theta": "θ", "Omega": "Ω", "omega": "ω", "alpha": "α", "beta": "β",
    "gamma": "γ", "Gamma": "Γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "varepsilon": "ε", "eta": "η", "lambda": "λ", "mu": "μ", "sigma": "σ", "Sigma": "Σ",
    "tau": "τ", "phi": "φ", "varphi": "φ", "pi": "π", "ell": "ℓ", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "cdot": "·", "times": "×", "infty": "∞",
    "in": "∈", "to": "→", "approx": "≈", "sqrt": "√", "ll": "≪", "gg": "≫",
}


def tex_to_text(text: str) -> str:
    r"""Plain-text reading of a title that holds TeX, for places that cannot
    render math (the browser tab, the print header).

    >>> tex_to_text(r"3. The \(\Theta(nd)\) space barrier")
    '3. The Θ(nd) space barrier'
    >>> tex_to_text(r"Sizes $d\,e^{\Theta(d)}$ and $\mathrm{poly}(n)$")
    'Sizes d e^Θ(d) and poly(n)'
    """
    import re

    out = re.sub(r"\\[()\[\]]|\$", "", text)
    out = re.sub(r"\\[,;: !]", " ", out)
    out = re.sub(r"\\(?:mathrm|mathbf|mathit|mathsf|text|operatorname)\s*",
                 "", out)
    out = re.sub(r"\\([A-Za-z]+)\s*", lambda m: _TEX_SYMBOLS.get(m.group(1), m.group(1)), out)
    return out.replace("{", "").replace("}", "")


def toc_order(root: str, includes: dict[str, list[str]]) -> list[str]:
    """Documents in reading order: depth-first through the toctree from ``root``.

    >>> toc_order("index", {"index": ["a", "b"], "a": ["a1"]})
    ['index', 'a', 'a1', 'b']
    """
    seen: list[str] = []

    def visit(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in includes.get(doc, []):
            visit(child)

    visit(root)
    return seen


# --------------------------------------------------------------------------
# theorem index
# --------------------------------------------------------------------------
class theorem_index_node(nodes.General, nodes.Element):
    """Placeholder replaced by the index table at ``doctree-resolved``."""


class TheoremIndexDirective(SphinxDirective):
    """``{theorem-index}``: the table of every prf: result in the book."""

    has_content = False

    def run(self):
        self.env.kvbook_index_docs = getattr(self.env, "kvbook_index_docs", set())
        self.env.kvbook_index_docs.add(self.env.docname)
        return [theorem_index_node()]


def _results(env) -> dict:
    if not hasattr(env, "kvbook_results"):
        env.kvbook_results = {}
    return env.kvbook_results


def collect_results(app, doctree) -> None:
    """Record every prf: node of the kinds in INDEX_KINDS, in document order."""
    from sphinx_proof.nodes import unenumerable_node

    entries = []
    for node in doctree.findall(nodes.Element):
        kind = node.get("realtype", "")
        if kind not in INDEX_KINDS or not node.get("label"):
            continue
        title = node[0].deepcopy() if len(node) and isinstance(node[0], nodes.title) else None
        entries.append({"label": node["label"], "kind": kind,
                        "countertype": node.get("countertype", kind),
                        "nonumber": isinstance(node, unenumerable_node), "title": title})
    _results(app.env)[app.env.docname] = entries


def purge_doc(app, env, docname) -> None:
    _results(env).pop(docname, None)
    getattr(env, "kvbook_index_docs", set()).discard(docname)


def merge_info(app, env, docnames, other) -> None:
    _results(env).update({d: v for d, v in _results(other).items() if d in docnames})
    env.kvbook_index_docs = (getattr(env, "kvbook_index_docs", set())
                             | getattr(other, "kvbook_index_docs", set()))


def index_always_outdated(app, env, added, changed, removed):
    """The index page depends on every chapter: rebuild it whenever one changes."""
    if added or changed or removed:
        return sorted(getattr(env, "kvbook_index_docs", set()))
    return []


def _number(env, docname: str, entry: dict) -> str:
    if entry["nonumber"]:
        return ""
    numbers = env.toc_fignumbers.get(docname, {}).get(entry["countertype"], {})
    return ".".join(map(str, numbers.get(entry["label"], ())))


def _chapter_heading(env, docname: str) -> nodes.strong:
    """"N. Title" with the title's own nodes, so math in it is rendered."""
    number = env.toc_secnumbers.get(docname, {}).get("")
    heading = nodes.strong()
    if number:
        heading += nodes.Text(".".join(map(str, number)) + ". ")
    if docname in env.titles:
        heading.extend(child.deepcopy() for child in env.titles[docname].children)
    else:
        heading += nodes.Text(docname)
    return heading


def strip_title_parens(text_first: str, text_last: str) -> tuple[str, str]:
    """Undo sphinx-proof's title format " (%t)": one "(" and one ")" only.

    >>> strip_title_parens(" (The window (the book's reading)", ")")
    ("The window (the book's reading)", '')
    >>> strip_title_parens(" (Bound on ", ")")
    ('Bound on ', '')
    """
    first = text_first.lstrip()
    first = first[1:] if first.startswith("(") else first
    last = text_last.rstrip()
    last = last[:-1] if last.endswith(")") else last
    return first, last


def _table(rows: list[list[nodes.Node]], header: list[str], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["kv-theorem-index"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    row = nodes.row()
    for h in header:
        row += nodes.entry("", nodes.paragraph("", h))
    head += row
    group += head
    body = nodes.tbody()
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", cell)
        body += row
    group += body
    return table


def build_index(app, fromdoc: str) -> tuple[list[nodes.Node], int]:
    """Nodes of the theorem index as seen from ``fromdoc``, and the entry count."""
    env = app.env
    results = _results(env)
    order = toc_order(app.config.root_doc, env.toctree_includes)
    order += sorted(d for d in results if d not in order)
    out: list[nodes.Node] = []
    counts: dict[str, int] = {}
    for doc in order:
        entries = results.get(doc) or []
        if not entries:
            continue
        heading = nodes.paragraph(classes=["kv-theorem-index-chapter"])
        heading += make_refnode(app.builder, fromdoc, doc, "", _chapter_heading(env, doc))
        out.append(heading)
        rows = []
        for e in entries:
            counts[e["kind"]] = counts.get(e["kind"], 0) + 1
            name = f"{e['kind'].title()} {_number(env, doc, e)}".strip()
            link = nodes.paragraph()
            link += make_refnode(app.builder, fromdoc, doc, e["label"], nodes.Text(name))
            title = nodes.paragraph()
            if e["title"] is not None:
                title.extend(child.deepcopy() for child in e["title"].children)
                # sphinx-proof titles read " (Name)"; show just the name.
                if (len(title.children) and isinstance(title[0], nodes.Text)
                        and isinstance(title[-1], nodes.Text)):
                    if len(title.children) == 1:
                        first, _ = strip_title_parens(title[0].astext(), "")
                        _, last = strip_title_parens("", first)
                        title[0] = nodes.Text(last)
                    else:
                        first, last = strip_title_parens(title[0].astext(),
                                                         title[-1].astext())
                        title[0], title[-1] = nodes.Text(first), nodes.Text(last)
            rows.append([link, title, nodes.paragraph("", "", nodes.literal("", e["label"]))])
        out.append(_table(rows, ["Result", "Name", "Label"], [20, 60, 20]))
    total = sum(counts.values())
    lead = nodes.paragraph(classes=["kv-theorem-index-summary"])
    lead += nodes.Text("This index lists " + summary_line(counts))
    return [lead, *out], total


# --------------------------------------------------------------------------
# per-page work at doctree-resolved
# --------------------------------------------------------------------------
def _apparatus_docs(app) -> dict[str, str]:
    return dict(app.config.kvbook_apparatus_pages)


def _add_chapter_bar(app, doctree, docname: str) -> None:
    pages = _apparatus_docs(app)
    if docname == app.config.root_doc or docname in pages.values():
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not len(section) or not isinstance(section[0], nodes.title):
        return
    para = nodes.paragraph()
    labels = {"notation": "Notation", "theorem_index": "Index of results",
              "references": "References"}
    first = True
    for key, target in pages.items():
        if target not in app.env.all_docs:
            continue
        if not first:
            para += nodes.Text(" · ")
        para += make_refnode(app.builder, docname, target, "",
                             nodes.Text(labels.get(key, key.replace("_", " ").title())))
        first = False
    source = Path(app.env.doc2path(docname))
    if source.suffix == ".ipynb" and app.builder.format == "html":
        here = app.builder.get_target_uri(docname)
        there = "_sources/" + docname + source.suffix + app.config.html_sourcelink_suffix
        if not there.endswith(source.suffix):
            there = "_sources/" + docname + source.suffix
        if not first:
            para += nodes.Text(" · ")
        para += nodes.reference("", "Download this chapter (.ipynb)",
                                refuri=relative_uri(here, there),
                                classes=["kv-download-notebook"])
    if not para.children:
        return
    bar = nodes.container(classes=["kv-chapter-bar"])
    bar += para
    section.insert(1, bar)


def _replace_widgets(doctree) -> int:
    count = 0
    for raw in list(doctree.findall(nodes.raw)):
        if WIDGET_VIEW in raw.astext():
            note = nodes.container(classes=["kv-widget-fallback"])
            note += nodes.paragraph("", WIDGET_NOTE)
            raw.replace_self(note)
            count += 1
    return count


def _fix_alt_text(doctree) -> None:
    for image in doctree.findall(nodes.image):
        if not needs_alt(image.get("alt"), image.get("uri", "")):
            continue
        caption = None
        if isinstance(image.parent, nodes.figure):
            found = next(iter(image.parent.findall(nodes.caption)), None)
            caption = found.astext() if found is not None else None
        image["alt"] = default_alt(caption)


def _render_title_links(app, doctree) -> None:
    """Links whose text is a document title (``{doc}`` roles) show the title's
    nodes, so math in a chapter title is rendered there too, not left as TeX."""
    titles = {t.astext(): t for t in app.env.titles.values()
              if any(True for _ in t.findall(nodes.math))}
    if not titles:
        return
    for ref in doctree.findall(nodes.reference):
        title = titles.get(ref.astext())
        if title is None:
            continue
        holder = ref[0] if len(ref) == 1 and isinstance(ref[0], nodes.inline) else ref
        holder.children = []
        holder.extend(child.deepcopy() for child in title.children)
        for child in holder.children:
            child.parent = holder


def _check_outputs(doctree, docname: str) -> None:
    """Refuse a cell output that loads a script from the network."""
    for raw in doctree.findall(nodes.raw):
        bad = remote_scripts(raw.astext())
        if bad:
            raise ExtensionError(f"kvbook: {docname} has an output that loads a remote script "
                                 f"({bad[0]}...); the book must read offline")


def on_doctree_resolved(app, doctree, docname) -> None:
    _check_outputs(doctree, docname)
    _replace_widgets(doctree)
    _render_title_links(app, doctree)
    _fix_alt_text(doctree)
    for placeholder in list(doctree.findall(theorem_index_node)):
        content, _ = build_index(app, docname)
        parent = placeholder.parent
        placeholder.replace_self(content)
        # MyST marks math-free sections "mathjax_ignore" at parse time, and
        # Sphinx loads MathJax only on pages that had math then; the titles
        # just inserted may carry math.
        while parent is not None:
            parent["classes"] = [c for c in parent.get("classes", [])
                                 if c not in ("tex2jax_ignore", "mathjax_ignore")]
            parent = parent.parent
        if any(True for block in content for _ in block.findall(nodes.math)):
            app.env.get_domain("math").data["has_equations"][docname] = True
    if app.builder.format == "html":
        _add_chapter_bar(app, doctree, docname)


# --------------------------------------------------------------------------
# offline assets
# --------------------------------------------------------------------------
def _mathjax_source(app) -> Path:
    return (Path(app.confdir) / app.config.kvbook_mathjax_dir).resolve()


def _vega_source(app) -> Path:
    return (Path(app.confdir) / app.config.kvbook_vega_dir).resolve()


def on_builder_inited(app) -> None:
    if app.builder.name not in _HTML_BUILDERS:
        return
    vega_dir = str(app.config.kvbook_vega_dir)
    if "://" in vega_dir or vega_dir.startswith("//"):
        raise ExtensionError(f"kvbook: kvbook_vega_dir {vega_dir!r} is remote; the book must "
                             "read offline (Vega comes from node_modules, see package.json)")
    missing = [f for f in VEGA_FILES if not (_vega_source(app) / f).is_file()]
    if missing:
        raise ExtensionError(
            f"kvbook: Vega not found ({missing[0]} under {_vega_source(app)}). Install the "
            "book's browser assets with `npm ci` (package.json pins vega, vega-lite and "
            "vega-embed) before building the HTML book.")
    path = app.config.mathjax_path or ""
    if "://" in path or path.startswith("//"):
        raise ExtensionError(f"kvbook: mathjax_path {path!r} is remote; the book must read "
                             "offline (use mathjax/tex-mml-chtml.js)")
    for url in getattr(app.config, "nb_ipywidgets_js", {}) or {}:
        if "://" in url or url.startswith("//"):
            raise ExtensionError(f"kvbook: nb_ipywidgets_js loads {url!r} from the network; "
                                 "set nb_ipywidgets_js: {} in _config.yml")
    src = _mathjax_source(app)
    if not (src / "tex-mml-chtml.js").is_file():
        raise ExtensionError(
            f"kvbook: MathJax not found at {src}. Install the book's browser assets with "
            "`npm ci` (package.json pins mathjax) before building the HTML book.")


def on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.name not in _HTML_BUILDERS:
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(_mathjax_source(app), dest, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n in _MATHJAX_SKIP])
    vega = Path(app.outdir) / "_static" / "vega"
    vega.mkdir(parents=True, exist_ok=True)
    for f in VEGA_FILES:
        shutil.copy2(_vega_source(app) / f, vega / Path(f).name)


def on_config_inited(app, config) -> None:
    static = Path(app.confdir) / "book" / "_static"
    if static.is_dir() and str(static) not in config.html_static_path:
        config.html_static_path.append(str(static))
    app.add_css_file("kvbook.css")
    # The pydata theme reads the light/dark mode from html_context; left empty
    # it logs a console error on every page. "auto" follows the reader's system.
    if not isinstance(config.html_context, dict):
        config.html_context = {}
    config.html_context.setdefault("default_mode", "auto")


def _strip_tags(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)


def _thebe_enabled(app) -> bool:
    options = app.config.html_theme_options or {}
    return bool((options.get("launch_buttons") or {}).get("thebe"))


def on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    """Plain-text page titles (tab, print header) and no sphinx-thebe assets
    while thebe is off (it injects its config script twice, a console
    SyntaxError on every page, and names a remote URL)."""

    for key in ("title", "pagetitle"):
        value = context.get(key)
        if isinstance(value, str) and ("\\" in value or "$" in value):
            context[key] = tex_to_text(_strip_tags(value))
    if EXPLORER_MARK in (context.get("body") or "") and "script_files" in context:
        # Plain <script> tags in the head, before the body's explorers run;
        # the page has no require.js, so the UMD builds define globals.
        from sphinx.builders.html._assets import _JavaScript

        context["script_files"] = list(context["script_files"]) + [
            _JavaScript("_static/vega/" + Path(f).name, priority=900) for f in VEGA_FILES]
    if _thebe_enabled(app):
        return
    for key in ("script_files", "css_files"):
        files = context.get(key)
        if not files:
            continue
        kept = []
        for f in files:
            name = getattr(f, "filename", None) or str(f)
            body = (getattr(f, "attributes", None) or {}).get("body", "") or ""
            if "sphinx-thebe" in str(name) or "THEBE_JS_URL" in body:
                continue
            kept.append(f)
        context[key] = kept


def setup(app):
    # The build executes every chapter in kernels that inherit this process's
    # environment; ipykernel picks the inline backend only if MPLBACKEND is
    # unset, so a shell's MPLBACKEND=Agg would drop every figure.
    os.environ.pop("MPLBACKEND", None)
    # Chapter titles may carry math ("The $\\Theta(nd)$ space barrier"), and the
    # sidebar shows them on every page: load MathJax (and every extension's
    # assets) on all pages, not only on pages whose body has math.
    app.set_html_assets_policy("always")
    app.add_config_value("kvbook_mathjax_dir", "node_modules/mathjax/es5", "env")
    app.add_config_value("kvbook_vega_dir", "node_modules", "env")
    app.add_config_value("kvbook_apparatus_pages",
                         {"notation": "book/notation",
                          "theorem_index": "book/theorem_index",
                          "references": "book/references"}, "env")
    app.add_node(theorem_index_node)
    app.add_directive("theorem-index", TheoremIndexDirective)
    app.connect("config-inited", on_config_inited)
    app.connect("builder-inited", on_builder_inited)
    app.connect("doctree-read", collect_results)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("env-get-outdated", index_always_outdated)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("html-page-context", on_html_page_context, priority=900)
    app.connect("build-finished", on_build_finished)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
