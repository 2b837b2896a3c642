"""Kinetics-400 / -600 / -700 action classification: the official annotation CSVs and the downloaded clip layout.

Official CSVs (Kay et al. 2017; Carreira et al. 2018/2019; files of the ActivityNet "Crawler/Kinetics" release)::

    label,youtube_id,time_start,time_end,split[,is_cc]
    abseiling,0wR5jVB-WPk,417,427,val,0

``time_start``/``time_end`` are whole seconds into the YouTube video (10 s clips); ``is_cc`` (K400 only) flags a
Creative-Commons video. Labels may contain spaces and parentheses (``"petting animal (not cat)"``); the csv
module handles quoting.

Clips are named by the official downloader ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4`` and stored as
``<root>/<split>/<label>/<name>`` (``LAYOUTS.md``; the label folder keeps the label text). Common variants are
accepted: label folders with spaces replaced by underscores, or all clips in one flat folder
(``<root>/<split>/<name>`` or ``<root>/<name>``): the reader indexes the clip files under ``<root>/<split>/`` (or
``<root>/``) by file name once, preferring the copy inside the clip's own label folder.

"New classes" of Kinetics-600 relative to Kinetics-400 are the set difference of the class names
(:func:`new_classes`). Note that a plain set difference also counts K400 classes that K600 renamed
(e.g. ``"dying hair"`` -> ``"dyeing hair"``) as new: that is what "classes absent from K400 by name" means, and a
protocol that needs the curated list must supply it.

Validation: a missing column, a row with the wrong number of fields, a non-integer or negative time, an end not
after its start, an empty label/id/split, a bad ``is_cc``, or (when a class list is given) an unknown label raises
:class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file, ``line N`` and the column. A listed clip
missing on disk is a :class:`SampleFailure`; the reader carries on.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure

__all__ = [
    "KINETICS_COLUMNS",
    "KineticsClip",
    "clip_filename",
    "read_kinetics_csv",
    "read_label_map",
    "kinetics_classes",
    "new_classes",
    "KineticsDataset",
]

KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
OPTIONAL_COLUMNS = ("is_cc",)


@dataclass(frozen=True)
class KineticsClip:
    """One annotated 10 s clip. ``time_start``/``time_end`` in whole seconds of the source YouTube video;
    ``line`` is its line in the CSV (header = line 1); ``path`` the clip file when found."""

    label: str
    youtube_id: str
    time_start: int
    time_end: int
    split: str
    is_cc: bool | None = None
    line: int = 0
    path: Path | None = None

    @property
    def filename(self) -> str:
        return clip_filename(self.youtube_id, self.time_start, self.time_end)

    @property
    def clip_id(self) -> str:
        return self.filename[: -len(".mp4")]


def clip_filename(youtube_id: str, time_start: int, time_end: int) -> str:
    """The official downloader's clip name, ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4``."""
    return f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}.mp4"


