"""Turning measured times into figures: milliseconds, percentiles, and how they are printed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def ms(ns: int) -> float:
    """Nanoseconds (from ``time.monotonic_ns()``) as milliseconds."""
    return ns / 1e6


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between closest ranks (as numpy)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt(value: float | None) -> str:
    """A figure in ms as printed (``12.3 ms``), or ``n/a`` when there is none."""
    return "n/a" if value is None else f"{value:.1f} ms"


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Count, p50, p95 and max in ms of durations in seconds.

    p50 is the median; p95 is the sample at rank ``int(0.95 * n)`` (nearest rank, no
    interpolation), as the in-process scripts have always reported it.
    """
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """Run `call`; how long it took in seconds (``time.perf_counter``) and what it returned."""
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result
