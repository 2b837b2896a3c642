"""OpenVid-1M layout: ``OpenVid-1M.csv`` + ``video/<video>``.

Columns as in the official release: ``video,caption,aesthetic score,motion score,temporal consistency score,
camera motion,frame,fps,seconds``. The three scores are model-predicted in the real dataset (an aesthetic predictor,
UniMatch optical flow, CLIP similarity); no such model runs here, so the synthetic file leaves them **empty** rather
than inventing numbers. ``camera motion`` is ``static`` (the synthetic camera does not move in these clips).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.captions import video_caption
from benchmarks.synthetic.files import write_clip, write_csv, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.world import Clip, clip_rng, sample_clip
from benchmarks.synthetic.writers.common import video_spec

NAME = "openvid"
CSV_NAME = "OpenVid-1M.csv"
HEADER = ("video", "caption", "aesthetic score", "motion score", "temporal consistency score", "camera motion",
          "frame", "fps", "seconds")


@dataclass
class OpenVidSample:
    video: str
    caption: str
    clip: Clip


def samples(seed: int, scale: Scale) -> list[OpenVidSample]:
    spec = video_spec(scale, n_objects=(1, 3), actions_per_object=(1, 2))
    out = []
    for i in range(2 * scale.clips):
        clip = sample_clip(clip_rng(seed, NAME, i), spec)
        out.append(OpenVidSample(f"synthetic_{i:06d}.mp4", video_caption(clip), clip))
    return out


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    for s in items:
        write_clip(root / "video" / s.video, render(s.clip).frames, s.clip.fps)
    rows = [(s.video, s.caption, "", "", "", "static", s.clip.n_frames, f"{s.clip.fps:g}",
             f"{s.clip.duration:.3f}") for s in items]
    write_csv(root / CSV_NAME, HEADER, rows)
    write_synthetic_note(root, "OpenVid-1M", seed, scale,
                         "The aesthetic, motion and temporal-consistency score columns are empty: they are "
                         "model predictions in the real dataset and are not computed for synthetic clips.")
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items)}
