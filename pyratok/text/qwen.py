"""Qwen2.5-VL text encoder (the paper's VLM, App. D: Qwen2.5-VL 3B) loaded from a local directory.

``e_t = VLM(t)`` (paper §3.2.2) is read as the last hidden state of the VLM's language model for the text-only input
``t`` (no chat template, no image): ``tokens`` = final-norm hidden states ``(B, N, D)`` (D = 2048 for the 3B model),
``pooled`` = their masked mean. Nothing is downloaded: ``path`` must be a directory with ``config.json``, weights and
tokenizer files, i.e. what ``save_pretrained`` writes (a Hugging Face snapshot of ``Qwen/Qwen2.5-VL-3B-Instruct``).

Loading: ``AutoModel`` builds ``Qwen2_5_VLModel`` (vision tower + language model, without the LM head); we keep only
its ``language_model`` (``Qwen2_5_VLTextModel``) and drop the vision tower, which text-only input never uses. A plain
decoder-only directory (e.g. Qwen2 / Qwen2.5 text models) also works: then ``AutoModel`` is the decoder itself.

Positions: the text is padded on the right and ``position_ids = cumsum(mask) - 1``, so real tokens get positions
0..n-1 — what Qwen2.5-VL assigns to text-only input (its 3-axis M-RoPE then has three equal axes) — and, with the
causal + padding mask, a text's hidden states do not depend on how much padding the batch adds.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from .base import TextEncoder

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device | str | None) -> torch.dtype:
    """``None`` -> bfloat16 on CUDA, float32 elsewhere; strings ``"float32"|"bfloat16"|"float16"`` accepted."""
    if dtype is None:
        return torch.bfloat16 if device is not None and torch.device(device).type == "cuda" else torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; valid: {sorted(_DTYPES)}")
        return _DTYPES[dtype]
    return dtype


def load_language_model(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Load the decoder stack (``inputs_embeds``/``input_ids`` -> ``last_hidden_state``) from a local directory.

    Qwen2.5-VL / Qwen2-VL directories give their ``language_model``; decoder-only directories (Qwen2, ...) give the
    base model. The returned module has ``.config.hidden_size``. Raises ``FileNotFoundError`` naming ``path`` when
    it is not a model directory, ``OSError`` when transformers cannot read it.
    """
    from transformers import AutoModel

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"language model directory not found: {path}")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a transformers model directory (no config.json)")
    try:
        base = AutoModel.from_pretrained(str(path), dtype=dtype, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise OSError(f"could not load a language model from {path}: {e}") from e
    lm = getattr(base, "language_model", base)
    if not hasattr(lm, "config") or not hasattr(lm.config, "hidden_size"):
        raise ValueError(f"model in {path} ({type(base).__name__}) has no decoder with a hidden_size")
    return lm


def mask_position_ids(mask: Tensor) -> Tensor:
    """Position ids ``(B, N)`` that count only real tokens (``mask`` True): ``cumsum(mask) - 1``, 0 at padding."""
    pos = mask.long().cumsum(dim=-1) - 1
    return pos.clamp(min=0)


class QwenVLTextEncoder(TextEncoder):
    """Frozen Qwen2.5-VL text hidden states from a local directory.

    Args:
        path: local model directory (required).
        max_length: token budget per text (Qwen adds no special tokens to plain text).
        device: where the model runs; outputs (float32) live there too.
        dtype: model dtype; None -> bfloat16 on CUDA, float32 on CPU.
        batch_size: texts per forward call.
    """

    name = "qwen2.5-vl"

    def __init__(
        self,
        path: str | os.PathLike,
        max_length: int = 77,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str | None = None,
        batch_size: int = 16,
    ) -> None:
        super().__init__(max_length=max_length, batch_size=batch_size)
        from transformers import AutoTokenizer

        if path is None:
            raise ValueError("the Qwen2.5-VL text encoder needs a local model directory: pass path=...")
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"Qwen2.5-VL model directory not found: {path}")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as e:
            raise OSError(f"could not load the tokenizer from {path}: {e}") from e
        # Right padding keeps real tokens at positions 0..n-1 (see module docstring).
        self.tokenizer.padding_side = "right"
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise ValueError(f"tokenizer in {path} has neither a pad nor an eos token to pad with")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = load_language_model(path, dtype=resolve_dtype(dtype, device))
        self.model_dir = path
        self.dim = int(self.model.config.hidden_size)
        if device is not None:
            self.to(device)
        self.freeze()

    def _encode_chunk(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        mask = batch["attention_mask"]
        if (mask.sum(dim=1) == 0).any():
            empty = [texts[i] for i in torch.nonzero(mask.sum(dim=1) == 0).flatten().tolist()]
            raise ValueError(f"texts with no tokens cannot be encoded by Qwen (no special tokens): {empty[:3]}")
        out = self.model(
            input_ids=batch["input_ids"], attention_mask=mask, position_ids=mask_position_ids(mask), use_cache=False
        )
        return out.last_hidden_state, mask.bool()
