"""Table 2: text-to-video generation on WebVid (FVD, TC), base models with and without PyraTok."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import GENERATION_FLOOR
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

SPECS = [
    TableSpec(
        key="table2",
        title="Table 2: Text-to-video generation on WebVid (FVD ↓ / TC ↑)",
        leaderboard="table2_text_to_video.csv",
        columns=(
            Column("Type", None, "type", paper_metric="Type", fmt="{}", paper_any_setting=True),
            Column("FVD (↓)", "webvid-t2v", "FVD", paper_benchmark="WebVid-10M", paper_metric="FVD", fmt="{:.1f}"),
            Column("TC (↑)", "webvid-t2v", "TC", paper_benchmark="WebVid-10M", paper_metric="TC", fmt="{:.1f}",
                   scale=100.0),
        ),
        measured=measured_rows("table2"),
        paper=(
            PaperRow("MotionAura", "MotionAura [44] ✗ PyraTok", "tokenizer=native"),
            PaperRow("MotionAura", "MotionAura [44] ✓ PyraTok", "tokenizer=PyraTok"),
            PaperRow("Open MAGViTv2", "Open MAGViTv2 [33] ✗ PyraTok", "tokenizer=native"),
            PaperRow("Open MAGViTv2", "Open MAGViTv2 [33] ✓ PyraTok", "tokenizer=PyraTok"),
            PaperRow("Omnigenv2", "Omnigenv2 [60] ✗ PyraTok", "tokenizer=native"),
            PaperRow("Omnigenv2", "Omnigenv2 [60] ✓ PyraTok", "tokenizer=PyraTok"),
        ),
        notes=(
            "Measured rows: one autoregressive prior (benchmarks.generation, MiniLM caption prefix) trained on each "
            "tokenizer's codes of the WebVid train clips; '✗ PyraTok' = a baseline tokenizer, '✓ PyraTok' = PyraTok.",
            "FVD: I3D Kinetics-400 logits, generated vs real val clips. TC (x 100): mean cosine similarity of "
            "consecutive frames' I3D Mixed_5c embeddings (each frame as a static clip); the paper does not define TC "
            "and its values (185-246) are on another scale: not comparable.",
            "Embedded default: synthetic WebVid (16 train / 4 val clips, 9 x 64 x 64), tiny prior — numbers on so few "
            "videos are not comparable with the paper's.",
        ) + GENERATION_FLOOR,
        extra={"columns_paper": "the paper's ✗ / ✓ PyraTok columns are rows here (setting column)"},
    ),
]
