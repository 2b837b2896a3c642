"""Codebook studies: reconstruction vs codebook size (paper Figure 10, §4.3) and codebook utilisation vs input
resolution (Figure 29, App. C.4). Their tables and plots: :mod:`benchmarks.tables.figure10`,
:mod:`benchmarks.tables.figure29`, :mod:`benchmarks.visualization.codebook`.

Data: the WebVid-10M validation clips (``results_10M_val.csv`` + ``videos/``; the synthetic WebVid set by default),
read as the CI gate reads them (:func:`benchmarks.tools.ci_gate.synthetic_clips`): 9 frames centred in the video
(stride 1), short side resized to the protocol size, centre crop to a square; values in [-1, 1]; each clip's
caption is passed to the tokenizer (PyraTok tokenizes text-conditioned). :func:`benchmarks.tasks.clips.conform`
then trims/crops to the tokenizer's geometry (never pads or resizes) and the protocol record says what it did.

Figure 10 (:class:`CodebookSizeSweep`). The paper plots reconstruction and perceptual quality against codebook
size without printing the values or naming the dataset; we measure PSNR / SSIM (LPIPS when its ImageNet backbone
is available, else reported unavailable with the reason) on WebVid val for tiny PyraTok with K = 8, 12, 16 bits
(``pyratok-tiny-k8``, ``pyratok-tiny-k12``, ``pyratok-tiny``: the same recipe, only the LFQ width changes), plus
the pooled codebook utilisation, the vocabulary and the bits per code.

Figure 29 (:class:`CodebookUtilization`). "Percentage of active codewords" = distinct codes used over the whole
evaluation set / codebook size (:class:`pyratok.lfq.CodebookUsage`), per pyramid level and pooled over the levels
(they share one codebook, §3.2.2), for each input resolution. The paper goes 240p..4320p on the full model; the
tiny model is measured at 32, 64 and 128 px (square centre crops: resolution = frame height). A set of N tokens
can use at most min(N, 2^K) codes, so a small evaluation set cannot fill a 2^16 codebook: each utilisation is
reported beside that ceiling (``max_utilization@R``), and only the two together say anything.

Shard results carry code histograms as (ids, counts) lists — at most one entry per distinct code per stream — so
the reduce step can take unions across shards.
"""
from __future__ import annotations

import math
import time
from collections import Counter

import torch
from torch import Tensor

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.registry import register_benchmark
from benchmarks.tasks.clips import batched, conform

__all__ = ["CodebookSizeSweep", "CodebookUtilization", "CodeHistogram"]

FIGURE29_RESOLUTIONS = (32, 64, 128)


# --------------------------------------------------------------------------------------------- code histograms
class CodeHistogram:
    """Counts of token ids per code stream (pyramid level, RVQ depth, GVQ group), mergeable and JSON-able."""

    def __init__(self, num_streams: int = 0):
        self.streams: list[Counter] = [Counter() for _ in range(num_streams)]

    def add(self, tokens: list[Tensor]) -> None:
        """``tokens``: one integer tensor (any shape, e.g. ``(B, T', H', W')``) per stream."""
        while len(self.streams) < len(tokens):
            self.streams.append(Counter())
        for counter, t in zip(self.streams, tokens):
            ids, counts = torch.unique(t.reshape(-1).long(), return_counts=True)
            counter.update(dict(zip(ids.tolist(), counts.tolist())))

    def merge(self, other: "CodeHistogram") -> None:
        while len(self.streams) < len(other.streams):
            self.streams.append(Counter())
        for mine, theirs in zip(self.streams, other.streams):
            mine.update(theirs)

    def to_json(self) -> list[dict]:
        return [{"ids": sorted(c), "counts": [c[i] for i in sorted(c)]} for c in self.streams]

    @classmethod
    def from_json(cls, data: list[dict]) -> "CodeHistogram":
        h = cls(len(data))
        for counter, d in zip(h.streams, data):
            counter.update(dict(zip(d["ids"], d["counts"])))
        return h

    def usage(self, vocab_size: int, stream: int | None = None):
        """:class:`pyratok.lfq.CodebookUsage` of one stream (or pooled over all, ``stream=None``). For a vocabulary
        that is not a power of two (FSQ, RVQ 8000) the histogram has ``2^ceil(log2 V)`` bins; divide
        ``num_used`` by ``vocab_size``, not ``utilization``."""
        from pyratok.lfq import CodebookUsage

        usage = CodebookUsage(max(1, math.ceil(math.log2(vocab_size))))
        for counter in (self.streams if stream is None else [self.streams[stream]]):
            if counter:
                ids = torch.tensor(list(counter.keys()), dtype=torch.int64)
                counts = torch.tensor(list(counter.values()), dtype=torch.int64)
                if int(ids.max()) >= vocab_size or int(ids.min()) < 0:
                    raise ValueError(f"token id outside [0, {vocab_size}): [{int(ids.min())}, {int(ids.max())}]")
                usage.update(torch.repeat_interleave(ids, counts))
        return usage


