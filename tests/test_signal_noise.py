"""Signal versus noise in the tables: reference rows rendered apart, intervals in cells, the overlap / below marks
against hand-worked intervals; reduce steps attach the seeded bootstrap interval of their own per-sample values;
references run only where their capabilities cover the benchmark (skipped, never failed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from benchmarks.base import DataSource, ShardResult
from benchmarks.metrics.uncertainty import bootstrap_ci
from benchmarks.tables.render import _csv, _md, build_table
from benchmarks.tables.spec import Column, MeasuredRow, TableSpec


def _rec(tok, bench, metric, value, lo=None, hi=None, hib=True, **extra):
    ci = None if lo is None else dict(lo=lo, hi=hi, estimate=value, level=0.95, n=10, n_boot=2000, seed=0,
                                      method="percentile bootstrap over samples")
    return dict(tokenizer=tok, benchmark=bench, metric=metric, value=value, n_samples=10, n_failed=0,
                data_origin="synthetic", data_source="synthetic: x", protocol_version="1", device="cpu",
                code_version="abc", checkpoint_origin="trained-here", text_space=None, note="",
                higher_is_better=hib, extra={**({"ci95": ci} if ci else {}), **extra})


RECON = TableSpec(
    "table1", "Table 1: test", None,
    (Column("WebVid PSNR", "webvid-recon", "psnr"), Column("WebVid LPIPS", "webvid-recon", "lpips", fmt="{:.3f}")),
    (MeasuredRow("tok-a", "A"), MeasuredRow("tok-b", "B"), MeasuredRow("tok-c", "C"),
     MeasuredRow("ref-grey", "Grey", reference=True), MeasuredRow("ref-bicubic", "Bicubic", reference=True)))


def test_reference_rows_are_rendered_apart_and_overlapping_cells_marked():
    recs = [_rec("tok-a", "webvid-recon", "psnr", 15.0, 14.0, 16.0),     # overlaps grey [15.2, 15.8]
            _rec("tok-b", "webvid-recon", "psnr", 20.0, 19.0, 21.0),     # above both references: beyond noise
            _rec("tok-c", "webvid-recon", "psnr", 10.0, 9.0, 11.0),      # below grey's interval: worse than it
            _rec("ref-grey", "webvid-recon", "psnr", 15.5, 15.2, 15.8),
            _rec("ref-bicubic", "webvid-recon", "psnr", 13.0, 12.5, 13.5),  # A and B are above it
            # lower is better: B's [0.10, 0.20] against bicubic's [0.25, 0.30] is beyond noise (better)
            _rec("tok-b", "webvid-recon", "lpips", 0.15, 0.10, 0.20, hib=False),
            _rec("ref-bicubic", "webvid-recon", "lpips", 0.28, 0.25, 0.30, hib=False)]
    t = build_table(RECON, recs)
    kinds = [r["kind"] for r in t["rows"]]
    assert kinds == ["measured", "measured", "measured", "group", "reference", "reference"]
    assert t["rows"][3]["label"] == "References (same code, same data)"
    cells = {r["label"]: r["cells"] for r in t["rows"]}
    assert cells["A"][0] == "15.00 [14.00, 16.00] †"
    assert cells["B"] == ["20.00 [19.00, 21.00]", "0.150 [0.100, 0.200]"]
    assert cells["C"][0] == "10.00 [9.00, 11.00] ↓"
    assert cells["Grey"][0] == "15.50 [15.20, 15.80]" and cells["Bicubic"][1] == "0.280 [0.250, 0.300]"
    beyond = next(n for n in t["notes"] if n.startswith("Beyond noise"))
    assert "2 of 4 compared cells" in beyond and "B / WebVid PSNR" in beyond and "B / WebVid LPIPS" in beyond
    assert any("† = the cell's interval overlaps" in n for n in t["notes"])
    md = _md(t)
    assert "| *References (same code, same data)* |" in md and "| *Grey* |" in md
    import csv

    rows = list(csv.DictReader(x for x in _csv(t).splitlines() if not x.startswith("# ")))
    a = next(r for r in rows if r["row"] == "A")
    assert (a["tokenizer"], a["benchmark"], a["metric"], a["ci95_lo"], a["ci95_hi"], a["mark"]) == (
        "tok-a", "webvid-recon", "psnr", "14.00", "16.00", "†")
    assert next(r for r in rows if r["row"] == "Grey")["kind"] == "reference"


def test_null_row_shows_mean_and_p95_and_chance_row_marks_cells_at_chance():
    col = Column("THUMOS14 Avg. mAP", "thumos14-tal", "avg_map", scale=100.0)
    acc = Column("Kinetics-400", "kinetics400-cls", "top1", scale=100.0)
    spec = TableSpec("table4", "t", None, (col, acc),
                     (MeasuredRow("tok-a", "A"), MeasuredRow("tok-b", "B"),
                      MeasuredRow("ref-random-features", "Null", reference=True, draws=20),
                      MeasuredRow("chance", "Chance", reference=True, chance=True)))
    draws = [0.01 * (i + 1) for i in range(20)]                    # 1 % .. 20 %: mean 10.5 %
    p95 = 0.01 * (1 + 0.95 * 19)                                   # numpy's linear percentile: 19.05 %
    recs = [_rec(f"ref-random-features:seed={i}", "thumos14-tal", "avg_map", v) for i, v in enumerate(draws)]
    recs += [_rec("tok-a", "thumos14-tal", "avg_map", 0.15, 0.12, 0.19),      # lo 12 % <= p95: inside the null
             _rec("tok-b", "thumos14-tal", "avg_map", 0.30, 0.25, 0.35),      # lo 25 % > p95: beyond the null
             _rec("tok-a", "kinetics400-cls", "top1", 0.20, 0.10, 0.30,
                  chance_level={"value": 1 / 6, "definition": "1/C"}),        # chance 16.67 % inside [10, 30]
             _rec("tok-b", "kinetics400-cls", "top1", 0.50, 0.40, 0.60, chance_level={"value": 1 / 6})]
    t = build_table(spec, recs)
    cells = {r["label"]: r["cells"] for r in t["rows"]}
    assert cells["Null"][0] == f"10.50 / p95 {100 * p95:.2f}"
    assert cells["Chance"] == ["", "16.67"]
    assert cells["A"] == ["15.00 [12.00, 19.00] †", "20.00 [10.00, 30.00] †"]
    assert cells["B"] == ["30.00 [25.00, 35.00]", "50.00 [40.00, 60.00]"]
    assert any("over 20 seeded draws" in n for n in t["notes"])


def test_declared_reference_that_nothing_ran_is_listed():
    t = build_table(RECON, [_rec("tok-a", "webvid-recon", "psnr", 15.0, 14.0, 16.0)])
    assert [r["kind"] for r in t["rows"]] == ["measured"]          # no reference records: no group
    assert any("Grey (ref-grey)" in n and "no records yet" in n for n in t["notes"])
    assert t["rows"][0]["cells"][0] == "15.00 [14.00, 16.00]"      # nothing to compare with: no mark


# ------------------------------------------------------------------------------------------------ reduce
def test_reconstruction_reduce_attaches_the_bootstrap_interval_of_its_samples():
    from benchmarks.tasks.reconstruction import WebVidReconstruction

    rng = np.random.default_rng(3)
    samples = [{"id": i, "psnr": float(rng.normal(20, 2)), "psnr_clip_mse": float(rng.normal(19, 2)),
                "ssim": float(rng.uniform(0.3, 0.9)), "lpips": None,
                "geometry": {"frames": 17, "size": [64, 64]}} for i in range(13)]
    results = [ShardResult(samples=samples[:8]), ShardResult(samples=samples[8:])]
    metrics = {m.name: m for m in WebVidReconstruction().reduce(results, DataSource("x", "synthetic"), None)}
    for name in ("psnr", "psnr_clip_mse", "ssim"):
        vals = [s[name] for s in samples]
        assert metrics[name].value == pytest.approx(np.mean(vals))
        assert metrics[name].extra["ci95"] == bootstrap_ci(vals, seed=0, n_boot=2000).to_dict()
    assert metrics["lpips"].value is None and metrics["lpips"].extra["ci95"] is None
    assert "LPIPS" not in metrics["psnr"].extra["conventions"]["psnr"]
    assert "unavailable" in metrics["psnr"].extra["conventions"]["lpips"]


def test_interval_of_two_values_by_hand():
    # resampled means of [0, 2] take 0, 1, 2 with probabilities 1/4, 1/2, 1/4: the 2.5 % and 97.5 % ends are 0, 2
    from benchmarks.tasks.reconstruction import WebVidReconstruction

    samples = [{"id": i, "psnr": v, "psnr_clip_mse": v, "ssim": 0.5, "lpips": None,
                "geometry": {"frames": 1, "size": [8, 8]}} for i, v in enumerate((0.0, 2.0))]
    m = WebVidReconstruction().reduce([ShardResult(samples=samples)], DataSource("x", "synthetic"), None)[0]
    assert (m.extra["ci95"]["lo"], m.extra["ci95"]["hi"], m.extra["ci95"]["estimate"]) == (0.0, 2.0, 1.0)


def test_video_qa_interval_and_chance_follow_the_questions():
    from benchmarks.metrics.chance import guesser_interval
    from benchmarks.tasks.video_qa import _qa_chance, _qa_interval

    samples = [{"task": "t", "n_candidates": n, "answer_index": 0, "pred": {"native": p}}
               for n, p in ((2, 0), (4, 1), (4, 0), (3, 0), (2, 1))]
    correct = [1.0, 0.0, 1.0, 1.0, 0.0]
    assert _qa_interval(samples, "native", "overall") == bootstrap_ci(
        correct, seed=0, n_boot=2000, method="percentile bootstrap over questions").to_dict()
    c = _qa_chance(samples)
    assert c["value"] == pytest.approx((1 / 2 + 1 / 4 + 1 / 4 + 1 / 3 + 1 / 2) / 5)
    assert (c["lo"], c["hi"]) == guesser_interval([1 / 2, 1 / 4, 1 / 4, 1 / 3, 1 / 2])


def test_default_psnr_is_the_mean_of_per_frame_psnrs():
    from benchmarks.tasks.reconstruction import reconstruction_scores

    g = torch.Generator().manual_seed(0)
    target = torch.rand(1, 3, 4, 16, 16, generator=g) * 2 - 1
    recon = (target + 0.1 * torch.randn(target.shape, generator=g) * torch.arange(1, 5).view(1, 1, 4, 1, 1))
    sc = reconstruction_scores(recon, target)
    t01, r01 = ((target[0] + 1) / 2).numpy(), ((recon[0].clamp(-1, 1) + 1) / 2).numpy()
    per_frame = [peak_signal_noise_ratio(t01[:, k], r01[:, k], data_range=1.0) for k in range(4)]
    assert sc["psnr"] == pytest.approx(np.mean(per_frame), abs=1e-4)
    assert sc["psnr_clip_mse"] == pytest.approx(peak_signal_noise_ratio(t01, r01, data_range=1.0), abs=1e-4)
    assert sc["psnr"] != pytest.approx(sc["psnr_clip_mse"], abs=1e-2)   # frames of unequal error: they differ


# ------------------------------------------------------------------------------------------------ applicability
def test_references_run_only_where_their_capabilities_cover_the_benchmark():
    from adapters.registry import build_tokenizer
    from benchmarks.registry import build_benchmark

    grey = build_tokenizer("ref-grey").identity()
    rand = build_tokenizer("ref-random-features:seed=3").identity()
    assert build_benchmark("webvid-recon").applies_to(grey) is None
    assert build_benchmark("mcl-jcv-compression").applies_to(grey) is None
    assert "lacks features, text" in build_benchmark("thumos14-tal").applies_to(grey)
    assert "lacks decode" in build_benchmark("coco-recon").applies_to(rand)
    assert build_benchmark("kinetics400-cls").applies_to(rand) is None
    assert "not timed" in build_benchmark("tokenizer-efficiency").applies_to(grey)
    assert "lacks" in build_benchmark("ucf101-gfvd").applies_to(grey)          # needs tokens


def test_a_run_skips_a_reference_cleanly_and_scores_the_other(tmp_path):
    from benchmarks.runner import RunConfig, run

    s = run(RunConfig(benchmarks=["coco-recon"], tokenizers=["ref-grey", "ref-random-features:seed=0"],
                      benchmark_options={"coco-recon": {"max_samples": 3}}, out=str(tmp_path / "out"),
                      cache_dir=str(tmp_path / "cache"), engine="inline", progress=False, log=lambda s: None))
    assert not s.task_failures and not s.tokenizer_failures
    assert [(x["tokenizer"], x["benchmark"]) for x in s.not_applicable] == [("ref-random-features:seed=0",
                                                                              "coco-recon")]
    psnr = next(r for r in s.records if r["tokenizer"] == "ref-grey" and r["metric"] == "psnr")
    assert psnr["n_samples"] == 3 and psnr["extra"]["ci95"]["n"] == 3
    assert psnr["extra"]["ci95"]["lo"] <= psnr["value"] <= psnr["extra"]["ci95"]["hi"]
