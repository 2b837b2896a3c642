"""Wan VAE backbone: diffusers ``AutoencoderKLWan`` exposing the encoder pyramid F(1..L), with encoder LoRA.

PyraTok (paper §3.2.3, App. D) keeps a pretrained Wan 2.2 video VAE frozen, inserts LoRA (rank 16, alpha 32) into
all encoder blocks, and quantizes the encoder's per-stage features with LaPQ. This module gives one code path for

* the **paper** backbone: the Wan 2.2 VAE (z_dim 48, 2x2 patchify, base_dim 160, decoder_base_dim 256, residual
  down/up blocks; 4x16x16 compression), loaded from a local diffusers-format directory — never downloaded;
* **Wan 2.1** (z_dim 16, base_dim 96, flat ``encoder.down_blocks``; 4x8x8 compression), also local only;
* a **tiny** Wan-2.2-architecture config that runs on a laptop CPU and is trained here (random init).

Pyramid. F(l) is the output of encoder stage l, *after* that stage's downsampling:

* Wan 2.2: the four ``WanResidualDownBlock`` s of ``encoder.down_blocks``;
* Wan 2.1: ``encoder.down_blocks`` is a flat list; a stage ends at each ``WanResample`` and at the last block
  (indices 2, 5, 8, 10 for the released config).

diffusers encodes causally in time chunks (1 frame, then 4 frames at a time) with a feature cache, so each stage
module runs once per chunk; forward hooks collect every chunk's output and concatenate along time. The result
equals a one-shot causal pass over the whole clip (checked in tests/test_backbone.py).

Units. The posterior is in the VAE's **raw** latent units — what ``AutoencoderKLWan.decode`` consumes.
diffusers' ``latents_mean`` / ``latents_std`` (per-channel statistics used by Wan's diffusion pipelines) are *not*
applied; :meth:`WanBackbone.normalize_latent` / :meth:`WanBackbone.denormalize_latent` convert when needed. The
drift KL is the same in either unit: KL between two Gaussians is invariant to an invertible affine map applied to
both. The tiny config uses mean 0 / std 1 (identity), since it has no pretrained statistics.

Decoder. App. D says both that the decoder is "randomly initialized" and that encoder and decoder "are kept
frozen"; a frozen random decoder cannot reconstruct, so the default (``train_decoder=False``) reads it as §3.2.3
does: the pretrained decoder, frozen. ``train_decoder=True`` makes decoder and ``post_quant_conv`` trainable (e.g.
for the tiny model trained here). ``decode`` is diffusers' decode, whose output is clamped to [-1, 1].
"""
from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
import torch.nn as nn
from diffusers import AutoencoderKLWan
from diffusers.models.autoencoders.autoencoder_kl_wan import WanResample, WanResidualDownBlock

from .lora import adapters_disabled, inject_encoder_lora, lora_layers

__all__ = [
    "WanBackboneConfig",
    "DiagonalGaussian",
    "BackbonePyramid",
    "WanBackbone",
    "stage_end_indices",
    "stage_strides_for",
    "latent_stride_for",
    "wan22_vae_config",
    "wan21_vae_config",
    "tiny_vae_config",
    "tiny_wan21_vae_config",
]

VARIANTS = ("wan2.1", "wan2.2")
VAE_CONFIG_NAME = "config.json"
VAE_WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
VAE_WEIGHTS_INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"
# diffusers' _encode runs the encoder on chunks of 1, 4, 4, ... frames (hard-coded).
ENCODER_CHUNK_FRAMES = 4

# Per-channel latent statistics of the released Wan 2.2 VAE (Wan-AI/Wan2.2-TI2V-5B-Diffusers, vae/config.json).
WAN22_LATENTS_MEAN = [
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557,
    -0.1382, 0.0542, 0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825,
    -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230,
    -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
]  # fmt: skip
WAN22_LATENTS_STD = [
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013,
    0.8158, 1.0344, 0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978,
    0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093,
    0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
    0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
]  # fmt: skip
# Wan 2.1 VAE (Wan-AI/Wan2.1-T2V-*-Diffusers, vae/config.json; also diffusers' AutoencoderKLWan defaults).
WAN21_LATENTS_MEAN = [
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
]  # fmt: skip
WAN21_LATENTS_STD = [
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
]  # fmt: skip


