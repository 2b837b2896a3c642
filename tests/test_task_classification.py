"""Zero-shot Kinetics classification (benchmarks.tasks.classification): the accuracy functions against hand-worked
values and mmaction2's ``top_k_accuracy`` / ``mean_class_accuracy``, and the three benchmarks end to end on
synthetic Kinetics-400/600/700 with an untrained tiny PyraTok (the values mean nothing; the protocol is tested)."""
from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from adapters.base import NotSupported
from benchmarks.base import DataSource
from benchmarks.datasets.errors import DatasetFormatError
from benchmarks.registry import build_benchmark
from benchmarks.tasks.classification import (
    accuracy_from_ranks,
    mean_class_accuracy,
    mean_class_accuracy_from_ranks,
    top_k_accuracy,
    true_label_rank,
)


def mmaction_accuracy_module():
    """mmaction2's numpy-only ``evaluation/functional/accuracy.py``, loaded from its file (the ``mmaction``
    package import needs mmcv + mmengine + OpenCV)."""
    spec = importlib.util.find_spec("mmaction")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mmaction2 is not installed (pip install --no-deps mmaction2): no reference to cross-check")
    path = Path(list(spec.submodule_search_locations)[0]) / "evaluation" / "functional" / "accuracy.py"
    if not path.is_file():
        pytest.skip(f"mmaction2 has no {path}")
    mod_spec = importlib.util.spec_from_file_location("_mmaction_accuracy", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from benchmarks.synthetic import generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(out, ["kinetics400", "kinetics600", "kinetics700"], scale="tiny", log=None)
    return out


@pytest.fixture(scope="module")
def tok():
    torch.set_num_threads(1)
    from adapters.registry import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


class NotAligned:
    text_aligned = False

    def __init__(self, tok):
        self._tok = tok

    def __getattr__(self, item):
        return getattr(self._tok, item)

    def embed_text(self, texts):
        raise NotSupported("not text aligned")


def _csv_labels(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [row["label"] for row in csv.DictReader(f)]


# ------------------------------------------------------------------------------------------------ metrics
def test_rank_and_accuracy_hand_worked():
    scores = np.array([[0.9, 0.1, 0.5],    # true 0: rank 0
                       [0.2, 0.3, 0.8],    # true 1: rank 1
                       [0.4, 0.4, 0.1],    # true 0, tied with class 1: rank 1 (ties count against)
                       [0.7, 0.6, 0.5]])   # true 2: rank 2
    labels = [0, 1, 0, 2]
    np.testing.assert_array_equal(true_label_rank(scores, labels), [0, 1, 1, 2])
    assert top_k_accuracy(scores, labels, (1, 2, 3)) == [0.25, 0.75, 1.0]
    # per class top-1: class 0 -> 1/2, class 1 -> 0, class 2 -> 0
    assert mean_class_accuracy(scores, labels) == pytest.approx(1 / 6)
    assert accuracy_from_ranks([0, 3, 5], 5) == pytest.approx(2 / 3)
    assert mean_class_accuracy_from_ranks([0, 0, 1], ["a", "a", "b"]) == pytest.approx(0.5)
    # a constant score gets no credit
    assert top_k_accuracy(np.zeros((3, 4)), [0, 1, 2], (1, 3)) == [0.0, 0.0]
    with pytest.raises(ValueError):
        true_label_rank(scores, [0, 1, 5, 0])


def test_cross_check_with_mmaction2():
    acc = mmaction_accuracy_module()
    rng = np.random.default_rng(0)
    for trial in range(10):
        n, c = int(rng.integers(5, 60)), int(rng.integers(2, 12))
        labels = rng.integers(0, c, n)
        # scores correlated with the labels so accuracies are neither 0 nor 1
        scores = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[labels] * rng.uniform(0, 1, (n, 1))
        ks = (1, 2, 5)
        np.testing.assert_allclose(top_k_accuracy(scores, labels, ks), acc.top_k_accuracy(scores, labels, ks))
        # mmaction2 averages over every class seen among labels OR predictions (0 for a class never true);
        # ours over classes with clips: they agree when every predicted class also occurs among the labels
        pred = scores.argmax(1)
        if set(pred) <= set(labels):
            assert mean_class_accuracy(scores, labels) == pytest.approx(acc.mean_class_accuracy(scores, labels))
        present = np.isin(pred, labels)
        if not present.all():
            scores2, labels2 = scores[present], labels[present]
            if set(scores2.argmax(1)) <= set(labels2):
                assert mean_class_accuracy(scores2, labels2) == pytest.approx(
                    acc.mean_class_accuracy(scores2, labels2))


# ------------------------------------------------------------------------------------------------ end to end
@pytest.mark.parametrize("name", ["kinetics400-cls", "kinetics700-cls"])
def test_kinetics_all_classes_end_to_end(synth, tok, tmp_path, name):
    bench = build_benchmark(name)
    assert bench.table == "table5" and bench.requires == ("features",)
    data = bench.locate(None, synth)
    fitted = bench.fit(tok, data, tmp_path)
    json.dumps(fitted)
    labels = _csv_labels(synth / bench.dataset / "annotations" / "val.csv")
    classes = sorted(set(labels))
    # class-disjoint cross-fitting: the probe that embeds a class never saw its clips
    assert set(fitted["probe_of"]) == set(classes) and len(fitted["probes"]) == 2
    for c, probe in fitted["probe_of"].items():
        assert Path(fitted["probes"][probe]).is_file()
    n_train = len(_csv_labels(synth / bench.dataset / "annotations" / "train.csv"))
    assert sum(fitted["n_pairs"].values()) == n_train  # each train clip fits exactly the probe of the other fold
    results = [bench.run_shard(tok, data, s, fitted) for s in bench.shards(data)]
    json.dumps([r.to_dict() for r in results])
    samples = [s for r in results for s in r.samples]
    assert len(samples) == len(labels) and not any(r.failures for r in results)
    for s in samples:
        assert set(s["ranks"]) == {"native/all", "probe/all"}
        assert all(0 <= r < len(classes) for r in s["ranks"].values())
    metrics = {m.name: m for m in bench.reduce(results, data, fitted)}
    assert set(metrics) == {"top1", "top5", "mean_class_accuracy", "top1@probe", "top5@probe",
                            "mean_class_accuracy@probe"}
    for m in metrics.values():
        assert 0.0 <= m.value <= 1.0 and m.n_samples == len(labels)
        assert m.extra["text_space"] == ("probe" if m.name.endswith("@probe") else "native")
    ranks = [s["ranks"]["native/all"] for s in samples]
    assert metrics["top1"].value == pytest.approx(np.mean(np.array(ranks) == 0))
    assert metrics["top5"].value >= metrics["top1"].value


def test_kinetics600_new_classes_protocol(synth, tok, tmp_path):
    bench = build_benchmark("kinetics600-cls")
    data = bench.locate(None, synth)
    k400 = set(_csv_labels(synth / "kinetics400" / "annotations" / "val.csv"))
    val = _csv_labels(synth / "kinetics600" / "annotations" / "val.csv")
    new = sorted(set(val) - k400)
    assert new, "the synthetic Kinetics-600 must have classes beyond Kinetics-400"
    sets = bench.eval_sets(data, sorted(set(val)))
    assert len(sets) == 3
    k = max(2, round(160 / 220 * len(new)))
    for cs in sets.values():
        assert set(cs) <= set(new) and len(cs) == min(len(new), k)
    fitted = bench.fit(tok, data, tmp_path)
    # one probe, fitted on the Kinetics-400 classes' train clips only
    assert list(fitted["probes"]) == ["k400_classes"] and set(fitted["probe_of"]) == set(new)
    train = _csv_labels(synth / "kinetics600" / "annotations" / "train.csv")
    assert fitted["n_pairs"]["k400_classes"] == sum(lab in k400 for lab in train)
    shards = bench.shards(data)
    assert sorted(i for s in shards for i in s.items) and all(s.items for s in shards)
    results = [bench.run_shard(tok, data, s, fitted) for s in shards]
    samples = [s for r in results for s in r.samples]
    assert len(samples) == sum(lab in set(new) for lab in val)  # only clips of new classes are scored
    metrics = {m.name: m for m in bench.reduce(results, data, fitted)}
    for name in ("top1", "top1@probe", "mean_class_accuracy"):
        m = metrics[name]
        assert 0.0 <= m.value <= 1.0 and len(m.extra["per_set"]) == 3
        assert m.value == pytest.approx(np.mean(list(m.extra["per_set"].values())))
    if len(new) <= 5:
        assert "trivially" in metrics["top5"].note


def test_kinetics600_without_kinetics400_classes_is_a_clear_error(tmp_path):
    from benchmarks.synthetic import generate

    generate(tmp_path, ["kinetics600"], scale="tiny", log=None)
    bench = build_benchmark("kinetics600-cls")
    with pytest.raises(DatasetFormatError, match="Kinetics-400 class list not found"):
        bench.shards(DataSource(str(tmp_path / "kinetics600"), "synthetic"))


def test_non_aligned_tokenizer_gets_probe_metrics_only(synth, tok, tmp_path):
    bench = build_benchmark("kinetics400-cls", max_samples=4)
    data = bench.locate(None, synth)
    na = NotAligned(tok)
    fitted = bench.fit(na, data, tmp_path)
    results = [bench.run_shard(na, data, s, fitted) for s in bench.shards(data)]
    metrics = bench.reduce(results, data, fitted)
    assert {m.name for m in metrics} == {"top1@probe", "top5@probe", "mean_class_accuracy@probe"}
    assert all(m.value is not None and m.n_samples == 4 for m in metrics)


def test_no_train_split_makes_probe_unavailable(tmp_path, tok):
    from benchmarks.synthetic import generate

    generate(tmp_path, ["kinetics400"], scale="tiny", log=None)
    (tmp_path / "kinetics400" / "annotations" / "train.csv").unlink()
    bench = build_benchmark("kinetics400-cls", max_samples=2)
    data = DataSource(str(tmp_path / "kinetics400"), "synthetic")
    fitted = bench.fit(tok, data, tmp_path / "fit")
    results = [bench.run_shard(tok, data, s, fitted) for s in bench.shards(data)]
    metrics = {m.name: m for m in bench.reduce(results, data, fitted)}
    assert metrics["top1"].value is not None
    assert metrics["top1@probe"].value is None and "train" in metrics["top1@probe"].note


def test_corrupt_clip_is_a_failure_record(tmp_path, tok):
    from benchmarks.synthetic import generate

    generate(tmp_path, ["kinetics400"], scale="tiny", log=None)
    root = tmp_path / "kinetics400"
    clip = sorted((root / "val").rglob("*.mp4"))[0]
    clip.write_bytes(b"\x00\x01garbage" * 50)
    bench = build_benchmark("kinetics400-cls")
    data = DataSource(str(root), "synthetic")
    results = [bench.run_shard(tok, data, s, None) for s in bench.shards(data)]
    failures = [f for r in results for f in r.failures]
    assert len(failures) == 1 and failures[0]["sample"] == clip.stem
    assert failures[0]["file"] == str(clip) and failures[0]["reason"]
    metrics = {m.name: m for m in bench.reduce(results, data, None)}
    assert metrics["top1"].n_failed == 1 and metrics["top1"].n_samples == 11
    assert metrics["top1@probe"].value is None  # no fit was run


def test_table_spec_matches_leaderboard():
    from benchmarks.leaderboards import load_leaderboard
    from benchmarks.tables.table5 import KINETICS_SPECS as TABLES

    spec, = TABLES
    lb = load_leaderboard("table5")
    assert {c.benchmark for c in spec.columns} - {None} == {"kinetics400-cls", "kinetics600-cls", "kinetics700-cls"}
    for col in spec.columns:
        if col.paper_metric:
            assert ((lb.benchmark == (col.paper_benchmark or "")) & (lb.metric == col.paper_metric)).any()
    for row in spec.paper:
        sel = lb[(lb.method == row.method) & lb.benchmark.str.startswith("Kinetics")]
        assert sel.value.notna().any(), row
    assert "pyratok-tiny" in [r.tokenizer for r in spec.measured]
