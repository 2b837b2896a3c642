"""Table rendering: paper rows come from the leaderboards, measured rows from records, never mixed; n/a cells carry
their reason; specs that are parts of one paper table merge."""
from __future__ import annotations

from benchmarks.tables.render import _merged_title, build_table, collect_specs
from benchmarks.tables.spec import Column, MeasuredRow, PaperRow, TableSpec


def _rec(tok, bench, metric, value, **kw):
    base = dict(tokenizer=tok, benchmark=bench, metric=metric, value=value, n_samples=4, n_failed=0,
                data_origin="synthetic", data_source="synthetic: x", protocol_version="1.0", device="cpu",
                code_version="abc", checkpoint_origin="trained-here", text_space=None, note="")
    base.update(kw)
    return base


SPEC = TableSpec(
    "table1", "Table 1: test", "table1_reconstruction.csv",
    (Column("WebVid PSNR", "webvid-recon", "psnr", "WebVid-10M", "PSNR"),
     Column("WebVid LPIPS", "webvid-recon", "lpips", "WebVid-10M", "LPIPS", "{:.3f}"),
     Column("Dim", None, "code_dim", None, None, "{:d}")),
    (MeasuredRow("tok-a", "A"), MeasuredRow("tok-b", "B")),
    (PaperRow("PyraTok"), PaperRow("LARP")))


def test_paper_and_measured_rows_are_separate_and_exact():
    recs = [_rec("tok-a", "webvid-recon", "psnr", 14.771), _rec("tok-a", "webvid-recon", "lpips", None,
                                                               note="unavailable: no weights")]
    t = build_table(SPEC, recs, {"tok-a": {"code_dim": 16}})
    paper = [r for r in t["rows"] if r["kind"] == "paper"]
    measured = [r for r in t["rows"] if r["kind"] == "measured"]
    # the paper's printed Table 1 values (PyraTok: 35.72 / 0.066; LARP: 33.03 / 0.091)
    assert [r["cells"][:2] for r in paper] == [["35.72", "0.066"], ["33.03", "0.091"]]
    assert all(r["source"] == "paper-reported" for r in paper)
    assert len(measured) == 1 and measured[0]["label"] == "A"        # B has no record: no row
    assert measured[0]["cells"] == ["14.77", "n/a", "16"]
    assert measured[0]["source"] == "measured here (synthetic)"
    assert any("unavailable: no weights" in n for n in t["notes"])


def test_probe_and_random_init_cells_are_marked():
    recs = [_rec("tok-a", "webvid-recon", "psnr", 10.0, text_space="probe", checkpoint_origin="random-init")]
    t = build_table(SPEC, recs)
    cell = [r for r in t["rows"] if r["kind"] == "measured"][0]["cells"][0]
    assert cell == "10.00 (probe) ‡" and any("random-init" in n for n in t["notes"])


def test_exact_setting_match_wins_over_prefix():
    spec = TableSpec("table6", "t", "table6_component_ablation.csv",
                     (Column("WebVid PSNR", "webvid-recon", "psnr", "WebVid-10M", "PSNR"),), (),
                     (PaperRow("PyraTok", "drift", "ablation=w/o L_drift"),
                      PaperRow("PyraTok", "drift+ar", "ablation=w/o L_drift & L_AR")))
    import pandas as pd

    from benchmarks.leaderboards import load_leaderboard

    lb = load_leaderboard("table6_component_ablation.csv")
    want = []
    for setting in ("ablation=w/o L_drift", "ablation=w/o L_drift & L_AR"):
        d = lb[(lb.setting == setting) & (lb.benchmark == "WebVid-10M") & (lb.metric == "PSNR")]
        want.append(str(d.iloc[0]["printed"]))
    assert want[0] != want[1]
    t = build_table(spec, [])
    assert [r["cells"][0] for r in t["rows"]] == want
    _ = pd


