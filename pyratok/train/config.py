"""Trainer configuration: one dataclass per stage, paper defaults (App. D) and the tiny CPU defaults.

Paper, App. D (all stages): AdamW, initial learning rate 1e-5, cosine annealing, constant gradient accumulation;
30K / 60K / 180K steps for stages 1 / 2 / 3; batch 4 per GPU, reduced to 2 in stage 3; aspect ratios 1:1, 4:3, 3:2,
16:9, 2:1; 16+1 to 96+1 frames; 512^2 to 2048^2 pixels in stages 1-2 and 128^2 to 4096^2 in stage 3.

Not stated in the paper, and our choices:
* gradient accumulation 1 (its value is not given; only that it is constant);
* AdamW betas (0.9, 0.999) and weight decay 0.01 (PyTorch / common defaults), no warm-up, cosine to 0;
* gradient clipping at norm 1.0 (standard for VQ/LFQ tokenizers; guards against entropy-loss spikes);
* resolution levels 512, 768, 1024, 1536, 2048 (stage 3: 128 ... 4096) and frame counts 17, 33, ..., 97 — the
  ranges of App. D in the steps a bucketed loader can use; each batch draws one (see :mod:`pyratok.data.pairs`);
* frame stride 2 (WebVid/OpenVid are ~25-30 fps; 17 frames then span ~1.2 s).

Stage 0 is not in the paper: the paper starts from the pretrained Wan 2.2 VAE. The embedded tiny configuration
has no pretrained VAE, so stage 0 trains the tiny Wan-architecture VAE (all weights; L1 + (1 - SSIM) + a small KL
to N(0, I), the usual video-VAE recipe without the adversarial term) on the same data and then freezes it for
stages 1-3, exactly as the paper freezes Wan 2.2.

Configs load from JSON with strict keys (:func:`load_train_config`): an unknown key is a
:class:`~pyratok.config_utils.ConfigError` naming the key path and the valid keys.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..config_utils import ConfigError, from_dict, load_json, to_dict
from ..data.pairs import ASPECT_RATIOS

__all__ = ["DataConfig", "StageConfig", "Stage0Config", "TrainConfig", "load_train_config", "TRAIN_CONFIGS",
           "TINY_STAGE0_STEPS"]


@dataclass
class DataConfig:
    """Where the video-text pairs are and how they are cut into batches (paper App. D; see module doc)."""

    train_csv: str | None = None       # WebVid results_10M_train.csv / OpenVid-1M.csv / generic (path, caption)
    video_root: str | None = None      # root the CSV's video paths are relative to
    val_csv: str | None = None         # held-out pairs for validation (best checkpoint); None -> no validation
    val_video_root: str | None = None  # defaults to video_root
    format: str = "auto"               # "auto" | "webvid" | "openvid" | "generic"
    aspect_ratios: list = field(default_factory=lambda: list(ASPECT_RATIOS))   # App. D
    resolutions: list = field(default_factory=lambda: [512, 768, 1024, 1536, 2048])  # App. D stages 1-2
    frames: list = field(default_factory=lambda: [17, 33, 49, 65, 81, 97])  # App. D: 16+1 .. 96+1
    frame_stride: int = 2
    batch_size: int = 4                # App. D: per GPU
    num_workers: int = 4
    val_resolution: int = 512          # validation clips: centre crop, first aspect bucket of each video
    val_frames: int = 17
    val_batches: int = 8               # validation batches per evaluation

    def __post_init__(self):
        bad = [a for a in self.aspect_ratios if a not in ASPECT_RATIOS]
        if bad:
            raise ConfigError(f"data.aspect_ratios has unknown ratio(s) {bad}; valid: {list(ASPECT_RATIOS)}")
        bad = [t for t in list(self.frames) + [self.val_frames] if t < 1 or (t - 1) % 4]
        if bad:
            raise ConfigError(f"data.frames / data.val_frames must be 1 + 4k (causal VAE), got {bad}")
        if self.format not in ("auto", "webvid", "openvid", "generic"):
            raise ConfigError(f"data.format must be auto|webvid|openvid|generic, got {self.format!r}")


@dataclass
class StageConfig:
    """One training stage (App. D). ``None`` in a data override keeps :class:`DataConfig`'s value."""

    steps: int = 30_000                # App. D: 30K (stage 1), 60K (stage 2), 180K (stage 3) optimizer steps
    lr: float = 1e-5                   # App. D: initial learning rate 1e-5
    min_lr_ratio: float = 0.0          # cosine annealing to lr * min_lr_ratio
    warmup_steps: int = 0
    weight_decay: float = 0.01
    betas: tuple = (0.9, 0.999)
    grad_accum: int = 1                # App. D: constant across stages (value not stated)
    grad_clip: float = 1.0             # 0 -> off
    disabled_losses: list = field(default_factory=list)  # loss terms (pyratok.losses.TERMS) off in this stage
    batch_size: int | None = None      # per GPU; App. D stage 3: 2
    resolutions: list | None = None
    frames: list | None = None
    # frame-level retention (App. D stage 3), scored by the model's drift reference (model config "reference":
    # the un-adapted VAE by default, or a local DINOv2/DINOv3 directory); 0 -> off. Weight not stated in the paper;
    # stage 3 reuses lambda_drift = 0.6 (App. D)
    retention_weight: float = 0.0
    log_every: int = 1
    val_every: int = 1000
    ckpt_every: int = 1000
    keep_last: int = 3

    def __post_init__(self):
        from ..losses import TERMS

        bad = sorted(set(self.disabled_losses) - set(TERMS))
        if bad:
            raise ConfigError(f"disabled_losses has unknown term(s) {bad}; valid terms: {list(TERMS)}")
        if self.steps < 0 or self.grad_accum < 1 or self.lr <= 0:
            raise ConfigError(f"need steps >= 0, grad_accum >= 1, lr > 0; got {self.steps}, {self.grad_accum}, {self.lr}")
        self.betas = tuple(self.betas)


