"""Text-to-video generation on WebVid with an autoregressive prior over the tokenizer's codes: FVD and TC (paper
Table 2, App. B.4 / B.6).

Paper: the T2V generator "treat[s] the text encoder of Qwen-2.5VL as a frozen condition network and fine-tune[s]
its video decoder to autoregressively predict PyraTok codes" (B.4); Table 2 compares base models "✗ PyraTok"
(their native tokenizer) with "✓ PyraTok" (the same prior re-trained on PyraTok codes, B.6), scored by FVD (↓) and
TC (↑) on WebVid-10M. Here the base model is one AR prior (:mod:`benchmarks.generation`) with a caption prefix
from the frozen MiniLM text encoder (the offline default; ``text_encoder="qwen2.5-vl"`` with
``text_encoder_path`` uses the paper's encoder from a local directory), trained on the captioned clips of the
WebVid *train* CSV; a tokenizer's row is that prior on its codes, so "✗ PyraTok" rows are the prior on a baseline
tokenizer's codes and the "✓ PyraTok" row is the prior on PyraTok's.

Protocol:

* clips: ``frames`` consecutive centre frames at ``size x size`` (short side + centre crop); a causal tokenizer
  reads ``1 + 4k`` frames (:func:`benchmarks.tasks.clips.conform`); the tokenizer encodes each clip *with its
  caption* (PyraTok's quantization is text-guided; the caption is part of the data);
* generation: ``samples_per_caption`` clips for each caption of the *val* CSV, ``repeats`` independent runs;
* **FVD**: I3D Kinetics-400 logits (:mod:`benchmarks.metrics.fvd`) of the generated clips against the real val
  clips of the same captions, first ``fvd_frames`` frames; mean over repeats, std in ``extra``;
* **TC**: the mean cosine similarity between consecutive frames' embeddings (per-frame I3D ``Mixed_5c`` of a
  static clip; the definition and why are in :mod:`benchmarks.generation.features`), averaged over generated
  clips, in [0, 1] (tables print x 100). The paper does not define TC and prints values of 185-246, so the scales
  are not comparable; the same score on the real val clips (``TC real clips``) is reported as the reference.

Without the I3D weights FVD and TC are reported unavailable with the reason. Paper geometry
(:data:`PAPER_PROTOCOL`): the paper states none for Table 2; we use the UCF-101 geometry (17 x 128 x 128, FVD on
16 frames). Embedded default: the synthetic WebVid (16 train / 4 val captions), 9 x 64 x 64, the tiny prior.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.registry import register_benchmark

__all__ = ["WebVidTextToVideo", "PAPER_PROTOCOL"]

PAPER_PROTOCOL = {"frames": 17, "size": 128, "fvd_frames": 16, "prior": "paper", "text_len": 77}

_TEXT_ENCODERS: dict = {}


def _text_encoder(name: str, path: str | None, max_length: int):
    key = (name, path, max_length)
    if key not in _TEXT_ENCODERS:
        from pyratok.text import build_text_encoder

        _TEXT_ENCODERS.clear()
        _TEXT_ENCODERS[key] = build_text_encoder(name, path=path, max_length=max_length)
    return _TEXT_ENCODERS[key]


def caption_condition(captions: list[str], protocol: dict, text_len: int):
    """Captions -> :class:`~benchmarks.generation.prior.PriorCondition` (frozen text encoder, packed window)."""
    from benchmarks.generation.prior import PriorCondition, pack_text

    enc = _text_encoder(protocol["text_encoder"], protocol.get("text_encoder_path") or None, text_len)
    emb = enc(list(captions))
    tokens, mask = pack_text(emb.tokens.float().cpu(), emb.mask.cpu(), text_len)
    return PriorCondition(text_tokens=tokens, text_mask=mask), int(emb.tokens.shape[-1])


@register_benchmark("webvid-t2v",
                    "text-to-video on WebVid with an AR prior over tokens: FVD, TC (Table 2)")
class WebVidTextToVideo(Benchmark):
    needs_i3d = True
    dataset = "webvid"
    paper_name = "WebVid-10M"
    table = "table2"
    task = "generation"
    requires = ("tokens", "decode")
    shard_size = 8
    protocol = {
        "version": "1",
        "frames": 9,                 # tiny PyraTok geometry (paper protocol: 17)
        "size": 64,                  # (paper protocol: 128)
        "clip_sampling": "center",
        "fvd_frames": 9,             # (paper protocol: 16)
        "samples_per_caption": 1,
        "repeats": 1,
        "max_train": 0,              # train captions/clips for the prior (0: all)
        "max_val": 0,                # val captions to generate from (0: all)
        "encode_with_captions": True,
        "text_encoder": "minilm",    # frozen condition network (paper: Qwen2.5-VL's text encoder)
        "text_encoder_path": "",
        "text_len": 32,              # caption window of the prior (paper protocol: 77)
        "tc": True,                  # compute TC (one I3D pass per frame)
        "tc_reference": True,        # TC of the real val clips as the reference
        "tc_max_frames": 0,          # TC over the first N frames of each clip (0: all)
        "prior": "tiny",
        "prior_steps": 0,
        "temperature": 1.0,
        "top_k": 0,
        "guidance": 1.0,
        "generation_batch": 8,
        "encode_batch": 4,
        "seed": 0,
    }

    # ------------------------------------------------------------------ data
    def _split(self, data: DataSource, split: str, cap_key: str):
        from benchmarks.datasets.webvid import WebVidDataset

        ds = WebVidDataset.from_root(data.path, split)
        n = int(self.protocol[cap_key] or 0)
        return ds, (list(ds.samples)[:n] if n > 0 else list(ds.samples))

    def fit_files(self, data: DataSource) -> list[str]:
        ds, samples = self._split(data, "train", "max_train")
        return [str(ds.csv_file)] + [str(s.video_path) for s in samples]

    def shards(self, data: DataSource) -> list[Shard]:
        _, samples = self._split(data, "val", "max_val")
        repeats = int(self.protocol["repeats"])
        if repeats < 1:
            raise ValueError(f"{self.name}: repeats must be >= 1, got {repeats}")
        groups = chunk(samples, self.shard_size) if samples else []
        out = []
        for r in range(repeats):
            for group in groups:
                items = tuple({"id": s.sample_id, "caption": s.caption, "path": str(s.video_path), "repeat": r}
                              for s in group)
                out.append(Shard(len(out), len(groups) * repeats, items, tuple(str(s.video_path) for s in group)))
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict:
        from benchmarks.generation.pipeline import (encode_clips, fit_key, fit_prior, load_fit_state,
                                                    prior_config, save_fit_state)

        out_dir = Path(out_dir)
        key = fit_key(self, tokenizer)
        state = load_fit_state(out_dir, key)
        if state is not None:
            return state
        t0 = time.perf_counter()
        p = self.protocol
        ds, samples = self._split(data, "train", "max_train")
        if not samples:
            raise ValueError(f"{self.name}: no train clips in {ds.csv_file}")
        captions = [s.caption for s in samples]
        encoded = encode_clips(tokenizer, [str(s.video_path) for s in samples], int(p["frames"]), int(p["size"]),
                               texts=captions if p["encode_with_captions"] else None,
                               batch_size=int(p["encode_batch"]), ids=[s.sample_id for s in samples])
        cfg = prior_config(p)
        cond, text_dim = caption_condition([captions[i] for i in encoded.kept], p, cfg.text_len)
        trained = fit_prior(tokenizer, encoded, cond, "text", out_dir, cfg, text_dim=text_dim)
        failures = encoded.failures + [{"sample": f.sample_id, "file": f.file, "reason": f.reason}
                                       for f in ds.failures]
        state = {"key": key, "out_dir": str(out_dir), **trained, "input_shape": list(encoded.input_shape),
                 "conform": encoded.conform, "layout": encoded.layout.to_dict(),
                 "tokens_per_clip": encoded.layout.num_visual, "prior_config": cfg.to_dict(), "failures": failures,
                 "fit_seconds": round(time.perf_counter() - t0, 2)}
        return save_fit_state(out_dir, state)

    # ------------------------------------------------------------------ shards
    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from benchmarks.generation.features import fvd_features, fvd_network, frame_features, temporal_consistency
        from benchmarks.generation.pipeline import cached_prior, compute_device, generate_clips, shard_seed
        from benchmarks.generation.prior import PriorConfig
        from benchmarks.metrics.fvd import FVDProtocol

        if not fitted:
            raise ValueError(f"{self.name}: run_shard needs the state returned by fit()")
        t0 = time.perf_counter()
        p = self.protocol
        res = ShardResult()
        items = list(shard.items)
        r = int(items[0]["repeat"]) if items else 0
        feat_dir = Path(fitted["out_dir"]) / "features"
        feat_dir.mkdir(parents=True, exist_ok=True)
        prior = cached_prior(fitted["prior_dir"])
        text_len = PriorConfig.from_dict(fitted["prior_config"]).text_len
        gen = torch.Generator(device=next(prior.parameters()).device)
        gen.manual_seed(shard_seed(self.name, p["seed"], shard.index, r))
        per = int(p["samples_per_caption"])
        jobs = [(it, k) for it in items for k in range(per)]
        videos, names = [], []
        bs = max(1, int(p["generation_batch"]))
        for start in range(0, len(jobs), bs):
            part = jobs[start:start + bs]
            ids = [f"{it['id']}-r{r}-{k}" for it, k in part]
            try:
                cond, _ = caption_condition([it["caption"] for it, _ in part], p, text_len)
                clip = generate_clips(prior, tokenizer, cond, tuple(fitted["input_shape"]),
                                      {k: p[k] for k in ("temperature", "top_k", "guidance")}, gen)
            except Exception as exc:  # noqa: BLE001 - a failed batch is recorded, the shard goes on
                for s in ids:
                    res.fail(s, f"generation/decoding failed: {type(exc).__name__}: {exc}")
                continue
            videos.append(clip)
            names += ids
        samples = [{"id": s, "repeat": r} for s in names]
        res.samples = samples
        res.extras["repeat"] = r
        fvd_proto = FVDProtocol(num_frames=int(p["fvd_frames"]))
        net, reason = fvd_network(compute_device())
        if net is None:
            res.extras["fvd_unavailable"] = reason
            res.extras["tc_unavailable"] = reason.replace("FVD unavailable", "TC unavailable", 1)
        elif videos:
            res.extras["network"] = dict(net.provenance)
            clips = torch.cat(videos)
            if clips.shape[2] < fvd_proto.num_frames:
                res.extras["fvd_unavailable"] = (f"generated clips have {clips.shape[2]} frames, the FVD protocol "
                                                 f"reads {fvd_proto.num_frames}")
            else:
                path = feat_dir / f"gen_s{shard.index}_r{r}.npy"
                np.save(path, fvd_features(clips, net, fvd_proto))
                res.extras["gen_features"] = str(path)
            if p["tc"]:
                try:
                    n_tc = int(p["tc_max_frames"]) or clips.shape[2]
                    tc = temporal_consistency(frame_features(clips[:, :, :n_tc], net)).tolist()
                    for s, v in zip(samples, tc):
                        s["tc"] = float(v)
                except ValueError as exc:
                    res.extras["tc_unavailable"] = f"TC unavailable: {exc}"
            if r == 0:
                self._real(res, shard, net, fvd_proto, feat_dir)
        res.seconds = time.perf_counter() - t0
        return res

    def _real(self, res: ShardResult, shard: Shard, net, fvd_proto, feat_dir: Path) -> None:
        """Real val clips of this shard: FVD features and, optionally, TC (both cached across tokenizers)."""
        from benchmarks.generation.features import RealFeatureCache
        from benchmarks.generation.pipeline import read_clip_tensor

        p = self.protocol
        frames, size = int(p["frames"]), int(p["size"])
        clip_key = {"frames": frames, "size": size, "sampling": p["clip_sampling"]}

        def read(f):
            return read_clip_tensor(f, frames, size)

        def failed(path, exc):
            res.fail(Path(path).stem, f"real clip unreadable: {exc}", str(path))

        real, _ = RealFeatureCache.for_fvd(net, fvd_proto, clip_key).values(list(shard.files), read,
                                                                             on_error=failed)
        path = feat_dir / f"real_s{shard.index}.npy"
        np.save(path, real)
        res.extras["real_features"] = str(path)
        if p["tc"] and p["tc_reference"] and "tc_unavailable" not in res.extras:
            tc, _ = RealFeatureCache.for_tc(net, clip_key, int(p["tc_max_frames"])).values(
                list(shard.files), read, on_error=lambda *_: None)  # unreadable clips are recorded above
            res.extras["tc_real"] = [float(v) for v in tc.reshape(-1)]

    # ------------------------------------------------------------------ reduce
    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        from benchmarks.generation.pipeline import fvd_over_repeats
        from benchmarks.metrics.fvd import floor_note, real_vs_real_floor
        from benchmarks.metrics.fvd import FVDProtocol

        p = self.protocol
        fvd_proto = FVDProtocol(num_frames=int(p["fvd_frames"]))
        n_gen = sum(len(r.samples) for r in results)
        n_failed = sum(len(r.failures) for r in results)
        network = next((r.extras["network"] for r in results if r.extras.get("network")), None)
        metrics = []
        # ---- FVD
        unavailable = [r.extras["fvd_unavailable"] for r in results if r.extras.get("fvd_unavailable")]
        gen: dict[int, list] = {}
        real = [np.load(r.extras["real_features"]) for r in results if r.extras.get("real_features")]
        for r in results:
            if r.extras.get("gen_features"):
                gen.setdefault(int(r.extras["repeat"]), []).append(np.load(r.extras["gen_features"]))
        if unavailable:
            metrics.append(Metric("FVD", None, n_gen, n_failed, higher_is_better=False, note=unavailable[0]))
        elif not gen or not real:
            metrics.append(Metric("FVD", None, n_gen, n_failed, higher_is_better=False,
                                  note="no generated or no real features (every shard failed)"))
        else:
            try:
                out = fvd_over_repeats({k: np.concatenate(v) for k, v in gen.items()}, np.concatenate(real),
                                       fvd_proto)
                n_per = min(out["n_generated_per_repeat"].values())
                floor = real_vs_real_floor(np.concatenate(real), fvd_proto)
                note = (f"{len(out['per_repeat'])} repeat(s) of {n_per} generated vs {out['n_real']} real val "
                        f"clips, FVD on {fvd_proto.num_frames} frames") + floor_note(floor)
                if min(n_per, out["n_real"]) < fvd_proto.num_videos:
                    note += (f"; fewer than the protocol's {fvd_proto.num_videos} videos: biased upward, not "
                             "comparable with the paper")
                metrics.append(Metric("FVD", out["mean"], n_gen, n_failed, higher_is_better=False, note=note,
                                      extra={"std": out["std"], "per_repeat": out["per_repeat"],
                                             "n_generated_per_repeat": out["n_generated_per_repeat"],
                                             "n_real": out["n_real"], "fvd_protocol": fvd_proto.to_dict(),
                                             "real_vs_real_floor": floor, "network": network}))
            except ValueError as exc:
                metrics.append(Metric("FVD", None, n_gen, n_failed, higher_is_better=False,
                                      note=f"FVD not computable: {exc}"))
        # ---- TC
        from benchmarks.generation.features import TC_NETWORK

        tc_note = ("mean cosine similarity of consecutive frames' embeddings (" + TC_NETWORK + "); the paper does "
                   "not define TC and prints values of 185-246: not comparable")
        tc = [s["tc"] for r in results for s in r.samples if "tc" in s]
        tc_off = next((r.extras["tc_unavailable"] for r in results if r.extras.get("tc_unavailable")), None)
        if not p["tc"]:
            metrics.append(Metric("TC", None, n_gen, n_failed, higher_is_better=True,
                                  note="TC not computed (protocol tc = False)"))
        elif tc_off or not tc:
            metrics.append(Metric("TC", None, n_gen, n_failed, higher_is_better=True,
                                  note=tc_off or "no generated clip was scored"))
        else:
            metrics.append(Metric("TC", float(np.mean(tc)), len(tc), n_failed, higher_is_better=True, note=tc_note,
                                  extra={"std_over_clips": float(np.std(tc, ddof=1)) if len(tc) > 1 else None,
                                         "tc_frames": int(p["tc_max_frames"]) or (
                                             int(fitted["input_shape"][1]) if fitted else None)}))
            tc_real = [v for r in results for v in r.extras.get("tc_real", [])]
            if tc_real:
                metrics.append(Metric("TC real clips", float(np.mean(tc_real)), len(tc_real), higher_is_better=True,
                                      note="TC of the real val clips (the reference for TC); " + tc_note))
        if fitted:
            metrics += [
                Metric("tokens", float(fitted["tokens_per_clip"]), int(fitted["train_sequences"]), unit="tokens",
                       note=f"visual tokens per {'x'.join(map(str, fitted['input_shape'][1:]))} clip"),
                Metric("generator params", fitted["generator_params"] / 1e6, int(fitted["train_sequences"]),
                       unit="M params", note=f"AR prior '{p['prior']}' ({fitted['head']} head), text encoder "
                                             f"{p['text_encoder']} (frozen, not counted)"),
                Metric("prior train NLL", float(fitted["train_loss_last"]), int(fitted["train_sequences"]),
                       unit="nats/token", higher_is_better=False,
                       note="mean of the last 10 training steps (teacher forcing, with condition dropout)",
                       extra={"first_step": fitted["train_loss_first"]}),
            ]
        return metrics
