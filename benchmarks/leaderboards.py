"""The paper's own reported numbers (``leaderboards/*.csv``), loaded as tidy pandas tables.

Each CSV transcribes one table or figure of the PyraTok paper, one row per printed number (see
``leaderboards/README.md`` for the columns). These are *paper-reported* values: the runner shows them beside the
numbers it measures and never mixes the two.

    >>> list_leaderboards()[:2]
    ['table1_reconstruction', 'table2_text_to_video']
    >>> load_leaderboard("table1")          # short id, or the full file stem "table1_reconstruction"
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

LEADERBOARD_DIR = Path(__file__).resolve().parents[1] / "leaderboards"

#: Columns every leaderboard CSV has, in this order.
COLUMNS = ("table", "method", "setting", "benchmark", "metric", "value", "unit", "higher_is_better",
           "source_row", "source_column", "row_label", "printed", "mark", "group", "notes")

_TEXT_COLUMNS = [c for c in COLUMNS if c not in ("value", "higher_is_better", "source_row")]


def list_leaderboards(root: Path | None = None) -> list[str]:
    """Names (file stems, e.g. ``"table1_reconstruction"``) of the leaderboard CSVs: tables 1..10, then figures."""
    root = Path(root) if root is not None else LEADERBOARD_DIR
    return sorted((p.stem for p in root.glob("*.csv")), key=_paper_order)


def _paper_order(stem: str) -> tuple:
    # Natural order: table2 before table10, tables before figures.
    m = re.match(r"(table|figure)(\d+)", stem)
    return (0 if m.group(1) == "table" else 1, int(m.group(2)), stem) if m else (2, 0, stem)


def _short_id(stem: str) -> str:
    # "table10_loss_ablation_understanding" -> "table10"
    return stem.split("_", 1)[0]


def _resolve(name: str, root: Path) -> Path:
    names = list_leaderboards(root)
    key = name[:-4] if name.endswith(".csv") else name
    if key in names:
        return root / f"{key}.csv"
    matches = [n for n in names if _short_id(n) == key]
    if len(matches) == 1:
        return root / f"{matches[0]}.csv"
    raise KeyError(f"unknown leaderboard {name!r} in {root}; valid names: {', '.join(names)} "
                   f"(or their short ids: {', '.join(sorted({_short_id(n) for n in names}))})")


def _to_bool(value: str, path: Path) -> object:
    if value == "":
        return pd.NA
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(f"{path}: higher_is_better must be 'true', 'false' or empty, got {value!r}")


def load_leaderboard(name: str, root: Path | None = None) -> pd.DataFrame:
    """Load one leaderboard as a DataFrame with exactly :data:`COLUMNS`.

    ``name``: file stem (``"table1_reconstruction"``), file name, or short id (``"table1"``, ``"figure29"``).
    ``value`` is float (NaN where the paper prints a dash or gives no value — the reason is in ``notes``),
    ``source_row`` is a nullable integer (1-based data row of the paper table; empty for figures),
    ``higher_is_better`` is a nullable boolean, every other column is a string ("" when empty).

    Raises ``KeyError`` listing the valid names for an unknown name, ``ValueError`` naming the file for a
    malformed CSV (missing/extra columns, non-numeric value, bad flag).
    """
    root = Path(root) if root is not None else LEADERBOARD_DIR
    path = _resolve(name, root)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if tuple(raw.columns) != COLUMNS:
        raise ValueError(f"{path}: columns must be {list(COLUMNS)}, got {list(raw.columns)}")
    df = raw.copy()
    for col in ("value", "source_row"):
        bad = raw[col][(raw[col] != "") & pd.to_numeric(raw[col], errors="coerce").isna()]
        if len(bad):
            line = int(bad.index[0]) + 2  # +1 header, +1 one-based
            raise ValueError(f"{path}, line {line}: column {col!r} is not a number: {bad.iloc[0]!r}")
    df["value"] = pd.to_numeric(raw["value"].mask(raw["value"] == "")).astype(float)
    df["source_row"] = pd.to_numeric(raw["source_row"].mask(raw["source_row"] == "")).astype("Int64")
    df["higher_is_better"] = pd.array([_to_bool(v, path) for v in raw["higher_is_better"]], dtype="boolean")
    for col in _TEXT_COLUMNS:
        df[col] = raw[col].astype(str)
    if not re.fullmatch(r"(Table|Figure) \d+", df["table"].iloc[0] if len(df) else "Table 0"):
        raise ValueError(f"{path}: column 'table' must read like 'Table 3' or 'Figure 10', got {df['table'].iloc[0]!r}")
    if df["table"].nunique() > 1:
        raise ValueError(f"{path}: one file holds one paper table, found {sorted(df['table'].unique())}")
    return df


def load_all(root: Path | None = None) -> pd.DataFrame:
    """All leaderboards concatenated (the ``table`` column tells them apart)."""
    return pd.concat([load_leaderboard(n, root) for n in list_leaderboards(root)], ignore_index=True)
