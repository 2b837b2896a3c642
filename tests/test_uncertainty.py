"""Bootstrap intervals, null summaries and the beyond-noise test (benchmarks.metrics.uncertainty) against exact
enumeration, hand-worked values and a coverage check."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from benchmarks.metrics.uncertainty import (CI95, beyond_noise, bootstrap_ci, null_summary, paired_difference_ci,
                                            reference_interval, splits_ci)


def _exact_percentile_interval(values, statistic, level):
    """Enumerate all n^n equally likely ordered resamples; inverse-CDF quantiles of the statistic, and the distance
    of each quantile's probability from the nearest CDF step (so the test can assert it is not on a boundary)."""
    n = len(values)
    dist: dict[Fraction, int] = {}
    for t in itertools.product(values, repeat=n):
        s = statistic(t)
        dist[s] = dist.get(s, 0) + 1
    atoms = sorted(dist)
    cdf = np.cumsum([dist[a] for a in atoms]) / n ** n
    out, margins = [], []
    for q in ((1 - level) / 2, (1 + level) / 2):
        k = int(np.searchsorted(cdf, q))               # first atom with F >= q
        out.append(float(atoms[k]))
        margins.append(min(abs(cdf[k] - q), abs((cdf[k - 1] if k else 0.0) - q)))
    return tuple(out), min(margins)


@pytest.mark.parametrize("values,level", [((0, 1, 5), 0.8), ((0, 1, 2, 10), 0.95)])
def test_mean_interval_matches_exact_enumeration(values, level):
    (lo, hi), margin = _exact_percentile_interval(values, lambda t: Fraction(sum(t), len(t)), level)
    assert margin > 0.004            # the quantiles are well inside a CDF step: 200k resamples pin them exactly
    assert lo > min(values) and hi < max(values)   # interior ends: the test is not trivially the range
    ci = bootstrap_ci(list(values), level=level, n_boot=200_000, seed=1)
    assert (ci.lo, ci.hi) == pytest.approx((lo, hi), abs=1e-12)
    assert ci.estimate == pytest.approx(np.mean(values)) and ci.n == len(values) and ci.level == level


def test_generic_statistic_matches_exact_enumeration():
    values, level = (0, 1, 5), 0.8
    (lo, hi), margin = _exact_percentile_interval(values, lambda t: Fraction(max(t)), level)
    assert margin > 0.004 and (lo, hi) == (1.0, 5.0)   # by hand: P(max = 0) = 1/27 < 0.1 <= P(max <= 1) = 8/27
    ci = bootstrap_ci(list(values), max, level=level, n_boot=200_000, seed=2)
    assert (ci.lo, ci.hi, ci.estimate) == (1.0, 5.0, 5.0)


def test_generic_items_path_resamples_like_the_vectorised_mean():
    x = list(np.random.default_rng(0).normal(size=25))
    a = bootstrap_ci(x, n_boot=500, seed=3)
    b = bootstrap_ci([{"v": v} for v in x], lambda items: float(np.mean([i["v"] for i in items])),
                     n_boot=500, seed=3)
    assert (a.lo, a.hi) == pytest.approx((b.lo, b.hi), abs=1e-12)


def test_reproducible_with_seed_and_different_across_seeds():
    x = np.random.default_rng(5).normal(size=50)
    a, b, c = bootstrap_ci(x, seed=11), bootstrap_ci(x, seed=11), bootstrap_ci(x, seed=12)
    assert a == b
    assert (a.lo, a.hi) != (c.lo, c.hi)
    assert a.to_dict()["seed"] == 11 and a.to_dict()["method"] == "percentile bootstrap over samples"


def test_coverage_on_normal_samples():
    """300 samples of n = 40 from N(0, 1): the 95 % interval should hold the true mean ~95 % of the time; the
    percentile bootstrap is known to undercover slightly at small n, so we accept 0.89..0.99 (the binomial sd of
    the coverage estimate is 0.013). Half-widths should be near the normal-theory 1.96 / sqrt(40) = 0.31."""
    rng = np.random.default_rng(2024)
    hits, widths = 0, []
    for i in range(300):
        ci = bootstrap_ci(rng.normal(size=40), n_boot=1000, seed=i)
        hits += ci.lo <= 0.0 <= ci.hi
        widths.append(ci.half_width)
    assert 0.89 <= hits / 300 <= 0.99
    assert np.mean(widths) == pytest.approx(1.96 / math.sqrt(40), rel=0.1)


def test_splits_and_paired_intervals():
    same = splits_ci([0.4] * 10)
    assert (same.lo, same.hi, same.estimate, same.n) == (0.4, 0.4, 0.4, 10) and "over splits" in same.method
    rng = np.random.default_rng(7)
    difficulty = rng.normal(0, 5, size=60)                  # shared per-sample difficulty
    a = difficulty + 1.0 + rng.normal(0, 0.1, size=60)
    b = difficulty
    paired = paired_difference_ci(a, b, seed=0)
    assert paired.lo > 0.9 and paired.hi < 1.1            # the shared difficulty cancels
    assert bootstrap_ci(a, seed=0).half_width > 10 * paired.half_width
    exact = paired_difference_ci([3.0, 4.0, 9.0], [2.0, 3.0, 8.0])
    assert (exact.lo, exact.hi) == (1.0, 1.0)


def test_null_summary_by_hand():
    s = null_summary(list(range(20)), seeds=range(100, 120))
    # numpy linear percentile of 0..19: position 0.95 * 19 = 18.05 -> 18.05; 0.05 * 19 = 0.95 -> 0.95
    assert (s.mean, s.p5, s.p95, s.max, s.n_draws) == (9.5, pytest.approx(0.95), pytest.approx(18.05), 19.0, 20)
    assert s.seeds[0] == 100 and s.to_dict()["values"][-1] == 19.0
    with pytest.raises(ValueError, match="at least 20"):
        null_summary(list(range(19)))
    with pytest.raises(ValueError, match="distinct seed"):
        null_summary(list(range(20)), seeds=[0] * 20)


def test_beyond_noise_by_hand():
    ci = CI95(0.30, 0.40, 0.35, 0.95, 40, 2000, 0, "test")
    assert beyond_noise(ci, 0.25) and not beyond_noise(ci, 0.35)            # analytic chance: a point
    null = null_summary([0.2] * 18 + [0.31, 0.33])                          # p95 = 0.311
    assert null.p95 == pytest.approx(0.311)
    assert not beyond_noise(ci, null)                                       # 0.30 <= p95: inside the null
    assert beyond_noise(ci, null_summary([0.1] * 19 + [0.25]))              # p95 = 0.1075 < 0.30
    assert reference_interval(null, higher_is_better=False) == (pytest.approx(0.2), math.inf)
    assert beyond_noise(ci, null_summary([0.5] * 20), higher_is_better=False)   # FVD-like: below the null's p5
    assert not beyond_noise(ci, CI95(0.39, 0.5, 0.45, 0.95, 40, 2000, 0, "test"))
    assert beyond_noise(ci, CI95(0.41, 0.5, 0.45, 0.95, 40, 2000, 0, "test"))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ci([1.0])
    with pytest.raises(ValueError, match="value #1 is nan"):
        bootstrap_ci([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0, 2.0], level=95)
    with pytest.raises(ValueError, match="same samples"):
        paired_difference_ci([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="out of order"):
        CI95(1.0, 0.0, 0.5, 0.95, 2, 10, 0, "x")
