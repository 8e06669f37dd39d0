"""Reading the book's ``_toc.yml``: one helper for every test that needs it."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "_toc.yml"


def toc_docnames(toc: Path = TOC) -> list[str]:
    """Every document of a Jupyter Book 1.x ``_toc.yml``, in reading order."""
    data = yaml.safe_load(toc.read_text())
    out = [data["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                out.append(str(e["file"]))
            walk(e.get("sections"))
            walk(e.get("chapters"))

    walk(data.get("parts"))
    walk(data.get("chapters"))
    walk(data.get("sections"))
    return out
