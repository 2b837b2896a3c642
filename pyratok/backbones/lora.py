"""Causal-aware LoRA for the Wan VAE encoder, registered with peft.

Why a custom layer: diffusers' ``WanCausalConv3d`` is an ``nn.Conv3d`` whose own ``padding`` is zeroed; it pads
causally inside ``forward(x, cache_x)`` — ``2 * p_t`` frames in front (or the frames cached from the previous time
chunk instead of zeros), ``p_h`` / ``p_w`` symmetric in space. peft's stock ``lora.Conv3d`` cannot wrap it:

* it builds its ``lora_A`` as ``type(base_layer)(..., bias=False)``, and ``WanCausalConv3d.__init__`` has no ``bias``
  argument (``TypeError``, checked against peft 0.21.2);
* even with a plain ``nn.Conv3d`` for ``lora_A``, that conv would see the *unpadded* input (the base layer's
  ``padding`` is ``(0, 0, 0)``) and neither the causal zero frames nor the time-chunk cache: wrong shape for
  ``k > 1`` kernels, and wrong values at every chunk boundary.

:class:`WanCausalConv3dLoRA` therefore feeds ``lora_A`` the *same* causally padded / cache-extended tensor the base
convolution sees (:func:`causal_padded_input`). ``lora_A`` is a plain ``nn.Conv3d`` with the base kernel, stride
and dilation and no padding; ``lora_B`` is a 1x1x1 ``nn.Conv3d``. Hence ``y = conv(x_pad, W) + s * B(A(x_pad))
= conv(x_pad, W + s * B @ A)`` with ``s = alpha / r`` — exactly a weight-delta LoRA, but computed as a parallel
low-rank path so that training never forms the full-size weight gradient of the frozen base conv. The layer is a
subclass of peft's ``lora.Conv3d`` registered through ``LoraConfig._register_custom_module`` (experimental peft
API), so peft's adapter management (enable / disable, merge / unmerge, several named adapters, state dicts) works.

Plain ``nn.Conv2d`` layers of the encoder (spatial downsampling convs, attention ``to_qkv`` / ``proj``) take
peft's standard LoRA: their padding is explicit (``nn.ZeroPad2d`` modules) or absent, so peft's ``lora_A`` sees
the same input as the base conv.

Initialisation follows LoRA (Hu et al., 2022) and peft: ``A`` Kaiming-uniform, ``B`` zero, so a freshly adapted
encoder equals the frozen one exactly.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora.layer import Conv3d as PeftLoraConv3d
from peft.tuners.lora.layer import LoraLayer

__all__ = [
    "WanCausalConv3dLoRA",
    "causal_padded_input",
    "encoder_lora_targets",
    "make_encoder_lora_config",
    "inject_encoder_lora",
    "lora_layers",
    "adapters_disabled",
]

DEFAULT_ADAPTER = "default"


def causal_padded_input(conv: WanCausalConv3d, x: torch.Tensor, cache_x: torch.Tensor | None = None) -> torch.Tensor:
    """The tensor a ``WanCausalConv3d`` actually convolves: ``x`` (B, C, T, H, W) extended in front by the cached
    frames ``cache_x`` (B, C, T_c, H, W) of the previous chunk (only when the conv pads in time), then zero-padded
    causally (front-only in time, symmetric in space).

    Mirrors ``WanCausalConv3d.forward`` of diffusers 0.42 line by line; the zero-LoRA test compares the adapted and
    the frozen encoder end to end, so a future change in diffusers shows up there.
    """
    padding = list(conv._padding)
    if cache_x is not None and conv._padding[4] > 0:
        x = torch.cat([cache_x.to(x.device), x], dim=2)
        padding[4] -= cache_x.shape[2]
    return F.pad(x, padding)


class WanCausalConv3dLoRA(PeftLoraConv3d):
    """peft LoRA layer for diffusers' ``WanCausalConv3d`` that honours causal padding and the time-chunk cache.

    ``forward(x, cache_x=None)`` has the base layer's signature: x (B, C_in, T, H, W), optional cached frames
    ``cache_x`` (B, C_in, T_c, H, W); returns (B, C_out, T_out, H_out, W_out), identical in shape to the base conv.
    Per active adapter it adds ``scaling * lora_B(lora_A(dropout(x_pad)))`` where ``x_pad`` is
    :func:`causal_padded_input`. ``scaling = alpha / r`` (``alpha / sqrt(r)`` with ``use_rslora``).
    DoRA, mixed-adapter batches and init schemes other than ``True`` / ``"gaussian"`` / ``False`` are rejected.
    """

    @property
    def lora_variants(self):
        # Only vanilla LoRA: DoRA's magnitude vector would need its own causal-aware forward.
        return {(): None}

    def update_layer(self, adapter_name: str, r: int, lora_alpha: int, config: LoraConfig, **kwargs) -> None:
        if config.use_dora:
            raise ValueError("WanCausalConv3dLoRA supports plain LoRA only; use_dora=True is not implemented.")
        if r <= 0:
            raise ValueError(f"LoRA rank must be a positive integer, got r={r}.")
        init = config.init_lora_weights
        if not (init is True or init is False or init == "gaussian"):
            raise ValueError(
                f"init_lora_weights={init!r} is not supported for WanCausalConv3d; use True, 'gaussian' or False."
            )
        base = self.get_base_layer()
        self.r[adapter_name] = r
        self.lora_alpha[adapter_name] = lora_alpha
        self.lora_dropout[adapter_name] = nn.Dropout(p=config.lora_dropout) if config.lora_dropout > 0 else nn.Identity()
        # Padding 0: the causal / cached padding is applied to the input before lora_A (see causal_padded_input).
        self.lora_A[adapter_name] = nn.Conv3d(
            self.in_features, r, base.kernel_size, base.stride, padding=0, dilation=base.dilation, bias=False
        )
        self.lora_B[adapter_name] = nn.Conv3d(r, self.out_features, 1, bias=config.lora_bias)
        self.lora_bias[adapter_name] = config.lora_bias
        self.scaling[adapter_name] = lora_alpha / math.sqrt(r) if config.use_rslora else lora_alpha / r
        self.use_rslora[adapter_name] = config.use_rslora
        self.use_dora[adapter_name] = False
        if init is not False:
            self.reset_lora_parameters(adapter_name, init)  # A: Kaiming-uniform (or Gaussian), B: zeros
        self._move_adapter_to_device_of_base_layer(adapter_name)
        self.set_adapter(self.active_adapters, inference_mode=config.inference_mode)

    def get_delta_weight(self, adapter: str) -> torch.Tensor:
        """``scaling * B @ A`` as a (C_out, C_in, k_t, k_h, k_w) kernel, in the base weight's dtype."""
        weight_a = self.lora_A[adapter].weight.float()  # (r, C_in, kt, kh, kw)
        weight_b = self.lora_B[adapter].weight.float()[:, :, 0, 0, 0]  # (C_out, r)
        delta = torch.einsum("or,rithw->oithw", weight_b, weight_a) * self.scaling[adapter]
        return delta.to(self.get_base_layer().weight.dtype)

    def forward(self, x: torch.Tensor, cache_x: torch.Tensor | None = None, *args, **kwargs) -> torch.Tensor:
        if args or kwargs.get("adapter_names") is not None:
            raise NotImplementedError(
                "WanCausalConv3dLoRA.forward takes (x, cache_x) only; mixed-adapter batches are not supported."
            )
        if self.disable_adapters:
            if self.merged:
                self.unmerge()
            return self.base_layer(x, cache_x)
        result = self.base_layer(x, cache_x)
        if self.merged:
            return result
        active = [name for name in self.active_adapters if name in self.lora_A]
        if not active:
            return result
        out_dtype = result.dtype
        x_pad = causal_padded_input(self.get_base_layer(), x, cache_x)
        for name in active:
            x_a = self._cast_input_dtype(x_pad, self.lora_A[name].weight.dtype)
            result = result + self.lora_B[name](self.lora_A[name](self.lora_dropout[name](x_a))) * self.scaling[name]
        return result.to(out_dtype)


