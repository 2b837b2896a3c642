"""Encode/decode latency of PyraTok and the LaPQ + LFQ share of encode time -> results/perf/model.json.

    python -m benchmarks.tools.perf.model_speed [--configs tiny,paper] [--repeats 3] [--out results/perf/model.json]

For each configuration, on this machine's CPU (and on CUDA in bf16 when a GPU is present):
* backbone-only encode (Wan encoder pyramid + posterior), full PyraTok encode (backbone + text + LaPQ + LFQ),
  decode (tokens -> latent -> Wan decoder), for a 17 x 256 x 256 clip, batch 1; median of ``--repeats`` runs after
  one warm-up;
* the LaPQ + LFQ share: (encode - backbone - text) / backbone;
* peak memory of the LFQ entropy terms at 1x, 4x, 16x tokens (from :mod:`benchmarks.tools.perf.lfq_entropy`).
Weights are random (timing does not depend on them); the record says so.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from benchmarks.tools.perf.timing import median_time
from pyratok.model import PyraTok, PyraTokConfig


def _time(fn, repeats: int, sync) -> float:
    return median_time(fn, repeats, sync)[0]


def measure(config_name: str, device: str, repeats: int, frames: int = 17, size: int = 256) -> dict:
    cfg = PyraTokConfig.tiny() if config_name == "tiny" else PyraTokConfig.paper()
    model = PyraTok(cfg).eval().to(device)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    video = torch.rand(1, 3, frames, size, size, device=device) * 2 - 1
    texts = ["a person rides a bicycle along a road next to parked cars"]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    autocast = torch.autocast(device_type=device, dtype=dtype, enabled=device == "cuda")
    with torch.no_grad(), autocast:
        text = model.embed_text(texts)
        t_text = _time(lambda: model.embed_text(texts), repeats, sync)
        t_backbone = _time(lambda: model.backbone.encode_pyramid(video), repeats, sync)
        pyr = model.backbone.encode_pyramid(video)
        t_lapq = _time(lambda: model.lapq(pyr.features, pyr.posterior.mean, text, tuple(video.shape[2:])),
                       repeats, sync)
        t_encode = _time(lambda: model.encode(video, texts), repeats, sync)
        enc = model.encode(video, texts)
        t_decode = _time(lambda: model.decode(enc), repeats, sync)
    n_params = sum(p.numel() for p in model.parameters())
    n_text = sum(p.numel() for p in model.text_encoder.parameters())
    return {
        "config": config_name, "device": device, "dtype": str(dtype).replace("torch.", ""),
        "weights": "random init (timing only)", "input": [1, 3, frames, size, size],
        "tokens": enc.num_tokens, "token_grids": [list(ix.shape[1:]) for ix in enc.indices],
        "params_total": n_params, "params_without_text_encoder": n_params - n_text,
        "encode_s": t_encode, "decode_s": t_decode, "backbone_encode_s": t_backbone,
        "text_encode_s": t_text, "lapq_lfq_s": t_lapq,
        "lapq_lfq_share_of_backbone": t_lapq / t_backbone,
        "goal_lapq_lfq_share_max": 0.10 if config_name == "paper" else None,
        "repeats": repeats, "statistic": "median after one warm-up",
        "load_average_after": os.getloadavg()[0],
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="tiny,paper")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paper-cpu-repeats", type=int, default=1,
                    help="repeats for the paper config on CPU (one 17x256x256 decode takes minutes there)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--out", type=Path, default=Path("results/perf/model.json"))
    ap.add_argument("--skip-entropy", action="store_true")
    args = ap.parse_args(argv)
    record = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "runs": [],
    }
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for name in args.configs.split(","):
            print(f"[model_speed] {name} on {device} ...", flush=True)
            reps = args.paper_cpu_repeats if (name == "paper" and device == "cpu") else args.repeats
            record["runs"].append(measure(name, device, reps, args.frames, args.size))
    if not torch.cuda.is_available():
        record["gpu"] = "not measured: no GPU on this machine (the device tool lent none to this task)"
    if not args.skip_entropy:
        from benchmarks.tools.perf.lfq_entropy import measure_entropy
        record["entropy_memory"] = [measure_entropy(7168 * m, 16, "pyratok") for m in (1, 4, 16)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
