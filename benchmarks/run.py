"""Run tokenizers through the paper's benchmarks and regenerate its tables.

    python -m benchmarks.run --suite all                       # embedded default: synthetic data + real samples
    python -m benchmarks.run --suite reconstruction --tokenizers pyratok-tiny,wan2.2-vae
    python -m benchmarks.run --suite all --data-root /data --address ray://head:10001
    python -m benchmarks.run --suite webvid-recon --tokenizers "pyratok:checkpoint=/ckpt/pyratok" \\
        --protocol webvid-recon.size=256
    python -m benchmarks.run --config benchmarks/configs/paper_full.py   # a run written as a config file
    python -m benchmarks.run --suite webvid-recon --tokenizers my_pkg.my_module:MyTokenizer:size=64
    python -m benchmarks.run --list                            # suites, benchmarks and tokenizers
    python -m benchmarks.run --render-only                     # tables from the existing records (seconds)
    python -m benchmarks.run --suite thumos14-tal,activitynet-tal,mvbench-qa \
        --tokenizers "pyratok:checkpoint=/ckpt/full,pyratok:checkpoint=/ckpt/wo_drift,pyratok:checkpoint=/ckpt/wo_ar"
                                                               # Table 10: several ablation checkpoints in one call

Writes ``<out>/records/<benchmark>.jsonl`` (one JSON record per tokenizer x metric, with provenance),
``<out>/failures.jsonl`` (per-sample failures with reasons), ``<out>/run_summary.json``, the resolved config
``<out>/run_config.py`` (its digest is in every record) and the tables and
figures (``<out>/tables/*.{md,csv,tex}``, ``<out>/figures/*.png``). Finished shards are cached (``--cache``), so a
killed run resumes where it stopped and a finished one re-renders in seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "parse_protocol_options", "split_tokenizer_list"]


def parse_protocol_options(items: list[str]) -> dict:
    """``["webvid-recon.size=256", "coco-recon.max_samples=8"]`` -> {benchmark: {key: value}}."""
    from adapters.registry import _coerce

    out: dict = {}
    for it in items:
        left, eq, value = it.partition("=")
        bench, dot, key = left.partition(".")
        if not eq or not dot:
            raise ValueError(f"--protocol {it!r}: expected BENCHMARK.KEY=VALUE")
        out.setdefault(bench, {})[key] = None if value.lower() == "none" else _coerce(value)
    return out


def split_tokenizer_list(text: str) -> list[str]:
    """``"a,b:k=v,k2=v2,c"`` -> ``["a", "b:k=v,k2=v2", "c"]``: a comma-separated piece with ``=`` but no ``:`` is
    another option of the tokenizer before it (so option lists and tokenizer lists can share commas)."""
    out: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece and ":" not in piece.split("=", 1)[0]:
            if not out or ":" not in out[-1]:
                raise ValueError(f"--tokenizers: option {piece!r} does not follow a NAME:key=value tokenizer")
            out[-1] += "," + piece
        else:
            out.append(piece)
    return out


def _list() -> str:
    from adapters.registry import REGISTRY
    from benchmarks.registry import BENCHMARKS, SUITES

    lines = ["Suites:"] + [f"  {k:15s} {', '.join(v)}" for k, v in SUITES.items()]
    lines += ["", "Benchmarks:"] + [f"  {k:22s} {e.description}" for k, e in BENCHMARKS.items()]
    lines += ["", "Tokenizers:"] + [f"  {k:26s} {s.description}{'  [paper-only]' if s.paper_only else ''}"
                                   for k, s in REGISTRY.items()]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    """Flags override the config file's keys; a flag left out keeps the config's value (defaults in
    benchmarks/configs/embedded_default.py)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="a run config file (.py or .yaml, _base_ inheritance); default: "
                                    "benchmarks/configs/embedded_default.py")
    p.add_argument("--suite", help="all | a suite | comma-separated suites/benchmarks")
    p.add_argument("--tokenizers", help="comma-separated tokenizers (NAME, NAME:key=value or "
                                        "pkg.module:Class[:key=value]); default: each benchmark's defaults")
    p.add_argument("--data-root", help="folder with the real datasets (one sub-folder per dataset, official "
                                       "layouts); default: synthetic data + the real samples in ../shared/realdata")
    p.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--workers", type=int, help="CPUs of the local Ray instance (default: all cores)")
    p.add_argument("--engine", choices=["ray", "inline"], help="inline: run every task in this process (debugging)")
    p.add_argument("--out", help="output folder for records, tables, figures (default results)")
    p.add_argument("--cache", help="shard cache folder (default $PYRATOK_CACHE/runs or ~/.cache/pyratok/runs)")
    p.add_argument("--retries", type=int, help="retries of a task whose error may be transient (default 2)")
    p.add_argument("--protocol", action="append", default=[], metavar="BENCH.KEY=VALUE",
                   help="override a benchmark protocol field (repeatable)")
    p.add_argument("--scale", help="synthetic data scale when no --data-root (tiny|small|N)")
    p.add_argument("--list", action="store_true", help="list suites, benchmarks and tokenizers, then exit")
    p.add_argument("--render-only", action="store_true", help="only re-render tables/figures from <out>/records")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars and no per-task log lines; only errors and the final summary")
    p.add_argument("--retrain-checkpoints", action="store_true",
                   help="train the tiny checkpoints shipped in pyratok/checkpoints afresh (~30 min) instead of using them")
    return p


