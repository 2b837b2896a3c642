"""Reference "tokenizers": trivial methods behind the :class:`~adapters.base.Tokenizer` interface, so every benchmark
scores them with its own code on its own data, and a reader sees what a number is worth next to them.

They are **references, not tokenizers**: ``family = kind = "reference"``, no weights (checkpoint origin ``none``),
and :attr:`ReferenceTokenizer.capabilities` says which benchmark hooks they implement (the others raise
:class:`~adapters.base.NotSupported`, which a runner records as "not applicable").

==========================  ==========================================================================================
``ref-grey``                every pixel mid-grey (0 in [-1, 1], 0.5 on [0, 1]); **0 bits**. The floor of a
                            reconstruction metric: what knowing nothing about the clip scores.
``ref-mean-colour``         every pixel of a clip = that clip's mean RGB colour (mean over T, H, W per channel),
                            stored as 3 values x 8 bits: **24 bits per clip** (the decoded colour is the 8-bit one).
``ref-bicubic``             each frame downsampled (bicubic, antialiased) to an ``h x w`` grid, stored as 8-bit RGB,
                            upsampled back (bicubic); ``h x w`` is the largest grid whose rate fits ``bpp``.
``ref-random-features``     features drawn from a seeded standard Gaussian, of the shape a tokenizer gives
                            (defaults: tiny PyraTok's); text embeddings drawn the same way. The random-feature null
                            of the zero-shot tasks (mean / 95th percentile over >= 20 seeds). No decode, no rate.
==========================  ==========================================================================================

Rate accounting of ``ref-bicubic`` (bits per pixel = bits / (T x H x W), the unit of
:func:`adapters.base.bits_per_pixel`): the stored values are the ``3 x T x h x w`` RGB samples of the downsampled
frames at 8 bits each, so ``bits = 24 T h w`` and ``bpp = 24 h w / (H W)``; the frame geometry ``(T, H, W)`` is part
of the protocol (known to the decoder, as a tokenizer's token grid is), so no header is counted, and no entropy
coding is applied (the convention of discrete tokenizers' ``tokens x log2(vocab)``). The grid keeps the frame's
aspect ratio: for ``h = H, H-1, ..., 1``, ``w = max(1, round(h W / H))``; the first ``(h, w)`` with
``24 h w / (H W) <= bpp`` is used. At 64 x 64 and tiny PyraTok's 0.0588 bpp (17 frames) that is ``3 x 3``
(0.0527 bpp); a target below one value per channel per frame (``bpp < 24 / (H W)``) cannot be met: the clip is coded
at ``1 x 1`` and ``Encoding.extras["target_met"]`` says so (the extras mirror :class:`adapters.codecs.CodecTokenizer`'s,
so a benchmark can treat both alike). ``encode(..., bpp=)`` overrides the built-in target per call, as for codecs.
The built-in target is a number or ``"match:<tokenizer>"``: the rate of that discrete tokenizer on a clip of the
geometry being coded (its architecture built with ``init="random"`` where its factory has that option: token counts do
not depend on weights; one zero clip trimmed/cropped to the tokenizer's input constraints, ``bits / (T' H' W')``), so
one registry entry is "bicubic at PyraTok's rate" on every benchmark (0.0588 bpp at 17x64x64, 0.156 at 1x64x64).

Random features are a pure function of ``(seed, level, clip content)`` and text embeddings of ``(seed, text)``
(sha256 of those -> a torch generator seed), so a null draw is independent of batch composition, shard order and
worker: the same seed gives the same numbers everywhere; another seed is another draw.
"""
from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer

__all__ = ["ReferenceTokenizer", "GreyReference", "MeanColourReference", "BicubicReference",
           "RandomFeatureReference", "bicubic_grid", "quantize8", "build", "REFERENCES"]

#: bits stored per RGB sample by the image references (8-bit colour)
BITS_PER_VALUE = 8


def quantize8(x: Tensor) -> Tensor:
    """Values in [-1, 1] -> the nearest of the 256 levels ``k / 127.5 - 1`` (``k = round((x + 1) * 127.5)``), the
    8-bit grid of :func:`adapters.codecs.video_to_rgb`; same shape, float32."""
    return ((x.float().clamp(-1, 1) + 1.0) * 127.5).round() / 127.5 - 1.0


