"""The token prior of benchmarks.generation: sequence layout by hand, KV-cache sampling against full recompute and
against the teacher-forced forward pass, classifier-free guidance by hand and at the model level, memorisation of
a repeated sequence, text packing, checkpoints, and tokens_to_encoding against the tokenizer's own encodings."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from adapters.base import Checkpoint, Encoding, NotSupported, Tokenizer
from benchmarks.generation import (PriorCondition, PriorConfig, PriorSpec, TokenDataset, TokenLayout, TokenPrior,
                                   bit_log_probs, code_log_probs, guide, load_prior, pack_text, resolve_head,
                                   save_prior, tokens_to_encoding, train_prior)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Token-by-token sampling is a long chain of tiny ops: intra-op threads only add synchronisation (on a busy
    2-core machine a 2-thread pool made these tests 40x slower), so this module runs single-threaded."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ------------------------------------------------------------------------------------------------ layout
def test_layout_sequence_by_hand():
    # level 1: a 1x1x2 grid, level 2: a 1x2x2 grid; vocabulary of 10 -> <BOS> = 10, <SEP> = 11
    lay = TokenLayout(((1, 1, 2), (1, 2, 2)))
    a = torch.tensor([[[[3, 4]]]])                # (B=1, 1, 1, 2)
    b = torch.tensor([[[[5, 6], [7, 8]]]])        # (B=1, 1, 2, 2)
    ids = lay.flatten([a, b])
    assert ids.tolist() == [[3, 4, 5, 6, 7, 8]]
    assert lay.sequence(ids, 10).tolist() == [[10, 3, 4, 11, 5, 6, 7, 8]]
    assert lay.num_visual == 6 and lay.length == 8
    assert lay.visual_positions().tolist() == [1, 2, 4, 5, 6, 7]
    assert lay.separator_positions() == [3]
    # <BOS> segment 1; level 1 -> 2; the <SEP> opening level 2 and level 2 -> 3
    assert lay.segments().tolist() == [1, 2, 2, 3, 3, 3, 3, 3]
    back = lay.unflatten(ids)
    assert torch.equal(back[0], a) and torch.equal(back[1], b)


def test_layout_three_levels_and_group_axis_by_hand():
    lay = TokenLayout(((1, 1, 1), (1, 1, 1, 2), (2, 1, 1)))
    t = [torch.tensor([[[[0]]]]), torch.tensor([[[[[1, 2]]]]]), torch.tensor([[[[3]], [[4]]]])]
    ids = lay.flatten(t)
    assert ids.tolist() == [[0, 1, 2, 3, 4]]
    assert lay.sequence(ids, 5).tolist() == [[5, 0, 6, 1, 2, 6, 3, 4]]
    assert lay.separator_positions() == [2, 5]
    assert lay.segments().tolist() == [1, 2, 3, 3, 3, 4, 4, 4]
    # a single level has no separator
    one = TokenLayout(((1, 2, 2),))
    assert one.sequence(torch.tensor([[1, 2, 3, 4]]), 9).tolist() == [[9, 1, 2, 3, 4]]
    with pytest.raises(ValueError, match="level 1"):
        lay.flatten([torch.zeros(1, 1, 1, 2, dtype=torch.long), t[1], t[2]])


def test_pack_text_right_aligns_real_tokens():
    tokens = torch.arange(1, 13, dtype=torch.float32).view(2, 3, 2)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    out, m = pack_text(tokens, mask, 4)
    assert m.tolist() == [[False, False, True, True], [False, True, True, True]]
    assert out[0].tolist() == [[0, 0], [0, 0], [1, 2], [3, 4]]
    assert out[1].tolist() == [[0, 0], [7, 8], [9, 10], [11, 12]]
    short, m2 = pack_text(tokens, mask, 2)   # truncation keeps the first real tokens
    assert short[1].tolist() == [[7, 8], [9, 10]] and m2.all()


# ------------------------------------------------------------------------------------------------ model fixtures
LAYOUT = TokenLayout(((2, 2, 2), (1, 2, 2)))


def _prior(head: str, condition: str, vocab: int, seed: int = 0) -> TokenPrior:
    torch.manual_seed(seed)
    spec = PriorSpec(LAYOUT, vocab, head, condition, num_classes=3, text_dim=8)
    return TokenPrior(PriorConfig.tiny(d_model=32, n_layers=2, n_heads=4, text_len=6), spec).eval()


def _cond(condition: str) -> PriorCondition:
    if condition == "class":
        return PriorCondition(labels=torch.tensor([0, 2]))
    g = torch.Generator().manual_seed(3)
    tokens = torch.randn(2, 4, 8, generator=g)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])  # padding exercises the key mask
    t, m = pack_text(tokens, mask, 6)
    return PriorCondition(text_tokens=t, text_mask=m)


CASES = [("bits", "class", 2 ** 16), ("bits", "text", 2 ** 16), ("index", "class", 50), ("index", "text", 50)]


@pytest.mark.parametrize("head,condition,vocab", CASES)
@pytest.mark.parametrize("guidance", [1.0, 2.5])
def test_kv_cache_sampling_equals_full_recompute(head, condition, vocab, guidance):
    prior = _prior(head, condition, vocab)
    cond = _cond(condition)
    greedy = [prior.sample(cond, temperature=0, guidance=guidance, use_cache=c) for c in (True, False)]
    assert torch.equal(greedy[0], greedy[1])
    drawn = []
    for use_cache in (True, False):
        gen = torch.Generator().manual_seed(7)
        drawn.append(prior.sample(cond, temperature=1.0, guidance=guidance, use_cache=use_cache, generator=gen))
    assert torch.equal(drawn[0], drawn[1])
    assert drawn[0].shape == (2, LAYOUT.num_visual) and len(drawn[0].unique()) > 1  # not a degenerate sequence
    assert int(drawn[0].min()) >= 0 and int(drawn[0].max()) < vocab


def _teacher_forced_argmax(prior: TokenPrior, ids: torch.Tensor, cond: PriorCondition, drop: torch.Tensor):
    out = prior.logits(ids, cond, drop)
    if prior.spec.head == "index":
        return out.argmax(-1)
    weights = 2 ** torch.arange(prior.spec.num_bits - 1, -1, -1)
    return ((out > 0).long() * weights).sum(-1)   # per-bit argmax: P(bit=1) > 1/2


@pytest.mark.parametrize("head,condition,vocab", CASES)
def test_greedy_sample_is_argmax_of_teacher_forced_pass(head, condition, vocab):
    """The incremental sampler and the training forward pass are separate code paths: every greedy token must be
    the argmax of the teacher-forced prediction at its position."""
    prior = _prior(head, condition, vocab, seed=1)
    cond = _cond(condition)
    ids = prior.sample(cond, temperature=0)
    with torch.no_grad():
        assert torch.equal(_teacher_forced_argmax(prior, ids, cond, torch.zeros(2, dtype=torch.bool)), ids)


# ------------------------------------------------------------------------------------------------ guidance
def test_guide_by_hand():
    c = torch.tensor([-0.5, -1.0, -3.0])
    u = torch.tensor([-1.5, -0.5, -2.0])
    assert torch.equal(guide(c, u, 0.0), u)
    assert torch.equal(guide(c, u, 1.0), c)
    # w = 2: u + 2 (c - u) = 2c - u = [0.5, -1.5, -4.0]
    assert torch.allclose(guide(c, u, 2.0), torch.tensor([0.5, -1.5, -4.0]))


def test_code_log_probs_by_hand():
    l0, l1 = 0.7, -1.3            # logits of P(bit = 1) of the most and least significant bit (K = 2)
    lp = code_log_probs(bit_log_probs(torch.tensor([[l0, l1]])))
    s = F.logsigmoid
    t = torch.tensor
    # index = 2 * b0 + b1 (most significant bit first)
    expect = [s(t(-l0)) + s(t(-l1)), s(t(-l0)) + s(t(l1)), s(t(l0)) + s(t(-l1)), s(t(l0)) + s(t(l1))]
    assert torch.allclose(lp[0], torch.stack(expect), atol=1e-6)
    assert math.isclose(float(lp.exp().sum()), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize("head,condition,vocab", CASES)
def test_guidance_zero_and_one_reduce_to_unconditional_and_conditional(head, condition, vocab):
    prior = _prior(head, condition, vocab, seed=2)
    cond = _cond(condition)
    with torch.no_grad():
        for scale, drop_all in ((0.0, True), (1.0, False)):
            ids = prior.sample(cond, temperature=0, guidance=scale)
            drop = torch.full((2,), drop_all)
            assert torch.equal(_teacher_forced_argmax(prior, ids, cond, drop), ids), scale
        # and guidance really changes the distribution otherwise
        a = prior.sample(cond, temperature=0, guidance=0.0)
        b = prior.sample(cond, temperature=0, guidance=1.0)
        assert not torch.equal(a, b)


def test_top_k_one_is_greedy_and_top_k_restricts_bits_head():
    prior = _prior("bits", "class", 2 ** 16, seed=4)
    cond = _cond("class")
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(prior.sample(cond, temperature=1.0, top_k=1, generator=gen), prior.sample(cond, temperature=0))


# ------------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("head,vocab", [("bits", 2 ** 16), ("index", 256)])
def test_prior_memorises_a_repeated_sequence(head, vocab):
    torch.manual_seed(0)
    lay = TokenLayout(((1, 2, 2), (1, 2, 3)))
    spec = PriorSpec(lay, vocab, head, "class", num_classes=2)
    cfg = PriorConfig.tiny(steps=40, batch_size=8, lr=3e-3, warmup_steps=5, cond_dropout=0.0)
    prior = TokenPrior(cfg, spec)
    targets = torch.randint(0, vocab, (2, lay.num_visual), generator=torch.Generator().manual_seed(5))
    data = TokenDataset(targets.repeat(4, 1), PriorCondition(labels=torch.tensor([0, 1]).repeat(4)))
    hist = train_prior(prior, data, cfg)
    assert len(hist["loss"]) == 40
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    out = prior.sample(PriorCondition(labels=torch.tensor([0, 1])), temperature=0)
    assert torch.equal(out, targets)


def test_save_load_roundtrip_and_errors(tmp_path):
    prior = _prior("bits", "text", 2 ** 16)
    save_prior(prior, tmp_path / "p", extra={"note": "x"})
    back = load_prior(tmp_path / "p")
    ids = torch.randint(0, 2 ** 16, (2, LAYOUT.num_visual))
    cond = _cond("text")
    with torch.no_grad():
        assert torch.equal(prior.logits(ids, cond), back.logits(ids, cond))
    (tmp_path / "p" / "prior.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="prior.safetensors"):
        load_prior(tmp_path / "p")


def test_config_and_spec_validation():
    with pytest.raises(ValueError, match="head"):
        PriorConfig(head="softmax")
    with pytest.raises(ValueError, match="divisible"):
        PriorConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="2\\^K"):
        PriorSpec(LAYOUT, 15360, "bits", "class", num_classes=2)
    assert resolve_head("auto", 2 ** 16, 16) == "bits"
    assert resolve_head("auto", 4096, None) == "index"
    with pytest.raises(ValueError, match="unknown PriorConfig key"):
        PriorConfig.from_dict({"width": 3})
    prior = _prior("bits", "class", 2 ** 16)
    with pytest.raises(ValueError, match="class labels"):
        prior.sample(PriorCondition(labels=torch.tensor([3])))


def test_paper_config_matches_table8_generator_size():
    with torch.device("meta"):
        prior = TokenPrior(PriorConfig.paper(), PriorSpec(TokenLayout(((4, 8, 8),) * 4), 2 ** 16, "bits", "class",
                                                          num_classes=101))
    # Table 8: PyraTok's generator has 2.3B parameters
    assert 2.25e9 < prior.num_params() < 2.4e9


# ------------------------------------------------------------------------------------------------ decoding
@pytest.fixture(scope="module")
def tiny_tokenizer():
    from adapters.registry import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


def _clip(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, 9, 64, 64, generator=g) * 2 - 1


def test_tokens_to_encoding_decodes_like_the_tokenizers_encoding(tiny_tokenizer):
    video = _clip()
    enc = tiny_tokenizer.encode(video)
    rebuilt = tokens_to_encoding(tiny_tokenizer, [t.clone() for t in enc.tokens], tuple(video.shape))
    assert rebuilt.payload.latent_grid == enc.payload.latent_grid
    assert torch.equal(rebuilt.bits, enc.bits)
    # LFQ codes stand in for the features: their signs are the signs of the tokenizer's features
    for f_gen, f_enc in zip(rebuilt.payload.features, enc.payload.features):
        assert torch.equal(f_gen > 0, f_enc > 0)
    assert torch.allclose(tiny_tokenizer.decode(rebuilt), tiny_tokenizer.decode(enc), atol=1e-6)


@pytest.mark.parametrize("quantizer", ["gvq", "fsq"])
def test_tokens_to_encoding_quantizer_baselines(tiny_tokenizer, quantizer):
    """Table 9 baselines hand out one token stream per code of a position (GVQ: 4 groups); generated streams must
    decode exactly as the tokenizer's own encoding does."""
    from adapters.quantizer_baselines import QuantizerBaselineTokenizer, model_overrides
    from pyratok.config_utils import from_dict
    from pyratok.model import PyraTok, PyraTokConfig
    from pyratok.train.config import _merge

    cfg = from_dict(PyraTokConfig, _merge(PyraTokConfig.tiny().to_dict(), model_overrides(quantizer), "test"))
    torch.manual_seed(0)
    model = PyraTok(cfg, text_encoder=tiny_tokenizer.module.text_encoder)  # share the loaded MiniLM
    tok = QuantizerBaselineTokenizer(model, Checkpoint("random-init", None, "x"), f"quant-{quantizer}", quantizer)
    video = _clip(1)
    enc = tok.encode(video)
    lay = TokenLayout.from_tokens(enc.tokens)
    assert lay.num_levels == tok.codes_per_position
    ids = lay.flatten(enc.tokens)
    rebuilt = tokens_to_encoding(tok, lay.unflatten(ids), tuple(video.shape))
    assert rebuilt.payload.features == [] and torch.equal(rebuilt.bits, enc.bits)
    assert torch.allclose(tok.decode(rebuilt), tok.decode(enc), atol=1e-6)


class _Codec(Tokenizer):
    name, family, kind = "dummy", "codec", "codec"

    @property
    def checkpoint(self):
        return Checkpoint("none")

    def encode(self, video, texts=None):
        return Encoding(None, tuple(video.shape))

    def decode(self, encoding):
        return torch.zeros(encoding.input_shape)


class _Hooked(_Codec):
    name = "hooked"

    def encoding_from_tokens(self, tokens, input_shape):
        return Encoding({"ids": tokens}, input_shape, tokens=tokens)


def test_tokens_to_encoding_asks_the_tokenizer_or_refuses():
    tokens = [torch.zeros(2, 1, 2, 2, dtype=torch.long)]
    with pytest.raises(NotSupported, match="encoding_from_tokens"):
        tokens_to_encoding(_Codec(), tokens, (2, 3, 1, 16, 16))
    enc = tokens_to_encoding(_Hooked(), tokens, (3, 1, 16, 16))
    assert enc.input_shape == (2, 3, 1, 16, 16) and enc.payload["ids"] is tokens
