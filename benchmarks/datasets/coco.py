"""COCO 2017 (val) images with their captions and instance annotations, from the official JSON files.

Layout (``LAYOUTS.md``, the official one)::

    <root>/annotations/instances_val2017.json     images, annotations (segmentation, bbox, area, iscrowd), categories
    <root>/annotations/captions_val2017.json      images, annotations (image_id, caption)
    <root>/val2017/<file_name>                    JPEG images

The paper's "COCO-Val" frame-reconstruction benchmark (Table 1) encodes each val2017 image as a one-frame video;
captions give text-aligned tokenizers their prompt. Images are read in stored pixel order (no EXIF rotation),
the frame the annotations refer to.

The image list is the union of the ``images`` of the files given (both official files list all 5000 val images);
a file may be left out (``captions=False`` / ``instances=False``). JSON is parsed and validated here, then handed
to ``pycocotools.coco.COCO`` (``.coco_instances`` / ``.coco_captions``) so that masks and any COCO tooling use the
reference implementation.

Validation: unparseable JSON, a missing required field or one of the wrong type raises
:class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file and the JSON path
(``annotations[17].caption``). An annotation for an image id the file does not list, and an image whose file is
missing on disk (``check_files=True``), become :class:`SampleFailure` records; the image (or annotation) is left
out and the rest is read.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure
from benchmarks.datasets.rle import SegmentationSizeError, check_segmentation, decode_segmentation
from benchmarks.datasets.ytvis import require_field, load_json

__all__ = ["CocoInstance", "CocoImage", "CocoDataset"]


@dataclass
class CocoInstance:
    """One object annotation: ``bbox`` is ``[x, y, w, h]`` in pixels, ``segmentation`` a polygon list or RLE."""

    id: int
    image_id: int
    category_id: int
    category_name: str
    bbox: list[float]
    area: float
    iscrowd: int
    segmentation: Any


@dataclass
class CocoImage:
    """One image with its captions (file order) and instances."""

    id: int
    file_name: str
    path: Path
    width: int
    height: int
    captions: list[str] = field(default_factory=list)
    instances: list[CocoInstance] = field(default_factory=list)
    annotation_file: str = ""

    def load_image(
        self,
        size: int | tuple[int, int] | None = None,
        resize_mode: str = "short_side",
        crop: str | None = None,
    ) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB. Raises SampleDecodeError for a missing/corrupt file or a size that disagrees
        with the annotation (checked before resizing)."""
        from pyratok.data.video import read_image, resize_frames

        img = read_image(self.path)
        if img.shape[:2] != (self.height, self.width):
            raise SampleDecodeError(
                self.path, f"image is {img.shape[1]}x{img.shape[0]} but the annotation says {self.width}x{self.height}"
            )
        return resize_frames(img, size, resize_mode, crop) if size is not None or crop is not None else img

    def load_frames(self, size=None, resize_mode: str = "short_side", crop: str | None = None) -> np.ndarray:
        """The image as a one-frame video, ``(1, H, W, 3)`` uint8."""
        return self.load_image(size, resize_mode, crop)[None]

    def instance_masks(self) -> np.ndarray:
        """``(N, H, W)`` bool masks of the instances (polygons rasterised and RLEs decoded by pycocotools)."""
        out = np.zeros((len(self.instances), self.height, self.width), dtype=bool)
        for n, inst in enumerate(self.instances):
            try:
                out[n] = decode_segmentation(
                    inst.segmentation, self.height, self.width, file=self.annotation_file,
                    field=f"annotation id {inst.id}.segmentation",
                )
            except DatasetFormatError as err:
                raise SampleDecodeError(err.file, err.reason, field=err.field) from err
        return out


