"""results.json and per-sample JSONL (benchmarks.results_file) against the committed JSON Schemas.

The committed records (results/records/*.jsonl) are written to a results file in a temp dir and validated with
jsonschema; the document's contents are checked against the record files read here independently, and the schemas
are checked to reject malformed documents (a schema that accepts everything would pass any validation).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

from benchmarks.records import ResultRecord  # noqa: E402
from benchmarks.results_file import SCHEMA_DIR, build_results, validate, write_results_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "results" / "records"
CONFIG = {"suite": "all", "data_root": None, "tokenizers": ["pyratok-tiny"], "seed": 0}


def schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def committed_records() -> list[dict]:
    recs = [json.loads(line) for f in sorted(RECORDS.glob("*.jsonl")) for line in f.read_text().splitlines()
            if line.strip()]
    if not recs:
        pytest.skip("no committed records in results/records")
    return recs


def errors(name: str, doc) -> list:
    s = schema(name)
    return list(jsonschema.validators.validator_for(s)(s).iter_errors(doc))


def test_schemas_are_valid_json_schemas():
    for name in ("results", "samples"):
        s = schema(name)
        jsonschema.validators.validator_for(s).check_schema(s)


def test_committed_records_give_a_valid_results_file(tmp_path):
    recs = committed_records()
    path = write_results_file(recs, CONFIG, tmp_path)
    assert path == tmp_path / "results.json"
    validate(path)
    doc = json.loads(path.read_text())
    assert doc["n_records"] == len(recs)
    assert sum(len(m) for toks in doc["results"].values() for m in toks.values()) == len(recs)
    assert doc["config"] == CONFIG
    for r in recs[:: max(1, len(recs) // 50)]:  # every 50th record, spread over all benchmarks
        entry = doc["results"][r["benchmark"]][r["tokenizer"]][r["metric"]]
        assert entry["value"] == r["value"]
        assert entry["n_samples"] == r["n_samples"]
        assert entry["provenance"]["data_source"] == r["data_source"]
        assert entry["provenance"]["checkpoint_sha"] == r["checkpoint_sha"]
        assert doc["versions"][r["benchmark"]] == str(r["protocol_version"])
    assert set(doc["versions"]) == {r["benchmark"] for r in recs}


def test_intervals_dataclass_records_and_new_fields(tmp_path):
    rec = ResultRecord("b", "tok", "psnr", 20.0, 8, 0, "synthetic", "synthetic: test", "1", "table1", "recon",
                       unit="dB", higher_is_better=True, extra={"ci95": [19.0, 21.5]})
    plain = {"benchmark": "b", "tokenizer": "tok", "metric": "ssim", "value": None, "n_samples": 0,
             "note": "unavailable", "ci95_lo": 0.1, "ci95_hi": 0.2, "reference": True}
    doc = build_results([rec, plain], {})
    assert doc["results"]["b"]["tok"]["psnr"]["ci95"] == [19.0, 21.5]
    assert doc["results"]["b"]["tok"]["ssim"]["ci95"] == [0.1, 0.2]
    assert doc["results"]["b"]["tok"]["ssim"]["value"] is None
    assert doc["results"]["b"]["tok"]["ssim"]["extra"]["reference"] is True  # a field newer than the module
    assert doc["higher_is_better"]["b"] == {"psnr": True, "ssim": None}
    assert errors("results", doc) == []


def test_schema_rejects_malformed_documents():
    doc = build_results([{"benchmark": "b", "tokenizer": "t", "metric": "m", "value": 1.0, "n_samples": 3}], {})
    assert errors("results", doc) == []
    bad = []
    d = copy.deepcopy(doc); del d["results"]; bad.append(d)                                      # noqa: E702
    d = copy.deepcopy(doc); d["results"]["b"]["t"]["m"]["value"] = "1.0"; bad.append(d)         # noqa: E702
    d = copy.deepcopy(doc); d["results"]["b"]["t"]["m"]["ci95"] = [1.0]; bad.append(d)          # noqa: E702
    d = copy.deepcopy(doc); del d["results"]["b"]["t"]["m"]["provenance"]; bad.append(d)       # noqa: E702
    d = copy.deepcopy(doc); d["samples"] = {"b": "../elsewhere.jsonl"}; bad.append(d)           # noqa: E702
    for d in bad:
        assert errors("results", d), d


def test_per_sample_files(tmp_path):
    samples = {"coco-recon": [{"tokenizer": "tok", "sample_id": "000000000139.jpg", "metrics": {"psnr": 21.5}},
                              {"tokenizer": "tok", "sample_id": 7, "metrics": {"psnr": None}, "failure": "corrupt"}]}
    path = write_results_file([], {}, tmp_path, samples=samples)
    validate(path)
    doc = json.loads(path.read_text())
    assert doc["samples"] == {"coco-recon": "samples_coco-recon.jsonl"}
    lines = [json.loads(x) for x in (tmp_path / "samples_coco-recon.jsonl").read_text().splitlines()]
    assert [x["sample_id"] for x in lines] == ["000000000139.jpg", 7]
    assert all(x["benchmark"] == "coco-recon" for x in lines)
    assert errors("samples", {"benchmark": "b", "tokenizer": "t", "metrics": {"psnr": 1.0}})  # no sample_id
    assert errors("samples", {"benchmark": "b", "tokenizer": "t", "sample_id": 1, "metrics": {"psnr": "x"}})


def test_bad_records_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"record 1: missing .*metric"):
        build_results([{"benchmark": "b", "tokenizer": "t", "metric": "m", "value": 1},
                       {"benchmark": "b", "tokenizer": "t", "value": 2}], {})
    with pytest.raises(ValueError, match=r"record 1 \(b / t / m\): a second record"):
        build_results([{"benchmark": "b", "tokenizer": "t", "metric": "m", "value": 1}] * 2, {})
    with pytest.raises(ValueError, match="finite or null"):
        build_results([{"benchmark": "b", "tokenizer": "t", "metric": "m", "value": float("nan")}], {})
    with pytest.raises(ValueError, match="line 1: missing 'sample_id'"):
        write_results_file([], {}, tmp_path, samples={"b": [{"tokenizer": "t", "metrics": {"m": 1.0}}]})
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": "1.0"}))
    with pytest.raises(jsonschema.ValidationError, match="results.json"):
        validate(tmp_path / "results.json")
