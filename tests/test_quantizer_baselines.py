"""Table 9 quantizer baselines (adapters/quantizer_baselines.py), random init only (never trains).

References are independent of the adapter: vocabulary sizes and bit rates worked out by hand from the paper's
sizes, nearest-neighbour token ids by brute force over the codebook (VQ, RVQ), LFQ ids from the signs of the
features with the documented bit order, and the tiny geometry (a 9x64x64 clip -> a 3x4x4 latent grid).
"""
from __future__ import annotations

import math

import pytest
import torch

from adapters import build_tokenizer
from adapters.base import NotSupported, bits_per_pixel
from adapters.pyratok_tokenizer import ABLATIONS
from adapters.quantizer_baselines import QUANTIZERS, artifact_kind, build, model_overrides
from tokenizer_contract import TokenizerContract

torch.set_num_threads(1)

B = 2
POSITIONS = 3 * 4 * 4  # 9 frames -> 1 + 8/4 = 3 latent frames; 64 px / 16 = 4
# name: (vocab per code, codes per position, code dim), from Table 9 / the registry description
EXPECTED = {"vq": (4096, 1, 256), "gvq": (4096, 4, 256), "lfq": (65536, 1, 16), "rvq": (8000, 2, 512),
            "fsq": (8 * 8 * 8 * 6 * 5, 1, 5)}
BITS_PER_CLIP = {"vq": POSITIONS * 12, "gvq": POSITIONS * 4 * 12, "lfq": POSITIONS * 16,
                 "rvq": POSITIONS * 2 * math.log2(8000), "fsq": POSITIONS * math.log2(15360)}