def _utilization(hist: CodeHistogram, vocab: int, stream: int | None = None) -> dict:
    u = hist.usage(vocab, stream)
    tokens = u.num_tokens
    return {"utilization": u.num_used / vocab if tokens else None, "num_used": u.num_used, "tokens": tokens,
            "max_possible": min(tokens, vocab) / vocab, "perplexity": u.perplexity if tokens else None}


# --------------------------------------------------------------------------------------------- clips
def _webvid(data: DataSource, split: str):
    from benchmarks.datasets.webvid import WebVidDataset

    return WebVidDataset.from_root(data.path, split)


def _select(ds, max_samples) -> list:
    return ds.samples[:max_samples] if max_samples else list(ds.samples)


def _webvid_shards(bench: Benchmark, data: DataSource) -> list[Shard]:
    ds = _webvid(data, bench.protocol["split"])
    samples = _select(ds, bench.protocol["max_samples"])
    parts = chunk(samples, bench.shard_size)
    return [Shard(i, len(parts), tuple(s.sample_id for s in part),
                  (str(ds.csv_file),) + tuple(str(s.video_path) for s in part)) for i, part in enumerate(parts)]


def _shard_samples(bench: Benchmark, data: DataSource, shard: Shard, result: ShardResult) -> list:
    """The dataset samples of ``shard``; dataset rows that were left out are reported once (by shard 0)."""
    ds = _webvid(data, bench.protocol["split"])
    if shard.index == 0:
        for f in ds.failures:
            result.fail(f.sample_id, f"{f.field}: {f.reason}" if f.field else f.reason, f.file)
    by_id = {s.sample_id: s for s in ds.samples}
    out = []
    for sid in shard.items:
        if sid in by_id:
            out.append(by_id[sid])
        else:
            result.fail(sid, "sample listed in the shard is no longer in the CSV", str(ds.csv_file))
    return out


def _load_clip(sample, frames: int, size: int, constraints) -> tuple[Tensor, dict]:
    """(3, T, H, W) in [-1, 1]: ``frames`` centred frames, short side -> ``size``, centre square, then conformed."""
    from pyratok.data.video import frames_to_tensor

    clip = frames_to_tensor(sample.load_clip(frames, stride=1, mode="center", size=size, crop="center"))
    clip, geometry = conform(clip[None], constraints)
    return clip[0], geometry


def _loaded(samples: list, frames: int, size: int, tokenizer, result: ShardResult, tag: str = "") -> tuple[list, dict]:
    """[(sample, clip)] for the samples that decode; the others become failures. Also the conformed geometry."""
    from pyratok.data.errors import SampleDecodeError

    out, geometry = [], {}
    for s in samples:
        try:
            clip, geometry = _load_clip(s, frames, size, tokenizer.input_constraints)
        except SampleDecodeError as err:
            result.fail(s.sample_id, tag + err.reason, err.file)
            continue
        except ValueError as err:  # too short / too small for the tokenizer's geometry
            result.fail(s.sample_id, tag + str(err), str(s.video_path))
            continue
        out.append((s, clip))
    return out, geometry


def _encode_groups(tokenizer, loaded: list, batch_size: int, result: ShardResult, decode: bool, tag: str = ""):
    """Yield (pairs, video, encoding, recon or None) per batch; a batch that fails is retried clip by clip so one
    bad clip becomes one failure."""
    for group in batched(loaded, batch_size):
        try:
            video = torch.stack([c for _, c in group])
            enc = tokenizer.encode(video, [s.caption for s, _ in group])
            yield group, video, enc, (tokenizer.decode(enc) if decode else None)
            continue
        except Exception as err:  # noqa: BLE001 - retried per clip below, then recorded
            if len(group) == 1:
                s = group[0][0]
                result.fail(s.sample_id, f"{tag}{type(err).__name__}: {err}", str(s.video_path))
                continue
        for pair in group:
            yield from _encode_groups(tokenizer, [pair], 1, result, decode, tag)


# --------------------------------------------------------------------------------------------- Figure 10
@register_benchmark("codebook-size",
                    "reconstruction vs LFQ codebook size (Figure 10)")
