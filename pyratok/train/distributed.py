"""Data-parallel training through torch.distributed (launch with ``torchrun``), precision and device choice.

    torchrun --nproc_per_node 8 -m pyratok.train --config paper --out runs/x ...                 # one node
    torchrun --nnodes 16 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
        -m pyratok.train --config paper --out runs/x ...                                         # 128 GPUs (App. D)

``torchrun`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and the rendezvous; :func:`init_distributed` reads them,
picks NCCL on CUDA and gloo on CPU, and the model is wrapped in ``DistributedDataParallel``, which averages the
gradients of the ranks. The data sampler gives each rank its slice of one global batch (same bucket on every rank),
so ``world_size`` ranks with batch ``b`` make the same update as one process with batch ``world_size * b`` (tested
with two gloo workers in tests/test_train_distributed.py). Without ``torchrun`` everything runs in one process.

Precision: bf16 autocast on CUDA (App. D trains on A100s; bf16 needs no loss scaling), fp32 on CPU, where bf16
autocast is slow and would break the exact-resume guarantee. Weights, optimizer state and the LFQ entropy terms
stay fp32 (the LFQ casts its own inputs).
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistContext", "init_distributed", "wrap_model", "autocast", "all_reduce_mean", "barrier", "cleanup",
           "broadcast_object"]


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    precision: str = "fp32"   # resolved: "fp32" | "bf16"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(precision: str = "auto", device: str | None = None, timeout_min: int = 30) -> DistContext:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1), else a single-process context.

    ``precision``: "auto" -> bf16 on CUDA, fp32 on CPU; "bf16" on CPU is allowed (slow) but not the default.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo",
                                timeout=datetime.timedelta(minutes=timeout_min))
    if precision == "auto":
        precision = "bf16" if dev.type == "cuda" else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be auto|fp32|bf16, got {precision!r}")
    return DistContext(rank=rank, world_size=world, local_rank=local, device=dev, precision=precision)


def wrap_model(module: nn.Module, ctx: DistContext, find_unused_parameters: bool = True) -> nn.Module:
    """``DistributedDataParallel(module)`` when running on several ranks, else ``module``.

    ``find_unused_parameters`` defaults to True: a stage may leave a trainable parameter without gradient in a step
    (e.g. a term whose weight is zero), which plain DDP treats as a hang-inducing error.
    """
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused_parameters)


def no_sync(module: nn.Module, active: bool):
    """DDP's ``no_sync`` for gradient-accumulation micro-steps (no all-reduce until the last one)."""
    if active and isinstance(module, nn.parallel.DistributedDataParallel):
        return module.no_sync()
    return contextlib.nullcontext()


def autocast(ctx: DistContext):
    """bf16 autocast on CUDA when ``ctx.precision == "bf16"``, a no-op context otherwise."""
    if ctx.precision == "bf16":
        return torch.autocast(device_type=ctx.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def all_reduce_mean(values: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """Mean of scalar logs over ranks (identity in one process). Every rank must pass the same keys."""
    if not ctx.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64,
                     device=ctx.device if ctx.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    t /= ctx.world_size
    return dict(zip(keys, t.tolist()))


def broadcast_object(obj, ctx: DistContext):
    """Rank 0's ``obj`` on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
