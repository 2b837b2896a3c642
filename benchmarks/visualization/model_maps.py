"""Figures the paper draws from the model itself, from a trained PyraTok on real clips:

* Fig. 2-style text -> visual cross-attention maps (:func:`pyratok.analysis.cross_attention_maps`): per caption
  word, level 1's attention weight of every visual cell on that word's tokens, averaged over the level's time
  steps, over the clip's middle frame;
* Fig. 4-style per-level PCA maps (:func:`pyratok.analysis.pca_maps` of each level's ±1 codes): a 3-component PCA
  of the codes per level, shown at the middle time step of each level on its own token grid.

Plots only; the numbers come from :mod:`pyratok.analysis`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["plot_cross_attention", "plot_level_pca", "word_token_spans"]


def _frame(video: torch.Tensor) -> np.ndarray:
    """(3, T, H, W) in [-1, 1] -> the middle frame (H, W, 3) in [0, 1]."""
    t = video.shape[1] // 2
    return ((video[:, t].permute(1, 2, 0).float().clamp(-1, 1) + 1) / 2).numpy()


def word_token_spans(tokenizer, caption: str) -> list[tuple[str, list[int]]]:
    """(word, token positions) of ``caption`` under a Hugging Face fast ``tokenizer`` (positions include the leading
    special token, as the text encoder sees them); words of one character are skipped."""
    enc = tokenizer(caption, return_offsets_mapping=True)
    spans: dict[str, list[int]] = {}
    words = [(m.start(), m.end(), m.group()) for m in __import__("re").finditer(r"\w+", caption)]
    for pos, (a, b) in enumerate(enc["offset_mapping"]):
        if b <= a:
            continue
        for s, e, w in words:
            if s <= a < e and len(w) > 1:
                spans.setdefault(f"{w}@{s}", []).append(pos)
    return [(k.split("@")[0], v) for k, v in spans.items()]


def plot_cross_attention(model, clips: list[tuple[torch.Tensor, str]], out: Path, max_words: int = 5) -> Path:
    """Fig. 2-style maps for ``clips`` ((video (3, T, H, W) in [-1, 1], caption)) -> ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pyratok.analysis import cross_attention_maps

    tok = getattr(model.text_encoder, "tokenizer", None)
    fig, axes = plt.subplots(len(clips), max_words + 1, figsize=(2.2 * (max_words + 1), 2.4 * len(clips)),
                             squeeze=False)
    for row, (video, caption) in enumerate(clips):
        att = cross_attention_maps(model, video[None], [caption])
        level1 = att.maps[0][0]                          # (T', H', W', S)
        frame = _frame(video)
        axes[row, 0].imshow(frame)
        axes[row, 0].set_title(caption if len(caption) < 40 else caption[:37] + "...", fontsize=7)
        spans = word_token_spans(tok, caption) if tok is not None else [
            (f"token {i}", [i]) for i in range(int(att.text_mask[0].sum()))]
        for col in range(1, max_words + 1):
            ax = axes[row, col]
            ax.axis("off")
            if col - 1 >= len(spans):
                continue
            word, pos = spans[col - 1]
            m = level1[..., pos].sum(-1).mean(0).numpy()     # (H', W'): mean over time of the word's weight
            ax.imshow(frame)
            ax.imshow(m, cmap="jet", alpha=0.5, extent=(0, frame.shape[1], frame.shape[0], 0),
                      interpolation="bilinear")
            ax.set_title(f"'{word}' (max {m.max():.2f})", fontsize=7)
        axes[row, 0].axis("off")
    fig.suptitle("Text -> visual cross-attention of LaPQ level 1 (trained tiny PyraTok, real clips; measured here). "
                 "Its training captions never name objects or actions (redacted for zero-shot): no word grounding is "
                 "expected at this scale", fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_level_pca(model, clips: list[tuple[torch.Tensor, str]], out: Path) -> Path:
    """Fig. 4-style per-level PCA maps of the codes for ``clips`` -> ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pyratok.analysis import level_codes, pca_maps

    n_levels = model.config.lapq.num_levels
    fig, axes = plt.subplots(len(clips), n_levels + 1, figsize=(2.2 * (n_levels + 1), 2.4 * len(clips)),
                             squeeze=False)
    for row, (video, caption) in enumerate(clips):
        with torch.no_grad():
            enc = model.encode(video[None], [caption])
        maps = pca_maps(level_codes(model, enc))
        frame = _frame(video)
        axes[row, 0].imshow(frame)
        axes[row, 0].set_title("input (middle frame)", fontsize=7)
        for lvl, m in enumerate(maps):
            t = m.shape[1] // 2
            axes[row, lvl + 1].imshow(m[0, t].numpy(), interpolation="nearest")
            g = tuple(m.shape[1:4])
            axes[row, lvl + 1].set_title(f"level {lvl + 1}: grid {g[0]}x{g[1]}x{g[2]}", fontsize=7)
        for ax in axes[row]:
            ax.axis("off")
    fig.suptitle("Per-level PCA of the LFQ codes (trained tiny PyraTok, real clips; measured here)", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
