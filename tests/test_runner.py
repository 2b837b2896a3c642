"""The runner: registry errors, cache keys, resume after a kill, retries, failure records, Ray end to end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.registry import REGISTRY, TokenizerSpec, UnknownTokenizer, build_tokenizer, parse_tokenizer_spec
from benchmarks import registry as bench_registry
from benchmarks.registry import UnknownBenchmark, build_benchmark, resolve_suite
from benchmarks.runner import RunConfig, files_digest, run, shard_cache_key

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def fakes(monkeypatch):
    sys.path.insert(0, str(TESTS))
    monkeypatch.setitem(REGISTRY, "fake-scale", TokenizerSpec("fake-scale", "runner_fakes:build_scale", {}, "pyratok"))
    monkeypatch.setitem(bench_registry.BENCHMARKS, "fake-counting", ("runner_fakes:CountingBenchmark", "test"))
    yield
    sys.path.remove(str(TESTS))


def _cfg(tmp_path, **kw):
    base = dict(benchmarks=["fake-counting"], tokenizers=["fake-scale"], out=str(tmp_path / "out"),
                cache_dir=str(tmp_path / "cache"), engine="inline", progress=False, log=lambda s: None)
    base.update(kw)
    return RunConfig(**base)


def _values(summary):
    return {(r["tokenizer"], r["metric"]): r["value"] for r in summary.records}


# ---------------------------------------------------------------------------------------------- registries
def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownTokenizer) as e:
        build_tokenizer("pyratok-tiyn")
    msg = str(e.value)
    assert "pyratok-tiny" in msg and "Did you mean" in msg and "wan2.2-vae" in msg
    with pytest.raises(UnknownBenchmark) as e:
        resolve_suite("reconstrution")
    assert "reconstruction" in str(e.value) and "webvid-recon" in str(e.value)
    with pytest.raises(UnknownBenchmark):
        build_benchmark("no-such-benchmark")
    with pytest.raises(ValueError, match="unknown protocol option"):
        build_benchmark("webvid-recon", sise=256)


def test_paper_only_tokenizer_says_why():
    from adapters.base import NotSupported

    with pytest.raises(NotSupported, match="VVC"):
        build_tokenizer("vvc")


def test_suites_and_specs():
    assert resolve_suite("reconstruction") == ["webvid-recon", "coco-recon", "tokenizer-efficiency"]
    assert resolve_suite("webvid-recon,reconstruction")[0] == "webvid-recon"
    assert len(resolve_suite("all")) == len(bench_registry.BENCHMARKS)
    assert parse_tokenizer_spec("pyratok:checkpoint=/x/y,init=random") == ("pyratok",
                                                                           {"checkpoint": "/x/y", "init": "random"})


def test_cli_rejects_unknown_names(capsys):
    from benchmarks.run import main

    with pytest.raises(SystemExit):
        main(["--suite", "nope"])
    assert "Valid suite or benchmarks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--suite", "reconstruction", "--tokenizers", "wan9-vae"])
    assert "wan2.2-vae" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- cache keys
def test_cache_key_changes_with_each_ingredient(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"abc")
    shard = {"index": 0, "count": 2, "items": [1, 2], "files": [str(f)]}
    proto = {"version": "1", "size": 64}
    d = files_digest([str(f)])
    k = shard_cache_key("tok1", "bench", proto, shard, d)
    assert k == shard_cache_key("tok1", "bench", dict(proto), dict(shard), files_digest([str(f)]))  # stable
    assert k != shard_cache_key("tok2", "bench", proto, shard, d)                       # tokenizer / checkpoint
    assert k != shard_cache_key("tok1", "bench2", proto, shard, d)                      # benchmark
    assert k != shard_cache_key("tok1", "bench", {**proto, "version": "2"}, shard, d)   # protocol version
    assert k != shard_cache_key("tok1", "bench", {**proto, "size": 128}, shard, d)      # protocol field
    assert k != shard_cache_key("tok1", "bench", proto, {**shard, "items": [1, 3]}, d)  # shard content
    time.sleep(0.01)
    f.write_bytes(b"abd")                                                               # input file content
    assert k != shard_cache_key("tok1", "bench", proto, shard, files_digest([str(f)]))
    assert files_digest([str(tmp_path / "missing")]) != files_digest([str(f)])


def test_tokenizer_cache_key_follows_checkpoint_and_options(fakes):
    a, b = build_tokenizer("fake-scale", gain=0.5), build_tokenizer("fake-scale", gain=0.25)
    assert a.cache_key() != b.cache_key()
    assert a.cache_key() == build_tokenizer("fake-scale", gain=0.5).cache_key()


# ---------------------------------------------------------------------------------------------- runs
def test_values_cache_and_rerun_from_cache(fakes, tmp_path):
    s1 = run(_cfg(tmp_path))
    # items 0..5 x gain 0.5 -> sum 7.5, independent of sharding
    assert _values(s1)[("fake-scale", "sum")] == pytest.approx(7.5)
    assert (s1.shards_total, s1.shards_cached, s1.shards_run) == (3, 0, 3)
    s2 = run(_cfg(tmp_path))
    assert (s2.shards_cached, s2.shards_run) == (3, 0)
    assert _values(s2) == _values(s1)
    # a different protocol is a different cache entry
    s3 = run(_cfg(tmp_path, benchmark_options={"fake-counting": {"per_shard": 3}}))
    assert s3.shards_run == 2 and _values(s3)[("fake-scale", "sum")] == pytest.approx(7.5)


def test_failed_shard_is_retried(fakes, tmp_path):
    fd = tmp_path / "fail"
    fd.mkdir()
    (fd / "fail-1").write_text("1")  # shard 1 fails once
    s = run(_cfg(tmp_path, benchmark_options={"fake-counting": {"fail_dir": str(fd)}}, retries=2))
    assert s.retries_used == 1 and not s.task_failures
    assert _values(s)[("fake-scale", "sum")] == pytest.approx(7.5)


def test_task_failing_after_retries_is_recorded_and_resume_runs_only_it(fakes, tmp_path):
    fd = tmp_path / "fail"
    fd.mkdir()
    (fd / "fail-2").write_text("99")  # shard 2 keeps failing
    opts = {"fake-counting": {"fail_dir": str(fd)}}
    s = run(_cfg(tmp_path, benchmark_options=opts, retries=1))
    assert len(s.task_failures) == 1 and s.task_failures[0]["shard"] == 2 and s.task_failures[0]["attempts"] == 2
    assert "injected failure" in s.task_failures[0]["error"]
    rec = [r for r in s.records if r["metric"] == "task_failed"]
    assert rec and rec[0]["value"] is None and "failed after retries" in rec[0]["note"]
    (fd / "fail-2").unlink()
    s2 = run(_cfg(tmp_path, benchmark_options=opts))
    assert (s2.shards_cached, s2.shards_run) == (2, 1)
    assert _values(s2)[("fake-scale", "sum")] == pytest.approx(7.5)
    assert all((fd / f"ran-{i}").read_text() == "x" for i in range(3))  # nothing ran twice


def test_killed_run_resumes_without_redoing_shards_and_gives_identical_tables(tmp_path):
    """Kill -9 a CLI run midway, start it again: finished shards are not recomputed, tables are identical to an
    uninterrupted run's."""
    fd = tmp_path / "marks"
    fd.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)]), "PYRATOK_CACHE": str(tmp_path)}
    script = (
        "import sys; from adapters.registry import REGISTRY, TokenizerSpec; from benchmarks import registry as r\n"
        "REGISTRY['fake-scale'] = TokenizerSpec('fake-scale', 'runner_fakes:build_scale', {}, 'pyratok')\n"
        "r.BENCHMARKS['fake-counting'] = ('runner_fakes:CountingBenchmark', 'test')\n"
        "from benchmarks.run import main; sys.exit(main(sys.argv[1:]))\n")
    args = ["--suite", "fake-counting", "--tokenizers", "fake-scale", "--engine", "inline", "--no-progress",
            "--protocol", f"fake-counting.fail_dir={fd}", "--protocol", "fake-counting.n=12",
            "--protocol", "fake-counting.sleep=0.4"]
    out1 = tmp_path / "out1"
    proc = subprocess.Popen([sys.executable, "-c", script, *args, "--out", str(out1), "--cache", str(tmp_path / "c")],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "c" / "shards").glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((tmp_path / "c" / "shards").glob("*.json")))
    assert 2 <= done_before < 6, "the run should have been killed midway"
    r = subprocess.run([sys.executable, "-c", script, *args, "--out", str(out1), "--cache", str(tmp_path / "c")],
                       env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"({done_before} cached, {6 - done_before} run" in r.stdout
    assert all(len((fd / f"ran-{i}").read_text()) <= 2 for i in range(6))  # at most the killed one ran twice
    assert sum(len((fd / f"ran-{i}").read_text()) for i in range(6)) <= 7
    out2 = tmp_path / "out2"
    r2 = subprocess.run([sys.executable, "-c", script, *args, "--out", str(out2), "--cache", str(tmp_path / "fresh")],
                        env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r2.returncode == 0, r2.stderr
    rec1 = [{k: v for k, v in json.loads(l).items() if k not in ("created", "code_version", "seconds")}
            for l in (out1 / "records" / "fake-counting.jsonl").read_text().splitlines()]
    rec2 = [{k: v for k, v in json.loads(l).items() if k not in ("created", "code_version", "seconds")}
            for l in (out2 / "records" / "fake-counting.jsonl").read_text().splitlines()]
    assert rec1 == rec2
    assert {r["metric"]: r["value"] for r in rec1}["sum"] == pytest.approx(0.5 * sum(range(12)))
    for ext in ("md", "csv", "tex"):  # the rendered tables are byte-identical too
        for t in (out1 / "tables").glob(f"*.{ext}"):
            assert t.read_text() == (out2 / "tables" / t.name).read_text()


def test_corrupt_video_becomes_a_failure_record(fakes, tmp_path):
    """A truncated video in the WebVid set: that sample is recorded with its reason, the others are scored."""
    from benchmarks.provisioning.training_data import ensure_synthetic
    from benchmarks.datasets.webvid import WebVidDataset

    os.environ["PYRATOK_CACHE"] = str(tmp_path)
    try:
        root = ensure_synthetic(["webvid"], "tiny", 0, log=None)
    finally:
        del os.environ["PYRATOK_CACHE"]
    ds = WebVidDataset.from_root(root / "webvid", "val")
    victim = ds[1].video_path
    victim.write_bytes(victim.read_bytes()[:200])
    s = run(_cfg(tmp_path, benchmarks=["webvid-recon"], data_root=str(root),
                 benchmark_options={"webvid-recon": {"max_samples": 3}}))
    assert len(s.failures) == 1 and s.failures[0]["sample"] == ds[1].sample_id
    assert s.failures[0]["reason"]
    # the file, relative to the data root, and where the data came from
    assert s.failures[0]["file"] == victim.relative_to(root / "webvid").as_posix()
    assert s.failures[0]["data_origin"] == "synthetic"
    psnr = [r for r in s.records if r["metric"] == "psnr"][0]
    assert psnr["n_samples"] == 2 and psnr["n_failed"] == 1 and psnr["data_origin"] == "synthetic"
    # gain 0.5 on [-1,1]: error 0.5*x ... PSNR is finite and the same formula as scikit-image
    assert 0 < psnr["value"] < 60


@pytest.mark.timeout(300)
def test_ray_engine_end_to_end(fakes, tmp_path):
    ray = pytest.importorskip("ray")
    try:
        s = run(_cfg(tmp_path, engine="ray", workers=2))
    finally:
        ray.shutdown()
    assert _values(s)[("fake-scale", "sum")] == pytest.approx(7.5)
    assert s.shards_run == 3


def test_tokenizer_lists_and_options_share_commas():
    from benchmarks.run import split_tokenizer_list

    assert split_tokenizer_list("a, b:k=v,k2=2 ,c") == ["a", "b:k=v,k2=2", "c"]
    assert split_tokenizer_list("pyratok:checkpoint=/x,pyratok:checkpoint=/y") == ["pyratok:checkpoint=/x",
                                                                                   "pyratok:checkpoint=/y"]
    with pytest.raises(ValueError, match="does not follow"):
        split_tokenizer_list("a,k=v")


def test_fit_state_reaches_every_shard_and_a_none_fit_still_reduces(fakes, tmp_path):
    """A fit that returns None (nothing to fit for this tokenizer) must not leave the cell unreduced, and a fitted
    state reaches every shard — both when fitted now and when read back from the fit cache."""
    s = run(_cfg(tmp_path))                                   # fit -> None
    assert _values(s)[("fake-scale", "sum")] == pytest.approx(7.5)
    opts = {"fake-counting": {"fit": 1.0}}
    s1 = run(_cfg(tmp_path, benchmark_options=opts))          # 6 items + offset 1 each
    assert _values(s1)[("fake-scale", "sum")] == pytest.approx(13.5)
    s2 = run(_cfg(tmp_path, benchmark_options=opts))          # from the cache (fit and shards)
    assert _values(s2) == _values(s1) and s2.shards_run == 0


def test_prepare_memo_skips_loading_until_the_checkpoint_changes(fakes, monkeypatch, tmp_path):
    """A re-run reuses the memoised tokenizer identity (no prepare task); changing the checkpoint file invalidates
    it, so the new weights are used and their shards recomputed."""
    import benchmarks.engine.loop as runner_mod
    from benchmarks.engine.workers import WORKER_OBJECTS

    w = tmp_path / "weights.txt"
    w.write_text("0.5")
    monkeypatch.setitem(REGISTRY, "fake-file",
                        TokenizerSpec("fake-file", "runner_fakes:build_file_gain", {"path": str(w)}, "pyratok"))
    calls = []
    real = runner_mod.task_prepare
    monkeypatch.setattr(runner_mod, "task_prepare", lambda spec: calls.append(spec.name) or real(spec))
    WORKER_OBJECTS.clear()
    s1 = run(_cfg(tmp_path, tokenizers=["fake-file"]))
    assert calls == ["fake-file"] and _values(s1)[("fake-file", "sum")] == pytest.approx(7.5)
    s2 = run(_cfg(tmp_path, tokenizers=["fake-file"]))
    assert calls == ["fake-file"] and s2.shards_run == 0            # memo hit: nothing loaded, all cached
    time.sleep(0.01)
    w.write_text("0.25")
    WORKER_OBJECTS.clear()
    s3 = run(_cfg(tmp_path, tokenizers=["fake-file"]))
    assert calls == ["fake-file", "fake-file"] and s3.shards_run == 3
    assert _values(s3)[("fake-file", "sum")] == pytest.approx(3.75)


def test_missing_dataset_skips_that_benchmark_with_the_reason(fakes, tmp_path):
    """--data-root with only some datasets: the others are skipped and named, the rest still runs."""
    s = run(_cfg(tmp_path, benchmarks=["webvid-recon", "fake-counting"], data_root=str(tmp_path / "nothing")))
    assert [d["benchmark"] for d in s.data_unavailable] == ["webvid-recon"]
    assert "no dataset folder" in s.data_unavailable[0]["reason"]
    assert _values(s)[("fake-scale", "sum")] == pytest.approx(7.5)


def test_cli_exits_2_when_no_benchmark_has_data(tmp_path, capsys):
    from benchmarks.run import main

    code = main(["--suite", "webvid-recon", "--tokenizers", "pyratok-tiny:init=random", "--engine", "inline",
                 "--data-root", str(tmp_path / "nothing"), "--out", str(tmp_path / "out"), "--cache",
                 str(tmp_path / "c"), "--no-progress"])
    out = capsys.readouterr()
    assert code == 2 and "no dataset folder" in out.out and "nothing was run" in out.err


def test_cli_quiet_prints_only_the_summary(tmp_path, capsys):
    from benchmarks.run import main

    code = main(["--suite", "webvid-recon", "--tokenizers", "ref-grey", "--engine", "inline", "--out",
                 str(tmp_path / "out"), "--cache", str(tmp_path / "c"), "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out
    lines = [l for l in out.out.splitlines() if l.strip()]
    assert all(l.startswith("[run]") for l in lines), lines      # no per-task log lines, no progress bar
    assert "0 failed" in lines[0] and "tables:" in lines[1] and str(tmp_path / "out" / "tables") in lines[1]
    assert "it/s" not in out.err and "task/s" not in out.err



def test_failure_record_fills_the_file_from_the_shard_and_makes_it_relative(tmp_path):
    from benchmarks.base import DataSource
    from benchmarks.engine.loop import failure_record

    data = DataSource(str(tmp_path / "ds"), "real sample")
    shard = {"items": ["a", "b"], "files": [str(tmp_path / "ds" / "v" / "a.mp4"), str(tmp_path / "ds" / "v" / "b.mp4")]}
    got = failure_record({"sample": "b", "file": None, "reason": "generation failed"}, shard, data)
    assert got == {"sample": "b", "file": "v/b.mp4", "reason": "generation failed", "data_origin": "real sample"}
    outside = failure_record({"sample": "x", "file": "/elsewhere/x.mp4", "reason": "r"}, None, data)
    assert outside["file"] == "/elsewhere/x.mp4"
