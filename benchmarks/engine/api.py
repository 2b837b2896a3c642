"""The Python entry point: ``evaluate(tokenizer_or_name, suite=..., data_root=...)`` -> result records.

    from benchmarks import evaluate
    records = evaluate("pyratok-tiny", suite="reconstruction")                 # a registered name
    records = evaluate("my_pkg.my_module:MyTokenizer:gain=0.5", suite="webvid-recon")
    records = evaluate(MyTokenizer(), suite="webvid-recon", out="my-results")  # an object (runs in this process)

Each record is a dict (:class:`benchmarks.records.ResultRecord` fields). ``out`` (default: a temporary folder's
worth of nothing — records are returned, tables only rendered when ``out`` is given).
"""
from __future__ import annotations

from typing import Any

__all__ = ["evaluate"]

_OBJECTS: dict[str, Any] = {}


def object_tokenizer(name: str, ref: str, code: str = ""):
    """Factory of a tokenizer object handed to :func:`evaluate` (looked up in this process)."""
    return _OBJECTS[ref]


def evaluate(tokenizer, suite: str = "reconstruction", data_root: str | None = None, *, out: str | None = None,
             engine: str = "inline", progress: bool = False, **run_options) -> list[dict]:
    """Run ``tokenizer`` (a registered name, ``NAME:k=v``, ``pkg.module:Class[:k=v]``, or a ``Tokenizer``
    object) through ``suite``; returns the records. ``run_options``: other :class:`RunConfig` fields
    (``benchmark_options``, ``cache_dir``, ``retries`` ...). A tokenizer object runs only with the inline engine."""
    import tempfile

    from adapters.base import Tokenizer
    from adapters.registry import REGISTRY, TokenizerSpec

    from .cache_keys import code_digest
    from .errors import ConfigurationError
    from .loop import Run
    from .state import RunConfig
    from benchmarks.registry import resolve_suite

    added = None
    if isinstance(tokenizer, Tokenizer):
        if engine != "inline":
            raise ConfigurationError("a Tokenizer object runs in this process: engine='inline' (or pass its "
                                     "'pkg.module:Class' path to run it on Ray workers)")
        ref = tokenizer.cache_key()
        _OBJECTS[ref] = tokenizer
        added = getattr(tokenizer, "name", None) or type(tokenizer).__name__
        code = code_digest(type(tokenizer).__module__)
        REGISTRY[added] = TokenizerSpec(added, "benchmarks.engine.api:object_tokenizer", {"ref": ref, "code": code},
                                        "external", f"object {type(tokenizer).__qualname__}")
        tokenizer = added
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = RunConfig(benchmarks=resolve_suite(suite), tokenizers=[str(tokenizer)], data_root=data_root,
                            out=out or tmp, engine=engine, progress=progress, **run_options)
            r = Run(cfg)
            summary = r.execute()
            if out:
                r.render()
            return summary.records
    finally:
        if added is not None:
            del REGISTRY[added]
