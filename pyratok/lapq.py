"""Language-aligned Pyramidal Quantization (LaPQ), paper §3.2.1-§3.2.2 ①, Eq. 1.

    q(l) = Q_l(q(l-1), F(l), e_t),   l = 1..L

Each quantization block Q_l
  1. projects the encoder feature F(l) laterally to a common width D and onto level l's token grid
     (a learned causal space-time patchify: the first frame alone, then groups of frames, like the causal VAE);
  2. adds q(l-1) (the previous level's dequantized codes, projected K -> D) resized to level l's grid;
  3. attends to the text tokens e_t with multi-head attention (visual tokens are queries, text tokens keys/values,
     padding masked) — the local language alignment;
  4. fuses visual and attended text features with projection layers (an MLP on their concatenation, residual);
  5. projects to K bits and quantizes with the LFQ codebook shared by every level.

Token grid. The paper does not state each level's token grid. Table 8 reports 1,024 tokens for a 16-frame 128x128
UCF-101 clip; with Wan 2.2's (4, 16, 16) latent stride that clip has a 4x8x8 latent grid, and 4 levels x 256 =
1,024 — so by default every level quantizes on the latent grid (``token_stride=None``), and the levels differ by
the encoder depth they read. A per-level ``token_stride`` gives a spatial pyramid of grids instead.

Decoder path (DESIGN §4): each level's codes are projected K -> D, resized to the latent grid, concatenated over
levels and mapped to the VAE latent (z_dim channels) for the VAE decoder.

Ablations (Table 6) are configuration, not code:
* ``mode="single"`` — w/o LaPQ: one quantizer on the final latent (single-scale LFQ);
* ``text_guidance=False`` — w/o text guidance: no cross-attention;
* ``feature_source="deepest"`` — w/o Pyramidal-Q: every block reads the deepest feature F(L) (recurrent
  quantization without the multi-depth pyramid);
* ``num_levels`` 2/3/4 — number of Q-blocks, using the deepest ``num_levels`` encoder stages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .lfq import LFQ, LFQConfig, LFQOutput, indices_to_codes
from .quantizers import CodebookQuantizer, QuantizerConfig
from .text.base import TextEmbedding


@dataclass
class LaPQConfig:
    mode: str = "pyramid"             # "pyramid" (LaPQ) | "single" (w/o LaPQ ablation, Table 6)
    num_levels: int = 4               # App. D / Table 6: 4 Q-blocks by default
    dim: int = 256                    # common width D of the lateral projections (not stated in the paper)
    num_heads: int = 8
    text_guidance: bool = True        # Table 6 "w/o Text Guidance" -> False
    feature_source: str = "pyramid"   # "pyramid" | "deepest" (Table 6 "w/o Pyramidal-Q")
    token_stride: list | None = None  # per level (t, s) token strides w.r.t. the input; None -> the latent grid
    lfq: LFQConfig = field(default_factory=LFQConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)  # Table 9: "lfq" (default) or vq/gvq/rvq/fsq

    @property
    def code_width(self) -> int:
        """Channels of the quantized codes: K bits for LFQ, the codebook dimension otherwise."""
        return self.lfq.num_bits if self.quantizer.type == "lfq" else self.quantizer.dim

    def __post_init__(self):
        from .config_utils import ConfigError
        if self.mode not in ("pyramid", "single"):
            raise ConfigError(f"lapq.mode must be 'pyramid' or 'single', got {self.mode!r}")
        if self.feature_source not in ("pyramid", "deepest"):
            raise ConfigError(f"lapq.feature_source must be 'pyramid' or 'deepest', got {self.feature_source!r}")
        if self.num_levels < 1:
            raise ConfigError(f"lapq.num_levels must be >= 1, got {self.num_levels}")
        if self.dim % self.num_heads:
            raise ConfigError(f"lapq.dim ({self.dim}) must be divisible by lapq.num_heads ({self.num_heads})")
        if isinstance(self.lfq, dict):
            from .config_utils import from_dict
            self.lfq = from_dict(LFQConfig, self.lfq, "lapq.lfq")
        if isinstance(self.quantizer, dict):
            from .config_utils import from_dict
            self.quantizer = from_dict(QuantizerConfig, self.quantizer, "lapq.quantizer")


def causal_length(num_frames: int, stride: int) -> int:
    """Frames after causal temporal downsampling by ``stride``: the first frame alone, then groups of ``stride``."""
    return 1 + (num_frames - 1) // stride


class CausalPatchify(nn.Module):
    """Learned space-time patchify (C, T, H, W) -> (D, 1 + (T-1)/t, H/s, W/s), causal in time.

    The first frame is replicated ``t - 1`` times in front (as causal VAEs pad), so output frame 0 sees only input
    frame 0 and output frame j sees input frames (j-1)*t+1 .. j*t.
    """

    def __init__(self, in_channels: int, out_channels: int, t: int, s: int):
        super().__init__()
        self.t, self.s = t, s
        self.proj = nn.Conv3d(in_channels * t, out_channels, kernel_size=(1, s, s), stride=(1, s, s))

    def forward(self, x: Tensor) -> Tensor:
        b, c, T, h, w = x.shape
        t = self.t
        if t > 1:
            if (T - 1) % t:
                raise ValueError(f"causal patchify needs T = 1 + {t}k frames, got {T}")
            x = torch.cat([x[:, :, :1].expand(-1, -1, t - 1, -1, -1), x], dim=2)
            tt = x.shape[2] // t
            x = x.view(b, c, tt, t, h, w).permute(0, 1, 3, 2, 4, 5).reshape(b, c * t, tt, h, w)
        return self.proj(x)


def resize_grid(x: Tensor, size: tuple[int, int, int]) -> Tensor:
    """Resize (B, C, T, H, W) to ``size`` (nearest in time, which keeps the causal key frame; bilinear-ish in space)."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="trilinear", align_corners=False)


