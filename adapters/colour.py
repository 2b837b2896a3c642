"""YUV 4:2:0 <-> RGB: the one colour conversion shared by the codec adapters and the MCL-JCV reader.

:func:`yuv420_to_rgb` defaults to **BT.709, limited ("TV") range** — Y in [16, 235], Cb/Cr in [16, 240] around 128,
the convention for untagged HD material; BT.601 and full range are available. With ``Kr, Kb`` the matrix constants
(BT.709: 0.2126, 0.0722; BT.601: 0.299, 0.114) and ``y = (Y-16)/219, cb = (Cb-128)/224, cr = (Cr-128)/224``
(limited) or ``y = Y/255, cb = (Cb-128)/255, cr = (Cr-128)/255`` (full)::

    R = y + 2(1-Kr) cr
    B = y + 2(1-Kb) cb
    G = (y - Kr R - Kb B) / (1 - Kr - Kb)

then ``round(255 * clip(., 0, 1))``; chroma is upsampled by repetition (each sample covers its 2x2 luma block).
:func:`rgb_to_yuv420` is its inverse for BT.709 limited range: chroma averaged over each 2x2 block before
rounding (the least-squares inverse of repetition), so a clip read as RGB goes back to (almost exactly) its
original planes.
"""
from __future__ import annotations

import numpy as np

__all__ = ["COLOR_MATRICES", "COLOR_RANGES", "yuv420_to_rgb", "rgb_to_yuv420"]

# (Kr, Kb) of each luma/chroma matrix (ITU-R BT.601-7 and BT.709-6).
COLOR_MATRICES: dict[str, tuple[float, float]] = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
COLOR_RANGES = ("limited", "full")


def yuv420_to_rgb(
    y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str = "bt709", color_range: str = "limited"
) -> np.ndarray:
    """YUV 4:2:0 planes -> RGB uint8. ``y``: ``(..., H, W)``; ``u``/``v``: ``(..., ceil(H/2), ceil(W/2))``.
    Returns ``(..., H, W, 3)``. See the module docstring for the formulas and why BT.709 limited is the default."""
    if matrix not in COLOR_MATRICES:
        raise ValueError(f"unknown color matrix {matrix!r}; valid: {list(COLOR_MATRICES)}")
    if color_range not in COLOR_RANGES:
        raise ValueError(f"unknown color range {color_range!r}; valid: {list(COLOR_RANGES)}")
    h, w = y.shape[-2:]
    if u.shape != v.shape or u.shape[-2:] != ((h + 1) // 2, (w + 1) // 2):
        raise ValueError(f"chroma planes {u.shape}/{v.shape} do not match luma {y.shape} for 4:2:0")
    kr, kb = COLOR_MATRICES[matrix]
    kg = 1.0 - kr - kb
    up = lambda c: np.repeat(np.repeat(c, 2, axis=-2), 2, axis=-1)[..., :h, :w]  # noqa: E731
    yf = y.astype(np.float64)
    cb = up(u).astype(np.float64) - 128.0
    cr = up(v).astype(np.float64) - 128.0
    if color_range == "limited":
        yf, cb, cr = (yf - 16.0) / 219.0, cb / 224.0, cr / 224.0
    else:
        yf, cb, cr = yf / 255.0, cb / 255.0, cr / 255.0
    r = yf + 2.0 * (1.0 - kr) * cr
    b = yf + 2.0 * (1.0 - kb) * cb
    g = (yf - kr * r - kb * b) / kg
    rgb = np.stack([r, g, b], axis=-1)
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(T, H, W, 3)`` uint8 RGB (H, W even) -> ``(Y, U, V)`` uint8 planes ``(T, H, W)``, ``(T, H/2, W/2)`` x 2.

    BT.709 limited range; Cb/Cr averaged over each 2x2 block before rounding (the synthetic MCL-JCV writer's rule,
    and the least-squares inverse of the reader's chroma repetition)."""
    t, h, w, _ = rgb.shape
    if h % 2 or w % 2:
        raise ValueError(f"YUV 4:2:0 needs even height and width, got {h}x{w}")
    kr, kb = COLOR_MATRICES["bt709"]
    x = rgb.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    cb = (b - y) / (2.0 * (1.0 - kb))
    cr = (r - y) / (2.0 * (1.0 - kr))

    def sub(c: np.ndarray) -> np.ndarray:
        c = c.reshape(t, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        return np.clip(np.round(128.0 + 224.0 * c), 0, 255).astype(np.uint8)

    Y = np.clip(np.round(16.0 + 219.0 * y), 0, 255).astype(np.uint8)
    return Y, sub(cb), sub(cr)
