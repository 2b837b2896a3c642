"""Rasterise a :class:`~benchmarks.synthetic.world.Clip` into RGB frames and per-frame instance masks (numpy).

Objects are drawn without anti-aliasing: a pixel belongs to exactly one object or to the background, an object's
pixels hold exactly its colour or its texture shade ``round(colour * TEXTURE_SHADE)``, and the instance masks are
exactly the pixels each object shows. This makes the masks an exact ground truth for the video segmentation
benchmarks (compression of the written files blurs pixels, never the annotation).

Everything is vectorised over (frames, height, width); one object costs a handful of array operations per clip.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from benchmarks.synthetic.vocabulary import BACKGROUND_COLOURS, COLOURS, TEXTURE_SHADE
from benchmarks.synthetic.world import Background, Clip

__all__ = ["RenderedClip", "render", "render_masks", "object_colours", "natural_texture"]


@dataclass
class RenderedClip:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    ids: np.ndarray  # (T, H, W) uint8: 0 = background, k + 1 = visible pixel of clip.objects[k]
    amodal: np.ndarray  # (T, K, H, W) bool: full extent of object k (also where hidden behind nearer objects)

    def mask(self, k: int) -> np.ndarray:
        """(T, H, W) bool visible mask of object k."""
        return self.ids == k + 1

    def visible_fraction(self, k: int) -> np.ndarray:
        """(T,) visible area / full area of object k (1 when unoccluded and inside the frame; 0 when absent)."""
        full = self.amodal[:, k].sum(axis=(1, 2))
        vis = self.mask(k).sum(axis=(1, 2))
        return np.where(full > 0, vis / np.maximum(full, 1), 0.0)


def object_colours(colour: str) -> tuple[np.ndarray, np.ndarray]:
    """(base, shade) uint8 RGB triplets an object of ``colour`` is painted with."""
    base = np.array(COLOURS[colour], np.float64)
    return base.astype(np.uint8), np.round(base * TEXTURE_SHADE).astype(np.uint8)


# ------------------------------------------------------------------------------------------------------------------
# shapes and textures in the object's own frame: (u, v) in units of the radius, v pointing down
# ------------------------------------------------------------------------------------------------------------------
def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= 1.05
    if shape == "triangle":
        # Equilateral, apex up: vertices (0, -1), (+-sqrt(3)/2, 1/2).
        return (v <= 0.5) & (np.sqrt(3.0) * u - v <= 1.0) & (-np.sqrt(3.0) * u - v <= 1.0)
    if shape == "hexagon":
        au, av = np.abs(u), np.abs(v)
        return (av <= np.sqrt(3.0) / 2) & (np.sqrt(3.0) * au + av <= np.sqrt(3.0))
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.33) & (av <= 1.0)) | ((av <= 0.33) & (au <= 1.0))
    if shape == "star":
        # Five points, one up: the boundary radius zigzags between 1 (tips) and 0.45 (notches).
        rho = np.sqrt(u * u + v * v)
        phi = np.arctan2(v, u) + np.pi / 2
        t = np.mod(phi, 2 * np.pi / 5) / (2 * np.pi / 5)
        return rho <= 0.45 + 0.55 * np.abs(1.0 - 2.0 * t)
    if shape == "heart":
        # (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 with y pointing up, scaled to fit the unit radius.
        x, y = u * 1.25, -v * 1.25 + 0.2
        return (x * x + y * y - 1.0) ** 3 - x * x * y ** 3 <= 0.0
    raise ValueError(f"unknown shape {shape!r}")


def _pattern(texture: str, u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """True where the texture's darker shade is painted; None for a plain object."""
    if texture == "plain":
        return None
    f = 2.5  # pattern cycles per radius
    if texture == "striped":
        return np.mod(u * f, 1.0) < 0.5
    if texture == "checkered":
        return (np.floor(u * f) + np.floor(v * f)).astype(np.int64) % 2 == 0
    if texture == "dotted":
        du, dv = np.mod(u * f, 1.0) - 0.5, np.mod(v * f, 1.0) - 0.5
        return du * du + dv * dv <= 0.09
    raise ValueError(f"unknown texture {texture!r}")


