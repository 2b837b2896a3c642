"""Table 10: loss ablations for video understanding (THUMOS14, ActivityNet, MVBench)."""
from benchmarks.matrix import TABLE10_ROWS, measured_rows
from benchmarks.tables.conventions import ZERO_SHOT_REFERENCES
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]


def _table10() -> TableSpec:
    cols = (Column("THUMOS14 Avg. mAP", "thumos14-tal", "avg_map", "THUMOS14", "Avg. mAP", "{:.2f}", 100.0),
            Column("ActivityNet Avg. mAP", "activitynet-tal", "avg_map", "ActivityNet v1.3", "Avg. mAP", "{:.2f}",
                   100.0),
            Column("MVBench Acc.", "mvbench-qa", "accuracy", "MVBench", "Overall accuracy", "{:.2f}", 100.0),
            Column("THUMOS14 (probe)", "thumos14-tal", "avg_map@probe", None, None, "{:.2f}", 100.0),
            Column("ActivityNet (probe)", "activitynet-tal", "avg_map@probe", None, None, "{:.2f}", 100.0),
            Column("MVBench (probe)", "mvbench-qa", "accuracy@probe", None, None, "{:.2f}", 100.0))
    measured = measured_rows("table10")
    paper = tuple(PaperRow("PyraTok", label, setting) for _, label, setting in TABLE10_ROWS if setting)
    return TableSpec(
        "table10", "Table 10: Ablation on loss functions (video understanding)",
        "table10_loss_ablation_understanding.csv", cols, measured, paper,
        notes=("Tiny PyraTok variants trained here with the same data and budget, each without the loss term(s) of "
               "its row (pyratok.losses TERMS via losses.disabled); mapping in benchmarks/tasks/video_qa.py.",
               "The paper's L_dino is its DINO-referenced drift term: 'w/o L_dino & L_AR' = losses.disabled "
               "['drift', 'ar'].",
               "Variants without the text-alignment terms have no native text space: their cells are in the "
               "probe columns only.",
               "MVBench with the default text-similarity scorer is NOT the paper's LM protocol (App. B.2): not "
               "comparable with the paper's numbers.") + ZERO_SHOT_REFERENCES)


SPECS = [_table10()]
