"""The paper's tables and figures: one module per table (its columns, paper rows and notes; the measured rows come
from :mod:`benchmarks.matrix`), figure entries in :mod:`benchmarks.tables.figures`, the renderer in
:mod:`benchmarks.tables.render`.

Every table module defines ``SPECS`` (a list of :class:`benchmarks.tables.spec.TableSpec`); the renderer reads the
modules listed in :data:`TABLE_MODULES`.
"""

TABLE_MODULES = tuple(f"benchmarks.tables.{m}" for m in (
    "table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "table9", "table10",
    "figure10", "figure29"))
