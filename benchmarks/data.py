"""Where the default run's data come from: the synthetic world, written once per (scale, seed) into the cache.

``ensure_synthetic(["webvid", "coco"], "tiny", 0)`` -> the folder holding ``webvid/``, ``coco/`` ... in the official
layouts (:mod:`benchmarks.synthetic`). Only missing datasets are written; a file lock keeps concurrent runs from
writing the same folder twice. Real samples (``../shared/realdata``) are chosen by each benchmark's
``default_source`` where they exist (e.g. COCO val2017 images).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ensure_synthetic", "synthetic_root"]


def synthetic_root(scale: str = "tiny", seed: int = 0) -> Path:
    base = Path(os.environ.get("PYRATOK_CACHE", Path.home() / ".cache" / "pyratok"))
    return base / "synthetic" / f"{scale}-seed{seed}"


def ensure_synthetic(datasets: list[str], scale: str = "tiny", seed: int = 0, log=print) -> Path:
    from adapters.trained_here import file_lock
    from benchmarks.synthetic.generate import generate
    from benchmarks.synthetic.writers import WRITERS

    root = synthetic_root(scale, seed)
    names = [d for d in dict.fromkeys(datasets) if d in WRITERS]
    with file_lock(root / ".lock"):
        missing = [d for d in names if not (root / d / "SYNTHETIC.md").is_file()]
        if missing:
            generate(root, missing, scale=scale, seed=seed, log=log)
    return root
