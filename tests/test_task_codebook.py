"""Codebook benchmarks (Figure 10 sweep, Figure 29 utilisation), their plots and the Table 6/9 specs.

Random-init tokenizers on the synthetic WebVid set only (never trains). References: the set of observed token ids
per level counted by brute force on clips read independently (benchmarks.tools.ci_gate.synthetic_clips), PSNR/SSIM
from scikit-image, token counts from the tiny geometry by hand.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from adapters import build_tokenizer
from adapters.registry import REGISTRY
from benchmarks.base import DataSource, ShardResult
from benchmarks.tools.ci_gate import synthetic_clips
from benchmarks.leaderboards import load_leaderboard
from benchmarks.registry import BENCHMARKS, build_benchmark
from benchmarks.synthetic import generate
from benchmarks.tables import figure10, figure29, table6, table9
from benchmarks.tasks.codebook import CodebookSizeSweep, CodebookUtilization, CodeHistogram
from benchmarks.visualization.codebook import plot_figure10, plot_figure29

TABLES = table9.SPECS + table6.SPECS + figure10.SPECS + figure29.SPECS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def webvid(tmp_path_factory) -> DataSource:
    root = tmp_path_factory.mktemp("syn")
    generate(root, "webvid", scale="tiny")
    return DataSource(str(root / "webvid"), "synthetic")


@pytest.fixture(scope="module")
def tiny():
    return build_tokenizer("pyratok-tiny", init="random")


@pytest.fixture(scope="module")
def tiny_k8():
    return build_tokenizer("pyratok-tiny-k8", init="random")


def run(bench, tok, data):
    results = [bench.run_shard(tok, data, s, None) for s in bench.shards(data)]
    # what the runner does: results travel as JSON
    results = [ShardResult.from_dict(json.loads(json.dumps(r.to_dict()))) for r in results]
    return {m.name: m for m in bench.reduce(results, data, None)}, results


def brute_force_ids(tok, data: DataSource, size: int) -> list[set]:
    """Observed ids per level over all val clips read by the CI gate's reader (one batch of all clips)."""
    clips = synthetic_clips(Path(data.root), size=size, frames=9)
    enc = tok.encode(torch.stack([c[0] for c in clips]), [c[1] for c in clips])
    return [set(t.flatten().tolist()) for t in enc.tokens]


# --------------------------------------------------------------------------------------------- Figure 29
def test_utilization_matches_brute_force(webvid, tiny):
    bench = CodebookUtilization(resolutions=[32, 64])
    metrics, _ = run(bench, tiny, webvid)
    # tiny pyramid strides (t, s) = (2,16), (4,16), (4,32), (8,32) on 9 frames -> 5, 3, 3, 2 time steps:
    # 32 px: 5*2*2 + 3*2*2 + 3*1*1 + 2*1*1 = 37 tokens; 64 px: 5*4*4 + 3*4*4 + 3*2*2 + 2*2*2 = 148 tokens
    for res, per_clip in ((32, 37), (64, 148)):
        levels = brute_force_ids(tiny, webvid, res)
        assert len(levels) == 4
        n_clips = 4
        tokens = n_clips * per_clip
        pooled = set().union(*levels)
        m = metrics[f"utilization@{res}"]
        assert m.value == pytest.approx(len(pooled) / 2 ** 16, abs=0) and m.n_samples == n_clips
        assert m.extra["tokens"] == tokens and m.extra["num_used"] == len(pooled)
        assert metrics[f"max_utilization@{res}"].value == pytest.approx(tokens / 2 ** 16)
        assert metrics[f"tokens@{res}"].value == pytest.approx(per_clip)
        for lvl, ids in enumerate(levels, 1):
            assert metrics[f"utilization@{res}/level{lvl}"].value == pytest.approx(len(ids) / 2 ** 16, abs=0)
        assert "at most" in m.note


def test_utilization_denominator_follows_codebook_size(webvid, tiny_k8):
    metrics, _ = run(CodebookUtilization(resolutions=[64]), tiny_k8, webvid)
    pooled = set().union(*brute_force_ids(tiny_k8, webvid, 64))
    assert metrics["utilization@64"].value == pytest.approx(len(pooled) / 256, abs=0)
    assert metrics["max_utilization@64"].value == 1.0  # 768 tokens > 256 codes


