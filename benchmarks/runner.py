"""The runner's public names, kept where callers import them; the engine lives in :mod:`benchmarks.engine`
(cache keys, workers, Ray and inline backends, the :class:`~benchmarks.engine.loop.Run` loop)."""
from __future__ import annotations

from benchmarks.engine.cache_keys import code_digest, files_digest, fit_cache_key, shard_cache_key
from benchmarks.engine.errors import ConfigurationError
from benchmarks.engine.loop import Run, _safe, run  # _safe: sample-figure folder names (tasks use it)
from benchmarks.engine.state import PlannedCounts, RunConfig, RunSummary, default_cache_dir
from benchmarks.engine.workers import TaskSpec, task_fit, task_prepare, task_shard

__all__ = ["RunConfig", "RunSummary", "PlannedCounts", "Run", "run", "shard_cache_key", "fit_cache_key",
           "files_digest", "code_digest", "TaskSpec", "default_cache_dir", "ConfigurationError", "task_prepare",
           "task_fit", "task_shard"]
