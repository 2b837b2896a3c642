"""Captions generated from a clip's ground truth.

Video caption: every object with its actions in time order, the background, a scene cut and a camera pan, e.g.
"a striped red triangle moves left, then spins, on a checkered grey background, while a blue square grows and a
dotted green star stays still." Image captions (COCO) describe one frame: objects and background, no motion.
"""
from __future__ import annotations

import numpy as np

from benchmarks.synthetic.vocabulary import ACTION_BY_NAME, article
from benchmarks.synthetic.world import Clip, SceneObject

__all__ = ["object_phrase", "video_caption", "image_captions", "camera_direction"]


def _named(name: str) -> str:
    return f"{article(name)} {name}"


def object_phrase(obj: SceneObject) -> str:
    """'a striped red triangle moves left, then spins' (or '... stays still' for an idle object)."""
    verbs = [ACTION_BY_NAME[a.label].verb for a in sorted(obj.actions, key=lambda a: a.start)]
    return f"{_named(obj.name)} {', then '.join(verbs) if verbs else 'stays still'}"


def camera_direction(clip: Clip) -> str | None:
    """'left'/'right'/'up'/'down' for a panning camera (its dominant axis of travel), None for a static one."""
    d = clip.camera[-1] - clip.camera[0]
    if not np.any(np.abs(d) > 1e-9):
        return None
    if abs(d[0]) >= abs(d[1]):
        return "right" if d[0] > 0 else "left"
    return "down" if d[1] > 0 else "up"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def video_caption(clip: Clip) -> str:
    """One sentence describing everything that happens in ``clip``. Moving objects are named first."""
    objs = sorted(clip.objects, key=lambda o: (0 if o.actions else 1, min((a.start for a in o.actions), default=0)))
    if objs:
        head = f"{object_phrase(objs[0])} on {_named(clip.backgrounds[0].name)}"
    else:
        head = f"{_named(clip.backgrounds[0].name)}"
    rest = [object_phrase(o) for o in objs[1:]]
    text = head + (f", while {_join(rest)}" if rest else "")
    if clip.cut is not None and len(clip.backgrounds) > 1:
        text += f"; then the scene changes to {_named(clip.backgrounds[1].name)}"
    pan = camera_direction(clip)
    if pan is not None:
        text += f", as the camera pans {pan}"
    return text + "."


_IMAGE_TEMPLATES = (
    "{objs} on {bg}.",
    "A picture of {objs} in front of {bg}.",
    "{bg_cap} with {objs}.",
    "An image showing {objs} over {bg}.",
    "{objs_cap}, drawn on {bg}.",
)


def image_captions(clip: Clip, frame: int = 0, n: int = 5) -> list[str]:
    """``n`` (<= 5) phrasings of one frame's content, like the five human captions per COCO image."""
    names = [_named(clip.objects[k].name) for k in sorted(range(len(clip.objects)),
                                                           key=lambda k: clip.objects[k].states[frame, 0])]
    objs = _join(names) if names else "nothing"
    bg = _named(clip.background_at(frame).name)
    out = []
    for tpl in _IMAGE_TEMPLATES[:n]:
        s = tpl.format(objs=objs, bg=bg, bg_cap=bg[:1].upper() + bg[1:], objs_cap=objs[:1].upper() + objs[1:])
        out.append(s[:1].upper() + s[1:])
    return out
