"""Digests that say *what made* a cached thing: a JSON recipe, and the source code of the modules that train it.

A trained-here artifact is keyed on both (:func:`benchmarks.provisioning.artifacts.artifact_key`), so editing
the model or the trainer retrains it instead of serving weights made by older code under the new code's name.
There is no hand-bumped version number to forget.

    source_digest(["pyratok", "benchmarks.provisioning.recipes"])   # every .py of the package + that module

Entries are dotted module names (a package counts all ``*.py`` files below it, recursively) or file/folder paths.
Modules are located with :func:`importlib.util.find_spec`: the module itself is not imported, only the parent
packages of a dotted name (Python needs them to find it).
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Iterable

from adapters.base import json_digest as recipe_hash

__all__ = ["recipe_hash", "source_files", "source_digest"]


def _files_of(entry: str) -> list[tuple[str, Path]]:
    """(label, file) pairs for one entry; the label (module-relative path) goes into the digest, not the absolute
    location, so the same code in two checkouts gives the same digest."""
    path = Path(entry)
    if not path.exists():
        spec = importlib.util.find_spec(entry)
        if spec is None:
            raise ValueError(f"source_digest: {entry!r} is neither a module nor a path")
        if spec.submodule_search_locations:  # a package: its folder
            path = Path(next(iter(spec.submodule_search_locations)))
        elif spec.origin and spec.origin.endswith(".py"):
            return [(entry, Path(spec.origin))]
        else:
            raise ValueError(f"source_digest: module {entry!r} has no Python source ({spec.origin})")
    if path.is_file():
        return [(entry, path)]
    files = sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return [(f"{entry}/{p.relative_to(path).as_posix()}", p) for p in files]


def source_files(sources: Iterable[str]) -> list[Path]:
    """Every file :func:`source_digest` reads for ``sources``, in digest order."""
    return [p for entry in sources for _, p in _files_of(entry)]


def source_digest(sources: Iterable[str]) -> str:
    """16 hex digits over the names and bytes of every source file of ``sources`` (order as given)."""
    h = hashlib.sha256()
    for entry in sources:
        for label, p in _files_of(entry):
            h.update(label.encode() + b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]
