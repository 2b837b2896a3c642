"""Provisioning: what the embedded default must make before a tokenizer or benchmark can run here.

No hub weights or datasets can be downloaded, so the benchmarks layer supplies stand-ins: tokenizers trained here
(tiny configs) and synthetic data written in each benchmark's official format. Adapters never train or fetch
anything themselves; they load what they are given (``checkpoint=`` / ``path=``).

=======================  ===================================================================================
module                   concept
=======================  ===================================================================================
:mod:`.cache`            the cache root (``$PYRATOK_CACHE``) and the file lock shared by concurrent workers
:mod:`.digest`           recipe hashes and digests of source code
:mod:`.artifacts`        trained-here artifacts: built once, keyed on recipe + the code that trains them
:mod:`.recipes`          the CI gate's training recipe, shared by every trained-here PyraTok
:mod:`.training_data`    the trained-here training set and the benchmarks' synthetic datasets
:mod:`.pyratok_variants` tiny PyraTok, its ablations and the quantizer baselines (stage 0 shared)
:mod:`.tiny_vae`         tiny diffusers video VAEs (the stand-ins of the released VAEs)
=======================  ===================================================================================

:func:`provide` is the one seam the engine calls before it builds a tokenizer on a worker.
"""
from __future__ import annotations

__all__ = ["provide", "build_provided", "needs_training"]

# adapter factory -> how its trained-here weights are made (the adapters' own names for the option)
_PYRATOK = "adapters.pyratok_tokenizer:build"
_QUANT = "adapters.quantizer_baselines:build"
_VAE = "adapters.diffusers_vae:build"


def _target(tokenizer_name: str) -> str | None:
    """The registered factory of ``tokenizer_name`` (None for a name the registry does not know: nothing to
    provide, the build reports the unknown name)."""
    from adapters.registry import REGISTRY

    spec = REGISTRY.get(tokenizer_name)
    return spec.target if spec is not None else None


def needs_training(tokenizer_name: str, options: dict) -> bool:
    """True when building ``tokenizer_name`` with ``options`` needs a trained-here checkpoint: a trained-here
    family, no ``checkpoint=``/``path=`` given, and not ``init="random"``."""
    if options.get("checkpoint") or options.get("path") or options.get("init", "trained") == "random":
        return False
    target = _target(tokenizer_name)
    if target == _PYRATOK:
        return tokenizer_name != "pyratok"   # plain "pyratok" is a user's checkpoint, never trained here
    return target in (_QUANT, _VAE)


def provide(tokenizer_name: str, options: dict, log=print) -> dict:
    """The options to build ``tokenizer_name`` with, after supplying what the embedded default must make here:
    the path of its trained-here checkpoint (trained on first use, then cached) when none was given, with
    ``origin="trained-here"``. Other names and options pass through. Returns a new dict; ``options`` is
    unchanged."""
    opts = dict(options)
    if not needs_training(tokenizer_name, opts):
        return opts
    target = _target(tokenizer_name)
    if target == _VAE:
        from .tiny_vae import trained_vae_dir

        return {**opts, "path": str(trained_vae_dir(opts.get("arch", "wan2.2"), log)), "origin": "trained-here"}
    from .pyratok_variants import train_tiny_variant

    if target == _QUANT:
        from adapters.quantizer_baselines import artifact_kind, model_overrides

        q = opts.get("quantizer", "vq")
        d = train_tiny_variant(artifact_kind(q), model_overrides(q), log=log)
        return {**opts, "checkpoint": str(d), "origin": "trained-here"}
    from adapters.pyratok_tokenizer import ABLATIONS

    ablation = opts.get("ablation")
    if ablation is not None and ablation not in ABLATIONS:
        raise ValueError(f"{tokenizer_name}: unknown ablation {ablation!r}; valid: {sorted(ABLATIONS)}")
    kind = f"pyratok-tiny-{ablation}" if ablation else "pyratok-tiny"
    d = train_tiny_variant(kind, ABLATIONS.get(ablation, {}) if ablation else {}, log=log)
    return {**opts, "checkpoint": str(d), "origin": "trained-here"}


def build_provided(name: str, **options):
    """:func:`adapters.build_tokenizer` after :func:`provide`: the tokenizer as the benchmark engine builds it
    (``NAME`` or ``NAME:key=value,...``; registered options, then ``options``)."""
    from adapters.registry import REGISTRY, build_tokenizer, parse_tokenizer_spec

    base, parsed = parse_tokenizer_spec(name) if ":" in name else (name, {})
    spec = REGISTRY.get(base)
    merged = {**(spec.options if spec else {}), **parsed, **options}
    return build_tokenizer(base, **provide(base, merged))
