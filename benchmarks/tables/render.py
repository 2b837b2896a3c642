"""Render the paper's tables and figures from result records (never by hand).

``render_all(out)`` reads ``<out>/records/*.jsonl``, collects the :class:`~benchmarks.tables.spec.TableSpec` s of
the table modules (:data:`benchmarks.tables.TABLE_MODULES`, module-level ``SPECS``; specs sharing a key are merged,
e.g. Table 5 = Kinetics columns + MVBench column) and writes, per table, ``<out>/tables/<key>.md``, ``.csv`` and
``.tex``; :data:`benchmarks.tables.figures.FIGURES` (callables ``fn(records, figures_dir) -> [paths]``) write
``<out>/figures/*.png``.

Each table has two kinds of rows, never mixed: **paper** rows (numbers reported in the paper, from ``leaderboards/``)
and **measured** rows (records of this harness; the row says on which data: synthetic, real sample or real
dataset). A measured cell with no value shows ``n/a`` and its reason in the notes; a cell that was not run shows
``—``; a declared row (:mod:`benchmarks.matrix`) that nothing ran is not drawn but named in the notes with its
reason (its ``not_run``, or "no records yet"), so no row disappears silently. Below each table: the provenance of
its measured cells (data sources, sample counts, devices, code versions, checkpoint origins). The ``.csv`` ends
with ``# note:`` / ``# provenance:`` lines and the ``.tex`` with a commented LaTeX caption and the same lines,
so a pasted table keeps its caveats.
"""
from __future__ import annotations

import csv
import importlib
import json
import io

from collections import OrderedDict
from pathlib import Path

from benchmarks.matrix import REFERENCE_GROUP
from benchmarks.tables import noise
from benchmarks.tables.spec import Column, MeasuredRow, TableSpec

__all__ = ["collect_specs", "collect_figures", "load_records", "build_table", "render_all"]

REPO = Path(__file__).resolve().parents[2]


#: the "How to read these tables" section of ``<out>/tables/README.md``
HOW_TO_READ = """## How to read these tables

**Rows.** Three kinds, never mixed: *paper* rows (the paper's own numbers, `leaderboards/`), *measured* rows (bold:
this harness, on the data named in the row's Numbers column: synthetic, real sample or real dataset) and, under
*References (same code, same data)* (italic), trivial methods scored by the same benchmark code on the same data:

- reconstruction and compression (Tables 1, 6, 7, 9): **Grey** (every pixel mid-grey, 0 bits), **Mean colour** (each
  clip's mean RGB at 8 bits per channel, 24 bits per clip), **Bicubic** (each frame bicubic-downsampled to the
  largest 8-bit RGB grid within tiny PyraTok's bits per pixel, upsampled back; Table 7: within the compression
  target);
- zero-shot understanding (Tables 3, 4, 5, 10): the **random-feature null** (seeded standard-normal features and
  text embeddings, `ref-random-features:seed=0..19`), shown as *mean / p95* over the 20 draws, and **Chance** (the
  analytic expected score of a uniform random guesser, `benchmarks.metrics.chance`; detection and mask mAP have
  none, their floor is the null);
- generation (Tables 2, 8): the FVD cell's note states the real-vs-real *noise floor* — FVD between two disjoint
  halves of the real clips at that sample size (5 seeded splits) — in its record's `extra.real_vs_real_floor`.

**Trained-here rows.** Every trained-here PyraTok variant, ablation and quantizer baseline starts from the tiny VAE
shipped in `pyratok/checkpoints/tiny-wan-vae` and runs stages 1-3 of one recipe
(`benchmarks.provisioning.recipes.variant_config`, seed 0), on synthetic clips whose captions are redacted so that no
class, category or answer a zero-shot benchmark scores is named (`benchmarks/provisioning/zero_shot.py`). Training is
deterministic: bit-identical weights across processes, thread settings and a busy neighbour on one machine
(`tests/test_train_determinism.py`); across CPU types and library builds it is not measured here, and the CI gate's
0.5 dB is the stated bound on reconstruction PSNR. The spread over training seeds of the headline tiny PyraTok is in
`results/train/tiny.md` (3 seeds); each table's cells are one seed.

**Cells.** `15.10 [14.20, 16.00]` = the value and its 95 % percentile-bootstrap interval over the evaluation samples
(clips, images, videos or questions; seed 0, 2000 resamples; the record's `extra.ci95`). Zero-shot protocols with
class splits also record the interval over splits (`extra.ci95_splits`). The interval is the noise of the
evaluation set, not of training. A cell without brackets has no interval in its record (a record from before
intervals, a set-level value, or a single sample). `—` = not run; `n/a` = run but not computable (the notes say why).

**Marks.** `†` = the cell's interval overlaps a reference's (its interval, the null's range up to its 95th
percentile, or the chance level): not distinguishable from a trivial method. `↓` = the interval lies entirely on the
worse side of a reference's. An unmarked cell with an interval is beyond noise better than every reference in its
column; each table's notes list those cells. `‡` = an untrained (random-init) tokenizer, a smoke-test number.
`(probe)` = scored through the ridge text-alignment probe, not the tokenizer's own text space.

**Conventions** (reconstruction and compression): values in [-1, 1] at the tokenizer, metrics on RGB in [0, 1];
PSNR = mean of per-frame PSNRs, then over clips (the per-clip-MSE PSNR is recorded beside it as `psnr_clip_mse`);
SSIM with an 11-tap Gaussian window (sigma 1.5) per RGB channel, channel mean, per frame; LPIPS (AlexNet) is
unavailable offline and never substituted. Every record repeats them in `extra.conventions`.

**Pasting.** The `.csv` has one line per cell with `tokenizer, benchmark, metric` (the record behind it),
`ci95_lo, ci95_hi` and `mark`, and ends with `# note:` / `# provenance:` lines; the `.tex` carries the notes as a
commented caption. Skip lines starting with `# ` to read the data."""


