"""The data the embedded default makes here: the trained-here training set and the benchmarks' synthetic datasets.

* :func:`ensure_gate_data` / :func:`default_training_data`: the synthetic WebVid-format set every trained-here
  tokenizer (and the CI gate) learns from — ``benchmarks.synthetic`` seed 0, 64 x 64 clips of 17 frames,
  256 train / 64 val videos (:data:`benchmarks.provisioning.recipes.GATE_CLIPS`).
* :func:`ensure_synthetic`: the benchmarks' synthetic datasets, written once per (scale, seed) into
  ``$PYRATOK_CACHE/synthetic/<scale>-seed<seed>/`` in the official layouts (``webvid/``, ``coco/`` ...). Only
  missing datasets are written. Real samples (``../shared/realdata``) are chosen by each benchmark's
  ``default_source`` where they exist (e.g. COCO val2017 images).

A file lock keeps concurrent processes from writing the same folder twice.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .cache import cache_root, file_lock
from .digest import source_digest
from .recipes import GATE_CLIPS, SEED

__all__ = ["ensure_gate_data", "default_training_data", "ensure_synthetic", "synthetic_root", "DATA_SOURCES"]

# the code that writes the training set (its digest names the cached copy)
DATA_SOURCES = ("benchmarks.synthetic", "benchmarks.provisioning.training_data")


def ensure_gate_data(work: Path, seed: int = SEED) -> Path:
    """The synthetic WebVid-format training set under ``work/data-seed<seed>``, written if absent. Returns the
    ``webvid`` root (``results_10M_{train,val}.csv``, ``videos/``). Not locked: callers that share ``work``
    across processes hold a lock (:func:`default_training_data` does)."""
    from benchmarks.synthetic.generate import generate
    from benchmarks.synthetic.scale import TINY

    out = Path(work) / f"data-seed{seed}"
    root = out / "webvid"
    if not (root / "SYNTHETIC.md").is_file() or not (root / "results_10M_val.csv").is_file():
        generate(out, "webvid", scale=dataclasses.replace(TINY, name="ci", clips=GATE_CLIPS), seed=seed)
    return root


def default_training_data() -> Path:
    """:func:`ensure_gate_data` in the shared cache, under a lock: ``$PYRATOK_CACHE/data/<digest>/``, keyed on the
    source of the synthetic-data generator (:func:`~benchmarks.provisioning.digest.source_digest`), so an edit to
    the generator writes a new set, and the artifacts trained on it (their recipes hold its path) are retrained."""
    root = cache_root() / "data" / f"synthetic-{source_digest(DATA_SOURCES)}"
    with file_lock(root / ".webvid.lock"):
        return ensure_gate_data(root)


def synthetic_root(scale: str = "tiny", seed: int = 0) -> Path:
    return cache_root() / "synthetic" / f"{scale}-seed{seed}"


def ensure_synthetic(datasets: list[str], scale: str = "tiny", seed: int = 0, log=print) -> Path:
    """The folder holding the synthetic ``datasets`` (names without a writer are ignored), writing missing ones."""
    from benchmarks.synthetic.generate import generate
    from benchmarks.synthetic.writers import WRITERS

    root = synthetic_root(scale, seed)
    names = [d for d in dict.fromkeys(datasets) if d in WRITERS]
    with file_lock(root / ".lock"):
        missing = [d for d in names if not (root / d / "SYNTHETIC.md").is_file()]
        if missing:
            generate(root, missing, scale=scale, seed=seed, log=log)
    return root
