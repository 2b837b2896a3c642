"""The runner: tokenizer x benchmark x shard as a task graph on Ray, with a shard cache, retries and failure records.

Flow of one run (:func:`run`):

1. **prepare** — one task per tokenizer builds it (training the trained-here ones once; they are cached by
   :mod:`adapters.trained_here`) and returns its identity and cache key. A tokenizer that cannot be built (a missing
   local weight directory, a paper-only codec) is recorded with its reason; the rest go on.
2. **plan** — for every (tokenizer, benchmark) the tokenizer applies to, the benchmark's shards; each shard's cache
   key is a hash of (tokenizer cache key = adapter + options + checkpoint sha, benchmark + full protocol incl. its
   version, the shard's items, a digest of the shard's input files). Shards already in the cache are not run.
3. **fit** — benchmarks that fit something across shards (a probe, a generative prior) get one fit task per
   (tokenizer, benchmark), cached the same way; its shard tasks depend on it.
4. **shards** — run on Ray workers (one torch thread each); a failed task is retried (``retries``); a task that
   still fails is recorded (benchmark, tokenizer, shard, error) and its benchmark cell gets no value.
5. **reduce** — in the driver, per (tokenizer, benchmark) once all its shards are in: metrics -> result records
   (:mod:`benchmarks.records`) with provenance; per-sample failures go to ``failures.jsonl``.

The cache lives in ``cache_dir`` (default ``$PYRATOK_CACHE/runs``): ``shards/<key>.json`` and ``fits/<key>/``. A run
killed at any point resumes from it; a finished run re-renders its tables from it in seconds. Engines:
``ray`` (local instance by default, ``address`` for a cluster) and ``inline`` (same code path, serial, in process —
for debugging and tests).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["RunConfig", "RunSummary", "run", "shard_cache_key", "fit_cache_key", "files_digest", "TaskSpec",
           "default_cache_dir"]

CACHE_LAYOUT_VERSION = "1"
_HASH_CONTENT_LIMIT = 64 << 20  # files larger than this are identified by (size, mtime) instead of content


def default_cache_dir() -> Path:
    return Path(os.environ.get("PYRATOK_CACHE", Path.home() / ".cache" / "pyratok")) / "runs"


# ------------------------------------------------------------------------------------------------ cache keys
_digest_memo: dict[tuple, str] = {}


def _file_digest(path: str) -> str:
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return "missing"
    memo_key = (str(p), st.st_size, st.st_mtime_ns)
    if memo_key in _digest_memo:
        return _digest_memo[memo_key]
    if p.is_dir():
        d = f"dir:{sorted(x.name for x in p.iterdir())}"
    elif st.st_size > _HASH_CONTENT_LIMIT:
        d = f"size:{st.st_size}:mtime:{st.st_mtime_ns}"
    else:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        d = h.hexdigest()
    _digest_memo[memo_key] = d
    return d


def files_digest(files: list[str] | tuple[str, ...]) -> str:
    """Digest of input files: content sha256 (files up to 64 MiB; larger ones by size + mtime), in order. A file
    that does not exist contributes "missing" (its shard then records the failure)."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(Path(f).name).encode())
        h.update(_file_digest(str(f)).encode())
    return h.hexdigest()


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]


def shard_cache_key(tokenizer_key: str, benchmark: str, protocol: dict, shard: dict, data_digest: str) -> str:
    return _hash({"layout": CACHE_LAYOUT_VERSION, "tokenizer": tokenizer_key, "benchmark": benchmark,
                  "protocol": protocol, "shard": {"index": shard["index"], "count": shard["count"],
                                                  "items": shard["items"]}, "data": data_digest})


def fit_cache_key(tokenizer_key: str, benchmark: str, protocol: dict, data_digest: str) -> str:
    return _hash({"layout": CACHE_LAYOUT_VERSION, "fit": True, "tokenizer": tokenizer_key, "benchmark": benchmark,
                  "protocol": protocol, "data": data_digest})


