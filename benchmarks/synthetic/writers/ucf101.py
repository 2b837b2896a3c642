"""UCF-101 layout: ``ucfTrainTestlist/classInd.txt``, ``{train,test}list0{1,2,3}.txt`` and
``UCF-101/<Class>/v_<Class>_gXX_cYY.avi``.

As officially: clips come in 25 groups (g01..g25) per class; split k tests on groups 7(k-1)+1 .. 7k and trains on
the rest; ``classInd.txt`` numbers the classes from 1 in alphabetical order; train lists carry the class index,
test lists do not. Videos are MPEG-4 Part 2 in AVI (UCF-101 ships Xvid AVIs). Class names are CamelCase
object-action pairs ("SquareSpinning", "CircleMovingLeft").
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.files import write_clip, write_lines, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import camel
from benchmarks.synthetic.world import Clip, clip_rng
from benchmarks.synthetic.writers.common import class_clip, class_name, class_vocabulary

NAME = "ucf101"
GROUPS = 25


def test_groups(split: int) -> range:
    """Groups held out by official split 1, 2 or 3: 1-7, 8-14, 15-21."""
    return range(7 * (split - 1) + 1, 7 * split + 1)


def clips_per_group(scale: Scale) -> int:
    return max(1, scale.clips // 8)


@dataclass
class UcfSample:
    cls: str
    group: int
    clip_no: int
    action: str
    shape: str
    clip: Clip

    @property
    def relpath(self) -> str:
        return f"{self.cls}/v_{self.cls}_g{self.group:02d}_c{self.clip_no:02d}.avi"


def classes(seed: int, scale: Scale) -> list[str]:
    return sorted(camel(class_name(a, s)) for a, s in class_vocabulary(seed, NAME, scale.classes))


def samples(seed: int, scale: Scale) -> list[UcfSample]:
    out = []
    for action, shape in sorted(class_vocabulary(seed, NAME, scale.classes), key=lambda p: camel(class_name(*p))):
        cls = camel(class_name(action, shape))
        for g in range(1, GROUPS + 1):
            for c in range(1, clips_per_group(scale) + 1):
                rng = clip_rng(seed, f"{NAME}/{cls}", g * 100 + c)
                out.append(UcfSample(cls, g, c, action, shape, class_clip(rng, scale, action, shape).clip))
    return out


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    for s in items:
        write_clip(root / "UCF-101" / s.relpath, render(s.clip).frames, s.clip.fps)
    names = classes(seed, scale)
    index = {n: i + 1 for i, n in enumerate(names)}
    lists = root / "ucfTrainTestlist"
    write_lines(lists / "classInd.txt", [f"{index[n]} {n}" for n in names])
    for k in (1, 2, 3):
        held = set(test_groups(k))
        write_lines(lists / f"trainlist0{k}.txt", [f"{s.relpath} {index[s.cls]}" for s in items if s.group not in held])
        write_lines(lists / f"testlist0{k}.txt", [s.relpath for s in items if s.group in held])
    write_synthetic_note(root, "UCF-101", seed, scale,
                         f"{len(names)} synthetic object-action classes, {GROUPS} groups x {clips_per_group(scale)} "
                         "clips each; official three train/test splits by group.")
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items), "classes": len(names)}
