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
        if row.chance:   # analytic: nothing runs
            assert row.run_names() == () and row.reference
            continue
        assert row.tokenizer in REGISTRY, f"{row.table} row {row.label!r}: tokenizer {row.tokenizer!r} not registered"
        for b in row.benchmarks:
            assert b in SUITE_ALL, (row, b)
            for name in row.run_names():
                assert (b, name) in runs, f"{row.table} row {row.label!r} needs {b} x {name}"


def test_every_default_run_lands_in_a_table_column():
    columns = _table_columns()
    for b, t in _default_runs():
        homes = [r.table for r in MATRIX if t in r.run_names() and b in r.benchmarks]
        assert any(b in columns[h] for h in homes), f"default run {b} x {t} fills no table column"


def test_declared_benchmarks_are_columns_of_their_table():
    columns = _table_columns()
    for row in MATRIX:
        extra = set(row.benchmarks) - columns[row.table]
        assert not extra, (row.table, row.label, extra)


def test_not_run_rows_say_why_and_the_issue_rows_are_declared():
    # the rows issue 13 found missing: both wo-codebook rows (declared, not run), and Table 6's 3 Blocks, four loss
    # ablations and the latent-grid configuration (run by default)
    declared = {(r.table, r.tokenizer): r for r in MATRIX}
    for key in (("table6", "pyratok-tiny-wo-codebook"), ("table10", "pyratok-tiny-wo-codebook")):
        assert key in declared and len(declared[key].not_run) > 20, key
    for tok in ("pyratok-tiny-wo-drift-ar", "pyratok-tiny-wo-commitment", "pyratok-tiny-wo-text-alignment",
                "pyratok-tiny-wo-text-codebook", "pyratok-tiny-3-blocks", "pyratok-tiny-latent-grid"):
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


def test_reference_rows_are_declared_apart_for_every_measured_table():
    refs = {t: [r for r in rows_of(t) if r.reference] for t in TABLE_BENCHMARKS}
    image_refs = {"ref-grey", "ref-mean-colour", "ref-bicubic"}
    for t in ("table1", "table6", "table7", "table9"):
        assert {r.tokenizer for r in refs[t]} == image_refs, t
        assert all(set(r.benchmarks) <= set(TABLE_BENCHMARKS[t]) - {"tokenizer-efficiency"} for r in refs[t])
    for t in ("table3", "table4", "table5", "table10"):
        null = [r for r in refs[t] if r.draws]
        assert len(null) == 1 and null[0].draws >= 20 and null[0].tokenizer == "ref-random-features", t
        names = null[0].run_names()
        assert names[0] == "ref-random-features:seed=0" and len(set(names)) == null[0].draws
    assert [r.chance for r in refs["table5"]].count(True) == 1 and not any(r.chance for r in refs["table4"])
    # reference rows come after every tokenizer row of their table, and the null's seeds are default runs
    for t in TABLE_BENCHMARKS:
        kinds = [r.reference for r in rows_of(t)]
        assert kinds == sorted(kinds), t
    assert "ref-random-features:seed=19" in default_tokenizers_for("thumos14-tal")
    assert "ref-grey" in default_tokenizers_for("coco-recon") and "ref-grey" not in default_tokenizers_for(
        "tokenizer-efficiency")
    with pytest.raises(ValueError, match="must be a reference row"):
        Row("table4", "x", "x", draws=3)


def test_latent_grid_configuration_has_rows_in_tables_6_and_8():
    declared = {(r.table, r.tokenizer) for r in MATRIX if not r.not_run}
    assert {("table6", "pyratok-tiny-latent-grid"), ("table8", "pyratok-tiny-latent-grid")} <= declared
    assert "pyratok-tiny-latent-grid" in default_tokenizers_for("ucf101-gfvd")
