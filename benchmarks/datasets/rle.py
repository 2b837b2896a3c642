"""COCO-style mask encodings (used by COCO, YouTube-VIS and OVIS) <-> binary masks, via ``pycocotools.mask``.

A segmentation in these datasets is one of:

* **compressed RLE** ``{"size": [h, w], "counts": "<string>"}`` (COCO's LEB128-like text encoding),
* **uncompressed RLE** ``{"size": [h, w], "counts": [n0, n1, ...]}`` — run lengths alternating background /
  foreground, starting with background, over the pixels in **column-major** (Fortran) order,
* **polygon(s)** ``[[x0, y0, x1, y1, ...], ...]`` in pixel coordinates (needs the image height/width),
* ``None`` / ``null`` — the object is absent in that frame (YouTube-VIS / OVIS per-frame lists).

Masks are ``(H, W)`` ``bool`` arrays. :func:`check_segmentation` validates structure and size without decoding (cheap
enough to run over a whole annotation file at load time); :func:`decode_segmentation` decodes. A structurally
malformed segmentation raises :class:`~benchmarks.datasets.errors.DatasetFormatError`; an RLE whose ``size``
disagrees with its image/video raises :class:`SegmentationSizeError` (a DatasetFormatError subclass), which
readers turn into a per-sample :class:`SampleFailure`.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from benchmarks.datasets.errors import DatasetFormatError

__all__ = [
    "SegmentationSizeError",
    "segmentation_kind",
    "rle_counts_from_string",
    "check_segmentation",
    "decode_segmentation",
    "encode_mask",
    "mask_area",
    "mask_bbox",
]


class SegmentationSizeError(DatasetFormatError):
    """An RLE's ``size`` disagrees with the height/width of the image or video it belongs to."""


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def rle_counts_from_string(counts: str | bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (the inverse of pycocotools' ``rleToString``).

    Each count is stored as 5-bit groups in characters ``chr(48 + g)`` (bit 0x20: more groups follow; bit 0x10 of
    the last group: sign), and from the third count on as the difference to the count two places back.
    pycocotools itself does not check the result: a string whose runs do not cover the image decodes into
    uninitialised memory, so :func:`decode_segmentation` checks ``sum(counts) == h * w`` with this first.
    ValueError for characters outside the alphabet or a truncated group.
    """
    text = counts.decode("ascii") if isinstance(counts, bytes) else counts
    out: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            if p >= len(text):
                raise ValueError("RLE string ends inside a count")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {text[p]!r} is outside the RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def segmentation_kind(seg: Any) -> str:
    """``"none"``, ``"rle"`` (compressed), ``"uncompressed_rle"``, ``"polygon"`` or ``"invalid"``."""
    if seg is None:
        return "none"
    if isinstance(seg, dict):
        counts = seg.get("counts")
        if isinstance(counts, (str, bytes)):
            return "rle"
        if isinstance(counts, list):
            return "uncompressed_rle"
        return "invalid"
    if isinstance(seg, list):
        return "polygon"
    return "invalid"


def check_segmentation(
    seg: Any,
    height: int,
    width: int,
    *,
    file: str | Path = "<memory>",
    field: str = "segmentation",
) -> str:
    """Validate one segmentation against an image of ``height x width``; return its kind (see segmentation_kind).

    Raises DatasetFormatError (naming ``file`` and ``field``) for a wrong type or malformed RLE/polygon, and
    SegmentationSizeError when an RLE's ``size`` is not ``[height, width]``. Nothing is decoded.
    """
    kind = segmentation_kind(seg)
    if kind == "invalid":
        raise DatasetFormatError(
            file, field, f"expected an RLE dict, a polygon list or null, got {type(seg).__name__} {str(seg)[:80]!r}"
        )
    if kind == "none":
        return kind
    if kind == "polygon":
        if not seg:
            raise DatasetFormatError(file, field, "polygon list is empty")
        for j, poly in enumerate(seg):
            if not isinstance(poly, list) or not all(_is_number(v) for v in poly):
                raise DatasetFormatError(file, f"{field}[{j}]", "polygon must be a list of numbers [x0, y0, x1, y1, ...]")
            if len(poly) < 6 or len(poly) % 2:
                raise DatasetFormatError(
                    file, f"{field}[{j}]", f"polygon needs an even number >= 6 of coordinates, got {len(poly)}"
                )
        return kind
    size = seg.get("size")
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(_is_int(v) and v >= 0 for v in size)):
        raise DatasetFormatError(file, f"{field}.size", f"RLE size must be [height, width] integers, got {size!r}")
    if kind == "uncompressed_rle":
        counts = seg["counts"]
        if not all(_is_int(v) and v >= 0 for v in counts):
            raise DatasetFormatError(file, f"{field}.counts", "uncompressed RLE counts must be non-negative integers")
        if sum(counts) != size[0] * size[1]:
            raise DatasetFormatError(
                file, f"{field}.counts", f"run lengths sum to {sum(counts)}, but size {size[0]}x{size[1]} "
                f"has {size[0] * size[1]} pixels"
            )
    if (int(size[0]), int(size[1])) != (int(height), int(width)):
        raise SegmentationSizeError(
            file, f"{field}.size", f"RLE size {list(size)} disagrees with the image/video size [{height}, {width}]"
        )
    return kind


def decode_segmentation(
    seg: Any,
    height: int,
    width: int,
    *,
    file: str | Path = "<memory>",
    field: str = "segmentation",
) -> np.ndarray | None:
    """Decode one segmentation to an ``(height, width)`` bool mask; ``None`` for an absent (null) segmentation.

    Validates first (see :func:`check_segmentation`); a compressed-RLE string that pycocotools cannot decode
    raises DatasetFormatError naming ``file`` and ``field``.
    """
    kind = check_segmentation(seg, height, width, file=file, field=field)
    if kind == "none":
        return None
    try:
        if kind == "polygon":
            rles = mask_utils.frPyObjects([list(map(float, p)) for p in seg], int(height), int(width))
            rle = mask_utils.merge(rles)
        elif kind == "uncompressed_rle":
            rle = mask_utils.frPyObjects(seg, int(seg["size"][0]), int(seg["size"][1]))
        else:
            counts = seg["counts"]
            h, w = (int(v) for v in seg["size"])
            runs = rle_counts_from_string(counts)
            if any(r < 0 for r in runs) or sum(runs) != h * w:
                raise ValueError(f"run lengths sum to {sum(runs)} (or are negative), but {h}x{w} has {h * w} pixels")
            rle = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
        with warnings.catch_warnings():
            # pycocotools' decode trips a NumPy 2 copy-keyword DeprecationWarning on every call; it is harmless.
            warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
            m = mask_utils.decode(rle)
    except DatasetFormatError:
        raise
    except Exception as err:
        raise DatasetFormatError(file, field, f"cannot decode {kind} ({type(err).__name__}: {err})") from err
    if m.shape != (int(height), int(width)):
        raise SegmentationSizeError(file, field, f"decoded mask is {m.shape}, expected ({height}, {width})")
    return m.astype(bool)


def encode_mask(mask: np.ndarray) -> dict:
    """``(H, W)`` bool/0-1 mask -> compressed RLE ``{"size": [H, W], "counts": str}`` (JSON-serialisable)."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _as_rle(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def mask_area(rle: dict) -> int:
    """Foreground pixel count of a compressed RLE (pycocotools.mask.area)."""
    return int(mask_utils.area(_as_rle(rle)))


def mask_bbox(rle: dict) -> list[float]:
    """``[x, y, w, h]`` box of a compressed RLE (pycocotools.mask.toBbox), the COCO/YouTube-VIS box convention."""
    return [float(v) for v in mask_utils.toBbox(_as_rle(rle))]
