"""Per-step training metrics to JSONL and TensorBoard (rank 0 only).

``metrics.jsonl``: one JSON object per logged step, ``{"step", "stage", "time", <name>: value, ...}`` with every
loss term (``loss``, ``recon``, ``recon/l1``, ``codebook/entropy``, ...), ``psnr``, per-level
``utilization/levelL`` and ``entropy/{per_sample,codebook}/levelL``, ``lr``, ``grad_norm``, ``steps_per_s``;
validation rows carry ``val/...`` keys. TensorBoard events go to ``tb/`` with the same names.

On resume the log is cut back to the checkpoint's step (lines of steps that were logged after the checkpoint by
the interrupted run are dropped, and TensorBoard gets ``purge_step``), so curves have one value per step.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

__all__ = ["MetricsLogger", "read_metrics"]


def _finite(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


class MetricsLogger:
    def __init__(self, out_dir: str | Path, stage: str, enabled: bool = True, resume_step: int | None = None,
                 tensorboard: bool = True):
        self.enabled = enabled
        self.stage = stage
        self.path = Path(out_dir) / "metrics.jsonl"
        self.tb = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.is_file():
            kept = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and json.loads(ln).get("step", 0) <= resume_step]
            tmp = self.path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(ln + "\n" for ln in kept))
            tmp.replace(self.path)
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(Path(out_dir) / "tb"), purge_step=resume_step)
            except Exception as err:  # tensorboard missing or broken: JSONL still has everything
                import logging
                logging.getLogger("pyratok.train").warning("TensorBoard logging off: %s", err)

    def log(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": int(step), "stage": self.stage, "time": time.time()}
        row.update({k: (float(v) if _finite(float(v)) is not None else None) for k, v in values.items()})
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                if _finite(float(v)) is not None:
                    self.tb.add_scalar(k, float(v), step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.flush()
            self.tb.close()
            self.tb = None


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a metrics.jsonl file."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    return [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]
