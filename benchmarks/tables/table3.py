"""Table 3: zero-shot video instance segmentation (YouTube-VIS 2021, OVIS)."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import ZERO_SHOT_REFERENCES
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

def _table3():
    cols = (Column("YouTube-VIS mAP", "ytvis-seg", "map", "YouTube-VIS 2021", "mAP", "{:.2f}", 100.0),
            Column("YouTube-VIS Jaccard", "ytvis-seg", "jaccard", "YouTube-VIS 2021", "Jaccard", "{:.2f}", 100.0),
            Column("OVIS mAP", "ovis-seg", "map", "OVIS", "mAP", "{:.2f}", 100.0),
            Column("OVIS Jaccard", "ovis-seg", "jaccard", "OVIS", "Jaccard", "{:.2f}", 100.0),
            Column("YouTube-VIS mAP (probe)", "ytvis-seg", "map@probe", None, None, "{:.2f}", 100.0),
            Column("YouTube-VIS Jaccard (probe)", "ytvis-seg", "jaccard@probe", None, None, "{:.2f}", 100.0),
            Column("OVIS mAP (probe)", "ovis-seg", "map@probe", None, None, "{:.2f}", 100.0),
            Column("OVIS Jaccard (probe)", "ovis-seg", "jaccard@probe", None, None, "{:.2f}", 100.0))
    measured = measured_rows("table3")
    paper = tuple(PaperRow(m, f"{m} ({s})", f"training={s}") for m, s in (
        ("CLIP-VIS", "supervised"), ("VideoCutLER", "unsupervised"), ("UVIS", "unsupervised"),
        ("VideoVae+", "zero-shot"), ("LARP", "zero-shot"), ("OmniTokenizer", "zero-shot"), ("PyraTok", "zero-shot")))
    notes = ("mAP and Jaccard in %. mAP: the official YouTube-VIS evaluation (YTVOSeval: spatio-temporal mask IoU, "
             "IoU .50:.95). Jaccard: mean over ground-truth instances of the best spatio-temporal IoU among "
             "same-category predictions (the paper does not define it; our choice).",
             "Columns without '(probe)': the tokenizer's own text space (text-aligned tokenizers only). Columns with "
             "'(probe)': text embeddings from the ridge text-alignment probe fitted on the seen (train) part only, "
             "the same recipe for every tokenizer — a probed cell is not the tokenizer's native zero-shot ability.",
             "Measured rows: tiny models trained here on synthetic data, evaluated on the embedded default data "
             "(synthetic YouTube-VIS/OVIS-format videos, 64 px, 17 frames; the official valid ground truth is not "
             "public, so real runs need split_file= a held-out train split). Paper rows are the paper's numbers on "
             "the official valid sets.")
    return TableSpec("table3", "Table 3: Zero-shot video segmentation (YouTube-VIS 2021, OVIS)",
                     "table3_video_segmentation.csv", cols, measured, paper, notes + ZERO_SHOT_REFERENCES)



SPECS = [_table3()]
