"""Multiple-choice questions about what happens in a synthetic clip, one generator per MVBench task.

MVBench (Li et al., CVPR 2024) has 20 temporal tasks built from 11 source datasets. Each generator below builds a
clip designed for its task and asks the task's kind of question in the world's terms; the answer is computed from
the clip's ground truth after the clip is built (never from the generator's intent), and the candidates are the
answer plus distractors, shuffled. Mapping (task -> question):

======================== ======================================================================================
action_sequence          before/after: "What did the X do after it moved left?"
action_prediction        "What will the X do next?" (the bound stops before the next action starts)
action_antonym           "What is the X doing?" — the action, its antonym and "not sure" (as the official task)
fine_grained_action      "What is the main action in the video?" among similar motions
unexpected_action        "What unexpected event happens in the video?" (a late, sudden action)
object_existence         "Are there any moving <colour> objects when the video ends?" (CLEVRER style)
object_interaction       "Which object passed in front of the X?" (occlusion by a nearer, moving object)
object_shuffle           "Where is the X at the end of the video?" (left / middle / right)
moving_direction         "What direction is the X moving?"
action_localization      "During which part of the video is the X <action>?" (beginning/middle/end/throughout)
scene_transition         "What's the right option for how the scenes in the video change?"
action_count             "How many times does the X jump/spin?"
moving_count             "How many objects are moving when the video ends?"
moving_attribute         "What color/shape is the object that is <action>?"
state_change             "What happens to the size of the X?"
fine_grained_pose        "Which way does the X rotate?" (clockwise / counterclockwise / not at all)
character_order          "Which object starts moving first?"
egocentric_navigation    "In which direction is the camera moving?" (the camera pans over a still scene)
episodic_reasoning       "What did the Y do after the X moved left?" (frame folder at 3 fps, with a bound)
counterfactual_inference "If the X were removed, how many objects would move in the video?"
======================== ======================================================================================

Directions are on screen (left = towards x = 0, up = towards the top row). Clockwise is as seen on screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks.synthetic.captions import camera_direction
from benchmarks.synthetic.render import render_masks
from benchmarks.synthetic.vocabulary import ACTION_BY_NAME, ACTION_NAMES, COLOURS, SHAPES, TEXTURES
from benchmarks.synthetic.world import (
    Clip,
    ClipSpec,
    SceneObject,
    build_object,
    clip_rng,
    sample_appearances,
    sample_background,
    with_camera_pan,
)

__all__ = ["MVTask", "MVBENCH_TASKS", "Question", "make_question", "occluders", "screen_positions"]


@dataclass(frozen=True)
class MVTask:
    """One MVBench task as the official ``data_list`` describes it (json file, media folder, media kind, bound)."""

    name: str
    title: str
    data_dir: str
    media: str = "video"  # "video" or "frame"
    bound: bool = False  # entries carry "start"/"end" (seconds)
    ext: str = ".mp4"


# The official MVBench data_list (OpenGVLab/Ask-Anything, video_chat2/mvbench.ipynb), in its order.
MVBENCH_TASKS: tuple[MVTask, ...] = (
    MVTask("action_sequence", "Action Sequence", "star/Charades_v1_480", bound=True),
    MVTask("action_prediction", "Action Prediction", "star/Charades_v1_480", bound=True),
    MVTask("action_antonym", "Action Antonym", "ssv2_video"),
    MVTask("fine_grained_action", "Fine-grained Action", "Moments_in_Time_Raw/videos"),
    MVTask("unexpected_action", "Unexpected Action", "FunQA_test/test"),
    MVTask("object_existence", "Object Existence", "clevrer/video_validation"),
    MVTask("object_interaction", "Object Interaction", "star/Charades_v1_480", bound=True),
    MVTask("object_shuffle", "Object Shuffle", "perception/videos"),
    MVTask("moving_direction", "Moving Direction", "clevrer/video_validation"),
    MVTask("action_localization", "Action Localization", "sta/sta_video", bound=True),
    MVTask("scene_transition", "Scene Transition", "scene_qa/video"),
    MVTask("action_count", "Action Count", "perception/videos"),
    MVTask("moving_count", "Moving Count", "clevrer/video_validation"),
    MVTask("moving_attribute", "Moving Attribute", "clevrer/video_validation"),
    MVTask("state_change", "State Change", "perception/videos"),
    MVTask("fine_grained_pose", "Fine-grained Pose", "nturgbd", ext=".avi"),
    MVTask("character_order", "Character Order", "perception/videos"),
    MVTask("egocentric_navigation", "Egocentric Navigation", "vlnqa"),
    MVTask("episodic_reasoning", "Episodic Reasoning", "tvqa/frames_fps3_hq", media="frame", bound=True, ext=""),
    MVTask("counterfactual_inference", "Counterfactual Inference", "clevrer/video_validation"),
)
TASK_BY_NAME = {t.name: t for t in MVBENCH_TASKS}

EPISODIC_FPS = 3.0  # the official TVQA frames are extracted at 3 fps ("frames_fps3_hq")


@dataclass
class Question:
    clip: Clip
    question: str
    candidates: list[str]
    answer: str
    start: float | None = None  # seconds, for bound tasks
    end: float | None = None
    facts: dict = field(default_factory=dict)  # ground-truth details the answer came from (for tests)

    def entry(self, video: str) -> dict:
        """The official MVBench JSON entry."""
        out = {"video": video, "question": self.question, "candidates": list(self.candidates), "answer": self.answer}
        if self.start is not None:
            out["start"] = round(float(self.start), 3)
            out["end"] = round(float(self.end), 3)
        return out


@dataclass(frozen=True)
class _Geo:
    height: int
    width: int
    frames: int
    fps: float

    @property
    def size(self) -> int:
        return min(self.height, self.width)

    def spec(self, **kw) -> ClipSpec:
        return ClipSpec(self.height, self.width, self.frames, self.fps, **kw)


class _Retry(Exception):
    """The sampled clip does not support the question; draw again."""


# ------------------------------------------------------------------------------------------------------------------
# ground-truth queries shared with the tests' independent checks
# ------------------------------------------------------------------------------------------------------------------
def screen_positions(clip: Clip, k: int) -> np.ndarray:
    """(T, 2) screen centre of object k."""
    return clip.objects[k].states[:, :2] - clip.camera


def occluders(clip: Clip, k: int, min_pixels: int = 4) -> list[int]:
    """Objects nearer than k whose full extent covers at least ``min_pixels`` of k's extent in some frame."""
    _, amodal = render_masks(clip)
    out = []
    for j, o in enumerate(clip.objects):
        if j != k and o.depth < clip.objects[k].depth:
            if (amodal[:, j] & amodal[:, k]).sum(axis=(1, 2)).max() >= min_pixels:
                out.append(j)
    return out


