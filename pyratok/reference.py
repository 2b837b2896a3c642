"""The frozen reference encoder E_n that anchors the LoRA-adapted encoder (L_drift, §3.2.3) and scores stage 3's
frame-level retention (App. D) — one configuration, used by both.

``ReferenceConfig.kind``:

* ``"vae"`` (default here; the reference every table of this repository uses unless it says otherwise): the
  un-adapted VAE encoder, i.e. the same encoder with its LoRA switched off.
  - drift: ``KL(N(mu_a, sigma_a^2) || N(mu_r, sigma_r^2))`` between the adapted and the reference latent posteriors,
    closed form for diagonal Gaussians, mean per latent element (the paper's ``D_KL(E_n(X~) || E_n(X~))`` taken
    literally: both sides are Gaussians).
  - retention: ``1 - cos(mu_r(x'), mu_r(x))`` of the reference's posterior means at every latent position
    (channel vectors), averaged; the gradient reaches the reconstruction x' through the frozen encoder.
* ``"hf"``: a Hugging Face vision encoder from a local directory in the DINOv2 / DINOv3 layout (``config.json`` +
  ``model.safetensors``, loaded with ``transformers.AutoModel``; App. D: "En(.) refers to the frozen DINOv3 encoder").
  Frames are resized to ``image_size`` and normalised with the ImageNet statistics DINO was trained with; features
  are the last hidden state's patch tokens (CLS and register tokens dropped), a (H_p, W_p) grid of D-vectors.
  - drift: DINO features are not a distribution, so a KL has nothing to act on. Following what App. D says the
    reference is for ("stable, high-quality visual features that anchor adaptation"), the term is a feature
    alignment: the adapted posterior mean mu_a (B, C, T', H', W') goes through a learned linear projection
    C -> D (``drift_projection``, trained with the LoRA, saved with the model) and is compared with the reference's
    patch features of the same input, ``1 - cos`` per latent position, averaged. Reference features are averaged
    over the frames of each latent time step (the causal VAE's step 0 is frame 0, step t > 0 frames 4t-3 .. 4t)
    and resized (area) from the patch grid to the latent grid.
  - retention: ``1 - cos`` between the reference's patch features of each reconstructed frame and of the original
    frame, averaged over patches and frames (gradient to the reconstruction only).

The reference's own weights are never trained and never saved with PyraTok (they are read from ``path``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config_utils import ConfigError

__all__ = ["ReferenceConfig", "DriftReference", "VAEReference", "HFVisionReference", "build_reference",
           "load_vision_encoder"]

KINDS = ("vae", "hf")
HF_WEIGHTS = "model.safetensors"


@dataclass
class ReferenceConfig:
    """kind: "vae" (un-adapted VAE encoder, default) | "hf" (local DINOv2/DINOv3 directory at ``path``);
    image_size: frame side fed to an "hf" encoder (a multiple of its patch size; DINO's native 224)."""

    kind: str = "vae"
    path: str | None = None
    image_size: int = 224

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"reference.kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.kind == "hf" and not self.path:
            raise ConfigError("reference.kind='hf' needs reference.path: a local DINOv2/DINOv3 directory "
                              "(config.json + model.safetensors)")
        if self.image_size < 1:
            raise ConfigError(f"reference.image_size must be >= 1, got {self.image_size}")

    @property
    def label(self) -> str:
        """What tables print for this reference."""
        return "un-adapted VAE encoder" if self.kind == "vae" else f"frozen vision encoder ({Path(self.path).name})"


def load_vision_encoder(path: str | Path) -> nn.Module:
    """Frozen ``AutoModel`` from a local DINOv2/DINOv3-layout directory; errors name the file and the problem."""
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"reference encoder directory not found: {p} (reference.path)")
    cfg_file = p / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{cfg_file}: missing; a reference encoder directory needs config.json and {HF_WEIGHTS}")
    if not (p / HF_WEIGHTS).is_file():
        raise FileNotFoundError(f"{p / HF_WEIGHTS}: missing; a reference encoder directory needs config.json and "
                                f"{HF_WEIGHTS} (what save_pretrained writes)")
    try:
        cfg = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{cfg_file}: invalid JSON: {err}") from err
    missing = [k for k in ("patch_size", "hidden_size") if k not in cfg]
    if missing:
        raise ValueError(f"{cfg_file}: not a ViT vision encoder (no {missing}; model_type={cfg.get('model_type')!r}); "
                         "expected a DINOv2/DINOv3 config")
    from transformers import AutoModel

    try:
        net = AutoModel.from_pretrained(str(p), local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise OSError(f"{p}: could not load the reference encoder with transformers.AutoModel: {err}") from err
    return net.eval().requires_grad_(False)


class DriftReference(nn.Module):
    """Interface: ``drift(video_in, posterior, backbone)`` and ``frame_retention(recon, video, backbone)``, scalars."""

    config: ReferenceConfig

    def drift(self, video_in: Tensor, posterior, backbone) -> Tensor:
        raise NotImplementedError

    def frame_retention(self, recon: Tensor, video: Tensor, backbone) -> Tensor:
        raise NotImplementedError


class VAEReference(DriftReference):
    """The un-adapted VAE encoder as reference (``backbone`` with its LoRA off; see module docstring)."""

    def __init__(self, config: ReferenceConfig):
        super().__init__()
        self.config = config

    def drift(self, video_in: Tensor, posterior, backbone) -> Tensor:
        """video_in (B, 3, T, H, W) in [-1, 1] (what the adapted encoder saw); posterior: its DiagonalGaussian."""
        from .losses import gaussian_kl

        ref = backbone.encode_reference(video_in)  # no gradient: a fixed target
        return gaussian_kl(posterior.mean, posterior.logvar, ref.mean, ref.logvar)

    def frame_retention(self, recon: Tensor, video: Tensor, backbone) -> Tensor:
        with torch.no_grad():
            target = backbone.encode_reference(video).mean
        with backbone.lora_disabled():
            got = backbone.encode(recon).mean
        return (1 - F.cosine_similarity(got.float(), target.float(), dim=1)).mean()


class HFVisionReference(DriftReference):
    """A frozen DINOv2/DINOv3 encoder as reference; ``drift_projection`` (latent C -> D) is the learned part."""

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, config: ReferenceConfig, latent_channels: int):
        super().__init__()
        self.config = config
        self.net = load_vision_encoder(config.path)
        c = self.net.config
        self.patch = int(c.patch_size)
        if config.image_size % self.patch:
            raise ConfigError(f"reference.image_size={config.image_size} is not a multiple of the encoder's patch "
                              f"size {self.patch} ({Path(config.path) / 'config.json'})")
        self.prefix_tokens = 1 + int(getattr(c, "num_register_tokens", 0) or 0)  # CLS + registers
        self.dim = int(c.hidden_size)
        self.drift_projection = nn.Linear(latent_channels, self.dim)
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()  # frozen: never dropout / drop-path
        return self

    def patch_features(self, video: Tensor) -> Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> (B, T, D, H_p, W_p) patch features (gradient flows to ``video``)."""
        b, _, t, _, _ = video.shape
        s = self.config.image_size
        x = video.transpose(1, 2).flatten(0, 1).float()
        x = F.interpolate((x + 1) / 2, size=(s, s), mode="bilinear", align_corners=False)
        h = self.net(pixel_values=(x - self.mean) / self.std).last_hidden_state[:, self.prefix_tokens:]
        g = s // self.patch
        if h.shape[1] != g * g:
            raise RuntimeError(f"reference encoder gave {h.shape[1]} patch tokens, expected {g}x{g}")
        return h.transpose(1, 2).reshape(b, t, self.dim, g, g)

    @staticmethod
    def per_latent_step(feats: Tensor, steps: int) -> Tensor:
        """(B, T, D, h, w) per frame -> (B, T', D, h, w): step 0 = frame 0, step k = mean of frames 4k-3 .. 4k."""
        t = feats.shape[1]
        if t != 1 + 4 * (steps - 1):
            raise ValueError(f"{t} frames do not match {steps} latent steps of a 4x causal VAE")
        out = [feats[:, :1]] + [feats[:, 4 * k - 3:4 * k + 1].mean(1, keepdim=True) for k in range(1, steps)]
        return torch.cat(out, dim=1)

    def drift(self, video_in: Tensor, posterior, backbone=None) -> Tensor:
        mu = posterior.mean.float()  # (B, C, T', H', W')
        b, _, tl, hl, wl = mu.shape
        with torch.no_grad():
            ref = self.per_latent_step(self.patch_features(video_in), tl)  # (B, T', D, h, w)
            ref = F.adaptive_avg_pool2d(ref.flatten(0, 1), (hl, wl)).view(b, tl, self.dim, hl, wl)
        pred = self.drift_projection(mu.permute(0, 2, 3, 4, 1))  # (B, T', H', W', D)
        return (1 - F.cosine_similarity(pred, ref.permute(0, 1, 3, 4, 2), dim=-1)).mean()

    def frame_retention(self, recon: Tensor, video: Tensor, backbone=None) -> Tensor:
        with torch.no_grad():
            target = self.patch_features(video)
        return (1 - F.cosine_similarity(self.patch_features(recon), target, dim=2)).mean()


def build_reference(config: ReferenceConfig, latent_channels: int) -> DriftReference:
    if config.kind == "vae":
        return VAEReference(config)
    return HFVisionReference(config, latent_channels)
