"""Figure 29 as a table: codebook utilisation vs input resolution (the plot: benchmarks.visualization.codebook)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.spec import Column, PaperRow, TableSpec
from benchmarks.tasks.codebook import FIGURE29_RESOLUTIONS

__all__ = ["SPECS"]

FIGURE29 = TableSpec(
    key="figure29",
    title="Figure 29: codebook utilisation vs input resolution",
    leaderboard="figure29_codebook_utilization_resolution",
    columns=tuple(c for r in FIGURE29_RESOLUTIONS for c in (
        Column(f"Used @{r}px (%)", "codebook-utilization", f"utilization@{r}", None, None, "{:.3f}", 100.0),
        Column(f"Max possible @{r}px (%)", "codebook-utilization", f"max_utilization@{r}", None, None, "{:.3f}",
               100.0))) + (Column("Paper utilisation (%)", "codebook-utilization", "utilization", None,
                                  "codebook utilization", "{:.2f}"),),
    measured=measured_rows("figure29"),
    paper=tuple(PaperRow("PyraTok", f"PyraTok @{p} (paper)", f"resolution={p}")
                for p in ("240p", "1080p", "2160p", "4320p")),
    notes=("Utilisation = distinct codes used over the evaluation set / 2^K, levels pooled (one shared codebook). "
           "A set of N tokens can use at most min(N, 2^K)/2^K of the codebook; with a few synthetic clips of the "
           "tiny model that ceiling is far below 100%, so compare 'Used' with 'Max possible', not with the paper's "
           "full-model percentages at 240p-4320p.",
           "The paper states only 55.23% (240p), >79% (1080p), >90% (2160p) and 97.12% (4320p)."),
)

SPECS = [FIGURE29]
