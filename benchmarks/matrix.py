"""The experiment matrix: one declaration of which rows (tokenizers) each paper table and figure shows, and from
which benchmarks. Everything else is derived from it:

* each benchmark's default tokenizers (:func:`default_tokenizers_for`, asked by the runner when the command line
  names none): every runnable row that needs that benchmark;
* each table's measured rows (:func:`measured_rows`, read by the table specs in :mod:`benchmarks.tables`), in the
  order declared here.

A row that cannot run here (its tokenizer is not registered, needs weights or a configuration that does not exist)
is still declared, with ``not_run`` saying why: the renderer lists it and its reason in the table notes, so no row
disappears silently. ``tests/test_matrix.py`` checks both directions: every declared runnable row is run by the
default ``--suite all``, and every default run lands in a table column.

Adding a tokenizer to a table = one :class:`Row` here (after registering the tokenizer in ``adapters/registry.py``).

**Reference rows** (``reference=True``) are declared apart from the tokenizer rows and rendered under their own
group, "References (same code, same data)": trivial methods from :mod:`adapters.references` run by the same benchmark
code on the same data (grey, per-clip mean colour, bicubic at the tokenizer's rate), a **null** (``draws = N``: the
reference runs as ``<tokenizer>:seed=0..N-1`` and the row shows the mean and 95th percentile over the draws,
:func:`benchmarks.metrics.uncertainty.null_summary`), or an **analytic chance** row (``chance=True``: nothing runs;
the row reads each column's ``extra["chance_level"]`` that the benchmark's reduce attaches,
:mod:`benchmarks.metrics.chance`). Measured cells whose interval overlaps a reference's are marked in the table.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Row", "MATRIX", "NULL_DRAWS", "REFERENCE_GROUP", "TABLE_BENCHMARKS", "rows_of", "measured_rows", "default_tokenizers_for",
           "runnable", "not_run_rows"]

# the benchmarks whose records fill each table (a row needs all of them unless it says otherwise)
RECON = ("webvid-recon", "coco-recon")
TABLE_BENCHMARKS: dict[str, tuple[str, ...]] = {
    "table1": ("tokenizer-efficiency",) + RECON,
    "table2": ("webvid-t2v",),
    "table3": ("ytvis-seg", "ovis-seg"),
    "table4": ("thumos14-tal", "activitynet-tal"),
    "table5": ("kinetics400-cls", "kinetics600-cls", "kinetics700-cls", "mvbench-qa"),
    "table6": RECON,
    "table7": ("mcl-jcv-compression",),
    "table8": ("ucf101-gfvd",),
    "table9": RECON + ("tokenizer-efficiency",),
    "table10": ("thumos14-tal", "activitynet-tal", "mvbench-qa"),
    "figure10": ("codebook-size",),
    "figure29": ("codebook-utilization",),
}


@dataclass(frozen=True)
class Row:
    """One measured row of one table: ``tokenizer`` (a name in ``adapters.registry``) run on ``benchmarks``
    (default: the table's, :data:`TABLE_BENCHMARKS`). ``setting`` is shown in brackets after the label; ``cells``
    are fixed text cells of descriptive columns, by column metric (e.g. ``(("type", "AR prior"),)``);
    ``not_run`` non-empty: the row is declared but not run by the default suite, and this says why.
    ``reference``: a reference row (rendered apart, see the module docstring); ``draws`` > 0: a seeded null run as
    ``tokenizer:seed=0..draws-1``; ``chance``: an analytic chance row (nothing runs)."""

    table: str
    tokenizer: str
    label: str
    setting: str = ""
    benchmarks: tuple[str, ...] = ()
    cells: tuple[tuple[str, str], ...] = ()
    not_run: str = ""
    reference: bool = False
    draws: int = 0
    chance: bool = False

    def __post_init__(self):
        if self.table not in TABLE_BENCHMARKS:
            raise ValueError(f"matrix row {self.label!r}: unknown table {self.table!r}; valid: "
                             f"{', '.join(TABLE_BENCHMARKS)}")
        if (self.draws or self.chance) and not self.reference:
            raise ValueError(f"matrix row {self.label!r}: a null (draws) or chance row must be a reference row")
        if self.draws < 0 or (self.draws and self.chance):
            raise ValueError(f"matrix row {self.label!r}: draws must be >= 0 and a chance row has none")
        if not self.benchmarks:
            object.__setattr__(self, "benchmarks", TABLE_BENCHMARKS[self.table])

    def run_names(self) -> tuple[str, ...]:
        """The tokenizer names the runner runs for this row (none for a chance row; one per seed for a null)."""
        if self.chance:
            return ()
        if self.draws:
            return tuple(f"{self.tokenizer}:seed={i}" for i in range(self.draws))
        return (self.tokenizer,)


# the trained-here video VAEs (tiny configs of the real architectures) and single-scale quantizer baselines
VAES = (("wan2.2-vae", "WAN 2.2 VAE (tiny)"), ("wan2.1-vae", "WAN 2.1 VAE (tiny)"),
        ("cogvideox-vae", "CogVideoX VAE (tiny)"), ("mochi-vae", "Mochi VAE (tiny)"), ("svd-vae", "SVD VAE (tiny)"))
QUANTIZERS = ("quant-vq", "quant-gvq", "quant-lfq", "quant-rvq", "quant-fsq")
CODECS = (("h264", "H.264 (x264)"), ("hevc", "HEVC (x265)"), ("av1", "AV1 (SVT-AV1)"), ("vp9", "VP9 (libvpx)"))
# every tokenizer with features (codecs have none), for the zero-shot understanding tables
FEATURE_TOKENIZERS = ("pyratok-tiny",) + tuple(n for n, _ in VAES) + QUANTIZERS

_WO_CODEBOOK = ("no paper row (all five Eq. 2 codebook terms off at once is not one of the paper's ablations); "
                "one more tiny training per default run for it is not spent: run it with "
                "--tokenizers pyratok-tiny-wo-codebook")

# ---------------------------------------------------------------------------------------------- references
REFERENCE_GROUP = "References (same code, same data)"
#: seeded draws of the random-feature null (ref-random-features:seed=0..19): the fewest from which a 95th
#: percentile is not simply the maximum (benchmarks.metrics.uncertainty.MIN_NULL_DRAWS)
NULL_DRAWS = 20
_RECON_REFS = (("ref-grey", "Grey (0 bits)", "every pixel mid-grey"),
               ("ref-mean-colour", "Mean colour (24 bits / clip)", "per-clip mean RGB, 8 bits per channel"),
               ("ref-bicubic", "Bicubic at tiny PyraTok's bpp", "8-bit RGB grid within PyraTok's rate"))


def _image_references(table: str, benchmarks: tuple[str, ...] = RECON, bicubic: str = "") -> list[Row]:
    return [Row(table, t, lbl, bicubic if t == "ref-bicubic" and bicubic else s, benchmarks=benchmarks,
                reference=True) for t, lbl, s in _RECON_REFS]


def _zero_shot_references(table: str, chance: bool = True) -> list[Row]:
    rows = [Row(table, "ref-random-features", "Random-feature null", f"mean / p95 over {NULL_DRAWS} seeds",
                reference=True, draws=NULL_DRAWS)]
    if chance:
        rows.append(Row(table, "chance", "Chance (analytic)", "uniform random guesser", reference=True, chance=True))
    return rows


def _table1():
    rows = [Row("table1", "cogvideox-vae", "CogVideoX VAE (tiny)"), Row("table1", "wan2.2-vae", "WAN 2.2 VAE (tiny)"),
            Row("table1", "wan2.1-vae", "WAN 2.1 VAE (tiny)"), Row("table1", "mochi-vae", "Mochi VAE (tiny)"),
            Row("table1", "svd-vae", "SVD VAE (tiny)"), Row("table1", "pyratok-tiny", "PyraTok (tiny)")]
    return rows + _image_references("table1")


def _table2():
    ar = (("type", "AR prior"),)
    return [Row("table2", "quant-vq", "AR prior + VQ baseline tokenizer", "✗ PyraTok", cells=ar),
            Row("table2", "quant-gvq", "AR prior + GVQ baseline tokenizer", "✗ PyraTok", cells=ar),
            Row("table2", "quant-lfq", "AR prior + LFQ single-scale baseline tokenizer", "✗ PyraTok", cells=ar),
            Row("table2", "quant-rvq", "AR prior + RVQ baseline tokenizer", "✗ PyraTok", cells=ar),
            Row("table2", "quant-fsq", "AR prior + FSQ baseline tokenizer", "✗ PyraTok", cells=ar),
            Row("table2", "pyratok-tiny", "AR prior + PyraTok (tiny, trained here)", "✓ PyraTok", cells=ar)]


def _table3():
    labels = dict((("pyratok-tiny", "PyraTok (tiny)"),) + VAES + tuple(
        (q, q.replace("quant-", "").upper() + " (tiny)") for q in QUANTIZERS))
    # no analytic chance for a mask mAP / Jaccard: the random-feature null is the floor
    return [Row("table3", t, labels[t], "zero-shot") for t in FEATURE_TOKENIZERS] + _zero_shot_references(
        "table3", chance=False)


def _understanding(table: str):
    vae = (("vae", "✓"),) if table == "table5" else ()  # every measured tokenizer is a video VAE / tokenizer
    # Table 4 (localization mAP) has no analytic chance; Table 5's accuracies do
    return [Row(table, "pyratok-tiny", "PyraTok (tiny, trained here)", cells=vae)] + [
        Row(table, t, t, cells=vae) for t in FEATURE_TOKENIZERS if t != "pyratok-tiny"] + _zero_shot_references(
        table, chance=table == "table5")


def _table6():
    return [Row("table6", "pyratok-tiny", "PyraTok (tiny, default)", "4 blocks, all losses"),
            Row("table6", "pyratok-tiny-wo-lapq", "w/o LaPQ", "single-scale LFQ"),
            Row("table6", "pyratok-tiny-wo-text", "w/o Text Guidance", "no text cross-attention"),
            Row("table6", "pyratok-tiny-wo-pyramid", "w/o Pyramidal-Q", "every block reads the deepest stage"),
            Row("table6", "pyratok-tiny-2-blocks", "2 Blocks", "2 Q-blocks"),
            Row("table6", "pyratok-tiny-3-blocks", "3 Blocks", "3 Q-blocks"),
            Row("table6", "pyratok-tiny-latent-grid", "Latent grid", "every level on the VAE latent grid (no paper row)"),
            Row("table6", "pyratok-tiny-wo-drift", "w/o L_drift", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-ar", "w/o L_AR", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-drift-ar", "w/o L_drift & L_AR", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-commitment", "w/o L_vision-commitment", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-text-alignment", "w/o L_text-cond. alignment", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-text-codebook", "w/o L_text-codebook alignment", "loss ablation"),
            Row("table6", "pyratok-tiny-wo-codebook", "w/o L_codebook", "all five codebook terms off (no paper row)",
                not_run=_WO_CODEBOOK)] + _image_references("table6")


def _table7():
    own = "its own rate (a fixed-rate tokenizer: not matched)"
    return [Row("table7", t, lbl) for t, lbl in CODECS] + [Row("table7", "pyratok-tiny", "PyraTok (tiny)")] + [
        Row("table7", q, q.replace("quant-", "").upper() + " baseline (tiny)", own) for q in QUANTIZERS] + \
        _image_references("table7", ("mcl-jcv-compression",), "8-bit RGB grid within the compression target")


def _table8():
    return [Row("table8", "pyratok-tiny", "PyraTok (tiny, trained here) + AR prior", "AR"),
            Row("table8", "quant-vq", "VQ baseline (trained here) + AR prior", "AR"),
            Row("table8", "quant-gvq", "GVQ baseline (trained here) + AR prior", "AR"),
            Row("table8", "quant-lfq", "LFQ single-scale baseline (trained here) + AR prior", "AR"),
            Row("table8", "quant-rvq", "RVQ baseline (trained here) + AR prior", "AR"),
            Row("table8", "quant-fsq", "FSQ baseline (trained here) + AR prior", "AR"),
            Row("table8", "pyratok-tiny-latent-grid", "PyraTok (tiny, latent grid) + AR prior", "AR, equal grids")]


def _table9():
    return [Row("table9", "quant-vq", "VQ (4096 / 256)", "single scale, vector-quantize-pytorch"),
            Row("table9", "quant-gvq", "GVQ (4 x 4096 / 256)", "single scale, 4 groups"),
            Row("table9", "quant-lfq", "LFQ (65536 / 16)", "single scale, K = 16 (= Table 6 w/o LaPQ)"),
            Row("table9", "quant-rvq", "RVQ (2 x 8000 / 512)", "single scale, depth 2"),
            Row("table9", "quant-fsq", "FSQ (15360 / 5)", "single scale, levels 8,8,8,6,5 (not in the paper)"),
            Row("table9", "pyratok-tiny", "LaPQ (tiny PyraTok, 65536 / 16)", "4 levels"),
            Row("table9", "pyratok-tiny-lapq-8000", "LaPQ (8000 / 512)", "the paper's second LaPQ row",
                not_run="no tokenizer is registered for it: the model can be configured so (lapq.mode 'pyramid' with "
                        "lapq.quantizer {type: vq, codebook_size: 8000, dim: 512}), but adapters has no entry for "
                        "it (quantizer_baselines is single-scale only; a pyratok-tiny ablation would be needed)"),
            Row("table9", "quant-rvq-32800", "RVQ (32800 / 16)", "the paper's second RVQ row",
                not_run="no quant-rvq variant with 32800 codes x 16 dims is registered (adapters: a "
                        "quantizer_baselines entry with codebook_size 32800, dim 16, and its registry line)")] + \
        _image_references("table9")


# Table 10: (tokenizer, row label, leaderboard setting shown as the row's setting)
TABLE10_ROWS = (
    ("pyratok-tiny", "✓ All losses", "ablation=none (all losses)"),
    ("pyratok-tiny-wo-drift", "✗ L_drift", "ablation=w/o L_drift"),
    ("pyratok-tiny-wo-ar", "✗ L_AR", "ablation=w/o L_AR"),
    ("pyratok-tiny-wo-drift-ar", "✗ L_dino & L_AR (= L_drift & L_AR)", "ablation=w/o L_dino & L_AR"),
    ("pyratok-tiny-wo-text-alignment", "✗ L_text-cond. alignment", "ablation=w/o L_text-cond. alignment"),
    ("pyratok-tiny-wo-commitment", "✗ L_vision_commitment", "ablation=w/o L_vision_commitment"),
    ("pyratok-tiny-wo-text-codebook", "✗ L_text-codebook alignment", "ablation=w/o L_text-codebook alignment"),
    ("pyratok-tiny-wo-codebook", "✗ L_codebook (all five Eq. 2 terms; no paper row)", None),
)


def _table10():
    # chance of the MVBench column only (localization mAP has none): the chance row fills just that column
    return [Row("table10", t, lbl, s or "", not_run=_WO_CODEBOOK if t == "pyratok-tiny-wo-codebook" else "")
            for t, lbl, s in TABLE10_ROWS] + _zero_shot_references("table10")


def _figures():
    return [Row("figure10", t, lbl) for t, lbl in (("pyratok-tiny-k8", "K = 8 (256 codes)"),
                                                    ("pyratok-tiny-k12", "K = 12 (4,096 codes)"),
                                                    ("pyratok-tiny", "K = 16 (65,536 codes)"))] + [
        Row("figure29", "pyratok-tiny", "PyraTok (tiny)")]


MATRIX: tuple[Row, ...] = tuple(
    _table1() + _table2() + _table3() + _understanding("table4") + _understanding("table5") + _table6() + _table7()
    + _table8() + _table9() + _table10() + _figures())


def rows_of(table: str) -> tuple[Row, ...]:
    """The declared rows of ``table`` ("table6"), in order."""
    if table not in TABLE_BENCHMARKS:
        raise KeyError(f"unknown table {table!r}; valid: {', '.join(TABLE_BENCHMARKS)}")
    return tuple(r for r in MATRIX if r.table == table)


def runnable(row: Row) -> bool:
    """Run by the default suite: not marked ``not_run`` and not an analytic (chance) row."""
    return not row.not_run and not row.chance


def not_run_rows(matrix: tuple[Row, ...] = MATRIX) -> list[Row]:
    """Declared rows the default suite does not run because they cannot (``not_run`` says why)."""
    return [r for r in matrix if r.not_run]


def measured_rows(table: str):
    """The table spec rows (:class:`benchmarks.tables.spec.MeasuredRow`) of ``table``."""
    from benchmarks.tables.spec import MeasuredRow

    return tuple(MeasuredRow(r.tokenizer, r.label, r.setting, r.cells, r.not_run, r.reference, r.draws, r.chance)
                 for r in rows_of(table))


def default_tokenizers_for(name: str, benchmark=None, matrix: tuple[Row, ...] = MATRIX) -> list[str]:
    """The tokenizers benchmark ``name`` runs when the command line names none: every runnable row that needs it,
    in declaration order (``benchmark``, the built benchmark, is accepted for the runner's call and not needed)."""
    return list(dict.fromkeys(n for r in matrix if name in r.benchmarks and runnable(r) for n in r.run_names()))