def wan22_vae_config() -> dict:
    """AutoencoderKLWan kwargs of the released Wan 2.2 VAE (the paper's backbone, App. D)."""
    return dict(
        base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
        temperal_downsample=[False, True, True], dropout=0.0, is_residual=True, in_channels=12, out_channels=12,
        patch_size=2, scale_factor_temporal=4, scale_factor_spatial=16,
        latents_mean=list(WAN22_LATENTS_MEAN), latents_std=list(WAN22_LATENTS_STD),
    )  # fmt: skip


def wan21_vae_config() -> dict:
    """AutoencoderKLWan kwargs of the released Wan 2.1 VAE."""
    return dict(
        base_dim=96, decoder_base_dim=None, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
        temperal_downsample=[False, True, True], dropout=0.0, is_residual=False, in_channels=3, out_channels=3,
        patch_size=None, scale_factor_temporal=4, scale_factor_spatial=8,
        latents_mean=list(WAN21_LATENTS_MEAN), latents_std=list(WAN21_LATENTS_STD),
    )  # fmt: skip


def tiny_vae_config() -> dict:
    """Wan 2.2 architecture (patchify 2, residual blocks, 4x16x16) at tiny widths: base 8, 1 res block per stage,
    z_dim 48 (Wan 2.2's own latent width: with 16 channels a 4x16x16x3 block is 16 numbers, and even a PCA code of
    16 components reaches only ~20.7 dB on the synthetic clips, 48 components ~22.9 dB). ~0.8 M parameters;
    encode+decode of a (1, 3, 17, 64, 64) clip takes a few tenths of a second on one CPU thread. Identity latent
    statistics (no pretrained statistics exist). The trained weights ship with the package
    (:mod:`pyratok.checkpoints`, ``tiny-wan-vae``)."""
    z_dim = 48
    return dict(
        base_dim=8, decoder_base_dim=8, z_dim=z_dim, dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[],
        temperal_downsample=[False, True, True], dropout=0.0, is_residual=True, in_channels=12, out_channels=12,
        patch_size=2, scale_factor_temporal=4, scale_factor_spatial=16,
        latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim,
    )  # fmt: skip


def tiny_wan21_vae_config() -> dict:
    """Wan 2.1 architecture (flat down_blocks, no patchify, 4x8x8) at tiny widths, for tests of the 2.1 path."""
    z_dim = 8
    return dict(
        base_dim=8, decoder_base_dim=None, z_dim=z_dim, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
        temperal_downsample=[False, True, True], dropout=0.0, is_residual=False, in_channels=3, out_channels=3,
        patch_size=None, scale_factor_temporal=4, scale_factor_spatial=8,
        latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim,
    )  # fmt: skip


def _accepted_vae_keys() -> set[str]:
    return set(inspect.signature(AutoencoderKLWan.__init__).parameters) - {"self"}


def _full_vae_config(vae_config: dict) -> dict:
    """``vae_config`` completed with AutoencoderKLWan's defaults."""
    params = inspect.signature(AutoencoderKLWan.__init__).parameters
    full = {k: p.default for k, p in params.items() if k != "self"}
    full.update(vae_config)
    return full


def stage_strides_for(vae_config: dict) -> list[tuple[int, int]]:
    """(temporal, spatial) downsampling of each F(l) relative to the input video.

    Stage i < L-1 ends with a 2x spatial downsampling (and 2x temporal if ``temperal_downsample[i]``); the last
    stage does not downsample; the 2x2 patchify of Wan 2.2 multiplies the spatial stride by ``patch_size``."""
    cfg = _full_vae_config(vae_config)
    num_stages = len(cfg["dim_mult"])
    patch = cfg["patch_size"] or 1
    strides = []
    for i in range(num_stages):
        n_down = min(i + 1, num_stages - 1)
        strides.append((2 ** sum(bool(t) for t in cfg["temperal_downsample"][:n_down]), patch * 2**n_down))
    return strides


