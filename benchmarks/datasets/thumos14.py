"""THUMOS14 temporal action detection annotations: the official per-class txt files and the ActivityNet-style JSON.

Official layout (THUMOS Challenge 2014, Idrees et al., CVIU 2017): the validation set (200 annotated untrimmed
videos, used as the training set of temporal localization) and the test set (212 or 213 annotated videos) each ship
one file per detection class, ``<Class>_val.txt`` / ``<Class>_test.txt``, with lines::

    video_validation_0000051 67.5 75.9          # <video id> <start s> <end s>, whitespace separated

plus ``Ambiguous_val.txt`` / ``Ambiguous_test.txt``: intervals whose label the annotators could not decide. They are
kept separately (:attr:`TemporalVideo.ambiguous`) and are never class segments; the official evaluation ignores
detections that fall in them.

The widely used JSON conversion has the ActivityNet "database" layout, usually *without* the outer
``{"database": ...}`` wrapper (the real file in ``shared/realdata/annotations/thumos14/thumos14.json`` has none;
the synthetic writer adds one): ``{vid: {"subset": "validation" | "test", "duration", "frames"?, "annotations":
[{"segment": [s, e], "label"}]}}``. Both are accepted. :func:`txt_to_json` and :func:`json_to_txt` convert between
the two; the JSON side may carry an optional ``"ambiguous": [[s, e], ...]`` list per video so that the Ambiguous
intervals survive a round trip (readers that do not know the key ignore it).

Dataset root layout (``LAYOUTS.md``): ``thumos14.json`` and/or ``annotations/val/<Class>_val.txt`` +
``annotations/test/<Class>_test.txt``; videos ``videos/validation/<vid>.mp4`` and ``videos/test/<vid>.mp4``
(a flat ``videos/<vid>.mp4`` is also accepted). Zero-shot class splits live under ``zero_shot_splits/``
(see ``zero_shot_splits.py``).

Only videos with at least one class segment are listed from txt files; an id that appears only in
``Ambiguous_*.txt`` has nothing to localize and is not a sample.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Mapping

from benchmarks.datasets.activitynet import (
    ActivityNetAnnotations,
    Segment,
    TemporalVideo,
    TemporalVideoDataset,
    read_json,
    find_video,
    parse_database,
)
from benchmarks.datasets.errors import DatasetFormatError, SampleFailure

__all__ = [
    "THUMOS14_CLASSES",
    "THUMOS14_SUBSETS",
    "TXT_SUFFIX",
    "read_segment_txt",
    "read_txt_annotations",
    "read_thumos_json",
    "txt_to_json",
    "json_to_txt",
    "Thumos14Dataset",
]

# The 20 detection classes (official ``detclasslist.txt``) with their UCF-101 class indices (1-based, classInd.txt):
# THUMOS14's classes are a subset of UCF-101's.
THUMOS14_CLASSES: dict[str, int] = {
    "BaseballPitch": 7, "BasketballDunk": 9, "Billiards": 12, "CleanAndJerk": 21, "CliffDiving": 22,
    "CricketBowling": 23, "CricketShot": 24, "Diving": 26, "FrisbeeCatch": 31, "GolfSwing": 33,
    "HammerThrow": 36, "HighJump": 40, "JavelinThrow": 45, "LongJump": 51, "PoleVault": 68,
    "Shotput": 79, "SoccerPenalty": 85, "TennisSwing": 92, "ThrowDiscus": 93, "VolleyballSpiking": 97,
}
THUMOS14_SUBSETS = ("validation", "test")
# txt files name the validation subset "val".
TXT_SUFFIX = {"validation": "val", "test": "test"}
# Subset spellings of common JSON conversions (e.g. ActionFormer's "Validation"/"Test"), lower-cased -> canonical.
SUBSET_ALIASES = {"validation": "validation", "val": "validation", "test": "test", "testing": "test"}
AMBIGUOUS = "Ambiguous"
JSON_NAME = "thumos14.json"


def _subset_check(subset: str) -> str:
    if subset not in THUMOS14_SUBSETS:
        raise ValueError(f"unknown THUMOS14 subset {subset!r}; valid: {list(THUMOS14_SUBSETS)}")
    return subset


# ------------------------------------------------------------------------------------------------------------------
# txt files
# ------------------------------------------------------------------------------------------------------------------
def read_segment_txt(path: str | Path) -> list[tuple[str, float, float]]:
    """Parse one official ``<Class>_<subset>.txt`` (or ``Ambiguous_<subset>.txt``) -> ``[(video_id, start, end)]``.

    Blank lines are skipped. A line without exactly three whitespace-separated fields, a non-numeric time, a
    negative start or an end before the start raises DatasetFormatError naming the file and ``line N``.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, None, "annotation file does not exist")
    out = []
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"line {n}"
            if len(parts) != 3:
                raise DatasetFormatError(
                    path, where, f"expected '<video_id> <start> <end>', got {len(parts)} fields: {line.strip()!r}"
                )
            vid, s, e = parts
            try:
                start, end = float(s), float(e)
            except ValueError:
                raise DatasetFormatError(path, where, f"start/end must be numbers (seconds), got {s!r} {e!r}") from None
            if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
                raise DatasetFormatError(path, where, f"start/end must be finite and start non-negative, got {s} {e}")
            if end < start:
                raise DatasetFormatError(path, where, f"end {end} is before start {start}")
            out.append((vid, start, end))
    return out


