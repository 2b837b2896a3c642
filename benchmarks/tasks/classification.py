"""Zero-shot action classification on Kinetics-400 / -600 / -700 (paper Table 5, "Kinetics" columns).

Protocol (the paper states only "zero-shot video classification on Kinetics"; the rest is the CLIP-style zero-shot
recipe a reproduction would expect, each part a protocol field):

* Clips: the ``val`` split; ``frames = 17`` frames (``1 + 4k``, the tokenizers' native clip) spread uniformly over
  the 10 s clip (TSN rule, :func:`pyratok.data.video.sample_indices` ``"uniform"``), short side resized to 256 and
  centre-cropped to 256x256 (the tokenizers' native resolution; synthetic 64x64 clips are used as they are).
* Clip embedding: features of pyramid level ``level = -1`` (the deepest: the paper gives no level for
  classification; App. B.3 notes deeper levels are the more semantic ones), mean-pooled over time and space and
  L2-normalised (:func:`benchmarks.tasks.probe.pool_features`).
* Class embeddings: the prompt ``"a video of {label}"`` through the tokenizer's own text embedding (``native``), or
  through the text-alignment probe (``probe``). Score = cosine; prediction = the highest-scoring class.
* Metrics: top-1 (the paper's "accuracy"), top-5 and mean class accuracy (mean over classes with at least one
  clip of the per-class top-1 recall), in [0, 1]. Ties are counted against the clip: the true class's rank is the
  number of other classes scoring *at least* as high (so a degenerate constant score gets no credit).
* Kinetics-600: the zero-shot protocol of ER-ZSAR (Chen & Huang, ICCV 2021), used by the zero-shot video
  literature: only the classes *new* in Kinetics-600 relative to Kinetics-400 are evaluated, as 3 random subsets
  holding 160/220 of them (seeded), classifying each clip among its subset's classes; the mean over the subsets is
  reported with the std in ``extra``. "New" is the set difference of class names
  (:func:`benchmarks.datasets.kinetics.new_classes`: on the real label sets that is 232 classes, the 220 of
  ER-ZSAR plus 12 renamed ones; pass ``new_classes_file`` for a curated list). The Kinetics-400 class list comes
  from ``reference_classes`` (a label-map txt or a Kinetics CSV), else ``<root>/label_map_k400.txt``, else the
  sibling ``../kinetics400/annotations/{val,train}.csv``.
* Probe (non-aligned tokenizers, and PyraTok as ``@probe``): fitted in :meth:`fit` on the ``train`` split
  (``probe_clips_per_class`` clips per class), never on the classes it embeds, so the cell stays zero-shot:
  for Kinetics-400/700 the classes are dealt into ``probe_folds = 2`` seeded folds and the classes of fold ``f``
  are embedded by a probe fitted on the train clips of the *other* folds' classes (class-disjoint cross-fitting);
  for Kinetics-600 one probe is fitted on the Kinetics-400 classes' train clips and embeds the new classes.
  When the data have no ``train`` split the probe cells are unavailable and say so.

Metric names: ``top1``, ``top5``, ``mean_class_accuracy`` (``extra.text_space = "native"``) and the same with
``@probe``. A clip that cannot be decoded is a failure record (``n_failed``) and is not scored.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from adapters.base import NotSupported
from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.metrics.chance import ChanceLevel, chance_level
from benchmarks.metrics.uncertainty import DEFAULT_N_BOOT, interval_dict, splits_ci
from benchmarks.registry import register_benchmark
from benchmarks.tasks.clips import batched, conform

__all__ = ["true_label_rank", "top_k_accuracy", "mean_class_accuracy", "accuracy_from_ranks",
           "mean_class_accuracy_from_ranks", "Kinetics400Classification", "Kinetics600Classification",
           "Kinetics700Classification"]


# ---------------------------------------------------------------------------------------------------- metrics
def true_label_rank(scores: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """``(N, C)`` scores, ``(N,)`` class indices -> ``(N,)`` 0-based rank of the true class: the number of OTHER
    classes whose score is >= the true class's (ties count against the clip)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.ndim != 2 or y.shape != (s.shape[0],):
        raise ValueError(f"scores must be (N, C) and labels (N,), got {s.shape} and {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= s.shape[1]):
        raise ValueError(f"labels must be in [0, {s.shape[1]}), got range [{y.min()}, {y.max()}]")
    true = s[np.arange(len(y)), y][:, None]
    return (s >= true).sum(axis=1) - 1


def accuracy_from_ranks(ranks: Sequence[int], k: int) -> float:
    """Fraction of clips whose true class ranks in the top ``k``."""
    r = np.asarray(ranks)
    if r.size == 0:
        raise ValueError("no clips")
    return float(np.mean(r < k))


def mean_class_accuracy_from_ranks(ranks: Sequence[int], labels: Sequence) -> float:
    """Mean over the classes present in ``labels`` of the per-class top-1 accuracy."""
    r, y = np.asarray(ranks), np.asarray(labels)
    if r.size == 0:
        raise ValueError("no clips")
    return float(np.mean([np.mean(r[y == c] == 0) for c in np.unique(y)]))


def top_k_accuracy(scores: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 5)) -> list[float]:
    """Top-k accuracy for each ``k`` (ties against the clip, see :func:`true_label_rank`)."""
    ranks = true_label_rank(scores, labels)
    return [accuracy_from_ranks(ranks, k) for k in ks]


