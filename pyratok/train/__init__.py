"""PyraTok trainer: stage 0 (tiny VAE, ours) and the three stages of App. D, with exact resume and DDP.

Entry points: ``python -m pyratok.train`` (see ``__main__``), :func:`run_training`, :class:`TrainConfig`.
"""
from .config import DataConfig, Stage0Config, StageConfig, TrainConfig, load_train_config
from .pipeline import run_training

__all__ = ["DataConfig", "Stage0Config", "StageConfig", "TrainConfig", "load_train_config", "run_training"]