def _pick(rng, items, n):
    items = list(items)
    idx = rng.permutation(len(items))[:n]
    return [items[i] for i in idx]


def _candidates(rng, answer: str, pool, n: int) -> list[str]:
    distractors = [p for p in dict.fromkeys(pool) if p != answer]
    if len(distractors) < n - 1:
        raise _Retry
    chosen = _pick(rng, distractors, n - 1) + [answer]
    return _pick(rng, chosen, len(chosen))


def _scene(rng, g: _Geo, n: int, unique_shapes=True, textures=TEXTURES):
    apps = sample_appearances(rng, n, unique_shapes, textures)
    bg = sample_background(rng, g.size)
    depths = [float(d) + 1.0 for d in rng.permutation(n)]
    return apps, bg, depths


def _obj(rng, g: _Geo, app, depth, plan, initial=None, radius=(0.12, 0.17), spread=0.6) -> SceneObject:
    spec = g.spec(radius=radius, spread=spread)
    o = build_object(rng, spec, app, depth, [(list(labels), s, e) for labels, s, e in plan], initial, strict=True)
    if o is None:
        raise _Retry
    return o


def _clip(g: _Geo, bg, objects, **kw) -> Clip:
    return Clip(g.height, g.width, g.fps, (bg,) + tuple(kw.pop("more_backgrounds", ())), tuple(objects), g.frames,
                **kw)


