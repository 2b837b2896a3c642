"""What each LaPQ level carries: drop-one-level PSNR, adjacent-level bit agreement, per-level PCA maps (Fig. 4)
and text -> visual cross-attention maps (Fig. 2). Plain functions with typed results; no plotting.

Definitions (all per level l = 1..L, levels on their own token grids, see :mod:`pyratok.lapq`):

* **Drop-one-level PSNR** — the reconstruction PSNR (dB, pixels mapped from [-1, 1] to [0, 1], data range 1, mean
  over clips of the per-clip PSNR) when level l's codes are replaced by their mean and the other levels are kept.
  ``fill="mean"``: per clip and per bit, the mean over level l's T'H'W' cells of the ±1 code (2 x fraction of +1
  bits - 1, a real vector in [-1, 1]^K) at every cell. The decoder path projects codes linearly (K -> D) before
  anything else, so this equals replacing level l's projected contribution by its clip average: the level keeps
  its average and loses all its spatial and temporal information. ``fill="majority"``: the sign of that mean
  (ties -> +1), a valid binary code at every cell. A large drop means the level carries information the others do
  not.
* **Adjacent-level agreement** — for levels l-1 and l, the fraction of bits on which they agree after level l-1's
  codes are resized to level l's grid with :func:`pyratok.lapq.resize_grid` (block mean of the finer cells each
  coarser cell covers, causal key frame on its own): A = mean over level-l cells, bits and clips of
  (1 + c_l R(c_{l-1})) / 2. When level l is coarser, each term is exactly the fraction of the covered level-(l-1)
  cells whose bit equals level l's, so no tie-breaking is needed. 1 = copies, ~0.5 = unrelated codes.
* **PCA maps** — per clip and level, a 3-component PCA of the level's dequantized codes (the ±1 LFQ codes of its
  tokens, or any (B, C, T', H', W') features): centre over the cells, project on the top three right singular
  vectors, min-max scale each component to [0, 1] over the clip's cells (a constant component -> 0.5) -> RGB.
  Sign convention: each singular vector is flipped so that its largest-magnitude entry is positive.
* **Attention maps** — each LaPQ block's text -> visual cross-attention weights (visual cells are queries, text
  tokens keys): (B, heads, T', H', W', S), or the mean over heads (B, T', H', W', S); each cell's weights sum to 1
  over the unpadded text tokens, padded tokens get exactly 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .image_quality import psnr
from .lapq import resize_grid
from .lfq import indices_to_codes

__all__ = ["DropLevelPSNR", "drop_level_psnr", "adjacent_level_agreement", "agreement_of_encoding", "level_codes",
           "pca_rgb", "pca_maps", "AttentionMaps", "cross_attention_maps"]


def _clip_psnr(recon: Tensor, video: Tensor) -> float:
    return float(psnr((recon.clamp(-1, 1) + 1) / 2, (video.clamp(-1, 1) + 1) / 2))


def _to_grid(codes: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(B, N, K) -> (B, K, T', H', W')."""
    return codes.transpose(1, 2).reshape(codes.shape[0], codes.shape[2], *grid)


def level_codes(model, encoding) -> list[Tensor]:
    """Dequantized codes of every level of a :class:`~pyratok.model.PyraTokEncoding`: (B, K, T'_l, H'_l, W'_l)
    (±1 for LFQ; the codebook vectors for the Table 9 quantizers)."""
    codes, grids = model.lapq.indices_to_codes(list(encoding.indices))
    return [_to_grid(c, g) for c, g in zip(codes, grids)]


@dataclass
class DropLevelPSNR:
    """PSNR (dB) of the full reconstruction and, per level (index 0 = level 1), with that level's codes replaced."""

    full: float
    dropped: list[float]
    fill: str
    grids: list[tuple[int, int, int]]

    @property
    def drop(self) -> list[float]:
        """PSNR lost per level: full - dropped[l] (dB)."""
        return [self.full - d for d in self.dropped]

    def to_dict(self) -> dict:
        return {"full_psnr": self.full, "dropped_psnr": list(self.dropped), "psnr_drop": self.drop,
                "fill": self.fill, "grids": [list(g) for g in self.grids]}


def _fill(codes: Tensor, fill: str) -> Tensor:
    """codes (B, N, K) -> every cell replaced by the per-clip, per-channel mean (or its sign, ties -> +1)."""
    mean = codes.mean(dim=1, keepdim=True).expand_as(codes)
    if fill == "mean":
        return mean
    return torch.where(mean >= 0, torch.ones_like(mean), -torch.ones_like(mean))


@torch.no_grad()
def drop_level_psnr(model, video: Tensor, texts: list[str] | None = None, fill: str = "mean") -> DropLevelPSNR:
    """Drop-one-level PSNR of ``model`` (a :class:`~pyratok.model.PyraTok`) on ``video`` (B, 3, T, H, W) in [-1, 1].

    ``fill``: "mean" (the mean code, see the module docstring) or "majority" (its sign, a valid code).
    """
    if fill not in ("mean", "majority"):
        raise ValueError(f"fill must be 'mean' or 'majority', got {fill!r}")
    if fill == "majority" and model.config.lapq.quantizer.type != "lfq":
        raise ValueError("fill='majority' needs binary LFQ codes; use fill='mean' for codebook quantizers")
    model.eval()
    enc = model.encode(video, texts)
    codes, grids = model.lapq.indices_to_codes(list(enc.indices))

    def recon(cs: list[Tensor]) -> Tensor:
        return model.backbone.decode(model.lapq.codes_to_latent(cs, grids, tuple(enc.latent_grid)))

    full = _clip_psnr(recon(codes), video)
    dropped = []
    for lvl in range(len(codes)):
        cs = list(codes)
        cs[lvl] = _fill(codes[lvl], fill)
        dropped.append(_clip_psnr(recon(cs), video))
    return DropLevelPSNR(full, dropped, fill, [tuple(g) for g in grids])


