"""YouTube-VIS mAP / Jaccard (benchmarks.metrics.ytvis_eval) against independent references: pycocotools' COCOeval
on single-frame videos, a hand-worked spatio-temporal IoU, mmtracking's published check on its demo VIS data (real
YouTube-VIS 2019 annotations), and limiting cases."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from benchmarks.datasets.rle import encode_mask
from benchmarks.datasets.ytvis import VisPrediction, YouTubeVISDataset, read_results, write_results
from benchmarks.metrics.ytvis_eval import (STAT_NAMES, Track, YTVISParams, dt_tracks, evaluate, evaluate_video,
                                           gt_tracks, reduce_records, spatiotemporal_iou, spatiotemporal_iou_masks)

COCO_AREAS = (("all", 0.0, 1e5 ** 2), ("small", 0.0, 32.0 ** 2), ("medium", 32.0 ** 2, 96.0 ** 2),
              ("large", 96.0 ** 2, 1e5 ** 2))


def _box(h, w, y0, x0, y1, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _random_scene(rng, n_images=8, h=120, w=130, n_cats=3):
    """Single-frame 'videos': GT boxes/blobs of assorted sizes and predictions (jittered GT, misses, false alarms)."""
    gts, dts = [], []
    for v in range(1, n_images + 1):
        for _ in range(rng.integers(1, 4)):
            cat = int(rng.integers(1, n_cats + 1))
            side = int(rng.choice([12, 40, 110]))  # small / medium / large under COCO's ranges
            side_y, side_x = min(side, h - 2), min(side, w - 2)
            y0, x0 = int(rng.integers(0, h - side_y)), int(rng.integers(0, w - side_x))
            g = _box(h, w, y0, x0, y0 + side_y, x0 + side_x)
            g &= rng.random((h, w)) > 0.05  # ragged
            gts.append((v, cat, g))
            for _ in range(rng.integers(0, 3)):  # 0-2 predictions near it, sometimes with the wrong category
                dy, dx = rng.integers(-side_y // 6, side_y // 6 + 1, 2)
                d = np.roll(np.roll(g, dy, 0), dx, 1)
                dcat = cat if rng.random() < 0.8 else int(rng.integers(1, n_cats + 1))
                dts.append((v, dcat, d, float(rng.random())))
        for _ in range(rng.integers(0, 2)):  # false alarm
            y0, x0 = int(rng.integers(0, h - 20)), int(rng.integers(0, w - 20))
            dts.append((v, int(rng.integers(1, n_cats + 1)), _box(h, w, y0, x0, y0 + 20, x0 + 25), float(rng.random())))
    return gts, dts, h, w, n_cats


def _cocoeval_stats(gts, dts, h, w, n_cats):
    images = [{"id": v, "height": h, "width": w} for v in sorted({g[0] for g in gts} | {d[0] for d in dts})]
    anns = []
    for i, (v, c, m) in enumerate(gts):
        rle = encode_mask(m)
        anns.append({"id": i + 1, "image_id": v, "category_id": c, "segmentation": rle, "area": float(m.sum()),
                     "bbox": mask_utils.toBbox({"size": rle["size"], "counts": rle["counts"].encode()}).tolist(),
                     "iscrowd": 0})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns,
                  "categories": [{"id": c, "name": f"c{c}"} for c in range(1, n_cats + 1)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([{"image_id": v, "category_id": c, "segmentation": encode_mask(m), "score": s}
                         for v, c, m, s in dts])
        ev = COCOeval(gt, dt, "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats, [im["id"] for im in images]


def _as_tracks(gts, dts):
    g = [Track(v, c, [encode_mask(m)], areas=[float(m.sum())], id=i + 1) for i, (v, c, m) in enumerate(gts)]
    d = [Track(v, c, [encode_mask(m)], score=s, id=i + 1) for i, (v, c, m, s) in enumerate(dts)]
    return g, d


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_frame_videos_match_cocoeval(seed):
    gts, dts, h, w, n_cats = _random_scene(np.random.default_rng(seed))
    ref, vids = _cocoeval_stats(gts, dts, h, w, n_cats)
    g, d = _as_tracks(gts, dts)
    ours = evaluate(g, d, range(1, n_cats + 1), vids, YTVISParams(area_ranges=COCO_AREAS))
    got = np.array([ours.stats[k] for k in STAT_NAMES])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert 0.05 < ours.stats["AP"] < 0.95  # a scene that exercises the matching, not a limiting case
    # with the YouTube-VIS area ranges only the size-split numbers may change
    yt = evaluate(g, d, range(1, n_cats + 1), vids)
    for k, i in (("AP", 0), ("AP50", 1), ("AP75", 2), ("AR1", 6), ("AR10", 7), ("AR100", 8)):
        assert yt.stats[k] == pytest.approx(ref[i], abs=1e-12)


def test_spatiotemporal_iou_hand_worked():
    # 3 frames of 4x4. Frame 0: D 4 px, G 6 px, overlap 2. Frame 1: D 3 px, G absent. Frame 2: D absent, G 5 px.
    # IoU = (2) / ((4 + 6 - 2) + 3 + 5) = 2 / 16
    H = W = 4
    d0 = _box(H, W, 0, 0, 2, 2)                   # rows 0-1, cols 0-1: 4 px
    g0 = _box(H, W, 1, 0, 3, 2) | _box(H, W, 0, 3, 2, 4)  # rows 1-2 cols 0-1 (4 px, 2 shared) + 2 px elsewhere
    d1 = _box(H, W, 3, 0, 4, 3)                   # 3 px
    g2 = _box(H, W, 0, 0, 1, 4) | _box(H, W, 3, 3, 4, 4)  # 5 px
    assert (d0.sum(), g0.sum(), (d0 & g0).sum(), d1.sum(), g2.sum()) == (4, 6, 2, 3, 5)
    d_seq = [encode_mask(d0), encode_mask(d1), None]
    g_seq = [encode_mask(g0), None, encode_mask(g2)]
    rle = lambda s: None if s is None else {"size": s["size"], "counts": s["counts"].encode()}
    assert spatiotemporal_iou([rle(x) for x in d_seq], [rle(x) for x in g_seq]) == pytest.approx(2 / 16)
    zero = np.zeros((H, W), bool)
    assert spatiotemporal_iou_masks(np.stack([d0, d1, zero]), np.stack([g0, zero, g2])) == pytest.approx(2 / 16)
    # the IoU of the evaluation is the same number: one gt, one prediction, AP at IoU .50 is 0, Jaccard 2/16
    g = Track(1, 1, g_seq, areas=[6, None, 5], id=1)
    d = Track(1, 1, d_seq, score=0.9, id=1)
    res = evaluate([g], [d], [1], [1])
    assert res.jaccard == pytest.approx(2 / 16) and res.stats["AP50"] == 0.0


def test_avg_area_is_the_mean_over_present_frames():
    # ytvos.loadRes / ytvoseval._prepare: mean of the truthy per-frame areas -> 200, not 400 / 3
    assert Track(1, 1, [None] * 3, areas=[None, 100, 300]).avg_area == 200.0
    m = _box(10, 10, 0, 0, 2, 5)
    assert Track(1, 1, [None, encode_mask(m), None]).avg_area == 10.0
    assert Track(1, 1, [None, None], areas=[None, None]).avg_area == 0.0


@pytest.fixture(scope="module")
def synthetic_ytvis(tmp_path_factory):
    from benchmarks.synthetic import generate

    root = tmp_path_factory.mktemp("syn")
    generate(root, ["ytvis2021"], scale="tiny")
    return YouTubeVISDataset.from_root(root / "ytvis2021", "valid")


def test_perfect_predictions_score_one(synthetic_ytvis):
    ds = synthetic_ytvis
    preds = [VisPrediction.from_masks(v.id, inst.category_id, 0.9, inst.masks(v.height, v.width))
             for v in ds for inst in v.instances]
    res = evaluate([t for v in ds for t in gt_tracks(v)], dt_tracks(preds), [c.id for c in ds.categories],
                   [v.id for v in ds])
    assert res.n_gt == len(preds) > 3
    assert res.stats["AP"] == pytest.approx(1.0) and res.stats["AR100"] == pytest.approx(1.0)
    assert res.jaccard == pytest.approx(1.0)


def test_random_predictions_score_low(synthetic_ytvis):
    ds = synthetic_ytvis
    rng = np.random.default_rng(0)
    preds = []
    for v in ds:
        for _ in range(5):
            m = rng.random((v.length, v.height, v.width)) < 0.1
            preds.append(VisPrediction.from_masks(v.id, int(rng.choice([c.id for c in ds.categories])),
                                                  float(rng.random()), m))
    res = evaluate([t for v in ds for t in gt_tracks(v)], dt_tracks(preds), [c.id for c in ds.categories],
                   [v.id for v in ds])
    assert 0.0 <= res.stats["AP"] < 0.02 and res.jaccard < 0.1


def test_empty_predictions(synthetic_ytvis):
    ds = synthetic_ytvis
    res = evaluate([t for v in ds for t in gt_tracks(v)], [], [c.id for c in ds.categories], [v.id for v in ds])
    assert res.stats["AP"] == 0.0 and res.stats["AR100"] == 0.0 and res.jaccard == 0.0 and res.n_dt == 0
    none = evaluate([], [], [1, 2], [1])
    assert none.stats["AP"] == -1.0 and none.jaccard is None  # nothing is defined without ground truth


def test_results_format_round_trip_and_sharded_reduce(synthetic_ytvis, tmp_path):
    ds = synthetic_ytvis
    rng = np.random.default_rng(1)
    preds = []
    for v in ds:
        for inst in v.instances:
            m = inst.masks(v.height, v.width)
            m = np.roll(m, int(rng.integers(-3, 4)), axis=2)  # imperfect
            m[: int(rng.integers(0, 3))] = False                # absent in the first frames -> null RLEs
            preds.append(VisPrediction.from_masks(v.id, inst.category_id, float(rng.random()), m))
    path = write_results(tmp_path / "results.json", preds)
    raw = json.loads(path.read_text())
    assert set(raw[0]) == {"video_id", "score", "category_id", "segmentations"}
    assert any(s is None for r in raw for s in r["segmentations"])
    back = read_results(path, ds)
    assert not back.failures and len(back.predictions) == len(preds)
    gts = [t for v in ds for t in gt_tracks(v)]
    cats, vids = [c.id for c in ds.categories], [v.id for v in ds]
    a = evaluate(gts, dt_tracks(preds), cats, vids)
    b = evaluate(gts, dt_tracks(raw), cats, vids)
    assert a.stats == b.stats and a.jaccard == b.jaccard and 0 < a.stats["AP"] < 1
    # per-video records survive JSON (the shard -> reduce path) and reduce to the same numbers
    recs = [json.loads(json.dumps(evaluate_video([g for g in gts if g.video_id == v],
                                                 [d for d in dt_tracks(raw) if d.video_id == v],
                                                 YTVISParams(), cats))) for v in vids]
    c = reduce_records(recs, cats)
    assert c.stats == a.stats and c.jaccard == pytest.approx(a.jaccard)


def test_mmtracking_demo_vis_data(realdata):
    """mmtracking's tests/test_data/test_datasets/test_vis_dataset.py asserts segm_mAP == 0.65 and
    segm_mAP_50 == 1.0 (values rounded to 3 decimals by its eval_vis) for these demo files, scored with the
    YouTube-VIS cocoapi fork."""
    d = realdata / "annotations" / "youtube-vis"
    ds = YouTubeVISDataset(d / "ytvis2019_0043f083b5_ytvis_format.json")
    res_file = read_results(d / "mmtracking_demo_vis_results_5c6aa673.json", ds)
    assert not res_file.failures
    res = evaluate([t for v in ds for t in gt_tracks(v)], dt_tracks(res_file.predictions),
                   [c.id for c in ds.categories], [v.id for v in ds])
    assert float(f"{res.stats['AP']:.3f}") == 0.65
    assert float(f"{res.stats['AP50']:.3f}") == 1.0
