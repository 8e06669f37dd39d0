"""Experiment runners of the chapters: each returns plain records (dicts / arrays)."""

from . import streaming

__all__ = ["streaming"]