class CocoDataset:
    """COCO images of one split with captions and instances.

    ``CocoDataset(root)`` reads ``annotations/{instances,captions}_val2017.json`` and ``val2017/``; pass
    ``instances_file`` / ``captions_file`` / ``image_root`` to point elsewhere, or ``instances=False`` /
    ``captions=False`` to skip one. ``len``, indexing and iteration give :class:`CocoImage` in ascending image id.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "val2017",
        *,
        instances: bool = True,
        captions: bool = True,
        instances_file: str | Path | None = None,
        captions_file: str | Path | None = None,
        image_root: str | Path | None = None,
        check_files: bool = True,
    ):
        if root is None and (image_root is None or (instances and instances_file is None) or (captions and captions_file is None)):
            raise ValueError("give root, or image_root and the annotation files")
        root = Path(root) if root is not None else None
        self.split = split
        self.image_root = Path(image_root) if image_root is not None else root / split
        self.instances_file = (Path(instances_file) if instances_file else root / "annotations" / f"instances_{split}.json") if instances else None
        self.captions_file = (Path(captions_file) if captions_file else root / "annotations" / f"captions_{split}.json") if captions else None
        if self.instances_file is None and self.captions_file is None:
            raise ValueError("at least one of instances and captions must be read")
        self.failures: list[SampleFailure] = []
        self.categories: dict[int, str] = {}
        self.coco_instances = None
        self.coco_captions = None
        images: dict[int, CocoImage] = {}

        if self.captions_file is not None:
            data = load_json(self.captions_file)
            self._read_images(data, self.captions_file, images)
            for i, a in enumerate(_list(data, "annotations", self.captions_file)):
                w = f"annotations[{i}]"
                aid = require_field(a, "id", int, self.captions_file, w)
                img_id = require_field(a, "image_id", int, self.captions_file, w)
                caption = require_field(a, "caption", str, self.captions_file, w)
                if img_id not in images:
                    self.failures.append(SampleFailure(str(aid), str(self.captions_file), f"{w}.image_id", f"caption for unknown image {img_id}"))
                    continue
                images[img_id].captions.append(caption.strip())
            self.coco_captions = _to_pycocotools(data)

        if self.instances_file is not None:
            data = load_json(self.instances_file)
            self._read_images(data, self.instances_file, images)
            for i, c in enumerate(_list(data, "categories", self.instances_file)):
                w = f"categories[{i}]"
                self.categories[require_field(c, "id", int, self.instances_file, w)] = require_field(c, "name", str, self.instances_file, w)
            bad_images: dict[int, SampleFailure] = {}
            for i, a in enumerate(_list(data, "annotations", self.instances_file)):
                inst = self._read_instance(a, i, images, bad_images)
                if inst is not None:
                    images[inst.image_id].instances.append(inst)
            for img_id, failure in bad_images.items():
                images.pop(img_id, None)
                self.failures.append(failure)
            self.coco_instances = _to_pycocotools(data)

        self.images: list[CocoImage] = []
        for img_id in sorted(images):
            img = images[img_id]
            if check_files and not img.path.is_file():
                self.failures.append(SampleFailure(str(img_id), str(img.path), "file_name", "image file does not exist"))
                continue
            self.images.append(img)

    def _read_images(self, data: Any, file: Path, images: dict[int, CocoImage]) -> None:
        if not isinstance(data, dict):
            raise DatasetFormatError(file, None, f"top level must be an object, got {type(data).__name__}")
        for i, im in enumerate(_list(data, "images", file)):
            w = f"images[{i}]"
            img_id = require_field(im, "id", int, file, w)
            file_name = require_field(im, "file_name", str, file, w)
            width = require_field(im, "width", int, file, w)
            height = require_field(im, "height", int, file, w)
            if width <= 0 or height <= 0:
                raise DatasetFormatError(file, w, f"image size must be positive, got {width}x{height}")
            prev = images.get(img_id)
            if prev is None:
                images[img_id] = CocoImage(img_id, file_name, self.image_root / file_name, width, height, annotation_file=str(file))
            elif (prev.file_name, prev.width, prev.height) != (file_name, width, height):
                raise DatasetFormatError(
                    file, w, f"image {img_id} is {file_name} {width}x{height} here but {prev.file_name} "
                    f"{prev.width}x{prev.height} in {prev.annotation_file}"
                )

    def _read_instance(self, a: Any, i: int, images: dict[int, CocoImage], bad: dict[int, SampleFailure]) -> CocoInstance | None:
        f, w = self.instances_file, f"annotations[{i}]"
        aid = require_field(a, "id", int, f, w)
        img_id = require_field(a, "image_id", int, f, w)
        cid = require_field(a, "category_id", int, f, w)
        bbox = require_field(a, "bbox", list, f, w)
        area = require_field(a, "area", (int, float), f, w)
        iscrowd = require_field(a, "iscrowd", int, f, w)
        if "segmentation" not in a:
            raise DatasetFormatError(f, f"{w}.segmentation", "missing required field")
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
            raise DatasetFormatError(f, f"{w}.bbox", f"expected [x, y, w, h] numbers, got {bbox!r}")
        image = images.get(img_id)
        if image is None:
            self.failures.append(SampleFailure(str(aid), str(f), f"{w}.image_id", f"instance for unknown image {img_id}"))
            return None
        if cid not in self.categories:
            self.failures.append(SampleFailure(str(aid), str(f), f"{w}.category_id", f"unknown category {cid}"))
            return None
        try:
            check_segmentation(a["segmentation"], image.height, image.width, file=f, field=f"{w}.segmentation")
        except SegmentationSizeError as err:
            bad.setdefault(img_id, SampleFailure(str(img_id), str(f), err.field, err.reason))
            return None
        return CocoInstance(aid, img_id, cid, self.categories[cid], [float(v) for v in bbox], float(area), int(iscrowd), a["segmentation"])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> CocoImage:
        return self.images[i]

    def __iter__(self) -> Iterator[CocoImage]:
        return iter(self.images)

    def image(self, image_id: int) -> CocoImage:
        for im in self.images:
            if im.id == image_id:
                return im
        raise KeyError(f"image {image_id} is not in the dataset (or was left out: see .failures)")

    @property
    def image_ids(self) -> list[int]:
        return [im.id for im in self.images]


def _list(data: dict, key: str, file: Path) -> list:
    if key not in data:
        raise DatasetFormatError(file, key, "missing required field")
    if not isinstance(data[key], list):
        raise DatasetFormatError(file, key, f"expected a list, got {type(data[key]).__name__}")
    return data[key]


def _to_pycocotools(data: dict):
    """A ``pycocotools.coco.COCO`` over already-validated JSON (its index building prints; keep the log clean)."""
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco
