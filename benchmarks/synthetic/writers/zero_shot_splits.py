"""Zero-shot class splits for temporal action localisation: ``zero_shot_splits/{50_50,75_25}/split_{00..09}/
{seen,unseen}.txt``, one class name per line.

The zero-shot TAL protocol (Ju et al., ECCV 2022, used by the paper's Table 4) trains on a random 50% (or 75%) of
the classes and tests on the rest, averaging over 10 random splits. Each split here is one seeded permutation of
the benchmark's classes; lines are sorted for readability.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchmarks.synthetic.files import write_lines
from benchmarks.synthetic.world import clip_rng

RATIOS = {"50_50": 0.5, "75_25": 0.75}
N_SPLITS = 10


def splits(seed: int, benchmark: str, classes: Sequence[str]) -> dict[str, list[tuple[list[str], list[str]]]]:
    """ratio name -> 10 ``(seen, unseen)`` class lists."""
    classes = sorted(classes)
    out = {}
    for ratio, frac in RATIOS.items():
        n_seen = int(frac * len(classes) + 0.5)  # halves round up: 20 classes -> 10 / 15 seen
        out[ratio] = []
        for i in range(N_SPLITS):
            perm = clip_rng(seed, f"{benchmark}/zero_shot/{ratio}", i).permutation(len(classes))
            seen = sorted(classes[j] for j in perm[:n_seen])
            unseen = sorted(classes[j] for j in perm[n_seen:])
            out[ratio].append((seen, unseen))
    return out


def write_splits(root: str | Path, seed: int, benchmark: str, classes: Sequence[str]) -> int:
    """Write the split files under ``root/zero_shot_splits``; returns the number of splits written."""
    root = Path(root) / "zero_shot_splits"
    n = 0
    for ratio, items in splits(seed, benchmark, classes).items():
        for i, (seen, unseen) in enumerate(items):
            write_lines(root / ratio / f"split_{i:02d}" / "seen.txt", seen)
            write_lines(root / ratio / f"split_{i:02d}" / "unseen.txt", unseen)
            n += 1
    return n
