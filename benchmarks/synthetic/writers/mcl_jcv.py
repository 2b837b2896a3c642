"""MCL-JCV layout: ``videoSRC<NN>_<W>x<H>_<fps>.yuv``, raw 8-bit planar YUV 4:2:0 (I420), frames back to back.

MCL-JCV's 30 sources are 1080p clips of natural content. The synthetic sources pan slowly over a smooth texture
with a 1/f^2 power spectrum (the spectrum of natural images), with one or two textured shapes moving in the scene,
so that rate-distortion numbers reflect natural-ish statistics rather than flat synthetic colour. RGB -> YCbCr uses the
BT.709 matrix in limited ("TV") range, as HD sources are coded; chroma is subsampled by 2x2 averaging.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.synthetic.files import write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.world import Clip, ClipSpec, clip_rng, sample_background, sample_clip, with_camera_pan

NAME = "mcl_jcv"
FPS = 30  # the name carries an integer frame rate, like the official 24/25/30


def n_sources(scale: Scale) -> int:
    return max(3, scale.clips // 2)


def frames(scale: Scale) -> int:
    return 2 * scale.frames - 1


@dataclass
class YuvSample:
    file_name: str
    clip: Clip


def samples(seed: int, scale: Scale) -> list[YuvSample]:
    out = []
    H, W = scale.size, scale.wide
    for i in range(n_sources(scale)):
        rng = clip_rng(seed, NAME, i)
        spec = ClipSpec(H, W, frames(scale), FPS, n_objects=(1, 2), actions_per_object=(0, 1),
                        allowed_actions=("moving left", "moving right", "growing", "spinning", "circling"),
                        radius=(0.12, 0.2), unique_shapes=True, background_textures=("striped",))
        clip = sample_clip(rng, spec)
        bg = replace(sample_background(rng, H), texture="natural")
        pan = rng.integers(-1, 2, 2).astype(float)  # at most 1 px per frame in x and y
        clip = with_camera_pan(replace(clip, backgrounds=(bg,)), tuple(pan))
        out.append(YuvSample(f"videoSRC{i + 1:02d}_{W}x{H}_{FPS}.yuv", clip))
    return out


# BT.709 limited range: Y in [16, 235], Cb/Cr in [16, 240].
_KR, _KB = 0.2126, 0.0722


def rgb_to_i420(frames_rgb: np.ndarray) -> bytes:
    """(T, H, W, 3) uint8 RGB -> I420 bytes (Y plane, then U, then V, per frame). H and W must be even."""
    T, H, W, _ = frames_rgb.shape
    if H % 2 or W % 2:
        raise ValueError(f"YUV 4:2:0 needs even height and width, got {H}x{W}")
    x = frames_rgb.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = _KR * r + (1 - _KR - _KB) * g + _KB * b
    cb = (b - y) / (2 * (1 - _KB))
    cr = (r - y) / (2 * (1 - _KR))
    Y = np.clip(np.round(16 + 219 * y), 0, 255).astype(np.uint8)

    def sub(c):
        c = c.reshape(T, H // 2, 2, W // 2, 2).mean(axis=(2, 4))
        return np.clip(np.round(128 + 224 * c), 0, 255).astype(np.uint8)

    U, V = sub(cb), sub(cr)
    return b"".join(Y[t].tobytes() + U[t].tobytes() + V[t].tobytes() for t in range(T))


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    items = samples(seed, scale)
    for s in items:
        (root / s.file_name).write_bytes(rgb_to_i420(render(s.clip).frames))
    write_synthetic_note(root, "MCL-JCV", seed, scale,
                         f"{len(items)} raw YUV 4:2:0 sources (BT.709 limited range), {frames(scale)} frames each, "
                         f"named videoSRC<NN>_<W>x<H>_{FPS}.yuv.")
    return {"clips": len(items), "frames": len(items) * frames(scale)}
