"""Build the checkpoints that ship with the package (:mod:`pyratok.checkpoints`).

    python -m benchmarks.tools.build_checkpoints                 # train stage 0 of TrainConfig.tiny(), package it
    python -m benchmarks.tools.build_checkpoints --from-run DIR  # package an existing run of that same command

What it does for ``tiny-wan-vae`` (about 30 min on one free CPU thread):
1. the training set: the synthetic WebVid-format train clips (:func:`~benchmarks.provisioning.training_data.
   default_training_data`, captions redacted) plus the 4 real training clips re-encoded at short side 80
   (:func:`~benchmarks.provisioning.training_data.ensure_stage0_data`), written under ``--work``;
2. ``python -m pyratok.train --config <work>/stage0.json --stage 0 --out <work>/run`` where ``stage0.json`` is
   ``{"base": "tiny", "data": {...}}`` — the stage-0 recipe of :meth:`pyratok.train.TrainConfig.tiny`, nothing
   overridden but the data paths;
3. copies ``run/stage0/final`` into ``pyratok/checkpoints/tiny-wan-vae/`` with ``training_log.jsonl`` (every
   validation row and every 50th training row of ``metrics.jsonl``) and ``PROVENANCE.json`` (command, resolved
   config, seed, data and code digests, versions, seconds) including ``measured``: the PSNR of the posterior-mean
   reconstruction of fixed clips — the first :data:`N_SYNTHETIC` held-out synthetic val clips and the 3 held-out
   real clips, 9-frame 64 x 64 centre clips, PSNR per frame on [0, 1] averaged over frames — and of a per-clip
   mean colour on the same clips. ``tests/test_shipped_checkpoints.py`` re-measures them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.base import realdata_root
from benchmarks.provisioning.digest import source_digest
from benchmarks.provisioning.training_data import (REAL_HELD_OUT_CLIPS, REAL_TRAIN_CLIPS, default_training_data,
                                                   ensure_stage0_data)
from benchmarks.records import portable
from benchmarks.tasks.reconstruction import frame_psnr

__all__ = ["measure_vae", "mean_colour", "data_digest", "N_SYNTHETIC", "VAE_CODE", "main"]

REPO = Path(__file__).resolve().parents[2]
NAME = "tiny-wan-vae"
N_SYNTHETIC = 16
LOG_EVERY = 50
# the code whose edit changes what stage 0 trains (its digest is recorded, not enforced: the weights stay valid
# for their recorded config, and the test re-measures them)
VAE_CODE = ("pyratok.train", "pyratok.backbones", "pyratok.data", "pyratok.image_quality")


def mean_colour(video: torch.Tensor) -> torch.Tensor:
    """The per-clip mean colour (one RGB value over all frames and pixels) of ``video`` (B, 3, T, H, W)."""
    return video.mean(dim=(2, 3, 4), keepdim=True).expand_as(video)


@torch.no_grad()
def measure_vae(vae, clips: list[tuple]) -> dict:
    """``{"psnr": [...], "mean_colour_psnr": [...], "files": [...]}`` over ``clips`` ((video, caption, path))."""
    vae.eval()
    out = {"psnr": [], "mean_colour_psnr": [], "files": []}
    for video, _, path in clips:
        v = video[None]
        recon = vae.decode(vae.encode(v).latent_dist.mode()).sample
        out["psnr"].append(frame_psnr(recon, v))          # the reconstruction benchmark's PSNR convention
        out["mean_colour_psnr"].append(frame_psnr(mean_colour(v), v))
        out["files"].append(str(path))
    return out


def _fixed_clips(syn_root: Path) -> dict[str, list[tuple]]:
    from benchmarks.tools.ci_gate import real_clips, synthetic_clips

    real, failed = real_clips(names=REAL_HELD_OUT_CLIPS)
    if failed:
        raise RuntimeError(f"held-out real clips could not be read: {failed}")
    return {"synthetic_val": synthetic_clips(syn_root)[:N_SYNTHETIC], "real_held_out": real}


def data_digest(csv: Path) -> str:
    """Content digest of a generic ``path, caption`` training CSV: over its rows in order, each row's file name,
    caption and the sha256 of the file's *decoded* frames — independent of where the files lie and of the encoder's
    bitstream choices (x264 may write the same lossless frames as different bytes)."""
    import csv as csv_mod

    from pyratok.data.video import read_frames

    frames: dict[str, str] = {}
    h = hashlib.sha256()
    with open(csv, newline="") as f:
        for row in csv_mod.DictReader(f):
            path = row["path"]
            if path not in frames:
                frames[path] = hashlib.sha256(read_frames(path).tobytes()).hexdigest()
            h.update(f"{Path(path).name}\0{row['caption']}\0{frames[path]}\n".encode())
    return h.hexdigest()


def _versions() -> dict:
    import diffusers

    return {"python": sys.version.split()[0], "torch": torch.__version__, "diffusers": diffusers.__version__}


def _git_sha() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _log_rows(metrics: Path) -> list[dict]:
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return [r for r in rows if any(k.startswith("val") for k in r) or r.get("step", 0) % LOG_EVERY == 0]


def _check_same_recipe(config_json: Path, run_config: Path) -> None:
    """A packaged run must be the recipe's: same model, stage-0 schedule and seed (data paths may differ)."""
    from pyratok.config_utils import from_dict
    from pyratok.train.config import TrainConfig, load_train_config

    want = load_train_config(config_json)
    got = from_dict(TrainConfig, json.loads(Path(run_config).read_text()))
    diffs = [k for k, a, b in (("model", want.model_config().to_dict(), got.model_config().to_dict()),
                               ("stage0", want.stage0, got.stage0), ("seed", want.seed, got.seed),
                               ("deterministic", want.deterministic, got.deterministic)) if a != b]
    if diffs:
        raise ValueError(f"{run_config}: not a run of {config_json} (differs in {', '.join(diffs)})")


