"""Trained-here artifacts: checkpoints this project trains itself, built once, cached, shared by every process.

No hub weights can be downloaded here, so the embedded default trains tiny versions of what it needs (the tiny
PyraTok, its ablations, the quantizer baselines, tiny diffusers VAEs) on synthetic data. Each is an *artifact*: a
folder ``$PYRATOK_CACHE/trained/<kind>-<key>/`` (:func:`benchmarks.provisioning.cache.cache_root`), complete when
it holds ``DONE.json``. A file lock makes concurrent Ray workers wait for one builder instead of training the
same thing twice; a killed build leaves its ``work/`` folder behind, and builders that can resume (the PyraTok
trainer) continue from their last checkpoint.

    folder = trained_artifact("tiny-vae", recipe, build, sources=["pyratok"])   # build(folder): at most once

The key (:func:`artifact_key`) hashes the recipe (a JSON-able dict: config, data, steps, seed) *and* the digest of
the source code listed in ``sources`` (:func:`benchmarks.provisioning.digest.source_digest`): change the recipe or
edit the code that trains it and a new artifact is trained. The weights' sha goes into the tokenizer's checkpoint
and so into the runner's cache keys.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Sequence

from .cache import atomic_write_text, cache_root, file_lock
from .digest import recipe_hash, source_digest

__all__ = ["trained_artifact", "artifact_key", "artifact_done", "keyed_recipe"]


def keyed_recipe(recipe: dict, sources: Sequence[str]) -> dict:
    """``recipe`` plus the digest of the code that trains it (what :func:`artifact_key` hashes; also written to
    the artifact's ``recipe.json``)."""
    return {**recipe, "code": {"sources": list(sources), "digest": source_digest(sources)}}


def artifact_key(recipe: dict, sources: Sequence[str]) -> str:
    """16 hex digits naming the artifact of ``recipe`` trained by the code in ``sources``."""
    return recipe_hash(keyed_recipe(recipe, sources))


def artifact_done(path: Path) -> bool:
    return (Path(path) / "DONE.json").is_file()


def trained_artifact(kind: str, recipe: dict, build: Callable[[Path], None], sources: Sequence[str],
                     log: Callable[[str], None] | None = print, root: Path | None = None) -> Path:
    """The folder of the ``kind`` artifact for ``recipe`` and ``sources``; calls ``build(folder)`` first if it is
    not complete yet (under a lock, so once across processes)."""
    root = Path(root) if root else cache_root() / "trained"
    full = keyed_recipe(recipe, sources)
    folder = root / f"{kind}-{recipe_hash(full)}"
    if artifact_done(folder):
        return folder
    with file_lock(root / f".{folder.name}.lock"):
        if artifact_done(folder):  # another process finished it while we waited
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "recipe.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        if log:
            log(f"[trained-here] building {kind} ({folder}); this happens once")
        t0 = time.time()
        build(folder)
        done = {"kind": kind, "seconds": round(time.time() - t0, 1), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(folder / "DONE.json", json.dumps(done, indent=2))
        if log:
            log(f"[trained-here] {kind} done in {done['seconds']:.0f} s")
    return folder
