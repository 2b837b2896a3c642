"""PyraTok behind the :class:`~adapters.base.Tokenizer` interface, and the model variants of its ablations.

``pyratok:checkpoint=DIR`` loads any ``save_pretrained`` directory. ``pyratok-tiny`` and its ablations
(:data:`ABLATIONS`: Tables 6 and 10, Figure 10) are tiny configs trained by this project; the benchmarks layer
trains them once, caches them and passes the folder with ``origin="trained-here"`` (``benchmarks.provisioning``,
which holds the recipe). The adapter never trains: without ``checkpoint`` it builds only the untrained model
(``init="random"``).

Zero-shot hooks: :meth:`PyraTokTokenizer.features` returns level ``l``'s continuous pre-quantization features
``z`` (``(B, K, T', H', W')``, the inputs of the per-bit logits) and :meth:`embed_text` the text mapped into the
same K-dimensional code space by ``text_to_bits`` (a fixed, seeded projection of the frozen text encoder's embedding,
``pyratok.text.target``).
Cosine similarity between the two is the zero-shot score. Quantized codes ``sign(z)`` are available with
``features_from="codes"``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer, json_digest, sha256_of

__all__ = ["PyraTokTokenizer", "build", "ABLATIONS", "WEIGHT_ORIGINS", "checkpoint_for", "random_model"]

WEIGHT_ORIGINS = ("local-weights", "trained-here")

# Table 6 (components) and Table 10 (loss terms) ablations as model overrides of the tiny config
ABLATIONS: dict[str, dict] = {
    "wo-lapq": {"lapq": {"mode": "single"}},
    "wo-text": {"lapq": {"text_guidance": False}},
    "wo-pyramid": {"lapq": {"feature_source": "deepest"}},
    "2-blocks": {"lapq": {"num_levels": 2}},
    "3-blocks": {"lapq": {"num_levels": 3}},
    "latent-grid": {"lapq": {"grid": "latent"}},   # every level on the VAE latent grid (the pre-pyramid design)
    "wo-drift": {"losses": {"disabled": ["drift"]}},
    "wo-ar": {"losses": {"disabled": ["ar"]}},
    "wo-codebook": {"losses": {"disabled": ["codebook"]}},
    "wo-drift-ar": {"losses": {"disabled": ["drift", "ar"]}},          # paper: "w/o L_dino & L_AR" / "L_drift & L_AR"
    "wo-text-alignment": {"losses": {"disabled": ["text_alignment"]}},  # "w/o L_text-cond. alignment"
    "wo-commitment": {"losses": {"disabled": ["commitment"]}},          # "w/o L_vision-commitment"
    "wo-text-codebook": {"losses": {"disabled": ["text_codebook"]}},    # "w/o L_text-codebook alignment"
    # Figure 10: codebook size sweep (K bits -> 2^K codes; the tiny default is K = 16)
    "k8": {"lapq": {"lfq": {"num_bits": 8}}, "alignment": {"num_bits": 8}},
    "k12": {"lapq": {"lfq": {"num_bits": 12}}, "alignment": {"num_bits": 12}},
}


class PyraTokTokenizer(Tokenizer):
    family = "pyratok"
    kind = "discrete"
    text_aligned = True

    def __init__(self, model, checkpoint: Checkpoint, name: str = "pyratok", features_from: str = "z",
                 family: str | None = None, text_aligned: bool | None = None, config: dict | None = None):
        if features_from not in ("z", "codes"):
            raise ValueError(f"features_from must be 'z' or 'codes', got {features_from!r}")
        self.module = model.eval()
        self.name = name
        self._checkpoint = checkpoint
        self.features_from = features_from
        self._config = dict(config or {})
        if family:
            self.family = family
        cfg = model.config
        self.num_levels = model.lapq.num_levels
        self.vocab_size = int(round(2 ** model.num_bits))
        self.bits_per_token = float(model.num_bits)
        if text_aligned is not None:
            self.text_aligned = text_aligned
        elif not cfg.losses.on("codebook") or not (cfg.losses.on("text_alignment") or cfg.losses.on("text_codebook")):
            # without the text-alignment terms of Eq. 2 text_to_bits is never trained: no native text space
            self.text_aligned = False
        t, s = model.backbone.latent_stride
        self.input_constraints = InputConstraints(t_multiple=t, t_offset=1, hw_multiple=s, min_frames=1)
        # what it was trained on: the tiny recipe's 9x64x64 clips; the paper's 17+ frames at 256+ otherwise
        tiny = not cfg.backbone.pretrained_path and cfg.backbone.vae_config.get("base_dim", 96) < 32
        self.native_resolution = (9, 64, 64) if tiny else (17, 256, 256)

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    def params(self) -> int:
        """Parameters that encode + decode run: the VAE (with LoRA) and LaPQ. The frozen text encoder and the AR
        alignment LM (training only) are not counted, as the paper's Table 1 counts the tokenizer."""
        m = self.module
        return sum(p.numel() for part in (m.backbone, m.lapq) for p in part.parameters())

    def config(self) -> dict:
        return {**self._config, "features_from": self.features_from}

    def identity(self) -> dict:
        q = self.module.config.lapq
        return {**super().identity(), "code_dim": q.code_width, "codes_per_position": 1,
                "lapq_levels": self.num_levels, "lapq_mode": q.mode}

    @property
    def model(self):
        return self.module

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        self.input_constraints.check(video, self.name)
        enc = self.module.encode(video, texts)
        n = enc.num_tokens
        bits = torch.full((video.shape[0],), n * self.bits_per_token, dtype=torch.float64)
        return Encoding(payload=enc, input_shape=tuple(video.shape), tokens=list(enc.indices), bits=bits)

    @torch.no_grad()
    def decode(self, encoding: Encoding) -> Tensor:
        return self.module.decode(encoding.payload).float()

    @property
    def lfq_bits(self) -> int | None:
        """K when the ids are LFQ bit patterns (the model quantizes with LFQ), else None (a learned codebook)."""
        q = self.module.config.lapq
        return int(q.lfq.num_bits) if q.quantizer.type == "lfq" else None

    def encoding_from_tokens(self, tokens: list[Tensor], input_shape: tuple[int, ...]) -> Encoding:
        """Generated ids (one ``(B, *grid_l)`` int64 tensor per level, or per code stream of a single-level
        quantizer baseline) and the ``(B, C, T, H, W)`` shape of the clips -> an Encoding :meth:`decode` accepts.

        * ``indices``: the ids, on the model's device; streams of a multi-code position (GVQ groups, RVQ depths)
          are stacked back on the last axis, as the single-level model holds them (``(B, T', H', W', G)``);
        * ``latent_grid``: the VAE latent grid of ``input_shape`` (:meth:`pyratok.lapq.LaPQ.latent_grid`);
        * ``features``: generated clips have no pre-quantization features; for LFQ the codes themselves
          (``(B, K, T', H', W')`` in {-1, +1}, what ``sign(z)`` would be) stand in; for codebook quantizers the
          list is empty (decoding never reads it);
        * ``bits``: tokens x bits per token, as :meth:`encode` computes it."""
        from pyratok.lfq import indices_to_codes
        from pyratok.model import PyraTokEncoding

        model = self.module
        B = int(tokens[0].shape[0])
        T, H, W = (int(s) for s in input_shape[2:])
        device = next(model.parameters()).device
        indices = [t.to(device).long() for t in tokens]
        per_position = int(getattr(self, "codes_per_position", 1))
        if model.lapq.num_levels == 1 and per_position > 1 and len(indices) == per_position:
            indices = [torch.stack(indices, dim=-1)]   # code streams -> (B, T', H', W', G)
        if len(indices) != model.lapq.num_levels:
            raise ValueError(f"{self.name}: {len(indices)} token levels given, the model has "
                             f"{model.lapq.num_levels}")
        latent_grid = tuple(int(g) for g in model.lapq.latent_grid(T, H, W))
        K = self.lfq_bits
        features = [indices_to_codes(ix, K).movedim(-1, 1) for ix in indices] if K else []
        payload = PyraTokEncoding(indices, features, latent_grid, (T, H, W))
        bits = torch.full((B,), payload.num_tokens * float(self.bits_per_token), dtype=torch.float64)
        return Encoding(payload=payload, input_shape=tuple(input_shape), tokens=[t.to(device).long() for t in tokens],
                        bits=bits)

    def features(self, encoding: Encoding, level: int = -1) -> Tensor:
        feats = encoding.payload.features
        if not -len(feats) <= level <= len(feats) or level == 0:
            raise ValueError(f"{self.name}: level {level} out of range (1..{len(feats)} or negative)")
        z = feats[level - 1 if level > 0 else level]
        return torch.sign(z) if self.features_from == "codes" else z

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> Tensor:
        if not self.text_aligned:
            raise NotSupported(f"{self.name}: trained without text alignment; use the probe")
        return self.module.text_bit_logits(self.module.embed_text(list(texts))).float()