def adjacent_level_agreement(codes: list[Tensor]) -> list[float]:
    """Bit agreement of levels (1, 2), (2, 3), ... ``codes[l]``: (B, K, T'_l, H'_l, W'_l) in {-1, +1}, each on its
    own (nested) grid -> L - 1 values in [0, 1] (see the module docstring)."""
    out = []
    for prev, cur in zip(codes[:-1], codes[1:]):
        if prev.shape[:2] != cur.shape[:2]:
            raise ValueError(f"levels need the same batch and code width, got {tuple(prev.shape)} and {tuple(cur.shape)}")
        vals = torch.unique(torch.cat([prev.flatten(), cur.flatten()]))
        if not set(vals.tolist()) <= {-1.0, 1.0}:
            raise ValueError("adjacent_level_agreement needs binary codes in {-1, +1} (LFQ)")
        r = resize_grid(prev.double(), tuple(cur.shape[2:]))
        out.append(float(((1 + cur.double() * r) / 2).mean()))
    return out


def agreement_of_encoding(encoding, num_bits: int) -> list[float]:
    """:func:`adjacent_level_agreement` of a :class:`~pyratok.model.PyraTokEncoding` with ``num_bits``-bit LFQ ids."""
    codes = [indices_to_codes(ix, num_bits).movedim(-1, 1) for ix in encoding.indices]
    return adjacent_level_agreement(codes)


def pca_rgb(x: Tensor) -> Tensor:
    """(N, C) rows -> (N, 3) in [0, 1]: 3-component PCA (module docstring conventions), float64."""
    x = x.double()
    xc = x - x.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    comps = vh[:3]
    flip = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
    comps = comps * torch.where(flip == 0, torch.ones_like(flip), flip)
    scores = xc @ comps.T
    if scores.shape[1] < 3:
        scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 3 - scores.shape[1])], 1)
    lo, hi = scores.min(0).values, scores.max(0).values
    span = hi - lo
    rel_tol = 1e-9 * max(float(xc.abs().max()), 1e-300)
    flat = span <= rel_tol
    rgb = (scores - lo) / torch.where(flat, torch.ones_like(span), span)
    rgb[:, flat] = 0.5
    return rgb.clamp(0, 1)


def pca_maps(codes: list[Tensor]) -> list[Tensor]:
    """Fig. 4-style maps: per level ``codes[l]`` (B, C, T', H', W') -> (B, T', H', W', 3) RGB in [0, 1] (float32),
    the PCA fitted per clip and level."""
    out = []
    for c in codes:
        b, ch, *grid = c.shape
        rows = c.flatten(2).transpose(1, 2)      # (B, N, C)
        maps = torch.stack([pca_rgb(rows[i]) for i in range(b)])
        out.append(maps.reshape(b, *grid, 3).float())
    return out


@dataclass
class AttentionMaps:
    """Text -> visual cross-attention of every LaPQ level.

    maps[l]: (B, heads, T'_l, H'_l, W'_l, S) or, with ``average_heads``, (B, T'_l, H'_l, W'_l, S); None for a level
    without text guidance. text_mask: (B, S) bool, True = real text token. grids: token grid per level.
    """

    maps: list[Tensor | None]
    text_mask: Tensor
    grids: list[tuple[int, int, int]]


@torch.no_grad()
def cross_attention_maps(model, video: Tensor, texts: list[str], average_heads: bool = True) -> AttentionMaps:
    """Fig. 2-style maps of ``model`` (a :class:`~pyratok.model.PyraTok`): video (B, 3, T, H, W) in [-1, 1] and one
    caption per clip -> :class:`AttentionMaps` (eval mode, no masking)."""
    if model.config.lapq.mode == "single" or not model.config.lapq.text_guidance:
        raise ValueError("cross_attention_maps needs a LaPQ pyramid with text guidance "
                         f"(lapq.mode={model.config.lapq.mode!r}, text_guidance={model.config.lapq.text_guidance})")
    model.eval()
    model._check_video(video)
    text = model.embed_text(model._texts(texts, video.shape[0]))
    pyr = model.backbone.encode_pyramid(video)
    out = model.lapq(pyr.features, pyr.posterior.mean, text, tuple(video.shape[2:]), return_attention=True)
    maps = []
    for a, g in zip(out.attention, out.grids):
        if a is None:
            maps.append(None)
            continue
        b, h, n, s = a.shape
        if n != math.prod(g):
            raise RuntimeError(f"attention has {n} queries for a {g} grid")
        a = a.reshape(b, h, *g, s)
        maps.append(a.mean(1) if average_heads else a)
    return AttentionMaps(maps, text.mask.clone(), [tuple(g) for g in out.grids])