def _modules():
    from benchmarks.tables import TABLE_MODULES

    mods = []
    for name in TABLE_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ImportError as err:  # a table whose optional dependency is missing: skip it, say so
            print(f"[tables] skipping {name}: {err}")
    return mods


def collect_specs() -> "OrderedDict[str, TableSpec]":
    """Every table module's ``SPECS``; specs with the same key, or the same ``extra["part_of"]`` (a paper table whose
    columns come from several task modules, e.g. Table 5 = Kinetics + MVBench), become one table."""
    specs: OrderedDict[str, TableSpec] = OrderedDict()
    for m in _modules():
        for spec in m.SPECS:
            key = spec.extra.get("part_of") or spec.key
            if key in specs:
                old = specs[key]
                cols = old.columns + tuple(c for c in spec.columns if c not in old.columns)
                measured = old.measured + tuple(r for r in spec.measured
                                                if r.tokenizer not in {x.tokenizer for x in old.measured})
                paper = old.paper + tuple(r for r in spec.paper if r not in old.paper)
                title = _merged_title(old.title, spec.title) if spec.extra.get("part_of") else old.title
                specs[key] = TableSpec(key, title, old.leaderboard or spec.leaderboard, cols, measured,
                                       paper, old.notes + tuple(n for n in spec.notes if n not in old.notes),
                                       {**spec.extra, **old.extra})
            else:
                specs[key] = spec if spec.key == key else TableSpec(key, spec.title, spec.leaderboard, spec.columns,
                                                                    spec.measured, spec.paper, spec.notes,
                                                                    spec.extra)
    return OrderedDict(sorted(specs.items(), key=lambda kv: _table_order(kv[0])))


def _merged_title(a: str, b: str) -> str:
    """"Table 5 (Kinetics columns): x" + "Table 5 (MVBench column): y" -> "Table 5: x; y"."""
    import re

    strip = lambda t: re.sub(r"^(Table|Figure) \d+( \([^)]*\))?:\s*", "", t)  # noqa: E731
    head = re.match(r"^((Table|Figure) \d+)", a)
    return f"{head.group(1) if head else a}: {strip(a)}; {strip(b)}"


def _table_order(key: str):
    import re

    m = re.match(r"(table|figure)(\d+)", key)
    return (0 if m and m.group(1) == "table" else 1, int(m.group(2)) if m else 99, key)


def collect_figures() -> list:
    from benchmarks.tables.figures import FIGURES

    return list(FIGURES)


def load_records(out: Path) -> list[dict]:
    from benchmarks.records import read_records

    recs = []
    for f in sorted((Path(out) / "records").glob("*.jsonl")):
        recs += read_records(f)
    return recs


