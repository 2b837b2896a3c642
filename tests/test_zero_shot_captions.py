"""Zero-shot means zero-shot: no caption the trained-here models learn from names a class or answer that a
zero-shot benchmark scores them on (issue: "Zero-shot means zero-shot").

The scored strings are read from each zero-shot benchmark's synthetic dataset *files* (the official layouts:
Kinetics CSV labels, ActivityNet-style JSON labels, VIS categories, MVBench answers), not from the vocabulary the
redaction uses, so a class the redaction forgot fails here."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from benchmarks.provisioning.training_data import ensure_gate_data
from benchmarks.provisioning.zero_shot import redact_caption
from benchmarks.registry import benchmark_class, list_benchmarks
from benchmarks.synthetic.generate import generate

ZERO_SHOT = [n for n in list_benchmarks() if "features" in benchmark_class(n).requires]


def _json_strings(obj, out: set[str], key: str | None = None, in_categories: bool = False) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _json_strings(v, out, k, in_categories or key == "categories")
    elif isinstance(obj, list):
        for v in obj:
            _json_strings(v, out, key, in_categories)
    elif isinstance(obj, str) and (key in ("label", "answer") or (in_categories and key == "name")):
        out.add(obj)


def scored_strings(root: Path) -> set[str]:
    """Class names, categories and answers found in the dataset files under ``root``."""
    out: set[str] = set()
    for p in root.rglob("*.csv"):
        with open(p, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("label"):
                    out.add(row["label"])
    for p in root.rglob("*.json"):
        _json_strings(json.loads(p.read_text()), out)
    return out


STOPWORDS = {"a", "an", "the", "it", "its", "in", "of", "on", "to", "from", "and", "is", "does", "not", "at",
             "suddenly", "video", "entire", "throughout", "then", "while", "as"}


def _stem(word: str) -> str:
    """A crude suffix stripper, enough to match word forms of this vocabulary: moves/moving/moved -> mov,
    spins/spinning -> spin, circle/circling -> circl."""
    for suffix in ("ing", "es", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:
        word = word[:-1]
    return word.rstrip("e") if len(word) > 3 else word


def _stems(text: str) -> set[str]:
    """Content-word stems of ``text``; CamelCase ("MovingLeft") is split into words."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).lower()
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text) if w not in STOPWORDS}


def _names(caption: str, scored: str) -> bool:
    """``caption`` names ``scored`` when every content word of it occurs in the caption in some word form
    ("a cross shrinks" names the Kinetics class "cross shrinking"; "moves left" names "MovingLeft")."""
    need = _stems(scored)
    return bool(need) and need <= _stems(caption)


@pytest.fixture(scope="module")
def training_captions(tmp_path_factory) -> list[str]:
    root = ensure_gate_data(tmp_path_factory.mktemp("train"))
    caps = []
    for split in ("train", "val"):
        with open(root / f"results_10M_{split}.csv", newline="") as f:
            caps += [row["name"] for row in csv.DictReader(f)]
    assert len(caps) > 100
    return caps


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("zs")
    generate(root, sorted({benchmark_class(n).dataset for n in ZERO_SHOT}), scale="tiny", seed=0, log=lambda *_: None)
    return root


def test_every_zero_shot_benchmark_is_covered():
    assert {"ytvis-seg", "ovis-seg", "thumos14-tal", "activitynet-tal", "kinetics400-cls", "kinetics600-cls",
            "kinetics700-cls", "mvbench-qa"} <= set(ZERO_SHOT)


@pytest.mark.parametrize("name", ZERO_SHOT)
def test_training_captions_name_no_scored_class(name, datasets, training_captions):
    strings = scored_strings(datasets / benchmark_class(name).dataset)
    assert strings, f"{name}: no class names / answers found in its files"
    leaks = {}
    for s in strings:
        hits = [c for c in training_captions if _names(c, s)]
        if hits:
            leaks[s] = hits[0]
    assert not leaks, f"{name}: training captions name scored strings, e.g. {dict(list(leaks.items())[:5])}"


@pytest.mark.parametrize("dataset", ["kinetics400", "thumos14", "ytvis2021", "mvbench"])
def test_the_unredacted_captions_would_leak(dataset, datasets, tmp_path):
    """The check above can fail: the generator's own captions name the classes, categories and answers."""
    from benchmarks.synthetic.scale import TINY
    import dataclasses

    generate(tmp_path, "webvid", scale=dataclasses.replace(TINY, clips=64), seed=0, log=lambda *_: None)
    with open(tmp_path / "webvid" / "results_10M_train.csv", newline="") as f:
        raw = [row["name"] for row in csv.DictReader(f)]
    strings = scored_strings(datasets / dataset)
    assert any(_names(c, s) for c in raw for s in strings)
    assert not any(_names(redact_caption(c), s) for c in raw for s in strings)


def test_names_hand_worked():
    assert _names("a striped red cross shrinks on a grey background.", "cross shrinking")
    assert _names("a blue circle moves left.", "MovingLeft")
    assert _names("a dotted star moves in a circle.", "Circling")
    assert not _names("a dotted star moves.", "Circling")
    assert not _names("a shape moves on a striped background.", "From the striped beige background to the dotted "
                                                                   "black background.")


@pytest.mark.parametrize("caption, expected", [
    ("a striped red triangle moves left, then spins on a checkered grey background.",
     "a striped shape moves, then moves on a checkered background."),
    ("an orange square moves in a circle on a wavy dark blue background, while a dotted green star stays still.",
     "a shape moves on a wavy background, while a dotted shape stays still."),
    ("a purple cross jumps on a dotted beige background; then the scene changes to a striped olive background, "
     "as the camera pans left.",
     "a shape moves on a dotted background; then the scene changes to a striped background, as the camera pans."),
    ("An image showing a yellow heart over a speckled white background.",
     "An image showing a shape over a speckled background."),
])
def test_redaction_hand_worked(caption, expected):
    assert redact_caption(caption) == expected
