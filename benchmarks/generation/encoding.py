"""Turning generated token ids back into an :class:`~adapters.base.Encoding` the tokenizer can decode.

A prior produces ids only; ``Tokenizer.decode`` takes an ``Encoding`` whose ``payload`` is adapter specific.
:func:`tokens_to_encoding` asks the tokenizer first: an adapter with a method
``encoding_from_tokens(tokens, input_shape) -> Encoding`` is used as is (the hook a new adapter implements to
take part in the generative benchmarks). Otherwise it knows every adapter whose model is a
:class:`pyratok.model.PyraTok` — PyraTok itself, its ablations, and the Table 9 quantizer baselines, which are
PyraTok models with another quantizer (VQ / GVQ / RVQ / FSQ / single-scale LFQ) — and builds a
:class:`pyratok.model.PyraTokEncoding`:

* ``indices``: the generated ids per level, moved to the model's device. The Table 9 baselines
  (:class:`adapters.quantizer_baselines.QuantizerBaselineTokenizer`) hand out one ``(B, T', H', W')`` *stream*
  per code of a position (a group of GVQ, a depth of RVQ) while their single-level model wants
  ``(B, T', H', W', G)``: such streams are stacked back on the last axis;
* ``latent_grid``: the VAE latent grid of ``input_shape``, from the model's own strides
  (:meth:`pyratok.lapq.LaPQ.latent_grid`);
* ``features``: a generated clip has no continuous pre-quantization features; for LFQ the codes themselves
  (``(B, K, T', H', W')`` in {-1, +1}, what ``sign(z)`` would be) stand in, for codebook quantizers the list is
  empty (``features()`` of such an encoding is not defined; decoding never reads it);
* ``bits``: tokens x bits per token, as the adapter's ``encode`` computes it.

Anything else raises :class:`~adapters.base.NotSupported` with the reason.
"""
from __future__ import annotations

import torch
from torch import Tensor

from adapters.base import Encoding, NotSupported

__all__ = ["tokens_to_encoding", "lfq_bits_of"]


def _pyratok_model(tokenizer):
    try:
        from pyratok.model import PyraTok
    except ImportError:  # pragma: no cover - pyratok is part of this repository
        return None
    module = getattr(tokenizer, "module", None)
    return module if isinstance(module, PyraTok) else None


def lfq_bits_of(tokenizer) -> int | None:
    """K when the tokenizer's ids are LFQ bit patterns (its model quantizes with LFQ), else None."""
    model = _pyratok_model(tokenizer)
    if model is not None and model.config.lapq.quantizer.type == "lfq":
        return int(model.config.lapq.lfq.num_bits)
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
    if callable(hook):
        try:
            return hook(tokens, shape)
        except NotSupported:  # the base class's default: fall through to the PyraTok family below
            pass
    model = _pyratok_model(tokenizer)
    if model is None:
        raise NotSupported(f"{getattr(tokenizer, 'name', tokenizer)}: cannot build an Encoding from generated "
                           "tokens (give the adapter an encoding_from_tokens(tokens, input_shape) method)")
    from pyratok.lfq import indices_to_codes
    from pyratok.model import PyraTokEncoding

    T, H, W = shape[2:]
    device = next(model.parameters()).device
    indices = [t.to(device).long() for t in tokens]
    per_position = int(getattr(tokenizer, "codes_per_position", 1))
    if model.lapq.num_levels == 1 and per_position > 1 and len(indices) == per_position:
        indices = [torch.stack(indices, dim=-1)]   # code streams -> (B, T', H', W', G)
    if len(indices) != model.lapq.num_levels:
        raise ValueError(f"{tokenizer.name}: {len(indices)} token levels given, the model has "
                         f"{model.lapq.num_levels}")
    latent_grid = tuple(int(g) for g in model.lapq.latent_grid(T, H, W))
    K = lfq_bits_of(tokenizer)
    if K:
        features = [indices_to_codes(ix, K).movedim(-1, 1) for ix in indices]
    else:
        features = []
    payload = PyraTokEncoding(indices, features, latent_grid, (T, H, W))
    per_token = float(getattr(tokenizer, "bits_per_token", model.num_bits))
    bits = torch.full((B,), payload.num_tokens * per_token, dtype=torch.float64)
    return Encoding(payload=payload, input_shape=shape, tokens=[t.to(device).long() for t in tokens], bits=bits)
