"""YouTube-VIS 2021 and OVIS video instance segmentation: official annotation JSON, frame folders, results files.

Both datasets share the YouTube-VIS schema (Yang et al. 2019; OVIS, Qi et al. 2022, reuses it)::

    {"videos": [{"id", "width", "height", "length", "file_names": ["<video>/00000.jpg", ...]}, ...],
     "annotations": [{"id", "video_id", "category_id", "iscrowd",
                      "segmentations": [RLE | polygon | null per frame], "bboxes": [[x, y, w, h] | null per frame],
                      "areas": [a | null per frame], "height", "width", "length"}, ...],
     "categories": [{"id", "name", "supercategory"}, ...]}

Layouts (``LAYOUTS.md``):

* YouTube-VIS 2021: ``<root>/<split>/instances.json`` with frames ``<root>/<split>/JPEGImages/<file_name>``.
* OVIS: ``<root>/annotations/annotations_<split>.json`` with frames ``<root>/<split>/<file_name>``
  (e.g. ``<root>/train/<video>/img_0000001.jpg``).

``file_names`` lists the *annotated* frames (YouTube-VIS annotates every 5th frame, so ``00000.jpg, 00005.jpg``);
frame ``t`` of a video here is ``file_names[t]``, and ``segmentations[t]`` belongs to it.

Ground truth. The official ``valid``/``test`` annotations of both benchmarks are not public (``valid`` ships only
videos and categories; scoring happens on the challenge server). For a local evaluation with ground truth the
reader takes a held-out part of ``train`` through a **split file** listing video ids or video names (one per line,
``#`` comments allowed, or a JSON list). Which videos were held out must be reported with any number computed so,
since the published numbers are on the server's ``valid`` split.

Predictions use the official results format, a JSON list of
``{"video_id": int, "score": float, "category_id": int, "segmentations": [RLE | null per frame]}`` (what the
challenge server and the YouTube-VIS cocoapi ``loadRes`` accept); :func:`write_results` writes it from masks and
:func:`read_results` reads and validates it.

Validation. An unparseable file, a missing required field or a field of the wrong type raises
:class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file and the JSON path (e.g.
``annotations[3].segmentations[7].size``). Problems confined to one video become :class:`SampleFailure` records
in ``.failures`` and that video is left out: an RLE whose size disagrees with its video, per-frame lists whose
length differs from the video's, an annotation pointing at an unknown video or category, a missing frame folder.
Masks are decoded lazily (pycocotools), so a corrupt RLE string surfaces when that video is loaded
(``SampleDecodeError``), again one video at a time.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure
from benchmarks.datasets.rle import SegmentationSizeError, check_segmentation, decode_segmentation, encode_mask

__all__ = [
    "VisCategory",
    "VisInstance",
    "VisVideo",
    "VisPrediction",
    "VisResults",
    "YouTubeVISDataset",
    "OVISDataset",
    "load_json",
    "require_field",
    "read_split_file",
    "write_results",
    "read_results",
]


# --------------------------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VisCategory:
    id: int
    name: str
    supercategory: str | None = None


@dataclass
class VisInstance:
    """One annotated object track. Per-frame lists have one entry per frame of its video (None = absent)."""

    id: int
    video_id: int
    category_id: int
    category_name: str
    iscrowd: int
    segmentations: list[Any]
    bboxes: list[list[float] | None]
    areas: list[float | None]

    @property
    def present(self) -> np.ndarray:
        """``(T,)`` bool: frames in which the object has a segmentation."""
        return np.array([s is not None for s in self.segmentations], dtype=bool)

    def masks(self, height: int, width: int, indices: Sequence[int] | None = None, file: str = "") -> np.ndarray:
        """``(T, H, W)`` bool masks on frames ``indices`` (all when None); frames where it is absent are False.

        Raises SampleDecodeError (file = the annotation file, field = the JSON path) if an RLE cannot be decoded.
        """
        idx = range(len(self.segmentations)) if indices is None else [int(i) for i in indices]
        out = np.zeros((len(idx), height, width), dtype=bool)
        for j, t in enumerate(idx):
            seg = self.segmentations[t]
            if seg is None:
                continue
            try:
                out[j] = decode_segmentation(
                    seg, height, width, file=file, field=f"annotation id {self.id}.segmentations[{t}]"
                )
            except DatasetFormatError as err:
                raise SampleDecodeError(err.file, err.reason, field=err.field) from err
        return out


@dataclass
class VisVideo:
    """One video: its frames (``frame_paths[t]`` is ``file_names[t]`` under the frame root) and its instances."""

    id: int
    name: str
    width: int
    height: int
    length: int
    file_names: list[str]
    frame_paths: list[Path]
    instances: list[VisInstance] = field(default_factory=list)
    annotation_file: str = ""

    def __len__(self) -> int:
        return self.length

    def load_frames(
        self,
        indices: Sequence[int] | None = None,
        size: int | tuple[int, int] | None = None,
        resize_mode: str = "short_side",
        crop: str | None = None,
    ) -> np.ndarray:
        """``(T, H, W, 3)`` uint8 RGB of the annotated frames ``indices`` (all when None).

        Raises SampleDecodeError for a missing or unreadable frame file or an index outside the video.
        """
        from pyratok.data.video import read_image

        if not self.frame_paths:
            raise ValueError(f"video {self.id}: the dataset was built without a frame_root, so it has no frames")
        idx = range(self.length) if indices is None else [int(i) for i in indices]
        frames = []
        for t in idx:
            if t < 0 or t >= self.length:
                raise SampleDecodeError(self.frame_paths[0].parent, f"frame index {t} out of range: video {self.id} has {self.length} frames")
            img = read_image(self.frame_paths[t], size=size, resize_mode=resize_mode, crop=crop)
            if size is None and img.shape[:2] != (self.height, self.width):
                raise SampleDecodeError(
                    self.frame_paths[t],
                    f"frame is {img.shape[1]}x{img.shape[0]} but the annotation says {self.width}x{self.height}",
                )
            frames.append(img)
        return np.stack(frames)

    def instance_masks(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """``(N, T, H, W)`` bool masks of the N instances on frames ``indices`` (all when None); absent = False.

        Memory is N x T x H x W bytes (OVIS at 720p: ~1 MB per instance-frame); pass ``indices`` or use
        :meth:`VisInstance.masks` one track at a time for long or crowded videos. SampleDecodeError on a bad RLE.
        """
        idx = list(range(self.length)) if indices is None else [int(i) for i in indices]
        out = np.zeros((len(self.instances), len(idx), self.height, self.width), dtype=bool)
        for n, inst in enumerate(self.instances):
            out[n] = inst.masks(self.height, self.width, idx, file=self.annotation_file)
        return out

    @property
    def category_ids(self) -> list[int]:
        return [inst.category_id for inst in self.instances]


@dataclass
class VisPrediction:
    """One predicted track in the official results format. ``segmentations[t]`` is a compressed RLE or None."""

    video_id: int
    category_id: int
    score: float
    segmentations: list[dict | None]

    def masks(self, height: int, width: int) -> np.ndarray:
        """``(T, H, W)`` bool; frames with a null segmentation are all False."""
        out = np.zeros((len(self.segmentations), height, width), dtype=bool)
        for t, seg in enumerate(self.segmentations):
            m = decode_segmentation(seg, height, width, field=f"segmentations[{t}]")
            if m is not None:
                out[t] = m
        return out

    def to_json(self) -> dict:
        return {
            "video_id": int(self.video_id),
            "score": float(self.score),
            "category_id": int(self.category_id),
            "segmentations": self.segmentations,
        }

    @classmethod
    def from_masks(cls, video_id: int, category_id: int, score: float, masks: np.ndarray) -> "VisPrediction":
        """From ``(T, H, W)`` bool masks; an empty frame becomes null (the object is absent there)."""
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise ValueError(f"masks must be (T, H, W), got shape {masks.shape}")
        segs = [encode_mask(m) if m.any() else None for m in masks]
        return cls(int(video_id), int(category_id), float(score), segs)


@dataclass
class VisResults:
    """A results file read back: the valid predictions and the per-prediction problems."""

    file: str
    predictions: list[VisPrediction]
    failures: list[SampleFailure]


# --------------------------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------------------------
def load_json(path: str | Path) -> Any:
    """Parse a JSON file; DatasetFormatError naming the file (and line/column) if missing or unparseable."""
    p = Path(path)
    if not p.is_file():
        raise DatasetFormatError(p, None, "file does not exist")
    try:
        with open(p, "r", encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DatasetFormatError(p, f"line {err.lineno} column {err.colno}", f"invalid JSON ({err.msg})") from err
    except UnicodeDecodeError as err:
        raise DatasetFormatError(p, None, f"not UTF-8 text ({err})") from err


def require_field(obj: dict, key: str, types, file, where: str):
    """``obj[key]`` checked to be an instance of ``types`` (bool never passes for int/float); else DatasetFormatError."""
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(obj, dict):
        raise DatasetFormatError(file, where, f"expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise DatasetFormatError(file, f"{where}.{key}", "missing required field")
    v = obj[key]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        names = "/".join(t.__name__ for t in types)
        raise DatasetFormatError(file, f"{where}.{key}", f"expected {names}, got {type(v).__name__} {str(v)[:60]!r}")
    return v


def read_split_file(path: str | Path) -> list[str]:
    """Video ids or names of a held-out split: one per line (``#`` comments, blanks skipped) or a JSON list."""
    p = Path(path)
    if not p.is_file():
        raise DatasetFormatError(p, None, "split file does not exist")
    text = p.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        items = load_json(p)
        if not isinstance(items, list) or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in items):
            raise DatasetFormatError(p, None, "JSON split file must be a list of video ids or names")
        out = [str(v) for v in items]
    else:
        out = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        out = [v for v in out if v]
    if not out:
        raise DatasetFormatError(p, None, "split file lists no videos")
    return out


