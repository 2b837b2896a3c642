"""Class-conditional video generation on UCF-101 with an autoregressive prior over the tokenizer's codes: gFVD
(paper Table 8, App. C.2).

Paper: "Given a target action class, the model is conditioned on the class label and asked to synthesize a short
video clip from scratch ... we report the generative Fréchet Video Distance (gFVD)". The paper gives neither the
clip geometry nor the sample counts; we follow the protocol of the methods it compares with (MAGVIT, LARP): clips
of 16 frames at 128 x 128 from the UCF-101 *train* split (fold 1), generated samples compared with real train clips
of the same classes, 10,000 generated videos, mean ± std over 4 sampling runs. A causal tokenizer (``T = 1 + 4k``,
PyraTok on the Wan VAE) encodes 17 frames, and FVD reads the first 16 of every clip, generated or real.

Pipeline per tokenizer (the runner calls these in order):

* :meth:`UCF101ClassConditionalGeneration.fit` — read the centre clip (``frames`` x ``size`` x ``size``) of every
  train video of the evaluated classes, fit it to the tokenizer (:func:`benchmarks.tasks.clips.conform`),
  tokenize it (no caption: UCF-101 has none, so a text-aligned tokenizer sees the empty prompt), and train the
  prior (:mod:`benchmarks.generation`, class prefix, classifier-free-guidance dropout) on the token sequences;
  cached in the fit folder (``prior/``, ``fit.json``);
* shards — one per (class, repeat): sample ``samples_per_class`` clips of that class, decode them with the
  tokenizer, extract their I3D features (FVD protocol of :mod:`benchmarks.metrics.fvd`) into
  ``<fit dir>/features/gen_c<class>_r<repeat>.npy``; the repeat-0 shard of a class also extracts the real train
  clips' features (cached across tokenizers, :class:`benchmarks.generation.features.RealFeatureCache`) into
  ``real_c<class>.npy``;
* reduce — per repeat, FVD of all classes' generated features against all real features; the metric is the mean
  over repeats with the sample std in ``extra``; also the generator's parameter count and tokens per clip
  (Table 8's other columns) and the prior's final training NLL.

Without the I3D weights (``python -m benchmarks.metrics.i3d --fetch``) gFVD is reported unavailable with the
reason; generation still runs (so a broken decode still shows as failures).

Embedded default (``protocol``): the synthetic UCF-101 (6 classes), 9 frames at 64 x 64 — the geometry the tiny
PyraTok was trained on (the ``:data:`PAPER_PROTOCOL``` geometry would feed it clips it never saw) — 4 samples
per class, 2 repeats, the tiny prior, FVD on 9 frames (the I3D's minimum). Such numbers are on tiny sets (FVD is
biased upward below the protocol's 2,048 videos) and say so in their notes; they are not comparable with the
paper's.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult
from benchmarks.registry import register_benchmark

__all__ = ["UCF101ClassConditionalGeneration", "PAPER_PROTOCOL"]

PAPER_PROTOCOL = {
    "frames": 17,              # MAGVIT / LARP 16 frames; 1 + 4k for the causal tokenizers (FVD reads 16)
    "size": 128,               # MAGVIT / LARP 128 x 128
    "fvd_frames": 16,          # StyleGAN-V / MAGVIT 16-frame FVD
    "samples_per_class": 99,   # 101 x 99 = 9,999 ~ the 10,000 generated videos of MAGVIT / LARP
    "repeats": 4,              # mean ± std over 4 sampling runs
    "prior": "paper",
}


def _sampling(protocol: dict) -> dict:
    return {k: protocol[k] for k in ("temperature", "top_k", "guidance")}


@register_benchmark("ucf101-gfvd",
                    "class-conditional generation on UCF-101 with an AR prior over tokens: gFVD (Table 8)")
class UCF101ClassConditionalGeneration(Benchmark):
    needs_i3d = True
    dataset = "ucf101"
    paper_name = "UCF-101"
    table = "table8"
    task = "generation"
    requires = ("tokens", "decode")
    protocol = {
        "version": "1",
        "fold": 1,                   # UCF-101 official split fold (train list = training data and real statistics)
        "frames": 9,                 # clip length read from each video (tiny PyraTok geometry; paper: 17)
        "size": 64,                  # short side resize + centre crop (paper: 128)
        "clip_sampling": "center",   # consecutive frames centred in the video
        "fvd_frames": 9,             # frames FVD reads from every clip (paper: 16)
        "samples_per_class": 4,      # generated clips per class and repeat (paper: 99)
        "repeats": 2,                # independent sampling runs, FVD mean ± std (paper: 4)
        "max_classes": 0,            # evaluate the first N classes of classInd.txt (0: all)
        "max_train_per_class": 0,    # train clips per class for the prior (0: all)
        "max_real_per_class": 0,     # real train clips per class for the FVD statistics (0: all)
        "prior": "tiny",             # benchmarks.generation.PriorConfig.tiny | paper
        "prior_steps": 0,            # > 0 overrides the config's training steps
        "temperature": 1.0,          # sampling (not stated in the paper): plain conditional sampling
        "top_k": 0,
        "guidance": 1.0,             # classifier-free guidance scale (1 = conditional only)
        "generation_batch": 8,
        "encode_batch": 4,
        "seed": 0,
    }

    # ------------------------------------------------------------------ data
    def _train_split(self, data: DataSource):
        from benchmarks.datasets.ucf101 import UCF101Dataset

        return UCF101Dataset(data.path, "train", int(self.protocol["fold"]))

    def _classes(self, ds) -> list[int]:
        present = sorted({c.label for c in ds.clips})
        n = int(self.protocol["max_classes"] or 0)
        return present[:n] if n > 0 else present

    def _clips_of(self, ds, label: int, cap_key: str) -> list:
        clips = [c for c in ds.clips if c.label == label]
        n = int(self.protocol[cap_key] or 0)
        return clips[:n] if n > 0 else clips

    def fit_files(self, data: DataSource) -> list[str]:
        ds = self._train_split(data)
        files = [str(ds.split_dir / "classInd.txt"), str(ds.split_dir / f"trainlist{ds.fold:02d}.txt")]
        for label in self._classes(ds):
            files += [str(c.path) for c in self._clips_of(ds, label, "max_train_per_class")]
        return files

    def shards(self, data: DataSource) -> list[Shard]:
        ds = self._train_split(data)
        labels = self._classes(ds)
        repeats = int(self.protocol["repeats"])
        if repeats < 1:
            raise ValueError(f"{self.name}: repeats must be >= 1, got {repeats}")
        out = []
        total = len(labels) * repeats
        for r in range(repeats):
            for label in labels:
                real = [str(c.path) for c in self._clips_of(ds, label, "max_real_per_class")] if r == 0 else []
                item = {"class": label, "class_name": ds.classes[label], "repeat": r,
                        "count": int(self.protocol["samples_per_class"])}
                out.append(Shard(len(out), total, (item,), tuple(real)))
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict:
        from benchmarks.generation.pipeline import (encode_clips, fit_key, fit_prior, load_fit_state,
                                                    prior_config, save_fit_state)
        from benchmarks.generation.prior import PriorCondition

        out_dir = Path(out_dir)
        key = fit_key(self, tokenizer)
        state = load_fit_state(out_dir, key)
        if state is not None:
            return state
        t0 = time.perf_counter()
        p = self.protocol
        ds = self._train_split(data)
        labels = self._classes(ds)
        if not labels:
            raise ValueError(f"{self.name}: no train clips in {data.path} (fold {p['fold']})")
        clips = [c for label in labels for c in self._clips_of(ds, label, "max_train_per_class")]
        encoded = encode_clips(tokenizer, [str(c.path) for c in clips], int(p["frames"]), int(p["size"]),
                               batch_size=int(p["encode_batch"]), ids=[c.clip_id for c in clips])
        prior_label = {label: i for i, label in enumerate(labels)}
        cond = PriorCondition(labels=torch.tensor([prior_label[clips[i].label] for i in encoded.kept]))
        cfg = prior_config(p)
        trained = fit_prior(tokenizer, encoded, cond, "class", out_dir, cfg, num_classes=len(labels))
        failures = encoded.failures + [{"sample": f.sample_id, "file": f.file, "reason": f.reason}
                                       for f in ds.failures]
        state = {"key": key, "out_dir": str(out_dir), **trained, "classes": labels,
                 "class_names": [ds.classes[c] for c in labels], "prior_label": {str(k): v for k, v in
                                                                                  prior_label.items()},
                 "input_shape": list(encoded.input_shape), "conform": encoded.conform,
                 "layout": encoded.layout.to_dict(), "tokens_per_clip": encoded.layout.num_visual,
                 "prior_config": cfg.to_dict(), "failures": failures, "fit_seconds": round(time.perf_counter() - t0, 2)}
        return save_fit_state(out_dir, state)

    # ------------------------------------------------------------------ shards
    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from benchmarks.generation.features import RealFeatureCache, fvd_features, fvd_network
        from benchmarks.generation.pipeline import (cached_prior, compute_device, generate_clips, read_clip_tensor,
                                                    shard_seed)
        from benchmarks.generation.prior import PriorCondition
        from benchmarks.metrics.fvd import FVDProtocol

        if not fitted:
            raise ValueError(f"{self.name}: run_shard needs the state returned by fit()")
        t0 = time.perf_counter()
        p = self.protocol
        res = ShardResult()
        item = shard.items[0]
        label, r, count = int(item["class"]), int(item["repeat"]), int(item["count"])
        feat_dir = Path(fitted["out_dir"]) / "features"
        feat_dir.mkdir(parents=True, exist_ok=True)
        prior = cached_prior(fitted["prior_dir"])
        gen = torch.Generator(device=next(prior.parameters()).device)
        gen.manual_seed(shard_seed(self.name, p["seed"], label, r))
        videos, ids = [], []
        bs = max(1, int(p["generation_batch"]))
        for start in range(0, count, bs):
            n = min(bs, count - start)
            names = [f"{item['class_name']}-r{r}-{start + i}" for i in range(n)]
            cond = PriorCondition(labels=torch.full((n,), int(fitted["prior_label"][str(label)])))
            try:
                clip = generate_clips(prior, tokenizer, cond, tuple(fitted["input_shape"]), _sampling(p), gen)
            except Exception as exc:  # noqa: BLE001 - a failed batch is recorded, the shard goes on
                for s in names:
                    res.fail(s, f"generation/decoding failed: {type(exc).__name__}: {exc}")
                continue
            videos.append(clip)
            ids += names
        fvd_proto = FVDProtocol(num_frames=int(p["fvd_frames"]))
        for s in ids:
            res.samples.append({"id": s, "class": label, "repeat": r})
        net, reason = fvd_network(compute_device())
        if net is None:
            res.extras["fvd_unavailable"] = reason
        elif videos:
            res.extras["network"] = dict(net.provenance)
            clips = torch.cat(videos)
            if clips.shape[2] < fvd_proto.num_frames:
                res.extras["fvd_unavailable"] = (f"generated clips have {clips.shape[2]} frames, the FVD protocol "
                                                 f"reads {fvd_proto.num_frames}")
            else:
                path = feat_dir / f"gen_c{label}_r{r}.npy"
                np.save(path, fvd_features(clips, net, fvd_proto))
                res.extras["gen_features"] = str(path)
            if r == 0 and "fvd_unavailable" not in res.extras:
                cache = RealFeatureCache.for_fvd(net, fvd_proto, {"frames": int(p["frames"]), "size": int(p["size"]),
                                                                  "sampling": p["clip_sampling"]})
                real, ok = cache.values(
                    list(shard.files), lambda f: read_clip_tensor(f, int(p["frames"]), int(p["size"])),
                    on_error=lambda f, exc: res.fail(Path(f).stem, f"real clip unreadable: {exc}", str(f)))
                path = feat_dir / f"real_c{label}.npy"
                np.save(path, real)
                res.extras["real_features"] = str(path)
                res.extras["n_real"] = len(ok)
        res.extras.update({"class": label, "repeat": r})
        res.seconds = time.perf_counter() - t0
        return res

    # ------------------------------------------------------------------ reduce
    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        from benchmarks.metrics.fvd import FVDProtocol

        p = self.protocol
        fvd_proto = FVDProtocol(num_frames=int(p["fvd_frames"]))
        n_gen = sum(len(r.samples) for r in results)
        n_failed = sum(len(r.failures) for r in results)
        metrics = [_gfvd_metric(results, fvd_proto, n_gen, n_failed, fitted)]
        if fitted:
            metrics += [
                Metric("tokens", float(fitted["tokens_per_clip"]), int(fitted["train_sequences"]), unit="tokens",
                       note=f"visual tokens per {'x'.join(map(str, fitted['input_shape'][1:]))} clip "
                            f"(levels {fitted['layout']['level_shapes']}); <BOS>/<SEP> not counted"),
                Metric("generator params", fitted["generator_params"] / 1e6, int(fitted["train_sequences"]),
                       unit="M params", note=f"AR prior '{p['prior']}' ({fitted['head']} head)"),
                Metric("prior train NLL", float(fitted["train_loss_last"]), int(fitted["train_sequences"]),
                       unit="nats/token", higher_is_better=False,
                       note="mean of the last 10 training steps (teacher forcing, with condition dropout)",
                       extra={"first_step": fitted["train_loss_first"]}),
            ]
        return metrics


def _gfvd_metric(results, fvd_proto, n_gen, n_failed, fitted) -> Metric:
    from benchmarks.generation.pipeline import fvd_over_repeats
    from benchmarks.metrics.fvd import floor_note, real_vs_real_floor

    unavailable = [r.extras["fvd_unavailable"] for r in results if r.extras.get("fvd_unavailable")]
    if unavailable:
        return Metric("gFVD", None, n_gen, n_failed, higher_is_better=False, note=unavailable[0])
    gen: dict[int, list] = {}
    real = []
    for r in results:
        if r.extras.get("gen_features"):
            gen.setdefault(int(r.extras["repeat"]), []).append(np.load(r.extras["gen_features"]))
        if r.extras.get("real_features"):
            real.append(np.load(r.extras["real_features"]))
    if not gen or not real:
        return Metric("gFVD", None, n_gen, n_failed, higher_is_better=False,
                      note="no generated or no real features (every shard failed)")
    real_f = np.concatenate(real)
    try:
        out = fvd_over_repeats({k: np.concatenate(v) for k, v in gen.items()}, real_f, fvd_proto)
    except ValueError as exc:
        return Metric("gFVD", None, n_gen, n_failed, higher_is_better=False, note=f"FVD not computable: {exc}")
    network = next((r.extras["network"] for r in results if r.extras.get("network")), None)
    n_per = min(out["n_generated_per_repeat"].values())
    floor = real_vs_real_floor(real_f, fvd_proto)
    note = (f"{len(out['per_repeat'])} repeat(s) of {n_per} generated vs {out['n_real']} real train clips, "
            f"FVD on {fvd_proto.num_frames} frames") + floor_note(floor)
    if min(n_per, out["n_real"]) < fvd_proto.num_videos:
        note += f"; fewer than the protocol's {fvd_proto.num_videos} videos: biased upward, not comparable with the paper"
    return Metric("gFVD", out["mean"], n_gen, n_failed, higher_is_better=False, note=note,
                  extra={"std": out["std"], "per_repeat": out["per_repeat"],
                         "n_generated_per_repeat": out["n_generated_per_repeat"], "n_real": out["n_real"],
                         "fvd_protocol": fvd_proto.to_dict(), "real_vs_real_floor": floor,
                         "network": network})

