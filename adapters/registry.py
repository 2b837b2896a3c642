"""The tokenizer registry: a name maps to ``module:factory`` plus default options; nothing is imported until a
tokenizer is built, so listing names is instant and a broken optional dependency only breaks its own adapter.

    from adapters import build_tokenizer, list_tokenizers
    tok = build_tokenizer("pyratok-tiny")                        # trained here on first use, then cached
    tok = build_tokenizer("wan2.2-vae", path="/models/Wan2.2-VAE")  # real weights from a local directory

Adding a tokenizer: write its adapter module (a ``build(name, **options) -> Tokenizer`` factory, or a ``Tokenizer``
class) and add ONE ``register(...)`` line below (name, target, family, description, default options; options the
tokenizer cannot run without go in ``required``). The mechanism is :class:`adapters.lazy_registry.Registry`, the same
one benchmarks and metrics use.

On the command line a tokenizer is ``NAME`` or ``NAME:key=value,key=value`` (see :func:`parse_tokenizer_spec`), or
``pkg.module:Class[:key=value,...]`` for any importable ``Tokenizer`` class or factory outside this package.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .base import Tokenizer
from .lazy_registry import Registry, UnknownName, import_target

__all__ = ["TokenizerSpec", "REGISTRY", "TOKENIZERS", "register", "list_tokenizers", "build_tokenizer",
           "parse_tokenizer_spec", "get_spec", "resolve_tokenizer", "UnknownTokenizer"]


class UnknownTokenizer(UnknownName):
    pass


@dataclass(frozen=True)
class TokenizerSpec:
    name: str
    target: str                      # "module:factory"; factory(name=..., **options) -> Tokenizer
    options: dict = field(default_factory=dict)
    family: str = ""
    description: str = ""
    paper_only: str = ""             # non-empty: cannot run here; the reason (its rows stay paper-reported)
    required: dict = field(default_factory=dict)   # option -> what it is; missing ones are refused at plan time
                                                   # unless the benchmark supplies them (e.g. a codec's bpp)


TOKENIZERS = Registry("tokenizer", error=UnknownTokenizer, valid_label="Valid names")
REGISTRY = TOKENIZERS  # the name older code and tests use


def register(name: str, target: str, family: str, description: str, paper_only: str = "",
             required: dict | None = None, **options) -> None:
    TOKENIZERS.add(name, TokenizerSpec(name, target, dict(options), family, description, paper_only,
                                       dict(required or {})))


# ---------------------------------------------------------------------------------------------- the registry
# PyraTok (any checkpoint directory; the tiny config trained here by default)
register("pyratok-tiny", "adapters.pyratok_tokenizer:build", "pyratok",
         "tiny PyraTok trained here on the synthetic WebVid set (CI-gate recipe), cached")
register("pyratok", "adapters.pyratok_tokenizer:build", "pyratok",
         "PyraTok from a checkpoint directory: pyratok:checkpoint=DIR")
# Table 6 component ablations: tiny PyraTok variants trained here with the same data and budget
for _abl, _desc in (("wo-lapq", "w/o LaPQ (single-scale quantization)"),
                    ("wo-text", "w/o text guidance"),
                    ("wo-pyramid", "w/o pyramidal features (deepest stage only)"),
                    ("2-blocks", "2 Q-blocks instead of 4"), ("3-blocks", "3 Q-blocks instead of 4"),
                    ("latent-grid", "every LaPQ level on the VAE latent grid (equal grids, 0.0735 bpp at 17x64x64)")):
    register(f"pyratok-tiny-{_abl}", "adapters.pyratok_tokenizer:build", "pyratok",
             f"Table 6 ablation: tiny PyraTok {_desc}, trained here", ablation=_abl)
# Table 10 loss ablations (understanding): tiny PyraTok trained here without one loss term
for _abl, _desc in (("wo-drift", "w/o L_drift"), ("wo-ar", "w/o L_AR"), ("wo-codebook", "w/o L_codebook"),
                    ("wo-drift-ar", "w/o L_drift & L_AR"), ("wo-text-alignment", "w/o L_text-cond. alignment"),
                    ("wo-commitment", "w/o L_vision-commitment"),
                    ("wo-text-codebook", "w/o L_text-codebook alignment")):
    register(f"pyratok-tiny-{_abl}", "adapters.pyratok_tokenizer:build", "pyratok",
             f"Table 10 ablation: tiny PyraTok {_desc}, trained here", ablation=_abl)

# Figure 10: codebook size sweep (the tiny default has K = 16 bits, 65,536 codes)
for _k in (8, 12):
    register(f"pyratok-tiny-k{_k}", "adapters.pyratok_tokenizer:build", "pyratok",
             f"Figure 10: tiny PyraTok with a {_k}-bit LFQ codebook ({2 ** _k} codes), trained here", ablation=f"k{_k}")

# continuous video VAEs through diffusers (real weights from a local directory, else a tiny config trained here)
for _name, _cls, _desc in (("wan2.1-vae", "wan2.1", "Wan 2.1 VAE (AutoencoderKLWan)"),
                           ("wan2.2-vae", "wan2.2", "Wan 2.2 VAE (AutoencoderKLWan)"),
                           ("cogvideox-vae", "cogvideox", "CogVideoX VAE (AutoencoderKLCogVideoX)"),
                           ("mochi-vae", "mochi", "Mochi VAE (AutoencoderKLMochi)"),
                           ("svd-vae", "svd", "Stable Video Diffusion VAE (AutoencoderKLTemporalDecoder)")):
    register(_name, "adapters.diffusers_vae:build", "video-vae", _desc + "; path=DIR for real weights", arch=_cls)

# Table 9: single-scale quantizer baselines on the same backbone, trained here with tiny PyraTok's data and budget
for _q, _desc in (("vq", "VQ, 4096 codes x 256-d"), ("gvq", "grouped VQ, 4096 codes x 256-d, 4 groups"),
                  ("lfq", "LFQ, 2^16 codes (single scale)"), ("rvq", "residual VQ, 8000 codes x 512-d"),
                  ("fsq", "FSQ, levels (8,8,8,6,5)")):
    register(f"quant-{_q}", "adapters.quantizer_baselines:build", "quantizer-baseline",
             f"Table 9 baseline: {_desc}, vector-quantize-pytorch, trained here", quantizer=_q)

# Table 7: classical codecs through PyAV / FFmpeg at a target bits per pixel
for _name, _codec, _desc in (("h264", "libx264", "H.264/AVC (libx264)"), ("hevc", "libx265", "H.265/HEVC (libx265)"),
                             ("av1", "libsvtav1", "AV1 (SVT-AV1)"), ("vp9", "libvpx-vp9", "VP9 (libvpx)")):
    register(_name, "adapters.codecs:build", "codec", _desc + " at a target bpp", codec=_codec,
             required={"bpp": "target bits per pixel (e.g. NAME:bpp=0.1); a rate benchmark such as "
                              "mcl-jcv-compression supplies it"})
register("vvc", "adapters.codecs:build", "codec", "H.266/VVC",
         paper_only="PyAV's FFmpeg build has no VVC encoder (libvvenc); the VVC row of Table 7 stays paper-reported",
         codec="libvvenc")

# References (not tokenizers): trivial methods scored by the same benchmark code on the same data, so a reader sees
# what a number is worth; a reference runs only on benchmarks whose needs its capabilities cover
register("ref-grey", "adapters.references:build", "reference", "REFERENCE: every pixel mid-grey, 0 bits", reference="grey")
register("ref-mean-colour", "adapters.references:build", "reference", "REFERENCE: per-clip mean RGB colour, 24 bits per clip", reference="mean-colour")
register("ref-bicubic", "adapters.references:build", "reference", "REFERENCE: bicubic down/up-sampling at tiny PyraTok's bits per pixel (8-bit RGB grid)", reference="bicubic", bpp="match:pyratok-tiny")
register("ref-random-features", "adapters.references:build", "reference", "REFERENCE: seeded Gaussian features and text embeddings (random-feature null; ref-random-features:seed=N)", reference="random-features", seed=0)


def list_tokenizers(include_paper_only: bool = True) -> list[str]:
    return sorted(n for n, s in TOKENIZERS.items() if include_paper_only or not s.paper_only)


def parse_tokenizer_spec(text: str) -> tuple[str, dict]:
    """``NAME`` or ``NAME:key=value,key=value`` -> (name, options); values stay strings except ints/floats/bools.
    ``pkg.module:Class:key=value`` -> (``pkg.module:Class``, options): a name with a dot before its first colon
    and an identifier after it names an importable class/factory (see :func:`resolve_tokenizer`)."""
    text = text.strip()
    name, _, rest = text.partition(":")
    head, sep, after = rest.partition(":")
    if "." in name and name not in TOKENIZERS and head.isidentifier():
        name, rest = f"{name}:{head}", after
    options: dict = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"tokenizer option {part!r} in {text!r} must be key=value")
        options[key.strip()] = _coerce(value.strip())
    return name, options


def _coerce(v: str):
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def get_spec(name: str) -> TokenizerSpec:
    """The registered spec of ``name``, or for ``pkg.module:Class`` an ad-hoc spec (the class is imported to check
    it exists). Raises :class:`UnknownTokenizer` listing the valid names."""
    if name in TOKENIZERS:
        return TOKENIZERS[name]
    if ":" in name and "." in name.partition(":")[0]:
        import_target(name, f"tokenizer {name!r}")
        return TokenizerSpec(name, name, {}, "external", f"user tokenizer {name}")
    raise TOKENIZERS.unknown(name)


def resolve_tokenizer(text: str, options: dict | None = None) -> tuple[str, TokenizerSpec, dict]:
    """A command-line tokenizer (``NAME``, ``NAME:k=v``, ``pkg.mod:Class[:k=v]``) -> (record name, spec, options
    merged over the spec's defaults)."""
    base, opts = parse_tokenizer_spec(text)
    spec = get_spec(base)
    name = base if opts else text.strip()
    return name, spec, {**spec.options, **opts, **(options or {})}


def build_tokenizer(name: str, **options) -> Tokenizer:
    """Import the adapter module and build the tokenizer. Raises :class:`UnknownTokenizer` listing the valid names,
    or :class:`~adapters.base.NotSupported` with the reason for a paper-only entry."""
    if ":" in name and not options:
        name, options = parse_tokenizer_spec(name)
    spec = get_spec(name)
    if spec.paper_only:
        from .base import NotSupported
        raise NotSupported(f"{name}: {spec.paper_only}")
    factory = import_target(spec.target, f"tokenizer {name!r}")
    tok = _call_factory(factory, name, {**spec.options, **options})
    if not isinstance(tok, Tokenizer):
        raise TypeError(f"{spec.target} returned {type(tok).__name__}, not a Tokenizer")
    return tok


def _call_factory(factory, name: str, options: dict):
    """``factory(name=..., **options)``; a user class whose constructor takes no ``name`` gets it as an attribute."""
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    takes_name = "name" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    if takes_name:
        return factory(name=name, **options)
    obj = factory(**options)
    if not getattr(obj, "name", None):
        obj.name = name
    return obj
