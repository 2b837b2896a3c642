"""The run loop: tokenizer x benchmark x shard as a task graph, planned in full before any shard runs.

:class:`Run` steps, in order (:meth:`Run.execute`):

1. **prepare** — build the driver's copies of the benchmarks, locate their data, resolve the tokenizers each runs
   (``benchmarks.matrix.default_tokenizers_for`` when none are named) and refuse configuration errors at once
   (:class:`~benchmarks.engine.errors.ConfigurationError`: unknown names, a tokenizer missing an option the
   benchmark does not supply). Then one task per tokenizer builds it (training the trained-here ones, through
   ``benchmarks.provisioning.provide``) for its identity and cache key — memoised, so a cached re-run loads nothing.
2. **plan** — every (tokenizer, benchmark) :class:`Cell` and its shards, with cache keys
   (:mod:`benchmarks.engine.cache_keys`: tokenizer key, protocol, shard items, input files, code digests). Cached
   shards and fits are read; the rest is counted (:attr:`RunSummary.planned`: a fixed total before work starts).
3. **fit** — one fit task per cell whose benchmark fits something across shards; its shards wait for it.
4. **shard** — the shard tasks, longest first; exclusive ones (latency timing) run alone after everything else.
   A failed task is retried only when the error may be transient (:func:`~benchmarks.engine.errors.is_transient`).
5. **reduce** — per cell once its shards are in: metrics -> result records with provenance.

Rendering the tables from the records is :meth:`Run.render` (the CLI calls it after :meth:`Run.execute`).
"""
from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .backends import make_backend
from .cache_keys import CACHE_LAYOUT_VERSION, code_digest, files_digest, fit_cache_key, shard_cache_key, stable_hash
from .errors import ConfigurationError, is_transient, root_cause
from .state import Cell, PlannedCounts, RunConfig, RunSummary, default_cache_dir
from .workers import TaskSpec, task_fit, task_prepare, task_shard

__all__ = ["Run", "run", "Cell", "PlannedCounts"]


@dataclass
class _Task:
    kind: str            # prepare | fit | shard
    key: Any             # tokenizer name | (tokenizer, benchmark) | (tokenizer, benchmark, shard index)
    attempt: int = 0


