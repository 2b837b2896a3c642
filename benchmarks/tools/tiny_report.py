"""Evidence for the tiny configuration: learning curves and final quality of PyraTok and two ablations.

    python -m benchmarks.tools.tiny_report [--work results/ci/work/tiny_report] [--out results/train] [--vae DIR]

Trains on the CI gate's synthetic WebVid-format set (``benchmarks.provisioning.training_data.ensure_gate_data``), with the gate's budget:
stage 0 once (the tiny VAE, shared by every variant, as the frozen Wan 2.2 VAE is in the paper), then stage 1 and
stage 2 of ``TrainConfig.tiny()`` (stage 2 shortened as in the gate) for

* ``PyraTok``  — the tiny configuration (4 Q-blocks, LaPQ);
* ``w/o LaPQ`` — ``lapq.mode = "single"`` (one LFQ on the final latent, Table 6's ablation);
* ``2 blocks`` — ``lapq.num_levels = 2`` (Table 6's block-count ablation).

Writes ``tiny.md`` (table: PSNR / SSIM on the held-out synthetic split and the real sample clips, codebook
utilisation per level on the synthetic split, steps, seconds) and ``curves.png`` (training loss, train PSNR,
validation PSNR per step). All numbers are measured here on synthetic or real *sample* data and labelled so.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

VARIANTS = {"PyraTok": {}, "w/o LaPQ": {"lapq": {"mode": "single"}}, "2 blocks": {"lapq": {"num_levels": 2}}}


def _utilisation(model, clips, batch_size: int = 4) -> dict:
    """Fraction of the 2^K codes used by the held-out clips, per level (pooled over all clips)."""
    from pyratok.lfq import CodebookUsage

    usage = [CodebookUsage(model.num_bits) for _ in range(model.lapq.num_levels)]
    model.eval()
    with torch.no_grad():
        for i in range(0, len(clips), batch_size):
            chunk = clips[i:i + batch_size]
            enc = model.encode(torch.stack([c[0] for c in chunk]), [c[1] for c in chunk])
            for u, ix in zip(usage, enc.indices):
                u.update(ix)
    return {f"level{l + 1}": u.utilization for l, u in enumerate(usage)}


def trivial_baselines(clips) -> dict:
    """PSNR/SSIM of two codec-free references: every pixel = the clip's mean colour, and 16x16 average pooling
    (one value per latent cell of the tiny VAE) upsampled by repetition."""
    import torch.nn.functional as F

    from pyratok.train.evaluate import clip_psnr_ssim

    v = torch.stack([c[0] for c in clips])
    b, c, t, h, w = v.shape
    mean = v.mean(dim=(2, 3, 4), keepdim=True).expand_as(v)
    x = v.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    pool = F.interpolate(F.avg_pool2d(x, 16), scale_factor=16, mode="nearest")
    pool = pool.view(b, t, c, h, w).permute(0, 2, 1, 3, 4)
    out = {}
    for name, rec in (("per-clip mean colour", mean), ("16x16 average pooling", pool)):
        p_, s_ = clip_psnr_ssim(rec, v)
        out[name] = {"psnr": float(p_.mean()), "ssim": float(s_.mean())}
    return out


def main(argv=None) -> int:
    from benchmarks.tools.ci_gate import ensure_data, evaluate_model, gate_config, real_clips, synthetic_clips
    from pyratok.model import PyraTok
    from pyratok.train.metrics_log import read_metrics
    from pyratok.train.pipeline import run_training

    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.tiny_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="results/ci/work/tiny_report", help="scratch folder (git-ignored)")
    p.add_argument("--out", default="results/train")
    p.add_argument("--vae", help="reuse a finished stage-0 directory (e.g. results/ci/work/run/stage0/final)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    work, out = Path(args.work), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_root = ensure_data(work)
    t0 = time.time()
    vae = Path(args.vae) if args.vae else None
    if vae is None:
        base = work / "stage0"
        if not (base / "stage0" / "final").is_dir():
            run_training(gate_config(data_root), base, stages=[0], resume=True, progress=False)
        vae = base / "stage0" / "final"
    syn = synthetic_clips(data_root)
    real, _ = real_clips()
    rows, curves = [], {}
    for name, over in VARIANTS.items():
        run = work / name.replace("/", "").replace(" ", "_")
        cfg = gate_config(data_root)
        cfg.model_overrides = over
        summ = run_training(cfg, run, stages=[1, 2], init=str(vae), resume=True, progress=False)
        model = PyraTok.from_pretrained(run / "stage2" / "final")
        s, r = evaluate_model(model, syn), evaluate_model(model, real)
        rows.append({"variant": name, "overrides": over, "synthetic": s, "real": r, "utilisation": _utilisation(model, syn),
                     "steps": {k: v["steps"] for k, v in summ.items()},
                     "seconds": round(sum(v["seconds"] for v in summ.values()), 1)})
        curves[name] = read_metrics(run / "stage1") + read_metrics(run / "stage2")
    stage0 = read_metrics(vae.parent)
    (out / "tiny.json").write_text(json.dumps(rows, indent=2))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ax[0].plot([r["step"] for r in stage0], [r["psnr"] for r in stage0], lw=0.8)
    v0 = [r for r in stage0 if "val/psnr" in r]
    ax[0].plot([r["step"] for r in v0], [r["val/psnr"] for r in v0], "o-", label="val (synthetic)")
    ax[0].set(title="stage 0: tiny VAE", xlabel="step", ylabel="PSNR (dB)")
    ax[0].legend()
    for name, rows_ in curves.items():
        n1 = sum(1 for r in rows_ if r["stage"] == "stage1")
        x = [r["step"] + (n1 if r["stage"] == "stage2" else 0) for r in rows_]
        ax[1].plot(x, [r["loss"] for r in rows_], lw=0.8, label=name)
        ax[2].plot(x, [r["psnr"] for r in rows_], lw=0.8, label=name)
    ax[1].set(title="stages 1+2: total loss (L_AR from stage 2)", xlabel="step", yscale="log")
    ax[2].set(title="stages 1+2: train PSNR (masked input)", xlabel="step", ylabel="dB")
    for a in ax[1:]:
        a.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)

    lines = ["# Tiny PyraTok: learning curves and final quality (measured here, CPU, synthetic + real sample data)",
             "", "Generated by `python -m benchmarks.tools.tiny_report`. Training data: the CI gate's synthetic "
             "WebVid-format set (benchmarks.synthetic, seed 0; 256 train clips). Budget as the CI gate: stage 0 "
             f"({stage0[-1]['step']} steps, shared VAE), stage 1 and a short stage 2 per variant (steps below). "
             "Evaluation: 9-frame 64x64 centre clips, tokens -> decode; PSNR per clip, SSIM per frame "
             "(`pyratok.train.evaluate`).", "",
             "| variant | synthetic PSNR | synthetic SSIM | real-sample PSNR | real-sample SSIM | codebook utilisation "
             "per level (synthetic) | steps | training seconds (stages 1+2) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        util = ", ".join(f"{v:.2e}" for v in r["utilisation"].values())
        lines.append(f"| {r['variant']} | {r['synthetic']['psnr']:.2f} | {r['synthetic']['ssim']:.3f} | "
                     f"{r['real']['psnr']:.2f} | {r['real']['ssim']:.3f} | {util} | "
                     f"{r['steps']} | {r['seconds']} |")
    triv_s, triv_r = trivial_baselines(syn), trivial_baselines(real)
    for name in triv_s:
        lines.append(f"| *reference: {name}* | {triv_s[name]['psnr']:.2f} | {triv_s[name]['ssim']:.3f} | "
                     f"{triv_r[name]['psnr']:.2f} | {triv_r[name]['ssim']:.3f} | - | - | - |")
    spread = max(r["synthetic"]["psnr"] for r in rows) - min(r["synthetic"]["psnr"] for r in rows)
    lines += ["", "Reading: at this CPU budget the variants differ by "
              f"{spread:.2f} dB on the synthetic split, about the run-to-run spread of the CI gate "
              "(results/ci/README.md), so this budget cannot rank them (the paper's Table 6 gaps come from full "
              "training). All three stay below the per-clip mean-colour reference: the tiny VAE of stage 0 is far "
              "from converged after its 400 steps (its validation PSNR is in the left plot), and stages 1-2 mostly "
              "reduce the codebook terms (middle plot) while the reconstruction through the frozen decoder stays "
              "at the VAE's level (right plot)."]
    lines += ["", f"Synthetic: {rows[0]['synthetic']['n_clips']} held-out clips; real sample: "
              f"{rows[0]['real']['n_clips']} clips of ../shared/realdata/videos. Utilisation = distinct codes used / "
              "2^16 over all held-out tokens (64 clips x 48 tokens per level cannot exceed ~4.7e-2).", "",
              "![learning curves](curves.png)", "",
              f"Stage 0 (shared): {sum(1 for _ in stage0)} logged steps. Seconds are wall time on a 2-core machine "
              "shared with other jobs (one torch thread)."]
    (out / "tiny.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
