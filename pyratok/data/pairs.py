"""Video-text training pairs: CSV indices, clip sampling, aspect-ratio/resolution buckets, a resumable sampler.

Pipeline (paper App. D, stages 1-3)::

    CSV (WebVid or OpenVid style) --load_pairs--> VideoTextPair list --probe_pairs--> pairs with size/length
      --BucketBatchSampler--> per step one bucket (T, H, W) and B sample requests (deterministic from the seed)
      --PairDataset (in DataLoader workers)--> decode T = 1 + 4k frames, resize to cover H x W, crop
      --collate_pairs--> {"video": (B, 3, T, H, W) float32 in [-1, 1], "texts": [str], "ids", "failures", "position"}

CSV formats (``fmt="auto"`` detects them from the header):
* WebVid-10M (``results_10M_train.csv``): columns ``videoid, page_dir, name`` (caption = ``name``); the video is
  ``<video_root>/<page_dir>/<videoid>.mp4``.
* OpenVid-1M (``OpenVid-1M.csv``): columns ``video, caption``; the video is ``<video_root>/<video>``.
* generic: columns ``path, caption``; ``path`` relative to ``video_root`` (or absolute).

Buckets. App. D trains "across multiple aspect ratios, including 1:1, 4:3, 3:2, 16:9, and 2:1", spatial resolutions
from 512x512 to 2048x2048 (stage 3: 128x128 to 4096x4096) and 16+1 to 96+1 frames. Our reading, the usual
multi-aspect bucketing: a *resolution* ``r`` means a pixel budget of ``r x r``; a bucket of aspect ``a`` (w / h)
at resolution ``r`` is ``h = r / sqrt(a)``, ``w = r * sqrt(a)``, each rounded to a multiple of the model's spatial
stride. Each video goes to the listed aspect nearest to its own in log space (a portrait video to the transposed
bucket: the paper lists landscape ratios only; portrait clips are rare in WebVid/OpenVid and transposing keeps them
undistorted). Every batch shares one bucket; its resolution and frame count are drawn per batch from the configured
lists, so a batch is one tensor and the model sees every combination over training. Frames are resized with the
aspect ratio kept so that they cover the bucket, then cropped (random crop in training, centre crop for evaluation).

Clip sampling. A clip of T frames, ``frame_stride`` apart, at a uniformly random start (training) or centred
(evaluation). A video too short for that stride uses the largest stride that fits; shorter than T frames, it fails.

Failures are never fatal and never silent: a row with no path/caption, a file that does not probe or decode, or a
video too short is recorded as a :class:`~pyratok.data.errors.SampleFailure` (file + reason). A sample that
fails inside a worker is replaced by the next candidate of the same bucket group (deterministically), so batches
keep their size, and its failure travels with the batch (``batch["failures"]``) to the main process, where
:class:`FailureLog` keeps the list, logs each one and appends it to a JSONL file.

Determinism and resume. The batch order of epoch ``e`` is a function of ``(seed, e)`` only, and every sample's clip
start and crop come from a generator seeded by ``(seed, epoch, batch, slot)``, so the stream does not depend on the
number of DataLoader workers, and restarting the sampler at a saved :class:`DataPosition` continues the identical
stream. Under data parallelism each global batch of ``batch_size x world_size`` requests is split by rank, so all
ranks train on the same bucket at every step.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .errors import DatasetFormatError, SampleDecodeError, SampleFailure

from .video import frames_to_tensor, probe_video, read_frames, resize_frames, sample_indices

__all__ = [
    "ASPECT_RATIOS",
    "VideoTextPair",
    "Bucket",
    "DataPosition",
    "SampleRequest",
    "FailureLog",
    "load_pairs",
    "probe_pairs",
    "aspect_key",
    "bucket_shape",
    "clip_indices",
    "fit_to_bucket",
    "PairDataset",
    "BucketBatchSampler",
    "collate_pairs",
    "make_loader",
]

log = logging.getLogger("pyratok.data")

# App. D: "multiple aspect ratios, including 1:1, 4:3, 3:2, 16:9, and 2:1" (width : height)
ASPECT_RATIOS: dict[str, float] = {"1:1": 1.0, "4:3": 4 / 3, "3:2": 3 / 2, "16:9": 16 / 9, "2:1": 2.0}


# --------------------------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------------------------
@dataclass
class VideoTextPair:
    """One training pair. ``num_frames``/``width``/``height`` are filled by :func:`probe_pairs`."""

    id: str
    path: str
    caption: str
    num_frames: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Bucket:
    """Shape every clip of a batch is brought to: ``frames`` = 1 + 4k, ``height`` x ``width`` pixels."""

    frames: int
    height: int
    width: int


@dataclass
class DataPosition:
    """Where the training stream stands: the next batch to train on is batch ``batch`` of epoch ``epoch``."""

    epoch: int = 0
    batch: int = 0

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict | None) -> "DataPosition":
        return cls(**state) if state else cls()


@dataclass(frozen=True)
class SampleRequest:
    """What a DataLoader worker must produce for one batch slot.

    ``index`` is the pair to load, ``fallbacks`` the pairs to try in order if it fails (same aspect group),
    ``seed`` seeds the clip start and crop, ``position`` = (epoch, batch) of the batch it belongs to.
    """

    index: int
    fallbacks: tuple[int, ...]
    bucket: Bucket
    seed: int
    train: bool
    position: tuple[int, int]


class FailureLog:
    """The failures seen so far: kept as a list, logged (warning, with path and reason) and appended to JSONL."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.failures: list[SampleFailure] = []

    def record(self, failures: Sequence[SampleFailure], step: int | None = None) -> None:
        for f in failures:
            self.failures.append(f)
            log.warning("skipped training sample %s: %s", f.file, f.reason)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a") as fh:
                    fh.write(json.dumps({"step": step, **f.to_dict()}) + "\n")

    def __len__(self) -> int:
        return len(self.failures)


