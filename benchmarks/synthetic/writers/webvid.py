"""WebVid-10M layout: ``results_10M_{train,val}.csv`` + ``videos/<page_dir>/<videoid>.mp4``.

Columns as in the official release: ``videoid,contentUrl,duration,page_dir,name`` (``duration`` ISO 8601, e.g.
``PT00H00M02S``; ``name`` is the caption). The train split is the WebVid-format *training set* for the tokenizer
(four times the val split). ``contentUrl`` points to the reserved ``.invalid`` domain: there is nothing to fetch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.captions import video_caption
from benchmarks.synthetic.files import write_clip, write_csv, write_synthetic_note
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale
from benchmarks.synthetic.world import Clip, clip_rng, sample_clip
from benchmarks.synthetic.writers.common import iso_duration, video_spec

NAME = "webvid"
SPLITS = {"train": "results_10M_train.csv", "val": "results_10M_val.csv"}
HEADER = ("videoid", "contentUrl", "duration", "page_dir", "name")


@dataclass
class WebVidSample:
    split: str
    videoid: int
    page_dir: str
    caption: str
    clip: Clip

    @property
    def relpath(self) -> str:
        return f"videos/{self.page_dir}/{self.videoid}.mp4"


def counts(scale: Scale) -> dict[str, int]:
    return {"train": 4 * scale.clips, "val": scale.clips}


def samples(seed: int, scale: Scale) -> list[WebVidSample]:
    spec = video_spec(scale, n_objects=(1, 3), actions_per_object=(1, 2))
    out = []
    for split, n in counts(scale).items():
        base = 1_000_000 if split == "train" else 2_000_000
        for i in range(n):
            clip = sample_clip(clip_rng(seed, f"{NAME}/{split}", i), spec)
            page = i // 50  # the official page_dir groups 50 result pages, e.g. "006001_006050"
            out.append(WebVidSample(split, base + i, f"{page * 50 + 1:06d}_{page * 50 + 50:06d}",
                                    video_caption(clip), clip))
    return out


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    for s in items:
        write_clip(root / s.relpath, render(s.clip).frames, s.clip.fps)
    for split, fname in SPLITS.items():
        rows = [(s.videoid, f"https://example.invalid/synthetic/webvid/{s.videoid}.mp4",
                 iso_duration(s.clip.duration), s.page_dir, s.caption) for s in items if s.split == split]
        write_csv(root / fname, HEADER, rows)
    write_synthetic_note(root, "WebVid-10M", seed, scale,
                         "results_10M_train.csv is the WebVid-format training set; results_10M_val.csv the "
                         "validation split. Captions are generated from the scene's ground truth.")
    return {"clips": len(items), "frames": sum(s.clip.n_frames for s in items),
            **{f"{k}_clips": v for k, v in counts(scale).items()}}
