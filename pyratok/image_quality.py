"""Differentiable SSIM (Wang et al. 2004) with the Gaussian-window convention of scikit-image, and PSNR.

Matches ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=R)``: 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma),
K1 = 0.01, K2 = 0.03, mean over the 'valid' region (scikit-image crops the (win-1)/2 border), then over channels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _gaussian_window(sigma: float = 1.5, truncate: float = 3.5, device=None, dtype=torch.float32) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, device=device, dtype=torch.float64)
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return g.to(dtype)


def ssim(x: Tensor, y: Tensor, data_range: float = 1.0, sigma: float = 1.5, reduction: str = "mean") -> Tensor:
    """SSIM of image batches ``x, y`` of shape (N, C, H, W) with values spanning ``data_range``.

    Returns the mean SSIM (``reduction="mean"``) or one value per image (``"none"``, shape (N,)).
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim expects two (N, C, H, W) tensors of equal shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    c = x.shape[1]
    g = _gaussian_window(sigma, device=x.device, dtype=torch.float32)
    win = g.numel()
    if min(x.shape[-2:]) < win:
        raise ValueError(f"ssim needs images of at least {win}x{win} pixels, got {tuple(x.shape[-2:])}")
    x = x.float()
    y = y.float()
    kh = g.view(1, 1, win, 1).expand(c, 1, win, 1)
    kw = g.view(1, 1, 1, win).expand(c, 1, 1, win)

    def filt(t: Tensor) -> Tensor:
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x ** 2
    syy = filt(y * y) - mu_y ** 2
    sxy = filt(x * y) - mu_x * mu_y
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    per_image = s.flatten(1).mean(1)
    return per_image.mean() if reduction == "mean" else per_image


def video_to_frames(video: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W)."""
    b, c, t, h, w = video.shape
    return video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)


def psnr(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR in dB of two tensors over all elements (per-batch mean of per-sample PSNR if ``x`` is batched)."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-12))).mean()