def _overrides(args) -> dict:
    flags = {"suite": args.suite, "tokenizers": split_tokenizer_list(args.tokenizers) if args.tokenizers else None,
             "data_root": args.data_root, "address": args.address, "workers": args.workers, "engine": args.engine,
             "out": args.out, "cache_dir": args.cache, "retries": args.retries, "synthetic_scale": args.scale,
             "protocol": parse_protocol_options(args.protocol) or None, "progress": False if (args.no_progress or args.quiet) else None,
             "retrain_checkpoints": True if args.retrain_checkpoints else None}
    return {k: v for k, v in flags.items() if v is not None}


def main(argv=None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.list:
        print(_list())
        return 0
    from benchmarks.configs import load_config, run_config, write_resolved
    from benchmarks.engine.errors import ConfigurationError

    try:
        cfg = load_config(args.config, _overrides(args))
        run_cfg = run_config(cfg, log=(lambda _line: None) if args.quiet else None)
        from adapters.registry import resolve_tokenizer

        for t in run_cfg.tokenizers or []:
            resolve_tokenizer(t)
    except (KeyError, ValueError, ImportError) as err:  # unknown names/keys: ConfigurationError, UnknownName
        p.error(str(err))
    out = Path(run_cfg.out)
    if args.render_only:
        from benchmarks.publish import publish

        written = publish(out)
        print(f"[run] rendered {len(written)} files into {out} (tables, figures, site/index.html, results.json)")
        return 0
    from benchmarks.engine.loop import Run

    t0 = time.time()
    r = Run(run_cfg)
    try:
        summary = r.execute()
    except ConfigurationError as err:  # refused while planning: nothing ran
        print(f"[run] {err}", file=sys.stderr)
        return 2
    write_resolved(cfg, out)
    written = r.render()
    _report(summary.to_dict(), len(written), time.time() - t0, out)
    if summary.data_unavailable and len(summary.data_unavailable) == len(run_cfg.benchmarks):
        print("[run] no benchmark had its data: nothing was run", file=sys.stderr)
        return 2
    return 1 if summary.task_failures else 0


def _report(s: dict, n_written: int, seconds: float, out: Path | None = None) -> None:
    failed_shards = sum(1 for f in s["task_failures"] if f.get("stage") == "shard")
    print(f"[run] {s['n_records']} records, {s['shards_total']} shards ({s['shards_cached']} cached, "
          f"{s['shards_run']} run, {failed_shards} failed, {s['retries_used']} retries), "
          f"{s['n_sample_failures']} sample failures, {len(s['task_failures'])} task failures, "
          f"{len(s['tokenizer_failures'])} tokenizers unavailable; {n_written} table/figure files; {seconds:.1f} s")
    if out is not None:
        print(f"[run] tables: {out / 'tables'}/  figures: {out / 'figures'}/  site: {out / 'site' / 'index.html'}  "
              f"records: {out / 'records'}/  results file: {out / 'results.json'}")
    for f in s["tokenizer_failures"]:
        print(f"[run] tokenizer unavailable: {f['tokenizer']}: {f['reason'].splitlines()[0]}")
    for f in s["data_unavailable"]:
        print(f"[run] benchmark skipped, no data: {f['reason']}")
    for f in s["task_failures"]:
        print(f"[run] task failed: {f['benchmark']} x {f['tokenizer']} ({f['stage']}): "
              f"{f['error'].splitlines()[0]}")


def write_outputs(out: Path, summary, benchmarks: list[str]) -> None:
    """Records, failures, identities and the run summary (:func:`benchmarks.records.write_outputs`)."""
    from benchmarks.records import write_outputs as _write

    _write(out, summary, benchmarks)


if __name__ == "__main__":
    sys.exit(main())
