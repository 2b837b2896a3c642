"""The benchmark contract: one class per dataset x task, which never knows what engine runs it.

A benchmark

* reads its dataset's *official* on-disk format from a root (:meth:`Benchmark.locate`), either the user's real
  dataset (``--data-root``), the real samples in ``../shared/realdata`` where they exist, or the synthetic world
  (:mod:`benchmarks.synthetic`) written in the same format — the :class:`DataSource` says which, and every record
  carries it;
* declares its paper table, its task and its metric protocol as versioned config (:attr:`Benchmark.protocol`:
  resolution, frames, stride, crop, value range, averaging, thresholds; ``version`` bumps whenever a number could
  change);
* splits its work into :class:`Shard` s (:meth:`Benchmark.shards`), each listing the sample ids and the input files
  it reads (the runner hashes them into the cache key);
* optionally fits something across the whole train/seen split first (:meth:`Benchmark.fit`: a text-alignment probe,
  a generative prior), into a folder the runner gives it and caches;
* scores one shard with one tokenizer (:meth:`Benchmark.run_shard` -> :class:`ShardResult`: per-sample values and
  per-sample failures with their reason — a corrupt file never kills the shard);
* reduces all shard results to metric values (:meth:`Benchmark.reduce` -> list of :class:`Metric`).

Everything a benchmark returns is JSON-able (results are cached as JSON and shipped between Ray workers).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DataSource", "Shard", "ShardResult", "Metric", "Benchmark", "REPO", "realdata_root",
           "DATA_ORIGINS", "chunk"]

REPO = Path(__file__).resolve().parents[1]
DATA_ORIGINS = ("synthetic", "real sample", "real dataset")


def realdata_root() -> Path:
    """``../shared/realdata`` beside the checkout (override: ``PYRATOK_REALDATA``)."""
    return Path(os.environ.get("PYRATOK_REALDATA", REPO.parent / "shared" / "realdata"))


@dataclass(frozen=True)
class DataSource:
    """Where a benchmark's data come from. ``origin``: synthetic | real sample | real dataset."""

    root: str
    origin: str
    description: str = ""
    extra: dict = field(default_factory=dict)   # e.g. {"split_file": ...}; JSON-able

    def __post_init__(self):
        if self.origin not in DATA_ORIGINS:
            raise ValueError(f"data origin must be one of {DATA_ORIGINS}, got {self.origin!r}")

    @property
    def path(self) -> Path:
        return Path(self.root)

    def label(self) -> str:
        return f"{self.origin}: {self.description or self.root}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Shard:
    """A unit of work. ``items``: JSON-able sample ids (paths, image ids, video names); ``files``: the input files
    those samples read, hashed into the cache key."""

    index: int
    count: int
    items: tuple
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"index": self.index, "count": self.count, "items": list(self.items), "files": list(self.files)}


@dataclass
class ShardResult:
    """``samples``: one JSON-able dict per scored sample (at least ``{"id": ...}`` plus values); ``failures``:
    ``{"sample", "file", "reason"}`` per sample that could not be scored; ``extras``: shard-level data the reduce
    step needs (e.g. feature arrays as lists, counts)."""

    samples: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)

    def fail(self, sample: Any, reason: str, file: str | None = None) -> None:
        self.failures.append({"sample": sample, "file": file, "reason": reason})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ShardResult":
        return cls(**d)


@dataclass
class Metric:
    """One reduced value. ``value`` None means not computable (``note`` says why) — never a made-up number."""

    name: str
    value: float | None
    n_samples: int
    n_failed: int = 0
    unit: str = ""
    higher_is_better: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)  # e.g. per-class values, std over repeats, the probe flag


