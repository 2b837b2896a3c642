"""The training recipe every trained-here PyraTok shares: the CI gate's.

``TrainConfig.tiny()`` (the paper's three stages at smoke scale, :mod:`pyratok.train.config`) on the synthetic
WebVid-format set of :mod:`benchmarks.provisioning.training_data`, with stage 2 shortened to
:data:`STAGE2_STEPS` so that the gate fits a CI budget. The CI gate (``python -m benchmarks.tools.ci_gate``), the
tiny-model report and every trained-here PyraTok variant and quantizer baseline use this one function, so their
numbers describe the same training.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["gate_config", "SEED", "STAGE2_STEPS", "GATE_CLIPS"]

SEED = 0
STAGE2_STEPS = 10      # stage 2 (adds L_AR) shortened from the tiny config's budget: CI minutes
GATE_CLIPS = 64        # synthetic val clips; the train split is 4x (256): fewer over-fit the tiny VAE


def gate_config(data_root: Path, seed: int = SEED):
    """``TrainConfig.tiny()`` reading the WebVid-format set at ``data_root`` (``results_10M_{train,val}.csv``,
    ``videos/``), seeded with ``seed``, stage 2 shortened to :data:`STAGE2_STEPS` (validation and checkpoint once,
    at its end)."""
    from pyratok.train.config import TrainConfig

    data_root = Path(data_root)
    cfg = TrainConfig.tiny()
    cfg.seed = seed
    cfg.data.train_csv = str(data_root / "results_10M_train.csv")
    cfg.data.val_csv = str(data_root / "results_10M_val.csv")
    cfg.data.video_root = str(data_root / "videos")
    cfg.stage2.steps = STAGE2_STEPS
    cfg.stage2.val_every = cfg.stage2.ckpt_every = STAGE2_STEPS
    return cfg
