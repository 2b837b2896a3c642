"""How big the synthetic datasets are: the ``--scale`` presets (``tiny``, ``small``) and ``N`` clips per split."""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Scale", "TINY", "SMALL", "parse_scale"]


@dataclass(frozen=True)
class Scale:
    """Geometry and counts shared by every benchmark writer.

    ``size`` is the side of square clips; image/VIS benchmarks use ``size`` x ``wide`` (H x W) frames so that a
    reader swapping height and width is caught. Clip lengths are 1 + 4k frames (the causal-VAE contract).
    ``clips`` is the number of videos per split (per class for Kinetics; per task for MVBench it is
    ``max(2, clips // 2)``); ``classes`` the number of Kinetics-400 / UCF-101 classes (Kinetics-600/700 get more).
    """

    name: str
    size: int
    frames: int
    long_frames: int  # untrimmed THUMOS14 / ActivityNet videos
    fps: float
    clips: int
    classes: int

    @property
    def wide(self) -> int:
        return (self.size * 3 // 2) // 2 * 2

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "size", "frames", "long_frames", "fps", "clips", "classes")}


TINY = Scale("tiny", size=64, frames=17, long_frames=65, fps=8.0, clips=4, classes=6)
SMALL = Scale("small", size=128, frames=33, long_frames=129, fps=8.0, clips=16, classes=12)


def parse_scale(value: str | int | Scale) -> Scale:
    """``'tiny'``, ``'small'`` or an integer N (the ``small`` geometry with N clips per split)."""
    if isinstance(value, Scale):
        return value
    text = str(value).strip().lower()
    if text == "tiny":
        return TINY
    if text == "small":
        return SMALL
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"unknown scale {value!r}: use 'tiny', 'small' or a positive integer") from None
    if n <= 0:
        raise ValueError(f"scale N must be a positive integer, got {n}")
    return replace(SMALL, name=str(n), clips=n)