# --------------------------------------------------------------------------------------------------------------
# dataset
# --------------------------------------------------------------------------------------------------------------
class YouTubeVISDataset:
    """Videos of one YouTube-VIS-format annotation file with their instance tracks.

    ``annotation_file``: the JSON; ``frame_root``: the folder that ``file_names`` are relative to (None: frames are
    not needed, e.g. to evaluate results files). ``split_file``: keep only the videos it lists (ids or names).
    ``check_frames``: require each video's frame folder to exist (missing -> SampleFailure, video left out).

    ``len(ds)``, ``ds[i]`` (a :class:`VisVideo`), iteration, ``ds.video(video_id)``; ``ds.categories`` in file
    order; ``ds.failures`` the videos left out and why; ``ds.has_annotations`` False for a ``valid``/``test`` file.
    """

    name = "ytvis2021"

    def __init__(
        self,
        annotation_file: str | Path,
        frame_root: str | Path | None = None,
        *,
        split_file: str | Path | None = None,
        check_frames: bool = True,
    ):
        self.annotation_file = Path(annotation_file)
        self.frame_root = Path(frame_root) if frame_root is not None else None
        self.split_file = Path(split_file) if split_file is not None else None
        self.failures: list[SampleFailure] = []
        data = load_json(self.annotation_file)
        self._parse(data)
        if self.split_file is not None:
            self._apply_split(read_split_file(self.split_file))
        if self.frame_root is not None and check_frames:
            self._check_frames()

    # ---- construction -------------------------------------------------------------------------------------
    def _parse(self, data: Any) -> None:
        f = self.annotation_file
        if not isinstance(data, dict):
            raise DatasetFormatError(f, None, f"top level must be an object, got {type(data).__name__}")
        for key in ("videos", "categories"):
            if key not in data:
                raise DatasetFormatError(f, key, "missing required field")
            if not isinstance(data[key], list):
                raise DatasetFormatError(f, key, f"expected a list, got {type(data[key]).__name__}")
        anns = data.get("annotations")
        self.has_annotations = anns is not None
        if anns is None:
            anns = []
        elif not isinstance(anns, list):
            raise DatasetFormatError(f, "annotations", f"expected a list or null, got {type(anns).__name__}")

        self.categories: list[VisCategory] = []
        for i, c in enumerate(data["categories"]):
            w = f"categories[{i}]"
            cid = require_field(c, "id", int, f, w)
            name = require_field(c, "name", str, f, w)
            sup = c.get("supercategory") if isinstance(c.get("supercategory"), str) else None
            self.categories.append(VisCategory(cid, name, sup))
        self.category_by_id = {c.id: c for c in self.categories}
        if len(self.category_by_id) != len(self.categories):
            raise DatasetFormatError(f, "categories", "category ids are not unique")

        videos: dict[int, VisVideo] = {}
        for i, v in enumerate(data["videos"]):
            w = f"videos[{i}]"
            vid = require_field(v, "id", int, f, w)
            width = require_field(v, "width", int, f, w)
            height = require_field(v, "height", int, f, w)
            names = require_field(v, "file_names", list, f, w)
            if not all(isinstance(n, str) and n for n in names):
                raise DatasetFormatError(f, f"{w}.file_names", "expected a list of non-empty strings")
            length = v.get("length", len(names))
            if not isinstance(length, int) or isinstance(length, bool):
                raise DatasetFormatError(f, f"{w}.length", f"expected int, got {type(length).__name__}")
            if vid in videos:
                raise DatasetFormatError(f, f"{w}.id", f"video id {vid} repeated")
            if width <= 0 or height <= 0:
                raise DatasetFormatError(f, w, f"video size must be positive, got {width}x{height}")
            if length != len(names):
                raise DatasetFormatError(f, f"{w}.length", f"length {length} but {len(names)} file_names")
            if not names:
                raise DatasetFormatError(f, f"{w}.file_names", "video has no frames")
            vname = Path(names[0]).parent.as_posix() or Path(names[0]).stem
            root = self.frame_root
            videos[vid] = VisVideo(
                id=vid, name=vname, width=width, height=height, length=length, file_names=list(names),
                frame_paths=[root / n for n in names] if root is not None else [], annotation_file=str(f),
            )

        bad_videos: dict[int, SampleFailure] = {}
        for i, a in enumerate(anns):
            w = f"annotations[{i}]"
            aid = require_field(a, "id", int, f, w)
            vid = require_field(a, "video_id", int, f, w)
            cid = require_field(a, "category_id", int, f, w)
            segs = require_field(a, "segmentations", list, f, w)
            iscrowd = a.get("iscrowd", 0)
            if not isinstance(iscrowd, int):
                raise DatasetFormatError(f, f"{w}.iscrowd", f"expected int, got {type(iscrowd).__name__}")
            bboxes = a.get("bboxes", [None] * len(segs))
            areas = a.get("areas", [None] * len(segs))
            if not isinstance(bboxes, list):
                raise DatasetFormatError(f, f"{w}.bboxes", f"expected a list, got {type(bboxes).__name__}")
            if not isinstance(areas, list):
                raise DatasetFormatError(f, f"{w}.areas", f"expected a list, got {type(areas).__name__}")
            for t, b in enumerate(bboxes):
                if b is not None and not (isinstance(b, list) and len(b) == 4 and all(_num(x) for x in b)):
                    raise DatasetFormatError(f, f"{w}.bboxes[{t}]", f"expected [x, y, w, h] or null, got {b!r}")
            for t, ar in enumerate(areas):
                if ar is not None and not _num(ar):
                    raise DatasetFormatError(f, f"{w}.areas[{t}]", f"expected a number or null, got {ar!r}")
            video = videos.get(vid)
            if video is None:
                self.failures.append(SampleFailure(str(vid), str(f), f"{w}.video_id", f"annotation {aid} refers to unknown video {vid}"))
                continue
            if vid in bad_videos:
                continue
            try:
                # Structure errors raise DatasetFormatError (file-level); a size mismatch is this video's problem.
                for t, seg in enumerate(segs):
                    check_segmentation(seg, video.height, video.width, file=f, field=f"{w}.segmentations[{t}]")
                for name, lst in (("segmentations", segs), ("bboxes", bboxes), ("areas", areas)):
                    if len(lst) != video.length:
                        raise _VideoProblem(f"{w}.{name}", f"has {len(lst)} entries but video {vid} has {video.length} frames")
                if cid not in self.category_by_id:
                    raise _VideoProblem(f"{w}.category_id", f"unknown category {cid}")
            except SegmentationSizeError as err:
                bad_videos[vid] = SampleFailure(str(vid), str(f), err.field, err.reason)
                continue
            except _VideoProblem as err:
                bad_videos[vid] = SampleFailure(str(vid), str(f), err.field, err.reason)
                continue
            video.instances.append(
                VisInstance(
                    id=aid, video_id=vid, category_id=cid, category_name=self.category_by_id[cid].name,
                    iscrowd=int(iscrowd), segmentations=segs, bboxes=bboxes, areas=areas,
                )
            )
        self.failures.extend(bad_videos.values())
        self.videos: list[VisVideo] = [v for v in videos.values() if v.id not in bad_videos]
        self._all_ids = {v.id for v in videos.values()}
        self._all_names = {v.name: v.id for v in videos.values()}

    def _apply_split(self, keys: list[str]) -> None:
        wanted: set[int] = set()
        for n, key in enumerate(keys, start=1):
            if key.isdigit() and int(key) in self._all_ids:
                wanted.add(int(key))
            elif key in self._all_names:
                wanted.add(self._all_names[key])
            else:
                raise DatasetFormatError(
                    self.split_file, f"entry {n}", f"{key!r} is neither a video id nor a video name of {self.annotation_file}"
                )
        self.videos = [v for v in self.videos if v.id in wanted]

    def _check_frames(self) -> None:
        kept = []
        for v in self.videos:
            folder = v.frame_paths[0].parent
            if not folder.is_dir():
                self.failures.append(SampleFailure(str(v.id), str(folder), "file_names", "frame folder does not exist"))
            else:
                kept.append(v)
        self.videos = kept

    # ---- access ------------------------------------------------------------------------------------------
    @classmethod
    def from_root(cls, root: str | Path, split: str = "train", **kwargs) -> "YouTubeVISDataset":
        """``<root>/<split>/instances.json`` with frames under ``<root>/<split>/JPEGImages/``."""
        root = Path(root)
        return cls(root / split / "instances.json", root / split / "JPEGImages", **kwargs)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> VisVideo:
        return self.videos[i]

    def __iter__(self) -> Iterator[VisVideo]:
        return iter(self.videos)

    def video(self, video_id: int) -> VisVideo:
        for v in self.videos:
            if v.id == video_id:
                return v
        raise KeyError(f"video {video_id} is not in {self.annotation_file} (or was left out: see .failures)")

    @property
    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]


