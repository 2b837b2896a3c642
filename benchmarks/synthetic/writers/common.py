"""Pieces several writers share: id strings, time formatting, and the clip recipes for labelled videos."""
from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from benchmarks.synthetic.render import render_masks
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.vocabulary import ACTION_NAMES, SHAPES, TEXTURES
from benchmarks.synthetic.world import (
    Clip,
    ClipSpec,
    build_object,
    clip_rng,
    random_schedule,
    sample_appearances,
    sample_background,
)

__all__ = ["youtube_id", "hex_id", "seconds", "iso_duration", "ClassClip", "class_clip", "class_name",
           "class_vocabulary",
           "untrimmed_clip", "ambiguous_actions", "video_spec"]

_YT_ALPHABET = string.ascii_letters + string.digits + "-_"


def youtube_id(rng: np.random.Generator) -> str:
    """An 11-character YouTube-style id (the Kinetics / ActivityNet video id format)."""
    return "".join(_YT_ALPHABET[i] for i in rng.integers(0, len(_YT_ALPHABET), 11))


def hex_id(rng: np.random.Generator, n: int) -> str:
    """``n`` lower-case hex digits (YouTube-VIS / OVIS video folder names)."""
    return "".join("0123456789abcdef"[i] for i in rng.integers(0, 16, n))


def seconds(frames: float, fps: float) -> float:
    """Frames -> seconds, rounded to the millisecond (stable text in annotation files)."""
    return round(float(frames) / float(fps), 3)


def iso_duration(sec: float) -> str:
    """WebVid's ISO 8601 duration: 'PT00H00M10S' (whole seconds, rounded, at least 1)."""
    s = max(1, int(round(sec)))
    return f"PT{s // 3600:02d}H{(s % 3600) // 60:02d}M{s % 60:02d}S"


def video_spec(scale: Scale, frames: int | None = None, **kw) -> ClipSpec:
    return ClipSpec(scale.size, scale.size, frames or scale.frames, scale.fps, **kw)


# ------------------------------------------------------------------------------------------------------------------
# classification clips (Kinetics, UCF-101): one labelled object doing one action, idle distractors
# ------------------------------------------------------------------------------------------------------------------
def class_vocabulary(seed: int, name: str, n: int) -> list[tuple[str, str]]:
    """``n`` classes ``(action, shape)``, from one fixed random order per ``name`` (so Kinetics-400's classes are
    the first 400-analogue of Kinetics-600's, as the real label sets nest)."""
    pairs = [(a, s) for a in ACTION_NAMES for s in SHAPES]
    if n > len(pairs):
        raise ValueError(f"at most {len(pairs)} synthetic object-action classes, asked for {n}")
    order = clip_rng(seed, name, 0, "classes").permutation(len(pairs))
    return [pairs[i] for i in order[:n]]


def class_name(action: str, shape: str) -> str:
    """The label of class (action, shape): 'square spinning', 'circle moving left'."""
    return f"{shape} {action}"


@dataclass
class ClassClip:
    clip: Clip
    action: str
    shape: str


def class_clip(rng: np.random.Generator, scale: Scale, action: str, shape: str, frames: int | None = None) -> ClassClip:
    """A clip of class (action, shape): the labelled object performs ``action`` over most of the clip; zero or one
    idle distractor of another shape."""
    T = frames or scale.frames
    spec = video_spec(scale, T)
    for _ in range(200):
        n_extra = int(rng.integers(0, 2))
        apps = sample_appearances(rng, 1 + n_extra, unique_shapes=True)
        tex = [t for t in TEXTURES if not (action == "spinning" and shape == "circle" and t == "plain")]
        apps[0] = type(apps[0])(apps[0].colour, shape, tex[int(rng.integers(len(tex)))])
        apps[1:] = [a for a in apps[1:] if a.shape != shape]
        start = int(rng.integers(0, max(1, T // 8) + 1))
        end = T - int(rng.integers(0, max(1, T // 8) + 1))
        bg = sample_background(rng, scale.size)
        focus = build_object(rng, spec, apps[0], 2.0, [([action], start, end)], strict=True)
        if focus is None:
            continue
        others = [build_object(rng, spec, a, 1.0 + 2.0 * (i % 2), []) for i, a in enumerate(apps[1:])]
        clip = Clip(scale.size, scale.size, scale.fps, (bg,), (focus, *others), T)
        return ClassClip(clip, action, shape)
    raise RuntimeError(f"could not place a '{action} {shape}' clip")


# ------------------------------------------------------------------------------------------------------------------
# untrimmed clips (THUMOS14, ActivityNet): several objects, several timed actions each
# ------------------------------------------------------------------------------------------------------------------
def untrimmed_clip(rng: np.random.Generator, scale: Scale) -> Clip:
    """A long clip with 1-3 objects performing 1-3 actions each, separated by idle stretches."""
    T = scale.long_frames
    spec = video_spec(scale, T, n_objects=(1, 3))
    for _ in range(100):
        n = int(rng.integers(1, 4))
        apps = sample_appearances(rng, n)
        bg = sample_background(rng, scale.size)
        depths = rng.permutation(n) + 1.0
        objs = []
        for app, d in zip(apps, depths):
            k = int(rng.integers(1, 4))
            sched = random_schedule(rng, T, k, 8, max(8, T // (k + 1)), min_gap=3)
            plan = [([ACTION_NAMES[i] for i in rng.permutation(len(ACTION_NAMES))], s, e) for s, e in sched]
            objs.append(build_object(rng, spec, app, float(d), plan))
        if any(o.actions for o in objs):
            return Clip(scale.size, scale.size, scale.fps, (bg,), tuple(objs), T)
    raise RuntimeError("could not sample an untrimmed clip with an action")


def ambiguous_actions(clip: Clip, min_visible: float = 0.5) -> set[tuple[int, int]]:
    """``(object, action index)`` pairs whose object is on average less than ``min_visible`` visible during the
    action (hidden behind nearer objects). THUMOS14 lists such segments as 'Ambiguous'."""
    ids, amodal = render_masks(clip)
    out = set()
    for k, o in enumerate(clip.objects):
        full = amodal[:, k].sum(axis=(1, 2))
        vis = (ids == k + 1).sum(axis=(1, 2))
        frac = vis / np.maximum(full, 1)
        for i, a in enumerate(o.actions):
            if frac[a.start:a.end].mean() < min_visible:
                out.add((k, i))
    return out
