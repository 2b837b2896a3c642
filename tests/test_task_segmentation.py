"""Zero-shot video segmentation benchmarks (benchmarks.tasks.segmentation) on synthetic YouTube-VIS / OVIS data:
end to end with an untrained tiny PyraTok (native + probe metrics), the pipeline with oracle features against the
annotation files, the split-file protocol, per-video failures, the figure and the Table 3 spec."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.base import DataSource
from benchmarks.tables.table3 import SPECS as TABLES
from benchmarks.tasks.segmentation import (OVISSegmentation, YouTubeVISSegmentation, predict_video, protocol_size,
                                           region_weights, upsample_logits, windows)
from benchmarks.visualization.segmentation import plot_segmentation_examples

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from benchmarks.synthetic import generate

    root = tmp_path_factory.mktemp("vis")
    generate(root, ["ytvis2021", "ovis"], scale="tiny")
    return root


@pytest.fixture(scope="module")
def tok():
    from adapters import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


def _src(root: Path, name: str) -> DataSource:
    return DataSource(str(root / name), "synthetic", f"synthetic {name}")


@pytest.mark.parametrize("cls,name", [(YouTubeVISSegmentation, "ytvis2021"), (OVISSegmentation, "ovis")])
def test_benchmark_runs_native_and_probe(cls, name, synth, tok, tmp_path):
    bench = cls(max_videos=2, probe_max_videos=3)
    assert (bench.table, bench.requires, bench.dataset) == ("table3", ("features",), name)
    data = _src(synth, name)
    fitted = bench.fit(tok, data, tmp_path / "fit")
    assert fitted["probe"] and Path(fitted["probe"]).is_file() and fitted["n_pairs"] >= 4
    json.dumps(fitted)
    shards = bench.shards(data)
    results = [bench.run_shard(tok, data, s, fitted) for s in shards]
    for r in results:
        json.dumps(r.to_dict())  # shard results travel as JSON
    assert sum(len(r.samples) for r in results) == 2 and not any(r.failures for r in results)
    metrics = {m.name: m for m in bench.reduce(results, data, fitted)}
    assert set(metrics) == {"map", "jaccard", "map@probe", "jaccard@probe"}
    for m in metrics.values():
        assert m.value is not None and 0.0 <= m.value <= 1.0 and m.n_samples == 2
        assert m.extra["text_space"] == ("probe" if m.name.endswith("@probe") else "native")
    pred_file = Path(results[0].extras["predictions"]["native"])
    assert isinstance(json.loads(pred_file.read_text()), list)


def test_pipeline_with_oracle_features_recovers_the_ground_truth(synth):
    """Features that *are* the ground truth (one channel per category + background at full resolution) must give
    near-perfect masks after upsampling, CRF, instance splitting and resizing: only same-category instances that
    touch (one 3-D component) may be lost."""
    from benchmarks.metrics.ytvis_eval import dt_tracks, evaluate_video, gt_tracks, reduce_records

    bench = OVISSegmentation()
    ds = bench.evaluation_plan(_src(synth, "ovis"))["eval"]
    ids = [c.id for c in ds.categories]
    K = len(ids)
    recs = []
    for v in ds:
        gm = v.instance_masks()
        onehot = np.zeros((K + 1, v.length, v.height, v.width), np.float32)
        for n, inst in enumerate(v.instances):
            onehot[ids.index(inst.category_id)] = np.maximum(onehot[ids.index(inst.category_id)], gm[n])
        onehot[K] = 1 - onehot[:K].max(0)
        feats = {"size": (v.height, v.width), "windows": [(0, v.length, torch.from_numpy(onehot), False)]}
        preds, info = predict_video(v, feats, torch.eye(K + 1), ids, bench.protocol)
        assert set(info["kept"]) == {i.category_id for i in v.instances}
        recs.append(evaluate_video(gt_tracks(v), dt_tracks(preds), bench._params(), ids))
    res = reduce_records(recs, ids)
    assert res.stats["AP50"] > 0.85 and res.stats["AP"] > 0.75 and res.jaccard > 0.85


def test_upsampling_geometry_and_its_adjoint():
    assert protocol_size(720, 1280, 256, 16) == (256, 448) and protocol_size(64, 96, 64, 16) == (64, 96)
    assert windows(17, 17) == [(0, 17)] and windows(20, 9) == [(0, 9), (9, 18), (11, 20)]
    # causal time: latent frame j sits on frame 4j, in between linear
    lat = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    up = upsample_logits(lat, (9, 2, 2), causal=True)[0, :, 0, 0]
    np.testing.assert_allclose(up.numpy(), np.arange(9) / 4.0, atol=1e-6)
    # region pooling weights are the adjoint of the upsampling: <w, f> == <mask, up(f)> for any f
    g = torch.Generator().manual_seed(0)
    f = torch.randn(1, 3, 4, 6, generator=g)
    mask = (torch.rand(1, 9, 16, 24, generator=g) > 0.7).float()
    w = region_weights(mask, (3, 4, 6), causal=True)
    lhs = (w * f).sum()
    rhs = (mask * upsample_logits(f, (9, 16, 24), causal=True)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-5)


def test_split_file_protocol_and_missing_ground_truth(synth, tok, tmp_path):
    root = tmp_path / "ytvis2021"
    shutil.copytree(synth / "ytvis2021", root)
    data = DataSource(str(root), "synthetic")
    # the official layout: valid without annotations -> a clear error naming the fix
    vj = root / "valid" / "instances.json"
    d = json.loads(vj.read_text())
    d.pop("annotations")
    vj.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="split_file"):
        YouTubeVISSegmentation().shards(data)
    # held-out train videos listed by id and by name
    train = json.loads((root / "train" / "instances.json").read_text())
    v1, v2 = train["videos"][0], train["videos"][1]
    (root / "heldout.txt").write_text(f"# held-out\n{v1['id']}\n{Path(v2['file_names'][0]).parent}\n")
    bench = YouTubeVISSegmentation(split_file="heldout.txt")
    shards = bench.shards(data)
    assert sorted(i for s in shards for i in s.items) == sorted([v1["id"], v2["id"]])
    plan = bench.evaluation_plan(data)
    assert {v.id for v in plan["seen"]}.isdisjoint({v1["id"], v2["id"]}) and len(plan["seen"]) >= 1
    res = bench.run_shard(tok, data, shards[0], None)  # no probe fitted: native only
    assert len(res.samples) == 2 and "held-out" in res.extras["eval_split"]
    names = {m.name: m for m in bench.reduce([res], data, None)}
    assert names["map"].value is not None and names["map@probe"].value is None
    assert "probe" in names["map@probe"].note


def test_bad_video_becomes_a_failure_record(synth, tok, tmp_path):
    root = tmp_path / "ovis"
    shutil.copytree(synth / "ovis", root)
    aj = root / "annotations" / "annotations_valid.json"
    d = json.loads(aj.read_text())
    bad = next(a for a in d["annotations"] if a["video_id"] == 2)
    bad["segmentations"] = bad["segmentations"][:-3]  # per-frame list shorter than the video
    aj.write_text(json.dumps(d))
    gone = next(v for v in d["videos"] if v["id"] == 3)
    shutil.rmtree(root / "valid" / Path(gone["file_names"][0]).parent)
    data = DataSource(str(root), "synthetic")
    bench = OVISSegmentation()
    shards = bench.shards(data)
    results = [bench.run_shard(tok, data, s, None) for s in shards]
    fails = [f for r in results for f in r.failures]
    reasons = {str(f["sample"]): f["reason"] for f in fails}
    assert set(reasons) == {"2", "3"}
    assert "entries" in reasons["2"] and "video 2" in reasons["2"]
    assert "frame folder does not exist" in reasons["3"]
    assert sorted(s["id"] for r in results for s in r.samples) == [1, 4]
    m = {x.name: x for x in bench.reduce(results, data, None)}
    assert m["map"].n_failed == 2 and m["map"].n_samples == 2


def test_non_aligned_tokenizer_gets_probe_metrics_only(synth, tok, tmp_path):
    class NotAligned:
        text_aligned = False
        name = "not-aligned"

        def __getattr__(self, item):
            return getattr(tok, item)

    bench = YouTubeVISSegmentation(max_videos=1, save_predictions=False)
    data = _src(synth, "ytvis2021")
    fitted = bench.fit(NotAligned(), data, tmp_path)
    res = [bench.run_shard(NotAligned(), data, s, fitted) for s in bench.shards(data)]
    names = {m.name for m in bench.reduce(res, data, fitted)}
    assert names == {"map@probe", "jaccard@probe"}


def test_figure_is_written(synth, tok, tmp_path):
    from PIL import Image

    out = plot_segmentation_examples(tok, _src(synth, "ytvis2021"), tmp_path / "fig8.png", video_ids=[1],
                                     n_frames=3)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 100


def test_table3_spec_matches_registry_and_leaderboard():
    from adapters.registry import REGISTRY
    from benchmarks.leaderboards import load_leaderboard
    from benchmarks.registry import BENCHMARKS

    (spec,) = TABLES
    assert spec.key == "table3"
    lb = load_leaderboard(spec.leaderboard)
    for col in spec.columns:
        assert col.benchmark in BENCHMARKS
        if col.metric.endswith("@probe"):
            assert col.paper_metric is None and "probe" in col.label
        else:
            assert ((lb.benchmark == col.paper_benchmark) & (lb.metric == col.paper_metric)).any()
    for row in spec.measured:
        assert row.tokenizer in REGISTRY
    for row in spec.paper:
        assert (lb.method == row.method).any() and lb.setting[lb.method == row.method].str.contains(row.setting).any()
