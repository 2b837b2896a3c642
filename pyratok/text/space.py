"""Measurements of a text-aligned code space: has it collapsed, and does a caption find its own clip?

* :func:`mean_offdiag_cosine` — mean cosine over all ordered pairs i != j of N embeddings. Computed for the
  code-space embeddings of N captions and for the frozen text encoder's (e.g. MiniLM) embeddings of the same
  captions: a collapsed code space sits near 1 whatever the captions say; a healthy one near the text encoder's.
* :func:`retrieval_top1` — caption -> clip retrieval: caption i's nearest clip by cosine is clip i. Chance is 1/N.
* :func:`clip_code_embedding` — a clip's code-space embedding: the mean over positions and levels of its
  pre-quantization features z (the K-dim vectors the bit logits are made from), so it lives where the text's bit
  logits live.
* :func:`measure_text_space` — all of it for a model and a list of (video, caption) batches.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor

__all__ = ["mean_offdiag_cosine", "retrieval_top1", "clip_code_embedding", "measure_text_space"]


def _cosine_matrix(a: Tensor, b: Tensor) -> Tensor:
    a = torch.nn.functional.normalize(a.double(), dim=-1)
    b = torch.nn.functional.normalize(b.double(), dim=-1)
    return a @ b.t()


def mean_offdiag_cosine(emb: Tensor) -> float:
    """emb (N, D), N >= 2 -> mean of cos(emb_i, emb_j) over i != j."""
    if emb.ndim != 2 or emb.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) embeddings, got {tuple(emb.shape)}")
    c = _cosine_matrix(emb, emb)
    n = c.shape[0]
    return float((c.sum() - c.diagonal().sum()) / (n * (n - 1)))


def retrieval_top1(queries: Tensor, gallery: Tensor) -> float:
    """queries (N, D) (captions), gallery (N, D) (clips; row i is query i's match) -> fraction of queries whose
    highest-cosine gallery row is their own. Ties count as a miss unless the own row is the first maximum."""
    if queries.ndim != 2 or queries.shape != gallery.shape:
        raise ValueError(f"queries and gallery must both be (N, D); got {tuple(queries.shape)}, {tuple(gallery.shape)}")
    best = _cosine_matrix(queries, gallery).argmax(dim=1)
    return float((best == torch.arange(queries.shape[0])).double().mean())


def clip_code_embedding(features: list[Tensor]) -> Tensor:
    """Per level (B, K, T'_l, H'_l, W'_l) pre-quantization features -> (B, K): mean over positions, then levels."""
    if not features:
        raise ValueError("clip_code_embedding needs at least one level")
    return torch.stack([f.float().flatten(2).mean(-1) for f in features]).mean(0)


@torch.no_grad()
def measure_text_space(model, batches: Iterable[dict]) -> dict:
    """Text-space report of a PyraTok model on held-out ``batches`` (dicts with "video" (B, 3, T, H, W) in [-1, 1]
    and "texts"). Needs ``model.embed_text``, ``model.text_bit_logits``, ``model.encode``.

    Returns {"n", "code_cosine", "text_encoder_cosine", "retrieval_top1", "chance"}: mean off-diagonal cosine of the
    captions' code-space embeddings (bit logits) and of the frozen text encoder's pooled embeddings, caption -> clip
    top-1 (clips embedded by :func:`clip_code_embedding` of ``encode(video)`` — encoded with the empty prompt, so
    the caption cannot reach the clip side) and chance 1/N.
    """
    was = model.training
    model.eval()
    texts, clips = [], []
    try:
        for b in batches:
            if b["video"] is None:
                continue
            # no caption given to the encoder: its text-conditioned blocks would otherwise leak the answer
            enc = model.encode(b["video"])
            clips.append(clip_code_embedding(enc.features).cpu())
            texts.extend(b["texts"])
        if len(texts) < 2:
            raise ValueError(f"measure_text_space needs at least 2 clips, got {len(texts)}")
        emb = model.embed_text(texts)
        code = model.text_bit_logits(emb).cpu()
    finally:
        model.train(was)
    n = len(texts)
    return {"n": n, "code_cosine": mean_offdiag_cosine(code), "text_encoder_cosine": mean_offdiag_cosine(emb.pooled.cpu()),
            "retrieval_top1": retrieval_top1(code, torch.cat(clips)), "chance": 1.0 / n}
