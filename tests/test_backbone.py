"""Tests of the Wan VAE backbone (pyratok/backbones): causal-aware LoRA, pyramid, chunked causal encoding, I/O.

References are computed independently of the code under test: plain diffusers ``AutoencoderKLWan`` models,
``F.conv3d`` with hand-written causal padding on ``W + delta``, a one-shot (non-chunked) causal pass written here,
``torch.distributions`` for the KL, and strides derived by hand from the Wan architectures.
"""
from __future__ import annotations

import json
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import AutoencoderKLWan
from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d, WanResample, patchify
from peft import inject_adapter_in_model
from peft.tuners.lora.layer import Conv2d as PeftLoraConv2d

from pyratok.backbones import (
    DiagonalGaussian,
    WanBackbone,
    WanBackboneConfig,
    WanCausalConv3dLoRA,
    latent_stride_for,
    stage_end_indices,
    stage_strides_for,
)
from pyratok.backbones.lora import make_encoder_lora_config

TINY_CHANNELS = [8, 16, 32, 32]
# Hand-derived: 2x2 patchify, then stages 1-3 downsample 2x in space; stages 2 and 3 also 2x in time; stage 4 none.
TINY_WAN22_STRIDES = [(1, 4), (2, 8), (4, 16), (4, 16)]
# Wan 2.1: no patchify, otherwise the same schedule.
WAN21_STRIDES = [(1, 2), (2, 4), (4, 8), (4, 8)]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _video(frames=17, size=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, frames, size, size, generator=g) * 2 - 1


def _perturb_lora(module: nn.Module, std: float = 0.05, seed: int = 3) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if ".lora_A." in name or ".lora_B." in name:
                p.copy_(torch.randn(p.shape, generator=g) * std)


def _base_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k.replace(".base_layer.", "."): v for k, v in module.state_dict().items() if ".lora_" not in k}


def _plain_twin(backbone: WanBackbone) -> AutoencoderKLWan:
    """An un-adapted diffusers VAE holding the backbone's base weights."""
    plain = AutoencoderKLWan(**backbone.config.vae_config)
    plain.load_state_dict(_base_state(backbone.vae), strict=True)
    return plain.eval()


# ------------------------------------------------------------------------------------------------ causal LoRA conv
def _wrap_single_conv(conv: WanCausalConv3d, rank=3, alpha=6) -> WanCausalConv3dLoRA:
    holder = nn.Sequential(conv)
    inject_adapter_in_model(make_encoder_lora_config(["0"], rank=rank, alpha=alpha), holder)
    layer = holder[0]
    assert isinstance(layer, WanCausalConv3dLoRA)
    return layer


def _reference_causal_conv(x, cache, weight, bias, padding, stride):
    """Causal conv by hand: the nominal padding (p_t, p_h, p_w) becomes 2 * p_t frames in front only (the cached
    frames first, zeros for the rest) and p_h, p_w on both sides in space."""
    pt, ph, pw = padding
    front = 2 * pt
    if cache is not None and front > 0:
        x = torch.cat([cache, x], dim=2)
        front -= cache.shape[2]
    x = F.pad(x, (pw, pw, ph, ph, front, 0))
    return F.conv3d(x, weight, bias, stride=stride)