# ------------------------------------------------------------------------------------------------ config
@dataclass(frozen=True)
class TaskSpec:
    """How a worker builds a tokenizer or benchmark: ``module:factory`` + options (shipped, not looked up, so a
    user's own registered adapter works on any worker that can import its module)."""

    name: str
    target: str
    options: dict = field(default_factory=dict)
    role: str = "tokenizer"   # tokenizer: factory(name=..., **options); benchmark: Class(**options)

    def build(self):
        import importlib

        module_name, _, attr = self.target.partition(":")
        obj = getattr(importlib.import_module(module_name), attr)
        if self.role != "tokenizer":
            return obj(**self.options)
        from benchmarks.provisioning import provide

        return obj(name=self.name, **provide(self.name, self.options))


@dataclass
class RunConfig:
    benchmarks: list[str]
    tokenizers: list[str] | None = None       # None: each benchmark's defaults
    data_root: str | None = None              # None: synthetic data (+ real samples where they exist)
    out: str = "results"
    cache_dir: str | None = None
    engine: str = "ray"                       # ray | inline
    address: str | None = None
    workers: int | None = None                # Ray CPUs for a local instance (default: all cores)
    retries: int = 2
    synthetic_scale: str = "tiny"
    synthetic_seed: int = 0
    benchmark_options: dict = field(default_factory=dict)   # {benchmark: {protocol option: value}}
    tokenizer_options: dict = field(default_factory=dict)   # {tokenizer: {option: value}}
    progress: bool = True
    log: Callable[[str], None] | None = None


@dataclass
class RunSummary:
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)          # per-sample failures
    task_failures: list[dict] = field(default_factory=list)     # tasks that failed after all retries
    tokenizer_failures: list[dict] = field(default_factory=list)
    not_applicable: list[dict] = field(default_factory=list)
    data_unavailable: list[dict] = field(default_factory=list)   # benchmarks whose dataset was not found
    identities: dict = field(default_factory=dict)               # tokenizer -> identity (tables' identity columns)
    shards_total: int = 0
    shards_cached: int = 0
    shards_run: int = 0
    retries_used: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("shards_total", "shards_cached", "shards_run", "retries_used",
                                              "seconds")} | {
            "n_records": len(self.records), "n_sample_failures": len(self.failures),
            "task_failures": self.task_failures, "tokenizer_failures": self.tokenizer_failures,
            "data_unavailable": self.data_unavailable,
            "not_applicable": self.not_applicable}


# ------------------------------------------------------------------------------------------------ worker side
_WORKER_OBJECTS: dict[tuple, Any] = {}


def _worker_setup():
    import torch

    torch.set_num_threads(int(os.environ.get("PYRATOK_WORKER_THREADS", "1")))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _get(spec: TaskSpec):
    key = (spec.target, spec.name, json.dumps(spec.options, sort_keys=True, default=str))
    if key not in _WORKER_OBJECTS:
        _WORKER_OBJECTS[key] = spec.build()
    return _WORKER_OBJECTS[key]


def task_prepare(tok: TaskSpec) -> dict:
    """Build the tokenizer (training it if it is trained here and not cached yet); its identity and cache key."""
    _worker_setup()
    t0 = time.time()
    t = _get(tok)
    ident = t.identity()
    return {"identity": ident, "cache_key": t.cache_key(), "seconds": round(time.time() - t0, 2),
            "files": _checkpoint_stats(ident)}


# ------------------------------------------------------------------------------------------------ prepare memo
# A fully cached re-run should not load every tokenizer just to learn its cache key. The prepare result is memoised
# under a key of (adapter spec, digest of the adapter/model source code) and reused only while the checkpoint
# files it names are unchanged (size + mtime); any code change in adapters/ or pyratok/ (e.g. a new training
# recipe) invalidates it.
_SOURCE_DIGEST: dict[str, str] = {}


def _source_digest(target: str) -> str:
    import importlib.util

    module = target.partition(":")[0]
    if module not in _SOURCE_DIGEST:
        repo = Path(__file__).resolve().parents[1]
        files = sorted((repo / "adapters").rglob("*.py")) + sorted((repo / "pyratok").rglob("*.py"))
        spec = importlib.util.find_spec(module)
        if spec and spec.origin and Path(spec.origin) not in files:
            files.append(Path(spec.origin))
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.name).encode())
            h.update(f.read_bytes())
        _SOURCE_DIGEST[module] = h.hexdigest()
    return _SOURCE_DIGEST[module]


def _checkpoint_stats(identity: dict) -> dict:
    path = (identity.get("checkpoint") or {}).get("path")
    if not path:
        return {}
    p = Path(path)
    files = [p] if p.is_file() else sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else []
    return {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in files}


