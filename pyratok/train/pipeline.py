"""Run the stages of a :class:`~pyratok.train.config.TrainConfig` one after another into one output folder.

    <out>/train_config.json     the resolved configuration
    <out>/failures.jsonl        every pair that could not be used (path, reason), from probing and decoding
    <out>/probe_cache.json      frame counts and sizes of the videos (so a restart does not probe again)
    <out>/stage{N}/             checkpoints/, metrics.jsonl, tb/, final/, summary.json (see loop.py)

Stages default to 0, 1, 2, 3 when the model has no pretrained VAE (the tiny embedded default) and 1, 2, 3 when it
has one (the paper). With ``resume`` a finished stage (summary.json + final/) is skipped and an interrupted one
continues from its latest checkpoint.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import random
from pathlib import Path

import numpy as np
import torch

from ..config_utils import ConfigError
from ..data.pairs import FailureLog, load_pairs, probe_pairs
from .config import TrainConfig
from .distributed import DistContext, barrier, init_distributed
from .loop import stage_done, train_stage

__all__ = ["run_training", "seed_everything", "load_data", "deterministic_training"]

log = logging.getLogger("pyratok.train")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_training(enabled: bool, device: torch.device, threads: int = 0):
    """For the duration of training: ``torch.use_deterministic_algorithms(True)`` and, on CPU, ``threads`` intra-op
    threads (0 -> 1 when ``enabled``: a reduction split over a different number of threads sums in a different
    order, so a run's weights would depend on the machine's core count). Both are restored afterwards.

    On CUDA the deterministic mode is ``warn_only`` (some kernels, e.g. trilinear-upsampling backward, have no
    deterministic implementation; they warn instead of failing) and cuBLAS gets a fixed workspace
    (``CUBLAS_WORKSPACE_CONFIG=:4096:8``, as PyTorch's reproducibility notes require)."""
    was_det, was_warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    was_threads = torch.get_num_threads()
    cpu = torch.device(device).type == "cpu"
    try:
        if enabled:
            if not cpu:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=not cpu)
        n = threads or (1 if enabled else 0)
        if cpu and n:
            torch.set_num_threads(n)
        yield
    finally:
        torch.use_deterministic_algorithms(was_det, warn_only=was_warn)
        torch.set_num_threads(was_threads)


def load_data(cfg: TrainConfig, out: Path, ctx: DistContext, failures: FailureLog):
    """(train pairs, val pairs or None), probed. Clear errors for missing paths."""
    d = cfg.data
    if not d.train_csv or not d.video_root:
        raise ConfigError("no training data: pass --data CSV --video-root DIR (or set data.train_csv and "
                          "data.video_root in the config)")
    for what, p in (("training CSV", d.train_csv), ("video root", d.video_root)):
        if not Path(p).exists():
            raise FileNotFoundError(f"{what} not found: {p}")
    cache = out / "probe_cache.json"
    # rank 0 probes first and fills the cache; the others then read it
    if not ctx.is_main:
        barrier(ctx)
    train = probe_pairs(load_pairs(d.train_csv, d.video_root, d.format, failures), failures, cache)
    val = None
    if d.val_csv:
        if not Path(d.val_csv).exists():
            raise FileNotFoundError(f"validation CSV not found: {d.val_csv}")
        val = probe_pairs(load_pairs(d.val_csv, d.val_video_root or d.video_root, d.format, failures), failures,
                          cache)
    if ctx.is_main:
        barrier(ctx)
    if not train:
        raise RuntimeError(f"no usable training pairs in {d.train_csv} ({len(failures)} failures, see "
                           f"{out / 'failures.jsonl'})")
    log.info("data: %d training pairs, %d validation pairs, %d failures", len(train), len(val or []), len(failures))
    return train, val


def run_training(cfg: TrainConfig, out: str | Path, stages: list[int] | None = None, resume: bool = False,
                 steps: int | None = None, init: str | None = None, progress: bool = True,
                 stop_after: int | None = None, ctx: DistContext | None = None, model_hook=None) -> dict:
    """Train the requested stages; returns {stage name: summary}.

    ``model_hook(model)``: called on the PyraTok model of stages 1-3 before training (tests and the CI gate use it
    to inject a deliberate regression)."""
    out = Path(out)
    ctx = ctx or init_distributed(cfg.precision)
    with deterministic_training(cfg.deterministic, ctx.device, cfg.threads):
        return _run(cfg, out, stages, resume, steps, init, progress, stop_after, ctx, model_hook)


def _run(cfg, out, stages, resume, steps, init, progress, stop_after, ctx, model_hook) -> dict:
    from .stage0 import build_stage0
    from .stages import build_pyratok_stage, init_model
    from ..backbones.wan import latent_stride_for

    model_config = cfg.model_config()  # validates the model config before any work
    has_vae = bool(model_config.backbone.pretrained_path)
    if stages is None:
        stages = [1, 2, 3] if has_vae else [0, 1, 2, 3]
    for n in stages:
        cfg.stage(n)
    if 0 in stages and has_vae:
        raise ConfigError("stage 0 trains a VAE from scratch, but the model config loads a pretrained one "
                          f"(backbone.pretrained_path={model_config.backbone.pretrained_path}); start at stage 1")
    if steps is not None:
        for n in stages:
            cfg.stage(n).steps = int(steps)
    if 0 in stages and cfg.stage0.steps <= 0:
        raise ConfigError("the model has no pretrained VAE (backbone.pretrained_path is empty) and stage0.steps is 0: "
                          "give the Wan 2.2 VAE directory (model_overrides.backbone.pretrained_path, as App. D starts "
                          "from it) or set stage0.steps to pre-train a VAE here")
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
    failures = FailureLog(out / "failures.jsonl" if ctx.is_main else None)
    train_pairs, val_pairs = load_data(cfg, out, ctx, failures)

    summaries = {}
    for n in stages:
        stage_out = out / f"stage{n}"
        if resume and stage_done(stage_out):
            log.info("stage%d already finished (%s); skipping", n, stage_out / "summary.json")
            summaries[f"stage{n}"] = json.loads((stage_out / "summary.json").read_text())
            continue
        scfg = cfg.stage(n)
        # model init is seeded per stage and rank; a resumed stage overwrites weights and RNG from its checkpoint
        seed_everything(cfg.seed + 1000 * n + ctx.rank)
        if n == 0:
            vae_config = model_config.backbone.vae_config
            spec = build_stage0(vae_config, scfg, multiple=latent_stride_for(vae_config)[1])
        else:
            model = init_model(model_config, n, out, init if n == stages[0] else None)
            if model_hook is not None:
                model_hook(model)
            spec = build_pyratok_stage(n, model, scfg)
        spec.objective.to(ctx.device)
        summaries[f"stage{n}"] = train_stage(
            spec, scfg, cfg.stage_data(n), ctx, stage_out, train_pairs, val_pairs, seed=cfg.seed + 1000 * n,
            resume=resume, failures=failures, progress=progress, stop_after=stop_after)
    return summaries
