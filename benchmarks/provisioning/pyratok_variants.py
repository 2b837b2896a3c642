"""Trained-here PyraTok variants: the tiny PyraTok, its ablations and the quantizer baselines, on one recipe.

Stage 0 (the tiny Wan-architecture VAE) ships with the package (:mod:`pyratok.checkpoints`; retrained here on
request) and is shared by every variant, as the frozen Wan 2.2 VAE is in the paper; each variant then runs stages 1-3 of one recipe (:func:`~benchmarks.provisioning.recipes.variant_config`) with its model overrides (the ablations of :data:`adapters.pyratok_tokenizer.ABLATIONS`,
the quantizers of :data:`adapters.quantizer_baselines.QUANTIZERS`) on the same data, steps and seed — so variants
differ only in what their overrides change.

Every artifact is keyed on its recipe and on the digest of :data:`TRAINING_SOURCES` (the whole ``pyratok``
package — model, losses, trainer, data pipeline — and the recipe modules): an edit to any of them retrains.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .artifacts import trained_artifact
from .recipes import SEED, VARIANT_STAGES, gate_config, variant_config
from .training_data import default_training_data

__all__ = ["tiny_vae_dir", "train_tiny_variant", "variant_recipe", "stage0_recipe", "weights_digest", "TRAINING_SOURCES"]

TRAINING_SOURCES = ("pyratok", "benchmarks.provisioning.recipes", "benchmarks.provisioning.pyratok_variants")


def _data_dict(cfg) -> dict:
    return cfg.data.to_dict() if hasattr(cfg.data, "to_dict") else dataclasses.asdict(cfg.data)


def _stage0_data_dir(data: Path) -> Path:
    from .cache import cache_root

    return cache_root() / "data" / f"stage0-{Path(data).parent.parent.name}"


def stage0_recipe(data: Path) -> tuple[dict, object]:
    """(recipe of the shared stage-0 tiny VAE, its TrainConfig) when it is retrained here: stage 0 of
    ``TrainConfig.tiny()`` on the stage-0 training set (synthetic clips + real-clip crops) built from ``data`` (the
    set is written by the build, :func:`~benchmarks.provisioning.training_data.ensure_stage0_data`)."""
    cfg = gate_config(data)
    cfg.data.train_csv = str(_stage0_data_dir(data) / "stage0_train.csv")
    cfg.data.video_root = "/"
    cfg.data.val_video_root = str(Path(data) / "videos")
    recipe = {"recipe": "tiny-vae", "stage0": dataclasses.asdict(cfg.stage0), "data": _data_dict(cfg),
              "model": cfg.model, "seed": cfg.seed}
    return recipe, cfg


def tiny_vae_dir(log=print) -> Path:
    """The stage-0 tiny VAE's ``save_pretrained`` folder, shared by every variant: the one shipped with the package
    (:mod:`pyratok.checkpoints`, ``tiny-wan-vae``), or — with ``--retrain-checkpoints`` /
    ``PYRATOK_RETRAIN_CHECKPOINTS=1``, or when it is missing — trained here once by the same recipe (~30 min)."""
    from benchmarks.base import realdata_root
    from pyratok.checkpoints import checkpoint_dir, retrain_requested, shipped
    from pyratok.train.pipeline import run_training

    from .training_data import ensure_stage0_data

    if shipped("tiny-wan-vae") and not retrain_requested():
        return checkpoint_dir("tiny-wan-vae")
    data = default_training_data()
    recipe, cfg = stage0_recipe(data)

    def build(folder: Path):
        ensure_stage0_data(_stage0_data_dir(data), data, realdata_root() / "videos")
        run_training(cfg, folder / "work", stages=[0], resume=True, progress=False)

    return trained_artifact("tiny-vae", recipe, build, TRAINING_SOURCES, log=log) / "work" / "stage0" / "final"


def weights_digest(vae_dir: Path) -> str:
    """16 hex digits of the sha256 of a VAE directory's weights file."""
    import hashlib

    from pyratok.train.stage0 import VAE_WEIGHTS

    return hashlib.sha256((Path(vae_dir) / VAE_WEIGHTS).read_bytes()).hexdigest()[:16]


def variant_recipe(vae: Path, data: Path, model_overrides: dict, seed: int = SEED) -> tuple[dict, object]:
    """(recipe of a variant with ``model_overrides`` on the stage-0 VAE at ``vae``, its TrainConfig).

    L_AR predicts LFQ bit codes, so a variant without LFQ (a learned-codebook quantizer) trains without it; the
    recipe says so explicitly (``losses.disabled`` gains ``"ar"``)."""
    cfg = variant_config(data, seed)
    losses_off = set(model_overrides.get("losses", {}).get("disabled", []))
    if "ar" in losses_off or model_overrides.get("lapq", {}).get("quantizer", {}).get("type", "lfq") != "lfq":
        model_overrides = {**model_overrides, "losses": {"disabled": sorted(losses_off | {"ar"})}}
    cfg.model_overrides = model_overrides
    # keyed on the VAE's weights, not its path: a rebuilt shipped checkpoint lives at the same path
    recipe = {"recipe": "pyratok-tiny", "vae": weights_digest(vae), "model_overrides": model_overrides,
              "stages": list(VARIANT_STAGES), "data": _data_dict(cfg),
              **{f"stage{n}": dataclasses.asdict(cfg.stage(n)) for n in VARIANT_STAGES}, "seed": cfg.seed}
    return recipe, cfg


def train_tiny_variant(kind: str, model_overrides: dict, log=print, seed: int = SEED) -> Path:
    """A tiny PyraTok variant (``model_overrides`` on the tiny config) trained by :func:`variant_config` (stages
    1-3) on the shared stage-0 VAE. Returns its ``save_pretrained`` directory."""
    from pyratok.train.pipeline import run_training

    vae = tiny_vae_dir(log)
    recipe, cfg = variant_recipe(vae, default_training_data(), model_overrides, seed)

    def build(folder: Path):
        run_training(cfg, folder / "work", stages=list(VARIANT_STAGES), init=str(vae), resume=True, progress=False)

    return trained_artifact(kind, recipe, build, TRAINING_SOURCES, log=log) / "work" / f"stage{VARIANT_STAGES[-1]}" / "final"
