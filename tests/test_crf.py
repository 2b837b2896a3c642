"""The 3-D dense CRF (benchmarks.metrics.crf): behaviour on hand-made volumes for both backends, a hand-worked
mean-field step for the exact backend, and the permutohedral (pydensecrf2) backend against the exact kernels."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.metrics.crf import CRF3DParams, dense_crf_3d, pairwise_features, pydensecrf_available

BACKENDS = ["exact"] + (["pydensecrf"] if pydensecrf_available() else [])
SMALL = dict(theta_xy=2.0, theta_bxy=6.0)  # spatial scales for 10-20 px volumes (defaults are for ~500 px frames)


def _two_label(p_a: np.ndarray) -> np.ndarray:
    return np.stack([p_a, 1.0 - p_a]).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_keeps_clean_confident_labelling(backend):
    rng = np.random.default_rng(0)
    T, H, W = 3, 10, 12
    labels = np.zeros((T, H, W), int)
    labels[:, 2:7, 3:9] = 1
    video = rng.integers(0, 256, (T, H, W, 3)).astype(np.uint8)  # colours say nothing
    probs = _two_label(np.where(labels == 0, 0.99, 0.01))
    q = dense_crf_3d(probs, video, CRF3DParams(**SMALL), backend=backend)
    assert q.shape == probs.shape
    np.testing.assert_allclose(q.sum(0), 1.0, atol=1e-4)
    assert (q.argmax(0) == labels).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_cleans_salt_noise_on_constant_colour(backend):
    rng = np.random.default_rng(1)
    T, H, W = 3, 10, 10
    video = np.full((T, H, W, 3), (90, 140, 60), np.uint8)
    noisy = rng.random((T, H, W)) < 0.12           # 12% of voxels say "label 1"
    p_a = np.where(noisy, 0.35, 0.7)
    probs = _two_label(p_a)
    assert (probs.argmax(0) == 1).sum() == noisy.sum() > 5
    q = dense_crf_3d(probs, video, CRF3DParams(**SMALL), backend=backend)
    assert (q.argmax(0) == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_boundary_snaps_to_colour_edge(backend):
    # colour edge between columns 5 and 6; the unary's 50/50 crossing is at column 8 (a blurred, shifted boundary)
    T, H, W = 3, 8, 14
    video = np.zeros((T, H, W, 3), np.uint8)
    video[:, :, :6] = (200, 40, 40)
    video[:, :, 6:] = (40, 40, 200)
    col = np.arange(W)
    p_a = np.clip(0.5 - (col - 8) * 0.08, 0.1, 0.9)[None, None, :] * np.ones((T, H, W))
    probs = _two_label(p_a)
    assert (probs.argmax(0)[:, :, 6:8] == 0).all()  # before the CRF, columns 6-7 go with the left label
    q = dense_crf_3d(probs, video, CRF3DParams(**SMALL), backend=backend)
    expect = np.broadcast_to(np.where(col < 6, 0, 1), (T, H, W))
    assert (q.argmax(0) == expect).all()


def test_exact_backend_matches_hand_worked_mean_field_step():
    # two voxels, two labels, gaussian kernel only, one iteration, worked by hand:
    #   K = [[1, k], [k, 1]] with k = exp(-d^2/2) (self included), D = 1 + k, Kn = K / (1 + k)
    #   E_i(l) = log p_i(l) + w * sum_j Kn_ij Q0_j(l),  Q0 = p,  Q1 = softmax(E)
    p = np.array([[0.8, 0.3], [0.2, 0.7]], np.float32)  # (labels, voxels)
    video = np.zeros((1, 1, 2, 3), np.uint8)
    params = CRF3DParams(theta_xy=1.0, theta_t=1.0, w_gaussian=2.0, w_bilateral=0.0, iterations=1)
    k = np.exp(-0.5)                       # the voxels are 1 px apart, theta 1
    Kn = np.array([[1, k], [k, 1]]) / (1 + k)
    E = np.log(p) + 2.0 * p @ Kn.T         # (L, N): sum over j of Kn_ij Q0_j(l)
    expect = np.exp(E) / np.exp(E).sum(0, keepdims=True)
    q = dense_crf_3d(p.reshape(2, 1, 1, 2), video, params, backend="exact")
    np.testing.assert_allclose(q.reshape(2, 2), expect, atol=1e-6)


def test_feature_arrays_follow_the_create_pairwise_layout():
    video = np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3)
    params = CRF3DParams(theta_xy=2.0, theta_t=0.5, theta_bxy=4.0, theta_bt=1.0, theta_rgb=10.0)
    g, b = pairwise_features(video, params)
    assert g.shape == (3, 24) and b.shape == (6, 24) and g.dtype == np.float32 and g.flags.c_contiguous
    i = 1 * 12 + 2 * 4 + 3                  # voxel (t=1, y=2, x=3) in C order of (T, H, W)
    np.testing.assert_allclose(g[:, i], [1 / 0.5, 2 / 2.0, 3 / 2.0])
    np.testing.assert_allclose(b[:, i], [1 / 1.0, 2 / 4.0, 3 / 4.0, *(video[1, 2, 3] / 10.0)], rtol=1e-6)


@pytest.mark.skipif(not pydensecrf_available(), reason="pydensecrf2 is not installed")
def test_permutohedral_backend_agrees_with_exact_kernels():
    rng = np.random.default_rng(3)
    T, H, W = 3, 9, 11
    video = np.zeros((T, H, W, 3), np.uint8)
    video[:, :, :5] = (210, 60, 30)
    video[:, :, 5:] = (30, 70, 220)
    video = np.clip(video + rng.integers(-10, 10, video.shape), 0, 255).astype(np.uint8)
    p = np.clip(np.where(np.arange(W) < 5, 0.65, 0.35)[None, None] + rng.normal(0, 0.2, (T, H, W)), 0.05, 0.95)
    probs = np.stack([p, 1 - p, np.full_like(p, 0.2)]).astype(np.float32)
    probs /= probs.sum(0, keepdims=True)
    params = CRF3DParams(**SMALL)
    a = dense_crf_3d(probs, video, params, backend="pydensecrf")
    e = dense_crf_3d(probs, video, params, backend="exact")
    assert (a.argmax(0) == e.argmax(0)).mean() >= 0.98
    assert np.abs(a - e).mean() < 0.02


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="does not match"):
        dense_crf_3d(np.ones((2, 2, 3, 3), np.float32) / 2, np.zeros((2, 3, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="exact CRF is O"):
        dense_crf_3d(np.ones((2, 4, 50, 50), np.float32) / 2, np.zeros((4, 50, 50, 3), np.uint8), backend="exact")
    with pytest.raises(ValueError, match="theta_rgb"):
        CRF3DParams(theta_rgb=0)
