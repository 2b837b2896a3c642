"""Training checkpoints: atomic, resumable to the exact step, the last N and the best kept.

Layout of a stage's checkpoint folder::

    checkpoints/
      step_00000120/            one checkpoint (written as .tmp-step_00000120-<pid>, then os.replace'd)
        model.safetensors       weights (safetensors), + config.json for PyraTok models
        optimizer.pt            AdamW and LR-scheduler state (torch.save; loads with weights_only=True)
        rng.pt                  python / numpy / torch (CPU and CUDA) RNG states
        trainer_state.json      step, data position, best metric so far, anything the trainer adds
      latest                    name of the newest complete checkpoint (written to a temp file + os.replace)
      best/                     copy (hard links) of the checkpoint with the best validation metric
      best.json                 {"step", "metric", "value"}

A checkpoint directory appears only when complete (the rename is atomic on POSIX), so a run killed mid-save
leaves at most a ``.tmp-*`` folder, which the next save removes. Resuming restores weights, optimizer, scheduler,
RNG states and the data position; on CPU in fp32 an interrupted-and-resumed run then reproduces the losses of an
uninterrupted run exactly (tests/test_train_resume.py).
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import torch

__all__ = ["CheckpointManager", "capture_rng", "restore_rng", "atomic_write_text", "TRAINER_STATE"]

TRAINER_STATE = "trainer_state.json"
OPTIMIZER_STATE = "optimizer.pt"
RNG_STATE = "rng.pt"


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def capture_rng() -> dict:
    """All RNG states that training draws from, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": random.getstate(),
        "numpy": {"bit_generator": np_state["bit_generator"], "key": torch.from_numpy(np_state["state"]["key"].copy()),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state({"bit_generator": n["bit_generator"], "state": {"key": n["key"].numpy(), "pos": n["pos"]},
                         "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy with hard links where the filesystem allows (checkpoints are never modified in place)."""
    def link_or_copy(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
    shutil.copytree(src, dst, copy_function=link_or_copy)


class CheckpointManager:
    """Saves and finds checkpoints under ``root``; keeps the ``keep_last`` newest and the best one.

    ``mode``: "max" (e.g. PSNR) or "min" (e.g. a loss) for the validation metric that defines "best".
    """

    def __init__(self, root: str | Path, keep_last: int = 3, metric: str = "val/psnr", mode: str = "max"):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.root = Path(root)
        self.keep_last = max(1, int(keep_last))
        self.metric, self.mode = metric, mode
        self.best_value: float | None = None
        best = self.root / "best.json"
        if best.is_file():
            self.best_value = json.loads(best.read_text()).get("value")

    # ------------------------------------------------------------------ saving
    def _better(self, value: float) -> bool:
        if value is None or not np.isfinite(value):
            return False
        if self.best_value is None:
            return True
        return value > self.best_value if self.mode == "max" else value < self.best_value

    def save(self, step: int, write_weights: Callable[[Path], None], optimizer: torch.optim.Optimizer,
             scheduler, state: dict, metric_value: float | None = None) -> Path:
        """Write checkpoint ``step``: ``write_weights(dir)`` writes the model files; ``state`` (JSON-able: data
        position, ...) goes to trainer_state.json. Returns the checkpoint directory."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        name = f"step_{step:08d}"
        tmp = self.root / f".tmp-{name}-{os.getpid()}"
        tmp.mkdir()
        write_weights(tmp)
        torch.save({"optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None}, tmp / OPTIMIZER_STATE)
        torch.save(capture_rng(), tmp / RNG_STATE)
        improved = metric_value is not None and self._better(metric_value)
        if improved:
            self.best_value = float(metric_value)
        full = {**state, "step": step, "metric": self.metric, "metric_value": metric_value,
                "best_value": self.best_value}
        (tmp / TRAINER_STATE).write_text(json.dumps(full, indent=2, sort_keys=True))
        final = self.root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        atomic_write_text(self.root / "latest", name)
        if improved:
            btmp = self.root / f".tmp-best-{os.getpid()}"
            _copy_tree(final, btmp)
            old = self.root / f".old-best-{os.getpid()}"
            if (self.root / "best").exists():
                os.replace(self.root / "best", old)
            os.replace(btmp, self.root / "best")
            shutil.rmtree(old, ignore_errors=True)
            atomic_write_text(self.root / "best.json", json.dumps(
                {"step": step, "metric": self.metric, "value": self.best_value}))
        self._prune()
        return final

    def _prune(self) -> None:
        steps = self.checkpoints()
        for old in steps[:-self.keep_last]:
            shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ loading
    def checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("step_*") if (p / TRAINER_STATE).is_file())

    def latest(self) -> Path | None:
        pointer = self.root / "latest"
        if pointer.is_file():
            p = self.root / pointer.read_text().strip()
            if (p / TRAINER_STATE).is_file():
                return p
        found = self.checkpoints()
        return found[-1] if found else None

    @staticmethod
    def load(path: str | Path, optimizer: torch.optim.Optimizer | None = None, scheduler=None,
             rng: bool = True) -> dict:
        """Restore optimizer / scheduler / RNG from checkpoint ``path`` (weights are the caller's: they know the
        model) and return its trainer state."""
        path = Path(path)
        if not (path / TRAINER_STATE).is_file():
            raise FileNotFoundError(f"{path}: not a complete checkpoint (no {TRAINER_STATE})")
        opt = torch.load(path / OPTIMIZER_STATE, map_location="cpu", weights_only=True)
        if optimizer is not None:
            optimizer.load_state_dict(opt["optimizer"])
        if scheduler is not None and opt["scheduler"] is not None:
            scheduler.load_state_dict(opt["scheduler"])
        if rng:
            restore_rng(torch.load(path / RNG_STATE, map_location="cpu", weights_only=True))
        return json.loads((path / TRAINER_STATE).read_text())
