"""The ``tiny`` stage-0 recipe: the preset builds, its VAE has the hand-worked Wan 2.2 latent geometry, and a
2-step stage-0 run through the real pipeline writes a VAE directory that loads strictly and reconstructs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyratok.data.video import write_video
from pyratok.train.config import TINY_STAGE0_STEPS, TrainConfig, load_train_config
from pyratok.train.metrics_log import read_metrics
from pyratok.train.pipeline import run_training


def test_preset_builds_with_wan22_latent_width():
    cfg = load_train_config("tiny")
    assert cfg.to_dict() == TrainConfig.tiny().to_dict()
    vae_cfg = cfg.model_config().backbone.vae_config
    assert vae_cfg["z_dim"] == 48  # the released Wan 2.2 VAE's latent width
    assert len(vae_cfg["latents_mean"]) == len(vae_cfg["latents_std"]) == 48
    assert vae_cfg["patch_size"] == 2 and vae_cfg["temperal_downsample"] == [False, True, True]
    assert cfg.stage0.steps == TINY_STAGE0_STEPS > 0 and cfg.stage0.lr == pytest.approx(1e-3)


def test_preset_backbone_encodes_to_48_channel_latent():
    from pyratok.backbones.wan import WanBackbone

    torch.manual_seed(0)
    backbone = WanBackbone(TrainConfig.tiny().model_config().backbone)
    video = torch.rand(1, 3, 17, 64, 64) * 2 - 1
    with torch.no_grad():
        post = backbone.encode(video)
        recon = backbone.decode(post.mode())
    # Wan 2.2 stride 4 x 16 x 16, causal: 1 + (17 - 1) / 4 = 5 latent frames of 64 / 16 = 4 x 4
    assert tuple(post.mean.shape) == (1, 48, 5, 4, 4)
    assert tuple(recon.shape) == (1, 3, 17, 64, 64)


def _videos(root, n=4, frames=9, size=32, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["path,caption"]
    for i in range(n):
        base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        write_video(root / f"v{i}.mp4", np.stack([np.roll(base, t, axis=1) for t in range(frames)]), fps=8)
        rows.append(f"v{i}.mp4,texture {i}")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root / "pairs.csv"


def test_two_step_stage0_run(tmp_path):
    from diffusers import AutoencoderKLWan
    from safetensors.torch import load_file

    csv = _videos(tmp_path)
    cfg = TrainConfig.tiny()
    cfg.data.train_csv, cfg.data.video_root, cfg.data.val_csv = str(csv), str(tmp_path), str(csv)
    cfg.data.resolutions, cfg.data.frames, cfg.data.batch_size, cfg.data.num_workers = [32], [5], 2, 0
    cfg.data.val_resolution, cfg.data.val_frames, cfg.data.val_batches = 32, 5, 1
    cfg.stage0.steps, cfg.stage0.warmup_steps, cfg.stage0.val_every, cfg.stage0.ckpt_every = 2, 1, 2, 2
    out = tmp_path / "run"
    run_training(cfg, out, stages=[0], progress=False)

    rows = [r for r in read_metrics(out / "stage0") if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(math.isfinite(r["loss"]) for r in rows)

    vae_cfg = cfg.model_config().backbone.vae_config
    vae = AutoencoderKLWan(**vae_cfg)
    vae.load_state_dict(load_file(str(out / "stage0" / "final" / "diffusion_pytorch_model.safetensors")), strict=True)
    clip = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    with torch.no_grad():
        post = vae.encode(clip).latent_dist
        recon = vae.decode(post.mode()).sample
    assert tuple(post.mean.shape) == (1, 48, 2, 2, 2)  # 1 + (5 - 1) / 4 frames, 32 / 16 pixels
    assert tuple(recon.shape) == tuple(clip.shape)
    assert recon.abs().max() <= 1.0
