"""Uncertainty of a reduced metric: seeded percentile-bootstrap intervals, null summaries and the "beyond noise" test.

Definitions (every function is deterministic given its ``seed``):

* **Percentile bootstrap over samples** (:func:`bootstrap_ci`): ``n_boot`` resamples of the ``n`` per-sample values,
  each ``n`` indices drawn uniformly with replacement (``numpy.random.default_rng(seed)``); the statistic (the mean
  by default, or any function of a list of per-sample items, e.g. an mAP over the resampled videos) is computed on
  each; the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` empirical quantiles of those values
  (``numpy.quantile(..., method="inverted_cdf")``: the smallest resampled value whose empirical CDF reaches the
  probability, so each end is a value the statistic actually took). ``estimate`` is the statistic on the full
  sample. It measures the sampling noise of the evaluation set, not of training.
* **Over splits** (:func:`splits_ci`): protocols with several class splits (the 10 zero-shot 50/50 splits) report
  the mean of the split scores; this bootstraps that mean over the split scores. It measures how much the number
  depends on which classes were held out. The sample noise of the same number is :func:`bootstrap_ci` with
  ``statistic = lambda items: mean over splits of score(items, split)``.
* **Paired difference** (:func:`paired_difference_ci`): two methods scored on the same samples; the samples are
  resampled jointly, so the interval of ``stat(a) - stat(b)`` excludes the shared per-sample difficulty.
* **Null summary** (:func:`null_summary`): the values of a null method over ``>= 20`` seeded draws (e.g.
  ``ref-random-features`` with seeds 0..19): mean, 5th and 95th percentiles (``numpy.percentile``, linear).
* **Beyond noise** (:func:`beyond_noise`): a measured interval is beyond noise when it does not overlap the
  reference interval: a :class:`CI95`, a :class:`NullSummary` (one-sided: ``(-inf, p95]`` when higher is better,
  ``[p5, +inf)`` when lower is better), or a number (an analytic chance level: the point ``[c, c]``).

Intervals are plain frozen dataclasses with ``to_dict`` for result records (``extra["ci95"]``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["CI95", "NullSummary", "bootstrap_ci", "splits_ci", "paired_difference_ci", "null_summary",
           "reference_interval", "overlaps", "beyond_noise", "interval_dict", "DEFAULT_N_BOOT", "MIN_NULL_DRAWS"]

DEFAULT_N_BOOT = 2000      # resamples: the Monte Carlo error of a 95 % end is then ~0.1 standard errors
MIN_NULL_DRAWS = 20        # fewest seeded draws of a null (a 95th percentile from fewer is its maximum)


@dataclass(frozen=True)
class CI95:
    """A bootstrap interval ``[lo, hi]`` around ``estimate`` at ``level`` (0.95 unless stated) from ``n`` units
    (samples or splits), ``n_boot`` resamples with ``seed``; ``method`` names what was resampled."""

    lo: float
    hi: float
    estimate: float
    level: float
    n: int
    n_boot: int
    seed: int
    method: str

    def __post_init__(self):
        if not self.lo <= self.hi:
            raise ValueError(f"interval ends out of order: lo {self.lo} > hi {self.hi}")

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NullSummary:
    """A null method's value over ``n_draws`` seeded draws: ``mean``, percentiles ``p5`` and ``p95``, ``max``,
    the draws themselves (``values``, in seed order) and their ``seeds``."""

    mean: float
    p5: float
    p95: float
    max: float
    n_draws: int
    seeds: tuple
    values: tuple

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seeds"], d["values"] = list(self.seeds), list(self.values)
        return d


def _finite(values: Sequence[float], what: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{what}: need a flat sequence of numbers, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"{what}: value #{int(bad[0])} is {float(x[bad[0]])} (None reads as nan); drop failed "
                         "samples before bootstrapping")
    return x


def _check(n: int, level: float, n_boot: int, what: str) -> None:
    if n < 2:
        raise ValueError(f"{what}: a bootstrap needs at least 2 units, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"{what}: level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"{what}: n_boot must be >= 1, got {n_boot}")


def _ends(stats: np.ndarray, level: float) -> tuple[float, float]:
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [a, 1.0 - a], method="inverted_cdf")
    return float(lo), float(hi)


def bootstrap_ci(values: Sequence[Any], statistic: Callable[[list], float] | None = None, *, level: float = 0.95,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = 0, method: str = "percentile bootstrap over samples"
                 ) -> CI95:
    """Percentile-bootstrap interval of ``statistic(values)`` over the ``n`` samples.

    ``values``: per-sample numbers (``statistic`` None: the mean, vectorised) or any per-sample items (then
    ``statistic(list_of_items) -> float`` is called on every resample, items in resampled order, repeats kept).
    A set-level statistic that matches items by id (an mAP joining predictions to ground truth per video) must
    key each item by its position in the list it gets, so that a sample drawn twice counts as two videos.
    Raises ValueError for fewer than 2 samples, a non-finite number, or a statistic that returns one."""
    n = len(values)
    _check(n, level, n_boot, "bootstrap_ci")
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    if statistic is None:
        x = _finite(values, "bootstrap_ci")
        stats, est = x[idx].mean(axis=1), float(x.mean())
    else:
        items = list(values)
        est = float(statistic(items))
        stats = np.array([statistic([items[i] for i in row]) for row in idx], dtype=np.float64)
        if not (np.isfinite(stats).all() and math.isfinite(est)):
            raise ValueError("bootstrap_ci: the statistic returned a non-finite value on a resample")
    lo, hi = _ends(stats, level)
    return CI95(lo, hi, est, level, n, int(n_boot), int(seed), method)


def splits_ci(split_scores: Sequence[float], *, level: float = 0.95, n_boot: int = DEFAULT_N_BOOT,
              seed: int = 0) -> CI95:
    """Interval of the mean of per-split scores (e.g. the 10 zero-shot class splits), bootstrapped over splits."""
    return bootstrap_ci(list(split_scores), None, level=level, n_boot=n_boot, seed=seed,
                        method="percentile bootstrap over splits (mean of split scores)")


def paired_difference_ci(a: Sequence[float], b: Sequence[float], *, level: float = 0.95,
                         n_boot: int = DEFAULT_N_BOOT, seed: int = 0) -> CI95:
    """Interval of ``mean(a) - mean(b)`` for two methods' per-sample values on the same samples (same order)."""
    xa, xb = _finite(a, "paired_difference_ci a"), _finite(b, "paired_difference_ci b")
    if xa.shape != xb.shape:
        raise ValueError(f"paired_difference_ci: {xa.size} vs {xb.size} values; pairs need the same samples")
    return bootstrap_ci(xa - xb, None, level=level, n_boot=n_boot, seed=seed,
                        method="paired percentile bootstrap over samples (difference of means)")


