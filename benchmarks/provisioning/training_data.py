"""The data the embedded default makes here: the trained-here training set and the benchmarks' synthetic datasets.

* :func:`ensure_gate_data` / :func:`default_training_data`: the synthetic WebVid-format set every trained-here
  tokenizer (and the CI gate) learns from — ``benchmarks.synthetic`` seed 0, 64 x 64 clips of 17 frames,
  256 train / 64 val videos (:data:`benchmarks.provisioning.recipes.GATE_CLIPS`).
* :func:`ensure_synthetic`: the benchmarks' synthetic datasets, written once per (scale, seed) into
  ``$PYRATOK_CACHE/synthetic/<scale>-seed<seed>/`` in the official layouts (``webvid/``, ``coco/`` ...). Only
  missing datasets are written. Real samples (``../shared/realdata``) are chosen by each benchmark's
  ``default_source`` where they exist (e.g. COCO val2017 images).

A file lock keeps concurrent processes from writing the same folder twice.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .cache import cache_root, file_lock
from .digest import source_digest
from .recipes import GATE_CLIPS, SEED
from .zero_shot import REDACTION_NOTE

__all__ = ["ensure_gate_data", "default_training_data", "ensure_synthetic", "synthetic_root", "DATA_SOURCES"]

# the code that writes the training set (its digest names the cached copy)
DATA_SOURCES = ("benchmarks.synthetic", "benchmarks.provisioning.training_data", "benchmarks.provisioning.zero_shot")


def ensure_gate_data(work: Path, seed: int = SEED) -> Path:
    """The synthetic WebVid-format training set under ``work/data-seed<seed>``, written if absent, its captions
    redacted for zero-shot (:mod:`benchmarks.provisioning.zero_shot`). Returns the ``webvid`` root
    (``results_10M_{train,val}.csv``, ``videos/``). Not locked: callers that share ``work`` across processes hold
    a lock (:func:`default_training_data` does)."""
    from benchmarks.synthetic.generate import generate
    from benchmarks.synthetic.scale import TINY

    out = Path(work) / f"data-seed{seed}"
    root = out / "webvid"
    done = root / REDACTED_MARK
    if not done.is_file():
        generate(out, "webvid", scale=dataclasses.replace(TINY, name="ci", clips=GATE_CLIPS), seed=seed)
        for split in ("train", "val"):
            redact_csv(root / f"results_10M_{split}.csv")
        done.write_text(REDACTION_NOTE + "\n")
    return root


REDACTED_MARK = "CAPTIONS_REDACTED"


def redact_csv(path: Path) -> None:
    """Rewrite the WebVid CSV at ``path`` with every caption (column ``name``) redacted."""
    import csv

    from .zero_shot import redact_caption

    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    if not fields or "name" not in fields:
        raise ValueError(f"{path}: not a WebVid CSV (no 'name' column; columns {fields})")
    for row in rows:
        row["name"] = redact_caption(row["name"])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def default_training_data() -> Path:
    """:func:`ensure_gate_data` in the shared cache, under a lock: ``$PYRATOK_CACHE/data/<digest>/``, keyed on the
    source of the synthetic-data generator (:func:`~benchmarks.provisioning.digest.source_digest`), so an edit to
    the generator writes a new set, and the artifacts trained on it (their recipes hold its path) are retrained."""
    root = cache_root() / "data" / f"synthetic-{source_digest(DATA_SOURCES)}"
    with file_lock(root / ".webvid.lock"):
        return ensure_gate_data(root)


def synthetic_root(scale: str = "tiny", seed: int = 0) -> Path:
    return cache_root() / "synthetic" / f"{scale}-seed{seed}"


def ensure_synthetic(datasets: list[str], scale: str = "tiny", seed: int = 0, log=print) -> Path:
    """The folder holding the synthetic ``datasets`` (names without a writer are ignored), writing missing ones."""
    from benchmarks.synthetic.generate import generate
    from benchmarks.synthetic.writers import WRITERS

    root = synthetic_root(scale, seed)
    names = [d for d in dict.fromkeys(datasets) if d in WRITERS]
    with file_lock(root / ".lock"):
        missing = [d for d in names if not (root / d / "SYNTHETIC.md").is_file()]
        if missing:
            generate(root, missing, scale=scale, seed=seed, log=log)
    return root


# ------------------------------------------------------------------------------------------------ stage-0 data
# Real sample clips the tiny VAE may train on (random crops), and the ones it never sees: the held-out real split
# of the CI gate and of results/train/tiny.md. The COCO images are never training data.
REAL_TRAIN_CLIPS = ("bigbuckbunny.mp4", "bikes.mp4", "cockatoo.mp4", "kinetics_arm_wrestling.mp4")
REAL_HELD_OUT_CLIPS = ("mmaction2_test.mp4", "realshort.mp4", "ucf_apply_eye_makeup.avi")
REAL_SHORT_SIDE = 80        # real clips are stored with this short side: random 64 x 64 crops then vary
REAL_CAPTION = "a real video clip"


def ensure_stage0_data(work: Path, synthetic_root: Path, real_videos: Path, real_fraction: float = 0.5) -> Path:
    """The tiny VAE's training set under ``work``: ``stage0_train.csv`` (generic ``path, caption``, absolute paths)
    listing the synthetic train videos of ``synthetic_root`` (a WebVid-format root) and the
    :data:`REAL_TRAIN_CLIPS` of ``real_videos``, re-encoded with short side :data:`REAL_SHORT_SIDE` (centre crop to
    a square of that side is *not* applied: the loader's random crop sees the whole frame). Each real clip is
    listed enough times that about ``real_fraction`` of the sampled clips are real. Returns the CSV path."""
    import csv

    from pyratok.data.pairs import load_pairs
    from pyratok.data.video import probe_video, read_frames, write_video

    work = Path(work)
    out = work / "stage0_train.csv"
    if out.is_file():
        return out
    work.mkdir(parents=True, exist_ok=True)
    synthetic = [(str(p.path), p.caption) for p in load_pairs(Path(synthetic_root) / "results_10M_train.csv",
                                                              Path(synthetic_root) / "videos")]
    real = []
    for name in REAL_TRAIN_CLIPS:
        src = Path(real_videos) / name
        if not src.is_file():
            raise FileNotFoundError(f"{src}: real training clip missing (set PYRATOK_REALDATA)")
        dst = work / "real" / (src.stem + ".mp4")
        if not dst.is_file():
            fps = probe_video(src).fps or 25.0
            frames = read_frames(src, size=REAL_SHORT_SIDE)
            dst.parent.mkdir(parents=True, exist_ok=True)
            write_video(dst, frames, fps, codec="libx264", qp=0, preset="veryfast")  # lossless: see write_clip
        real.append(str(dst))
    copies = max(1, round(real_fraction / (1 - real_fraction) * len(synthetic) / max(1, len(real))))
    rows = synthetic + [(p, REAL_CAPTION) for p in real for _ in range(copies)]
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "caption"])
        w.writerows(rows)
    tmp.replace(out)
    return out
