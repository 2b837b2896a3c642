"""Reconstruction quality of a tokenizer on held-out clips: PSNR and SSIM (the gate's and validation's metrics).

PSNR: per clip over all its pixels, frames and channels, with values mapped to [0, 1] (``(x + 1) / 2``), then the
mean over clips. SSIM: scikit-image's Gaussian-window SSIM (:func:`pyratok.image_quality.ssim`, checked against
scikit-image in tests/test_image_quality.py) per frame, averaged over frames and clips. The reconstruction is
clamped to [-1, 1] first, as any decoded video would be.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor

from ..image_quality import psnr, ssim, video_to_frames

__all__ = ["clip_psnr_ssim", "evaluate_reconstruction"]


@torch.no_grad()
def clip_psnr_ssim(recon: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """recon, target (B, 3, T, H, W) in [-1, 1] -> per-clip PSNR (dB) and SSIM, each (B,)."""
    if recon.shape != target.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and target {tuple(target.shape)} differ in shape")
    r = (recon.float().clamp(-1, 1) + 1) / 2
    t = (target.float().clamp(-1, 1) + 1) / 2
    p = torch.stack([psnr(r[i:i + 1], t[i:i + 1]) for i in range(r.shape[0])])
    b, _, n = r.shape[:3]
    s = ssim(video_to_frames(r), video_to_frames(t), data_range=1.0, reduction="none").view(b, n).mean(1)
    return p, s


@torch.no_grad()
def evaluate_reconstruction(reconstruct: Callable[[Tensor, list[str]], Tensor], batches: Iterable[dict],
                            device: torch.device | str = "cpu", max_batches: int | None = None) -> dict:
    """Mean PSNR / SSIM of ``reconstruct(video, texts)`` over ``batches`` (dicts with "video", "texts").

    Returns {"psnr", "ssim", "n_clips"}; with no clip at all both metrics are None (never a made-up number).
    """
    ps, ss = [], []
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        if batch["video"] is None:
            continue
        video = batch["video"].to(device)
        recon = reconstruct(video, batch["texts"])
        p, s = clip_psnr_ssim(recon, video)
        ps.append(p.cpu())
        ss.append(s.cpu())
    if not ps:
        return {"psnr": None, "ssim": None, "n_clips": 0}
    p, s = torch.cat(ps), torch.cat(ss)
    return {"psnr": float(p.mean()), "ssim": float(s.mean()), "n_clips": int(p.numel())}
