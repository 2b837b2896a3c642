"""Tiny diffusers video VAEs trained here: the stand-ins of ``wan2.1-vae`` ... ``svd-vae`` when no real weights exist.

The architectures (:data:`adapters.diffusers_vae.TINY_CONFIGS`) belong to the adapter; how they are trained is
here. :func:`trained_vae_dir` trains ``arch``'s tiny config once on the trained-here WebVid set
(:func:`~benchmarks.provisioning.training_data.default_training_data`) and caches it as artifact
``diffusers-vae-<arch>``; the adapter loads the folder (``path=``, ``origin="trained-here"``).

Recipe (:class:`TinyRecipe`; the stage-0 recipe of ``pyratok.train.stage0``, which trains the tiny Wan VAE of
PyraTok): random 64 x 64 clips of the longest valid length <= 9 frames (9; Mochi 7) from the 17-frame training
videos (random start, decoded once into memory), batch 2, z ~ q(z|x) reparameterised,
``L = |x' - x|_1 + (1 - SSIM(x', x)) + 1e-6 * KL(q || N(0, I))_sum / (3 T H W)`` (SSIM:
:func:`pyratok.image_quality.ssim` on frames in [0, 1]); AdamW (lr 1e-3, see :class:`TinyRecipe`; betas
(0.9, 0.999), weight decay 0.01), linear warm-up then cosine decay, gradient clipping 1.0, seed 0, one CPU thread.
The posterior log-variance starts at -8 (as in stage 0: at the default ~0 the sampled latent is mostly noise, the
decoder learns to ignore it and the tiny VAE stalls); Mochi's moment projection has no bias, so its log-variance
rows are set from the first batch's mean activation (a data-dependent init) to give -8 on average (about
+-2.8 across positions on a random batch: the projection input varies). Steps differ by class so that each
build takes about 2-3 minutes on one core (:data:`TINY_STEPS`): an equal compute budget, not an equal step
count; the per-step costs (batch 2, one thread, measured with other jobs sharing the 2-core machine, so
roughly) were ~0.3 s (wan2.2), ~0.6 s (wan2.1), ~0.5 s (cogvideox), ~1.3 s (mochi) and ~1.6 s (svd). No
adversarial or perceptual loss (no offline LPIPS weights; a GAN needs far more steps than a CPU budget), so these
tiny VAEs are smoke-scale stand-ins whose numbers say nothing about the released models.

Measured (wan2.2, built once by hand while writing this module): 361 s for the whole build (347 s of training)
at a load average of ~6 on the 2-core machine (other jobs running); reconstruction PSNR (posterior mean, 9-frame
64 x 64 centre clips, PSNR per clip on [0, 1] by scikit-image, mean over clips) 15.46 dB on the 64 held-out
synthetic val clips and 12.41 dB on the 7 real sample clips of ``../shared/realdata/videos`` — *below* a per-clip
mean-colour predictor (16.65 / 12.46 dB), like the stage-0 tiny VAE of PyraTok (results/train/tiny.md): a few
hundred CPU steps leave these VAEs far from converged.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from adapters.diffusers_vae import (CLASS_NAMES, TINY_FRAMES, TINY_SIZE, check_arch, decode_latent, frames_to_clip,
                                    posterior, tiny_config, vae_class)

from .artifacts import trained_artifact
from .training_data import default_training_data

__all__ = ["TinyRecipe", "tiny_recipe", "TINY_STEPS", "load_training_clips", "train_tiny_vae", "trained_vae_dir",
           "init_logvar", "TRAINING_SOURCES"]

# optimizer steps per class: ~2-3 min each on one CPU core (see the module docstring)
TINY_STEPS = {"wan2.2": 400, "wan2.1": 250, "cogvideox": 300, "mochi": 120, "svd": 100}
# the code whose edit retrains a tiny VAE: the architecture and coding path, this trainer, its loss and data reader
TRAINING_SOURCES = ("adapters.diffusers_vae", "benchmarks.provisioning.tiny_vae", "pyratok.image_quality",
                    "pyratok.data")


@dataclass
class TinyRecipe:
    """How a tiny VAE is trained here (the stage-0 objective of ``pyratok.train.stage0``; see the module docstring).

    lr: 1e-3, not stage 0's 1e-4: with a budget of 100-400 steps the tiny models are far from converged. Measured
    while writing this module (wan2.2, 100 steps, PSNR of the posterior-mean reconstruction on 16 held-out val
    clips): lr 1e-4 13.5 dB, 3e-4 14.6, 1e-3 14.5, 2e-3 14.7 — 1e-4 is too slow for this budget, 3e-4..2e-3 a
    plateau; 1e-3 sits in it."""

    arch: str
    steps: int
    frames: int
    size: int = TINY_SIZE
    batch_size: int = 2
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.01
    warmup_steps: int = 20
    grad_clip: float = 1.0
    l1_weight: float = 1.0
    ssim_weight: float = 1.0
    kl_weight: float = 1e-6
    init_logvar: float = -8.0
    seed: int = 0
    log_every: int = 10


def tiny_recipe(arch: str, **overrides) -> TinyRecipe:
    """The default recipe of ``arch``: :data:`TINY_STEPS` steps on clips of the longest valid length <= 9."""
    check_arch(arch)
    return TinyRecipe(**{"arch": arch, "steps": TINY_STEPS[arch], "frames": TINY_FRAMES[arch], **overrides})


def load_training_clips(data_root: Path, split: str = "train", size: int = TINY_SIZE,
                        log: Callable[[str], None] | None = print) -> Tensor:
    """Every video of the WebVid-format ``split`` decoded whole, short side resized to ``size``, centre crop ->
    (N, T_all, size, size, 3) uint8 (T_all: the shortest video's length). Videos that fail to decode are
    skipped and logged (file + reason); none decoding is an error."""
    from pyratok.data.errors import SampleDecodeError
    from pyratok.data.pairs import load_pairs
    from pyratok.data.video import read_frames

    csv = Path(data_root) / f"results_10M_{split}.csv"
    pairs = load_pairs(csv, Path(data_root) / "videos")
    clips, failed = [], []
    for p in pairs:
        try:
            clips.append(torch.from_numpy(read_frames(p.path, size=size, crop="center")))
        except SampleDecodeError as err:
            failed.append((p.path, str(err)))
            if log:
                log(f"[diffusers-vae] skipping {p.path}: {err}")
    if not clips:
        raise RuntimeError(f"no video of {csv} could be decoded ({len(failed)} failed; first: "
                           f"{failed[0] if failed else 'the CSV lists no videos'})")
    t = min(c.shape[0] for c in clips)
    return torch.stack([c[:t] for c in clips])


def _moment_bias(vae, arch: str) -> Tensor | None:
    """The bias of the layer whose output channels are [mean | logvar] (None for Mochi: that layer has no bias)."""
    if arch in ("wan2.1", "wan2.2", "svd"):
        return vae.quant_conv.bias
    if arch == "cogvideox":
        return (vae.quant_conv if vae.quant_conv is not None else vae.encoder.conv_out.conv).bias
    return None


@torch.no_grad()
def init_logvar(vae, arch: str, video: Tensor, value: float) -> None:
    """Start the posterior log-variance near ``value`` (see the module docstring)."""
    bias = _moment_bias(vae, arch)
    if bias is not None:
        bias[bias.shape[0] // 2:] = value
        return
    # Mochi: logvar = W_lv h (no bias). Data-dependent init on the first batch: with a = mean of h, shift each
    # logvar row along a so that W_lv a = value, keeping the random part orthogonal to a.
    proj = vae.encoder.proj_out
    seen: list[Tensor] = []
    handle = proj.register_forward_hook(lambda _m, args, _o: seen.append(args[0].detach()))
    try:
        vae.encode(video)
    finally:
        handle.remove()
    a = seen[0].reshape(-1, seen[0].shape[-1]).mean(0)
    half = proj.weight.shape[0] // 2
    w = proj.weight[half:]
    w -= ((w @ a - value) / a.dot(a).clamp_min(1e-12))[:, None] * a[None, :]


def _vae_loss(vae, arch: str, video: Tensor, recipe: TinyRecipe, generator: torch.Generator):
    from pyratok.image_quality import ssim, video_to_frames

    dist = posterior(vae, arch, video)
    z = dist.sample(generator=generator)
    if arch == "svd":
        z = frames_to_clip(z, video.shape[0])
    recon = decode_latent(vae, arch, z)
    l1 = (recon - video).abs().mean()
    s = 1 - ssim((video_to_frames(recon) + 1) / 2, (video_to_frames(video) + 1) / 2, data_range=1.0)
    mean, logvar = dist.mean.float(), dist.logvar.float()
    kl_terms = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar)
    kl = kl_terms.sum() / video.shape[0] / video[0].numel()  # per sample, per input value (stage 0's balance)
    loss = recipe.l1_weight * l1 + recipe.ssim_weight * s + recipe.kl_weight * kl
    with torch.no_grad():
        mse = ((recon.clamp(-1, 1) - video) / 2).pow(2).flatten(1).mean(1)
        psnr = (-10 * torch.log10(mse.clamp_min(1e-12))).mean()
    return loss, {"loss": loss.item(), "l1": l1.item(), "ssim_loss": s.item(), "kl": kl.item(), "psnr": psnr.item()}


def train_tiny_vae(recipe: TinyRecipe, clips: Tensor, out_dir: Path | None = None,
                   log: Callable[[str], None] | None = print):
    """Train the tiny config of ``recipe.arch`` from random init on ``clips`` ((N, T_all, H, W, 3) uint8) on one
    thread; write ``save_pretrained`` files and ``train_log.json`` into ``out_dir`` if given. Returns the VAE."""
    cls = vae_class(recipe.arch)
    n, t_all = clips.shape[:2]
    if t_all < recipe.frames or clips.shape[2] != recipe.size or clips.shape[3] != recipe.size:
        raise ValueError(f"training clips {tuple(clips.shape)} do not fit the recipe ({recipe.frames} frames of "
                         f"{recipe.size}x{recipe.size})")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(recipe.seed)
        vae = cls(**tiny_config(recipe.arch))
        vae.train()
        vae.requires_grad_(True)
        gen = torch.Generator().manual_seed(recipe.seed)

        def batch() -> Tensor:
            idx = torch.randint(n, (recipe.batch_size,), generator=gen)
            start = torch.randint(t_all - recipe.frames + 1, (recipe.batch_size,), generator=gen)
            frames = torch.stack([clips[i, s:s + recipe.frames] for i, s in zip(idx.tolist(), start.tolist())])
            return frames.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)  # (B, 3, T, H, W) in [-1, 1]

        first = batch()
        init_logvar(vae, recipe.arch, first, recipe.init_logvar)
        opt = torch.optim.AdamW(vae.parameters(), lr=recipe.lr, betas=tuple(recipe.betas),
                                weight_decay=recipe.weight_decay)

        def lr_at(step: int) -> float:
            if step < recipe.warmup_steps:
                return (step + 1) / recipe.warmup_steps
            prog = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * prog))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        history, t0 = [], time.time()
        video = first
        for step in range(recipe.steps):
            if step:
                video = batch()
            loss, logs = _vae_loss(vae, recipe.arch, video, recipe, gen)
            if not math.isfinite(logs["loss"]):
                raise FloatingPointError(f"{recipe.arch} tiny VAE: loss is {logs['loss']} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), recipe.grad_clip)
            opt.step()
            sched.step()
            if step % recipe.log_every == 0 or step == recipe.steps - 1:
                history.append({"step": step, **{k: round(v, 5) for k, v in logs.items()},
                                "seconds": round(time.time() - t0, 1)})
                if log and (step % (10 * recipe.log_every) == 0 or step == recipe.steps - 1):
                    log(f"[diffusers-vae] {recipe.arch} step {step}/{recipe.steps} loss {logs['loss']:.4f} "
                        f"psnr {logs['psnr']:.2f} ({time.time() - t0:.0f} s)")
        vae.eval()
        if out_dir is not None:
            out_dir = Path(out_dir)
            vae.save_pretrained(str(out_dir), safe_serialization=True)
            (out_dir / "train_log.json").write_text(json.dumps(
                {"recipe": dataclasses.asdict(recipe), "seconds": round(time.time() - t0, 1), "clips": int(n),
                 "history": history}, indent=1))
        return vae
    finally:
        torch.set_num_threads(threads)


def trained_vae_dir(arch: str, log=print) -> Path:
    """The ``save_pretrained`` folder of ``arch``'s tiny VAE trained here (trained once, then cached), keyed on its
    recipe and the digest of :data:`TRAINING_SOURCES`."""
    data = default_training_data()
    recipe = tiny_recipe(arch)
    identity = {"recipe": "diffusers-vae-tiny", "class": CLASS_NAMES[arch], "config": tiny_config(arch),
                "train": dataclasses.asdict(recipe), "data": str(data), "diffusers": _diffusers_version()}

    def build_artifact(folder: Path) -> None:
        clips = load_training_clips(data, "train", recipe.size, log)
        train_tiny_vae(recipe, clips, folder, log)

    return trained_artifact(f"diffusers-vae-{arch}", identity, build_artifact, TRAINING_SOURCES, log=log)


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__
