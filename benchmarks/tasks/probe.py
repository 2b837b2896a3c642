"""The text-alignment probe: one recipe that gives any tokenizer a text space for the zero-shot benchmarks.

A tokenizer that is not text aligned (a continuous VAE, a quantizer baseline) has features but no text embedding in
their space. So that the zero-shot tables compare like with like, every such tokenizer gets the same probe, fitted
on the benchmark's *seen/train* part only (never on the classes or videos it is scored on): ridge regression from a
fixed sentence embedding of the text (MiniLM, 384-d, L2-normalised, plus a bias) to the tokenizer's pooled,
L2-normalised features of the matching clip. The probe's text embedding of a query is then ``normalize(W^T [e; 1])``
and the zero-shot score is the cosine with the (per-token or pooled) features, exactly as for a native tokenizer.
PyraTok is reported both natively and with this probe, and every probed cell says "probe".

Ridge: ``W = (X^T X + lambda * tr(X^T X)/d * I)^-1 X^T Y`` (lambda relative to the mean eigenvalue, so it does not
depend on the embedding scale; the bias column is not penalised). Closed form, deterministic, seconds on a CPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["PROBE_VERSION", "ProbeConfig", "TextAlignmentProbe", "ProbedTokenizer", "pool_features",
           "sentence_embedding", "fit_probe_from_pairs"]

PROBE_VERSION = "1"


@dataclass(frozen=True)
class ProbeConfig:
    ridge: float = 1e-2        # relative ridge strength (see module doc)
    text_encoder: str = "minilm"


_TEXT = {}


def sentence_embedding(texts: list[str], encoder: str = "minilm") -> Tensor:
    """``(N, 384)`` L2-normalised MiniLM sentence embeddings (the probe's fixed text side)."""
    from pyratok.text import build_text_encoder

    if encoder not in _TEXT:
        _TEXT[encoder] = build_text_encoder(encoder)
    with torch.no_grad():
        e = _TEXT[encoder](list(texts)).pooled.float()
    return torch.nn.functional.normalize(e, dim=-1)


def pool_features(features: Tensor) -> Tensor:
    """``(B, D, ...)`` -> ``(B, D)``: mean over every axis after the channel axis, then L2 normalisation."""
    f = features.float().flatten(2).mean(-1)
    return torch.nn.functional.normalize(f, dim=-1)


class TextAlignmentProbe:
    """Linear map from sentence embeddings ``(N, Dt)`` to the feature space ``(N, D)``."""

    def __init__(self, weight: np.ndarray, config: ProbeConfig = ProbeConfig()):
        self.weight = np.asarray(weight, dtype=np.float64)  # (Dt + 1, D)
        self.config = config

    @classmethod
    def fit(cls, text_emb: Tensor | np.ndarray, features: Tensor | np.ndarray,
            config: ProbeConfig = ProbeConfig()) -> "TextAlignmentProbe":
        """``text_emb`` (N, Dt), ``features`` (N, D) (rows are normalised here). N >= 1."""
        X = np.asarray(text_emb, dtype=np.float64)
        Y = np.asarray(features, dtype=np.float64)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"probe fit needs (N, Dt) texts and (N, D) features with N >= 1, got {X.shape}, {Y.shape}")
        Y = Y / np.maximum(np.linalg.norm(Y, axis=1, keepdims=True), 1e-12)
        Xb = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
        G = Xb.T @ Xb
        d = X.shape[1]
        lam = config.ridge * max(np.trace(G[:d, :d]) / d, 1e-12)
        reg = np.eye(d + 1) * lam
        reg[d, d] = 0.0  # bias not penalised
        W = np.linalg.solve(G + reg + np.eye(d + 1) * 1e-12, Xb.T @ Y)
        return cls(W, config)

    def __call__(self, text_emb: Tensor) -> Tensor:
        X = text_emb.double()
        Xb = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)
        out = Xb @ torch.from_numpy(self.weight)
        return torch.nn.functional.normalize(out.float(), dim=-1)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weight=self.weight, ridge=self.config.ridge, text_encoder=self.config.text_encoder,
                 version=PROBE_VERSION)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TextAlignmentProbe":
        with np.load(path) as z:
            return cls(z["weight"], ProbeConfig(float(z["ridge"]), str(z["text_encoder"])))


class ProbedTokenizer:
    """A tokenizer seen through a fitted probe: :meth:`embed_text` comes from the probe; everything else is the
    wrapped tokenizer's. ``text_space`` is ``"probe"`` (records and tables say so)."""

    text_space = "probe"

    def __init__(self, tokenizer, probe: TextAlignmentProbe):
        self.tokenizer = tokenizer
        self.probe = probe

    def __getattr__(self, item):
        return getattr(self.tokenizer, item)

    def embed_text(self, texts: list[str]) -> Tensor:
        return self.probe(sentence_embedding(texts, self.probe.config.text_encoder))


def fit_probe_from_pairs(pooled_features: list[Tensor] | Tensor, texts: list[str], out: str | Path,
                         config: ProbeConfig = ProbeConfig()) -> Path:
    """Fit on (pooled feature ``(D,)`` or ``(N, D)``, text) pairs from the seen/train split and save to ``out``
    (``.npz``). Returns the path (benchmarks put it in their ``fit`` state)."""
    feats = torch.stack(list(pooled_features)) if isinstance(pooled_features, list) else pooled_features
    if feats.shape[0] != len(texts):
        raise ValueError(f"{feats.shape[0]} features but {len(texts)} texts")
    probe = TextAlignmentProbe.fit(sentence_embedding(texts, config.text_encoder), feats, config)
    return probe.save(out)
