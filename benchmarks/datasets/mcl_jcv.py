"""MCL-JCV (Wang et al., ICIP 2016): 30 raw 1080p source sequences as 8-bit planar YUV 4:2:0 files.

File layout: ``videoSRC<NN>_<W>x<H>_<fps>.yuv`` (e.g. ``videoSRC01_1920x1080_30.yuv``); the frame size and rate are
known only from the name. Each frame is the full-resolution Y plane followed by the U (Cb) and V (Cr) planes at
half resolution in both directions (``ceil(W/2) x ceil(H/2)``, FFmpeg's ``yuv420p`` rule for odd sizes), 8 bits per
sample, no header. So a frame takes ``W*H + 2*ceil(W/2)*ceil(H/2)`` bytes and the frame count is the file size
divided by that; a size that is not a whole multiple means a wrong name or a truncated file and is an error
(:func:`open_yuv` raises :class:`~benchmarks.datasets.errors.DatasetFormatError` with both sizes).

RGB conversion (:func:`yuv420_to_rgb`): the default is **BT.709, limited ("TV"/"MPEG") range** — Y in [16, 235],
Cb/Cr in [16, 240] around 128. MCL-JCV's sources are HD (1920x1080) and H.264/AVC-coded HD material is BT.709
limited range by convention (ITU-R BT.709 is the HD standard; FFmpeg and players assume it for untagged HD), and the
raw files carry no tag saying otherwise. BT.601 and full range are available for other material
(``matrix="bt601"``, ``color_range="full"``). With ``Kr, Kb`` the matrix constants (BT.709: 0.2126, 0.0722;
BT.601: 0.299, 0.114) and ``y = (Y-16)/219, cb = (Cb-128)/224, cr = (Cr-128)/224`` (limited) or ``y = Y/255,
cb = (Cb-128)/255, cr = (Cr-128)/255`` (full)::

    R = y + 2(1-Kr) cr
    B = y + 2(1-Kb) cb
    G = (y - Kr R - Kb B) / (1 - Kr - Kb)

then ``round(255 * clip(., 0, 1))``. Chroma is upsampled by sample repetition (each chroma sample covers its 2x2
luma block): the simplest exact rule, and the same for references and reconstructions, so that metric differences
come from the codec under test, not from the conversion. Metrics that the codec literature computes in YUV can use
:func:`read_yuv_planes` directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from adapters.colour import COLOR_MATRICES, COLOR_RANGES, yuv420_to_rgb  # one conversion, shared with the codecs
from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure

__all__ = [
    "YUV_NAME_RE",
    "COLOR_MATRICES",
    "YUVVideo",
    "parse_yuv_name",
    "yuv420_frame_bytes",
    "open_yuv",
    "read_yuv_planes",
    "yuv420_to_rgb",
    "read_yuv_rgb",
    "MCLJCVDataset",
]

YUV_NAME_RE = re.compile(r"^videoSRC(?P<src>\d+)_(?P<w>\d+)x(?P<h>\d+)_(?P<fps>\d+(?:\.\d+)?)\.yuv$")


@dataclass(frozen=True)
class YUVVideo:
    """One raw YUV 4:2:0 file: ``width`` x ``height`` luma pixels, ``fps`` frames per second, ``num_frames`` frames."""

    path: Path
    src_id: int
    width: int
    height: int
    fps: float
    num_frames: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def chroma_shape(self) -> tuple[int, int]:
        """``(ceil(H/2), ceil(W/2))``."""
        return (self.height + 1) // 2, (self.width + 1) // 2

    @property
    def frame_bytes(self) -> int:
        return yuv420_frame_bytes(self.width, self.height)


def yuv420_frame_bytes(width: int, height: int) -> int:
    """Bytes of one 8-bit 4:2:0 frame: ``W*H + 2*ceil(W/2)*ceil(H/2)`` (= ``1.5*W*H`` for even sizes)."""
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def parse_yuv_name(path: str | Path) -> tuple[int, int, int, float]:
    """``videoSRC<NN>_<W>x<H>_<fps>.yuv`` -> ``(src_id, width, height, fps)``; DatasetFormatError otherwise."""
    path = Path(path)
    m = YUV_NAME_RE.match(path.name)
    if m is None:
        raise DatasetFormatError(path, "file name", "expected 'videoSRC<NN>_<W>x<H>_<fps>.yuv' (e.g. videoSRC01_1920x1080_30.yuv)")
    w, h, fps = int(m.group("w")), int(m.group("h")), float(m.group("fps"))
    if w <= 0 or h <= 0 or fps <= 0:
        raise DatasetFormatError(path, "file name", f"frame size {w}x{h} and rate {fps} must be positive")
    return int(m.group("src")), w, h, fps


def open_yuv(
    path: str | Path, width: int | None = None, height: int | None = None, fps: float | None = None
) -> YUVVideo:
    """Describe a raw YUV 4:2:0 file; size and rate from its name unless given. The frame count is the file size
    over the frame size; a file that is empty or not a whole number of frames raises DatasetFormatError naming the
    file, its size and the frame size."""
    path = Path(path)
    if width is None or height is None or fps is None:
        src, w, h, f = parse_yuv_name(path)
        width, height, fps = width or w, height or h, fps or f
    else:
        m = YUV_NAME_RE.match(path.name)
        src = int(m.group("src")) if m else 0
    if not path.is_file():
        raise DatasetFormatError(path, None, "file does not exist")
    size = path.stat().st_size
    fb = yuv420_frame_bytes(width, height)
    if size == 0:
        raise DatasetFormatError(path, "file size", "file is empty (0 bytes)")
    if size % fb:
        raise DatasetFormatError(
            path, "file size",
            f"{size} bytes is not a whole number of {width}x{height} YUV 4:2:0 frames of {fb} bytes "
            f"({size / fb:.3f} frames; {size % fb} bytes left over) - wrong size in the name, or a truncated file",
        )
    return YUVVideo(path, src, int(width), int(height), float(fps), size // fb)


def read_yuv_planes(
    video: YUVVideo, indices: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read frames ``indices`` (all when None) -> ``(Y, U, V)`` uint8 of shapes ``(T, H, W)``,
    ``(T, ceil(H/2), ceil(W/2))`` twice. SampleDecodeError for an index outside ``[0, num_frames)`` or a short read."""
    idx = list(range(video.num_frames)) if indices is None else [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < video.num_frames]
    if bad:
        raise SampleDecodeError(video.path, f"frame index {bad[0]} out of range: the file has {video.num_frames} frames")
    h, w = video.height, video.width
    ch, cw = video.chroma_shape
    fb = video.frame_bytes
    ys = np.empty((len(idx), h, w), np.uint8)
    us = np.empty((len(idx), ch, cw), np.uint8)
    vs = np.empty((len(idx), ch, cw), np.uint8)
    with open(video.path, "rb") as f:
        for k, i in enumerate(idx):
            f.seek(i * fb)
            buf = f.read(fb)
            if len(buf) != fb:
                raise SampleDecodeError(video.path, f"frame {i}: read {len(buf)} of {fb} bytes (file changed or truncated)")
            arr = np.frombuffer(buf, np.uint8)
            ys[k] = arr[: h * w].reshape(h, w)
            us[k] = arr[h * w : h * w + ch * cw].reshape(ch, cw)
            vs[k] = arr[h * w + ch * cw :].reshape(ch, cw)
    return ys, us, vs


