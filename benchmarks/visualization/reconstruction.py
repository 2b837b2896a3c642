"""Figure 5-style reconstruction grids from the sample images the runner writes under ``figures/samples/``."""
from __future__ import annotations

from pathlib import Path

__all__ = ["figure5_grid", "sample_folder_name"]


def sample_folder_name(tokenizer: str) -> str:
    """The folder the runner writes a tokenizer's sample images to: characters outside [A-Za-z0-9-_.] become "_"."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in tokenizer)


def figure5_grid(records: list[dict], figures_dir: Path) -> list[Path]:
    """A Figure 5-like grid: for each tokenizer that ran webvid-recon / coco-recon, the middle frame of the first
    clips, input | reconstruction (images written by the runner under figures/samples/)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    out = []
    for bench in ("webvid-recon", "coco-recon"):
        root = Path(figures_dir) / "samples" / bench
        if not root.is_dir():
            continue
        measured = {sample_folder_name(r["tokenizer"]): r for r in records
                    if r["benchmark"] == bench and r["metric"] == "psnr"}
        toks = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name in measured]
        if not toks:
            continue
        n = max(len(list(d.glob("*.png"))) for d in toks)
        fig, axes = plt.subplots(len(toks), n, figsize=(3.2 * n, 1.8 * len(toks)), squeeze=False)
        for i, d in enumerate(toks):
            imgs = sorted(d.glob("*.png"))
            for j in range(n):
                ax = axes[i][j]
                ax.axis("off")
                if j < len(imgs):
                    ax.imshow(Image.open(imgs[j]))
            rec = measured[d.name]
            axes[i][0].set_title(f"{d.name}: PSNR {rec['value']:.2f} dB ({rec['data_origin']})", fontsize=7,
                                 loc="left")
        fig.suptitle(f"{bench}: input | reconstruction (middle frame), measured here", fontsize=9)
        fig.tight_layout()
        p = Path(figures_dir) / f"figure5_{bench}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out