# ------------------------------------------------------------------------------------------------ cells
def _paper_value(lb, row, col: Column):
    """The leaderboard cell of a paper row for a column: printed text (as the paper shows it) or None."""
    if lb is None or col.paper_metric is None:
        return None
    d = lb[lb["method"] == row.method]
    if row.source_row is not None:  # a method the paper lists twice (Table 8's LARP-L)
        d = d[d["source_row"] == row.source_row]
    if row.setting is not None and not col.paper_any_setting:
        settings = d["setting"].fillna("")
        exact = d[settings == row.setting]  # "w/o L_drift" must not also match "w/o L_drift & L_AR"
        d = exact if not exact.empty else d[settings.str.contains(row.setting, regex=False)]
    d = d[d["metric"] == col.paper_metric]
    if col.paper_benchmark is None:
        d = d[d["benchmark"].isna() | (d["benchmark"] == "")]
    else:
        d = d[d["benchmark"] == col.paper_benchmark]
    if d.empty:
        return None
    r = d.iloc[0]
    printed = r.get("printed")
    if isinstance(printed, str) and printed.strip():
        return printed.strip()
    v = r.get("value")
    return None if v is None or v != v else str(v)


def _measured(records: list[dict], tokenizer: str, col: Column):
    for r in records:
        if r["tokenizer"] == tokenizer and r["benchmark"] == col.benchmark and r["metric"] == col.metric:
            return r
    return None


def _format(v, col: Column) -> str:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return str(v)
    x = v * col.scale if col.scale != 1 else v
    try:
        return col.fmt.format(x)
    except (ValueError, TypeError):  # e.g. "{:d}" for a float: print it as a number anyway
        return f"{x:g}"


def _fmt(rec: dict, col: Column) -> str:
    return "n/a" if rec["value"] is None else _format(rec["value"], col)


# ------------------------------------------------------------------------------------------------ tables
def build_table(spec: TableSpec, records: list[dict], identities: dict | None = None) -> dict:
    """{"header", "rows": [{"label", "kind", "source", "cells"}], "notes", "provenance"} for one spec."""
    from benchmarks.leaderboards import load_leaderboard

    lb = load_leaderboard(spec.leaderboard) if spec.leaderboard else None
    header = ["Method", "Numbers"] + [c.label for c in spec.columns]
    rows, notes, used, not_run = [], list(spec.notes), [], []
    missing: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()  # reason -> (row, column) with no value
    for pr in spec.paper:
        cells = [_paper_value(lb, pr, c) for c in spec.columns]
        if all(c is None for c in cells):
            continue
        label = pr.label or pr.method + (f" ({pr.setting})" if pr.setting else "")
        rows.append({"label": label, "kind": "paper", "source": "paper-reported",
                     "cells": [c if c is not None else "" for c in cells]})
    tok_rows = [mr for mr in spec.measured if not getattr(mr, "reference", False)]
    ref_rows = [mr for mr in spec.measured if getattr(mr, "reference", False)]
    # the references first (their comparators mark the tokenizer cells), drawn after the tokenizer rows
    ref_out, comparators, null_draws = [], {i: [] for i in range(len(spec.columns))}, {}
    for mr in ref_rows:
        row = _reference_row(mr, spec, records, comparators, null_draws, used, missing)
        if row is None:
            not_run.append(mr)
        else:
            ref_out.append(row)
    marks, n_no_interval = [], 0
    for mr in tok_rows:
        cells, meta, origins = [], [], set()
        for i, c in enumerate(spec.columns):
            if c.benchmark is None:  # a fixed cell of the row, or an identity field (vocab, code_dim, params, ...)
                ident = (identities or {}).get(mr.tokenizer, {})
                v = dict(mr.cells).get(c.metric, ident.get(c.metric, ident.get("config", {}).get(c.metric)))
                cells.append("" if v is None else _format(v, c))
                meta.append(None)
                continue
            rec = _measured(records, mr.tokenizer, c)
            if rec is None:
                cells.append("—")
                meta.append(None)
                continue
            used.append(rec)
            origins.add(rec["data_origin"])
            cell = _fmt(rec, c)
            ci = noise.record_interval(rec)
            mark = ""
            if rec["value"] is None:
                missing.setdefault(rec.get("note") or "no value", []).append((mr.label, c.label))
            else:
                cell += noise.interval_text(ci, c)
                n_no_interval += ci is None
                if ci is not None and rec.get("higher_is_better") is not None and comparators[i]:
                    mark = noise.mark_of(rec, comparators[i])
                    marks.append((mr.label, c.label, mark))
            if rec.get("text_space") == "probe":
                cell += " (probe)"
            if mark:
                cell += " " + mark
            if rec.get("checkpoint_origin") == "random-init":
                cell += " " + noise.MARK_RANDOM_INIT
            cells.append(cell)
            meta.append(_cell_meta(rec["tokenizer"], c, rec["value"], ci, mark))
        if all(x in ("—", "") for x, c in zip(cells, spec.columns) if c.benchmark is not None):
            not_run.append(mr)  # declared, nothing ran it: listed in the notes, never dropped silently
            continue
        src = "measured here (" + ", ".join(sorted(origins)) + ")" if origins else "measured here"
        rows.append({"label": mr.label + (f" [{mr.setting}]" if mr.setting else ""), "kind": "measured",
                     "source": src, "cells": cells, "meta": meta})
    if ref_out:
        rows.append({"label": REFERENCE_GROUP, "kind": "group", "source": "", "cells": [""] * len(spec.columns)})
        rows += ref_out
    if any(m is not None for r in rows for m in r.get("meta", [])) or ref_rows:
        notes += noise.noise_notes(marks, n_no_interval, bool(ref_rows), null_draws)
    for reason, cells in missing.items():
        cols = sorted({col for _, col in cells})  # (row label, column label): labels may hold " / "
        if len(cells) > 3:
            notes.append(f"n/a in {', '.join(cols)} ({len(cells)} cells): {reason}")
        else:
            notes.append(f"n/a in {'; '.join(f'{row} / {col}' for row, col in cells)}: {reason}")
    for mr in not_run:
        why = mr.not_run or ("run by the default suite (benchmarks.matrix) but no records yet: regenerate "
                             "results with `python -m benchmarks.run`")
        notes.append(f"Row not shown, not run: {mr.label} ({mr.tokenizer}): {why}.")
    if any(r.get("checkpoint_origin") == "random-init" for r in used):
        notes.append(f"{noise.MARK_RANDOM_INIT} untrained (random-init) tokenizer: a smoke-test number with no "
                     "meaning.")
    return {"title": spec.title, "header": header, "rows": rows, "notes": _dedup(notes),
            "provenance": _provenance(used)}


