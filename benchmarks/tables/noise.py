"""Signal versus noise in a rendered table: the interval of a measured cell, what each reference row gives a column
to compare with, and the mark of a cell against those references.

* A measured cell prints its record's value and, when the record carries ``extra["ci95"]`` (a
  :class:`benchmarks.metrics.uncertainty.CI95` as a dict), its 95 % interval: ``15.10 [14.20, 16.00]``.
* A reference row (:mod:`benchmarks.matrix`, ``reference=True``) gives each column a **comparator**: a plain
  reference's interval (grey, mean colour, bicubic: their own ``ci95``, or their value when they have none), a
  null's :class:`~benchmarks.metrics.uncertainty.NullSummary` over its seeded draws (one-sided: ``(-inf, p95]``
  when higher is better), or an analytic chance level (the point ``[c, c]``) read from ``extra["chance_level"]``.
* A tokenizer cell with an interval and a direction (``higher_is_better`` not None) is marked
  :data:`MARK_BELOW` when its interval lies entirely on the worse side of some reference's (worse than that
  reference beyond noise), else :data:`MARK_OVERLAP` when it overlaps some reference's (not distinguishable from it),
  else not at all: it is beyond noise better than every reference of its column.
"""
from __future__ import annotations

import math

from benchmarks.metrics.uncertainty import CI95, NullSummary, null_summary, overlaps, reference_interval
from benchmarks.tables.spec import Column

__all__ = ["MARK_OVERLAP", "MARK_BELOW", "MARK_RANDOM_INIT", "record_interval", "scaled", "interval_text",
           "comparator_of", "null_of", "chance_of", "mark_of", "noise_notes"]

MARK_OVERLAP = "†"       # the cell's interval overlaps a reference's: not distinguishable from that reference
MARK_BELOW = "↓"         # the cell's interval lies below (on the worse side of) a reference's, beyond noise
MARK_RANDOM_INIT = "‡"   # an untrained (random-init) tokenizer: a smoke-test number


def record_interval(rec: dict | None) -> CI95 | None:
    """The record's ``extra["ci95"]`` as a :class:`CI95`, or None (absent, or a record from before intervals)."""
    d = ((rec or {}).get("extra") or {}).get("ci95")
    if not isinstance(d, dict):
        return None
    try:
        return CI95(**d)
    except (TypeError, ValueError):
        return None


def scaled(v: float, col: Column) -> str:
    x = v * col.scale if col.scale != 1 else v
    try:
        return col.fmt.format(x)
    except (ValueError, TypeError):
        return f"{x:g}"


def interval_text(ci: CI95 | None, col: Column) -> str:
    """`` [lo, hi]`` in the column's scale and format, or "" without an interval."""
    return "" if ci is None else f" [{scaled(ci.lo, col)}, {scaled(ci.hi, col)}]"


def comparator_of(rec: dict | None):
    """A plain reference's comparator for its column: its interval, or its value as a point; None without one."""
    if rec is None or rec.get("value") is None:
        return None
    ci = record_interval(rec)
    return ci if ci is not None else float(rec["value"])


def null_of(records: list[dict], names: tuple[str, ...]) -> NullSummary | None:
    """The null summary of the records of a null's seeded draws (``names``, in seed order) that have a value."""
    vals, seeds = [], []
    for i, name in enumerate(names):
        rec = next((r for r in records if r["tokenizer"] == name), None)
        if rec is not None and rec.get("value") is not None:
            vals.append(float(rec["value"]))
            seeds.append(int(name.rpartition("=")[2]) if "=" in name else i)
    return null_summary(vals, seeds, min_draws=1) if vals else None


def chance_of(records: list[dict]) -> tuple[float, dict] | None:
    """(value, chance dict) from the first record of a column that carries ``extra["chance_level"]``."""
    for r in records:
        c = (r.get("extra") or {}).get("chance_level")
        if isinstance(c, dict) and isinstance(c.get("value"), (int, float)) and math.isfinite(c["value"]):
            return float(c["value"]), c
    return None


def mark_of(rec: dict, comparators: list) -> str:
    """:data:`MARK_BELOW`, :data:`MARK_OVERLAP` or "" for a tokenizer's record against its column's comparators
    ("" too when the record has no interval or no direction, or the column has no reference)."""
    ci, hib = record_interval(rec), rec.get("higher_is_better")
    if ci is None or hib is None or not comparators:
        return ""
    cell = (ci.lo, ci.hi)
    overlap = False
    for ref in comparators:
        lo, hi = reference_interval(ref, bool(hib))
        if (hib and cell[1] < lo) or (not hib and cell[0] > hi):
            return MARK_BELOW
        overlap = overlap or overlaps(cell, (lo, hi))
    return MARK_OVERLAP if overlap else ""


def noise_notes(marks: list[tuple[str, str, str]], n_without_interval: int, has_references: bool,
                null_draws: dict[str, int]) -> list[str]:
    """The table's notes on intervals and marks. ``marks``: (row label, column label, mark) of every tokenizer cell
    that was compared; ``null_draws``: null row label -> the fewest draws found in a column."""
    notes = ["Intervals: value [lo, hi] = the 95 % percentile-bootstrap interval over the evaluation samples "
             "(clips, images, videos or questions; seed 0, 2000 resamples) recorded in each record's "
             "extra.ci95; zero-shot split protocols also record extra.ci95_splits (over the class splits). "
             "It measures the sampling noise of the evaluation set, not training-seed noise."]
    if n_without_interval:
        notes.append(f"{n_without_interval} measured cell(s) show no interval: their records carry none (recorded "
                     "before intervals were added, a single-sample or set-level value, or no value); regenerate "
                     "the records to get them.")
    if not has_references:
        return notes
    notes.append(f"{MARK_OVERLAP} = the cell's interval overlaps a reference row's (a reference's own interval, the "
                 "random-feature null's range up to its 95th percentile, or the analytic chance level): the cell "
                 f"is not distinguishable from that reference. {MARK_BELOW} = the interval lies entirely on the "
                 "worse side of a reference's: worse than that trivial method beyond noise. An unmarked cell with "
                 "an interval is beyond noise better than every reference of its column.")
    for label, n in null_draws.items():
        notes.append(f"{label}: mean / 95th percentile over {n} seeded draws (ref-random-features:seed=0..{n - 1}) "
                     "of the same benchmark code; the 95th percentile is the noise ceiling a tokenizer must clear.")
    beyond = [(r, c) for r, c, m in marks if m == ""]
    if not marks:
        notes.append("Beyond noise: no cell could be compared with a reference (no intervals, or no reference "
                     "records yet).")
    elif not beyond:
        notes.append(f"Beyond noise: none of the {len(marks)} compared cells is beyond noise above the references.")
    else:
        listed = "; ".join(f"{r} / {c}" for r, c in beyond[:12]) + (f"; and {len(beyond) - 12} more"
                                                                      if len(beyond) > 12 else "")
        notes.append(f"Beyond noise above every reference ({len(beyond)} of {len(marks)} compared cells): {listed}.")
    return notes
