"""What one result record says about itself, in the form the leaderboard site shows: its 95 % interval and its
provenance (data origin, sample count, protocol, checkpoint, code version, device).

Records gain fields over time (intervals, reference flags, notes), so every field is read defensively: a missing
field is simply not shown, and fields this module does not know are still listed so nothing a record carries is
hidden from the reader.
"""
from __future__ import annotations

import json

from benchmarks.results_file import BOUND_PAIRS, INTERVAL_KEYS, finite_number, interval

__all__ = ["interval", "format_interval", "provenance", "is_reference"]

# The fields shown first, in this order, with their labels; any other top-level field follows under its own name.
FIELDS = (
    ("tokenizer", "Tokenizer"), ("benchmark", "Benchmark"), ("metric", "Metric"), ("value", "Value"),
    ("unit", "Unit"), ("higher_is_better", "Higher is better"), ("n_samples", "Samples (n)"),
    ("n_failed", "Failed samples"), ("data_origin", "Data origin"), ("data_source", "Data source"),
    ("protocol_version", "Protocol version"), ("task", "Task"), ("text_space", "Text space"),
    ("checkpoint_origin", "Checkpoint origin"), ("checkpoint_sha", "Checkpoint sha256"),
    ("code_version", "Code version"), ("device", "Device"), ("seconds", "Seconds"), ("created", "Created"),
    ("note", "Note"),
)
_SKIP = {"extra", "table", "tokenizer_family", "tokenizer_kind"} | set(INTERVAL_KEYS) \
    | {k for pair in BOUND_PAIRS for k in pair}
EXTRA_MAX_CHARS = 300  # the per-split lists in some records run to kilobytes; the site shows a summary


def format_interval(value: float | None, ci: tuple[float, float] | None, decimals: int = 2,
                    scale: float = 1.0) -> str:
    """``± h`` when the interval is symmetric about the value, else ``[lo, hi]``; values times ``scale`` (the
    table's unit, e.g. 100 for %), printed with ``decimals`` places like the cell itself. '' without interval."""
    if ci is None:
        return ""
    lo, hi = ci[0] * scale, ci[1] * scale
    v = finite_number(value)
    if v is not None:
        v *= scale
        half = (hi - lo) / 2
        if abs((lo + hi) / 2 - v) <= max(1e-9, 1e-6 * abs(v)) + 0.5 * 10 ** -(decimals + 2):
            return f"± {half:.{decimals}f}"
    return f"[{lo:.{decimals}f}, {hi:.{decimals}f}]"


def is_reference(rec: dict | None, row_label: str = "", row_source: str = "") -> bool:
    """A reference row (grey image, chance, random-feature null, oracle, real-vs-real): computed by the same code
    on the same data as a yardstick, not a tokenizer's result."""
    if rec:
        if rec.get("reference") is True or str(rec.get("row_kind", "")).lower() == "reference":
            return True
        if str(rec.get("tokenizer_kind", "")).lower() == "reference":
            return True
    text = f"{row_label} {row_source}".lower()
    return "reference" in text


def _compact(v, limit: int = EXTRA_MAX_CHARS) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= limit else s[:limit] + f"… ({len(s)} characters in the record)"


def provenance(rec: dict, identity: dict | None = None) -> list[list[str]]:
    """[[label, text], ...] for the provenance panel of one measured cell: the known fields first (in a fixed
    order), then the interval, the tokenizer's checkpoint detail from ``tokenizers.json`` (``identity``), every
    other field the record carries, and a size-capped summary of ``extra``."""
    out: list[list[str]] = []
    for key, label in FIELDS:
        v = rec.get(key)
        if v is None or v == "":
            continue
        out.append([label, v if isinstance(v, str) else json.dumps(v, default=str)])
        if key == "value" and (ci := interval(rec)) is not None:
            out.append(["95 % interval", f"[{ci[0]:.6g}, {ci[1]:.6g}]"])
    if identity:
        ck = identity.get("checkpoint") if isinstance(identity.get("checkpoint"), dict) else {}
        if ck.get("detail"):
            out.append(["Checkpoint", str(ck["detail"])])
        for k, label in (("family", "Family"), ("kind", "Kind")):
            if identity.get(k):
                out.append([label, str(identity[k])])
    known = {k for k, _ in FIELDS} | _SKIP
    for k in sorted(set(rec) - known):
        if rec[k] is not None and rec[k] != "":
            out.append([k, rec[k] if isinstance(rec[k], str) else _compact(rec[k])])
    if isinstance(rec.get("extra"), dict) and rec["extra"]:
        out.append(["extra", _compact(rec["extra"])])
    return out
