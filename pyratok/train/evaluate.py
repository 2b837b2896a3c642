"""Reconstruction quality of a tokenizer on held-out clips: PSNR and SSIM (the gate's and validation's metrics).

PSNR: per clip over all its pixels, frames and channels, with values mapped to [0, 1] (``(x + 1) / 2``), then the
mean over clips. SSIM: scikit-image's Gaussian-window SSIM (:func:`pyratok.image_quality.ssim`, checked against
scikit-image in tests/test_image_quality.py) per frame, averaged over frames and clips. The reconstruction is
clamped to [-1, 1] first, as any decoded video would be.

Held-out L_AR (:func:`evaluate_ar_nll`): the AR alignment's NLL of every visual token of clean (unmasked) clips given
their captions, in nats, averaged over all tokens of all clips, next to the uniform reference K ln 2 (= ln 2^K,
11.09 nats for K = 16). Both heads share that reference: the "index" head's uniform softmax over 2^K codes and the
"bits" head's K fair coins give the same ln 2^K per token.
"""
from __future__ import annotations

from typing import Callable, Iterable

import math

import torch
from torch import Tensor

from ..image_quality import psnr, ssim, video_to_frames

__all__ = ["clip_psnr_ssim", "evaluate_reconstruction", "evaluate_ar_nll"]


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


@torch.no_grad()
def evaluate_ar_nll(model, batches: Iterable[dict], device: torch.device | str = "cpu",
                    max_batches: int | None = None) -> dict:
    """Held-out per-token L_AR of a PyraTok ``model`` (needs ``model.ar_nll(video, texts)``) over ``batches``.

    Returns {"nll", "uniform", "head", "n_tokens", "n_clips", "nll_per_level"}: token-weighted mean NLL in nats per
    visual token, the uniform reference K ln 2, the head ("index" | "bits") and the per-level means; with no clip
    at all "nll" is None.
    """
    k = model.config.alignment.num_bits
    total, count, clips = 0.0, 0, 0
    level_sum: list[float] = []
    level_n: list[int] = []
    was = model.training
    model.eval()
    try:
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            if batch["video"] is None:
                continue
            out = model.ar_nll(batch["video"].to(device), list(batch["texts"]))
            for lvl, t in enumerate(out.token_nll):
                if lvl >= len(level_sum):
                    level_sum.append(0.0)
                    level_n.append(0)
                level_sum[lvl] += float(t.double().sum())
                level_n[lvl] += t.numel()
                total += float(t.double().sum())
                count += t.numel()
            clips += int(batch["video"].shape[0])
    finally:
        model.train(was)
    return {"nll": total / count if count else None, "uniform": k * math.log(2), "head": model.config.alignment.head,
            "n_tokens": count, "n_clips": clips,
            "nll_per_level": [s / n for s, n in zip(level_sum, level_n)]}
