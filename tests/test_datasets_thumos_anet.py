"""THUMOS14 / ActivityNet v1.3 readers and the zero-shot seen/unseen class splits.

Real data: ``annotations/thumos14/thumos14.json`` (200 val + 212 test videos, 20 classes) and UCF-101's classInd.txt;
every count is re-derived here with the json module or by reading lines by hand. Synthetic files are tiny and
written in each test.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks.datasets.activitynet import ActivityNetDataset, load_activitynet_json, taxonomy_leaves
from benchmarks.datasets.errors import DatasetFormatError
from benchmarks.datasets.thumos14 import (
    THUMOS14_CLASSES,
    Thumos14Dataset,
    json_to_txt,
    read_segment_txt,
    read_thumos_json,
    read_txt_annotations,
    txt_to_json,
)
from benchmarks.datasets.zero_shot_splits import (
    ClassSplit,
    generate_and_write_all,
    generate_splits,
    read_splits,
    validate_split,
    write_splits,
)


@pytest.fixture(scope="module")
def thumos_json(realdata) -> Path:
    p = realdata / "annotations" / "thumos14" / "thumos14.json"
    if not p.is_file():
        pytest.skip(f"{p} not present")
    return p


def _raw_segments(raw: dict) -> dict[str, Counter]:
    return {vid: Counter((a["segment"][0], a["segment"][1], a["label"]) for a in e["annotations"]) for vid, e in raw.items()}


def _tiny_video(path: Path, n: int = 6, value: int = 100) -> Path:
    from pyratok.data.video import write_video

    return write_video(path, np.full((n, 32, 32, 3), value, np.uint8), fps=10)


# ---------------------------------------------------------------------------------------------------------------
# THUMOS14, real files
# ---------------------------------------------------------------------------------------------------------------
def test_thumos_json_real_matches_raw_json(thumos_json):
    raw = json.loads(thumos_json.read_text())
    ann = read_thumos_json(thumos_json)
    subsets = Counter(v.subset for v in ann.videos.values())
    assert subsets == Counter({"validation": 200, "test": 212})  # README: 200 val + 212 test
    assert Counter(e["subset"] for e in raw.values()) == subsets
    assert set(ann.videos) == set(raw)
    ours = {vid: Counter((s.start, s.end, s.label) for s in v.segments) for vid, v in ann.videos.items()}
    assert ours == _raw_segments(raw)
    for vid, e in raw.items():
        assert ann.videos[vid].duration == pytest.approx(e["duration"])
        assert ann.videos[vid].frames == e["frames"]
    assert ann.labels == sorted({a["label"] for e in raw.values() for a in e["annotations"]})
    assert len(ann.labels) == 20


def test_thumos_classes_are_ucf101_classes_with_their_indices(thumos_json, realdata):
    raw = json.loads(thumos_json.read_text())
    assert set(THUMOS14_CLASSES) == {a["label"] for e in raw.values() for a in e["annotations"]}
    class_ind = realdata / "annotations" / "ucf101" / "classInd.txt"
    if not class_ind.is_file():
        pytest.skip("UCF-101 classInd.txt not present")
    ucf = {}
    for line in class_ind.read_text().splitlines():
        if line.strip():
            idx, name = line.strip().split(" ")
            ucf[name] = int(idx)
    assert {c: ucf[c] for c in THUMOS14_CLASSES} == THUMOS14_CLASSES


def test_thumos_json_to_txt_and_back_real(thumos_json, tmp_path):
    raw = json.loads(thumos_json.read_text())
    written = json_to_txt(thumos_json, tmp_path / "ann")
    # Line counts per file, counted by hand, equal the JSON's segments per (subset, class).
    want = Counter()
    for e in raw.values():
        for a in e["annotations"]:
            want[(e["subset"], a["label"])] += 1
    got = Counter()
    for p in written:
        subset = "validation" if p.parent.name == "val" else "test"
        label = p.name.rsplit("_", 1)[0]
        got[(subset, label)] = sum(1 for line in open(p) if line.strip())
    assert got == want
    assert (tmp_path / "ann" / "val" / "HighJump_val.txt").is_file()
    assert (tmp_path / "ann" / "test" / "HighJump_test.txt").is_file()
    # txt -> videos equals the raw JSON per subset.
    for subset in ("validation", "test"):
        folder = tmp_path / "ann" / ("val" if subset == "validation" else "test")
        vids = read_txt_annotations(folder, subset)
        raw_sub = {k: v for k, v in raw.items() if v["subset"] == subset}
        assert set(vids) == set(raw_sub)
        assert {k: Counter((s.start, s.end, s.label) for s in v.segments) for k, v in vids.items()} == _raw_segments(raw_sub)
    # txt -> JSON (durations supplied) reproduces the original entries.
    durations = {k: v["duration"] for k, v in raw.items()}
    back = txt_to_json(tmp_path / "ann", tmp_path / "back.json", durations=durations)
    assert json.loads((tmp_path / "back.json").read_text()) == back
    assert set(back["database"]) == set(raw)
    assert _raw_segments(back["database"]) == _raw_segments(raw)
    for k, e in back["database"].items():
        assert e["subset"] == raw[k]["subset"] and e["duration"] == raw[k]["duration"]


def test_thumos_txt_to_json_needs_durations(tmp_path):
    d = tmp_path / "ann" / "val"
    d.mkdir(parents=True)
    (d / "HighJump_val.txt").write_text("video_validation_0000001 1.0 2.0\n")
    with pytest.raises(ValueError, match="video_validation_0000001"):
        txt_to_json(tmp_path / "ann")


# ---------------------------------------------------------------------------------------------------------------
# THUMOS14, synthetic roots
# ---------------------------------------------------------------------------------------------------------------
def _write_thumos_txt_root(root: Path) -> None:
    t = root / "annotations" / "test"
    t.mkdir(parents=True)
    (t / "HighJump_test.txt").write_text(
        "video_test_0000002 5.0 6.5\nvideo_test_0000001  1.2   3.4 \n\nvideo_test_0000001 10 12\n"
    )
    (t / "LongJump_test.txt").write_text("video_test_0000001 4.0 4.5\n")
    (t / "Ambiguous_test.txt").write_text("video_test_0000001 7.0 8.0\nvideo_test_0000099 1.0 2.0\n")
    v = root / "annotations" / "val"
    v.mkdir(parents=True)
    (v / "PoleVault_val.txt").write_text("video_validation_0000001 0.5 1.5\n")


def test_thumos_txt_source_keeps_ambiguous_separate(tmp_path):
    _write_thumos_txt_root(tmp_path)
    ds = Thumos14Dataset(tmp_path, subset="test", source="txt", check_media=False)
    assert [v.video_id for v in ds.videos] == ["video_test_0000001", "video_test_0000002"]  # 0099: ambiguous only
    v1 = ds.videos[0]
    assert [(s.start, s.end, s.label) for s in v1.segments] == [
        (1.2, 3.4, "HighJump"), (4.0, 4.5, "LongJump"), (10.0, 12.0, "HighJump")]
    assert v1.ambiguous == ((7.0, 8.0),)
    assert "Ambiguous" not in ds.classes
    assert ds.classes == ["HighJump", "LongJump", "PoleVault"]  # classes of both subsets
    assert ds.failures == []


def test_thumos_json_root_with_database_wrapper_and_missing_video(tmp_path):
    db = {
        "video_test_0000001": {"subset": "test", "duration": 3.0, "annotations": [{"segment": [0.1, 0.4], "label": "Diving"}]},
        "video_test_0000002": {"subset": "test", "duration": 3.0, "annotations": [{"segment": [0.2, 0.5], "label": "Shotput"}]},
        "video_validation_0000001": {"subset": "validation", "duration": 2.0, "annotations": []},
    }
    (tmp_path / "thumos14.json").write_text(json.dumps({"database": db}))
    amb = tmp_path / "annotations" / "test"
    amb.mkdir(parents=True)
    (amb / "Ambiguous_test.txt").write_text("video_test_0000001 0.5 0.6\n")
    _tiny_video(tmp_path / "videos" / "test" / "video_test_0000001.mp4", value=200)
    ds = Thumos14Dataset(tmp_path, subset="test")
    assert ds.source == "json"
    assert [v.video_id for v in ds.videos] == ["video_test_0000001"]
    assert ds.videos[0].ambiguous == ((0.5, 0.6),)
    assert len(ds.failures) == 1 and ds.failures[0].sample_id == "video_test_0000002"
    assert "not found" in ds.failures[0].reason and ds.failures[0].file.endswith("video_test_0000002.mp4")
    frames = ds.load_frames(ds.videos[0], [0, 5])
    assert frames.shape == (2, 32, 32, 3) and frames.dtype == np.uint8
    assert abs(float(frames.mean()) - 200) < 4
    # A file that is not a video: iter_frames records it and carries on.
    bad = tmp_path / "videos" / "test" / "video_test_0000002.mp4"
    bad.write_bytes(b"not a video at all")
    ds2 = Thumos14Dataset(tmp_path, subset="test")
    assert len(ds2) == 2 and ds2.failures == []
    got = [v.video_id for v, _ in ds2.iter_frames([0])]
    assert got == ["video_test_0000001"]
    assert [f.sample_id for f in ds2.failures] == ["video_test_0000002"]


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("video_test_0000001 1.0 2.0\nvideo_test_0000001 1.0\n", "line 2", "got 2 fields"),
        ("video_test_0000001 1.0 2.0\n\nvideo_test_0000001 a 2.0\n", "line 3", "numbers"),
        ("video_test_0000001 5.0 2.0\n", "line 1", "before start"),
        ("video_test_0000001 -1.0 2.0\n", "line 1", "non-negative"),
        ("video_test_0000001 1.0 inf\n", "line 1", "finite"),
    ],
)
def test_thumos_malformed_txt_line(tmp_path, text, line, reason):
    p = tmp_path / "HighJump_test.txt"
    p.write_text(text)
    with pytest.raises(DatasetFormatError) as e:
        read_segment_txt(p)
    assert e.value.file == str(p) and e.value.field == line and reason in e.value.reason
    assert str(p) in str(e.value) and line in str(e.value)


def test_thumos_no_class_files(tmp_path):
    with pytest.raises(DatasetFormatError, match="no '<Class>_test.txt'"):
        read_txt_annotations(tmp_path, "test")


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"duration": 3.0, "annotations": []}, "v1.subset"),
        ({"subset": "test", "annotations": []}, "v1.duration"),
        ({"subset": "test", "duration": "long", "annotations": []}, "v1.duration"),
        ({"subset": "training", "duration": 3.0, "annotations": []}, "v1.subset"),
        ({"subset": "test", "duration": 3.0, "annotations": {}}, "v1.annotations"),
        ({"subset": "test", "duration": 3.0, "annotations": [{"segment": [1.0], "label": "X"}]}, "v1.annotations[0].segment"),
        ({"subset": "test", "duration": 3.0, "annotations": [{"segment": [1.0, 2.0]}]}, "v1.annotations[0].label"),
        ({"subset": "test", "duration": 3.0, "annotations": [{"segment": [1.0, 2.0], "label": 7}]}, "v1.annotations[0].label"),
    ],
)
def test_thumos_json_bad_fields(tmp_path, entry, field):
    p = tmp_path / "thumos14.json"
    p.write_text(json.dumps({"v1": entry}))
    with pytest.raises(DatasetFormatError) as e:
        read_thumos_json(p)
    assert e.value.file == str(p) and e.value.field == field


def test_thumos_json_actionformer_variant(tmp_path):
    # ActionFormer-style conversion: wrapper, capitalised subsets, an fps field, extra label_id keys.
    p = tmp_path / "thumos14.json"
    p.write_text(json.dumps({"version": "Thumos14-30fps", "database": {
        "video_validation_0000051": {"subset": "Validation", "duration": 169.79, "fps": 30.0, "annotations": [
            {"label": "BaseballPitch", "segment": [67.5, 75.9], "segment(frames)": [2025, 2277], "label_id": 0}]},
        "video_test_0000004": {"subset": "Test", "duration": 33.5, "fps": 30.0, "annotations": []}}}))
    ann = read_thumos_json(p)
    v = ann.videos["video_validation_0000051"]
    assert (v.subset, v.fps, v.segments[0].start, v.segments[0].end) == ("validation", 30.0, 67.5, 75.9)
    assert ann.videos["video_test_0000004"].subset == "test"


def test_thumos_json_syntax_error_names_line(tmp_path):
    p = tmp_path / "thumos14.json"
    p.write_text('{"v1": {"subset": "test",\n "duration": 3.0,,}}')
    with pytest.raises(DatasetFormatError) as e:
        read_thumos_json(p)
    assert e.value.field.startswith("line 2") and "invalid JSON" in e.value.reason


# ---------------------------------------------------------------------------------------------------------------
# ActivityNet v1.3
# ---------------------------------------------------------------------------------------------------------------
def _anet_json(db: dict) -> dict:
    taxonomy = [
        {"nodeId": 1, "nodeName": "Root", "parentId": None, "parentName": None},
        {"nodeId": 2, "nodeName": "Sports", "parentId": 1, "parentName": "Root"},
        {"nodeId": 3, "nodeName": "Long jump", "parentId": 2, "parentName": "Sports"},
        {"nodeId": 4, "nodeName": "High jump", "parentId": 2, "parentName": "Sports"},
        {"nodeId": 5, "nodeName": "Cooking", "parentId": 1, "parentName": "Root"},
        {"nodeId": 6, "nodeName": "Making tea", "parentId": 5, "parentName": "Cooking"},
    ]
    return {"version": "VERSION 1.3", "taxonomy": taxonomy, "database": db}


def _entry(subset, duration, anns, **kw):
    e = {"subset": subset, "duration": duration, "resolution": "320x240", "url": "https://www.youtube.com/watch?v=x",
         "annotations": [{"segment": list(s), "label": lab} for s, lab in anns]}
    e.update(kw)
    return e


def test_activitynet_dataset(tmp_path):
    db = {
        "aaaaaaaaaaa": _entry("validation", 10.0, [((1.0, 4.5), "Long jump"), ((6.0, 9.0), "High jump")]),
        "bbbbbbbbbbb": _entry("validation", 8.0, [((0.0, 8.2), "Making tea")]),  # runs past duration: kept
        "ccccccccccc": _entry("validation", 5.0, [((1.0, 2.0), "Long jump")]),
        "ddddddddddd": _entry("training", 5.0, [((1.0, 2.0), "High jump")]),
        "eeeeeeeeeee": _entry("testing", 5.0, []),
    }
    (tmp_path / "activity_net.v1-3.min.json").write_text(json.dumps(_anet_json(db)))
    _tiny_video(tmp_path / "videos" / "v_aaaaaaaaaaa.mp4")
    _tiny_video(tmp_path / "videos" / "bbbbbbbbbbb.mp4")  # the id without "v_" is accepted too
    ds = ActivityNetDataset(tmp_path, subset="validation")
    assert [v.video_id for v in ds.videos] == ["aaaaaaaaaaa", "bbbbbbbbbbb"]
    assert ds.videos[0].path.name == "v_aaaaaaaaaaa.mp4" and ds.videos[1].path.name == "bbbbbbbbbbb.mp4"
    assert [(f.sample_id, f.reason) for f in ds.failures] == [("ccccccccccc", "video file not found")]
    assert ds.classes == ["High jump", "Long jump", "Making tea"]  # taxonomy leaves, not "Sports"/"Cooking"/"Root"
    v = ds.videos[0]
    assert v.duration == 10.0 and v.resolution == "320x240" and v.labels == ("High jump", "Long jump")
    assert ds.videos[1].segments[0].end == 8.2
    assert ds.load_frames(v, [0, 1]).shape == (2, 32, 32, 3)
    train = ActivityNetDataset(tmp_path, subset="training", check_media=False)
    assert [x.video_id for x in train.videos] == ["ddddddddddd"] and train.videos[0].path is None
    test = ActivityNetDataset(tmp_path, subset="testing", check_media=False)
    assert test.videos[0].segments == ()


def test_activitynet_taxonomy_leaves_by_hand():
    tax = _anet_json({})["taxonomy"]
    assert taxonomy_leaves(tax) == ["High jump", "Long jump", "Making tea"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"version": "VERSION 1.3", "taxonomy": []}, "database"),
        ({"database": []}, "database"),
        ({"database": {"a": _entry("train", 5.0, [])}}, "database.a.subset"),
        ({"database": {"a": _entry("validation", -1.0, [])}}, "database.a.duration"),
        ({"database": {"a": _entry("validation", 5.0, [((3.0, 2.0), "x")])}}, "database.a.annotations[0].segment"),
        ({"database": {"a": _entry("validation", 5.0, [], resolution=720)}}, "database.a.resolution"),
        ({"version": 1.3, "database": {}}, "version"),
        ({"taxonomy": [{"nodeName": "a"}], "database": {}}, "taxonomy[0].parentName"),
    ],
)
def test_activitynet_bad_json(tmp_path, data, field):
    p = tmp_path / "activity_net.v1-3.min.json"
    p.write_text(json.dumps(data))
    with pytest.raises(DatasetFormatError) as e:
        load_activitynet_json(p)
    assert e.value.file == str(p) and e.value.field == field


def test_activitynet_missing_file(tmp_path):
    with pytest.raises(DatasetFormatError, match="does not exist"):
        ActivityNetDataset(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# zero-shot class splits
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, setting, seen", [(20, "50_50", 10), (20, "75_25", 15), (200, "50_50", 100), (200, "75_25", 150)])
def test_generate_splits_sizes_and_partition(n, setting, seen):
    classes = [f"class {i:03d}" for i in range(n)]
    splits = generate_splits(classes, setting)
    assert len(splits) == 10 and [s.index for s in splits] == list(range(10))
    for s in splits:
        assert len(s.seen) == seen and len(s.unseen) == n - seen
        assert not set(s.seen) & set(s.unseen)
        assert sorted(s.seen + s.unseen) == sorted(classes)
    assert len({s.unseen for s in splits}) == 10  # ten different random splits


def test_generate_splits_deterministic():
    classes = list(THUMOS14_CLASSES)
    a = generate_splits(classes, "75_25", seed=3)
    assert a == generate_splits(list(reversed(classes)), "75_25", seed=3)  # input order irrelevant
    assert a != generate_splits(classes, "75_25", seed=4)
    with pytest.raises(ValueError, match="duplicates"):
        generate_splits(classes + ["Diving"], "50_50")
    with pytest.raises(ValueError, match="unknown zero-shot setting"):
        generate_splits(classes, "60_40")


def test_write_read_splits_roundtrip(tmp_path):
    classes = list(THUMOS14_CLASSES)
    out = generate_and_write_all(classes, tmp_path / "zero_shot_splits", seed=0)
    for setting in ("50_50", "75_25"):
        for i in range(10):
            d = tmp_path / "zero_shot_splits" / setting / f"split_{i:02d}"
            seen = [line for line in (d / "seen.txt").read_text().splitlines() if line]
            unseen = [line for line in (d / "unseen.txt").read_text().splitlines() if line]
            assert tuple(seen) == out[setting][i].seen and tuple(unseen) == out[setting][i].unseen
        assert read_splits(tmp_path / "zero_shot_splits", setting, classes) == out[setting]


def _one_split(tmp_path, seen, unseen, setting="50_50", index=0):
    d = tmp_path / setting / f"split_{index:02d}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "seen.txt").write_text(seen)
    (d / "unseen.txt").write_text(unseen)
    return d


def test_dataset_reads_its_zero_shot_splits(tmp_path):
    _write_thumos_txt_root(tmp_path)
    ds = Thumos14Dataset(tmp_path, subset="test", source="txt", check_media=False)
    written = generate_and_write_all(ds.classes + ["Diving"], tmp_path / "zero_shot_splits", seed=1)
    with pytest.raises(DatasetFormatError, match="unknown class 'Diving'"):  # not a class of this dataset
        ds.zero_shot_splits("50_50")
    written = generate_and_write_all(ds.classes, tmp_path / "zero_shot_splits", seed=1)
    assert ds.zero_shot_splits("75_25") == written["75_25"]
    assert [len(s.seen) for s in ds.zero_shot_splits("75_25")] == [2] * 10  # round(0.75 * 3) = 2


def test_read_splits_unknown_class(tmp_path):
    d = _one_split(tmp_path, "A\nB\nZebra\n", "C\n")
    with pytest.raises(DatasetFormatError) as e:
        read_splits(tmp_path, "50_50", ["A", "B", "C", "D"], num_splits=1)
    assert e.value.file == str(d / "seen.txt") and e.value.field == "line 3" and "Zebra" in e.value.reason


def test_read_splits_overlap_missing_and_sizes(tmp_path):
    classes = ["A", "B", "C", "D"]
    _one_split(tmp_path, "A\nB\n", "B\nC\nD\n")
    with pytest.raises(DatasetFormatError, match=r"both seen.txt and unseen.txt: \['B'\]"):
        read_splits(tmp_path, "50_50", classes, num_splits=1)
    _one_split(tmp_path, "A\nB\n", "C\n")
    with pytest.raises(DatasetFormatError, match=r"neither seen.txt nor unseen.txt: \['D'\]"):
        read_splits(tmp_path, "50_50", classes, num_splits=1)
    _one_split(tmp_path, "A\n", "B\nC\nD\n")
    with pytest.raises(DatasetFormatError, match="needs 2 seen / 2 unseen, got 1 / 3"):
        read_splits(tmp_path, "50_50", classes, num_splits=1)
    _one_split(tmp_path, "A\nB\n", "C\nD\n")
    assert read_splits(tmp_path, "50_50", classes, num_splits=1)[0].seen == ("A", "B")
    with pytest.raises(DatasetFormatError) as e:  # split_01 .. split_09 missing
        read_splits(tmp_path, "50_50", classes)
    assert e.value.file == str(tmp_path / "50_50" / "split_01") and "missing" in e.value.reason
    (tmp_path / "50_50" / "split_00" / "unseen.txt").unlink()
    with pytest.raises(DatasetFormatError, match="does not exist") as e:
        read_splits(tmp_path, "50_50", classes, num_splits=1)
    assert e.value.file.endswith("unseen.txt")
    with pytest.raises(DatasetFormatError, match="75_25 does not exist"):
        read_splits(tmp_path, "75_25", classes)


def test_read_splits_duplicate_line(tmp_path):
    d = _one_split(tmp_path, "A\nB\nA\n", "C\nD\n")
    with pytest.raises(DatasetFormatError) as e:
        read_splits(tmp_path, "50_50", num_splits=1)
    assert e.value.file == str(d / "seen.txt") and e.value.field == "line 3" and "repeated" in e.value.reason


def test_validate_split_direct():
    with pytest.raises(DatasetFormatError, match="unknown classes"):
        validate_split(ClassSplit("50_50", 0, ("A", "X"), ("B", "C")), ["A", "B", "C", "D"])
    validate_split(ClassSplit("75_25", 0, ("A", "B", "C"), ("D",)), ["A", "B", "C", "D"])


def test_write_splits_layout(tmp_path):
    paths = write_splits(tmp_path, [ClassSplit("75_25", 7, ("A", "B", "C"), ("D",))])
    assert paths == [tmp_path / "75_25" / "split_07" / "seen.txt", tmp_path / "75_25" / "split_07" / "unseen.txt"]
    assert paths[0].read_text() == "A\nB\nC\n" and paths[1].read_text() == "D\n"
