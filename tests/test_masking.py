"""Training-time masking: ratios, key frame, determinism, eval identity."""
import math

import torch

from pyratok.masking import MaskingConfig, VideoMasker, shuffle_permutation, spatial_mask, temporal_mask


def test_temporal_mask_ratio_and_key_frame():
    m = temporal_mask(17, 0.30, torch.Generator().manual_seed(0))
    assert m.sum() == round(0.3 * 16)  # 30% of the 16 non-key frames (App. D)
    assert not m[0]


def test_spatial_mask_follows_cosine_schedule_on_average():
    g = torch.Generator().manual_seed(0)
    m = spatial_mask(2000, 32, 32, 8, 0.5, g)
    # E[0.5 cos(pi u / 2)] = 0.5 * 2/pi; floor() on 16 patches lowers it by at most 1/16
    expected = 0.5 * 2 / math.pi
    frac = m.float().mean().item()
    assert expected - 1 / 16 - 0.02 < frac < expected + 0.02
    # patches are whole 8x8 blocks
    blocks = m.view(2000, 4, 8, 4, 8).permute(0, 1, 3, 2, 4).reshape(2000, 16, 64)
    assert torch.all(blocks.all(-1) | (~blocks).all(-1))


def test_shuffle_is_permutation_of_adjacent_pairs():
    p = shuffle_permutation(17, 0.25, torch.Generator().manual_seed(3))
    assert sorted(p.tolist()) == list(range(17))
    assert p[0] == 0
    moved = (p != torch.arange(17)).nonzero().flatten().tolist()
    assert len(moved) == 2 * round(0.25 * 15)
    assert all(abs(int(p[i]) - i) == 1 for i in moved)


def test_masker_identity_in_eval_and_masks_in_train():
    video = torch.rand(2, 3, 9, 16, 16) * 2 - 1
    masker = VideoMasker(MaskingConfig(spatial_patch=4, shuffle_ratio=0.0))
    masker.eval()
    assert torch.equal(masker(video), video)
    masker.train()
    out = masker(video)
    assert torch.equal(out[:, :, 0], video[:, :, 0])
    zeroed = (out == 0).float().mean()
    assert zeroed > 0.2  # 30% of the frames plus spatial patches
