"""ActivityNet v1.3 temporal action annotations (the ``activity_net.v1-3.min.json`` "database" format).

Official file layout (Caba Heilbron et al., CVPR 2015; release v1.3)::

    {"version": "VERSION 1.3",
     "taxonomy": [{"nodeId", "nodeName", "parentId", "parentName"}, ...],
     "database": {"<youtube id>": {"subset": "training" | "validation" | "testing",
                                   "duration": 123.4,                 # seconds
                                   "resolution": "1280x720",
                                   "url": "https://www.youtube.com/watch?v=<id>",
                                   "annotations": [{"segment": [s, e], "label": "Long jump"}, ...]}}}

The same "database" layout (possibly without the outer ``{"database": ...}`` wrapper, and with subsets
``validation``/``test``) is the usual conversion of THUMOS14, so :func:`parse_database` is shared with
``thumos14.py``.

Videos are ``<root>/videos/v_<id>.mp4`` (the name the official crawler gives them); ``<id>.mp4`` and the
``.mkv``/``.webm`` containers that YouTube downloads also come in are accepted.

Reading is lazy: constructing :class:`ActivityNetDataset` parses and validates the JSON and checks which video files
exist; frames are decoded only by :meth:`ActivityNetDataset.load_frames` (``pyratok.data.video.read_frames``).

Validation: a wrong top-level shape, a missing or wrongly typed field, or a segment whose end precedes its start
raises :class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file and the JSON path
(e.g. ``database.v_abc.annotations[2].segment``). Segments that run slightly past ``duration`` are kept as given:
the official v1.3 file contains such segments and the official evaluation does not clip them.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure

__all__ = [
    "ACTIVITYNET_SUBSETS",
    "ACTIVITYNET_JSON_NAME",
    "Segment",
    "TemporalVideo",
    "ActivityNetAnnotations",
    "parse_database",
    "load_activitynet_json",
    "taxonomy_leaves",
    "read_json",
    "find_video",
    "TemporalVideoDataset",
    "ActivityNetDataset",
]

ACTIVITYNET_SUBSETS = ("training", "validation", "testing")
ACTIVITYNET_JSON_NAME = "activity_net.v1-3.min.json"
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm")


@dataclass(frozen=True)
class Segment:
    """One labelled action instance: ``[start, end]`` in seconds from the video start."""

    start: float
    end: float
    label: str

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass
class TemporalVideo:
    """One untrimmed video with its action segments.

    ``duration`` in seconds (None when the source does not give it, e.g. THUMOS txt files); ``frames``/``fps`` the
    frame count and rate when the source records them; ``ambiguous`` holds THUMOS "Ambiguous" intervals (never scored as positives
    nor negatives); ``path`` is the video file, or None if it was not found / not looked up.
    """

    video_id: str
    subset: str
    duration: float | None
    segments: tuple[Segment, ...]
    ambiguous: tuple[tuple[float, float], ...] = ()
    resolution: str | None = None
    url: str | None = None
    frames: int | None = None
    fps: float | None = None
    path: Path | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Distinct labels of this video's segments, sorted."""
        return tuple(sorted({s.label for s in self.segments}))


