"""Turning generated token ids back into an :class:`~adapters.base.Encoding` the tokenizer can decode.

A prior produces ids only; ``Tokenizer.decode`` takes an ``Encoding`` whose ``payload`` is adapter specific, so
the adapter rebuilds it: :func:`tokens_to_encoding` calls the tokenizer's hook
``encoding_from_tokens(tokens, input_shape) -> Encoding`` (:meth:`adapters.base.Tokenizer.encoding_from_tokens`;
PyraTok, its ablations and the Table 9 quantizer baselines implement it). A tokenizer without it raises
:class:`~adapters.base.NotSupported` with the reason. :func:`lfq_bits_of` reads the tokenizer's ``lfq_bits``
attribute (K when its ids are LFQ bit patterns), which the prior's output head uses.
"""
from __future__ import annotations

from torch import Tensor

from adapters.base import Encoding, NotSupported

__all__ = ["tokens_to_encoding", "lfq_bits_of"]


def lfq_bits_of(tokenizer) -> int | None:
    """K when the tokenizer's ids are LFQ bit patterns (its model quantizes with LFQ), else None."""
    return getattr(tokenizer, "lfq_bits", None)


def tokens_to_encoding(tokenizer, tokens: list[Tensor], input_shape: tuple[int, ...]) -> Encoding:
    """Generated ids per level (``(B, *grid_l)`` int64, the layout of the tokenizer's own ``Encoding.tokens``) and
    the ``(B, C, T, H, W)`` (or ``(C, T, H, W)``) shape of the clips they stand for -> an ``Encoding`` that
    ``tokenizer.decode`` accepts. Raises NotSupported for an adapter it does not know."""
    if not tokens:
        raise ValueError("tokens_to_encoding: no token levels given")
    B = int(tokens[0].shape[0])
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 4:
        shape = (B, *shape)
    if len(shape) != 5 or shape[0] != B:
        raise ValueError(f"input_shape must be (B, C, T, H, W) with B = {B} or (C, T, H, W), got {input_shape}")
    hook = getattr(tokenizer, "encoding_from_tokens", None)
    if not callable(hook):
        raise NotSupported(f"{getattr(tokenizer, 'name', tokenizer)}: cannot build an Encoding from generated "
                           "tokens (give the adapter an encoding_from_tokens(tokens, input_shape) method)")
    return hook(tokens, shape)
