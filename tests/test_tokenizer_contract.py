"""The contract mixin itself: a hand-written tokenizer that keeps the contract passes it, and each way of breaking
the contract is caught by the check meant for it (the mixin's tests are called directly on broken variants)."""
from __future__ import annotations

import pytest
import torch

from adapters.base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer
from tokenizer_contract import TokenizerContract, smooth_clip


class ToyTokenizer(Tokenizer):
    """Discrete toy: each 2x2 pixel block's mean grey level quantized to 16 levels; decode paints the blocks."""

    name = "toy"
    family = "pyratok"
    kind = "discrete"
    vocab_size = 16
    input_constraints = InputConstraints(t_multiple=1, t_offset=0, hw_multiple=2, min_frames=1)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint("none")

    def encode(self, video, texts=None):
        self.input_constraints.check(video, self.name)
        grey = video.mean(1)                                                   # (B, T, H, W)
        blocks = torch.nn.functional.avg_pool2d(grey.flatten(0, 1)[:, None], 2)[:, 0].view(
            grey.shape[0], grey.shape[1], grey.shape[2] // 2, grey.shape[3] // 2)
        ids = ((blocks + 1) / 2 * 15).round().clamp(0, 15).long()
        bits = torch.full((video.shape[0],), ids[0].numel() * 4.0, dtype=torch.float64)
        return Encoding(ids, tuple(video.shape), tokens=[ids], bits=bits)

    def decode(self, encoding):
        grey = encoding.payload.float() / 15 * 2 - 1
        up = grey.repeat_interleave(2, -1).repeat_interleave(2, -2)
        return up[:, None].expand(-1, 3, -1, -1, -1).contiguous()

    def encoding_from_tokens(self, tokens, input_shape):
        ids = tokens[0]
        return Encoding(ids, tuple(input_shape), tokens=[ids],
                        bits=torch.full((ids.shape[0],), ids[0].numel() * 4.0, dtype=torch.float64))


class TestToyContract(TokenizerContract):
    tokenizer_name = "toy"
    frames, size = 3, 8

    def build(self):
        return ToyTokenizer()


# ------------------------------------------------------------------------------------------------ broken variants
def _run(check: str, tok: Tokenizer):
    """Call the mixin's ``check`` on ``tok`` with the fixtures computed the way the mixin computes them."""
    contract = TestToyContract()
    contract.build = lambda: type(tok)()
    video = smooth_clip(3, 2, 8, amplitude=0.9)
    enc = tok.encode(video)
    args = {"tokenizer": tok, "video": video, "encoding": enc, "decoded": tok.decode(enc)}
    method = getattr(contract, check)
    names = method.__code__.co_varnames[1:method.__code__.co_argcount]
    return method(**{n: args[n] for n in names})


class ZeroBits(ToyTokenizer):
    def encode(self, video, texts=None):
        enc = super().encode(video, texts)
        enc.bits = torch.zeros_like(enc.bits)
        return enc


class OutOfRange(ToyTokenizer):
    def decode(self, encoding):
        return super().decode(encoding) + 1.5      # beyond [-1, 1]


class UnstableKey(ToyTokenizer):
    def config(self):
        return {"instance": id(self)}


class TupleConfig(ToyTokenizer):
    def config(self):
        return {"grid": (2, 2)}            # JSON turns it into a list: the record would not say what ran


class IdsOutOfVocab(ToyTokenizer):
    vocab_size = 8


class SilentGeometry(ToyTokenizer):
    input_constraints = InputConstraints(t_multiple=1, t_offset=0, hw_multiple=2)

    def encode(self, video, texts=None):   # ignores its own constraints: odd sizes are silently cropped
        return super().encode(video[..., : video.shape[-2] // 2 * 2, : video.shape[-1] // 2 * 2]
                              if video.shape[1] == 3 else video, texts)


class WrongRebuild(ToyTokenizer):
    def encoding_from_tokens(self, tokens, input_shape):
        return super().encoding_from_tokens([(tokens[0] + 1).clamp(max=15)], input_shape)


class BadTextEmbedding(ToyTokenizer):
    text_aligned = True

    def features(self, encoding, level=-1):
        return encoding.payload[:, None].float()       # width 1

    def embed_text(self, texts):
        return torch.zeros(len(texts), 4)              # width 4: not the features' space


@pytest.mark.parametrize("check, broken", [
    ("test_bits", ZeroBits),
    ("test_decode_shape_and_range", OutOfRange),
    ("test_cache_key_is_stable", UnstableKey),
    ("test_identity_is_json_and_declares_the_contract", TupleConfig),
    ("test_tokens", IdsOutOfVocab),
    ("test_input_constraints", SilentGeometry),
    ("test_decode_from_tokens_matches_decode", WrongRebuild),
    ("test_embed_text", BadTextEmbedding),
])
def test_each_broken_contract_is_caught(check, broken):
    _run(check, ToyTokenizer())                      # the check passes on the toy ...
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        _run(check, broken())                        # ... and fails on the broken variant


def test_unsupported_checks_skip_with_the_reason():
    with pytest.raises(pytest.skip.Exception, match="features not supported"):
        _run("test_features", ToyTokenizer())        # the base class raises NotSupported for features
    assert issubclass(NotSupported, NotImplementedError)
