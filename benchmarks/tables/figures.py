"""The paper's figures the renderer draws: callables ``fn(records, figures_dir) -> [paths]`` (the drawing itself is
in :mod:`benchmarks.visualization`). Nothing is drawn without measured records."""
from __future__ import annotations

from pathlib import Path

from benchmarks.visualization.localization import figure16_localization
from benchmarks.visualization.reconstruction import figure5_grid

__all__ = ["FIGURES", "codebook_figures"]


def codebook_figures(records: list[dict], figures_dir: Path) -> list[Path]:
    """Figures 10 and 29 from the codebook benchmarks' records."""
    from benchmarks.visualization.codebook import plot_figure10, plot_figure29

    out = []
    if any(r["benchmark"] == "codebook-size" for r in records):
        out.append(plot_figure10(records, Path(figures_dir) / "figure10_codebook_size.png"))
    if any(r["benchmark"] == "codebook-utilization" for r in records):
        out.append(plot_figure29(records, Path(figures_dir) / "figure29_codebook_utilization.png"))
    return out


FIGURES = [figure5_grid, codebook_figures, figure16_localization]