class Benchmark(ABC):
    """Subclasses set the class attributes and implement ``locate``/``shards``/``run_shard``/``reduce``."""

    name: str = "?"               # registry name, e.g. "webvid-recon"
    dataset: str = "?"            # synthetic writer / data folder name under --data-root, e.g. "webvid"
    paper_name: str = ""          # the benchmark as the paper's tables name it, e.g. "WebVid-10M"
    table: str = ""               # e.g. "table1"; tables.py decides where records land
    task: str = "?"               # reconstruction | compression | segmentation | localization | ...
    protocol: dict = {"version": "0"}
    requires: tuple[str, ...] = ()  # capabilities: "decode", "bits", "tokens", "features", "text"
    shard_size: int = 8
    needs_i3d: bool = False       # FVD: the engine provisions the I3D weights (fetched once) before any shard

    def __init__(self, **options):
        """``options`` override protocol fields (e.g. ``max_samples``); unknown keys are an error."""
        proto = dict(type(self).protocol)
        bad = sorted(set(options) - set(proto))
        if bad:
            raise ValueError(f"{self.name}: unknown protocol option(s) {bad}; valid: {sorted(proto)}")
        proto.update(options)
        self.protocol = proto

    # ------------------------------------------------------------------ data
    def default_source(self, synthetic_root: Path) -> DataSource:
        """Data when no --data-root is given: the synthetic dataset written under ``synthetic_root/<dataset>``.
        Benchmarks with a real sample in ../shared/realdata override this."""
        return DataSource(str(Path(synthetic_root) / self.dataset), "synthetic",
                          f"benchmarks.synthetic {self.dataset}")

    def locate(self, data_root: Path | None, synthetic_root: Path) -> DataSource:
        """The user's dataset under ``data_root/<dataset>`` (or ``data_root`` itself when it is that dataset), or
        :meth:`default_source`. Raises FileNotFoundError naming the path when --data-root lacks it."""
        if data_root is None:
            return self.default_source(synthetic_root)
        root = Path(data_root)
        cand = root / self.dataset
        where = cand if cand.is_dir() else root
        if not where.is_dir():
            raise FileNotFoundError(f"{self.name}: no dataset folder {cand} (nor {root})")
        origin = "synthetic" if (where / "SYNTHETIC.md").is_file() else "real dataset"
        return DataSource(str(where), origin, str(where))

    # ------------------------------------------------------------------ applicability
    def applies_to(self, identity: dict) -> str | None:
        """None when the tokenizer (its identity dict) can run this benchmark, else the reason it cannot."""
        kind = identity.get("kind")
        if identity.get("reference"):
            return self._reference_applies(identity)
        if "tokens" in self.requires and kind != "discrete":
            return f"needs discrete tokens; {identity['tokenizer']} is {kind}"
        if "bits" in self.requires and kind == "continuous":
            return f"needs a bit rate; {identity['tokenizer']} is continuous"
        if "features" in self.requires and kind == "codec":
            return f"needs features; {identity['tokenizer']} is a codec"
        if "decode" in self.requires and kind not in ("discrete", "continuous", "codec"):
            return f"cannot decode ({kind})"
        return None

    def _reference_applies(self, identity: dict) -> str | None:
        """A reference method (``identity["reference"]``) declares its ``capabilities`` (a subset of decode, bits,
        features, text); it runs only where they cover :attr:`requires`. A features benchmark also needs ``text``
        (zero-shot scoring embeds class names / answers with the method's own text space), and references are
        never timed (latency and parameters of a trivial method are not a comparison)."""
        caps = set(identity.get("capabilities") or ())
        need = set(self.requires) | ({"text"} if "features" in self.requires else set())
        lacking = sorted(need - caps)
        if lacking:
            return (f"reference {identity.get('tokenizer')} lacks {', '.join(lacking)} (has "
                    f"{', '.join(sorted(caps)) or 'nothing'}): not applicable to {self.name}")
        if self.task == "efficiency":
            return f"reference {identity.get('tokenizer')}: a trivial method is not timed"
        return None

    def default_tokenizers(self) -> list[str]:
        """Tokenizers run by default: derived from the experiment matrix (the rows of the tables this benchmark
        fills, :func:`benchmarks.matrix.default_tokenizers_for`); a benchmark does not choose them itself."""
        from benchmarks.matrix import default_tokenizers_for

        return default_tokenizers_for(self.name)

    # ------------------------------------------------------------------ work
    @abstractmethod
    def shards(self, data: DataSource) -> list[Shard]:
        """Split the evaluation set into shards (stable order: same data -> same shards)."""

    def shard_cost(self, shard: Shard) -> float:
        """Relative cost of a shard (the runner starts expensive shards first); default: its number of samples."""
        return float(len(shard.items))

    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict | None:
        """Optional cross-shard preparation (probe, prior) written under ``out_dir``; returns JSON-able state passed
        to every ``run_shard``/``reduce``. The runner caches it like a shard."""
        return None

    def fit_files(self, data: DataSource) -> list[str]:
        """Input files :meth:`fit` reads (hashed into its cache key)."""
        return []

    @abstractmethod
    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        """Score one shard; per-sample problems go to ``ShardResult.failures``, never raise for one bad sample."""

    @abstractmethod
    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        """Metric values from all shards' results."""

    def describe(self) -> dict:
        return {"benchmark": self.name, "dataset": self.dataset, "paper_name": self.paper_name, "table": self.table,
                "task": self.task, "protocol": self.protocol, "requires": list(self.requires)}


def chunk(items: list, size: int) -> list[list]:
    """``items`` in consecutive chunks of ``size`` (the last may be shorter); at least one (possibly empty) chunk."""
    size = max(1, int(size))
    out = [items[i:i + size] for i in range(0, len(items), size)]
    return out or [[]]
