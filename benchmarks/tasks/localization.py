"""Zero-shot temporal action localization on THUMOS14 and ActivityNet v1.3 (paper Table 4, protocol App. B.3).

Protocol (App. B.3), per untrimmed video of ``N`` frames and per text query (an action class name):

1. **Frame descriptors.** Every frame is encoded; the level-1 features ``q^(1)`` (``tokenizer.features(enc, 1)``,
   ``(B, D, T', H', W')``) are mean-pooled over space, giving one ``D``-vector per *latent* time step, which is
   mapped back to frames (:func:`frame_to_latent_index`) and L2-normalised: ``v_t``, ``(N, D)``.
   A causal VAE encodes a clip of ``1 + s*k`` frames into ``1 + k`` latent steps (temporal stride ``s``, 4 for Wan):
   latent 0 sees frame 0 alone and latent ``j >= 1`` summarises frames ``s(j-1)+1 .. sj``, so frame ``t`` takes
   latent ``ceil(t / s)``. A level at full frame rate maps one-to-one; any other ratio maps proportionally.
   Long videos are encoded in windows of ``clip_frames`` frames (:func:`plan_windows`; the last window is moved back
   to end on the last frame, never padded) and the per-frame descriptors concatenated.
2. **Frame scores.** ``s_t = <v_t, z>`` with ``z`` the L2-normalised query embedding: the tokenizer's own
   :meth:`embed_text` (``text_space = "native"``, text-aligned tokenizers only), or the text-alignment probe
   (``"probe"``, :mod:`benchmarks.tasks.probe`) fitted on the *seen* classes of the split.
3. **Sliding window** (:func:`window_scores`): ``S_t = mean(s_t .. s_{t+K-1})``, ``K = 25`` frames, stride 1.
4. **Segments** (:func:`extract_segments`): threshold ``S`` at ``tau``, take the maximal connected runs, select the
   run with the highest mean ``S`` as an action interval (frames ``[t_a, t_b + K)``), remove it and repeat
   ("multi-action queries"), merging an interval into an already selected one it overlaps. A segment's score (its
   rank for AP) is the mean ``S`` of its run; a merged segment keeps the higher score.

Choices the paper leaves open (each a protocol field; the docstrings say why):

* ``tau``: not given. Cosine similarities of different tokenizers (and of the probe) live on different scales, so a
  single absolute cosine threshold would favour some tokenizers arbitrarily. The default thresholds each
  trajectory after min-max normalisation over the video (``tau_mode = "relative"``, ``tau = 0.5``: the upper half
  of the video's own score range), while segments are still *ranked* by the raw mean score, which is comparable
  across videos for one query. A flat trajectory (no evidence) yields no segment. ``tau_mode = "absolute"``
  thresholds the raw cosine instead.
* Frame rate: ``K = 25`` frames is meant at the videos' rate; THUMOS14 and most of ActivityNet are ~30 fps, so the
  protocol samples frames at ``fps = 30`` (frame ``i`` = the source frame nearest ``i / 30`` s). The tiny synthetic
  videos are 8 fps and last 8 s (instances 1-3 s), so on synthetic data frames are taken at the native 8 fps and
  ``K = 7`` (``round(25 * 8 / 30)``: the same 0.83 s as 25 frames at 30 fps) — the ``synthetic`` protocol field.
* Geometry: frames resized (short side 256, centre crop 256x256: the tokenizers' native resolution); synthetic
  videos (64x64) are used as they are.
* Query text: the class name; THUMOS14's CamelCase names are split into words ("BaseballPitch" -> "baseball
  pitch"), ActivityNet's names are used as written (:func:`label_to_query`).
* Zero-shot setting (Table 4: "50% Seen / 50% Unseen"): the 10 seeded class splits of
  ``zero_shot_splits/50_50`` (or generated with :func:`~benchmarks.datasets.zero_shot_splits.generate_splits`
  when a dataset has none). The probe of split ``i`` is fitted (in :meth:`fit`) on pooled descriptors of the
  ground-truth segments of its *seen* classes in the training subset (THUMOS14 ``validation``, ActivityNet
  ``training``: the zero-shot TAL literature's training data); evaluation is on the *unseen* classes of split ``i``
  in the evaluation subset (THUMOS14 ``test``, ActivityNet ``validation``). Metrics are averaged over the splits;
  ``extra`` carries the standard deviation and the per-split values.
* Matching and AP: the official ActivityNet rules (:mod:`benchmarks.metrics.temporal_ap`); THUMOS14 tIoU 0.3:0.1:0.7,
  ActivityNet 0.5:0.05:0.95. THUMOS "Ambiguous" intervals are not used (as in the ActivityNet-style evaluation of
  the JSON conversion). At most ``max_segments`` segments are kept per video and query (best first), a guard on
  the size of the shard records set above what the datasets need: THUMOS14 100 (its test videos hold a median of
  8 and a 99th percentile of 72 instances of one class), ActivityNet 20 (1.5 instances per video on average).
  A video that cannot be decoded is a failure record and is left out of the evaluation set
  (its instances are not counted); ``n_failed`` says how many.

Metrics: ``avg_map`` and ``map@<thr>`` in [0, 1] (``extra.text_space = "native"``), and the same names with
``@probe`` (``"probe"``). Non-aligned tokenizers only get the ``@probe`` metrics.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from adapters.base import NotSupported
from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.metrics.uncertainty import interval_dict, splits_ci
from benchmarks.registry import register_benchmark
from benchmarks.metrics.temporal_ap import TIOU_ACTIVITYNET, TIOU_THUMOS14, mean_average_precision
from benchmarks.tasks.clips import batched, conform

__all__ = ["SlidingWindowConfig", "frame_to_latent_index", "plan_windows", "window_scores", "extract_segments",
           "localize", "label_to_query", "frame_descriptors", "Thumos14Localization", "ActivityNetLocalization",
           "localization_examples"]


@dataclass(frozen=True)
class SlidingWindowConfig:
    """Segment decoding of App. B.3. ``window`` K = 25 frames and ``stride`` 1 are the paper's; ``tau`` and
    ``tau_mode`` are this reproduction's choice (the paper gives no value; see the module doc)."""

    window: int = 25
    stride: int = 1
    tau: float = 0.5
    tau_mode: str = "relative"   # relative: tau on the min-max normalised trajectory | absolute: tau on raw S

    def __post_init__(self):
        if self.window < 1 or self.stride < 1:
            raise ValueError(f"window and stride must be >= 1, got {self.window}, {self.stride}")
        if self.tau_mode not in ("relative", "absolute"):
            raise ValueError(f"tau_mode must be 'relative' or 'absolute', got {self.tau_mode!r}")


