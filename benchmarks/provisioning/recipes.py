"""The training recipes every trained-here PyraTok shares, and the CI gate's shorter one.

Both are ``TrainConfig.tiny()`` (the paper's stages at smoke scale, :mod:`pyratok.train.config`) on the synthetic
WebVid-format set of :mod:`benchmarks.provisioning.training_data` (captions redacted for zero-shot), starting from
the tiny VAE shipped in :mod:`pyratok.checkpoints` (stage 0 is not rerun):

* :func:`variant_config` — every trained-here PyraTok variant, ablation and quantizer baseline of the benchmarks
  and ``results/train/tiny.md``: stage 1 (200 steps), stage 2 (adds L_AR; :data:`VARIANT_STAGE2_STEPS`) and
  stage 3 (multi-resolution buckets, 20 steps). One budget for all, so variants differ only in their overrides.
* :func:`gate_config` — the CI gate (``python -m benchmarks.tools.ci_gate``): stages 1 and 2 with stage 2 cut to
  :data:`STAGE2_STEPS`, for CI minutes; it still catches the sabotage runs (results/ci/README.md).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["gate_config", "variant_config", "SEED", "STAGE2_STEPS", "VARIANT_STAGE2_STEPS", "VARIANT_STAGES",
           "GATE_STAGES", "GATE_CLIPS"]

SEED = 0
STAGE2_STEPS = 10           # the gate's stage 2 (adds L_AR): CI minutes
VARIANT_STAGE2_STEPS = 50   # the variants' stage 2: L_AR starts learning (held-out NLL in results/train/tiny.md);
                            # 20 variants x 50 steps is ~15 CPU-minutes of the first run
VARIANT_STAGES = (1, 2, 3)
GATE_STAGES = (1, 2)
GATE_CLIPS = 64             # synthetic val clips; the train split is 4x (256): fewer over-fit the tiny VAE


def _tiny(data_root: Path, seed: int):
    from pyratok.train.config import TrainConfig

    data_root = Path(data_root)
    cfg = TrainConfig.tiny()
    cfg.seed = seed
    cfg.data.train_csv = str(data_root / "results_10M_train.csv")
    cfg.data.val_csv = str(data_root / "results_10M_val.csv")
    cfg.data.video_root = str(data_root / "videos")
    return cfg


def gate_config(data_root: Path, seed: int = SEED):
    """``TrainConfig.tiny()`` reading the WebVid-format set at ``data_root`` (``results_10M_{train,val}.csv``,
    ``videos/``), seeded with ``seed``, stage 2 shortened to :data:`STAGE2_STEPS` (validation and checkpoint once,
    at its end). Run with ``stages=GATE_STAGES`` on the shipped VAE."""
    cfg = _tiny(data_root, seed)
    cfg.stage2.steps = STAGE2_STEPS
    cfg.stage2.val_every = cfg.stage2.ckpt_every = STAGE2_STEPS
    return cfg


def variant_config(data_root: Path, seed: int = SEED):
    """``TrainConfig.tiny()`` on the set at ``data_root`` with stage 2 at :data:`VARIANT_STAGE2_STEPS`; run with
    ``stages=VARIANT_STAGES`` on the shipped VAE."""
    cfg = _tiny(data_root, seed)
    cfg.stage2.steps = VARIANT_STAGE2_STEPS
    cfg.stage2.val_every = cfg.stage2.ckpt_every = VARIANT_STAGE2_STEPS
    return cfg
