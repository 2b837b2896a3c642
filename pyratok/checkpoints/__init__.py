"""Trained tiny checkpoints that ship with the package (package data), so a first run does not retrain them.

Each checkpoint is a folder ``pyratok/checkpoints/<name>/`` holding the weights (safetensors, in the format its
loader reads), ``PROVENANCE.json`` and ``training_log.jsonl``. PROVENANCE.json records what produced it — the
command, the full training config, the seed, the digest of the training data and of the training code, the
package versions — and what it measured on a few fixed clips (``measured``: PSNR per clip on the data named there),
so ``tests/test_shipped_checkpoints.py`` can load it and re-measure. The builder is
``python -m benchmarks.tools.build_checkpoints`` (it writes these folders); ``--retrain-checkpoints`` on
``benchmarks.run`` (or ``PYRATOK_RETRAIN_CHECKPOINTS=1``) trains them afresh instead of using the shipped copies.

Shipped (all measured here on CPU; sizes in :data:`MAX_TOTAL_BYTES`):

* ``tiny-wan-vae``: the tiny Wan 2.2-architecture VAE of :meth:`pyratok.PyraTokConfig.tiny`
  (:func:`pyratok.backbones.wan.tiny_vae_config`), trained by stage 0 of :meth:`pyratok.train.TrainConfig.tiny`;
  a diffusers ``AutoencoderKLWan`` directory (``config.json`` + ``diffusion_pytorch_model.safetensors``), the
  frozen backbone every trained-here PyraTok starts from, as Wan 2.2 is in the paper.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CHECKPOINTS", "checkpoint_dir", "provenance", "shipped", "retrain_requested", "MAX_TOTAL_BYTES", "ROOT",
           "RETRAIN_ENV"]

ROOT = Path(__file__).resolve().parent
MAX_TOTAL_BYTES = 25 * 2**20      # the budget for everything shipped here (25 MB)
RETRAIN_ENV = "PYRATOK_RETRAIN_CHECKPOINTS"

CHECKPOINTS: dict[str, str] = {
    "tiny-wan-vae": "tiny Wan 2.2-architecture VAE (diffusers AutoencoderKLWan directory), stage 0 of TrainConfig.tiny()",
}


def _check(name: str) -> None:
    if name not in CHECKPOINTS:
        import difflib

        close = difflib.get_close_matches(name, list(CHECKPOINTS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no shipped checkpoint {name!r}{hint} (shipped: {', '.join(sorted(CHECKPOINTS))})")


def shipped(name: str) -> bool:
    """Whether checkpoint ``name`` is present in this installation (its PROVENANCE.json exists)."""
    _check(name)
    return (ROOT / name / "PROVENANCE.json").is_file()


def checkpoint_dir(name: str) -> Path:
    """The folder of shipped checkpoint ``name``; a clear error when it is not in this installation."""
    _check(name)
    d = ROOT / name
    if not shipped(name):
        raise FileNotFoundError(f"shipped checkpoint {name!r} is missing from {d} (build it with "
                                "`python -m benchmarks.tools.build_checkpoints`, or retrain with --retrain-checkpoints)")
    return d


def provenance(name: str) -> dict:
    """PROVENANCE.json of ``name`` (command, config, seed, data and code digests, measured metrics)."""
    return json.loads((checkpoint_dir(name) / "PROVENANCE.json").read_text())


def retrain_requested() -> bool:
    """True when ``PYRATOK_RETRAIN_CHECKPOINTS`` is set to 1/true/yes (``benchmarks.run --retrain-checkpoints``)."""
    import os

    return os.environ.get(RETRAIN_ENV, "").strip().lower() in ("1", "true", "yes")