def _flatten(x: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B, T*H*W, C)."""
    return x.flatten(2).transpose(1, 2)


def _unflatten(x: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(B, N, C) -> (B, C, T, H, W)."""
    b, n, c = x.shape
    return x.transpose(1, 2).reshape(b, c, *grid)


class QuantizationBlock(nn.Module):
    """Q_l: lateral projection, previous level, text cross-attention, fusion, LFQ (shared)."""

    def __init__(self, in_channels: int, dim: int, num_bits: int, num_heads: int, text_dim: int,
                 patch_t: int, patch_s: int, text_guidance: bool):
        super().__init__()
        self.lateral = CausalPatchify(in_channels, dim, patch_t, patch_s)
        self.lateral_norm = nn.LayerNorm(dim)
        self.prev_proj = nn.Linear(num_bits, dim)          # q(l-1) codes -> D
        self.text_guidance = text_guidance
        if text_guidance:
            self.attn_norm = nn.LayerNorm(dim)
            self.cross_attn = nn.MultiheadAttention(dim, num_heads, kdim=text_dim, vdim=text_dim, batch_first=True)
            self.fuse = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.out_norm = nn.LayerNorm(dim)
        self.to_bits = nn.Linear(dim, num_bits)

    def forward(self, feature: Tensor, prev_codes: Tensor | None, text: TextEmbedding | None,
                grid: tuple[int, int, int]) -> tuple[Tensor, dict]:
        """feature (B, C_l, T_l, H_l, W_l); prev_codes (B, K, T', H', W') or None -> pre-quantization z (B, N, K)."""
        x = self.lateral(feature)
        x = resize_grid(x, grid)
        h = self.lateral_norm(_flatten(x))
        if prev_codes is not None:
            h = h + self.prev_proj(_flatten(resize_grid(prev_codes, grid)))
        attn_weights = None
        if self.text_guidance and text is not None:
            q = self.attn_norm(h)
            attended, attn_weights = self.cross_attn(q, text.tokens, text.tokens, key_padding_mask=~text.mask,
                                                     need_weights=False)
            h = h + self.fuse(torch.cat([h, attended], dim=-1))
        z = self.to_bits(self.out_norm(h))
        return z, {"attn": attn_weights}


@dataclass
class LaPQOutput:
    """Per-level results. N_l = T'_l * H'_l * W'_l tokens of level l."""

    grids: list[tuple[int, int, int]]   # token grid (T', H', W') of each level
    z: list[Tensor]                     # (B, N_l, K) pre-quantization features (continuous)
    quant: list[LFQOutput]              # LFQ output per level (quantized codes, indices, logits, loss terms)
    latent: Tensor                      # (B, z_dim, T', H', W') VAE latent reconstructed from the codes

    @property
    def codes(self) -> list[Tensor]:
        return [q.quantized for q in self.quant]

    @property
    def indices(self) -> list[Tensor]:
        return [q.indices for q in self.quant]


