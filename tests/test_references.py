"""Reference "tokenizers" (adapters.references) against hand-worked values and scikit-image."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from adapters.base import NotSupported, bits_per_pixel
from adapters.references import bicubic_grid, build


def _clip(seed: int, shape=(1, 3, 5, 16, 16)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * 2 - 1


def test_identity_is_labelled_reference():
    for ref in ("grey", "mean-colour", "bicubic", "random-features"):
        ident = build(f"ref-{ref}", ref).identity()
        assert ident["family"] == "reference" and ident["kind"] == "reference" and ident["reference"] is True
        assert ident["checkpoint"]["origin"] == "none" and ident["params"] == 0


# ------------------------------------------------------------------------------------------------ grey
def test_grey_psnr_of_a_constant_clip_matches_scikit_image_and_hand_value():
    from benchmarks.tasks.reconstruction import reconstruction_scores

    c = 0.8                                                   # constant clip at 0.8 on [0, 1]
    target = torch.full((1, 3, 5, 16, 16), 2 * c - 1)
    tok = build("ref-grey", "grey")
    recon, enc = tok.reconstruct(target)
    ref01 = ((recon[0].numpy() + 1) / 2).astype(np.float64)
    tgt01 = ((target[0].numpy() + 1) / 2).astype(np.float64)
    sk = peak_signal_noise_ratio(tgt01, ref01, data_range=1.0)
    assert sk == pytest.approx(10 * math.log10(1 / (c - 0.5) ** 2), abs=1e-5)   # 10.4576 dB
    assert reconstruction_scores(recon, target)["psnr"] == pytest.approx(sk, abs=1e-4)
    assert float(tok.bits(enc)[0]) == 0.0 and float(bits_per_pixel(tok.bits(enc), enc.input_shape)[0]) == 0.0


# ------------------------------------------------------------------------------------------------ mean colour
def test_mean_colour_reconstruction_is_the_numpy_mean_on_the_8bit_grid():
    video = torch.cat([_clip(1), _clip(2) * 0.3 + 0.4])     # two clips with different means
    tok = build("ref-mean-colour", "mean-colour")
    recon, enc = tok.reconstruct(video)
    x = video.numpy().astype(np.float64)
    for b in range(2):
        mean = x[b].mean(axis=(1, 2, 3))                                  # (3,)
        expect = np.round((mean + 1) * 127.5) / 127.5 - 1                 # stored at 8 bits per channel
        assert np.abs(expect - mean).max() <= 0.5 / 127.5 + 1e-9
        np.testing.assert_allclose(recon[b].numpy(), np.broadcast_to(expect[:, None, None, None], x[b].shape),
                                   atol=1e-6)
    assert tok.bits(enc).tolist() == [24.0, 24.0]


# ------------------------------------------------------------------------------------------------ bicubic
def test_bicubic_grid_arithmetic_by_hand():
    # 64x64, one RGB sample per frame costs 24 / 4096 = 0.005859 bpp; h x w samples cost 24 h w / 4096
    assert bicubic_grid(64, 64, 0.0735) == (3, 3, True)     # 9 samples: 0.0527 <= 0.0735 < 16 samples: 0.09375
    assert bicubic_grid(64, 64, 0.034) == (2, 2, True)      # 4 samples: 0.0234 <= 0.034 < 9: 0.0527
    assert bicubic_grid(64, 64, 1.5) == (16, 16, True)      # exactly 24 * 256 / 4096
    assert bicubic_grid(64, 64, 0.005) == (1, 1, False)     # below one sample per frame: not reachable
    assert bicubic_grid(48, 64, 0.1) == (3, 4, True)        # aspect kept: 24 * 12 / 3072 = 0.09375
    assert bicubic_grid(64, 64, 24.0) == (64, 64, True)     # full rate: every pixel at 8 bits
    with pytest.raises(ValueError, match="bpp"):
        bicubic_grid(64, 64, 0)


def test_bicubic_bits_and_extras_follow_the_grid():
    tok = build("ref-bicubic", "bicubic", bpp=0.0735)
    video = _clip(3, (2, 3, 17, 64, 64))
    recon, enc = tok.reconstruct(video)
    assert recon.shape == video.shape and float(recon.abs().max()) <= 1.0
    assert tok.bits(enc).tolist() == [24.0 * 17 * 9] * 2     # 3 channels x 17 frames x 3 x 3 x 8 bits = 3672
    assert float(bits_per_pixel(tok.bits(enc), enc.input_shape)[0]) == pytest.approx(3672 / (17 * 64 * 64))
    assert enc.extras["grid"] == [3, 3] and enc.extras["target_met"] == [True, True]
    enc2 = tok.encode(video, bpp=0.034)                        # per-call target, as codecs take it
    assert enc2.extras["grid"] == [2, 2] and float(tok.bits(enc2)[0]) == 24.0 * 17 * 4
    assert build("ref-bicubic", "bicubic").encode(video, bpp=0.001).extras["target_met"] == [False, False]
    assert enc.extras["target_rule"] == "the bpp option"
    with pytest.raises(ValueError, match="no target bits per pixel"):
        build("ref-bicubic", "bicubic").encode(video)


def test_bicubic_matched_to_tiny_pyratok_rate_by_hand():
    # tiny PyraTok pyramid, token strides (t, s) = (2,16), (4,16), (4,32), (8,32), 16 bits per token:
    # 17x64x64: 9*4*4 + 5*4*4 + 5*2*2 + 3*2*2 = 256 tokens; 1x64x64: 16 + 16 + 4 + 4 = 40 tokens
    tok = build("ref-bicubic", "bicubic", bpp="match:pyratok-tiny")
    assert tok.matched_bpp(17, 64, 64) == pytest.approx(256 * 16 / (17 * 64 * 64))   # 0.0588
    assert tok.matched_bpp(1, 64, 64) == pytest.approx(40 * 16 / (64 * 64))          # 0.15625
    enc = tok.encode(_clip(8, (1, 3, 1, 64, 64)))
    # 24 * h * w / 4096 <= 0.15625  ->  h * w <= 26.7: the largest square grid is 5 x 5
    assert enc.extras["grid"] == [5, 5] and enc.extras["target_rule"] == "match:pyratok-tiny at 1x64x64"
    assert tok.config()["bpp"] == "match:pyratok-tiny"
    with pytest.raises(ValueError, match="match:<tokenizer>"):
        build("ref-bicubic", "bicubic", bpp="pyratok-tiny")


def test_bicubic_at_full_rate_is_the_8bit_input_and_error_falls_with_rate():
    video = _clip(4, (1, 3, 3, 32, 32))
    tok = build("ref-bicubic", "bicubic")
    full = tok.decode(tok.encode(video, bpp=24.0))
    q = torch.round((video + 1) * 127.5) / 127.5 - 1
    torch.testing.assert_close(full, q, atol=1e-5, rtol=0)
    # a smooth clip: more rate, smaller error (a sanity check of the resampling, not of a formula)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    smooth = (0.8 * torch.sin(2.0 * xx) * torch.cos(1.5 * yy)).expand(1, 3, 3, 32, 32).contiguous()
    errs = [float((tok.decode(tok.encode(smooth, bpp=b)) - smooth).pow(2).mean()) for b in (0.03, 0.2, 1.5)]
    assert errs[0] > errs[1] > errs[2]


# ------------------------------------------------------------------------------------------------ random features
def test_random_features_reproduce_with_the_seed_and_differ_across_seeds():
    video = _clip(5, (2, 3, 17, 64, 64))
    a, b, other = (build("ref-random-features", "random-features", seed=s) for s in (7, 7, 8))
    fa, fb, fo = (t.features(t.encode(video), -1) for t in (a, b, other))
    assert fa.shape == (2, 16, 5, 4, 4)                          # 1 + 16 // 4 frames, 64 // 16 = 4
    assert torch.equal(fa, fb) and not torch.allclose(fa, fo)
    texts = ["a person juggling", "a dog"]
    assert torch.equal(a.embed_text(texts), b.embed_text(texts))
    assert not torch.allclose(a.embed_text(texts), other.embed_text(texts))
    assert a.embed_text(texts).shape == (2, 16)
    # independent of batch composition (shards and batch sizes must not change a draw) and of the text
    alone = a.features(a.encode(video[1:], ["whatever"]), -1)
    assert torch.equal(alone[0], fa[1])
    assert torch.equal(a.embed_text(["a dog"])[0], a.embed_text(texts)[1])
    # levels are distinct draws; -1 is the last level
    enc = a.encode(video)
    assert torch.equal(a.features(enc, 4), fa) and not torch.allclose(a.features(enc, 1), fa)
    with pytest.raises(ValueError, match="level"):
        a.features(enc, 5)


def test_random_features_are_standard_normal_and_cannot_decode():
    tok = build("ref-random-features", "random-features", seed=0, dim=32)
    enc = tok.encode(_clip(6, (4, 3, 17, 64, 64)))
    f = tok.features(enc, 1).double()
    n = f.numel()                                              # 4 x 32 x 5 x 4 x 4 = 10,240 values
    assert abs(float(f.mean())) < 5 / math.sqrt(n) and abs(float(f.std()) - 1) < 0.05
    with pytest.raises(NotSupported):
        tok.decode(enc)
    with pytest.raises(NotSupported):
        tok.bits(enc)


def test_build_rejects_unknown_reference_and_options():
    with pytest.raises(ValueError, match="unknown reference"):
        build("ref-x", "noise")
    with pytest.raises(TypeError, match="unknown option"):
        build("ref-grey", "grey", bpp=0.1)
    with pytest.raises(ValueError, match="bpp must be positive"):
        build("ref-bicubic", "bicubic", bpp=-1)