@pytest.mark.parametrize(
    "kernel,stride,padding",
    [((3, 3, 3), (1, 1, 1), (1, 1, 1)), ((3, 1, 1), (2, 1, 1), (0, 0, 0)), ((1, 1, 1), (1, 1, 1), (0, 0, 0))],
)
def test_causal_lora_conv_equals_weight_delta_reference(kernel, stride, padding):
    conv = WanCausalConv3d(5, 6, kernel, stride=stride, padding=padding)
    base_w, base_b = conv.weight.detach().clone(), conv.bias.detach().clone()
    layer = _wrap_single_conv(conv, rank=3, alpha=6)
    _perturb_lora(nn.ModuleList([layer]), std=0.3)
    a = layer.lora_A["default"].weight.detach()  # (r, C_in, kt, kh, kw)
    b = layer.lora_B["default"].weight.detach()  # (C_out, r, 1, 1, 1)
    delta = (6 / 3) * (b.flatten(1) @ a.flatten(1)).view_as(base_w)
    assert delta.abs().max() > 1e-2  # a real perturbation

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 5, 6, 7, generator=g)
    caches = [None, torch.randn(2, 5, 2, 6, 7, generator=g), torch.randn(2, 5, 1, 6, 7, generator=g)]
    for cache in caches:
        if padding[0] == 0 and cache is not None:
            continue  # convs without temporal padding never receive a cache in diffusers
        got = layer(x, cache)
        want = _reference_causal_conv(x, cache, base_w + delta, base_b, padding, stride)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # peft adapter management: disabled == frozen conv, merged == unmerged
        layer.enable_adapters(False)
        torch.testing.assert_close(layer(x, cache), _reference_causal_conv(x, cache, base_w, base_b, padding, stride))
        layer.enable_adapters(True)
        layer.merge()
        torch.testing.assert_close(layer(x, cache), want, rtol=1e-5, atol=1e-5)
        layer.unmerge()
        torch.testing.assert_close(layer.get_base_layer().weight, base_w, rtol=0, atol=1e-6)


def test_lora_covers_every_encoder_conv_and_nothing_else():
    backbone = WanBackbone(WanBackboneConfig.tiny())
    enc_convs = {
        n for n, m in AutoencoderKLWan(**backbone.config.vae_config).encoder.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Conv3d))
    }
    adapted = {n for n, m in backbone.vae.encoder.named_modules() if hasattr(m, "lora_A")}
    assert adapted == enc_convs
    kinds = {type(m) for n, m in backbone.vae.encoder.named_modules() if n in adapted}
    assert kinds == {WanCausalConv3dLoRA, PeftLoraConv2d}
    assert not any(hasattr(m, "lora_A") for m in backbone.vae.decoder.modules())
    # rank 16 / alpha 32 (paper App. D), B zero-initialised
    layer = backbone.vae.encoder.conv_in
    assert layer.r["default"] == 16 and layer.scaling["default"] == 2.0
    assert all(torch.count_nonzero(p) == 0 for n, p in backbone.vae.named_parameters() if ".lora_B." in n)
    # only LoRA is trainable
    trainable = {id(p) for p in backbone.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in backbone.lora_parameters()} == {id(p) for p in backbone.trainable_parameters()}
    assert len(backbone.lora_parameters()) == 2 * len(enc_convs)


# ------------------------------------------------------------------------------------- zero LoRA == frozen encoder
def test_zero_lora_equals_frozen_encoder():
    torch.manual_seed(0)
    plain = AutoencoderKLWan(**WanBackboneConfig.tiny().vae_config).eval()
    torch.manual_seed(0)
    backbone = WanBackbone(WanBackboneConfig.tiny())
    base = _base_state(backbone.vae)
    assert base.keys() == plain.state_dict().keys()
    assert all(torch.equal(base[k], v) for k, v in plain.state_dict().items())

    x = _video()
    with torch.no_grad():
        pyramid = backbone.encode_pyramid(x)
        want = plain.encode(x).latent_dist
    assert torch.equal(pyramid.posterior.mean, want.mean)
    assert torch.equal(pyramid.posterior.logvar, want.logvar)


def test_lora_changes_encoder_and_reference_stays_frozen():
    backbone = WanBackbone(WanBackboneConfig.tiny())
    _perturb_lora(backbone.vae)
    plain = _plain_twin(backbone)
    x = _video()
    with torch.no_grad():
        adapted = backbone.encode(x)
        frozen = plain.encode(x).latent_dist
    ref = backbone.encode_reference(x)
    assert not ref.mean.requires_grad
    torch.testing.assert_close(ref.mean, frozen.mean, rtol=1e-5, atol=1e-5)
    assert (adapted.mean - frozen.mean).abs().max() > 1e-3
    # the context restores LoRA (and its trainability)
    assert all(p.requires_grad for p in backbone.lora_parameters())
    with torch.no_grad():
        torch.testing.assert_close(backbone.encode(x).mean, adapted.mean)


