"""Temporal action detection mAP with the official ActivityNet matching rules (``Eval_Detection``).

This is the metric of the paper's Table 4 (THUMOS14 and ActivityNet v1.3 "Avg. mAP"), computed as the official
ActivityNet evaluation code does (``activitynet/ActivityNet`` ``Evaluation/eval_detection.py``,
``compute_average_precision_detection``), which the zero-shot TAL literature also uses for THUMOS14:

* per class, predictions ``(video, t_start, t_end, score)`` are sorted by score, highest first;
* at every tIoU threshold each prediction, in that order, is matched to the ground-truth instance *of the same
  video* with the highest tIoU that is not yet matched at that threshold, provided that tIoU >= the threshold; it is
  then a true positive and that instance is locked. Otherwise it is a false positive (so a duplicate of an already
  matched detection is a false positive, and a prediction in a video without instances of the class is one too);
* precision and recall are cumulated over the sorted predictions (recall = TP / number of instances of the class);
* AP is the VOC-2011 interpolated area (:func:`interpolated_prec_rec`: precision made monotone from the right,
  summed over the points where recall changes);
* mAP at a threshold is the mean of AP over classes, and "Avg. mAP" the mean of mAP over the thresholds:
  THUMOS14 ``0.3:0.1:0.7`` (:data:`TIOU_THUMOS14`), ActivityNet ``0.5:0.05:0.95`` (:data:`TIOU_ACTIVITYNET`).

Choices where the official code is silent or accidental (documented, and they only matter at exact ties):

* Score ties: the official code sorts with numpy's unstable ``argsort()[::-1]``; here ties keep the input order
  (stable sort), so the result does not depend on the sort implementation.
* tIoU ties between ground-truth instances: the lower instance index is tried first (same reason).
* A zero-length prediction against a zero-length instance (0/0) has tIoU 0 (the official code gives NaN, which
  never passes a threshold either).
* Classes: by default the classes that have at least one ground-truth instance (the official ``activity_index``).
  A class passed in ``classes`` without any instance has no defined AP (recall divides by zero); it is left out of
  the mean and listed in :attr:`DetectionResult.classes_without_gt`. A class with instances but no prediction has
  AP 0, as officially.

THUMOS14's official MATLAB evaluation also ignores detections inside "Ambiguous" intervals; the ActivityNet-style
evaluation of the JSON conversion (used by the zero-shot TAL literature) does not, and neither does this module.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["TIOU_THUMOS14", "TIOU_ACTIVITYNET", "segment_iou", "interpolated_prec_rec",
           "average_precision_detection", "DetectionResult", "mean_average_precision"]

#: THUMOS14 tIoU thresholds 0.3:0.1:0.7 (the protocol of Table 4's THUMOS14 column).
TIOU_THUMOS14: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
#: ActivityNet v1.3 tIoU thresholds 0.5:0.05:0.95 (the official ``np.linspace(0.5, 0.95, 10)``).
TIOU_ACTIVITYNET: tuple[float, ...] = tuple(float(x) for x in np.round(np.linspace(0.5, 0.95, 10), 2))


def segment_iou(segment: Sequence[float], candidates: np.ndarray) -> np.ndarray:
    """tIoU of one segment ``[start, end]`` with each of ``candidates`` ``(N, 2)`` -> ``(N,)`` in [0, 1]
    (the official ``segment_iou``; 0/0 gives 0)."""
    cand = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    s, e = float(segment[0]), float(segment[1])
    inter = (np.minimum(e, cand[:, 1]) - np.maximum(s, cand[:, 0])).clip(0)
    union = (cand[:, 1] - cand[:, 0]) + (e - s) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou


def interpolated_prec_rec(prec: np.ndarray, rec: np.ndarray) -> float:
    """Interpolated AP (VOCdevkit 2011, the official ``interpolated_prec_rec``): precision padded with 0 at both
    ends, recall with 0 and 1, precision replaced by its running maximum from the right, then
    ``sum((r[i] - r[i-1]) * p[i])`` over the indices where recall changes."""
    mprec = np.concatenate([[0.0], np.asarray(prec, dtype=np.float64), [0.0]])
    mrec = np.concatenate([[0.0], np.asarray(rec, dtype=np.float64), [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def average_precision_detection(ground_truth: Mapping[str, Sequence[Sequence[float]]],
                                predictions: Sequence[Sequence], tiou_thresholds: Sequence[float]) -> np.ndarray:
    """AP of ONE class at each threshold -> ``(len(tiou_thresholds),)`` in [0, 1].

    ``ground_truth``: ``{video_id: [[start, end], ...]}`` (seconds) — the class's instances;
    ``predictions``: ``[(video_id, start, end, score), ...]`` for the class. No prediction -> zeros (official).
    Raises ValueError when there is no ground-truth instance at all (recall undefined).
    """
    thresholds = np.asarray(list(tiou_thresholds), dtype=np.float64)
    gt = {v: np.asarray(segs, dtype=np.float64).reshape(-1, 2) for v, segs in ground_truth.items()}
    npos = sum(len(s) for s in gt.values())
    if npos == 0:
        raise ValueError("AP is undefined for a class without ground-truth instances")
    ap = np.zeros(len(thresholds))
    if len(predictions) == 0:
        return ap
    scores = np.asarray([float(p[3]) for p in predictions])
    order = np.argsort(-scores, kind="stable")
    lock = {v: np.full((len(thresholds), len(s)), -1, dtype=np.int64) for v, s in gt.items()}
    tp = np.zeros((len(thresholds), len(order)))
    fp = np.zeros((len(thresholds), len(order)))
    for rank, i in enumerate(order):
        vid, start, end = predictions[i][0], float(predictions[i][1]), float(predictions[i][2])
        segs = gt.get(vid)
        if segs is None or len(segs) == 0:
            fp[:, rank] = 1
            continue
        tiou = segment_iou((start, end), segs)
        by_iou = np.argsort(-tiou, kind="stable")
        for t, thr in enumerate(thresholds):
            for j in by_iou:
                if tiou[j] < thr:
                    break
                if lock[vid][t, j] >= 0:
                    continue
                tp[t, rank] = 1
                lock[vid][t, j] = rank
                break
            if tp[t, rank] == 0:
                fp[t, rank] = 1
    tp_c, fp_c = np.cumsum(tp, axis=1), np.cumsum(fp, axis=1)
    recall = tp_c / npos
    precision = tp_c / (tp_c + fp_c)
    for t in range(len(thresholds)):
        ap[t] = interpolated_prec_rec(precision[t], recall[t])
    return ap


@dataclass
class DetectionResult:
    """mAP over classes. ``ap``: ``(C, n_thr)`` per class and threshold, rows in :attr:`classes` order;
    ``map``: ``(n_thr,)``; ``avg_map``: mean of ``map`` (None when no class has ground truth)."""

    classes: list[str]
    tiou_thresholds: list[float]
    ap: np.ndarray
    map: np.ndarray
    avg_map: float | None
    n_ground_truth: int
    n_predictions: int
    classes_without_gt: list[str] = field(default_factory=list)

    def map_at(self, threshold: float) -> float | None:
        for t, v in zip(self.tiou_thresholds, self.map):
            if abs(t - threshold) < 1e-9:
                return None if self.avg_map is None else float(v)
        raise KeyError(f"threshold {threshold} not evaluated; have {self.tiou_thresholds}")


def mean_average_precision(ground_truth: Iterable[Sequence], predictions: Iterable[Sequence],
                           tiou_thresholds: Sequence[float] = TIOU_ACTIVITYNET,
                           classes: Iterable[str] | None = None) -> DetectionResult:
    """mAP over classes (official ActivityNet rules, see module doc).

    ``ground_truth``: ``[(video_id, label, start, end), ...]``; ``predictions``: ``[(video_id, label, start, end,
    score), ...]`` (seconds). ``classes``: the classes to evaluate (default: every label with ground truth);
    predictions and instances of other labels are ignored. Rows with ``end < start`` raise ValueError.
    """
    thresholds = [float(t) for t in tiou_thresholds]
    if not thresholds:
        raise ValueError("need at least one tIoU threshold")
    gt_by_class: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in ground_truth:
        vid, label, s, e = row[0], row[1], float(row[2]), float(row[3])
        if e < s:
            raise ValueError(f"ground truth {row!r}: end before start")
        gt_by_class[label][vid].append((s, e))
    pred_by_class: dict[str, list] = defaultdict(list)
    for row in predictions:
        vid, label, s, e, score = row[0], row[1], float(row[2]), float(row[3]), float(row[4])
        if e < s:
            raise ValueError(f"prediction {row!r}: end before start")
        if not np.isfinite(score):
            raise ValueError(f"prediction {row!r}: score is not finite")
        pred_by_class[label].append((vid, s, e, score))
    wanted = sorted(gt_by_class) if classes is None else list(dict.fromkeys(classes))
    scored = [c for c in wanted if c in gt_by_class]
    missing = [c for c in wanted if c not in gt_by_class]
    ap = np.zeros((len(scored), len(thresholds)))
    for k, c in enumerate(scored):
        ap[k] = average_precision_detection(gt_by_class[c], pred_by_class.get(c, []), thresholds)
    if scored:
        m = ap.mean(axis=0)
        avg = float(m.mean())
    else:
        m, avg = np.full(len(thresholds), np.nan), None
    return DetectionResult(scored, thresholds, ap, m, avg,
                           sum(len(s) for c in scored for s in gt_by_class[c].values()),
                           sum(len(pred_by_class.get(c, [])) for c in scored), missing)
