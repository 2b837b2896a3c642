"""Figure 16-style localization examples: ground-truth and predicted segments of several methods on a common
time axis (:func:`plot_localization_examples`, input from :func:`benchmarks.tasks.localization.localization_examples`),
and the panel stacking each tokenizer's examples (:func:`figure16_localization`)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks.visualization.reconstruction import sample_folder_name

__all__ = ["plot_localization_examples", "figure16_localization"]


def plot_localization_examples(examples: Sequence[dict], out_path: str | Path, title: str | None = None,
                               thumbnails: int = 6) -> Path:
    """Figure like the paper's Fig. 16: per example, an optional strip of frames, the ground-truth segments (blue)
    and each method's predicted segments as coloured bars on a common time axis (seconds); the best segment is
    drawn opaque, lower-ranked ones lighter. ``examples``: ``[{"video", "query", "duration", "ground_truth":
    [[s, e]], "predictions": {method: [[s, e, score], ...]}, "frames": optional (K, H, W, 3) uint8}]``
    (:func:`localization_examples` builds them). Writes a PNG and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not examples:
        raise ValueError("no examples to plot")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    methods = list(dict.fromkeys(m for ex in examples for m in ex["predictions"]))
    colours = plt.get_cmap("tab10")
    rows_per = [1 + len(methods) + (1 if ex.get("frames") is not None else 0) for ex in examples]
    fig, axes = plt.subplots(len(examples), 1, figsize=(10, sum(0.45 * r + 0.8 for r in rows_per)), squeeze=False,
                             gridspec_kw={"height_ratios": [0.45 * r + 0.6 for r in rows_per]})
    for ax, ex, nrows in zip(axes[:, 0], examples, rows_per):
        dur = float(ex["duration"])
        labels = ["GT"] + methods
        y = {lab: nrows - 1 - i - (1 if ex.get("frames") is not None else 0) for i, lab in enumerate(labels)}
        for s, e in ex["ground_truth"]:
            ax.broken_barh([(s, e - s)], (y["GT"] - 0.35, 0.7), color="tab:blue")
        for k, m in enumerate(methods):
            for rank, seg in enumerate(ex["predictions"].get(m, [])):
                s, e = seg[0], seg[1]
                ax.broken_barh([(s, e - s)], (y[m] - 0.35, 0.7), color=colours((k + 1) % 10),
                               alpha=1.0 if rank == 0 else 0.45)
        if ex.get("frames") is not None:
            frames = np.asarray(ex["frames"])[:thumbnails]
            strip = np.concatenate(list(frames), axis=1)
            ax.imshow(strip, extent=(0, dur, nrows - 1 - 0.45, nrows - 1 + 0.45), aspect="auto")
        ax.set_xlim(0, dur)
        ax.set_ylim(-0.6, nrows - 0.4)
        ax.set_yticks([y[lab] for lab in labels])
        ax.set_yticklabels(labels)
        ax.set_title(f"{ex['video']}: \"{ex['query']}\"", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def figure16_localization(records: list[dict], figures_dir: Path) -> list[Path]:
    """A Figure 16-like panel per benchmark: the localization examples each tokenizer's shard 0 attached
    (``figures/samples/<benchmark>/<tokenizer>/localization_examples.png``: the same videos and queries for every
    tokenizer), stacked one tokenizer per row -> ``figures/figure16_<benchmark>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    out = []
    for bench in ("thumos14-tal", "activitynet-tal"):
        root = Path(figures_dir) / "samples" / bench
        ran = {sample_folder_name(r["tokenizer"]): r for r in records
               if r["benchmark"] == bench and r["metric"].startswith("avg_map")}
        pngs = [d / "localization_examples.png" for d in sorted(root.iterdir()) if d.is_dir() and d.name in ran
                and (d / "localization_examples.png").is_file()] if root.is_dir() else []
        if not pngs:
            continue
        imgs = [Image.open(p) for p in pngs]
        fig, axes = plt.subplots(len(imgs), 1, figsize=(10, sum(9.0 * im.height / im.width for im in imgs)),
                                 squeeze=False)
        for ax, im, p in zip(axes[:, 0], imgs, pngs):
            ax.imshow(im)
            ax.axis("off")
            rec = ran[p.parent.name]
            ax.set_title(f"{p.parent.name} ({rec.get('data_origin', '')} data)", fontsize=8, loc="left")
        fig.tight_layout()
        target = Path(figures_dir) / f"figure16_{bench}.png"
        fig.savefig(target, dpi=110)
        plt.close(fig)
        out.append(target)
    return out