# ------------------------------------------------------------------------------------------------------------------
# backgrounds, in world coordinates so that a panning camera slides them
# ------------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def natural_texture(seed: int, size: int, beta: float = 2.0) -> np.ndarray:
    """(size, size, 3) float in [0, 1]: periodic coloured noise with a 1/f^beta power spectrum.

    beta = 2 is the spectrum of natural images (Field 1987), which makes this smooth, cloud-like texture a fair
    stand-in for natural video content in the compression benchmark. Periodic (FFT synthesis), so it can be panned
    indefinitely by wrapping.
    """
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    amp[0, 0] = 0.0
    out = np.empty((size, size, 3))
    mix = rng.normal(size=(3, 3)) * 0.5 + np.eye(3)  # correlated channels, like natural colour
    base = []
    for _ in range(3):
        spec = (rng.normal(size=amp.shape) + 1j * rng.normal(size=amp.shape)) * amp
        base.append(np.fft.irfft2(spec, s=(size, size)))
    base = np.stack(base, -1) @ mix.T
    for c in range(3):
        ch = base[..., c]
        out[..., c] = (ch - ch.mean()) / (4.0 * ch.std() + 1e-12) + 0.5
    return np.clip(out, 0.0, 1.0)


def _two_tone(bg: Background) -> tuple[np.ndarray, np.ndarray]:
    base = np.array(BACKGROUND_COLOURS[bg.colour], np.float64)
    # The second tone is lighter (or darker for bright colours), never an object colour.
    alt = base + 0.35 * (255.0 - base) if base.mean() < 160 else base * 0.7
    return base, alt


def _background(bg: Background, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) float RGB of ``bg`` at world coordinates ``xs``, ``ys`` (each (T, H, W))."""
    p = bg.period
    if bg.texture == "natural":
        size = 256
        tex = natural_texture(bg.noise_seed, size)
        iy = np.floor(ys).astype(np.int64) % size
        ix = np.floor(xs).astype(np.int64) % size
        tint = np.array(BACKGROUND_COLOURS[bg.colour], np.float64) / 255.0
        return 255.0 * (0.6 * tex[iy, ix] + 0.4 * tint)
    base, alt = _two_tone(bg)
    if bg.texture == "speckled":
        size = 256
        tex = natural_texture(bg.noise_seed, size, beta=1.5)[..., 0]
        t = tex[np.floor(ys).astype(np.int64) % size, np.floor(xs).astype(np.int64) % size]
        return base + (alt - base) * t[..., None]
    if bg.texture == "striped":
        s = (xs * np.cos(bg.angle) + ys * np.sin(bg.angle)) / p
        m = np.mod(s, 1.0) < 0.5
    elif bg.texture == "checkered":
        m = (np.floor(xs / p) + np.floor(ys / p)).astype(np.int64) % 2 == 0
    elif bg.texture == "dotted":
        du, dv = np.mod(xs / p, 1.0) - 0.5, np.mod(ys / p, 1.0) - 0.5
        m = du * du + dv * dv <= 0.08
    elif bg.texture == "wavy":
        m = np.mod((ys + 0.15 * p * np.sin(2 * np.pi * xs / (1.7 * p))) / p, 1.0) < 0.5
    else:
        raise ValueError(f"unknown background texture {bg.texture!r}")
    return np.where(m[..., None], alt, base)


# ------------------------------------------------------------------------------------------------------------------
# Every shape lies within this many radii of its centre (a rotated square reaches 0.85 * sqrt(2) = 1.2).
_EXTENT = 1.25


def _grid(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:clip.height, 0:clip.width].astype(np.float32) + np.float32(0.5)
    return xs, ys


def _object_pixels(clip: Clip, k: int, with_pattern: bool):
    """Pixels covered by object k: ``(t, y, x)`` index arrays and the texture flag of each (or None).

    Shapes are evaluated only in a per-frame box around the object (the box size is fixed over the clip so the work
    stays vectorised over frames), which keeps the cost proportional to the object's area, not the frame's.
    """
    o = clip.objects[k]
    st = o.states
    T = clip.n_frames
    cx = st[:, 0] - clip.camera[:, 0]
    cy = st[:, 1] - clip.camera[:, 1]
    r = st[:, 2]
    half = int(np.ceil(_EXTENT * r.max())) + 1
    side = 2 * half + 1
    ox = np.floor(cx).astype(np.int64) - half  # box origin per frame (pixel column of box index 0)
    oy = np.floor(cy).astype(np.int64) - half
    j = np.arange(side)
    px = ox[:, None, None] + j[None, None, :]  # (T, 1, side) pixel columns
    py = oy[:, None, None] + j[None, :, None]  # (T, side, 1) pixel rows
    dx = (px + 0.5 - cx[:, None, None]).astype(np.float32)
    dy = (py + 0.5 - cy[:, None, None]).astype(np.float32)
    c = np.cos(st[:, 3]).astype(np.float32)[:, None, None]
    s = np.sin(st[:, 3]).astype(np.float32)[:, None, None]
    rr = r.astype(np.float32)[:, None, None]
    # Screen = R(angle) @ local, so local = R(-angle) @ screen; angle > 0 turns clockwise on screen (y down).
    u = (c * dx + s * dy) / rr
    v = (-s * dx + c * dy) / rr
    inside = _inside(o.appearance.shape, u, v)
    inside &= (px >= 0) & (px < clip.width) & (py >= 0) & (py < clip.height)
    t_idx, bi, bj = np.nonzero(inside)
    y_idx, x_idx = oy[t_idx] + bi, ox[t_idx] + bj
    pattern = None
    if with_pattern:
        full = _pattern(o.appearance.texture, u, v)
        pattern = None if full is None else full[t_idx, bi, bj]
    return (t_idx, y_idx, x_idx), pattern


def render_masks(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, amodal)`` without painting pixels (cheap; for ground-truth queries about occlusion)."""
    T, H, W, K = clip.n_frames, clip.height, clip.width, len(clip.objects)
    ids = np.zeros((T, H, W), np.uint8)
    amodal = np.zeros((T, K, H, W), bool)
    for k in clip.draw_order():
        (t, y, x), _ = _object_pixels(clip, k, False)
        amodal[t, k, y, x] = True
        ids[t, y, x] = k + 1
    return ids, amodal


