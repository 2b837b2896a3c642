"""Trained-here PyraTok variants: the tiny PyraTok, its ablations and the quantizer baselines, on one recipe.

Stage 0 (the tiny Wan-architecture VAE) is trained once and shared by every variant, as the frozen Wan 2.2 VAE is
in the paper; each variant then runs stages 1 and 2 of the CI gate's recipe (:func:`~benchmarks.provisioning.
recipes.gate_config`) with its model overrides (the ablations of :data:`adapters.pyratok_tokenizer.ABLATIONS`,
the quantizers of :data:`adapters.quantizer_baselines.QUANTIZERS`) on the same data, steps and seed — so variants
differ only in what their overrides change.

Every artifact is keyed on its recipe and on the digest of :data:`TRAINING_SOURCES` (the whole ``pyratok``
package — model, losses, trainer, data pipeline — and the recipe modules): an edit to any of them retrains.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .artifacts import trained_artifact
from .digest import recipe_hash
from .recipes import gate_config
from .training_data import default_training_data

__all__ = ["tiny_vae_dir", "train_tiny_variant", "variant_recipe", "stage0_recipe", "TRAINING_SOURCES"]

TRAINING_SOURCES = ("pyratok", "benchmarks.provisioning.recipes", "benchmarks.provisioning.pyratok_variants")


def _data_dict(cfg) -> dict:
    return cfg.data.to_dict() if hasattr(cfg.data, "to_dict") else dataclasses.asdict(cfg.data)


def stage0_recipe(data: Path) -> tuple[dict, object]:
    """(recipe of the shared stage-0 tiny VAE, its TrainConfig) on the training set at ``data``."""
    cfg = gate_config(data)
    recipe = {"recipe": "tiny-vae", "stage0": dataclasses.asdict(cfg.stage0), "data": _data_dict(cfg),
              "model": cfg.model, "seed": cfg.seed}
    return recipe, cfg


def tiny_vae_dir(log=print) -> Path:
    """The stage-0 tiny VAE's ``save_pretrained`` folder (trained once, shared by every variant)."""
    from pyratok.train.pipeline import run_training

    recipe, cfg = stage0_recipe(default_training_data())

    def build(folder: Path):
        run_training(cfg, folder / "work", stages=[0], resume=True, progress=False)

    return trained_artifact("tiny-vae", recipe, build, TRAINING_SOURCES, log=log) / "work" / "stage0" / "final"


def variant_recipe(vae: Path, data: Path, model_overrides: dict) -> tuple[dict, object]:
    """(recipe of a variant with ``model_overrides`` on the stage-0 VAE at ``vae``, its TrainConfig).

    L_AR predicts LFQ bit codes, so a variant without LFQ (a learned-codebook quantizer) trains without it; the
    recipe says so explicitly (``losses.disabled`` gains ``"ar"``)."""
    cfg = gate_config(data)
    losses_off = set(model_overrides.get("losses", {}).get("disabled", []))
    if "ar" in losses_off or model_overrides.get("lapq", {}).get("quantizer", {}).get("type", "lfq") != "lfq":
        model_overrides = {**model_overrides, "losses": {"disabled": sorted(losses_off | {"ar"})}}
    cfg.model_overrides = model_overrides
    recipe = {"recipe": "pyratok-tiny", "vae": recipe_hash({"vae": str(vae)}), "model_overrides": model_overrides,
              "stage1": dataclasses.asdict(cfg.stage1), "stage2": dataclasses.asdict(cfg.stage2), "seed": cfg.seed}
    return recipe, cfg


def train_tiny_variant(kind: str, model_overrides: dict, log=print) -> Path:
    """A tiny PyraTok variant (``model_overrides`` on the tiny config) trained with the gate's stage-1/2 budget on
    the shared stage-0 VAE. Returns its ``save_pretrained`` directory."""
    from pyratok.train.pipeline import run_training

    vae = tiny_vae_dir(log)
    recipe, cfg = variant_recipe(vae, default_training_data(), model_overrides)

    def build(folder: Path):
        run_training(cfg, folder / "work", stages=[1, 2], init=str(vae), resume=True, progress=False)

    return trained_artifact(kind, recipe, build, TRAINING_SOURCES, log=log) / "work" / "stage2" / "final"
