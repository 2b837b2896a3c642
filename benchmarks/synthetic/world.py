"""The synthetic video world: scenes of textured shapes that move, occlude each other and perform timed actions.

A :class:`Clip` is pure ground truth (no pixels): a background (or two, with a scene cut), a camera path, and
objects with an appearance, a depth and a per-frame state ``(x, y, radius, angle)``. :mod:`.render` turns it into
frames and masks. Everything is drawn from a ``numpy.random.Generator`` made by :func:`clip_rng` from
``(seed, benchmark, index)``, so one clip never depends on how many other clips or benchmarks were generated.

Conventions
-----------
* Time is counted in frames; ``fps`` only converts frames to seconds for the annotation files.
* An :class:`Action` covers the frames ``[start, end)``: the object's state changes in exactly those frames and
  is constant outside every action (idle objects stand still), so action intervals are crisp ground truth for
  temporal localisation. Actions of one object never overlap; different objects act independently.
* States are in *world* pixel coordinates: ``x`` right, ``y`` down, centre of the top-left pixel at (0.5, 0.5).
  The screen position is ``world - camera`` (the camera only moves in panning clips). ``angle`` is in radians and
  grows clockwise *on screen* (image ``y`` points down); ``radius`` is the shape's size in pixels.
* Depth: a larger ``depth`` is further away; nearer objects are drawn over (occlude) farther ones.
* Within a clip all object colours are distinct, so "the <texture> <colour> <shape>" names exactly one object.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from benchmarks.synthetic.vocabulary import (
    ACTION_BY_NAME,
    ACTION_NAMES,
    BACKGROUND_COLOURS,
    BACKGROUND_TEXTURES,
    COLOURS,
    SHAPES,
    TEXTURES,
)

__all__ = [
    "Appearance",
    "Action",
    "Background",
    "SceneObject",
    "Clip",
    "ClipSpec",
    "clip_rng",
    "sample_appearances",
    "sample_background",
    "build_object",
    "sample_clip",
    "random_schedule",
    "trajectory",
    "action_states",
    "with_camera_pan",
    "action_min_frames",
]

# State columns.
X, Y, R, A = 0, 1, 2, 3


def clip_rng(seed: int, benchmark: str, index: int, *extra: str | int) -> np.random.Generator:
    """The generator for one clip: seeded from ``(seed, benchmark, index, *extra)`` only.

    Names are hashed with CRC-32 (stable across Python runs, unlike ``hash``), so adding a benchmark or changing the
    number of clips of one benchmark leaves every other clip unchanged.
    """
    key = [int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(benchmark.encode()), int(index)]
    key += [zlib.crc32(str(e).encode()) for e in extra]
    return np.random.default_rng(np.random.SeedSequence(key))


@dataclass(frozen=True)
class Appearance:
    colour: str
    shape: str
    texture: str = "plain"

    @property
    def name(self) -> str:
        """'striped red triangle'; a plain object is just 'red triangle'."""
        prefix = "" if self.texture == "plain" else f"{self.texture} "
        return f"{prefix}{self.colour} {self.shape}"


@dataclass(frozen=True)
class Action:
    """One action instance: ``label`` (a class of :data:`~.vocabulary.ACTIONS`) during frames ``[start, end)``.

    ``magnitude`` is class specific: the distance in px (moving *, zigzagging), the circle radius in px (circling),
    the height in px (bouncing, jumping), the amplitude in px (shaking), the number of turns (spinning) or the final
    size factor (growing > 1, shrinking < 1). ``direction`` is +1/-1: the horizontal sense of a zigzag, or the
    rotation sense of spinning/circling (+1 = clockwise on screen). ``cycles`` counts bounces, shakes or zigzag
    periods; ``amplitude`` is a zigzag's vertical amplitude in px; ``side`` puts a circle's centre right (+1) or
    left (-1) of the starting point.
    """

    label: str
    start: int
    end: int
    magnitude: float
    direction: int = 1
    cycles: int = 1
    amplitude: float = 0.0
    side: int = 1

    def __post_init__(self):
        object.__setattr__(self, "label", str(self.label))
        for name in ("start", "end", "direction", "cycles", "side"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("magnitude", "amplitude"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.label not in ACTION_BY_NAME:
            raise ValueError(f"unknown action {self.label!r}; valid: {list(ACTION_NAMES)}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"action {self.label!r} needs 0 <= start < end, got [{self.start}, {self.end})")

    @property
    def frames(self) -> int:
        return self.end - self.start

    def seconds(self, fps: float) -> tuple[float, float]:
        """The interval in seconds: frame ``f`` spans ``[f / fps, (f + 1) / fps)``."""
        return self.start / fps, self.end / fps


@dataclass(frozen=True)
class Background:
    """A two-tone textured background (or a smooth 'natural' 1/f^2 texture) in world coordinates."""

    colour: str
    texture: str
    period: float  # pattern period in px
    angle: float  # stripe orientation in radians
    noise_seed: int  # seeds the speckled / natural textures

    @property
    def name(self) -> str:
        return f"{self.texture} {self.colour} background"


@dataclass
class SceneObject:
    appearance: Appearance
    depth: float
    states: np.ndarray  # (T, 4) float64: x, y, radius, angle (see module doc)
    actions: tuple[Action, ...] = ()

    @property
    def name(self) -> str:
        return self.appearance.name

    def moving(self, atol: float = 1e-9) -> np.ndarray:
        """(T,) bool: the state at frame f differs from frame f-1 (frame 0 is never moving)."""
        d = np.abs(np.diff(self.states, axis=0)).max(axis=1) > atol
        return np.concatenate([[False], d])


@dataclass
class Clip:
    """Ground truth of one clip: ``n_frames`` frames of ``height`` x ``width`` pixels at ``fps``.

    ``backgrounds[0]`` is shown until frame ``cut`` and ``backgrounds[1]`` from it on (scene cut; None = no cut).
    ``camera`` (T, 2) is the camera position in world pixels; it slides the background and every object.
    ``objects`` are listed in instance order (instance id k + 1 in the rendered masks).
    """

    height: int
    width: int
    fps: float
    backgrounds: tuple[Background, ...]
    objects: tuple[SceneObject, ...]
    n_frames: int
    cut: int | None = None  # first frame drawn with backgrounds[1]
    camera: np.ndarray | None = None  # (T, 2) camera position (x, y) in px; None = static at (0, 0)

    def __post_init__(self):
        if self.camera is None:
            self.camera = np.zeros((self.n_frames, 2))
        for o in self.objects:
            if o.states.shape != (self.n_frames, 4):
                raise ValueError(f"object {o.name!r} has states {o.states.shape}, expected ({self.n_frames}, 4)")

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def background_at(self, frame: int) -> Background:
        return self.backgrounds[1] if self.cut is not None and frame >= self.cut else self.backgrounds[0]

    def segments(self) -> list[tuple[int, Action]]:
        """All action instances as ``(object index, action)``, sorted by start frame then object."""
        out = [(k, a) for k, o in enumerate(self.objects) for a in o.actions]
        return sorted(out, key=lambda t: (t[1].start, t[0], t[1].end))

    def draw_order(self) -> list[int]:
        """Object indices far to near (the order they are painted)."""
        return sorted(range(len(self.objects)), key=lambda k: (-self.objects[k].depth, k))


# ------------------------------------------------------------------------------------------------------------------
# trajectories
# ------------------------------------------------------------------------------------------------------------------
def action_min_frames(label: str) -> int:
    """Fewest frames an action needs to be recognisable when sampled at 1 frame per step."""
    kind = ACTION_BY_NAME[label].kind
    return 8 if label in ("bouncing", "shaking", "zigzagging", "circling") else (5 if kind == "rotation" else 4)


def _progress(action: Action) -> np.ndarray:
    """(L,) progress p in (0, 1] for the action's frames: the first action frame already moves, the last ends it."""
    return np.arange(1, action.frames + 1, dtype=np.float64) / action.frames