def _shuffled(rng, labels):
    return _pick(rng, labels, len(labels))


def _the(name: str) -> str:
    return f"the {name}"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _interval(rng, lo: int, hi: int, min_len: int, max_len: int | None = None) -> tuple[int, int]:
    """A random [s, e) inside [lo, hi) with length >= min_len."""
    max_len = min(max_len or hi - lo, hi - lo)
    if max_len < min_len:
        raise _Retry
    L = int(rng.integers(min_len, max_len + 1))
    s = int(rng.integers(lo, hi - L + 1))
    return s, s + L


def _others(rng, g: _Geo, apps, depths, first: int, max_actions=1, idle=False):
    """Background objects ``apps[first:]``: idle, or with up to ``max_actions`` random actions."""
    out = []
    for app, d in zip(apps[first:], depths[first:]):
        plan = []
        if not idle and max_actions > 0 and rng.random() < 0.6:
            plan = [(_shuffled(rng, ACTION_NAMES), *_interval(rng, 0, g.frames, 4, g.frames // 2))]
        o = build_object(rng, g.spec(), app, d, [(list(a), s, e) for a, s, e in plan])
        out.append(o)
    return out


# ------------------------------------------------------------------------------------------------------------------
# the 20 generators
# ------------------------------------------------------------------------------------------------------------------
def _two_actions(rng, g: _Geo, gap: int = 1):
    T = g.frames
    mid = int(rng.integers(T // 2 - 2, T // 2 + 3))
    s1, e1 = _interval(rng, 0, mid, 4)
    s2, e2 = _interval(rng, max(e1 + gap, mid), T, 4)
    return (s1, e1), (s2, e2)


def _action_sequence(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 4)))
    (s1, e1), (s2, e2) = _two_actions(rng, g)
    labels = _shuffled(rng, ACTION_NAMES)
    f = _obj(rng, g, apps[0], depths[0], [(labels, s1, e1), ([x for x in labels if x != labels[0]], s2, e2)])
    a1, a2 = f.actions
    if a1.label == a2.label:
        raise _Retry
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1))
    answer = f"It {ACTION_BY_NAME[a2.label].past}."
    pool = [f"It {ACTION_BY_NAME[x].past}." for x in ACTION_NAMES]
    cands = _candidates(rng, answer, [f"It {ACTION_BY_NAME[a1.label].past}."] + _shuffled(rng, pool), 4)
    return Question(clip, f"What did {_the(f.name)} do after it {ACTION_BY_NAME[a1.label].past}?", cands, answer,
                    start=max(0, a1.start - 1) / g.fps, end=min(g.frames, a2.end + 1) / g.fps,
                    facts={"object": 0, "first": a1.label, "then": a2.label})


def _action_prediction(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)))
    (s1, e1), (s2, e2) = _two_actions(rng, g, gap=2)
    labels = _shuffled(rng, ACTION_NAMES)
    f = _obj(rng, g, apps[0], depths[0], [(labels, s1, e1), ([x for x in labels if x != labels[0]], s2, e2)])
    a1, a2 = f.actions
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1))
    cands = _candidates(rng, a2.label, [a1.label] + _shuffled(rng, ACTION_NAMES), 4)
    # The bound ends with the first action, before the second starts: the model must predict it.
    return Question(clip, f"What will {_the(f.name)} do next?", cands, a2.label, start=0.0, end=a1.end / g.fps,
                    facts={"object": 0, "seen": a1.label, "next": a2.label})