class OVISDataset(YouTubeVISDataset):
    """OVIS (Occluded Video Instance Segmentation): the YouTube-VIS schema in the OVIS layout."""

    name = "ovis"

    @classmethod
    def from_root(cls, root: str | Path, split: str = "train", **kwargs) -> "OVISDataset":
        """``<root>/annotations/annotations_<split>.json`` with frames under ``<root>/<split>/``."""
        root = Path(root)
        return cls(root / "annotations" / f"annotations_{split}.json", root / split, **kwargs)


class _VideoProblem(Exception):
    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# --------------------------------------------------------------------------------------------------------------
# results files
# --------------------------------------------------------------------------------------------------------------
def write_results(path: str | Path, predictions: Iterable[VisPrediction]) -> Path:
    """Write predictions as the official results JSON list (``results.json`` of a challenge submission)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    items = [pred.to_json() for pred in predictions]
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(items, fh)
    tmp.replace(p)  # atomic: a killed run never leaves half a results file behind
    return p


def read_results(path: str | Path, dataset: YouTubeVISDataset | None = None) -> VisResults:
    """Read and validate a results JSON.

    Structure errors (not a list, missing/mistyped ``video_id``/``score``/``category_id``/``segmentations``,
    malformed RLE) raise DatasetFormatError naming the file and ``[i].field``. With ``dataset``, a prediction for
    a video not in it, with a frame count or RLE size that disagrees with its video, or an unknown category, is
    recorded in ``failures`` and left out.
    """
    p = Path(path)
    data = load_json(p)
    if not isinstance(data, list):
        raise DatasetFormatError(p, None, f"results must be a JSON list of predictions, got {type(data).__name__}")
    preds: list[VisPrediction] = []
    failures: list[SampleFailure] = []
    videos = {v.id: v for v in dataset.videos} if dataset is not None else {}
    for i, r in enumerate(data):
        w = f"[{i}]"
        vid = require_field(r, "video_id", int, p, w)
        cid = require_field(r, "category_id", int, p, w)
        score = require_field(r, "score", (int, float), p, w)
        segs = require_field(r, "segmentations", list, p, w)
        for t, seg in enumerate(segs):
            if seg is not None and not (isinstance(seg, dict) and "counts" in seg and "size" in seg):
                raise DatasetFormatError(p, f"{w}.segmentations[{t}]", "expected an RLE {size, counts} or null")
        pred = VisPrediction(vid, cid, float(score), segs)
        if dataset is not None:
            video = videos.get(vid)
            try:
                if video is None:
                    raise _VideoProblem(f"{w}.video_id", f"video {vid} is not in {dataset.annotation_file}")
                if cid not in dataset.category_by_id:
                    raise _VideoProblem(f"{w}.category_id", f"unknown category {cid}")
                if len(segs) != video.length:
                    raise _VideoProblem(f"{w}.segmentations", f"has {len(segs)} frames, video {vid} has {video.length}")
                for t, seg in enumerate(segs):
                    check_segmentation(seg, video.height, video.width, file=p, field=f"{w}.segmentations[{t}]")
            except (_VideoProblem, SegmentationSizeError) as err:
                failures.append(SampleFailure(str(vid), str(p), err.field, err.reason))
                continue
        else:
            for t, seg in enumerate(segs):
                if seg is not None:
                    size = seg.get("size")
                    if not (isinstance(size, list) and len(size) == 2):
                        raise DatasetFormatError(p, f"{w}.segmentations[{t}].size", f"RLE size must be [height, width], got {size!r}")
                    check_segmentation(seg, size[0], size[1], file=p, field=f"{w}.segmentations[{t}]")
        preds.append(pred)
    return VisResults(str(p), preds, failures)