def mean_class_accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Mean per-class top-1 accuracy over the classes that have clips."""
    return mean_class_accuracy_from_ranks(true_label_rank(scores, labels), labels)


# ---------------------------------------------------------------------------------------------------- benchmark
class _KineticsZeroShot(Benchmark):
    table = "table5"
    task = "classification"
    requires = ("features",)
    shard_size = 16
    protocol = {"version": "1", "split": "val", "probe_split": "train", "frames": 17, "sampling": "uniform",
                "size": 256, "level": -1, "prompt": "a video of {label}", "batch_size": 4,
                "probe_folds": 2, "probe_clips_per_class": 16, "max_samples": None,
                "synthetic": {"size": None}}  # synthetic clips: 64x64, used as they are

    # ------------------------------------------------------------------ protocol / data helpers
    def effective_protocol(self, data: DataSource) -> dict:
        p = {k: v for k, v in self.protocol.items() if k != "synthetic"}
        if data.origin == "synthetic":
            p.update(self.protocol.get("synthetic") or {})
        return p

    def _dataset(self, data: DataSource, split: str, check_media: bool = True):
        from benchmarks.datasets.kinetics import KineticsDataset

        return KineticsDataset(data.root, split=split, check_media=check_media)

    def eval_sets(self, data: DataSource, classes: list[str]) -> dict[str, list[str]]:
        """Name -> the class list a clip is classified among (Kinetics-400/700: one set, every class)."""
        return {"all": sorted(classes)}

    def probe_plan(self, data: DataSource, classes: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
        """(probe name -> classes whose train clips fit it, class -> probe name that embeds it): class-disjoint
        cross-fitting over ``probe_folds`` seeded folds."""
        folds = max(2, int(self.protocol["probe_folds"]))
        order = sorted(classes)
        random.Random(f"{self.name}/probe-folds").shuffle(order)
        fold_of = {c: f"fold_{i % folds}" for i, c in enumerate(order)}
        fit_on = {f"fold_{f}": sorted(c for c in classes if fold_of[c] != f"fold_{f}") for f in range(folds)}
        return fit_on, fold_of

    def _prompt(self, label: str) -> str:
        return self.protocol["prompt"].format(label=label)

    def _eval_clips(self, data: DataSource) -> tuple[list, list, dict[str, list[str]]]:
        ds = self._dataset(data, self.protocol["split"])
        sets = self.eval_sets(data, ds.classes)
        wanted = {c for cs in sets.values() for c in cs}
        clips = sorted((c for c in ds.clips if c.label in wanted), key=lambda c: c.clip_id)
        failures = [{"sample": f.sample_id, "file": f.file, "reason": f.reason} for f in ds.failures]
        if self.protocol["max_samples"]:
            clips = clips[:int(self.protocol["max_samples"])]
        return clips, failures, sets

    def _embed_clips(self, tokenizer, clips: list, p: dict, res: ShardResult | None, failures: list | None) -> list:
        """``[(clip, (D,) pooled feature)]`` for the clips that decode; the others go to ``res``/``failures``."""
        from benchmarks.datasets.errors import SampleDecodeError
        from benchmarks.tasks.probe import pool_features
        from pyratok.data.video import frames_to_tensor, read_clip

        def fail(clip, reason):
            if res is not None:
                res.fail(clip.clip_id, reason, str(clip.path))
            if failures is not None:
                failures.append({"sample": clip.clip_id, "file": str(clip.path), "reason": reason})

        out = []
        for group in batched(clips, p["batch_size"]):
            decoded = []
            for clip in group:
                try:
                    frames = read_clip(clip.path, p["frames"], None, p["sampling"], size=p["size"],
                                       crop="center" if p["size"] else None)
                    video, _ = conform(frames_to_tensor(frames)[None], tokenizer.input_constraints)
                    decoded.append((clip, video))
                except (SampleDecodeError, ValueError, OSError) as err:
                    fail(clip, str(err))
            by_shape: dict[tuple, list] = {}
            for clip, video in decoded:
                by_shape.setdefault(tuple(video.shape), []).append((clip, video))
            for items in by_shape.values():
                try:
                    with torch.no_grad():
                        enc = tokenizer.encode(torch.cat([v for _, v in items]))
                        pooled = pool_features(tokenizer.features(enc, p["level"]))
                except NotSupported:
                    raise
                except (ValueError, RuntimeError) as err:
                    for clip, _ in items:
                        fail(clip, f"encoding failed: {err}")
                    continue
                out += [(clip, pooled[i]) for i, (clip, _) in enumerate(items)]
        return out

    # ------------------------------------------------------------------ runner hooks
    def shards(self, data: DataSource) -> list[Shard]:
        clips, failures, _ = self._eval_clips(data)
        ann = str(Path(data.root) / "annotations" / f"{self.protocol['split']}.csv")
        ids = [c.clip_id for c in clips] + [f["sample"] for f in failures]
        files = {c.clip_id: str(c.path) for c in clips}
        groups = chunk(ids, self.shard_size)
        return [Shard(i, len(groups), tuple(g), (ann,) + tuple(files[x] for x in g if x in files))
                for i, g in enumerate(groups)]

    def _probe_clips(self, data: DataSource, p: dict):
        ann = Path(data.root) / "annotations" / f"{p['probe_split']}.csv"
        if not ann.is_file():
            return None, f"no {p['probe_split']} split ({ann} does not exist)"
        ds = self._dataset(data, p["probe_split"])
        per_class: dict[str, list] = {}
        for clip in sorted(ds.clips, key=lambda c: c.clip_id):
            per_class.setdefault(clip.label, []).append(clip)
        k = int(p["probe_clips_per_class"])
        return {c: v[:k] for c, v in per_class.items()}, ds

    def fit_files(self, data: DataSource) -> list[str]:
        clips, _ = self._probe_clips(data, self.effective_protocol(data))
        if clips is None:
            return []
        return [str(Path(data.root) / "annotations" / f"{self.protocol['probe_split']}.csv")] + \
            [str(c.path) for v in clips.values() for c in v]

    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict:
        """Probes of the class-disjoint plan (:meth:`probe_plan`) fitted on train clips; saved under ``out_dir``."""
        from benchmarks.tasks.probe import fit_probe_from_pairs

        p = self.effective_protocol(data)
        eval_classes = sorted({c for cs in self._eval_clips(data)[2].values() for c in cs})
        fit_on, probe_of = self.probe_plan(data, eval_classes)
        clips, ds_or_reason = self._probe_clips(data, p)
        if clips is None:
            return {"probes": {}, "probe_of": {}, "note": ds_or_reason, "failures": []}
        failures = [{"sample": f.sample_id, "file": f.file, "reason": f.reason} for f in ds_or_reason.failures]
        needed = sorted({c for cs in fit_on.values() for c in cs} & set(clips))
        pooled = self._embed_clips(tokenizer, [c for lab in needed for c in clips[lab]], p, None, failures)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        probes, n_pairs, notes = {}, {}, []
        for name, classes in fit_on.items():
            pairs = [(f, clip.label) for clip, f in pooled if clip.label in set(classes)]
            n_pairs[name] = len(pairs)
            if not pairs:
                notes.append(f"probe {name}: no decodable {p['probe_split']} clip of its {len(classes)} classes")
                continue
            probes[name] = str(fit_probe_from_pairs([f for f, _ in pairs], [self._prompt(lab) for _, lab in pairs],
                                                    out_dir / f"probe_{name}.npz"))
        return {"probes": probes, "probe_of": probe_of, "n_pairs": n_pairs, "note": "; ".join(notes),
                "failures": failures}

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from benchmarks.tasks.probe import TextAlignmentProbe, sentence_embedding

        t0 = time.perf_counter()
        p = self.effective_protocol(data)
        res = ShardResult()
        clips, failures, sets = self._eval_clips(data)
        by_id = {c.clip_id: c for c in clips}
        failed = {f["sample"]: f for f in failures}
        classes = sorted({c for cs in sets.values() for c in cs})
        # class embeddings per text space, (C, D) rows in ``classes`` order
        spaces: dict[str, torch.Tensor] = {}
        if getattr(tokenizer, "text_aligned", False):
            emb = tokenizer.embed_text([self._prompt(c) for c in classes]).float()
            spaces["native"] = torch.nn.functional.normalize(emb, dim=-1)
        probes = (fitted or {}).get("probes", {})
        probe_of = (fitted or {}).get("probe_of", {})
        if probes and all(probe_of.get(c) in probes for c in classes):
            sent = sentence_embedding([self._prompt(c) for c in classes])
            loaded = {name: TextAlignmentProbe.load(path) for name, path in probes.items()}
            spaces["probe"] = torch.cat([loaded[probe_of[c]](sent[i:i + 1]) for i, c in enumerate(classes)])
        todo = []
        for cid in shard.items:
            if cid in failed:
                res.fail(cid, failed[cid]["reason"], failed[cid]["file"])
            elif cid in by_id:
                todo.append(by_id[cid])
            else:
                res.fail(cid, f"clip {cid!r} is not among the evaluated {p['split']} clips")
        col = {c: i for i, c in enumerate(classes)}
        for clip, feat in self._embed_clips(tokenizer, todo, p, res, None):
            ranks = {}
            for space, emb in spaces.items():
                if emb.shape[1] != feat.shape[0]:
                    raise ValueError(f"{tokenizer.name}: {space} text embeddings are {emb.shape[1]}-d but features "
                                     f"are {feat.shape[0]}-d")
                scores = (emb @ feat).numpy()  # (C,) cosine
                for set_name, set_classes in sets.items():
                    if clip.label in set_classes:
                        idx = [col[c] for c in set_classes]
                        ranks[f"{space}/{set_name}"] = int(true_label_rank(scores[idx][None],
                                                                           [set_classes.index(clip.label)])[0])
            res.samples.append({"id": clip.clip_id, "label": clip.label, "ranks": ranks})
        res.seconds = time.perf_counter() - t0
        res.extras = {"text_spaces": sorted(spaces), "sets": {k: len(v) for k, v in sets.items()}}
        return res

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        samples = [s for r in results for s in r.samples]
        n_failed = sum(len(r.failures) for r in results)
        spaces = sorted({s for r in results for s in r.extras.get("text_spaces", [])})
        set_sizes = {k: v for r in results for k, v in r.extras.get("sets", {}).items()}
        metrics: list[Metric] = []
        for space in spaces:
            suffix = "" if space == "native" else "@probe"
            per_set = {}
            for set_name in sorted(set_sizes):
                key = f"{space}/{set_name}"
                rows = [(s["ranks"][key], s["label"]) for s in samples if key in s["ranks"]]
                if not rows:
                    continue
                ranks, labels = [r for r, _ in rows], [lab for _, lab in rows]
                per_set[set_name] = {"top1": accuracy_from_ranks(ranks, 1), "top5": accuracy_from_ranks(ranks, 5),
                                     "mean_class_accuracy": mean_class_accuracy_from_ranks(ranks, labels),
                                     "n_clips": len(rows), "n_classes": set_sizes[set_name]}
            for name in ("top1", "top5", "mean_class_accuracy"):
                vals = [v[name] for v in per_set.values()]
                extra = {"text_space": space, "per_set": {k: v[name] for k, v in per_set.items()},
                         "n_classes": {k: v["n_classes"] for k, v in per_set.items()},
                         "std_over_sets": float(np.std(vals)) if vals else None,
                         "ci95": _clip_interval(samples, space, sorted(per_set), name),
                         "chance_level": _chance(per_set, name)}
                if len(vals) > 1:   # several class subsets (Kinetics-600): the spread over subsets too
                    extra["ci95_splits"] = splits_ci(vals, seed=0, n_boot=DEFAULT_N_BOOT).to_dict()
                notes = []
                if len(per_set) > 1:
                    notes.append(f"mean over {len(per_set)} class subsets; std {np.std(vals):.4f}")
                if name == "top5" and per_set and max(v["n_classes"] for v in per_set.values()) <= 5:
                    notes.append("every class set has <= 5 classes: top-5 is trivially 1")
                if space == "probe" and fitted and fitted.get("note"):
                    notes.append(fitted["note"])
                if n_failed:
                    notes.append(f"{n_failed} clip(s) failed and are not scored")
                if not vals:
                    notes.append("no clip could be scored")
                n_scored = sum(any(k.startswith(space + "/") for k in s["ranks"]) for s in samples)
                metrics.append(Metric(name + suffix, float(np.mean(vals)) if vals else None, n_scored, n_failed, "",
                                      True, "; ".join(notes), extra))
        if "probe" not in spaces:
            reason = (fitted or {}).get("note") or "no probe was fitted"
            for name in ("top1", "top5", "mean_class_accuracy"):
                metrics.append(Metric(name + "@probe", None, 0, n_failed, "", True,
                                      f"probe unavailable: {reason}", {"text_space": "probe"}))
        return metrics


def _set_metric(items: list[dict], space: str, set_names: list[str], name: str) -> float:
    """The reduced ``name`` (top1 | top5 | mean_class_accuracy) of ``items`` (clips, repeats kept): the mean over
    class sets of the per-set metric, sets with no clip among ``items`` skipped (nan when none has one)."""
    vals = []
    for set_name in set_names:
        key = f"{space}/{set_name}"
        rows = [(s["ranks"][key], s["label"]) for s in items if key in s["ranks"]]
        if not rows:
            continue
        ranks, labels = [r for r, _ in rows], [lab for _, lab in rows]
        vals.append(mean_class_accuracy_from_ranks(ranks, labels) if name == "mean_class_accuracy"
                    else accuracy_from_ranks(ranks, 1 if name == "top1" else 5))
    return float(np.mean(vals)) if vals else float("nan")


def _clip_interval(samples: list[dict], space: str, set_names: list[str], name: str) -> dict | None:
    """95 % percentile bootstrap over clips of the reduced metric (seed 0, 2000 resamples), None with < 2 clips."""
    items = [s for s in samples if any(k.startswith(space + "/") for k in s["ranks"])]
    if not set_names:
        return None
    try:
        return interval_dict(items, lambda xs: _set_metric(xs, space, set_names, name),
                             method="percentile bootstrap over clips (mean over class sets)")
    except ValueError:      # a resample with no clip in any set: no interval rather than a wrong one
        return None


def _chance(per_set: dict, name: str) -> dict | None:
    """The random guesser's expected score (:mod:`benchmarks.metrics.chance`), mean over the class sets."""
    if not per_set:
        return None
    k = 5 if name == "top5" else 1
    proto = "mean-class-accuracy" if name == "mean_class_accuracy" else "top-k"
    if len(per_set) == 1:
        (v,) = per_set.values()
        return chance_level(proto, num_classes=v["n_classes"], k=k, n_items=v["n_clips"]).to_dict()
    vals = [chance_level(proto, num_classes=v["n_classes"], k=k).value for v in per_set.values()]
    return ChanceLevel(float(np.mean(vals)), f"mean over {len(vals)} class sets of min(k, C) / C (k = {k}, C = "
                       f"{sorted({v['n_classes'] for v in per_set.values()})})").to_dict()


