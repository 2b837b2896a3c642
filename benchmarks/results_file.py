"""One results file per run, in a documented schema other tools can read: ``results.json`` plus per-sample JSONL.

The layout follows lm-evaluation-harness's ``results.json`` (``results``, ``config``, ``versions``,
``higher_is_better``), extended with what a tokenizer benchmark needs: several tokenizers per benchmark, a 95 %
interval and the provenance of every metric::

    {"schema_version": "1.0",
     "results": {<benchmark>: {<tokenizer>: {<metric>: {"value", "ci95": [lo, hi] | null, "unit",
                  "higher_is_better", "n_samples", "n_failed", "note", "table", "task", "text_space",
                  "provenance": {"data_origin", "data_source", "protocol_version", "checkpoint_origin",
                                 "checkpoint_sha", "code_version", "device", "seconds", "created"},
                  "extra": {...}}}}},
     "config": <the run's resolved configuration, as given>,
     "versions": {<benchmark>: <protocol version>},
     "higher_is_better": {<benchmark>: {<metric>: true | false | null}},
     "tokenizers": {<tokenizer>: {"family", "kind", "checkpoint_origin", "checkpoint_sha"}},
     "environment": {"python", "platform", "packages": {name: version}},
     "code_version": <git sha of the code, or null>, "date": <ISO 8601>, "n_records": <int>,
     "samples": {<benchmark>: <file name of its per-sample JSONL>}}

Per-sample files (``samples_<benchmark>.jsonl``, where a benchmark has per-sample results) hold one JSON object a
line: ``{"benchmark", "tokenizer", "sample_id", "metrics": {name: number | null}, ...}``. The JSON Schemas of both
are ``benchmarks/schemas/results.schema.json`` and ``benchmarks/schemas/samples.schema.json``.
"""
from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

__all__ = ["write_results_file", "build_results", "interval", "validate", "SCHEMA_DIR", "SCHEMA_VERSION"]

SCHEMA_VERSION = "1.0"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
RESULTS_NAME = "results.json"
# Packages whose versions change numbers; reported when installed.
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "diffusers", "transformers", "ray", "av",
            "pycocotools", "vector-quantize-pytorch", "pandas")

_REQUIRED = ("benchmark", "tokenizer", "metric")
_PROVENANCE = ("data_origin", "data_source", "protocol_version", "checkpoint_origin", "checkpoint_sha",
               "code_version", "device", "seconds", "created")
_METRIC_FIELDS = ("unit", "higher_is_better", "n_samples", "n_failed", "note", "table", "task", "text_space")
INTERVAL_KEYS = ("ci95", "ci_95", "ci", "interval", "confidence_interval")
BOUND_PAIRS = (("ci95_lo", "ci95_hi"), ("ci95_low", "ci95_high"), ("ci_lo", "ci_hi"), ("ci_low", "ci_high"),
                ("lo", "hi"), ("lower", "upper"))


