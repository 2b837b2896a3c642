"""pyratok.analysis against brute force and hand-worked examples: level agreement, PCA maps, drop-one-level PSNR,
text attention maps."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from pyratok.analysis import (_fill, adjacent_level_agreement, agreement_of_encoding, cross_attention_maps,
                              drop_level_psnr, level_codes, pca_maps, pca_rgb)
from pyratok.model import PyraTok, PyraTokConfig

TEXTS = ["a red circle moves left", "a dog"]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return PyraTok(PyraTokConfig.tiny()).eval()


def video(b=2, t=9, s=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, t, s, s, generator=g) * 2 - 1


def random_codes(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, shape, generator=g).float() * 2 - 1


# ------------------------------------------------------------------------------------------ level agreement
def test_agreement_of_identical_and_opposite_codes():
    c = random_codes((2, 16, 5, 4, 4), 0)
    assert adjacent_level_agreement([c, c.clone()]) == [1.0]
    assert adjacent_level_agreement([c, -c]) == [0.0]


def test_agreement_of_a_copied_coarse_level_is_one():
    """Level 1 on (9, 4, 4) built by copying a coarse (5, 2, 2) level: key frame alone, then 2 x 2 x 2 blocks."""
    coarse = random_codes((1, 8, 5, 2, 2), 1)
    fine = torch.cat([coarse[:, :, :1], coarse[:, :, 1:].repeat_interleave(2, 2)], 2)
    fine = fine.repeat_interleave(2, 3).repeat_interleave(2, 4)
    assert fine.shape == (1, 8, 9, 4, 4)
    assert adjacent_level_agreement([fine, coarse]) == [1.0]


def test_agreement_of_independent_codes_is_one_half():
    """10,240 terms, each the mean of 2 fair coins: std 0.0035; tolerance 0.02 (> 5 std)."""
    a, b = random_codes((2, 16, 9, 8, 8), 2), random_codes((2, 16, 5, 8, 8), 3)
    assert adjacent_level_agreement([a, b])[0] == pytest.approx(0.5, abs=0.02)


def test_agreement_matches_brute_force_counting():
    """Count, for every coarse cell and bit, the covered fine cells whose bit agrees (causal key frame alone)."""
    fine, coarse = random_codes((2, 6, 9, 4, 4), 4), random_codes((2, 6, 5, 2, 2), 5)
    fracs = []
    for b in range(2):
        for k in range(6):
            for t in range(5):
                ts = [0] if t == 0 else [2 * t - 1, 2 * t]
                for y in range(2):
                    for x in range(2):
                        cells = [fine[b, k, a, p, q] for a in ts for p in (2 * y, 2 * y + 1) for q in (2 * x, 2 * x + 1)]
                        fracs.append(sum(float(c == coarse[b, k, t, y, x]) for c in cells) / len(cells))
    assert adjacent_level_agreement([fine, coarse])[0] == pytest.approx(np.mean(fracs), abs=1e-12)


def test_agreement_rejects_non_binary_codes():
    with pytest.raises(ValueError, match="binary"):
        adjacent_level_agreement([torch.zeros(1, 2, 1, 1, 1), torch.ones(1, 2, 1, 1, 1)])


# ------------------------------------------------------------------------------------------------- PCA
def _numpy_pca_rgb(x):
    xc = x - x.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    comps = vt[:3]
    comps = comps * np.sign(comps[np.arange(3), np.abs(comps).argmax(1)])[:, None]
    s = xc @ comps.T
    return (s - s.min(0)) / (s.max(0) - s.min(0))


def test_pca_rgb_matches_numpy_svd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8)) * np.array([5, 3, 2, 1, 0.5, 0.3, 0.2, 0.1])
    ours = pca_rgb(torch.from_numpy(x)).numpy()
    assert np.allclose(ours, _numpy_pca_rgb(x), atol=1e-10)
    assert ours.min() == 0 and ours.max() == 1


def test_pca_maps_shapes_range_and_constant_level():
    codes = [random_codes((2, 16, 5, 4, 4), 6), torch.ones(2, 16, 3, 2, 2)]
    maps = pca_maps(codes)
    assert maps[0].shape == (2, 5, 4, 4, 3) and maps[1].shape == (2, 3, 2, 2, 3)
    assert float(maps[0].min()) >= 0 and float(maps[0].max()) <= 1
    assert torch.equal(maps[1], torch.full_like(maps[1], 0.5))      # no variance: mid grey
    # fitted per clip: clip 0's map does not depend on clip 1
    other = [torch.cat([codes[0][:1], -codes[0][1:]]), codes[1]]
    assert torch.equal(pca_maps(other)[0][0], maps[0][0])


# ------------------------------------------------------------------------------------------ drop one level
def test_fill_hand_worked():
    codes = torch.tensor([[[1., 1.], [-1., 1.], [1., 1.], [1., -1.], [-1., -1.], [-1., 1.]]])   # (1, 6, 2)
    assert torch.allclose(_fill(codes, "mean"), torch.tensor([0.0, 1 / 3]).expand(1, 6, 2))
    assert torch.equal(_fill(codes, "majority"), torch.tensor([1.0, 1.0]).expand(1, 6, 2))     # tie -> +1


def _bits(ix, k):
    return torch.stack([(ix >> (k - 1 - j)) & 1 for j in range(k)], -1)


def test_drop_level_psnr_majority_matches_skimage_on_decoded_tokens(tiny):
    v = video()
    res = drop_level_psnr(tiny, v, TEXTS, fill="majority")
    enc = tiny.encode(v, TEXTS)
    K = 16

    def ref_psnr(indices):
        rec = tiny.decode([ix.clone() for ix in indices], enc.latent_grid)
        return np.mean([peak_signal_noise_ratio(((v[i] + 1) / 2).numpy().astype(np.float64),
                                                ((rec[i] + 1) / 2).numpy().astype(np.float64), data_range=1.0)
                        for i in range(v.shape[0])])

    assert res.full == pytest.approx(ref_psnr(enc.indices), abs=1e-3)
    assert res.grids == enc.grids and len(res.dropped) == 4
    for lvl in range(4):
        ix = enc.indices[lvl]
        bits = _bits(ix.flatten(1), K).float()                       # (B, N, K) in {0, 1}
        major = (bits.mean(1) >= 0.5).long()                         # per clip, per bit (tie -> 1)
        major_id = (major * (2 ** torch.arange(K - 1, -1, -1))).sum(-1)
        replaced = list(enc.indices)
        replaced[lvl] = major_id.view(-1, 1, 1, 1).expand_as(ix).clone()
        assert res.dropped[lvl] == pytest.approx(ref_psnr(replaced), abs=1e-3), lvl
    assert res.drop == pytest.approx([res.full - d for d in res.dropped])


def test_drop_level_psnr_mean_fill_runs_and_differs(tiny):
    res = drop_level_psnr(tiny, video(), TEXTS)
    assert res.fill == "mean" and all(np.isfinite(res.dropped))
    assert any(abs(d) > 1e-4 for d in res.drop)
    with pytest.raises(ValueError, match="fill"):
        drop_level_psnr(tiny, video(), TEXTS, fill="zero")


def test_level_codes_and_agreement_of_an_encoding(tiny):
    enc = tiny.encode(video(), TEXTS)
    codes = level_codes(tiny, enc)
    assert [tuple(c.shape[2:]) for c in codes] == enc.grids
    assert set(torch.cat([c.flatten() for c in codes]).unique().tolist()) <= {-1.0, 1.0}
    agree = agreement_of_encoding(enc, 16)
    assert len(agree) == 3 and all(0 <= a <= 1 for a in agree)
    assert agree == adjacent_level_agreement(codes)


# ------------------------------------------------------------------------------------------ attention maps
def test_cross_attention_maps_sum_to_one_and_ignore_padding(tiny):
    v = video()
    att = cross_attention_maps(tiny, v, TEXTS)
    mask = att.text_mask
    assert (~mask).any(), "the short caption should be padded"
    assert att.grids == tiny.encode(v, TEXTS).grids
    per_head = cross_attention_maps(tiny, v, TEXTS, average_heads=False)
    for a, ah, g in zip(att.maps, per_head.maps, att.grids):
        assert a.shape == (2, *g, mask.shape[1]) and ah.shape == (2, 4, *g, mask.shape[1])
        assert torch.allclose(ah.mean(1), a, atol=1e-6)
        m = mask[:, None, None, None, :].expand_as(a)
        assert torch.allclose(a.sum(-1), torch.ones(()), atol=1e-5)
        assert torch.equal(a[~m], torch.zeros_like(a[~m]))
        assert float(a[m].min()) > 0


def test_cross_attention_needs_text_guidance():
    cfg = PyraTokConfig.tiny()
    cfg.lapq.text_guidance = False
    with pytest.raises(ValueError, match="text guidance"):
        cross_attention_maps(PyraTok(cfg), video(b=1), TEXTS[:1])
