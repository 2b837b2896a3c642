"""Figure 8-style zero-shot segmentation examples: ground-truth and predicted masks per frame, drawn with the
protocol of :mod:`benchmarks.tasks.segmentation` (its feature extraction and mask prediction)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.base import DataSource
from benchmarks.tasks.segmentation import (OVISSegmentation, YouTubeVISSegmentation, extract_features, predict_video,
                                           unit_text)

__all__ = ["plot_segmentation_examples"]

_PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                     [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128],
                     [170, 110, 40]], dtype=np.float32)


def _overlay(frame: np.ndarray, masks: list[tuple[np.ndarray, int]], alpha: float = 0.55) -> np.ndarray:
    out = frame.astype(np.float32).copy()
    for m, cid in masks:
        out[m] = (1 - alpha) * out[m] + alpha * _PALETTE[cid % len(_PALETTE)]
    return out.clip(0, 255).astype(np.uint8)


def plot_segmentation_examples(tokenizer, data: DataSource, out_path: str | Path, video_ids: list[int] | None = None,
                               benchmark: str = "ytvis-seg", fitted: dict | None = None, text_space: str = "native",
                               n_videos: int = 2, n_frames: int = 4, **protocol) -> Path:
    """Figure 8-style PNG: for each video, a row of frames with the ground-truth masks and a row with the predicted
    masks (colour = category, legend below), at the original resolution.

    ``benchmark``: ``ytvis-seg`` | ``ovis-seg``; ``video_ids``: evaluation videos to show (default: the first
    ``n_videos``); ``text_space``: ``native`` (text-aligned tokenizers) or ``probe`` (needs ``fitted`` from the
    benchmark's :meth:`fit`); ``protocol``: protocol overrides. The title says the data origin.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    bench = {"ytvis-seg": YouTubeVISSegmentation, "ovis-seg": OVISSegmentation}[benchmark](**protocol)
    plan = bench.evaluation_plan(data)
    ds = plan["eval"]
    ids, texts, query = bench._units(ds)
    spaces = bench._text_spaces(tokenizer, texts, fitted)
    if text_space not in spaces["emb"]:
        raise ValueError(f"text space {text_space!r} unavailable: {spaces['why'].get(text_space)}")
    emb = spaces["emb"][text_space]
    videos = [ds.video(int(v)) for v in video_ids] if video_ids else sorted(ds, key=lambda v: v.id)[:n_videos]
    names = {c.id: unit_text(c.name) for c in ds.categories}
    fig, axes = plt.subplots(2 * len(videos), n_frames, figsize=(2.4 * n_frames, 2.0 * 2 * len(videos)),
                             squeeze=False)
    used = set()
    for r, video in enumerate(videos):
        feats = extract_features(tokenizer, video, bench.protocol, query)
        preds, _ = predict_video(video, feats, emb, ids, bench.protocol)
        pm = [(p.masks(video.height, video.width), p.category_id) for p in preds]
        idx = np.unique(np.linspace(0, video.length - 1, n_frames).round().astype(int))
        frames = video.load_frames(idx)
        gm = video.instance_masks(idx)
        for j, t in enumerate(idx):
            gt_masks = [(gm[n, j], inst.category_id) for n, inst in enumerate(video.instances)]
            pr_masks = [(m[t], cid) for m, cid in pm]
            used.update(c for _, c in gt_masks + pr_masks)
            for row, (lbl, ms) in enumerate((("GT", gt_masks), (f"{tokenizer.name} ({text_space})", pr_masks))):
                ax = axes[2 * r + row, j]
                ax.imshow(_overlay(frames[j], ms))
                for m, cid in ms:  # outlines: a tint alone is hard to tell from the object's own colour
                    if m.any() and not m.all():
                        ax.contour(m.astype(float), levels=[0.5], colors=[_PALETTE[cid % len(_PALETTE)] / 255],
                                   linewidths=1.0)
                ax.set_xticks([]), ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"video {video.id}\n{lbl}", fontsize=7)
                if r == 0 and row == 0:
                    ax.set_title(f"frame {t}", fontsize=8)
        for j in range(len(idx), n_frames):
            axes[2 * r, j].axis("off"), axes[2 * r + 1, j].axis("off")
    handles = [Patch(color=_PALETTE[c % len(_PALETTE)] / 255, label=names.get(c, str(c))) for c in sorted(used)]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7)
    fig.suptitle(f"Zero-shot segmentation, {bench.paper_name} ({data.origin} data; {plan['eval_desc']})", fontsize=9)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out_path
