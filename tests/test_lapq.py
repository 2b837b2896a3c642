"""LaPQ blocks: per-level grids, causal patchify and resizing, text attention with padding, recursion, ablation
configs, token -> latent path."""
import math

import pytest
import torch

from pyratok.config_utils import ConfigError
from pyratok.lapq import CausalPatchify, LaPQ, LaPQConfig, bits_per_pixel, resize_grid, token_grid
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


# token strides (2, 16), (4, 16), (4, 32), (8, 32) on a 9 x 32 x 32 clip, by hand: 1 + ceil(8 / t) frames, ceil(32 / s)
PYRAMID_GRIDS_9x32 = [(5, 2, 2), (3, 2, 2), (3, 1, 1), (2, 1, 1)]


def test_pyramid_shapes_and_decode_path_parity():
    m = build()
    out = m(features(), posterior(), text(), (T, H, W))
    assert len(out.quant) == 4 and m.levels_used == [0, 1, 2, 3]
    assert m.token_strides == [(2, 16), (4, 16), (4, 32), (8, 32)]
    assert out.grids == PYRAMID_GRIDS_9x32
    assert out.latent.shape == posterior().shape
    for q, g in zip(out.quant, out.grids):
        assert q.quantized.shape == (2, math.prod(g), 6) and set(q.quantized.unique().tolist()) <= {-1.0, 1.0}
    # decoding from integer tokens reproduces the latent of the forward pass (no lookup table)
    idx = [ix.view(2, *g) for ix, g in zip(out.indices, out.grids)]
    assert torch.allclose(m.indices_to_latent(idx, (3, 2, 2)), out.latent, atol=1e-6)


def test_latent_grid_configuration_keeps_the_equal_grid_design():
    m = build(grid="latent")
    out = m(features(), posterior(), text(), (T, H, W))
    assert out.grids == [(3, 2, 2)] * 4
    assert all(isinstance(f, torch.nn.Identity) for f in m.code_fold)


def test_table8_token_count_and_documented_grids():
    """A 16-frame 128 x 128 clip (the key frame + 16 frames: T = 17) gives 1,024 tokens with Wan 2.2's (4, 16)."""
    strides = LaPQConfig().token_strides((4, 16))
    grids = [token_grid((17, 128, 128), st) for st in strides]
    assert grids == [(9, 8, 8), (5, 8, 8), (5, 4, 4), (3, 4, 4)]
    assert sum(math.prod(g) for g in grids) == 1024
    assert [token_grid((17, 64, 64), st) for st in strides] == [(9, 4, 4), (5, 4, 4), (5, 2, 2), (3, 2, 2)]
    assert [token_grid((17, 256, 256), st) for st in strides] == [(9, 16, 16), (5, 16, 16), (5, 8, 8), (3, 8, 8)]
    assert bits_per_pixel(grids, 16, (17, 128, 128)) == pytest.approx(1024 * 16 / (17 * 128 * 128))
    latent = [token_grid((17, 128, 128), st) for st in LaPQConfig(grid="latent").token_strides((4, 16))]
    assert sum(math.prod(g) for g in latent) == 4 * 5 * 8 * 8
    # Wan 2.1 (latent stride (4, 8)) and fewer levels (the deepest strides)
    assert LaPQConfig().token_strides((4, 8)) == [(2, 8), (4, 8), (4, 16), (8, 16)]
    assert LaPQConfig(num_levels=2).token_strides((4, 16)) == [(4, 32), (8, 32)]


def test_grid_config_errors():
    with pytest.raises(ConfigError, match="token_stride"):
        LaPQConfig(grid="custom")
    with pytest.raises(ConfigError, match="only read with lapq.grid='custom'"):
        LaPQConfig(token_stride=[(4, 16)] * 4)
    with pytest.raises(ConfigError, match="lapq.grid must be one of"):
        LaPQConfig(grid="pyramids")
    with pytest.raises(ValueError, match="do not nest"):
        build(grid="custom", token_stride=[(4, 16), (4, 16), (4, 16), (4, 24)])


