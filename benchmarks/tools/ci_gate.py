"""CI regression gate: train the tiny PyraTok from scratch for a fixed budget and check its reconstruction PSNR.

    python -m benchmarks.tools.ci_gate                 # train, evaluate, compare with results/ci/psnr_baseline.json
    python -m benchmarks.tools.ci_gate --rebaseline    # same, then write the baseline (commit it with the change that
                                                 # legitimately moved the numbers, saying why)

What it does (fixed seeds everywhere, one CPU thread, ~5-10 minutes on a 2-core machine):
1. writes the synthetic WebVid-format training set (``benchmarks.synthetic``, seed 0, 64x64 clips of 17 frames,
   256 train / 64 held-out val videos) under ``results/ci/work/data`` if it is not there;
2. trains the tiny configuration from scratch in ``results/ci/work/run`` on the tiny VAE shipped with the package
   (``pyratok.checkpoints`` ``tiny-wan-vae``, the frozen backbone, as Wan 2.2 is in the paper): stage 1 (all losses
   but L_AR) and a few stage-2 steps (adds L_AR) — the step counts of ``TrainConfig.tiny()`` except stage 2. Stage
   0 itself (30 min) is not retrained here; ``tests/test_shipped_checkpoints.py`` re-measures the shipped VAE and
   ``tests/test_stage0_recipe.py`` runs its training path;
3. measures PSNR / SSIM of the final tokenizer (encode -> tokens -> decode) on 9-frame, 64x64 centre clips of
   (a) the held-out *synthetic* val split and (b) the 3 held-out *real* sample clips of
   ``../shared/realdata/videos`` that no trained-here model trains on (short side resized to 64, centre crop;
   skipped with a note when absent);
4. writes ``results/ci/metrics.json`` (values, provenance: synthetic vs real sample, steps, seconds, git sha) and
   exits 1 when a PSNR falls more than the tolerance below the baseline (2 when there is no baseline).

Tolerance: 0.5 dB by default. On one machine the run is bit-for-bit deterministic (fixed seeds, fp32, one
thread), so the tolerance only has to absorb what changes across machines and library builds — different
floating-point summation order in BLAS/oneDNN kernels, which a few hundred training steps amplify. We measure that
spread by re-running the gate with other seeds (``--seed``): see results/ci/README.md for the measured numbers and
why 0.5 dB sits above it while a real regression (e.g. the quantizer output zeroed, ``--sabotage zero-lapq``)
costs several dB.

``--sabotage zero-lapq|flip-lfq`` injects a deliberate regression (LaPQ's latent zeroed / the LFQ codes' sign
flipped in the decoder path) into training and evaluation, to show the gate catches it; its metrics go to
``results/ci/work/metrics_sabotage.json`` and never overwrite the real ones.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

from benchmarks.base import realdata_root
from benchmarks.provisioning.recipes import GATE_CLIPS, SEED, STAGE2_STEPS, gate_config
from benchmarks.provisioning.training_data import REAL_HELD_OUT_CLIPS, ensure_gate_data

REPO = Path(__file__).resolve().parents[2]
CI_DIR = REPO / "results" / "ci"
WORK = CI_DIR / "work"
METRICS = CI_DIR / "metrics.json"
BASELINE = CI_DIR / "psnr_baseline.json"
GATE_VERSION = 2         # 2: stages 1-2 on the shipped tiny VAE; real split = held-out clips
DEFAULT_TOLERANCE_DB = 0.5
EVAL_SIZE, EVAL_FRAMES = 64, 9
SPLITS = ("synthetic", "real")

__all__ = ["gate_config", "ensure_data", "synthetic_clips", "real_clips", "evaluate_model", "sabotage", "compare",
           "main", "SEED", "STAGE2_STEPS", "GATE_CLIPS", "DEFAULT_TOLERANCE_DB", "run_gate"]


def git_sha() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=10)
        if sha.returncode:
            return None
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------------------------------------------- data
def ensure_data(work: Path, seed: int = SEED) -> Path:
    """The synthetic WebVid-format set (256 train / 64 val clips, 64x64, 17 frames) under ``work``; written once
    per seed (:func:`benchmarks.provisioning.training_data.ensure_gate_data`)."""
    return ensure_gate_data(work, seed)


def _clip(path: Path, size: int, frames: int):
    from pyratok.data.video import frames_to_tensor, probe_video, read_frames, sample_indices

    n = probe_video(path).num_frames
    idx = sample_indices(n, frames, stride=1, mode="center")
    return frames_to_tensor(read_frames(path, idx, size=size, crop="center"))


def synthetic_clips(data_root: Path, size: int = EVAL_SIZE, frames: int = EVAL_FRAMES) -> list[tuple]:
    """(video (3, T, H, W) in [-1, 1], caption, path) for every held-out synthetic val clip."""
    from pyratok.data.pairs import load_pairs

    pairs = load_pairs(data_root / "results_10M_val.csv", data_root / "videos")
    return [(_clip(Path(p.path), size, frames), p.caption, p.path) for p in pairs]


def real_clips(size: int = EVAL_SIZE, frames: int = EVAL_FRAMES,
               names: tuple[str, ...] = REAL_HELD_OUT_CLIPS) -> tuple[list[tuple], list[dict]]:
    """The real sample clips ``names`` of ``../shared/realdata/videos`` (default: the ones no trained-here model
    trains on, :data:`~benchmarks.provisioning.training_data.REAL_HELD_OUT_CLIPS`), no captions (empty text).
    Returns (clips, failures)."""
    from benchmarks.datasets.errors import SampleDecodeError

    root = realdata_root() / "videos"
    clips, failed = [], []
    if not root.is_dir():
        return clips, [{"file": str(root), "reason": "real sample videos not found (set PYRATOK_REALDATA)"}]
    for name in names:
        p = root / name
        try:
            clips.append((_clip(p, size, frames), "", str(p)))
        except SampleDecodeError as err:
            failed.append({"file": str(p), "reason": err.reason})
    return clips, failed


# ---------------------------------------------------------------------------------------------------- eval
def evaluate_model(model, clips: list[tuple], batch_size: int = 4) -> dict:
    """PSNR / SSIM of the tokenizer's reconstruction (encode -> tokens -> decode) over ``clips``."""
    import torch

    from pyratok.train.evaluate import evaluate_reconstruction

    def batches():
        for i in range(0, len(clips), batch_size):
            chunk = clips[i:i + batch_size]
            yield {"video": torch.stack([c[0] for c in chunk]), "texts": [c[1] for c in chunk]}

    model.eval()
    with torch.no_grad():
        return evaluate_reconstruction(lambda v, t: model.decode(model.encode(v, t)), batches())


