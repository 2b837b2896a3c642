"""Video compression on MCL-JCV at matched bits per pixel (paper Table 7, App. C.1).

The paper reports PSNR / SSIM / LPIPS "at 0.034 bitrate" on MCL-JCV and compares PyraTok with HEVC, VCC, MAGVIT,
MAGVIT-v2 and 3D-MBQ-VAE. It states neither the unit of 0.034, nor the resolution, clip length or crop. What we fix
(protocol version ``1``; every field is overridable and is written into every record):

* **Data**: MCL-JCV's raw ``videoSRC<NN>_<W>x<H>_<fps>.yuv`` sources (:mod:`benchmarks.datasets.mcl_jcv`),
  converted to RGB with BT.709 limited range (the HD convention; the files carry no tag).
* **Clips**: ``clips_per_source`` non-overlapping clips of ``frames`` (17 = 1 + 4k, the causal-VAE contract)
  consecutive frames per source, from ``start_frame``; each frame resized so its short side is ``size`` (bicubic)
  and centre-cropped to ``size x size`` (64: the tiny PyraTok's training resolution). A tokenizer that needs another
  geometry gets the largest valid sub-clip (:func:`benchmarks.tasks.clips.conform`: trailing frames trimmed, centre
  crop), and the metrics are computed on exactly that sub-clip.
* **Rate**: bits per pixel, ``bpp = bits / (T x H x W)`` (per frame pixel, the unit learned-compression papers use;
  we read the paper's 0.034 as bpp). A discrete tokenizer's bits are fixed: ``tokens x log2(vocab)`` (no entropy
  coding, the paper's convention); a codec's are the actual bitstream bits (:mod:`adapters.codecs`: packet bytes
  x 8, container framing excluded).
* **Matched rate**: the codecs code every clip at the bpp of a reference tokenizer, ``target_bpp`` =
  ``"match:<name>"`` (default ``match:pyratok-tiny``) or a number. Because the runner runs tokenizers
  independently, ``match:<name>`` is resolved deterministically from the reference's *architecture*: its token
  count at the protocol geometry does not depend on its weights, so we build it with ``init="random"`` where its
  factory offers that (no training, ~2 s) and encode one dummy clip of the protocol geometry (after conforming it
  to the reference's constraints). At 17x64x64 the tiny PyraTok emits 9x4x4 + 5x4x4 + 5x2x2 + 3x2x2 = 256 tokens
  x 16 bits = 4,096 bits, i.e. **0.0588 bpp** (a test checks this by hand). Each codec then searches its constant-quality parameter
  per clip for the best quality with ``bits <= target`` (:func:`adapters.codecs.encode_at_bits`); a clip the codec
  cannot code that cheaply is a per-sample failure with that reason (it would not be a matched point). The ``bpp``
  metric is the mean **actual** bpp, for every tokenizer.
* **Metrics**, RGB in ``[0, 1]`` (the project's convention, :mod:`pyratok.train.evaluate`; the paper does not say
  RGB or Y): PSNR (protocol 2) = the mean of per-frame PSNRs (each over a frame's pixels and RGB channels), then the
  mean over clips; the per-clip-MSE variant (one PSNR over all of a clip's pixels, frames and channels: protocol
  1's ``psnr``) is recorded beside it as ``psnr_clip_mse``. Each mean metric's record carries ``extra["ci95"]``
  (percentile bootstrap over clips, seed 0, 2000 resamples) and ``extra["conventions"]``. SSIM per frame
  (:func:`pyratok.image_quality.ssim`, scikit-image's Gaussian-window SSIM on RGB), mean over frames, then clips;
  LPIPS (AlexNet, inputs in ``[-1, 1]``) per frame, mean over frames, then clips — unavailable, with the reason,
  when the ImageNet backbone weights are not on disk (:mod:`pyratok.perceptual`); never substituted.

Applies to tokenizers with a rate: discrete tokenizers and codecs (``requires = ("decode", "bits")``).
"""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.registry import register_benchmark
from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
from benchmarks.datasets.mcl_jcv import open_yuv, read_yuv_rgb
from benchmarks.metrics.uncertainty import interval_dict
from benchmarks.tasks.clips import conform
from benchmarks.tasks.reconstruction import CONVENTIONS, frame_psnr

__all__ = ["MCLJCVCompression", "resolve_target_bpp", "reference_bpp", "clip_quality"]