def checkpoint_for(directory: Path, origin: str) -> Checkpoint:
    """The :class:`Checkpoint` of a ``save_pretrained`` folder: sha256 over its config and weights."""
    files = [directory / "config.json", directory / "model.safetensors"]
    return Checkpoint(origin, str(directory), sha256_of(files))


def random_model(overrides: dict, seed: int, what: str):
    """(untrained tiny PyraTok with ``overrides`` on the tiny config, seeded; its random-init Checkpoint)."""
    from pyratok.config_utils import from_dict
    from pyratok.model import PyraTok, PyraTokConfig
    from pyratok.train.config import _merge

    cfg = from_dict(PyraTokConfig, _merge(PyraTokConfig.tiny().to_dict(), overrides, what))
    torch.manual_seed(seed)
    model = PyraTok(cfg)
    digest = json_digest({"random-init": cfg.to_dict(), "seed": seed})
    return model, Checkpoint("random-init", None, digest, f"seed {seed}")


def build(name: str = "pyratok", checkpoint: str | None = None, ablation: str | None = None,
          features_from: str = "z", init: str = "trained", seed: int = 0, origin: str = "local-weights",
          **overrides) -> PyraTokTokenizer:
    """``checkpoint``: a ``save_pretrained`` directory; ``origin`` says who made it (``local-weights``: a user's
    checkpoint; ``trained-here``: the tiny model or ablation ``ablation`` trained by this project, as the
    benchmarks layer passes it). ``init="random"`` without ``checkpoint``: the untrained tiny model (``ablation``
    picks a Table 6/10 variant; seeded; origin random-init — for tests and smoke runs, its numbers mean nothing
    and the records say so)."""
    from pyratok.model import PyraTok

    if overrides:
        raise TypeError(f"{name}: unknown option(s) {sorted(overrides)}; valid: checkpoint, ablation, "
                        "features_from, init, seed, origin")
    if init not in ("trained", "random"):
        raise ValueError(f"{name}: init must be 'trained' or 'random', got {init!r}")
    if origin not in WEIGHT_ORIGINS:
        raise ValueError(f"{name}: origin must be one of {WEIGHT_ORIGINS}, got {origin!r}")
    if ablation is not None and ablation not in ABLATIONS:
        raise ValueError(f"{name}: unknown ablation {ablation!r}; valid: {sorted(ABLATIONS)}")
    if init == "random" and not checkpoint:
        model, ck = random_model(ABLATIONS.get(ablation, {}) if ablation else {}, seed, "ablation")
        return PyraTokTokenizer(model, ck, name, features_from,
                                config={"ablation": ablation, "init": "random", "seed": seed})
    if not checkpoint:
        hint = ("'pyratok-tiny' and its ablations are trained by the benchmarks layer "
                "(benchmarks.provisioning.provide supplies the checkpoint)" if name != "pyratok" else
                "'pyratok-tiny' is the one trained here")
        raise ValueError(f"tokenizer {name!r} needs checkpoint=DIR (a PyraTok save_pretrained folder) or "
                         f"init='random'; {hint}")
    d = Path(checkpoint)
    model = PyraTok.from_pretrained(d)
    # trained-here configs name the variant (the folder is a cache detail); a user's checkpoint names its folder
    config = {"ablation": ablation} if origin == "trained-here" else {"checkpoint": str(d)}
    return PyraTokTokenizer(model, checkpoint_for(d, origin), name, features_from, config=config)
