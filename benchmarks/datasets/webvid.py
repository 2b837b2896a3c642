"""Video-caption benchmarks from CSV indices: WebVid-10M (official CSV) and OpenVid-1M-style (path, caption) CSVs.

WebVid-10M (Bain et al. 2021), official release layout (``LAYOUTS.md``)::

    <root>/results_10M_val.csv      videoid,contentUrl,duration,page_dir,name
    <root>/videos/<page_dir>/<videoid>.mp4

``name`` is the caption, ``duration`` ISO 8601 (``PT00H00M10S``). The WebVid-2M files (``results_2M_val.csv``)
share the schema and are found when the 10M ones are absent. The paper's WebVid-10M benchmark (Tables 1 and 2)
uses the validation CSV.

OpenVid-1M (Nan et al. 2025)::

    <root>/OpenVid-1M.csv           video,caption,aesthetic score,motion score,temporal consistency score,
                                    camera motion,frame,fps,seconds
    <root>/video/<video>

Any CSV with a path column (``video`` | ``path`` | ``video_path``) and a caption column (``caption`` | ``text``) is
read the same way; the other columns are kept per sample in ``extra`` (numbers parsed, empty cells as None).

Validation: a CSV that does not parse (ragged rows, bad quoting, binary) or lacks a required column raises
:class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file and the column. A row with an empty id,
path or caption, an unparseable duration, or (``check_files=True``) a missing video file becomes a
:class:`SampleFailure` (field ``row N`` / column) and is left out; the rest is read. Decoding happens lazily in
:meth:`VideoTextSample.load_frames` / :meth:`VideoTextSample.load_clip` (SampleDecodeError on corrupt files).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleFailure

__all__ = [
    "VideoTextSample",
    "VideoTextDataset",
    "WebVidDataset",
    "OpenVidDataset",
    "parse_iso8601_duration",
    "read_csv_table",
]

WEBVID_COLUMNS = ("videoid", "contentUrl", "duration", "page_dir", "name")
WEBVID_REQUIRED = ("videoid", "page_dir", "name")  # contentUrl/duration are not needed to read a local copy
PATH_COLUMNS = ("video", "path", "video_path")
CAPTION_COLUMNS = ("caption", "text")

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso8601_duration(text: str) -> float:
    """``"PT00H00M10S"`` -> 10.0 seconds (days, hours, minutes, fractional seconds accepted; a plain number is
    taken as seconds). ValueError if it is neither."""
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        m = _ISO_DURATION.match(t)
        if not m or t in ("P", "PT") or t.endswith("T"):
            raise ValueError(f"not an ISO 8601 duration: {text!r}") from None
        parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
        return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"duration must be a non-negative number of seconds, got {text!r}")
    return value


def read_csv_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Parse a CSV with a header into (columns, rows as str dicts). DatasetFormatError if missing or unparseable."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DatasetFormatError(p, None, "file does not exist")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, on_bad_lines="error", encoding="utf-8")
    except Exception as err:  # ParserError (ragged rows / quoting), EmptyDataError, UnicodeDecodeError
        raise DatasetFormatError(p, None, f"cannot parse as CSV ({type(err).__name__}: {str(err).strip()})") from err
    columns = [str(c).strip() for c in df.columns]
    df.columns = columns
    return columns, df.to_dict("records")


@dataclass
class VideoTextSample:
    """One video with its caption. ``duration`` in seconds when the CSV gives it; ``extra`` the other columns."""

    sample_id: str
    video_path: Path
    caption: str
    duration: float | None = None
    row: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def probe(self):
        """Container metadata (``pyratok.data.video.VideoInfo``); SampleDecodeError for a bad file."""
        from pyratok.data.video import probe_video

        return probe_video(self.video_path)

    def load_frames(
        self,
        indices: Sequence[int] | None = None,
        *,
        times: Sequence[float] | None = None,
        size: int | tuple[int, int] | None = None,
        resize_mode: str = "short_side",
        crop: str | None = None,
    ) -> np.ndarray:
        """``(T, H, W, 3)`` uint8 RGB frames ``indices`` (or nearest to ``times``); all when both None."""
        from pyratok.data.video import read_frames

        return read_frames(self.video_path, indices, times=times, size=size, resize_mode=resize_mode, crop=crop)

    def load_clip(
        self,
        num_frames: int,
        stride: int | None = None,
        mode: str = "uniform",
        rng: np.random.Generator | int | None = None,
        *,
        size: int | tuple[int, int] | None = None,
        resize_mode: str = "short_side",
        crop: str | None = None,
    ) -> np.ndarray:
        """``(num_frames, H, W, 3)`` uint8 sampled with ``pyratok.data.video.sample_indices`` (``mode``/``stride``)."""
        from pyratok.data.video import read_clip

        return read_clip(self.video_path, num_frames, stride, mode, rng, size=size, resize_mode=resize_mode, crop=crop)


class VideoTextDataset:
    """A list of :class:`VideoTextSample` with the rows left out in ``failures``. Indexable and iterable."""

    def __init__(self, csv_file: Path, video_root: Path, samples: list[VideoTextSample], failures: list[SampleFailure]):
        self.csv_file = csv_file
        self.video_root = video_root
        self.samples = samples
        self.failures = failures

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> VideoTextSample:
        return self.samples[i]

    def __iter__(self) -> Iterator[VideoTextSample]:
        return iter(self.samples)

    @property
    def captions(self) -> list[str]:
        return [s.caption for s in self.samples]

    def _keep(self, sample: VideoTextSample, check_files: bool) -> bool:
        if check_files and not sample.video_path.is_file():
            self.failures.append(
                SampleFailure(sample.sample_id, str(sample.video_path), f"row {sample.row}", "video file does not exist")
            )
            return False
        return True


def _check_root(video_root: Path, csv_file: Path) -> None:
    if not video_root.is_dir():
        raise DatasetFormatError(video_root, None, f"video folder for {csv_file.name} does not exist")


class WebVidDataset(VideoTextDataset):
    """WebVid-10M / 2M CSV: ``WebVidDataset(csv_file, video_root)`` or ``WebVidDataset.from_root(root, "val")``.

    Videos are ``<video_root>/<page_dir>/<videoid>.mp4`` (the official downloader's layout); a flat
    ``<video_root>/<videoid>.mp4`` copy is used when the nested one is absent. ``limit`` keeps the first rows only.
    """

    def __init__(self, csv_file: str | Path, video_root: str | Path, *, check_files: bool = True, limit: int | None = None):
        csv_file, video_root = Path(csv_file), Path(video_root)
        columns, rows = read_csv_table(csv_file)
        missing = [c for c in WEBVID_REQUIRED if c not in columns]
        if missing:
            raise DatasetFormatError(
                csv_file, ",".join(missing), f"missing column(s); WebVid CSV columns are {list(WEBVID_COLUMNS)}, header is {columns}"
            )
        _check_root(video_root, csv_file)
        super().__init__(csv_file, video_root, [], [])
        for n, row in enumerate(rows, start=2):  # line 1 is the header
            if limit is not None and len(self.samples) + len(self.failures) >= limit:
                break
            vid, page_dir, caption = row["videoid"].strip(), row["page_dir"].strip(), row["name"].strip()
            empty = [c for c, v in (("videoid", vid), ("page_dir", page_dir), ("name", caption)) if not v]
            if empty:
                self.failures.append(SampleFailure(vid or None, str(csv_file), f"row {n}: column {empty[0]}", "empty value; row skipped"))
                continue
            if "/" in vid or "\\" in vid or vid in (".", ".."):
                self.failures.append(SampleFailure(vid, str(csv_file), f"row {n}: column videoid", f"invalid id {vid!r}"))
                continue
            duration = None
            if row.get("duration", "").strip():
                try:
                    duration = parse_iso8601_duration(row["duration"])
                except ValueError as err:
                    self.failures.append(SampleFailure(vid, str(csv_file), f"row {n}: column duration", str(err)))
                    continue
            path = video_root / page_dir / f"{vid}.mp4"
            if not path.is_file() and (video_root / f"{vid}.mp4").is_file():
                path = video_root / f"{vid}.mp4"
            extra = {"page_dir": page_dir}
            if row.get("contentUrl", "").strip():
                extra["contentUrl"] = row["contentUrl"].strip()
            sample = VideoTextSample(vid, path, caption, duration, n, extra)
            if self._keep(sample, check_files):
                self.samples.append(sample)

    @classmethod
    def from_root(cls, root: str | Path, split: str = "val", **kwargs) -> "WebVidDataset":
        """``<root>/results_10M_<split>.csv`` (else ``results_2M_<split>.csv``) with videos in ``<root>/videos``."""
        root = Path(root)
        for name in (f"results_10M_{split}.csv", f"results_2M_{split}.csv"):
            if (root / name).is_file():
                return cls(root / name, root / "videos", **kwargs)
        raise DatasetFormatError(root / f"results_10M_{split}.csv", None, "file does not exist (nor results_2M_*)")


class OpenVidDataset(VideoTextDataset):
    """OpenVid-1M-style CSV: a path column (``video``/``path``/``video_path``, relative to ``video_root`` or
    absolute) and a caption column (``caption``/``text``); the remaining columns go to ``extra``."""

    def __init__(self, csv_file: str | Path, video_root: str | Path, *, check_files: bool = True, limit: int | None = None):
        csv_file, video_root = Path(csv_file), Path(video_root)
        columns, rows = read_csv_table(csv_file)
        path_col = next((c for c in PATH_COLUMNS if c in columns), None)
        cap_col = next((c for c in CAPTION_COLUMNS if c in columns), None)
        if path_col is None or cap_col is None:
            need = PATH_COLUMNS if path_col is None else CAPTION_COLUMNS
            raise DatasetFormatError(
                csv_file, "|".join(need), f"missing column (one of {list(need)} is required); header is {columns}"
            )
        _check_root(video_root, csv_file)
        super().__init__(csv_file, video_root, [], [])
        others = [c for c in columns if c not in (path_col, cap_col)]
        for n, row in enumerate(rows, start=2):
            if limit is not None and len(self.samples) + len(self.failures) >= limit:
                break
            rel, caption = row[path_col].strip(), row[cap_col].strip()
            if not rel or not caption:
                col = path_col if not rel else cap_col
                self.failures.append(SampleFailure(rel or None, str(csv_file), f"row {n}: column {col}", "empty value; row skipped"))
                continue
            extra = {c: _cell(row[c]) for c in others}
            duration = extra.get("seconds") if isinstance(extra.get("seconds"), float) else None
            path = Path(rel) if Path(rel).is_absolute() else video_root / rel
            sample = VideoTextSample(rel, path, caption, duration, n, extra)
            if self._keep(sample, check_files):
                self.samples.append(sample)

    @classmethod
    def from_root(cls, root: str | Path, csv_name: str = "OpenVid-1M.csv", **kwargs) -> "OpenVidDataset":
        """``<root>/<csv_name>`` with videos in ``<root>/video``."""
        root = Path(root)
        return cls(root / csv_name, root / "video", **kwargs)


def _cell(text: str) -> Any:
    """CSV cell -> float when numeric, None when empty, else the stripped text."""
    t = text.strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        return t
