"""The contract every tokenizer adapter keeps, as a test mixin (in the style of diffusers' ``ModelTesterMixin``).

An adapter's test module declares one class per configuration it wants checked, cheap ones (random-init or tiny
weights, 32 x 32 clips)::

    class TestWan22Contract(TokenizerContract):
        tokenizer_name = "wan2.2-vae"
        tokenizer_options = {"init": "random"}
        frames, size = 9, 32

and inherits the checks below. What is checked (independently of any adapter's own code):

* identity: JSON-able (a round trip through ``json`` gives it back), names the registry name, a known kind and
  family, a checkpoint origin; the cache key is 16 hex digits, the same for a second build with the same options
  and unchanged by encoding;
* ``input_constraints``: a clip that fits passes, one frame more / one pixel more (where the constraint forbids
  it) and a non-RGB clip are rejected with an error naming the tokenizer;
* encode -> decode: ``(B, 3, T, H, W)`` float32 in [-1, 1] back, finite, deterministic;
* rate: ``bits > 0`` per clip for discrete tokenizers and codecs; continuous ones raise ``NotSupported``;
* tokens: discrete tokenizers give int64 ids in ``[0, vocab_size)`` with the batch first; others none;
* ``features`` / ``embed_text``: work (batch-first, finite, one shared width when text aligned) or raise
  ``NotSupported``; a tokenizer that is not text aligned must raise it for ``embed_text``;
* ``decode(encoding_from_tokens(tokens)) == decode(encoding)`` for tokenizers that rebuild encodings from ids.

Checks a tokenizer cannot take part in are skipped with the reason (e.g. a codec has no features).
"""
from __future__ import annotations

import json
import re

import pytest
import torch

from adapters.base import FAMILIES, KINDS, ORIGINS, Encoding, InputConstraints, NotSupported, Tokenizer

__all__ = ["TokenizerContract", "smooth_clip"]


