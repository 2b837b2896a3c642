"""One interface for the frozen text encoders that give PyraTok its text embeddings ``e_t`` (paper §3.2.2).

A :class:`TextEncoder` maps a list of strings to a :class:`TextEmbedding`: per-token hidden states (the keys/values
of the text-conditioned quantizer blocks and the text prefix of the autoregressive alignment), a padding mask and a
pooled sentence embedding (zero-shot scoring, text-codebook alignment).

The base class owns everything that is the same for every backbone: input checking, splitting long lists into
chunks of ``batch_size``, truncation to ``max_length`` tokens, padding every chunk to the longest sequence of the
whole call, zeroing padded positions, masked pooling, freezing and ``torch.no_grad``. Subclasses implement only
:meth:`TextEncoder._encode_chunk` (tokenise + run the backbone) and, where pooling differs, :meth:`TextEncoder.pool`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class TextEmbedding:
    """Text embeddings of a batch of B strings.

    tokens: ``(B, N, D)`` float32 per-token hidden states; rows at padding positions are exactly 0.
    mask:   ``(B, N)`` bool, True = real token, False = padding. Encoders in this package pad on the right, but
            consumers must rely on ``mask`` only (the AR alignment accepts any padding layout).
    pooled: ``(B, D)`` float32 sentence embedding (MiniLM: masked mean then L2 norm; Qwen: masked mean).
    """

    tokens: Tensor
    mask: Tensor
    pooled: Tensor

    def __post_init__(self) -> None:
        if self.tokens.ndim != 3:
            raise ValueError(f"TextEmbedding.tokens must be (B, N, D), got shape {tuple(self.tokens.shape)}")
        if self.mask.shape != self.tokens.shape[:2]:
            raise ValueError(
                f"TextEmbedding.mask must be (B, N) = {tuple(self.tokens.shape[:2])}, got {tuple(self.mask.shape)}"
            )
        if self.mask.dtype != torch.bool:
            raise ValueError(f"TextEmbedding.mask must be bool, got {self.mask.dtype}")
        if self.pooled.shape != (self.tokens.shape[0], self.tokens.shape[2]):
            raise ValueError(
                f"TextEmbedding.pooled must be (B, D) = {(self.tokens.shape[0], self.tokens.shape[2])}, "
                f"got {tuple(self.pooled.shape)}"
            )

    @property
    def dim(self) -> int:
        return self.tokens.shape[-1]

    def to(self, device: torch.device | str) -> "TextEmbedding":
        return TextEmbedding(self.tokens.to(device), self.mask.to(device), self.pooled.to(device))


def masked_mean(tokens: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``tokens (B, N, D)`` over the positions where ``mask (B, N)`` is True -> ``(B, D)``.

    Same arithmetic as sentence-transformers' mean pooling (sum of masked tokens / count clamped at 1e-9).
    """
    m = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


class TextEncoder(nn.Module):
    """Frozen text encoder: ``forward(texts: list[str]) -> TextEmbedding``.

    Attributes:
        dim: width D of the token and pooled embeddings.
        name: registry name (``"minilm"``, ``"qwen2.5-vl"``).
        max_length: token budget per text, special tokens included; longer texts are truncated.
        batch_size: texts per backbone call; a longer list is split and re-padded to one common length N.

    Frozen by default: every parameter has ``requires_grad=False`` and the backbone stays in eval mode even when a
    parent module calls ``.train()`` (dropout in a frozen encoder would only add noise to ``e_t``).
    """

    dim: int
    name: str

    def __init__(self, max_length: int = 77, batch_size: int = 64, frozen: bool = True) -> None:
        super().__init__()
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for special tokens), got {max_length}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.frozen = bool(frozen)

    # ----------------------------------------------------------------------------------------------------------
    # to implement
    def _encode_chunk(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Tokenise ``texts`` (truncating at ``self.max_length``) and run the backbone.

        Returns ``hidden (b, n, D)`` (any float dtype, on any device) and ``mask (b, n)`` (True = real token).
        """
        raise NotImplementedError

    def pool(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Sentence embedding ``(B, D)`` from ``tokens (B, N, D)`` and ``mask (B, N)``; default: masked mean."""
        return masked_mean(tokens, mask)

    # ----------------------------------------------------------------------------------------------------------
    def freeze(self) -> "TextEncoder":
        for p in self.parameters():
            p.requires_grad_(False)
        self.frozen = True
        return self.eval()

    def train(self, mode: bool = True) -> "TextEncoder":
        # A frozen encoder ignores train(True) so that PyraTok.train() does not switch its dropout on.
        return super().train(mode and not self.frozen)

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    @staticmethod
    def _check_texts(texts: list[str]) -> list[str]:
        if isinstance(texts, str):
            raise TypeError("TextEncoder expects a list of strings, got a single str (wrap it in a list)")
        texts = list(texts)
        if not texts:
            raise ValueError("TextEncoder got an empty list of texts")
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"TextEncoder expects strings; items {bad[:5]} are {type(texts[bad[0]]).__name__}")
        return texts

    def forward(self, texts: list[str]) -> TextEmbedding:
        """Encode ``texts`` (B strings) -> :class:`TextEmbedding` with tokens ``(B, N, D)`` float32 on
        ``self.device``; N = longest tokenised text (<= ``max_length``) over the whole list."""
        texts = self._check_texts(texts)
        hiddens, masks = [], []
        with torch.set_grad_enabled(not self.frozen and torch.is_grad_enabled()):
            for start in range(0, len(texts), self.batch_size):
                h, m = self._encode_chunk(texts[start : start + self.batch_size])
                hiddens.append(h.float())
                masks.append(m.bool())
            n = max(h.shape[1] for h in hiddens)
            # Right-pad every chunk to the common length; padded rows are set to exactly 0.
            tokens = torch.cat([nn.functional.pad(h, (0, 0, 0, n - h.shape[1])) for h in hiddens], dim=0)
            mask = torch.cat([nn.functional.pad(m, (0, n - m.shape[1]), value=False) for m in masks], dim=0)
            mask = mask.to(tokens.device)
            tokens = tokens * mask.unsqueeze(-1)
            pooled = self.pool(tokens, mask).float()
        return TextEmbedding(tokens=tokens, mask=mask, pooled=pooled)
