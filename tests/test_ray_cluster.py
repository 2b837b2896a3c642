"""A real two-node Ray cluster on loopback: ``ray start --head`` and ``ray start --address`` as separate processes
(the second node started in another working directory), a small suite run with ``--address``, and the same records
as an inline run. Shards are not shipped with their data: a task reads the files at the paths the driver planned,
so every node must see the data root and the cache at the same paths (one machine, or a shared filesystem); the
code reaches the workers through ``PYTHONPATH`` (benchmarks.engine.backends)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _values(out: Path) -> dict:
    rows = [json.loads(l) for l in (out / "records" / "webvid-recon.jsonl").read_text().splitlines() if l.strip()]
    return {(r["tokenizer"], r["metric"]): (r["value"], r["n_samples"]) for r in rows}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not RAY.is_file(), reason="the ray command is not installed beside this Python")
def test_two_node_cluster_gives_the_inline_records(tmp_path):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           "PYRATOK_CACHE": str(tmp_path / "pyratok-cache"), "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    node2 = tmp_path / "node2"
    node2.mkdir()
    start = [str(RAY), "start", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    try:
        subprocess.run(start + ["--head", f"--port={port}", "--include-dashboard=false"], env=env, check=True,
                       capture_output=True, timeout=180)
        subprocess.run(start + [f"--address={address}"], env=env, cwd=node2, check=True, capture_output=True,
                       timeout=180)
        common = [sys.executable, "-m", "benchmarks.run", "--suite", "webvid-recon", "--tokenizers",
                  "ref-grey,ref-mean-colour", "--no-progress"]
        cluster = subprocess.run(common + ["--address", address, "--out", str(tmp_path / "o_cluster"), "--cache",
                                           str(tmp_path / "c_cluster")], env=env, capture_output=True, text=True,
                                 timeout=600)
        assert cluster.returncode == 0, cluster.stdout[-2000:] + cluster.stderr[-2000:]
        assert f"Ray: 2 CPUs (cluster {address})" in cluster.stdout        # both nodes joined
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)
    inline = subprocess.run(common + ["--engine", "inline", "--out", str(tmp_path / "o_inline"), "--cache",
                                      str(tmp_path / "c_inline")], env=env, capture_output=True, text=True, timeout=600)
    assert inline.returncode == 0, inline.stderr[-2000:]
    got, want = _values(tmp_path / "o_cluster"), _values(tmp_path / "o_inline")
    assert got == want and len(want) >= 4
    shutil.rmtree(tmp_path / "pyratok-cache", ignore_errors=True)