# --------------------------------------------------------------------------------------------------------------
# CSV indices
# --------------------------------------------------------------------------------------------------------------
_FORMATS = {
    "webvid": ("videoid", "page_dir", "name"),
    "openvid": ("video", "caption"),
    "generic": ("path", "caption"),
}


def _detect_format(csv: Path, columns: list[str]) -> str:
    for fmt, need in _FORMATS.items():
        if all(c in columns for c in need):
            return fmt
    raise DatasetFormatError(csv, None, f"header {columns} matches no known pair format; expected the columns of "
                                        + "; ".join(f"{k}: {list(v)}" for k, v in _FORMATS.items()))


def load_pairs(csv: str | Path, video_root: str | Path, fmt: str = "auto",
               failures: FailureLog | None = None) -> list[VideoTextPair]:
    """Read a WebVid / OpenVid / generic CSV into pairs whose ``path`` points under ``video_root``.

    Raises FileNotFoundError for a missing CSV or video root, :class:`DatasetFormatError` for a header without the
    needed columns. Rows with an empty path or caption are skipped and recorded in ``failures``.
    """
    import pandas as pd

    csv, root = Path(csv), Path(video_root)
    if not csv.is_file():
        raise FileNotFoundError(f"training CSV not found: {csv}")
    if not root.is_dir():
        raise FileNotFoundError(f"video root not found (or not a directory): {root}")
    try:
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except Exception as err:  # pandas ParserError, UnicodeDecodeError, EmptyDataError
        raise DatasetFormatError(csv, None, f"cannot parse as CSV ({type(err).__name__}: {err})") from err
    columns = list(df.columns)
    if fmt == "auto":
        fmt = _detect_format(csv, columns)
    elif fmt not in _FORMATS:
        raise ValueError(f"unknown pair format {fmt!r}; valid: 'auto', {sorted(_FORMATS)}")
    missing = [c for c in _FORMATS[fmt] if c not in columns]
    if missing:
        raise DatasetFormatError(csv, ",".join(missing), f"missing column(s) for the {fmt} format; header is {columns}")
    bad: list[SampleFailure] = []
    pairs: list[VideoTextPair] = []
    for row_no, row in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
        if fmt == "webvid":
            vid, rel, caption = row["videoid"].strip(), row["page_dir"].strip(), row["name"].strip()
            path = root / rel / f"{vid}.mp4" if vid and rel else None
        else:
            key = "video" if fmt == "openvid" else "path"
            vid, caption = row[key].strip(), row["caption"].strip()
            path = (root / vid) if vid else None
        if path is None or not caption:
            what = "video path" if path is None else "caption"
            bad.append(SampleFailure(sample_id=vid or None, file=str(csv), field=f"row {row_no}",
                                     reason=f"empty {what}; row skipped"))
            continue
        pairs.append(VideoTextPair(id=vid, path=str(path), caption=caption))
    if failures is not None and bad:
        failures.record(bad)
    return pairs


