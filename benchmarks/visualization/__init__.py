"""Plots of the paper's figures, drawn from result records or from a protocol's own outputs.

Metric computation lives in the task modules (:mod:`benchmarks.tasks`); this package only draws. The renderer's
figure entries (``fn(records, figures_dir) -> [paths]``) are listed in :mod:`benchmarks.tables.figures`.
"""