@register_benchmark("kinetics400-cls",
                    "zero-shot classification on Kinetics-400: top-1 / top-5 (Table 5)")
class Kinetics400Classification(_KineticsZeroShot):
    """Kinetics-400 val, all 400 classes."""

    dataset = "kinetics400"
    paper_name = "Kinetics-400"


@register_benchmark("kinetics700-cls",
                    "zero-shot classification on Kinetics-700: top-1 / top-5 (Table 5)")
class Kinetics700Classification(_KineticsZeroShot):
    """Kinetics-700 val, all 700 classes."""

    dataset = "kinetics700"
    paper_name = "Kinetics-700"


@register_benchmark("kinetics600-cls",
                    "zero-shot classification on Kinetics-600 (new classes): top-1 / top-5 (Table 5)")
class Kinetics600Classification(_KineticsZeroShot):
    """Kinetics-600 val restricted to the classes new relative to Kinetics-400, in 3 subsets (ER-ZSAR)."""

    dataset = "kinetics600"
    paper_name = "Kinetics-600"
    protocol = {**_KineticsZeroShot.protocol, "classes": "new", "new_class_splits": 3,
                "new_class_split_fraction": 160 / 220, "reference_classes": None, "new_classes_file": None}

    def reference_classes(self, data: DataSource) -> list[str]:
        """The Kinetics-400 class names (see the module doc for where they are looked up)."""
        from benchmarks.datasets.errors import DatasetFormatError
        from benchmarks.datasets.kinetics import kinetics_classes, read_kinetics_csv, read_label_map

        root = Path(data.root)
        given = self.protocol["reference_classes"]
        candidates = [Path(given)] if given else [root / "label_map_k400.txt",
                                                  root.parent / "kinetics400" / "annotations" / "val.csv",
                                                  root.parent / "kinetics400" / "annotations" / "train.csv"]
        for path in candidates:
            if path.is_file():
                return kinetics_classes(read_kinetics_csv(path)) if path.suffix == ".csv" else read_label_map(path)
        raise DatasetFormatError(candidates[0], None, "Kinetics-400 class list not found (needed for the Kinetics-600 "
                                 f"new classes); looked at {[str(c) for c in candidates]}; set reference_classes=PATH")

    def new_class_list(self, data: DataSource, classes: list[str]) -> list[str]:
        from benchmarks.datasets.kinetics import new_classes, read_label_map

        if self.protocol["new_classes_file"]:
            listed = read_label_map(self.protocol["new_classes_file"])
            return sorted(set(listed) & set(classes))
        return new_classes(classes, self.reference_classes(data))

    def eval_sets(self, data: DataSource, classes: list[str]) -> dict[str, list[str]]:
        if self.protocol["classes"] == "all":
            return {"all": sorted(classes)}
        if self.protocol["classes"] != "new":
            raise ValueError(f"{self.name}: classes must be 'new' or 'all', got {self.protocol['classes']!r}")
        new = self.new_class_list(data, classes)
        if len(new) < 2:
            raise ValueError(f"{self.name}: {len(new)} new class(es) in {data.root}; need at least 2")
        k = min(len(new), max(2, int(round(self.protocol["new_class_split_fraction"] * len(new)))))
        return {f"split_{i:02d}": sorted(random.Random(f"kinetics600-new/{i}").sample(new, k))
                for i in range(int(self.protocol["new_class_splits"]))}

    def probe_plan(self, data: DataSource, classes: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
        """One probe fitted on the Kinetics-400 (seen) classes' train clips embeds every new class."""
        if self.protocol["classes"] == "all":
            return super().probe_plan(data, classes)
        seen = sorted(set(self.reference_classes(data)) - set(classes))
        return {"k400_classes": seen}, {c: "k400_classes" for c in classes}