def test_table5_parts_merge_into_one_table():
    specs = collect_specs()
    assert "table5" in specs and "table5_kinetics" not in specs and "table5_mvbench" not in specs
    labels = [c.label for c in specs["table5"].columns]
    assert any("Kinetics-400" in x for x in labels) and any("MVBench" in x for x in labels)
    assert _merged_title("Table 5 (Kinetics columns): a", "Table 5 (MVBench column): b") == "Table 5: a; b"


def test_a_declared_row_that_nothing_ran_is_listed_with_its_reason():
    spec = TableSpec("table1", "Table 1: test", "table1_reconstruction.csv",
                     (Column("WebVid PSNR", "webvid-recon", "psnr", "WebVid-10M", "PSNR"),),
                     (MeasuredRow("tok-a", "A"), MeasuredRow("tok-b", "B"),
                      MeasuredRow("tok-c", "C", not_run="needs weights that are not here")))
    t = build_table(spec, [_rec("tok-a", "webvid-recon", "psnr", 14.0)])
    assert [r["label"] for r in t["rows"] if r["kind"] == "measured"] == ["A"]
    missing = [n for n in t["notes"] if n.startswith("Row not shown")]
    assert len(missing) == 2
    assert "B (tok-b)" in missing[0] and "no records yet" in missing[0]
    assert "C (tok-c): needs weights that are not here" in missing[1]


def test_csv_and_tex_keep_notes_and_provenance():
    from benchmarks.tables.render import _csv, _tex

    t = build_table(SPEC, [_rec("tok-a", "webvid-recon", "psnr", 14.771)])
    csv_text, tex = _csv(t), _tex(t)
    note = next(n for n in t["notes"] if "tok-b" in n)
    assert f"# note: {note}" in csv_text.splitlines()
    assert any(line.startswith("# provenance: webvid-recon") for line in csv_text.splitlines())
    import csv

    data = list(csv.reader(line for line in csv_text.splitlines() if not line.startswith("# ")))
    assert data[0][:4] == ["row", "numbers", "column", "value"]
    assert {"tokenizer", "benchmark", "metric", "ci95_lo", "ci95_hi", "mark"} <= set(data[0])
    rows = [dict(zip(data[0], d)) for d in data[1:]]
    a = next(r for r in rows if r["row"] == "A" and r["column"] == "WebVid PSNR")
    assert (a["numbers"], a["value"], a["tokenizer"], a["benchmark"], a["metric"]) == (
        "measured here (synthetic)", "14.77", "tok-a", "webvid-recon", "psnr")
    assert "% \\caption{Table 1: test." in tex and "% provenance: webvid-recon" in tex


def test_fixed_cells_descriptive_paper_columns_and_repeated_paper_rows():
    # Table 2's Type column is printed per method (its leaderboard setting differs from the FVD cells')
    t2 = collect_specs()["table2"]
    rows = {r["label"]: r["cells"] for r in build_table(t2, [])["rows"]}
    assert rows["MotionAura [44] ✗ PyraTok"][:2] == ["Discrete Diffusion", "374"]
    # a measured row's fixed cell
    t = build_table(t2, [_rec("quant-vq", "webvid-t2v", "FVD", 4000.0)])
    vq = next(r for r in t["rows"] if r["kind"] == "measured")
    assert vq["cells"][0] == "AR prior" and vq["cells"][1] == "4000.0"
    # Table 8 keeps both LARP-L rows (paper rows 5 and 10: gFVD 57 and 99)
    t8 = build_table(collect_specs()["table8"], [])
    assert [r["cells"][-1] for r in t8["rows"] if r["label"].startswith("LARP-L")] == ["57", "99"]
    # Table 5 shows the paper's PyraTok row once, with its VAE mark
    t5 = build_table(collect_specs()["table5"], [])
    pyratok = [r for r in t5["rows"] if r["label"].startswith("PyraTok")]
    assert len(pyratok) == 1 and pyratok[0]["cells"][0] == "✓"
