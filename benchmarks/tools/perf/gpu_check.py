"""The GPU check, ready for whenever a GPU machine is lent: one short script -> ``results/perf/gpu.json``.

    python -m benchmarks.tools.perf.gpu_check                    # on a GPU: paper config, bf16 (~2-4 min on an H100)
    python -m benchmarks.tools.perf.gpu_check --config tiny --frames 9 --size 64 --out /tmp/gpu.json   # CPU smoke test

For the chosen PyraTok configuration with random weights (timing does not depend on them):

* encode + decode latency at 25 x 256 x 256, batch 1 (the paper's Table 1 setting; it reports 492 ms for PyraTok
  and 449 ms for Wan 2.2 on a V100), bf16 autocast on CUDA, median of ``--repeats`` after one warm-up;
* peak GPU memory of encode + decode (``torch.cuda.max_memory_allocated``);
* the LaPQ + LFQ share of encode time relative to the backbone encode (goal <= 10 %, :mod:`.model_speed`);
* Wan 2.2 alone (the backbone's VAE encode of the posterior mean + decode), the same clip;
* a tiled 2160p (3840 x 2160, 17 frames) encode + decode of the Wan 2.2 VAE alone with diffusers' tiling, on CUDA;
  PyraTok's own encode is untiled (``WanBackbone._untiled``), so its 2160p cell is reported unavailable with that
  reason.

The record names the device; on a machine without CUDA it says the numbers are CPU numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from benchmarks.tools.perf.model_speed import measure as measure_pyratok
from benchmarks.tools.perf.timing import median_time

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "results" / "perf" / "gpu.json"


def _sync(device: str):
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def _vae_alone(model, device: str, frames: int, size: int, repeats: int) -> dict:
    vae = model.backbone.vae
    video = torch.rand(1, 3, frames, size, size, device=device) * 2 - 1
    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda")
    with torch.no_grad(), autocast:
        t_enc = median_time(lambda: vae.encode(video).latent_dist.mode(), repeats, _sync(device))[0]
        z = vae.encode(video).latent_dist.mode()
        t_dec = median_time(lambda: vae.decode(z).sample, repeats, _sync(device))[0]
    return {"encode_s": t_enc, "decode_s": t_dec, "encode_decode_s": t_enc + t_dec, "input": [1, 3, frames, size, size]}


def _tiled_2160p(model, device: str) -> dict:
    if device != "cuda":
        return {"value": None, "note": "not run: a tiled 2160p clip is a GPU measurement"}
    vae = model.backbone.vae
    vae.enable_tiling()
    try:
        video = torch.rand(1, 3, 17, 2160, 3840, device=device) * 2 - 1
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            recon = vae.decode(vae.encode(video).latent_dist.mode()).sample
        torch.cuda.synchronize()
        return {"encode_decode_s": time.perf_counter() - t0, "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
                "input": [1, 3, 17, 2160, 3840], "output": list(recon.shape), "tiling": "diffusers AutoencoderKLWan"}
    except torch.cuda.OutOfMemoryError as err:
        return {"value": None, "note": f"out of memory: {err}"}
    finally:
        vae.disable_tiling()


def run_check(config: str, frames: int, size: int, repeats: int) -> dict:
    from pyratok.model import PyraTok, PyraTokConfig

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    pyratok = measure_pyratok(config, device, repeats, frames, size)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    model = PyraTok(PyraTokConfig.tiny() if config == "tiny" else PyraTokConfig.paper()).eval().to(device)
    return {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else f"cpu ({platform.processor() or platform.machine()})",
        "device_kind": device, "config": config, "weights": "random init (timing only)",
        "pyratok": {**pyratok, "encode_decode_s": pyratok["encode_s"] + pyratok["decode_s"], "peak_memory_gib": peak},
        "wan22_alone": _vae_alone(model, device, frames, size, repeats),
        "wan22_tiled_2160p": _tiled_2160p(model, device),
        "pyratok_tiled_2160p": {"value": None, "note": "unavailable: PyraTok's encode is untiled (WanBackbone._untiled)"},
        "paper_reference_ms": {"pyratok": 492, "wan2.2": 449, "device": "V100, 25 x 256 x 256 (paper Table 1)"},
        "goal_lapq_lfq_share_max": 0.10,
        "seconds": time.perf_counter() - t0, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.perf.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="paper", choices=["paper", "tiny"])
    p.add_argument("--frames", type=int, default=25)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    record = run_check(args.config, args.frames, args.size, args.repeats)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