_LORA_TARGET_TYPES = (nn.Conv2d, nn.Conv3d, nn.Linear)


def encoder_lora_targets(vae: nn.Module, prefix: str = "encoder") -> list[str]:
    """Full module names (``"encoder.down_blocks.0.resnets.0.conv1"``, ...) of every conv / linear layer inside
    ``vae.<prefix>``: the paper puts LoRA "into all encoder blocks" (App. D). ``quant_conv`` (outside the encoder
    module in diffusers) and the decoder are left untouched."""
    root = getattr(vae, prefix)
    names = [
        f"{prefix}.{name}"
        for name, module in root.named_modules()
        if isinstance(module, _LORA_TARGET_TYPES) and not isinstance(module, LoraLayer) and ".lora_" not in f".{name}"
    ]
    if not names:
        raise ValueError(f"no Conv2d / Conv3d / Linear layers found under '{prefix}' to attach LoRA to")
    return names


def make_encoder_lora_config(
    target_modules: list[str], rank: int = 16, alpha: int = 32, dropout: float = 0.0
) -> LoraConfig:
    """A peft ``LoraConfig`` (defaults: rank 16, alpha 32 — paper App. D) with :class:`WanCausalConv3dLoRA`
    registered for ``WanCausalConv3d`` targets."""
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        init_lora_weights=True,
        bias="none",
    )
    config._register_custom_module({WanCausalConv3d: WanCausalConv3dLoRA})
    return config


def inject_encoder_lora(
    vae: nn.Module, rank: int = 16, alpha: int = 32, dropout: float = 0.0, adapter_name: str = DEFAULT_ADAPTER
) -> list[str]:
    """Inject LoRA into every conv of ``vae.encoder`` in place; returns the adapted module names.

    peft marks only adapter weights trainable on the whole ``vae``; the caller decides about anything else
    (e.g. the decoder)."""
    targets = encoder_lora_targets(vae)
    inject_adapter_in_model(make_encoder_lora_config(targets, rank, alpha, dropout), vae, adapter_name=adapter_name)
    return targets


def lora_layers(module: nn.Module) -> list[LoraLayer]:
    """All peft LoRA layers inside ``module`` (causal and standard)."""
    return [m for m in module.modules() if isinstance(m, LoraLayer)]


@contextmanager
def adapters_disabled(module: nn.Module) -> Iterator[None]:
    """Run ``module`` with every LoRA adapter switched off (the frozen base model), then restore.

    peft's ``enable_adapters`` also flips ``requires_grad`` of the adapter weights; the previous flags are saved
    and put back so that a frozen-LoRA training stage stays frozen after the context."""
    layers = lora_layers(module)
    was_disabled = [layer.disable_adapters for layer in layers]
    grads = [(p, p.requires_grad) for layer in layers for n, p in layer.named_parameters() if "lora_" in n]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer, disabled in zip(layers, was_disabled):
            layer.enable_adapters(not disabled)
        for p, flag in grads:
            p.requires_grad_(flag)