def build(work: Path, from_run: Path | None = None, out_root: Path | None = None) -> Path:
    from diffusers import AutoencoderKLWan

    from pyratok.checkpoints import ROOT

    work, out_root = Path(work), Path(out_root or ROOT)
    syn = default_training_data()
    csv = ensure_stage0_data(work / "data", syn, realdata_root() / "videos")
    config = {"base": "tiny", "data": {"train_csv": str(csv), "video_root": "/",
                                       "val_csv": str(syn / "results_10M_val.csv"),
                                       "val_video_root": str(syn / "videos")}}
    (work / "stage0.json").write_text(json.dumps(config, indent=2) + "\n")
    run = Path(from_run) if from_run else work / "run"
    command = [sys.executable, "-m", "pyratok.train", "--config", str(work / "stage0.json"), "--stage", "0",
               "--out", str(run), "--no-progress"]
    if from_run is None:
        subprocess.run(command, check=True, cwd=REPO)
    else:
        _check_same_recipe(work / "stage0.json", run / "train_config.json")
    final = run / "stage0" / "final"
    dest = out_root / NAME
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "diffusion_pytorch_model.safetensors"):
        shutil.copy2(final / f, dest / f)
    log = _log_rows(run / "stage0" / "metrics.jsonl")
    seconds = round(log[-1]["time"] - log[0]["time"], 1) if len(log) > 1 else None
    (dest / "training_log.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in log))
    vae = AutoencoderKLWan.from_pretrained(str(dest))
    measured = {split: measure_vae(vae, clips) for split, clips in _fixed_clips(syn).items()}
    train_config = json.loads((run / "train_config.json").read_text())
    prov = {
        "name": NAME, "what": "tiny Wan 2.2-architecture VAE, stage 0 of TrainConfig.tiny()",
        "command": "python -m pyratok.train --config stage0.json --stage 0 --out run  "
                   "(stage0.json and the data: python -m benchmarks.tools.build_checkpoints)",
        "stage0_json": config, "train_config": train_config, "seed": train_config.get("seed"),
        "data": {"synthetic": syn.parent.parent.name, "stage0_data_digest": data_digest(Path(train_config["data"]["train_csv"])),
                 "stage0_data_digest_of": "benchmarks.tools.build_checkpoints.data_digest (file names, captions, "
                                          "decoded frames, in CSV order)",
                 "real_train_clips": list(REAL_TRAIN_CLIPS), "real_held_out_clips": list(REAL_HELD_OUT_CLIPS),
                 "coco_images": "never used for training"},
        "code": {"digest": source_digest(VAE_CODE), "sources": list(VAE_CODE), "git_sha": _git_sha()},
        "versions": _versions(), "train_seconds": seconds,
        "final_step": log[-1]["step"] if log else None,
        "measured": measured,
        "measured_protocol": "posterior-mean reconstruction; 9-frame 64x64 centre clips (short side resized, centre "
                             "crop); PSNR per frame on [0, 1], mean over frames; mean colour = one RGB value per clip",
    }
    text = json.dumps(portable(prov), indent=2, sort_keys=True) + "\n"
    scratch = ((run.resolve(), "<run>"), (Path(train_config["data"]["train_csv"]).resolve().parent, "<stage0-data>"),
               (work.resolve(), "<work>"))
    for folder, name in scratch:   # scratch folders: no machine paths
        text = text.replace(str(folder), name)
    (dest / "PROVENANCE.json").write_text(text)
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.build_checkpoints", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default=str(REPO / "runs" / "checkpoints"), help="data, config and run folder")
    p.add_argument("--from-run", help="package this finished run (of the same command) instead of training")
    p.add_argument("--out-root", help="where the checkpoint folders go (default: pyratok/checkpoints)")
    args = p.parse_args(argv)
    dest = build(Path(args.work), Path(args.from_run) if args.from_run else None,
                 Path(args.out_root) if args.out_root else None)
    prov = json.loads((dest / "PROVENANCE.json").read_text())
    for split, m in prov["measured"].items():
        n = len(m["psnr"])
        print(f"{split}: PSNR {sum(m['psnr']) / n:.2f} dB vs mean colour {sum(m['mean_colour_psnr']) / n:.2f} dB "
              f"({n} clips)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