def latent_stride_for(vae_config: dict) -> tuple[int, int]:
    """(temporal, spatial) compression of the latent: (4, 16) for Wan 2.2, (4, 8) for Wan 2.1."""
    return stage_strides_for(vae_config)[-1]


def stage_end_indices(encoder: nn.Module, variant: str) -> list[int]:
    """Indices in ``encoder.down_blocks`` whose outputs are F(1..L).

    Wan 2.2: every block (each ``WanResidualDownBlock`` is one stage). Wan 2.1: each ``WanResample`` and the last
    block (2, 5, 8, 10 for the released config)."""
    blocks = list(encoder.down_blocks)
    num_stages = len(encoder.dim_mult)
    if variant == "wan2.2":
        if not all(isinstance(b, WanResidualDownBlock) for b in blocks):
            raise ValueError("variant 'wan2.2' expects encoder.down_blocks of WanResidualDownBlock (is_residual=True)")
        ends = list(range(len(blocks)))
    elif variant == "wan2.1":
        if any(isinstance(b, WanResidualDownBlock) for b in blocks):
            raise ValueError("variant 'wan2.1' expects a flat encoder.down_blocks list (is_residual=False)")
        ends = [i for i, b in enumerate(blocks) if isinstance(b, WanResample)] + [len(blocks) - 1]
    else:
        raise ValueError(f"unknown Wan variant {variant!r}; valid: {', '.join(VARIANTS)}")
    if len(ends) != num_stages:
        raise ValueError(f"found {len(ends)} encoder stages, expected {num_stages} (len(dim_mult))")
    return ends