def _resize_reference(x, size):
    """Loop reference: key frame alone; frame j >= 1 of the target covers source frames by block of stride ratio."""
    b, c, t, h, w = x.shape
    T2, H2, W2 = size
    out = torch.zeros(b, c, T2, H2, W2, dtype=torch.float64)

    def cover(n_src, n_dst, i):  # source cells of destination cell i (nested, integer ratio, last block partial)
        if n_dst <= n_src:
            f = -(-n_src // n_dst)
            return list(range(i * f, min((i + 1) * f, n_src)))
        f = -(-n_dst // n_src)
        return [i // f]

    for ti in range(T2):
        ts = [0] if ti == 0 else [1 + k for k in cover(t - 1, T2 - 1, ti - 1)]
        for hi in range(H2):
            for wi in range(W2):
                cells = [x[:, :, a, p, q].double() for a in ts for p in cover(h, H2, hi) for q in cover(w, W2, wi)]
                out[:, :, ti, hi, wi] = torch.stack(cells).mean(0)
    return out


@pytest.mark.parametrize("src,dst", [((9, 4, 4), (5, 4, 4)), ((5, 4, 4), (5, 2, 2)), ((9, 4, 4), (3, 2, 2)),
                                     ((4, 3, 5), (3, 2, 3)),      # 13 x 48 x 80 input: last blocks incomplete
                                     ((3, 2, 2), (5, 4, 4)), ((2, 1, 1), (3, 2, 2)), ((3, 2, 3), (4, 3, 5))])
def test_resize_grid_matches_block_mean_and_copy_reference(src, dst):
    x = torch.randn(2, 3, *src, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(resize_grid(x, dst).double(), _resize_reference(x, dst), atol=1e-6)


def test_causal_patchify_incomplete_last_group():
    """T = 7, t = 4: outputs [f0], [f1..f4], [f5, f6 (+ f6 repeated)] -> frame k affects exactly one output."""
    torch.manual_seed(0)
    p = CausalPatchify(2, 3, t=4, s=1)
    x = torch.randn(1, 2, 7, 2, 2)
    y = p(x)
    assert y.shape == (1, 3, 3, 2, 2)
    for frame, out in [(0, 0), (1, 1), (4, 1), (5, 2), (6, 2)]:
        x2 = x.clone()
        x2[:, :, frame] += 1.0
        changed = ((p(x2) - y).abs().sum((0, 1, 3, 4)) > 0).tolist()
        assert changed == [i == out for i in range(3)], (frame, changed)


def test_pyramid_is_causal_in_time():
    """Changing the last frames of every encoder feature leaves every level's first-frame tokens untouched."""
    m = build()
    f = features()
    a = m(f, posterior(), text(), (T, H, W))
    f2 = [x.clone() for x in f]
    for x in f2:
        x[:, :, -1] += 3.0
    b = m(f2, posterior(), text(), (T, H, W))
    for lvl, g in enumerate(a.grids):
        za, zb = (z.view(2, *g, -1) for z in (a.z[lvl], b.z[lvl]))
        assert torch.allclose(za[:, 0], zb[:, 0], atol=1e-6), f"level {lvl + 1} key frame changed"
        assert not torch.allclose(za[:, -1], zb[:, -1]), f"level {lvl + 1} last frame unchanged"


def test_decoder_path_keeps_level1_temporal_detail():
    """Level 1 has twice the latent's frame rate; swapping its two frames inside one latent frame must change the
    latent (a block mean would not see it)."""
    m = build()
    out = m(features(), posterior(), text(), (T, H, W))
    g = out.grids[0]
    c1 = out.codes[0].view(2, *g, -1).clone()
    c1[:, 1] = 1.0
    c1[:, 2] = -1.0
    swapped = c1.clone()
    swapped[:, [1, 2]] = c1[:, [2, 1]]
    codes = [c.clone() for c in out.codes]
    lat_a = m.codes_to_latent([c1.flatten(1, 3)] + codes[1:], out.grids, (3, 2, 2))
    lat_b = m.codes_to_latent([swapped.flatten(1, 3)] + codes[1:], out.grids, (3, 2, 2))
    assert not torch.allclose(lat_a[:, :, 1], lat_b[:, :, 1])
    assert torch.allclose(lat_a[:, :, 0], lat_b[:, :, 0]) and torch.allclose(lat_a[:, :, 2], lat_b[:, :, 2])


def test_attention_weights_sum_to_one_over_unpadded_text():
    m = build()
    emb = text(n=5, pad=3)
    out = m(features(), posterior(), emb, (T, H, W), return_attention=True)
    assert len(out.attention) == 4
    for a, g in zip(out.attention, out.grids):
        assert a.shape == (2, 4, math.prod(g), 8)
        assert torch.allclose(a.sum(-1), torch.ones(()), atol=1e-5)
        assert torch.equal(a[..., 5:], torch.zeros_like(a[..., 5:]))
    assert m(features(), posterior(), emb, (T, H, W)).attention is None


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