@dataclass
class ActivityNetAnnotations:
    """A parsed ActivityNet-style file: ``videos`` maps video id -> :class:`TemporalVideo`."""

    file: str
    videos: dict[str, TemporalVideo]
    version: str | None = None
    taxonomy: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Every label used by at least one segment, sorted."""
        return sorted({s.label for v in self.videos.values() for s in v.segments})


# ------------------------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------------------------
def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _segment(file: str, where: str, ann: Any) -> Segment:
    if not isinstance(ann, dict):
        raise DatasetFormatError(file, where, f"expected an object with 'segment' and 'label', got {type(ann).__name__}")
    if "segment" not in ann:
        raise DatasetFormatError(file, f"{where}.segment", "missing required field")
    if "label" not in ann:
        raise DatasetFormatError(file, f"{where}.label", "missing required field")
    seg, label = ann["segment"], ann["label"]
    if not isinstance(seg, (list, tuple)) or len(seg) != 2 or not all(_is_number(v) for v in seg):
        raise DatasetFormatError(file, f"{where}.segment", f"expected [start, end] as two numbers, got {seg!r}")
    if not isinstance(label, str) or not label:
        raise DatasetFormatError(file, f"{where}.label", f"expected a non-empty string, got {label!r}")
    start, end = float(seg[0]), float(seg[1])
    if start < 0:
        raise DatasetFormatError(file, f"{where}.segment", f"start {start} is negative")
    if end < start:
        raise DatasetFormatError(file, f"{where}.segment", f"end {end} is before start {start}")
    return Segment(start, end, label)


def parse_database(
    data: Any,
    file: str | Path,
    allowed_subsets: Sequence[str] = ACTIVITYNET_SUBSETS,
    require_wrapper: bool = True,
    subset_aliases: Mapping[str, str] | None = None,
) -> dict[str, TemporalVideo]:
    """Validate an ActivityNet-style ``database`` and return ``{video_id: TemporalVideo}`` (file order kept).

    ``data`` is the decoded JSON. With ``require_wrapper=False`` a bare ``{video_id: entry}`` mapping (the common
    THUMOS14 conversion) is also accepted. Required per video: ``subset`` (one of ``allowed_subsets``),
    ``duration`` (number > 0), ``annotations`` (list, may be empty: the official testing subset has none).
    Optional: ``resolution``, ``url`` (strings), ``frames`` (integer), ``fps`` (number), ``ambiguous`` (list of
    ``[s, e]``). ``subset_aliases`` maps lower-cased variant spellings to the canonical subset names (THUMOS14
    conversions write ``"Validation"``/``"Test"``); without it the subset must match exactly.
    """
    file = str(file)
    if not isinstance(data, dict):
        raise DatasetFormatError(file, None, f"top level must be a JSON object, got {type(data).__name__}")
    if "database" in data:
        db, prefix = data["database"], "database"
    elif require_wrapper:
        raise DatasetFormatError(file, "database", "missing required field")
    else:
        db, prefix = data, ""
    if not isinstance(db, dict):
        raise DatasetFormatError(file, prefix or None, f"expected an object {{video_id: entry}}, got {type(db).__name__}")
    videos: dict[str, TemporalVideo] = {}
    for vid, entry in db.items():
        where = f"{prefix}.{vid}" if prefix else vid
        if not isinstance(entry, dict):
            raise DatasetFormatError(file, where, f"expected an object, got {type(entry).__name__}")
        for key in ("subset", "duration", "annotations"):
            if key not in entry:
                raise DatasetFormatError(file, f"{where}.{key}", "missing required field")
        subset = entry["subset"]
        if subset_aliases is not None and isinstance(subset, str):
            subset = subset_aliases.get(subset.lower(), subset)
        if not isinstance(subset, str) or subset not in allowed_subsets:
            raise DatasetFormatError(file, f"{where}.subset", f"expected one of {list(allowed_subsets)}, got {subset!r}")
        duration = entry["duration"]
        if not _is_number(duration) or float(duration) <= 0:
            raise DatasetFormatError(file, f"{where}.duration", f"expected a positive number of seconds, got {duration!r}")
        anns = entry["annotations"]
        if not isinstance(anns, list):
            raise DatasetFormatError(file, f"{where}.annotations", f"expected a list, got {type(anns).__name__}")
        segments = tuple(_segment(file, f"{where}.annotations[{i}]", a) for i, a in enumerate(anns))
        extra: dict[str, Any] = {}
        for key in ("resolution", "url"):
            if key in entry and entry[key] is not None:
                if not isinstance(entry[key], str):
                    raise DatasetFormatError(file, f"{where}.{key}", f"expected a string, got {entry[key]!r}")
                extra[key] = entry[key]
        if "frames" in entry and entry["frames"] is not None:
            fr = entry["frames"]
            if not (_is_number(fr) and float(fr) == int(fr) and fr >= 0):
                raise DatasetFormatError(file, f"{where}.frames", f"expected a non-negative integer, got {fr!r}")
            extra["frames"] = int(fr)
        if "fps" in entry and entry["fps"] is not None:
            if not _is_number(entry["fps"]) or entry["fps"] <= 0:
                raise DatasetFormatError(file, f"{where}.fps", f"expected a positive number, got {entry['fps']!r}")
            extra["fps"] = float(entry["fps"])
        ambiguous: list[tuple[float, float]] = []
        if "ambiguous" in entry:
            amb = entry["ambiguous"]
            if not isinstance(amb, list):
                raise DatasetFormatError(file, f"{where}.ambiguous", f"expected a list of [start, end], got {amb!r}")
            for i, a in enumerate(amb):
                s = _segment(file, f"{where}.ambiguous[{i}]", {"segment": a, "label": "Ambiguous"})
                ambiguous.append((s.start, s.end))
        videos[str(vid)] = TemporalVideo(
            video_id=str(vid), subset=subset, duration=float(duration), segments=segments,
            ambiguous=tuple(ambiguous), **extra,
        )
    return videos


def read_json(path: str | Path) -> Any:
    """Decode a JSON file; DatasetFormatError (file, line/column) when missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, None, "annotation file does not exist")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DatasetFormatError(path, f"line {err.lineno} column {err.colno}", f"invalid JSON ({err.msg})") from err
    except UnicodeDecodeError as err:
        raise DatasetFormatError(path, None, f"not UTF-8 text ({err})") from err


