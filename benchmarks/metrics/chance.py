"""Analytic chance levels: what a guesser that ignores the input scores under each protocol, in [0, 1].

The *random guesser* ranks the candidates of every query uniformly at random, independently of the input (for
multiple choice: picks one option uniformly). Its **expected** score under each protocol:

===============================  =================================================================================
top-k accuracy, C classes        ``min(k, C) / C`` (the true class is in a random top k)
mean class accuracy, C classes   ``min(k, C) / C`` — each class's expected recall is ``k / C``, so the mean over
                                 classes is too, however imbalanced the clips are (mean over the classes with at
                                 least one clip, ``C`` = number of candidate labels scored against)
majority (constant) guesser      ``max_c n_c / sum_c n_c`` top-1 accuracy (:func:`majority_accuracy`; its mean
                                 class accuracy is ``1 / C``)
multiple-choice QA               ``mean_i 1 / n_i`` over questions with ``n_i`` options (MVBench's "chance")
retrieval recall@k, N candidates ``min(k, N) / N``
===============================  =================================================================================

A guesser's *observed* accuracy on ``n`` items is a Poisson-binomial count over 0..n divided by n (item ``i``
correct with probability ``p_i``); :func:`guesser_interval` gives its central interval, exactly (dynamic programming
over the counts), e.g. for "is 30 % on 40 MVBench questions above chance?". :class:`ChanceLevel` carries a value with
its definition (and optionally that interval) for result records (``extra["chance"]``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ChanceLevel", "topk_chance", "mean_class_accuracy_chance", "majority_accuracy",
           "multiple_choice_chance", "retrieval_chance", "guesser_distribution", "guesser_interval", "chance_level"]


def _positive_int(v, what: str) -> int:
    if isinstance(v, bool) or int(v) != v or int(v) < 1:
        raise ValueError(f"{what} must be a positive integer, got {v!r}")
    return int(v)


def topk_chance(num_classes: int, k: int = 1) -> float:
    """Expected top-``k`` accuracy of the random guesser over ``num_classes`` candidate labels."""
    c, k = _positive_int(num_classes, "num_classes"), _positive_int(k, "k")
    return min(k, c) / c


def mean_class_accuracy_chance(num_classes: int, k: int = 1) -> float:
    """Expected mean (over classes) of per-class top-``k`` recall of the random guesser: ``min(k, C) / C``."""
    return topk_chance(num_classes, k)


def majority_accuracy(class_counts: Sequence[int]) -> float:
    """Top-1 accuracy of always answering the most frequent class (``class_counts[c]`` clips of class ``c``)."""
    n = np.asarray(class_counts, dtype=np.int64)
    if n.ndim != 1 or n.size == 0 or (n < 0).any() or n.sum() == 0:
        raise ValueError(f"class_counts must be non-negative counts with a positive total, got {list(class_counts)}")
    return float(n.max() / n.sum())


def multiple_choice_chance(num_options: Sequence[int]) -> float:
    """Expected accuracy of picking one of ``num_options[i]`` options uniformly on every question i."""
    opts = [_positive_int(o, f"num_options[{i}]") for i, o in enumerate(num_options)]
    if not opts:
        raise ValueError("multiple_choice_chance: no questions")
    return float(np.mean([1.0 / o for o in opts]))


def retrieval_chance(num_candidates: int, k: int = 1) -> float:
    """Expected recall@``k`` of a random ranking of ``num_candidates`` with one correct candidate per query."""
    return topk_chance(num_candidates, k)


def guesser_distribution(p_correct: Sequence[float]) -> np.ndarray:
    """``(n + 1,)`` probabilities of 0..n correct answers when item ``i`` is right with probability
    ``p_correct[i]`` independently (Poisson binomial; exact up to float rounding)."""
    p = np.asarray(p_correct, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"p_correct must be a non-empty sequence of probabilities in [0, 1], got {p_correct!r}")
    pmf = np.zeros(p.size + 1)
    pmf[0] = 1.0
    for i, q in enumerate(p, 1):                       # add item i: shift by one with probability q
        pmf[1:i + 1] = pmf[1:i + 1] * (1 - q) + pmf[:i] * q
        pmf[0] *= 1 - q
    return pmf


def guesser_interval(p_correct: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` interval of a guesser's accuracy (count / n): the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles (smallest count whose CDF reaches the probability) of
    :func:`guesser_distribution`, divided by n."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    pmf = guesser_distribution(p_correct)
    cdf = np.cumsum(pmf)
    a = (1 - level) / 2
    n = pmf.size - 1
    # a tiny slack so a CDF that reaches q up to rounding counts as reaching it
    lo = int(np.searchsorted(cdf, a - 1e-12))
    hi = int(np.searchsorted(cdf, 1 - a - 1e-12))
    return lo / n, min(hi, n) / n


@dataclass(frozen=True)
class ChanceLevel:
    """``value``: the expected score of the random guesser (same unit as the metric, in [0, 1]); ``definition``:
    how it was computed; ``lo``/``hi``: the guesser's central ``level`` interval over ``n_items`` items (None when
    not computed)."""

    value: float
    definition: str
    n_items: int | None = None
    lo: float | None = None
    hi: float | None = None
    level: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def chance_level(protocol: str, *, num_classes: int | None = None, k: int = 1,
                 num_options: Sequence[int] | None = None, num_candidates: int | None = None,
                 n_items: int | None = None, level: float = 0.95) -> ChanceLevel:
    """:class:`ChanceLevel` for ``protocol``: ``"top-k"`` (``num_classes``, ``k``), ``"mean-class-accuracy"``
    (``num_classes``, ``k``), ``"multiple-choice"`` (``num_options``: one count per question), ``"retrieval"``
    (``num_candidates``, ``k``). With ``n_items`` (or, for multiple choice, always) the guesser's interval over that
    many items is attached (for mean class accuracy it is the interval of plain accuracy, a close proxy)."""
    if protocol in ("top-k", "mean-class-accuracy", "retrieval"):
        count = num_candidates if protocol == "retrieval" else num_classes
        if count is None:
            need = "num_candidates" if protocol == "retrieval" else "num_classes"
            raise ValueError(f"chance_level({protocol!r}) needs {need}")
        v = topk_chance(count, k)
        what = {"top-k": f"top-{k} accuracy of a uniform random ranking of {count} classes: min(k, C) / C",
                "mean-class-accuracy": f"mean class top-{k} recall of a uniform random ranking of {count} classes: "
                                       "min(k, C) / C",
                "retrieval": f"recall@{k} of a uniform random ranking of {count} candidates: min(k, N) / N"}[protocol]
        if n_items is None:
            return ChanceLevel(v, what)
        lo, hi = guesser_interval([v] * _positive_int(n_items, "n_items"), level)
        return ChanceLevel(v, what, int(n_items), lo, hi, level)
    if protocol == "multiple-choice":
        if not num_options:
            raise ValueError("chance_level('multiple-choice') needs num_options (one count per question)")
        v = multiple_choice_chance(num_options)
        lo, hi = guesser_interval([1.0 / o for o in num_options], level)
        return ChanceLevel(v, "mean over questions of 1 / number of options", len(num_options), lo, hi, level)
    raise ValueError(f"unknown chance protocol {protocol!r}; valid: top-k, mean-class-accuracy, multiple-choice, "
                     "retrieval")