def probe_pairs(pairs: Sequence[VideoTextPair], failures: FailureLog | None = None,
                cache: str | Path | None = None) -> list[VideoTextPair]:
    """Fill frame count and size from each file's header; files that cannot be probed are dropped and recorded.

    ``cache`` (a JSON file) keeps the probed facts keyed by path, size and mtime, so a restart does not probe again.
    """
    cached: dict = {}
    cache = Path(cache) if cache else None
    if cache is not None and cache.is_file():
        try:
            cached = json.loads(cache.read_text())
        except json.JSONDecodeError:
            log.warning("ignoring unreadable probe cache %s", cache)
    out, bad, dirty = [], [], False
    for p in pairs:
        try:
            st = Path(p.path).stat()
            key = f"{p.path}|{st.st_size}|{st.st_mtime_ns}"
        except OSError:
            key = None
        facts = cached.get(key) if key else None
        if facts is None:
            try:
                info = probe_video(p.path)
            except SampleDecodeError as err:
                bad.append(err.to_failure(p.id))
                continue
            facts = [info.num_frames, info.width, info.height]
            if key:
                cached[key], dirty = facts, True
        out.append(VideoTextPair(p.id, p.path, p.caption, *facts))
    if failures is not None and bad:
        failures.record(bad)
    if cache is not None and dirty:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(cache.suffix + ".tmp")
        tmp.write_text(json.dumps(cached))
        tmp.replace(cache)
    return out


# --------------------------------------------------------------------------------------------------------------
# buckets and clips
# --------------------------------------------------------------------------------------------------------------
def aspect_key(width: int, height: int, aspects: Sequence[str] = tuple(ASPECT_RATIOS)) -> tuple[str, bool]:
    """Nearest listed aspect (in log ratio) of a ``width x height`` video, and whether it is portrait."""
    for a in aspects:
        if a not in ASPECT_RATIOS:
            raise ValueError(f"unknown aspect ratio {a!r}; valid: {list(ASPECT_RATIOS)}")
    portrait = height > width
    r = math.log(max(width, height) / min(width, height))
    best = min(aspects, key=lambda a: (abs(math.log(ASPECT_RATIOS[a]) - r), ASPECT_RATIOS[a]))
    return best, portrait and best != "1:1"


def bucket_shape(resolution: int, aspect: str, portrait: bool, multiple: int) -> tuple[int, int]:
    """(height, width) with about ``resolution**2`` pixels and ``width / height`` ~ the aspect (transposed if
    ``portrait``), both multiples of ``multiple`` and at least ``multiple``."""
    a = ASPECT_RATIOS[aspect]
    h = max(multiple, int(round(resolution / math.sqrt(a) / multiple)) * multiple)
    w = max(multiple, int(round(resolution * math.sqrt(a) / multiple)) * multiple)
    return (w, h) if portrait else (h, w)


