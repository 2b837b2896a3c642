"""YouTube-VIS / OVIS reader, mask encodings and the official results format.

References: a hand-worked 3x4 mask and its column-major runs; pycocotools' own encoder/decoder; the areas and
boxes stored in the real YouTube-VIS 2019 file; the same real masks stored independently as uncompressed RLE in
mmtracking's CocoVID conversion.
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
from benchmarks.datasets.rle import (
    SegmentationSizeError,
    check_segmentation,
    decode_segmentation,
    encode_mask,
    mask_area,
    mask_bbox,
    rle_counts_from_string,
)
from benchmarks.datasets.ytvis import (
    OVISDataset,
    VisPrediction,
    YouTubeVISDataset,
    read_results,
    write_results,
)

# 3 x 4 mask; column-major pixel order 0 0 0 | 1 1 0 | 1 0 0 | 0 0 1 -> runs 3 bg, 2 fg, 1 bg, 1 fg, 4 bg, 1 fg
HAND_MASK = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=bool)
HAND_COUNTS = [3, 2, 1, 1, 4, 1]


# ---------------------------------------------------------------------------------------------------- RLE
def test_rle_hand_worked_mask():
    np.testing.assert_array_equal(decode_segmentation({"size": [3, 4], "counts": HAND_COUNTS}, 3, 4), HAND_MASK)
    rle = encode_mask(HAND_MASK)
    assert rle["size"] == [3, 4] and isinstance(rle["counts"], str)
    assert rle_counts_from_string(rle["counts"]) == HAND_COUNTS
    np.testing.assert_array_equal(decode_segmentation(rle, 3, 4), HAND_MASK)
    assert mask_area(rle) == 4  # foreground runs 2 + 1 + 1
    assert mask_bbox(rle) == [1.0, 0.0, 3.0, 3.0]  # x from column 1 to 3, y from row 0 to 2
    assert decode_segmentation(None, 3, 4) is None


def test_rle_string_decoder_against_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, w = rng.integers(1, 40, 2)
        m = rng.random((h, w)) < rng.random()
        enc = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        runs = rle_counts_from_string(enc["counts"])
        assert sum(runs) == h * w
        # re-expand the runs by hand, column-major
        flat = np.concatenate([np.full(r, k % 2, bool) for k, r in enumerate(runs)])
        np.testing.assert_array_equal(flat.reshape(w, h).T, m)


def test_polygon_decoding_matches_pycocotools():
    poly = [[2.0, 1.0, 9.0, 1.0, 9.0, 6.0, 2.0, 6.0], [12.0, 2.0, 15.0, 2.0, 13.5, 5.0]]
    got = decode_segmentation(poly, 8, 16)
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, 8, 16))).astype(bool)
    np.testing.assert_array_equal(got, ref)
    assert got[3, 5] and got[3, 13] and not got[7, 0]


def test_rle_bad_input():
    with pytest.raises(SegmentationSizeError, match="disagrees") as err:
        check_segmentation({"size": [4, 3], "counts": [12]}, 3, 4, file="a.json", field="annotations[0].segmentations[2]")
    assert err.value.file == "a.json" and err.value.field == "annotations[0].segmentations[2].size"
    with pytest.raises(DatasetFormatError, match="sum to 11"):
        check_segmentation({"size": [3, 4], "counts": [3, 2, 6]}, 3, 4)
    with pytest.raises(DatasetFormatError, match="expected an RLE dict"):
        check_segmentation("oops", 3, 4)
    with pytest.raises(DatasetFormatError, match="even number"):
        check_segmentation([[1, 2, 3, 4, 5]], 3, 4)
    with pytest.raises(DatasetFormatError, match="size"):
        check_segmentation({"size": "3x4", "counts": "abc"}, 3, 4)
    # pycocotools silently decodes a too-short string into garbage memory; we refuse it
    with pytest.raises(DatasetFormatError, match="run lengths sum"):
        decode_segmentation({"size": [2, 3], "counts": "12"}, 2, 3)
    with pytest.raises(DatasetFormatError, match="cannot decode"):
        decode_segmentation({"size": [2, 3], "counts": "\x7f\x7f"}, 2, 3)


# ---------------------------------------------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def ytvis_real(realdata):
    d = realdata / "annotations" / "youtube-vis"
    if not (d / "ytvis2019_0043f083b5_ytvis_format.json").is_file():
        pytest.skip(f"YouTube-VIS sample not found under {d}")
    return d


def test_real_ytvis2019_file(ytvis_real):
    path = ytvis_real / "ytvis2019_0043f083b5_ytvis_format.json"
    raw = json.loads(path.read_text())
    ds = YouTubeVISDataset(path)  # no frames shipped: annotation-only use
    assert len(ds) == 1 and ds.failures == [] and len(ds.categories) == 40 and ds.has_annotations
    v = ds[0]
    assert (v.id, v.name, v.length, v.width, v.height) == (1, "0043f083b5", 20, 1280, 720)
    assert [i.id for i in v.instances] == [1, 2]
    assert [i.category_name for i in v.instances] == ["sedan", "sedan"]
    masks = v.instance_masks()
    assert masks.shape == (2, 20, 720, 1280)
    for n, ann in enumerate(raw["annotations"]):
        np.testing.assert_array_equal(v.instances[n].present, [s is not None for s in ann["segmentations"]])
        for t in range(20):
            if ann["areas"][t] is None:
                assert not masks[n, t].any()
            else:  # the dataset's own stored area and box for this frame
                assert masks[n, t].sum() == ann["areas"][t]
                ys, xs = np.nonzero(masks[n, t])
                x, y, w, h = ann["bboxes"][t]
                assert (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()) == (x, y, w, h)
    sub = v.instance_masks([2, 10])
    np.testing.assert_array_equal(sub, masks[:, [2, 10]])


def test_real_masks_equal_the_independent_cocovid_encoding(ytvis_real):
    """mmtracking's CocoVID file stores the same masks per image as *uncompressed* RLE."""
    v = YouTubeVISDataset(ytvis_real / "ytvis2019_0043f083b5_ytvis_format.json")[0]
    cocovid = json.loads((ytvis_real / "mmtracking_demo_vis_ann_cocovid_5c6aa673.json").read_text())
    frame_of = {im["id"]: im["frame_id"] for im in cocovid["images"]}
    masks = v.instance_masks()
    checked = 0
    for a in cocovid["annotations"]:
        t, n = frame_of[a["image_id"]], a["instance_id"] - 1
        ref = mask_utils.decode(mask_utils.frPyObjects(a["segmentation"], 720, 1280)).astype(bool)
        np.testing.assert_array_equal(masks[n, t], ref)
        checked += 1
    assert checked == 30  # 18 + 12 annotated frames


