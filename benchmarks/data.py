"""Compatibility alias: the synthetic-data cache lives in :mod:`benchmarks.provisioning.training_data`."""
from benchmarks.provisioning.training_data import ensure_synthetic, synthetic_root

__all__ = ["ensure_synthetic", "synthetic_root"]