def _cell_meta(tokenizer: str, col: Column, value, ci, mark: str) -> dict:
    """What the csv says about a measured cell beside its text (the site links it to its record)."""
    return {"tokenizer": tokenizer, "benchmark": col.benchmark, "metric": col.metric,
            "ci95_lo": "" if ci is None else noise.scaled(ci.lo, col),
            "ci95_hi": "" if ci is None else noise.scaled(ci.hi, col), "mark": mark}


def _reference_row(mr: MeasuredRow, spec: TableSpec, records: list[dict], comparators: dict, null_draws: dict,
                   used: list, missing: dict) -> dict | None:
    """One row of the references group (None when nothing ran it); adds each column's comparator."""
    cells, meta, origins = [], [], set()
    fewest = None
    names = tuple(f"{mr.tokenizer}:seed={i}" for i in range(mr.draws)) if mr.draws else (mr.tokenizer,)
    for i, c in enumerate(spec.columns):
        if c.benchmark is None:
            cells.append(dict(mr.cells).get(c.metric, ""))
            meta.append(None)
            continue
        col_recs = [r for r in records if r["benchmark"] == c.benchmark and r["metric"] == c.metric]
        if mr.chance:
            ch = noise.chance_of(col_recs)
            if ch is None:
                cells.append("")
                meta.append(None)
                continue
            comparators[i].append(ch[0])
            cells.append(_format(ch[0], c))
            meta.append(_cell_meta("chance", c, ch[0], None, ""))
            continue
        if mr.draws:
            draws = [r for r in col_recs if r["tokenizer"] in names]
            if draws and all(r.get("higher_is_better") is None for r in draws):
                cells.append("")     # a descriptive column (chance, rate): no null to compare with
                meta.append(None)
                continue
            ns = noise.null_of(col_recs, names)
            if ns is None:
                cells.append("—" if not draws else "n/a")
                meta.append(None)
                continue
            used.extend(draws)
            origins.update(r["data_origin"] for r in draws)
            if ns.n_draws >= 2:
                comparators[i].append(ns)
            fewest = ns.n_draws if fewest is None else min(fewest, ns.n_draws)
            cells.append(f"{_format(ns.mean, c)} / p95 {_format(ns.p95, c)}"
                         + (f" (n = {ns.n_draws})" if ns.n_draws != mr.draws else ""))
            meta.append({**_cell_meta(f"{mr.tokenizer}:seed=0..{mr.draws - 1}", c, ns.mean, None, ""),
                         "null_p95": noise.scaled(ns.p95, c)})
            continue
        rec = _measured(records, mr.tokenizer, c)
        if rec is None:
            cells.append("—")
            meta.append(None)
            continue
        used.append(rec)
        origins.add(rec["data_origin"])
        ci = noise.record_interval(rec)
        if rec["value"] is None:
            missing.setdefault(rec.get("note") or "no value", []).append((mr.label, c.label))
            cells.append(_fmt(rec, c))
        else:
            cells.append(_fmt(rec, c) + noise.interval_text(ci, c))
            if rec.get("higher_is_better") is not None:
                comparators[i].append(noise.comparator_of(rec))
        meta.append(_cell_meta(rec["tokenizer"], c, rec["value"], ci, ""))
    measured_cols = [x for x, c in zip(cells, spec.columns) if c.benchmark is not None]
    if all(x in ("—", "") for x in measured_cols):
        return None
    if mr.draws and fewest is not None:
        null_draws[mr.label] = fewest
    src = ("analytic (benchmarks.metrics.chance)" if mr.chance else
           "reference, measured here (" + ", ".join(sorted(origins)) + ")")
    return {"label": mr.label + (f" [{mr.setting}]" if mr.setting else ""), "kind": "reference", "source": src,
            "cells": cells, "meta": meta}


