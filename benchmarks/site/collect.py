"""Read what a run left in ``results/`` into the plain model the site pages are drawn from.

Inputs (each optional except the tables; a missing one leaves its part of the site empty, never fails the site):
``records/*.jsonl`` (one record per benchmark x tokenizer x metric), ``tables/<key>.md`` (the paper tables: title,
header, paper / measured / reference rows, notes, provenance), ``figures/*.png``, ``tokenizers.json`` (identity
of each tokenizer) and ``run_summary.json``.

A measured table cell is linked to the record it was printed from, so the site can show its interval and
provenance. The link comes, in this order, from ``tables/<key>.csv`` when it names each cell's tokenizer,
benchmark and metric; from the table declarations (:func:`benchmarks.tables.render.collect_specs`: column ->
benchmark + metric, row label -> tokenizer) when they can be imported; otherwise from the printed numbers, only
where they single out one record (see :func:`_from_values`; other cells stay unlinked rather than risk showing
the wrong provenance).
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.records import read_records

__all__ = ["Cell", "Row", "Table", "SiteData", "collect", "load_records", "parse_table_md", "cell_number"]


@dataclass
class Cell:
    text: str                         # as the table prints it ("16.32", "16.67 (probe)", "n/a", "—", "")
    record: dict | None = None        # the measured record behind it (None: paper cell or not linked)
    scale: float = 1.0                # printed number = record value x scale (100 for % columns)


@dataclass
class Row:
    label: str
    source: str                       # "paper-reported" | "measured here (synthetic)" | ...
    kind: str                         # "paper" | "measured" | "reference"
    cells: list[Cell]
    tokenizer: str | None = None      # registry name of a measured row, when known


@dataclass
class Table:
    key: str                          # "table1" -> results/tables/table1.md
    title: str
    columns: list[str]                # value columns (after Method and Numbers)
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    intro: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)   # file names under figures/
    link: str = ""                    # how measured cells were linked: "declarations" | "values" | reason


@dataclass
class SiteData:
    results_dir: Path
    tables: list[Table]
    records: list[dict]
    tokenizers: dict                  # name -> identity (tokenizers.json)
    figures: list[str]                # file names under figures/
    summary: dict                     # run_summary.json


# ------------------------------------------------------------------------------------------------ inputs
def load_records(results_dir: Path) -> list[dict]:
    """Every record of ``records/*.jsonl``; a line that is not a JSON object fails naming file and line."""
    return [r for f in sorted((Path(results_dir) / "records").glob("*.jsonl")) for r in read_records(f)]


def _load_json(path: Path, default):
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def _split_md_row(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", body)]


def _row_kind(label: str, source: str) -> str:
    s, lab = source.lower(), label.lower()
    if "reference" in s or "reference" in lab:
        return "reference"
    if s.startswith("paper"):
        return "paper"
    return "measured"


def parse_table_md(path: Path) -> Table:
    """One ``tables/<key>.md`` as written by the table renderer: ``# title``, intro lines, a pipe table whose
    first two columns are the row label and where its numbers come from, then ``Notes:`` and ``Provenance...:``
    bullet lists."""
    path = Path(path)
    lines = path.read_text().splitlines()
    title = next((l.lstrip("#").strip() for l in lines if l.startswith("#")), path.stem)
    start = next((i for i, l in enumerate(lines) if l.lstrip().startswith("|")), None)
    if start is None or start + 1 >= len(lines):
        raise ValueError(f"{path}: no Markdown table (a line starting with '|') found")
    header = _split_md_row(lines[start])
    if len(header) < 2:
        raise ValueError(f"{path}: the table header needs at least a label and a numbers column: {lines[start]!r}")
    intro = [l.strip() for l in lines[:start] if l.strip() and not l.startswith("#")]
    rows, j = [], start + 2
    while j < len(lines) and lines[j].lstrip().startswith("|"):
        cells = _split_md_row(lines[j])
        cells += [""] * (len(header) - len(cells))
        label = re.sub(r"^\*\*(.*)\*\*$", r"\1", cells[0])
        rows.append(Row(label, cells[1], _row_kind(label, cells[1]), [Cell(c) for c in cells[2:len(header)]]))
        j += 1
    sections: dict[str, list[str]] = {"notes": [], "provenance": []}
    current = None
    for l in lines[j:]:
        s = l.strip()
        if s.lower().startswith("notes"):
            current = "notes"
        elif s.lower().startswith("provenance"):
            current = "provenance"
        elif s.startswith("- ") and current:
            sections[current].append(s[2:])
        elif s and current and sections[current]:  # a wrapped bullet continues the last one
            sections[current][-1] += " " + s
    return Table(path.stem, title, header[2:], rows, sections["notes"], sections["provenance"], intro)


# ------------------------------------------------------------------------------------------------ linking
_NUM = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def cell_number(text: str) -> tuple[float, int] | None:
    """The first number printed in a cell and its number of decimals ("16.67 (probe)" -> (16.67, 2)), or None."""
    m = _NUM.search(text or "")
    if not m:
        return None
    s = m.group(0).replace(",", "")
    try:
        x = float(s)
    except ValueError:
        return None
    dec = len(s.split(".", 1)[1]) if "." in s and "e" not in s.lower() else 0
    return x, dec


def _prints_as(value, x: float, dec: int, scale: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return abs(value * scale - x) <= 0.5 * 10 ** -dec + 1e-9 * max(1.0, abs(x))


def _from_declarations(tables: list[Table], records: list[dict]) -> str | None:
    """Link cells through the table declarations; returns None on success, else why they could not be used."""
    try:
        from benchmarks.tables.render import collect_specs
        specs = collect_specs()
    except Exception as err:  # noqa: BLE001 — any failure here just means: link by values instead
        return f"table declarations not importable ({type(err).__name__}: {err})"
    index: dict[tuple, dict] = {}
    for r in records:
        index.setdefault((r.get("tokenizer"), r.get("benchmark"), r.get("metric")), r)
    for t in tables:
        spec = specs.get(t.key)
        if spec is None:
            continue
        cols = {c.label: c for c in getattr(spec, "columns", ())}
        row_tok = {}
        for group in ("measured", "references", "reference"):
            for mr in getattr(spec, group, ()) or ():
                setting = getattr(mr, "setting", "")
                row_tok[mr.label + (f" [{setting}]" if setting else "")] = mr.tokenizer
        for row in t.rows:
            if row.kind == "paper" or row.label not in row_tok:
                continue
            row.tokenizer = row_tok[row.label]
            for name, cell in zip(t.columns, row.cells):
                col = cols.get(name)
                if col is None or getattr(col, "benchmark", None) is None:
                    continue  # an identity column (params, vocab): no record behind it
                cell.record = index.get((row.tokenizer, col.benchmark, col.metric))
                cell.scale = float(getattr(col, "scale", 1.0) or 1.0)
        t.link = "declarations"
    return None


_SCALES = (1.0, 100.0)  # printed = value (most columns) or value x 100 (% columns)


def _from_values(t: Table, records: list[dict]) -> None:
    """Link measured cells without the table declarations, from the printed numbers alone — only where that is
    unambiguous, because a wrong provenance is worse than none.

    A row's tokenizer is the one whose records reproduce the most of the row's numbers (a tie links nothing); a
    column's (benchmark, metric, scale) is the one that reproduces the most rows' numbers given their tokenizers
    (a tie links nothing). A cell is linked only when the column's record of the row's tokenizer is the *only*
    record of that tokenizer that prints as the cell (on balanced synthetic data top-1 and mean-class accuracy
    are often equal: such cells stay unlinked)."""
    numeric = [r for r in records if isinstance(r.get("value"), (int, float)) and not isinstance(r["value"], bool)]
    by_tok: dict = {}
    for r in numeric:
        by_tok.setdefault(r.get("tokenizer"), []).append(r)
    rows = [r for r in t.rows if r.kind != "paper"]
    parsed = {id(r): [cell_number(c.text) for c in r.cells] for r in rows}

    def hits(tok, p):
        return [(r, s) for r in by_tok.get(tok, []) for s in _SCALES if _prints_as(r["value"], *p, s)]

    def unique_best(counter: Counter):
        best = counter.most_common(2)
        return best[0][0] if best and (len(best) == 1 or best[1][1] < best[0][1]) else None

    for row in rows:
        votes: Counter = Counter()
        for p in parsed[id(row)]:
            if p is not None:
                votes.update({tok for tok in by_tok if hits(tok, p)})
        row.tokenizer = unique_best(votes)
    for ci in range(len(t.columns)):
        keys: Counter = Counter()
        for row in rows:
            p = parsed[id(row)][ci] if ci < len(parsed[id(row)]) else None
            if p is not None and row.tokenizer is not None:
                keys.update({(r.get("benchmark"), r.get("metric"), s) for r, s in hits(row.tokenizer, p)})
        key = unique_best(keys)
        if key is None:
            continue
        for row in rows:
            p = parsed[id(row)][ci] if ci < len(parsed[id(row)]) else None
            if p is None or row.tokenizer is None:
                continue
            found = hits(row.tokenizer, p)
            if len({id(r) for r, _ in found}) == 1 and (found[0][0].get("benchmark"), found[0][0].get("metric"),
                                                         found[0][1]) == key:
                row.cells[ci].record, row.cells[ci].scale = found[0]
    t.link = "values"


def _from_csv(t: Table, path: Path, records: list[dict]) -> bool:
    """Link through ``tables/<key>.csv`` when it names each cell's record (columns tokenizer, benchmark, metric
    beside row, column); returns whether it did."""
    if not path.is_file():
        return False
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"row", "column", "tokenizer", "benchmark", "metric"} <= set(rows[0]):
        return False
    index = {(r.get("tokenizer"), r.get("benchmark"), r.get("metric")): r for r in reversed(records)}
    where = {(r["row"], r["column"]): r for r in rows}
    for row in t.rows:
        if row.kind == "paper":
            continue
        for name, cell in zip(t.columns, row.cells):
            c = where.get((row.label, name))
            if c and c.get("tokenizer"):
                row.tokenizer = row.tokenizer or c["tokenizer"]
                cell.record = index.get((c["tokenizer"], c["benchmark"], c["metric"]))
                if cell.record is not None and (p := cell_number(cell.text)):
                    cell.scale = next((s for s in _SCALES if _prints_as(cell.record.get("value"), *p, s)), 1.0)
    t.link = "the table's CSV"
    return True


# ------------------------------------------------------------------------------------------------ all
def collect(results_dir: str | Path) -> SiteData:
    """Everything the site shows, read from ``results_dir``; fails (naming the path) only on unreadable files or
    when there is no ``tables/*.md`` at all."""
    results_dir = Path(results_dir)
    table_files = sorted((results_dir / "tables").glob("*.md"), key=lambda p: _order(p.stem))
    table_files = [p for p in table_files if p.stem.lower() != "readme"]
    if not table_files:
        raise FileNotFoundError(f"{results_dir / 'tables'}: no table files (*.md); run `python -m benchmarks.run`")
    tables = [parse_table_md(p) for p in table_files]
    records = load_records(results_dir)
    fig_dir = results_dir / "figures"
    figures = sorted((p.name for p in fig_dir.glob("*.png")), key=_order) if fig_dir.is_dir() else []
    for t in tables:
        num = re.match(r"(table|figure)(\d+)$", t.key)
        if num and num.group(1) == "figure":
            t.figures = [f for f in figures if f.startswith(f"figure{num.group(2)}_")]
    pending = [t for t in tables if not _from_csv(t, results_dir / "tables" / f"{t.key}.csv", records)]
    why = _from_declarations(pending, records)
    for t in pending:
        if not t.link:
            _from_values(t, records)
            if why:
                t.link += f" ({why})"
    return SiteData(results_dir, tables, records, _load_json(results_dir / "tokenizers.json", {}), figures,
                    _load_json(results_dir / "run_summary.json", {}))


def _order(name: str):
    m = re.match(r"(table|figure)(\d+)", name)
    return (0 if m and m.group(1) == "table" else 1, int(m.group(2)) if m else 10 ** 6, name)
