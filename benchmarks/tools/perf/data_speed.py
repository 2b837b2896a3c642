"""Data throughput -> results/perf/data.json.

    python -m benchmarks.tools.perf.data_speed [--repeats 3] [--scale tiny] [--out results/perf/data.json]

Two measurements, each labelled with its data source:

* **real** — decode throughput of :func:`pyratok.data.video.read_frames` on every real clip in
  ``../shared/realdata/videos`` (or ``$PYRATOK_REALDATA/videos``): all frames decoded and brought to 256 x 256
  (short side to 256, centre crop: the tokenizer's input), and a 17-frame clip sampled uniformly over the video
  (the training/benchmark access pattern, which seeks). Frames per second, median of ``--repeats`` after one warm-up.
* **synthetic** — throughput of the synthetic video world (``python -m benchmarks.synthetic``) at the given scale:
  clips/s and frames/s per benchmark, with rendering, encoding and annotation writing included, one process.

The machine is described in the record (CPU, cores, load average at start: the project machines are shared, so
a high load makes every number here slower than on an idle machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.base import realdata_root

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov"}


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: file cache, codec initialisation
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def measure_decode(path: Path, repeats: int, size: int = 256, clip_frames: int = 17) -> dict:
    from pyratok.data.video import probe_video, read_frames, sample_indices

    info = probe_video(path, count_frames=True)
    n = info.num_frames
    full = read_frames(path, size=size, crop="center")
    t_full = _median_time(lambda: read_frames(path, size=size, crop="center"), repeats)
    t_raw = _median_time(lambda: read_frames(path), repeats)
    idx = sample_indices(n, clip_frames, mode="uniform")
    t_clip = _median_time(lambda: read_frames(path, idx, size=size, crop="center"), repeats)
    return {
        "file": path.name, "data_source": "real", "source_resolution": [info.height, info.width],
        "source_fps": round(float(info.fps), 3), "frames": int(full.shape[0]),
        "output": list(full.shape[1:3]),
        "decode_resize_fps": round(full.shape[0] / t_full, 1),
        "decode_only_fps": round(full.shape[0] / t_raw, 1),
        f"clip{clip_frames}_uniform_fps": round(clip_frames / t_clip, 1),
        "seconds_full_decode_resize": round(t_full, 4),
    }


def measure_generator(scale: str, seed: int = 0) -> dict:
    from benchmarks.synthetic import generate
    from benchmarks.synthetic.scale import parse_scale

    # One-off imports (PyAV, torch via pyratok.data.video, scikit-image, pycocotools) are paid here, not by whichever
    # benchmark happens to need them first.
    import av  # noqa: F401

    import benchmarks.synthetic.writers  # noqa: F401  (pulls in scikit-image and pycocotools)
    import pyratok.data.video  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="synthetic_speed_") as tmp:
        t0 = time.perf_counter()
        results = generate(tmp, "all", scale, seed, jobs=1, log=None)
        total = time.perf_counter() - t0
    per = {}
    for name, r in results.items():
        sec = r["seconds"]
        per[name] = {"clips": r["clips"], "frames": r["frames"], "seconds": sec,
                     "clips_per_s": round(r["clips"] / sec, 2), "frames_per_s": round(r["frames"] / sec, 1)}
    return {"data_source": "synthetic", "scale": parse_scale(scale).to_dict(), "seed": seed,
            "total_seconds": round(total, 2), "clips": sum(p["clips"] for p in per.values()),
            "frames": sum(p["frames"] for p in per.values()), "per_benchmark": per,
            "note": "one process; includes rendering, video/JPEG encoding and annotation writing; library imports "
                    "are done before timing"}


def machine() -> dict:
    import av

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "pyav": av.__version__, "ffmpeg": av.library_versions.get("libavcodec"), "numpy": np.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--scale", default="tiny", help="synthetic generator scale to time")
    ap.add_argument("--out", type=Path, default=Path("results/perf/data.json"))
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    record = {"machine": machine()}
    root = realdata_root() / "videos"
    if root.is_dir():
        clips = sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        runs = []
        for p in clips:
            print(f"[data_speed] decoding {p.name} ...", flush=True)
            runs.append(measure_decode(p, args.repeats, args.size))
        record["real_decode"] = {
            "data_source": "real", "reader": "pyratok.data.video.read_frames", "root": str(root),
            "output_size": [args.size, args.size], "resize": "short side to size (PIL bicubic), centre crop",
            "statistic": f"median of {args.repeats} after one warm-up", "clips": runs}
    else:
        record["real_decode"] = {"data_source": "real", "unavailable": f"no real clips at {root}"}
    print(f"[data_speed] timing the synthetic generator at scale {args.scale} ...", flush=True)
    record["synthetic_generator"] = measure_generator(args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
