"""Records and what is rendered from them carry no absolute path of the machine that produced them."""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.base import realdata_root
from benchmarks.provisioning.cache import cache_root
from benchmarks.records import portable, read_records, write_records


def _record(source: str) -> dict:
    return {"benchmark": "coco-recon", "tokenizer": "t", "metric": "psnr", "value": 1.0, "data_source": source,
            "note": f"read from {source}/x.jpg"}


def test_machine_paths_become_portable_names(tmp_path):
    real = str(realdata_root().resolve())
    rec = portable(_record(f"{real}/coco-mini"))
    assert rec["data_source"] == "../shared/realdata/coco-mini"
    assert rec["note"] == "read from ../shared/realdata/coco-mini/x.jpg"
    assert portable(_record(str(cache_root() / "data" / "webvid")))["data_source"] == "$PYRATOK_CACHE/data/webvid"
    assert portable(_record(str(Path.home() / "elsewhere")))["data_source"] == "~/elsewhere"
    assert portable(_record("synthetic (seed 0)"))["data_source"] == "synthetic (seed 0)"


def test_write_and_read_strip_machine_paths_even_from_older_files(tmp_path):
    real = str(realdata_root().resolve())
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps(_record(f"{real}/coco-mini")) + "\n")          # an older record, written raw
    assert read_records(old)[0]["data_source"] == "../shared/realdata/coco-mini"
    new = write_records(tmp_path / "new.jsonl", [_record(f"{real}/coco-mini")])
    assert real not in new.read_text()
