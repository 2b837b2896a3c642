"""Seen/unseen class splits for zero-shot temporal action localization (THUMOS14, ActivityNet v1.3).

Protocol (the paper's Table 4 "50% Seen / 50% Unseen", following the zero-shot TAL literature, e.g. Ju et al.,
"Prompting visual-language models for efficient video understanding", ECCV 2022, and STALE/ZEETAD): the classes
are split at random into a *seen* part (its annotations may be used for training/probing) and an *unseen* part
(evaluated zero-shot). Two settings, each with 10 random splits whose results are averaged:

* ``50_50`` — 50% seen / 50% unseen (THUMOS14: 10/10 classes, ActivityNet: 100/100);
* ``75_25`` — 75% seen / 25% unseen (THUMOS14: 15/5, ActivityNet: 150/50).

The published split files of that literature are not obtainable offline, so :func:`generate_splits` draws the 10
splits deterministically from the sorted class list and a seed (Python's ``random.Random`` seeded with the string
``"<seed>/<setting>/<index>"``, which is stable across platforms and Python versions). A user who has official
split lists can write them in the layout below and :func:`read_splits` validates them the same way.

On-disk layout (``LAYOUTS.md``), inside a dataset root::

    zero_shot_splits/50_50/split_00/seen.txt    one class name per line
    zero_shot_splits/50_50/split_00/unseen.txt
    ...                    split_09/
    zero_shot_splits/75_25/split_00/ ... split_09/

Validation (:func:`read_splits`, :func:`validate_split`): a missing file, an empty or duplicated line entry, a
class not in the dataset's class list, a class in both seen and unseen, a class in neither, or sizes that do not
match the setting raise :class:`~benchmarks.datasets.errors.DatasetFormatError` naming the file (and line).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from benchmarks.datasets.errors import DatasetFormatError

__all__ = [
    "SPLIT_SETTINGS",
    "NUM_SPLITS",
    "SPLITS_DIRNAME",
    "ClassSplit",
    "num_seen",
    "generate_splits",
    "write_splits",
    "read_class_file",
    "read_splits",
    "validate_split",
    "generate_and_write_all",
]

# setting name -> fraction of classes that are seen.
SPLIT_SETTINGS: dict[str, float] = {"50_50": 0.50, "75_25": 0.75}
NUM_SPLITS = 10
SPLITS_DIRNAME = "zero_shot_splits"


@dataclass(frozen=True)
class ClassSplit:
    """One seen/unseen partition of the classes. ``seen``/``unseen`` are sorted tuples of class names."""

    setting: str
    index: int
    seen: tuple[str, ...]
    unseen: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"split_{self.index:02d}"


def _setting(setting: str) -> float:
    if setting not in SPLIT_SETTINGS:
        raise ValueError(f"unknown zero-shot setting {setting!r}; valid: {list(SPLIT_SETTINGS)}")
    return SPLIT_SETTINGS[setting]


def num_seen(num_classes: int, setting: str) -> int:
    """Number of seen classes: ``round(fraction * num_classes)`` with halves rounded up (20 -> 10 / 15,
    200 -> 100 / 150). Both parts must be non-empty, else ValueError."""
    frac = _setting(setting)
    n = int(frac * num_classes + 0.5)
    if n < 1 or n > num_classes - 1:
        raise ValueError(f"{num_classes} classes cannot be split {setting} with both seen and unseen non-empty")
    return n


def _unique_sorted(classes: Iterable[str]) -> list[str]:
    classes = list(classes)
    bad = [c for c in classes if not isinstance(c, str) or not c.strip() or c != c.strip() or "\n" in c]
    if bad:
        raise ValueError(f"class names must be non-empty strings without surrounding whitespace, got {bad[0]!r}")
    dup = sorted({c for c in classes if classes.count(c) > 1})
    if dup:
        raise ValueError(f"class list has duplicates: {dup}")
    return sorted(classes)


def generate_splits(
    classes: Iterable[str], setting: str, num_splits: int = NUM_SPLITS, seed: int = 0
) -> list[ClassSplit]:
    """``num_splits`` random seen/unseen partitions of ``classes`` for ``setting`` (``"50_50"``/``"75_25"``).

    Deterministic in (the set of classes, setting, seed): the input order does not matter.
    """
    pool = _unique_sorted(classes)
    k = num_seen(len(pool), setting)
    out = []
    for i in range(num_splits):
        rng = random.Random(f"{seed}/{setting}/{i}")
        seen = set(rng.sample(pool, k))
        out.append(
            ClassSplit(setting, i, tuple(c for c in pool if c in seen), tuple(c for c in pool if c not in seen))
        )
    return out


def write_splits(splits_dir: str | Path, splits: Sequence[ClassSplit]) -> list[Path]:
    """Write ``splits_dir/<setting>/split_XX/{seen,unseen}.txt`` (one class per line). Returns the paths written."""
    root = Path(splits_dir)
    written = []
    for sp in splits:
        d = root / sp.setting / sp.name
        d.mkdir(parents=True, exist_ok=True)
        for fname, names in (("seen.txt", sp.seen), ("unseen.txt", sp.unseen)):
            p = d / fname
            p.write_text("".join(f"{c}\n" for c in names), encoding="utf-8")
            written.append(p)
    return written


def read_class_file(path: str | Path, classes: Iterable[str] | None = None) -> list[str]:
    """Read one ``seen.txt``/``unseen.txt``: one class name per line (surrounding whitespace stripped; blank lines
    skipped). DatasetFormatError for a missing file, a duplicated name, or (when ``classes`` is given) a name not
    in ``classes`` — each naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, None, "split file does not exist")
    known = set(classes) if classes is not None else None
    names: list[str] = []
    first_line: dict[str, int] = {}
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            name = line.strip()
            if not name:
                continue
            if name in first_line:
                raise DatasetFormatError(path, f"line {n}", f"class {name!r} repeated (first on line {first_line[name]})")
            if known is not None and name not in known:
                raise DatasetFormatError(path, f"line {n}", f"unknown class {name!r} (not in the dataset's class list)")
            first_line[name] = n
            names.append(name)
    if not names:
        raise DatasetFormatError(path, None, "split file lists no class")
    return names