def read_txt_annotations(
    annotation_dir: str | Path,
    subset: str,
    durations: Mapping[str, float] | None = None,
) -> dict[str, TemporalVideo]:
    """Read every ``<Class>_<val|test>.txt`` of ``annotation_dir`` into ``{video_id: TemporalVideo}``.

    The class of a file is its name without the ``_<val|test>.txt`` suffix; ``Ambiguous_<val|test>.txt`` gives the
    ambiguous intervals. Files of the other subset in the same folder are ignored. ``durations`` (seconds per video
    id) fills :attr:`TemporalVideo.duration` when given (the txt files carry none). Videos are ordered by id and
    their segments by (start, end, label).
    """
    subset = _subset_check(subset)
    folder = Path(annotation_dir)
    suffix = TXT_SUFFIX[subset]
    if not folder.is_dir():
        raise DatasetFormatError(folder, None, "annotation folder does not exist")
    pattern = re.compile(rf"^(.+)_{suffix}\.txt$")
    files = sorted(p for p in folder.iterdir() if p.is_file() and pattern.match(p.name))
    class_files = [p for p in files if pattern.match(p.name).group(1) != AMBIGUOUS]
    if not class_files:
        raise DatasetFormatError(folder, None, f"no '<Class>_{suffix}.txt' annotation files found")
    segs: dict[str, list[Segment]] = {}
    for p in class_files:
        label = pattern.match(p.name).group(1)
        for vid, start, end in read_segment_txt(p):
            segs.setdefault(vid, []).append(Segment(start, end, label))
    ambiguous: dict[str, list[tuple[float, float]]] = {}
    amb_file = folder / f"{AMBIGUOUS}_{suffix}.txt"
    if amb_file.is_file():
        for vid, start, end in read_segment_txt(amb_file):
            ambiguous.setdefault(vid, []).append((start, end))
    videos = {}
    for vid in sorted(segs):
        videos[vid] = TemporalVideo(
            video_id=vid,
            subset=subset,
            duration=float(durations[vid]) if durations and vid in durations else None,
            segments=tuple(sorted(segs[vid], key=lambda s: (s.start, s.end, s.label))),
            ambiguous=tuple(sorted(ambiguous.get(vid, []))),
        )
    return videos


# ------------------------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------------------------
def read_thumos_json(path: str | Path) -> ActivityNetAnnotations:
    """Parse the ActivityNet-style THUMOS14 JSON (with or without the ``database`` wrapper); subsets
    ``validation``/``test`` (any case, ``val``/``testing`` accepted and normalised). Validation errors name the file
    and the JSON path (DatasetFormatError)."""
    path = Path(path)
    data = read_json(path)
    videos = parse_database(data, path, THUMOS14_SUBSETS, require_wrapper=False, subset_aliases=SUBSET_ALIASES)
    version = data.get("version") if isinstance(data.get("version"), str) else None
    return ActivityNetAnnotations(file=str(path), videos=videos, version=version)


def _fmt(x: float) -> str:
    # repr round-trips a float exactly and writes 67.5 as "67.5" (the official files' style).
    return repr(float(x))


