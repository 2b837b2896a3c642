"""Figure 10 as a table: codebook size vs reconstruction (the plot: benchmarks.visualization.codebook)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

FIGURE10 = TableSpec(
    key="figure10",
    title="Figure 10: codebook size vs reconstruction (tiny PyraTok, WebVid val)",
    leaderboard="figure10_codebook_size",
    columns=(Column("Vocab", "codebook-size", "vocab", None, None, "{:.0f}"),
             Column("Bits (K)", "codebook-size", "codebook_bits", None, None, "{:.0f}"),
             Column("PSNR", "codebook-size", "psnr", None, None, "{:.2f}"),
             Column("SSIM", "codebook-size", "ssim", None, None, "{:.3f}"),
             Column("LPIPS", "codebook-size", "lpips", None, None, "{:.3f}"),
             Column("Utilisation (%)", "codebook-size", "utilization", None, None, "{:.2f}", 100.0),
             Column("Gains saturate beyond (K codes)", "codebook-size", "saturation", None, "saturation vocab size",
                    "{:.0f}")),
    measured=measured_rows("figure10"),
    paper=(PaperRow("PyraTok", "PyraTok (paper text, §4.3)", "x=codebook size (vocab)"),),
    notes=("The paper prints no values for Figure 10 (nor which dataset/metric it plots); its text says gains "
           "saturate beyond 80K codes. The measured sweep varies only the LFQ width K of the tiny model.",),
)

SPECS = [FIGURE10]