def _triangle(t: np.ndarray) -> np.ndarray:
    """Triangle wave with period 1: 0 -> 1 -> 0 -> -1 -> 0."""
    return 2.0 / np.pi * np.arcsin(np.sin(2.0 * np.pi * t))


def action_states(action: Action, s0: np.ndarray) -> np.ndarray:
    """(L, 4) states during ``action`` starting from state ``s0`` (the state of the frame before it)."""
    p = _progress(action)
    out = np.repeat(s0[None].astype(np.float64), len(p), axis=0)
    m, lab = action.magnitude, action.label
    if lab == "moving left":
        out[:, X] -= m * p
    elif lab == "moving right":
        out[:, X] += m * p
    elif lab == "moving up":
        out[:, Y] -= m * p
    elif lab == "moving down":
        out[:, Y] += m * p
    elif lab == "zigzagging":
        out[:, X] += action.direction * m * p
        out[:, Y] += action.amplitude * _triangle(action.cycles * p)
    elif lab == "circling":
        # Start on the circle at angle 0 (centre to the left) or pi (centre to the right); +1 turns clockwise.
        cx = s0[X] + action.side * m
        phi0 = np.pi if action.side > 0 else 0.0
        phi = phi0 + action.direction * 2.0 * np.pi * p
        out[:, X] = cx + m * np.cos(phi)
        out[:, Y] = s0[Y] + m * np.sin(phi)
        out[-1, X:Y + 1] = s0[X:Y + 1]  # exactly back at the start (no float residue)
    elif lab == "bouncing":
        out[:, Y] -= m * np.abs(np.sin(np.pi * action.cycles * p))
        out[-1, Y] = s0[Y]
    elif lab == "jumping":
        out[:, Y] -= m * 4.0 * p * (1.0 - p)
    elif lab == "shaking":
        out[:, X] += m * np.sin(2.0 * np.pi * action.cycles * p)
        out[-1, X] = s0[X]
    elif lab == "spinning":
        out[:, A] += action.direction * 2.0 * np.pi * m * p
    elif lab in ("growing", "shrinking"):
        out[:, R] *= 1.0 + (m - 1.0) * p
    else:  # pragma: no cover - guarded by Action.__post_init__
        raise ValueError(lab)
    return out


