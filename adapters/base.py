"""The one interface every tokenizer sits behind: PyraTok, continuous video VAEs, quantizer baselines, codecs.

A benchmark only ever talks to a :class:`Tokenizer`. Video tensors follow one contract across the project:
float32, ``(B, 3, T, H, W)`` (batch, RGB, frames, height, width), values in ``[-1, 1]``. A causal VAE wants ``T = 1 + 4k``; an adapter that needs
another geometry says so in :attr:`Tokenizer.input_constraints` and the benchmark crops/pads to it (never the
adapter silently).

What an adapter declares (its *identity*, written into every result record):

=====================  ==================================================================================
``name``               registry name (``pyratok-tiny``, ``wan2.2-vae``, ``x264``, ...)
``family``             ``pyratok`` | ``video-vae`` | ``quantizer-baseline`` | ``codec``
``kind``               ``discrete`` (integer tokens) | ``continuous`` (latents) | ``codec`` (bitstream)
``vocab_size``         codebook size for discrete tokenizers, else ``None``
``native_resolution``  ``(T, H, W)`` the tokenizer was built for (the benchmark decides what it feeds)
``text_aligned``       ``True`` when :meth:`embed_text` and :meth:`features` share one space natively
``checkpoint``         :class:`Checkpoint`: where the weights came from (local weights + sha256, trained here,
                       random init, or none for codecs)
=====================  ==================================================================================
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["Checkpoint", "Encoding", "InputConstraints", "Tokenizer", "NotSupported", "sha256_of", "KINDS", "ORIGINS",
           "FAMILIES", "bits_per_pixel", "json_digest"]

KINDS = ("discrete", "continuous", "codec", "reference")
# "reference": the trivial references of adapters.references; "external": a user's own class (pkg.module:Class)
FAMILIES = ("pyratok", "video-vae", "quantizer-baseline", "codec", "reference", "external")
ORIGINS = ("local-weights", "trained-here", "random-init", "none")


class NotSupported(NotImplementedError):
    """The tokenizer cannot do what a benchmark asks (e.g. features of a codec); the runner records the cell as
    not applicable with this message rather than failing."""


@dataclass(frozen=True)
class Checkpoint:
    """Where a tokenizer's weights came from.

    origin: ``local-weights`` (a user's directory of real weights), ``trained-here`` (a tiny config trained by this
    project, cached), ``random-init`` (untrained: numbers from it mean nothing and say so), ``none`` (a codec).
    sha256: a digest of the weight files (or of the config for ``random-init``); the runner's cache key uses it.
    """

    origin: str
    path: str | None = None
    sha256: str | None = None
    detail: str = ""

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ValueError(f"checkpoint origin must be one of {ORIGINS}, got {self.origin!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class InputConstraints:
    """Geometry an adapter accepts: ``T = t_offset + t_multiple * k`` and ``H, W`` multiples of ``hw_multiple``."""

    t_multiple: int = 1
    t_offset: int = 0
    hw_multiple: int = 1
    min_frames: int = 1

    def valid_frames(self, t: int) -> int:
        """The largest valid frame count <= t (>= min_frames), for benchmarks that trim clips."""
        if t < max(self.min_frames, self.t_offset or 1):
            raise ValueError(f"clip of {t} frames is shorter than this tokenizer's minimum {self.min_frames}")
        k = (t - self.t_offset) // self.t_multiple
        return self.t_offset + self.t_multiple * k

    def check(self, video: Tensor, who: str) -> None:
        if video.dim() != 5 or video.shape[1] != 3:
            raise ValueError(f"{who}: video must be (B, 3, T, H, W), got {tuple(video.shape)}")
        T, H, W = video.shape[2:]
        if T < self.min_frames or (T - self.t_offset) % self.t_multiple or H % self.hw_multiple or W % self.hw_multiple:
            raise ValueError(f"{who}: a {T}x{H}x{W} clip does not fit: need T = {self.t_offset} + {self.t_multiple}k "
                             f"(>= {self.min_frames}) and H, W multiples of {self.hw_multiple}")


@dataclass
class Encoding:
    """What :meth:`Tokenizer.encode` returns.

    payload: adapter-specific (token ids per level, a latent tensor, encoded packets) — only the same adapter reads it.
    input_shape: ``(B, C, T, H, W)`` of the encoded video.
    tokens: for discrete tokenizers, one ``(B, T', H', W')`` int64 tensor per level (ids in ``[0, vocab_size)``);
        ``None`` otherwise. Generative priors (UCF-101 gFVD, T2V) read these.
    bits: ``(B,)`` float64 bits spent per sample (rate); see :meth:`Tokenizer.bits`.
    extras: anything else a benchmark may use (e.g. ``utilization`` counts), documented by the adapter.
    """

    payload: Any
    input_shape: tuple[int, ...]
    tokens: list[Tensor] | None = None
    bits: Tensor | None = None
    extras: dict = field(default_factory=dict)


class Tokenizer(ABC):
    """Base class of every adapter. Subclasses set the identity attributes and implement encode/decode; the
    understanding hooks (:meth:`features`, :meth:`embed_text`) raise :class:`NotSupported` unless overridden."""

    name: str = "?"
    family: str = "?"
    kind: str = "?"
    vocab_size: int | None = None
    native_resolution: tuple[int, int, int] = (17, 256, 256)
    text_aligned: bool = False
    num_levels: int = 1
    input_constraints: InputConstraints = InputConstraints()

    # ------------------------------------------------------------------ identity
    @property
    @abstractmethod
    def checkpoint(self) -> Checkpoint: ...

    def params(self) -> int | None:
        """Parameter count of what encode + decode run (``None`` for codecs)."""
        module = getattr(self, "module", None)
        if isinstance(module, torch.nn.Module):
            return sum(p.numel() for p in module.parameters())
        return None

    def config(self) -> dict:
        """The adapter's options (JSON-able): part of the cache key and of the provenance."""
        return {}

    def identity(self) -> dict:
        """Everything a result record says about the tokenizer."""
        ck = self.checkpoint
        return {"tokenizer": self.name, "family": self.family, "kind": self.kind, "vocab_size": self.vocab_size,
                "params": self.params(), "native_resolution": list(self.native_resolution),
                "text_aligned": self.text_aligned, "num_levels": self.num_levels, "checkpoint": ck.to_dict(),
                "config": self.config()}

    def cache_key(self) -> str:
        """Hash of (adapter name, options, checkpoint digest): changes whenever the outputs could."""
        ck = self.checkpoint
        blob = json.dumps({"name": self.name, "config": self.config(), "origin": ck.origin, "sha256": ck.sha256},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ coding
    @abstractmethod
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] (optionally with one caption per clip) -> :class:`Encoding`."""

    @abstractmethod
    def decode(self, encoding: Encoding) -> Tensor:
        """:class:`Encoding` -> ``(B, 3, T, H, W)`` float32 in [-1, 1]."""

    def reconstruct(self, video: Tensor, texts: list[str] | None = None) -> tuple[Tensor, Encoding]:
        enc = self.encode(video, texts)
        return self.decode(enc), enc

    def bits(self, encoding: Encoding) -> Tensor:
        """``(B,)`` bits per sample. Discrete: tokens x log2(vocab) (no entropy coding: the paper's convention);
        codec: the bitstream size; continuous: not defined (raises :class:`NotSupported`)."""
        if encoding.bits is not None:
            return encoding.bits
        raise NotSupported(f"{self.name}: a {self.kind} tokenizer has no bit rate")

    def encoding_from_tokens(self, tokens: list[Tensor], input_shape: tuple[int, ...]) -> Encoding:
        """Optional (discrete tokenizers): rebuild an :class:`Encoding` that :meth:`decode` accepts from token ids
        alone, as generative priors produce them (``tokens`` like :attr:`Encoding.tokens`; ``input_shape`` the
        ``(B, C, T, H, W)`` of the clips they stand for). A tokenizer that implements it takes part in the generative
        benchmarks; one that does not raises :class:`NotSupported`."""
        raise NotSupported(f"{self.name} cannot rebuild an encoding from token ids (no encoding_from_tokens)")

    # ------------------------------------------------------------------ understanding
    def features(self, encoding: Encoding, level: int = -1) -> Tensor:
        """``(B, D, T', H', W')`` features of pyramid level ``level`` (1-based; -1 = last/deepest) for zero-shot
        scoring against :meth:`embed_text` (cosine similarity)."""
        raise NotSupported(f"{self.name} exposes no features")

    def embed_text(self, texts: list[str]) -> Tensor:
        """``(N, D)`` text embeddings in the space of :meth:`features` (text-aligned tokenizers only)."""
        raise NotSupported(f"{self.name} is not text aligned: benchmarks fit a text-alignment probe instead")

    def to(self, device: str | torch.device) -> "Tokenizer":
        module = getattr(self, "module", None)
        if isinstance(module, torch.nn.Module):
            module.to(device)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.family}, {self.kind}, {self.checkpoint.origin})>"


def sha256_of(paths: list[str | Path] | str | Path, chunk: int = 1 << 20) -> str:
    """sha256 over the contents of one file, or of several files in the given order (name + bytes)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode())
        with open(p, "rb") as f:
            while True:
                b = f.read(chunk)
                if not b:
                    break
                h.update(b)
    return h.hexdigest()


def json_digest(obj) -> str:
    """16 hex digits of the sha256 of ``obj`` as sorted-key JSON (non-JSON values by ``str``): the digest of a
    config (e.g. a random-init tokenizer's, in place of a weight sha) or of a training recipe."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def bits_per_pixel(bits: Tensor, input_shape: tuple[int, ...]) -> Tensor:
    """``(B,)`` bits of clips of ``input_shape`` ``(..., T, H, W)`` -> bits per pixel (per frame pixel: T*H*W)."""
    t, h, w = input_shape[-3:]
    return bits.double() / float(t * h * w)