def _taxonomy(file: str, tax: Any) -> list[dict[str, Any]]:
    if not isinstance(tax, list):
        raise DatasetFormatError(file, "taxonomy", f"expected a list of nodes, got {type(tax).__name__}")
    for i, node in enumerate(tax):
        if not isinstance(node, dict):
            raise DatasetFormatError(file, f"taxonomy[{i}]", f"expected an object, got {type(node).__name__}")
        for key in ("nodeName", "parentName"):
            if key not in node:
                raise DatasetFormatError(file, f"taxonomy[{i}].{key}", "missing required field")
        if not isinstance(node["nodeName"], str):
            raise DatasetFormatError(file, f"taxonomy[{i}].nodeName", f"expected a string, got {node['nodeName']!r}")
    return tax


def load_activitynet_json(path: str | Path) -> ActivityNetAnnotations:
    """Parse and validate ``activity_net.v1-3.min.json`` (``version``, ``taxonomy``, ``database``).

    ``database`` is required; ``version`` (string) and ``taxonomy`` (list of nodes) are optional but type-checked
    when present.
    """
    path = Path(path)
    data = read_json(path)
    videos = parse_database(data, path, ACTIVITYNET_SUBSETS, require_wrapper=True)
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        raise DatasetFormatError(path, "version", f"expected a string, got {version!r}")
    taxonomy = _taxonomy(str(path), data["taxonomy"]) if data.get("taxonomy") is not None else []
    return ActivityNetAnnotations(file=str(path), videos=videos, version=version, taxonomy=taxonomy)


