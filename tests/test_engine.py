"""The engine: plan-time refusal of configuration errors, retries only for transient errors, cache keys that follow
the code, exclusive scheduling, fixed planned counts, run configs, the registry mechanism."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from adapters.lazy_registry import Entry, Registry, UnknownName
from adapters.registry import REGISTRY, TokenizerSpec
from benchmarks import registry as bench_registry
from benchmarks.engine import cache_keys
from benchmarks.engine.errors import ConfigurationError, is_transient
from benchmarks.runner import RunConfig, run

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture
def fakes(monkeypatch):
    sys.path.insert(0, str(TESTS))
    monkeypatch.setitem(REGISTRY, "fake-scale", TokenizerSpec("fake-scale", "runner_fakes:build_scale", {}, "pyratok"))
    monkeypatch.setitem(REGISTRY, "fake-needs", TokenizerSpec("fake-needs", "runner_fakes:build_scale", {}, "pyratok",
                                                              required={"gain": "the gain; no default here"}))
    monkeypatch.setitem(bench_registry.BENCHMARKS, "fake-counting", ("runner_fakes:CountingBenchmark", "test"))
    monkeypatch.setitem(bench_registry.BENCHMARKS, "fake-latency",
                        Entry("runner_fakes:LatencyCounting", "test", {"exclusive": True}))
    yield
    sys.path.remove(str(TESTS))


def _cfg(tmp_path, **kw):
    base = dict(benchmarks=["fake-counting"], tokenizers=["fake-scale"], out=str(tmp_path / "out"),
                cache_dir=str(tmp_path / "cache"), engine="inline", progress=False, log=lambda s: None)
    base.update(kw)
    return RunConfig(**base)


# ---------------------------------------------------------------------------------------------- errors
def test_missing_required_option_is_refused_before_any_work(fakes, tmp_path):
    with pytest.raises(ConfigurationError) as e:
        run(_cfg(tmp_path, tokenizers=["fake-scale", "fake-needs"]))
    msg = str(e.value)
    assert "fake-needs on fake-counting" in msg and "'gain'" in msg and "nothing was started" in msg
    assert not list((tmp_path / "cache").rglob("*.json"))          # no prepare memo, no shard: nothing ran
    s = run(_cfg(tmp_path, tokenizers=["fake-needs:gain=0.5"]))    # given the option, it runs
    assert {r["metric"]: r["value"] for r in s.records}["sum"] == pytest.approx(7.5)


def test_codec_on_reconstruction_is_refused_at_plan_time_naming_the_fix(tmp_path, capsys):
    """The run of the issue: h264 on webvid-recon used to fail every shard and retry 22 times."""
    from benchmarks.run import main

    code = main(["--suite", "webvid-recon,coco-recon", "--tokenizers", "h264", "--engine", "inline", "--out",
                 str(tmp_path / "out"), "--cache", str(tmp_path / "c"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "h264 on webvid-recon" in err and "h264 on coco-recon" in err and "'bpp'" in err
    assert "mcl-jcv-compression" in err
    assert not (tmp_path / "c" / "shards").exists() or not list((tmp_path / "c" / "shards").iterdir())


def test_unknown_protocol_key_and_benchmark_are_configuration_errors(fakes, tmp_path):
    with pytest.raises(ConfigurationError, match="unknown protocol option.*valid"):
        run(_cfg(tmp_path, benchmark_options={"fake-counting": {"nn": 3}}))
    with pytest.raises(ConfigurationError, match="webvid-recon.*does not include"):
        run(_cfg(tmp_path, benchmark_options={"webvid-recon": {"size": 3}}))


def test_deterministic_error_is_not_retried_transient_one_is(fakes, tmp_path):
    fd = tmp_path / "fail"
    fd.mkdir()
    (fd / "fail-1").write_text("99")
    s = run(_cfg(tmp_path, retries=2, benchmark_options={"fake-counting": {"fail_dir": str(fd),
                                                                           "fail_kind": "value"}}))
    assert s.retries_used == 0 and len(s.task_failures) == 1
    assert s.task_failures[0]["attempts"] == 1 and s.task_failures[0]["transient"] is False
    assert (fd / "fail-1").read_text() == "98"                     # it ran exactly once
    (fd / "fail-0").write_text("1")                                 # RuntimeError: may be transient -> retried
    s2 = run(_cfg(tmp_path, retries=2, cache_dir=str(tmp_path / "c2"),
                  benchmark_options={"fake-counting": {"fail_dir": str(fd), "fail_kind": "runtime"}}))
    assert s2.retries_used >= 1 and not any(f["shard"] == 0 for f in s2.task_failures)


def test_error_classification():
    assert not is_transient(ValueError("no target bits per pixel"))
    assert not is_transient(FileNotFoundError("x"))
    assert is_transient(RuntimeError("CUDA out of memory"))
    assert is_transient(OSError(28, "No space left on device"))

    class Wrapped(Exception):  # Ray's RayTaskError carries the worker's exception as .cause
        cause = KeyError("k")
    assert not is_transient(Wrapped())


# ---------------------------------------------------------------------------------------------- plan / schedule
def test_planned_counts_are_fixed_before_work_and_match_what_ran(fakes, tmp_path):
    s = run(_cfg(tmp_path, benchmark_options={"fake-counting": {"fit": 1.0}}))
    assert (s.planned.prepare, s.planned.fits, s.planned.shards) == (1, 1, 3) and s.shards_run == 3
    s2 = run(_cfg(tmp_path, benchmark_options={"fake-counting": {"fit": 1.0}}))
    assert (s2.planned.prepare, s2.planned.fits, s2.planned.shards, s2.planned.shards_cached) == (0, 0, 0, 3)


def test_exclusive_shards_run_alone_after_everything_else(fakes, tmp_path):
    order = tmp_path / "order.txt"
    opts = {"order_file": str(order), "n": 4, "per_shard": 1}
    s = run(_cfg(tmp_path, benchmarks=["fake-latency", "fake-counting"],
                 benchmark_options={"fake-latency": opts, "fake-counting": opts}))
    ran = order.read_text().split()
    assert len(ran) == 8 and not s.task_failures
    assert [r.split(":")[0] for r in ran] == ["fake-counting"] * 4 + ["fake-latency"] * 4


# ---------------------------------------------------------------------------------------------- cache keys
def _copy_with_edit(monkeypatch, tmp_path, module: str) -> Path:
    """Point the digest of ``module`` at a temp copy of its source (which the test then edits)."""
    real = cache_keys._module_file(module)
    copy = tmp_path / "src" / real.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(real, copy)
    orig = cache_keys._module_file
    monkeypatch.setattr(cache_keys, "_module_file", lambda name: copy if name == module else orig(name))
    return copy


def test_editing_a_metric_invalidates_its_benchmarks_shards_and_no_others(monkeypatch, tmp_path):
    copy = _copy_with_edit(monkeypatch, tmp_path, "benchmarks.metrics.temporal_ap")
    users = {"thumos": "benchmarks.tasks.localization:Thumos14Localization",
             "recon": "benchmarks.tasks.reconstruction:WebVidReconstruction",
             "gen": "benchmarks.tasks.class_generation:UCF101ClassConditionalGeneration"}
    before = {k: cache_keys.code_digest(t) for k, t in users.items()}
    assert before == {k: cache_keys.code_digest(t) for k, t in users.items()}   # stable
    copy.write_text(copy.read_text() + "\n# an edit\n")
    after = {k: cache_keys.code_digest(t) for k, t in users.items()}
    assert after["thumos"] != before["thumos"]
    assert after["recon"] == before["recon"] and after["gen"] == before["gen"]


def test_editing_task_code_reruns_its_shards_end_to_end(fakes, monkeypatch, tmp_path):
    """Two benchmarks in a run; a (simulated) edit of the module one of them imports re-runs only its shards."""
    (tmp_path / "pkgs").mkdir()
    for mod, imp in (("fake_task_a", "import benchmarks.metrics.temporal_ap  # noqa: F401\n"), ("fake_task_b", "")):
        (tmp_path / "pkgs" / f"{mod}.py").write_text(
            f"{imp}from runner_fakes import CountingBenchmark\n\n\nclass Bench(CountingBenchmark):\n"
            f"    name = {mod!r}\n")
        monkeypatch.setitem(bench_registry.BENCHMARKS, mod, (f"{mod}:Bench", "test"))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    copy = _copy_with_edit(monkeypatch, tmp_path, "benchmarks.metrics.temporal_ap")
    cfg = dict(benchmarks=["fake_task_a", "fake_task_b"])
    assert run(_cfg(tmp_path, **cfg)).shards_run == 6
    assert run(_cfg(tmp_path, **cfg)).shards_run == 0
    copy.write_text(copy.read_text() + "\n# an edit\n")
    s = run(_cfg(tmp_path, **cfg))
    assert s.shards_run == 3 and s.shards_cached == 3
    key_a = {json.loads(p.read_text())["benchmark"] for p in (tmp_path / "cache" / "shards").glob("*.json")}
    assert key_a == {"fake_task_a", "fake_task_b"}


def test_adapter_digest_covers_the_model_code_it_loads():
    closure = cache_keys.module_closure("adapters.pyratok_tokenizer")
    assert "pyratok.model" in closure and "pyratok.lfq" in closure
    assert not any(m.startswith("benchmarks.engine") for m in cache_keys.module_closure(
        "benchmarks.tasks.reconstruction", exclude=("benchmarks.engine",)))


# ---------------------------------------------------------------------------------------------- configs
def test_wrong_config_key_names_it_and_the_valid_ones(tmp_path):
    from benchmarks.configs import load_config

    bad = tmp_path / "bad.py"
    bad.write_text(f"_base_ = [{str(REPO / 'benchmarks/configs/embedded_default.py')!r}]\nenigne = 'inline'\n")
    with pytest.raises(ConfigurationError) as e:
        load_config(bad)
    assert "'enigne'" in str(e.value) and "Did you mean engine" in str(e.value) and "retries" in str(e.value)
    with pytest.raises(ConfigurationError, match="'sute'"):
        load_config(None, {"sute": "all"})


def test_yaml_config_inherits_and_cli_flags_override(tmp_path):
    from benchmarks.configs import load_config, run_config

    y = tmp_path / "run.yaml"
    y.write_text(f"_base_: [{str(REPO / 'benchmarks/configs/embedded_default.py')!r}]\nsuite: reconstruction\n"
                 "engine: inline\nprotocol: {webvid-recon: {size: 32}}\n")
    cfg = load_config(y, {"retries": 0, "protocol": {"webvid-recon": {"frames": 5}}})
    rc = run_config(cfg)
    assert rc.benchmarks == ["webvid-recon", "coco-recon", "tokenizer-efficiency"] and rc.engine == "inline"
    assert rc.retries == 0 and rc.out == "results"                       # override / inherited
    assert rc.benchmark_options == {"webvid-recon": {"size": 32, "frames": 5}}
    assert rc.config_digest != run_config(load_config(y)).config_digest         # protocol decides numbers
    assert rc.config_digest == run_config(load_config(y, {"retries": 0, "out": "elsewhere", "protocol": {
        "webvid-recon": {"frames": 5}}})).config_digest                          # the output folder does not


def test_resolved_config_is_written_and_referenced_from_every_record(fakes, tmp_path):
    from benchmarks.configs import load_config
    from benchmarks.run import main

    out = tmp_path / "out"
    code = main(["--suite", "fake-counting", "--tokenizers", "fake-scale", "--engine", "inline", "--out", str(out),
                 "--cache", str(tmp_path / "c"), "--no-progress", "--protocol", "fake-counting.n=4"])
    assert code == 0
    resolved = out / "run_config.py"
    digest = resolved.read_text().splitlines()[0].split("= ")[1]
    records = [json.loads(x) for x in (out / "records" / "fake-counting.jsonl").read_text().splitlines()]
    assert records and all(r["config_digest"] == digest for r in records)
    again = load_config(resolved)                                         # the written config is a valid config
    assert again["protocol"] == {"fake-counting": {"n": 4}} and again["engine"] == "inline"


def test_paper_full_config_loads_with_placeholder_paths():
    from benchmarks.configs import load_config, run_config

    rc = run_config(load_config(REPO / "benchmarks/configs/paper_full.py"))
    assert rc.data_root and rc.tokenizers and rc.tokenizers[0].startswith("pyratok:checkpoint=")
    assert len(rc.benchmarks) == len(bench_registry.SUITES["all"])


# ---------------------------------------------------------------------------------------------- registry
def test_registry_declares_once_imports_lazily_and_suggests(tmp_path, monkeypatch):
    (tmp_path / "reg_mod_ok.py").write_text(
        "from tests_reg import R\n@R.register('alpha-one', 'first')\nclass A:\n    pass\n")
    (tmp_path / "reg_mod_bad.py").write_text("import no_such_dependency_xyz\n")
    (tmp_path / "tests_reg.py").write_text(
        "from adapters.lazy_registry import Registry\nR = Registry('widget', locations=('reg_mod_ok', 'reg_mod_bad'))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import tests_reg

    assert "reg_mod_ok" not in sys.modules                               # nothing imported yet
    assert "alpha-one" in tests_reg.R and tests_reg.R.load("alpha-one").name == "alpha-one"
    with pytest.raises(UnknownName) as e:
        tests_reg.R.load("alpha-onee")
    msg = str(e.value)
    assert "Did you mean alpha-one" in msg and "reg_mod_bad" in msg and "no_such_dependency_xyz" in msg
    with pytest.raises(ValueError, match="registered twice"):
        tests_reg.R.register("alpha-one")(type("B", (), {}))


def test_dotted_names_are_names_not_scopes():
    r = Registry("thing")
    r.add("wan2.2-vae", Entry("json:dumps", "d"))
    assert r.load("wan2.2-vae") is json.dumps and r["wan2.2-vae"].description == "d"


def test_every_benchmark_declares_its_name_once():
    for name, entry in bench_registry.BENCHMARKS.items():
        assert bench_registry.benchmark_class(name).name == name, entry
    assert set(bench_registry.SUITES["all"]) == set(bench_registry.BENCHMARKS.names())


def test_user_tokenizer_class_by_import_path(tmp_path, monkeypatch):
    pkg = tmp_path / "my_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "my_module.py").write_text(
        "from adapters.base import Checkpoint, Encoding, Tokenizer\n"
        "class MyTokenizer(Tokenizer):\n    family = 'user'\n    kind = 'continuous'\n"
        "    def __init__(self, gain=1.0):\n        self.gain = float(gain)\n"
        "    @property\n    def checkpoint(self):\n        return Checkpoint('none', None, 'user')\n"
        "    def config(self):\n        return {'gain': self.gain}\n"
        "    def encode(self, video, texts=None):\n        return Encoding(video * self.gain, tuple(video.shape))\n"
        "    def decode(self, enc):\n        return enc.payload\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.path.insert(0, str(TESTS))
    monkeypatch.setitem(bench_registry.BENCHMARKS, "fake-counting", ("runner_fakes:CountingBenchmark", "test"))
    try:
        s = run(_cfg(tmp_path, tokenizers=["my_pkg.my_module:MyTokenizer:gain=0.5"]))
    finally:
        sys.path.remove(str(TESTS))
    vals = {r["metric"]: r["value"] for r in s.records}
    assert vals["sum"] == pytest.approx(7.5) and s.records[0]["tokenizer"] == "my_pkg.my_module:MyTokenizer:gain=0.5"


def test_evaluate_api_with_a_name_and_with_an_object(tmp_path, monkeypatch):
    from benchmarks import evaluate

    sys.path.insert(0, str(TESTS))
    monkeypatch.setitem(REGISTRY, "fake-scale", TokenizerSpec("fake-scale", "runner_fakes:build_scale", {}, "pyratok"))
    monkeypatch.setitem(bench_registry.BENCHMARKS, "fake-counting", ("runner_fakes:CountingBenchmark", "test"))
    try:
        import runner_fakes

        recs = evaluate("fake-scale:gain=0.25", suite="fake-counting", cache_dir=str(tmp_path / "c"),
                        log=lambda s: None)
        obj = evaluate(runner_fakes.ScaleTokenizer("my-object", 2.0), suite="fake-counting",
                       cache_dir=str(tmp_path / "c"), log=lambda s: None, out=str(tmp_path / "out"))
    finally:
        sys.path.remove(str(TESTS))
    assert {r["metric"]: r["value"] for r in recs}["sum"] == pytest.approx(0.25 * 15)
    assert {r["metric"]: r["value"] for r in obj}["sum"] == pytest.approx(2.0 * 15)
    assert obj[0]["tokenizer"] == "my-object" and "my-object" not in REGISTRY
    assert (tmp_path / "out" / "records" / "fake-counting.jsonl").is_file()