def _dedup(items):
    return list(dict.fromkeys(items))


def _provenance(recs: list[dict]) -> list[str]:
    if not recs:
        return ["No measured cells yet (run `python -m benchmarks.run`)."]
    by_bench: OrderedDict[str, dict] = OrderedDict()
    for r in recs:
        b = by_bench.setdefault(r["benchmark"], {"sources": set(), "n": set(), "failed": 0, "proto": set()})
        b["sources"].add(r["data_source"])
        if r["value"] is not None:
            b["n"].add(r["n_samples"])
        b["failed"] = max(b["failed"], r.get("n_failed") or 0)
        b["proto"].add(str(r["protocol_version"]))
    lines = []
    for name, b in by_bench.items():
        n = sorted(b["n"]) or [0]
        lines.append(f"{name} (protocol v{', '.join(sorted(b['proto']))}): {'; '.join(sorted(b['sources']))}; "
                     f"samples per measured cell {n[0]}{'-' + str(n[-1]) if n[-1] != n[0] else ''}"
                     + (f"; up to {b['failed']} failed samples per cell (failures.jsonl)" if b["failed"] else ""))
    devices = sorted({r["device"] for r in recs})
    code = sorted({str(r["code_version"]) for r in recs})
    ck = sorted({r["checkpoint_origin"] for r in recs})
    lines.append(f"device: {'; '.join(devices)} | code version: {', '.join(code)} | checkpoints: {', '.join(ck)}")
    return lines


