"""Data parallelism: two gloo workers with batch b make the same updates as one process with batch 2b.

Runs the real training loop (:func:`pyratok.train.loop.train_stage`: bucketed sampler split by rank, DDP gradient
averaging, AdamW, cosine schedule, clipping, checkpointing on rank 0) with a small 3-D conv autoencoder as the
objective, so it takes seconds. Reference: an independent single-process run on the same data.
"""
from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from pyratok.data.pairs import load_pairs, probe_pairs
from pyratok.data.video import write_video
from pyratok.train.config import DataConfig, StageConfig
from pyratok.train.distributed import DistContext, cleanup, init_distributed
from pyratok.train.loop import StageSpec, train_stage

STEPS = 3


class ConvAE(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.enc = nn.Conv3d(3, 4, 3, padding=1)
        self.dec = nn.Conv3d(4, 3, 1)

    def reconstruct(self, video, texts=None):
        return torch.tanh(self.dec(torch.relu(self.enc(video))))

    def forward(self, video, texts=None):
        loss = (self.reconstruct(video) - video).pow(2).mean()
        return loss, {"loss": loss.detach()}


def _spec(module: ConvAE) -> StageSpec:
    from safetensors.torch import load_file, save_file

    return StageSpec(name="toy", objective=module, params=list(module.parameters()),
                     write_weights=lambda d: save_file(module.state_dict(), str(d / "model.safetensors")),
                     load_weights=lambda d: module.load_state_dict(load_file(str(d / "model.safetensors"))),
                     reconstruct=module.reconstruct, multiple=16)


def _configs(batch: int):
    data = DataConfig(resolutions=[32], frames=[5], frame_stride=1, batch_size=batch, num_workers=0)
    stage = StageConfig(steps=STEPS, lr=1e-2, warmup_steps=1, val_every=100, ckpt_every=100, grad_clip=0.5)
    return data, stage


def _worker(rank: int, world: int, port: int, pairs, out: str, batch: int):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    ctx = init_distributed("fp32", device="cpu")
    try:
        data, stage = _configs(batch)
        train_stage(_spec(ConvAE()), stage, data, ctx, out, pairs, seed=3, progress=False)
    finally:
        cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp_data")
    rng = np.random.default_rng(1)
    rows = ["path,caption"]
    for i in range(6):
        write_video(root / f"v{i}.mp4", rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), fps=8)
        rows.append(f"v{i}.mp4,noise {i}")
    (root / "p.csv").write_text("\n".join(rows) + "\n")
    return probe_pairs(load_pairs(root / "p.csv", root))


def test_two_workers_equal_one_worker_with_double_batch(pairs, tmp_path):
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    data, stage = _configs(4)
    single = ConvAE()
    init = {k: v.clone() for k, v in single.state_dict().items()}
    train_stage(_spec(single), stage, data, DistContext(), tmp_path / "single", pairs, seed=3, progress=False)

    mp.spawn(_worker, args=(2, _free_port(), pairs, str(tmp_path / "ddp"), 2), nprocs=2, join=True)
    ddp = load_file(str(tmp_path / "ddp" / "final" / "model.safetensors"))
    ref = single.state_dict()
    for k in ref:
        assert not torch.allclose(ref[k], init[k])  # training moved the weights
        torch.testing.assert_close(ddp[k], ref[k], rtol=1e-5, atol=1e-6)
