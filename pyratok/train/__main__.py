"""Command line of the trainer.

    python -m pyratok.train --config tiny|paper|PATH [--stage 0|1|2|3] [--resume] --out DIR \\
        [--data CSV --video-root DIR] [--val-data CSV] [--steps N] [--init DIR]

Without ``--stage`` every stage runs in order (tiny: 0-3; a config with a pretrained VAE: 1-3). ``--data`` /
``--video-root`` / ``--val-data`` override ``data.train_csv`` / ``data.video_root`` / ``data.val_csv``;
``--steps`` overrides the steps of the selected stage(s). Multi-GPU: launch the same command with ``torchrun``.

The paper run needs the local Wan 2.2 VAE (and optionally Qwen2.5-VL and DINOv3) directories, e.g. ``paper.json``
(the drift / frame-retention reference is a model setting; without it the un-adapted VAE encoder is the reference)::

    {"base": "paper",
     "model_overrides": {"backbone": {"pretrained_path": "/models/Wan2.2-TI2V-5B-Diffusers/vae"},
                         "reference": {"kind": "hf", "path": "/models/dinov3-vitb16"}},
     "data": {"train_csv": "/data/webvid/results_10M_train.csv", "video_root": "/data/webvid/videos"}}

    torchrun --nproc_per_node 8 -m pyratok.train --config paper.json --out runs/paper
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from ..config_utils import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pyratok.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="tiny | paper | path to a TrainConfig JSON")
    p.add_argument("--stage", type=int, choices=[0, 1, 2, 3], action="append",
                   help="stage to run (repeatable); default: all stages of the config")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoints in --out")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data", help="training CSV (WebVid results_10M_train.csv, OpenVid-1M.csv, or path,caption)")
    p.add_argument("--video-root", help="folder the CSV's video paths are relative to")
    p.add_argument("--val-data", help="validation CSV (same format and video root)")
    p.add_argument("--steps", type=int, help="optimizer steps for each selected stage")
    p.add_argument("--init", help="weights to start the first selected stage from (stage 1: a VAE directory)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar (logs still go to metrics.jsonl)")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from .config import load_train_config
    from .pipeline import run_training

    try:
        cfg = load_train_config(args.config)
        if args.data:
            cfg.data.train_csv = args.data
        if args.video_root:
            cfg.data.video_root = args.video_root
        if args.val_data:
            cfg.data.val_csv = args.val_data
        summaries = run_training(cfg, args.out, stages=sorted(set(args.stage)) if args.stage else None,
                                 resume=args.resume, steps=args.steps, init=args.init,
                                 progress=not args.no_progress)
    except (ConfigError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        from .distributed import cleanup
        cleanup()
    print(json.dumps(summaries, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
