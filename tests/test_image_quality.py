"""SSIM and PSNR against scikit-image."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from pyratok.image_quality import psnr, ssim


@pytest.mark.parametrize("shape", [(3, 32, 40), (1, 24, 24)])
def test_ssim_matches_skimage(shape):
    rng = np.random.default_rng(0)
    a = rng.random(shape).astype(np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    ref = structural_similarity(a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0)
    got = ssim(torch.from_numpy(a)[None], torch.from_numpy(b)[None], data_range=1.0)
    assert float(got) == pytest.approx(ref, abs=1e-5)


def test_ssim_identical_is_one_and_differentiable():
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    assert float(ssim(x, x.detach())) == pytest.approx(1.0, abs=1e-6)
    y = torch.rand(2, 3, 16, 16)
    ssim(x, y).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_psnr_matches_skimage():
    rng = np.random.default_rng(1)
    a = rng.random((3, 16, 16))
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    ref = peak_signal_noise_ratio(a, b, data_range=1.0)
    assert float(psnr(torch.from_numpy(a)[None], torch.from_numpy(b)[None])) == pytest.approx(ref, abs=1e-4)
