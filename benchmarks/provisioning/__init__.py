"""Provisioning: what the embedded default must make before a tokenizer or benchmark can run here.

No hub weights or datasets can be downloaded, so the benchmarks layer supplies stand-ins: tokenizers trained here
(tiny configs) and synthetic data written in each benchmark's official format. Adapters never train or fetch
anything themselves; they load what they are given (``checkpoint=`` / ``path=``).

:func:`provide` is the one seam the engine calls before it builds a tokenizer on a worker.
"""
from __future__ import annotations

__all__ = ["provide"]


def provide(tokenizer_name: str, options: dict) -> dict:
    """The options to build ``tokenizer_name`` with, after supplying what the embedded default must make here
    (e.g. the path of a trained-here checkpoint when none was given). Returns a new dict; ``options`` is unchanged."""
    return dict(options)
