"""Table 5: zero-shot video understanding - Kinetics-400/600/700 classification and the MVBench column; two
specs (one per benchmark family) merged into one table by ``extra["part_of"]``."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import ZERO_SHOT_REFERENCES
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS", "KINETICS_SPECS", "MVBENCH_SPECS"]

KINETICS_SPECS = [
    TableSpec(
        key="table5_kinetics",
        title="Table 5 (Kinetics columns): zero-shot video classification, top-1 accuracy (%)",
        leaderboard="table5_video_understanding_classification.csv",
        columns=(
            Column("VAE", None, "vae", paper_metric="VAE", fmt="{}", paper_any_setting=True),
            Column("Kinetics-400", "kinetics400-cls", "top1", "Kinetics-400", "accuracy", scale=100.0),
            Column("Kinetics-400 (probe)", "kinetics400-cls", "top1@probe", scale=100.0),
            Column("Kinetics-600", "kinetics600-cls", "top1", "Kinetics-600", "accuracy", scale=100.0),
            Column("Kinetics-600 (probe)", "kinetics600-cls", "top1@probe", scale=100.0),
            Column("Kinetics-700", "kinetics700-cls", "top1", "Kinetics-700", "accuracy", scale=100.0),
            Column("Kinetics-700 (probe)", "kinetics700-cls", "top1@probe", scale=100.0),
        ),
        measured=measured_rows("table5"),
        paper=tuple(PaperRow(m) for m in ("InternVL", "InternVideo2", "VideoPrism-g", "SigLIP2-g-opt", "PEcoreG",
                                          "VideoVae+", "OmniTokenizer", "SweetTok", "LARP"))
        + (PaperRow("PyraTok", "PyraTok (paper)"),),
        notes=("Measured: 17 uniformly spaced frames at 256x256, deepest-level features pooled, cosine with "
               "'a video of {label}'; Kinetics-600 on the classes new relative to Kinetics-400 (3 subsets of "
               "160/220 of them, ER-ZSAR protocol).",
               "Probe cells: a ridge text-alignment probe fitted on train clips of classes disjoint from the ones "
               "it embeds (2-fold class cross-fitting; Kinetics-600: the Kinetics-400 classes).",
               "The MVBench column of Table 5 is the video-QA benchmark's table.") + ZERO_SHOT_REFERENCES,
        extra={"part_of": "table5"},
    ),
]


def _table5_mvbench() -> TableSpec:
    cols = (Column("MVBench Overall", "mvbench-qa", "accuracy", "MVBench", "Overall accuracy", "{:.2f}", 100.0),
            Column("MVBench Overall (probe)", "mvbench-qa", "accuracy@probe", None, None, "{:.2f}", 100.0),
            Column("MVBench task mean", "mvbench-qa", "task_mean_accuracy", None, None, "{:.2f}", 100.0),
            Column("Chance", "mvbench-qa", "chance", None, None, "{:.2f}", 100.0))
    paper = tuple(PaperRow(m) for m in ("InternVL3-78B", "Qwen2.5-72B", "InternVL3-38B", "Qwen2.5VL-7B",
                                        "Qwen2.5VL-3B", "VILA-U", "OmniTokenizer", "LARP")) \
        + (PaperRow("PyraTok", "PyraTok (paper)"),)  # the same row as the Kinetics part's: shown once
    return TableSpec(
        "table5_mvbench", "Table 5 (MVBench column): accuracy (%) on MVBench",
        "table5_video_understanding_classification.csv",
        cols, measured_rows("table5"), paper,
        notes=("Overall = correct / scored over all evaluated questions (sample-weighted, the official 'Total Acc'); "
               "the task mean and chance (mean of 1/num candidates) are shown beside it.",
               "Measured with the protocol's scorer: the default 'text-similarity' scorer (cosine between pooled "
               "tokenizer features and the text embedding of question + candidate) is NOT the paper's LM protocol "
               "(App. B.2, Qwen2.5-VL-3B with projected tokens) and its numbers are not comparable with the paper's.",
               "A fit split (every 4th question of each task) fits the probe / projector and is not scored.",
               "The Kinetics columns of Table 5 are in the classification tables."),
        extra={"part_of": "table5"})



MVBENCH_SPECS = [_table5_mvbench()]
SPECS = KINETICS_SPECS + MVBENCH_SPECS
