"""Zero-shot temporal action localization (benchmarks.tasks.localization): the App. B.3 segment decoding on
hand-made score curves, the latent-to-frame mapping, windowed encoding against a direct encode, and the two
benchmarks end to end on synthetic THUMOS14 / ActivityNet with an untrained tiny PyraTok (its numbers mean nothing;
the tests check the protocol, not the value)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from adapters.base import InputConstraints, NotSupported
from benchmarks.base import DataSource
from benchmarks.metrics.temporal_ap import TIOU_THUMOS14, mean_average_precision
from benchmarks.registry import build_benchmark
from benchmarks.tasks.localization import (
    SlidingWindowConfig,
    extract_segments,
    frame_descriptors,
    frame_to_latent_index,
    label_to_query,
    localization_examples,
    localize,
    plan_windows,
    window_scores,
)
from benchmarks.tables.figures import FIGURES
from benchmarks.tables.table4 import SPECS as TABLES
from benchmarks.visualization.localization import figure16_localization, plot_localization_examples

CAUSAL = InputConstraints(t_multiple=4, t_offset=1, hw_multiple=16)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from benchmarks.synthetic import generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(out, ["thumos14", "activitynet"], scale="tiny", log=None)
    return out


@pytest.fixture(scope="module")
def tok():
    torch.set_num_threads(1)
    from adapters.registry import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


class NotAligned:
    """The same tokenizer seen as a non-aligned one (as a continuous VAE would be)."""

    text_aligned = False

    def __init__(self, tok):
        self._tok = tok

    def __getattr__(self, item):
        return getattr(self._tok, item)

    def embed_text(self, texts):
        raise NotSupported("not text aligned")


# ------------------------------------------------------------------------------------------------ pure functions
def test_frame_to_latent_index_causal_identity_and_proportional():
    # 17 frames -> 5 latents (stride 4): frame 0 alone, then blocks of 4
    np.testing.assert_array_equal(frame_to_latent_index(17, 5), [0] + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4)
    np.testing.assert_array_equal(frame_to_latent_index(9, 9), np.arange(9))
    np.testing.assert_array_equal(frame_to_latent_index(4, 1), [0, 0, 0, 0])
    np.testing.assert_array_equal(frame_to_latent_index(6, 3), [0, 0, 1, 1, 2, 2])  # not 1 + s*k: proportional


def test_plan_windows_cover_every_frame_with_valid_lengths():
    assert plan_windows(65, 17, CAUSAL) == [(0, 17), (17, 17), (34, 17), (48, 17)]
    assert plan_windows(17, 17, CAUSAL) == [(0, 17)]
    assert plan_windows(10, 17, CAUSAL) == [(0, 9), (1, 9)]  # shorter than a window: largest valid length, twice
    for n in (1, 5, 16, 18, 40, 100):
        w = plan_windows(n, 17, CAUSAL)
        covered = np.zeros(n, bool)
        for s, length in w:
            assert (length - 1) % 4 == 0 and s + length <= n
            covered[s:s + length] = True
        assert covered.all()


def test_window_scores_against_brute_force():
    rng = np.random.default_rng(0)
    s = rng.normal(size=40)
    for k, stride in ((1, 1), (5, 1), (7, 3), (40, 1), (50, 1)):
        kk = min(k, len(s))
        brute = [s[i:i + kk].mean() for i in range(0, len(s) - kk + 1, stride)]
        np.testing.assert_allclose(window_scores(s, k, stride), brute)


def test_extract_segments_hand_made_curve():
    S = [0, 0, 1, 1, 1, 0, 0, 0.8, 0.8, 0, 0, 0, 0.5, 0]
    # window 1: runs [2..4] (mean 1), [7..8] (0.8), [12] (0.5); tau 0.5 on the min-max normalised curve
    assert extract_segments(S, 1) == [(2, 5, 1.0), (7, 9, 0.8), (12, 13, 0.5)]
    # window 3: frames [a, b + 3): [2, 7) and [7, 11) only touch -> kept apart
    assert extract_segments(S, 3) == [(2, 7, 1.0), (7, 11, 0.8), (12, 15, 0.5)]
    # window 4: [2, 8) and [7, 12) overlap -> merged with the higher score; [12, 16) touches -> apart
    assert extract_segments(S, 4) == [(2, 12, 1.0), (12, 16, 0.5)]
    # a higher tau keeps only the best run; stride 2 maps window i to frame 2i
    assert extract_segments(S, 1, tau=0.9) == [(2, 5, 1.0)]
    assert extract_segments(S, 3, stride=2, tau=0.9) == [(4, 11, 1.0)]
    # absolute threshold on the raw values
    assert extract_segments(S, 1, tau=0.7, tau_mode="absolute") == [(2, 5, 1.0), (7, 9, 0.8)]
    assert extract_segments(S, 1, tau=2.0, tau_mode="absolute") == []
    # a flat trajectory carries no evidence
    assert extract_segments([0.3] * 10, 2) == []
    with pytest.raises(ValueError):
        extract_segments(S, 1, tau_mode="nope")


def test_localize_recovers_ideal_score_curves():
    # ideal frame scores (1 inside the instances, 0 outside) with K = 1 give exactly the instances -> mAP 1
    fps = 8.0
    gt = {"v1": [("a", 10, 30), ("b", 40, 60)], "v2": [("a", 0, 12), ("a", 50, 64)]}
    preds, rows = [], []
    for vid, inst in gt.items():
        for label in ("a", "b"):
            s = np.zeros(64)
            for lab, a, b in inst:
                if lab == label:
                    s[a:b] = 1.0
            if s.any():
                preds += [(vid, label, a / fps, b / fps, sc) for a, b, sc in localize(s, SlidingWindowConfig(1))]
        rows += [(vid, lab, a / fps, b / fps) for lab, a, b in inst]
    assert mean_average_precision(rows, preds, TIOU_THUMOS14).avg_map == pytest.approx(1.0)
    # with the paper's K the segments are the windows' support: start and end widen by K - 1 at most
    segs = localize(np.r_[np.zeros(40), np.ones(30), np.zeros(40)], SlidingWindowConfig(window=7))
    (a, b, _), = segs
    assert 40 - 6 <= a <= 40 and 70 <= b <= 70 + 6


def test_label_to_query():
    assert label_to_query("BaseballPitch") == "baseball pitch"
    assert label_to_query("CleanAndJerk") == "clean and jerk"
    assert label_to_query("MovingLeft") == "moving left"
    assert label_to_query("Moving left") == "Moving left"
    assert label_to_query("Zigzagging") == "zigzagging"
    assert label_to_query("Long jump") == "Long jump"
    assert label_to_query("Snatch-2") == "Snatch-2"  # not plain CamelCase: kept


# ------------------------------------------------------------------------------------------------ features
def test_frame_descriptors_match_direct_encoding(synth, tok):
    from pyratok.data.video import frames_to_tensor, read_frames

    path = synth / "thumos14" / "videos" / "test" / "video_test_0000002.mp4"
    frames = frames_to_tensor(read_frames(path))[None]  # (1, 3, 65, 64, 64)

    def direct(clip):
        f = tok.features(tok.encode(clip), 1).float().mean(dim=(3, 4))[0]  # (D, T')
        # causal: level 1 has temporal token stride 2, so token j >= 1 covers 2 frames
        idx = [0] + [j for j in range(1, f.shape[1]) for _ in range(2)]
        return torch.nn.functional.normalize(f[:, idx].T, dim=-1)

    one, rate = frame_descriptors(tok, path, level=1, clip_frames=65, fps=None, size=None)
    assert rate == 8.0 and one.shape == (65, 16)
    torch.testing.assert_close(one, direct(frames), atol=1e-5, rtol=1e-4)
    # 17-frame windows: frames 0..16 from the first window, 51..64 from the tail window starting at 48
    win, _ = frame_descriptors(tok, path, level=1, clip_frames=17, fps=None, size=None)
    torch.testing.assert_close(win[:17], direct(frames[:, :, :17]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(win[51:], direct(frames[:, :, 48:])[3:], atol=1e-5, rtol=1e-4)
    # resampling to another rate: 8.125 s at 4 fps -> 32 frames
    low, rate = frame_descriptors(tok, path, level=1, clip_frames=17, fps=4.0, size=None)
    assert rate == 4.0 and low.shape == (32, 16)


# ------------------------------------------------------------------------------------------------ end to end
def _gt_from_json(path: Path, subset: str) -> dict:
    db = json.loads(path.read_text())["database"]
    return {v: [(a["label"], *a["segment"]) for a in e["annotations"]] for v, e in db.items() if e["subset"] == subset}


@pytest.mark.parametrize("name, json_name, subset, n_thr", [
    ("thumos14-tal", "thumos14.json", "test", 5),
    ("activitynet-tal", "activity_net.v1-3.min.json", "validation", 10),
])
def test_benchmark_end_to_end(synth, tok, tmp_path, name, json_name, subset, n_thr):
    bench = build_benchmark(name)
    assert bench.table == "table4" and bench.requires == ("features",)
    data = bench.locate(None, synth)
    assert data.origin == "synthetic"
    fitted = bench.fit(tok, data, tmp_path / "fit")
    json.dumps(fitted)
    assert len(fitted["splits"]) == 10 and fitted["splits_source"] == "files"
    for sp in fitted["splits"]:
        assert not set(sp["seen"]) & set(sp["unseen"])
        if sp["probe"]:  # one probe per split, stored under the fit folder
            assert Path(sp["probe"]).is_file() and Path(sp["probe"]).parent == tmp_path / "fit"
    assert any(sp["probe"] for sp in fitted["splits"])
    shards = bench.shards(data)
    results = [bench.run_shard(tok, data, s, fitted) for s in shards]
    json.dumps([r.to_dict() for r in results])
    gt = _gt_from_json(synth / name.split("-")[0] / json_name, subset)
    samples = [s for r in results for s in r.samples]
    assert sorted(s["id"] for s in samples) == sorted(gt) and not any(r.failures for r in results)
    for s in samples:
        assert s["fps"] == 8.0 and s["frames"] == 65
        for lab, a, b, sc in s["native"] + [x for v in s["probe"].values() for x in v]:
            assert 0 <= a < b <= s["frames"] / s["fps"] + 1e-9 and np.isfinite(sc)
        for sp in fitted["splits"]:  # probe predictions only for the split's unseen classes
            if sp["probe"]:
                assert {x[0] for x in s["probe"][sp["name"]]} <= set(sp["unseen"])
    metrics = {m.name: m for m in bench.reduce(results, data, fitted)}
    expected = {"avg_map"} | {n for n in metrics if n.startswith("map@") and "@probe" not in n}
    assert len(expected) == n_thr + 1
    for n in expected:
        for full, space in ((n, "native"), (n + "@probe", "probe")):
            m = metrics[full]
            assert m.extra["text_space"] == space and 0.0 <= m.value <= 1.0
            assert m.n_samples == len(gt) and m.n_failed == 0
    # the split average is the mean over splits of mAP on unseen classes, with GT read here from the raw JSON
    m = metrics["avg_map"]
    assert m.extra["n_splits"] == 10 and m.value == pytest.approx(np.mean(m.extra["per_split"]))
    sp = fitted["splits"][0]
    rows = [(v, lab, a, b) for v, inst in gt.items() for lab, a, b in inst if lab in sp["unseen"]]
    preds = [(s["id"], *x) for s in samples for x in s["native"] if x[0] in sp["unseen"]]
    ref = mean_average_precision(rows, preds, bench.protocol["tiou_thresholds"], classes=sp["unseen"])
    assert m.extra["per_split"][0] == pytest.approx(ref.avg_map)
    # shard 0 attaches a Fig. 16-style example image; figure16_localization stacks those of every tokenizer
    import base64

    from PIL import Image

    images = results[0].extras["images"]
    assert [i["name"] for i in images] == ["localization_examples"]
    sample_dir = tmp_path / "figures" / "samples" / name / tok.name
    sample_dir.mkdir(parents=True)
    (sample_dir / "localization_examples.png").write_bytes(base64.b64decode(images[0]["png"]))
    records = [{"tokenizer": tok.name, "benchmark": name, "metric": "avg_map", "data_origin": "synthetic"}]
    fig, = figure16_localization(records, tmp_path / "figures")
    assert fig.name == f"figure16_{name}.png"
    with Image.open(fig) as im:
        assert im.format == "PNG" and im.size[0] > 200


def test_non_aligned_tokenizer_gets_probe_metrics_only(synth, tok, tmp_path):
    bench = build_benchmark("thumos14-tal", max_videos=2, probe_max_videos=2, max_segments=1)
    data = bench.locate(None, synth)
    na = NotAligned(tok)
    fitted = bench.fit(na, data, tmp_path)
    results = [bench.run_shard(na, data, s, fitted) for s in bench.shards(data)]
    samples = [s for r in results for s in r.samples]
    assert len(samples) == 2 and all("native" not in s for s in samples)
    for s in samples:  # max_segments=1: one segment per video and query
        for preds in s["probe"].values():
            labels = [x[0] for x in preds]
            assert len(labels) == len(set(labels))
    names = {m.name for m in bench.reduce(results, data, fitted)}
    assert names and all(n.endswith("@probe") for n in names) and "avg_map@probe" in names


def test_corrupt_video_is_a_failure_record(tmp_path, tok):
    from benchmarks.synthetic import generate

    generate(tmp_path, ["thumos14"], scale="tiny", log=None)
    bad = tmp_path / "thumos14" / "videos" / "test" / "video_test_0000003.mp4"
    bad.write_bytes(b"this is not an mp4 file" * 10)
    bench = build_benchmark("thumos14-tal")
    data = DataSource(str(tmp_path / "thumos14"), "synthetic")
    results = [bench.run_shard(tok, data, s, None) for s in bench.shards(data)]
    failures = [f for r in results for f in r.failures]
    assert len(failures) == 1 and failures[0]["sample"] == "video_test_0000003"
    assert "video_test_0000003.mp4" in failures[0]["file"] and failures[0]["reason"]
    metrics = {m.name: m for m in bench.reduce(results, data, None)}
    assert metrics["avg_map"].n_failed == 1 and metrics["avg_map"].n_samples == 3
    assert "failed" in metrics["avg_map"].note
    assert metrics["avg_map@probe"].value is None and "probe unavailable" in metrics["avg_map@probe"].note
    # a missing file is a failure too
    (tmp_path / "thumos14" / "videos" / "test" / "video_test_0000004.mp4").unlink()
    shards = bench.shards(data)
    assert "video_test_0000004" in [i for s in shards for i in s.items]
    results = [bench.run_shard(tok, data, s, None) for s in shards]
    reasons = {f["sample"]: f["reason"] for r in results for f in r.failures}
    assert reasons["video_test_0000004"] == "video file not found"


def test_unknown_protocol_option_is_rejected():
    with pytest.raises(ValueError, match="unknown protocol option"):
        build_benchmark("thumos14-tal", windw=3)


def test_figure_and_table_spec(tmp_path):
    from PIL import Image

    samples = [{"id": "v1", "fps": 8.0, "frames": 65, "duration": 8.125,
                "ground_truth": [["MovingLeft", 1.0, 3.0], ["Spinning", 5.0, 6.0]],
                "native": [["MovingLeft", 1.2, 3.5, 0.9], ["MovingLeft", 6.0, 7.0, 0.4], ["Spinning", 0.0, 2.0, 0.3]]}]
    ex = localization_examples({"PyraTok": samples, "Other": samples}, n=4)
    assert [e["query"] for e in ex] == ["moving left", "spinning"]
    assert ex[0]["predictions"]["PyraTok"][0] == [1.2, 3.5, 0.9] and ex[0]["ground_truth"] == [[1.0, 3.0]]
    ex[0]["frames"] = np.zeros((4, 16, 16, 3), np.uint8)
    png = plot_localization_examples(ex, tmp_path / "fig16.png", title="synthetic")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 100
    spec, = TABLES
    assert spec.key == "table4" and figure16_localization in FIGURES
    assert {c.benchmark for c in spec.columns} == {"thumos14-tal", "activitynet-tal"}
    assert "pyratok-tiny" in [r.tokenizer for r in spec.measured]
    from benchmarks.leaderboards import load_leaderboard

    lb = load_leaderboard("table4")
    for row in spec.paper:
        sel = lb[(lb.method == row.method) & lb.setting.str.contains(row.setting or "")]
        assert len(sel), row
    for col in spec.columns:
        if col.paper_metric:
            assert ((lb.benchmark == col.paper_benchmark) & (lb.metric == col.paper_metric)).any()


def test_real_thumos14_annotations_without_videos(realdata, tok, tmp_path):
    """The real THUMOS14 JSON (unwrapped ActivityNet-style layout): every test video is listed, each missing video
    is a failure record, and without split files the 10 seeded 50/50 splits are generated (10 / 10 classes)."""
    src = realdata / "annotations" / "thumos14" / "thumos14.json"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    (tmp_path / "thumos14.json").symlink_to(src)
    db = json.loads(src.read_text())
    db = db.get("database", db)
    test_ids = sorted(v for v, e in db.items() if e["subset"].lower() in ("test", "testing"))
    bench = build_benchmark("thumos14-tal")
    data = DataSource(str(tmp_path), "real sample")
    shards = bench.shards(data)
    assert sorted(i for s in shards for i in s.items) == test_ids
    splits, source = bench._splits(data)
    assert source.startswith("generated") and len(splits) == 10
    assert all(len(sp.seen) == 10 and len(sp.unseen) == 10 for sp in splits)
    res = bench.run_shard(tok, data, shards[0], None)
    assert not res.samples and {f["reason"] for f in res.failures} == {"video file not found"}
    assert len(res.failures) == len(shards[0].items)
