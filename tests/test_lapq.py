"""LaPQ blocks: causal patchify, text attention with padding, recursion, ablation configs, token -> latent path."""
import pytest
import torch

from pyratok.lapq import CausalPatchify, LaPQ, LaPQConfig
from pyratok.lfq import LFQConfig
from pyratok.text.base import TextEmbedding

STAGE_CH = [8, 16, 32, 32]
STAGE_STRIDES = [(1, 4), (2, 8), (4, 16), (4, 16)]   # Wan-2.2-like: (temporal, spatial) per stage
T, H, W = 9, 32, 32


def features(b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for c, (t, s) in zip(STAGE_CH, STAGE_STRIDES):
        out.append(torch.randn(b, c, 1 + (T - 1) // t, H // s, W // s, generator=g))
    return out


def text(b=2, n=5, d=12, pad=0, seed=1):
    g = torch.Generator().manual_seed(seed)
    tok = torch.randn(b, n + pad, d, generator=g)
    mask = torch.ones(b, n + pad, dtype=torch.bool)
    if pad:
        mask[:, n:] = False
    return TextEmbedding(tokens=tok, mask=mask, pooled=tok[:, :n].mean(1))


def build(**kw):
    cfg = LaPQConfig(dim=16, num_heads=4, lfq=LFQConfig(num_bits=6), **kw)
    torch.manual_seed(0)
    return LaPQ(cfg, STAGE_CH, STAGE_STRIDES, latent_channels=6, latent_stride=(4, 16), text_dim=12).eval()


def posterior(b=2):
    return torch.zeros(b, 6, 1 + (T - 1) // 4, H // 16, W // 16)


def test_causal_patchify_is_causal():
    torch.manual_seed(0)
    p = CausalPatchify(3, 4, t=4, s=2)
    x = torch.randn(1, 3, 9, 4, 4)
    y = p(x)
    assert y.shape == (1, 4, 3, 2, 2)
    for frame, first_affected in [(0, 0), (1, 1), (4, 1), (5, 2), (8, 2)]:
        x2 = x.clone()
        x2[:, :, frame] += 1.0
        changed = (p(x2) - y).abs().flatten(3).sum((0, 1, 3)) > 0
        assert not changed[:first_affected].any(), f"frame {frame} leaked into earlier outputs"
        assert changed[first_affected]
        assert not changed[first_affected + 1:].any(), f"frame {frame} leaked into later outputs"


def test_pyramid_shapes_and_decode_path_parity():
    m = build()
    out = m(features(), posterior(), text(), (T, H, W))
    assert len(out.quant) == 4 and m.levels_used == [0, 1, 2, 3]
    assert all(g == (3, 2, 2) for g in out.grids)          # every level on the latent grid by default
    assert out.latent.shape == posterior().shape
    for q in out.quant:
        assert q.quantized.shape == (2, 12, 6) and set(q.quantized.unique().tolist()) <= {-1.0, 1.0}
    # decoding from integer tokens reproduces the latent of the forward pass (no lookup table)
    idx = [ix.view(2, *g) for ix, g in zip(out.indices, out.grids)]
    assert torch.allclose(m.indices_to_latent(idx, (3, 2, 2)), out.latent, atol=1e-6)


def test_text_padding_is_ignored_and_text_matters():
    m = build()
    f = features()
    a = m(f, posterior(), text(pad=0), (T, H, W))
    base = text(pad=0)
    garbage = torch.full((2, 3, 12), 100.0)  # garbage in padding must not matter
    padded = TextEmbedding(tokens=torch.cat([base.tokens, garbage], 1),
                           mask=torch.cat([base.mask, torch.zeros(2, 3, dtype=torch.bool)], 1), pooled=base.pooled)
    b = m(f, posterior(), padded, (T, H, W))
    assert torch.allclose(a.z[0], b.z[0], atol=1e-5)
    c = m(f, posterior(), text(seed=7), (T, H, W))
    assert not torch.allclose(a.z[0], c.z[0], atol=1e-4)


def test_without_text_guidance_ignores_text():
    m = build(text_guidance=False)
    f = features()
    a = m(f, posterior(), text(seed=1), (T, H, W))
    b = m(f, posterior(), text(seed=2), (T, H, W))
    assert torch.equal(a.z[3], b.z[3])


def test_recursion_level_two_depends_on_level_one():
    m = build()
    f = features()
    a = m(f, posterior(), text(), (T, H, W))
    f2 = [x.clone() for x in f]
    f2[0] += 5.0  # change only F(1)
    b = m(f2, posterior(), text(), (T, H, W))
    assert not torch.allclose(a.z[1], b.z[1])       # reaches level 2 through q(1)


@pytest.mark.parametrize("kw,levels", [({"num_levels": 2}, [2, 3]), ({"num_levels": 3}, [1, 2, 3]),
                                       ({"feature_source": "deepest"}, [3, 3, 3, 3])])
def test_ablation_configs(kw, levels):
    m = build(**kw)
    assert m.levels_used == levels
    out = m(features(), posterior(), text(), (T, H, W))
    assert len(out.quant) == len(levels) and out.latent.shape == posterior().shape


def test_single_scale_quantizer_w_o_lapq():
    m = build(mode="single")
    post = torch.randn_like(posterior())
    out = m(features(), post, text(), (T, H, W))
    assert len(out.quant) == 1 and out.grids == [(3, 2, 2)]
    idx = [out.indices[0].view(2, 3, 2, 2)]
    assert torch.allclose(m.indices_to_latent(idx, (3, 2, 2)), out.latent, atol=1e-6)


def test_gradient_reaches_lateral_and_attention():
    m = build().train()
    out = m(features(), posterior(), text(), (T, H, W))
    out.latent.square().mean().backward()
    blk = m.blocks[0]
    assert blk.lateral.proj.weight.grad is not None and blk.lateral.proj.weight.grad.abs().sum() > 0
    assert blk.cross_attn.k_proj_weight.grad is not None and blk.cross_attn.k_proj_weight.grad.abs().sum() > 0