def test_code_histogram_union_and_counts():
    g = torch.Generator().manual_seed(1)
    a = [torch.randint(0, 50, (3, 7), generator=g), torch.randint(0, 50, (3, 7), generator=g)]
    b = [torch.randint(0, 50, (5,), generator=g), torch.randint(0, 50, (5,), generator=g)]
    h1, h2 = CodeHistogram(), CodeHistogram()
    h1.add(a)
    h2.add(b)
    h = CodeHistogram.from_json(json.loads(json.dumps(h1.to_json())))
    h.merge(h2)
    for s in range(2):
        ids = torch.cat([a[s].flatten(), b[s]]).tolist()
        assert dict(h.streams[s]) == {i: ids.count(i) for i in set(ids)}
    usage = h.usage(50)  # 50 is not a power of two: 64 bins, divide by 50
    assert usage.num_used == len(set(torch.cat([x.flatten() for x in a + b]).tolist()))
    with pytest.raises(ValueError, match="outside"):
        h.usage(10)


# --------------------------------------------------------------------------------------------- Figure 10
def test_size_sweep_psnr_ssim_against_skimage(webvid, tiny_k8):
    metrics, results = run(CodebookSizeSweep(), tiny_k8, webvid)
    clips = synthetic_clips(Path(webvid.root), size=64, frames=9)
    video = torch.stack([c[0] for c in clips])
    enc = tiny_k8.encode(video, [c[1] for c in clips])
    rec = tiny_k8.decode(enc)
    x = ((video.numpy() + 1) / 2).astype(np.float64)
    y = ((rec.clamp(-1, 1).numpy() + 1) / 2).astype(np.float64)
    psnrs = [peak_signal_noise_ratio(x[i], y[i], data_range=1.0) for i in range(len(clips))]
    ssims = [np.mean([structural_similarity(x[i][:, t], y[i][:, t], channel_axis=0, data_range=1.0,
                                            gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
                      for t in range(9)]) for i in range(len(clips))]
    assert metrics["psnr"].value == pytest.approx(np.mean(psnrs), abs=1e-3)
    assert metrics["ssim"].value == pytest.approx(np.mean(ssims), abs=1e-4)
    assert metrics["psnr"].n_samples == 4 and metrics["psnr"].n_failed == 0
    assert metrics["vocab"].value == 256 and metrics["codebook_bits"].value == 8
    pooled = set().union(*[set(t.flatten().tolist()) for t in enc.tokens])
    assert metrics["utilization"].value == pytest.approx(len(pooled) / 256, abs=0)
    assert metrics["tokens_per_clip"].value == 148  # 5*4*4 + 3*4*4 + 3*2*2 + 2*2*2 on 9x64x64
    assert metrics["bpp"].value == pytest.approx(148 * 8 / (9 * 64 * 64))
    lp = metrics["lpips"]
    if lp.value is None:
        assert lp.note.startswith("LPIPS unavailable")
    assert results[0].extras["geometry"] == {"frames": 9, "size": [64, 64]}


def test_corrupt_video_is_one_failure(webvid, tiny, tmp_path):
    root = tmp_path / "webvid"
    shutil.copytree(webvid.root, root)
    import csv

    with open(root / "results_10M_val.csv") as f:
        rows = list(csv.DictReader(f))
    bad = root / "videos" / rows[0]["page_dir"] / f"{rows[0]['videoid']}.mp4"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated file
    data = DataSource(str(root), "synthetic")
    metrics, results = run(CodebookSizeSweep(), tiny, data)
    fails = [f for r in results for f in r.failures]
    assert len(fails) == 1 and fails[0]["sample"] == rows[0]["videoid"] and fails[0]["file"] == str(bad)
    assert metrics["psnr"].n_samples == 3 and metrics["psnr"].n_failed == 1 and metrics["psnr"].value is not None


def test_benchmarks_registered_and_protocol_options(webvid):
    assert BENCHMARKS["codebook-size"][0] == "benchmarks.tasks.codebook:CodebookSizeSweep"
    assert BENCHMARKS["codebook-utilization"][0] == "benchmarks.tasks.codebook:CodebookUtilization"
    b = build_benchmark("codebook-utilization", resolutions=[32])
    assert b.protocol["resolutions"] == [32] and b.table == "figure29"
    assert build_benchmark("codebook-size").default_tokenizers() == ["pyratok-tiny-k8", "pyratok-tiny-k12",
                                                                     "pyratok-tiny"]
    with pytest.raises(ValueError, match="unknown protocol option"):
        CodebookSizeSweep(resolution=3)
    shards = CodebookSizeSweep(max_samples=3).shards(webvid)
    assert sum(len(s.items) for s in shards) == 3 and all(s.files[0].endswith("results_10M_val.csv") for s in shards)


# --------------------------------------------------------------------------------------------- plots
def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


def test_plots_write_png(tmp_path):
    recs = []
    for tok, k, psnr in (("pyratok-tiny-k8", 8, 12.0), ("pyratok-tiny-k12", 12, 12.5), ("pyratok-tiny", 16, 13.0)):
        for metric, value in (("vocab", 2 ** k), ("psnr", psnr), ("ssim", 0.3), ("lpips", None),
                              ("utilization", 0.01)):
            recs.append({"benchmark": "codebook-size", "tokenizer": tok, "metric": metric, "value": value,
                         "data_origin": "synthetic", "checkpoint_origin": "random-init"})
    for res, u in ((32, 0.002), (64, 0.008), (128, 0.02)):
        recs += [{"benchmark": "codebook-utilization", "tokenizer": "pyratok-tiny", "metric": f"utilization@{res}",
                  "value": u, "data_origin": "synthetic"},
                 {"benchmark": "codebook-utilization", "tokenizer": "pyratok-tiny",
                  "metric": f"max_utilization@{res}", "value": 3 * u, "data_origin": "synthetic"}]
    assert _png(plot_figure10(recs, tmp_path / "f10.png"))
    assert _png(plot_figure29(recs, tmp_path / "f29.png"))
    with pytest.raises(ValueError, match="no codebook-size records"):
        plot_figure10(recs[-6:], tmp_path / "none.png")
    with pytest.raises(ValueError, match="no codebook-utilization records"):
        plot_figure29(recs[:5], tmp_path / "none.png")


# --------------------------------------------------------------------------------------------- table specs
def test_table_specs_point_at_real_rows_and_names():
    keys = {t.key for t in TABLES}
    assert keys == {"table9", "table6", "figure10", "figure29"}
    for spec in TABLES:
        lb = load_leaderboard(spec.leaderboard)
        for row in spec.measured:
            assert row.tokenizer in REGISTRY or row.not_run, row.tokenizer
        for col in spec.columns:
            assert col.benchmark is None or col.benchmark in BENCHMARKS, col.benchmark
            if col.paper_metric:
                bench = lb["benchmark"] == (col.paper_benchmark or "")
                assert (bench & (lb["metric"] == col.paper_metric)).any(), (spec.key, col.label)
        for prow in spec.paper:
            hit = lb[(lb["method"] == prow.method) & lb["setting"].str.contains(prow.setting, regex=False)]
            assert len(hit), (spec.key, prow.setting)
    t9 = next(t for t in TABLES if t.key == "table9")
    assert [r.tokenizer for r in t9.measured if not r.not_run and not r.reference] == [
        "quant-vq", "quant-gvq", "quant-lfq", "quant-rvq", "quant-fsq", "pyratok-tiny"]
    assert [r.tokenizer for r in t9.measured if r.reference] == ["ref-grey", "ref-mean-colour", "ref-bicubic"]
    assert len(t9.paper) == 7  # every printed row of Table 9
    t6 = next(t for t in TABLES if t.key == "table6")
    assert len(t6.paper) == int(load_leaderboard("table6")["source_row"].max())  # every printed row of Table 6
    assert math.isclose(next(c for c in next(t for t in TABLES if t.key == "figure29").columns
                             if c.metric == "utilization@64").scale, 100.0)
