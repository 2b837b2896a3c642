"""Language-aligned Pyramidal Quantization (LaPQ), paper §3.2.1-§3.2.2 ①, Eq. 1.

    q(l) = Q_l(q(l-1), F(l), e_t),   l = 1..L

Each quantization block Q_l
  1. projects the encoder feature F(l) laterally to a common width D and onto level l's own token grid
     (a learned causal space-time patchify: the first frame alone, then groups of frames, like the causal VAE);
  2. adds q(l-1) (the previous level's dequantized codes, projected K -> D) resized to level l's grid;
  3. attends to the text tokens e_t with multi-head attention (visual tokens are queries, text tokens keys/values,
     padding masked) — the local language alignment;
  4. fuses visual and attended text features with projection layers (an MLP on their concatenation, residual);
  5. projects to K bits and quantizes with the LFQ codebook shared by every level.

Token grids (``LaPQConfig.grid``). §3.2.1 quantizes "across multiple spatiotemporal resolutions" and App. B.3 relies
on q(1) keeping the finest temporal resolution, so by default (``grid="pyramid"``) every level has its own grid,
finer at shallow levels and coarser at deep ones, in space and in time. Level l's token stride (t, s) w.r.t. the
input is a fixed multiple of the VAE latent stride (t_z, s_z) — :data:`PYRAMID_STRIDE_FACTORS`:

    level 1: (t_z/2, s_z)   level 2: (t_z, s_z)   level 3: (t_z, 2 s_z)   level 4: (2 t_z, 2 s_z)

i.e. (2, 16), (4, 16), (4, 32), (8, 32) for Wan 2.2 (latent stride (4, 16); tiny and paper configs alike) and
(2, 8), (4, 8), (4, 16), (8, 16) for Wan 2.1. Each step coarsens time or space and never refines either; level 1
has the finest temporal grid (twice the latent's frame rate). Fewer levels (``num_levels`` 2/3, Table 6) read the
deepest stages and take the deepest strides of this list. A grid has 1 + ceil((T - 1) / t) frames (the causal key
frame alone, then groups of t frames) and ceil(H / s) x ceil(W / s) cells (the last cells padded by replication
when s does not divide H or W).

Table 8 counts 1,024 tokens for a "16-frame" 128 x 128 clip. A causal tokenizer reads 1 + 4k frames, so the
16-frame clip is encoded as the key frame plus 16 frames (T = 17, as the class-conditional generation benchmark
feeds causal tokenizers); on Wan 2.2 the pyramid then gives 9x8x8 + 5x8x8 + 5x4x4 + 3x4x4 = 576 + 320 + 80 + 48 =
1,024 tokens. Grids per level (T', H', W') and tokens, identical for the tiny and the paper config (both Wan 2.2,
latent stride (4, 16)), 16-bit tokens; bits per pixel = tokens x 16 / (T H W):

    clip         grid       level 1      level 2      level 3     level 4     tokens  bits/pixel
    17x64x64     pyramid    9x4x4=144    5x4x4=80     5x2x2=20    3x2x2=12       256      0.0588
    17x64x64     latent     5x4x4=80     5x4x4=80     5x4x4=80    5x4x4=80       320      0.0735
    17x128x128   pyramid    9x8x8=576    5x8x8=320    5x4x4=80    3x4x4=48     1,024      0.0588
    17x128x128   latent     5x8x8=320    5x8x8=320    5x8x8=320   5x8x8=320    1,280      0.0735
    17x256x256   pyramid    9x16x16      5x16x16      5x8x8       3x8x8        4,096      0.0588
                            =2,304       =1,280       =320        =192
    17x256x256   latent     5x16x16 (1,280) on every level                     5,120      0.0735

(17x128x128 is the "16x128x128" clip of Table 8.) ``grid="latent"`` ("latent-grid") is the equal-grid design in
which every level quantizes on the VAE latent grid and levels differ only in the encoder depth they read; it is an
ablation configuration (Tables 6 and 8 show it as its own row). ``grid="custom"`` takes ``token_stride``, one
(t, s) per level. Strides must nest: between adjacent levels and between each level and the latent, one stride
divides the other on each axis.

Resizing q(l-1) to level l's grid (:func:`resize_grid`): the cells of adjacent grids nest exactly (the coarser
stride is an integer multiple of the finer one, and the causal key frame is its own cell on every grid), so a
coarse cell is the block mean of the fine cells it covers (downsampling) and a fine cell copies the coarse cell that
covers it (upsampling); the key frame is resized on its own. Trilinear interpolation would instead blend the key
frame with the next frame group and mix values across cell borders (reading frames a causal cell must not see).
The block mean of binary codes is the per-bit fraction of +1 in the block, mapped to [-1, 1].

Decoder path: each level's codes are projected K -> D and brought to the latent grid — a level finer than the
latent is folded by a learned causal patchify (so level 1's extra temporal detail reaches the decoder instead of
being averaged away), a coarser one is upsampled by copying — then concatenated over levels and mapped to the VAE
latent (z_dim channels) for the VAE decoder.

Ablations (Table 6) are configuration, not code:
* ``mode="single"`` — w/o LaPQ: one quantizer on the final latent (single-scale LFQ);
* ``text_guidance=False`` — w/o text guidance: no cross-attention;
* ``feature_source="deepest"`` — w/o Pyramidal-Q: every block reads the deepest feature F(L) (recurrent
  quantization without the multi-depth pyramid; the token grids stay those of ``grid``, a grid finer than F(L)
  being reached by copying);
* ``num_levels`` 2/3/4 — number of Q-blocks, using the deepest ``num_levels`` encoder stages;
* ``grid="latent"`` — the latent-grid (equal-grid) design.

Text attention maps: ``LaPQ.forward(..., return_attention=True)`` returns each block's text -> visual
cross-attention weights (queries = visual tokens, keys = text tokens; padded text tokens get exactly 0).
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

GRIDS = ("pyramid", "latent", "custom")
# Level l's (temporal, spatial) token stride as a multiple of the VAE latent stride (see the module docstring):
# shallow -> deep, each step coarsening time or space; level 1 at twice the latent's frame rate.
PYRAMID_STRIDE_FACTORS = ((0.5, 1), (1, 1), (1, 2), (2, 2))


@dataclass
class LaPQConfig:
    mode: str = "pyramid"             # "pyramid" (LaPQ) | "single" (w/o LaPQ ablation, Table 6)
    num_levels: int = 4               # App. D / Table 6: 4 Q-blocks by default
    dim: int = 256                    # common width D of the lateral projections (not stated in the paper)
    num_heads: int = 8
    text_guidance: bool = True        # Table 6 "w/o Text Guidance" -> False
    feature_source: str = "pyramid"   # "pyramid" | "deepest" (Table 6 "w/o Pyramidal-Q")
    # token grids: "pyramid" (own grid per level, §3.2.1 / App. B.3), "latent" (every level on the latent grid:
    # the latent-grid ablation), "custom" (``token_stride``: one (t, s) per level w.r.t. the input)
    grid: str = "pyramid"
    token_stride: list | None = None
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
        if self.grid not in GRIDS:
            raise ConfigError(f"lapq.grid must be one of {list(GRIDS)}, got {self.grid!r}")
        if self.grid == "custom":
            ts = self.token_stride
            if not isinstance(ts, (list, tuple)) or len(ts) != self.num_levels or not all(
                    isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, int) and v >= 1 for v in x)
                    for x in ts):
                raise ConfigError(f"lapq.grid='custom' needs lapq.token_stride: {self.num_levels} pairs (t, s) of "
                                  f"positive integers, one per level, got {ts!r}")
        elif self.token_stride is not None:
            raise ConfigError(f"lapq.token_stride is only read with lapq.grid='custom' (grid is {self.grid!r})")
        if self.grid == "pyramid" and self.mode == "pyramid" and self.num_levels > len(PYRAMID_STRIDE_FACTORS):
            raise ConfigError(f"lapq.grid='pyramid' defines {len(PYRAMID_STRIDE_FACTORS)} levels, got num_levels="
                              f"{self.num_levels}: use lapq.grid='custom' with lapq.token_stride")
        if isinstance(self.lfq, dict):
            from .config_utils import from_dict
            self.lfq = from_dict(LFQConfig, self.lfq, "lapq.lfq")
        if isinstance(self.quantizer, dict):
            from .config_utils import from_dict
            self.quantizer = from_dict(QuantizerConfig, self.quantizer, "lapq.quantizer")

    def token_strides(self, latent_stride: tuple[int, int]) -> list[tuple[int, int]]:
        """(t, s) token stride of every level w.r.t. the input, for a VAE of ``latent_stride`` (t_z, s_z)."""
        lt, ls = (int(v) for v in latent_stride)
        if self.mode == "single":
            return [(lt, ls)]
        if self.grid == "latent":
            return [(lt, ls)] * self.num_levels
        if self.grid == "custom":
            return [(int(t), int(s)) for t, s in self.token_stride]
        out = []
        for ft, fs in PYRAMID_STRIDE_FACTORS[len(PYRAMID_STRIDE_FACTORS) - self.num_levels:]:
            t, s = lt * ft, ls * fs
            if t != int(t) or t < 1:
                raise ValueError(f"lapq.grid='pyramid' needs an even latent temporal stride, got {lt}: "
                                 "use lapq.grid='custom'")
            out.append((int(t), int(s)))
        return out


def grid_length(n: int, stride: int, causal: bool = False) -> int:
    """Cells along one axis of ``n`` samples at ``stride``: ceil(n / s), or 1 + ceil((n - 1) / s) causally."""
    return 1 + -(-(n - 1) // stride) if causal else -(-n // stride)


def causal_length(num_frames: int, stride: int) -> int:
    """Frames after causal temporal downsampling by ``stride``: the first frame alone, then groups of ``stride``
    (the last group may be incomplete)."""
    return grid_length(num_frames, stride, causal=True)


def token_grid(input_shape: tuple[int, int, int], stride: tuple[int, int]) -> tuple[int, int, int]:
    """(T', H', W') of a (T, H, W) input at token stride (t, s)."""
    T, H, W = input_shape
    t, s = stride
    return causal_length(T, t), grid_length(H, s), grid_length(W, s)


def bits_per_pixel(grids: list[tuple[int, int, int]], bits_per_token: float,
                   input_shape: tuple[int, int, int]) -> float:
    """Bits of all tokens over all levels per input pixel (T H W pixels; colour channels not counted)."""
    T, H, W = input_shape
    return sum(math.prod(g) for g in grids) * float(bits_per_token) / (T * H * W)


def _check_nested(a: tuple[int, int], b: tuple[int, int], what: str) -> None:
    for x, y, axis in zip(a, b, ("temporal", "spatial")):
        if max(x, y) % min(x, y):
            raise ValueError(f"{what}: {axis} strides {x} and {y} do not nest (one must divide the other)")


def _ratio(a: int, b: int) -> int:
    return max(a, b) // min(a, b)


class CausalPatchify(nn.Module):
    """Learned space-time patchify (C, T, H, W) -> (D, 1 + ceil((T-1)/t), ceil(H/s), ceil(W/s)), causal in time.

    The first frame is replicated ``t - 1`` times in front (as causal VAEs pad), so output frame 0 sees only input
    frame 0 and output frame j sees input frames (j-1)*t+1 .. j*t; when t does not divide T - 1 the last group is
    completed by repeating the last frame. Height and width are padded at the end by replication to multiples of s.
    """

    def __init__(self, in_channels: int, out_channels: int, t: int, s: int):
        super().__init__()
        self.t, self.s = t, s
        self.proj = nn.Conv3d(in_channels * t, out_channels, kernel_size=(1, s, s), stride=(1, s, s))

    def forward(self, x: Tensor) -> Tensor:
        b, c, T, h, w = x.shape
        t, s = self.t, self.s
        ph, pw = (-h) % s, (-w) % s
        if ph or pw:
            x = torch.cat([x, x[:, :, :, -1:].expand(-1, -1, -1, ph, -1)], dim=3) if ph else x
            x = torch.cat([x, x[:, :, :, :, -1:].expand(-1, -1, -1, -1, pw)], dim=4) if pw else x
            h, w = h + ph, w + pw
        if t > 1:
            # key frame alone (t copies), then groups of t frames; an incomplete last group is completed by
            # repeating its last frame, so the groups nest with those of coarser grids (see resize_grid)
            tail = (-(T - 1)) % t
            parts = [x[:, :, :1].expand(-1, -1, t, -1, -1), x[:, :, 1:]]
            if tail:
                parts.append(x[:, :, -1:].expand(-1, -1, tail, -1, -1))
            x = torch.cat(parts, dim=2)
            tt = x.shape[2] // t
            x = x.reshape(b, c, tt, t, h, w).permute(0, 1, 3, 2, 4, 5).reshape(b, c * t, tt, h, w)
        return self.proj(x)


def _resize_axis(x: Tensor, dim: int, size: int, factor: int | None) -> Tensor:
    """Block mean (shrink) or copy (grow) along ``dim`` by an integer ``factor`` (inferred as the ceil ratio)."""
    n = x.shape[dim]
    if n == size:
        return x
    if size < n:
        f = factor or -(-n // size)
        pad = size * f - n
        if pad < 0:
            raise ValueError(f"cannot shrink {n} cells to {size} by a factor {f}")
        ones = torch.ones_like(x.narrow(dim, 0, 1)).expand_as(x)
        if pad:
            zshape = list(x.shape)
            zshape[dim] = pad
            zeros = x.new_zeros(zshape)
            x, ones = torch.cat([x, zeros], dim), torch.cat([ones, zeros], dim)
        shape = list(x.shape)
        shape[dim:dim + 1] = [size, f]
        return x.reshape(shape).sum(dim + 1) / ones.reshape(shape).sum(dim + 1)
    f = factor or -(-size // n)
    if n * f < size:
        raise ValueError(f"cannot grow {n} cells to {size} by a factor {f}")
    return x.repeat_interleave(f, dim=dim).narrow(dim, 0, size)


def resize_grid(x: Tensor, size: tuple[int, int, int], factors: tuple[int, int, int] | None = None) -> Tensor:
    """Resize (B, C, T, H, W) to the nested grid ``size`` (T', H', W').

    Per axis: a coarse cell is the mean of the fine cells it covers, a fine cell copies the coarse cell covering
    it. Time is causal: the key frame (index 0) is its own cell on every grid and is resized alone; frames
    1..T-1 form the groups. ``factors``: integer ratio of the two strides per axis; None infers ceil(larger /
    smaller), exact whenever the finer length is a multiple of the coarser (or the strides divide the input).
    """
    size = tuple(int(v) for v in size)
    if tuple(x.shape[2:]) == size:
        return x
    ft, fh, fw = factors or (None, None, None)
    if x.shape[2] != size[0]:
        if x.shape[2] == 1 or size[0] == 1:
            raise ValueError(f"cannot resize {x.shape[2]} frames to {size[0]}: the causal key frame is its own cell")
        x = torch.cat([x[:, :, :1], _resize_axis(x[:, :, 1:], 2, size[0] - 1, ft)], dim=2)
    x = _resize_axis(x, 3, size[1], fh)
    return _resize_axis(x, 4, size[2], fw)


def _flatten(x: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B, T*H*W, C)."""
    return x.flatten(2).transpose(1, 2)


def _unflatten(x: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(B, N, C) -> (B, C, T, H, W)."""
    b, n, c = x.shape
    return x.transpose(1, 2).reshape(b, c, *grid)


class QuantizationBlock(nn.Module):
    """Q_l: lateral projection onto level l's grid, previous level, text cross-attention, fusion, LFQ (shared).

    ``patch_t, patch_s``: patchify factors from the stage's grid down to the token grid (1 when the token grid is
    as fine or finer); ``up_t, up_s``: copy factors when the token grid is finer than the stage (``deepest``
    ablation), else 1; ``prev_factors``: (t, s, s) ratios between level l-1's grid and this one.
    """

    def __init__(self, in_channels: int, dim: int, num_bits: int, num_heads: int, text_dim: int,
                 patch_t: int, patch_s: int, text_guidance: bool, up_t: int = 1, up_s: int = 1,
                 prev_factors: tuple[int, int, int] | None = None):
        super().__init__()
        self.lateral = CausalPatchify(in_channels, dim, patch_t, patch_s)
        self.up_factors = (up_t, up_s, up_s)
        self.prev_factors = prev_factors
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
                grid: tuple[int, int, int], return_attention: bool = False) -> tuple[Tensor, dict]:
        """feature (B, C_l, T_l, H_l, W_l); prev_codes (B, K, T', H', W') or None -> pre-quantization z (B, N, K)
        and ``{"attn": (B, heads, N, S) text attention weights or None}`` (only with ``return_attention``)."""
        x = resize_grid(self.lateral(feature), grid, self.up_factors)
        h = self.lateral_norm(_flatten(x))
        if prev_codes is not None:
            h = h + self.prev_proj(_flatten(resize_grid(prev_codes, grid, self.prev_factors)))
        attn_weights = None
        if self.text_guidance and text is not None:
            q = self.attn_norm(h)
            attended, attn_weights = self.cross_attn(q, text.tokens, text.tokens, key_padding_mask=~text.mask,
                                                     need_weights=return_attention, average_attn_weights=False)
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
    # per level (B, heads, N_l, S) text -> visual attention weights (rows sum to 1 over unpadded text tokens);
    # None unless forward(..., return_attention=True) and the level attends to text
    attention: list[Tensor | None] | None = None

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
        self.token_strides = config.token_strides(self.latent_stride)
        if config.mode == "single":
            self.levels_used: list[int] = []
            self.to_bits = nn.Conv3d(latent_channels, K, 1)
            self.from_bits = nn.Conv3d(K, latent_channels, 1)
            return
        n_stages = len(stage_channels)
        if config.num_levels > n_stages:
            raise ValueError(f"lapq.num_levels={config.num_levels} but the backbone has only {n_stages} stages")
        if config.feature_source == "pyramid":
            self.levels_used = list(range(n_stages - config.num_levels, n_stages))
        else:
            self.levels_used = [n_stages - 1] * config.num_levels
        blocks, prev = [], None
        for lvl, stage in enumerate(self.levels_used):
            stride = self.token_strides[lvl]
            _check_nested(stage_strides[stage], stride, f"level {lvl + 1} (token stride {stride}) vs encoder "
                                                        f"stage {stage + 1} (stride {tuple(stage_strides[stage])})")
            _check_nested(stride, self.latent_stride, f"level {lvl + 1} (token stride {stride}) vs the latent")
            (st, ss), (tt, ts) = stage_strides[stage], stride
            prev_factors = None
            if prev is not None:
                _check_nested(prev, stride, f"levels {lvl} and {lvl + 1}")
                prev_factors = (_ratio(prev[0], tt), _ratio(prev[1], ts), _ratio(prev[1], ts))
            blocks.append(QuantizationBlock(stage_channels[stage], config.dim, K, config.num_heads, text_dim,
                                            max(tt // st, 1), max(ts // ss, 1), config.text_guidance,
                                            up_t=max(st // tt, 1), up_s=max(ss // ts, 1), prev_factors=prev_factors))
            prev = stride
        self.blocks = nn.ModuleList(blocks)
        self.code_proj = nn.ModuleList([nn.Linear(K, config.dim) for _ in blocks])
        # levels finer than the latent are folded onto it by a learned causal patchify (no information averaged
        # away); a level on the latent grid or coarser needs no parameters (Identity; copied up in codes_to_latent)
        lt, ls = self.latent_stride
        self.code_fold = nn.ModuleList([
            CausalPatchify(config.dim, config.dim, max(lt // t, 1), max(ls // s, 1)) if (t < lt or s < ls)
            else nn.Identity() for t, s in self.token_strides])
        self._latent_factors = [(_ratio(t, lt), _ratio(s, ls), _ratio(s, ls)) for t, s in self.token_strides]
        self.to_latent = nn.Sequential(
            nn.Conv3d(config.dim * len(blocks), config.dim, 1), nn.SiLU(),
            nn.Conv3d(config.dim, latent_channels, (1, 3, 3), padding=(0, 1, 1)),
        )

    @property
    def num_levels(self) -> int:
        return 1 if self.config.mode == "single" else len(self.blocks)

    def grids(self, num_frames: int, height: int, width: int) -> list[tuple[int, int, int]]:
        """Token grid (T', H', W') of every level for a (T, H, W) input."""
        return [token_grid((num_frames, height, width), st) for st in self.token_strides]

    def latent_grid(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return token_grid((num_frames, height, width), self.latent_stride)

    def forward(self, features: list[Tensor], posterior_mean: Tensor, text: TextEmbedding | None,
                input_shape: tuple[int, int, int], token_mask: list[Tensor] | None = None,
                return_attention: bool = False) -> LaPQOutput:
        """features: F(1..S) from the backbone; posterior_mean: (B, z, T', H', W'); input_shape: (T, H, W).

        ``return_attention``: also return every level's text attention weights (``LaPQOutput.attention``)."""
        latent_grid = tuple(posterior_mean.shape[2:])
        if self.config.mode == "single":
            z = _flatten(self.to_bits(posterior_mean))
            q = self.quantizer(z)
            codes = _unflatten(q.quantized, latent_grid)
            return LaPQOutput([latent_grid], [z], [q], self.from_bits(codes),
                              [None] if return_attention else None)
        grids = self.grids(*input_shape)
        zs, quants, attns, prev = [], [], [], None
        for lvl, (block, stage) in enumerate(zip(self.blocks, self.levels_used)):
            z, extra = block(features[stage], prev, text, grids[lvl], return_attention=return_attention)
            q = self.quantizer(z)
            zs.append(z)
            quants.append(q)
            attns.append(extra["attn"])
            prev = _unflatten(q.quantized, grids[lvl])
        latent = self.codes_to_latent([q.quantized for q in quants], grids, latent_grid)
        return LaPQOutput(grids, zs, quants, latent, attns if return_attention else None)

    def codes_to_latent(self, codes: list[Tensor], grids: list[tuple[int, int, int]],
                        latent_grid: tuple[int, int, int]) -> Tensor:
        """codes[l]: (B, N_l, K) in {-1, +1} (any real values are accepted, e.g. mean codes) -> VAE latent
        (B, z_dim, T', H', W')."""
        if self.config.mode == "single":
            return self.from_bits(_unflatten(codes[0], grids[0]))
        if len(codes) != len(self.blocks) or len(grids) != len(codes):
            raise ValueError(f"need codes and grids for {len(self.blocks)} levels, got {len(codes)} and {len(grids)}")
        parts = []
        for proj, fold, factors, c, g in zip(self.code_proj, self.code_fold, self._latent_factors, codes, grids):
            x = fold(_unflatten(proj(c), g))
            parts.append(resize_grid(x, latent_grid, factors))
        return self.to_latent(torch.cat(parts, dim=1))

    def indices_to_codes(self, indices: list[Tensor]) -> tuple[list[Tensor], list[tuple[int, int, int]]]:
        """indices[l]: (B, T'_l, H'_l, W'_l) integer tokens ((..., G) for GVQ/RVQ) -> codes (B, N_l, K), grids."""
        if self.config.quantizer.type == "lfq":
            grids = [tuple(ix.shape[1:4]) for ix in indices]
            codes = [indices_to_codes(ix.flatten(1), self.config.lfq.num_bits) for ix in indices]
        else:
            grids = [tuple(ix.shape[1:4]) for ix in indices]
            codes = [self.quantizer.indices_to_codes(ix.flatten(1, 3)) for ix in indices]
        return codes, grids

    def indices_to_latent(self, indices: list[Tensor], latent_grid: tuple[int, int, int]) -> Tensor:
        """indices[l]: (B, T'_l, H'_l, W'_l) integer tokens -> VAE latent.

        LFQ needs no lookup table (the code is the bits of the index); the Table 9 codebook quantizers look up their
        learned codebooks (their indices carry a trailing group/depth axis: (B, T', H', W', G)).
        """
        codes, grids = self.indices_to_codes(indices)
        return self.codes_to_latent(codes, grids, latent_grid)