def _action_antonym(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)))
    pairs = [a.name for a in ACTION_BY_NAME.values() if a.antonym]
    f = _obj(rng, g, apps[0], depths[0], [(_shuffled(rng, pairs), *_interval(rng, 0, g.frames, g.frames // 2))])
    label = f.actions[0].label
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    cands = _pick(rng, [label, ACTION_BY_NAME[label].antonym, "not sure"], 3)
    return Question(clip, f"What is {_the(f.name)} doing?", cands, label, facts={"object": 0, "action": label})


_CONFUSABLE = {
    "translation": ("moving left", "moving right", "moving up", "moving down", "zigzagging"),
    "path": ("zigzagging", "circling", "moving left", "moving right", "shaking"),
    "oscillation": ("bouncing", "jumping", "shaking", "zigzagging", "moving up"),
    "rotation": ("spinning", "circling", "shaking", "growing"),
    "scale": ("growing", "shrinking", "spinning", "bouncing"),
}


def _fine_grained_action(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, 1)
    T = g.frames
    f = _obj(rng, g, apps[0], depths[0], [(_shuffled(rng, ACTION_NAMES), *_interval(rng, 0, T, int(0.6 * T)))])
    label = f.actions[0].label
    clip = _clip(g, bg, [f])
    pool = [x for x in _CONFUSABLE[ACTION_BY_NAME[label].kind] if x != label] + _shuffled(rng, ACTION_NAMES)
    cands = _candidates(rng, label, list(dict.fromkeys(pool))[:4], 4)
    return Question(clip, "What is the main action in the video?", cands, label, facts={"object": 0, "action": label})


def _unexpected_action(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 4))
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    f = _obj(rng, g, apps[0], depths[0], [(_shuffled(rng, ACTION_NAMES), *_interval(rng, int(0.6 * T), T, 4))])
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    verb = ACTION_BY_NAME[f.actions[0].label].verb
    answer = f"The {f.name} suddenly {verb}."
    pool = [f"The {o.name} suddenly {verb}." for o in clip.objects[1:]]
    pool += [f"The {f.name} suddenly {ACTION_BY_NAME[x].verb}." for x in _shuffled(rng, ACTION_NAMES)]
    cands = _candidates(rng, answer, pool, 4)
    return Question(clip, "What unexpected event happens in the video?", cands, answer,
                    facts={"object": 0, "action": f.actions[0].label})


def _object_existence(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 5))
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    objs = []
    for i in range(n):
        plan = []
        if rng.random() < 0.6:  # some actions run to the last frame, so something is moving when the video ends
            end = T if rng.random() < 0.6 else int(rng.integers(T // 2, T - 2))
            plan = [(_shuffled(rng, ACTION_NAMES), *_interval(rng, max(0, end - T // 2), end, 8, T // 2))]
        o = build_object(rng, g.spec(), apps[i], depths[i], plan)
        objs.append(o)
    clip = _clip(g, bg, objs)
    moving_end = {o.appearance.colour for o in clip.objects if o.moving()[-1]}
    want_yes = rng.random() < 0.5 and moving_end
    colour = _pick(rng, sorted(moving_end), 1)[0] if want_yes else _pick(rng, sorted(set(COLOURS) - moving_end), 1)[0]
    answer = "yes" if colour in moving_end else "no"
    return Question(clip, f"Are there any moving {colour} objects when the video ends?", ["yes", "no"], answer,
                    facts={"colour": colour, "moving_at_end": sorted(moving_end)})


def _object_interaction(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 4))
    apps, bg, depths = _scene(rng, g, n)
    T, W, H = g.frames, g.width, g.height
    # The focus object waits still; a nearer object travels across it horizontally.
    r = float(rng.uniform(0.12, 0.16) * g.size)
    fx, fy = float(rng.uniform(0.35, 0.65) * W), float(rng.uniform(0.3, 0.7) * H)
    focus = _obj(rng, g, apps[0], 3.0, [], initial=np.array([fx, fy, r, rng.uniform(0, 2 * np.pi)]))
    side = int(rng.choice([-1, 1]))
    ox = fx + side * float(rng.uniform(0.28, 0.34) * W)
    mover_label = "moving left" if side > 0 else "moving right"
    s, e = _interval(rng, 0, T, T // 2)
    mover = _obj(rng, g, apps[1], 1.0, [([mover_label], s, e)],
                 initial=np.array([ox, fy + rng.uniform(-0.3, 0.3) * r, r, rng.uniform(0, 2 * np.pi)]))
    rest = []
    for app in apps[2:]:  # far behind, well away from the focus object
        rest.append(_obj(rng, g, app, 5.0, [], initial=np.array(
            [float(rng.uniform(0.15, 0.85) * W), (0.12 if fy > H / 2 else 0.88) * H, 0.1 * g.size, 0.0])))
    clip = _clip(g, bg, [focus, mover] + rest)
    occ = occluders(clip, 0)
    if len(occ) != 1:
        raise _Retry
    answer = _the(clip.objects[occ[0]].name)
    pool = [_the(o.name) for o in clip.objects[1:]] + [_the(a.name) for a in sample_appearances(rng, 6)]
    cands = _candidates(rng, answer, [p for p in pool if p != _the(focus.name)], 4)
    return Question(clip, f"Which object passed in front of {_the(focus.name)}?", cands, answer, start=0.0,
                    end=clip.duration, facts={"object": 0, "occluder": occ[0]})


_THIRDS = ("on the left", "in the middle", "on the right")


def _object_shuffle(rng, g: _Geo) -> Question:
    n = 3
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    plans = [[(_shuffled(rng, ["moving left", "moving right", "zigzagging", "circling"]),
               *_interval(rng, 0, T, T // 3))] for _ in range(n)]
    objs = [_obj(rng, g, a, d, p) for a, d, p in zip(apps, depths, plans)]
    clip = _clip(g, bg, objs)
    x = screen_positions(clip, 0)[-1, 0] / g.width
    if min(abs(x - 1 / 3), abs(x - 2 / 3)) < 0.06:
        raise _Retry  # too close to a boundary to be a fair question
    answer = _THIRDS[min(2, int(x * 3))]
    return Question(clip, f"Where is {_the(objs[0].name)} at the end of the video?", _pick(rng, _THIRDS, 3), answer,
                    facts={"object": 0, "final_x": float(x)})


_DIRECTIONS = ("left", "right", "up", "down")


def _direction_of(d: np.ndarray) -> str:
    if abs(d[0]) >= abs(d[1]):
        return "right" if d[0] > 0 else "left"
    return "down" if d[1] > 0 else "up"


def _moving_direction(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 4)))
    T = g.frames
    labels = _shuffled(rng, ["moving left", "moving right", "moving up", "moving down"])
    f = _obj(rng, g, apps[0], depths[0], [(labels, *_interval(rng, 0, T, T // 2))])
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    d = screen_positions(clip, 0)[-1] - screen_positions(clip, 0)[0]
    if np.abs(d).max() < 0.1 * g.size or np.abs(d).min() > 0.3 * np.abs(d).max():
        raise _Retry
    answer = _direction_of(d)
    return Question(clip, f"What direction is {_the(f.name)} moving?", _pick(rng, _DIRECTIONS, 4), answer,
                    facts={"object": 0, "displacement": [float(d[0]), float(d[1])]})


_PARTS = ("In the beginning of the video.", "In the middle of the video.", "At the end of the video.",
          "Throughout the entire video.")


def _part_of(s: int, e: int, T: int) -> str | None:
    if (e - s) / T >= 0.8:
        return _PARTS[3]
    c = (s + e) / 2 / T
    if (e - s) / T > 0.45 or min(abs(c - 1 / 3), abs(c - 2 / 3)) < 0.05:
        return None
    return _PARTS[min(2, int(c * 3))]


def _action_localization(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)))
    T = g.frames
    part = int(rng.integers(0, 4))
    if part == 3:
        s, e = int(rng.integers(0, 2)), T - int(rng.integers(0, 2))
    else:
        s, e = _interval(rng, part * T // 3 + 1, (part + 1) * T // 3, 4)
    f = _obj(rng, g, apps[0], depths[0], [(_shuffled(rng, ACTION_NAMES), s, e)])
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    a = f.actions[0]
    answer = _part_of(a.start, a.end, T)
    if answer is None:
        raise _Retry
    return Question(clip, f"During which part of the video is {_the(f.name)} {a.label}?", _pick(rng, _PARTS, 4),
                    answer, start=0.0, end=clip.duration, facts={"object": 0, "interval": [a.start, a.end]})


def _scene_transition(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(0, 3)))
    bg2 = sample_background(rng, g.size, exclude=bg)
    objs = _others(rng, g, apps, depths, 0)
    cut = int(rng.integers(g.frames // 3, 2 * g.frames // 3 + 1))
    clip = _clip(g, bg, objs, more_backgrounds=(bg2,), cut=cut)
    b1, b2 = clip.backgrounds[0].name, clip.backgrounds[1].name
    answer = f"From {_the(b1)} to {_the(b2)}."
    names = [b1, b2] + [sample_background(rng, g.size).name for _ in range(4)]
    pool = [f"From {_the(b2)} to {_the(b1)}."]  # the reversed order is the hardest distractor
    pool += [f"From {_the(x)} to {_the(y)}." for x in names for y in _shuffled(rng, names) if x != y]
    cands = _candidates(rng, answer, [pool[0]] + _shuffled(rng, pool[1:]), 4)
    return Question(clip, "What's the right option for how the scenes in the video change?", cands, answer,
                    facts={"cut": cut, "from": b1, "to": b2})


_COUNT_VERBS = {"jumping": "jump", "spinning": "spin"}


def _action_count(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)), textures=("striped", "dotted", "checkered"))
    T = g.frames
    label = _pick(rng, sorted(_COUNT_VERBS), 1)[0]
    k = int(rng.integers(1, 4))
    L = max(4, min(8, (T - 3 * (k - 1)) // k))
    if k * L + 3 * (k - 1) > T:
        raise _Retry
    plan, t = [], int(rng.integers(0, T - k * L - 3 * (k - 1) + 1))
    for _ in range(k):
        plan.append(([label], t, t + L))
        t += L + 3
    f = _obj(rng, g, apps[0], depths[0], plan)
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    count = sum(a.label == label for a in f.actions)
    return Question(clip, f"How many times does {_the(f.name)} {_COUNT_VERBS[label]}?", ["0", "1", "2", "3"],
                    str(count), facts={"object": 0, "action": label, "count": count})


def _numeric(rng, answer: int, n: int = 4) -> list[str]:
    lo = int(max(0, answer - int(rng.integers(0, n))))
    return [str(i) for i in range(lo, lo + n)]


def _moving_count(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 6))
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    objs = []
    for i in range(n):
        plan = []
        if rng.random() < 0.7:
            end = T if rng.random() < 0.5 else int(rng.integers(T // 2, T - 2))
            plan = [(_shuffled(rng, ACTION_NAMES), *_interval(rng, max(0, end - T // 2), end, 8, T // 2))]
        objs.append(build_object(rng, g.spec(), apps[i], depths[i], plan))
    clip = _clip(g, bg, objs)
    count = int(sum(o.moving()[-1] for o in clip.objects))
    return Question(clip, "How many objects are moving when the video ends?", _numeric(rng, count), str(count),
                    facts={"count": count})


def _moving_attribute(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 5))
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    objs = _others(rng, g, apps, depths, 0)
    labels = [a.label for o in objs for a in o.actions]
    unique = [x for x in dict.fromkeys(labels) if labels.count(x) == 1]
    if not unique:
        raise _Retry
    label = _pick(rng, unique, 1)[0]
    k = next(i for i, o in enumerate(objs) if any(a.label == label for a in o.actions))
    clip = _clip(g, bg, objs)
    app = clip.objects[k].appearance
    if rng.random() < 0.5:
        q, answer, pool = f"What color is the object that is {label}?", app.colour, list(COLOURS)
    else:
        q, answer, pool = f"What shape is the object that is {label}?", app.shape, list(SHAPES)
    in_scene = [getattr(o.appearance, "colour" if answer in COLOURS else "shape") for o in clip.objects]
    cands = _candidates(rng, answer, in_scene + _shuffled(rng, pool), 4)
    return Question(clip, q, cands, answer, facts={"object": k, "action": label})


_SIZES = ("It gets bigger.", "It gets smaller.", "It stays the same size.")


def _state_change(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)))
    T = g.frames
    kind = int(rng.integers(0, 3))
    labels = [["growing"], ["shrinking"], [x for x in _shuffled(rng, ACTION_NAMES) if x not in ("growing",
                                                                                                "shrinking")]][kind]
    f = _obj(rng, g, apps[0], depths[0], [(labels, *_interval(rng, 0, T, T // 2))], radius=(0.1, 0.14))
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1))
    ratio = f.states[-1, 2] / f.states[0, 2]
    answer = _SIZES[0] if ratio > 1.2 else _SIZES[1] if ratio < 1 / 1.2 else _SIZES[2]
    return Question(clip, f"What happens to the size of {_the(f.name)}?", _pick(rng, _SIZES, 3), answer,
                    facts={"object": 0, "ratio": float(ratio)})


_ROTATIONS = ("clockwise", "counterclockwise", "it does not rotate")


def _fine_grained_pose(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 3)), textures=("striped", "dotted", "checkered"))
    T = g.frames
    labels = ["spinning"] if rng.random() < 0.7 else [x for x in _shuffled(rng, ACTION_NAMES) if x != "spinning"]
    f = _obj(rng, g, apps[0], depths[0], [(labels, *_interval(rng, 0, T, T // 2))])
    clip = _clip(g, bg, [f] + _others(rng, g, apps, depths, 1, idle=True))
    turn = f.states[-1, 3] - f.states[0, 3]
    answer = _ROTATIONS[2] if abs(turn) < 1e-9 else _ROTATIONS[0] if turn > 0 else _ROTATIONS[1]
    return Question(clip, f"Which way does {_the(f.name)} rotate?", _pick(rng, _ROTATIONS, 3), answer,
                    facts={"object": 0, "turn": float(turn)})


def _character_order(rng, g: _Geo) -> Question:
    n = 3
    apps, bg, depths = _scene(rng, g, n)
    T = g.frames
    starts = np.sort(rng.choice(np.arange(1, T // 2), n, replace=False))
    if np.diff(starts).min() < 2:
        raise _Retry
    order = rng.permutation(n)
    objs = []
    for i in range(n):
        s = int(starts[order[i]])
        objs.append(_obj(rng, g, apps[i], depths[i], [(_shuffled(rng, ACTION_NAMES), s, min(T, s + T // 2))]))
    clip = _clip(g, bg, objs)
    first = [int(np.argmax(o.moving())) for o in clip.objects]
    k = int(np.argmin(first))
    answer = _the(clip.objects[k].name)
    cands = _pick(rng, [_the(o.name) for o in clip.objects], n)
    return Question(clip, "Which object starts moving first?", cands, answer, facts={"object": k, "first": first})


def _egocentric_navigation(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(1, 4)))
    objs = _others(rng, g, apps, depths, 0, idle=True)
    d = _DIRECTIONS[int(rng.integers(0, 4))]
    speed = float(rng.integers(1, 3))
    vel = {"left": (-speed, 0.0), "right": (speed, 0.0), "up": (0.0, -speed), "down": (0.0, speed)}[d]
    clip = with_camera_pan(_clip(g, bg, objs), vel)
    answer = camera_direction(clip)
    return Question(clip, "In which direction is the camera moving?", _pick(rng, _DIRECTIONS, 4), answer,
                    facts={"camera_velocity": list(vel)})


def _episodic_reasoning(rng, g: _Geo) -> Question:
    apps, bg, depths = _scene(rng, g, int(rng.integers(2, 4)))
    T = g.frames
    (s1, e1), (s2, e2) = _two_actions(rng, g, gap=1)
    a = _obj(rng, g, apps[0], depths[0], [(_shuffled(rng, ACTION_NAMES), s1, e1)])
    plan_b = [(_shuffled(rng, ACTION_NAMES), s2, e2)]
    if s1 >= 5 and rng.random() < 0.5:  # an earlier action of the same object makes "after" matter
        plan_b.insert(0, (_shuffled(rng, ACTION_NAMES), 0, min(s1, 8)))
    b = _obj(rng, g, apps[1], depths[1], plan_b)
    clip = _clip(g, bg, [a, b] + _others(rng, g, apps, depths, 2, idle=True))
    act = a.actions[0]
    after = [x for x in b.actions if x.start >= act.end]
    if not after:
        raise _Retry
    nxt = min(after, key=lambda x: x.start)
    answer = f"It {ACTION_BY_NAME[nxt.label].past}."
    pool = [f"It {ACTION_BY_NAME[x.label].past}." for x in b.actions] + \
           [f"It {ACTION_BY_NAME[x].past}." for x in _shuffled(rng, ACTION_NAMES)]
    cands = _candidates(rng, answer, pool, 4)
    return Question(clip, f"What did {_the(b.name)} do after {_the(a.name)} {ACTION_BY_NAME[act.label].past}?",
                    cands, answer, start=0.0, end=clip.duration,
                    facts={"object": 1, "reference": 0, "answer_action": nxt.label})


def _counterfactual_inference(rng, g: _Geo) -> Question:
    n = int(rng.integers(2, 5))
    apps, bg, depths = _scene(rng, g, n)
    objs = _others(rng, g, apps, depths, 0)
    clip = _clip(g, bg, objs)
    k = int(rng.integers(0, n))
    count = int(sum(o.moving().any() for j, o in enumerate(clip.objects) if j != k))
    return Question(clip, f"If {_the(clip.objects[k].name)} were removed, how many objects would move in the video?",
                    _numeric(rng, count), str(count), facts={"object": k, "count": count})


_GENERATORS: dict[str, Callable] = {
    "action_sequence": _action_sequence,
    "action_prediction": _action_prediction,
    "action_antonym": _action_antonym,
    "fine_grained_action": _fine_grained_action,
    "unexpected_action": _unexpected_action,
    "object_existence": _object_existence,
    "object_interaction": _object_interaction,
    "object_shuffle": _object_shuffle,
    "moving_direction": _moving_direction,
    "action_localization": _action_localization,
    "scene_transition": _scene_transition,
    "action_count": _action_count,
    "moving_count": _moving_count,
    "moving_attribute": _moving_attribute,
    "state_change": _state_change,
    "fine_grained_pose": _fine_grained_pose,
    "character_order": _character_order,
    "egocentric_navigation": _egocentric_navigation,
    "episodic_reasoning": _episodic_reasoning,
    "counterfactual_inference": _counterfactual_inference,
}
assert set(_GENERATORS) == set(TASK_BY_NAME)


def make_question(task: str, seed: int, index: int, size: int, frames: int, fps: float,
                  width: int | None = None) -> Question:
    """Question ``index`` of MVBench ``task`` (deterministic in ``(seed, task, index)``).

    Clips are ``size`` x ``width`` (default square), ``frames`` long at ``fps``; the episodic-reasoning task uses
    3 fps as its official frame folders do.
    """
    if task not in _GENERATORS:
        raise ValueError(f"unknown MVBench task {task!r}; valid: {[t.name for t in MVBENCH_TASKS]}")
    fps = EPISODIC_FPS if task == "episodic_reasoning" else fps
    g = _Geo(size, width or size, frames, fps)
    rng = clip_rng(seed, "mvbench", index, task)
    for _ in range(500):
        try:
            q = _GENERATORS[task](rng, g)
        except _Retry:
            continue
        if q.answer not in q.candidates or len(set(q.candidates)) != len(q.candidates):
            raise AssertionError(f"{task}: bad candidates {q.candidates} for answer {q.answer!r}")
        return q
    raise RuntimeError(f"MVBench task {task!r}: no valid clip after 500 draws (seed {seed}, index {index})")
