"""Zero-shot video instance segmentation on YouTube-VIS 2021 and OVIS (paper Table 3, protocol App. B.1).

Protocol (``protocol["version"]`` bumps whenever a number could change; where App. B.1 is silent the choice and the
reason are stated):

1. **Input.** The annotated frames of a video (``file_names``), resized so the short side is ``size`` and both sides
   are multiples of the tokenizer's spatial stride (aspect kept up to that rounding), values in [-1, 1]. Videos are
   cut into windows of ``frames`` consecutive annotated frames (:func:`benchmarks.tasks.clips.conform` picks the
   largest valid length <= ``frames``, e.g. ``1 + 4k`` for causal VAEs); the last window is aligned to the video's
   end (it may overlap the previous one; the later window wins), so every frame is covered. The embedded default
   uses ``size`` 64 and 17 frames (the tiny models' scale); the paper-scale protocol is ``size=256``
   (``--protocol ytvis-seg.size=256``). The CRF runs at this resolution; masks are resized to the original one.
2. **Features.** ``q(L)``: ``tokenizer.features(encode(window, [query]), level=-1)`` -> ``(D, T', H', W')``. The
   query text given to text-conditioned encoders is the dataset's category vocabulary joined by ", " — the same for
   every video, so no ground truth leaks into the encoding.
3. **Semantic units.** Zero-shot VIS has no per-video prompt, so the query is the whole category vocabulary: one
   unit per category name (underscores read as spaces: ``giant_panda`` -> "giant panda") plus one background unit,
   the prompt ``background_prompt``. Text embeddings: ``tokenizer.embed_text`` (native, text-aligned tokenizers
   only) or the text-alignment probe fitted in :meth:`fit` (every tokenizer, metrics ``<name>@probe``).
4. **Relevance.** Cosine similarity between each unit's embedding and each token of ``q(L)``, divided by
   ``temperature`` -> logits ``(K + 1, T', H', W')``. Unit selection ("score every category name, keep those whose
   relevance mass passes a threshold"): the softmax over all K + 1 units on the token grid, averaged over the video's
   tokens, is each unit's relevance mass; units with mass >= ``min_unit_mass`` are kept, at most ``max_units`` (the
   largest). This bounds the CRF's label count (its cost is linear in it).
5. **Upsampling** of the kept units' logits to pixels: bilinear in space (pixel-centre convention,
   ``align_corners=False``), linear in time following the encoder's causal pattern when the tokenizer has one
   (``T = 1 + s (T' - 1)``: latent frame j sits on frame ``s j``, i.e. ``align_corners=True`` in time), otherwise
   ``align_corners=False``; i.e. trilinear with per-axis corner conventions. Then a softmax over kept units +
   background.
6. **3-D CRF** (:mod:`benchmarks.metrics.crf`, parameters ``crf``) per window over ``(x, y, t)`` at the protocol
   resolution, mean field; the label of a voxel is the argmax marginal.
7. **Instances.** ``instances="components"`` (default): each kept unit's binary mask volume is split into 3-D
   connected components (``connectivity`` 3 = 26-neighbourhood over (t, y, x), so a track survives moderate motion
   between annotated frames); components smaller than ``min_instance_fraction`` of the video's voxels are dropped;
   at most ``max_instances_per_category`` per unit (largest first), 100 per video (YTVOSeval's maxDets).
   ``instances="category"``: one instance per kept unit (semantic masks as tracks). Score: the mean CRF marginal of
   the instance's label over its voxels (in [0, 1], comparable across videos, as mAP ranks over the whole set).
8. **Output** masks are resized (nearest) to the original frame size and written in the official results format
   (``segmentations``: RLE per frame, null where empty) — into ``<fit out_dir>/predictions/`` when
   ``save_predictions``.
9. **Metrics** (:mod:`benchmarks.metrics.ytvis_eval`): YouTube-VIS mAP (IoU .50:.95, the official ``YTVOSeval``)
   and Jaccard (mean per-ground-truth-instance best spatio-temporal IoU among same-category predictions); AP50, AP75,
   AR1/10/100 and per-category AP are in ``Metric.extra``.

Ground truth. The official ``valid`` annotations of both datasets are not public. The evaluation split is therefore

* ``split_file`` (protocol option, or ``DataSource.extra["split_file"]``; absolute, or relative to the dataset root):
  a list of held-out **train** video ids/names (the format of :func:`benchmarks.datasets.ytvis.read_split_file`).
  The seen part — used only to fit the probe — is the rest of train. **Real use needs it**, and the published
  numbers (server ``valid``) are not comparable with a held-out train split: records say which split was used.
* otherwise ``eval_split`` (``valid``) when its annotation file carries annotations (the synthetic data do), with
  ``seen_split`` (``train``) as the seen part; a ``valid`` file without annotations is an error naming the fix.

Probe (:mod:`benchmarks.tasks.probe`): pairs from the first window of up to ``probe_max_videos`` seen videos (evenly
spaced over the sorted ids): the feature of every ground-truth instance region — the mean of ``q(L)`` weighted by the
region's footprint on the token grid (the adjoint of the step-5 upsampling applied to the mask, so pooling and
prediction see the same token-to-pixel map) — paired with its category name, and the background region (no instance)
paired with ``background_prompt``.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.metrics.uncertainty import interval_dict
from benchmarks.registry import register_benchmark
from benchmarks.tasks.clips import conform

__all__ = ["YouTubeVISSegmentation", "OVISSegmentation", "unit_text", "protocol_size", "windows",
           "upsample_logits", "region_weights", "relevance_logits", "select_units", "split_instances",
           "predict_video", "extract_features"]

_CRF_DEFAULTS = {"theta_xy": 3.0, "theta_t": 1.0, "w_gaussian": 3.0, "theta_bxy": 80.0, "theta_bt": 2.0,
                 "theta_rgb": 13.0, "w_bilateral": 10.0, "iterations": 5, "unary_clip": 1e-5}


# ------------------------------------------------------------------------------------------------ geometry
def unit_text(category_name: str) -> str:
    """Category name -> the text of its semantic unit (``giant_panda`` -> ``giant panda``)."""
    return category_name.replace("_", " ").strip()


def protocol_size(height: int, width: int, size: int, multiple: int) -> tuple[int, int]:
    """``(h, w)``: short side ~ ``size``, aspect kept, both rounded to multiples of ``multiple`` (>= multiple)."""
    s = size / min(height, width)
    m = max(1, int(multiple))
    return max(m, int(round(height * s / m)) * m), max(m, int(round(width * s / m)) * m)


def windows(n_frames: int, length: int) -> list[tuple[int, int]]:
    """``[start, end)`` windows of ``length`` covering ``n_frames`` frames; the last one ends at the last frame."""
    length = max(1, min(int(length), n_frames))
    out = [(s, s + length) for s in range(0, n_frames - length + 1, length)]
    if not out or out[-1][1] < n_frames:
        out.append((n_frames - length, n_frames))
    return out


def _causal(constraints, t_frames: int, t_latent: int) -> bool:
    s = constraints.t_multiple
    return constraints.t_offset == 1 and s > 1 and t_frames == 1 + s * (t_latent - 1)


def upsample_logits(logits: torch.Tensor, size: tuple[int, int, int], causal: bool) -> torch.Tensor:
    """``(K, T', H', W')`` -> ``(K, T, H, W)``: bilinear in space (align_corners=False), linear in time
    (align_corners=True when the causal pattern ``T = 1 + s (T' - 1)`` holds, so latent j lands on frame s j)."""
    T, H, W = size
    K, Tl = logits.shape[:2]
    x = F.interpolate(logits.float(), size=(H, W), mode="bilinear", align_corners=False)  # (K, T', H, W)
    if Tl == T:
        return x
    x = x.permute(0, 2, 3, 1).reshape(K, H * W, Tl)
    if Tl == 1:
        x = x.expand(K, H * W, T)
    else:
        x = F.interpolate(x, size=T, mode="linear", align_corners=causal)
    return x.reshape(K, H, W, T).permute(0, 3, 1, 2).contiguous()


def region_weights(masks: torch.Tensor, latent: tuple[int, int, int], causal: bool) -> torch.Tensor:
    """``(R, T, H, W)`` region masks -> ``(R, T', H', W')`` token weights: the adjoint of :func:`upsample_logits`
    applied to each mask, so ``sum(w * f) = sum_pixels(mask * upsample(f))`` for any token map f."""
    z = torch.zeros((masks.shape[0],) + tuple(latent), requires_grad=True)
    out = upsample_logits(z, tuple(masks.shape[1:]), causal)
    (grad,) = torch.autograd.grad((out * masks.float()).sum(), z)
    return grad


def relevance_logits(features: torch.Tensor, text: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cosine similarity of ``(K, D)`` unit embeddings with ``(D, T', H', W')`` tokens, / temperature ->
    ``(K, T', H', W')``."""
    f = F.normalize(features.float(), dim=0)
    e = F.normalize(text.float(), dim=-1)
    return torch.einsum("kd,dthw->kthw", e, f) / float(temperature)


def select_units(masses: np.ndarray, min_mass: float, max_units: int) -> list[int]:
    """Indices of the kept category units (mass >= min_mass, at most max_units, largest mass first)."""
    order = [int(i) for i in np.argsort(-masses, kind="mergesort") if masses[i] >= min_mass]
    return order[: max(0, int(max_units))]


def split_instances(mask: np.ndarray, conf: np.ndarray, mode: str, connectivity: int, min_voxels: int,
                    max_instances: int):
    """One unit's ``(T, H, W)`` bool mask -> yields ``(instance mask, score)``, largest first (module doc, step 7);
    one instance mask in memory at a time."""
    from scipy import ndimage

    if mode not in ("components", "category"):
        raise ValueError(f"instances must be 'components' or 'category', got {mode!r}")
    if not mask.any():
        return
    if mode == "category":
        if mask.sum() >= min_voxels:
            yield mask, float(conf[mask].astype(np.float64).mean())
        return
    lab, n = ndimage.label(mask, structure=ndimage.generate_binary_structure(3, int(connectivity)))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    for i in [i + 1 for i in np.argsort(-sizes, kind="mergesort") if sizes[i] >= min_voxels][:max_instances]:
        part = lab == i
        yield part, float(conf[part].astype(np.float64).mean())


def _resize_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(T, h, w)`` bool -> ``(T, height, width)`` bool, nearest."""
    if masks.shape[1:] == (height, width):
        return masks
    t = torch.from_numpy(masks.astype(np.uint8))[None].float()
    return F.interpolate(t, size=(height, width), mode="nearest")[0].numpy() > 0.5


def _track_segmentations(mask: np.ndarray, height: int, width: int) -> list[dict | None]:
    """``(T, h, w)`` bool -> per-frame compressed RLE at ``height x width`` (nearest), None where empty; one frame
    at full resolution in memory at a time."""
    from benchmarks.datasets.rle import encode_mask

    return [encode_mask(_resize_masks(m[None], height, width)[0]) if m.any() else None for m in mask]


# ------------------------------------------------------------------------------------------------ prediction
@torch.no_grad()
def extract_features(tokenizer, video, protocol: dict, query: str | None) -> dict:
    """Encode ``video`` (:class:`~benchmarks.datasets.ytvis.VisVideo`) window by window.

    Returns ``{"size": (h, w), "windows": [(start, end, features (D, T', H', W'), causal)], "geometry"}``; frames
    are loaded per window (memory bounded by the window).
    """
    from pyratok.data.video import frames_to_tensor

    c = tokenizer.input_constraints
    h, w = protocol_size(video.height, video.width, int(protocol["size"]), c.hw_multiple)
    length = c.valid_frames(min(int(protocol["frames"]), video.length))
    out = []
    geometry = None
    for s, e in windows(video.length, length):
        frames = video.load_frames(range(s, e), size=(h, w), resize_mode="exact")
        clip, geometry = conform(frames_to_tensor(frames).unsqueeze(0), c)
        if clip.shape[2] != e - s or tuple(clip.shape[3:]) != (h, w):
            raise ValueError(f"window {s}:{e} of video {video.id} was cut to {tuple(clip.shape[2:])} by conform")
        enc = tokenizer.encode(clip, [query] if query else None)
        f = tokenizer.features(enc, int(protocol["level"]))[0].float().cpu()
        out.append((s, e, f, _causal(c, e - s, f.shape[1])))
    return {"size": (h, w), "windows": out, "geometry": geometry}


def predict_video(video, feats: dict, text_emb: torch.Tensor, category_ids: list[int], protocol: dict,
                  keep_labels: bool = False) -> tuple[list, dict]:
    """Masks for one video from its window features and ``(K + 1, D)`` unit embeddings (last row: background).

    Returns (list of :class:`~benchmarks.datasets.ytvis.VisPrediction` at the original resolution, info dict with
    the kept category ids, their masses, and with ``keep_labels`` the ``(T, h, w)`` label volume at the protocol
    resolution (0 = background, i = kept unit i-1)).
    """
    from benchmarks.datasets.ytvis import VisPrediction
    from benchmarks.metrics.crf import CRF3DParams, dense_crf_3d

    K = len(category_ids)
    if text_emb.shape[0] != K + 1:
        raise ValueError(f"need {K + 1} unit embeddings (categories + background), got {text_emb.shape[0]}")
    temp = float(protocol["temperature"])
    h, w = feats["size"]
    # relevance mass on the token grid, over all windows
    lat = [relevance_logits(f, text_emb, temp) for _, _, f, _ in feats["windows"]]
    n_tok = sum(int(np.prod(x.shape[1:])) for x in lat)
    mass = sum(torch.softmax(x, dim=0).flatten(1).sum(1) for x in lat) / max(1, n_tok)
    mass = mass.numpy()
    kept = select_units(mass[:K], float(protocol["min_unit_mass"]), int(protocol["max_units"]))
    info = {"kept": [int(category_ids[k]) for k in kept], "mass": {str(category_ids[k]): float(mass[k]) for k in kept}}
    T = video.length
    labels = np.zeros((T, h, w), dtype=np.uint8)
    conf = np.zeros((T, h, w), dtype=np.float16)
    if kept:
        crf = CRF3DParams(**{**_CRF_DEFAULTS, **(protocol.get("crf") or {})})
        rows = torch.tensor(kept + [K])
        for (s, e, _, causal), x in zip(feats["windows"], lat):
            logit = upsample_logits(x[rows], (e - s, h, w), causal)
            probs = torch.softmax(logit, dim=0).numpy()
            frames = video.load_frames(range(s, e), size=(h, w), resize_mode="exact")
            Q = dense_crf_3d(probs, frames, crf, backend=protocol["crf_backend"])
            lab = Q.argmax(0)
            # label 0 = background, i = kept unit i - 1 (the later window wins on overlaps)
            labels[s:e] = np.where(lab == len(kept), 0, lab + 1).astype(np.uint8)
            conf[s:e] = Q.max(0).astype(np.float16)
    n_vox = labels.size
    min_vox = max(1, int(np.ceil(float(protocol["min_instance_fraction"]) * n_vox)))
    preds = []
    for i, k in enumerate(kept):
        for m, score in split_instances(labels == i + 1, conf, protocol["instances"], int(protocol["connectivity"]),
                                        min_vox, int(protocol["max_instances_per_category"])):
            preds.append(VisPrediction(video.id, int(category_ids[k]), score,
                                       _track_segmentations(m, video.height, video.width)))
    preds = sorted(preds, key=lambda p: -p.score)[:100]  # YTVOSeval's maxDets
    if keep_labels:
        info["labels"] = labels
    return preds, info


# ------------------------------------------------------------------------------------------------ benchmark
class _VISSegmentation(Benchmark):
    table = "table3"
    task = "segmentation"
    requires = ("features",)
    shard_size = 4
    protocol = {
        "version": "1.0",
        "size": 64, "frames": 17, "level": -1,
        "split_file": None, "eval_split": "valid", "seen_split": "train", "max_videos": None,
        "temperature": 0.05, "background_prompt": "background", "min_unit_mass": 0.01, "max_units": 8,
        "crf": dict(_CRF_DEFAULTS), "crf_backend": "auto",
        "instances": "components", "connectivity": 3, "min_instance_fraction": 0.002,
        "max_instances_per_category": 10,
        "encode_text": "vocabulary", "probe_max_videos": 200, "save_predictions": True,
        "upsample": "bilinear space (align_corners=False) x linear time (causal-aligned)",
        "metric": "YTVOSeval mAP @ IoU .50:.95 (spatio-temporal IoU), 101 recall points, maxDets 100",
        "jaccard": "mean per-GT-instance best spatio-temporal IoU among same-category predictions",
    }

    # -------------------------------------------------------------- data
    def _reader(self):
        from benchmarks.datasets.ytvis import OVISDataset, YouTubeVISDataset

        return OVISDataset if self.dataset == "ovis" else YouTubeVISDataset

    def _split_file(self, data: DataSource) -> Path | None:
        sf = self.protocol.get("split_file") or (data.extra or {}).get("split_file")
        if not sf:
            return None
        p = Path(sf)
        return p if p.is_absolute() else data.path / p

    def _open(self, data: DataSource, split: str, split_file: Path | None = None):
        key = (str(data.path), split, str(split_file))
        cache = self.__dict__.setdefault("_datasets", {})
        if key not in cache:
            cache[key] = self._reader().from_root(data.path, split, split_file=split_file)
        return cache[key]

    def evaluation_plan(self, data: DataSource) -> dict:
        """The evaluation set, the seen set and how they were chosen (see the module doc)."""
        from benchmarks.datasets.errors import DatasetFormatError
        from benchmarks.datasets.ytvis import read_split_file

        sf = self._split_file(data)
        if sf is not None:
            ev = self._open(data, self.protocol["seen_split"], sf)
            train = self._open(data, self.protocol["seen_split"])
            eval_ids = {v.id for v in ev}
            keys = set(read_split_file(sf))
            names = getattr(ev, "_all_names", {})  # video name -> id, to match split entries given by name
            listed = {k for k in keys} | {str(names[k]) for k in keys if k in names}
            failures = [f for f in ev.failures if f.sample_id in listed]
            return {"eval": ev, "seen": [v for v in train if v.id not in eval_ids], "failures": failures,
                    "eval_desc": f"held-out {self.protocol['seen_split']} videos listed in {sf}",
                    "annotation_file": str(ev.annotation_file)}
        ev = self._open(data, self.protocol["eval_split"])
        if not ev.has_annotations:
            raise ValueError(
                f"{self.name}: {ev.annotation_file} has no annotations (the official {self.protocol['eval_split']} "
                f"ground truth is not public); pass split_file=<file listing held-out "
                f"{self.protocol['seen_split']} video ids> (protocol option or DataSource.extra) to evaluate on "
                f"held-out {self.protocol['seen_split']} videos")
        try:
            seen = list(self._open(data, self.protocol["seen_split"]))
        except (DatasetFormatError, OSError):  # no usable seen split: the probe is unavailable, native still runs
            seen = []
        return {"eval": ev, "seen": seen, "failures": list(ev.failures),
                "eval_desc": f"{self.protocol['eval_split']} split", "annotation_file": str(ev.annotation_file)}

    def fit_files(self, data: DataSource) -> list[str]:
        plan = self.evaluation_plan(data)
        return [plan["annotation_file"]] + ([str(self._split_file(data))] if self._split_file(data) else [])

    def shards(self, data: DataSource) -> list[Shard]:
        plan = self.evaluation_plan(data)
        videos = sorted(plan["eval"], key=lambda v: v.id)
        if self.protocol["max_videos"]:
            videos = videos[: int(self.protocol["max_videos"])]
        items = [(v.id, [str(p) for p in v.frame_paths]) for v in videos]
        items += [(f"failed:{f.sample_id}", []) for f in plan["failures"]]  # reported by run_shard, nothing read
        parts = chunk(items, self.shard_size)
        return [Shard(i, len(parts), tuple(x[0] for x in p),
                      tuple([plan["annotation_file"]] + [f for x in p for f in x[1]])) for i, p in enumerate(parts)]

    # -------------------------------------------------------------- text
    def _units(self, ds) -> tuple[list[int], list[str], str]:
        ids = [c.id for c in ds.categories]
        texts = [unit_text(c.name) for c in ds.categories] + [self.protocol["background_prompt"]]
        query = ", ".join(unit_text(c.name) for c in ds.categories) if self.protocol["encode_text"] == "vocabulary" \
            else None
        return ids, texts, query

    def _text_spaces(self, tokenizer, texts: list[str], fitted: dict | None) -> dict:
        """{"native": (K+1, D) | None, "probe": (K+1, D) | None} and the reasons when None."""
        from adapters.base import NotSupported
        from benchmarks.tasks.probe import ProbedTokenizer, TextAlignmentProbe

        out, why = {}, {}
        if getattr(tokenizer, "text_aligned", False):
            try:
                out["native"] = tokenizer.embed_text(texts).float().cpu()
            except NotSupported as err:
                why["native"] = str(err)
        else:
            why["native"] = f"{tokenizer.name} is not text aligned"
        if fitted and fitted.get("probe"):
            probe = TextAlignmentProbe.load(fitted["probe"])
            out["probe"] = ProbedTokenizer(tokenizer, probe).embed_text(texts).float().cpu()
        else:
            why["probe"] = (fitted or {}).get("probe_reason", "no probe was fitted")
        return {"emb": out, "why": why}

    # -------------------------------------------------------------- fit (probe on the seen part)
    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict:
        from adapters.base import NotSupported
        from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
        from benchmarks.tasks.probe import PROBE_VERSION, fit_probe_from_pairs

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = self.evaluation_plan(data)
        ids, texts, query = self._units(plan["eval"])
        seen = sorted(plan["seen"], key=lambda v: v.id)
        n_max = int(self.protocol["probe_max_videos"])
        if len(seen) > n_max:
            pick = np.unique(np.linspace(0, len(seen) - 1, n_max).round().astype(int))
            seen = [seen[i] for i in pick]
        pooled, pair_texts, skipped = [], [], []
        name_of = {c.id: unit_text(c.name) for c in plan["eval"].categories}
        background = self.protocol["background_prompt"]
        for v in seen:
            try:
                f, masks, cats = self._seen_regions(tokenizer, v, self.protocol, query)
            except NotSupported:
                raise
            except (SampleDecodeError, DatasetFormatError, ValueError, OSError) as err:  # loses only its pairs
                skipped.append({"sample": v.id, "reason": f"{type(err).__name__}: {err}"})
                continue
            feat, causal, latent = f
            w = region_weights(masks, latent, causal)  # (R, T', H', W')
            for r in range(masks.shape[0]):
                tot = float(w[r].sum())
                if tot <= 0:
                    continue
                vec = (feat * w[r][None]).flatten(1).sum(1) / tot
                pooled.append(F.normalize(vec, dim=0))
                pair_texts.append(background if cats[r] is None else name_of[cats[r]])
        state = {"eval_split": plan["eval_desc"], "seen_videos": len(seen), "seen_skipped": skipped[:20],
                 "n_pairs": len(pooled), "probe": None, "probe_version": PROBE_VERSION,
                 "out_dir": str(out_dir)}
        if len({t for t in pair_texts}) >= 2:
            state["probe"] = str(fit_probe_from_pairs(torch.stack(pooled), pair_texts, out_dir / "probe.npz"))
        else:
            state["probe_reason"] = (f"too few seen pairs to fit the probe ({len(pooled)} pairs from "
                                     f"{len(seen)} seen videos)")
        return state

    @torch.no_grad()
    def _seen_regions(self, tokenizer, video, protocol: dict, query):
        """First window of a seen video: its features, the instance + background region masks at the protocol
        resolution ``(R, T, h, w)`` and each region's category id (None: background)."""
        c = tokenizer.input_constraints
        h, w = protocol_size(video.height, video.width, int(protocol["size"]), c.hw_multiple)
        length = c.valid_frames(min(int(protocol["frames"]), video.length))
        idx = list(range(length))
        frames = video.load_frames(idx, size=(h, w), resize_mode="exact")
        from pyratok.data.video import frames_to_tensor

        clip, _ = conform(frames_to_tensor(frames).unsqueeze(0), c)
        enc = tokenizer.encode(clip, [query] if query else None)
        feat = tokenizer.features(enc, int(protocol["level"]))[0].float().cpu()
        masks, cats = [], []
        for inst in video.instances:
            if inst.iscrowd:
                continue
            m = _resize_masks(inst.masks(video.height, video.width, idx, file=video.annotation_file), h, w)
            if m.any():
                masks.append(m)
                cats.append(inst.category_id)
        fg = np.any(masks, axis=0) if masks else np.zeros((length, h, w), bool)
        masks.append(~fg)
        cats.append(None)
        mt = torch.from_numpy(np.stack(masks).astype(np.float32))
        return (feat, _causal(c, length, feat.shape[1]), tuple(feat.shape[1:])), mt, cats

    # -------------------------------------------------------------- scoring
    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
        from benchmarks.datasets.ytvis import write_results
        from benchmarks.metrics.ytvis_eval import dt_tracks, evaluate_video, gt_tracks

        t0 = time.time()
        res = ShardResult()
        plan = self.evaluation_plan(data)
        ds = plan["eval"]
        failures = {f"failed:{f.sample_id}": f for f in plan["failures"]}
        ids, texts, query = self._units(ds)
        spaces = self._text_spaces(tokenizer, texts, fitted)
        res.extras["text_space_unavailable"] = spaces["why"]
        res.extras["text_aligned"] = bool(getattr(tokenizer, "text_aligned", False))
        res.extras["eval_split"] = plan["eval_desc"]
        saved = {name: [] for name in spaces["emb"]}
        for item in shard.items:
            if item in failures:
                f = failures[item]
                res.fail(f.sample_id, f"{f.field}: {f.reason}" if f.field else f.reason, f.file)
                continue
            try:
                video = ds.video(int(item))
                feats = extract_features(tokenizer, video, self.protocol, query)
                gts = gt_tracks(video)
                sample = {"id": int(item), "frames": video.length, "geometry": feats["geometry"]}
                for name, emb in spaces["emb"].items():
                    preds, info = predict_video(video, feats, emb, ids, self.protocol)
                    sample[name] = evaluate_video(gts, dt_tracks(preds), self._params(), ids)
                    sample[name]["kept"] = info["kept"]
                    saved[name].extend(preds)
                res.samples.append(sample)
            except (SampleDecodeError, DatasetFormatError, KeyError, ValueError, OSError) as err:
                res.fail(item, getattr(err, "reason", None) or str(err), getattr(err, "file", None))
        if shard.index == 0 and res.samples and self.protocol.get("example_figure", True):
            self._attach_example(tokenizer, data, fitted, spaces, res)
        if self.protocol["save_predictions"] and fitted and fitted.get("out_dir"):
            for name, preds in saved.items():
                p = Path(fitted["out_dir"]) / "predictions" / name / f"results_shard{shard.index:05d}.json"
                res.extras.setdefault("predictions", {})[name] = str(write_results(p, preds))
        res.seconds = time.time() - t0
        return res

    def _attach_example(self, tokenizer, data, fitted, spaces, res: ShardResult) -> None:
        """A Figure 8-style PNG of the shard's first video (GT vs predicted masks), shipped to the runner as
        ``extras["images"]`` (it lands in results/figures/samples/<benchmark>/<tokenizer>/)."""
        import base64
        import tempfile

        space = "native" if "native" in spaces["emb"] else next(iter(spaces["emb"]), None)
        if space is None:
            return
        with tempfile.TemporaryDirectory() as tmp:
            try:
                from benchmarks.visualization.segmentation import plot_segmentation_examples

                p = plot_segmentation_examples(tokenizer, data, Path(tmp) / "fig.png",
                                               video_ids=[int(res.samples[0]["id"])], benchmark=self.name,
                                               fitted=fitted, text_space=space, n_videos=1,
                                               **{k: v for k, v in self.protocol.items() if k != "version"})
            except Exception as err:  # noqa: BLE001 — a figure must never cost the metrics
                res.extras["example_figure_error"] = f"{type(err).__name__}: {err}"
                return
            res.extras.setdefault("images", []).append(
                {"name": f"figure8_video{res.samples[0]['id']}_{space}", "png": base64.b64encode(p.read_bytes()).decode()})

    @staticmethod
    def _params():
        from benchmarks.metrics.ytvis_eval import YTVISParams

        return YTVISParams()

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        from benchmarks.metrics.ytvis_eval import reduce_records

        samples = [s for r in results for s in r.samples]
        n_failed = sum(len(r.failures) for r in results)
        why = next((r.extras.get("text_space_unavailable") for r in results if r.extras), {}) or {}
        aligned = any(r.extras.get("text_aligned") for r in results)
        split = next((r.extras.get("eval_split") for r in results if r.extras.get("eval_split")), "")
        try:
            cats = [c.id for c in self.evaluation_plan(data)["eval"].categories]
        except (ValueError, OSError):  # data gone from the driver: the categories seen in the records
            cats = sorted({int(c) for s in samples for k in ("native", "probe") if k in s
                           for c in s[k]["categories"]})
        out = []
        for space, suffix in (("native", ""), ("probe", "@probe")):
            recs = [s[space] for s in samples if space in s]
            extra = {"text_space": space, "eval_split": split, "data": data.origin}
            if not recs:
                if space == "native" and not aligned:
                    continue  # non-aligned tokenizers only get @probe metrics
                note = why.get(space) or "no video could be scored"
                for m in ("map", "jaccard"):
                    out.append(Metric(m + suffix, None, 0, n_failed, "", True, note, extra))
                continue
            r = reduce_records(recs, cats, self._params())
            stats = {k: (None if v < 0 else v) for k, v in r.stats.items()}
            extra = {**extra, "stats": stats, "per_category_ap": {str(k): v for k, v in r.per_category_ap.items()
                                                                 if v >= 0},
                     "n_gt": r.n_gt, "n_dt": r.n_dt}
            ap = stats["AP"]
            nulls = {"chance_level": None,
                     "chance_note": "no analytic chance for a mask mAP / Jaccard: see the random-feature null"}
            out.append(Metric("map" + suffix, ap, len(recs), n_failed, "", True,
                              "" if ap is not None else "no category has ground truth",
                              {**extra, **nulls, "ci95": _video_interval(recs, cats, self._params(), "map")
                               if ap is not None else None}))
            out.append(Metric("jaccard" + suffix, r.jaccard, len(recs), n_failed, "", True,
                              "" if r.jaccard is not None else "no ground-truth instance",
                              {**extra, **nulls, "ci95": _video_interval(recs, cats, self._params(), "jaccard")
                               if r.jaccard is not None else None}))
        return out


def _video_interval(recs: list[dict], cats: list[int], params, which: str) -> dict | None:
    """95 % percentile bootstrap over videos (seed 0, 2000 resamples) of the mask mAP (YTVOSeval accumulated over
    the resampled per-video records: a video drawn twice counts twice) or the Jaccard (mean over the resampled
    videos' ground-truth instances); None with fewer than 2 videos or a resample where it is undefined."""
    from benchmarks.metrics.ytvis_eval import reduce_records

    def stat(items):
        if which == "jaccard":
            jac = [j for r in items for j in r["jaccard"]]
            return float(np.mean(jac)) if jac else float("nan")
        ap = reduce_records(items, cats, params).stats["AP"]
        return float("nan") if ap is None or ap < 0 else float(ap)
    try:
        return interval_dict(recs, stat, method="percentile bootstrap over videos")
    except ValueError:
        return None


@register_benchmark("ytvis-seg",
                    "zero-shot video instance segmentation on YouTube-VIS 2021: mAP, Jaccard (Table 3)")
class YouTubeVISSegmentation(_VISSegmentation):
    dataset = "ytvis2021"
    paper_name = "YouTube-VIS 2021"


@register_benchmark("ovis-seg",
                    "zero-shot video instance segmentation on OVIS: mAP, Jaccard (Table 3)")
class OVISSegmentation(_VISSegmentation):
    dataset = "ovis"
    paper_name = "OVIS"