def json_to_txt(json_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the official txt layout from the JSON: ``out_dir/val/<Class>_val.txt``, ``out_dir/test/<Class>_test.txt``
    and ``Ambiguous_<val|test>.txt`` when the JSON carries ambiguous intervals. Lines are sorted by (video id,
    start, end). Returns the written paths."""
    ann = read_thumos_json(json_path)
    out_dir = Path(out_dir)
    lines: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
    for vid, video in ann.videos.items():
        for s in video.segments:
            lines.setdefault((video.subset, s.label), []).append((vid, s.start, s.end))
        for start, end in video.ambiguous:
            lines.setdefault((video.subset, AMBIGUOUS), []).append((vid, start, end))
    written = []
    for (subset, label), rows in sorted(lines.items()):
        suffix = TXT_SUFFIX[subset]
        p = out_dir / suffix / f"{label}_{suffix}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f"{v} {_fmt(s)} {_fmt(e)}\n" for v, s, e in sorted(rows)), encoding="utf-8")
        written.append(p)
    return written


def txt_to_json(
    annotation_root: str | Path,
    out_path: str | Path | None = None,
    durations: Mapping[str, float] | None = None,
    video_root: str | Path | None = None,
) -> dict:
    """Convert ``annotation_root/{val,test}/<Class>_<val|test>.txt`` to the ActivityNet-style JSON.

    ActivityNet-style entries need a ``duration``; it comes from ``durations`` (seconds per video id) or, for ids
    not in it, from probing ``video_root/{validation,test}/<vid>.mp4`` (``pyratok.data.video.probe_video``).
    A video with neither raises ValueError naming it. Returns ``{"database": {...}}`` and writes it to
    ``out_path`` when given. Subset folders that do not exist are skipped (at least one must exist).
    """
    root = Path(annotation_root)
    database: dict[str, dict] = {}
    found = False
    for subset, suffix in TXT_SUFFIX.items():
        folder = root / suffix
        if not folder.is_dir():
            continue
        found = True
        for vid, video in read_txt_annotations(folder, subset, durations).items():
            duration = video.duration
            if duration is None and video_root is not None:
                path = find_video(Path(video_root) / subset, [vid]) or find_video(Path(video_root), [vid])
                if path is not None:
                    from pyratok.data.video import probe_video

                    duration = probe_video(path).duration
            if duration is None:
                raise ValueError(
                    f"{folder}: no duration for video {vid!r}: pass durations= or a video_root holding {vid}.mp4"
                )
            entry = {
                "subset": subset,
                "duration": duration,
                "annotations": [{"segment": [s.start, s.end], "label": s.label} for s in video.segments],
            }
            if video.ambiguous:
                entry["ambiguous"] = [[s, e] for s, e in video.ambiguous]
            database[vid] = entry
    if not found:
        raise DatasetFormatError(root, None, "neither 'val/' nor 'test/' annotation folder exists")
    out = {"database": database}
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(json.dumps(out), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------------------------------
# dataset
# ------------------------------------------------------------------------------------------------------------------
class Thumos14Dataset(TemporalVideoDataset):
    """THUMOS14 videos of one subset with their class segments and ambiguous intervals.

    ``source``: ``"json"`` (``root/thumos14.json``), ``"txt"`` (``root/annotations/<val|test>/``) or ``"auto"``
    (JSON when present, else txt). With the JSON source, ``Ambiguous_<val|test>.txt`` under
    ``root/annotations/<val|test>/`` is still read when present (the common JSON conversions drop it).
    ``check_media=True`` looks every video up under ``root/videos/<validation|test>/`` (or ``root/videos/``); a
    missing video becomes a :class:`SampleFailure` in :attr:`failures` and is left out of :attr:`videos`.
    """

    def __init__(
        self,
        root: str | Path,
        subset: str = "test",
        source: str = "auto",
        check_media: bool = True,
    ):
        self.root = Path(root)
        self.subset = _subset_check(subset)
        suffix = TXT_SUFFIX[subset]
        json_path = self.root / JSON_NAME
        txt_dir = self.root / "annotations" / suffix
        if source == "auto":
            source = "json" if json_path.is_file() else "txt"
        if source == "json":
            ann = read_thumos_json(json_path)
            all_videos = ann.videos
            amb_file = txt_dir / f"{AMBIGUOUS}_{suffix}.txt"
            if amb_file.is_file():
                amb: dict[str, list[tuple[float, float]]] = {}
                for vid, s, e in read_segment_txt(amb_file):
                    amb.setdefault(vid, []).append((s, e))
                for vid, intervals in amb.items():
                    if vid in all_videos and not all_videos[vid].ambiguous:
                        all_videos[vid].ambiguous = tuple(sorted(intervals))
            self.classes = ann.labels
        elif source == "txt":
            all_videos = read_txt_annotations(txt_dir, subset)
            labels = {s.label for v in all_videos.values() for s in v.segments}
            # The class list spans both subsets (a class may lack instances in one of them).
            other_subset = "test" if subset == "validation" else "validation"
            other = self.root / "annotations" / TXT_SUFFIX[other_subset]
            suf = TXT_SUFFIX[other_subset]
            if other.is_dir() and any(p.name != f"{AMBIGUOUS}_{suf}.txt" for p in other.glob(f"*_{suf}.txt")):
                labels |= {s.label for v in read_txt_annotations(other, other_subset).values() for s in v.segments}
            self.classes = sorted(labels)
        else:
            raise ValueError(f"unknown source {source!r}; valid: 'auto', 'json', 'txt'")
        self.source = source
        self.failures: list[SampleFailure] = []
        self.videos: list[TemporalVideo] = []
        video_dirs = [self.root / "videos" / subset, self.root / "videos" / suffix, self.root / "videos"]
        for vid, video in all_videos.items():
            if video.subset != subset:
                continue
            if check_media:
                video.path = next((p for d in video_dirs if (p := find_video(d, [vid])) is not None), None)
                if video.path is None:
                    self.failures.append(
                        SampleFailure(vid, str(video_dirs[0] / f"{vid}.mp4"), None, "video file not found")
                    )
                    continue
            self.videos.append(video)
