"""What a worker runs: build a tokenizer (:func:`task_prepare`), fit a benchmark's cross-shard state (:func:`task_fit`),
score one shard (:func:`task_shard`). Each task receives :class:`TaskSpec` s (``module:factory`` + options, shipped
rather than looked up, so a user's own tokenizer works on any worker that can import its module); built objects are
kept per worker process."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TaskSpec", "task_prepare", "task_fit", "task_shard", "worker_setup", "WORKER_OBJECTS"]

WORKER_OBJECTS: dict[tuple, Any] = {}


@dataclass(frozen=True)
class TaskSpec:
    """How a worker builds a tokenizer or benchmark: ``module:factory`` + options. ``role`` tokenizer:
    ``factory(name=..., **provide(name, options))``; benchmark: ``Class(**options)``."""

    name: str
    target: str
    options: dict = field(default_factory=dict)
    role: str = "tokenizer"

    def build(self):
        from adapters.lazy_registry import import_target

        obj = import_target(self.target, f"{self.role} {self.name!r}")
        if self.role != "tokenizer":
            return obj(**self.options)
        from adapters.registry import _call_factory
        from benchmarks.provisioning import provide

        return _call_factory(obj, self.name, provide(self.name, self.options))


def worker_setup() -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("PYRATOK_WORKER_THREADS", "1")))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _get(spec: TaskSpec):
    key = (spec.target, spec.name, json.dumps(spec.options, sort_keys=True, default=str))
    if key not in WORKER_OBJECTS:
        WORKER_OBJECTS[key] = spec.build()
    return WORKER_OBJECTS[key]


def checkpoint_stats(identity: dict) -> dict:
    """{file: [size, mtime_ns]} of the checkpoint an identity names (the prepare memo is valid while they hold)."""
    path = (identity.get("checkpoint") or {}).get("path")
    if not path:
        return {}
    p = Path(path)
    files = [p] if p.is_file() else sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else []
    return {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in files}


def task_prepare(tok: TaskSpec) -> dict:
    """Build the tokenizer (training it if it is trained here and not cached yet); its identity and cache key."""
    worker_setup()
    t0 = time.time()
    t = _get(tok)
    ident = t.identity()
    return {"identity": ident, "cache_key": t.cache_key(), "seconds": round(time.time() - t0, 2),
            "files": checkpoint_stats(ident)}


def task_fit(tok: TaskSpec, bench: TaskSpec, data: dict, out_dir: str) -> dict | None:
    from benchmarks.base import DataSource

    worker_setup()
    t, b = _get(tok), _get(bench)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return b.fit(t, DataSource(**data), Path(out_dir))


def task_shard(tok: TaskSpec, bench: TaskSpec, data: dict, shard: dict, fitted: dict | None) -> dict:
    from benchmarks.base import DataSource, Shard
    from benchmarks.records import device_description

    worker_setup()
    t, b = _get(tok), _get(bench)
    s = Shard(shard["index"], shard["count"], tuple(shard["items"]), tuple(shard["files"]))
    t0 = time.time()
    res = b.run_shard(t, DataSource(**data), s, fitted)
    res.seconds = round(time.time() - t0, 3)
    res.extras["device"] = device_description()
    return res.to_dict()