def _paint_background(clip: Clip) -> np.ndarray:
    xs, ys = _grid(clip)
    T, H, W = clip.n_frames, clip.height, clip.width
    cam = clip.camera
    frames = np.empty((T, H, W, 3), np.uint8)
    segments = [(0, clip.cut if clip.cut is not None else T, clip.backgrounds[0])]
    if clip.cut is not None:
        segments.append((clip.cut, T, clip.backgrounds[1]))
    for t0, t1, bg in segments:
        if t1 <= t0:
            continue
        if not np.any(cam[t0:t1]):
            img = _background(bg, xs[None], ys[None])[0]
            frames[t0:t1] = np.clip(np.round(img), 0, 255).astype(np.uint8)[None]
        else:
            wx = xs[None] + cam[t0:t1, 0][:, None, None].astype(np.float32)
            wy = ys[None] + cam[t0:t1, 1][:, None, None].astype(np.float32)
            frames[t0:t1] = np.clip(np.round(_background(bg, wx, wy)), 0, 255).astype(np.uint8)
    return frames


def render(clip: Clip) -> RenderedClip:
    """Paint the clip: background(s), then objects far to near. Returns frames, instance ids and amodal masks."""
    if len(clip.objects) > 254:
        raise ValueError("at most 254 objects per clip (uint8 instance ids)")
    T, H, W, K = clip.n_frames, clip.height, clip.width, len(clip.objects)
    frames = _paint_background(clip)
    ids = np.zeros((T, H, W), np.uint8)
    amodal = np.zeros((T, K, H, W), bool)
    for k in clip.draw_order():
        (t, y, x), pattern = _object_pixels(clip, k, True)
        base, shade = object_colours(clip.objects[k].appearance.colour)
        amodal[t, k, y, x] = True
        ids[t, y, x] = k + 1
        if pattern is None:
            frames[t, y, x] = base
        else:
            frames[t, y, x] = np.where(pattern[:, None], shade[None], base[None])
    return RenderedClip(frames, ids, amodal)
