"""Checkpoints trained by this project (the embedded default): built once, cached, shared by every process.

No hub weights can be downloaded here, so the default run trains tiny versions of what it needs (the tiny PyraTok,
its ablations, the quantizer baselines, tiny diffusers VAEs, generative priors) on the synthetic data. Each is an
*artifact*: a folder under ``$PYRATOK_CACHE/trained/<kind>-<hash of recipe>/`` (default ``~/.cache/pyratok``),
complete when it holds ``DONE.json``. A file lock makes concurrent Ray workers wait for one builder instead of
training the same thing twice; a killed build leaves its ``work/`` folder behind, and builders that can resume
(the PyraTok trainer) continue from their last checkpoint.

    path = trained_artifact("tiny-vae", recipe, build)   # build(path) writes into path; called at most once

The recipe (a JSON-able dict: config, data, steps, seed, code version of the recipe) *is* the identity: change
anything in it and a new artifact is trained; the hash goes into the tokenizer's checkpoint sha and so into the
runner's cache keys.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

__all__ = ["cache_root", "trained_artifact", "recipe_hash", "default_training_data", "artifact_done"]


def cache_root() -> Path:
    return Path(os.environ.get("PYRATOK_CACHE", Path.home() / ".cache" / "pyratok"))


def recipe_hash(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def artifact_done(path: Path) -> bool:
    return (Path(path) / "DONE.json").is_file()


def trained_artifact(kind: str, recipe: dict, build: Callable[[Path], None], log: Callable[[str], None] | None = print,
                     root: Path | None = None) -> Path:
    """The folder of the artifact for ``recipe``; calls ``build(folder)`` first if it is not complete yet."""
    root = Path(root) if root else cache_root() / "trained"
    folder = root / f"{kind}-{recipe_hash(recipe)}"
    if artifact_done(folder):
        return folder
    with file_lock(root / f".{folder.name}.lock"):
        if artifact_done(folder):  # another process finished it while we waited
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "recipe.json").write_text(json.dumps(recipe, indent=2, sort_keys=True, default=str))
        if log:
            log(f"[trained-here] building {kind} ({folder}); this happens once")
        t0 = time.time()
        build(folder)
        done = {"kind": kind, "seconds": round(time.time() - t0, 1), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = folder / "DONE.json.tmp"
        tmp.write_text(json.dumps(done, indent=2))
        tmp.replace(folder / "DONE.json")
        if log:
            log(f"[trained-here] {kind} done in {done['seconds']:.0f} s")
    return folder


def default_training_data() -> Path:
    """The synthetic WebVid-format set every trained-here tokenizer learns from (the CI gate's: seed 0, 64x64,
    17 frames, 256 train / 64 val clips). Returns the ``webvid`` root (``results_10M_{train,val}.csv``, ``videos/``)."""
    from benchmarks.ci_gate import ensure_data

    root = cache_root() / "data"
    with file_lock(root / ".webvid.lock"):
        return ensure_data(root)
