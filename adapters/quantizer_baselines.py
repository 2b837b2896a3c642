"""Table 9 baselines: single-scale quantizers on PyraTok's backbone (paper App. C.3), trained here like tiny PyraTok.

Table 9 swaps PyraTok's quantization module for VQ, grouped VQ, LFQ and RVQ and keeps everything else. Here each
baseline is the tiny PyraTok configuration with ``lapq.mode="single"`` (one quantizer on the VAE latent, no
pyramid, no text cross-attention — the "single-block" variants of App. C.3) and ``lapq.quantizer`` set to the
paper's sizes; the quantizers are vector-quantize-pytorch's (:mod:`pyratok.quantizers`). The benchmarks layer
trains them with ``pyratok-tiny``'s recipe — the same shared stage-0 VAE, synthetic data, steps and seed — so the
rows of Table 9 differ only in the quantizer, and passes the folder (``checkpoint=``, ``origin="trained-here"``).

=========  ===============================  ================  ===================  ==============================
name       quantizer (Table 9 size)         codes / position  vocab (per code)     bits / position
=========  ===============================  ================  ===================  ==============================
quant-vq   VQ, 4096 codes x 256-d           1                 4096                 12
quant-gvq  grouped VQ, 4 groups, 4096x256   4 (one per group) 4096 (per group)     4 x 12 = 48
quant-lfq  LFQ, K = 16 bits (single scale)  1                 65,536               16
quant-rvq  residual VQ, 8000 x 512, depth 2 2 (one per depth) 8000 (per depth)     2 x log2(8000) = 25.93
quant-fsq  FSQ, levels (8, 8, 8, 6, 5)      1                 15,360 (= prod)      log2(15360) = 13.91
=========  ===============================  ================  ===================  ==============================

Choices where the paper is silent (and why):

* **RVQ depth** is not printed; 2 (``QuantizerConfig.num_quantizers``'s default) is the smallest residual stack.
* **GVQ** is vector-quantize-pytorch's multi-head VQ with a separate 4096-code book per head (4 heads).
  ``pyratok.quantizers`` builds it with 256-d codes per head (so the library adds 256 -> 1024 -> 256
  projections) rather than splitting the 256 channels into 4 x 64; this adapter does not change the quantizer.
* **FSQ** (beside the paper) takes ``dim = len(levels) = 5``: FSQ quantizes each channel of a 5-d code directly
  (Mentzer et al. 2023), so no projection is added.
* **LFQ** keeps the tiny model's K = 16 (65,536 codes; the paper's row prints 32,800 / 16). Its overrides are
  exactly Table 6's "w/o LaPQ" ablation (``ABLATIONS["wo-lapq"]``), so ``quant-lfq`` and ``pyratok-tiny-wo-lapq``
  are the same trained artifact: one model, two rows.
* **L_AR** predicts LFQ bit codes (:mod:`pyratok.alignment`), so it cannot be computed for a learned codebook:
  VQ/GVQ/RVQ/FSQ train without it (``losses.disabled = ["ar"]``), LFQ keeps it. The codebook loss reduces to the
  library's commitment loss for learned codebooks (no per-bit distribution for the entropy/KL terms). This is a
  confound between the LFQ rows and the others that the paper does not discuss.
* The baselines are **not text aligned** (single mode has no text attention and the text->code projection is not
  trained against their codes): ``text_aligned=False``, so understanding benchmarks probe them.

Tokens. ``Encoding.tokens`` holds one ``(B, T', H', W')`` int64 tensor per *code stream*: one for VQ, LFQ and FSQ;
one per group (GVQ) or per residual depth (RVQ), each with ids in ``[0, vocab_size)`` of its own codebook.
``Encoding.extras["streams"]`` names them. ``bits`` = positions x codes per position x log2(vocab) (no entropy
coding, the paper's convention).
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from torch import Tensor

from .base import Checkpoint, Encoding, NotSupported
from .pyratok_tokenizer import ABLATIONS, PyraTokTokenizer, checkpoint_for, random_model

__all__ = ["QUANTIZERS", "QuantizerBaselineTokenizer", "build", "model_overrides", "artifact_kind"]

# Model overrides of the tiny PyraTok config per baseline (Table 9 sizes; App. C.3).
_SINGLE = {"mode": "single"}
QUANTIZERS: dict[str, dict] = {
    "vq": {"lapq": {**_SINGLE, "quantizer": {"type": "vq", "codebook_size": 4096, "dim": 256}},
           "losses": {"disabled": ["ar"]}},
    "gvq": {"lapq": {**_SINGLE, "quantizer": {"type": "gvq", "codebook_size": 4096, "dim": 256, "groups": 4}},
            "losses": {"disabled": ["ar"]}},
    "rvq": {"lapq": {**_SINGLE, "quantizer": {"type": "rvq", "codebook_size": 8000, "dim": 512,
                                              "num_quantizers": 2}},
            "losses": {"disabled": ["ar"]}},
    "fsq": {"lapq": {**_SINGLE, "quantizer": {"type": "fsq", "fsq_levels": [8, 8, 8, 6, 5], "dim": 5}},
            "losses": {"disabled": ["ar"]}},
    # single-scale LFQ = Table 6's "w/o LaPQ" (same overrides -> same cached artifact)
    "lfq": ABLATIONS["wo-lapq"],
}


def model_overrides(quantizer: str) -> dict:
    """The tiny-config overrides of baseline ``quantizer`` (a copy)."""
    if quantizer not in QUANTIZERS:
        raise ValueError(f"unknown quantizer baseline {quantizer!r}; valid: {sorted(QUANTIZERS)}")
    return copy.deepcopy(QUANTIZERS[quantizer])


def artifact_kind(quantizer: str) -> str:
    """The name of the trained-here artifact of baseline ``quantizer``."""
    # quant-lfq shares Table 6's w/o-LaPQ artifact (identical recipe); the others get their own
    return "pyratok-tiny-wo-lapq" if quantizer == "lfq" else f"quant-{quantizer}"


class QuantizerBaselineTokenizer(PyraTokTokenizer):
    """A single-scale PyraTok with a Table 9 quantizer. Same encode/decode path as PyraTok; tokens, vocabulary and
    bits follow the quantizer (see the module docstring)."""

    family = "quantizer-baseline"
    text_aligned = False

    def __init__(self, model, checkpoint: Checkpoint, name: str, quantizer: str, config: dict | None = None):
        super().__init__(model, checkpoint, name, features_from="z", family="quantizer-baseline",
                         text_aligned=False, config={"quantizer": quantizer, **(config or {})})
        lapq = model.config.lapq
        if lapq.mode != "single":
            raise ValueError(f"{name}: a Table 9 baseline is single-scale (lapq.mode='single'), got {lapq.mode!r}")
        self.quantizer = quantizer
        qc = lapq.quantizer
        if qc.type == "lfq":
            self.vocab_size = 2 ** lapq.lfq.num_bits
            self.codes_per_position = 1
            self.code_dim = lapq.lfq.num_bits
            self.streams = ["lfq"]
        else:
            self.vocab_size = int(model.lapq.quantizer.vocab_size)
            self.codes_per_position = {"gvq": qc.groups, "rvq": qc.num_quantizers}.get(qc.type, 1)
            self.code_dim = qc.dim
            self.streams = ([f"group{g + 1}" for g in range(qc.groups)] if qc.type == "gvq" else
                            [f"depth{d + 1}" for d in range(qc.num_quantizers)] if qc.type == "rvq" else [qc.type])
        # bits per spatio-temporal position: every code of the position costs log2(vocab)
        self.bits_per_code = math.log2(self.vocab_size)
        self.bits_per_token = self.codes_per_position * self.bits_per_code

    def config(self) -> dict:
        return {**super().config(), "vocab_size": self.vocab_size, "codes_per_position": self.codes_per_position,
                "code_dim": self.code_dim}

    def identity(self) -> dict:
        # code_dim is Table 9's "Dim" column (additive to the base identity)
        return {**super().identity(), "code_dim": self.code_dim, "codes_per_position": self.codes_per_position}

    def params(self) -> int:
        """VAE (with LoRA) + quantizer parameters, plus the learned codebooks, which vector-quantize-pytorch keeps
        as EMA-updated buffers (``*_codebook.embed``); FSQ's implicit codebook is a fixed grid, not counted."""
        extra = sum(b.numel() for n, b in self.module.lapq.named_buffers() if n.endswith("_codebook.embed"))
        return super().params() + extra

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] -> tokens: one ``(B, T', H', W')`` int64 stream per code of a position."""
        self.input_constraints.check(video, self.name)
        enc = self.module.encode(video, texts)
        if len(enc.indices) != 1:
            raise RuntimeError(f"{self.name}: single-scale model returned {len(enc.indices)} levels")
        ix = enc.indices[0].long()  # FSQ gives int32
        enc.indices = [ix]
        streams = [ix] if ix.dim() == 4 else [ix[..., g].contiguous() for g in range(ix.shape[-1])]
        if len(streams) != self.codes_per_position:
            raise RuntimeError(f"{self.name}: expected {self.codes_per_position} codes per position, "
                               f"got indices of shape {tuple(ix.shape)}")
        positions = int(ix.shape[1] * ix.shape[2] * ix.shape[3])
        bits = torch.full((video.shape[0],), positions * self.bits_per_token, dtype=torch.float64)
        return Encoding(payload=enc, input_shape=tuple(video.shape), tokens=streams, bits=bits,
                        extras={"streams": list(self.streams), "positions": positions})

    def embed_text(self, texts: list[str]) -> Tensor:
        raise NotSupported(f"{self.name} is a quantizer baseline, not text aligned: benchmarks fit a probe")


def build(name: str = "quant-vq", quantizer: str = "vq", init: str = "trained", seed: int = 0,
          checkpoint: str | None = None, origin: str = "trained-here", **options) -> QuantizerBaselineTokenizer:
    """Registry factory. ``checkpoint``: the ``save_pretrained`` folder of the trained baseline (the benchmarks
    layer trains it with tiny PyraTok's recipe, caches it and passes it; ``origin`` trained-here, or
    local-weights for a user's own). ``init="random"``: untrained, seeded (origin random-init; for tests and smoke
    runs)."""
    from pyratok.model import PyraTok

    if options:
        raise TypeError(f"{name}: unknown option(s) {sorted(options)}; valid: quantizer, init, seed, checkpoint, "
                        "origin")
    if init not in ("trained", "random"):
        raise ValueError(f"{name}: init must be 'trained' or 'random', got {init!r}")
    if init == "trained" and seed != 0:
        raise ValueError(f"{name}: seed={seed} applies to init='random' only; the trained-here recipe is seeded "
                         "like tiny PyraTok's (seed 0) so every Table 9 row shares its data order")
    over = model_overrides(quantizer)
    if init == "random":
        model, ck = random_model(over, seed, "model_overrides")
        return QuantizerBaselineTokenizer(model, ck, name, quantizer, config={"init": "random", "seed": seed})
    if not checkpoint:
        raise ValueError(f"{name}: needs checkpoint=DIR (a trained baseline's save_pretrained folder) or "
                         "init='random'; the trained-here baseline is supplied by the benchmarks layer "
                         "(benchmarks.provisioning.provide)")
    model = PyraTok.from_pretrained(checkpoint)
    return QuantizerBaselineTokenizer(model, checkpoint_for(Path(checkpoint), origin), name, quantizer,
                                      config={"init": "trained"})