def clip_indices(num_frames: int, frames: int, stride: int, rng: np.random.Generator | None,
                 path: str = "?") -> list[int]:
    """Indices of a ``frames``-frame clip: ``stride`` apart (or the largest stride <= ``stride`` that fits), at a
    random start when ``rng`` is given, centred otherwise. SampleDecodeError if the video has fewer frames."""
    if num_frames < frames:
        raise SampleDecodeError(path, f"video has {num_frames} frames; the clip needs {frames}")
    s = stride if frames == 1 else max(1, min(stride, (num_frames - 1) // (frames - 1)))
    return sample_indices(num_frames, frames, stride=s, mode="random" if rng is not None else "center", rng=rng)


def fit_to_bucket(frames: np.ndarray, height: int, width: int, rng: np.random.Generator | None) -> np.ndarray:
    """(T, h, w, 3) uint8 -> (T, height, width, 3): resize keeping the aspect ratio to cover the bucket, then crop
    (random offset when ``rng`` is given, centre otherwise)."""
    out = resize_frames(frames, (height, width), resize_mode="short_side")
    rh, rw = out.shape[1:3]
    if rng is None:
        top, left = (rh - height) // 2, (rw - width) // 2
    else:
        top, left = int(rng.integers(0, rh - height + 1)), int(rng.integers(0, rw - width + 1))
    return np.ascontiguousarray(out[:, top:top + height, left:left + width])


# --------------------------------------------------------------------------------------------------------------
# dataset, sampler, collate
# --------------------------------------------------------------------------------------------------------------
class PairDataset(torch.utils.data.Dataset):
    """Loads :class:`SampleRequest`s: ``dataset[request] -> {"video": (3, T, H, W) in [-1, 1] or None, "text",
    "id", "failures"}``. Tries ``request.fallbacks`` in order when a file fails; ``video`` is None only when all do.
    """

    def __init__(self, pairs: Sequence[VideoTextPair], frame_stride: int = 1):
        self.pairs = list(pairs)
        self.frame_stride = int(frame_stride)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int, bucket: Bucket, rng: np.random.Generator | None) -> torch.Tensor:
        p = self.pairs[index]
        n = p.num_frames if p.num_frames is not None else probe_video(p.path).num_frames
        idx = clip_indices(n, bucket.frames, self.frame_stride, rng, p.path)
        frames = read_frames(p.path, idx)
        return frames_to_tensor(fit_to_bucket(frames, bucket.height, bucket.width, rng))

    def __getitem__(self, request: SampleRequest) -> dict:
        failures: list[SampleFailure] = []
        for index in (request.index, *request.fallbacks):
            rng = np.random.default_rng(request.seed) if request.train else None
            p = self.pairs[index]
            try:
                video = self.load(index, request.bucket, rng)
            except SampleDecodeError as err:
                failures.append(err.to_failure(p.id))
                continue
            except Exception as err:  # a decoder bug must not kill a long run either; keep the reason
                failures.append(SampleFailure(p.id, p.path, None, f"{type(err).__name__}: {err}"))
                continue
            return {"video": video, "text": p.caption, "id": p.id, "failures": failures,
                    "position": request.position}
        return {"video": None, "text": None, "id": None, "failures": failures, "position": request.position}


def collate_pairs(items: list[dict]) -> dict:
    """Stack the loaded samples of one batch; failed slots are dropped, their failures kept."""
    ok = [it for it in items if it["video"] is not None]
    return {
        "video": torch.stack([it["video"] for it in ok]) if ok else None,
        "texts": [it["text"] for it in ok],
        "ids": [it["id"] for it in ok],
        "failures": [f for it in items for f in it["failures"]],
        "position": items[0]["position"] if items else None,
    }


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class BucketBatchSampler(torch.utils.data.Sampler):
    """Yields, per step, this rank's list of :class:`SampleRequest` — all of one bucket.

    Epoch ``e``: pairs are grouped by aspect key, each group shuffled with ``rng(seed, e)`` and cut into global
    batches of ``batch_size * world_size`` (the last one of a group filled by wrapping round the group, so small
    groups still train); the batches of all groups are shuffled together, and each batch draws its resolution and
    frame count. Rank ``r`` takes slots ``[r * batch_size, (r + 1) * batch_size)`` of each global batch.
    ``epochs=None`` iterates forever from ``start``; ``shuffle=False`` (evaluation) keeps the CSV order, the first
    resolution and frame count, and centre clips/crops.
    """

    def __init__(self, pairs: Sequence[VideoTextPair], batch_size: int, resolutions: Sequence[int],
                 frames: Sequence[int], aspects: Sequence[str] = tuple(ASPECT_RATIOS), multiple: int = 16,
                 seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True,
                 epochs: int | None = None, start: DataPosition | None = None, num_fallbacks: int = 3):
        if not pairs:
            raise ValueError("no usable training pairs (all rows failed or the CSV is empty)")
        if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad batch_size={batch_size}, rank={rank}, world_size={world_size}")
        for t in frames:
            if t < 1 or (t - 1) % 4:
                raise ValueError(f"clip lengths must be 1 + 4k frames (causal VAE), got {t}")
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.resolutions, self.frames = [int(r) for r in resolutions], [int(t) for t in frames]
        self.multiple, self.seed, self.shuffle, self.epochs = multiple, seed, shuffle, epochs
        self.start = start or DataPosition()
        self.num_fallbacks = num_fallbacks
        groups: dict[tuple[str, bool], list[int]] = {}
        for i, p in enumerate(pairs):
            if p.width is None or p.height is None:
                raise ValueError(f"pair {p.id} ({p.path}) was not probed; run probe_pairs first")
            groups.setdefault(aspect_key(p.width, p.height, aspects), []).append(i)
        self.groups = dict(sorted(groups.items()))

    def epoch_batches(self, epoch: int) -> list[tuple[tuple[str, bool], list[int], list[int], Bucket]]:
        """The global batches of an epoch: (group key, positions in the group order, group order, bucket) each."""
        rng = np.random.default_rng([self.seed, epoch])
        g_size = self.batch_size * self.world_size
        batches = []
        for key, members in self.groups.items():
            order = [int(i) for i in rng.permutation(members)] if self.shuffle else list(members)
            n_batches = math.ceil(len(order) / g_size)
            for b in range(n_batches):
                batches.append((key, [(b * g_size + j) % len(order) for j in range(g_size)], order))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        out = []
        for key, pos, order in batches:
            if self.shuffle:
                res, t = self.resolutions[rng.integers(len(self.resolutions))], self.frames[rng.integers(len(self.frames))]
            else:
                res, t = self.resolutions[0], self.frames[0]
            h, w = bucket_shape(res, key[0], key[1], self.multiple)
            out.append((key, pos, order, Bucket(t, h, w)))
        return out

    def __len__(self) -> int:
        """Batches per epoch."""
        g_size = self.batch_size * self.world_size
        return sum(math.ceil(len(m) / g_size) for m in self.groups.values())

    def __iter__(self) -> Iterator[list[SampleRequest]]:
        epoch, first = self.start.epoch, self.start.batch
        while self.epochs is None or epoch < self.epochs:
            for b, (key, positions, order, bucket) in enumerate(self.epoch_batches(epoch)):
                if b < first:
                    continue
                lo = self.rank * self.batch_size
                reqs = []
                for slot in range(lo, lo + self.batch_size):
                    pos = positions[slot]
                    i = order[pos]
                    fb = tuple(order[(pos + k) % len(order)] for k in range(1, self.num_fallbacks + 1)
                               if order[(pos + k) % len(order)] != i)
                    reqs.append(SampleRequest(i, fb, bucket, _seed(self.seed, epoch, b, slot), self.shuffle,
                                              (epoch, b)))
                yield reqs
            epoch, first = epoch + 1, 0


def _worker_init(_):
    torch.set_num_threads(1)  # decoding workers share the cores with the training process


def make_loader(dataset: PairDataset, sampler: BucketBatchSampler, num_workers: int = 0,
                prefetch_factor: int = 2) -> torch.utils.data.DataLoader:
    """DataLoader over ``sampler``'s batches (the sampler alone decides order and buckets)."""
    kw = dict(prefetch_factor=prefetch_factor, persistent_workers=False, worker_init_fn=_worker_init) if num_workers else {}
    # A private generator: DataLoader otherwise draws its base seed from the global torch RNG when an iterator is
    # created, which would shift the training RNG stream (masking) between a resumed and an uninterrupted run.
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                                       collate_fn=collate_pairs, generator=torch.Generator().manual_seed(0), **kw)
