"""Exact resume: a run stopped after k steps and resumed to n gives the per-step losses of an uninterrupted n-step run.

Covers stage 0 (tiny VAE) and stage 1 (PyraTok with masking, LaPQ, drift: every random draw of the step) on CPU in
fp32. The reference is an independent uninterrupted run of the same config, not the resumed run's own output.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pyratok.data.video import write_video
from pyratok.train.checkpoint import CheckpointManager
from pyratok.train.config import TrainConfig
from pyratok.train.metrics_log import read_metrics
from pyratok.train.pipeline import run_training

N_STEPS, STOP = 5, 2
VOLATILE = {"time", "steps_per_s"}


def _videos(root, n=6, frames=12, size=32, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["path,caption"]
    for i in range(n):
        base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        clip = np.stack([np.roll(base, 2 * t, axis=1) for t in range(frames)])  # texture moving right
        write_video(root / f"v{i}.mp4", clip, fps=8)
        rows.append(f"v{i}.mp4,a texture number {i} moves right")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root / "pairs.csv"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    return _videos(root), root


def _cfg(csv, root) -> TrainConfig:
    cfg = TrainConfig.tiny()
    cfg.data.train_csv, cfg.data.video_root, cfg.data.val_csv = str(csv), str(root), str(csv)
    cfg.data.resolutions, cfg.data.frames, cfg.data.batch_size, cfg.data.num_workers = [32], [5], 2, 0
    cfg.data.val_resolution, cfg.data.val_frames, cfg.data.val_batches = 32, 5, 1
    for s in (cfg.stage0, cfg.stage1):
        s.steps, s.warmup_steps, s.val_every, s.ckpt_every, s.keep_last = N_STEPS, 1, 2, 100, 2
    return cfg


def _losses(stage_dir):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in read_metrics(stage_dir)]


def _compare(ref, got):
    assert [r["step"] for r in got] == list(range(1, N_STEPS + 1))
    for a, b in zip(ref, got):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-7), (a["step"], k)
            else:
                assert a[k] == b[k], (a["step"], k)


@pytest.fixture(scope="module")
def stage0_runs(data, tmp_path_factory):
    csv, root = data
    full = tmp_path_factory.mktemp("full")
    run_training(_cfg(csv, root), full, stages=[0], progress=False)
    part = tmp_path_factory.mktemp("part")
    run_training(_cfg(csv, root), part, stages=[0], progress=False, stop_after=STOP)
    assert CheckpointManager(part / "stage0" / "checkpoints").latest().name == f"step_{STOP:08d}"
    assert not (part / "stage0" / "final").exists()
    run_training(_cfg(csv, root), part, stages=[0], progress=False, resume=True)
    return full, part


def test_stage0_resume_matches_uninterrupted(stage0_runs):
    full, part = stage0_runs
    ref, got = _losses(full / "stage0"), _losses(part / "stage0")
    assert len({round(r["loss"], 6) for r in ref}) == N_STEPS  # the loss really changes from step to step
    _compare(ref, got)
    # the final weights agree too
    from safetensors.torch import load_file
    a = load_file(str(full / "stage0" / "final" / "diffusion_pytorch_model.safetensors"))
    b = load_file(str(part / "stage0" / "final" / "diffusion_pytorch_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_stage1_resume_matches_uninterrupted(data, stage0_runs, tmp_path):
    csv, root = data
    vae = stage0_runs[0] / "stage0" / "final"
    full, part = tmp_path / "full", tmp_path / "part"
    run_training(_cfg(csv, root), full, stages=[1], init=str(vae), progress=False)
    run_training(_cfg(csv, root), part, stages=[1], init=str(vae), progress=False, stop_after=STOP)
    run_training(_cfg(csv, root), part, stages=[1], init=str(vae), progress=False, resume=True)
    ref, got = _losses(full / "stage1"), _losses(part / "stage1")
    for key in ("loss", "recon", "codebook/entropy", "codebook/commitment", "drift", "psnr", "utilization/level1",
                "entropy/codebook/level4"):
        assert key in ref[0], key
    assert "ar" not in ref[0]  # stage 1: every loss except L_AR
    _compare(ref, got)


def test_checkpoints_keep_last_and_best(stage0_runs):
    full, _ = stage0_runs
    ck = full / "stage0" / "checkpoints"
    assert [p.name for p in CheckpointManager(ck).checkpoints()] == [f"step_{N_STEPS:08d}"]  # ckpt_every=100
    best = json.loads((ck / "best.json").read_text())
    vals = {r["step"]: r["val/psnr"] for r in read_metrics(full / "stage0") if "val/psnr" in r}
    assert best["value"] == pytest.approx(vals[N_STEPS])  # the only checkpoint with a validation metric
    assert (ck / "best" / "diffusion_pytorch_model.safetensors").is_file()
    summary = json.loads((full / "stage0" / "summary.json").read_text())
    assert summary["steps"] == N_STEPS and summary["failures"] == 0


def test_keep_last_prunes_and_best_tracks_max(tmp_path):
    """CheckpointManager alone: keep the last 2, best by max metric, latest pointer, no tmp folders left."""
    lin = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(lin.parameters())

    def write(d):
        (d / "w.txt").write_text("x")

    m = CheckpointManager(tmp_path, keep_last=2)
    for step, metric in [(1, 10.0), (2, 12.0), (3, 11.0), (4, None)]:
        m.save(step, write, opt, None, {"data_position": {"epoch": 0, "batch": step}}, metric)
    assert [p.name for p in m.checkpoints()] == ["step_00000003", "step_00000004"]
    assert m.latest().name == "step_00000004"
    assert json.loads((tmp_path / "best.json").read_text())["step"] == 2
    assert not list(tmp_path.glob(".tmp-*"))
    state = CheckpointManager.load(m.latest(), opt, rng=False)
    assert state["data_position"] == {"epoch": 0, "batch": 4} and state["best_value"] == 12.0
