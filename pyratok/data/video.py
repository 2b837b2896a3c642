"""Video and image decoding, clip sampling, and the uint8 <-> [-1, 1] tensor conversion.

One module for every place that turns files into pixels: the trainer (WebVid/OpenVid pairs), the benchmark readers
(``benchmarks/datasets``), the synthetic writers and the classical-codec adapters (``write_video``).

Conventions
-----------
* Frames are ``np.ndarray`` of shape ``(T, H, W, 3)``, dtype ``uint8``, RGB. One image is ``(H, W, 3)``.
* Model tensors follow the project contract: float32, ``(C, T, H, W)`` per clip (``(B, C, T, H, W)`` batched),
  values in ``[-1, 1]`` (``x / 127.5 - 1``).
* Frame ``i`` of a video is the ``i``-th frame in presentation order, counted from the stream's first frame. After a
  seek the index of a decoded frame is recovered from its timestamp, ``round((pts - start) * time_base * fps)``,
  which is exact for the constant-frame-rate files every benchmark here ships (tests check it against a plain
  sequential decode on real mp4 and avi clips, and on mp4, mkv, webm, avi, flv, mpg, ts, 3gp, mov and ogv files
  written by PyAV). Files whose frames carry no timestamps are decoded sequentially.
* Resizing uses PIL bicubic resampling, which low-pass filters when downsampling (antialiasing): the reference
  video-tokenizer pipelines resize with antialiased bilinear/bicubic filters, and a non-antialiased resize would
  alias fine texture into the reconstruction metrics.
* Images are read in stored pixel order; EXIF orientation is *not* applied, because COCO/YouTube-VIS annotations
  are given in stored pixel coordinates.

Any file that cannot be decoded (missing, empty, garbage, truncated, no video stream, no frames, a stream the
installed FFmpeg cannot decode) or a frame index outside the clip raises :class:`~pyratok.data.errors.SampleDecodeError`
naming the file and the reason (for demux and decode failures also the codec and container), so
a benchmark reader can record it as a ``SampleFailure`` and carry on.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .errors import SampleDecodeError

__all__ = [
    "VideoInfo",
    "SampleDecodeError",
    "IMAGE_EXTENSIONS",
    "probe_video",
    "sample_indices",
    "read_frames",
    "read_clip",
    "read_frame_folder",
    "list_frame_files",
    "read_image",
    "resize_frames",
    "frames_to_tensor",
    "tensor_to_frames",
    "write_video",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

# Decoding forward is cheaper than seeking when the next wanted frame is this close (in frames): a seek lands on the
# previous keyframe, typically up to one GOP (~1-10 s) back, so short gaps are always better decoded through.
_SEEK_GAP_FRAMES = 32


@dataclass
class VideoInfo:
    """Container-level facts about one video file.

    ``num_frames`` comes from the container (exact for mp4/avi); when the container does not record it, it is
    estimated from duration x fps, or counted exactly with ``probe_video(path, count_frames=True)``.
    ``duration`` is in seconds, ``fps`` in frames per second, ``width``/``height`` in pixels.
    """

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    duration: float


# --------------------------------------------------------------------------------------------------------------
# opening / probing
# --------------------------------------------------------------------------------------------------------------
def _av():
    import av  # imported lazily: av pulls in FFmpeg libraries, not needed by code paths that only read images

    return av


def _open(path: str | Path):
    """Open ``path`` with PyAV and return (container, video stream); SampleDecodeError on any problem."""
    av = _av()
    p = Path(path)
    if not p.exists():
        raise SampleDecodeError(p, "file does not exist")
    if p.is_dir():
        raise SampleDecodeError(p, "is a directory, expected a video file")
    if p.stat().st_size == 0:
        raise SampleDecodeError(p, "file is empty (0 bytes)")
    try:
        container = av.open(str(p), mode="r")
    except Exception as err:  # av.error.FFmpegError subclasses, OSError, UnicodeDecodeError on garbage headers
        raise SampleDecodeError(p, f"cannot open as a video container ({type(err).__name__}: {err})") from err
    if not container.streams.video:
        container.close()
        raise SampleDecodeError(p, "container has no video stream")
    return container, container.streams.video[0]


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _stream_start(stream) -> int:
    return int(stream.start_time) if stream.start_time is not None else 0


def _describe(container, stream) -> str:
    """``"codec flv1, container flv"``: the codec as ffprobe names it, for error messages."""
    try:
        codec = stream.codec_context.codec.canonical_name
    except Exception:  # no decoder for this codec id in the installed FFmpeg
        codec = getattr(stream, "codec_tag", None) or "unknown"
    return f"codec {codec}, container {container.format.name}"


def _count_packets(container, stream) -> int:
    """Exact frame count by demuxing (no decoding) from a freshly opened ``container``: one packet, one frame.

    No seek to the start first: the container is already there, and FFmpeg refuses a seek to t=0 with EPERM on
    files without a seek index whose first keyframe comes after t=0 (FLV with an audio track or a late start).
    """
    n = 0
    for packet in container.demux(stream):
        if packet.size > 0:  # the demuxer ends with an empty flush packet
            n += 1
    return n


def probe_video(path: str | Path, count_frames: bool = False) -> VideoInfo:
    """Read container metadata of a video file without decoding it.

    ``count_frames=True`` counts frames by demuxing all packets (exact, still no decoding) instead of trusting the
    header. Raises SampleDecodeError for a missing, empty, corrupt or frame-less file.
    """
    container, stream = _open(path)
    try:
        fps = _stream_fps(stream)
        tb = float(stream.time_base) if stream.time_base else 0.0
        if stream.duration is not None and tb > 0:
            duration = stream.duration * tb
        elif container.duration is not None:
            duration = container.duration / 1_000_000  # AV_TIME_BASE microseconds
        else:
            duration = 0.0
        num_frames = int(stream.frames or 0)
        if count_frames or num_frames <= 0:
            try:
                counted = _count_packets(container, stream)
            except Exception as err:
                raise SampleDecodeError(
                    path, f"cannot demux video packets ({_describe(container, stream)}; {type(err).__name__}: {err})"
                ) from err
            num_frames = counted if (count_frames or counted > 0) else int(round(duration * fps))
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    finally:
        container.close()
    if num_frames <= 0:
        raise SampleDecodeError(path, "video stream has no frames (zero-length clip)")
    if width <= 0 or height <= 0:
        raise SampleDecodeError(path, f"video stream has no valid frame size ({width}x{height})")
    if fps <= 0:
        raise SampleDecodeError(path, "video stream has no frame rate")
    if duration <= 0:
        duration = num_frames / fps
    return VideoInfo(path=str(path), num_frames=num_frames, fps=fps, width=width, height=height, duration=duration)


# --------------------------------------------------------------------------------------------------------------
# clip sampling
# --------------------------------------------------------------------------------------------------------------
def sample_indices(
    num_frames: int,
    num_samples: int,
    stride: int | None = None,
    mode: str = "uniform",
    rng: np.random.Generator | int | None = None,
) -> list[int]:
    """Frame indices of a clip of ``num_samples`` frames from a video of ``num_frames`` frames.

    Modes:
      * ``"uniform"`` — spread over the whole video: the video is cut into ``num_samples`` equal segments and the
        middle frame of each is taken (``floor((i + 0.5) * num_frames / num_samples)``, the TSN / MVBench rule).
        When ``num_samples > num_frames`` frames repeat. ``stride`` must be None.
      * ``"center"`` — a window of ``num_samples`` frames, ``stride`` apart (default 1), centred in the video.
      * ``"start"``  — the same window starting at frame 0.
      * ``"random"`` — the same window at a uniformly random start (training); ``rng`` is a numpy Generator or seed.

    A window that does not fit (``(num_samples - 1) * stride + 1 > num_frames``) raises ValueError rather than
    silently padding or shrinking the stride: a benchmark's protocol fixes both, so the caller decides.
    """
    if int(num_frames) != num_frames or num_frames <= 0:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if int(num_samples) != num_samples or num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    num_frames, num_samples = int(num_frames), int(num_samples)
    if mode == "uniform":
        if stride is not None:
            raise ValueError("mode='uniform' spreads frames over the whole video; stride must be None")
        return [min(num_frames - 1, int(math.floor((i + 0.5) * num_frames / num_samples))) for i in range(num_samples)]
    if mode not in ("center", "start", "random"):
        raise ValueError(f"unknown sampling mode {mode!r}; valid: 'uniform', 'center', 'start', 'random'")
    stride = 1 if stride is None else int(stride)
    if stride <= 0:
        raise ValueError(f"stride must be a positive integer, got {stride}")
    span = (num_samples - 1) * stride + 1
    if span > num_frames:
        raise ValueError(
            f"clip of {num_samples} frames with stride {stride} spans {span} frames but the video has {num_frames}"
        )
    if mode == "start":
        start = 0
    elif mode == "center":
        start = (num_frames - span) // 2
    else:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        start = int(gen.integers(0, num_frames - span + 1))
    return [start + i * stride for i in range(num_samples)]


# --------------------------------------------------------------------------------------------------------------
# resizing
# --------------------------------------------------------------------------------------------------------------
def _target_size(h: int, w: int, size, resize_mode: str, crop: str | None) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """Return ((resize_h, resize_w), crop_hw or None) for an input of h x w."""
    if resize_mode not in ("short_side", "exact"):
        raise ValueError(f"unknown resize_mode {resize_mode!r}; valid: 'short_side', 'exact'")
    if crop not in (None, "center"):
        raise ValueError(f"unknown crop {crop!r}; valid: None, 'center'")
    if size is None:
        if crop is not None:
            raise ValueError("crop='center' needs a size")
        return (h, w), None
    if isinstance(size, (int, np.integer)):
        th, tw = int(size), int(size)
    else:
        th, tw = (int(s) for s in size)
    if th <= 0 or tw <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    if resize_mode == "exact":
        return (th, tw), None
    # short_side: keep the aspect ratio; an int sets the short side, (h, w) the smallest scale that covers h x w.
    if isinstance(size, (int, np.integer)):
        scale = th / min(h, w)
    else:
        scale = max(th / h, tw / w)
    rh, rw = max(1, round(h * scale)), max(1, round(w * scale))
    if isinstance(size, (int, np.integer)):
        # Rounding must not leave the short side off by one.
        rh, rw = (th, rw) if h <= w else (rh, tw)
    else:
        rh, rw = max(rh, th), max(rw, tw)
    return (rh, rw), ((th, tw) if crop == "center" else None)


def resize_frames(
    frames: np.ndarray,
    size: int | tuple[int, int] | None,
    resize_mode: str = "short_side",
    crop: str | None = None,
) -> np.ndarray:
    """Resize (and optionally centre-crop) ``(T, H, W, 3)`` or ``(H, W, 3)`` uint8 frames.

    * ``resize_mode="short_side"``: keep the aspect ratio. ``size=s`` scales the short side to ``s``;
      ``size=(h, w)`` scales by the smallest factor that covers ``h x w``. With ``crop="center"`` the centre
      ``s x s`` (or ``h x w``) is then cut out.
    * ``resize_mode="exact"``: resize to ``(s, s)`` / ``(h, w)`` regardless of aspect ratio (``crop`` unused).
    """
    single = frames.ndim == 3
    batch = frames[None] if single else frames
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"expected (T, H, W, 3) or (H, W, 3) frames, got shape {frames.shape}")
    h, w = batch.shape[1:3]
    (rh, rw), crop_hw = _target_size(h, w, size, resize_mode, crop)
    if (rh, rw) != (h, w):
        batch = np.stack(
            [np.asarray(Image.fromarray(f).resize((rw, rh), resample=Image.BICUBIC)) for f in batch]
        )
    if crop_hw is not None:
        ch, cw = crop_hw
        top, left = (rh - ch) // 2, (rw - cw) // 2
        batch = batch[:, top : top + ch, left : left + cw]
    batch = np.ascontiguousarray(batch, dtype=np.uint8)
    return batch[0] if single else batch


# --------------------------------------------------------------------------------------------------------------
# video decoding
# --------------------------------------------------------------------------------------------------------------
def _times_to_indices(path, times: Sequence[float], info_fps: float, num_frames: int) -> list[int]:
    out = []
    for t in times:
        t = float(t)
        if not math.isfinite(t) or t < 0:
            raise SampleDecodeError(path, f"time {t} s is outside the video (negative or not finite)")
        idx = int(round(t * info_fps))
        if idx == num_frames:  # a time at the very end of the last frame's display interval
            idx = num_frames - 1
        if idx > num_frames:
            raise SampleDecodeError(
                path, f"time {t} s is past the end of the video ({num_frames} frames at {info_fps:.3f} fps)"
            )
        out.append(idx)
    return out


def read_frames(
    path: str | Path,
    indices: Sequence[int] | None = None,
    *,
    times: Sequence[float] | None = None,
    size: int | tuple[int, int] | None = None,
    resize_mode: str = "short_side",
    crop: str | None = None,
) -> np.ndarray:
    """Decode the frames ``indices`` (or those nearest to ``times`` in seconds) of a video file.

    Returns ``(T, H, W, 3)`` uint8 RGB in the order requested (indices may repeat or be unsorted). With neither
    ``indices`` nor ``times`` every frame is returned. Frames are reached by seeking to the keyframe before each
    far-away index and decoding forward; nearby indices are decoded through without seeking. ``size``,
    ``resize_mode`` and ``crop`` are as in :func:`resize_frames`.

    Raises SampleDecodeError for missing/corrupt/truncated files, indices outside ``[0, num_frames)``, and
    indices the decoder never reaches (a truncated stream whose header promises more frames).
    """
    if indices is not None and times is not None:
        raise ValueError("give indices or times, not both")
    container, stream = _open(path)
    try:
        fps = _stream_fps(stream)
        num_frames = int(stream.frames or 0)
        if times is not None:
            if fps <= 0:
                raise SampleDecodeError(path, "video stream has no frame rate; cannot map times to frames")
            if num_frames <= 0:
                num_frames = probe_video(path).num_frames
            indices = _times_to_indices(path, times, fps, num_frames)
        if indices is None:
            frames = _decode_all(path, container, stream)
        else:
            indices = [int(i) for i in indices]
            if not indices:
                raise ValueError("indices is empty")
            bad = [i for i in indices if i < 0 or (num_frames > 0 and i >= num_frames)]
            if bad:
                raise SampleDecodeError(
                    path, f"frame index {bad[0]} out of range: the video has {num_frames} frames"
                )
            got = _decode_indices(path, container, stream, sorted(set(indices)), fps)
            frames = np.stack([got[i] for i in indices])
    finally:
        container.close()
    return resize_frames(frames, size, resize_mode, crop) if size is not None or crop is not None else frames


def read_clip(
    path: str | Path,
    num_samples: int,
    stride: int | None = None,
    mode: str = "uniform",
    rng: np.random.Generator | int | None = None,
    *,
    size: int | tuple[int, int] | None = None,
    resize_mode: str = "short_side",
    crop: str | None = None,
) -> np.ndarray:
    """Probe ``path``, pick frames with :func:`sample_indices` and decode them -> ``(num_samples, H, W, 3)`` uint8.

    A video too short for the requested window raises SampleDecodeError (file + reason), like a corrupt one, so
    a benchmark records it as one failed sample.
    """
    info = probe_video(path)
    try:
        indices = sample_indices(info.num_frames, num_samples, stride, mode, rng)
    except ValueError as err:
        raise SampleDecodeError(path, str(err)) from err
    return read_frames(path, indices, size=size, resize_mode=resize_mode, crop=crop)


def _decode_error(path, container, stream, err: Exception) -> SampleDecodeError:
    return SampleDecodeError(
        path,
        f"decoding failed ({_describe(container, stream)}; {type(err).__name__}: {err}); "
        "file corrupt or truncated, or a codec the installed FFmpeg cannot decode",
    )


def _decode_all(path, container, stream) -> np.ndarray:
    frames = []
    try:
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
    except Exception as err:
        raise _decode_error(path, container, stream, err) from err
    if not frames:
        raise SampleDecodeError(path, "no frame could be decoded (zero-length clip or corrupt stream)")
    return np.stack(frames)


def _decode_indices(path, container, stream, wanted: list[int], fps: float) -> dict[int, np.ndarray]:
    """Decode the sorted unique frame indices ``wanted``; returns {index: (H, W, 3) uint8}.

    Works in passes: each pass seeks to the keyframe before the next wanted frame when it is far away (or starts
    from the first frame), decodes forward collecting wanted frames, and stops once the next wanted frame is far
    ahead again. Going back to the first frame reopens the file rather than seeking: demuxers without a seek index
    disagree on what "seek to the start" means (FLV refuses a timestamp before its first keyframe, MPEG-TS
    compares the target with decode timestamps and lands past the only keyframe), while a fresh open is always
    at the first packet. ``container`` stays owned (and closed) by the caller.
    """
    tb = stream.time_base
    start = _stream_start(stream)
    sequential = not (fps > 0 and tb)  # no usable timestamps: count frames from the start in one pass
    force_start = False  # set when a seek overshot its target (bad keyframe index)
    out: dict[int, np.ndarray] = {}
    k = 0
    last = -1
    primed = False
    fresh = True  # nothing read yet: the container is at the start, so a from-start pass needs no seek
    reopened = None  # the container opened here to go back to the start (closed here)
    try:
        while k < len(wanted):
            target = wanted[k]
            from_start = sequential or force_start or target <= _SEEK_GAP_FRAMES
            if not from_start and not primed:
                # Prime the decoder with the stream's first packet before jumping: H.264 decoders learn encoder
                # quirks (e.g. the x264 build, whose 4:4:4 bug workaround FFmpeg applies) from an SEI carried
                # only there; decoding a later IDR frame without it returns garbage (seen on real x264 files).
                # This is the first pass, so the freshly opened container is still at that first packet.
                next(container.decode(stream), None)
            primed = True
            if from_start and not fresh:
                if reopened is not None:
                    reopened.close()
                reopened, stream = _open(path)
                container = reopened
            elif not from_start:
                # Aim half a frame early so that rounding never lands the seek after the target.
                seek_pts = max(start, start + int(math.floor((target - 0.5) / fps / float(tb))))
                container.seek(seek_pts, stream=stream, backward=True, any_frame=False)
            fresh = False
            status = "ended"
            first = True
            prev = -1
            progressed = False
            for count, frame in enumerate(container.decode(stream)):
                if sequential:
                    idx = count
                elif frame.pts is None:
                    status = "untrusted"
                    break
                else:
                    idx = int(round(float((frame.pts - start) * tb) * fps))
                    # Timestamps are trusted only while they count 0, 1, 2, ... in presentation order; AVI files
                    # with packed B-frames, for one, label decoded frames with shuffled packet timestamps.
                    if idx <= prev or (first and from_start and idx != 0):
                        status = "untrusted"
                        break
                if first and idx > target and not from_start:
                    status = "overshoot"
                    break
                first = False
                prev = last = idx
                while k < len(wanted) and wanted[k] <= idx:
                    # ``< idx`` only happens when timestamps skip an index (variable frame rate): nearest later frame.
                    out[wanted[k]] = frame.to_ndarray(format="rgb24")
                    k += 1
                    progressed = True
                if k == len(wanted):
                    status = "done"
                    break
                # Seek again only after this pass made progress, so a long GOP cannot make us seek in circles.
                if progressed and not (sequential or force_start) and wanted[k] - idx > _SEEK_GAP_FRAMES:
                    status = "seek"
                    break
            if status == "untrusted":
                sequential = True
            elif status == "overshoot" or (status == "ended" and first and not from_start):
                # A seek past the target, or one that yields no frame at all before the end (MPEG-TS seeks by
                # timestamp, not to a keyframe, so a long-GOP H.264 stream can land where nothing decodes):
                # decode from the start instead.
                force_start = True
            elif status == "ended":
                raise SampleDecodeError(
                    path,
                    f"frame {wanted[k]} was never decoded: the stream ended after frame {last} "
                    "(truncated file or a header that promises more frames than it holds)",
                )
    except SampleDecodeError:
        raise
    except Exception as err:
        raise _decode_error(path, container, stream, err) from err
    finally:
        if reopened is not None:
            reopened.close()
    return out


# --------------------------------------------------------------------------------------------------------------
# images and frame folders
# --------------------------------------------------------------------------------------------------------------
def read_image(
    path: str | Path,
    size: int | tuple[int, int] | None = None,
    resize_mode: str = "short_side",
    crop: str | None = None,
) -> np.ndarray:
    """Read one image as ``(H, W, 3)`` uint8 RGB (grey/RGBA/palette converted); resize as in :func:`resize_frames`."""
    p = Path(path)
    if not p.is_file():
        raise SampleDecodeError(p, "image file does not exist")
    try:
        with Image.open(p) as im:
            im.load()
            arr = np.asarray(im.convert("RGB"))
    except Exception as err:
        raise SampleDecodeError(p, f"cannot decode image ({type(err).__name__}: {err})") from err
    return resize_frames(arr, size, resize_mode, crop) if size is not None or crop is not None else arr.copy()


def _natural_key(name: str):
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def list_frame_files(folder: str | Path, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """Image files of a frame folder in natural order (``img_2`` before ``img_10``); SampleDecodeError if none."""
    p = Path(folder)
    if not p.is_dir():
        raise SampleDecodeError(p, "frame folder does not exist")
    exts = {e.lower() for e in extensions}
    files = sorted((f for f in p.iterdir() if f.is_file() and f.suffix.lower() in exts), key=lambda f: _natural_key(f.name))
    if not files:
        raise SampleDecodeError(p, f"frame folder holds no image files ({', '.join(sorted(exts))})")
    return files


def read_frame_folder(
    folder: str | Path,
    indices: Sequence[int] | None = None,
    size: int | tuple[int, int] | None = None,
    resize_mode: str = "short_side",
    crop: str | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> np.ndarray:
    """Read a video stored as one image per frame (sorted naturally) as ``(T, H, W, 3)`` uint8 RGB.

    ``indices`` pick frames by position in the sorted listing (all frames when None). SampleDecodeError for a
    missing or empty folder, an index outside the folder, an unreadable image, or frames of different sizes
    (unless ``size`` with ``resize_mode="exact"`` brings them to one size).
    """
    files = list_frame_files(folder, extensions)
    if indices is None:
        indices = range(len(files))
    chosen = []
    for i in indices:
        i = int(i)
        if i < 0 or i >= len(files):
            raise SampleDecodeError(folder, f"frame index {i} out of range: the folder has {len(files)} frames")
        chosen.append(files[i])
    if not chosen:
        raise ValueError("indices is empty")
    frames = [read_image(f, size, resize_mode, crop) for f in chosen]
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise SampleDecodeError(folder, f"frames have different sizes {sorted(shapes)}")
    return np.stack(frames)


# --------------------------------------------------------------------------------------------------------------
# tensors
# --------------------------------------------------------------------------------------------------------------
def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(3, T, H, W)`` float32 in ``[-1, 1]`` (``x / 127.5 - 1``).

    A batch ``(B, T, H, W, 3)`` gives ``(B, 3, T, H, W)``.
    """
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {arr.dtype}")
    if arr.ndim not in (4, 5) or arr.shape[-1] != 3:
        raise ValueError(f"expected (T, H, W, 3) or (B, T, H, W, 3) frames, got shape {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(torch.float32)
    t = t.div_(127.5).sub_(1.0)
    return t.permute(3, 0, 1, 2).contiguous() if arr.ndim == 4 else t.permute(0, 4, 1, 2, 3).contiguous()


def tensor_to_frames(video: torch.Tensor) -> np.ndarray:
    """``(3, T, H, W)`` in ``[-1, 1]`` -> ``(T, H, W, 3)`` uint8 (clamped, rounded to nearest).

    A batch ``(B, 3, T, H, W)`` gives ``(B, T, H, W, 3)``. Inverse of :func:`frames_to_tensor` on uint8 input.
    """
    if video.ndim not in (4, 5) or video.shape[-4] != 3:
        raise ValueError(f"expected (3, T, H, W) or (B, 3, T, H, W), got shape {tuple(video.shape)}")
    x = video.detach().to("cpu", torch.float32)
    x = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    x = x.permute(1, 2, 3, 0) if video.ndim == 4 else x.permute(0, 2, 3, 4, 1)
    return x.contiguous().numpy()


# --------------------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------------------
def _fps_fraction(fps: float) -> Fraction:
    if not fps or fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    # NTSC rates (29.97 = 30000/1001) are recovered exactly; denominators stay small enough for every muxer.
    return Fraction(fps).limit_denominator(1001)


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    codec: str = "libx264",
    pix_fmt: str | None = None,
    container_options: dict[str, str] | None = None,
    **options,
) -> Path:
    """Encode ``(T, H, W, 3)`` uint8 RGB frames to ``path`` with PyAV.

    ``pix_fmt`` defaults to ``yuv420p`` (the format players and the benchmarks' sources use; needs even H and W)
    except for ``ffv1``/``png``-style lossless codecs, which keep ``rgb24``-compatible formats when asked.
    Extra keyword ``options`` become codec options (strings), e.g. ``crf=18, preset="medium"`` for libx264;
    ``bit_rate=...`` sets the target bit rate. ``container_options`` go to the muxer, e.g.
    ``{"movflags": "+faststart"}`` to put the mp4 index first. Returns the path.
    """
    av = _av()
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {arr.dtype} {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("cannot write a video with no frames")
    h, w = arr.shape[1:3]
    pix_fmt = pix_fmt or "yuv420p"
    if pix_fmt in ("yuv420p", "yuvj420p", "nv12") and (h % 2 or w % 2):
        raise ValueError(f"{pix_fmt} needs even height and width, got {h}x{w}")
    bit_rate = options.pop("bit_rate", None)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", options=dict(container_options or {})) as container:
        stream = container.add_stream(codec, rate=_fps_fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if bit_rate is not None:
            stream.bit_rate = int(bit_rate)
        if options:
            stream.options = {k: str(v) for k, v in options.items()}
        for img in arr:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