class LaPQ(nn.Module):
    """The pyramid of quantization blocks plus the path from the codes back to the VAE latent.

    Args:
        config: :class:`LaPQConfig`.
        stage_channels: channels C_l of every encoder stage F(1..S) (shallow -> deep).
        stage_strides: (t, s) strides of every stage relative to the input.
        latent_channels, latent_stride: the VAE latent's channels and (t, s) stride.
        text_dim: width of the text token embeddings e_t.
    """

    def __init__(self, config: LaPQConfig, stage_channels: list[int], stage_strides: list[tuple[int, int]],
                 latent_channels: int, latent_stride: tuple[int, int], text_dim: int):
        super().__init__()
        self.config = config
        K = config.code_width
        self.latent_stride = tuple(latent_stride)
        # one codebook shared by every level (§3.2.2): the binary LFQ codebook, or a learned one for Table 9
        self.quantizer = LFQ(config.lfq) if config.quantizer.type == "lfq" else CodebookQuantizer(config.quantizer)
        if config.mode == "single":
            self.levels_used: list[int] = []
            self.to_bits = nn.Conv3d(latent_channels, K, 1)
            self.from_bits = nn.Conv3d(K, latent_channels, 1)
            self.token_strides = [tuple(latent_stride)]
            return
        n_stages = len(stage_channels)
        if config.num_levels > n_stages:
            raise ValueError(f"lapq.num_levels={config.num_levels} but the backbone has only {n_stages} stages")
        if config.feature_source == "pyramid":
            self.levels_used = list(range(n_stages - config.num_levels, n_stages))
        else:
            self.levels_used = [n_stages - 1] * config.num_levels
        if config.token_stride is None:
            self.token_strides = [tuple(latent_stride)] * config.num_levels
        else:
            if len(config.token_stride) != config.num_levels:
                raise ValueError("lapq.token_stride needs one (t, s) per level")
            self.token_strides = [tuple(ts) for ts in config.token_stride]
        blocks = []
        for lvl, stage in enumerate(self.levels_used):
            st, ss = stage_strides[stage]
            tt, ts = self.token_strides[lvl]
            if tt % st or ts % ss:
                raise ValueError(f"level {lvl + 1}: token stride {(tt, ts)} is not a multiple of stage stride {(st, ss)}")
            blocks.append(QuantizationBlock(stage_channels[stage], config.dim, K, config.num_heads, text_dim,
                                            tt // st, ts // ss, config.text_guidance))
        self.blocks = nn.ModuleList(blocks)
        self.code_proj = nn.ModuleList([nn.Linear(K, config.dim) for _ in blocks])
        self.to_latent = nn.Sequential(
            nn.Conv3d(config.dim * len(blocks), config.dim, 1), nn.SiLU(),
            nn.Conv3d(config.dim, latent_channels, (1, 3, 3), padding=(0, 1, 1)),
        )

    @property
    def num_levels(self) -> int:
        return 1 if self.config.mode == "single" else len(self.blocks)

    def grids(self, num_frames: int, height: int, width: int) -> list[tuple[int, int, int]]:
        return [(causal_length(num_frames, t), height // s, width // s) for t, s in self.token_strides]

    def latent_grid(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        t, s = self.latent_stride
        return causal_length(num_frames, t), height // s, width // s

    def forward(self, features: list[Tensor], posterior_mean: Tensor, text: TextEmbedding | None,
                input_shape: tuple[int, int, int], token_mask: list[Tensor] | None = None) -> LaPQOutput:
        """features: F(1..S) from the backbone; posterior_mean: (B, z, T', H', W'); input_shape: (T, H, W)."""
        latent_grid = tuple(posterior_mean.shape[2:])
        if self.config.mode == "single":
            z = _flatten(self.to_bits(posterior_mean))
            q = self.quantizer(z)
            codes = _unflatten(q.quantized, latent_grid)
            return LaPQOutput([latent_grid], [z], [q], self.from_bits(codes))
        grids = self.grids(*input_shape)
        zs, quants, prev = [], [], None
        for lvl, (block, stage) in enumerate(zip(self.blocks, self.levels_used)):
            z, _ = block(features[stage], prev, text, grids[lvl])
            q = self.quantizer(z)
            zs.append(z)
            quants.append(q)
            prev = _unflatten(q.quantized, grids[lvl])
        return LaPQOutput(grids, zs, quants, self.codes_to_latent([q.quantized for q in quants], grids, latent_grid))

    def codes_to_latent(self, codes: list[Tensor], grids: list[tuple[int, int, int]],
                        latent_grid: tuple[int, int, int]) -> Tensor:
        """codes[l]: (B, N_l, K) in {-1, +1} -> VAE latent (B, z_dim, T', H', W')."""
        if self.config.mode == "single":
            return self.from_bits(_unflatten(codes[0], grids[0]))
        parts = [resize_grid(_unflatten(proj(c), g), latent_grid) for proj, c, g in zip(self.code_proj, codes, grids)]
        return self.to_latent(torch.cat(parts, dim=1))

    def indices_to_latent(self, indices: list[Tensor], latent_grid: tuple[int, int, int]) -> Tensor:
        """indices[l]: (B, T'_l, H'_l, W'_l) integer tokens -> VAE latent.

        LFQ needs no lookup table (the code is the bits of the index); the Table 9 codebook quantizers look up their
        learned codebooks (their indices carry a trailing group/depth axis: (B, T', H', W', G)).
        """
        if self.config.quantizer.type == "lfq":
            grids = [tuple(ix.shape[1:]) for ix in indices]
            codes = [indices_to_codes(ix.flatten(1), self.config.lfq.num_bits) for ix in indices]
        else:
            grids = [tuple(ix.shape[1:4]) for ix in indices]
            codes = [self.quantizer.indices_to_codes(ix.flatten(1, 3)) for ix in indices]
        return self.codes_to_latent(codes, grids, latent_grid)