@dataclass
class Stage0Config(StageConfig):
    """Tiny-VAE pre-training (our stage, not the paper's; see module doc)."""

    steps: int = 0                     # paper: 0 — it starts from the pretrained Wan 2.2 VAE
    lr: float = 1e-4
    l1_weight: float = 1.0
    ssim_weight: float = 1.0
    kl_weight: float = 1e-6            # small KL to N(0, I), as in latent-diffusion VAEs
    init_logvar: float | None = -8.0   # initial posterior log-variance (quant_conv bias); None keeps the random init


@dataclass
class TrainConfig:
    """The whole three-stage (plus stage 0) schedule."""

    model: str = "paper"               # PyraTok config name ("tiny", "paper") or a JSON file
    model_overrides: dict = field(default_factory=dict)  # nested dict merged into the model config (strict keys)
    seed: int = 0
    precision: str = "auto"            # "auto": bf16 autocast on CUDA, fp32 on CPU | "fp32" | "bf16"
    threads: int = 0                   # torch CPU threads; 0 -> 1 when deterministic, else the default
    # bit-identical reruns: torch.use_deterministic_algorithms(True) and (CPU, threads = 0) one intra-op thread
    # for the duration of training; the data order is seeded already (BucketBatchSampler, per-sample generators)
    deterministic: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    stage0: Stage0Config = field(default_factory=Stage0Config)
    stage1: StageConfig = field(default_factory=lambda: StageConfig(steps=30_000, disabled_losses=["ar"]))
    stage2: StageConfig = field(default_factory=lambda: StageConfig(steps=60_000))
    stage3: StageConfig = field(default_factory=lambda: StageConfig(
        steps=180_000, batch_size=2, resolutions=[128, 256, 512, 1024, 2048, 4096], retention_weight=0.6))

    def __post_init__(self):
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto|fp32|bf16, got {self.precision!r}")

    def stage(self, n: int) -> StageConfig:
        if n not in (0, 1, 2, 3):
            raise ConfigError(f"unknown stage {n}; valid stages: 0, 1, 2, 3")
        return getattr(self, f"stage{n}")

    def stage_data(self, n: int) -> DataConfig:
        """The data config with stage ``n``'s batch size / resolution / frame overrides applied."""
        s = self.stage(n)
        over = {k: getattr(s, k) for k in ("batch_size", "resolutions", "frames") if getattr(s, k) is not None}
        return dataclasses.replace(self.data, **over)

    def model_config(self):
        """The PyraTok config: ``model`` (name or JSON) with ``model_overrides`` merged in, strict keys."""
        from ..model import PyraTokConfig, get_config

        base = get_config(self.model).to_dict()
        merged = _merge(base, self.model_overrides, "model_overrides")
        return from_dict(PyraTokConfig, merged)

    def to_dict(self) -> dict:
        return to_dict(self)

    # ------------------------------------------------------------------ named configurations
    @classmethod
    def paper(cls) -> "TrainConfig":
        """App. D: stages 1-3 on the paper's resolutions and frame counts; the Wan 2.2 VAE path is needed
        (``model_overrides={"backbone": {"pretrained_path": ...}}`` or a model JSON)."""
        return cls()

    @classmethod
    def tiny(cls) -> "TrainConfig":
        """CPU budget: 64x64 clips of 9 frames (the tiny VAE's 16x spatial stride gives a 4x4 latent grid), batch 2,
        larger learning rates than the paper's (the tiny VAE and LaPQ start from random init).

        Stage 0 (the tiny VAE, :func:`pyratok.backbones.wan.tiny_vae_config`) is the recipe of the VAE that ships
        with the package (:mod:`pyratok.checkpoints`, ``tiny-wan-vae``; its PROVENANCE.json has the command, data
        digest, log and measured quality): 6,000 steps at lr 1e-3 (AdamW, warm-up 20, cosine), the training set of
        ``benchmarks.provisioning.training_data.ensure_stage0_data`` (the synthetic train clips plus random crops of
        4 real sample clips, half the samples each), about 30 min on one free CPU thread. Why these values, measured
        while choosing them (CPU, seed 0): at lr 1e-4 the random-init VAE is still below a per-clip mean colour
        after 400 steps, and 3e-3 was worse than 1e-3 on real clips; after 1,500 steps at 1e-3 the gain per 300
        steps was still ~1 dB mid-schedule, so the budget is 4x that. Stages 1-3 start from the shipped VAE and
        take a few minutes."""
        return cls(
            model="tiny",
            threads=1,
            data=DataConfig(resolutions=[64], frames=[9], frame_stride=1, batch_size=2, num_workers=1,
                            val_resolution=64, val_frames=9, val_batches=4),
            stage0=Stage0Config(steps=TINY_STAGE0_STEPS, lr=1e-3, warmup_steps=20, val_every=1000, ckpt_every=1000),
            stage1=StageConfig(steps=200, lr=5e-4, warmup_steps=10, disabled_losses=["ar"], val_every=100,
                               ckpt_every=100),
            # L_AR gets a real budget: 300 steps (the random 2-layer LM starts at uniform, 16 ln 2 nats/token)
            stage2=StageConfig(steps=300, lr=3e-4, warmup_steps=10, val_every=150, ckpt_every=150),
            stage3=StageConfig(steps=20, lr=1e-4, batch_size=1, resolutions=[32, 64], val_every=20,
                               ckpt_every=20, retention_weight=0.6),
        )


