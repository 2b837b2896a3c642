"""Video VAE backbones exposing per-stage encoder features F(1..L) for LaPQ."""
from .lora import WanCausalConv3dLoRA, adapters_disabled, inject_encoder_lora, lora_layers
from .wan import (
    BackbonePyramid,
    DiagonalGaussian,
    WanBackbone,
    WanBackboneConfig,
    latent_stride_for,
    stage_end_indices,
    stage_strides_for,
)

__all__ = [
    "BackbonePyramid",
    "DiagonalGaussian",
    "WanBackbone",
    "WanBackboneConfig",
    "WanCausalConv3dLoRA",
    "adapters_disabled",
    "inject_encoder_lora",
    "latent_stride_for",
    "lora_layers",
    "stage_end_indices",
    "stage_strides_for",
]
