"""Geometry of keys: near-orthogonality, packings, coverings, spherical codes."""

from . import nearorth, packing
from .nearorth import coherence_prediction, max_coherence, random_keys
from .packing import (
                      ball_covering_bounds,
                      gilbert_varshamov_bound,
                      greedy_net,
                      greedy_packing,
                      greedy_sign_code,
                      hamming_ball_volume,
                      hamming_bound,
                      spherical_code,
                      threshold_clustering,
)

__all__ = ["packing", "nearorth", "random_keys", "max_coherence", "coherence_prediction",
           "greedy_packing", "greedy_net", "ball_covering_bounds", "hamming_ball_volume",
           "gilbert_varshamov_bound", "hamming_bound", "greedy_sign_code", "spherical_code",
           "threshold_clustering"]
