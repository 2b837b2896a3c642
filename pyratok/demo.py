"""Tokenize a real clip with PyraTok and decode it back.

    python -m pyratok.demo [--video PATH] [--checkpoint DIR] [--frames 17] [--size 64] [--out demo_out]

Reads ``--video`` (default: the real Kinetics clip of ../shared/realdata), samples ``--frames`` consecutive frames
(T = 1 + 4k), resizes/crops to ``--size``, encodes to tokens per level, decodes, and writes a side-by-side PNG of
input and reconstruction plus a JSON record with token counts and PSNR/SSIM. Without ``--checkpoint`` the tiny
configuration is built with random weights: the record says so, and its PSNR is that of an untrained model.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .data.video import frames_to_tensor, probe_video, read_frames, sample_indices, tensor_to_frames
from .image_quality import psnr, ssim, video_to_frames
from .model import PyraTok, PyraTokConfig

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "videos" / "kinetics_arm_wrestling.mp4"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--caption", default="two people arm wrestling at a table")
    ap.add_argument("--checkpoint", type=Path, default=None, help="PyraTok checkpoint directory (save_pretrained)")
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("demo_out"))
    args = ap.parse_args(argv)
    torch.manual_seed(0)

    if not args.video.is_file():
        raise SystemExit(f"video not found: {args.video}")
    info = probe_video(args.video)
    idx = sample_indices(info.num_frames, args.frames, mode="center")
    frames = read_frames(args.video, idx, size=args.size, crop="center")
    video = frames_to_tensor(frames)[None]

    if args.checkpoint:
        model, provenance = PyraTok.from_pretrained(args.checkpoint), f"checkpoint {args.checkpoint}"
    else:
        model, provenance = PyraTok(PyraTokConfig.tiny()).eval(), "tiny config, random init (untrained)"
    t0 = time.perf_counter()
    enc = model.encode(video, [args.caption])
    t1 = time.perf_counter()
    recon = model.decode(enc)
    t2 = time.perf_counter()

    x01, r01 = (video + 1) / 2, (recon + 1) / 2
    record = {
        "video": str(args.video), "data": "real sample", "model": provenance,
        "input_shape": list(video.shape), "tokens_per_level": [list(ix.shape[1:]) for ix in enc.indices],
        "num_tokens": enc.num_tokens, "bits_per_token": model.num_bits,
        "psnr_db": round(float(psnr(r01, x01)), 3),
        "ssim": round(float(ssim(video_to_frames(r01), video_to_frames(x01))), 4),
        "encode_s": round(t1 - t0, 3), "decode_s": round(t2 - t1, 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    top = np.concatenate(list(frames[:: max(1, args.frames // 4)][:5]), axis=1)
    rec_frames = tensor_to_frames(recon[0])
    bottom = np.concatenate(list(rec_frames[:: max(1, args.frames // 4)][:5]), axis=1)
    from PIL import Image
    Image.fromarray(np.concatenate([top, bottom], axis=0)).save(args.out / "reconstruction.png")
    (args.out / "record.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
