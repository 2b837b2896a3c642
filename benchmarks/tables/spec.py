"""Declarative table specs: which measured records fill which rows/columns of a paper table, and which
leaderboard rows (paper-reported) sit beside them. Rendering is in :mod:`benchmarks.tables.render`.

A measured row is one tokenizer (a registry name), declared in :mod:`benchmarks.matrix`; a paper row comes from
``leaderboards/<csv>`` filtered by ``method`` (and optionally a substring of ``setting``, or the paper's row
number). Measured cells and paper cells are never in the same row: a measured row is labelled
``measured here (<data origin>)`` and a paper row ``paper``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "MeasuredRow", "PaperRow", "TableSpec"]


@dataclass(frozen=True)
class Column:
    label: str                        # column header, e.g. "WebVid PSNR"
    benchmark: str | None             # benchmark name of the measured value (None: identity field, see ``metric``)
    metric: str                       # metric name in the records ("psnr"), or an identity field ("params")
    paper_benchmark: str | None = None  # leaderboard ``benchmark`` value ("WebVid-10M"); None with paper_metric only
    paper_metric: str | None = None   # leaderboard ``metric`` value ("PSNR"); None: no paper counterpart
    fmt: str = "{:.2f}"               # how a measured value is printed
    scale: float = 1.0                # measured value x scale before printing (e.g. 100 for %)
    paper_any_setting: bool = False   # a descriptive paper column (Type, VAE): match the method, not the setting


@dataclass(frozen=True)
class MeasuredRow:
    tokenizer: str                    # registry name (a record's ``tokenizer``)
    label: str                        # row label, e.g. "PyraTok (tiny)"
    setting: str = ""                 # shown in brackets after the label
    cells: tuple = ()                 # ((column metric, text), ...): fixed text of descriptive columns
    not_run: str = ""                 # non-empty: declared, not run by the default suite; why (shown in the notes)
    reference: bool = False           # a reference row: rendered under the references group, compared against
    draws: int = 0                    # > 0: a seeded null, records of ``tokenizer:seed=0..draws-1`` (mean, p95)
    chance: bool = False              # an analytic chance row: each column's record ``extra["chance_level"]``


@dataclass(frozen=True)
class PaperRow:
    method: str                       # leaderboard ``method``
    label: str | None = None          # row label (default: the method)
    setting: str | None = None        # substring the leaderboard ``setting`` must contain (None: any)
    source_row: int | None = None     # the paper table's row number, for a method the paper lists twice


@dataclass(frozen=True)
class TableSpec:
    key: str                          # "table1" -> results/tables/table1.{md,csv,tex}
    title: str
    leaderboard: str | None           # file in leaderboards/ (None: no paper numbers)
    columns: tuple[Column, ...]
    measured: tuple[MeasuredRow, ...]
    paper: tuple[PaperRow, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