def test_real_results_file(ytvis_real, tmp_path):
    ds = YouTubeVISDataset(ytvis_real / "ytvis2019_0043f083b5_ytvis_format.json")
    res = read_results(ytvis_real / "mmtracking_demo_vis_results_5c6aa673.json", ds)
    raw = json.loads((ytvis_real / "mmtracking_demo_vis_results_5c6aa673.json").read_text())
    assert res.failures == [] and len(res.predictions) == len(raw) == 9
    assert [p.category_id for p in res.predictions] == [r["category_id"] for r in raw]
    assert all(len(p.segmentations) == 20 for p in res.predictions)
    # write -> read keeps every prediction; masks compared with pycocotools decoding of the original file
    out = write_results(tmp_path / "results.json", res.predictions)
    back = read_results(out, ds)
    for p, r in zip(back.predictions, raw):
        assert p.score == pytest.approx(r["score"])
        m = p.masks(720, 1280)
        for t, seg in enumerate(r["segmentations"]):
            ref = np.zeros((720, 1280), bool) if seg is None else mask_utils.decode(
                {"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
            np.testing.assert_array_equal(m[t], ref)


# ---------------------------------------------------------------------------------------------------- synthetic
H, W = 6, 8


def square(y0, x0, y1, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def make_ytvis(root, layout="ytvis"):
    """Three 3-frame videos; video 1 mixes compressed RLE, uncompressed RLE, polygon and null."""
    rng = np.random.default_rng(0)
    frames_dir = root / "train" / "JPEGImages" if layout == "ytvis" else root / "train"
    videos, frames = [], {}
    for vid, name in ((1, "aaa111"), (2, "bbb222"), (3, "ccc333")):
        names = [f"{name}/{t * 5:05d}.png" for t in range(3)]
        videos.append({"id": vid, "width": W, "height": H, "length": 3, "file_names": names})
        frames[vid] = rng.integers(0, 256, (3, H, W, 3), dtype=np.uint8)
        if vid != 3:  # video 3's frame folder is missing
            (frames_dir / name).mkdir(parents=True)
            for t, n in enumerate(names):
                Image.fromarray(frames[vid][t]).save(frames_dir / n)
    m0, m1 = square(1, 1, 3, 4), square(2, 2, 5, 6)
    unc = mask_utils.encode(np.asfortranarray(m1.astype(np.uint8)))
    ann = [
        {"id": 1, "video_id": 1, "category_id": 2, "iscrowd": 0, "height": H, "width": W, "length": 1,
         "segmentations": [encode_mask(m0), None, [[2.0, 2.0, 6.0, 2.0, 6.0, 5.0, 2.0, 5.0]]],
         "bboxes": [[1, 1, 3, 2], None, [2, 2, 4, 3]], "areas": [6, None, 12]},
        {"id": 2, "video_id": 1, "category_id": 1, "iscrowd": 0, "height": H, "width": W, "length": 1,
         "segmentations": [None, {"size": [H, W], "counts": _runs(m1)}, {"size": [H, W], "counts": unc["counts"].decode()}],
         "bboxes": [None, [2, 2, 4, 3], [2, 2, 4, 3]], "areas": [None, 12, 12]},
        {"id": 3, "video_id": 2, "category_id": 1, "iscrowd": 0, "height": H, "width": W, "length": 1,
         "segmentations": [{"size": [W, H], "counts": _runs(np.zeros((W, H), bool))}, None, None],  # wrong size
         "bboxes": [None, None, None], "areas": [None, None, None]},
    ]
    data = {"videos": videos, "annotations": ann,
            "categories": [{"id": 1, "name": "person", "supercategory": "object"}, {"id": 2, "name": "dog"}]}
    if layout == "ytvis":
        path = root / "train" / "instances.json"
    else:
        path = root / "annotations" / "annotations_train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path, data, frames, (m0, m1)


def _runs(m: np.ndarray) -> list[int]:
    flat = m.T.ravel()  # column-major
    runs, cur, n = [], False, 0
    for v in flat:
        if v == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = v, 1
    runs.append(n)
    return runs


def test_synthetic_ytvis_all_encodings_and_failures(tmp_path):
    path, data, frames, (m0, m1) = make_ytvis(tmp_path)
    ds = YouTubeVISDataset.from_root(tmp_path, "train")
    assert [v.id for v in ds] == [1]
    reasons = {f.sample_id: f for f in ds.failures}
    assert reasons["2"].field == "annotations[2].segmentations[0].size" and "disagrees" in reasons["2"].reason
    assert reasons["3"].reason == "frame folder does not exist"
    v = ds.video(1)
    np.testing.assert_array_equal(v.load_frames(), frames[1])
    assert v.load_frames([2], size=4, crop="center").shape == (1, 4, 4, 3)
    masks = v.instance_masks()
    poly = mask_utils.decode(mask_utils.frPyObjects([[2.0, 2.0, 6.0, 2.0, 6.0, 5.0, 2.0, 5.0]], H, W)[0]).astype(bool)
    np.testing.assert_array_equal(masks[0], np.stack([m0, np.zeros((H, W), bool), poly]))
    np.testing.assert_array_equal(masks[1], np.stack([np.zeros((H, W), bool), m1, m1]))
    assert [i.category_name for i in v.instances] == ["dog", "person"]


def test_ovis_layout_and_split_file(tmp_path):
    make_ytvis(tmp_path, layout="ovis")
    ds = OVISDataset.from_root(tmp_path, "train", check_frames=False)
    assert sorted(v.id for v in ds) == [1, 3]  # video 2 fails the size check even without frames
    (tmp_path / "heldout.txt").write_text("# held-out part of train\nccc333\n")
    ds = OVISDataset.from_root(tmp_path, "train", split_file=tmp_path / "heldout.txt", check_frames=False)
    assert [v.name for v in ds] == ["ccc333"]
    (tmp_path / "ids.json").write_text("[1, 3]")
    ds = OVISDataset.from_root(tmp_path, "train", split_file=tmp_path / "ids.json")
    assert [v.id for v in ds] == [1]  # 3 dropped: no frame folder
    (tmp_path / "bad.txt").write_text("aaa111\nzzz999\n")
    with pytest.raises(DatasetFormatError, match="zzz999") as err:
        OVISDataset.from_root(tmp_path, "train", split_file=tmp_path / "bad.txt")
    assert err.value.field == "entry 2"


def test_valid_split_without_annotations(tmp_path):
    path, data, _, _ = make_ytvis(tmp_path)
    data = {k: v for k, v in data.items() if k != "annotations"}
    (tmp_path / "valid.json").write_text(json.dumps(data))
    ds = YouTubeVISDataset(tmp_path / "valid.json", tmp_path / "train" / "JPEGImages")
    assert not ds.has_annotations and [v.id for v in ds] == [1, 2]
    assert all(v.instances == [] for v in ds)


@pytest.mark.parametrize(
    "edit,field,reason",
    [
        (lambda d: d["annotations"][0].pop("video_id"), "annotations[0].video_id", "missing required field"),
        (lambda d: d["videos"][1].__setitem__("width", "640"), "videos[1].width", "expected int"),
        (lambda d: d["annotations"][1].__setitem__("segmentations", {"0": None}), "annotations[1].segmentations", "expected list"),
        (lambda d: d["annotations"][0]["segmentations"].__setitem__(1, 7), "annotations[0].segmentations[1]", "expected an RLE dict"),
        (lambda d: d["annotations"][0]["bboxes"].__setitem__(0, [1, 2]), "annotations[0].bboxes[0]", "expected [x, y, w, h]"),
        (lambda d: d.pop("videos"), "videos", "missing required field"),
        (lambda d: d["videos"][0].__setitem__("length", 4), "videos[0].length", "file_names"),
    ],
)
def test_malformed_annotation_names_file_and_field(tmp_path, edit, field, reason):
    path, data, _, _ = make_ytvis(tmp_path)
    bad = copy.deepcopy(data)
    edit(bad)
    path.write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match=reason.replace("[", r"\[").replace("]", r"\]")) as err:
        YouTubeVISDataset.from_root(tmp_path)
    assert err.value.file == str(path) and err.value.field == field


def test_unparseable_json_and_length_mismatch(tmp_path):
    path, data, _, _ = make_ytvis(tmp_path)
    path.write_text(json.dumps(data)[:-20])
    with pytest.raises(DatasetFormatError, match="invalid JSON") as err:
        YouTubeVISDataset.from_root(tmp_path)
    assert err.value.file == str(path) and err.value.field.startswith("line 1")
    bad = copy.deepcopy(data)
    bad["annotations"][1]["segmentations"].append(None)  # 4 entries for a 3-frame video
    path.write_text(json.dumps(bad))
    ds = YouTubeVISDataset.from_root(tmp_path)
    assert [v.id for v in ds] == []
    assert any(f.sample_id == "1" and f.field == "annotations[1].segmentations" for f in ds.failures)


def test_corrupt_rle_string_fails_at_load_time(tmp_path):
    path, data, _, _ = make_ytvis(tmp_path)
    bad = copy.deepcopy(data)
    bad["annotations"][0]["segmentations"][0]["counts"] = "12"
    path.write_text(json.dumps(bad))
    ds = YouTubeVISDataset.from_root(tmp_path)
    v = ds.video(1)
    with pytest.raises(SampleDecodeError, match="run lengths sum") as err:
        v.instance_masks()
    assert err.value.file == str(path) and err.value.field == "annotation id 1.segmentations[0]"
    v.instance_masks([1, 2])  # frames without the bad RLE still decode


def test_results_write_read_from_masks(tmp_path):
    path, data, _, (m0, m1) = make_ytvis(tmp_path)
    ds = YouTubeVISDataset.from_root(tmp_path)
    masks = np.stack([m0, np.zeros((H, W), bool), m1])
    preds = [VisPrediction.from_masks(1, 2, 0.9, masks), VisPrediction.from_masks(1, 1, 0.25, masks[::-1])]
    assert preds[0].segmentations[1] is None  # an empty frame is written as null
    out = write_results(tmp_path / "res" / "results.json", preds)
    raw = json.loads(out.read_text())
    assert set(raw[0]) == {"video_id", "score", "category_id", "segmentations"}
    back = read_results(out, ds)
    assert back.failures == []
    np.testing.assert_array_equal(back.predictions[0].masks(H, W), masks)
    np.testing.assert_array_equal(back.predictions[1].masks(H, W), masks[::-1])
    assert read_results(out).predictions[1].score == 0.25  # without a dataset: structure checks only


def test_results_bad_input(tmp_path):
    make_ytvis(tmp_path)
    ds = YouTubeVISDataset.from_root(tmp_path)
    good = VisPrediction.from_masks(1, 2, 0.5, np.stack([square(0, 0, 2, 2)] * 3)).to_json()
    wrong_size = copy.deepcopy(good)
    wrong_size["segmentations"][0] = encode_mask(np.ones((W, H), bool))
    short = copy.deepcopy(good)
    short["segmentations"] = short["segmentations"][:2]
    unknown = dict(good, video_id=42)
    f = tmp_path / "r.json"
    f.write_text(json.dumps([good, wrong_size, short, unknown]))
    res = read_results(f, ds)
    assert len(res.predictions) == 1
    fields = [x.field for x in res.failures]
    assert fields == ["[1].segmentations[0].size", "[2].segmentations", "[3].video_id"]
    f.write_text(json.dumps([{k: v for k, v in good.items() if k != "score"}]))
    with pytest.raises(DatasetFormatError) as err:
        read_results(f, ds)
    assert err.value.field == "[0].score" and err.value.file == str(f)
    f.write_text(json.dumps([dict(good, score="high")]))
    with pytest.raises(DatasetFormatError, match="expected int/float"):
        read_results(f)
    f.write_text(json.dumps({"video_id": 1}))
    with pytest.raises(DatasetFormatError, match="JSON list"):
        read_results(f)