def bicubic_grid(height: int, width: int, bpp: float) -> tuple[int, int, bool]:
    """The ``(h, w)`` grid ``ref-bicubic`` stores for ``height x width`` frames at target ``bpp`` (see the module
    docstring), and whether the target was met (False: even ``1 x 1`` costs more than ``bpp``)."""
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {height}x{width}")
    if not bpp > 0:
        raise ValueError(f"bpp must be positive, got {bpp}")
    per_value = 3 * BITS_PER_VALUE / (height * width)   # bpp of one stored RGB sample per frame
    for h in range(height, 0, -1):
        w = min(width, max(1, round(h * width / height)))
        if h * w * per_value <= bpp * (1 + 1e-12):
            return h, w, True
    return 1, 1, False


class ReferenceTokenizer(Tokenizer):
    """Base of the references: identity, no weights, no text conditioning. ``capabilities``: the subset of
    ``{"decode", "bits", "features", "text"}`` a reference implements (a runner can skip the rest up front)."""

    family = "reference"
    kind = "reference"
    vocab_size = None
    text_aligned = False
    num_levels = 1
    native_resolution = (17, 64, 64)   # the embedded default protocols' scale; references accept any geometry
    input_constraints = InputConstraints()
    capabilities: frozenset = frozenset()
    description = ""

    def __init__(self, name: str):
        self.name = name

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint("none", detail=f"reference method (no weights): {self.description}")

    def params(self) -> int:
        return 0

    def identity(self) -> dict:
        return {**super().identity(), "reference": True, "capabilities": sorted(self.capabilities),
                "description": self.description}

    def _check(self, video: Tensor) -> None:
        self.input_constraints.check(video, self.name)


class _ImageReference(ReferenceTokenizer):
    """References that reconstruct: ``Encoding.payload`` is the decoded clip itself (they are cheap to store)."""

    capabilities = frozenset({"decode", "bits"})

    def decode(self, encoding: Encoding) -> Tensor:
        return encoding.payload.clone()