def _prepare_memo_key(spec: TaskSpec) -> str:
    return _hash({"layout": CACHE_LAYOUT_VERSION, "target": spec.target, "name": spec.name, "options": spec.options,
                  "source": _source_digest(spec.target)})


def _prepare_memo_load(cache: Path, spec: TaskSpec) -> dict | None:
    f = cache / "prepared" / f"{_prepare_memo_key(spec)}.json"
    if not f.is_file():
        return None
    try:
        memo = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    stats = memo.get("files", {})
    for path, (size, mtime) in stats.items():
        try:
            st = Path(path).stat()
        except OSError:
            return None
        if st.st_size != size or st.st_mtime_ns != mtime:
            return None
    if memo.get("identity", {}).get("checkpoint", {}).get("path") and not stats:
        return None
    return memo


def task_fit(tok: TaskSpec, bench: TaskSpec, data: dict, out_dir: str) -> dict | None:
    from benchmarks.base import DataSource

    _worker_setup()
    t, b = _get(tok), _get(bench)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return b.fit(t, DataSource(**data), Path(out_dir))


def task_shard(tok: TaskSpec, bench: TaskSpec, data: dict, shard: dict, fitted: dict | None) -> dict:
    from benchmarks.base import DataSource, Shard

    _worker_setup()
    t, b = _get(tok), _get(bench)
    s = Shard(shard["index"], shard["count"], tuple(shard["items"]), tuple(shard["files"]))
    t0 = time.time()
    res = b.run_shard(t, DataSource(**data), s, fitted)
    res.seconds = round(time.time() - t0, 3)
    from benchmarks.records import device_description

    res.extras["device"] = device_description()
    return res.to_dict()


# ------------------------------------------------------------------------------------------------ engines
class _InlineEngine:
    """Runs each task in this process when ``wait`` hands it out (one at a time, in submission order), so results
    are cached as they finish — the same control flow as Ray, serially."""

    def __init__(self):
        self._todo: dict[int, tuple] = {}
        self._done: dict[int, tuple[bool, Any]] = {}
        self._n = 0

    def submit(self, fn, *args) -> "_Ref":
        self._n += 1
        self._todo[self._n] = (fn, args)
        return _Ref(self._n)

    def wait(self, refs: list) -> tuple[list, list]:
        ref = min(refs, key=lambda r: r.n)
        if ref.n in self._todo:
            fn, args = self._todo.pop(ref.n)
            try:
                self._done[ref.n] = (True, fn(*args))
            except Exception as err:  # noqa: BLE001 — recorded, retried by the runner
                self._done[ref.n] = (False, err)
        return [ref], [r for r in refs if r is not ref]

    def get(self, ref):
        ok, value = self._done.pop(ref.n)
        if not ok:
            raise value
        return value

    def shutdown(self):
        pass


@dataclass(frozen=True)
class _Ref:
    n: int


class _RayEngine:
    def __init__(self, address: str | None, workers: int | None, log):
        import ray

        self.ray = ray
        env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1", "PYRATOK_WORKER_THREADS": os.environ.get("PYRATOK_WORKER_THREADS", "1"),
               "RAY_DEDUP_LOGS": "0"}
        for k in ("PYRATOK_CACHE", "PYRATOK_REALDATA", "PYRATOK_I3D"):
            if k in os.environ:
                env[k] = os.environ[k]
        if not ray.is_initialized():
            kwargs = dict(runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False,
                          ignore_reinit_error=True)
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
        self._remote = {}
        if log:
            log(f"[runner] Ray: {ray.cluster_resources().get('CPU', 0):.0f} CPUs "
                f"({'cluster ' + address if address else 'local instance'})")

    def submit(self, fn, *args):
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        return self._remote[fn].remote(*args)

    def wait(self, refs):
        return self.ray.wait(refs, num_returns=1)

    def get(self, ref):
        return self.ray.get(ref)

    def shutdown(self):
        pass  # keep the instance: a second run in the same process reuses it


# ------------------------------------------------------------------------------------------------ driver
def _atomic_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, sort_keys=True, default=str))
    tmp.replace(path)