class CodebookSizeSweep(Benchmark):
    """Reconstruction (PSNR / SSIM / LPIPS) and codebook utilisation vs LFQ codebook size (Figure 10)."""

    dataset = "webvid"
    paper_name = "WebVid-10M"
    table = "figure10"
    task = "reconstruction"
    requires = ("decode", "tokens")
    protocol = {"version": "1", "split": "val", "frames": 9, "size": 64, "frame_stride": 1, "crop": "center",
                "texts": "caption", "value_range": "[-1, 1]; PSNR/SSIM on [0, 1] (x + 1) / 2", "lpips": "alex",
                "batch_size": 4, "max_samples": None}
    shard_size = 8

    def shards(self, data: DataSource) -> list[Shard]:
        return _webvid_shards(self, data)

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from pyratok.perceptual import build_lpips, lpips_status
        from pyratok.train.evaluate import clip_psnr_ssim
        from pyratok.image_quality import video_to_frames
        from adapters.base import bits_per_pixel

        t0 = time.time()
        p = self.protocol
        result = ShardResult()
        samples = _shard_samples(self, data, shard, result)
        loaded, geometry = _loaded(samples, p["frames"], p["size"], tokenizer, result)
        ok, why = lpips_status(p["lpips"]) if p["lpips"] else (False, "LPIPS switched off by the protocol")
        lp = build_lpips(p["lpips"]) if ok else None
        hist = CodeHistogram()
        for group, video, enc, recon in _encode_groups(tokenizer, loaded, p["batch_size"], result, decode=True):
            ps, ss = clip_psnr_ssim(recon, video)
            lps = None
            if lp is not None:
                with torch.no_grad():
                    b, t = video.shape[0], video.shape[2]
                    lps = lp(video_to_frames(recon.clamp(-1, 1)), video_to_frames(video)).view(b, t).mean(1)
            bpp = bits_per_pixel(tokenizer.bits(enc), enc.input_shape)
            hist.add(enc.tokens)
            for i, (s, _) in enumerate(group):
                row = {"id": s.sample_id, "psnr": float(ps[i]), "ssim": float(ss[i]), "bpp": float(bpp[i]),
                       "tokens": sum(int(t[i].numel()) for t in enc.tokens)}
                if lps is not None:
                    row["lpips"] = float(lps[i])
                result.samples.append(row)
        result.extras = {"vocab_size": int(tokenizer.vocab_size), "codes": hist.to_json(), "geometry": geometry,
                         "lpips_unavailable": None if ok else why}
        result.seconds = time.time() - t0
        return result

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        rows = [r for res in results for r in res.samples]
        failed = sum(len(res.failures) for res in results)
        n = len(rows)
        vocab = next((res.extras.get("vocab_size") for res in results if res.extras.get("vocab_size")), None)
        why_lpips = next((res.extras["lpips_unavailable"] for res in results if res.extras.get("lpips_unavailable")),
                         None)

        def mean(key, name=None, missing_note="no clip could be scored", **kw) -> Metric:
            vals = [r[key] for r in rows if r.get(key) is not None]
            if not vals or len(vals) < n:  # a mean over a subset would not be the benchmark's number
                return Metric(name or key, None, len(vals), failed, note=missing_note, **kw)
            return Metric(name or key, float(sum(vals) / len(vals)), n, failed, **kw)

        out = [mean("psnr", unit="dB", higher_is_better=True),
               mean("ssim", higher_is_better=True),
               mean("lpips", higher_is_better=False,
                    missing_note=f"LPIPS unavailable: {why_lpips}" if why_lpips else "no clip could be scored"),
               mean("bpp", unit="bits/pixel"),
               mean("tokens", "tokens_per_clip", unit="tokens/clip")]
        if vocab is None:
            return out + [Metric(m, None, 0, failed, note="no shard reported a vocabulary (no clip scored)")
                          for m in ("vocab", "codebook_bits", "utilization")]
        hist = CodeHistogram()
        for res in results:
            hist.merge(CodeHistogram.from_json(res.extras.get("codes", [])))
        u = _utilization(hist, vocab)
        out += [Metric("vocab", float(vocab), n, failed, unit="codes"),
                Metric("codebook_bits", math.log2(vocab), n, failed, unit="bits"),
                Metric("utilization", u["utilization"], n, failed, unit="fraction",
                       note=(f"{u['num_used']} of {vocab} codes used by {u['tokens']} tokens (all levels pooled); "
                             f"at most {u['max_possible']:.4f} possible with that many tokens"),
                       extra={k: u[k] for k in ("num_used", "tokens", "max_possible", "perplexity")})]
        return out


# --------------------------------------------------------------------------------------------- Figure 29
@register_benchmark("codebook-utilization",
                    "codebook utilisation vs input resolution (Figure 29)")
