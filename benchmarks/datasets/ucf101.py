"""UCF-101 (Soomro et al. 2012): the official ``ucfTrainTestlist`` split files and the ``UCF-101/`` video folder.

Official files (``ucfTrainTestlist/``)::

    classInd.txt       "1 ApplyEyeMakeup"                                   (1-based class index, CRLF line ends)
    trainlist01.txt    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"      (3 folds: 01, 02, 03)
    testlist01.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"        (no label: it is the folder name)

Videos: ``<root>/UCF-101/<Class>/v_<Class>_g<GG>_c<CC>.avi`` (group GG = one actor/setting, 1..25; clip CC).
Fold k tests on groups 7(k-1)+1 .. 7k and trains on the rest, so a fold's train and test lists share no group.

The official archive spells one class two ways (folder/classInd ``HandstandPushups``, file names
``v_HandStandPushups_...``), so the class inside a file name is compared case-insensitively with its folder, and a
listed file that is not found under its exact name is looked up case-insensitively in its class folder.

Validation: a malformed line (wrong field count, non-integer index, not ``<Class>/<file>.avi``), a class not in
``classInd.txt``, a label that disagrees with the folder's class index, non-consecutive class indices, or a missing
split file raises :class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file and ``line N``. A listed video
missing on disk is a :class:`SampleFailure`; the reader carries on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure

__all__ = [
    "UCF101_FOLDS",
    "UCFClip",
    "read_class_index",
    "read_split_list",
    "UCF101Dataset",
]

UCF101_FOLDS = (1, 2, 3)
_FILE_RE = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)\.avi$", re.IGNORECASE)


@dataclass(frozen=True)
class UCFClip:
    """One listed video: ``relpath`` as written in the list (``Class/v_Class_gXX_cYY.avi``), ``label`` the 0-based
    class index (classInd index - 1), ``group``/``clip`` from the file name, ``path`` the file when found."""

    relpath: str
    class_name: str
    label: int
    group: int
    clip: int
    line: int = 0
    path: Path | None = None

    @property
    def clip_id(self) -> str:
        return Path(self.relpath).stem


def _lines(path: Path):
    if not path.is_file():
        raise DatasetFormatError(path, None, "split file does not exist")
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            text = line.strip()  # also drops the CR of CRLF files
            if text:
                yield n, text


def read_class_index(path: str | Path) -> list[str]:
    """``classInd.txt`` -> class names in index order (``names[i]`` has official index ``i + 1``).

    Indices must be 1, 2, 3, ... in order and names unique; otherwise DatasetFormatError (file, line).
    """
    path = Path(path)
    names: list[str] = []
    for n, text in _lines(path):
        parts = text.split()
        if len(parts) != 2:
            raise DatasetFormatError(path, f"line {n}", f"expected '<index> <ClassName>', got {text!r}")
        idx, name = parts
        if not idx.isdigit():
            raise DatasetFormatError(path, f"line {n}", f"class index must be a positive integer, got {idx!r}")
        if int(idx) != len(names) + 1:
            raise DatasetFormatError(path, f"line {n}", f"expected class index {len(names) + 1}, got {idx}")
        if name in names:
            raise DatasetFormatError(path, f"line {n}", f"class {name!r} listed twice")
        names.append(name)
    if not names:
        raise DatasetFormatError(path, None, "no classes")
    return names


def read_split_list(path: str | Path, classes: Sequence[str], labelled: bool | None = None) -> list[UCFClip]:
    """Parse ``trainlist0k.txt`` (``<relpath> <index>``) or ``testlist0k.txt`` (``<relpath>``) against ``classes``.

    ``labelled=None`` decides from the file name (``trainlist*`` labelled, ``testlist*`` not). In a labelled list
    the 1-based index must be that of the folder's class.
    """
    path = Path(path)
    if labelled is None:
        labelled = path.name.lower().startswith("trainlist")
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for n, text in _lines(path):
        where = f"line {n}"
        parts = text.split()
        if len(parts) != (2 if labelled else 1):
            want = "'<Class>/<file>.avi <index>'" if labelled else "'<Class>/<file>.avi'"
            raise DatasetFormatError(path, where, f"expected {want}, got {text!r}")
        rel = parts[0]
        pieces = rel.split("/")
        if len(pieces) != 2:
            raise DatasetFormatError(path, where, f"expected '<Class>/<file>.avi', got {rel!r}")
        cls, fname = pieces
        if cls not in index:
            raise DatasetFormatError(path, where, f"unknown class {cls!r} (not in classInd.txt)")
        m = _FILE_RE.match(fname)
        if m is None:
            raise DatasetFormatError(path, where, f"file name {fname!r} is not 'v_<Class>_g<GG>_c<CC>.avi'")
        if m.group("cls").lower() != cls.lower():
            raise DatasetFormatError(path, where, f"file {fname!r} names class {m.group('cls')!r} but sits in folder {cls!r}")
        if labelled:
            if not parts[1].isdigit():
                raise DatasetFormatError(path, where, f"class index must be a positive integer, got {parts[1]!r}")
            if int(parts[1]) != index[cls] + 1:
                raise DatasetFormatError(
                    path, where, f"class index {parts[1]} disagrees with folder {cls!r} (classInd index {index[cls] + 1})"
                )
        out.append(UCFClip(rel, cls, index[cls], int(m.group("group")), int(m.group("clip")), n))
    return out


class UCF101Dataset:
    """UCF-101 clips of one fold and split (``"train"``/``"test"``).

    ``root`` holds ``ucfTrainTestlist/`` and ``UCF-101/`` (``split_dir``/``video_dir`` override them).
    ``check_media=True`` finds each video; a missing one becomes a :class:`SampleFailure` in :attr:`failures`.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        fold: int = 1,
        split_dir: str | Path | None = None,
        video_dir: str | Path | None = None,
        check_media: bool = True,
    ):
        if split not in ("train", "test"):
            raise ValueError(f"unknown UCF-101 split {split!r}; valid: 'train', 'test'")
        if fold not in UCF101_FOLDS:
            raise ValueError(f"unknown UCF-101 fold {fold!r}; valid: {list(UCF101_FOLDS)}")
        self.root = Path(root)
        self.split, self.fold = split, fold
        self.split_dir = Path(split_dir) if split_dir else self.root / "ucfTrainTestlist"
        self.video_dir = Path(video_dir) if video_dir else self.root / "UCF-101"
        self.classes = read_class_index(self.split_dir / "classInd.txt")
        listed = read_split_list(self.split_dir / f"{split}list{fold:02d}.txt", self.classes)
        self.failures: list[SampleFailure] = []
        self.clips: list[UCFClip] = []
        folder_cache: dict[str, dict[str, Path]] = {}
        for clip in listed:
            if not check_media:
                self.clips.append(clip)
                continue
            path = self.video_dir / clip.relpath
            if not path.is_file():
                # Case-insensitive fallback (HandstandPushups vs v_HandStandPushups_...).
                if clip.class_name not in folder_cache:
                    d = self.video_dir / clip.class_name
                    folder_cache[clip.class_name] = (
                        {p.name.lower(): p for p in d.iterdir() if p.is_file()} if d.is_dir() else {}
                    )
                path = folder_cache[clip.class_name].get(Path(clip.relpath).name.lower())
            if path is None:
                self.failures.append(SampleFailure(clip.clip_id, str(self.video_dir / clip.relpath), f"line {clip.line}",
                                                   "video file not found"))
                continue
            self.clips.append(replace(clip, path=path))

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> UCFClip:
        return self.clips[i]

    def load_frames(self, clip: UCFClip, indices: Sequence[int] | None = None, **kwargs) -> np.ndarray:
        """Decode the clip (``pyratok.data.video.read_frames``) -> ``(T, H, W, 3)`` uint8. Raises SampleDecodeError."""
        if clip.path is None:
            raise SampleDecodeError(clip.relpath, "no video file (read with check_media=False, or the file is missing)")
        from pyratok.data.video import read_frames

        return read_frames(clip.path, indices, **kwargs)

    def iter_frames(self, indices: Sequence[int] | None = None, **kwargs) -> Iterator[tuple[UCFClip, np.ndarray]]:
        """Yield ``(clip, frames)``; a clip that fails to decode is added to :attr:`failures` and skipped."""
        for clip in self.clips:
            try:
                frames = self.load_frames(clip, indices, **kwargs)
            except SampleDecodeError as err:
                self.failures.append(err.to_failure(clip.clip_id))
                continue
            yield clip, frames
