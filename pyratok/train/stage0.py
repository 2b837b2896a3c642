"""Stage 0 (ours, tiny configuration only): pre-train the tiny Wan-architecture VAE, then freeze it.

The paper starts from the pretrained Wan 2.2 VAE and keeps it frozen (App. D). The embedded default has no
pretrained VAE, so stage 0 trains ``AutoencoderKLWan(**backbone.vae_config)`` — all its weights, from random init —
on the same video clips, and writes it as a diffusers directory (``config.json`` +
``diffusion_pytorch_model.safetensors``, the format of the real Wan VAE). Stage 1 loads it into the PyraTok backbone,
where it is frozen (LoRA on the encoder, decoder frozen), exactly the role Wan 2.2 plays in the paper.

Objective, per clip x (B, 3, T, H, W) in [-1, 1], z ~ q(z | x) (reparameterised), x' = D(z):

    L = w_l1 |x' - x|_1 (mean) + w_ssim (1 - SSIM(x', x)) + w_kl KL(q(z|x) || N(0, I))_sum / (3 T H W)

The posterior log-variance starts at ``init_logvar`` (-8) instead of ~0 (see :func:`build_stage0`).

The KL is summed over latent elements and divided by the number of input values: with w_kl = 1e-6 this is the
balance of the latent-diffusion autoencoder (per-pixel reconstruction summed, KL summed, weight 1e-6), rewritten
for a per-pixel-mean reconstruction loss. No adversarial or perceptual term (LPIPS weights are not available
offline; a GAN needs far more steps than the CPU budget).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ..image_quality import ssim, video_to_frames
from .config import Stage0Config
from .loop import StageSpec

__all__ = ["VAEObjective", "build_stage0", "VAE_WEIGHTS", "load_base_vae"]

VAE_WEIGHTS = "diffusion_pytorch_model.safetensors"


class VAEObjective(nn.Module):
    """forward(video (B, 3, T, H, W) in [-1, 1], texts ignored) -> (loss, logs). Logs: loss, l1, ssim (the loss
    term 1 - SSIM), kl (per input value), psnr (dB, of the sampled reconstruction)."""

    def __init__(self, vae: nn.Module, cfg: Stage0Config):
        super().__init__()
        self.vae = vae
        self.cfg = cfg

    def forward(self, video: Tensor, texts=None):
        posterior = self.vae.encode(video).latent_dist
        z = posterior.sample()
        recon = self.vae.decode(z).sample
        l1 = (recon - video).abs().mean()
        s = 1 - ssim((video_to_frames(recon).float() + 1) / 2, (video_to_frames(video).float() + 1) / 2, data_range=1.0)
        mean, logvar = posterior.mean.float(), posterior.logvar.float()
        kl_sum = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1).mean()
        kl = kl_sum / video[0].numel()
        loss = self.cfg.l1_weight * l1 + self.cfg.ssim_weight * s + self.cfg.kl_weight * kl
        with torch.no_grad():
            mse = ((recon.float() - video.float()) / 2).pow(2).flatten(1).mean(1)
            psnr = (-10 * torch.log10(mse.clamp_min(1e-12))).mean()
        return loss, {"loss": loss.detach(), "l1": l1.detach(), "ssim": s.detach(), "kl": kl.detach(),
                      "psnr": psnr}

    @torch.no_grad()
    def reconstruct(self, video: Tensor, texts=None) -> Tensor:
        """Deterministic reconstruction through the posterior mean, (B, 3, T, H, W) in [-1, 1]."""
        return self.vae.decode(self.vae.encode(video).latent_dist.mode()).sample


def build_stage0(vae_config: dict, cfg: Stage0Config, multiple: int) -> StageSpec:
    """Random-init tiny VAE, all weights trainable. Checkpoints and ``final/`` are diffusers directories."""
    from diffusers import AutoencoderKLWan
    from safetensors.torch import load_file

    vae = AutoencoderKLWan(**vae_config)
    if cfg.init_logvar is not None:
        # quant_conv's second half of output channels is the posterior log-variance. At random init it is ~0
        # (posterior std ~1), larger than the posterior means (~0.2-0.6): the sampled latent is mostly noise, the
        # decoder learns to ignore it, and with a small KL weight nothing pulls the log-variance down again — the
        # tiny VAE then stalls below a mean-colour predictor (measured: 12.6 vs 19.2 dB on flat colours after 300
        # steps). Starting nearly deterministic (std e^-4) avoids that; the KL term is still there to raise it.
        with torch.no_grad():
            vae.quant_conv.bias[vae.config.z_dim:] = cfg.init_logvar
    vae.requires_grad_(True)
    objective = VAEObjective(vae, cfg)

    def write(d: Path):
        vae.save_pretrained(str(d), safe_serialization=True)

    def load(d: Path):
        vae.load_state_dict(load_file(str(Path(d) / VAE_WEIGHTS)), strict=True)

    return StageSpec(name="stage0", objective=objective, params=list(vae.parameters()), write_weights=write,
                     load_weights=load, reconstruct=objective.reconstruct, multiple=multiple)


def load_base_vae(backbone: nn.Module, vae_dir: str | Path) -> None:
    """Load a stage-0 (or any diffusers-format Wan) VAE directory into ``backbone.vae`` whose encoder carries LoRA:
    base weights go to ``...base_layer.*`` of adapted layers; LoRA weights are left as they are (B = 0)."""
    from safetensors.torch import load_file

    path = Path(vae_dir) / VAE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"no VAE weights at {path} (expected the diffusers directory written by stage 0)")
    src = load_file(str(path))
    target = backbone.vae.state_dict()
    mapped, missing = {}, []
    for key in target:
        if ".lora_" in key:
            continue
        s = key.replace(".base_layer.", ".")
        if s in src:
            mapped[key] = src[s]
        else:
            missing.append(key)
    unused = sorted(set(src) - {k.replace(".base_layer.", ".") for k in mapped})
    if missing or unused:
        raise ValueError(f"{path}: VAE weights do not match the backbone (missing {missing[:5]}, unexpected {unused[:5]})")
    backbone.vae.load_state_dict(mapped, strict=False)