@dataclass
class WanBackboneConfig:
    """Backbone configuration. Defaults are the paper's (App. D): Wan 2.2 VAE, LoRA rank 16 / alpha 32 on the
    encoder, frozen decoder.

    ``variant`` names the architecture family ("wan2.1" | "wan2.2") and decides how stages are found.
    ``vae_config``: kwargs for ``AutoencoderKLWan``; with ``pretrained_path`` set, the directory's config.json must
    agree with it (use :meth:`WanBackbone.from_pretrained` to take the directory's config as is).
    ``pretrained_path``: local diffusers-format directory (config.json + diffusion_pytorch_model.safetensors, or a
    pipeline root with a ``vae/`` subfolder); nothing is ever downloaded. None = random initialisation.
    ``lora_dropout``: not given by the paper; 0.
    """

    variant: str = "wan2.2"
    vae_config: dict = field(default_factory=wan22_vae_config)
    pretrained_path: str | None = None
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora: bool = True
    train_decoder: bool = False

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown Wan variant {self.variant!r}; valid: {', '.join(VARIANTS)}")
        unknown = set(self.vae_config) - _accepted_vae_keys()
        if unknown:
            raise ValueError(
                f"unknown AutoencoderKLWan config key(s) {sorted(unknown)}; valid: {sorted(_accepted_vae_keys())}"
            )
        if self.lora and (self.lora_rank <= 0 or self.lora_alpha <= 0):
            raise ValueError(f"lora_rank and lora_alpha must be positive, got {self.lora_rank}, {self.lora_alpha}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        cfg = _full_vae_config(self.vae_config)
        if bool(cfg["is_residual"]) != (self.variant == "wan2.2"):
            raise ValueError(
                f"variant {self.variant!r} needs is_residual={self.variant == 'wan2.2'} in vae_config "
                f"(Wan 2.2 uses residual down blocks, Wan 2.1 a flat list), got {cfg['is_residual']}"
            )
        for key in ("latents_mean", "latents_std"):
            if len(cfg[key]) != cfg["z_dim"]:
                raise ValueError(f"vae_config[{key!r}] has {len(cfg[key])} values, expected z_dim={cfg['z_dim']}")
        patch = cfg["patch_size"] or 1
        for key in ("in_channels", "out_channels"):
            if cfg[key] != 3 * patch * patch:
                raise ValueError(
                    f"vae_config[{key!r}]={cfg[key]} but RGB video patchified by {patch}x{patch} has "
                    f"{3 * patch * patch} channels"
                )
        if len(cfg["temperal_downsample"]) != len(cfg["dim_mult"]) - 1:
            raise ValueError("vae_config['temperal_downsample'] needs len(dim_mult) - 1 entries")
        t_stride, s_stride = latent_stride_for(cfg)
        if ENCODER_CHUNK_FRAMES % t_stride:
            raise ValueError(
                f"temporal compression {t_stride} does not divide diffusers' {ENCODER_CHUNK_FRAMES}-frame encoder chunks"
            )
        if (cfg["scale_factor_temporal"], cfg["scale_factor_spatial"]) != (t_stride, s_stride):
            raise ValueError(
                f"vae_config scale_factor_temporal/spatial = ({cfg['scale_factor_temporal']}, "
                f"{cfg['scale_factor_spatial']}) but the architecture compresses by ({t_stride}, {s_stride})"
            )

    @classmethod
    def tiny(cls, **overrides) -> WanBackboneConfig:
        """Embedded default: Wan 2.2 architecture at tiny widths (:func:`tiny_vae_config`), random init. LoRA keeps
        the paper's rank 16 / alpha 32 (on layers this narrow it spans the full weight space)."""
        return cls(variant="wan2.2", vae_config=tiny_vae_config(), **overrides)

    @classmethod
    def tiny_wan21(cls, **overrides) -> WanBackboneConfig:
        """Wan 2.1 architecture at tiny widths (:func:`tiny_wan21_vae_config`)."""
        return cls(variant="wan2.1", vae_config=tiny_wan21_vae_config(), **overrides)

    @classmethod
    def paper(cls, pretrained_path: str | None = None, **overrides) -> WanBackboneConfig:
        """The paper's backbone: the real Wan 2.2 VAE config (random weights when ``pretrained_path`` is None)."""
        return cls(variant="wan2.2", vae_config=wan22_vae_config(), pretrained_path=pretrained_path, **overrides)

    @classmethod
    def wan21(cls, pretrained_path: str | None = None, **overrides) -> WanBackboneConfig:
        """The Wan 2.1 VAE (not used by the paper; for users of Wan 2.1 and for comparisons)."""
        return cls(variant="wan2.1", vae_config=wan21_vae_config(), pretrained_path=pretrained_path, **overrides)


@dataclass
class DiagonalGaussian:
    """Diagonal Gaussian posterior. ``mean``, ``logvar``: (B, z_dim, T', H', W'), raw VAE latent units; ``logvar``
    clamped to [-30, 20] as diffusers does."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    @property
    def var(self) -> torch.Tensor:
        return torch.exp(self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised sample mean + std * eps, eps ~ N(0, I) drawn with ``generator``."""
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self, other: DiagonalGaussian) -> torch.Tensor:
        """Closed-form KL(self || other), summed over all non-batch dims -> (B,), computed in float32:
        0.5 * sum(lv_o - lv_s + (var_s + (mu_s - mu_o)^2) / var_o - 1)."""
        if self.mean.shape != other.mean.shape:
            raise ValueError(f"KL needs equal shapes, got {tuple(self.mean.shape)} and {tuple(other.mean.shape)}")
        mu_s, lv_s = self.mean.float(), self.logvar.float()
        mu_o, lv_o = other.mean.float(), other.logvar.float()
        per_elem = 0.5 * (lv_o - lv_s + (torch.exp(lv_s) + (mu_s - mu_o) ** 2) * torch.exp(-lv_o) - 1.0)
        return per_elem.flatten(1).sum(dim=1)


