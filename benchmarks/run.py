"""Run tokenizers through the paper's benchmarks and regenerate its tables.

    python -m benchmarks.run --suite all                       # embedded default: synthetic data + real samples
    python -m benchmarks.run --suite reconstruction --tokenizers pyratok-tiny,wan2.2-vae
    python -m benchmarks.run --suite all --data-root /data --address ray://head:10001
    python -m benchmarks.run --suite webvid-recon --tokenizers "pyratok:checkpoint=/ckpt/pyratok" \\
        --protocol webvid-recon.size=256
    python -m benchmarks.run --list                            # suites, benchmarks and tokenizers
    python -m benchmarks.run --render-only                     # tables from the existing records (seconds)
    python -m benchmarks.run --suite thumos14-tal,activitynet-tal,mvbench-qa \
        --tokenizers "pyratok:checkpoint=/ckpt/full,pyratok:checkpoint=/ckpt/wo_drift,pyratok:checkpoint=/ckpt/wo_ar"
                                                               # Table 10: several ablation checkpoints in one call

Writes ``<out>/records/<benchmark>.jsonl`` (one JSON record per tokenizer x metric, with provenance),
``<out>/failures.jsonl`` (per-sample failures with reasons), ``<out>/run_summary.json`` and the tables and
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
    lines += ["", "Benchmarks:"] + [f"  {k:22s} {d}" for k, (_, d) in BENCHMARKS.items()]
    lines += ["", "Tokenizers:"] + [f"  {k:26s} {s.description}{'  [paper-only]' if s.paper_only else ''}"
                                   for k, s in REGISTRY.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="all", help="all | a suite | comma-separated suites/benchmarks")
    p.add_argument("--tokenizers", help="comma-separated tokenizer names (NAME or NAME:key=value); default: each "
                                        "benchmark's defaults")
    p.add_argument("--data-root", help="folder with the real datasets (one sub-folder per dataset, official "
                                       "layouts); default: synthetic data + the real samples in ../shared/realdata")
    p.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--workers", type=int, help="CPUs of the local Ray instance (default: all cores)")
    p.add_argument("--engine", choices=["ray", "inline"], default="ray",
                   help="inline: run every task in this process (debugging)")
    p.add_argument("--out", default="results", help="output folder for records, tables, figures")
    p.add_argument("--cache", help="shard cache folder (default $PYRATOK_CACHE/runs or ~/.cache/pyratok/runs)")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed task")
    p.add_argument("--protocol", action="append", default=[], metavar="BENCH.KEY=VALUE",
                   help="override a benchmark protocol field (repeatable)")
    p.add_argument("--scale", default="tiny", help="synthetic data scale when no --data-root (tiny|small|N)")
    p.add_argument("--list", action="store_true", help="list suites, benchmarks and tokenizers, then exit")
    p.add_argument("--render-only", action="store_true", help="only re-render tables/figures from <out>/records")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    from adapters.registry import UnknownTokenizer, get_spec, parse_tokenizer_spec
    from benchmarks.registry import UnknownBenchmark, resolve_suite

    if args.list:
        print(_list())
        return 0
    out = Path(args.out)
    if args.render_only:
        from benchmarks.tables.render import render_all

        written = render_all(out)
        print(f"[run] rendered {len(written)} files into {out}")
        return 0
    try:
        benchmarks = resolve_suite(args.suite)
        tokenizers = split_tokenizer_list(args.tokenizers) if args.tokenizers else None
        for t in tokenizers or []:
            get_spec(parse_tokenizer_spec(t)[0])
        protocol = parse_protocol_options(args.protocol)
        for b in protocol:
            resolve_suite(b)
    except (UnknownBenchmark, UnknownTokenizer, ValueError) as err:
        p.error(str(err))

    from benchmarks.runner import RunConfig, run

    cfg = RunConfig(benchmarks=benchmarks, tokenizers=tokenizers, data_root=args.data_root, out=str(out),
                    cache_dir=args.cache, engine=args.engine, address=args.address, workers=args.workers,
                    retries=args.retries, synthetic_scale=args.scale, benchmark_options=protocol,
                    progress=not args.no_progress)
    t0 = time.time()
    summary = run(cfg)
    write_outputs(out, summary, benchmarks)
    from benchmarks.tables.render import render_all

    written = render_all(out)
    s = summary.to_dict()
    print(f"[run] {s['n_records']} records, {s['shards_total']} shards ({s['shards_cached']} cached, "
          f"{s['shards_run']} run, {s['retries_used']} retries), {s['n_sample_failures']} sample failures, "
          f"{len(s['task_failures'])} task failures, {len(s['tokenizer_failures'])} tokenizers unavailable; "
          f"{len(written)} table/figure files; {time.time() - t0:.1f} s")
    for f in s["tokenizer_failures"]:
        print(f"[run] tokenizer unavailable: {f['tokenizer']}: {f['reason'].splitlines()[0]}")
    for f in s["data_unavailable"]:
        print(f"[run] benchmark skipped, no data: {f['reason']}")
    for f in s["task_failures"]:
        print(f"[run] task failed: {f['benchmark']} x {f['tokenizer']} ({f['stage']}): "
              f"{f['error'].splitlines()[0]}")
    if s["data_unavailable"] and len(s["data_unavailable"]) == len(benchmarks):
        print("[run] no benchmark had its data: nothing was run", file=sys.stderr)
        return 2
    return 1 if s["task_failures"] else 0


def write_outputs(out: Path, summary, benchmarks: list[str]) -> None:
    """Records per benchmark (replacing that benchmark's file: the run recomputes or re-reads every cell of it),
    failures and the run summary."""
    from benchmarks.records import write_records

    by_bench: dict[str, list[dict]] = {}
    for r in summary.records:
        by_bench.setdefault(r["benchmark"], []).append(r)
    for b in benchmarks:
        path = out / "records" / f"{b}.jsonl"
        if b in by_bench:
            merged = _merge_existing(path, by_bench[b])
            write_records(path, merged)
    fails = out / "failures.jsonl"
    fails.parent.mkdir(parents=True, exist_ok=True)
    with open(fails, "w") as f:
        for x in summary.failures:
            f.write(json.dumps(x, sort_keys=True, default=str) + "\n")
    ident_file = out / "tokenizers.json"
    idents = json.loads(ident_file.read_text()) if ident_file.is_file() else {}
    idents.update(summary.identities)
    ident_file.write_text(json.dumps(dict(sorted(idents.items())), indent=2, sort_keys=True, default=str) + "\n")
    (out / "run_summary.json").write_text(json.dumps(summary.to_dict(), indent=2, sort_keys=True, default=str) + "\n")


def _merge_existing(path: Path, new: list[dict]) -> list[dict]:
    """Keep records of tokenizers this run did not touch (a run of one tokenizer must not erase the others)."""
    from benchmarks.records import read_records

    touched = {r["tokenizer"] for r in new}
    kept = [r for r in read_records(path) if r["tokenizer"] not in touched] if path.is_file() else []
    return sorted(kept + new, key=lambda r: (r["tokenizer"], r["metric"]))


if __name__ == "__main__":
    sys.exit(main())
