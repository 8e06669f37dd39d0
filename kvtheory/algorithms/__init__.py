"""Streaming attention algorithms, one module per family.

Every class here subclasses :class:`kvtheory.StreamingAttention` and counts
its memory honestly in ``memory_bits()``.
"""

from .balance import BalanceKV
from .estimators import ImportanceSamplingEstimator, UniformSamplingEstimator
from .eviction import (
    HeavyHitterEviction,
    HighNormEviction,
    KeyDiffEviction,
    KeyNormEviction,
    KnormEviction,
    ObservedAttentionEviction,
    RandomEviction,
    ScoreEviction,
    SnapKVEviction,
    TOVAEviction,
)
from .kivi import KIVICache
from .lowrank import LowRankCache
from .qjl import QJLCache
from .quantization import QuantizedCache, SignBitCache
from .rotation import RotatedQuantizedCache
from .sampling import ReservoirSampling
from .sketch import JLSketchCache
from .subgen import SubGen
from .subgen_variants import ClusterCentres, SubGenEntrywise
from .window import (
    SinkWindow,
    SlidingWindow,
    UnmaskedWindow,
    sink_window_attention,
    sliding_window_attention,
    unmasked_window_attention,
)

__all__ = ["SubGen", "ClusterCentres", "SubGenEntrywise", "SlidingWindow",
           "SinkWindow", "UnmaskedWindow", "sliding_window_attention",
           "sink_window_attention", "unmasked_window_attention",
           "ScoreEviction", "KnormEviction", "HighNormEviction", "RandomEviction",
           "KeyDiffEviction", "TOVAEviction", "ObservedAttentionEviction", "SnapKVEviction",
           "KeyNormEviction", "HeavyHitterEviction",
           "ReservoirSampling", "QuantizedCache", "SignBitCache", "JLSketchCache",
           "KIVICache", "QJLCache", "RotatedQuantizedCache", "UniformSamplingEstimator",
           "ImportanceSamplingEstimator", "LowRankCache", "BalanceKV"]
