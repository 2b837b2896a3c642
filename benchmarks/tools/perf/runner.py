"""Speed of the harness -> ``results/perf/runner.json``.

    python -m benchmarks.tools.perf.runner [--tokenizers pyratok-tiny,...] [--all]

(a) speed-up of 2 Ray workers over 1 on the reconstruction suite (goal >= 1.7x): the same run into two empty shard
    caches, a local Ray instance with 1 CPU, then one with 2; trained-here checkpoints already built (their
    one-off training is not part of the runner's speed), Ray start-up timed separately;
(b) a fully cached re-run as a fraction of the cold run (goal <= 5%): the 2-worker run again on its filled cache;
(c) with ``--all``: the cold ``--suite all`` wall time of the embedded default on this machine (empty shard cache;
    says which trained-here checkpoints had to be trained during the run and how long that took).

Each run writes into a scratch folder (never into results/records). The machine's load is recorded beside the
times, because on a shared 2-core machine a busy neighbour halves the 2-worker speed-up.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "results" / "perf" / "runner.json"


def _timed_run(benchmarks, tokenizers, workers, cache, out, options=None) -> tuple[float, float, dict]:
    import ray

    from benchmarks.runner import RunConfig, run

    ray.shutdown()
    t0 = time.perf_counter()
    env = {"PYTHONPATH": os.pathsep.join(p for p in __import__("sys").path if p), "HF_HUB_OFFLINE": "1"}
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    t_init = time.perf_counter() - t0
    t1 = time.perf_counter()
    s = run(RunConfig(benchmarks=benchmarks, tokenizers=tokenizers, out=str(out), cache_dir=str(cache),
                      workers=workers, progress=False, benchmark_options=options or {}, log=lambda m: None))
    return t_init, time.perf_counter() - t1, s.to_dict()


def _artifacts() -> dict:
    from benchmarks.provisioning.cache import cache_root

    out = {}
    for d in sorted((cache_root() / "trained").glob("*/DONE.json")):
        out[d.parent.name] = json.loads(d.read_text()).get("seconds")
    return out


def parse_suite_log(path: Path) -> dict:
    """Per-suite wall times of a logged cold run (see --suite-log)."""
    import re

    suites, prev, runs = {}, 0, {}
    for line in path.read_text().splitlines():
        m = re.match(r"=== suite (\S+) done \S+ elapsed (\d+) s", line)
        if m:
            suites[m.group(1)] = int(m.group(2)) - prev
            prev = int(m.group(2))
        m = re.match(r"\[run\] (\d+) records, (\d+) shards \((\d+) cached, (\d+) run, (\d+) retries\)", line)
        if m:
            runs[len(runs)] = dict(zip(("records", "shards", "cached", "run", "retries"), map(int, m.groups())))
    return {"seconds": prev, "per_suite_s": suites, "runs": list(runs.values()), "log": str(path),
            "how": "one `python -m benchmarks.run --suite S` per suite, in sequence, empty shard cache; the "
                   "trained-here checkpoints not yet cached were trained inside the run (most of the "
                   "reconstruction suite's time)"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.perf.runner", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizers", default="pyratok-tiny,pyratok-tiny-wo-lapq,pyratok-tiny-2-blocks,quant-vq,"
                                           "wan2.2-vae")
    p.add_argument("--suite", default="reconstruction")
    p.add_argument("--all", action="store_true", help="also time a cold --suite all")
    p.add_argument("--suite-log", help="instead of --all: a saved log of a cold run of every suite, one "
                                       "`benchmarks.run --suite S` after another (lines '=== suite S done ... "
                                       "elapsed N s'); its times are copied into c_cold_suite_all with the log path")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    from benchmarks.registry import resolve_suite

    toks = [t for t in args.tokenizers.split(",") if t]
    benches = resolve_suite(args.suite)
    scratch = Path(tempfile.mkdtemp(prefix="pyratok-perf-"))
    load_before = os.getloadavg()
    # warm the trained-here checkpoints and the synthetic data so neither is timed
    _timed_run(benches, toks, 2, scratch / "warm-cache", scratch / "warm-out")
    shutil.rmtree(scratch / "warm-cache")
    res: dict = {"suite": args.suite, "benchmarks": benches, "tokenizers": toks, "cpu_count": os.cpu_count(),
                 "loadavg_before": load_before}
    init1, cold1, s1 = _timed_run(benches, toks, 1, scratch / "c1", scratch / "o1")
    init2, cold2, s2 = _timed_run(benches, toks, 2, scratch / "c2", scratch / "o2")
    _, cached2, s3 = _timed_run(benches, toks, 2, scratch / "c2", scratch / "o3")
    res["a_speedup_2_over_1"] = {"one_worker_s": round(cold1, 2), "two_workers_s": round(cold2, 2),
                                 "speedup": round(cold1 / cold2, 3), "goal": ">= 1.7",
                                 "ray_init_s": [round(init1, 2), round(init2, 2)],
                                 "shards": s2["shards_total"], "tasks_run": [s1["shards_run"], s2["shards_run"]]}
    res["b_cached_rerun"] = {"cold_s": round(cold2, 2), "cached_s": round(cached2, 2),
                             "fraction": round(cached2 / cold2, 4), "goal": "<= 0.05",
                             "shards_cached": s3["shards_cached"], "shards_run": s3["shards_run"]}
    if args.all:
        before = _artifacts()
        init, cold_all, sa = _timed_run(resolve_suite("all"), None, os.cpu_count(), scratch / "call", scratch / "oall")
        after = _artifacts()
        trained = {k: v for k, v in after.items() if k not in before}
        res["c_cold_suite_all"] = {"seconds": round(cold_all, 1), "ray_init_s": round(init, 2),
                                   "shards": sa["shards_total"], "records": sa["n_records"],
                                   "task_failures": len(sa["task_failures"]),
                                   "tokenizers_unavailable": sa["tokenizer_failures"],
                                   "trained_during_run": trained,
                                   "trained_here_already_cached": sorted(before)}
    if args.suite_log:
        res["c_cold_suite_all"] = parse_suite_log(Path(args.suite_log))
    res["loadavg_after"] = os.getloadavg()
    res["note"] = ("2-core machine; trained-here checkpoints and synthetic data were cached before timing (their "
                   "one-off training is listed under c_cold_suite_all.trained_during_run when --all trains any)")
    res["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    ray.shutdown()
    shutil.rmtree(scratch, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
