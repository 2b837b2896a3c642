"""The CI gate's decision: hand-worked comparisons, and a deliberately broken tokenizer failing the gate.

The sabotage test trains a small tokenizer with the real pipeline (stage 0 + stage 1 on 32x32 single frames of
flat colours, which a couple of hundred steps learn), takes its PSNR as the baseline, and checks that the gate's evaluation of the same
model with LaPQ's output zeroed / the LFQ sign flipped in the decoder path falls outside the tolerance.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks.tools.ci_gate import DEFAULT_TOLERANCE_DB, compare, evaluate_model, sabotage
from pyratok.data.video import frames_to_tensor, write_video
from pyratok.model import PyraTok
from pyratok.train.config import TrainConfig
from pyratok.train.pipeline import run_training


def test_compare_hand_worked():
    base = {"psnr": {"synthetic": 20.0, "real": 15.0}}
    ok, lines = compare({"synthetic": {"psnr": 19.6}, "real": {"psnr": 15.2}}, base, 0.5)
    assert ok and len(lines) == 2
    ok, lines = compare({"synthetic": {"psnr": 19.4}, "real": {"psnr": 15.2}}, base, 0.5)
    assert not ok and lines[0].startswith("FAIL synthetic") and "-0.600" in lines[0]
    ok, _ = compare({"synthetic": {"psnr": 25.0}, "real": {"psnr": None}}, base, 0.5)
    assert not ok  # a split in the baseline that was not measured fails
    ok, _ = compare({"synthetic": {"psnr": 25.0}}, {"psnr": {}}, 0.5)
    assert not ok  # an empty baseline never passes


def _flat_clips(root, n, seed, size=32, frames=8):
    rng = np.random.default_rng(seed)
    rows, clips = ["path,caption"], []
    for i in range(n):
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        w = np.linspace(0, 1, frames)[:, None, None, None]
        f = np.broadcast_to(((1 - w) * c0 + w * c1)[:, :, :, :], (frames, size, size, 3)).round().astype(np.uint8)
        write_video(root / f"c{i}.mp4", np.ascontiguousarray(f), fps=8)
        rows.append(f"c{i}.mp4,a colour fading")
        clips.append((frames_to_tensor(np.ascontiguousarray(f[:1])), "a colour fading", str(root / f"c{i}.mp4")))
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root / "pairs.csv", clips


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate_data")
    csv, clips = _flat_clips(root, 16, seed=0, size=16)
    cfg = TrainConfig.tiny()
    cfg.data.train_csv, cfg.data.video_root = str(csv), str(root)
    # 16x16 single frames (T = 1 + 4*0, a 1x1 latent) keep it fast; the tiny Wan VAE needs a few hundred steps at
    # the recipe's lr 1e-3 even for flat colours. The gate's evaluation runs on the training clips: what is tested is that a
    # sabotaged tokenizer loses PSNR against the same tokenizer intact, not generalisation.
    cfg.data.resolutions, cfg.data.frames, cfg.data.batch_size, cfg.data.num_workers = [16], [1], 8, 0
    cfg.stage0.steps, cfg.stage0.lr, cfg.stage0.warmup_steps = 400, 1e-3, 5
    cfg.stage1.steps, cfg.stage1.lr, cfg.stage1.warmup_steps = 60, 5e-4, 3
    out = tmp_path_factory.mktemp("gate_run")
    torch.set_num_threads(1)
    run_training(cfg, out, stages=[0, 1], progress=False)
    return out / "stage1" / "final", clips


@pytest.mark.slow  # ~1 minute: trains a (very) small tokenizer
@pytest.mark.parametrize("kind", ["zero-lapq", "flip-lfq"])
def test_sabotaged_model_fails_the_gate(trained, kind):
    final, clips = trained
    good = evaluate_model(PyraTok.from_pretrained(final), clips)
    baseline = {"psnr": {"synthetic": good["psnr"]}}
    ok, _ = compare({"synthetic": good}, baseline, DEFAULT_TOLERANCE_DB)
    assert ok
    broken_model = PyraTok.from_pretrained(final)
    sabotage(broken_model, kind)
    broken = evaluate_model(broken_model, clips)
    ok, lines = compare({"synthetic": broken}, baseline, DEFAULT_TOLERANCE_DB)
    assert not ok, (good, broken, lines)
