"""The typed state of a run: its configuration (:class:`RunConfig`), the plan's counts (:class:`PlannedCounts`),
one (tokenizer, benchmark) :class:`Cell`, and what the run reports (:class:`RunSummary`)."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["RunConfig", "RunSummary", "PlannedCounts", "Cell", "default_cache_dir"]


def default_cache_dir() -> Path:
    from benchmarks.provisioning.cache import cache_root

    return cache_root() / "runs"


@dataclass
class RunConfig:
    """One run. Written as a config file (:mod:`benchmarks.configs`), the CLI flags override it."""

    benchmarks: list[str]
    tokenizers: list[str] | None = None       # None: each benchmark's defaults (benchmarks.matrix)
    data_root: str | None = None              # None: synthetic data (+ real samples where they exist)
    out: str = "results"
    cache_dir: str | None = None
    engine: str = "ray"                       # ray | inline
    address: str | None = None
    workers: int | None = None                # Ray CPUs for a local instance (default: all cores)
    retries: int = 2                          # retries of a task whose error may be transient
    synthetic_scale: str = "tiny"
    synthetic_seed: int = 0
    benchmark_options: dict = field(default_factory=dict)   # {benchmark: {protocol option: value}}
    tokenizer_options: dict = field(default_factory=dict)   # {tokenizer: {option: value}}
    progress: bool = True
    retrain_checkpoints: bool = False         # train pyratok/checkpoints afresh (PYRATOK_RETRAIN_CHECKPOINTS)
    log: Callable[[str], None] | None = None
    config_digest: str | None = None          # digest of the resolved config file, referenced from every record


@dataclass
class PlannedCounts:
    """Work the plan will run (cached work excluded), known before any of it starts."""

    prepare: int = 0          # tokenizers to build (not memoised)
    fits: int = 0
    shards: int = 0
    shards_cached: int = 0

    @property
    def total(self) -> int:
        return self.fits + self.shards


@dataclass
class Cell:
    """One (tokenizer, benchmark): its shards ``index -> (cache key, shard dict, cost)``, results, fit."""

    tokenizer: str
    benchmark: str
    data: Any                                   # DataSource
    fit_file: Path | None = None
    exclusive: bool = False                     # shards run alone on a node (latency timing)
    shards: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)  # index -> ShardResult
    failed: list = field(default_factory=list)
    fit_state: str = "none"                     # none | todo | running | done | failed
    fitted: Any = None
    fit_error: str = ""
    reduced: bool = False

    def todo(self) -> list[int]:
        return [i for i in self.shards if i not in self.results and i not in self.failed]

    def complete(self) -> bool:
        return self.fit_state not in ("todo", "running") and not self.todo()


@dataclass
class RunSummary:
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)          # per-sample failures
    task_failures: list[dict] = field(default_factory=list)     # tasks that failed (after retries, if transient)
    tokenizer_failures: list[dict] = field(default_factory=list)
    not_applicable: list[dict] = field(default_factory=list)
    data_unavailable: list[dict] = field(default_factory=list)   # benchmarks whose dataset was not found
    identities: dict = field(default_factory=dict)               # tokenizer -> identity (tables' identity columns)
    planned: PlannedCounts = field(default_factory=PlannedCounts)
    shards_total: int = 0
    shards_cached: int = 0
    shards_run: int = 0
    retries_used: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("shards_total", "shards_cached", "shards_run", "retries_used",
                                              "seconds")} | {
            "n_records": len(self.records), "n_sample_failures": len(self.failures),
            "planned": asdict(self.planned),
            "task_failures": self.task_failures, "tokenizer_failures": self.tokenizer_failures,
            "data_unavailable": self.data_unavailable,
            "not_applicable": self.not_applicable}