def _tokenizer_spec(name: str, options: dict) -> TaskSpec:
    from adapters.registry import get_spec, parse_tokenizer_spec

    base, opts = parse_tokenizer_spec(name) if ":" in name else (name, {})
    spec = get_spec(base)
    return TaskSpec(name if not opts else base, spec.target, {**spec.options, **opts, **options}), spec


def run(cfg: RunConfig) -> RunSummary:
    """Run the task graph; returns the summary with all result records (cached shards included)."""
    from benchmarks.matrix import default_tokenizers_for
    from benchmarks.base import Metric, ShardResult
    from benchmarks.records import ResultRecord, code_version, device_description
    from benchmarks.registry import BENCHMARKS, build_benchmark

    log = cfg.log or (lambda s: print(s, flush=True))
    t_start = time.time()
    summary = RunSummary()
    cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    (cache / "shards").mkdir(parents=True, exist_ok=True)

    # benchmarks (driver copies: locate, shards, reduce)
    benches, bench_specs = {}, {}
    for bname in cfg.benchmarks:
        opts = cfg.benchmark_options.get(bname, {})
        benches[bname] = build_benchmark(bname, **opts)
        bench_specs[bname] = TaskSpec(bname, BENCHMARKS[bname][0], opts, role="benchmark")

    # data
    from benchmarks.data import ensure_synthetic

    synthetic_root = None
    sources = {}
    for bname, b in benches.items():
        if cfg.data_root is None and synthetic_root is None:
            synthetic_root = ensure_synthetic([x.dataset for x in benches.values()], cfg.synthetic_scale,
                                              cfg.synthetic_seed, log=log)
        try:
            sources[bname] = b.locate(Path(cfg.data_root) if cfg.data_root else None, synthetic_root)
        except (FileNotFoundError, ValueError) as err:  # e.g. --data-root holds only some of the datasets
            summary.data_unavailable.append({"benchmark": bname, "reason": str(err)})
            log(f"[runner] {bname} skipped: {err}")
    benches = {k: v for k, v in benches.items() if k in sources}

    # which tokenizers run which benchmark
    wanted: dict[str, list[str]] = {}
    for bname, b in benches.items():
        names = list(cfg.tokenizers) if cfg.tokenizers else default_tokenizers_for(bname, b)
        wanted[bname] = names
    all_tok = list(dict.fromkeys(n for names in wanted.values() for n in names))

    engine = _InlineEngine() if cfg.engine == "inline" else _RayEngine(cfg.address, cfg.workers, log)
    code, device = code_version(), device_description()

    tok_specs: dict[str, TaskSpec] = {}
    pending: dict[Any, tuple] = {}  # ref -> (kind, payload)
    prepared_from_memo: list[tuple[str, dict]] = []
    for name in all_tok:
        try:
            spec, reg = _tokenizer_spec(name, cfg.tokenizer_options.get(name, {}))
        except (KeyError, ValueError) as err:
            raise type(err)(str(err)) from None
        if reg.paper_only:
            summary.tokenizer_failures.append({"tokenizer": name, "reason": f"paper-only: {reg.paper_only}"})
            continue
        tok_specs[name] = spec
        memo = _prepare_memo_load(cache, spec)
        if memo is not None:
            prepared_from_memo.append((name, memo))
        else:
            pending[engine.submit(task_prepare, spec)] = ("prepare", name, 0)

    identities: dict[str, dict] = {}
    tok_keys: dict[str, str] = {}
    # per (tok, bench) state
    state: dict[tuple[str, str], dict] = {}
    progress = _Progress(cfg.progress)

    def plan(name: str):
        ident = identities[name]
        to_submit: list[tuple[float, str, int]] = []
        for bname, b in benches.items():
            if name not in wanted[bname]:
                continue
            why = b.applies_to(ident)
            if why:
                summary.not_applicable.append({"tokenizer": name, "benchmark": bname, "reason": why})
                continue
            data = sources[bname]
            shards = b.shards(data)
            st = {"shards": {}, "results": {}, "fitted": None, "fit_ref": None, "failed": [], "data": data}
            state[(name, bname)] = st
            fit_files = b.fit_files(data)
            fkey = fit_cache_key(tok_keys[name], bname, b.protocol, files_digest(fit_files))
            fit_dir = cache / "fits" / fkey
            fit_file = fit_dir / "fitted.json"
            needs_fit = type(b).fit is not _base_fit()
            if needs_fit and fit_file.is_file():
                st["fitted"] = json.loads(fit_file.read_text())["fitted"]
            elif needs_fit:
                ref = engine.submit(task_fit, tok_specs[name], bench_specs[bname], data.to_dict(), str(fit_dir))
                st["fit_ref"] = ref
                pending[ref] = ("fit", (name, bname, fit_file), 0)
                progress.add(1)
            for sh in shards:
                shd = sh.to_dict()
                key = shard_cache_key(tok_keys[name], bname, b.protocol, shd, files_digest(sh.files))
                st["shards"][sh.index] = (key, shd)
                summary.shards_total += 1
                f = cache / "shards" / f"{key}.json"
                if f.is_file():
                    st["results"][sh.index] = ShardResult.from_dict(json.loads(f.read_text())["result"])
                    summary.shards_cached += 1
                else:
                    progress.add(1)
                    if st["fit_ref"] is None:
                        to_submit.append((b.shard_cost(sh), bname, sh.index))
            maybe_reduce(name, bname)
        # longest first: a long task started last would leave the other workers idle at the end
        for _, bname, index in sorted(to_submit, key=lambda x: -x[0]):
            submit_shard(name, bname, index)

    def submit_shard(name, bname, index, attempt=0):
        st = state[(name, bname)]
        key, shd = st["shards"][index]
        ref = engine.submit(task_shard, tok_specs[name], bench_specs[bname], st["data"].to_dict(), shd, st["fitted"])
        pending[ref] = ("shard", (name, bname, index), attempt)

    def maybe_reduce(name, bname):
        st = state[(name, bname)]
        if st.get("reduced") or len(st["results"]) + len(st["failed"]) < len(st["shards"]):
            return
        if st["fit_ref"] is not None and not st.get("fit_done") and not st.get("fit_failed"):
            return  # a fit (which may legitimately return None) is still running
        st["reduced"] = True
        b, data, ident = benches[bname], st["data"], identities[name]
        results = [st["results"][i] for i in sorted(st["results"])]
        seconds = round(sum(r.seconds for r in results), 3)
        devices = sorted({r.extras.get("device") for r in results if r.extras.get("device")})
        dev = "; ".join(devices) or device
        for r in results:
            for fl in r.failures:
                summary.failures.append({"benchmark": bname, "tokenizer": name, **fl})
        metrics: list[Metric]
        if st["failed"] or st.get("fit_failed"):
            why = st.get("fit_failed") or f"{len(st['failed'])} of {len(st['shards'])} shards failed after retries"
            metrics = [Metric("task_failed", None, 0, note=why)]
        else:
            try:
                metrics = b.reduce(results, data, st["fitted"])
            except Exception as err:  # noqa: BLE001
                summary.task_failures.append({"benchmark": bname, "tokenizer": name, "stage": "reduce",
                                              "error": f"{type(err).__name__}: {err}"})
                metrics = [Metric("task_failed", None, 0, note=f"reduce failed: {type(err).__name__}: {err}")]
        n_failed = sum(len(r.failures) for r in results)
        _write_images(Path(cfg.out) / "figures" / "samples" / bname / _safe(name), results)
        for m in metrics:
            summary.records.append(ResultRecord(
                benchmark=bname, tokenizer=name, metric=m.name, value=m.value, n_samples=m.n_samples,
                n_failed=m.n_failed or n_failed, data_origin=data.origin, data_source=data.label(),
                protocol_version=str(b.protocol.get("version")), table=b.table, task=b.task, unit=m.unit,
                higher_is_better=m.higher_is_better, note=m.note, text_space=m.extra.get("text_space"),
                tokenizer_family=ident["family"], tokenizer_kind=ident["kind"],
                checkpoint_origin=ident["checkpoint"]["origin"], checkpoint_sha=ident["checkpoint"]["sha256"],
                code_version=code, device=dev, seconds=seconds,
                extra={k: v for k, v in m.extra.items() if k != "text_space"}).to_dict())

    for name, memo in prepared_from_memo:
        identities[name], tok_keys[name] = memo["identity"], memo["cache_key"]
        summary.identities[name] = memo["identity"]
        plan(name)

    while pending:
        ready, _ = engine.wait(list(pending))
        ref = ready[0]
        kind, payload, attempt = pending.pop(ref)
        try:
            value = engine.get(ref)
            err = None
        except Exception as e:  # noqa: BLE001
            value, err = None, e
        if kind == "prepare":
            name = payload
            if err is not None:
                cause = getattr(err, "cause", None) or err
                summary.tokenizer_failures.append({"tokenizer": name, "reason": f"{type(cause).__name__}: {cause}"})
                log(f"[runner] tokenizer {name} unavailable: {type(cause).__name__}: {cause}")
                continue
            identities[name], tok_keys[name] = value["identity"], value["cache_key"]
            summary.identities[name] = value["identity"]
            _atomic_json(cache / "prepared" / f"{_prepare_memo_key(tok_specs[name])}.json", value)
            plan(name)
        elif kind == "fit":
            name, bname, fit_file = payload
            st = state[(name, bname)]
            if err is not None and attempt < cfg.retries:
                summary.retries_used += 1
                ref2 = engine.submit(task_fit, tok_specs[name], bench_specs[bname], st["data"].to_dict(),
                                     str(fit_file.parent))
                st["fit_ref"] = ref2
                pending[ref2] = ("fit", payload, attempt + 1)
                continue
            progress.step()
            if err is not None:
                st["fit_failed"] = f"fit failed after {attempt + 1} attempts: {type(err).__name__}: {err}"
                summary.task_failures.append({"benchmark": bname, "tokenizer": name, "stage": "fit",
                                              "error": _short_tb(err), "attempts": attempt + 1})
                st["failed"] = [i for i in st["shards"] if i not in st["results"]]
                maybe_reduce(name, bname)
                continue
            _atomic_json(fit_file, {"fitted": value})
            st["fitted"], st["fit_done"] = value, True
            for i in st["shards"]:
                if i not in st["results"]:
                    submit_shard(name, bname, i)
        else:
            name, bname, index = payload
            st = state[(name, bname)]
            if err is not None and attempt < cfg.retries:
                summary.retries_used += 1
                cause = getattr(err, "cause", None) or err
                log(f"[runner] retry {attempt + 1}/{cfg.retries}: {bname} x {name} shard {index}: "
                    f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")
                submit_shard(name, bname, index, attempt + 1)
                continue
            progress.step()
            if err is not None:
                st["failed"].append(index)
                summary.task_failures.append({"benchmark": bname, "tokenizer": name, "stage": "shard",
                                              "shard": index, "error": _short_tb(err), "attempts": attempt + 1})
                log(f"[runner] FAILED {bname} x {name} shard {index} after {attempt + 1} attempts: "
                    f"{_short_tb(err).splitlines()[0]}")
            else:
                key, _ = st["shards"][index]
                _atomic_json(cache / "shards" / f"{key}.json",
                             {"result": value, "benchmark": bname, "tokenizer": name, "shard": index})
                st["results"][index] = ShardResult.from_dict(value)
                summary.shards_run += 1
            maybe_reduce(name, bname)
    progress.close()
    engine.shutdown()
    summary.seconds = round(time.time() - t_start, 2)
    return summary


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_images(folder: Path, results) -> None:
    """Example images a benchmark attached to its shard results (``extras["images"]``: [{"name", "png" base64}])
    -> ``<out>/figures/samples/<benchmark>/<tokenizer>/<name>.png`` (the figure functions assemble them)."""
    import base64

    for r in results:
        for img in r.extras.get("images", []):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{_safe(str(img['name']))}.png").write_bytes(base64.b64decode(img["png"]))


def _base_fit():
    from benchmarks.base import Benchmark

    return Benchmark.fit


def _short_tb(err: BaseException) -> str:
    err = getattr(err, "cause", None) or err  # Ray wraps the worker's exception: report the original
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)[-3:])
    return f"{type(err).__name__}: {err}\n{tb}"[-2000:]


class _Progress:
    """A live progress bar over tasks that actually run (cached shards are not counted)."""

    def __init__(self, enabled: bool):
        self.total = 0
        self.bar = None
        self.enabled = enabled

    def add(self, n: int):
        self.total += n
        if self.enabled:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, desc="tasks", unit="task", dynamic_ncols=True)
            else:
                self.bar.total = self.total
                self.bar.refresh()

    def step(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
