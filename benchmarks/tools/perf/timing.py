"""Wall-clock timing for the perf scripts: one warm-up call, then the median over repeats."""
from __future__ import annotations

import statistics
import time
from typing import Callable

__all__ = ["median_time"]


def median_time(fn: Callable[[], object], repeats: int, sync: Callable[[], object]) -> tuple[float, list[float]]:
    """(median seconds, every run's seconds) of ``fn()`` over ``repeats`` runs after one warm-up call (excluded:
    it pays one-off costs such as kernel selection); ``sync()`` after each call waits for queued device work."""
    fn()
    sync()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs
