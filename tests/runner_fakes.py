"""Small, fast stand-ins used by tests/test_runner.py to exercise the runner (imported by Ray workers too: the
runner ships the driver's sys.path to them)."""
from __future__ import annotations

import time
from pathlib import Path


from adapters.base import Checkpoint, Encoding, Tokenizer
from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult


class ScaleTokenizer(Tokenizer):
    """decode(encode(x)) = gain * x: a tokenizer whose reconstruction error is known in closed form."""

    family = "pyratok"
    kind = "continuous"

    def __init__(self, name: str = "fake-scale", gain: float = 0.5):
        self.name, self.gain = name, float(gain)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint("none", None, f"gain={self.gain}")

    def config(self) -> dict:
        return {"gain": self.gain}

    def encode(self, video, texts=None):
        return Encoding(video * self.gain, tuple(video.shape))

    def decode(self, enc):
        return enc.payload


def build_scale(name: str, gain: float = 0.5) -> ScaleTokenizer:
    return ScaleTokenizer(name, gain)


class CountingBenchmark(Benchmark):
    """Items 0..n-1 in shards of ``per_shard``; each sample's value is the item number times the tokenizer gain.
    ``fail_dir``: shard i fails while the file ``fail_dir/fail-<i>`` exists (removed after ``fail_times`` reads),
    so tests can make a shard fail once (retry) or always (task failure)."""

    name = "fake-counting"
    dataset = "none"
    table = "tablex"
    task = "test"
    protocol = {"version": "1", "n": 6, "per_shard": 2, "fail_dir": None, "sleep": 0.0, "fit": None,
                "fail_kind": "runtime", "order_file": None}

    def fit(self, tokenizer, data, out_dir):
        """``protocol["fit"]``: None -> nothing to fit (returns None, as benchmarks do for tokenizers that need no
        probe); a number -> {"offset": number}, added to every sample's value."""
        return None if self.protocol["fit"] is None else {"offset": float(self.protocol["fit"])}

    def locate(self, data_root, synthetic_root) -> DataSource:
        return DataSource("none", "synthetic", "counting")

    def shards(self, data):
        n, k = self.protocol["n"], self.protocol["per_shard"]
        parts = [list(range(i, min(n, i + k))) for i in range(0, n, k)]
        return [Shard(i, len(parts), tuple(p), ()) for i, p in enumerate(parts)]

    def run_shard(self, tokenizer, data, shard, fitted) -> ShardResult:
        fd = self.protocol["fail_dir"]
        if fd:
            marker = Path(fd) / f"fail-{shard.index}"
            if marker.exists():
                left = int(marker.read_text() or "1")
                if left <= 1:
                    marker.unlink()
                else:
                    marker.write_text(str(left - 1))
                if self.protocol["fail_kind"] == "value":  # a deterministic error: retrying cannot fix it
                    raise ValueError(f"injected configuration error in shard {shard.index}")
                raise RuntimeError(f"injected failure of shard {shard.index}")
        time.sleep(self.protocol["sleep"])
        if self.protocol["order_file"]:  # execution order across benchmarks (exclusive scheduling tests)
            with open(self.protocol["order_file"], "a") as f:
                f.write(f"{self.name}:{shard.index}\n")
        res = ShardResult()
        for i in shard.items:
            res.samples.append({"id": i, "value": i * tokenizer.gain + (fitted or {}).get("offset", 0.0)})
        if fd:  # count executions per shard (resume tests check nothing ran twice)
            with open(Path(fd) / f"ran-{shard.index}", "a") as f:
                f.write("x")
        return res

    def reduce(self, results, data, fitted):
        vals = [s["value"] for r in results for s in r.samples]
        return [Metric("sum", float(sum(vals)), len(vals)), Metric("count", float(len(vals)), len(vals))]




class LatencyCounting(CountingBenchmark):
    """CountingBenchmark registered as exclusive (as the latency benchmark is)."""

    name = "fake-latency"


class FileGainTokenizer(ScaleTokenizer):
    """ScaleTokenizer whose gain is read from a 'weights' file (a checkpoint on disk)."""

    def __init__(self, name: str = "fake-file", path: str = ""):
        self.path = path
        super().__init__(name, float(Path(path).read_text()))

    @property
    def checkpoint(self) -> Checkpoint:
        from adapters.base import sha256_of

        return Checkpoint("local-weights", self.path, sha256_of(self.path))


def build_file_gain(name: str, path: str) -> FileGainTokenizer:
    return FileGainTokenizer(name, path)