@dataclass
class Run:
    """One run of :class:`RunConfig`; ``summary`` fills as it goes."""

    cfg: RunConfig
    summary: RunSummary = field(default_factory=RunSummary)
    benches: dict = field(default_factory=dict)          # benchmark -> driver-side Benchmark
    bench_specs: dict = field(default_factory=dict)      # benchmark -> TaskSpec
    sources: dict = field(default_factory=dict)          # benchmark -> DataSource
    wanted: dict = field(default_factory=dict)           # benchmark -> [tokenizer]
    tok_specs: dict = field(default_factory=dict)        # tokenizer -> TaskSpec
    tok_entries: dict = field(default_factory=dict)      # tokenizer -> registry spec
    identities: dict = field(default_factory=dict)
    tok_keys: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)            # (tokenizer, benchmark) -> Cell
    pending: dict = field(default_factory=dict)          # ref -> _Task
    held: list = field(default_factory=list)             # exclusive shard tasks, run after the rest
    missing_options: dict = field(default_factory=dict)  # (tokenizer, benchmark) of the default lists -> why not

    def __post_init__(self):
        self.log: Callable[[str], None] = self.cfg.log or (lambda s: print(s, flush=True))
        self.cache = Path(self.cfg.cache_dir) if self.cfg.cache_dir else default_cache_dir()
        self.backend = None
        self.progress = _Progress(self.cfg.progress)

    # ============================================================== 1. prepare
    def prepare(self) -> None:
        """Benchmarks, data and tokenizer lists; configuration errors raise before anything runs."""
        from benchmarks.registry import BENCHMARKS, build_benchmark

        for bname in self.cfg.benchmarks:
            opts = self.cfg.benchmark_options.get(bname, {})
            try:
                self.benches[bname] = build_benchmark(bname, **opts)
            except (KeyError, ValueError, TypeError) as err:
                raise ConfigurationError(str(err)) from None
            self.bench_specs[bname] = TaskSpec(bname, BENCHMARKS[bname].target, opts, role="benchmark")
        unknown = sorted(set(self.cfg.benchmark_options) - set(self.benches))
        if unknown:
            raise ConfigurationError(f"protocol options for {unknown}, which this run does not include; "
                                     f"benchmarks of this run: {', '.join(self.benches)}")
        self._resolve_tokenizers()
        self._check_pairs()      # before the data: a refused run writes nothing
        self._locate_data()

    def _locate_data(self) -> None:
        if any(b.needs_i3d for b in self.benches.values()):
            from benchmarks.provisioning.i3d import ensure_i3d

            ensure_i3d(log=self.log)   # once, on the driver, before any FVD shard needs it
        synthetic_root = None
        if self.cfg.data_root is None and self.benches:
            from benchmarks.provisioning.training_data import ensure_synthetic

            synthetic_root = ensure_synthetic([b.dataset for b in self.benches.values()], self.cfg.synthetic_scale,
                                              self.cfg.synthetic_seed, log=self.log)
        for bname, b in list(self.benches.items()):
            try:
                self.sources[bname] = b.locate(Path(self.cfg.data_root) if self.cfg.data_root else None,
                                               synthetic_root)
            except (FileNotFoundError, ValueError) as err:  # e.g. --data-root holds only some of the datasets
                self.summary.data_unavailable.append({"benchmark": bname, "reason": str(err)})
                self.log(f"[runner] {bname} skipped: {err}")
                del self.benches[bname]

    def _resolve_tokenizers(self) -> None:
        from adapters.registry import resolve_tokenizer
        from benchmarks.matrix import default_tokenizers_for

        for bname, b in self.benches.items():
            self.wanted[bname] = list(self.cfg.tokenizers) if self.cfg.tokenizers else default_tokenizers_for(bname, b)
        for name in dict.fromkeys(n for names in self.wanted.values() for n in names):
            try:
                built_name, entry, options = resolve_tokenizer(name, self.cfg.tokenizer_options.get(name, {}))
            except (KeyError, ValueError, ImportError) as err:
                raise ConfigurationError(str(err)) from None
            if entry.paper_only:
                self.summary.tokenizer_failures.append({"tokenizer": name, "reason": f"paper-only: {entry.paper_only}"})
                continue
            self.tok_specs[name] = TaskSpec(built_name, entry.target, options)
            self.tok_entries[name] = entry

    def _check_pairs(self) -> None:
        """A tokenizer missing a required option the benchmark does not supply: refused when the run names the
        tokenizer, left out (not applicable, with the reason) when it came from the default lists."""
        from benchmarks.registry import BENCHMARKS

        problems = []
        for bname in self.benches:
            supplies = set(BENCHMARKS[bname].meta.get("supplies", ()))
            for name in list(self.wanted[bname]):
                entry = self.tok_entries.get(name)
                missing = {} if entry is None else {k: v for k, v in entry.required.items()
                                                    if k not in self.tok_specs[name].options and k not in supplies}
                if not missing:
                    continue
                why = "; ".join(f"needs option {k!r}: {v}" for k, v in missing.items())
                if self.cfg.tokenizers:
                    problems.append(f"{name} on {bname}: {why}")
                else:  # decided in plan(), after the benchmark's own applicability reason
                    self.missing_options[(name, bname)] = why
        if problems:
            fix = [b for b, e in BENCHMARKS.items() if "supplies" in e.meta]
            raise ConfigurationError("cannot run as configured (nothing was started):\n  " + "\n  ".join(problems)
                                     + f"\nbenchmarks that supply such options themselves: {', '.join(fix)}")

    def build_tokenizers(self) -> None:
        """Identity and cache key of every tokenizer: from the prepare memo, else a prepare task (all of them
        finish before planning, so the plan's totals are fixed)."""
        todo = []
        for name, spec in self.tok_specs.items():
            memo = _memo_load(self.cache, spec)
            if memo is not None:
                self._prepared(name, memo)
            else:
                todo.append(name)
        self.summary.planned.prepare = len(todo)
        self.progress.phase("tokenizers (training stand-ins where needed)", len(todo))
        for name in todo:
            self._submit(_Task("prepare", name), task_prepare, self.tok_specs[name])
        self.drive()

    def _prepared(self, name: str, value: dict) -> None:
        self.identities[name], self.tok_keys[name] = value["identity"], value["cache_key"]
        self.summary.identities[name] = value["identity"]

    # ============================================================== 2. plan
    def plan(self) -> None:
        """Every cell and shard with its cache key; cached results read back, the rest counted."""
        from benchmarks.base import Benchmark

        for name in self.identities:
            for bname, b in self.benches.items():
                if name not in self.wanted[bname]:
                    continue
                why = b.applies_to(self.identities[name]) or self.missing_options.get((name, bname))
                if why:
                    self.summary.not_applicable.append({"tokenizer": name, "benchmark": bname, "reason": why})
                    continue
                cell = self._plan_cell(name, bname, b, needs_fit=type(b).fit is not Benchmark.fit)
                self.cells[(name, bname)] = cell
        p = self.summary.planned
        p.fits = sum(c.fit_state == "todo" for c in self.cells.values())
        p.shards = sum(len(c.todo()) for c in self.cells.values())
        p.shards_cached = self.summary.shards_cached
        self.progress.phase("fits + shards", p.fits + p.shards)

    def _plan_cell(self, name: str, bname: str, b, needs_fit: bool) -> Cell:
        from benchmarks.base import ShardResult
        from benchmarks.registry import BENCHMARKS

        data = self.sources[bname]
        code = f"{code_digest(self.tok_specs[name].target)}+{code_digest(self.bench_specs[bname].target)}"
        fkey = fit_cache_key(self.tok_keys[name], bname, b.protocol, files_digest(b.fit_files(data)), code)
        cell = Cell(name, bname, data, fit_file=self.cache / "fits" / fkey / "fitted.json",
                    exclusive=bool(BENCHMARKS[bname].meta.get("exclusive")))
        if needs_fit:
            cell.fit_state = "todo"
            if cell.fit_file.is_file():
                cell.fitted, cell.fit_state = json.loads(cell.fit_file.read_text())["fitted"], "done"
        for sh in b.shards(data):
            shd = sh.to_dict()
            key = shard_cache_key(self.tok_keys[name], bname, b.protocol, shd, files_digest(sh.files), code)
            cell.shards[sh.index] = (key, shd, b.shard_cost(sh))
            self.summary.shards_total += 1
            f = self.cache / "shards" / f"{key}.json"
            if f.is_file():
                cell.results[sh.index] = ShardResult.from_dict(json.loads(f.read_text())["result"])
                self.summary.shards_cached += 1
        return cell

    # ============================================================== 3. fit, 4. shard
    def fit(self) -> None:
        for cell in self.cells.values():
            if cell.fit_state == "todo":
                cell.fit_state = "running"
                self._submit(_Task("fit", (cell.tokenizer, cell.benchmark)), task_fit,
                             self.tok_specs[cell.tokenizer], self.bench_specs[cell.benchmark], cell.data.to_dict(),
                             str(cell.fit_file.parent))

    def shard(self, cells=None) -> None:
        """Submit the cells' unfinished shards (whose fit is done), longest first: a long task started last would
        leave the other workers idle at the end. Exclusive ones are held for :meth:`run_exclusive`."""
        todo = []
        for cell in cells if cells is not None else self.cells.values():
            if cell.fit_state in ("todo", "running"):
                continue
            todo += [(cell.shards[i][2], cell, i) for i in cell.todo()]
        for _, cell, index in sorted(todo, key=lambda x: -x[0]):
            if cell.exclusive:
                self.held.append((cell, index))
            else:
                self._submit_shard(cell, index)

    def _submit_shard(self, cell: Cell, index: int, attempt: int = 0, exclusive: bool = False) -> None:
        _, shd, _ = cell.shards[index]
        self._submit(_Task("shard", (cell.tokenizer, cell.benchmark, index), attempt), task_shard,
                     self.tok_specs[cell.tokenizer], self.bench_specs[cell.benchmark], cell.data.to_dict(), shd,
                     cell.fitted, exclusive=exclusive)

    def run_exclusive(self) -> None:
        """Exclusive shards (latency timing) one at a time, each asking for a whole node, once nothing else runs."""
        while self.held:
            cell, index = self.held.pop(0)
            self._submit_shard(cell, index, exclusive=True)
            self.drive()

    def _submit(self, task: _Task, fn, *args, exclusive: bool = False) -> None:
        self.pending[self.backend.submit(fn, *args, exclusive=exclusive)] = task

    # -------------------------------------------------------------- the event loop
    def drive(self) -> None:
        """Until nothing is pending: take the next finished task, retry it (transient errors only) or hand its
        result to the step it belongs to."""
        while self.pending:
            ready, _ = self.backend.wait(list(self.pending))
            task = self.pending.pop(ready[0])
            try:
                value, err = self.backend.get(ready[0]), None
            except Exception as e:  # noqa: BLE001 — classified below
                value, err = None, e
            if err is not None and task.kind != "prepare" and self._retry(task, err):
                continue
            self.progress.step()
            getattr(self, f"_on_{task.kind}")(task, value, err)

    def _retry(self, task: _Task, err: BaseException) -> bool:
        if task.attempt >= self.cfg.retries or not is_transient(err):
            return False
        self.summary.retries_used += 1
        cause = root_cause(err)
        self.log(f"[runner] retry {task.attempt + 1}/{self.cfg.retries}: {task.kind} {task.key}: "
                 f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")
        if task.kind == "shard":
            name, bname, index = task.key
            cell = self.cells[(name, bname)]
            self._submit_shard(cell, index, task.attempt + 1, exclusive=cell.exclusive)
        else:
            cell = self.cells[task.key]
            self._submit(_Task("fit", task.key, task.attempt + 1), task_fit, self.tok_specs[cell.tokenizer],
                         self.bench_specs[cell.benchmark], cell.data.to_dict(), str(cell.fit_file.parent))
        return True

    def _on_prepare(self, task: _Task, value, err) -> None:
        name = task.key
        if err is not None:
            cause = root_cause(err)
            self.summary.tokenizer_failures.append({"tokenizer": name, "reason": f"{type(cause).__name__}: {cause}"})
            self.log(f"[runner] tokenizer {name} unavailable: {type(cause).__name__}: {cause}")
            return
        self._prepared(name, value)
        _atomic_json(self.cache / "prepared" / f"{_memo_key(self.tok_specs[name])}.json", value)

    def _on_fit(self, task: _Task, value, err) -> None:
        cell = self.cells[task.key]
        if err is not None:
            cell.fit_state = "failed"
            cell.fit_error = f"fit failed after {task.attempt + 1} attempts: {type(root_cause(err)).__name__}: " \
                             f"{root_cause(err)}"
            self.summary.task_failures.append({"benchmark": cell.benchmark, "tokenizer": cell.tokenizer,
                                               "stage": "fit", "error": _short_tb(err), "attempts": task.attempt + 1,
                                               "transient": is_transient(err)})
            cell.failed = cell.todo()
            self.reduce(cell)
            return
        _atomic_json(cell.fit_file, {"fitted": value})
        cell.fitted, cell.fit_state = value, "done"
        self.shard([cell])
        self.reduce(cell)

    def _on_shard(self, task: _Task, value, err) -> None:
        name, bname, index = task.key
        cell = self.cells[(name, bname)]
        if err is not None:
            cell.failed.append(index)
            self.summary.task_failures.append({"benchmark": bname, "tokenizer": name, "stage": "shard",
                                               "shard": index, "error": _short_tb(err), "attempts": task.attempt + 1,
                                               "transient": is_transient(err)})
            self.log(f"[runner] FAILED {bname} x {name} shard {index} after {task.attempt + 1} attempts: "
                     f"{_short_tb(err).splitlines()[0]}")
        else:
            from benchmarks.base import ShardResult

            key = cell.shards[index][0]
            _atomic_json(self.cache / "shards" / f"{key}.json",
                         {"result": value, "benchmark": bname, "tokenizer": name, "shard": index})
            cell.results[index] = ShardResult.from_dict(value)
            self.summary.shards_run += 1
        self.reduce(cell)

    # ============================================================== 5. reduce
    def reduce(self, cell: Cell) -> None:
        """Records of a cell once all its shards (and its fit) are in."""
        from benchmarks.base import Metric

        if cell.reduced or not cell.complete():
            return
        cell.reduced = True
        b = self.benches[cell.benchmark]
        results = [cell.results[i] for i in sorted(cell.results)]
        for i in sorted(cell.results):
            shard = cell.shards[i][1] if isinstance(cell.shards.get(i), tuple) else None
            for fl in cell.results[i].failures:
                self.summary.failures.append({"benchmark": cell.benchmark, "tokenizer": cell.tokenizer,
                                              **failure_record(fl, shard, cell.data)})
        if cell.failed or cell.fit_state == "failed":
            why = cell.fit_error or f"{len(cell.failed)} of {len(cell.shards)} shards failed after retries"
            metrics = [Metric("task_failed", None, 0, note=why)]
        else:
            try:
                metrics = b.reduce(results, cell.data, cell.fitted)
            except Exception as err:  # noqa: BLE001
                self.summary.task_failures.append({"benchmark": cell.benchmark, "tokenizer": cell.tokenizer,
                                                   "stage": "reduce", "error": f"{type(err).__name__}: {err}"})
                metrics = [Metric("task_failed", None, 0, note=f"reduce failed: {type(err).__name__}: {err}")]
        _write_images(Path(self.cfg.out) / "figures" / "samples" / cell.benchmark / _safe(cell.tokenizer), results)
        self.summary.records += [self._record(cell, b, m, results) for m in metrics]

    def _record(self, cell: Cell, b, m, results) -> dict:
        from benchmarks.records import ResultRecord, code_version, device_description

        ident = self.identities[cell.tokenizer]
        devices = sorted({r.extras.get("device") for r in results if r.extras.get("device")})
        return ResultRecord(
            benchmark=cell.benchmark, tokenizer=cell.tokenizer, metric=m.name, value=m.value, n_samples=m.n_samples,
            n_failed=m.n_failed or sum(len(r.failures) for r in results), data_origin=cell.data.origin,
            data_source=cell.data.label(), protocol_version=str(b.protocol.get("version")), table=b.table,
            task=b.task, unit=m.unit, higher_is_better=m.higher_is_better, note=m.note,
            text_space=m.extra.get("text_space"), tokenizer_family=ident["family"], tokenizer_kind=ident["kind"],
            checkpoint_origin=ident["checkpoint"]["origin"], checkpoint_sha=ident["checkpoint"]["sha256"],
            code_version=_once(code_version), device="; ".join(devices) or _once(device_description),
            seconds=round(sum(r.seconds for r in results), 3), config_digest=self.cfg.config_digest,
            extra={k: v for k, v in m.extra.items() if k != "text_space"}).to_dict()

    # ============================================================== the whole run
    def execute(self) -> RunSummary:
        t0 = time.time()
        (self.cache / "shards").mkdir(parents=True, exist_ok=True)
        if self.cfg.retrain_checkpoints:  # before the backend starts, so that its workers inherit it
            from pyratok.checkpoints import RETRAIN_ENV

            os.environ[RETRAIN_ENV] = "1"
        self.prepare()
        self.backend = make_backend(self.cfg.engine, self.cfg.address, self.cfg.workers, self.log)
        try:
            self.build_tokenizers()
            self.plan()
            for cell in self.cells.values():
                self.reduce(cell)          # fully cached cells
            self.fit()
            self.shard()
            self.drive()
            self.run_exclusive()
        finally:
            self.progress.close()
            self.backend.shutdown()
        self.summary.seconds = round(time.time() - t0, 2)
        return self.summary

    def render(self) -> list[Path]:
        """Records, failures and summary into ``cfg.out``; then the tables, figures, site and results.json."""
        from benchmarks.publish import publish
        from benchmarks.records import write_outputs

        write_outputs(Path(self.cfg.out), self.summary, self.cfg.benchmarks)
        return publish(Path(self.cfg.out))


def run(cfg: RunConfig) -> RunSummary:
    """Run the task graph; returns the summary with all result records (cached shards included)."""
    return Run(cfg).execute()


# ------------------------------------------------------------------------------------------------ helpers
_ONCE: dict = {}


def _once(fn):
    if fn not in _ONCE:
        _ONCE[fn] = fn()
    return _ONCE[fn]


def _memo_key(spec: TaskSpec) -> str:
    """The prepare memo's key: adapter spec + the digest of the adapter's (and the model's) source, so a code
    change (e.g. a new training recipe) invalidates it."""
    return stable_hash({"layout": CACHE_LAYOUT_VERSION, "target": spec.target, "name": spec.name,
                        "options": spec.options, "source": code_digest(spec.target)})


def _memo_load(cache: Path, spec: TaskSpec) -> dict | None:
    """A memoised prepare result, valid while the checkpoint files it names are unchanged (size + mtime)."""
    f = cache / "prepared" / f"{_memo_key(spec)}.json"
    try:
        memo = json.loads(f.read_text()) if f.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None
    if memo is None:
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


def _atomic_json(path: Path, obj) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, sort_keys=True, default=str))
    tmp.replace(path)


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


def _short_tb(err: BaseException) -> str:
    err = root_cause(err)
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)[-3:])
    return f"{type(err).__name__}: {err}\n{tb}"[-2000:]


class _Progress:
    """One bar per phase (tokenizers, shards) whose total is fixed when the phase is planned."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar = enabled, None

    def phase(self, name: str, total: int) -> None:
        self.close()
        if self.enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=name, unit="task", dynamic_ncols=True)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def failure_record(failure: dict, shard: dict | None, data) -> dict:
    """A sample failure with its sample id and its file relative to the data root (``file``) — filled from the
    shard's file list when the benchmark gave none — and the data root's origin (``data_origin``)."""
    from pathlib import Path

    out = dict(failure)
    sample = out.get("sample")
    if not out.get("file") and shard:
        items, files = list(shard.get("items") or ()), list(shard.get("files") or ())
        if sample in items and len(files) == len(items):
            out["file"] = files[items.index(sample)]
    root = getattr(data, "path", None)
    if out.get("file") and root:
        try:
            out["file"] = Path(out["file"]).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass  # outside the data root (e.g. a cache file): kept, made portable on write
    out.setdefault("file", None)
    out["data_origin"] = getattr(data, "origin", None)
    return out
