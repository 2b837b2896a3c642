"""Table 4: zero-shot temporal action localization (THUMOS14, ActivityNet v1.3)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import ZERO_SHOT_REFERENCES
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

SPECS = [
    TableSpec(
        key="table4",
        title="Table 4: zero-shot temporal action localization, 50% seen / 50% unseen (Avg. mAP, %)",
        leaderboard="table4_action_localization.csv",
        columns=(
            Column("THUMOS14 Avg. mAP", "thumos14-tal", "avg_map", "THUMOS14", "Avg. mAP", scale=100.0),
            Column("THUMOS14 Avg. mAP (probe)", "thumos14-tal", "avg_map@probe", scale=100.0),
            Column("ActivityNet v1.3 Avg. mAP", "activitynet-tal", "avg_map", "ActivityNet v1.3", "Avg. mAP",
                   scale=100.0),
            Column("ActivityNet v1.3 Avg. mAP (probe)", "activitynet-tal", "avg_map@probe", scale=100.0),
        ),
        measured=measured_rows("table4"),
        paper=(PaperRow("STALE", "STALE (supervised)"), PaperRow("DeTAL", "DeTAL (supervised)"),
               PaperRow("STOV-TAL", "STOV-TAL (supervised)", "training=supervised"),
               PaperRow("STOV-TAL", "STOV-TAL (zero-shot)", "training=zero-shot"),
               PaperRow("VideoVae+"), PaperRow("OmniTokenizer"), PaperRow("SweetTok"), PaperRow("LARP"),
               PaperRow("PyraTok", "PyraTok (paper)")),
        notes=("Measured: App. B.3 protocol (level-1 features, K = 25 frames at 30 fps, stride 1, tau relative 0.5 "
               "- the paper gives no tau), mean over 10 seeded 50/50 class splits, unseen classes only; the std "
               "over splits is in the records.",
               "Native cells use the tokenizer's own text embedding; probe cells a ridge text-alignment probe "
               "fitted on the seen classes' segments of each split (THUMOS14 validation, ActivityNet training).",
               "Synthetic data: 8 fps 64x64 videos, K = 7 frames (the same 0.83 s).") + ZERO_SHOT_REFERENCES,
    ),
]
