"""Video instance segmentation layouts: YouTube-VIS 2021 and OVIS (same JSON schema, different folders).

* YouTube-VIS 2021: ``train/instances.json`` + ``train/JPEGImages/<video>/<NNNNN>.jpg`` (also ``valid/``). As in the
  official data, the annotated frames are every 5th frame of the source, so file names count 00000, 00005, ...
* OVIS: ``annotations/annotations_{train,valid}.json`` + ``{train,valid}/<video>/img_0000001.jpg`` ...

Schema (mirrors the official files, e.g. ``shared/realdata/annotations/youtube-vis``): ``videos[{id, width, height,
length, file_names}]``, ``annotations[{id, video_id, category_id, iscrowd, height, width, length, segmentations,
bboxes, areas}]`` with one compressed RLE (``counts`` a string), ``[x, y, w, h]`` box and pixel area per frame, or
``null`` where the instance is not visible; ``categories[{supercategory, id, name}]`` (shape names). Like the
official files, an annotation's ``length`` is 1.

Difference from the official release: the official ``valid`` annotations are withheld (evaluation server); the
synthetic ``valid`` split carries its annotations so that it can be scored locally. OVIS clips are crowded: more,
larger objects packed in the centre, so instances are heavily occluded (the summary reports the mean occluded
fraction of each dataset).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.synthetic.files import write_jpeg, write_json, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import SHAPES
from benchmarks.synthetic.world import Clip, ClipSpec, clip_rng, sample_clip
from benchmarks.synthetic.writers.common import hex_id
from benchmarks.synthetic.writers.masks import mask_to_rle

CATEGORY_IDS = {name: i + 1 for i, name in enumerate(SHAPES)}
SPLITS = ("train", "valid")


@dataclass(frozen=True)
class VisLayout:
    name: str
    title: str
    id_digits: int

    def json_path(self, split: str) -> str:
        return f"{split}/instances.json" if self.name == "ytvis2021" else f"annotations/annotations_{split}.json"

    def frame_dir(self, split: str) -> str:
        return f"{split}/JPEGImages" if self.name == "ytvis2021" else split

    def frame_name(self, video: str, i: int) -> str:
        return f"{video}/{5 * i:05d}.jpg" if self.name == "ytvis2021" else f"{video}/img_{i + 1:07d}.jpg"

    def spec(self, scale: Scale) -> ClipSpec:
        if self.name == "ytvis2021":
            return ClipSpec(scale.size, scale.wide, scale.frames, scale.fps, n_objects=(1, 3),
                            actions_per_object=(0, 2), radius=(0.12, 0.22), spread=0.6, unique_shapes=False)
        return ClipSpec(scale.size, scale.wide, scale.frames, scale.fps, n_objects=(3, 6),
                        actions_per_object=(1, 2), radius=(0.18, 0.28), spread=0.35, unique_shapes=False)


YTVIS = VisLayout("ytvis2021", "YouTube-VIS 2021", 10)
OVIS = VisLayout("ovis", "OVIS", 8)
LAYOUTS = {YTVIS.name: YTVIS, OVIS.name: OVIS}


@dataclass
class VisSample:
    split: str
    video_id: int
    name: str
    clip: Clip


def samples(layout: VisLayout, seed: int, scale: Scale) -> list[VisSample]:
    out = []
    for split in SPLITS:
        for i in range(scale.clips):
            rng = clip_rng(seed, f"{layout.name}/{split}", i)
            name = hex_id(rng, layout.id_digits)
            out.append(VisSample(split, i + 1, name, sample_clip(rng, layout.spec(scale))))
    return out


def _write(layout: VisLayout, root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(layout, seed, scale)
    summary = {"clips": len(items), "frames": sum(s.clip.n_frames for s in items), "instances": 0}
    occluded = []
    for split in SPLITS:
        videos, anns = [], []
        for s in (x for x in items if x.split == split):
            rc = render(s.clip)
            T, H, W = s.clip.n_frames, s.clip.height, s.clip.width
            names = [layout.frame_name(s.name, i) for i in range(T)]
            for i in range(T):
                write_jpeg(root / layout.frame_dir(split) / names[i], rc.frames[i])
            videos.append({"id": s.video_id, "width": W, "height": H, "length": T, "file_names": names})
            for k, o in enumerate(s.clip.objects):
                m = rc.mask(k)
                area = m.sum(axis=(1, 2))
                if not area.any():
                    continue
                segs, boxes, areas = [], [], []
                for t in range(T):
                    if area[t] == 0:
                        segs.append(None), boxes.append(None), areas.append(None)
                        continue
                    ys, xs = np.nonzero(m[t])
                    segs.append(mask_to_rle(m[t]))
                    boxes.append([float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                                  float(ys.max() - ys.min() + 1)])
                    areas.append(int(area[t]))
                anns.append({"id": len(anns) + 1, "video_id": s.video_id,
                             "category_id": CATEGORY_IDS[o.appearance.shape], "iscrowd": 0, "height": H,
                             "width": W, "length": 1, "segmentations": segs, "bboxes": boxes, "areas": areas})
                full = rc.amodal[:, k].sum(axis=(1, 2))
                occluded.extend((1.0 - area[full > 0] / full[full > 0]).tolist())
        cats = [{"supercategory": "shape", "id": CATEGORY_IDS[n], "name": n} for n in SHAPES]
        write_json(root / layout.json_path(split),
                   {"info": {"description": f"Synthetic {layout.title}-format dataset (PyraTok synthetic world)"},
                    "licenses": [], "videos": videos, "annotations": anns, "categories": cats})
        summary["instances"] += len(anns)
    summary["mean_occluded_fraction"] = round(float(np.mean(occluded)) if occluded else 0.0, 4)
    write_synthetic_note(root, layout.title, seed, scale,
                         "Categories are shape names; masks are exact visible pixels of each instance. The valid "
                         "split keeps its annotations (the official one withholds them). Mean occluded fraction of "
                         f"annotated instance-frames: {summary['mean_occluded_fraction']}.")
    return summary


def write_ytvis2021(root: str | Path, seed: int, scale: Scale) -> dict:
    return _write(YTVIS, root, seed, scale)


def write_ovis(root: str | Path, seed: int, scale: Scale) -> dict:
    return _write(OVIS, root, seed, scale)
