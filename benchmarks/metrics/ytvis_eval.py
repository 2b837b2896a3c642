"""YouTube-VIS / OVIS video instance segmentation metrics: mAP and AR as the official evaluation, plus Jaccard.

The official scorer of both challenges is ``YTVOSeval`` in the YouTube-VIS fork of the COCO API
(``youtubevos/cocoapi``, ``PythonAPI/pycocotools/ytvoseval.py`` and ``ytvos.py``; read here from the copy indexed as
``m43/youtubevos-cocoapi@7afe4a4`` and ``lxtGH/cocoapi@324f301``). This module re-implements it exactly, split into
a per-video step and a global step so the harness can score videos in parallel shards:

* **Spatio-temporal IoU** (``YTVOSeval.computeIoU.iou_seq``): for a predicted and a ground-truth track,
  ``sum_t |D_t & G_t| / sum_t |D_t | G_t|`` over the video's frames; a frame where one of them is absent (null
  segmentation) adds only the other's area to the union; IoU is 0 when the union is empty. Crowd ground truth is
  *not* given COCO's intersection-over-detection IoU (the fork comments ``maskUtils.iou`` out).
* **Area** (``YTVOS.loadRes`` and ``YTVOSeval._prepare``): a track's ``avg_area`` is the mean of its per-frame areas
  over the frames where that area is truthy (present and non-zero), 0 if none. Ground truth uses the annotation's
  ``areas`` field, predictions ``maskUtils.area`` of each frame. Ranges (``Params.setDetParams``):
  all ``[0, 1e5^2]``, small ``[0, 128^2]``, medium ``[128^2, 256^2]``, large ``[256^2, 1e5^2]`` (not COCO's 32/96).
* **Matching** (``evaluateVid``): per (video, category): predictions sorted by score (stable mergesort), at most
  ``maxDets[-1]`` = 100; greedy matching at each IoU threshold ``.50:.05:.95`` exactly as COCO (a crowd/ignored
  ground truth may absorb a prediction; unmatched predictions outside the area range are ignored).
* **Accumulation** (``accumulate``): per category, area range and maxDets ``(1, 10, 100)``, precision at 101 recall
  points ``0:.01:1`` from the interpolated PR curve of all videos' predictions (mergesort by score), recall = final
  recall; categories without (non-ignored) ground truth are -1 and left out. ``summarize``: AP = mean of all valid
  precision entries (= mean over categories of per-category AP), AP50, AP75, AP_s/m/l, AR1, AR10, AR100, AR_s/m/l.

**Jaccard** (the paper's Table 3 "Jaccard"; the paper does not define it for VIS). We use the region similarity J
of video object segmentation applied per ground-truth instance: for every non-crowd ground-truth track, the best
spatio-temporal IoU among the predictions *of the same category in the same video* (0 when there is none), averaged
over all ground-truth tracks of the evaluation set ("per-instance best IoU", category-aware because the task is
text-guided). It uses the same (at most 100 highest-scoring) predictions as mAP.

Inputs: ground truth as :class:`Track` (from :func:`gt_tracks` of a :class:`~benchmarks.datasets.ytvis.VisVideo`),
predictions in the official results format (``{"video_id", "category_id", "segmentations": [RLE | null per
frame], "score"}``, e.g. :class:`~benchmarks.datasets.ytvis.VisPrediction` or :func:`read_results`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from benchmarks.datasets.rle import decode_segmentation

__all__ = ["YTVISParams", "Track", "gt_tracks", "dt_tracks", "track_rles", "spatiotemporal_iou",
           "spatiotemporal_iou_masks", "evaluate_video", "accumulate", "summarize", "evaluate", "VISEvalResult",
           "STAT_NAMES", "reduce_records"]

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@dataclass(frozen=True)
class YTVISParams:
    """Evaluation parameters; defaults are ``ytvoseval.Params.setDetParams`` (segm)."""

    iou_thresholds: tuple[float, ...] = tuple(np.linspace(0.5, 0.95, 10).tolist())
    recall_thresholds: tuple[float, ...] = tuple(np.linspace(0.0, 1.0, 101).tolist())
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_ranges: tuple[tuple[str, float, float], ...] = (
        ("all", 0.0, 1e5 ** 2), ("small", 0.0, 128.0 ** 2), ("medium", 128.0 ** 2, 256.0 ** 2),
        ("large", 256.0 ** 2, 1e5 ** 2))

    def __post_init__(self):
        if tuple(sorted(self.max_dets)) != tuple(self.max_dets):
            raise ValueError(f"max_dets must be increasing, got {self.max_dets}")
        if [a[0] for a in self.area_ranges][:1] != ["all"]:
            raise ValueError("the first area range must be 'all'")


@dataclass
class Track:
    """One ground-truth or predicted track of one video: ``segmentations[t]`` is a compressed RLE dict (``counts``
    str or bytes) or None. ``areas``: the ground truth's per-frame ``areas`` field (None: computed from the RLEs,
    as the fork does for predictions)."""

    video_id: int
    category_id: int
    segmentations: list[Any]
    score: float = 1.0
    iscrowd: int = 0
    areas: list[float | None] | None = None
    id: int = 0

    def rles(self) -> list[dict | None]:
        return track_rles(self.segmentations)

    @property
    def avg_area(self) -> float:
        """Mean of the truthy per-frame areas (``ytvos.loadRes`` / ``ytvoseval._prepare``), 0 if none."""
        areas = self.areas
        if areas is None:
            areas = [float(mask_utils.area(r)) if r is not None else None for r in self.rles()]
        vals = [a for a in areas if a]
        return float(np.mean(vals)) if vals else 0.0


def _as_rle(seg) -> dict:
    counts = seg["counts"]
    return {"size": [int(seg["size"][0]), int(seg["size"][1])],
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def track_rles(segmentations: Sequence[Any]) -> list[dict | None]:
    """Per-frame pycocotools RLEs (``counts`` as bytes) of compressed-RLE/None segmentations. Polygons and
    uncompressed RLEs are converted as ``YTVOS.annToRLE`` does (they need the RLE-less frame size: pass them through
    :func:`gt_tracks`, which knows it)."""
    out = []
    for seg in segmentations:
        if seg is None:
            out.append(None)
        elif isinstance(seg, dict) and isinstance(seg.get("counts"), (str, bytes)):
            out.append(_as_rle(seg))
        else:
            raise ValueError(f"expected a compressed RLE or None per frame, got {type(seg).__name__}")
    return out


def gt_tracks(video) -> list[Track]:
    """Ground-truth :class:`Track` s of a :class:`~benchmarks.datasets.ytvis.VisVideo` (polygons / uncompressed
    RLEs converted to compressed RLE, as ``YTVOS.annToRLE``). The annotation's ``areas`` are used when it has them;
    an annotation without any area value gets areas from its masks (the fork would fail on it)."""
    out = []
    for inst in video.instances:
        segs = []
        for t, seg in enumerate(inst.segmentations):
            if seg is None:
                segs.append(None)
            elif isinstance(seg, dict) and isinstance(seg.get("counts"), (str, bytes)):
                segs.append(_as_rle(seg))
            else:
                m = decode_segmentation(seg, video.height, video.width, file=video.annotation_file,
                                        field=f"annotation id {inst.id}.segmentations[{t}]")
                r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
                segs.append(r)
        areas = list(inst.areas) if inst.areas and any(a is not None for a in inst.areas) else None
        out.append(Track(video.id, inst.category_id, segs, 1.0, int(inst.iscrowd), areas, int(inst.id)))
    return out


def dt_tracks(predictions: Iterable[Any]) -> list[Track]:
    """Prediction :class:`Track` s from results-format dicts or :class:`VisPrediction` s; ids 1, 2, ... in input
    order (``YTVOS.loadRes``)."""
    out = []
    for i, p in enumerate(predictions):
        d = p.to_json() if hasattr(p, "to_json") else p
        out.append(Track(int(d["video_id"]), int(d["category_id"]), track_rles(d["segmentations"]),
                         float(d["score"]), 0, None, i + 1))
    return out


# ---------------------------------------------------------------------------------------------------- IoU
def spatiotemporal_iou(d_seq: Sequence[dict | None], g_seq: Sequence[dict | None]) -> float:
    """``iou_seq`` of the fork: sum over frames of intersection / sum of union (RLEs or None per frame)."""
    inter = union = 0.0
    for d, g in zip(d_seq, g_seq):
        if d and g:
            inter += float(mask_utils.area(mask_utils.merge([d, g], True)))
            union += float(mask_utils.area(mask_utils.merge([d, g], False)))
        elif g and not d:
            union += float(mask_utils.area(g))
        elif d and not g:
            union += float(mask_utils.area(d))
    return inter / union if union > 0 else 0.0


def spatiotemporal_iou_masks(d: np.ndarray, g: np.ndarray) -> float:
    """The same on dense ``(T, H, W)`` bool masks (an absent frame is all False)."""
    d = np.asarray(d, bool)
    g = np.asarray(g, bool)
    union = np.logical_or(d, g).sum()
    return float(np.logical_and(d, g).sum() / union) if union else 0.0


def _iou_matrix(dts: list[Track], gts: list[Track]) -> np.ndarray:
    d = [x.rles() for x in dts]
    g = [x.rles() for x in gts]
    out = np.zeros((len(d), len(g)))
    for i, j in np.ndindex(out.shape):
        out[i, j] = spatiotemporal_iou(d[i], g[j])
    return out


# ---------------------------------------------------------------------------------------------- per video
def _pack(mat: np.ndarray) -> list[int]:
    """(T, D) bool -> D ints (bit t set where mat[t, d]); compact and JSON-able."""
    weights = (1 << np.arange(mat.shape[0], dtype=np.int64))[:, None]
    return (mat.astype(np.int64) * weights).sum(0).astype(int).tolist() if mat.size else [0] * mat.shape[1]


def _unpack(vals: list[int], T: int) -> np.ndarray:
    v = np.asarray(vals, dtype=np.int64).reshape(1, -1)
    return ((v >> np.arange(T, dtype=np.int64)[:, None]) & 1).astype(bool)


def evaluate_video(gts: list[Track], dts: list[Track], params: YTVISParams = YTVISParams(),
                   category_ids: Iterable[int] | None = None) -> dict:
    """``evaluateVid`` for every (category, area range) of one video: a JSON-able record for :func:`accumulate`.

    ``gts``/``dts``: this video's tracks. ``category_ids``: the evaluated categories (predictions of other
    categories are dropped, as ``getAnnIds(catIds=...)`` does); None = every category that occurs.
    Returns ``{"categories": {cat: {"scores", "areas": {label: {"dt_matched", "dt_ignore", "gt_ignore"}}}},
    "jaccard": [best IoU per non-crowd gt], "n_gt", "n_dt"}``.
    """
    cats = set(category_ids) if category_ids is not None else None
    T = len(params.iou_thresholds)
    max_det = params.max_dets[-1]
    by_cat: dict[int, tuple[list, list]] = {}
    for g in gts:
        if cats is None or g.category_id in cats:
            by_cat.setdefault(g.category_id, ([], []))[0].append(g)
    for d in dts:
        if cats is None or d.category_id in cats:
            by_cat.setdefault(d.category_id, ([], []))[1].append(d)
    record: dict = {"categories": {}, "jaccard": [], "n_gt": 0, "n_dt": 0}
    for cat in sorted(by_cat):
        gt, dt = by_cat[cat]
        # computeIoU: predictions by score (stable), truncated to maxDets[-1]
        order = np.argsort([-d.score for d in dt], kind="mergesort")
        dt = [dt[i] for i in order][:max_det]
        ious = _iou_matrix(dt, gt)
        record["n_gt"] += len(gt)
        record["n_dt"] += len(dt)
        for j, g in enumerate(gt):
            if not g.iscrowd:
                record["jaccard"].append(float(ious[:, j].max()) if len(dt) else 0.0)
        g_area = [g.avg_area for g in gt]
        d_area = [d.avg_area for d in dt]
        per_area = {}
        for label, lo, hi in params.area_ranges:
            g_ign = np.array([1 if (g.iscrowd or a < lo or a > hi) else 0 for g, a in zip(gt, g_area)], dtype=int)
            gtind = np.argsort(g_ign, kind="mergesort")  # ignored ground truth last
            g_ign_s = g_ign[gtind]
            crowd = [gt[i].iscrowd for i in gtind]
            io = ious[:, gtind] if ious.size else ious
            gtm = np.zeros((T, len(gt)))
            dtm = np.zeros((T, len(dt)))
            dt_ig = np.zeros((T, len(dt)), dtype=bool)
            if len(dt) and len(gt):
                for ti, thr in enumerate(params.iou_thresholds):
                    for di in range(len(dt)):
                        best = min(thr, 1 - 1e-10)
                        m = -1
                        for gi in range(len(gt)):
                            if gtm[ti, gi] > 0 and not crowd[gi]:
                                continue
                            if m > -1 and g_ign_s[m] == 0 and g_ign_s[gi] == 1:
                                break
                            if io[di, gi] < best:
                                continue
                            best = io[di, gi]
                            m = gi
                        if m == -1:
                            continue
                        dt_ig[ti, di] = bool(g_ign_s[m])
                        dtm[ti, di] = 1
                        gtm[ti, m] = 1
            out_rng = np.array([a < lo or a > hi for a in d_area], dtype=bool).reshape(1, -1)
            dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(out_rng, T, 0)))
            per_area[label] = {"dt_matched": _pack(dtm > 0), "dt_ignore": _pack(dt_ig),
                               "gt_ignore": g_ign_s.astype(int).tolist()}
        record["categories"][str(cat)] = {"scores": [float(d.score) for d in dt], "areas": per_area}
    return record


# ---------------------------------------------------------------------------------------------- global
def accumulate(video_records: list[dict], category_ids: Sequence[int],
               params: YTVISParams = YTVISParams()) -> dict:
    """``accumulate``: precision ``(T, R, K, A, M)`` and recall ``(T, K, A, M)`` (-1 where a category has no
    non-ignored ground truth) over all videos' records, categories in ``sorted(category_ids)``."""
    cats = sorted(set(int(c) for c in category_ids))
    T, R, K = len(params.iou_thresholds), len(params.recall_thresholds), len(cats)
    A, M = len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    rec_thr = np.asarray(params.recall_thresholds)
    for k, cat in enumerate(cats):
        entries = [r["categories"][str(cat)] for r in video_records if str(cat) in r["categories"]]
        if not entries:
            continue
        for a, (label, _, _) in enumerate(params.area_ranges):
            for m, max_det in enumerate(params.max_dets):
                scores = np.concatenate([np.asarray(e["scores"][:max_det], float) for e in entries])
                order = np.argsort(-scores, kind="mergesort")
                dtm = np.concatenate([_unpack(e["areas"][label]["dt_matched"], T)[:, :max_det] for e in entries],
                                     axis=1)[:, order]
                dt_ig = np.concatenate([_unpack(e["areas"][label]["dt_ignore"], T)[:, :max_det] for e in entries],
                                       axis=1)[:, order]
                gt_ig = np.concatenate([np.asarray(e["areas"][label]["gt_ignore"], int) for e in entries])
                npig = int(np.count_nonzero(gt_ig == 0))
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, ~dt_ig)
                fps = np.logical_and(~dtm, ~dt_ig)
                tp_sum = np.cumsum(tps, axis=1).astype(np.float64)
                fp_sum = np.cumsum(fps, axis=1).astype(np.float64)
                for t in range(T):
                    tp, fp = tp_sum[t], fp_sum[t]
                    nd = len(tp)
                    rc = tp / npig
                    pr = (tp / (fp + tp + np.spacing(1))).tolist()
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    for i in range(nd - 1, 0, -1):  # interpolated (monotone) precision
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    inds = np.searchsorted(rc, rec_thr, side="left")
                    q = np.zeros(R)
                    for ri, pi in enumerate(inds):
                        if pi >= nd:
                            break  # recall level never reached: precision 0 there (the fork's try/except)
                        q[ri] = pr[pi]
                    precision[t, :, k, a, m] = q
    return {"precision": precision, "recall": recall, "category_ids": cats}


