"""FVD (benchmarks.metrics.fvd): the Fréchet distance against hand-worked Gaussians, scipy and a sample-space
closed form; the protocol config; preprocessing; and FVD with the real I3D on real clips (identity ~0, growth
with noise), which skips with the reason when the I3D weights cannot be obtained."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import torch

from benchmarks.metrics import fvd, i3d


# ---------------------------------------------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["eigh", "scipy"])
def test_frechet_1d_hand_worked(method):
    # N(0, 1) vs N(3, 4): (0 - 3)^2 + 1 + 4 - 2 sqrt(1 * 4) = 9 + 5 - 4 = 10
    assert fvd.frechet_distance(np.array([0.0]), np.array([[1.0]]), np.array([3.0]), np.array([[4.0]]),
                                method=method) == pytest.approx(10.0, abs=1e-12)


@pytest.mark.parametrize("method", ["eigh", "scipy"])
def test_frechet_2d_hand_worked(method):
    # diagonal: |(0,0) - (1,2)|^2 = 5; per axis (sqrt(1) - sqrt(9))^2 + (sqrt(4) - sqrt(1))^2 = 4 + 1 -> 10
    d = fvd.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 2.0]), np.diag([9.0, 1.0]),
                             method=method)
    assert d == pytest.approx(10.0, abs=1e-12)
    # same eigenvectors, rotated by 30 degrees: tr sqrt(S1 S2) = sqrt(1*4) + sqrt(4*9) = 8;
    # |(1,1) - (0,0)|^2 + (1 + 4) + (4 + 9) - 2 * 8 = 2 + 18 - 16 = 4
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rot = np.array([[c, -s], [s, c]])
    s1, s2 = rot @ np.diag([1.0, 4.0]) @ rot.T, rot @ np.diag([4.0, 9.0]) @ rot.T
    assert fvd.frechet_distance(np.ones(2), s1, np.zeros(2), s2, method=method) == pytest.approx(4.0, abs=1e-10)


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_matches_direct_scipy_formula_full_rank():
    rng = np.random.default_rng(0)
    d = 40
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    # the textbook computation, written independently here
    direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    for method in ("eigh", "scipy"):
        assert fvd.frechet_distance(mu1, s1, mu2, s2, method=method) == pytest.approx(direct, rel=1e-9)


def test_frechet_rank_deficient_matches_sample_space_closed_form():
    """N < D: with S_i = A_i^T A_i / (n_i - 1) (A_i centred), tr((S1 S2)^1/2) is the nuclear norm of
    A1 A2^T / sqrt((n1 - 1)(n2 - 1)) — an N x N computation that never takes a square root of a singular matrix."""
    rng = np.random.default_rng(1)
    d = 400
    f1 = rng.normal(size=(12, d)) * rng.uniform(0.5, 5, size=d)
    f2 = rng.normal(size=(9, d)) * rng.uniform(0.5, 5, size=d) + 0.3
    a1, a2 = f1 - f1.mean(0), f2 - f2.mean(0)
    nuclear = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum() / np.sqrt((len(f1) - 1) * (len(f2) - 1))
    expected = (np.sum((f1.mean(0) - f2.mean(0)) ** 2) + np.sum(a1**2) / (len(f1) - 1)
                + np.sum(a2**2) / (len(f2) - 1) - 2 * nuclear)
    mu1, s1 = fvd.gaussian_statistics(f1)
    mu2, s2 = fvd.gaussian_statistics(f2)
    assert fvd.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_gaussian_statistics_match_numpy():
    f = np.random.default_rng(2).normal(size=(50, 7))
    mu, sigma = fvd.gaussian_statistics(f, ddof=1)
    np.testing.assert_allclose(mu, f.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False), rtol=1e-12)
    _, sigma0 = fvd.gaussian_statistics(f, ddof=0)
    np.testing.assert_allclose(sigma0, np.cov(f, rowvar=False, ddof=0), rtol=1e-12)
    assert sigma.dtype == np.float64


@pytest.mark.parametrize("n", [5, 100, 1000])
def test_fvd_of_a_feature_set_with_itself_is_zero(n):
    rng = np.random.default_rng(n)
    f = rng.normal(size=(n, 400)) * rng.uniform(0.1, 10, size=400) + rng.normal(size=400) * 5
    scale = 2 * np.trace(fvd.gaussian_statistics(f)[1])
    assert abs(fvd.fvd_from_features(f, f)) <= 1e-6 * scale


def test_frechet_grows_monotonically_with_feature_noise():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 16))
    noise = rng.normal(size=x.shape)
    values = [fvd.fvd_from_features(x, x + s * noise) for s in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert abs(values[0]) < 1e-9
    assert all(b > a for a, b in zip(values, values[1:])), values


# ---------------------------------------------------------------------------------------------------------------
# protocol config and preprocessing
# ---------------------------------------------------------------------------------------------------------------
def test_protocol_is_versioned_config(tmp_path):
    p = fvd.FVDProtocol()
    assert (p.num_frames, p.resolution, p.feature_dim, p.num_videos) == (16, 224, 400, 2048)
    assert fvd.FVDProtocol.from_dict(p.to_dict()) == p
    path = tmp_path / "fvd.json"
    path.write_text(json.dumps({**p.to_dict(), "num_videos": 256}))
    assert fvd.FVDProtocol.from_json(path).num_videos == 256
    path.write_text(json.dumps({"num_frame": 16}))
    with pytest.raises(ValueError, match=r"fvd\.json.*num_frame"):
        fvd.FVDProtocol.from_json(path)
    with pytest.raises(ValueError, match="version"):
        fvd.FVDProtocol.from_dict({"version": "0.9"})
    with pytest.raises(ValueError, match="sqrtm"):
        fvd.FVDProtocol(sqrtm="newton")


def test_preprocessing_takes_the_first_frames_quantises_and_resizes():
    t_in = 20
    levels = torch.linspace(-1, 1, t_in)  # frame k is the constant levels[k]; resizing keeps constants
    video = levels.view(1, 1, t_in, 1, 1).expand(2, 3, t_in, 48, 80).clone()
    out = fvd.preprocess_videos(video)
    assert out.shape == (2, 3, 16, 224, 224) and out.dtype == torch.float32
    expected = torch.round((levels[:16] + 1) * 127.5) / 127.5 - 1  # uint8 levels of the first 16 frames
    torch.testing.assert_close(out[0, 0, :, 100, 100], expected, rtol=0, atol=1e-6)
    # short side 48 -> 224 (x 14/3), width 80 -> 374, centre crop drops 75 columns on the left: an edge at input
    # column 20 lands at 20 * 14/3 - 75 = 18.3 (a plain 224 x 224 resize would put it at 56)
    edge = torch.full((1, 3, 16, 48, 80), -1.0)
    edge[..., 20:] = 1.0
    row = fvd.preprocess_videos(edge)[0, 0, 0, 100]
    assert row[:14].max() < -0.9 and row[24:].min() > 0.9
    with pytest.raises(ValueError, match="16 frames"):
        fvd.preprocess_videos(torch.zeros(1, 3, 15, 64, 64))
    with pytest.raises(ValueError, match="NaN"):
        fvd.preprocess_videos(torch.full((1, 3, 16, 64, 64), float("nan")))
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        fvd.preprocess_videos(torch.zeros(3, 16, 64, 64))


# ---------------------------------------------------------------------------------------------------------------
# with the real I3D on real clips
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def network():
    try:
        i3d.ensure_weights(fetch=True)
    except i3d.I3DWeightsUnavailable as exc:
        pytest.skip(f"I3D weights unavailable: {exc}")
    return i3d.load_i3d()


@pytest.fixture(scope="module")
def real_clips(realdata):
    from pyratok.data.video import read_frames

    names = ["kinetics_arm_wrestling.mp4", "mmaction2_test.mp4", "ucf_apply_eye_makeup.avi"]
    paths = [realdata / "videos" / n for n in names]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"real clips missing: {missing}")
    clips = np.stack([read_frames(p, list(range(16)), size=112, crop="center") for p in paths])
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0  # (3, 3, 16, 112, 112)


@pytest.fixture(scope="module")
def real_features(network, real_clips):
    return fvd.extract_features(real_clips, network)


def test_fvd_of_real_clips_with_themselves_is_zero(network, real_clips, real_features):
    result = fvd.compute_fvd(real_features, real_clips, network)  # extracts the clips' features again
    scale = 2 * np.trace(fvd.gaussian_statistics(real_features)[1])
    assert scale > 1.0
    assert abs(result.value) <= 1e-6 * scale
    assert result.network["kind"] == "port" and result.network["source_ckpt_sha256"] == i3d.CKPT_SHA256
    assert result.protocol["version"] == fvd.FVD_PROTOCOL_VERSION
    assert not result.meets_protocol_num_videos and result.notes  # 3 videos, not 2048: said so


def test_fvd_grows_monotonically_with_noise(network, real_clips, real_features):
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(real_clips.shape, generator=gen)
    values = [fvd.compute_fvd(real_features, (real_clips + s * noise).clamp(-1, 1), network).value
              for s in (0.1, 0.4)]
    assert 0 < values[0] < values[1], values


def test_real_vs_real_floor_matches_explicit_halves_and_sits_below_a_shifted_set():
    import numpy as np
    from scipy import linalg

    from benchmarks.metrics.fvd import FVDProtocol, real_vs_real_floor

    rng = np.random.default_rng(3)
    real = rng.normal(size=(40, 6))
    floor = real_vs_real_floor(real, FVDProtocol(), splits=3, seed=7)
    # brute force: the same seeded permutations, Fréchet distance by scipy's sqrtm
    perm_rng = np.random.default_rng(7)
    vals = []
    for _ in range(3):
        perm = perm_rng.permutation(40)
        a, b = real[perm[:20]], real[perm[20:40]]
        ma, mb, sa, sb = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        vals.append(float(((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)))
    np.testing.assert_allclose(floor["values"], vals, rtol=1e-6)
    assert floor["n_per_half"] == 20 and floor["splits"] == 3
    shifted = real[:20] + 1.5
    from benchmarks.metrics.fvd import fvd_from_features
    assert fvd_from_features(real[20:], shifted) > 3 * floor["mean"]
    assert real_vs_real_floor(real[:7], FVDProtocol()) is None
