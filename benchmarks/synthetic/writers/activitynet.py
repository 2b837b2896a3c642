"""ActivityNet v1.3 layout: ``activity_net.v1-3.min.json``, ``videos/v_<id>.mp4``, ``zero_shot_splits/``.

JSON as the official release: ``{"version": "VERSION 1.3", "taxonomy": [{"parentName", "nodeName", "nodeId",
"parentId"}], "database": {id: {"subset": "training"|"validation"|"testing", "duration", "resolution", "url",
"annotations": [{"segment": [s, e], "label"}]}}}``. As officially, ``testing`` videos have no annotations.
Labels are sentence-case action names ("Moving left"); the taxonomy groups them by kind of motion under "Root".
Ids are 11-character YouTube-style strings; ``url`` points to the reserved ``.invalid`` domain.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.synthetic.files import write_clip, write_json, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import ACTION_BY_NAME, ACTIONS
from benchmarks.synthetic.writers.common import youtube_id
from benchmarks.synthetic.writers.temporal import TemporalSample, temporal_samples
from benchmarks.synthetic.writers.zero_shot_splits import write_splits

NAME = "activitynet"
JSON_NAME = "activity_net.v1-3.min.json"
CLASSES = [a.sentence for a in ACTIONS]
_KIND_NAMES = {"translation": "Moving in a straight line", "path": "Moving along a path",
               "oscillation": "Repeated motion", "rotation": "Rotating", "scale": "Changing size"}


def counts(scale: Scale) -> dict[str, int]:
    return {"training": scale.clips, "validation": scale.clips, "testing": max(1, scale.clips // 2)}


def samples(seed: int, scale: Scale) -> list[TemporalSample]:
    return temporal_samples(NAME, seed, scale, counts(scale), lambda subset, i, rng: youtube_id(rng))


def taxonomy() -> list[dict]:
    nodes = [{"parentName": None, "nodeName": "Root", "nodeId": 0, "parentId": None}]
    kind_ids = {}
    for kind, name in _KIND_NAMES.items():
        kind_ids[kind] = len(nodes)
        nodes.append({"parentName": "Root", "nodeName": name, "nodeId": len(nodes), "parentId": 0})
    for a in ACTIONS:
        nodes.append({"parentName": _KIND_NAMES[a.kind], "nodeName": a.sentence, "nodeId": len(nodes),
                      "parentId": kind_ids[a.kind]})
    return nodes


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    database = {}
    for s in items:
        write_clip(root / "videos" / f"v_{s.video}.mp4", render(s.clip).frames, s.clip.fps)
        anns = [] if s.subset == "testing" else [
            {"segment": [i.start, i.end], "label": ACTION_BY_NAME[i.action].sentence} for i in s.instances]
        database[s.video] = {"subset": s.subset, "duration": round(s.clip.duration, 3),
                             "resolution": f"{s.clip.width}x{s.clip.height}",
                             "url": f"https://example.invalid/synthetic/activitynet/{s.video}", "annotations": anns}
    write_json(root / JSON_NAME, {"version": "VERSION 1.3", "taxonomy": taxonomy(), "database": database})
    n_splits = write_splits(root, seed, NAME, CLASSES)
    write_synthetic_note(root, "ActivityNet v1.3", seed, scale,
                         "Untrimmed synthetic videos; labels are motion-defined actions (sentence case). The testing "
                         "subset has no annotations, as officially.")
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items),
            "instances": sum(len(v["annotations"]) for v in database.values()),
            "zero_shot_splits": n_splits}