# ---------------------------------------------------------------------------------------------------- scoring
def frame_to_latent_index(num_frames: int, num_latent: int) -> np.ndarray:
    """``(num_frames,)`` latent time index of each frame of a clip encoded into ``num_latent`` steps.

    Equal counts: identity. ``num_frames = 1 + s*(num_latent - 1)`` (a causal VAE of temporal stride ``s``):
    frame ``t`` -> ``ceil(t / s)`` (latent 0 is frame 0 alone; latent ``j`` covers frames ``s(j-1)+1 .. sj``).
    Otherwise proportional: ``floor(t * num_latent / num_frames)``.
    """
    if num_frames < 1 or num_latent < 1:
        raise ValueError(f"need at least one frame and one latent step, got {num_frames}, {num_latent}")
    t = np.arange(num_frames)
    if num_latent == num_frames:
        return t
    if num_latent > 1 and (num_frames - 1) % (num_latent - 1) == 0:
        s = (num_frames - 1) // (num_latent - 1)
        return (t + s - 1) // s
    return np.minimum(t * num_latent // num_frames, num_latent - 1)


def plan_windows(num_frames: int, clip_frames: int, constraints) -> list[tuple[int, int]]:
    """Encoding windows ``[(start, length)]`` covering frames ``0 .. num_frames-1``, every window of the same valid
    length ``L = constraints.valid_frames(min(clip_frames, num_frames))``: back to back from frame 0, plus one
    window ending on the last frame when they do not reach it (overlapping the previous one; no padding)."""
    if num_frames < 1:
        raise ValueError("video has no frames")
    length = constraints.valid_frames(min(int(clip_frames), int(num_frames)))
    out = [(s, length) for s in range(0, num_frames - length + 1, length)]
    if out[-1][0] + length < num_frames:
        out.append((num_frames - length, length))
    return out


def window_scores(frame_scores: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """``S_i = mean(s[i*stride : i*stride + K])`` for every full window -> ``(floor((N - K) / stride) + 1,)``.
    ``K`` is clamped to ``N`` (a video shorter than the window gives one value)."""
    s = np.asarray(frame_scores, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("no frame scores")
    k = min(int(window), s.size)
    c = np.concatenate([[0.0], np.cumsum(s)])
    starts = np.arange(0, s.size - k + 1, int(stride))
    return (c[starts + k] - c[starts]) / k


def extract_segments(curve: np.ndarray, window: int, stride: int = 1, tau: float = 0.5,
                     tau_mode: str = "relative") -> list[tuple[int, int, float]]:
    """Decode a window-score trajectory ``S`` ``(M,)`` into frame segments ``[(start, end_exclusive, score)]``,
    best first (App. B.3 steps i-iii, repeated; overlapping intervals merged, keeping the higher score).

    Window ``i`` covers frames ``[i*stride, i*stride + window)``; a run of windows ``a..b`` gives frames
    ``[a*stride, b*stride + window)`` with score ``mean(S[a..b])``.
    """
    S = np.asarray(curve, dtype=np.float64).ravel()
    if S.size == 0:
        return []
    if tau_mode == "relative":
        lo, hi = float(S.min()), float(S.max())
        if not hi - lo > 1e-12 * max(1.0, abs(hi)):
            return []  # a flat trajectory carries no localization evidence
        keep = (S - lo) / (hi - lo) >= tau
    elif tau_mode == "absolute":
        keep = S >= tau
    else:
        raise ValueError(f"tau_mode must be 'relative' or 'absolute', got {tau_mode!r}")
    runs = []
    i = 0
    while i < S.size:
        if keep[i]:
            j = i
            while j + 1 < S.size and keep[j + 1]:
                j += 1
            runs.append((i * stride, j * stride + window, float(S[i:j + 1].mean())))
            i = j + 1
        else:
            i += 1
    runs.sort(key=lambda r: -r[2])  # stable: equal scores keep temporal order
    selected: list[tuple[int, int, float]] = []
    for start, end, score in runs:
        overlap = [x for x in selected if x[0] < end and start < x[1]]
        if overlap:
            selected = [x for x in selected if x not in overlap]
            start = min([start] + [x[0] for x in overlap])
            end = max([end] + [x[1] for x in overlap])
            score = max([score] + [x[2] for x in overlap])
        selected.append((start, end, score))
    selected.sort(key=lambda r: (-r[2], r[0]))
    return selected


def localize(frame_scores: np.ndarray,
             config: SlidingWindowConfig = SlidingWindowConfig()) -> list[tuple[int, int, float]]:
    """Per-frame scores ``(N,)`` -> frame segments ``[(start, end_exclusive, score)]`` (window clamped to N)."""
    s = np.asarray(frame_scores, dtype=np.float64).ravel()
    k = min(config.window, s.size)
    return extract_segments(window_scores(s, k, config.stride), k, config.stride, config.tau, config.tau_mode)


def label_to_query(label: str) -> str:
    """Class name -> query text: a name without spaces (THUMOS14's CamelCase) is split into lower-case words
    ("BaseballPitch" -> "baseball pitch", "CleanAndJerk" -> "clean and jerk", "Diving" -> "diving"); names with
    spaces (ActivityNet's "Long jump") are kept as written."""
    if " " in label:
        return label
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", label)
    return " ".join(w.lower() for w in words) if "".join(words) == label else label


# ---------------------------------------------------------------------------------------------------- features
def frame_descriptors(tokenizer, path: str | Path, level: int = 1, clip_frames: int = 17, fps: float | None = 30.0,
                      size: int | None = 256, batch_size: int = 4) -> tuple[torch.Tensor, float]:
    """Per-frame descriptors of a video file -> (``(N, D)`` float32, L2-normalised rows; frame rate).

    Frames are sampled at ``fps`` (None: every frame at the file's rate), resized to short side ``size`` and
    centre-cropped (None: as decoded), encoded in windows (:func:`plan_windows`), level ``level`` features pooled
    over space and mapped back to frames. Raises SampleDecodeError for an unreadable file.
    """
    from pyratok.data.video import frames_to_tensor, probe_video, read_frames

    info = probe_video(path)
    if fps:
        n = max(1, int(math.floor(info.duration * fps + 1e-6)))
        src = np.minimum(np.round(np.arange(n) * info.fps / fps).astype(np.int64), info.num_frames - 1)
        rate = float(fps)
    else:
        n, src, rate = info.num_frames, np.arange(info.num_frames), float(info.fps)
    constraints = tokenizer.input_constraints
    windows = plan_windows(n, clip_frames, constraints)
    out: torch.Tensor | None = None
    filled = np.zeros(n, dtype=bool)
    for group in batched(windows, batch_size):
        clips = [frames_to_tensor(read_frames(path, src[s:s + length].tolist(), size=size,
                                              crop="center" if size else None)) for s, length in group]
        video, _ = conform(torch.stack(clips), constraints)
        with torch.no_grad():
            feats = tokenizer.features(tokenizer.encode(video), level).float()
        if feats.dim() != 5:
            raise ValueError(f"{tokenizer.name}: features must be (B, D, T', H', W'), got {tuple(feats.shape)}")
        per_step = feats.mean(dim=(3, 4))  # (B, D, T')
        if out is None:
            out = torch.zeros(n, per_step.shape[1])
        for b, (s, length) in enumerate(group):
            desc = per_step[b][:, torch.from_numpy(frame_to_latent_index(length, per_step.shape[-1]))].T  # (L, D)
            new = ~filled[s:s + length]
            idx = np.nonzero(new)[0]
            out[s + idx] = desc[torch.from_numpy(idx)]
            filled[s:s + length] = True
    return torch.nn.functional.normalize(out, dim=-1), rate


def _segment_frames(start: float, end: float, rate: float, n: int) -> tuple[int, int]:
    """Frames ``[i0, i1)`` of a segment in seconds (at least one frame, clipped to the video)."""
    i0 = min(max(0, int(math.floor(start * rate))), n - 1)
    i1 = min(n, max(i0 + 1, int(math.ceil(end * rate))))
    return i0, i1


# ---------------------------------------------------------------------------------------------------- benchmark
class _ZeroShotLocalization(Benchmark):
    """Shared protocol of the two Table 4 benchmarks (see the module doc); subclasses set the dataset."""

    table = "table4"
    task = "localization"
    requires = ("features",)
    shard_size = 4

    @classmethod
    def _protocol(cls, eval_subset: str, probe_subset: str, tiou, max_segments: int) -> dict:
        return {"version": "1",
                "level": 1,                      # App. B.3: q^(1)
                **asdict(SlidingWindowConfig()),  # K = 25, stride 1 (App. B.3); tau: see module doc
                "fps": 30.0, "size": 256, "clip_frames": 17, "batch_size": 4,
                "query": "{label}",
                "setting": "50_50", "num_splits": 10,
                "eval_subset": eval_subset, "probe_subset": probe_subset,
                "tiou_thresholds": list(tiou),
                "max_segments": max_segments,    # per video and query, best first (bounds the shard records)
                "max_videos": None, "probe_max_videos": None,
                "example_images": 2,             # Fig. 16-style examples attached by shard 0 (0: none)
                # tiny synthetic videos: 8 fps, 64x64 -> native rate and size, K scaled to the same 0.83 s
                "synthetic": {"fps": None, "size": None, "window": 7}}

    # ------------------------------------------------------------------ protocol / data helpers
    def effective_protocol(self, data: DataSource) -> dict:
        """The protocol with the ``synthetic`` overrides applied when the data are synthetic."""
        p = {k: v for k, v in self.protocol.items() if k != "synthetic"}
        if data.origin == "synthetic":
            p.update(self.protocol.get("synthetic") or {})
        return p

    def _dataset(self, data: DataSource, subset: str):
        raise NotImplementedError

    def _annotation_files(self, data: DataSource) -> list[str]:
        raise NotImplementedError

    def _videos(self, data: DataSource, subset: str, limit) -> tuple[list, list]:
        ds = self._dataset(data, subset)
        videos = sorted(ds.videos, key=lambda v: v.video_id)
        missing = [{"sample": f.sample_id, "file": f.file, "reason": f.reason} for f in ds.failures]
        if limit:
            videos = videos[:int(limit)]
        return videos, missing

    def _splits(self, data: DataSource) -> tuple[list, str]:
        from benchmarks.datasets.zero_shot_splits import SPLITS_DIRNAME, generate_splits

        p = self.protocol
        ds = self._dataset(data, p["eval_subset"])
        if (Path(data.root) / SPLITS_DIRNAME / p["setting"]).is_dir():
            return ds.zero_shot_splits(p["setting"], p["num_splits"]), "files"
        return generate_splits(ds.classes, p["setting"], p["num_splits"], seed=0), "generated (seed 0)"

    def _query(self, label: str) -> str:
        return self.protocol["query"].format(label=label_to_query(label))

    def _descriptors(self, tokenizer, video, p: dict) -> tuple[torch.Tensor, float]:
        return frame_descriptors(tokenizer, video.path, p["level"], p["clip_frames"], p["fps"], p["size"],
                                 p["batch_size"])

    # ------------------------------------------------------------------ runner hooks
    def shards(self, data: DataSource) -> list[Shard]:
        p = self.protocol
        videos, missing = self._videos(data, p["eval_subset"], p["max_videos"])
        ids = [v.video_id for v in videos] + [m["sample"] for m in missing]
        files = {v.video_id: str(v.path) for v in videos}
        groups = chunk(ids, self.shard_size)
        ann = tuple(self._annotation_files(data))
        return [Shard(i, len(groups), tuple(g), ann + tuple(files[x] for x in g if x in files))
                for i, g in enumerate(groups)]

    def fit_files(self, data: DataSource) -> list[str]:
        videos, _ = self._videos(data, self.protocol["probe_subset"], self.protocol["probe_max_videos"])
        return self._annotation_files(data) + [str(v.path) for v in videos]

    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict:
        """One text-alignment probe per split, fitted on pooled descriptors of the ground-truth segments of the
        split's SEEN classes in the probe subset; saved as ``out_dir/probe_<setting>_split_XX.npz``."""
        from benchmarks.datasets.errors import SampleDecodeError
        from benchmarks.tasks.probe import fit_probe_from_pairs

        p = self.effective_protocol(data)
        splits, source = self._splits(data)
        videos, missing = self._videos(data, p["probe_subset"], p["probe_max_videos"])
        failures = list(missing)
        pooled: list[tuple[str, torch.Tensor]] = []  # (label, (D,)) per ground-truth segment
        for video in videos:
            if not video.segments:
                continue
            try:
                desc, rate = self._descriptors(tokenizer, video, p)
            except NotSupported:
                raise
            except (SampleDecodeError, ValueError, RuntimeError, OSError) as err:
                failures.append({"sample": video.video_id, "file": str(video.path), "reason": str(err)})
                continue
            for seg in video.segments:
                i0, i1 = _segment_frames(seg.start, seg.end, rate, desc.shape[0])
                pooled.append((seg.label, torch.nn.functional.normalize(desc[i0:i1].mean(0), dim=0)))
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        records = []
        for sp in splits:
            pairs = [(f, lab) for lab, f in pooled if lab in set(sp.seen)]
            rec = {"name": sp.name, "seen": list(sp.seen), "unseen": list(sp.unseen), "probe": None,
                   "n_pairs": len(pairs), "note": ""}
            if pairs:
                path = fit_probe_from_pairs([f for f, _ in pairs], [self._query(lab) for _, lab in pairs],
                                            out_dir / f"probe_{p['setting']}_{sp.name}.npz")
                rec["probe"] = str(path)
            else:
                rec["note"] = f"no ground-truth segment of a seen class in the {p['probe_subset']} subset"
            records.append(rec)
        return {"setting": p["setting"], "splits_source": source, "splits": records,
                "probe_subset": p["probe_subset"], "probe_videos": len(videos), "probe_failures": failures}

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        import time

        from benchmarks.datasets.errors import SampleDecodeError
        from benchmarks.tasks.probe import TextAlignmentProbe, sentence_embedding

        t0 = time.perf_counter()
        p = self.effective_protocol(data)
        cfg = SlidingWindowConfig(p["window"], p["stride"], p["tau"], p["tau_mode"])
        res = ShardResult()
        videos, missing = self._videos(data, p["eval_subset"], None)
        by_id = {v.video_id: v for v in videos}
        missing_by_id = {m["sample"]: m for m in missing}
        splits = fitted["splits"] if fitted else [
            {"name": sp.name, "seen": list(sp.seen), "unseen": list(sp.unseen), "probe": None}
            for sp in self._splits(data)[0]]
        # query embeddings, once per shard: native for every class any split leaves unseen, probe per split
        spaces: dict[str, tuple[list[str], torch.Tensor]] = {}
        all_unseen = sorted({c for sp in splits for c in sp["unseen"]})
        if getattr(tokenizer, "text_aligned", False):
            emb = tokenizer.embed_text([self._query(c) for c in all_unseen]).float()
            spaces["native"] = (all_unseen, torch.nn.functional.normalize(emb, dim=-1))
        probed = [sp for sp in splits if sp.get("probe")]
        if probed:
            sent = dict(zip(all_unseen, sentence_embedding([self._query(c) for c in all_unseen])))
            for sp in probed:
                probe = TextAlignmentProbe.load(sp["probe"])
                spaces[f"probe/{sp['name']}"] = (list(sp["unseen"]),
                                                 probe(torch.stack([sent[c] for c in sp["unseen"]])))
        for vid in shard.items:
            if vid in missing_by_id:
                m = missing_by_id[vid]
                res.fail(vid, m["reason"], m["file"])
                continue
            video = by_id.get(vid)
            if video is None:
                res.fail(vid, f"video {vid!r} is not in the {p['eval_subset']} subset")
                continue
            try:
                desc, rate = self._descriptors(tokenizer, video, p)
                sample = {"id": vid, "file": str(video.path), "fps": rate, "frames": int(desc.shape[0]),
                          "duration": video.duration,
                          "ground_truth": [[s.label, s.start, s.end] for s in video.segments]}
                for space, (labels, emb) in spaces.items():
                    if emb.shape[1] != desc.shape[1]:
                        raise ValueError(f"{space} text embeddings are {emb.shape[1]}-d but features are "
                                         f"{desc.shape[1]}-d")
                    scores = (desc @ emb.T).numpy()  # (N, C) cosine: both sides unit norm
                    preds = [[lab, s0 / rate, s1 / rate, sc] for c, lab in enumerate(labels)
                             for s0, s1, sc in localize(scores[:, c], cfg)[:p["max_segments"]]]
                    if space == "native":
                        sample["native"] = preds
                    else:
                        sample.setdefault("probe", {})[space.split("/", 1)[1]] = preds
            except NotSupported:
                raise
            except (SampleDecodeError, ValueError, RuntimeError, OSError) as err:
                res.fail(vid, str(err), str(video.path))
                continue
            res.samples.append(sample)
        res.extras = {"text_spaces": sorted({s.split("/")[0] for s in spaces})}
        if shard.index == 0 and res.samples and p["example_images"]:
            png = self._example_png(tokenizer, res.samples, int(p["example_images"]))
            if png is not None:
                res.extras["images"] = [{"name": "localization_examples", "png": png}]
        res.seconds = time.perf_counter() - t0
        return res

    def _example_png(self, tokenizer, samples: list[dict], n: int) -> str | None:
        """Base64 PNG of :func:`benchmarks.visualization.localization.plot_localization_examples` for the first videos of the shard (native space when
        the tokenizer has one, else the first split's probe); the runner writes it under
        ``figures/samples/<benchmark>/<tokenizer>/`` and
        :func:`benchmarks.visualization.localization.figure16_localization` assembles them."""
        import base64
        import tempfile

        from pyratok.data.video import read_frames

        space = "native" if "native" in samples[0] else "probe"
        split = None if space == "native" else next(iter(samples[0].get("probe", {})), None)
        label = f"{tokenizer.name} ({space})"
        examples = localization_examples({label: samples}, n=n, space=space, split=split)
        if not examples:
            return None
        files = {s["id"]: s for s in samples}
        for ex in examples:
            s = files[ex["video"]]
            try:
                ex["frames"] = read_frames(s["file"], times=list(np.linspace(0, ex["duration"] * 0.99, 6)))
            except Exception:  # noqa: BLE001 - thumbnails are decoration; the segments are the content
                pass
        with tempfile.TemporaryDirectory() as tmp:
            from benchmarks.visualization.localization import plot_localization_examples

            path = plot_localization_examples(examples, Path(tmp) / "examples.png",
                                              title=f"{self.paper_name}: {label}")
            return base64.b64encode(path.read_bytes()).decode("ascii")

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        samples = [s for r in results for s in r.samples]
        n_failed = sum(len(r.failures) for r in results)
        thresholds = [float(t) for t in self.protocol["tiou_thresholds"]]
        splits = fitted["splits"] if fitted else [
            {"name": sp.name, "seen": list(sp.seen), "unseen": list(sp.unseen), "probe": None}
            for sp in self._splits(data)[0]]
        spaces = sorted({s.split("/")[0] for r in results for s in r.extras.get("text_spaces", [])})
        names = ["avg_map"] + [f"map@{t:g}" for t in thresholds]
        metrics: list[Metric] = []
        for space in spaces:
            suffix = "" if space == "native" else "@probe"
            per_split, notes = [], []
            for sp in splits:
                unseen = set(sp["unseen"])
                if space == "native":
                    preds = [(s["id"],) + tuple(x) for s in samples for x in s.get("native", []) if x[0] in unseen]
                else:
                    if not sp.get("probe"):
                        notes.append(f"{sp['name']}: no probe ({sp.get('note', '')})")
                        continue
                    preds = [(s["id"],) + tuple(x) for s in samples for x in s.get("probe", {}).get(sp["name"], [])]
                gt = [(s["id"],) + tuple(g) for s in samples for g in s["ground_truth"] if g[0] in unseen]
                r = mean_average_precision(gt, preds, thresholds, classes=sorted(unseen))
                if r.avg_map is None:
                    notes.append(f"{sp['name']}: no unseen-class instance among the scored videos")
                    continue
                per_split.append({"split": sp["name"], "avg_map": r.avg_map, "map": [float(x) for x in r.map],
                                  "classes": r.classes, "n_ground_truth": r.n_ground_truth,
                                  "n_predictions": r.n_predictions, "classes_without_gt": r.classes_without_gt})
            boot = _VideoBootstrap(samples, splits, space, thresholds)
            for k, name in enumerate(names):
                vals = [ps["avg_map"] if k == 0 else ps["map"][k - 1] for ps in per_split]
                extra = {"text_space": space, "setting": self.protocol["setting"], "tiou_thresholds": thresholds,
                         "n_splits": len(vals), "std_over_splits": float(np.std(vals)) if vals else None,
                         "per_split": vals, "ci95": boot.interval(k) if vals else None,
                         "ci95_splits": splits_ci(vals).to_dict() if len(vals) > 1 else None,
                         "chance_level": None,
                         "chance_note": "no analytic chance for a detection mAP: see the random-feature null"}
                if k == 0:
                    extra["splits"] = per_split
                note = (f"mean over {len(vals)} class splits ({self.protocol['setting']}, unseen classes); "
                        f"std {np.std(vals):.4f}" if vals else "no split could be scored")
                if notes:
                    note += "; " + "; ".join(notes)
                if n_failed:
                    note += f"; {n_failed} video(s) failed and are not in the evaluation set"
                metrics.append(Metric(name + suffix, float(np.mean(vals)) if vals else None, len(samples), n_failed,
                                      "", True, note, extra))
        if "probe" not in spaces:
            metrics.append(Metric("avg_map@probe", None, len(samples), n_failed, "", True,
                                  "probe unavailable: no probe was fitted (fit() not run, or no seen-class segment)",
                                  {"text_space": "probe"}))
        return metrics


class _VideoBootstrap:
    """The 95 % percentile bootstrap over videos (seed 0, 2000 resamples, :func:`bootstrap_ci`) of the reduced
    statistic: the mean over class splits of the unseen-class mAP (avg mAP or the mAP at one tIoU). A resampled
    video is re-keyed by its position, so a video drawn twice counts as two videos. The per-split mAPs of one
    resample are computed once and shared by every threshold's interval (the resamples are the same: same seed)."""

    def __init__(self, samples: list[dict], splits: list[dict], space: str, thresholds: list[float]):
        self.samples, self.splits, self.space, self.thresholds = samples, splits, space, thresholds
        self._memo: dict[tuple, list[float] | None] = {}

    def _all(self, items: list[dict]) -> list[float] | None:
        key = tuple(id(x) for x in items)
        if key not in self._memo:
            per = []
            for sp in self.splits:
                unseen = set(sp["unseen"])
                if self.space == "native":
                    preds = [(i,) + tuple(x) for i, s in enumerate(items) for x in s.get("native", [])
                             if x[0] in unseen]
                elif sp.get("probe"):
                    preds = [(i,) + tuple(x) for i, s in enumerate(items)
                             for x in s.get("probe", {}).get(sp["name"], [])]
                else:
                    continue
                gt = [(i,) + tuple(g) for i, s in enumerate(items) for g in s["ground_truth"] if g[0] in unseen]
                r = mean_average_precision(gt, preds, self.thresholds, classes=sorted(unseen))
                if r.avg_map is not None:
                    per.append([r.avg_map] + [float(x) for x in r.map])
            self._memo[key] = [float(v) for v in np.mean(per, axis=0)] if per else None
        return self._memo[key]

    def interval(self, k: int) -> dict | None:
        """Interval of statistic ``k`` (0: avg mAP, j: the mAP at threshold j - 1); None when a resample has no
        scorable split (too few videos for an interval)."""
        def stat(items):
            v = self._all(items)
            return float("nan") if v is None else v[k]
        try:
            return interval_dict(self.samples, stat, method="percentile bootstrap over videos (mean over splits)")
        except ValueError:
            return None


@register_benchmark("thumos14-tal",
                    "zero-shot temporal action localization on THUMOS14: avg mAP @ tIoU .3:.1:.7 (Table 4)")
class Thumos14Localization(_ZeroShotLocalization):
    """THUMOS14 (test subset; probes fitted on the validation subset), tIoU 0.3:0.1:0.7."""

    dataset = "thumos14"
    paper_name = "THUMOS14"
    protocol = _ZeroShotLocalization._protocol("test", "validation", TIOU_THUMOS14, max_segments=100)

    def _dataset(self, data: DataSource, subset: str):
        from benchmarks.datasets.thumos14 import Thumos14Dataset

        return Thumos14Dataset(data.root, subset)

    def _annotation_files(self, data: DataSource) -> list[str]:
        root = Path(data.root)
        if (root / "thumos14.json").is_file():
            return [str(root / "thumos14.json")]
        return sorted(str(p) for p in (root / "annotations").rglob("*.txt"))


@register_benchmark("activitynet-tal",
                    "zero-shot temporal action localization on ActivityNet v1.3: avg mAP @ .5:.05:.95 (Table 4)")
class ActivityNetLocalization(_ZeroShotLocalization):
    """ActivityNet v1.3 (validation subset; probes fitted on the training subset), tIoU 0.5:0.05:0.95."""

    dataset = "activitynet"
    paper_name = "ActivityNet v1.3"
    protocol = _ZeroShotLocalization._protocol("validation", "training", TIOU_ACTIVITYNET, max_segments=20)

    def _dataset(self, data: DataSource, subset: str):
        from benchmarks.datasets.activitynet import ActivityNetDataset

        return ActivityNetDataset(data.root, subset)

    def _annotation_files(self, data: DataSource) -> list[str]:
        from benchmarks.datasets.activitynet import ACTIVITYNET_JSON_NAME

        return [str(Path(data.root) / ACTIVITYNET_JSON_NAME)]


# ---------------------------------------------------------------------------------------------------- examples
def localization_examples(samples_by_method: dict[str, list[dict]], n: int = 4, space: str = "native",
                          split: str | None = None, max_segments: int = 3) -> list[dict]:
    """Build :func:`benchmarks.visualization.localization.plot_localization_examples` input from shard-result samples of several tokenizers
    (``{row label: [sample dicts]}``): the first ``n`` (video, class) pairs with ground truth in the first method's
    samples (restricted to the predicted classes), with each method's top ``max_segments`` segments for that class.
    ``space``: ``"native"`` or ``"probe"`` (then ``split``, e.g. ``"split_00"``)."""
    def preds_of(sample):
        return sample.get("native", []) if space == "native" else sample.get("probe", {}).get(split, [])

    methods = list(samples_by_method)
    if not methods:
        return []
    index = {m: {s["id"]: s for s in samples_by_method[m]} for m in methods}
    out = []
    for s in samples_by_method[methods[0]]:
        labels = {x[0] for x in preds_of(s)}
        for label in sorted({g[0] for g in s["ground_truth"]} & labels):
            pred = {}
            for m in methods:
                other = index[m].get(s["id"])
                segs = [x for x in preds_of(other) if x[0] == label] if other else []
                pred[m] = [[a, b, c] for _, a, b, c in sorted(segs, key=lambda x: -x[3])[:max_segments]]
            out.append({"video": s["id"], "query": label_to_query(label),
                        "duration": s.get("duration") or s["frames"] / s["fps"],
                        "ground_truth": [[a, b] for lab, a, b in s["ground_truth"] if lab == label],
                        "predictions": pred})
            if len(out) >= n:
                return out
    return out
