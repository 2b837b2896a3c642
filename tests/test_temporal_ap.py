"""Temporal-detection mAP (benchmarks.metrics.temporal_ap) against hand-worked ActivityNet matching examples and
against mmaction2's port of the official ActivityNet evaluation (``average_precision_at_temporal_iou``)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from benchmarks.metrics.temporal_ap import (
    TIOU_ACTIVITYNET,
    TIOU_THUMOS14,
    average_precision_detection,
    interpolated_prec_rec,
    mean_average_precision,
    segment_iou,
)


def mmaction_accuracy_module():
    """mmaction2's ``evaluation/functional/accuracy.py`` (numpy only), loaded from its file: importing the
    ``mmaction`` package itself needs mmcv + mmengine + OpenCV, which this project does not depend on."""
    spec = importlib.util.find_spec("mmaction")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mmaction2 is not installed (pip install --no-deps mmaction2): no reference to cross-check")
    path = Path(list(spec.submodule_search_locations)[0]) / "evaluation" / "functional" / "accuracy.py"
    if not path.is_file():
        pytest.skip(f"mmaction2 has no {path}")
    mod_spec = importlib.util.spec_from_file_location("_mmaction_accuracy", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


def test_thresholds():
    assert TIOU_THUMOS14 == (0.3, 0.4, 0.5, 0.6, 0.7)
    assert TIOU_ACTIVITYNET == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_segment_iou_hand_values():
    cand = np.array([[0, 10], [5, 15], [10, 20], [20, 30], [2, 4]])
    # [0,10] vs: itself 1; [5,15] 5/15; [10,20] touch 0; [20,30] 0; [2,4] 2/10
    np.testing.assert_allclose(segment_iou([0, 10], cand), [1, 1 / 3, 0, 0, 0.2])
    assert segment_iou([3, 3], np.array([[3, 3]]))[0] == 0.0  # 0/0 -> 0, never a match


def test_interpolated_precision_hand_example():
    # precision 1, .5, 2/3 at recall .5, .5, 1: envelope 1, 2/3, 2/3 -> area .5 * 1 + .5 * 2/3
    assert interpolated_prec_rec([1, 0.5, 2 / 3], [0.5, 0.5, 1.0]) == pytest.approx(0.5 + 1 / 3)
    # a later, higher precision lifts the earlier points (monotone envelope from the right)
    assert interpolated_prec_rec([0.5, 2 / 3], [0.5, 1.0]) == pytest.approx(2 / 3)
    assert interpolated_prec_rec([], []) == 0.0


def test_duplicate_is_false_positive_and_gt_matched_once():
    gt = {"v": [[0, 10], [20, 30]]}
    preds = [("v", 0, 10, 0.9),     # TP (tIoU 1)
             ("v", 0, 10, 0.8),     # duplicate of a matched instance -> FP
             ("v", 20, 29, 0.7)]    # tIoU 0.9: TP at 0.5, FP at 0.95
    ap = average_precision_detection(gt, preds, [0.5, 0.95])
    # t=0.5: tp 1,0,1 -> precision 1, .5, 2/3 at recall .5, .5, 1 -> 0.8333
    # t=0.95: tp 1,0,0 -> recall stays .5 with precision 1 -> 0.5
    np.testing.assert_allclose(ap, [0.5 + 1 / 3, 0.5])


def test_match_goes_to_highest_iou_unmatched_instance():
    gt = {"v": [[0, 10], [4, 14]]}
    preds = [("v", 4, 14, 0.9),    # takes B (tIoU 1)
             ("v", 3, 13, 0.8)]    # tIoU 9/11 with B (locked), 7/13 = .538 with A -> A at 0.5, nothing at 0.6
    ap = average_precision_detection(gt, preds, [0.5, 0.6])
    np.testing.assert_allclose(ap, [1.0, 0.5])


def test_score_order_not_input_order():
    gt = {"v": [[0, 10]]}
    # the better-localized prediction has the lower score: ranked second, it is the duplicate -> FP at 0.5
    preds = [("v", 0, 10, 0.2), ("v", 0, 6, 0.9)]
    # ranked: [0,6] (tIoU .6) TP at .5 -> AP 1 at .5; at .7 [0,6] fails, [0,10] TP -> precision .5 at recall 1
    np.testing.assert_allclose(average_precision_detection(gt, preds, [0.5, 0.7]), [1.0, 0.5])


def test_prediction_in_video_without_instances_is_false_positive():
    gt = {"v": [[0, 10]]}
    preds = [("w", 0, 10, 0.9), ("v", 0, 10, 0.5)]
    # FP then TP: precision 0, .5 at recall 0, 1 -> 0.5
    np.testing.assert_allclose(average_precision_detection(gt, preds, [0.5]), [0.5])


def test_no_predictions_and_no_ground_truth():
    np.testing.assert_array_equal(average_precision_detection({"v": [[0, 1]]}, [], [0.5, 0.7]), [0, 0])
    with pytest.raises(ValueError, match="without ground-truth"):
        average_precision_detection({}, [("v", 0, 1, 1.0)], [0.5])


def test_mean_average_precision_over_classes():
    gt = [("v1", "a", 0, 10), ("v1", "b", 20, 30), ("v2", "a", 5, 15)]
    perfect = [(v, c, s, e, 1.0 - 0.1 * i) for i, (v, c, s, e) in enumerate(gt)]
    r = mean_average_precision(gt, perfect, TIOU_THUMOS14)
    assert r.classes == ["a", "b"] and r.avg_map == pytest.approx(1.0)
    np.testing.assert_allclose(r.map, 1.0)
    # class b predicted nowhere -> AP 0 for b, mAP = (1 + 0) / 2
    r = mean_average_precision(gt, [p for p in perfect if p[1] == "a"], TIOU_THUMOS14)
    assert r.avg_map == pytest.approx(0.5)
    # no predictions at all -> 0
    assert mean_average_precision(gt, [], TIOU_ACTIVITYNET).avg_map == 0.0
    # a class asked for but without ground truth is left out and listed; other labels are ignored
    r = mean_average_precision(gt, perfect + [("v1", "zzz", 0, 10, 5.0)], [0.5], classes=["a", "c"])
    assert r.classes == ["a"] and r.classes_without_gt == ["c"] and r.avg_map == pytest.approx(1.0)
    assert r.map_at(0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="end before start"):
        mean_average_precision([("v", "a", 5, 1)], [], [0.5])


def test_random_predictions_score_low():
    rng = np.random.default_rng(0)
    gt, preds = [], []
    for v in range(20):
        for c in "abc":
            s = rng.uniform(0, 80)
            gt.append((f"v{v}", c, s, s + rng.uniform(5, 20)))
            for _ in range(3):
                ps = rng.uniform(0, 95)
                preds.append((f"v{v}", c, ps, ps + rng.uniform(1, 5), rng.uniform()))
    r = mean_average_precision(gt, preds, TIOU_ACTIVITYNET)
    assert 0.0 <= r.avg_map < 0.05
    perfect = [(v, c, s, e, 1.0) for v, c, s, e in gt]
    assert mean_average_precision(gt, perfect, TIOU_ACTIVITYNET).avg_map == pytest.approx(1.0)


def test_cross_check_with_mmaction2():
    acc = mmaction_accuracy_module()
    rng = np.random.default_rng(1)
    for trial in range(20):
        gt, preds = {}, []
        for v in range(rng.integers(1, 6)):
            n = int(rng.integers(0, 4))
            starts = rng.uniform(0, 50, n)
            if n:
                gt[f"v{v}"] = [[float(s), float(s + rng.uniform(2, 15))] for s in starts]
            for _ in range(int(rng.integers(0, 8))):
                # predictions near the instances (so some match) or anywhere
                if n and rng.uniform() < 0.7:
                    s, e = gt[f"v{v}"][int(rng.integers(0, n))]
                    s, e = s + rng.normal(0, 2), e + rng.normal(0, 2)
                    s, e = min(s, e), max(s, e)
                else:
                    s = rng.uniform(0, 60)
                    e = s + rng.uniform(1, 10)
                preds.append((f"v{v}", float(s), float(e), float(rng.uniform())))
        if not gt:
            continue
        ours = average_precision_detection(gt, preds, TIOU_ACTIVITYNET)
        mm_pred = [[v, 0, s, e, sc] for v, s, e, sc in preds]
        theirs = acc.average_precision_at_temporal_iou(gt, mm_pred, np.array(TIOU_ACTIVITYNET))
        # mmaction2 accumulates in float32
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=f"trial {trial}")
        np.testing.assert_allclose(interpolated_prec_rec([0.3, 1.0, 0.5], [0.2, 0.4, 0.8]),
                                   acc.interpolated_precision_recall(np.array([0.3, 1.0, 0.5]),
                                                                     np.array([0.2, 0.4, 0.8])))
