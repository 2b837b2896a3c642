"""The experiment matrix: every declared measured row is run by the default ``--suite all`` (or says why not), every
default run lands in a table column, and the table specs take their rows from the matrix. Uses the registries only
(nothing is built or run)."""
from __future__ import annotations

import pytest

from adapters.registry import REGISTRY
from benchmarks.matrix import MATRIX, TABLE_BENCHMARKS, Row, default_tokenizers_for, not_run_rows, rows_of
from benchmarks.registry import BENCHMARKS, build_benchmark, resolve_suite
from benchmarks.tables.render import collect_specs

SUITE_ALL = resolve_suite("all")


def _default_runs() -> set[tuple[str, str]]:
    """(benchmark, tokenizer) pairs of the default `--suite all`, as the runner asks for them."""
    return {(b, t) for b in SUITE_ALL for t in default_tokenizers_for(b, build_benchmark(b))}


def _table_columns() -> dict[str, set[str]]:
    """table key -> benchmarks with a column in its rendered spec (merged specs, as the renderer sees them)."""
    return {key: {c.benchmark for c in spec.columns if c.benchmark} for key, spec in collect_specs().items()}


def test_every_declared_runnable_row_is_run_by_default():
    runs = _default_runs()
    for row in MATRIX:
        if row.not_run:
            continue
        assert row.tokenizer in REGISTRY, f"{row.table} row {row.label!r}: tokenizer {row.tokenizer!r} not registered"
        for b in row.benchmarks:
            assert b in SUITE_ALL, (row, b)
            assert (b, row.tokenizer) in runs, f"{row.table} row {row.label!r} needs {b} x {row.tokenizer}"


def test_every_default_run_lands_in_a_table_column():
    columns = _table_columns()
    for b, t in _default_runs():
        homes = [r.table for r in MATRIX if r.tokenizer == t and b in r.benchmarks]
        assert any(b in columns[h] for h in homes), f"default run {b} x {t} fills no table column"


def test_declared_benchmarks_are_columns_of_their_table():
    columns = _table_columns()
    for row in MATRIX:
        extra = set(row.benchmarks) - columns[row.table]
        assert not extra, (row.table, row.label, extra)


def test_not_run_rows_say_why_and_the_issue_rows_are_declared():
    # the rows issue 13 found missing: both wo-codebook rows, the 3 Blocks and the four loss ablations of Table 6
    declared = {(r.table, r.tokenizer): r for r in MATRIX}
    for key in (("table6", "pyratok-tiny-wo-codebook"), ("table10", "pyratok-tiny-wo-codebook"),
                ("table6", "pyratok-tiny-3-blocks")):
        assert key in declared and len(declared[key].not_run) > 20, key
    for tok in ("pyratok-tiny-wo-drift-ar", "pyratok-tiny-wo-commitment", "pyratok-tiny-wo-text-alignment",
                "pyratok-tiny-wo-text-codebook"):
        assert declared[("table6", tok)].not_run == ""
        assert tok in default_tokenizers_for("webvid-recon") and tok in default_tokenizers_for("coco-recon")
    assert "pyratok-tiny-wo-codebook" not in {t for _, t in _default_runs()}
    assert all(r.not_run for r in not_run_rows())


def test_specs_take_their_rows_from_the_matrix():
    specs = collect_specs()
    for table in TABLE_BENCHMARKS:
        spec_rows = [(r.tokenizer, r.label) for r in specs[table].measured]
        assert spec_rows == [(r.tokenizer, r.label) for r in rows_of(table)], table


def test_a_new_row_changes_the_defaults_and_bad_tables_are_refused():
    extra = MATRIX + (Row("table9", "quant-fsq", "FSQ again", benchmarks=("mcl-jcv-compression",)),)
    assert "quant-fsq" in default_tokenizers_for("mcl-jcv-compression", matrix=extra)
    hidden = MATRIX + (Row("table9", "pyratok-tiny-k8", "K8", not_run="reason"),)
    assert "pyratok-tiny-k8" not in default_tokenizers_for("webvid-recon", matrix=hidden)
    assert default_tokenizers_for("codebook-size") == ["pyratok-tiny-k8", "pyratok-tiny-k12", "pyratok-tiny"]
    with pytest.raises(ValueError, match="unknown table 'table99'"):
        Row("table99", "x", "x")
    assert set(BENCHMARKS) == set(SUITE_ALL)
