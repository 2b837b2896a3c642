"""Where this project keeps what it makes on a machine, and how concurrent processes share it.

``cache_root()`` is ``$PYRATOK_CACHE`` (default ``~/.cache/pyratok``): trained-here checkpoints live in
``trained/``, the synthetic datasets in ``synthetic/``, the trained-here training set in ``data/``.
:func:`file_lock` is an exclusive ``fcntl`` lock on a file, so that of several Ray workers asking for the same
artifact one builds it and the others wait. Atomic writes (temp file + rename) use
:func:`pyratok.train.checkpoint.atomic_write_text`, the one copy the model layer already has.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from pyratok.train.checkpoint import atomic_write_text

__all__ = ["cache_root", "file_lock", "atomic_write_text", "CACHE_ENV"]

CACHE_ENV = "PYRATOK_CACHE"


def cache_root() -> Path:
    """``$PYRATOK_CACHE`` or ``~/.cache/pyratok`` (not created)."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "pyratok"))


@contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on ``path`` (created with its parents) for the ``with`` block; blocks until free.
    The lock is released when the block ends or the process dies (the kernel drops ``flock`` locks)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