def sabotage(model, kind: str) -> None:
    """Inject a deliberate regression into ``model`` (in place): ``zero-lapq`` makes LaPQ's latent zero;
    ``flip-lfq`` flips the sign of the LFQ codes on the way to the decoder. Both hit training and decoding."""
    lapq = model.lapq
    original = type(lapq).codes_to_latent
    if kind == "zero-lapq":
        def patched(self, codes, grids, latent_grid):
            return original(self, codes, grids, latent_grid) * 0
    elif kind == "flip-lfq":
        def patched(self, codes, grids, latent_grid):
            return original(self, [-c for c in codes], grids, latent_grid)
    else:
        raise ValueError(f"unknown sabotage {kind!r}; valid: zero-lapq, flip-lfq")
    lapq.codes_to_latent = types.MethodType(patched, lapq)


def compare(metrics: dict, baseline: dict, tolerance_db: float) -> tuple[bool, list[str]]:
    """Pass iff, for every split in the baseline, measured PSNR >= baseline PSNR - tolerance. A split in the
    baseline that was not measured fails (the gate would otherwise pass silently)."""
    ok, lines = True, []
    for split, ref in baseline.get("psnr", {}).items():
        got = metrics.get(split, {}).get("psnr")
        if got is None:
            ok = False
            lines.append(f"FAIL {split}: not measured (baseline {ref:.3f} dB)")
            continue
        delta = got - ref
        passed = delta >= -tolerance_db
        ok &= passed
        lines.append(f"{'ok  ' if passed else 'FAIL'} {split}: PSNR {got:.3f} dB vs baseline {ref:.3f} dB "
                     f"(delta {delta:+.3f}, tolerance {tolerance_db} dB)")
    if not baseline.get("psnr"):
        ok = False
        lines.append("FAIL: baseline has no PSNR values")
    return ok, lines


