"""Shared clip handling for the task protocols: fitting a clip to a tokenizer's geometry and batching.

A benchmark decides the protocol geometry (frames, size); a tokenizer may need ``T = 1 + 4k`` and ``H, W`` multiples
of its stride. :func:`conform` trims trailing frames and centre-crops to the nearest valid geometry *below* the
protocol's (never pads, never resizes: the metric is then computed on exactly what the tokenizer saw), and says what
it did so the protocol record can state it.
"""
from __future__ import annotations

from torch import Tensor

__all__ = ["conform", "batched"]


def conform(video: Tensor, constraints) -> tuple[Tensor, dict]:
    """``video`` (B, 3, T, H, W) -> the largest valid sub-clip for ``constraints``
    (:class:`adapters.base.InputConstraints`): first valid frames, centre crop. Returns (clip, {"frames", "size"})."""
    if video.dim() != 5:
        raise ValueError(f"video must be (B, 3, T, H, W), got {tuple(video.shape)}")
    T, H, W = video.shape[2:]
    t = constraints.valid_frames(T)
    m = constraints.hw_multiple
    h, w = H // m * m, W // m * m
    if h == 0 or w == 0:
        raise ValueError(f"a {H}x{W} clip is smaller than the tokenizer's spatial multiple {m}")
    top, left = (H - h) // 2, (W - w) // 2
    out = video[:, :, :t, top:top + h, left:left + w]
    return out.contiguous(), {"frames": t, "size": [h, w]}


def batched(items: list, batch_size: int):
    for i in range(0, len(items), max(1, batch_size)):
        yield items[i:i + batch_size]


