"""Untrimmed videos with timed action instances, shared by the THUMOS14 and ActivityNet writers."""
from __future__ import annotations

from dataclasses import dataclass

from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.world import Clip, clip_rng
from benchmarks.synthetic.writers.common import ambiguous_actions, seconds, untrimmed_clip

__all__ = ["Instance", "TemporalSample", "temporal_samples"]


@dataclass(frozen=True)
class Instance:
    action: str  # class name, lower case ("moving left")
    start: float  # seconds
    end: float
    ambiguous: bool  # the acting object is mostly hidden during the action


@dataclass
class TemporalSample:
    subset: str
    video: str
    clip: Clip
    instances: list[Instance]


def temporal_samples(benchmark: str, seed: int, scale: Scale, subsets: dict[str, int],
                     video_name) -> list[TemporalSample]:
    """``subsets``: subset -> number of videos; ``video_name(subset, index, rng)`` names each video."""
    out = []
    for subset, n in subsets.items():
        for i in range(n):
            rng = clip_rng(seed, f"{benchmark}/{subset}", i)
            name = video_name(subset, i, rng)
            clip = untrimmed_clip(rng, scale)
            amb = ambiguous_actions(clip)
            inst = [Instance(a.label, seconds(a.start, clip.fps), seconds(a.end, clip.fps), (k, j) in amb)
                    for k, o in enumerate(clip.objects) for j, a in enumerate(o.actions)]
            inst.sort(key=lambda x: (x.start, x.end, x.action))
            out.append(TemporalSample(subset, name, clip, inst))
    return out
