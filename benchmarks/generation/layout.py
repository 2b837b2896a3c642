"""How a tokenizer's codes become one autoregressive sequence (the order a generative prior predicts them in).

A discrete tokenizer's :class:`~adapters.base.Encoding` carries ``tokens``: one integer tensor per level,
``(B, *grid_l)`` with ``grid_l = (T'_l, H'_l, W'_l)`` (quantizers with several ids per position, e.g. grouped or
residual VQ, add a trailing axis: ``(T', H', W', G)``). The prior reads them as

    [ <BOS> , level 1 ids , <SEP> , level 2 ids , <SEP> , ... , level L ids ]

* every level is flattened in C order (time, then rows, then columns, then the group/depth axis last), so a
  level is generated frame by frame and raster-scanned inside a frame, as in MAGVIT / LARP's AR priors;
* ``<BOS>`` plays the paper's ``<SOI>`` and ``<SEP>`` its ``<Q-SEP>`` (paper §3.2.2 ②, App. B.4: "tokens from all
  levels are concatenated with separator tokens ... a start-of-image token is prepended after the text"); a
  single-level tokenizer has no ``<SEP>``;
* special ids live after the visual vocabulary: ``<BOS> = vocab_size``, ``<SEP> = vocab_size + 1``.

The layout is fixed by the grids, so the positions of ``<SEP>`` are known in advance: the prior never predicts
them (sampling inserts them) and its loss covers visual tokens only. ``segments()`` gives every position its
level (``<BOS>`` -> 1; level ``l``'s ids and the ``<SEP>`` that opens it -> ``l + 1``); the condition prefix that
precedes the layout in the prior is segment 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["TokenLayout", "NUM_SPECIAL", "BOS_OFFSET", "SEP_OFFSET"]

NUM_SPECIAL = 2
BOS_OFFSET = 0   # <BOS> id = vocab_size + BOS_OFFSET
SEP_OFFSET = 1   # <SEP> id = vocab_size + SEP_OFFSET


@dataclass(frozen=True)
class TokenLayout:
    """Per-sample token shapes of each level, e.g. ``((3, 4, 4),) * 4`` for tiny PyraTok on 9 x 64 x 64 clips."""

    level_shapes: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        shapes = tuple(tuple(int(s) for s in shape) for shape in self.level_shapes)
        if not shapes or any(not shape or min(shape) < 1 for shape in shapes):
            raise ValueError(f"TokenLayout needs at least one level with positive sizes, got {self.level_shapes}")
        object.__setattr__(self, "level_shapes", shapes)

    # ------------------------------------------------------------------ sizes
    @property
    def num_levels(self) -> int:
        return len(self.level_shapes)

    @property
    def level_sizes(self) -> list[int]:
        return [math.prod(shape) for shape in self.level_shapes]

    @property
    def num_visual(self) -> int:
        """Visual tokens per sample (what Table 8 calls #Tokens)."""
        return sum(self.level_sizes)

    @property
    def length(self) -> int:
        """Length of the layout sequence: ``<BOS>`` + visual ids + one ``<SEP>`` between consecutive levels."""
        return 1 + self.num_visual + (self.num_levels - 1)

    # ------------------------------------------------------------------ positions
    def visual_positions(self) -> Tensor:
        """``(num_visual,)`` int64: where the visual ids sit in the layout sequence (in flatten order)."""
        out, pos = [], 1
        for lvl, size in enumerate(self.level_sizes):
            if lvl:
                pos += 1  # the <SEP> opening this level
            out.append(torch.arange(pos, pos + size))
            pos += size
        return torch.cat(out)

    def separator_positions(self) -> list[int]:
        """Positions of the ``<SEP>`` tokens in the layout sequence."""
        out, pos = [], 1
        for lvl, size in enumerate(self.level_sizes):
            if lvl:
                out.append(pos)
                pos += 1
            pos += size
        return out

    def segments(self) -> Tensor:
        """``(length,)`` int64 level of every layout position: ``<BOS>`` 1, level ``l`` (1-based) ``l + 1``."""
        seg = torch.empty(self.length, dtype=torch.long)
        seg[0] = 1
        pos = 1
        for lvl, size in enumerate(self.level_sizes):
            n = size + (1 if lvl else 0)
            seg[pos:pos + n] = lvl + 2
            pos += n
        return seg

    # ------------------------------------------------------------------ conversions
    def flatten(self, tokens: list[Tensor]) -> Tensor:
        """Level tensors ``(B, *level_shapes[l])`` -> ``(B, num_visual)`` int64 ids in layout order."""
        if len(tokens) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} token levels, got {len(tokens)}")
        flat = []
        for lvl, (t, shape) in enumerate(zip(tokens, self.level_shapes)):
            if tuple(t.shape[1:]) != shape:
                raise ValueError(f"level {lvl + 1}: tokens of shape {tuple(t.shape)} do not match the layout's "
                                 f"(B, {', '.join(map(str, shape))})")
            flat.append(t.reshape(t.shape[0], -1).long())
        return torch.cat(flat, dim=1)

    def unflatten(self, ids: Tensor) -> list[Tensor]:
        """``(B, num_visual)`` ids -> one ``(B, *level_shapes[l])`` int64 tensor per level."""
        if ids.dim() != 2 or ids.shape[1] != self.num_visual:
            raise ValueError(f"expected (B, {self.num_visual}) ids, got {tuple(ids.shape)}")
        parts = torch.split(ids.long(), self.level_sizes, dim=1)
        return [p.reshape(ids.shape[0], *shape) for p, shape in zip(parts, self.level_shapes)]

    def sequence(self, ids: Tensor, vocab_size: int) -> Tensor:
        """``(B, num_visual)`` ids -> ``(B, length)`` layout sequence with ``<BOS> = vocab_size`` and
        ``<SEP> = vocab_size + 1`` inserted."""
        if ids.dim() != 2 or ids.shape[1] != self.num_visual:
            raise ValueError(f"expected (B, {self.num_visual}) ids, got {tuple(ids.shape)}")
        seq = torch.full((ids.shape[0], self.length), vocab_size + SEP_OFFSET, dtype=torch.long, device=ids.device)
        seq[:, 0] = vocab_size + BOS_OFFSET
        seq[:, self.visual_positions().to(ids.device)] = ids.long()
        return seq

    # ------------------------------------------------------------------ construction / serialisation
    @classmethod
    def from_tokens(cls, tokens: list[Tensor]) -> "TokenLayout":
        """The layout of an :attr:`Encoding.tokens` list (batch axis dropped)."""
        if not tokens:
            raise ValueError("an encoding without tokens has no layout (is the tokenizer discrete?)")
        return cls(tuple(tuple(t.shape[1:]) for t in tokens))

    def to_dict(self) -> dict:
        return {"level_shapes": [list(s) for s in self.level_shapes]}

    @classmethod
    def from_dict(cls, d: dict) -> "TokenLayout":
        if not isinstance(d, dict) or "level_shapes" not in d:
            raise ValueError(f"not a TokenLayout dict: {d!r}")
        return cls(tuple(tuple(s) for s in d["level_shapes"]))
