"""COCO 2017 val layout: ``annotations/instances_val2017.json``, ``annotations/captions_val2017.json``,
``val2017/<file_name>`` (JPEG).

Official schema (``info``, ``licenses``, ``images``, ``annotations``, ``categories``). Each image is one frame of a
still synthetic scene; an instance is a shape, its category the shape's name (supercategory "shape"), its
segmentation the polygon of its *visible* pixels (``iscrowd`` 0), its area and box as pycocotools computes them
from that polygon. Category ids are non-contiguous, as COCO's are. Each image gets five captions, like COCO.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.captions import image_captions
from benchmarks.synthetic.files import write_jpeg, write_json, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import SHAPES
from benchmarks.synthetic.world import Clip, ClipSpec, clip_rng, sample_clip
from benchmarks.synthetic.writers.masks import mask_to_polygons, polygon_area_bbox

NAME = "coco"
# Non-contiguous ids, like COCO's 1..90 with gaps, so readers must map ids through the categories list.
CATEGORY_IDS = dict(zip(SHAPES, (1, 2, 3, 5, 7, 8, 10, 11)))
MIN_AREA = 4  # pixels; smaller visible fragments are not annotated

INFO = {"description": "Synthetic COCO-format dataset (PyraTok synthetic video world)", "url": "",
        "version": "1.0", "year": 2017, "contributor": "benchmarks.synthetic", "date_created": "2017/09/01"}
LICENSES = [{"url": "", "id": 1, "name": "Synthetic data, generated"}]


@dataclass
class CocoSample:
    image_id: int
    file_name: str
    clip: Clip  # one frame

    @property
    def height(self) -> int:
        return self.clip.height

    @property
    def width(self) -> int:
        return self.clip.width


def samples(seed: int, scale: Scale) -> list[CocoSample]:
    spec = ClipSpec(scale.size, scale.wide, 1, scale.fps, n_objects=(2, 5), actions_per_object=(0, 0),
                    radius=(0.12, 0.25), spread=0.7, unique_shapes=False)
    out = []
    for i in range(2 * scale.clips):
        image_id = 1000 + 37 * i
        out.append(CocoSample(image_id, f"{image_id:012d}.jpg", sample_clip(clip_rng(seed, NAME, i), spec)))
    return out


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    images, anns, caps = [], [], []
    for s in samples(seed, scale):
        rc = render(s.clip)
        write_jpeg(root / "val2017" / s.file_name, rc.frames[0])
        images.append({"license": 1, "file_name": s.file_name, "coco_url": "", "height": s.height,
                       "width": s.width, "date_captured": "", "flickr_url": "", "id": s.image_id})
        for k, o in enumerate(s.clip.objects):
            m = rc.ids[0] == k + 1
            if m.sum() < MIN_AREA:
                continue
            polys = mask_to_polygons(m)
            area, bbox = polygon_area_bbox(polys, s.height, s.width)
            anns.append({"segmentation": polys, "area": area, "iscrowd": 0, "image_id": s.image_id, "bbox": bbox,
                         "category_id": CATEGORY_IDS[o.appearance.shape], "id": len(anns) + 1})
        for text in image_captions(s.clip):
            caps.append({"image_id": s.image_id, "id": len(caps) + 1, "caption": text})
    cats = [{"supercategory": "shape", "id": CATEGORY_IDS[n], "name": n} for n in SHAPES]
    write_json(root / "annotations" / "instances_val2017.json",
               {"info": INFO, "licenses": LICENSES, "images": images, "annotations": anns, "categories": cats})
    write_json(root / "annotations" / "captions_val2017.json",
               {"info": INFO, "licenses": LICENSES, "images": images, "annotations": caps})
    write_synthetic_note(root, "COCO 2017 val", seed, scale,
                         "Instances are the visible parts of synthetic shapes (polygons, iscrowd 0); categories are "
                         "shape names. Five generated captions per image.")
    return {"clips": len(images), "frames": len(images), "images": len(images), "instances": len(anns),
            "captions": len(caps)}
