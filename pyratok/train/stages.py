"""Stages 1-3 of App. D as :class:`~pyratok.train.loop.StageSpec` s for the shared loop.

* Stage 1 — self-supervised language-aligned pre-training: every PyraTok loss except L_AR (recon, the five
  codebook terms with the local text alignment, drift). The AR alignment LM exists but is frozen (its parameters
  get no gradient without L_AR).
* Stage 2 — text-visual token alignment: adds L_AR (λ_AR = 1.5), same resolutions and frames as stage 1.
* Stage 3 — multi-resolution, multi-aspect fine-tuning, batch 4 -> 2 per GPU, all losses plus the frame-level
  retention term (weight ``retention_weight``), scored by the model's drift reference (``PyraTokConfig.reference``:
  the un-adapted VAE by default, DINOv2/DINOv3 from a local directory as in the paper; :mod:`pyratok.reference`).

Trainable in every stage: encoder LoRA, LaPQ, the drift reference's projection when it is a vision encoder (and the
AR LM from stage 2). ``text_to_bits`` is a fixed map (no parameters). The VAE base weights
and the text encoder stay frozen (App. D). Each stage starts from the previous stage's ``final/`` weights (stage 1:
the stage-0 VAE, or the pretrained Wan VAE of ``backbone.pretrained_path``).

A stage switches losses by replacing ``model.config.losses`` for its duration; checkpoints are written with the
model's own loss configuration, so ``from_pretrained`` of any checkpoint builds the same model (AR module included).
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from ..model import PyraTok, PyraTokConfig
from .config import StageConfig
from .loop import StageSpec

__all__ = ["PyraTokObjective", "build_pyratok_stage", "init_model"]

log = logging.getLogger("pyratok.train")


class PyraTokObjective(nn.Module):
    """forward(video, texts) -> (loss, logs): PyraTok's loss (every enabled term) + ``retention_weight`` x the
    frame-level retention of the model's drift reference (off at weight 0). Logs every loss term, PSNR, per-level
    codebook utilisation and entropies (``PyraTokOutput.metrics``)."""

    def __init__(self, model: PyraTok, retention_weight: float = 0.0):
        super().__init__()
        self.model = model
        self.retention_weight = float(retention_weight)

    def forward(self, video: Tensor, texts: list[str]):
        out = self.model(video, texts)
        loss = out.loss
        logs = {"loss": loss.detach()}
        logs.update({k: v.detach() if isinstance(v, Tensor) else v for k, v in out.losses.items()})
        logs.update(out.metrics)
        if self.retention_weight > 0:
            r = self.model.reference.frame_retention(out.recon, video, self.model.backbone)
            loss = loss + self.retention_weight * r
            logs["retention"] = r.detach()
            logs["loss"] = loss.detach()
        return loss, logs

    @torch.no_grad()
    def reconstruct(self, video: Tensor, texts: list[str]) -> Tensor:
        """Tokens -> video, (B, 3, T, H, W) in [-1, 1]: the tokenizer's reconstruction (no masking)."""
        return self.model.decode(self.model.encode(video, texts))


def init_model(model_config: PyraTokConfig, stage: int, out_root: Path, init: str | Path | None) -> PyraTok:
    """The model a stage starts from.

    stage 1: a fresh PyraTok whose VAE is the stage-0 VAE (``init`` or ``<out>/stage0/final``), or the pretrained
    VAE of ``backbone.pretrained_path``; stages 2-3: ``from_pretrained`` of ``init`` or ``<out>/stage{n-1}/final``.
    """
    from ..config_utils import ConfigError
    from .stage0 import load_base_vae

    if stage == 1:
        vae_dir = Path(init) if init else out_root / "stage0" / "final"
        if init or vae_dir.is_dir():
            model = PyraTok(model_config)
            load_base_vae(model.backbone, vae_dir)
            log.info("stage1: VAE from %s (frozen)", vae_dir)
            return model
        if model_config.backbone.pretrained_path:
            return PyraTok(model_config)
        raise ConfigError(f"stage 1 needs a trained VAE: none at {vae_dir} (run --stage 0 first) and the model "
                          f"config has no backbone.pretrained_path (the paper's Wan 2.2 VAE directory)")
    src = Path(init) if init else out_root / f"stage{stage - 1}" / "final"
    if not src.is_dir():
        raise FileNotFoundError(f"stage {stage} starts from stage {stage - 1}'s final weights at {src}; run "
                                f"--stage {stage - 1} first or pass --init DIR")
    log.info("stage%d: starting from %s", stage, src)
    return PyraTok.from_pretrained(src)


@contextlib.contextmanager
def _config_losses(model: PyraTok, losses):
    saved = model.config.losses
    model.config.losses = losses
    try:
        yield
    finally:
        model.config.losses = saved


def build_pyratok_stage(stage: int, model: PyraTok, cfg: StageConfig) -> StageSpec:
    """The stage's objective, trainable parameters and checkpoint I/O (see module doc)."""
    from safetensors.torch import load_file

    base_losses = model.config.losses
    disabled = sorted(set(base_losses.disabled) | set(cfg.disabled_losses))
    model.config.losses = dataclasses.replace(base_losses, disabled=disabled)
    if model.alignment is not None and not model.config.losses.on("ar"):
        model.alignment.requires_grad_(False)  # no L_AR in this stage: nothing to learn for the LM
    if stage == 1 and model.config.losses.on("ar"):
        log.warning("stage1: L_AR is on; App. D adds it only in stage 2")

    if cfg.retention_weight > 0:
        log.info("stage%d: frame-retention term on (weight %.3g, reference: %s)", stage, cfg.retention_weight,
                 model.config.reference.label)
    objective = PyraTokObjective(model, cfg.retention_weight)

    def write(d: Path):
        with _config_losses(model, base_losses):
            model.save_pretrained(d)

    def load(d: Path):
        state = load_file(str(Path(d) / "model.safetensors"))
        expected = set(model._saved_state())
        if set(state) != expected:
            raise ValueError(f"{d}: checkpoint weights do not match the model "
                             f"(missing {sorted(expected - set(state))[:5]}, unexpected {sorted(set(state) - expected)[:5]})")
        model.load_state_dict(state, strict=False)

    extra = None
    if model.alignment is not None and model.config.losses.on("ar"):
        def extra(batches, device, max_batches):
            from .evaluate import evaluate_ar_nll

            r = evaluate_ar_nll(model, batches, device, max_batches=max_batches)
            return {"ar_nll": r["nll"], "ar_uniform": r["uniform"]} if r["nll"] is not None else {}

    return StageSpec(name=f"stage{stage}", objective=objective, params=model.trainable_parameters(),
                     write_weights=write, load_weights=load, reconstruct=objective.reconstruct,
                     multiple=int(model.backbone.latent_stride[1]), extra_validation=extra)
