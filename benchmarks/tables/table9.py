"""Table 9: quantization techniques on the PyraTok backbone (single-scale baselines vs LaPQ)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.columns import recon_columns
from benchmarks.tables.conventions import IMAGE_REFERENCES, RECON_CONVENTIONS
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

_TABLE9_PAPER = (("quantizer=VQ; vocab=4096; dim=256", "VQ (4096 / 256)"),
                 ("quantizer=GVQ; vocab=4096; dim=256", "GVQ (4096 / 256)"),
                 ("quantizer=LFQ; vocab=32800; dim=16", "LFQ (32800 / 16)"),
                 ("quantizer=RVQ; vocab=8000; dim=512", "RVQ (8000 / 512)"),
                 ("quantizer=LaPQ; vocab=8000; dim=512", "LaPQ (8000 / 512)"),
                 ("quantizer=RVQ; vocab=32800; dim=16", "RVQ (32800 / 16)"),
                 ("quantizer=LaPQ; vocab=48000; dim=16", "LaPQ (Ours, 48000 / 16)"))

TABLE9 = TableSpec(
    key="table9",
    title="Table 9: quantization techniques on the PyraTok backbone (single-scale baselines vs LaPQ)",
    leaderboard="table9_quantizer_ablation",
    columns=recon_columns((Column("Vocab", None, "vocab_size", None, "vocab", "{:.0f}"),
                           Column("Dim", None, "code_dim", None, "dim", "{:.0f}"))) + (
        Column("Inf. Time", "tokenizer-efficiency", "latency_ms", None, "inference time", "{:.0f}"),),
    measured=measured_rows("table9"),
    paper=tuple(PaperRow("PyraTok", label, setting) for setting, label in _TABLE9_PAPER),
    notes=("Measured rows: tiny models trained here with one recipe (shared stage-0 VAE, same data, steps and "
           "seed); only the quantizer differs. VQ/GVQ/RVQ/FSQ train without L_AR (it predicts LFQ bit codes); the "
           "LFQ rows keep it.",
           "'Dim' is the code dimension: the learned codebook's vector size, or K bits for LFQ. The GVQ/RVQ vocab "
           "is per group/depth; their bit rate is groups (depth) x log2(vocab) per position.",
           "Inf. Time: the paper prints no unit (its 492 for LaPQ equals Table 1's PyraTok latency in ms); measured "
           "cells are the tokenizer-efficiency benchmark's encode+decode latency (ms, one 25x256x256 clip on this "
           "machine's CPU), not comparable with the paper's GPU numbers.",
           "The paper's LaPQ (Ours) row has COCO and WebVid swapped relative to Table 1 (leaderboard notes).",
           "LPIPS needs ImageNet backbone weights that cannot be fetched here; where absent it is unavailable.")
    + RECON_CONVENTIONS + IMAGE_REFERENCES,
)

SPECS = [TABLE9]