def smooth_clip(frames: int, batch: int = 2, size: int = 32, seed: int = 0, amplitude: float = 1.0) -> torch.Tensor:
    """A smooth moving sinusoidal pattern ``(batch, 3, frames, size, size)`` in [-amplitude, amplitude], one random
    phase per clip and channel (seeded): cheap test input that every tokenizer can code."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames).view(1, 1, frames, 1, 1).float()
    y = torch.linspace(0, 1, size).view(1, 1, 1, size, 1)
    x = torch.linspace(0, 1, size).view(1, 1, 1, 1, size)
    phase = torch.rand(batch, 3, 1, 1, 1, generator=g) * 6.28
    return (amplitude * torch.sin(6 * x + 4 * y + 0.3 * t + phase)).clamp(-1, 1).float()


class TokenizerContract:
    """Mixin: set :attr:`tokenizer_name` (and options, clip geometry); override :meth:`build` if the tokenizer is
    not built from the registry."""

    tokenizer_name: str = ""
    tokenizer_options: dict = {}
    frames: int = 9            # clip length asked for; trimmed to the tokenizer's constraints
    size: int = 32             # H = W; must be a multiple of the tokenizer's hw_multiple
    batch: int = 2
    texts: list[str] | None = ["a red square moves right", "a blue ball bounces"]
    atol: float = 1e-5         # decode(tokens -> encoding) vs decode(encoding)

    # ------------------------------------------------------------------ fixtures (built once per class)
    def build(self) -> Tokenizer:
        from adapters import build_tokenizer

        return build_tokenizer(self.tokenizer_name, **self.tokenizer_options)

    @pytest.fixture(scope="class")
    @classmethod
    def tokenizer(cls) -> Tokenizer:
        torch.set_num_threads(1)
        return cls().build()

    @pytest.fixture(scope="class")
    @classmethod
    def video(cls, tokenizer) -> torch.Tensor:
        """A smooth moving pattern ``(B, 3, T, H, W)`` in [-1, 1] (deterministic), T fitted to the constraints."""
        return smooth_clip(tokenizer.input_constraints.valid_frames(cls.frames), cls.batch, cls.size, amplitude=0.9)

    @pytest.fixture(scope="class")
    @classmethod
    def encoding(cls, tokenizer, video) -> Encoding:
        return tokenizer.encode(video, cls.texts)

    @pytest.fixture(scope="class")
    @classmethod
    def decoded(cls, tokenizer, encoding) -> torch.Tensor:
        return tokenizer.decode(encoding)

    # ------------------------------------------------------------------ identity
    def test_identity_is_json_and_declares_the_contract(self, tokenizer):
        ident = tokenizer.identity()
        assert json.loads(json.dumps(ident)) == ident, "identity must survive a JSON round trip unchanged"
        assert ident["tokenizer"] == tokenizer.name == self.tokenizer_name
        assert ident["kind"] in KINDS and ident["family"] in FAMILIES
        assert ident["checkpoint"]["origin"] in ORIGINS
        t, h, w = ident["native_resolution"]
        assert min(t, h, w) >= 1
        assert isinstance(ident["text_aligned"], bool) and ident["num_levels"] >= 1
        if ident["kind"] == "discrete":
            assert isinstance(ident["vocab_size"], int) and ident["vocab_size"] >= 2
        if ident["kind"] == "continuous":
            assert ident["vocab_size"] is None
        params = ident["params"]
        assert params is None or (isinstance(params, int) and params > 0)

    def test_cache_key_is_stable(self, tokenizer, encoding):
        key = tokenizer.cache_key()
        assert re.fullmatch(r"[0-9a-f]{16}", key)
        assert tokenizer.cache_key() == key            # encoding (fixture above) changed nothing
        assert self.build().cache_key() == key, "a second build with the same options must give the same key"

    # ------------------------------------------------------------------ geometry
    def test_input_constraints(self, tokenizer, video):
        c = tokenizer.input_constraints
        assert isinstance(c, InputConstraints) and c.t_multiple >= 1 and c.hw_multiple >= 1
        c.check(video, tokenizer.name)                  # the fixture's clip fits
        assert c.valid_frames(video.shape[2]) == video.shape[2]
        name = re.escape(tokenizer.name)
        with pytest.raises(ValueError, match=name):
            tokenizer.encode(video[:, :2])              # not RGB
        if c.t_multiple > 1:
            longer = torch.cat([video, video[:, :, -1:]], dim=2)
            with pytest.raises(ValueError, match=name):
                tokenizer.encode(longer)
        if c.hw_multiple > 1:
            with pytest.raises(ValueError, match=name):
                tokenizer.encode(video[..., :-1])

    # ------------------------------------------------------------------ coding
    def test_decode_shape_and_range(self, video, encoding, decoded):
        assert tuple(encoding.input_shape) == tuple(video.shape)
        assert decoded.shape == video.shape and decoded.dtype == torch.float32
        assert torch.isfinite(decoded).all()
        assert decoded.min() >= -1.0 and decoded.max() <= 1.0

    def test_reconstruction_is_deterministic(self, tokenizer, video, decoded):
        again = tokenizer.decode(tokenizer.encode(video, self.texts))
        torch.testing.assert_close(again, decoded, atol=self.atol, rtol=0)

    def test_bits(self, tokenizer, video, encoding):
        if tokenizer.kind == "continuous":
            with pytest.raises(NotSupported):
                tokenizer.bits(encoding)
            return
        bits = tokenizer.bits(encoding)
        assert bits.shape == (video.shape[0],) and bits.dtype == torch.float64
        assert torch.isfinite(bits).all() and (bits > 0).all()

    def test_tokens(self, tokenizer, video, encoding):
        if tokenizer.kind != "discrete":
            assert encoding.tokens is None
            return
        assert encoding.tokens, "a discrete tokenizer must hand out token ids"
        for ids in encoding.tokens:
            assert ids.dtype == torch.int64 and ids.shape[0] == video.shape[0]
            assert int(ids.min()) >= 0 and int(ids.max()) < tokenizer.vocab_size

    # ------------------------------------------------------------------ understanding
    def _features(self, tokenizer, encoding):
        try:
            return tokenizer.features(encoding)
        except NotSupported as err:
            pytest.skip(f"{tokenizer.name}: features not supported ({err})")

    def test_features(self, tokenizer, video, encoding):
        f = self._features(tokenizer, encoding)
        assert f.shape[0] == video.shape[0] and f.dim() >= 2 and torch.isfinite(f).all()

    def test_embed_text(self, tokenizer, encoding):
        if not tokenizer.text_aligned:
            with pytest.raises(NotSupported):
                tokenizer.embed_text(["a clip"])
            return
        e = tokenizer.embed_text(["a clip", "another clip", "a third"])
        f = self._features(tokenizer, encoding)
        assert e.shape == (3, f.shape[1]), "text embeddings must share the features' width"
        assert torch.isfinite(e).all()

    # ------------------------------------------------------------------ generation
    def test_decode_from_tokens_matches_decode(self, tokenizer, encoding, decoded):
        if encoding.tokens is None:
            pytest.skip(f"{tokenizer.name}: a {tokenizer.kind} tokenizer has no token ids")
        try:
            rebuilt = tokenizer.encoding_from_tokens([t.clone() for t in encoding.tokens],
                                                     tuple(encoding.input_shape))
        except NotSupported as err:
            pytest.skip(f"{tokenizer.name}: cannot rebuild an encoding from ids ({err})")
        torch.testing.assert_close(tokenizer.decode(rebuilt), decoded, atol=self.atol, rtol=0)
        if encoding.bits is not None and rebuilt.bits is not None:
            torch.testing.assert_close(rebuilt.bits, encoding.bits)