class GreyReference(_ImageReference):
    """Every pixel 0 in [-1, 1] (mid-grey); 0 bits per clip."""

    description = "every pixel mid-grey (0 in [-1, 1]); 0 bits"

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] -> grey clips of the same shape, ``bits`` ``(B,)`` zeros."""
        self._check(video)
        return Encoding(payload=torch.zeros(video.shape, dtype=torch.float32), input_shape=tuple(video.shape),
                        bits=torch.zeros(video.shape[0], dtype=torch.float64), extras={"rate": "0 bits"})


class MeanColourReference(_ImageReference):
    """Each clip's mean RGB colour (over T, H, W), 8-bit quantized, everywhere; 24 bits per clip."""

    description = "per-clip mean RGB colour at 8 bits per channel; 24 bits per clip"

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] -> clips filled with their 8-bit mean colour; ``bits`` ``(B,)`` = 24."""
        self._check(video)
        mean = quantize8(video.float().clamp(-1, 1).mean(dim=(2, 3, 4), keepdim=True))   # (B, 3, 1, 1, 1)
        B = video.shape[0]
        return Encoding(payload=mean.expand(video.shape).contiguous(), input_shape=tuple(video.shape),
                        bits=torch.full((B,), 3.0 * BITS_PER_VALUE, dtype=torch.float64),
                        extras={"rate": "3 channels x 8 bits per clip", "mean_colour": mean.flatten(1).tolist()})


class BicubicReference(_ImageReference):
    """Bicubic downsample -> 8-bit RGB -> bicubic upsample, at the largest grid within the target bpp
    (:func:`bicubic_grid`). ``bpp``: a number, ``"match:<tokenizer>"`` (resolved per clip geometry), or None when
    every call passes ``encode(..., bpp=)``."""

    description = "bicubic downsample to an 8-bit RGB grid within the target bpp, bicubic upsample"

    def __init__(self, name: str, bpp: float | str | None = None):
        super().__init__(name)
        self.match: str | None = None
        self.target_bpp: float | None = None
        if isinstance(bpp, str):
            if not (bpp.startswith("match:") and bpp[6:].strip()):
                raise ValueError(f"{name}: bpp must be a positive number or 'match:<tokenizer>', got {bpp!r}")
            self.match = bpp[6:].strip()
        elif bpp is not None:
            if isinstance(bpp, bool) or not float(bpp) > 0:
                raise ValueError(f"{name}: bpp must be positive, got {bpp}")
            self.target_bpp = float(bpp)
        self._matched: dict[tuple[int, int, int], float] = {}

    def config(self) -> dict:
        return {"bpp": f"match:{self.match}" if self.match else self.target_bpp, "bits_per_value": BITS_PER_VALUE,
                "resample": "bicubic (antialiased down)"}

    def matched_bpp(self, frames: int, height: int, width: int) -> float:
        """Bits per pixel of the ``match`` tokenizer on a ``frames x height x width`` clip (see the module
        docstring); cached per geometry."""
        key = (int(frames), int(height), int(width))
        if key not in self._matched:
            from .registry import build_tokenizer

            try:
                tok = build_tokenizer(self.match, init="random")
            except TypeError as err:        # a factory without an init option: build it as registered
                if "unknown option" not in str(err) and "unexpected keyword" not in str(err):
                    raise
                tok = build_tokenizer(self.match)
            if tok.kind != "discrete":
                raise ValueError(f"{self.name}: bpp 'match:{self.match}' needs a discrete tokenizer (fixed tokens x "
                                 f"log2(vocab) bits); {self.match} is {tok.kind}")
            c = tok.input_constraints
            m = c.hw_multiple
            t, h, w = c.valid_frames(key[0]), key[1] // m * m, key[2] // m * m
            if not (h and w):
                raise ValueError(f"{self.name}: a {key[1]}x{key[2]} frame is smaller than {self.match}'s spatial "
                                 f"multiple {m}")
            with torch.no_grad():
                bits = float(tok.bits(tok.encode(torch.zeros(1, 3, t, h, w)))[0])
            self._matched[key] = bits / (t * h * w)
        return self._matched[key]

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None, *, bpp: float | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] -> reconstruction from the ``(B, 3, T, h, w)`` 8-bit grid; ``bits``
        ``(B,)`` = ``24 T h w``. ``extras``: ``grid`` (h, w), ``target_bpp``, ``target_rule``, per clip ``bpp``,
        ``target_met``,
        ``within_tolerance`` (= target_met: the grid is the best fit by construction), ``quality`` (= h),
        ``quality_option`` ("grid height"), ``rate``."""
        self._check(video)
        B, C, T, H, W = video.shape
        if bpp is not None:
            target, rule = float(bpp), "bpp passed to encode"
        elif self.match:
            target, rule = self.matched_bpp(T, H, W), f"match:{self.match} at {T}x{H}x{W}"
        elif self.target_bpp is not None:
            target, rule = self.target_bpp, "the bpp option"
        else:
            raise ValueError(f"{self.name}: no target bits per pixel; build it with bpp=<number> or "
                             "bpp=match:<tokenizer>, or pass encode(video, bpp=...)")
        h, w, met = bicubic_grid(H, W, target)
        frames = video.float().clamp(-1, 1).permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)
        small = quantize8(F.interpolate(frames, size=(h, w), mode="bicubic", align_corners=False, antialias=True))
        up = F.interpolate(small, size=(H, W), mode="bicubic", align_corners=False).clamp(-1, 1)
        recon = up.reshape(B, T, C, H, W).permute(0, 2, 1, 3, 4).contiguous()
        bits = float(C * BITS_PER_VALUE * T * h * w)
        actual = bits / (T * H * W)
        return Encoding(payload=recon, input_shape=tuple(video.shape),
                        bits=torch.full((B,), bits, dtype=torch.float64),
                        extras={"grid": [h, w], "target_bpp": target, "target_rule": rule, "bpp": [actual] * B,
                                "target_met": [met] * B, "within_tolerance": [met] * B, "quality": [float(h)] * B,
                                "quality_option": "grid height",
                                "rate": "3 x T x h x w RGB samples x 8 bits (no header, no entropy coding)"})


