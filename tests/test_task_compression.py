"""MCL-JCV compression benchmark (Table 7): metrics against scikit-image and hand-worked values, the matched-rate
rule against the tiny PyraTok's token grid counted by hand, end-to-end shards + reduce on the synthetic MCL-JCV
with a codec and with PyraTok, and per-sample failure records for corrupt / short files."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from adapters import build_tokenizer, list_tokenizers
from benchmarks.base import DataSource, ShardResult
from benchmarks.leaderboards import load_leaderboard
from benchmarks.registry import BENCHMARKS, build_benchmark
from benchmarks.synthetic import generate
from benchmarks.tables.table7 import SPECS as TABLES
from benchmarks.tasks.compression import MCLJCVCompression, clip_quality, resolve_target_bpp

torch.set_num_threads(1)
# tiny PyraTok at 17x64x64, pyramid token strides (t, s) = (2,16), (4,16), (4,32), (8,32):
# (1 + 16/2)*4*4 + (1 + 16/4)*4*4 + (1 + 16/4)*2*2 + (1 + 16/8)*2*2 = 144 + 80 + 20 + 12 = 256 tokens x 16 bits
TINY_TOKENS = 144 + 80 + 20 + 12
TINY_BPP = TINY_TOKENS * 16 / (17 * 64 * 64)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> DataSource:
    root = tmp_path_factory.mktemp("synthetic")
    generate(root, "mcl_jcv", scale="tiny", log=None)
    return DataSource(str(root / "mcl_jcv"), "synthetic")


@pytest.fixture(scope="module")
def pyratok():
    return build_tokenizer("pyratok-tiny:init=random")


def run(bench, tok, data):
    fitted = bench.fit(tok, data, None)
    shards = bench.shards(data)
    results = [ShardResult.from_dict(json.loads(json.dumps(bench.run_shard(tok, data, s, fitted).to_dict())))
               for s in shards]  # through JSON, as the runner ships them
    return {m.name: m for m in bench.reduce(results, data, fitted)}, results, fitted


# ---------------------------------------------------------------------------------------------- metrics
def test_psnr_ssim_match_scikit_image():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 3, 24, 24, generator=g) * 1.6 - 0.8
    recon = (target + 0.3 * torch.randn(target.shape, generator=g)).clamp(-1, 1)
    p, s = clip_quality(recon, target)
    for i in range(2):
        t01, r01 = ((target[i] + 1) / 2).numpy(), ((recon[i] + 1) / 2).numpy()
        assert p[i].item() == pytest.approx(peak_signal_noise_ratio(t01, r01, data_range=1.0), abs=1e-3)
        ref = np.mean([structural_similarity(t01[:, k].transpose(1, 2, 0), r01[:, k].transpose(1, 2, 0),
                                             channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                             use_sample_covariance=False, data_range=1.0) for k in range(3)])
        assert s[i].item() == pytest.approx(ref, abs=1e-4)


def test_psnr_hand_case():
    target = torch.rand(1, 3, 2, 16, 16) - 0.5
    # +0.2 in [-1, 1] is +0.1 in [0, 1]: MSE 0.01 -> exactly 20 dB
    assert clip_quality(target + 0.2, target)[0].item() == pytest.approx(20.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------- matched rate
def test_match_rule_is_the_tiny_pyratok_rate_by_hand():
    bpp, info = resolve_target_bpp(MCLJCVCompression().protocol)
    assert bpp == pytest.approx(TINY_BPP, rel=1e-12) and info["reference_bits"] == TINY_TOKENS * 16
    assert resolve_target_bpp({**MCLJCVCompression.protocol, "target_bpp": 0.034})[0] == 0.034
    for bad in ("0.034", "match:", -1):
        with pytest.raises(ValueError, match="target_bpp"):
            resolve_target_bpp({**MCLJCVCompression.protocol, "target_bpp": bad})
    with pytest.raises(ValueError, match="discrete"):
        resolve_target_bpp({**MCLJCVCompression.protocol, "target_bpp": "match:h264"})


def test_protocol_options_are_checked():
    with pytest.raises(ValueError, match="unknown protocol option"):
        MCLJCVCompression(bitrate=0.034)
    with pytest.raises(ValueError, match="frames"):
        MCLJCVCompression(frames=0)


def test_applies_to_discrete_and_codecs_only():
    bench = build_benchmark("mcl-jcv-compression")
    assert isinstance(bench, MCLJCVCompression)
    assert bench.applies_to({"tokenizer": "wan2.2-vae", "kind": "continuous"}) is not None
    assert bench.applies_to({"tokenizer": "h264", "kind": "codec"}) is None
    assert bench.applies_to({"tokenizer": "pyratok-tiny", "kind": "discrete"}) is None


def test_shards_list_clips_per_source(data):
    bench = MCLJCVCompression(frames=9, clips_per_source=2)   # 33-frame sources: 3 clips fit, 2 are asked for
    items = [i for s in bench.shards(data) for i in s.items]
    assert items == [f"videoSRC{n:02d}_96x64_30.yuv#{k}" for n in (1, 2, 3) for k in (0, 1)]
    assert len([i for s in MCLJCVCompression(max_samples=2).shards(data) for i in s.items]) == 2
    clip = bench.load_clip(data, items[1])
    assert clip.shape == (1, 3, 9, 64, 64) and clip.min() >= -1 and clip.max() <= 1


# ---------------------------------------------------------------------------------------------- end to end
def test_h264_at_the_tiny_pyratok_rate(data):
    bench = MCLJCVCompression()
    tok = build_tokenizer("h264")
    metrics, results, fitted = run(bench, tok, data)
    assert fitted["target_bpp"] == pytest.approx(TINY_BPP)
    samples = [s for r in results for s in r.samples]
    assert len(samples) == 3 and metrics["clips"].value == 3 and metrics["psnr"].n_failed == 0
    for s in samples:  # x264 takes fractional CRF: every clip lands within 5 % below the target
        assert TINY_BPP * 0.95 <= s["bpp"] <= TINY_BPP and s["bits"] == s["bpp"] * 17 * 64 * 64
    assert metrics["bpp"].value == pytest.approx(np.mean([s["bpp"] for s in samples]))
    assert metrics["psnr"].value == pytest.approx(np.mean([s["psnr"] for s in samples]))
    # one clip again, scored independently with scikit-image
    clip = bench.load_clip(data, samples[0]["id"])
    rec = tok.decode(tok.encode(clip, bpp=fitted["target_bpp"]))
    c01, r01 = ((clip + 1) / 2).numpy(), ((rec.clamp(-1, 1) + 1) / 2).numpy()
    ref = peak_signal_noise_ratio(c01, r01, data_range=1.0)
    assert samples[0]["psnr_clip_mse"] == pytest.approx(ref, abs=1e-3)
    # the default PSNR is the mean of per-frame PSNRs (each frame's own MSE)
    per_frame = [peak_signal_noise_ratio(c01[0, :, t], r01[0, :, t], data_range=1.0) for t in range(c01.shape[2])]
    assert samples[0]["psnr"] == pytest.approx(np.mean(per_frame), abs=1e-3)
    assert metrics["psnr_clip_mse"].value == pytest.approx(np.mean([s["psnr_clip_mse"] for s in samples]))
    # the interval is the seeded bootstrap of the same per-clip values
    from benchmarks.metrics.uncertainty import bootstrap_ci

    assert metrics["psnr"].extra["ci95"] == bootstrap_ci([s["psnr"] for s in samples], seed=0, n_boot=2000).to_dict()
    assert "per-frame" in metrics["psnr"].extra["conventions"]["psnr"]
    assert 15 < metrics["psnr"].value < 60 and 0 < metrics["ssim"].value <= 1
    lp = metrics["lpips"]
    assert (lp.value is None and "LPIPS" in lp.note) or 0 <= lp.value <= 1


def test_pyratok_tiny_runs_and_reports_its_fixed_rate(data, pyratok):
    bench = MCLJCVCompression()
    metrics, results, fitted = run(bench, pyratok, data)
    assert fitted is None
    assert metrics["clips"].value == 3
    assert metrics["bpp"].value == pytest.approx(TINY_BPP, rel=1e-12)
    assert np.isfinite(metrics["psnr"].value) and -1 <= metrics["ssim"].value <= 1


def test_corrupt_and_short_files_are_per_sample_failures(data, tmp_path):
    root = tmp_path / "mcl_jcv"
    shutil.copytree(data.path, root)
    frame = 96 * 64 * 3 // 2
    good = (root / "videoSRC01_96x64_30.yuv").read_bytes()
    (root / "videoSRC08_96x64_30.yuv").write_bytes(good[:10 * frame + 100])   # truncated mid-frame
    (root / "videoSRC09_96x64_30.yuv").write_bytes(good[:5 * frame])          # whole frames, too few
    (root / "clip.yuv").write_bytes(good[:frame])                             # not an MCL-JCV name
    src = DataSource(str(root), "synthetic")
    bench = MCLJCVCompression(target_bpp=0.3)
    metrics, results, _ = run(bench, build_tokenizer("h264"), src)
    failures = {f["sample"]: f for r in results for f in r.failures}
    assert set(failures) == {"videoSRC08_96x64_30.yuv#0", "videoSRC09_96x64_30.yuv#0", "clip.yuv#0"}
    assert "not a whole number" in failures["videoSRC08_96x64_30.yuv#0"]["reason"]
    assert "5 frames" in failures["videoSRC09_96x64_30.yuv#0"]["reason"]
    assert "file name" in failures["clip.yuv#0"]["reason"]
    assert all(f["file"].endswith(f["sample"][:-2]) for f in failures.values())
    assert metrics["clips"].value == 3 and metrics["psnr"].n_failed == 3


def test_unreachable_rate_is_a_failure_not_a_matched_point(data):
    bench = MCLJCVCompression(target_bpp=1e-4, max_samples=1)
    metrics, results, _ = run(bench, build_tokenizer("h264"), data)
    (fail,) = [f for r in results for f in r.failures]
    assert "cannot code this clip at 0.00010 bpp" in fail["reason"]
    assert metrics["psnr"].value is None and metrics["psnr"].note == "no clip was scored"


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MCL-JCV"):
        MCLJCVCompression().shards(DataSource(str(tmp_path), "synthetic"))


# ---------------------------------------------------------------------------------------------- Table 7
def test_table7_spec_points_at_real_rows():
    (spec,) = TABLES
    assert spec.key == "table7" and "mcl-jcv-compression" in BENCHMARKS
    board = load_leaderboard(spec.leaderboard)
    methods = set(board["method"])
    assert {r.method for r in spec.paper} == {"HEVC", "VCC", "MAGVIT", "MAGVIT-v2", "3D-MBQ-VAE", "PyraTok"}
    assert {r.method for r in spec.paper} <= methods
    for col in spec.columns:
        assert col.benchmark == "mcl-jcv-compression"
        if col.paper_metric:
            assert ((board["metric"] == col.paper_metric) & (board["benchmark"] == col.paper_benchmark)).any()
    assert {r.tokenizer for r in spec.measured if not r.reference} == {
        "h264", "hevc", "av1", "vp9", "pyratok-tiny", "quant-vq", "quant-gvq", "quant-lfq", "quant-rvq", "quant-fsq"}
    assert {r.tokenizer for r in spec.measured if r.reference} == {"ref-grey", "ref-mean-colour", "ref-bicubic"}
    assert {r.tokenizer for r in spec.measured} <= set(list_tokenizers())
