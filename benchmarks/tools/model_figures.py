"""Fig. 2- and Fig. 4-style figures from the trained tiny PyraTok on real clips -> ``results/figures/``.

    python -m benchmarks.tools.model_figures [--out results/figures] [--checkpoint DIR]

The model is the benchmarks' ``pyratok-tiny`` (the trained-here artifact; ``--checkpoint`` for another), the clips
are real sample clips of ``../shared/realdata/videos`` (17 frames, 64 x 64 centre crop) with hand-written captions
of what they show. Writes ``fig2_cross_attention.png`` and ``fig4_level_pca.png``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

# real clips and what they show (captions written by hand from the clips)
CLIPS = (("kinetics_arm_wrestling.mp4", "two people arm wrestling at a table"),
         ("ucf_apply_eye_makeup.avi", "a woman applying eye makeup with a brush"),
         ("bikes.mp4", "people riding bicycles along a street"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tools.model_figures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/figures")
    p.add_argument("--checkpoint", help="a PyraTok save_pretrained folder (default: the trained-here pyratok-tiny)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from benchmarks.base import realdata_root
    from benchmarks.tools.ci_gate import _clip
    from benchmarks.visualization.model_maps import plot_cross_attention, plot_level_pca
    from pyratok.model import PyraTok

    torch.set_num_threads(1)
    if args.checkpoint:
        ckpt = Path(args.checkpoint)
    else:
        from benchmarks.provisioning.pyratok_variants import train_tiny_variant

        ckpt = train_tiny_variant("pyratok-tiny", {})
    model = PyraTok.from_pretrained(ckpt).eval()
    root = realdata_root() / "videos"
    clips = [(_clip(root / name, 64, 17), caption) for name, caption in CLIPS if (root / name).is_file()]
    if not clips:
        raise SystemExit(f"no real sample clips under {root} (set PYRATOK_REALDATA)")
    out = Path(args.out)
    for f in (plot_cross_attention(model, clips, out / "fig2_cross_attention.png"),
              plot_level_pca(model, clips, out / "fig4_level_pca.png")):
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