def trajectory(initial: np.ndarray, actions: Sequence[Action], n_frames: int) -> np.ndarray:
    """(T, 4) states: ``initial`` held still, changed only inside each action (actions sorted, non-overlapping)."""
    states = np.repeat(np.asarray(initial, np.float64)[None], n_frames, axis=0)
    prev_end = 0
    for a in sorted(actions, key=lambda a: a.start):
        if a.start < prev_end or a.end > n_frames:
            raise ValueError(f"actions overlap or run past the clip ({n_frames} frames): {actions}")
        s0 = states[a.start - 1] if a.start > 0 else states[0]
        seg = action_states(a, s0)
        states[a.start:a.end] = seg
        states[a.end:] = seg[-1]
        prev_end = a.end
    return states


# ------------------------------------------------------------------------------------------------------------------
# sampling
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipSpec:
    """What kind of clip to sample. Sizes are fractions of ``min(height, width)`` unless stated."""

    height: int
    width: int
    n_frames: int
    fps: float
    n_objects: tuple[int, int] = (1, 3)  # inclusive range
    actions_per_object: tuple[int, int] = (0, 2)
    radius: tuple[float, float] = (0.12, 0.2)
    allowed_actions: tuple[str, ...] = ACTION_NAMES
    spread: float = 0.6  # initial centres lie in the central `spread` fraction of the frame (small = crowded)
    unique_shapes: bool = True
    background_textures: tuple[str, ...] = BACKGROUND_TEXTURES
    min_gap: int = 1  # idle frames between two actions of one object


def sample_appearances(rng: np.random.Generator, n: int, unique_shapes: bool = True,
                       textures: Sequence[str] = TEXTURES) -> list[Appearance]:
    """``n`` appearances with distinct colours (and distinct shapes when ``unique_shapes``)."""
    colours = rng.permutation(len(COLOURS))[:n]
    shapes = rng.permutation(len(SHAPES))[:n] if unique_shapes else rng.integers(0, len(SHAPES), n)
    tex = rng.integers(0, len(textures), n)
    names = list(COLOURS)
    return [Appearance(names[c], SHAPES[s], textures[t]) for c, s, t in zip(colours, shapes, tex)]


