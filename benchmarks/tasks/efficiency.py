"""Tokenizer efficiency (paper Table 1's Params and Latency columns): parameter count and the wall time of
encode + decode for one clip of 25 frames at 256x256 (the paper's setting, on one V100).

Protocol: a fixed pseudo-random clip (seeded uniform noise in [-1, 1]: latency does not depend on content for
these networks; for codecs it does, so they get a smooth synthetic clip from the synthetic world's renderer-free
gradient pattern instead — both seeded), conformed to the tokenizer's geometry, ``warmup`` untimed runs, then the
median of ``repeats`` (>= 5) timed runs with their spread (min, max, interquartile range), on whatever device the
worker has (the record's ``device`` says which, the note the torch thread count: on this project's CPU machines it
is one thread, so numbers are not comparable to the paper's GPU latency). The engine schedules these shards
exclusively (registered ``exclusive=True``): each runs alone on its worker node, after every other task, so other
work does not inflate the time.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult
from benchmarks.registry import register_benchmark
from benchmarks.tasks.clips import conform

__all__ = ["TokenizerEfficiency", "test_clip"]


def test_clip(frames: int, size: int, seed: int = 0, smooth: bool = False) -> torch.Tensor:
    """``(1, 3, frames, size, size)`` in [-1, 1]: seeded noise, or (``smooth``) moving colour gradients."""
    g = torch.Generator().manual_seed(seed)
    if not smooth:
        return torch.rand(1, 3, frames, size, size, generator=g) * 2 - 1
    t = torch.linspace(0, 1, frames).view(frames, 1, 1)
    y = torch.linspace(0, 1, size).view(1, size, 1)
    x = torch.linspace(0, 1, size).view(1, 1, size)
    phase = torch.rand(3, generator=g) * 6.28
    chans = [torch.sin(6.28 * (x + y * (c + 1) / 3 + t) + phase[c]) for c in range(3)]
    return torch.stack(chans).unsqueeze(0) * 0.8


@register_benchmark("tokenizer-efficiency",
                    "parameter count and encode+decode latency for 25 frames at 256x256 (Table 1)",
                    exclusive=True)
class TokenizerEfficiency(Benchmark):
    dataset = "none"
    paper_name = "Table 1 (Params, Latency)"
    table = "table1"
    task = "efficiency"
    requires = ("decode",)
    protocol = {"version": "1.1", "frames": 25, "size": 256, "warmup": 1, "repeats": 5, "seed": 0,
                "timing": "median wall time of encode+decode, torch.no_grad, batch 1"}

    def locate(self, data_root, synthetic_root) -> DataSource:
        return DataSource("none", "synthetic", "a seeded synthetic clip (latency does not need real data)")

    def shard_cost(self, shard: Shard) -> float:
        # warmup + repeats full encode+decode passes of a 25x256x256 clip: far more than a shard of small clips
        return 50.0 * (self.protocol["warmup"] + self.protocol["repeats"])

    def shards(self, data: DataSource) -> list[Shard]:
        return [Shard(0, 1, ("latency",), ())]

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted) -> ShardResult:
        p = self.protocol
        if int(p["repeats"]) < 5:
            raise ValueError(f"{self.name}: repeats must be >= 5 for a median and a spread, got {p['repeats']}")
        clip = test_clip(p["frames"], p["size"], p["seed"], smooth=tokenizer.kind == "codec")
        clip, geometry = conform(clip, tokenizer.input_constraints)
        times = []
        with torch.no_grad():
            for i in range(p["warmup"] + p["repeats"]):
                t0 = time.perf_counter()
                tokenizer.decode(tokenizer.encode(clip))
                if i >= p["warmup"]:
                    times.append(time.perf_counter() - t0)
        res = ShardResult()
        ms = np.asarray(times) * 1000
        q1, q3 = np.percentile(ms, [25, 75])
        res.samples.append({"id": "latency", "latency_ms": float(np.median(ms)), "times_s": times,
                            "spread_ms": {"min": float(ms.min()), "max": float(ms.max()), "iqr": float(q3 - q1)},
                            "geometry": geometry, "threads": torch.get_num_threads(),
                            "params": tokenizer.params()})
        return res

    def reduce(self, results: list[ShardResult], data: DataSource, fitted) -> list[Metric]:
        s = results[0].samples[0] if results and results[0].samples else None
        if s is None:
            return [Metric("latency_ms", None, 0, note="not measured")]
        g = s["geometry"]
        params = s.get("params")
        return [Metric("params", float(params) if params is not None else None, 1, 0, "params", None,
                       "" if params is not None else "no parameters (classical codec)"),
                Metric("latency_ms", s["latency_ms"], 1, 0, "ms", False,
                       f"{g['frames']}x{g['size'][0]}x{g['size'][1]} clip, {s['threads']} torch thread(s), median of "
                       f"{len(s['times_s'])} runs after {self.protocol['warmup']} warm-up, timed alone",
                       {"geometry": g, "times_s": s["times_s"], "threads": s["threads"],
                        "spread_ms": s.get("spread_ms"), "repeats": len(s["times_s"]),
                        "warmup": self.protocol["warmup"]})]
