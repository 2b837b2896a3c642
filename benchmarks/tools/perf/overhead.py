"""Harness overhead and reader throughput -> ``results/perf/runner.json`` (keys ``d_harness_overhead``,
``e_decode_fraction``).

    python -m benchmarks.tools.perf.overhead [--tokenizer pyratok-tiny:init=random] [--benchmark webvid-recon]

(d) **Harness overhead** on a reconstruction benchmark over the 64 val clips of the trained-here WebVid-format set:
    the wall time of ``benchmarks.run`` (inline engine, one process, empty shard cache, everything else warmed) against the summed ``reconstruct`` time of the tokenizer
    alone on the very clips of that run (loaded beforehand, so reading is not counted). Overhead = run wall / tokenizer
    time - 1; goal <= 10 %. What the difference holds: reading and decoding the clips, the metrics (PSNR, SSIM),
    thumbnails, the record and table writing.
(e) **Reader throughput**: frames per second of the benchmark's clip reader (``WebVidSample.load_clip``: decode,
    resize, centre crop) and of :func:`pyratok.data.video.read_frames` (decode only) as a fraction of raw PyAV
    decoding of the same files (``container.decode`` -> ``to_ndarray("rgb24")``, every frame); goal >= 80 %.

``pyratok-tiny:init=random`` has the trained tiny model's architecture and cost without needing it trained.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "results" / "perf" / "runner.json"


def _data_root() -> Path:
    """The trained-here WebVid-format set (64 val clips): enough clips that per-run fixed costs are amortised as in
    a real run (the benchmarks' own synthetic WebVid set has 4)."""
    from benchmarks.provisioning.training_data import default_training_data

    return default_training_data()


def _benchmark_clips(bname: str):
    from benchmarks.provisioning.training_data import ensure_synthetic
    from benchmarks.registry import build_benchmark

    b = build_benchmark(bname)
    src = b.locate(_data_root(), ensure_synthetic([b.dataset]))
    items = [it for sh in b.shards(src) for it in sh.items]
    return b, src, items


def harness_overhead(tokenizer: str, bname: str, scratch: Path, repeats: int = 3) -> dict:
    import torch

    from adapters.registry import build_tokenizer, resolve_tokenizer
    from benchmarks.runner import RunConfig, run
    from benchmarks.tasks.clips import conform

    b, src, items = _benchmark_clips(bname)
    name, _, options = resolve_tokenizer(tokenizer)
    tok = build_tokenizer(name, **options)
    clips = [b._load(src, it) for it in items]
    use_text = b.protocol.get("use_text", True)
    conformed = [(conform(v, tok.input_constraints)[0], t) for v, t, _ in clips]
    alone = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with torch.no_grad():
            for clip, text in conformed:
                tok.reconstruct(clip, [text] if use_text else None)
        alone.append(time.perf_counter() - t0)
    walls = []
    for r in range(repeats):
        cfg = RunConfig(benchmarks=[bname], tokenizers=[tokenizer], engine="inline", data_root=str(_data_root()),
                        out=str(scratch / f"o{r}"),
                        cache_dir=str(scratch / f"c{r}"), progress=False, log=lambda m: None)
        t0 = time.perf_counter()
        run(cfg)
        walls.append(time.perf_counter() - t0)
    a, w = min(alone), min(walls)
    return {"benchmark": bname, "tokenizer": tokenizer, "clips": len(clips), "tokenizer_alone_s": round(a, 3),
            "run_wall_s": round(w, 3), "overhead": round(w / a - 1, 4), "goal": "<= 0.10",
            "repeats": repeats, "statistic": "min over repeats", "threads": torch.get_num_threads(),
            "note": "run wall includes tokenizer construction, reading + decoding, metrics, records and tables"}


def _raw_pyav(path: str) -> int:
    import av

    n = 0
    with av.open(path) as c:
        for frame in c.decode(video=0):
            frame.to_ndarray(format="rgb24")
            n += 1
    return n


def decode_fraction(bname: str = "webvid-recon", repeats: int = 3) -> dict:
    from pyratok.data.video import read_frames

    b, src, items = _benchmark_clips(bname)
    paths = [str(b._index[it].video_path) if hasattr(b, "_index") else None for it in items]
    if any(p is None for p in paths):
        b._load(src, items[0])
        paths = [str(b._index[it].video_path) for it in items]

    def rate(fn) -> float:
        best = 0.0
        for _ in range(repeats):
            t0 = time.perf_counter()
            n = sum(fn(p, it) for p, it in zip(paths, items))
            best = max(best, n / (time.perf_counter() - t0))
        return best

    raw = rate(lambda p, it: _raw_pyav(p))
    reader = rate(lambda p, it: len(read_frames(p)))
    proto = b.protocol
    loader = rate(lambda p, it: len(b._index[it].load_clip(proto["frames"], proto["stride"], proto["clip"],
                                                            size=proto["size"], crop="center")))
    return {"benchmark": bname, "files": len(paths), "raw_pyav_fps": round(raw, 1),
            "read_frames_fps": round(reader, 1), "read_frames_fraction": round(reader / raw, 3),
            "benchmark_loader_fps": round(loader, 1), "benchmark_loader_fraction": round(loader / raw, 3),
            "goal": ">= 0.80", "statistic": "best of repeats",
            "note": "the benchmark loader decodes only the frames of its clip (a 17-frame centre clip of each "
                    "video) and resizes them; fps counts the frames it returns"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.perf.overhead", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", default="pyratok-tiny:init=random")
    p.add_argument("--benchmark", default="webvid-recon")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    scratch = Path(tempfile.mkdtemp(prefix="pyratok-overhead-"))
    try:
        res = {"d_harness_overhead": harness_overhead(args.tokenizer, args.benchmark, scratch),
               "e_decode_fraction": decode_fraction(args.benchmark),
               "de_loadavg": os.getloadavg(), "de_created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.is_file() else {}
    data.update(res)
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