@pytest.fixture(scope="module")
def video():
    g = torch.Generator().manual_seed(0)
    return torch.rand(B, 3, 9, 64, 64, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def coded(video):
    """quantizer -> (tokenizer, encoding, reconstruction)."""
    out = {}
    for q in EXPECTED:
        tok = build_tokenizer(f"quant-{q}", init="random")
        rec, enc = tok.reconstruct(video, ["a red ball", "waves on a beach"])
        out[q] = (tok, enc, rec)
    return out


@pytest.mark.parametrize("q", list(EXPECTED))
def test_identity_vocab_and_bits_by_hand(coded, q):
    tok, enc, _ = coded[q]
    vocab, streams, dim = EXPECTED[q]
    assert tok.name == f"quant-{q}" and tok.family == "quantizer-baseline" and tok.kind == "discrete"
    assert tok.vocab_size == vocab and tok.codes_per_position == streams and tok.code_dim == dim
    assert tok.text_aligned is False and tok.num_levels == 1
    assert tok.checkpoint.origin == "random-init"
    ident = tok.identity()
    assert ident["vocab_size"] == vocab and ident["code_dim"] == dim and ident["family"] == "quantizer-baseline"
    assert torch.allclose(tok.bits(enc), torch.full((B,), BITS_PER_CLIP[q], dtype=torch.float64))
    assert torch.allclose(bits_per_pixel(tok.bits(enc), enc.input_shape),
                          torch.full((B,), BITS_PER_CLIP[q] / (9 * 64 * 64), dtype=torch.float64))


@pytest.mark.parametrize("q", list(EXPECTED))
def test_tokens_shape_dtype_range(coded, q):
    tok, enc, _ = coded[q]
    vocab, streams, _ = EXPECTED[q]
    assert len(enc.tokens) == streams == len(enc.extras["streams"])
    for t in enc.tokens:
        assert t.shape == (B, 3, 4, 4) and t.dtype == torch.int64
        assert int(t.min()) >= 0 and int(t.max()) < vocab


@pytest.mark.parametrize("q", list(EXPECTED))
def test_decode_shape_and_range(coded, video, q):
    _, _, rec = coded[q]
    assert rec.shape == video.shape and rec.dtype == torch.float32
    assert float(rec.min()) >= -1 and float(rec.max()) <= 1 and torch.isfinite(rec).all()


def _features(enc):
    """(B, N, D) pre-quantization features of the single level."""
    z = enc.payload.features[0]
    return z.flatten(2).transpose(1, 2)


def test_vq_tokens_are_brute_force_nearest_codes(coded):
    tok, enc, _ = coded["vq"]
    z = _features(enc)
    book = tok.module.lapq.quantizer.impl._codebook.embed[0]  # (4096, 256)
    ref = torch.cdist(z.double(), book.double()[None].expand(z.shape[0], -1, -1)).argmin(-1)
    assert torch.equal(enc.tokens[0].flatten(1), ref)


def test_rvq_depth_tokens_are_brute_force_nearest_residual_codes(coded):
    tok, enc, _ = coded["rvq"]
    residual = _features(enc).double()
    for depth, layer in enumerate(tok.module.lapq.quantizer.impl.layers):
        book = layer._codebook.embed[0].double()  # (8000, 512)
        ids = torch.cdist(residual, book[None].expand(residual.shape[0], -1, -1)).argmin(-1)
        assert torch.equal(enc.tokens[depth].flatten(1), ids), f"depth {depth + 1}"
        residual = residual - book[ids]


def test_lfq_tokens_are_sign_bits_msb_first(coded):
    _, enc, _ = coded["lfq"]
    z = _features(enc)  # (B, N, 16)
    weights = torch.tensor([2 ** (15 - k) for k in range(16)])
    assert torch.equal(enc.tokens[0].flatten(1), ((z > 0).long() * weights).sum(-1))


def test_fsq_ids_from_the_fsq_formula(coded):
    """FSQ (Mentzer et al. 2023): each of the 5 channels is bounded to L_i levels, f(z) = tanh(z + s) * h - o with
    h = (L - 1)(1 + 1e-3) / 2, o = 0.5 for even L (s = atanh(o / h)), rounded; the id is the mixed-radix number of
    the digits round(f(z)) + L // 2, channel 0 least significant (basis 1, 8, 64, 512, 3072)."""
    _, enc, _ = coded["fsq"]
    z = _features(enc).double()  # (B, N, 5): dim = len(levels), no projection
    levels = torch.tensor([8, 8, 8, 6, 5], dtype=torch.float64)
    h = (levels - 1) * (1 + 1e-3) / 2
    o = torch.where(levels % 2 == 0, 0.5, 0.0).double()
    digits = torch.round(torch.tanh(z + torch.atanh(o / h)) * h - o) + torch.div(levels, 2, rounding_mode="floor")
    assert ((digits >= 0) & (digits < levels)).all()
    basis = torch.tensor([1, 8, 64, 512, 3072], dtype=torch.float64)
    assert torch.equal((digits * basis).sum(-1).long(), enc.tokens[0].flatten(1))


def test_gvq_groups_use_separate_codebooks(coded):
    tok, enc, _ = coded["gvq"]
    assert tok.module.lapq.quantizer.impl._codebook.embed.shape == (4, 4096, 256)
    assert enc.extras["streams"] == ["group1", "group2", "group3", "group4"]


def test_params_count_learned_codebooks(coded):
    tok, _, _ = coded["vq"]
    m = tok.module
    base = sum(p.numel() for part in (m.backbone, m.lapq) for p in part.parameters())
    assert tok.params() == base + 4096 * 256
    tok, _, _ = coded["fsq"]  # the FSQ grid is not learned
    m = tok.module
    assert tok.params() == sum(p.numel() for part in (m.backbone, m.lapq) for p in part.parameters())


def test_not_text_aligned(coded):
    tok, enc, _ = coded["vq"]
    with pytest.raises(NotSupported):
        tok.embed_text(["a dog"])
    assert tok.features(enc).shape == (B, 256, 3, 4, 4)


def test_overrides_single_scale_and_ar(coded):
    for q in ("vq", "gvq", "rvq", "fsq"):
        cfg = coded[q][0].module.config
        assert cfg.lapq.mode == "single" and cfg.lapq.quantizer.type == q
        assert not cfg.losses.on("ar")  # L_AR predicts LFQ bits: off for learned codebooks
    cfg = coded["lfq"][0].module.config
    assert cfg.lapq.mode == "single" and cfg.lapq.quantizer.type == "lfq" and cfg.losses.on("ar")
    # single-scale LFQ is Table 6's w/o LaPQ: same overrides, same cached artifact
    assert model_overrides("lfq") == ABLATIONS["wo-lapq"] and artifact_kind("lfq") == "pyratok-tiny-wo-lapq"
    assert set(QUANTIZERS) == set(EXPECTED)


def test_random_init_is_seeded(video):
    a = build("quant-fsq", "fsq", init="random", seed=3)
    b = build("quant-fsq", "fsq", init="random", seed=3)
    assert a.checkpoint.sha256 == b.checkpoint.sha256
    assert torch.equal(a.encode(video[:1]).tokens[0], b.encode(video[:1]).tokens[0])


def test_bad_options():
    with pytest.raises(ValueError, match="unknown quantizer baseline"):
        build("quant-xx", "xx", init="random")
    with pytest.raises(TypeError, match="unknown option"):
        build("quant-vq", "vq", init="random", codebook=12)
    with pytest.raises(ValueError, match="init must be"):
        build("quant-vq", "vq", init="pretrained")
    with pytest.raises(ValueError, match="seed"):
        build("quant-vq", "vq", init="trained", seed=1)


def test_wrong_geometry_is_a_clear_error(coded):
    tok = coded["vq"][0]
    with pytest.raises(ValueError, match="does not fit"):
        tok.encode(torch.zeros(1, 3, 8, 64, 64))


# ------------------------------------------------------------------------------------------------ contract
# The tokenizer contract on every Table 9 baseline (untrained, seeded; 5 x 32 x 32 clips).
for _q in sorted(QUANTIZERS):
    _cls = f"Test{_q.upper()}Contract"
    globals()[_cls] = type(_cls, (TokenizerContract,), {"tokenizer_name": f"quant-{_q}",
                                                         "tokenizer_options": {"init": "random"},
                                                         "frames": 5, "size": 32,
                                                         "__doc__": f"The tokenizer contract on quant-{_q}."})