@dataclass
class BackbonePyramid:
    """``features``: F(1..L), each (B, C_l, T_l, H_l, W_l), shallow (fine) -> deep (coarse), with
    T_l = 1 + (T - 1) // t_l, H_l = H // s_l (see :meth:`WanBackbone.stage_strides`).
    ``posterior``: latent posterior of the (LoRA-adapted) encoder, raw units."""

    features: list[torch.Tensor]
    posterior: DiagonalGaussian


def _resolve_vae_dir(path: str | Path) -> Path:
    """The directory holding config.json + weights: ``path`` itself or ``path/vae`` (pipeline root)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"Wan VAE directory not found: {root} (pretrained_path must be a local diffusers-format directory with "
            f"{VAE_CONFIG_NAME} and {VAE_WEIGHTS_NAME}; nothing is downloaded)"
        )
    if not root.is_dir():
        raise NotADirectoryError(f"Wan VAE pretrained_path must be a directory, got the file {root}")
    if not (root / VAE_CONFIG_NAME).is_file() and (root / "vae" / VAE_CONFIG_NAME).is_file():
        root = root / "vae"
    if not (root / VAE_CONFIG_NAME).is_file():
        raise FileNotFoundError(f"missing {root / VAE_CONFIG_NAME} (diffusers AutoencoderKLWan config)")
    if not ((root / VAE_WEIGHTS_NAME).is_file() or (root / VAE_WEIGHTS_INDEX_NAME).is_file()):
        present = sorted(p.name for p in root.iterdir())[:10]
        raise FileNotFoundError(
            f"missing VAE weights in {root}: expected {VAE_WEIGHTS_NAME} (or sharded {VAE_WEIGHTS_INDEX_NAME}); "
            f"found {present}"
        )
    return root


def _read_vae_dir_config(vae_dir: Path) -> dict:
    path = vae_dir / VAE_CONFIG_NAME
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    class_name = raw.get("_class_name", "AutoencoderKLWan")
    if class_name != "AutoencoderKLWan":
        raise ValueError(f"{path} describes a {class_name}, not an AutoencoderKLWan")
    return raw


def _canonical(value):
    return json.loads(json.dumps(value))


class WanBackbone(nn.Module):
    """Wan VAE with encoder LoRA and the encoder pyramid.

    Attributes: ``config``; ``vae`` (the diffusers ``AutoencoderKLWan``, LoRA injected in place);
    ``stage_channels`` (C_l of F(1..L)); ``latent_channels`` (z_dim); ``latent_stride`` ((4, 16) for Wan 2.2,
    (4, 8) for Wan 2.1); ``stage_indices`` (indices into ``vae.encoder.down_blocks`` of the stage outputs).
    All base VAE weights are frozen; see :meth:`trainable_parameters`.
    """

    def __init__(self, config: WanBackboneConfig):
        super().__init__()
        self.config = config
        self.vae = self._build_vae(config)
        self.vae.requires_grad_(False)
        vae_cfg = dict(self.vae.config)
        self.stage_indices = stage_end_indices(self.vae.encoder, config.variant)
        self.stage_channels = [vae_cfg["base_dim"] * m for m in vae_cfg["dim_mult"]]
        self.latent_channels = int(vae_cfg["z_dim"])
        self._stage_strides = stage_strides_for(vae_cfg)
        self.latent_stride = self._stage_strides[-1]
        self.lora_targets: list[str] = []
        if config.lora:
            self.lora_targets = inject_encoder_lora(
                self.vae, rank=config.lora_rank, alpha=config.lora_alpha, dropout=config.lora_dropout
            )
        if config.train_decoder:
            self.vae.decoder.requires_grad_(True)
            self.vae.post_quant_conv.requires_grad_(True)

    # ----------------------------------------------------------------------------------------------- construction
    @staticmethod
    def _build_vae(config: WanBackboneConfig) -> AutoencoderKLWan:
        if config.pretrained_path is None:
            return AutoencoderKLWan(**config.vae_config)
        vae_dir = _resolve_vae_dir(config.pretrained_path)
        _read_vae_dir_config(vae_dir)
        vae = AutoencoderKLWan.from_pretrained(
            str(vae_dir), local_files_only=True, use_safetensors=True, torch_dtype=torch.float32
        )
        mismatched = {
            key: (value, vae.config.get(key))
            for key, value in config.vae_config.items()
            if _canonical(value) != _canonical(vae.config.get(key))
        }
        if mismatched:
            detail = "; ".join(f"{k}: config {v[0]!r} vs file {v[1]!r}" for k, v in sorted(mismatched.items()))
            raise ValueError(
                f"{vae_dir / VAE_CONFIG_NAME} does not match WanBackboneConfig.vae_config ({detail}); "
                "use WanBackbone.from_pretrained(path) to take the directory's config"
            )
        return vae

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> WanBackbone:
        """Load real Wan 2.1 / 2.2 weights from a local diffusers-format directory (``path`` or ``path/vae``),
        taking the architecture from its config.json; the variant is detected from ``is_residual``.
        ``overrides``: other :class:`WanBackboneConfig` fields (``lora_rank``, ``train_decoder``, ...)."""
        vae_dir = _resolve_vae_dir(path)
        raw = _read_vae_dir_config(vae_dir)
        vae_config = {k: v for k, v in raw.items() if k in _accepted_vae_keys()}
        variant = "wan2.2" if vae_config.get("is_residual", False) else "wan2.1"
        return cls(WanBackboneConfig(variant=variant, vae_config=vae_config, pretrained_path=str(path), **overrides))

    def save_vae(self, path: str | Path) -> Path:
        """Write the *base* VAE (LoRA excluded) as a diffusers directory: config.json +
        diffusion_pytorch_model.safetensors, loadable by ``AutoencoderKLWan.from_pretrained`` and
        :meth:`from_pretrained`. LoRA weights belong to the model checkpoint (this module's ``state_dict``)."""
        from safetensors.torch import save_file

        if any(layer.merged for layer in lora_layers(self.vae)):
            raise RuntimeError("LoRA adapters are merged into the base weights; unmerge them before save_vae")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        state = {}
        for key, tensor in self.vae.state_dict().items():
            if ".lora_" in key:
                continue
            state[key.replace(".base_layer.", ".")] = tensor.detach().contiguous().cpu()
        save_file(state, str(out / VAE_WEIGHTS_NAME), metadata={"format": "pt"})
        self.vae.save_config(str(out))
        return out

    # --------------------------------------------------------------------------------------------------- geometry
    @property
    def num_stages(self) -> int:
        return len(self.stage_channels)

    def stage_strides(self) -> list[tuple[int, int]]:
        """(temporal, spatial) downsampling of each F(l): T_l = 1 + (T - 1) // t, H_l = H // s, W_l = W // s."""
        return list(self._stage_strides)

    def _check_video(self, video: torch.Tensor) -> None:
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"video must be (B, 3, T, H, W) in [-1, 1], got shape {tuple(video.shape)}")
        t_stride, s_stride = self.latent_stride
        frames, height, width = video.shape[2:]
        if frames < 1 or (frames - 1) % ENCODER_CHUNK_FRAMES:
            raise ValueError(f"causal Wan VAE needs T = 1 + 4k frames, got T={frames}")
        if height % s_stride or width % s_stride:
            raise ValueError(f"H and W must be multiples of the spatial stride {s_stride}, got {height}x{width}")

    # ----------------------------------------------------------------------------------------------------- encode
    @contextmanager
    def _untiled(self) -> Iterator[None]:
        # Hooks concatenate per-chunk outputs along time; tiling or batch slicing would interleave other calls.
        saved = (self.vae.use_tiling, self.vae.use_slicing)
        self.vae.use_tiling, self.vae.use_slicing = False, False
        try:
            yield
        finally:
            self.vae.use_tiling, self.vae.use_slicing = saved

    def encode_pyramid(self, video: torch.Tensor) -> BackbonePyramid:
        """video (B, 3, T, H, W) in [-1, 1], T = 1 + 4k, H and W multiples of the latent spatial stride ->
        :class:`BackbonePyramid` (F(1..L) of the LoRA-adapted encoder and its posterior). Always untiled."""
        self._check_video(video)
        blocks = self.vae.encoder.down_blocks
        chunks: list[list[torch.Tensor]] = [[] for _ in self.stage_indices]

        def make_hook(level: int):
            def hook(_module, _args, output):
                chunks[level].append(output)

            return hook

        handles = [blocks[i].register_forward_hook(make_hook(l)) for l, i in enumerate(self.stage_indices)]
        try:
            with self._untiled():
                dist = self.vae.encode(video).latent_dist
        finally:
            for handle in handles:
                handle.remove()
        expected_calls = 1 + (video.shape[2] - 1) // ENCODER_CHUNK_FRAMES
        if any(len(c) != expected_calls for c in chunks):
            raise RuntimeError(
                f"stage hooks fired {[len(c) for c in chunks]} times, expected {expected_calls} (one per time chunk)"
            )
        features = [torch.cat(c, dim=2) for c in chunks]
        return BackbonePyramid(features=features, posterior=DiagonalGaussian(dist.mean, dist.logvar))

    def encode(self, video: torch.Tensor) -> DiagonalGaussian:
        """Posterior of the LoRA-adapted encoder (no pyramid)."""
        self._check_video(video)
        with self._untiled():
            dist = self.vae.encode(video).latent_dist
        return DiagonalGaussian(dist.mean, dist.logvar)

    @torch.no_grad()
    def encode_reference(self, video: torch.Tensor) -> DiagonalGaussian:
        """Posterior of the frozen encoder (LoRA disabled), without gradient: the fixed reference of the drift KL."""
        with self.lora_disabled():
            return self.encode(video)

    # ----------------------------------------------------------------------------------------------------- decode
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, z_dim, T', H', W') in raw units -> video (B, 3, 1 + 4(T'-1), s H', s W'), clamped to [-1, 1]
        by diffusers. Gradients reach ``latent`` (and the decoder when ``train_decoder``)."""
        if latent.ndim != 5 or latent.shape[1] != self.latent_channels:
            raise ValueError(
                f"latent must be (B, {self.latent_channels}, T', H', W'), got shape {tuple(latent.shape)}"
            )
        return self.vae.decode(latent).sample

    def _latent_stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, self.latent_channels, 1, 1, 1)
        mean = torch.tensor(self.vae.config.latents_mean, device=like.device, dtype=like.dtype).view(shape)
        std = torch.tensor(self.vae.config.latents_std, device=like.device, dtype=like.dtype).view(shape)
        return mean, std

    def normalize_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """Raw -> normalised units: (z - latents_mean) / latents_std (Wan's diffusion-pipeline convention)."""
        mean, std = self._latent_stats(latent)
        return (latent - mean) / std

    def denormalize_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """Normalised -> raw units (what :meth:`decode` takes)."""
        mean, std = self._latent_stats(latent)
        return latent * std + mean

    # ------------------------------------------------------------------------------------------------------- LoRA
    def lora_parameters(self) -> list[nn.Parameter]:
        """LoRA A / B weights of every adapted encoder layer (empty when ``config.lora`` is False)."""
        return [p for layer in lora_layers(self.vae) for n, p in layer.named_parameters() if n.startswith("lora_")]

    @contextmanager
    def lora_disabled(self) -> Iterator[None]:
        """Run the frozen base VAE inside the context; LoRA state and requires_grad flags are restored after."""
        with adapters_disabled(self.vae):
            yield

    def trainable_parameters(self) -> list[nn.Parameter]:
        """LoRA weights, plus decoder and post_quant_conv when ``config.train_decoder``."""
        params = self.lora_parameters()
        if self.config.train_decoder:
            params += list(self.vae.decoder.parameters()) + list(self.vae.post_quant_conv.parameters())
        return params

    def extra_repr(self) -> str:
        return (
            f"variant={self.config.variant}, stage_channels={self.stage_channels}, latent_channels="
            f"{self.latent_channels}, stage_strides={self._stage_strides}, lora_layers={len(self.lora_targets)}"
        )