def finite_number(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def _pair(v) -> tuple[float, float] | None:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        lo, hi = finite_number(v[0]), finite_number(v[1])
    elif isinstance(v, dict):
        lo = next((finite_number(v[k]) for k in ("lo", "low", "lower") if k in v), None)
        hi = next((finite_number(v[k]) for k in ("hi", "high", "upper") if k in v), None)
    else:
        return None
    return (lo, hi) if lo is not None and hi is not None else None


def interval(rec: Mapping) -> tuple[float, float] | None:
    """A record's 95 % interval as (lo, hi) in the record's units, or None when it carries none.

    Accepted shapes (top level or in ``extra``): ``ci95: [lo, hi]``, ``ci95: {"lo":..,"hi":..}`` (also
    low/high, lower/upper; keys ci, interval), or separate ``ci95_lo``/``ci95_hi``-style fields."""
    extra = rec.get("extra")
    for where in (rec, extra if isinstance(extra, Mapping) else {}):
        for k in INTERVAL_KEYS:
            if k in where and (p := _pair(where[k])) is not None:
                return p
        for lo_k, hi_k in BOUND_PAIRS:
            if lo_k in where and hi_k in where and (p := _pair([where[lo_k], where[hi_k]])) is not None:
                return p
    return None


def _as_dict(rec, i: int) -> dict:
    if hasattr(rec, "to_dict"):
        rec = rec.to_dict()
    if not isinstance(rec, Mapping):
        raise ValueError(f"record {i}: expected a mapping or a ResultRecord, got {type(rec).__name__}")
    missing = [k for k in _REQUIRED if not isinstance(rec.get(k), str) or not rec.get(k)]
    if missing:
        raise ValueError(f"record {i}: missing or empty field(s) {missing} (a record needs {list(_REQUIRED)})")
    return dict(rec)


def _jsonable(v):
    return json.loads(json.dumps(v, default=str, allow_nan=False)) if v is not None else None


def _value(v, where: str):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: value must be a number or null, got {v!r}")
    if not math.isfinite(v):
        raise ValueError(f"{where}: value must be finite or null, got {v!r} (record a non-finite result as null "
                         "with a note)")
    return v


def environment() -> dict:
    pkgs = {}
    for name in PACKAGES:
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": pkgs}


def build_results(records: Iterable, config: Mapping, samples_files: Mapping[str, str] | None = None) -> dict:
    """The ``results.json`` document for ``records`` (ResultRecord objects or their dicts) and the run's resolved
    ``config``. Raises ValueError naming the record for a record without benchmark/tokenizer/metric, a non-numeric
    value, or two records for the same (benchmark, tokenizer, metric)."""
    results: dict = {}
    versions: dict = {}
    hib: dict = {}
    tokenizers: dict = {}
    codes = set()
    n = 0
    for i, raw in enumerate(records):
        r = _as_dict(raw, i)
        b, t, m = r["benchmark"], r["tokenizer"], r["metric"]
        where = f"record {i} ({b} / {t} / {m})"
        slot = results.setdefault(b, {}).setdefault(t, {})
        if m in slot:
            raise ValueError(f"{where}: a second record for the same benchmark, tokenizer and metric")
        ci = interval(r)
        entry = {"value": _value(r.get("value"), where), "ci95": list(ci) if ci else None}
        entry.update({k: _jsonable(r.get(k)) for k in _METRIC_FIELDS})
        entry["provenance"] = {k: _jsonable(r.get(k)) for k in _PROVENANCE}
        entry["extra"] = _jsonable(r.get("extra")) or {}
        known = set(_REQUIRED) | set(_METRIC_FIELDS) | set(_PROVENANCE) | {"value", "extra", "tokenizer_family",
                                                                            "tokenizer_kind"}
        for k in sorted(set(r) - known):  # fields newer than this module: kept, not dropped
            entry["extra"].setdefault(k, _jsonable(r[k]))
        slot[m] = entry
        if r.get("protocol_version") is not None:
            versions.setdefault(b, str(r["protocol_version"]))
        hib.setdefault(b, {}).setdefault(m, r.get("higher_is_better"))
        tok = tokenizers.setdefault(t, {"family": r.get("tokenizer_family") or None,
                                        "kind": r.get("tokenizer_kind") or None,
                                        "checkpoint_origin": r.get("checkpoint_origin") or None,
                                        "checkpoint_sha": r.get("checkpoint_sha")})
        tok["checkpoint_sha"] = tok["checkpoint_sha"] or r.get("checkpoint_sha")
        if r.get("code_version"):
            codes.add(str(r["code_version"]))
        n += 1
    code = config.get("code_version") if isinstance(config, Mapping) else None
    if code is None and codes:
        code = ", ".join(sorted(codes))
    return {"schema_version": SCHEMA_VERSION, "results": results, "config": _jsonable(dict(config)) or {},
            "versions": versions, "higher_is_better": hib, "tokenizers": tokenizers, "environment": environment(),
            "code_version": code, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "n_records": n,
            "samples": dict(samples_files or {})}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _sample_lines(benchmark: str, rows: Iterable[Mapping]) -> str:
    lines = []
    for j, s in enumerate(rows, 1):
        where = f"samples of {benchmark}, line {j}"
        if not isinstance(s, Mapping):
            raise ValueError(f"{where}: a sample must be a mapping, got {type(s).__name__}")
        for k in ("tokenizer", "sample_id", "metrics"):
            if k not in s:
                raise ValueError(f"{where}: missing {k!r} (a sample needs tokenizer, sample_id, metrics)")
        if not isinstance(s["metrics"], Mapping) or not s["metrics"]:
            raise ValueError(f"{where}: 'metrics' must map at least one metric name to a number")
        row = {"benchmark": benchmark, **{k: _jsonable(v) for k, v in s.items() if k != "metrics"},
               "metrics": {k: _value(v, f"{where}, metric {k!r}") for k, v in s["metrics"].items()}}
        if row["benchmark"] != benchmark:
            raise ValueError(f"{where}: sample says benchmark {row['benchmark']!r}")
        lines.append(json.dumps(row, sort_keys=True, allow_nan=False))
    return "".join(line + "\n" for line in lines)


def write_results_file(records: Iterable, config: dict, out_dir: str | Path,
                       samples: Mapping[str, Iterable[Mapping]] | None = None) -> Path:
    """Write ``out_dir/results.json`` (and ``out_dir/samples_<benchmark>.jsonl`` for each benchmark in
    ``samples``: per-sample rows ``{"tokenizer", "sample_id", "metrics": {name: value}, ...}``); returns the path
    of results.json. Files are written atomically (temp file + rename)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for bench, rows in (samples or {}).items():
        name = f"samples_{bench}.jsonl"
        _write_atomic(out / name, _sample_lines(bench, rows))
        files[bench] = name
    doc = build_results(records, config, files)
    path = out / RESULTS_NAME
    _write_atomic(path, json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return path


def validate(path: str | Path) -> None:
    """Validate a results.json (and the per-sample files it names) against the committed JSON Schemas; raises
    ``jsonschema.ValidationError`` naming the file (and line) on the first violation. Needs ``jsonschema``."""
    import jsonschema

    path = Path(path)
    schemas = {n: json.loads((SCHEMA_DIR / f"{n}.schema.json").read_text()) for n in ("results", "samples")}
    doc = json.loads(path.read_text())
    _check(jsonschema, schemas["results"], doc, str(path))
    for bench, name in doc.get("samples", {}).items():
        f = path.parent / name
        for j, line in enumerate(f.read_text().splitlines(), 1):
            _check(jsonschema, schemas["samples"], json.loads(line), f"{f}:{j}")


def _check(jsonschema, schema: dict, doc, where: str) -> None:
    cls = jsonschema.validators.validator_for(schema)
    err = jsonschema.exceptions.best_match(cls(schema).iter_errors(doc))
    if err is not None:
        loc = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise jsonschema.ValidationError(f"{where}: at {loc}: {err.message}")
