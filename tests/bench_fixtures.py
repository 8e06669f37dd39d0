"""Deliberately broken methods for the benchmark's isolation and referee tests.

Each class breaks in one way a reader's method can (issue 14's list); the
benchmark must turn every one into a ``status`` of its cells and go on.
Also usable from the command line:
``python -m kvtheory bench --method tests/bench_fixtures.py:AppendRaises``.
"""

import copy

import numpy as np

import kvtheory as kv


class _FakeLedger:
    def __init__(self, total):
        self.total = total


class LastToken(kv.StreamingAttention):
    """A working baseline: keeps the last value."""

    name, kind = "last token", "oblivious"

    def _append(self, k, v):
        self.v = v

    def _attend(self, q):
        return self.v

    def memory_ledger(self):
        return kv.MemoryLedger().add("value", self.d_v, 64)


class AppendRaises(LastToken):
    def _append(self, k, v):
        raise RuntimeError("boom in _append")


class AttendRaises(LastToken):
    def _attend(self, q):
        raise RuntimeError("boom in _attend")


class NeedsArgument(LastToken):
    def __init__(self, size):
        super().__init__()
        self.size = size


class NoMemory(kv.StreamingAttention):
    """Implements neither memory_ledger nor memory_bits: refused at instantiation."""

    def _append(self, k, v):
        self.v = v

    def _attend(self, q):
        return self.v


class NaNMemory(LastToken):
    def memory_ledger(self):
        return _FakeLedger(float("nan"))


class NegativeMemory(LastToken):
    def memory_ledger(self):
        return _FakeLedger(-64)


class FloatMemory(LastToken):
    def memory_ledger(self):
        return _FakeLedger(64.5)


class MemoryRaises(LastToken):
    def memory_ledger(self):
        raise RuntimeError("boom in memory_ledger")


class NaNAnswer(LastToken):
    def _attend(self, q):
        return np.full(self.d_v, np.nan)


class ComplexAnswer(LastToken):
    def _attend(self, q):
        return self.v + 1j


class WrongShape(LastToken):
    def _attend(self, q):
        return np.zeros(self.d_v + 1)


class NoDeepCopy(LastToken):
    def __deepcopy__(self, memo):
        raise RuntimeError("cannot copy me")


class FromBudgetRaises(LastToken):
    @classmethod
    def from_budget(cls, budget_bits, n, d, d_v, seed):
        raise ValueError("budget too small for me")


class UnderReporting(kv.ExactCache):
    """Keeps every token (an exact cache) but reports 8 bits: the referee must flag it."""

    name = "under-reporting cache"

    def memory_ledger(self):
        return kv.MemoryLedger().add("state (claimed)", 1, 8)


#: Every broken class, with the stage its status must name.
BROKEN = {
    AppendRaises: "_append",
    AttendRaises: "_attend",
    NeedsArgument: "constructor",
    NoMemory: "constructor",
    NaNMemory: "memory_bits",
    NegativeMemory: "memory_bits",
    FloatMemory: "memory_bits",
    MemoryRaises: "memory_ledger",
    NaNAnswer: "non-finite answer",
    ComplexAnswer: "answer",
    WrongShape: "answer",
    NoDeepCopy: "deep copy",
    FromBudgetRaises: "from_budget",
}

__all__ = ["LastToken", "UnderReporting", "BROKEN", *[c.__name__ for c in BROKEN]]
_ = copy
