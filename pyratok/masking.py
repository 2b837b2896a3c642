"""Training-time input corruption: temporal frame masking, cosine-scheduled spatial masking, frame shuffling.

Paper, App. D: "we temporally mask 30% of frames and apply cosine-based spatial masking on each frame"; §3 overview:
"The input video is first masked and shuffled". The reconstruction target stays the clean video, so the encoder
must infer masked content from context (masked video modelling). Used only in training (``model.train()``).

Choices the paper leaves open, and ours:
* masked pixels are set to 0 (mid-grey in [-1, 1]);
* frame 0 is never masked or moved: causal VAEs encode it alone as the key frame ("16+1 frames, the additional frame
  denotes the conditioning key frame", App. D);
* spatial masking drops square patches; the per-frame ratio follows the MaskGIT cosine schedule
  ``r = max_ratio * cos(pi/2 * u)``, ``u ~ U(0, 1)``;
* shuffling swaps a fraction of adjacent frame pairs (local order noise), keeping the clip's content.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class MaskingConfig:
    enabled: bool = True
    temporal_ratio: float = 0.30      # App. D: "temporally mask 30% of frames"
    spatial_max_ratio: float = 0.5    # cosine schedule's peak ratio (paper gives no number; our choice)
    spatial_patch: int = 16           # patch side in pixels for spatial masking
    shuffle_ratio: float = 0.1        # fraction of adjacent pairs swapped (§3 "masked and shuffled"; amount unstated)


def temporal_mask(num_frames: int, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """Boolean (T,) with True for masked frames: ``round(ratio * (T - 1))`` frames among 1..T-1 (frame 0 kept)."""
    n = int(round(ratio * (num_frames - 1)))
    mask = torch.zeros(num_frames, dtype=torch.bool)
    if n > 0:
        perm = torch.randperm(num_frames - 1, generator=generator)[:n] + 1
        mask[perm] = True
    return mask


def cosine_ratio(u: Tensor, max_ratio: float) -> Tensor:
    """MaskGIT cosine schedule: ``max_ratio * cos(pi/2 * u)`` for ``u`` in [0, 1]."""
    return max_ratio * torch.cos(0.5 * math.pi * u)


def spatial_mask(num_frames: int, height: int, width: int, patch: int, max_ratio: float,
                 generator: torch.Generator | None = None) -> Tensor:
    """Boolean (T, H, W), True where masked; each frame masks a cosine-scheduled fraction of its patches."""
    gh, gw = math.ceil(height / patch), math.ceil(width / patch)
    n_patches = gh * gw
    ratios = cosine_ratio(torch.rand(num_frames, generator=generator), max_ratio)
    counts = torch.floor(ratios * n_patches).long()
    scores = torch.rand(num_frames, n_patches, generator=generator)
    # the `count` lowest-scoring patches of each frame are masked
    ranks = scores.argsort(dim=1).argsort(dim=1)
    patch_mask = ranks < counts[:, None]
    grid = patch_mask.view(num_frames, gh, gw)
    full = grid.repeat_interleave(patch, dim=1).repeat_interleave(patch, dim=2)
    return full[:, :height, :width]


def shuffle_permutation(num_frames: int, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """A permutation of 0..T-1 that swaps ``round(ratio * (T-2))`` disjoint adjacent pairs among frames 1..T-1."""
    perm = torch.arange(num_frames)
    n_pairs = int(round(ratio * max(num_frames - 2, 0)))
    if n_pairs == 0 or num_frames < 3:
        return perm
    starts = torch.randperm(num_frames - 2, generator=generator) + 1  # pair (s, s+1), s in 1..T-2
    used = torch.zeros(num_frames, dtype=torch.bool)
    done = 0
    for s in starts.tolist():
        if done == n_pairs:
            break
        if used[s] or used[s + 1]:
            continue
        perm[s], perm[s + 1] = perm[s + 1].clone(), perm[s].clone()
        used[s] = used[s + 1] = True
        done += 1
    return perm


class VideoMasker(torch.nn.Module):
    """Applies shuffling, temporal and spatial masking to a batch. Identity in eval mode or when disabled.

    Input and output: (B, C, T, H, W) in [-1, 1]. Each sample draws its own masks.
    """

    def __init__(self, config: MaskingConfig | None = None):
        super().__init__()
        self.config = config or MaskingConfig()

    def forward(self, video: Tensor, generator: torch.Generator | None = None) -> Tensor:
        cfg = self.config
        if not (self.training and cfg.enabled):
            return video
        b, _, t, h, w = video.shape
        out = []
        for i in range(b):
            x = video[i]
            if cfg.shuffle_ratio > 0:
                x = x[:, shuffle_permutation(t, cfg.shuffle_ratio, generator).to(x.device)]
            keep = torch.ones(t, h, w, dtype=torch.bool)
            if cfg.temporal_ratio > 0:
                keep &= ~temporal_mask(t, cfg.temporal_ratio, generator)[:, None, None]
            if cfg.spatial_max_ratio > 0:
                keep &= ~spatial_mask(t, h, w, cfg.spatial_patch, cfg.spatial_max_ratio, generator)
            keep[0] = True  # the key frame stays intact
            out.append(x * keep.to(x.device, x.dtype)[None])
        return torch.stack(out)
