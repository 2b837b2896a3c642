"""THUMOS14 layout: official per-class txt files, the ActivityNet-style JSON, videos and zero-shot splits.

* ``annotations/val/<Class>_val.txt`` and ``annotations/test/<Class>_test.txt``: lines ``<video> <start> <end>``
  (seconds), one file per class (also for classes without instances in a subset, as officially), plus
  ``Ambiguous_val.txt`` / ``Ambiguous_test.txt``: instances whose object is mostly hidden (behind nearer objects)
  during the action — unlike the real annotators we know what happens there, but nobody can see it, so the instance
  is treated as the official 'Ambiguous' class (ignored in evaluation) and not listed under its class.
* ``thumos14.json``: ``{"database": {video: {"subset": "validation"|"test", "duration", "frames", "annotations":
  [{"segment": [s, e], "label"}], "ambiguous": [[s, e], ...]}}}`` (the layout of the widely used conversion, with
  the ``database`` wrapper of LAYOUTS.md; the optional ``ambiguous`` key keeps the Ambiguous intervals).
* ``videos/validation/<video>.mp4``, ``videos/test/<video>.mp4``; ``zero_shot_splits/`` (CamelCase class names).

Class names are the CamelCase action names (THUMOS14 / UCF-101 style: "MovingLeft").
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.synthetic.files import write_clip, write_json, write_lines, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import ACTION_BY_NAME, ACTIONS
from benchmarks.synthetic.writers.temporal import TemporalSample, temporal_samples
from benchmarks.synthetic.writers.zero_shot_splits import write_splits

NAME = "thumos14"
CLASSES = [a.camel for a in ACTIONS]
TXT_SUFFIX = {"validation": "val", "test": "test"}


def samples(seed: int, scale: Scale) -> list[TemporalSample]:
    return temporal_samples(NAME, seed, scale, {"validation": scale.clips, "test": scale.clips},
                            lambda subset, i, rng: f"video_{subset}_{i + 1:07d}")


def _t(x: float) -> str:
    """Seconds as the official files write them: '67.5', '1.125', '3.0'."""
    s = f"{x:.3f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    database = {}
    for s in items:
        write_clip(root / "videos" / s.subset / f"{s.video}.mp4", render(s.clip).frames, s.clip.fps)
        database[s.video] = {
            "subset": s.subset, "duration": round(s.clip.duration, 3), "frames": s.clip.n_frames,
            "annotations": [{"segment": [i.start, i.end], "label": ACTION_BY_NAME[i.action].camel}
                            for i in s.instances if not i.ambiguous],
            "ambiguous": [[i.start, i.end] for i in s.instances if i.ambiguous],
        }
    for subset, suffix in TXT_SUFFIX.items():
        sub = [s for s in items if s.subset == subset]
        for cls in CLASSES + ["Ambiguous"]:
            lines = [f"{s.video} {_t(i.start)} {_t(i.end)}" for s in sub for i in s.instances
                     if (i.ambiguous and cls == "Ambiguous") or
                     (not i.ambiguous and ACTION_BY_NAME[i.action].camel == cls)]
            write_lines(root / "annotations" / suffix / f"{cls}_{suffix}.txt", lines)
    write_json(root / "thumos14.json", {"database": database})
    n_splits = write_splits(root, seed, NAME, CLASSES)
    write_synthetic_note(root, "THUMOS14", seed, scale,
                         "Untrimmed synthetic videos; classes are motion-defined actions (CamelCase). Instances "
                         "whose object is mostly hidden are listed as Ambiguous.")
    n_inst = sum(not i.ambiguous for s in items for i in s.instances)
    n_amb = sum(i.ambiguous for s in items for i in s.instances)
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items), "instances": n_inst,
            "ambiguous": n_amb, "zero_shot_splits": n_splits}