def read_yuv_rgb(
    video: YUVVideo, indices: Sequence[int] | None = None, matrix: str = "bt709", color_range: str = "limited"
) -> np.ndarray:
    """Frames ``indices`` as RGB ``(T, H, W, 3)`` uint8 (BT.709 limited range by default)."""
    return yuv420_to_rgb(*read_yuv_planes(video, indices), matrix=matrix, color_range=color_range)


class MCLJCVDataset:
    """The ``videoSRC*.yuv`` files of ``root``, sorted by source number.

    A ``.yuv`` file whose name does not follow the pattern or whose size is not a whole number of frames is
    recorded in :attr:`failures` (with the reason :func:`open_yuv` gives) and skipped; the others are in
    :attr:`videos`. ``matrix``/``color_range`` set the RGB conversion of :meth:`load_frames`.
    """

    def __init__(self, root: str | Path, matrix: str = "bt709", color_range: str = "limited"):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetFormatError(self.root, None, "MCL-JCV folder does not exist")
        if matrix not in COLOR_MATRICES or color_range not in COLOR_RANGES:
            raise ValueError(f"matrix must be one of {list(COLOR_MATRICES)}, color_range one of {list(COLOR_RANGES)}")
        self.matrix, self.color_range = matrix, color_range
        self.videos: list[YUVVideo] = []
        self.failures: list[SampleFailure] = []
        for p in sorted(self.root.glob("*.yuv")):
            try:
                self.videos.append(open_yuv(p))
            except DatasetFormatError as err:
                self.failures.append(SampleFailure(p.stem, str(p), err.field, err.reason))
        self.videos.sort(key=lambda v: (v.src_id, v.name))

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> YUVVideo:
        return self.videos[i]

    def load_planes(self, video: YUVVideo, indices: Sequence[int] | None = None):
        """``(Y, U, V)`` uint8 planes of frames ``indices`` (see :func:`read_yuv_planes`)."""
        return read_yuv_planes(video, indices)

    def load_frames(self, video: YUVVideo, indices: Sequence[int] | None = None, **kwargs) -> np.ndarray:
        """Frames as RGB ``(T, H, W, 3)`` uint8; ``kwargs`` (``size``, ``resize_mode``, ``crop``) resize as
        ``pyratok.data.video.resize_frames``. Raises SampleDecodeError."""
        rgb = read_yuv_rgb(video, indices, self.matrix, self.color_range)
        if kwargs.get("size") is not None or kwargs.get("crop") is not None:
            from pyratok.data.video import resize_frames

            rgb = resize_frames(rgb, kwargs.get("size"), kwargs.get("resize_mode", "short_side"), kwargs.get("crop"))
        return rgb

    def iter_frames(self, indices: Sequence[int] | None = None, **kwargs) -> Iterator[tuple[YUVVideo, np.ndarray]]:
        """Yield ``(video, frames)``; a video that fails to read is added to :attr:`failures` and skipped."""
        for video in self.videos:
            try:
                frames = self.load_frames(video, indices, **kwargs)
            except SampleDecodeError as err:
                self.failures.append(err.to_failure(video.name))
                continue
            yield video, frames