def test_gradients_reach_lora_only():
    backbone = WanBackbone(WanBackboneConfig.tiny())
    pyramid = backbone.encode_pyramid(_video(frames=5, size=32))
    loss = sum(f.square().mean() for f in pyramid.features) + backbone.decode(pyramid.posterior.mode()).mean()
    loss.backward()
    lora_b = [p for n, p in backbone.vae.named_parameters() if ".lora_B." in n]
    assert all(p.grad is not None for p in lora_b) and any(p.grad.abs().sum() > 0 for p in lora_b)
    assert all(p.grad is None for p in backbone.parameters() if not p.requires_grad)


def test_train_decoder_switch():
    backbone = WanBackbone(WanBackboneConfig.tiny(train_decoder=True))
    ids = {id(p) for p in backbone.trainable_parameters()}
    assert all(id(p) in ids and p.requires_grad for p in backbone.vae.decoder.parameters())
    assert not any(p.requires_grad for n, p in backbone.vae.encoder.named_parameters() if ".lora_" not in n)
    no_lora = WanBackbone(WanBackboneConfig.tiny(lora=False))
    assert no_lora.lora_parameters() == [] and no_lora.trainable_parameters() == []


# ------------------------------------------------------------------------------------------------- pyramid shapes
def test_pyramid_shapes_for_17_frames_follow_stage_strides():
    backbone = WanBackbone(WanBackboneConfig.tiny())
    assert backbone.stage_strides() == TINY_WAN22_STRIDES
    assert backbone.latent_stride == (4, 16)
    assert backbone.stage_channels == TINY_CHANNELS and backbone.latent_channels == 48
    with torch.no_grad():
        pyramid = backbone.encode_pyramid(_video(17, 64))
    shapes = [tuple(f.shape) for f in pyramid.features]
    assert shapes == [(1, 8, 17, 16, 16), (1, 16, 9, 8, 8), (1, 32, 5, 4, 4), (1, 32, 5, 4, 4)]
    for (t, s), c, shape in zip(TINY_WAN22_STRIDES, TINY_CHANNELS, shapes):
        assert shape == (1, c, 1 + 16 // t, 64 // s, 64 // s)
    assert tuple(pyramid.posterior.mean.shape) == (1, 48, 5, 4, 4)
    with torch.no_grad():
        video = backbone.decode(pyramid.posterior.mode())
    assert tuple(video.shape) == (1, 3, 17, 64, 64)
    assert video.min() >= -1 and video.max() <= 1


def test_wan21_pyramid_shapes():
    backbone = WanBackbone(WanBackboneConfig.tiny_wan21())
    assert backbone.stage_indices == [2, 5, 8, 10]
    assert backbone.stage_strides() == WAN21_STRIDES and backbone.latent_stride == (4, 8)
    with torch.no_grad():
        pyramid = backbone.encode_pyramid(_video(17, 32))
    assert [tuple(f.shape) for f in pyramid.features] == [
        (1, 8, 17, 16, 16), (1, 16, 9, 8, 8), (1, 32, 5, 4, 4), (1, 32, 5, 4, 4)
    ]


def test_real_config_stages_and_strides():
    # Built on the meta device: structure only, no memory.
    paper, wan21 = WanBackboneConfig.paper(), WanBackboneConfig.wan21()
    with torch.device("meta"):
        vae22 = AutoencoderKLWan(**paper.vae_config)
        vae21 = AutoencoderKLWan(**wan21.vae_config)
    assert stage_end_indices(vae22.encoder, "wan2.2") == [0, 1, 2, 3]
    assert stage_end_indices(vae21.encoder, "wan2.1") == [2, 5, 8, 10]  # Wan 2.1: stage ends after down_blocks 2, 5, 8, 10
    assert stage_strides_for(paper.vae_config) == TINY_WAN22_STRIDES
    assert stage_strides_for(wan21.vae_config) == WAN21_STRIDES
    assert latent_stride_for(paper.vae_config) == (4, 16) and latent_stride_for(wan21.vae_config) == (4, 8)
    assert paper.vae_config["z_dim"] == 48 and paper.lora_rank == 16 and paper.lora_alpha == 32


# ----------------------------------------------------------------------------- chunked causal == one-shot causal
def _one_shot_encode(vae: AutoencoderKLWan, video: torch.Tensor, stage_indices: list[int], monkeypatch):
    """Whole clip at once, no feature cache: every causal conv pads 2 zero frames in front of the full sequence;
    the temporal downsampler keeps frame 0 and convolves the full sequence with stride 2 (what diffusers' cache
    logic reproduces chunk by chunk)."""
    original = WanResample.forward

    def one_shot_forward(self, x, feat_cache=None, feat_idx=[0]):  # noqa: B006 (diffusers' signature)
        out = original(self, x, feat_cache, feat_idx)  # without a cache: the per-frame 2D downsample only
        if self.mode == "downsample3d" and feat_cache is None:
            out = torch.cat([out[:, :, :1], self.time_conv(out)], dim=2)
        return out

    monkeypatch.setattr(WanResample, "forward", one_shot_forward)
    outputs: dict[int, list[torch.Tensor]] = {i: [] for i in stage_indices}
    handles = [
        vae.encoder.down_blocks[i].register_forward_hook(lambda m, a, o, i=i: outputs[i].append(o))
        for i in stage_indices
    ]
    try:
        x = patchify(video, vae.config.patch_size) if vae.config.patch_size else video
        moments = vae.quant_conv(vae.encoder(x))
    finally:
        for h in handles:
            h.remove()
        monkeypatch.setattr(WanResample, "forward", original)
    assert all(len(v) == 1 for v in outputs.values())
    mean, logvar = moments.chunk(2, dim=1)
    return [outputs[i][0] for i in stage_indices], mean, logvar.clamp(-30.0, 20.0)


@pytest.mark.parametrize("config,size", [(WanBackboneConfig.tiny, 64), (WanBackboneConfig.tiny_wan21, 32)])
def test_chunked_causal_encoding_equals_one_shot(config, size, monkeypatch):
    backbone = WanBackbone(config())
    _perturb_lora(backbone.vae)  # the LoRA path must honour the cache too
    x = _video(17, size)
    with torch.no_grad():
        pyramid = backbone.encode_pyramid(x)  # diffusers' chunked path (1 + 4 + 4 + 4 + 4 frames)
        features, mean, logvar = _one_shot_encode(backbone.vae, x, backbone.stage_indices, monkeypatch)
    for got, want in zip(pyramid.features, features):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pyramid.posterior.mean, mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pyramid.posterior.logvar, logvar, rtol=1e-4, atol=1e-5)
    # causality: the first 5 frames alone give the first 2 latent frames
    with torch.no_grad():
        prefix = backbone.encode(x[:, :, :5])
    torch.testing.assert_close(prefix.mean, pyramid.posterior.mean[:, :, :2], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------- save / load / errors
def test_save_and_load_local_directory(tmp_path):
    backbone = WanBackbone(WanBackboneConfig.tiny())
    _perturb_lora(backbone.vae)
    out = backbone.save_vae(tmp_path / "vae")
    assert (out / "config.json").is_file() and (out / "diffusion_pytorch_model.safetensors").is_file()
    x = _video(9, 64)
    with torch.no_grad():
        ref = backbone.encode_reference(x)
        recon = backbone.decode(ref.mean)
        loaded = WanBackbone.from_pretrained(tmp_path / "vae")  # fresh zero LoRA == base VAE
        assert loaded.config.variant == "wan2.2"
        got = loaded.encode(x)
        assert torch.equal(got.mean, ref.mean) and torch.equal(got.logvar, ref.logvar)
        assert torch.equal(loaded.decode(got.mean), recon)
        # plain diffusers reads the directory too, and a pipeline root with vae/ resolves
        plain = AutoencoderKLWan.from_pretrained(str(out), local_files_only=True)
        assert torch.equal(plain.encode(x).latent_dist.mean, ref.mean)
        again = WanBackbone(WanBackboneConfig.tiny(pretrained_path=str(tmp_path)))
        assert torch.equal(again.encode(x).mean, ref.mean)


def test_missing_or_bad_pretrained_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        WanBackbone(WanBackboneConfig.paper(pretrained_path=str(missing)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        WanBackbone.from_pretrained(empty)
    (empty / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKLWan"}))
    with pytest.raises(FileNotFoundError, match="diffusion_pytorch_model.safetensors"):
        WanBackbone.from_pretrained(empty)
    (empty / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    (empty / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=re.escape(str(empty / "config.json"))):
        WanBackbone.from_pretrained(empty)


def test_directory_config_must_match_requested_config(tmp_path):
    WanBackbone(WanBackboneConfig.tiny(lora=False)).save_vae(tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        WanBackbone(WanBackboneConfig.paper(pretrained_path=str(tmp_path)))


def test_config_and_input_validation():
    with pytest.raises(ValueError, match="unknown AutoencoderKLWan config key"):
        WanBackboneConfig(vae_config={"base_dimm": 8})
    with pytest.raises(ValueError, match="unknown Wan variant"):
        WanBackboneConfig(variant="wan3")
    with pytest.raises(ValueError, match="is_residual"):
        WanBackboneConfig(variant="wan2.1", vae_config=WanBackboneConfig.tiny().vae_config)
    backbone = WanBackbone(WanBackboneConfig.tiny(lora=False))
    with pytest.raises(ValueError, match="1 \\+ 4k"):
        backbone.encode_pyramid(torch.zeros(1, 3, 8, 64, 64))
    with pytest.raises(ValueError, match="multiples of the spatial stride 16"):
        backbone.encode_pyramid(torch.zeros(1, 3, 5, 40, 64))
    with pytest.raises(ValueError, match="latent must be"):
        backbone.decode(torch.zeros(1, 4, 2, 4, 4))


# ------------------------------------------------------------------------------------------------ DiagonalGaussian
def test_diagonal_gaussian_kl_sample_mode():
    g = torch.Generator().manual_seed(0)
    p = DiagonalGaussian(torch.randn(3, 4, 2, 3, 3, generator=g), torch.randn(3, 4, 2, 3, 3, generator=g))
    q = DiagonalGaussian(torch.randn(3, 4, 2, 3, 3, generator=g), torch.randn(3, 4, 2, 3, 3, generator=g))
    want = torch.distributions.kl_divergence(
        torch.distributions.Normal(p.mean, p.std), torch.distributions.Normal(q.mean, q.std)
    ).flatten(1).sum(1)
    torch.testing.assert_close(p.kl(q), want, rtol=1e-5, atol=1e-5)
    assert p.kl(q).shape == (3,)
    torch.testing.assert_close(p.kl(p), torch.zeros(3), rtol=0, atol=1e-5)
    assert torch.equal(p.mode(), p.mean)
    s1 = p.sample(torch.Generator().manual_seed(5))
    s2 = p.sample(torch.Generator().manual_seed(5))
    assert torch.equal(s1, s2)
    eps = torch.randn(p.mean.shape, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(s1, p.mean + torch.exp(0.5 * p.logvar) * eps)


def test_latent_normalisation_round_trip():
    config = WanBackboneConfig.tiny(lora=False)
    config.vae_config["latents_mean"] = [0.5] * 48
    config.vae_config["latents_std"] = [2.0] * 48
    backbone = WanBackbone(config)
    z = torch.randn(1, 48, 2, 4, 4)
    torch.testing.assert_close(backbone.normalize_latent(z), (z - 0.5) / 2.0)
    torch.testing.assert_close(backbone.denormalize_latent(backbone.normalize_latent(z)), z)
