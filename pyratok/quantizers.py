"""Codebook quantizers for the quantizer ablation (paper Table 9 / App. C.3), behind LFQ's output interface.

PyraTok quantizes with LFQ (:mod:`pyratok.lfq`). Table 9 swaps the quantizer for VQ (4096 codes / 256-d), grouped VQ
(GVQ), residual VQ (RVQ, 8000 / 512) and — beside the paper — FSQ; these come from vector-quantize-pytorch so the
ablation uses the reference implementations. One quantizer module is shared by every LaPQ level, as LFQ is.

The LFQ-specific parts of Eq. 2 (entropy terms, the per-bit KL terms) need per-bit logits; learned codebooks have
none, so :class:`CodebookQuantOutput` carries ``logits=None`` and those terms are skipped (the VQ commitment loss
stands in for the vision-commitment term). The AR alignment predicts LFQ token ids and needs LFQ.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config_utils import ConfigError

QUANTIZER_TYPES = ("lfq", "vq", "gvq", "rvq", "fsq")


@dataclass
class QuantizerConfig:
    type: str = "lfq"             # one of QUANTIZER_TYPES; "lfq" uses LaPQConfig.lfq
    codebook_size: int = 4096     # Table 9: VQ/GVQ 4096, RVQ 8000
    dim: int = 256                # code dimension: Table 9: VQ/GVQ 256, RVQ 512
    groups: int = 4               # GVQ: heads with separate codebooks
    num_quantizers: int = 2       # RVQ depth
    fsq_levels: tuple = (8, 8, 8, 6, 5)  # FSQ levels (15,360 codes)
    commitment_weight: float = 1.0

    def __post_init__(self):
        if self.type not in QUANTIZER_TYPES:
            raise ConfigError(f"lapq.quantizer.type must be one of {list(QUANTIZER_TYPES)}, got {self.type!r}")
        if self.type == "gvq" and self.dim % self.groups:
            raise ConfigError(f"lapq.quantizer.dim ({self.dim}) must be divisible by groups ({self.groups})")


@dataclass
class CodebookQuantOutput:
    """Same fields as :class:`pyratok.lfq.LFQOutput`; indices are (..., G) for GVQ (G heads) and RVQ (G depths)."""

    quantized: Tensor
    indices: Tensor
    logits: Tensor | None
    commitment: Tensor
    per_sample_entropy: Tensor
    codebook_entropy: Tensor
    entropy_loss: Tensor
    utilization: float


class CodebookQuantizer(nn.Module):
    """VQ / GVQ / RVQ / FSQ on (B, N, dim) features."""

    def __init__(self, config: QuantizerConfig):
        super().__init__()
        from vector_quantize_pytorch import FSQ, ResidualVQ, VectorQuantize

        self.config = c = config
        if c.type == "vq":
            self.impl = VectorQuantize(dim=c.dim, codebook_size=c.codebook_size, commitment_weight=1.0)
        elif c.type == "gvq":
            self.impl = VectorQuantize(dim=c.dim, codebook_size=c.codebook_size, heads=c.groups,
                                       separate_codebook_per_head=True, commitment_weight=1.0)
        elif c.type == "rvq":
            self.impl = ResidualVQ(dim=c.dim, codebook_size=c.codebook_size, num_quantizers=c.num_quantizers,
                                   commitment_weight=1.0)
        elif c.type == "fsq":
            self.impl = FSQ(levels=list(c.fsq_levels), dim=c.dim)
        else:
            raise ConfigError(f"CodebookQuantizer does not handle {c.type!r}")

    @property
    def vocab_size(self) -> int:
        c = self.config
        if c.type == "fsq":
            return int(torch.tensor(c.fsq_levels).prod())
        return c.codebook_size

    def forward(self, z: Tensor, mask: Tensor | None = None) -> CodebookQuantOutput:
        zero = z.new_zeros(())
        if self.config.type == "fsq":
            quantized, indices = self.impl(z)
            commitment = zero
        else:
            quantized, indices, loss = self.impl(z)
            commitment = loss.sum()
        used = torch.unique(indices.flatten(0, 1) if indices.dim() == 3 else indices.flatten(), dim=0)
        utilization = used.shape[0] / self.vocab_size if indices.dim() == 2 else \
            len(torch.unique(indices)) / self.vocab_size
        return CodebookQuantOutput(quantized, indices, None, commitment, zero, zero, zero, float(utilization))

    def indices_to_codes(self, indices: Tensor) -> Tensor:
        """Token ids (B, N) or (B, N, G) -> quantized vectors (B, N, dim)."""
        if self.config.type == "fsq":
            return self.impl.indices_to_codes(indices)
        return self.impl.get_output_from_indices(indices)