TINY_STAGE0_STEPS = 6000

TRAIN_CONFIGS = {"tiny": TrainConfig.tiny, "paper": TrainConfig.paper}


def _merge(base: dict, over: dict, path: str) -> dict:
    """``over`` merged into ``base`` recursively. Unknown keys pass through: ``from_dict`` then rejects them with
    the section's valid keys (free-form dicts such as ``backbone.vae_config`` are checked by their owners)."""
    if not isinstance(over, dict):
        raise ConfigError(f"'{path}' must be a mapping, got {type(over).__name__}")
    out = dict(base)
    for k, v in over.items():
        b = base.get(k)
        out[k] = _merge(b, v, f"{path}.{k}") if isinstance(b, dict) and isinstance(v, dict) else v
    return out


def load_train_config(name_or_path: str | Path) -> TrainConfig:
    """``tiny`` | ``paper`` | a JSON file of :class:`TrainConfig` (strict keys; missing keys take the defaults of
    the named config given by its ``"base"`` key, or of :class:`TrainConfig` when absent)."""
    name = str(name_or_path)
    if name in TRAIN_CONFIGS:
        return TRAIN_CONFIGS[name]()
    p = Path(name)
    if not p.is_file():
        raise ConfigError(f"unknown train config {name!r}: not one of {sorted(TRAIN_CONFIGS)} and no such file")
    import json

    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}: invalid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a train config must be a JSON object")
    base = data.pop("base", None)
    try:
        if base is None:
            return from_dict(TrainConfig, data)
        if base not in TRAIN_CONFIGS:
            raise ConfigError(f"unknown base {base!r}; valid: {sorted(TRAIN_CONFIGS)}")
        merged = _merge(to_dict(TRAIN_CONFIGS[base]()), data, "config")
        return from_dict(TrainConfig, merged)
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from err
