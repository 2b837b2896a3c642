"""Evidence for the tiny configuration: ``results/train/tiny.md`` and ``results/train/tiny.json``.

    python -m benchmarks.tools.tiny_report [--seeds 0,1,2] [--out results/train]

For each seed, the tiny PyraTok is trained (once, cached like every trained-here artifact) by the recipe of every
trained-here variant
(:func:`benchmarks.provisioning.recipes.variant_config`: stages 1-3 on the tiny VAE shipped in
:mod:`pyratok.checkpoints`, on the synthetic WebVid-format set with redacted captions; seed 0 is the very recipe
of the benchmarks' ``pyratok-tiny``), then measured on data it never trained on:

* reconstruction PSNR / SSIM (9-frame 64 x 64 centre clips; PSNR per frame on [0, 1], mean over frames and clips)
  of the tiny VAE (one seed: the shipped one), the tiny PyraTok and a per-clip mean colour, on three splits:
  the 64 held-out synthetic val clips, the 79 real COCO sample images (one frame each, short side 64, centre crop)
  and the 3 held-out real sample clips (``REAL_HELD_OUT_CLIPS``);
* drop-one-level PSNR (a level's codes replaced by their per-clip mean code, :func:`pyratok.analysis.
  drop_level_psnr`) and the bit agreement of adjacent levels after resizing (:func:`pyratok.analysis.
  agreement_of_encoding`), on the synthetic val split; 0.5 is what independent levels give;
* the text space on the synthetic val clips and their (redacted) captions (:func:`pyratok.text.space.
  measure_text_space`): mean cosine between different captions' code-space embeddings vs the frozen MiniLM's, and
  caption -> clip retrieval top-1 vs chance 1/N;
* held-out L_AR per visual token (:func:`pyratok.train.evaluate.evaluate_ar_nll`) vs the uniform 16 ln 2;
* the token grid of every level and the bits per pixel at 17 x 64 x 64, 16 x 128 x 128 and 17 x 256 x 256.

Every number is measured here on CPU on synthetic or real *sample* data, and labelled so.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

import torch

from benchmarks.records import portable

__all__ = ["SEEDS", "evaluation_splits", "coco_clips", "main"]

SEEDS = (0, 1, 2)
GRID_SHAPES = ((17, 64, 64), (16, 128, 128), (17, 256, 256))


def coco_clips(size: int = 64) -> list[tuple]:
    """(image as a 1-frame clip (3, 1, size, size) in [-1, 1], caption, path) for the real COCO sample images."""
    from benchmarks.base import realdata_root
    from benchmarks.datasets.coco import CocoDataset
    from pyratok.data.video import frames_to_tensor

    root = realdata_root() / "coco-mini"
    if not (root / "annotations" / "captions_val2017.json").is_file():
        return []
    ds = CocoDataset(str(root), "val2017", instances=False, check_files=False)
    return [(frames_to_tensor(im.load_frames(size=size, crop="center")), "", str(im.path)) for im in ds]


def evaluation_splits(data_root: Path) -> dict[str, list[tuple]]:
    from benchmarks.tools.ci_gate import real_clips, synthetic_clips

    real, _ = real_clips()
    return {"synthetic_val": synthetic_clips(data_root), "coco_sample": coco_clips(), "real_held_out": real}


def _batches(clips: list[tuple], size: int = 4):
    for i in range(0, len(clips), size):
        chunk = clips[i:i + size]
        yield {"video": torch.stack([c[0] for c in chunk]), "texts": [c[1] for c in chunk]}


@torch.no_grad()
def _quality(reconstruct, clips: list[tuple]) -> dict:
    """PSNR (per frame, mean) / SSIM of ``reconstruct(video, texts)`` over ``clips``, with a 95 % bootstrap CI."""
    from benchmarks.metrics.uncertainty import bootstrap_ci
    from benchmarks.tasks.reconstruction import frame_psnr
    from pyratok.train.evaluate import clip_psnr_ssim

    psnr, ssim = [], []
    for b in _batches(clips):
        rec = reconstruct(b["video"], b["texts"]).clamp(-1, 1)
        _, s = clip_psnr_ssim(rec, b["video"])
        psnr += [frame_psnr(rec[i:i + 1], b["video"][i:i + 1]) for i in range(len(rec))]
        ssim += s.tolist()
    ci = bootstrap_ci(psnr)
    return {"psnr": statistics.fmean(psnr), "psnr_ci95": [ci.lo, ci.hi], "ssim": statistics.fmean(ssim),
            "n": len(psnr)}


def _mean_colour(video, texts):
    from benchmarks.tools.build_checkpoints import mean_colour

    return mean_colour(video)


def _vae_reconstruct(vae):
    return lambda video, texts: vae.decode(vae.encode(video).latent_dist.mode()).sample


def _pyratok_reconstruct(model):
    return lambda video, texts: model.decode(model.encode(video, texts))


def _levels(model, clips: list[tuple]) -> dict:
    from pyratok.analysis import agreement_of_encoding, drop_level_psnr

    drops, agree = [], []
    for b in _batches(clips):
        drops.append(drop_level_psnr(model, b["video"], b["texts"]).to_dict())
        with torch.no_grad():
            agree.append(agreement_of_encoding(model.encode(b["video"], b["texts"]), model.num_bits))
    n = len(drops)
    return {"full_psnr": statistics.fmean(d["full_psnr"] for d in drops),
            "dropped_psnr": [statistics.fmean(d["dropped_psnr"][l] for d in drops) for l in range(len(drops[0]["dropped_psnr"]))],
            "adjacent_agreement": [statistics.fmean(a[l] for a in agree) for l in range(len(agree[0]))],
            "independent_levels_agreement": 0.5, "n_batches": n}


def _grids(config) -> list[dict]:
    """Token grid per level and bits per pixel of the PyraTok ``config`` at :data:`GRID_SHAPES`."""
    out = []
    for t, h, w in GRID_SHAPES:
        grids = config.token_grids(t, h, w)
        out.append({"clip": [t, h, w], "grids": [list(g) for g in grids], "tokens": sum(math.prod(g) for g in grids),
                    "bpp": config.bits_per_pixel(t, h, w)})
    return out


def _train(seed: int) -> tuple[Path, float]:
    """The tiny PyraTok of ``seed``: the provisioning artifact ``pyratok-tiny`` (seed 0 is the benchmarks' own)."""
    from benchmarks.provisioning.pyratok_variants import train_tiny_variant

    final = train_tiny_variant("pyratok-tiny", {}, seed=seed)
    done = final.parents[2] / "DONE.json"   # <artifact>/work/stage3/final: the build's own timing
    return final, float(json.loads(done.read_text()).get("seconds") or 0.0) if done.is_file() else float("nan")


def _summary(per_seed: list[dict], key) -> dict:
    vals = [key(r) for r in per_seed]
    return {"mean": statistics.fmean(vals), "min": min(vals), "max": max(vals),
            "std": statistics.stdev(vals) if len(vals) > 1 else 0.0, "n_seeds": len(vals)}


def measure(seeds, data_root: Path) -> dict:
    from diffusers import AutoencoderKLWan

    from pyratok.checkpoints import checkpoint_dir, provenance
    from pyratok.model import PyraTok
    from pyratok.text.space import measure_text_space
    from pyratok.train.evaluate import evaluate_ar_nll

    vae_dir = checkpoint_dir("tiny-wan-vae")
    vae = AutoencoderKLWan.from_pretrained(str(vae_dir)).eval()
    splits = evaluation_splits(data_root)
    refs = {s: {"mean_colour": _quality(_mean_colour, c), "tiny_vae": _quality(_vae_reconstruct(vae), c)}
            for s, c in splits.items() if c}
    per_seed = []
    for seed in seeds:
        final, seconds = _train(seed)
        model = PyraTok.from_pretrained(final).eval()
        syn = splits["synthetic_val"]
        row = {"seed": seed, "train_seconds": round(seconds, 1),
               "pyratok": {s: _quality(_pyratok_reconstruct(model), c) for s, c in splits.items() if c},
               "levels": _levels(model, syn),
               "text_space": measure_text_space(model, _batches(syn)),
               "ar": evaluate_ar_nll(model, _batches(syn))}
        per_seed.append(row)
    model_grids = _grids(model.config)
    spread = {s: _summary(per_seed, lambda r, s=s: r["pyratok"][s]["psnr"]) for s in refs}
    return {"what": "tiny PyraTok measured on held-out synthetic and real sample data (CPU)", "seeds": list(seeds),
            "vae": {"checkpoint": "tiny-wan-vae", "provenance_measured": provenance("tiny-wan-vae")["measured"],
                    "train_seconds": provenance("tiny-wan-vae")["train_seconds"], "seeds": 1},
            "references": refs, "per_seed": per_seed, "pyratok_psnr_over_seeds": spread, "grids": model_grids,
            "uniform_nats_per_token": 16 * math.log(2)}


def render(report: dict) -> str:
    refs, rows = report["references"], report["per_seed"]
    names = {"synthetic_val": "synthetic val (64 clips)", "coco_sample": "COCO sample (79 real images)",
             "real_held_out": "real held-out clips (3)"}
    L = ["# Tiny PyraTok: what the trained-here model does (measured here, CPU)", "",
         "Generated by `python -m benchmarks.tools.tiny_report`; the numbers are also in `tiny.json`. Every split is "
         "data the model never trained on: *synthetic* = the held-out val clips of the synthetic WebVid-format set "
         "(benchmarks.synthetic, seed 0); *COCO sample* = the 79 real COCO val2017 images of ../shared/realdata "
         "(one frame each); *real held-out* = 3 real sample clips no trained-here model trains on. PSNR is per "
         "frame on [0, 1], mean over frames and clips, with a 95 % bootstrap interval over clips; 9-frame 64 x 64 "
         "centre clips.", "",
         f"Seeds {report['seeds']}: the tiny PyraTok (stages 1-3 of `variant_config`) per seed; the tiny VAE is one "
         "seed (the shipped `pyratok/checkpoints/tiny-wan-vae`, trained once: "
         f"{report['vae']['train_seconds']:.0f} s on one CPU thread).", "",
         "## Reconstruction", "",
         "| split | mean colour (reference) | tiny VAE (stage 0) | tiny PyraTok, mean over seeds [min, max] | "
         "PyraTok - mean colour | VAE - mean colour |", "|---|---|---|---|---|---|"]
    for s, r in refs.items():
        sp = report["pyratok_psnr_over_seeds"][s]
        mc, va = r["mean_colour"]["psnr"], r["tiny_vae"]["psnr"]
        L.append(f"| {names[s]} | {mc:.2f} dB (SSIM {r['mean_colour']['ssim']:.3f}) | {va:.2f} dB "
                 f"[{r['tiny_vae']['psnr_ci95'][0]:.2f}, {r['tiny_vae']['psnr_ci95'][1]:.2f}] (SSIM "
                 f"{r['tiny_vae']['ssim']:.3f}) | {sp['mean']:.2f} dB [{sp['min']:.2f}, {sp['max']:.2f}] | "
                 f"{sp['mean'] - mc:+.2f} dB | {va - mc:+.2f} dB |")
    L += ["", "Per seed (PSNR dB / SSIM):", "", "| seed | " + " | ".join(names[s] for s in refs) + " | train s |",
          "|---" * (len(refs) + 2) + "|"]
    for r in rows:
        L.append(f"| {r['seed']} | " + " | ".join(f"{r['pyratok'][s]['psnr']:.2f} / {r['pyratok'][s]['ssim']:.3f}"
                                                  for s in refs) + f" | {r['train_seconds']:.0f} |")
    L += ["", "## Do the levels carry different information? (synthetic val)", "",
          "Drop-one-level: PSNR when one level's codes are replaced by their per-clip mean code. Agreement: fraction "
          "of equal bits between level l and level l+1 after resizing level l to level l+1's grid (0.5 = unrelated).",
          "", "| seed | full | drop level 1 | drop 2 | drop 3 | drop 4 | agreement 1-2 | 2-3 | 3-4 |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lv = r["levels"]
        L.append(f"| {r['seed']} | {lv['full_psnr']:.2f} | " + " | ".join(f"{d:.2f}" for d in lv["dropped_psnr"]) +
                 " | " + " | ".join(f"{a:.3f}" for a in lv["adjacent_agreement"]) + " |")
    L += ["", "## Text space and L_AR (synthetic val clips, redacted captions)", "",
          "| seed | code-space cosine between captions | frozen MiniLM cosine | retrieval top-1 | chance | "
          "held-out L_AR (nats/token) | uniform |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        t, a = r["text_space"], r["ar"]
        L.append(f"| {r['seed']} | {t['code_cosine']:.3f} | {t['text_encoder_cosine']:.3f} | "
                 f"{t['retrieval_top1']:.3f} | {t['chance']:.3f} | {a['nll']:.2f} | {a['uniform']:.2f} |")
    L += ["", "## Token grids (pyramid) and bits per pixel", "", "| clip (T x H x W) | per-level grids (t, h, w) | "
          "tokens | bpp |", "|---|---|---|---|"]
    for g in report["grids"]:
        L.append(f"| {' x '.join(map(str, g['clip']))} | {', '.join('x'.join(map(str, x)) for x in g['grids'])} | "
                 f"{g['tokens']} | {g['bpp']:.4f} |")
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    from benchmarks.provisioning.training_data import default_training_data

    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.tiny_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/train")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = measure([int(s) for s in args.seeds.split(",")], default_training_data())
    (out / "tiny.json").write_text(json.dumps(portable(report), indent=2, sort_keys=True, default=float) + "\n")
    (out / "tiny.md").write_text(render(report))
    print((out / "tiny.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
