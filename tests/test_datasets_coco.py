"""COCO val2017 reader: the real coco-mini files against pycocotools / the raw JSON, plus malformed files."""
from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.datasets.coco import CocoDataset
from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError


def pycoco(path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.fixture(scope="module")
def coco_mini(realdata):
    root = realdata / "coco-mini"
    if not (root / "annotations" / "instances_val2017.json").is_file():
        pytest.skip(f"coco-mini not found under {root}")
    return root


def test_real_coco_mini_against_pycocotools(coco_mini):
    ds = CocoDataset(coco_mini)
    inst = pycoco(coco_mini / "annotations" / "instances_val2017.json")
    caps = pycoco(coco_mini / "annotations" / "captions_val2017.json")
    assert ds.failures == []
    assert ds.image_ids == sorted(inst.getImgIds()) == sorted(caps.getImgIds())
    assert len(ds) == 79
    assert sum(len(im.captions) for im in ds) == len(caps.getAnnIds()) == 395
    assert sum(len(im.instances) for im in ds) == len(inst.getAnnIds()) == 624
    assert sorted(ds.categories) == sorted(inst.getCatIds())
    for im in ds:
        meta = inst.loadImgs(im.id)[0]
        assert (im.file_name, im.width, im.height) == (meta["file_name"], meta["width"], meta["height"])
        assert im.captions == [a["caption"].strip() for a in caps.loadAnns(caps.getAnnIds(imgIds=im.id))]
        assert [i.id for i in im.instances] == inst.getAnnIds(imgIds=im.id)
        assert [i.category_name for i in im.instances] == [
            inst.loadCats(a["category_id"])[0]["name"] for a in inst.loadAnns(inst.getAnnIds(imgIds=im.id))
        ]


def test_real_coco_masks_match_pycocotools(coco_mini):
    ds = CocoDataset(coco_mini, captions=False)
    inst = pycoco(coco_mini / "annotations" / "instances_val2017.json")
    crowd_images = sorted({a["image_id"] for a in inst.dataset["annotations"] if a["iscrowd"]})
    for image_id in [ds.image_ids[0], crowd_images[0]]:  # polygons, and uncompressed crowd RLE
        im = ds.image(image_id)
        masks = im.instance_masks()
        ref = np.stack([inst.annToMask(a) for a in inst.loadAnns(inst.getAnnIds(imgIds=image_id))]).astype(bool)
        np.testing.assert_array_equal(masks, ref)
        # the areas stored in the file (crowd RLE areas are exact pixel counts)
        for m, i in zip(masks, im.instances):
            if i.iscrowd:
                assert m.sum() == i.area


def test_real_coco_image_loading(coco_mini):
    ds = CocoDataset(coco_mini, instances=False)
    im = ds[0]
    with Image.open(im.path) as ref:
        ref = np.asarray(ref.convert("RGB"))
    np.testing.assert_array_equal(im.load_image(), ref)
    assert im.load_frames(size=128, crop="center").shape == (1, 128, 128, 3)
    assert im.load_image(size=(64, 80), resize_mode="exact").shape == (64, 80, 3)


# ---------------------------------------------------------------------------------------------------- synthetic
def tiny_coco(tmp_path):
    """Two 6x8 images; image 2 has a crowd RLE and a polygon."""
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    for i in (1, 2):
        Image.fromarray(np.full((6, 8, 3), 40 * i, np.uint8)).save(root / "val2017" / f"{i:012d}.jpg")
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 8, "height": 6} for i in (1, 2)]
    instances = {
        "images": images,
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
        "annotations": [
            {"id": 10, "image_id": 2, "category_id": 1, "bbox": [1, 1, 3, 2], "area": 6.0, "iscrowd": 0,
             "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]]},
            # column-major runs: 7 background, 3 foreground, 38 background -> pixels (1..3, 1) of a 6x8 image
            {"id": 11, "image_id": 2, "category_id": 1, "bbox": [1, 1, 1, 3], "area": 3, "iscrowd": 1,
             "segmentation": {"size": [6, 8], "counts": [7, 3, 38]}},
        ],
    }
    captions = {"images": images, "annotations": [
        {"id": 1, "image_id": 1, "caption": "A grey square. "}, {"id": 2, "image_id": 2, "caption": "Another one."},
        {"id": 3, "image_id": 2, "caption": "Lighter."}]}
    return root, instances, captions


def dump(root, instances, captions):
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(instances))
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps(captions))


def test_tiny_coco_hand_worked(tmp_path):
    root, instances, captions = tiny_coco(tmp_path)
    dump(root, instances, captions)
    ds = CocoDataset(root)
    assert ds.image_ids == [1, 2]
    assert ds[0].captions == ["A grey square."] and ds[1].captions == ["Another one.", "Lighter."]
    masks = ds[1].instance_masks()
    expected_crowd = np.zeros((6, 8), bool)
    expected_crowd[1:4, 1] = True
    np.testing.assert_array_equal(masks[1], expected_crowd)
    assert masks[0][2, 2] and not masks[0][5, 7]  # inside / outside the polygon square


def test_coco_bad_input(tmp_path):
    root, instances, captions = tiny_coco(tmp_path)
    ann = root / "annotations" / "instances_val2017.json"

    bad = copy.deepcopy(instances)
    del bad["images"][1]["file_name"]
    dump(root, bad, captions)
    with pytest.raises(DatasetFormatError) as err:
        CocoDataset(root, captions=False)
    assert err.value.file == str(ann) and err.value.field == "images[1].file_name"

    bad = copy.deepcopy(captions)
    bad["annotations"][2]["caption"] = 5
    dump(root, instances, bad)
    with pytest.raises(DatasetFormatError, match="expected str") as err:
        CocoDataset(root)
    assert err.value.field == "annotations[2].caption"

    bad = copy.deepcopy(instances)
    bad["annotations"][0]["bbox"] = "1,1,3,2"
    dump(root, bad, captions)
    with pytest.raises(DatasetFormatError) as err:
        CocoDataset(root)
    assert err.value.field == "annotations[0].bbox"

    dump(root, instances, captions)
    ann.write_text('{"images": [')
    with pytest.raises(DatasetFormatError, match="invalid JSON") as err:
        CocoDataset(root)
    assert err.value.file == str(ann)


def test_coco_per_sample_failures(tmp_path):
    root, instances, captions = tiny_coco(tmp_path)
    instances["annotations"][1]["segmentation"]["size"] = [8, 6]  # RLE size disagrees with the 6x8 image
    instances["annotations"][1]["segmentation"]["counts"] = [7, 3, 38]
    captions["annotations"].append({"id": 4, "image_id": 99, "caption": "orphan"})
    dump(root, instances, captions)
    (root / "val2017" / "000000000001.jpg").unlink()
    ds = CocoDataset(root)
    assert ds.image_ids == []
    by_field = {f.field: f for f in ds.failures}
    assert "disagrees" in by_field["annotations[1].segmentation.size"].reason
    assert by_field["annotations[3].image_id"].reason == "caption for unknown image 99"
    assert by_field["file_name"].file.endswith("000000000001.jpg")


def test_coco_corrupt_and_mismatched_image(tmp_path):
    root, instances, captions = tiny_coco(tmp_path)
    dump(root, instances, captions)
    (root / "val2017" / "000000000001.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    Image.fromarray(np.zeros((5, 8, 3), np.uint8)).save(root / "val2017" / "000000000002.jpg")
    ds = CocoDataset(root)
    with pytest.raises(SampleDecodeError, match="cannot decode"):
        ds[0].load_image()
    with pytest.raises(SampleDecodeError, match="annotation says 8x6"):
        ds[1].load_image()