def null_summary(values: Sequence[float], seeds: Sequence[int] | None = None, *,
                 min_draws: int = MIN_NULL_DRAWS) -> NullSummary:
    """Mean, 5th / 95th percentile and max of a null's values over seeded draws (``seeds[i]`` made
    ``values[i]``; default ``0..n-1``). At least ``min_draws`` draws."""
    x = _finite(values, "null_summary")
    if x.size < min_draws:
        raise ValueError(f"null_summary: {x.size} draws; a null needs at least {min_draws} seeded draws")
    seeds = tuple(range(x.size)) if seeds is None else tuple(int(s) for s in seeds)
    if len(seeds) != x.size or len(set(seeds)) != len(seeds):
        raise ValueError(f"null_summary: need one distinct seed per draw, got {len(seeds)} seeds for {x.size} draws")
    p5, p95 = np.percentile(x, [5, 95])
    return NullSummary(float(x.mean()), float(p5), float(p95), float(x.max()), int(x.size), seeds,
                       tuple(float(v) for v in x))


def reference_interval(reference: CI95 | NullSummary | float, higher_is_better: bool = True) -> tuple[float, float]:
    """The interval a measured cell is compared with (see the module docstring)."""
    if isinstance(reference, CI95):
        return reference.lo, reference.hi
    if isinstance(reference, NullSummary):
        return (-math.inf, reference.p95) if higher_is_better else (reference.p5, math.inf)
    c = float(reference)
    if not math.isfinite(c):
        raise ValueError(f"reference value must be finite, got {reference!r}")
    return c, c


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Closed intervals ``[a0, a1]`` and ``[b0, b1]`` share a point."""
    return a[0] <= b[1] and b[0] <= a[1]


def beyond_noise(measured: CI95, reference: CI95 | NullSummary | float, higher_is_better: bool = True) -> bool:
    """True when ``measured``'s interval does not overlap the reference's: the difference is beyond noise (in
    either direction; compare ``measured.estimate`` with the reference to say which)."""
    return not overlaps((measured.lo, measured.hi), reference_interval(reference, higher_is_better))


# A statistic that re-scores a whole evaluation per resample (a detection or mask mAP over 10 class splits) costs
# ~0.1 s a resample: 2,000 of them for every tokenizer, null draw and text space made the reduce step of one
# localization run take hours on the driver. Such statistics use 200 resamples (the record's ci95 says n_boot).
STATISTIC_N_BOOT = 200


def interval_dict(values: Sequence[Any], statistic: Callable[[list], float] | None = None, *,
                  method: str = "percentile bootstrap over samples", n_boot: int | None = None) -> dict | None:
    """``bootstrap_ci(values, statistic, seed=0, n_boot=...).to_dict()`` for a result record's ``extra["ci95"]``
    (``n_boot``: 2,000 for a mean, :data:`STATISTIC_N_BOOT` for a ``statistic``), or None when there are fewer
    than 2 units (no interval exists; the record says so by its absence)."""
    if len(values) < 2:
        return None
    if n_boot is None:
        n_boot = DEFAULT_N_BOOT if statistic is None else STATISTIC_N_BOOT
    return bootstrap_ci(values, statistic, seed=0, n_boot=n_boot, method=method).to_dict()