def summarize(acc: dict, params: YTVISParams = YTVISParams()) -> dict:
    """The fork's ``_summarizeDets`` (12 numbers; -1 where nothing is defined) plus per-category AP (IoU .50:.95,
    area all, maxDets 100; -1 for categories without ground truth)."""
    prec, rec = acc["precision"], acc["recall"]
    labels = [a[0] for a in params.area_ranges]
    thr = np.asarray(params.iou_thresholds)

    def one(ap: bool, iou=None, area="all", max_det=params.max_dets[-1]) -> float:
        if area not in labels or max_det not in params.max_dets:
            return -1.0
        a, m = labels.index(area), list(params.max_dets).index(max_det)
        s = prec if ap else rec
        if iou is not None:
            t = np.where(np.isclose(thr, iou))[0]
            s = s[t]
        s = s[:, :, :, a, m] if ap else s[:, :, a, m]
        valid = s[s > -1]
        return float(np.mean(valid)) if valid.size else -1.0

    md = params.max_dets
    stats = {"AP": one(True), "AP50": one(True, 0.5), "AP75": one(True, 0.75), "APs": one(True, area="small"),
             "APm": one(True, area="medium"), "APl": one(True, area="large"), "AR1": one(False, max_det=md[0]),
             "AR10": one(False, max_det=md[1] if len(md) > 1 else md[0]), "AR100": one(False),
             "ARs": one(False, area="small"), "ARm": one(False, area="medium"), "ARl": one(False, area="large")}
    per_cat = {}
    for k, cat in enumerate(acc["category_ids"]):
        s = prec[:, :, k, 0, -1]
        per_cat[int(cat)] = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
    return {"stats": stats, "per_category_ap": per_cat}


