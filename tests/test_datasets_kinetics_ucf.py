"""Kinetics CSV / UCF-101 split-file readers.

Real files: ``annotations/kinetics/kinetics-{400,600}_val.csv``, ``label_map_k400.txt``, ``annotations/ucf101/*``,
the real clips ``videos/kinetics_arm_wrestling.mp4`` and ``videos/ucf_apply_eye_makeup.avi`` (linked, never copied,
into temporary dataset roots). Counts are re-derived with pandas or by reading lines by hand.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks.datasets.errors import DatasetFormatError
from benchmarks.datasets.kinetics import (
    KineticsDataset,
    clip_filename,
    kinetics_classes,
    new_classes,
    read_kinetics_csv,
    read_label_map,
)
from benchmarks.datasets.ucf101 import UCF101Dataset, read_class_index, read_split_list


def _need(p: Path) -> Path:
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


# ---------------------------------------------------------------------------------------------------------------
# Kinetics, real CSVs
# ---------------------------------------------------------------------------------------------------------------
def test_kinetics400_val_real(realdata):
    import pandas as pd

    csv = _need(realdata / "annotations" / "kinetics" / "kinetics-400_val.csv")
    label_map = read_label_map(_need(realdata / "annotations" / "kinetics" / "label_map_k400.txt"))
    clips = read_kinetics_csv(csv, classes=label_map)
    df = pd.read_csv(csv)
    assert len(clips) == len(df) == 19906
    assert kinetics_classes(clips) == sorted(df["label"].unique()) and len(label_map) == 400
    assert set(label_map) == set(df["label"])
    assert sum(c.is_cc for c in clips) == int(df["is_cc"].sum())
    k = 1234
    row = df.iloc[k]
    c = clips[k]
    assert (c.label, c.youtube_id, c.time_start, c.time_end, c.split) == (
        row["label"], row["youtube_id"], row["time_start"], row["time_end"], row["split"])
    assert c.line == k + 2  # header is line 1
    assert c.filename == f"{row['youtube_id']}_{row['time_start']:06d}_{row['time_end']:06d}.mp4"


def test_kinetics600_new_classes_real(realdata):
    import pandas as pd

    k400 = read_kinetics_csv(_need(realdata / "annotations" / "kinetics" / "kinetics-400_val.csv"))
    k600_csv = _need(realdata / "annotations" / "kinetics" / "kinetics-600_val.csv")
    k600 = read_kinetics_csv(k600_csv)
    df = pd.read_csv(k600_csv)
    assert len(k600) == len(df) == 30000 and all(c.is_cc is None for c in k600)  # K600 CSV has no is_cc
    c600 = kinetics_classes(k600)
    assert len(c600) == df["label"].nunique() == 600
    label_map = set(read_label_map(realdata / "annotations" / "kinetics" / "label_map_k400.txt"))
    new = new_classes(c600, kinetics_classes(k400))
    assert new == sorted(lab for lab in df["label"].unique() if lab not in label_map)
    assert all(lab not in label_map for lab in new)
    assert len(new) == 600 - sum(lab in label_map for lab in df["label"].unique())


def test_kinetics_dataset_with_real_clip(realdata, tmp_path):
    mp4 = _need(realdata / "videos" / "kinetics_arm_wrestling.mp4")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "val.csv").write_text(
        "label,youtube_id,time_start,time_end,split,is_cc\n"
        "arm wrestling,AAAAAAAAAAA,5,15,val,0\n"
        '"petting animal (not cat)",BBBBBBBBBBB,0,10,val,1\n'
        "arm wrestling,CCCCCCCCCCC,0,10,train,0\n"
    )
    folder = tmp_path / "val" / "arm wrestling"
    folder.mkdir(parents=True)
    os.symlink(mp4, folder / "AAAAAAAAAAA_000005_000015.mp4")
    ds = KineticsDataset(tmp_path, split="val")
    assert [c.youtube_id for c in ds.clips] == ["AAAAAAAAAAA"]  # the train row is another split
    assert ds.classes == ["arm wrestling", "petting animal (not cat)"]
    assert len(ds.failures) == 1 and ds.failures[0].sample_id == "BBBBBBBBBBB_000000_000010"
    assert ds.failures[0].file == str(tmp_path / "val" / "petting animal (not cat)" / "BBBBBBBBBBB_000000_000010.mp4")
    assert ds.failures[0].field == "line 3"
    frames = ds.load_frames(ds.clips[0], [0, 279])
    assert frames.shape == (2, 256, 340, 3)  # README: 340x256, 280 frames
    # Flat folder and underscore label folders are accepted too.
    os.remove(folder / "AAAAAAAAAAA_000005_000015.mp4")
    os.symlink(mp4, tmp_path / "val" / "AAAAAAAAAAA_000005_000015.mp4")
    under = tmp_path / "val" / "petting_animal_(not_cat)"
    under.mkdir()
    os.symlink(mp4, under / "BBBBBBBBBBB_000000_000010.mp4")
    ds2 = KineticsDataset(tmp_path, split="val")
    assert [c.path for c in ds2.clips] == [tmp_path / "val" / "AAAAAAAAAAA_000005_000015.mp4",
                                           under / "BBBBBBBBBBB_000000_000010.mp4"]
    assert ds2.failures == [] and ds2.label_index(ds2.clips[1]) == 1
    with pytest.raises(DatasetFormatError, match="no row has split 'validate'"):
        KineticsDataset(tmp_path, split="validate", annotation_file=tmp_path / "annotations" / "val.csv")


def test_clip_filename():
    assert clip_filename("0wR5jVB-WPk", 417, 427) == "0wR5jVB-WPk_000417_000427.mp4"


@pytest.mark.parametrize(
    "text, field, reason",
    [
        ("label,youtube_id,time_start,split\nx,a,1,val\n", "header", "time_end"),
        ("label,youtube_id,time_start,time_end,split\nx,a,1,11,val\nx,b,one,11,val\n", "line 3: column time_start", "whole"),
        ("label,youtube_id,time_start,time_end,split\nx,a,1.5,11,val\n", "line 2: column time_start", "whole"),
        ("label,youtube_id,time_start,time_end,split\nx,a,12,11,val\n", "line 2: column time_end", "not after"),
        ("label,youtube_id,time_start,time_end,split\nx,a,1,11\n", "line 2", "expected 5 fields"),
        ("label,youtube_id,time_start,time_end,split\n,a,1,11,val\n", "line 2: column label", "empty"),
        ("label,youtube_id,time_start,time_end,split,is_cc\nx,a,1,11,val,yes\n", "line 2: column is_cc", "0 or 1"),
        ("label,youtube_id,time_start,time_end,split\nx,a,inf,11,val\n", "line 2: column time_start", "whole"),
        ("", "header", "empty"),
    ],
)
def test_kinetics_bad_csv(tmp_path, text, field, reason):
    p = tmp_path / "val.csv"
    p.write_text(text)
    with pytest.raises(DatasetFormatError) as e:
        read_kinetics_csv(p)
    assert e.value.file == str(p) and e.value.field == field and reason in e.value.reason


def test_kinetics_unknown_class_and_bad_label_map(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text("label,youtube_id,time_start,time_end,split\nabseiling,a,0,10,val\nflying,b,0,10,val\n")
    with pytest.raises(DatasetFormatError) as e:
        read_kinetics_csv(p, classes=["abseiling"])
    assert e.value.field == "line 3: column label" and "unknown class 'flying'" in e.value.reason
    m = tmp_path / "labels.txt"
    m.write_text("abseiling\nflying\nabseiling\n")
    with pytest.raises(DatasetFormatError) as e:
        read_label_map(m)
    assert e.value.field == "line 3" and "repeated" in e.value.reason


# ---------------------------------------------------------------------------------------------------------------
# UCF-101, real split files
# ---------------------------------------------------------------------------------------------------------------
def _hand_class_index(path: Path) -> dict[str, int]:
    out = {}
    for raw in path.read_bytes().split(b"\n"):
        raw = raw.strip()
        if raw:
            idx, name = raw.decode().split(" ")
            out[name] = int(idx)
    return out


@pytest.mark.parametrize("fold", [1, 2, 3])
def test_ucf101_real_split_files(realdata, fold):
    d = _need(realdata / "annotations" / "ucf101")
    classes = read_class_index(d / "classInd.txt")
    hand = _hand_class_index(d / "classInd.txt")
    assert len(classes) == len(hand) == 101
    assert {c: i + 1 for i, c in enumerate(classes)} == hand
    train = read_split_list(d / f"trainlist0{fold}.txt", classes)
    test = read_split_list(d / f"testlist0{fold}.txt", classes)
    train_lines = [line.split() for line in (d / f"trainlist0{fold}.txt").read_text().splitlines() if line.strip()]
    test_lines = [line for line in (d / f"testlist0{fold}.txt").read_text().splitlines() if line.strip()]
    assert len(train) == len(train_lines) and len(test) == len(test_lines)
    assert [c.label + 1 for c in train] == [int(parts[1]) for parts in train_lines]
    assert [c.relpath for c in test] == [line.strip() for line in test_lines]
    # Official protocol: fold k tests on groups 7(k-1)+1 .. 7k and trains on the others.
    assert {c.group for c in test} == set(range(7 * (fold - 1) + 1, 7 * fold + 1))
    assert not {c.group for c in train} & {c.group for c in test}
    assert len(train) + len(test) == 13320  # UCF-101 has 13,320 clips; each fold lists all of them once


def test_ucf101_dataset_with_real_avi(realdata, tmp_path):
    avi = _need(realdata / "videos" / "ucf_apply_eye_makeup.avi")
    d = _need(realdata / "annotations" / "ucf101")
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    for name in ("classInd.txt", "testlist01.txt"):
        os.symlink(d / name, lists / name)
    vid_dir = tmp_path / "UCF-101" / "ApplyEyeMakeup"
    vid_dir.mkdir(parents=True)
    os.symlink(avi, vid_dir / "v_ApplyEyeMakeup_g01_c01.avi")
    ds = UCF101Dataset(tmp_path, split="test", fold=1)
    n_listed = sum(1 for line in open(d / "testlist01.txt") if line.strip())
    assert len(ds) == 1 and len(ds.failures) == n_listed - 1
    clip = ds.clips[0]
    assert (clip.class_name, clip.label, clip.group, clip.clip) == ("ApplyEyeMakeup", 0, 1, 1)
    frames = ds.load_frames(clip, [0, 163])
    assert frames.shape == (2, 240, 320, 3)  # README: 320x240, 164 frames
    import av

    with av.open(str(avi)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    np.testing.assert_array_equal(frames[0], first)
    f = next(x for x in ds.failures if x.sample_id == "v_ApplyEyeMakeup_g01_c02")
    assert f.field == "line 2" and f.file.endswith("UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c02.avi")


def test_ucf101_case_insensitive_file_lookup(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 HandstandPushups\r\n2 Archery\r\n")
    (lists / "trainlist01.txt").write_text("HandstandPushups/v_HandstandPushups_g08_c01.avi 1\n")
    d = tmp_path / "UCF-101" / "HandstandPushups"
    d.mkdir(parents=True)
    (d / "v_HandStandPushups_g08_c01.avi").write_bytes(b"x")  # the official archive's spelling
    ds = UCF101Dataset(tmp_path, split="train", fold=1)
    assert ds.failures == [] and ds.clips[0].path == d / "v_HandStandPushups_g08_c01.avi"


@pytest.mark.parametrize(
    "name, text, field, reason",
    [
        ("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nFlying/v_Flying_g08_c01.avi 2\n",
         "line 2", "unknown class 'Flying'"),
        ("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 2\n", "line 1", "disagrees"),
        ("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi\n", "line 1", "expected"),
        ("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi one\n", "line 1", "integer"),
        ("testlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n", "line 1", "expected"),
        ("testlist01.txt", "v_ApplyEyeMakeup_g08_c01.avi\n", "line 1", "<Class>/<file>.avi"),
        ("testlist01.txt", "ApplyEyeMakeup/clip.avi\n", "line 1", "v_<Class>_g<GG>_c<CC>.avi"),
        ("testlist01.txt", "ApplyEyeMakeup/v_Archery_g01_c01.avi\n", "line 1", "sits in folder"),
    ],
)
def test_ucf101_bad_split_lines(tmp_path, name, text, field, reason):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(DatasetFormatError) as e:
        read_split_list(p, ["ApplyEyeMakeup", "Archery"])
    assert e.value.file == str(p) and e.value.field == field and reason in e.value.reason


@pytest.mark.parametrize(
    "text, field, reason",
    [
        ("1 A\n3 B\n", "line 2", "expected class index 2"),
        ("1 A\n2\n", "line 2", "expected '<index> <ClassName>'"),
        ("1 A\nx B\n", "line 2", "positive integer"),
        ("1 A\n2 A\n", "line 2", "twice"),
    ],
)
def test_ucf101_bad_class_index(tmp_path, text, field, reason):
    p = tmp_path / "classInd.txt"
    p.write_text(text)
    with pytest.raises(DatasetFormatError) as e:
        read_class_index(p)
    assert e.value.file == str(p) and e.value.field == field and reason in e.value.reason


def test_ucf101_missing_split_file(tmp_path):
    with pytest.raises(DatasetFormatError, match="does not exist"):
        UCF101Dataset(tmp_path)