def sample_background(rng: np.random.Generator, size: int, textures: Sequence[str] = BACKGROUND_TEXTURES,
                      exclude: Background | None = None) -> Background:
    """A background; ``exclude`` forces a different colour and texture (for scene cuts)."""
    colours = [c for c in BACKGROUND_COLOURS if exclude is None or c != exclude.colour]
    texs = [t for t in textures if exclude is None or t != exclude.texture] or list(textures)
    return Background(
        colour=colours[int(rng.integers(len(colours)))],
        texture=texs[int(rng.integers(len(texs)))],
        period=float(rng.uniform(0.12, 0.25) * size),
        angle=float(rng.uniform(0.0, np.pi)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _bounds(h: int, w: int, r: float) -> tuple[float, float, float, float]:
    """Where a centre may go so that the object stays mostly in frame: (x_lo, x_hi, y_lo, y_hi)."""
    m = 0.6 * r + 1.0
    return m, w - m, m, h - m


def _sample_action(rng: np.random.Generator, label: str, start: int, end: int, s: np.ndarray, h: int, w: int,
                   appearance: Appearance) -> Action | None:
    """Parameters for ``label`` on frames [start, end) from state ``s``; None when it cannot fit in the frame."""
    n = end - start
    if n < action_min_frames(label):
        return None
    size = min(h, w)
    x, y, r = s[X], s[Y], s[R]
    x_lo, x_hi, y_lo, y_hi = _bounds(h, w, r)
    room = {"moving left": x - x_lo, "moving right": x_hi - x, "moving up": y - y_lo, "moving down": y_hi - y}
    if label in room:
        extent = w if label in ("moving left", "moving right") else h
        lo, hi = 0.15 * extent, min(room[label], 0.5 * extent)
        return Action(label, start, end, float(rng.uniform(lo, hi))) if hi > lo else None
    if label == "zigzagging":
        amp = 0.07 * h
        if y - amp < y_lo or y + amp > y_hi:
            return None
        dirs = [d for d, rm in ((-1, x - x_lo), (1, x_hi - x)) if rm > 0.2 * w]
        if not dirs:
            return None
        d = dirs[int(rng.integers(len(dirs)))]
        rm = x - x_lo if d < 0 else x_hi - x
        return Action(label, start, end, float(rng.uniform(0.2 * w, min(rm, 0.5 * w) + 1e-9)), direction=d,
                      cycles=int(np.clip(n // 4, 1, 3)), amplitude=float(amp))
    if label == "circling":
        rad = float(rng.uniform(0.1, 0.16) * size)
        if y - rad < y_lo or y + rad > y_hi:
            return None
        sides = [sd for sd in (-1, 1) if x_lo <= x + 2 * sd * rad <= x_hi]
        if not sides:
            return None
        return Action(label, start, end, rad, direction=int(rng.choice([-1, 1])),
                      side=sides[int(rng.integers(len(sides)))])
    if label == "bouncing":
        height = float(rng.uniform(0.1, 0.16) * h)
        return Action(label, start, end, height, cycles=int(np.clip(n // 4, 2, 3))) if y - height >= y_lo else None
    if label == "jumping":
        height = float(rng.uniform(0.22, 0.3) * h)
        return Action(label, start, end, height) if y - height >= y_lo else None
    if label == "shaking":
        amp = float(rng.uniform(0.04, 0.07) * w)
        ok = x - amp >= x_lo and x + amp <= x_hi
        return Action(label, start, end, amp, cycles=int(np.clip(n // 4, 2, 3))) if ok else None
    if label == "spinning":
        if appearance.shape == "circle" and appearance.texture == "plain":
            return None  # a spinning plain disc looks still
        # At most 30 degrees a frame, so the sense of rotation of a 4-fold symmetric shape is unambiguous.
        turns = float(min(rng.uniform(0.5, 1.25), n / 12.0))
        return Action(label, start, end, turns, direction=int(rng.choice([-1, 1])))
    if label == "growing":
        k_max = min(0.3 * size / r, 1.9)
        if k_max < 1.35:
            return None
        k = float(rng.uniform(1.35, k_max))
        xl, xh, yl, yh = _bounds(h, w, r * k)
        return Action(label, start, end, k) if xl <= x <= xh and yl <= y <= yh else None
    if label == "shrinking":
        k = float(rng.uniform(0.45, 0.7))
        return Action(label, start, end, k) if r * k >= 3.0 else None
    raise ValueError(f"unknown action {label!r}")


def build_object(rng: np.random.Generator, spec: ClipSpec, appearance: Appearance, depth: float,
                 plan: Sequence[tuple[Sequence[str], int, int]], initial: np.ndarray | None = None,
                 strict: bool = False) -> SceneObject | None:
    """An object performing ``plan``: a list of ``(candidate labels, start, end)`` intervals, in time order.

    For each interval the first candidate (in the given order) that fits in the frame is used; an interval with no
    fitting candidate is dropped, or makes the whole object None when ``strict``. ``initial`` is ``(x, y, radius,
    angle)``; by default it is drawn from ``spec``.
    """
    h, w, size = spec.height, spec.width, min(spec.height, spec.width)
    if initial is None:
        r = float(rng.uniform(*spec.radius) * size)
        lo = 0.5 - spec.spread / 2
        x = float(rng.uniform(lo, 1 - lo) * w)
        y = float(rng.uniform(lo, 1 - lo) * h)
        initial = np.array([x, y, r, rng.uniform(0, 2 * np.pi)])
    s = np.asarray(initial, np.float64)
    actions: list[Action] = []
    for labels, start, end in plan:
        act = None
        for lab in labels:
            act = _sample_action(rng, lab, start, end, s, h, w, appearance)
            if act is not None:
                break
        if act is None:
            if strict:
                return None
            continue
        actions.append(act)
        s = action_states(act, s)[-1]
    return SceneObject(appearance, depth, trajectory(initial, actions, spec.n_frames), tuple(actions))


def random_schedule(rng: np.random.Generator, n_frames: int, n_actions: int, min_len: int, max_len: int,
                    min_gap: int = 1) -> list[tuple[int, int]]:
    """Up to ``n_actions`` non-overlapping intervals [start, end) with lengths in [min_len, max_len]."""
    while n_actions > 0:
        lens = rng.integers(min_len, max(min_len, max_len) + 1, n_actions)
        free = n_frames - int(lens.sum()) - min_gap * (n_actions - 1)
        if free >= 0:
            break
        n_actions -= 1
    if n_actions <= 0:
        return []
    # Split the free frames into n_actions + 1 gaps (before, between, after) uniformly at random.
    cuts = np.sort(rng.integers(0, free + 1, n_actions))
    gaps = np.diff(np.concatenate([[0], cuts, [free]]))
    out, t = [], 0
    for i, L in enumerate(lens):
        t += int(gaps[i]) + (min_gap if i > 0 else 0)
        out.append((t, t + int(L)))
        t += int(L)
    return out


def _shuffled(rng: np.random.Generator, items: Sequence[str]) -> list[str]:
    return [items[i] for i in rng.permutation(len(items))]


def sample_clip(rng: np.random.Generator, spec: ClipSpec) -> Clip:
    """A random clip following ``spec``: objects with random appearances, positions, depths and action schedules."""
    n_obj = int(rng.integers(spec.n_objects[0], spec.n_objects[1] + 1))
    apps = sample_appearances(rng, n_obj, spec.unique_shapes)
    depths = rng.permutation(n_obj).astype(float) + 1.0
    bg = sample_background(rng, min(spec.height, spec.width), spec.background_textures)
    objects = []
    for app, depth in zip(apps, depths):
        k = int(rng.integers(spec.actions_per_object[0], spec.actions_per_object[1] + 1))
        sched = random_schedule(rng, spec.n_frames, k, 4, max(4, int(0.7 * spec.n_frames) // max(k, 1)),
                                spec.min_gap)
        plan = [(_shuffled(rng, spec.allowed_actions), s, e) for s, e in sched]
        objects.append(build_object(rng, spec, app, float(depth), plan))
    return Clip(spec.height, spec.width, spec.fps, (bg,), tuple(objects), spec.n_frames)


def with_camera_pan(clip: Clip, velocity: tuple[float, float]) -> Clip:
    """The same clip seen by a camera moving ``velocity`` px per frame (x right, y down) from frame 0."""
    t = np.arange(clip.n_frames, dtype=np.float64)[:, None]
    return replace(clip, camera=t * np.asarray(velocity, np.float64)[None])