@dataclass
class VISEvalResult:
    """``stats``: the 12 summary numbers (fractions in [0, 1], -1 = undefined); ``per_category_ap``;
    ``jaccard``: mean per-instance best IoU (None without ground truth); ``n_gt``/``n_dt``/``n_videos``."""

    stats: dict
    per_category_ap: dict
    jaccard: float | None
    n_gt: int
    n_dt: int
    n_videos: int
    records: list[dict] = field(default_factory=list, repr=False)

    @property
    def map(self) -> float:
        return self.stats["AP"]


def evaluate(gts: list[Track], dts: list[Track], category_ids: Sequence[int], video_ids: Sequence[int],
             params: YTVISParams = YTVISParams()) -> VISEvalResult:
    """Whole-set evaluation (``YTVOSeval.evaluate(); accumulate(); summarize()``) over ``video_ids`` (the ground
    truth file's videos) and ``category_ids`` (its categories). Predictions for other videos are an error, as in
    ``loadRes``."""
    vids = sorted(set(int(v) for v in video_ids))
    extra = {d.video_id for d in dts} - set(vids)
    if extra:
        raise ValueError(f"predictions for videos not in the ground truth: {sorted(extra)[:10]}")
    records = []
    for v in vids:
        records.append(evaluate_video([g for g in gts if g.video_id == v], [d for d in dts if d.video_id == v],
                                      params, category_ids))
    return reduce_records(records, category_ids, params)


def reduce_records(records: list[dict], category_ids: Sequence[int],
                   params: YTVISParams = YTVISParams()) -> VISEvalResult:
    """mAP/AR/Jaccard from per-video records of :func:`evaluate_video` (the reduce step of a sharded run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summ = summarize(accumulate(records, category_ids, params), params)
    jac = [j for r in records for j in r["jaccard"]]
    return VISEvalResult(summ["stats"], summ["per_category_ap"], float(np.mean(jac)) if jac else None,
                         sum(r["n_gt"] for r in records), sum(r["n_dt"] for r in records), len(records), records)

