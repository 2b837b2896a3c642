"""The GPU check script runs end to end on CPU with the tiny config (its GPU-only parts say they did not run)."""
from __future__ import annotations

import json

from benchmarks.tools.perf.gpu_check import main


def test_gpu_check_runs_on_cpu_with_the_tiny_config(tmp_path):
    out = tmp_path / "gpu.json"
    assert main(["--config", "tiny", "--frames", "9", "--size", "64", "--repeats", "1", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["device_kind"] in ("cpu", "cuda") and rec["config"] == "tiny"
    for key in ("encode_s", "decode_s", "lapq_lfq_share_of_backbone", "encode_decode_s"):
        assert rec["pyratok"][key] > 0, key
    assert rec["wan22_alone"]["encode_decode_s"] > 0
    assert rec["pyratok_tiled_2160p"]["value"] is None and "untiled" in rec["pyratok_tiled_2160p"]["note"]
    if rec["device_kind"] == "cpu":
        assert rec["wan22_tiled_2160p"]["value"] is None
