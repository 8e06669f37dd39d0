"""Notebook hygiene: every chapter is committed executed, clean and in the toc."""

import json
from pathlib import Path

import pytest
from book_toc import toc_docnames

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def test_there_are_chapters():
    assert CHAPTERS, "book/ holds no notebooks"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", "kernelspec missing"
    assert "widgets" not in nb["metadata"], "stored widget state must be stripped"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a chapter without code"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"execution counts not sequential: {counts}"
    assert any(c["outputs"] for c in code), "outputs not committed"
    for c in code:
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"error output in cell {c['execution_count']}"
            if out["output_type"] == "stream":
                assert out["name"] != "stderr" or not out["text"].strip(), (
                    f"stderr output (a warning?) in cell {c['execution_count']}: "
                    f"{out['text'][:200]}"
                )
        tags = c.get("metadata", {}).get("tags", [])
        if "nbval-ignore-output" in tags:
            src = "".join(c["source"]).lstrip()
            assert src.startswith("#"), "nbval-ignore-output needs a comment giving the reason"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_the_toc(path):
    assert f"book/{path.stem}" in toc_docnames()


def test_every_toc_entry_exists():
    for f in toc_docnames():
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), f


def test_sliced_get_msg_polls_again_and_keeps_the_overall_timeout():
    import asyncio
    from queue import Empty

    from kvtheory.notebooks import _sliced_get_msg

    calls = []

    async def fake(timeout=None):                 # a message "missed" twice
        calls.append(timeout)
        if len(calls) < 3:
            raise Empty
        return {"ok": True}

    assert asyncio.run(_sliced_get_msg(fake, step=0.01)(timeout=5)) == {"ok": True}
    assert calls == [0.01, 0.01, 0.01]

    async def never(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    try:
        asyncio.run(_sliced_get_msg(never, step=0.01)(timeout=0.05))
    except Empty:
        pass
    else:
        raise AssertionError("the overall timeout must still raise Empty")
