"""Analytic chance levels (benchmarks.metrics.chance) against brute-force enumeration of random guessers, scipy's
binomial and Monte Carlo."""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binom

from benchmarks.metrics.chance import (chance_level, guesser_distribution, guesser_interval, majority_accuracy,
                                       mean_class_accuracy_chance, multiple_choice_chance, retrieval_chance,
                                       topk_chance)


@pytest.mark.parametrize("C,k", [(5, 1), (5, 2), (4, 3), (3, 5)])
def test_topk_by_enumerating_every_ranking(C, k):
    hits = total = 0
    for true in range(C):
        for ranking in itertools.permutations(range(C)):
            hits += true in ranking[:k]
            total += 1
    assert topk_chance(C, k) == pytest.approx(hits / total)


def test_mean_class_accuracy_by_enumerating_every_guess_vector():
    labels = [0, 0, 0, 1, 2]                                # imbalanced: 3 / 1 / 1 clips, C = 3
    C = 3
    acc_sum = Fraction(0)
    for guesses in itertools.product(range(C), repeat=len(labels)):   # 243 equally likely guess vectors
        recalls = [Fraction(sum(g == c for g, l in zip(guesses, labels) if l == c), labels.count(c))
                   for c in range(C)]
        acc_sum += sum(recalls) / C
    assert mean_class_accuracy_chance(C) == pytest.approx(float(acc_sum / C ** len(labels)))   # 1/3
    # the constant majority guesser: accuracy 3/5, but mean class accuracy still 1/3
    assert majority_accuracy([3, 1, 1]) == pytest.approx(0.6)


def test_multiple_choice_by_enumeration_and_monte_carlo():
    options = [2, 4, 5]
    combos = list(itertools.product(*(range(o) for o in options)))     # 40 equally likely answer sheets
    exact = np.mean([np.mean([a == 0 for a in sheet]) for sheet in combos])   # option 0 is right
    assert multiple_choice_chance(options) == pytest.approx(exact)      # (1/2 + 1/4 + 1/5) / 3 = 0.3167
    # MVBench-like: 40 questions with 3..5 options; 20,000 simulated guessers, tolerance 5 sd of the MC mean
    rng = np.random.default_rng(0)
    opts = rng.integers(3, 6, size=40)
    sims = (rng.integers(0, opts, size=(20_000, 40)) == 0).mean(axis=1)
    sd = sims.std() / np.sqrt(sims.size)
    assert abs(sims.mean() - multiple_choice_chance(opts.tolist())) < 5 * sd


def test_retrieval_by_enumerating_every_ranking():
    N = 4
    for k in (1, 2):
        hits = sum(0 in perm[:k] for perm in itertools.permutations(range(N)))
        assert retrieval_chance(N, k) == pytest.approx(hits / 24)


def test_guesser_distribution_matches_binomial_and_monte_carlo():
    np.testing.assert_allclose(guesser_distribution([0.25] * 40), binom.pmf(np.arange(41), 40, 0.25), atol=1e-12)
    p = [1 / 3] * 10 + [1 / 4] * 12 + [1 / 5] * 12                # 34 questions with 3, 4 or 5 options
    lo, hi = guesser_interval(p)
    rng = np.random.default_rng(1)
    counts = (rng.random((200_000, len(p))) < np.asarray(p)).sum(axis=1)
    emp = np.quantile(counts, [0.025, 0.975], method="inverted_cdf") / len(p)
    cdf = np.cumsum(guesser_distribution(p))
    # the quantiles are not on a CDF step (so 200k guessers pin them): asserted, then compared. The Monte Carlo
    # sd of an empirical CDF near 0.025 at 200k draws is 0.00035; a margin of 0.005 is > 10 sd
    for q in (0.025, 0.975):
        assert np.min(np.abs(cdf - q)) > 0.005
    assert (lo, hi) == pytest.approx(tuple(emp))
    assert lo < multiple_choice_chance([3] * 10 + [4] * 12 + [5] * 12) < hi


def test_chance_level_records():
    r = chance_level("top-k", num_classes=6, k=1)
    assert r.value == pytest.approx(1 / 6) and r.lo is None and "min(k, C) / C" in r.definition
    r5 = chance_level("top-k", num_classes=10, k=5, n_items=20)
    assert r5.value == 0.5 and r5.n_items == 20 and r5.lo < 0.5 < r5.hi
    mc = chance_level("multiple-choice", num_options=[4] * 40)
    assert mc.value == 0.25 and (mc.lo, mc.hi) == guesser_interval([0.25] * 40) and mc.to_dict()["n_items"] == 40
    assert chance_level("retrieval", num_candidates=50).value == pytest.approx(0.02)
    with pytest.raises(ValueError, match="unknown chance protocol"):
        chance_level("map")
    with pytest.raises(ValueError, match="needs num_classes"):
        chance_level("top-k")
    with pytest.raises(ValueError, match="positive integer"):
        topk_chance(0)