class RandomFeatureReference(ReferenceTokenizer):
    """Seeded Gaussian features ``(B, dim, 1 + (T - 1) // t_stride, H // hw_stride, W // hw_stride)`` per level and
    Gaussian text embeddings ``(N, dim)``; text aligned (so zero-shot tasks score them natively: cosine similarity
    of two independent random vectors). Defaults mirror tiny PyraTok: 16-bit codes, 4 levels, 4 x 16 x 16 stride."""

    capabilities = frozenset({"features", "text"})
    text_aligned = True
    native_resolution = (9, 64, 64)     # tiny PyraTok's, so "native"-size protocols feed the same geometry
    description = "features and text embeddings drawn from a seeded standard Gaussian (random-feature null)"

    def __init__(self, name: str, seed: int = 0, dim: int = 16, num_levels: int = 4, t_stride: int = 4,
                 hw_stride: int = 16):
        super().__init__(name)
        for key, v in (("dim", dim), ("num_levels", num_levels), ("t_stride", t_stride), ("hw_stride", hw_stride)):
            if int(v) != v or int(v) < 1:
                raise ValueError(f"{name}: {key} must be a positive integer, got {v!r}")
        if int(seed) != seed:
            raise ValueError(f"{name}: seed must be an integer, got {seed!r}")
        self.seed, self.dim, self.num_levels = int(seed), int(dim), int(num_levels)
        self.t_stride, self.hw_stride = int(t_stride), int(hw_stride)
        self.input_constraints = InputConstraints(t_multiple=self.t_stride, t_offset=1, hw_multiple=self.hw_stride,
                                                  min_frames=1)

    def config(self) -> dict:
        return {"seed": self.seed, "dim": self.dim, "num_levels": self.num_levels, "t_stride": self.t_stride,
                "hw_stride": self.hw_stride, "distribution": "standard normal"}

    def _generator(self, *parts: bytes | str | int) -> torch.Generator:
        h = hashlib.sha256()
        for p in (self.seed, *parts):   # not the name: a draw depends on the seed only
            b = p if isinstance(p, bytes) else str(p).encode()
            h.update(len(b).to_bytes(8, "little") + b)   # length-prefixed: no two part lists collide
        return torch.Generator().manual_seed(int.from_bytes(h.digest()[:8], "little") & ((1 << 63) - 1))

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` -> an :class:`Encoding` whose payload is one content digest per clip (the features
        are drawn on demand); ``texts`` are ignored."""
        self._check(video)
        B, _, T, H, W = video.shape
        v = video.detach().float().cpu().contiguous()
        digests = [hashlib.sha256(v[i].numpy().tobytes() + repr(tuple(v[i].shape)).encode()).digest()
                   for i in range(B)]
        grid = (1 + (T - 1) // self.t_stride, H // self.hw_stride, W // self.hw_stride)
        return Encoding(payload={"digests": digests, "grid": grid}, input_shape=tuple(video.shape),
                        extras={"features": "seeded standard normal, a function of (seed, level, clip content)"})

    def decode(self, encoding: Encoding) -> Tensor:
        raise NotSupported(f"{self.name}: random features do not decode (a reference for zero-shot tasks only)")

    def features(self, encoding: Encoding, level: int = -1) -> Tensor:
        """``(B, dim, T', H', W')`` float32 standard-normal features of 1-based ``level`` (-1 = the last)."""
        if not -self.num_levels <= level <= self.num_levels or level == 0:
            raise ValueError(f"{self.name}: level {level} out of range (1..{self.num_levels} or negative)")
        lvl = level if level > 0 else self.num_levels + 1 + level
        shape = (self.dim, *encoding.payload["grid"])
        return torch.stack([torch.randn(shape, generator=self._generator("features", lvl, d))
                            for d in encoding.payload["digests"]])

    def embed_text(self, texts: list[str]) -> Tensor:
        """``(N, dim)`` float32 standard-normal embeddings, one fixed vector per distinct text (and seed)."""
        if isinstance(texts, str):
            raise TypeError(f"{self.name}: embed_text takes a list of strings, got one string")
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.stack([torch.randn(self.dim, generator=self._generator("text", t)) for t in texts])


REFERENCES = {"grey": GreyReference, "mean-colour": MeanColourReference, "bicubic": BicubicReference,
              "random-features": RandomFeatureReference}


def build(name: str, reference: str, **options) -> ReferenceTokenizer:
    """Registry factory. ``reference``: ``grey`` | ``mean-colour`` | ``bicubic`` (option ``bpp``: a number or
    ``match:<tokenizer>``) | ``random-features`` (options ``seed``, ``dim``, ``num_levels``, ``t_stride``,
    ``hw_stride``)."""
    if reference not in REFERENCES:
        raise ValueError(f"{name}: unknown reference {reference!r}; valid: {sorted(REFERENCES)}")
    cls = REFERENCES[reference]
    valid = {"grey": (), "mean-colour": (), "bicubic": ("bpp",),
             "random-features": ("seed", "dim", "num_levels", "t_stride", "hw_stride")}[reference]
    bad = sorted(set(options) - set(valid))
    if bad:
        raise TypeError(f"{name}: unknown option(s) {bad}; valid for {reference}: {list(valid) or 'none'}")
    return cls(name, **options)
