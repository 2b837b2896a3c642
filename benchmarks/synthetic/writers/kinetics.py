"""Kinetics-400/600/700 layout: ``annotations/{train,val}.csv`` + ``{train,val}/<label>/<id>_<start>_<end>.mp4``.

CSV columns as the official files: ``label,youtube_id,time_start,time_end,split`` (+ ``is_cc`` for Kinetics-400).
A class is a shape performing an action ("square spinning", "circle moving left"); the class lists nest (the
400-analogue is a prefix of the 600-analogue, which is a prefix of the 700-analogue) as the real label sets largely
do. Label folders are the label text with spaces kept. ``time_start``/``time_end`` are whole seconds of a notional
source video, spanning the clip's duration. LAYOUTS.md asks for ``val``; ``train`` is written too, for the
text-alignment probe that non-aligned tokenizers fit on a train split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.files import write_clip, write_csv, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.world import Clip, clip_rng
from benchmarks.synthetic.writers.common import class_clip, class_name, class_vocabulary, youtube_id

VARIANTS = {"kinetics400": 1.0, "kinetics600": 1.5, "kinetics700": 1.75}  # class count relative to scale.classes
SPLITS = ("train", "val")


def n_classes(name: str, scale: Scale) -> int:
    return int(round(VARIANTS[name] * scale.classes))


def per_class(scale: Scale) -> int:
    return max(1, scale.clips // 2)


def classes(name: str, seed: int, scale: Scale) -> list[str]:
    # One shared order for all three variants, so the label sets nest.
    return [class_name(a, s) for a, s in class_vocabulary(seed, "kinetics", n_classes(name, scale))]


@dataclass
class KineticsSample:
    split: str
    label: str
    youtube_id: str
    time_start: int
    time_end: int
    clip: Clip

    @property
    def relpath(self) -> str:
        return f"{self.split}/{self.label}/{self.youtube_id}_{self.time_start:06d}_{self.time_end:06d}.mp4"


def samples(name: str, seed: int, scale: Scale) -> list[KineticsSample]:
    out = []
    pairs = class_vocabulary(seed, "kinetics", n_classes(name, scale))
    for split in SPLITS:
        for c, (action, shape) in enumerate(pairs):
            for j in range(per_class(scale)):
                rng = clip_rng(seed, f"{name}/{split}", c * 1000 + j)
                vid = youtube_id(rng)
                start = int(rng.integers(0, 300))
                cc = class_clip(rng, scale, action, shape)
                end = start + max(1, int(round(cc.clip.duration)))
                out.append(KineticsSample(split, class_name(action, shape), vid, start, end, cc.clip))
    return out


def write(name: str, root: str | Path, seed: int, scale: Scale) -> dict:
    if name not in VARIANTS:
        raise ValueError(f"unknown Kinetics variant {name!r}; valid: {list(VARIANTS)}")
    root = Path(root)
    items = samples(name, seed, scale)
    for s in items:
        write_clip(root / s.relpath, render(s.clip).frames, s.clip.fps)
    with_cc = name == "kinetics400"
    header = ("label", "youtube_id", "time_start", "time_end", "split") + (("is_cc",) if with_cc else ())
    for split in SPLITS:
        rows = [(s.label, s.youtube_id, s.time_start, s.time_end, split) + ((0,) if with_cc else ())
                for s in items if s.split == split]
        write_csv(root / "annotations" / f"{split}.csv", header, rows)
    title = {"kinetics400": "Kinetics-400", "kinetics600": "Kinetics-600", "kinetics700": "Kinetics-700"}[name]
    write_synthetic_note(root, title, seed, scale,
                         f"{n_classes(name, scale)} synthetic object-action classes ('square spinning'), "
                         f"{per_class(scale)} clips per class and split.")
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items), "classes": n_classes(name, scale)}