def taxonomy_leaves(taxonomy: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the taxonomy nodes that are nobody's parent — the action classes (200 in v1.3), sorted."""
    parents = {n.get("parentName") for n in taxonomy}
    return sorted({n["nodeName"] for n in taxonomy if n["nodeName"] not in parents})


# ------------------------------------------------------------------------------------------------------------------
# dataset
# ------------------------------------------------------------------------------------------------------------------
def find_video(video_dir: Path, names: Sequence[str], extensions: Sequence[str] = VIDEO_EXTENSIONS) -> Path | None:
    """First existing ``video_dir/<name><ext>`` over ``names`` x ``extensions``, or None."""
    for name in names:
        for ext in extensions:
            p = video_dir / f"{name}{ext}"
            if p.is_file():
                return p
    return None


class TemporalVideoDataset:
    """Common part of the temporal-localization readers (ActivityNet, THUMOS14): a list of videos, the
    failures met while indexing, and lazy frame decoding."""

    root: Path
    classes: list[str]
    videos: list[TemporalVideo]
    failures: list[SampleFailure]

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> TemporalVideo:
        return self.videos[i]

    def zero_shot_splits(self, setting: str, num_splits: int | None = 10) -> list:
        """The seen/unseen class splits ``root/zero_shot_splits/<setting>/split_XX/`` (``setting`` ``"50_50"`` or
        ``"75_25"``), validated against :attr:`classes` (see ``zero_shot_splits.read_splits``)."""
        from benchmarks.datasets.zero_shot_splits import SPLITS_DIRNAME, read_splits

        return read_splits(self.root / SPLITS_DIRNAME, setting, self.classes, num_splits)

    def load_frames(self, video: TemporalVideo, indices: Sequence[int] | None = None, **kwargs) -> np.ndarray:
        """Decode frames of ``video`` with ``pyratok.data.video.read_frames`` -> ``(T, H, W, 3)`` uint8 RGB.

        ``kwargs`` (``times=``, ``size=``, ``resize_mode=``, ``crop=``) are passed through. Raises SampleDecodeError.
        """
        if video.path is None:
            raise SampleDecodeError(
                video.video_id, "no video file (dataset was read with check_media=False, or the file is missing)"
            )
        from pyratok.data.video import read_frames  # lazy: indexing needs no decoder

        return read_frames(video.path, indices, **kwargs)

    def iter_frames(self, indices: Sequence[int] | None = None, **kwargs) -> Iterator[tuple[TemporalVideo, np.ndarray]]:
        """Yield ``(video, frames)`` for every video; one that fails to decode is added to :attr:`failures`."""
        for video in self.videos:
            try:
                frames = self.load_frames(video, indices, **kwargs)
            except SampleDecodeError as err:
                self.failures.append(err.to_failure(video.video_id))
                continue
            yield video, frames


class ActivityNetDataset(TemporalVideoDataset):
    """ActivityNet v1.3 videos of one subset, with their segments.

    ``root`` holds ``activity_net.v1-3.min.json`` (or pass ``annotation_file``) and ``videos/``. ``subset`` is
    ``"training"``, ``"validation"`` (the subset the paper's Table 4 and the zero-shot literature evaluate on) or
    ``"testing"``. With ``check_media=True`` every listed video is looked up on disk; a missing one is recorded in
    :attr:`failures` (a :class:`SampleFailure`) and left out of :attr:`videos` — the reader carries on.
    With ``check_media=False`` only the annotations are read (``path`` stays None).
    """

    def __init__(
        self,
        root: str | Path,
        subset: str = "validation",
        annotation_file: str | Path | None = None,
        video_dir: str | Path | None = None,
        check_media: bool = True,
    ):
        if subset not in ACTIVITYNET_SUBSETS:
            raise ValueError(f"unknown ActivityNet subset {subset!r}; valid: {list(ACTIVITYNET_SUBSETS)}")
        self.root = Path(root)
        self.subset = subset
        self.annotation_file = Path(annotation_file) if annotation_file else self.root / ACTIVITYNET_JSON_NAME
        self.video_dir = Path(video_dir) if video_dir else self.root / "videos"
        self.annotations = load_activitynet_json(self.annotation_file)
        self.failures: list[SampleFailure] = []
        self.videos: list[TemporalVideo] = []
        for vid, video in self.annotations.videos.items():
            if video.subset != subset:
                continue
            if check_media:
                # Official ids are bare YouTube ids; the official crawler saves v_<id>.mp4.
                video.path = find_video(self.video_dir, [f"v_{vid}", vid])
                if video.path is None:
                    self.failures.append(
                        SampleFailure(vid, str(self.video_dir / f"v_{vid}.mp4"), None, "video file not found")
                    )
                    continue
            self.videos.append(video)

    @property
    def classes(self) -> list[str]:
        """The action classes: taxonomy leaves when the file has a taxonomy, else every label used (sorted)."""
        return taxonomy_leaves(self.annotations.taxonomy) if self.annotations.taxonomy else self.annotations.labels
