"""The first run fetches the I3D weights when they are missing, and a failed fetch leaves a clear reason."""
from __future__ import annotations

from pathlib import Path

import benchmarks.metrics.i3d as i3d
from benchmarks.provisioning.i3d import ensure_i3d


def test_missing_weights_are_fetched(monkeypatch, tmp_path):
    calls = []

    def fake_fetch(cache=None, **kw):
        calls.append(Path(cache))
        return Path(cache) / "i3d-kinetics-400.safetensors"

    monkeypatch.setattr(i3d, "installed_package_checkpoint", lambda: None)
    monkeypatch.setattr(i3d, "fetch_weights", fake_fetch)
    assert ensure_i3d(log=lambda s: None, cache=tmp_path) == tmp_path / "i3d-kinetics-400.safetensors"
    assert calls == [tmp_path]


def test_failed_fetch_names_the_fix_and_returns_none(monkeypatch, tmp_path):
    def failing(cache=None, **kw):
        raise OSError("no route to the package index")

    monkeypatch.setattr(i3d, "installed_package_checkpoint", lambda: None)
    monkeypatch.setattr(i3d, "fetch_weights", failing)
    logged = []
    assert ensure_i3d(log=logged.append, cache=tmp_path) is None
    assert "no route to the package index" in logged[0] and "python -m benchmarks.metrics.i3d --fetch" in logged[0]


def test_the_run_provisions_i3d_only_for_fvd_benchmarks(monkeypatch, tmp_path):
    import benchmarks.provisioning.i3d as prov
    from benchmarks.engine.loop import Run
    from benchmarks.engine.state import RunConfig
    from benchmarks.registry import build_benchmark

    calls = []
    monkeypatch.setattr(prov, "ensure_i3d", lambda log=print, cache=None: calls.append("fetch"))
    for names, expected in ((["webvid-recon"], []), (["webvid-recon", "ucf101-gfvd"], ["fetch"])):
        calls.clear()
        run = Run(RunConfig(benchmarks=names, data_root=str(tmp_path), cache_dir=str(tmp_path / "c"),
                            progress=False, log=lambda s: None))
        run.benches = {n: build_benchmark(n) for n in names}
        run._locate_data()                    # empty data root: every benchmark is skipped, after provisioning
        assert calls == expected, names