def validate_split(split: ClassSplit, classes: Iterable[str] | None = None, where: str | Path = "") -> None:
    """Check a split: seen and unseen disjoint and non-empty; with ``classes``: every class in exactly one part and
    the part sizes those of the setting. DatasetFormatError (file = ``where``) otherwise."""
    where = str(where) or f"{split.setting}/{split.name}"
    both = sorted(set(split.seen) & set(split.unseen))
    if both:
        raise DatasetFormatError(where, "seen/unseen", f"classes in both seen.txt and unseen.txt: {both}")
    if not split.seen or not split.unseen:
        raise DatasetFormatError(where, "seen/unseen", "seen and unseen must both list at least one class")
    if classes is None:
        return
    pool = set(classes)
    unknown = sorted((set(split.seen) | set(split.unseen)) - pool)
    if unknown:
        raise DatasetFormatError(where, "seen/unseen", f"unknown classes {unknown}")
    missing = sorted(pool - set(split.seen) - set(split.unseen))
    if missing:
        raise DatasetFormatError(where, "seen/unseen", f"classes in neither seen.txt nor unseen.txt: {missing}")
    k = num_seen(len(pool), split.setting)
    if len(split.seen) != k:
        raise DatasetFormatError(
            where, "seen.txt",
            f"setting {split.setting} with {len(pool)} classes needs {k} seen / {len(pool) - k} unseen, "
            f"got {len(split.seen)} / {len(split.unseen)}",
        )


def read_splits(
    splits_dir: str | Path,
    setting: str,
    classes: Iterable[str] | None = None,
    num_splits: int | None = NUM_SPLITS,
) -> list[ClassSplit]:
    """Read and validate ``splits_dir/<setting>/split_XX/{seen,unseen}.txt``.

    ``num_splits`` (default 10) requires exactly ``split_00 .. split_{n-1}``; a missing one raises
    DatasetFormatError naming the expected folder. ``num_splits=None`` reads whatever ``split_XX`` folders exist.
    With ``classes`` each split is checked against the dataset's class list (:func:`validate_split`).
    """
    _setting(setting)
    classes = list(classes) if classes is not None else None
    base = Path(splits_dir) / setting
    if not base.is_dir():
        raise DatasetFormatError(base, None, f"zero-shot split folder for setting {setting} does not exist")
    if num_splits is None:
        found = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.startswith("split_"))
        indices = []
        for name in found:
            tail = name[len("split_"):]
            if not tail.isdigit():
                raise DatasetFormatError(base / name, None, "split folder must be named split_<NN>")
            indices.append(int(tail))
        if not indices:
            raise DatasetFormatError(base, None, "no split_<NN> folders")
    else:
        indices = list(range(num_splits))
    out = []
    for i in indices:
        d = base / f"split_{i:02d}"
        if not d.is_dir():
            raise DatasetFormatError(d, None, f"split folder missing ({setting} needs split_00..split_{len(indices) - 1:02d})")
        seen = read_class_file(d / "seen.txt", classes)
        unseen = read_class_file(d / "unseen.txt", classes)
        split = ClassSplit(setting, i, tuple(sorted(seen)), tuple(sorted(unseen)))
        validate_split(split, classes, where=d)
        out.append(split)
    return out


def generate_and_write_all(
    classes: Iterable[str], splits_dir: str | Path, seed: int = 0, num_splits: int = NUM_SPLITS
) -> dict[str, list[ClassSplit]]:
    """Generate and write both settings (``50_50`` and ``75_25``) for ``classes``; returns ``{setting: splits}``."""
    classes = list(classes)
    out = {}
    for setting in SPLIT_SETTINGS:
        out[setting] = generate_splits(classes, setting, num_splits, seed)
        write_splits(splits_dir, out[setting])
    return out