def _md(t: dict) -> str:
    head = t["header"]
    lines = [f"# {t['title']}", "",
             "Paper rows: numbers reported in the paper (leaderboards/). Measured rows: this harness, on the data "
             "named in the row. The two are never mixed in one row.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in t["rows"]:
        if r["kind"] == "group":
            lines.append("| " + " | ".join([f"*{r['label']}*", ""] + [""] * len(r["cells"])) + " |")
            continue
        label = {"measured": f"**{r['label']}**", "reference": f"*{r['label']}*"}.get(r["kind"], r["label"])
        lines.append("| " + " | ".join([label, r["source"]] + [str(c) for c in r["cells"]]) + " |")
    if t["notes"]:
        lines += ["", "Notes:"] + [f"- {n}" for n in t["notes"]]
    lines += ["", "Provenance of the measured cells:"] + [f"- {p}" for p in t["provenance"]]
    return "\n".join(lines) + "\n"


def _csv(t: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # one line per cell; tokenizer, benchmark, metric name the record behind a measured or reference cell (the
    # site links it), ci95_lo / ci95_hi its interval in the column's scale, mark its signal-vs-noise mark
    w.writerow(["row", "numbers", "column", "value", "kind", "tokenizer", "benchmark", "metric", "ci95_lo",
                "ci95_hi", "mark"])
    for r in t["rows"]:
        if r["kind"] == "group":
            continue
        meta = r.get("meta") or [None] * len(r["cells"])
        for h, c, m in zip(t["header"][2:], r["cells"], meta):
            if c not in ("", None):
                m = m or {}
                w.writerow([r["label"], r["source"], h, c, r["kind"], m.get("tokenizer", ""), m.get("benchmark", ""),
                            m.get("metric", ""), m.get("ci95_lo", ""), m.get("ci95_hi", ""), m.get("mark", "")])
    # the caveats travel with the numbers: trailing lines starting with "# " (skip them to read the data; a
    # column label may itself start with "#", e.g. "#Tokens", so pandas' comment="#" is not safe)
    buf.write(f"# {t['title']}\n")
    buf.writelines(f"# note: {n}\n" for n in t["notes"])
    buf.writelines(f"# provenance: {p}\n" for p in t["provenance"])
    return buf.getvalue()


def _tex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("—", "--"), ("†", r"$^\dagger$"), ("‡", r"$^\ddagger$"), ("↓", r"$\downarrow$"),
                 ("✗", "no"), ("✓", "yes")):
        s = s.replace(a, b)
    return s


def _tex(t: dict) -> str:
    n = len(t["header"])
    lines = [f"% {t['title']} -- generated by benchmarks.tables.render from results/records; do not edit",
             r"\begin{tabular}{ll" + "c" * (n - 2) + "}", r"\toprule",
             " & ".join(_tex_escape(h) for h in t["header"]) + r" \\", r"\midrule"]
    last = None
    for r in t["rows"]:
        if r["kind"] == "group":
            lines += [r"\midrule", r"\multicolumn{" + str(n) + r"}{l}{\emph{" + _tex_escape(r["label"]) + "}}"
                      + r" \\"]
            last = "group"
            continue
        if last == "paper" and r["kind"] == "measured":
            lines.append(r"\midrule")
        last = r["kind"]
        lines.append(" & ".join(_tex_escape(str(x)) for x in [r["label"], r["source"]] + r["cells"]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    # a pasted table keeps its caveats: notes and provenance as a caption-ready block and as comments
    caption = " ".join([t["title"] + "."] + list(t["notes"]))
    lines += [r"% \caption{" + _tex_escape(caption) + "}"]
    lines += ["% note: " + _tex_escape(n) for n in t["notes"]]
    lines += ["% provenance: " + _tex_escape(p) for p in t["provenance"]]
    return "\n".join(lines) + "\n"


def render_all(out: str | Path) -> list[Path]:
    """Write every table (md, csv, tex) and figure; returns the written paths."""
    out = Path(out)
    records = load_records(out)
    tdir, fdir = out / "tables", out / "figures"
    tdir.mkdir(parents=True, exist_ok=True)
    fdir.mkdir(parents=True, exist_ok=True)
    written = []
    index = ["# Tables and figures", "",
             "Generated by `python -m benchmarks.run` from `results/records/`; paper numbers from `leaderboards/`.",
             ""]
    ident_file = out / "tokenizers.json"
    identities = json.loads(ident_file.read_text()) if ident_file.is_file() else {}
    for key, spec in collect_specs().items():
        t = build_table(spec, records, identities)
        for ext, text in (("md", _md(t)), ("csv", _csv(t)), ("tex", _tex(t))):
            p = tdir / f"{key}.{ext}"
            p.write_text(text)
            written.append(p)
        n_meas = sum(1 for r in t["rows"] if r["kind"] == "measured")
        n_ref = sum(1 for r in t["rows"] if r["kind"] == "reference")
        index.append(f"- [{spec.title}]({key}.md): {n_meas} measured rows"
                     + (f", {n_ref} reference rows" if n_ref else ""))
    for fig in collect_figures():
        try:
            written += [Path(p) for p in (fig(records, fdir) or [])]
        except Exception as err:  # noqa: BLE001 — one broken figure must not lose the tables
            print(f"[tables] figure {getattr(fig, '__name__', fig)} failed: {type(err).__name__}: {err}")
    (tdir / "README.md").write_text("\n".join(index + ["", HOW_TO_READ]) + "\n")
    written.append(tdir / "README.md")
    return written



