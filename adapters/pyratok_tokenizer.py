"""PyraTok behind the :class:`~adapters.base.Tokenizer` interface, plus the recipe that trains the tiny one here.

``pyratok:checkpoint=DIR`` loads any ``save_pretrained`` directory. ``pyratok-tiny`` (the embedded default) is
trained here on first use with the CI gate's recipe — stage 0 (the tiny Wan-architecture VAE, shared by every
variant as the frozen Wan 2.2 VAE is in the paper), then stages 1 and 2 of ``TrainConfig.tiny()`` with stage 2
shortened as in the gate — and cached (:mod:`adapters.trained_here`). The ablation variants (Tables 6 and 10) and
the single-scale quantizer baselines (Table 9, :mod:`adapters.quantizer_baselines`) are the same recipe with model
overrides, so they share the VAE, the data and the budget.

Zero-shot hooks: :meth:`PyraTokTokenizer.features` returns level ``l``'s continuous pre-quantization features
``z`` (``(B, K, T', H', W')``, the inputs of the per-bit logits) and :meth:`embed_text` the text mapped into the
same K-dimensional code space by ``text_to_bits`` (the projection trained by the text-alignment terms of Eq. 2).
Cosine similarity between the two is the zero-shot score. Quantized codes ``sign(z)`` are available with
``features_from="codes"``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import Tensor

from .base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer, sha256_of
from .trained_here import default_training_data, recipe_hash, trained_artifact

__all__ = ["PyraTokTokenizer", "build", "tiny_vae_dir", "train_tiny_variant", "ABLATIONS", "RECIPE_VERSION"]

RECIPE_VERSION = 1

# Table 6 (components) and Table 10 (loss terms) ablations as model overrides of the tiny config
ABLATIONS: dict[str, dict] = {
    "wo-lapq": {"lapq": {"mode": "single"}},
    "wo-text": {"lapq": {"text_guidance": False}},
    "wo-pyramid": {"lapq": {"feature_source": "deepest"}},
    "2-blocks": {"lapq": {"num_levels": 2}},
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


def _gate_config(data_root: Path):
    """The CI gate's training configuration (TrainConfig.tiny() with stage 2 shortened), on ``data_root``."""
    from benchmarks.ci_gate import gate_config

    return gate_config(data_root)


def tiny_vae_dir(log=print) -> Path:
    """The stage-0 tiny VAE (trained once, shared by every tiny PyraTok variant and quantizer baseline)."""
    from pyratok.train.pipeline import run_training

    data = default_training_data()
    cfg = _gate_config(data)
    recipe = {"recipe": "tiny-vae", "version": RECIPE_VERSION, "stage0": dataclasses.asdict(cfg.stage0),
              "data": cfg.data.to_dict() if hasattr(cfg.data, "to_dict") else dataclasses.asdict(cfg.data),
              "model": cfg.model, "seed": cfg.seed}

    def build(folder: Path):
        run_training(cfg, folder / "work", stages=[0], resume=True, progress=False)

    return trained_artifact("tiny-vae", recipe, build, log=log) / "work" / "stage0" / "final"


def train_tiny_variant(kind: str, model_overrides: dict, log=print) -> Path:
    """A tiny PyraTok variant (``model_overrides`` on the tiny config) trained with the gate's stage-1/2 budget on
    the shared stage-0 VAE. Returns the ``save_pretrained`` directory."""
    from pyratok.train.pipeline import run_training

    vae = tiny_vae_dir(log)
    data = default_training_data()
    cfg = _gate_config(data)
    cfg.model_overrides = model_overrides
    losses_off = set(model_overrides.get("losses", {}).get("disabled", []))
    if "ar" in losses_off or model_overrides.get("lapq", {}).get("quantizer", {}).get("type", "lfq") != "lfq":
        cfg.model_overrides = {**model_overrides, "losses": {"disabled": sorted(losses_off | {"ar"})}}
    recipe = {"recipe": "pyratok-tiny", "version": RECIPE_VERSION, "vae": recipe_hash({"vae": str(vae)}),
              "model_overrides": cfg.model_overrides, "stage1": dataclasses.asdict(cfg.stage1),
              "stage2": dataclasses.asdict(cfg.stage2), "seed": cfg.seed}

    def build(folder: Path):
        run_training(cfg, folder / "work", stages=[1, 2], init=str(vae), resume=True, progress=False)

    return trained_artifact(kind, recipe, build, log=log) / "work" / "stage2" / "final"


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


def _checkpoint_for(directory: Path, origin: str) -> Checkpoint:
    files = [directory / "config.json", directory / "model.safetensors"]
    return Checkpoint(origin, str(directory), sha256_of(files))


def build(name: str = "pyratok", checkpoint: str | None = None, ablation: str | None = None,
          features_from: str = "z", init: str = "trained", seed: int = 0, log=print,
          **overrides) -> PyraTokTokenizer:
    """``checkpoint``: a ``save_pretrained`` directory (origin local-weights). Without it: the tiny model trained
    here (``ablation`` picks a Table 6/10 variant). ``init="random"``: the untrained tiny model (seeded; origin
    random-init — for tests and smoke runs, its numbers mean nothing and the records say so)."""
    from pyratok.model import PyraTok, PyraTokConfig

    if overrides:
        raise TypeError(f"{name}: unknown option(s) {sorted(overrides)}; valid: checkpoint, ablation, "
                        "features_from, init, seed")
    if init not in ("trained", "random"):
        raise ValueError(f"{name}: init must be 'trained' or 'random', got {init!r}")
    if init == "random" and not checkpoint:
        from pyratok.config_utils import from_dict
        from pyratok.train.config import _merge

        cfg = from_dict(PyraTokConfig, _merge(PyraTokConfig.tiny().to_dict(), ABLATIONS.get(ablation, {}) if ablation
                                              else {}, "ablation"))
        torch.manual_seed(seed)
        model = PyraTok(cfg)
        digest = recipe_hash({"random-init": cfg.to_dict(), "seed": seed})
        return PyraTokTokenizer(model, Checkpoint("random-init", None, digest, f"seed {seed}"), name, features_from,
                                config={"ablation": ablation, "init": "random", "seed": seed})
    if checkpoint:
        d = Path(checkpoint)
        model = PyraTok.from_pretrained(d)
        return PyraTokTokenizer(model, _checkpoint_for(d, "local-weights"), name, features_from,
                                config={"checkpoint": str(d)})
    if name == "pyratok":
        raise ValueError("tokenizer 'pyratok' needs checkpoint=DIR (a PyraTok save_pretrained folder); "
                         "'pyratok-tiny' is the one trained here")
    if ablation is not None and ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; valid: {sorted(ABLATIONS)}")
    over = ABLATIONS.get(ablation, {}) if ablation else {}
    d = train_tiny_variant(f"pyratok-tiny-{ablation}" if ablation else "pyratok-tiny", over, log=log)
    model = PyraTok.from_pretrained(d)
    return PyraTokTokenizer(model, _checkpoint_for(d, "trained-here"), name, features_from,
                            config={"ablation": ablation})

