"""Training, saving and loading the token prior (:class:`~benchmarks.generation.prior.TokenPrior`).

Training reuses the project trainer's pieces where they fit: the warm-up + cosine schedule of
:func:`pyratok.train.loop.cosine_schedule` (App. D's "cosine annealing"), AdamW, gradient clipping, bf16 autocast
on CUDA. The full stage loop of :mod:`pyratok.train.loop` is built around video batches, validation by
reconstruction and resumable stage folders; a prior trained on a few thousand cached token sequences needs none of
that, so the loop here is a dozen lines. Weight decay applies to matrices only (not to biases, LayerNorms or the
null-condition vector), as in GPT-2-style recipes.

Every step draws ``batch_size`` sequences (without replacement inside an epoch, seeded by ``config.seed``) and
replaces each one's condition by the null condition with probability ``config.cond_dropout`` (classifier-free
guidance training).

Checkpoint (a folder): ``prior.safetensors`` (weights) and ``prior.json`` (config, spec, training history, any
extra metadata). :func:`load_prior` rebuilds the module from them.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .prior import PriorCondition, PriorConfig, PriorSpec, TokenPrior

__all__ = ["TokenDataset", "train_prior", "save_prior", "load_prior", "WEIGHTS_NAME", "META_NAME"]

WEIGHTS_NAME = "prior.safetensors"
META_NAME = "prior.json"


@dataclass
class TokenDataset:
    """Training sequences: ``ids (N, num_visual)`` int64 in layout order and their conditions
    (:class:`PriorCondition` with N rows, or ``batch=N`` for an unconditional prior)."""

    ids: Tensor
    cond: PriorCondition

    def __post_init__(self):
        if self.ids.dim() != 2:
            raise ValueError(f"TokenDataset.ids must be (N, num_visual), got {tuple(self.ids.shape)}")
        if self.cond.batch_size != self.ids.shape[0]:
            raise ValueError(f"{self.ids.shape[0]} sequences but {self.cond.batch_size} conditions")

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _param_groups(model: TokenPrior, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_matrix = p.dim() >= 2 and not name.startswith(("pos.", "segment.", "special_in."))
        (decay if is_matrix else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train_prior(model: TokenPrior, data: TokenDataset, config: PriorConfig | None = None, *, log=None,
                progress: bool = False) -> dict:
    """Train ``model`` in place for ``config.steps`` AdamW steps. Returns ``{"loss": [per-step NLL (nats per
    visual token)], "steps", "seconds", "sequences"}``. The model stays on its device (CUDA: bf16 autocast)."""
    from tqdm.auto import tqdm

    from pyratok.train.loop import cosine_schedule

    cfg = config or model.config
    if len(data) == 0:
        raise ValueError("cannot train a prior on 0 sequences")
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(int(cfg.seed))
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas))
    sched = cosine_schedule(opt, cfg.steps, min(cfg.warmup_steps, max(0, cfg.steps - 1)), cfg.min_lr_ratio)
    use_amp = device.type == "cuda"
    batch = min(cfg.batch_size, len(data))
    order, cursor = torch.randperm(len(data), generator=gen), 0
    history: list[float] = []
    model.train()
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.steps), desc="training prior", disable=not progress, leave=False)
    for step in bar:
        if cursor + batch > len(data):
            order, cursor = torch.randperm(len(data), generator=gen), 0
        idx = order[cursor:cursor + batch]
        cursor += batch
        drop = torch.rand(batch, generator=gen) < cfg.cond_dropout
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = model.loss(data.ids[idx].to(device), data.cond.index(idx).to(device), drop.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if torch.isfinite(norm):  # as the project trainer: a non-finite step is skipped, not applied
            opt.step()
        sched.step()
        history.append(float(loss.detach()))
        if progress:
            bar.set_postfix(loss=f"{history[-1]:.3f}")
        if log and (step % max(1, cfg.steps // 10) == 0 or step == cfg.steps - 1):
            log(f"[prior] step {step + 1}/{cfg.steps} loss {history[-1]:.4f} nats/token")
    model.eval()
    return {"loss": history, "steps": cfg.steps, "seconds": round(time.perf_counter() - t0, 3),
            "sequences": len(data)}


def save_prior(model: TokenPrior, directory: str | Path, extra: dict | None = None) -> Path:
    """Write ``prior.safetensors`` + ``prior.json`` into ``directory`` (each atomically). Returns the folder."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = d / f".{WEIGHTS_NAME}.{os.getpid()}.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, d / WEIGHTS_NAME)
    meta = {"config": model.config.to_dict(), "spec": model.spec.to_dict(), "params": model.num_params(),
            **(extra or {})}
    tmp = d / f".{META_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=1, default=_json_default) + "\n")
    os.replace(tmp, d / META_NAME)
    return d


def _json_default(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Tensor):
        return x.tolist()
    return str(x)


def load_prior(directory: str | Path, device: str | torch.device = "cpu") -> TokenPrior:
    """Rebuild a prior saved by :func:`save_prior`. Raises FileNotFoundError / ValueError naming the file."""
    from safetensors.torch import load_file

    d = Path(directory)
    meta_path, weights = d / META_NAME, d / WEIGHTS_NAME
    for p in (meta_path, weights):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: prior checkpoint file missing")
    try:
        meta = json.loads(meta_path.read_text())
        model = TokenPrior(PriorConfig.from_dict(meta["config"]), PriorSpec.from_dict(meta["spec"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{meta_path}: not a prior description ({exc})") from exc
    try:
        model.load_state_dict(load_file(str(weights)), strict=True)
    except Exception as exc:  # SafetensorError, size mismatch
        raise ValueError(f"{weights}: weights do not fit the prior described in {META_NAME} ({exc})") from exc
    return model.to(device).eval()