class CodebookUtilization(Benchmark):
    """Fraction of the codebook used, per level and pooled, vs input resolution (Figure 29)."""

    dataset = "webvid"
    paper_name = "WebVid-10M"
    table = "figure29"
    task = "codebook"
    requires = ("tokens",)
    protocol = {"version": "1", "split": "val", "frames": 9, "resolutions": list(FIGURE29_RESOLUTIONS),
                "frame_stride": 1, "crop": "center", "texts": "caption", "batch_size": 4, "max_samples": None}
    shard_size = 8

    def shards(self, data: DataSource) -> list[Shard]:
        return _webvid_shards(self, data)

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        t0 = time.time()
        p = self.protocol
        result = ShardResult()
        samples = _shard_samples(self, data, shard, result)
        per_sample: dict[str, dict] = {s.sample_id: {"id": s.sample_id} for s in samples}
        codes, geometries = {}, {}
        for res in p["resolutions"]:
            tag = f"at {res}px: "
            loaded, geometries[str(res)] = _loaded(samples, p["frames"], int(res), tokenizer, result, tag)
            hist = CodeHistogram()
            for group, _, enc, _ in _encode_groups(tokenizer, loaded, p["batch_size"], result, False, tag):
                hist.add(enc.tokens)
                for i, (s, _) in enumerate(group):
                    per_sample[s.sample_id][f"tokens@{res}"] = sum(int(t[i].numel()) for t in enc.tokens)
            codes[str(res)] = hist.to_json()
        result.samples = [r for r in per_sample.values() if len(r) > 1]
        result.extras = {"vocab_size": int(tokenizer.vocab_size), "codes": codes, "geometry": geometries}
        result.seconds = time.time() - t0
        return result

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        failed = sum(len(res.failures) for res in results)
        vocab = next((res.extras.get("vocab_size") for res in results if res.extras.get("vocab_size")), None)
        out: list[Metric] = []
        for res in self.protocol["resolutions"]:
            key = str(res)
            n = sum(1 for r in results for s in r.samples if f"tokens@{res}" in s)
            n_fail = sum(1 for r in results for f in r.failures if str(f.get("reason", "")).startswith(f"at {res}px"))
            if vocab is None or n == 0:
                out.append(Metric(f"utilization@{res}", None, n, n_fail, unit="fraction",
                                  note="no clip could be tokenized at this resolution"))
                continue
            hist = CodeHistogram()
            for r in results:
                hist.merge(CodeHistogram.from_json(r.extras.get("codes", {}).get(key, [])))
            pooled = _utilization(hist, vocab)
            levels = [_utilization(hist, vocab, i) for i in range(len(hist.streams))]
            extra = {"resolution": int(res), "vocab": vocab, "num_used": pooled["num_used"],
                     "tokens": pooled["tokens"], "max_possible": pooled["max_possible"],
                     "levels": [{k: lv[k] for k in ("utilization", "num_used", "tokens", "max_possible")}
                                for lv in levels]}
            note = (f"{pooled['num_used']} of {vocab} codes used by {pooled['tokens']} tokens from {n} clips at "
                    f"{res}x{res} (levels pooled: one shared codebook). With {pooled['tokens']} tokens at most "
                    f"{pooled['max_possible']:.4f} of the codebook can be used: compare with max_utilization@{res}, "
                    "not with the paper's full-resolution percentages.")
            out.append(Metric(f"utilization@{res}", pooled["utilization"], n, n_fail, unit="fraction",
                              note=note, extra=extra))
            out.append(Metric(f"max_utilization@{res}", pooled["max_possible"], n, n_fail, unit="fraction",
                              note="min(tokens, vocab) / vocab: the largest fraction this many tokens can use",
                              extra={"resolution": int(res)}))
            for i, lv in enumerate(levels):
                out.append(Metric(f"utilization@{res}/level{i + 1}", lv["utilization"], n, n_fail, unit="fraction",
                                  note=f"{lv['num_used']} codes in {lv['tokens']} tokens; at most "
                                       f"{lv['max_possible']:.4f} possible",
                                  extra={"resolution": int(res), "level": i + 1,
                                         "max_possible": lv["max_possible"]}))
            out.append(Metric(f"perplexity@{res}", pooled["perplexity"], n, n_fail, unit="codes",
                              note="exp(entropy of the pooled code frequencies)", extra={"resolution": int(res)}))
            out.append(Metric(f"tokens@{res}", pooled["tokens"] / n, n, n_fail, unit="tokens/clip",
                              extra={"resolution": int(res)}))
        if failed and not out:
            out.append(Metric("utilization", None, 0, failed, note="every clip failed"))
        return out
