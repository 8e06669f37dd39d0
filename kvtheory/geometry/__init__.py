"""Geometry of keys: near-orthogonality, packings, coverings, spherical codes."""

__all__: list[str] = []