BENCHMARK = "mcl-jcv-compression"


def clip_quality(recon: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """``recon, target`` ``(B, 3, T, H, W)`` in [-1, 1] -> per-clip PSNR (dB) and SSIM, each ``(B,)``, on RGB
    mapped to [0, 1]: PSNR over all of a clip's values, SSIM averaged over its frames."""
    from pyratok.image_quality import psnr, ssim, video_to_frames

    r = ((recon.float().clamp(-1, 1) + 1) / 2)
    t = ((target.float().clamp(-1, 1) + 1) / 2)
    b, n = r.shape[0], r.shape[2]
    p = torch.stack([psnr(r[i:i + 1], t[i:i + 1]) for i in range(b)])
    s = ssim(video_to_frames(r), video_to_frames(t), data_range=1.0, reduction="none").view(b, n).mean(1)
    return p, s


@lru_cache(maxsize=1)
def _lpips():
    """(model or None, reason) — built once per process."""
    from pyratok.perceptual import build_lpips, lpips_status

    ok, reason = lpips_status("alex")
    return (build_lpips("alex") if ok else None), reason


def clip_lpips(recon: Tensor, target: Tensor) -> Tensor | None:
    """Per-clip LPIPS (AlexNet) ``(B,)``: per frame on [-1, 1], mean over frames; None when unavailable."""
    model, _ = _lpips()
    if model is None:
        return None
    from pyratok.image_quality import video_to_frames

    b, n = recon.shape[0], recon.shape[2]
    with torch.no_grad():
        d = model(video_to_frames(recon.float().clamp(-1, 1)), video_to_frames(target.float().clamp(-1, 1)))
    return d.view(b, n).mean(1)


# ---------------------------------------------------------------------------------------------- the target rate
def _architecture(name: str):
    """The reference tokenizer with untrained weights when its factory offers ``init="random"`` (token counts do
    not depend on weights), else as registered. Returns (tokenizer, how it was built)."""
    from adapters import build_tokenizer

    try:
        return build_tokenizer(name, init="random"), f"{name} architecture (init=random: token count only)"
    except TypeError as err:  # the factory has no init option (e.g. a codec): build it as registered
        if "unknown option" not in str(err) and "unexpected keyword" not in str(err):
            raise
        return build_tokenizer(name), f"{name} as registered"


@lru_cache(maxsize=16)
def reference_bpp(name: str, frames: int, height: int, width: int) -> tuple[float, dict]:
    """Bits per pixel of tokenizer ``name`` on a ``frames x height x width`` clip (conformed to its geometry):
    ``bits / (T' x H' x W')`` of one encode of a zero clip. Returns (bpp, provenance)."""
    tok, how = _architecture(name)
    if tok.kind != "discrete":
        raise ValueError(f"target_bpp 'match:{name}': {name} is a {tok.kind} tokenizer; the matched rate must come "
                         "from a discrete tokenizer (fixed tokens x log2(vocab) bits)")
    clip, geo = conform(torch.zeros(1, 3, frames, height, width), tok.input_constraints)
    enc = tok.encode(clip)
    bits = float(tok.bits(enc)[0])
    t, h, w = clip.shape[2:]
    return bits / (t * h * w), {"reference": name, "built_as": how, "reference_bits": bits,
                                "reference_geometry": [t, h, w], "vocab_size": tok.vocab_size}


def resolve_target_bpp(protocol: dict) -> tuple[float, dict]:
    """The codecs' target bpp from ``protocol["target_bpp"]`` (a positive number, or ``"match:<name>"``)."""
    value = protocol["target_bpp"]
    size, frames = int(protocol["size"]), int(protocol["frames"])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not value > 0:
            raise ValueError(f"{BENCHMARK}: target_bpp must be positive, got {value}")
        return float(value), {"rule": "number"}
    if isinstance(value, str) and value.startswith("match:") and value[6:].strip():
        bpp, info = reference_bpp(value[6:].strip(), frames, size, size)
        return bpp, {"rule": value, **info}
    raise ValueError(f"{BENCHMARK}: target_bpp must be a positive number or 'match:<tokenizer>', got {value!r}")


# ---------------------------------------------------------------------------------------------- the benchmark
def _file_of(item: str) -> str:
    """``"<file>#<k>"`` -> ``<file>``."""
    return item.rpartition("#")[0]


@register_benchmark(BENCHMARK,
                    "video compression on MCL-JCV at matched bits per pixel: PSNR, SSIM, LPIPS (Table 7)",
                    supplies=("bpp",))
class MCLJCVCompression(Benchmark):
    """Rate-distortion at one matched rate on MCL-JCV (see the module docstring for the protocol)."""

    dataset = "mcl_jcv"
    paper_name = "MCL-JCV"
    table = "table7"
    task = "compression"
    requires = ("decode", "bits")
    shard_size = 8
    protocol = {
        "version": "2",
        "frames": 17,
        "start_frame": 0,
        "clips_per_source": 1,
        "size": 64,
        "resize": "short side to size (bicubic), then centre crop size x size",
        "matrix": "bt709",
        "color_range": "limited",
        "value_range": "tokenizer input [-1, 1]; metrics on RGB in [0, 1] (LPIPS on [-1, 1])",
        "averaging": "PSNR, SSIM and LPIPS per frame (PSNR over a frame's pixels and RGB channels), mean over "
                     "frames; then the mean over clips; psnr_clip_mse: PSNR of the MSE over a whole clip",
        "target_bpp": "match:pyratok-tiny",
        "rate_rule": "codec: best quality with bits <= target per clip (crf bisection, stopping within the codec "
                     "adapter's tolerance, 5 % below by default); bpp = actual bits / (T*H*W)",
        "max_samples": None,
    }

    def __init__(self, **options):
        super().__init__(**options)
        p = self.protocol
        for key in ("frames", "size", "clips_per_source"):
            if not isinstance(p[key], int) or p[key] < 1:
                raise ValueError(f"{self.name}: protocol {key} must be a positive integer, got {p[key]!r}")
        if not isinstance(p["start_frame"], int) or p["start_frame"] < 0:
            raise ValueError(f"{self.name}: protocol start_frame must be an integer >= 0, got {p['start_frame']!r}")
        if p["max_samples"] is not None and (not isinstance(p["max_samples"], int) or p["max_samples"] < 1):
            raise ValueError(f"{self.name}: max_samples must be a positive integer or None, got {p['max_samples']!r}")

    # ------------------------------------------------------------------ data
    def _sources(self, data: DataSource) -> list[Path]:
        files = sorted(data.path.glob("*.yuv"))
        if not files:
            raise FileNotFoundError(f"{self.name}: no MCL-JCV '*.yuv' sources in {data.path} "
                                    "(expected videoSRC<NN>_<W>x<H>_<fps>.yuv)")
        return files

    def shards(self, data: DataSource) -> list[Shard]:
        """One item ``"<file>#<k>"`` per clip. A file that cannot be opened (bad name, not whole frames) or is
        too short still gets one item, so that run_shard records it as a failure with its reason."""
        p = self.protocol
        items: list[str] = []
        for path in self._sources(data):
            try:
                video = open_yuv(path)
                n = min(p["clips_per_source"], max(0, (video.num_frames - p["start_frame"]) // p["frames"]))
            except DatasetFormatError:
                n = 0
            items += [f"{path.name}#{k}" for k in range(max(n, 1))]
        if p["max_samples"] is not None:
            items = items[:p["max_samples"]]
        groups = chunk(items, self.shard_size)
        return [Shard(i, len(groups), tuple(g), tuple(sorted({str(data.path / _file_of(x)) for x in g})))
                for i, g in enumerate(groups)]

    def load_clip(self, data: DataSource, item: str) -> Tensor:
        """``"<file>#<k>"`` -> ``(1, 3, frames, size, size)`` float32 in [-1, 1]. Raises DatasetFormatError /
        SampleDecodeError naming the file."""
        from pyratok.data.video import resize_frames

        p = self.protocol
        k = item.rpartition("#")[2]
        path = data.path / _file_of(item)
        video = open_yuv(path)                      # DatasetFormatError: bad name, size not whole frames
        start = p["start_frame"] + int(k) * p["frames"]
        if start + p["frames"] > video.num_frames:
            raise SampleDecodeError(path, f"{video.num_frames} frames; clip {k} needs frames {start}.."
                                          f"{start + p['frames'] - 1} ({p['frames']} from frame {p['start_frame']})")
        rgb = read_yuv_rgb(video, range(start, start + p["frames"]), p["matrix"], p["color_range"])
        rgb = resize_frames(rgb, p["size"], "short_side", "center")
        return torch.from_numpy(np.ascontiguousarray(rgb)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0

    # ------------------------------------------------------------------ work
    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict | None:
        """Codecs: the target bpp (the codec's own ``bpp`` option if set, else the protocol's). Others: None."""
        if tokenizer.kind != "codec":
            return None
        own = getattr(tokenizer, "target_bpp", None)
        if own is not None:
            return {"target_bpp": float(own), "rule": f"{tokenizer.name}'s own bpp option"}
        bpp, info = resolve_target_bpp(self.protocol)
        return {"target_bpp": bpp, **info}

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        from adapters.codecs import CodecError

        t0 = time.time()
        res = ShardResult()
        codec = tokenizer.kind == "codec"
        if codec and not fitted:
            fitted = self.fit(tokenizer, data, Path("."))
        target = fitted["target_bpp"] if codec else None
        for item in shard.items:
            file = str(data.path / _file_of(item))
            try:
                video = self.load_clip(data, item)
            except (DatasetFormatError, SampleDecodeError) as err:
                res.fail(item, str(err), file)
                continue
            clip, geo = conform(video, tokenizer.input_constraints)
            try:
                enc = tokenizer.encode(clip, bpp=target) if codec else tokenizer.encode(clip)
                if codec and not enc.extras["target_met"][0]:
                    res.fail(item, f"{tokenizer.name} cannot code this clip at {target:.5f} bpp: its lowest rate "
                                   f"is {enc.extras['bpp'][0]:.5f} bpp ({enc.extras['quality_option']}="
                                   f"{enc.extras['quality'][0]:g})", file)
                    continue
                recon = tokenizer.decode(enc)
            except CodecError as err:
                res.fail(item, str(err), file)
                continue
            bits = float(tokenizer.bits(enc)[0])
            t, h, w = clip.shape[2:]
            p, s = clip_quality(recon, clip)
            lp = clip_lpips(recon, clip)
            sample = {"id": item, "file": Path(file).name, "psnr": frame_psnr(recon, clip),
                      "psnr_clip_mse": float(p[0]), "ssim": float(s[0]),
                      "lpips": None if lp is None else float(lp[0]), "bits": bits, "bpp": bits / (t * h * w),
                      "frames": geo["frames"], "size": geo["size"]}
            if codec:
                sample.update(target_bpp=target, quality=enc.extras["quality"][0],
                              within_tolerance=bool(enc.extras["within_tolerance"][0]))
            res.samples.append(sample)
        res.seconds = time.time() - t0
        return res

    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        samples = [s for r in results for s in r.samples]
        failed = sum(len(r.failures) for r in results)
        n = len(samples)
        target = (fitted or {}).get("target_bpp")
        rate_extra = {"target_bpp": target, "target_rule": (fitted or {}).get("rule")} if target is not None else {}

        def mean(key: str, unit: str, hib: bool | None, note: str = "", extra: dict | None = None) -> Metric:
            vals = [s[key] for s in samples]
            extra = {**(extra or {}), "conventions": CONVENTIONS}
            if not vals:
                return Metric(key, None, 0, failed, unit, hib, "no clip was scored", extra)
            if any(v is None for v in vals):
                return Metric(key, None, n, failed, unit, hib, note, extra)
            return Metric(key, float(np.mean(vals)), n, failed, unit, hib, note, {**extra, "ci95": interval_dict(vals)})

        _, lpips_reason = _lpips()
        bpp_extra = dict(rate_extra)
        if samples:
            bpp_extra.update(min=float(min(s["bpp"] for s in samples)), max=float(max(s["bpp"] for s in samples)))
            if target is not None:
                bpp_extra["clips_within_tolerance"] = sum(bool(s.get("within_tolerance")) for s in samples)
        return [
            mean("psnr", "dB", True, extra=rate_extra),
            mean("psnr_clip_mse", "dB", True, extra=rate_extra),
            mean("ssim", "", True, extra=rate_extra),
            mean("lpips", "", False, note=f"LPIPS unavailable: {lpips_reason}", extra=rate_extra),
            mean("bpp", "bits/pixel", None, note="actual bits / (T*H*W), mean over clips", extra=bpp_extra),
            Metric("clips", float(n), n, failed, "", None, "clips scored"),
        ]
