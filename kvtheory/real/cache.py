"""An on-disk cache of model computations, keyed by model file hash and input.

Extracting the K/V cache of 1000 tokens takes seconds; rebuilding the book
should not repeat it. Entries live in :func:`cache_dir` (by default the user
cache directory, ``$XDG_CACHE_HOME/kvtheory`` or ``~/.cache/kvtheory``; set
``KVTHEORY_CACHE_DIR`` to move it, or ``KVTHEORY_CACHE_DIR=off`` to disable
caching). Each entry is one ``.npz`` file whose name is the SHA-256 of the
model file's hash, the kind of computation and its arguments, so a different
model file, text or setting can never be served a stale entry. A cache that
cannot be written (read-only home) is skipped silently: caching is only an
optimisation.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "cache_key", "cache_load", "cache_save", "clear_cache"]

_ENV = "KVTHEORY_CACHE_DIR"


def cache_dir() -> Path | None:
    """The cache directory, or ``None`` when caching is disabled.

    Examples
    --------
    >>> from kvtheory.real import cache_dir
    >>> d = cache_dir()
    >>> d is None or d.name == "kvtheory" or "KVTHEORY_CACHE_DIR" in __import__("os").environ
    True
    """
    env = os.environ.get(_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kvtheory"


def cache_key(kind: str, **parts) -> str:
    """Hex SHA-256 of ``kind`` and the JSON of ``parts`` (sorted keys)."""
    blob = json.dumps({"kind": kind, **parts}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _path(kind: str, key: str) -> Path | None:
    d = cache_dir()
    return None if d is None else d / f"{kind}-{key[:32]}.npz"


def cache_load(kind: str, key: str) -> dict | None:
    """The arrays stored under ``(kind, key)``, or ``None`` if absent or unreadable."""
    p = _path(kind, key)
    if p is None or not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            if str(z["__key__"]) != key:
                return None
            return {k: z[k] for k in z.files if k != "__key__"}
    except (OSError, ValueError, KeyError):
        return None


def cache_save(kind: str, key: str, arrays: dict) -> bool:
    """Store ``arrays`` under ``(kind, key)`` atomically; return whether it was written."""
    p = _path(kind, key)
    if p is None:
        return False
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __key__=np.array(key), **arrays)
        os.replace(tmp, p)
        return True
    except OSError:
        return False


def clear_cache() -> int:
    """Delete every cache entry of :mod:`kvtheory.real`; return how many were removed."""
    d = cache_dir()
    if d is None or not d.is_dir():
        return 0
    count = 0
    for p in d.glob("*.npz"):
        p.unlink(missing_ok=True)
        count += 1
    return count