# ---------------------------------------------------------------------------------------------------- main
def run_gate(work: Path, seed: int = SEED, sabotage_kind: str | None = None, progress: bool = True) -> dict:
    """Data, training, evaluation; returns the metrics record (not yet compared)."""
    import shutil

    import torch

    torch.set_num_threads(1)
    from pyratok.model import PyraTok
    from pyratok.train.pipeline import run_training

    t0 = time.time()
    data_root = ensure_data(work, SEED)  # the data stay fixed; --seed varies training only (noise studies)
    t_data = time.time() - t0
    run_dir = work / (f"run-sabotage-{sabotage_kind}" if sabotage_kind else "run" if seed == SEED else f"run-seed{seed}")
    if run_dir.exists():
        shutil.rmtree(run_dir)  # the gate always trains from scratch
    cfg = gate_config(data_root, seed)
    hook = (lambda m: sabotage(m, sabotage_kind)) if sabotage_kind else None
    t1 = time.time()
    from benchmarks.provisioning.pyratok_variants import weights_digest
    from pyratok.checkpoints import checkpoint_dir

    vae = checkpoint_dir("tiny-wan-vae")
    summaries = run_training(cfg, run_dir, stages=[1, 2], init=str(vae), progress=progress, model_hook=hook)
    t_train = time.time() - t1
    t2 = time.time()
    model = PyraTok.from_pretrained(run_dir / "stage2" / "final")
    if sabotage_kind:
        sabotage(model, sabotage_kind)
    syn = synthetic_clips(data_root)
    real, real_failed = real_clips()
    metrics = {
        "gate_version": GATE_VERSION,
        "synthetic": {**evaluate_model(model, syn),
                      "source": f"synthetic (benchmarks.synthetic webvid, seed {SEED}, held-out val split)",
                      "files": len(syn)},
        "real": {**evaluate_model(model, real),
                 "source": f"real sample, held out from training ({realdata_root() / 'videos'})",
                 "files": [Path(c[2]).name for c in real], "failed": real_failed},
    }
    t_eval = time.time() - t2
    metrics.update({
        "protocol": {"size": EVAL_SIZE, "frames": EVAL_FRAMES, "crop": "short side resize + centre crop",
                     "clip": "centre, stride 1", "psnr": "per clip, [0,1] range, mean over clips",
                     "ssim": "scikit-image Gaussian SSIM per frame, mean"},
        "vae": {"checkpoint": "tiny-wan-vae", "weights_digest": weights_digest(vae)},
        "steps": {name: s["steps"] for name, s in summaries.items()},
        "steps_per_s": {name: round(s["steps_per_s"], 3) for name, s in summaries.items()},
        "seconds": {"data": round(t_data, 1), "train": round(t_train, 1), "eval": round(t_eval, 1),
                    "total": round(time.time() - t0, 1),
                    **{name: round(s["seconds"], 1) for name, s in summaries.items()}},
        "seed": seed, "sabotage": sabotage_kind, "git_sha": git_sha(), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "machine": platform.machine(), "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    return metrics


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.ci_gate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rebaseline", action="store_true", help=f"write {BASELINE.relative_to(REPO)} from this run")
    p.add_argument("--tolerance", type=float, default=None,
                   help=f"allowed PSNR drop in dB (default: the baseline's, else {DEFAULT_TOLERANCE_DB})")
    p.add_argument("--work", default=str(WORK), help="scratch folder (data + run)")
    p.add_argument("--seed", type=int, default=SEED, help="training seed (noise studies; the data stay at seed 0)")
    p.add_argument("--sabotage", choices=["zero-lapq", "flip-lfq"], help="inject a deliberate regression")
    p.add_argument("--metrics-out", help="where to write the metrics (default results/ci/metrics.json; with "
                                         "--sabotage or --seed != 0: the work folder)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.rebaseline and (args.sabotage or args.seed != SEED):
        p.error("--rebaseline only from a clean run with the default seed")

    work = Path(args.work)
    metrics = run_gate(work, args.seed, args.sabotage, progress=not args.no_progress)
    baseline = json.loads(BASELINE.read_text()) if BASELINE.is_file() else None
    tol = args.tolerance if args.tolerance is not None else (baseline or {}).get("tolerance_db", DEFAULT_TOLERANCE_DB)
    default_out = METRICS if not (args.sabotage or args.seed != SEED) else work / (
        f"metrics_sabotage-{args.sabotage}.json" if args.sabotage else f"metrics_seed{args.seed}.json")
    out = Path(args.metrics_out) if args.metrics_out else default_out

    if args.rebaseline:
        baseline = {"psnr": {s: metrics[s]["psnr"] for s in SPLITS if metrics[s]["psnr"] is not None},
                    "ssim": {s: metrics[s]["ssim"] for s in SPLITS if metrics[s]["ssim"] is not None},
                    "tolerance_db": tol, "steps": metrics["steps"], "git_sha": metrics["git_sha"],
                    "gate_version": GATE_VERSION, "created": metrics["created"],
                    "command": "python -m benchmarks.tools.ci_gate --rebaseline"}
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        BASELINE.write_text(json.dumps(baseline, indent=2) + "\n")
        print(f"[ci_gate] wrote baseline {BASELINE}")
    if baseline is None:
        ok, lines = False, [f"FAIL: no baseline at {BASELINE}; create it with: python -m benchmarks.tools.ci_gate --rebaseline"]
        code = 2
    else:
        if baseline.get("gate_version") != GATE_VERSION:
            lines = [f"note: baseline is from gate version {baseline.get('gate_version')}, this is {GATE_VERSION}"]
        else:
            lines = []
        ok, more = compare(metrics, baseline, tol)
        lines += more
        code = 0 if ok else 1
    metrics["gate"] = {"passed": ok, "tolerance_db": tol, "baseline": baseline, "report": lines}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    for ln in lines:
        print(f"[ci_gate] {ln}")
    print(f"[ci_gate] {'PASSED' if ok else 'FAILED'} in {metrics['seconds']['total']:.0f} s; metrics -> {out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
