"""The generative benchmarks (UCF-101 gFVD, WebVid T2V) end to end at tiny scale on synthetic data, with the I3D
weights absent (FVD/TC reported unavailable with the reason) and, when they are in the local cache, present (FVD
checked against a numpy/scipy Fréchet distance of the saved features); TC by hand and on a constant video; bad
input; the table specs against the leaderboards."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

import benchmarks.generation.features as gen_features
from benchmarks.registry import build_benchmark

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Token-by-token sampling is a long chain of tiny ops: intra-op threads only add synchronisation (on a busy
    2-core machine a 2-thread pool made these tests 40x slower), so this module runs single-threaded."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


SMALL_UCF = dict(max_classes=2, max_train_per_class=3, samples_per_class=2, repeats=1, prior_steps=8)
SMALL_WEBVID = dict(max_train=4, max_val=2, prior_steps=8, tc_max_frames=2)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    from benchmarks.synthetic import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root, ["ucf101", "webvid"], scale="tiny", log=None)
    return root


@pytest.fixture(scope="module")
def tokenizer():
    from adapters.registry import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


@pytest.fixture
def no_i3d(tmp_path, monkeypatch):
    """An empty cache: the I3D weights are absent."""
    monkeypatch.setenv("PYRATOK_CACHE", str(tmp_path / "empty-cache"))
    gen_features.reset_network_cache()
    yield
    gen_features.reset_network_cache()


@pytest.fixture
def with_i3d(tmp_path, monkeypatch):
    from benchmarks.metrics import i3d

    gen_features.reset_network_cache()
    try:
        i3d.ensure_weights()
    except i3d.I3DWeightsUnavailable as exc:
        pytest.skip(f"I3D weights not in the local cache: {exc}")
    monkeypatch.setattr(gen_features, "_cache_root", lambda: tmp_path / "real-features")  # fresh real cache
    yield
    gen_features.reset_network_cache()


def _run(bench, tokenizer, data, out_dir):
    fitted = bench.fit(tokenizer, data, out_dir)
    results = [bench.run_shard(tokenizer, data, s, fitted) for s in bench.shards(data)]
    return fitted, results, {m.name: m for m in bench.reduce(results, data, fitted)}


def _frechet_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook FID/FVD: |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)), np.cov (ddof 1), scipy sqrtm."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2))))


# ------------------------------------------------------------------------------------------------ UCF-101
def test_ucf101_end_to_end_without_i3d(synthetic, tokenizer, tmp_path, no_i3d):
    bench = build_benchmark("ucf101-gfvd", **SMALL_UCF)
    data = bench.locate(None, synthetic)
    fitted, results, m = _run(bench, tokenizer, data, tmp_path / "fit")
    assert m["gFVD"].value is None and "I3D" in m["gFVD"].note
    assert m["gFVD"].n_samples == 2 * 2            # 2 classes x 2 samples x 1 repeat, all generated
    # tiny PyraTok on 9 x 64 x 64, pyramid strides (t, s) = (2,16), (4,16), (4,32), (8,32):
    # 5*4*4 + 3*4*4 + 3*2*2 + 2*2*2 = 148 tokens
    assert m["tokens"].value == 80 + 48 + 12 + 8
    assert m["generator params"].unit == "M params" and 0 < m["generator params"].value < 1
    assert fitted["train_sequences"] == 2 * 3 and fitted["head"] == "bits"
    assert {(r.extras["class"], r.extras["repeat"]) for r in results} == {(0, 0), (1, 0)}
    # the fit is cached in its folder: a second call returns the same state without retraining
    assert bench.fit(tokenizer, data, tmp_path / "fit") == fitted


def test_ucf101_with_i3d_computes_gfvd(synthetic, tokenizer, tmp_path, with_i3d):
    bench = build_benchmark("ucf101-gfvd", **{**SMALL_UCF, "max_classes": 1, "max_real_per_class": 2})
    data = bench.locate(None, synthetic)
    _, results, m = _run(bench, tokenizer, data, tmp_path / "fit")
    g = m["gFVD"]
    assert g.value is not None and np.isfinite(g.value) and "not comparable" in g.note
    gen = np.load(results[0].extras["gen_features"])
    real = np.load(results[0].extras["real_features"])
    assert gen.shape == (2, 400) and real.shape == (2, 400)
    assert g.value == pytest.approx(_frechet_reference(real, gen), rel=1e-6, abs=1e-6)
    assert g.extra["n_real"] == 2 and g.extra["network"]["kind"] == "port"


def test_ucf101_bad_video_is_a_failure_not_a_crash(synthetic, tokenizer, tmp_path, no_i3d):
    root = tmp_path / "ucf101"
    shutil.copytree(synthetic / "ucf101", root)
    first_train = (root / "ucfTrainTestlist" / "trainlist01.txt").read_text().split()[0]  # "Class/v_....avi"
    bad = root / "UCF-101" / first_train
    bad.write_bytes(b"not a video")
    bench = build_benchmark("ucf101-gfvd", **SMALL_UCF)
    data = bench.locate(tmp_path, synthetic)
    fitted = bench.fit(tokenizer, data, tmp_path / "fit")
    assert fitted["train_sequences"] == 2 * 3 - 1
    assert any(f["file"] == str(bad) for f in fitted["failures"])
    with pytest.raises(ValueError, match="unknown protocol option"):
        build_benchmark("ucf101-gfvd", samples=3)


# ------------------------------------------------------------------------------------------------ WebVid
def test_webvid_end_to_end_without_i3d(synthetic, tokenizer, tmp_path, no_i3d):
    bench = build_benchmark("webvid-t2v", **SMALL_WEBVID)
    data = bench.locate(None, synthetic)
    fitted, results, m = _run(bench, tokenizer, data, tmp_path / "fit")
    assert m["FVD"].value is None and "I3D" in m["FVD"].note
    assert m["TC"].value is None and "TC unavailable" in m["TC"].note
    assert m["FVD"].n_samples == 2
    assert fitted["train_sequences"] == 4 and m["tokens"].value == 148
    assert all(s["id"].endswith("-r0-0") for r in results for s in r.samples)


def test_webvid_with_i3d_computes_fvd_and_tc(synthetic, tokenizer, tmp_path, with_i3d):
    bench = build_benchmark("webvid-t2v", **SMALL_WEBVID)
    data = bench.locate(None, synthetic)
    _, results, m = _run(bench, tokenizer, data, tmp_path / "fit")
    gen = np.load(results[0].extras["gen_features"])
    real = np.load(results[0].extras["real_features"])
    assert m["FVD"].value == pytest.approx(_frechet_reference(real, gen), rel=1e-6, abs=1e-6)
    tc = [s["tc"] for s in results[0].samples]
    assert len(tc) == 2 and all(0.0 <= v <= 1.0 + 1e-9 for v in tc)
    assert m["TC"].value == pytest.approx(np.mean(tc))
    assert 0.0 <= m["TC real clips"].value <= 1.0 + 1e-9


# ------------------------------------------------------------------------------------------------ TC
def test_temporal_consistency_by_hand():
    from benchmarks.generation.features import temporal_consistency

    # frames (1, 0), (1, 1), (0, 1): consecutive cosines 1/sqrt(2) and 1/sqrt(2)
    f = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    assert float(temporal_consistency(f)[0]) == pytest.approx(1 / np.sqrt(2))
    assert float(temporal_consistency(torch.ones(2, 4, 3))[1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="T >= 2"):
        temporal_consistency(torch.ones(1, 1, 3))


def test_tc_of_a_constant_video_is_one(with_i3d):
    from benchmarks.generation.features import fvd_network, frame_features, temporal_consistency

    net, _ = fvd_network()
    frame = torch.rand(1, 3, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    video = frame.expand(-1, -1, 2, -1, -1).contiguous()
    feats = frame_features(video, net)
    assert feats.shape == (1, 2, 1024) and float(feats.abs().sum()) > 0
    assert float(temporal_consistency(feats)[0]) == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------------------------------------ tables
def test_table_specs_match_leaderboards_and_metrics():
    from benchmarks.leaderboards import load_leaderboard
    from benchmarks.tables import table2 as text_to_video, table8 as class_generation

    produced = {"ucf101-gfvd": {"gFVD", "tokens", "generator params", "prior train NLL"},
                "webvid-t2v": {"FVD", "TC", "TC real clips", "tokens", "generator params", "prior train NLL"}}
    for module, key in ((class_generation, "table8"), (text_to_video, "table2")):
        (spec,) = module.SPECS
        assert spec.key == key
        board = load_leaderboard(spec.leaderboard)
        for col in spec.columns:
            assert col.benchmark is None or col.metric in produced[col.benchmark], col
            if col.paper_metric:
                rows = board[board["metric"] == col.paper_metric]
                if col.paper_benchmark:
                    rows = rows[rows["benchmark"] == col.paper_benchmark]
                assert len(rows), col
        for row in spec.paper:
            hits = board[board["method"] == row.method]
            if row.setting:
                hits = hits[hits["setting"].str.contains(row.setting, regex=False)]
            assert len(hits), row


def test_registry_classes_and_requirements():
    from benchmarks.tasks import class_generation, text_to_video

    for name, table, module in (("ucf101-gfvd", "table8", class_generation), ("webvid-t2v", "table2", text_to_video)):
        bench = build_benchmark(name)
        paper = build_benchmark(name, **module.PAPER_PROTOCOL)   # the documented paper protocol is valid config
        assert paper.protocol["prior"] == "paper" and paper.protocol["fvd_frames"] == 16
        assert bench.table == table and bench.requires == ("tokens", "decode")
        assert bench.applies_to({"tokenizer": "x", "kind": "continuous"}) is not None
        assert bench.applies_to({"tokenizer": "x", "kind": "discrete"}) is None
