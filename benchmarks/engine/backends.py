"""Where tasks run: :class:`InlineBackend` (this process, serially, in submission order — for debugging and tests)
and :class:`RayBackend` (a local Ray instance, or a cluster at ``address``). Both: ``submit(fn, *args,
exclusive=False) -> ref``, ``wait(refs) -> (ready, rest)``, ``get(ref)``, ``shutdown()``. An ``exclusive`` task
asks for every CPU of a node, so nothing else runs beside it (latency timing)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["InlineBackend", "RayBackend", "make_backend"]


@dataclass(frozen=True)
class _Ref:
    n: int


class InlineBackend:
    """Runs each task when ``wait`` hands it out (lowest ref first), so results are cached as they finish — the same
    control flow as Ray, serially."""

    def __init__(self):
        self._todo: dict[int, tuple] = {}
        self._done: dict[int, tuple[bool, Any]] = {}
        self._n = 0

    def submit(self, fn, *args, exclusive: bool = False) -> _Ref:
        self._n += 1
        self._todo[self._n] = (fn, args)
        return _Ref(self._n)

    def wait(self, refs: list) -> tuple[list, list]:
        ref = min(refs, key=lambda r: r.n)
        if ref.n in self._todo:
            fn, args = self._todo.pop(ref.n)
            try:
                self._done[ref.n] = (True, fn(*args))
            except Exception as err:  # noqa: BLE001 — recorded, retried by the run loop
                self._done[ref.n] = (False, err)
        return [ref], [r for r in refs if r is not ref]

    def get(self, ref):
        ok, value = self._done.pop(ref.n)
        if not ok:
            raise value
        return value

    def shutdown(self):
        pass


class RayBackend:
    def __init__(self, address: str | None, workers: int | None, log):
        import ray

        self.ray = ray
        if not ray.is_initialized():
            kwargs = dict(runtime_env={"env_vars": _worker_env()}, include_dashboard=False, log_to_driver=False,
                          ignore_reinit_error=True)
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
        self._remote: dict = {}
        nodes = [n.get("Resources", {}).get("CPU", 1) for n in ray.nodes() if n.get("Alive")]
        self.node_cpus = max(1, int(max(nodes, default=1)))
        if log:
            log(f"[runner] Ray: {ray.cluster_resources().get('CPU', 0):.0f} CPUs "
                f"({'cluster ' + address if address else 'local instance'})")

    def submit(self, fn, *args, exclusive: bool = False):
        cpus = self.node_cpus if exclusive else 1
        if (fn, cpus) not in self._remote:
            self._remote[(fn, cpus)] = self.ray.remote(num_cpus=cpus, max_retries=0)(fn)
        return self._remote[(fn, cpus)].remote(*args)

    def wait(self, refs):
        return self.ray.wait(refs, num_returns=1)

    def get(self, ref):
        return self.ray.get(ref)

    def shutdown(self):
        pass  # keep the instance: a second run in the same process reuses it


def _worker_env() -> dict:
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PYRATOK_WORKER_THREADS": os.environ.get("PYRATOK_WORKER_THREADS", "1"),
           "RAY_DEDUP_LOGS": "0"}
    for k in ("PYRATOK_CACHE", "PYRATOK_REALDATA", "PYRATOK_I3D", "PYRATOK_RETRAIN_CHECKPOINTS"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def make_backend(engine: str, address: str | None = None, workers: int | None = None, log=None):
    if engine == "inline":
        return InlineBackend()
    if engine == "ray":
        return RayBackend(address, workers, log)
    from .errors import ConfigurationError

    raise ConfigurationError(f"engine {engine!r}: valid engines are ray, inline")
