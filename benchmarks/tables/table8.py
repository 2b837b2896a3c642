"""Table 8: class-guided video generation on UCF-101 (gFVD)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import GENERATION_FLOOR
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

SPECS = [
    TableSpec(
        key="table8",
        title="Table 8: Class-guided video generation (UCF-101)",
        leaderboard="table8_class_guided_generation.csv",
        columns=(
            Column("#Tokens", "ucf101-gfvd", "tokens", paper_metric="tokens", fmt="{:.0f}"),
            Column("#Params (Gen.) [M]", "ucf101-gfvd", "generator params", paper_metric="generator params",
                   fmt="{:.2f}"),
            Column("gFVD (↓)", "ucf101-gfvd", "gFVD", paper_benchmark="UCF-101", paper_metric="gFVD", fmt="{:.1f}"),
        ),
        measured=measured_rows("table8"),
        paper=(
            PaperRow("MAGVIT", "MAGVIT [69]", "generator=AR"),
            PaperRow("MAGVIT-V2", "MAGVIT-V2 [70]", "generator=AR"),
            PaperRow("MAGVIT", "MAGVIT [69] (MLLM)", "generator=MLLM"),
            PaperRow("MAGVIT-V2", "MAGVIT-V2 [70] (MLLM)", "generator=MLLM"),
            PaperRow("LARP-L", "LARP-L [55]", source_row=5),
            PaperRow("CogVideoX", "CogVideoX [67]"),
            PaperRow("TATS", "TATS [11]"),
            PaperRow("Video-LaVIT", "Video-LaVIT [21]"),
            PaperRow("OmniTok", "OmniTok [57]"),
            PaperRow("LARP-L", "LARP-L [55] (second row)", source_row=10),
            PaperRow("SweetTok", "SweetTok [46]"),
            PaperRow("PyraTok", "PyraTok (paper)"),
        ),
        notes=(
            "Measured rows: the same autoregressive prior (benchmarks.generation, class prefix) trained on each "
            "tokenizer's codes; gFVD = FVD (I3D Kinetics-400 logits) of generated vs real UCF-101 train clips of the "
            "same classes, mean over repeats (std in the records).",
            "Embedded default: synthetic UCF-101, 9 x 64 x 64 clips, tiny prior and a few samples per class — FVD on "
            "so few videos is biased upward and not comparable with the paper's numbers (10k samples, 2.3B "
            "generator).",
            "The paper lists LARP-L twice (rows 5 and 10: gFVD 57 and 99) without saying what distinguishes the "
            "rows; both are shown, in the paper's order.",
        ) + GENERATION_FLOOR,
    ),
]