def _seconds(path: Path, where: str, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise DatasetFormatError(path, where, f"expected whole seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise DatasetFormatError(path, where, f"expected a non-negative whole number of seconds, got {text!r}")
    return int(value)


def read_kinetics_csv(path: str | Path, classes: Iterable[str] | None = None) -> list[KineticsClip]:
    """Parse and validate an official Kinetics CSV -> clips in file order.

    With ``classes`` (e.g. :func:`read_label_map`), a label outside it raises DatasetFormatError.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, None, "annotation file does not exist")
    known = set(classes) if classes is not None else None
    clips: list[KineticsClip] = []
    with open(path, "r", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetFormatError(path, "header", "file is empty") from None
        header = [h.strip() for h in header]
        missing = [c for c in KINETICS_COLUMNS if c not in header]
        if missing:
            raise DatasetFormatError(path, "header", f"missing column(s) {missing}; expected {list(KINETICS_COLUMNS)}[,is_cc]")
        col = {name: header.index(name) for name in KINETICS_COLUMNS + OPTIONAL_COLUMNS if name in header}
        for row in reader:
            n = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise DatasetFormatError(path, f"line {n}", f"expected {len(header)} fields ({','.join(header)}), got {len(row)}")
            get = lambda name: row[col[name]].strip()  # noqa: E731
            for name in ("label", "youtube_id", "split"):
                if not get(name):
                    raise DatasetFormatError(path, f"line {n}: column {name}", "empty value")
            label, yid = get("label"), get("youtube_id")
            if "/" in yid or "\\" in yid:
                raise DatasetFormatError(path, f"line {n}: column youtube_id", f"invalid id {yid!r}")
            if known is not None and label not in known:
                raise DatasetFormatError(path, f"line {n}: column label", f"unknown class {label!r} (not in the class list)")
            start = _seconds(path, f"line {n}: column time_start", get("time_start"))
            end = _seconds(path, f"line {n}: column time_end", get("time_end"))
            if end <= start:
                raise DatasetFormatError(path, f"line {n}: column time_end", f"end {end} is not after start {start}")
            is_cc = None
            if "is_cc" in col and get("is_cc") != "":
                if get("is_cc") not in ("0", "1"):
                    raise DatasetFormatError(path, f"line {n}: column is_cc", f"expected 0 or 1, got {get('is_cc')!r}")
                is_cc = get("is_cc") == "1"
            clips.append(KineticsClip(label, yid, start, end, get("split"), is_cc, n))
    return clips


def read_label_map(path: str | Path) -> list[str]:
    """A class list file, one label per line in class-index order (e.g. ``label_map_k400.txt``). Blank lines are
    skipped; a repeated label raises DatasetFormatError (file, line)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, None, "class list file does not exist")
    labels: list[str] = []
    seen: dict[str, int] = {}
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            name = line.strip()
            if not name:
                continue
            if name in seen:
                raise DatasetFormatError(path, f"line {n}", f"label {name!r} repeated (first on line {seen[name]})")
            seen[name] = n
            labels.append(name)
    if not labels:
        raise DatasetFormatError(path, None, "class list is empty")
    return labels


def kinetics_classes(clips: Iterable[KineticsClip]) -> list[str]:
    """Sorted distinct labels of ``clips`` (the official label maps are sorted alphabetically too)."""
    return sorted({c.label for c in clips})


def new_classes(classes: Iterable[str], reference: Iterable[str]) -> list[str]:
    """Classes of ``classes`` whose name is not in ``reference`` (e.g. K600 minus K400), sorted."""
    return sorted(set(classes) - set(reference))


class KineticsDataset:
    """Kinetics clips of one split with their labels.

    ``root`` holds ``annotations/<split>.csv`` (or pass ``annotation_file``) and the clips. Rows of other splits in
    the CSV are skipped. ``classes`` fixes the class list and its order (e.g. the 400-line label map); by default
    it is the sorted set of labels in the CSV. ``check_media=True`` finds each clip file; a missing one becomes a
    :class:`SampleFailure` in :attr:`failures` and is left out of :attr:`clips`.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "val",
        annotation_file: str | Path | None = None,
        classes: Sequence[str] | None = None,
        check_media: bool = True,
    ):
        self.root = Path(root)
        self.split = split
        self.annotation_file = Path(annotation_file) if annotation_file else self.root / "annotations" / f"{split}.csv"
        all_rows = read_kinetics_csv(self.annotation_file, classes)
        rows = [c for c in all_rows if c.split == split]
        if all_rows and not rows:
            present = sorted({c.split for c in all_rows})
            raise DatasetFormatError(self.annotation_file, "column split", f"no row has split {split!r}; the file has {present}")
        self.classes: list[str] = list(classes) if classes is not None else kinetics_classes(rows)
        self.class_to_index = {c: i for i, c in enumerate(self.classes)}
        self.failures: list[SampleFailure] = []
        self.clips: list[KineticsClip] = []
        if not check_media:
            self.clips = rows
            return
        index = self._index_files()
        for clip in rows:
            candidates = index.get(clip.filename, [])
            path = next((p for p in candidates if p.parent.name in (clip.label, clip.label.replace(" ", "_"))), None)
            path = path or (candidates[0] if candidates else None)
            if path is None:
                expected = self.root / split / clip.label / clip.filename
                self.failures.append(
                    SampleFailure(clip.clip_id, str(expected), f"line {clip.line}", "clip file not found")
                )
                continue
            self.clips.append(replace(clip, path=path))

    def _index_files(self) -> dict[str, list[Path]]:
        """``{file name: [paths]}`` of the ``.mp4`` files under ``root/<split>/`` (two levels) or directly in root."""
        base = self.root / self.split
        out: dict[str, list[Path]] = {}
        if base.is_dir():
            for dirpath, dirnames, filenames in os.walk(base):
                if Path(dirpath) != base:
                    dirnames[:] = []  # <split>/<label>/<clip>: no deeper
                for name in filenames:
                    if name.endswith(".mp4"):
                        out.setdefault(name, []).append(Path(dirpath) / name)
        if self.root.is_dir():
            for p in self.root.iterdir():
                if p.name.endswith(".mp4") and p.is_file():
                    out.setdefault(p.name, []).append(p)
        return out

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> KineticsClip:
        return self.clips[i]

    def label_index(self, clip: KineticsClip) -> int:
        """0-based index of the clip's label in :attr:`classes`."""
        return self.class_to_index[clip.label]

    def load_frames(self, clip: KineticsClip, indices: Sequence[int] | None = None, **kwargs) -> np.ndarray:
        """Decode the clip (``pyratok.data.video.read_frames``) -> ``(T, H, W, 3)`` uint8. Raises SampleDecodeError."""
        if clip.path is None:
            raise SampleDecodeError(clip.clip_id, "no clip file (read with check_media=False, or the file is missing)")
        from pyratok.data.video import read_frames

        return read_frames(clip.path, indices, **kwargs)

    def iter_frames(self, indices: Sequence[int] | None = None, **kwargs) -> Iterator[tuple[KineticsClip, np.ndarray]]:
        """Yield ``(clip, frames)``; a clip that fails to decode is added to :attr:`failures` and skipped."""
        for clip in self.clips:
            try:
                frames = self.load_frames(clip, indices, **kwargs)
            except SampleDecodeError as err:
                self.failures.append(err.to_failure(clip.clip_id))
                continue
            yield clip, frames
