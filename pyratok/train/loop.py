"""The training loop shared by every stage: AdamW, cosine schedule, gradient accumulation, clipping, bf16 on GPU,
validation, checkpoints, exact resume, JSONL/TensorBoard/tqdm logging.

A stage hands the loop a :class:`StageSpec`: an *objective* module whose ``forward(video, texts)`` returns
``(loss, logs)`` (wrapped in DDP when distributed), the parameters to optimise, how to write/read its weights and how
to reconstruct a clip for validation. The loop knows nothing else about the model, so stage 0 (the tiny VAE) and
stages 1-3 (PyraTok) run through the same code.

One *step* is one optimizer update over ``grad_accum`` micro-batches; ``steps`` in the stage config and every logged
``step`` count updates. The LR schedule is linear warm-up then cosine annealing to ``lr * min_lr_ratio`` (App. D:
"cosine annealing scheduler"). A step whose gradient norm is not finite is skipped (logged, counted), so one bad
batch cannot destroy the weights.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..data.pairs import (BucketBatchSampler, DataPosition, FailureLog, PairDataset, VideoTextPair, make_loader)
from .checkpoint import CheckpointManager, atomic_write_text
from .config import DataConfig, StageConfig
from .distributed import DistContext, all_reduce_mean, autocast, barrier, broadcast_object, no_sync, wrap_model
from .evaluate import evaluate_reconstruction
from .metrics_log import MetricsLogger

__all__ = ["StageSpec", "cosine_schedule", "train_stage", "stage_done", "SUMMARY"]

log = logging.getLogger("pyratok.train")
SUMMARY = "summary.json"


@dataclass
class StageSpec:
    """What a stage gives the loop.

    objective: ``forward(video (B, 3, T, H, W) in [-1, 1], texts: list[str]) -> (loss scalar, logs dict)``;
    params: the parameters AdamW updates; write_weights(dir) / load_weights(dir): the model files of a checkpoint;
    reconstruct(video, texts) -> (B, 3, T, H, W) in [-1, 1], for validation (called under no_grad in eval mode);
    multiple: spatial size every bucket side must be a multiple of (the model's spatial stride);
    extra_validation(batches, device, max_batches) -> {name: float}: more held-out metrics on the validation
    batches (stage 2-3: the per-token L_AR and its uniform reference), logged as ``val/<name>``; None -> none.
    """

    name: str
    objective: nn.Module
    params: list
    write_weights: Callable[[Path], None]
    load_weights: Callable[[Path], None]
    reconstruct: Callable[[Tensor, list], Tensor]
    multiple: int
    extra_validation: Callable | None = None


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0,
                    min_lr_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """lr(step) = lr * warmup ramp (step + 1) / warmup, then lr * [m + (1 - m) (1 + cos(pi * progress)) / 2]."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def stage_done(out_dir: Path) -> bool:
    return (Path(out_dir) / SUMMARY).is_file() and (Path(out_dir) / "final").is_dir()


def _val_batches(pairs: Sequence[VideoTextPair], data: DataConfig, multiple: int):
    sampler = BucketBatchSampler(pairs, batch_size=data.batch_size, resolutions=[data.val_resolution],
                                 frames=[data.val_frames], aspects=data.aspect_ratios, multiple=multiple,
                                 shuffle=False, epochs=1)
    return make_loader(PairDataset(pairs, frame_stride=data.frame_stride), sampler, num_workers=0)


def _validate(spec: StageSpec, val_pairs, data: DataConfig, ctx: DistContext, failures: FailureLog,
              step: int) -> dict:
    """Validation PSNR/SSIM on rank 0; RNG states are forked so validation never shifts the training stream."""
    module = spec.objective
    was_training = module.training
    module.eval()
    def batches():
        for b in _val_batches(val_pairs, data, spec.multiple):
            failures.record(b["failures"], step)
            yield b

    try:
        with torch.random.fork_rng(devices=[ctx.device] if ctx.device.type == "cuda" else []), autocast(ctx):
            res = evaluate_reconstruction(spec.reconstruct, batches(), ctx.device, max_batches=data.val_batches)
            if spec.extra_validation is not None:
                res.update(spec.extra_validation(batches(), ctx.device, data.val_batches))
    finally:
        module.train(was_training)
    return {f"val/{k}": v for k, v in res.items() if v is not None}


def train_stage(spec: StageSpec, cfg: StageConfig, data: DataConfig, ctx: DistContext, out_dir: str | Path,
                train_pairs: Sequence[VideoTextPair], val_pairs: Sequence[VideoTextPair] | None = None,
                seed: int = 0, resume: bool = False, failures: FailureLog | None = None,
                progress: bool = True, stop_after: int | None = None) -> dict:
    """Run (or resume) one stage to ``cfg.steps`` optimizer steps. Returns the stage summary.

    Output under ``out_dir``: checkpoints/, metrics.jsonl, tb/, failures.jsonl, final/ (weights after the last
    step), summary.json. ``stop_after``: stop (after saving a checkpoint) once this step is reached — used by tests
    to simulate an interruption.
    """
    out = Path(out_dir)
    failures = failures or FailureLog(out / "failures.jsonl" if ctx.is_main else None)
    ckpt = CheckpointManager(out / "checkpoints", keep_last=cfg.keep_last, metric="val/psnr", mode="max")
    model = wrap_model(spec.objective, ctx)
    params = [p for p in spec.params if p.requires_grad]
    if not params:
        raise RuntimeError(f"{spec.name}: no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    scheduler = cosine_schedule(optimizer, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)

    step, position = 0, DataPosition()
    latest = ckpt.latest() if resume else None
    if resume and latest is None and (out / "metrics.jsonl").exists():
        log.warning("%s: --resume but no complete checkpoint in %s; starting the stage from step 0",
                    spec.name, ckpt.root)
    if not resume and ckpt.latest() is not None:
        raise FileExistsError(f"{ckpt.root} already holds checkpoints; pass --resume to continue that run or "
                              f"choose a new --out")
    if latest is not None:
        spec.load_weights(latest)
        state = CheckpointManager.load(latest, optimizer, scheduler, rng=True)
        step, position = int(state["step"]), DataPosition.from_state(state["data_position"])
        if ctx.distributed:  # each rank saved only rank 0's RNG; re-derive distinct per-rank streams
            torch.manual_seed(seed + 7919 * step + ctx.rank)
        log.info("%s: resumed from %s (step %d, data epoch %d batch %d)", spec.name, latest, step,
                 position.epoch, position.batch)

    logger = MetricsLogger(out, spec.name, enabled=ctx.is_main, resume_step=step if latest is not None else None)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    sampler = BucketBatchSampler(train_pairs, batch_size=data.batch_size, resolutions=data.resolutions,
                                 frames=data.frames, aspects=data.aspect_ratios, multiple=spec.multiple, seed=seed,
                                 rank=ctx.rank, world_size=ctx.world_size, start=position)
    loader = make_loader(PairDataset(train_pairs, frame_stride=data.frame_stride), sampler,
                         num_workers=data.num_workers)
    batches = iter(loader)

    pbar = None
    if progress and ctx.is_main:
        from tqdm.auto import tqdm
        pbar = tqdm(total=cfg.steps, initial=step, desc=spec.name, dynamic_ncols=True, smoothing=0.1)
    t_start, skipped, last_val = time.time(), 0, {}
    model.train()
    while step < cfg.steps:
        t0 = time.time()
        optimizer.zero_grad(set_to_none=True)
        sums: dict[str, float] = defaultdict(float)
        for micro in range(cfg.grad_accum):
            batch = next(batches)
            failures.record(batch["failures"], step)
            if batch["video"] is None:
                raise RuntimeError(f"{spec.name}: every sample of batch {batch['position']} failed to load; see "
                                   f"the failures above ({len(failures)} so far)")
            position = DataPosition(batch["position"][0], batch["position"][1] + 1)
            video = batch["video"].to(ctx.device, non_blocking=True)
            with no_sync(model, micro < cfg.grad_accum - 1), autocast(ctx):
                loss, logs = model(video, batch["texts"])
            (loss / cfg.grad_accum).backward()
            for k, v in logs.items():
                sums[k] += float(v) / cfg.grad_accum
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
        if torch.isfinite(grad_norm):
            optimizer.step()
        else:
            skipped += 1
            optimizer.zero_grad(set_to_none=True)
            log.warning("%s step %d: non-finite gradient norm, update skipped (%d so far)", spec.name, step, skipped)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        step += 1

        row = all_reduce_mean(dict(sums), ctx)
        row.update({"lr": lr, "grad_norm": float(grad_norm), "steps_per_s": 1.0 / max(time.time() - t0, 1e-9),
                    "data/failures": float(len(failures)), "data/epoch": float(position.epoch)})
        val = {}
        if val_pairs and (step % cfg.val_every == 0 or step == cfg.steps):
            if ctx.is_main:
                val = _validate(spec, val_pairs, data, ctx, failures, step)
            val = broadcast_object(val, ctx)
            last_val = val
            row.update(val)
        if step % cfg.log_every == 0 or step == cfg.steps or val:
            logger.log(step, row)
        if pbar is not None:
            pbar.update(1)
            pbar.set_postfix(loss=f"{row.get('loss', float('nan')):.4f}", psnr=f"{row.get('psnr', float('nan')):.2f}")
        stop = stop_after is not None and step >= stop_after
        if step % cfg.ckpt_every == 0 or step == cfg.steps or stop:
            if ctx.is_main:
                ckpt.save(step, spec.write_weights, optimizer, scheduler,
                          {"stage": spec.name, "data_position": position.state_dict(), "seed": seed,
                           "world_size": ctx.world_size, "skipped_steps": skipped},
                          metric_value=val.get("val/psnr"))
            barrier(ctx)
        if stop:
            break
    if pbar is not None:
        pbar.close()
    logger.close()
    seconds = time.time() - t_start
    summary = {"stage": spec.name, "steps": step, "target_steps": cfg.steps, "seconds": seconds,
               "steps_per_s": (step - (int(latest.name.split("_")[1]) if latest else 0)) / max(seconds, 1e-9),
               "skipped_steps": skipped, "failures": len(failures), "best_val_psnr": ckpt.best_value, **last_val}
    if step >= cfg.steps and ctx.is_main:
        tmp = out / f".tmp-final-{os.getpid()}"
        if tmp.exists():
            import shutil
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        spec.write_weights(tmp)
        if (out / "final").exists():
            import shutil
            shutil.rmtree(out / "final")
        os.replace(tmp, out / "final")
        atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2, sort_keys=True))
    barrier(ctx)
    return summary
