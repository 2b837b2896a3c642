"""Reconstruction benchmarks (paper Table 1; also the data of Tables 6 and 9): WebVid-10M val videos and COCO
val2017 images, PSNR / SSIM / LPIPS of encode -> decode.

Protocol (versioned; the paper gives no more than the metric names, so these are our stated choices):

* input: short side resized to ``size`` (bilinear, antialiased), centre crop ``size x size``; videos: ``frames``
  consecutive frames (stride 1) from the centre of the clip; COCO images: single-frame videos (T = 1, valid for
  causal 1 + 4k VAEs). Values in [-1, 1]. A tokenizer that needs another geometry gets the largest valid sub-clip
  (:func:`benchmarks.tasks.clips.conform`: trailing frames dropped, centre crop) and the metric is computed on what
  it saw; the record's ``extra.geometry`` says what that was.
* PSNR (protocol 1.1): **the mean of per-frame PSNRs** (the common tokenizer convention): each frame's PSNR over its
  pixels and RGB channels on [0, 1] (``(x + 1) / 2``), reconstruction clamped, a frame's MSE floored at 1e-12
  (120 dB), mean over frames, then over clips. The per-clip-MSE variant (one PSNR from the MSE over all of a clip's
  pixels, frames and channels, :mod:`pyratok.train.evaluate`; protocol 1.0's ``psnr``) is recorded beside it as
  ``psnr_clip_mse``; on single images (COCO) the two are equal. SSIM: scikit-image's Gaussian SSIM (11-tap window,
  sigma 1.5, K1 .01, K2 .03, data range 1) per RGB channel over the valid (unpadded) window positions, averaged over
  channels, per frame; mean over frames then clips. LPIPS (AlexNet, inputs in [-1, 1]) per frame, mean; *unavailable* without the ImageNet AlexNet
  weights (no download here) — the record says so and carries no value.
* Every mean metric's record carries ``extra["ci95"]``: the 95 % percentile-bootstrap interval over the clips (seed
  0, 2000 resamples, :func:`benchmarks.metrics.uncertainty.bootstrap_ci`), and ``extra["conventions"]``.
* The embedded default (synthetic WebVid, real COCO sample images) uses ``size`` 64 and 17 frames (the tiny models'
  scale); the paper-scale protocol is ``size=256`` (``--protocol webvid-recon.size=256``).
"""
from __future__ import annotations

import base64
import io
from abc import abstractmethod
from pathlib import Path

import numpy as np
import torch

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk, realdata_root
from benchmarks.metrics.uncertainty import interval_dict
from benchmarks.registry import register_benchmark
from benchmarks.tasks.clips import conform

__all__ = ["WebVidReconstruction", "CocoReconstruction", "reconstruction_scores", "frame_psnr", "CONVENTIONS"]

#: the stated metric conventions, written into every reconstruction record (``extra["conventions"]``)
CONVENTIONS = {
    "value_range": "tokenizer input [-1, 1]; PSNR / SSIM on RGB mapped to [0, 1], reconstruction clamped",
    "psnr": "mean over frames of per-frame PSNR (RGB, MSE floored at 1e-12), then mean over clips",
    "psnr_clip_mse": "PSNR of the MSE over all pixels, frames and RGB channels of a clip, then mean over clips",
    "ssim": "scikit-image-style Gaussian SSIM (11-tap window, sigma 1.5, K1 .01, K2 .03, data range 1) per RGB "
            "channel, mean over the valid (unpadded) window positions and the channels, per frame; mean over "
            "frames, then clips",
    "lpips": "AlexNet LPIPS per frame on [-1, 1], mean over frames then clips; unavailable here: the ImageNet "
             "AlexNet / LPIPS weights cannot be downloaded (offline), so no value is recorded",
    "ci95": "percentile bootstrap over clips, seed 0, 2000 resamples",
}


def _lpips_model():
    from pyratok.perceptual import build_lpips, lpips_status

    ok, reason = lpips_status("alex")
    return (build_lpips("alex"), "") if ok else (None, reason)


@torch.no_grad()
def frame_psnr(recon: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over frames of per-frame PSNR (dB) of one clip, ``(1, 3, T, H, W)`` in [-1, 1] each, on [0, 1]."""
    from pyratok.image_quality import psnr, video_to_frames

    r = (recon.float().clamp(-1, 1) + 1) / 2
    t = (target.float().clamp(-1, 1) + 1) / 2
    return float(psnr(video_to_frames(r), video_to_frames(t)))   # per-sample (= per-frame) PSNR, then the mean


@torch.no_grad()
def reconstruction_scores(recon: torch.Tensor, target: torch.Tensor, lpips_net=None) -> dict:
    """Per-clip scores of ``recon`` vs ``target`` (both (1, 3, T, H, W) in [-1, 1]): psnr (mean of per-frame
    PSNRs), psnr_clip_mse (PSNR of the clip's MSE), ssim, lpips (None when unavailable)."""
    from pyratok.train.evaluate import clip_psnr_ssim

    p, s = clip_psnr_ssim(recon, target)
    out = {"psnr": frame_psnr(recon, target), "psnr_clip_mse": float(p[0]), "ssim": float(s[0]), "lpips": None}
    if lpips_net is not None:
        r = recon.clamp(-1, 1)[0].transpose(0, 1)  # (T, 3, H, W)
        t = target[0].transpose(0, 1)
        out["lpips"] = float(lpips_net(r, t).mean())
    return out


def _thumbnail(recon: torch.Tensor, target: torch.Tensor) -> str:
    """Middle frame of target | reconstruction as a base64 PNG (for the Figure 5-style grid)."""
    from PIL import Image

    t = recon.shape[2] // 2
    pair = torch.cat([target[0, :, t], recon[0, :, t].clamp(-1, 1)], dim=2)  # (3, H, 2W)
    img = ((pair.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class _Reconstruction(Benchmark):
    table = "table1"
    task = "reconstruction"
    requires = ("decode",)
    shard_size = 8

    @abstractmethod
    def _load(self, data: DataSource, item) -> tuple[torch.Tensor, str, str]:
        """One sample -> ((1, 3, T, H, W) in [-1, 1], caption, file path)."""

    def _shards(self, items: list[tuple]) -> list[Shard]:
        """(sample id, file) pairs -> shards of ``shard_size`` (the first ``max_samples`` when set)."""
        if self.protocol["max_samples"]:
            items = items[: int(self.protocol["max_samples"])]
        parts = chunk(items, self.shard_size)
        return [Shard(i, len(parts), tuple(x[0] for x in p), tuple(x[1] for x in p)) for i, p in enumerate(parts)]

    def _prefetched(self, data: DataSource, items: tuple):
        """Yield (index, item, (video, caption, path) or the read error) in order, reading item j + 1 in a thread
        while item j is processed: PyAV decodes without holding the GIL, so reading overlaps the tokenizer's
        compute (results/perf/runner.json, ``d_harness_overhead``). One reader thread: loads stay sequential."""
        from concurrent.futures import ThreadPoolExecutor

        from benchmarks.datasets.errors import SampleDecodeError

        def load(item):
            try:
                return self._load(data, item)
            except (SampleDecodeError, FileNotFoundError, ValueError, OSError) as err:
                return err

        with ThreadPoolExecutor(max_workers=1) as pool:
            nxt = pool.submit(load, items[0]) if items else None
            for j, item in enumerate(items):
                cur = nxt.result()
                nxt = pool.submit(load, items[j + 1]) if j + 1 < len(items) else None
                yield j, item, cur

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted) -> ShardResult:

        res = ShardResult()
        lpips_net, lpips_reason = _lpips_model()
        res.extras["lpips_unavailable"] = lpips_reason
        for j, item, loaded in self._prefetched(data, shard.items):
            if isinstance(loaded, Exception):
                err = loaded
                res.fail(item, getattr(err, "reason", None) or str(err), getattr(err, "path", None) and str(err.path))
                continue
            video, text, path = loaded
            clip, geometry = conform(video, tokenizer.input_constraints)
            recon, _ = tokenizer.reconstruct(clip, [text] if self.protocol["use_text"] else None)
            sc = reconstruction_scores(recon.float(), clip, lpips_net)
            res.samples.append({"id": item, **sc, "geometry": geometry})
            if shard.index == 0 and j < self.protocol["thumbnails"]:
                res.extras.setdefault("images", []).append({"name": f"{j}_{item}", "png": _thumbnail(recon.float(), clip)})
        return res

    def reduce(self, results: list[ShardResult], data: DataSource, fitted) -> list[Metric]:
        samples = [s for r in results for s in r.samples]
        n_failed = sum(len(r.failures) for r in results)
        geoms = sorted({f"{s['geometry']['frames']}x{s['geometry']['size'][0]}x{s['geometry']['size'][1]}"
                        for s in samples})
        extra = {"geometry": geoms, "conventions": CONVENTIONS}
        out = []
        for name, unit, hib in (("psnr", "dB", True), ("psnr_clip_mse", "dB", True), ("ssim", "", True)):
            vals = [s[name] for s in samples]
            out.append(Metric(name, float(np.mean(vals)) if vals else None, len(vals), n_failed, unit, hib,
                              "" if vals else "no sample could be scored",
                              {**extra, "ci95": interval_dict(vals)}))
        lp = [s["lpips"] for s in samples if s["lpips"] is not None]
        reason = next((r.extras.get("lpips_unavailable") for r in results if r.extras.get("lpips_unavailable")), "")
        out.append(Metric("lpips", float(np.mean(lp)) if lp else None, len(lp), n_failed, "", False,
                          "" if lp else f"unavailable: {reason or 'no sample scored'}",
                          {**extra, "ci95": interval_dict(lp)}))
        return out


@register_benchmark("webvid-recon",
                    "video reconstruction on WebVid-10M val: PSNR, SSIM, LPIPS (Table 1)")
class WebVidReconstruction(_Reconstruction):
    dataset = "webvid"
    paper_name = "WebVid-10M"
    protocol = {"version": "1.1", "split": "val", "size": 64, "frames": 17, "stride": 1, "clip": "center",
                "crop": "short side resize + centre crop", "value_range": "[-1, 1]",
                "psnr": "mean of per-frame PSNRs on [0,1], mean over clips (psnr_clip_mse: per-clip MSE)",
                "ssim": "per frame (skimage Gaussian, sigma 1.5, RGB channel mean), mean",
                "lpips": "alex, per frame, mean", "max_samples": None, "use_text": True, "thumbnails": 2}

    def _dataset(self, data: DataSource):
        from benchmarks.datasets.webvid import WebVidDataset

        return WebVidDataset.from_root(data.path, self.protocol["split"], check_files=False)

    def shards(self, data: DataSource) -> list[Shard]:
        return self._shards([(s.sample_id, str(s.video_path)) for s in self._dataset(data)])

    def _load(self, data: DataSource, item):
        from pyratok.data.video import frames_to_tensor

        if not hasattr(self, "_index"):
            self._index = {s.sample_id: s for s in self._dataset(data)}
        s = self._index[item]
        frames = s.load_clip(self.protocol["frames"], self.protocol["stride"], self.protocol["clip"],
                             size=self.protocol["size"], crop="center")
        return frames_to_tensor(frames).unsqueeze(0), s.caption, str(s.video_path)


@register_benchmark("coco-recon",
                    "image reconstruction on COCO val2017: PSNR, SSIM, LPIPS (Table 1)")
class CocoReconstruction(_Reconstruction):
    dataset = "coco"
    paper_name = "COCO-Val"
    protocol = {"version": "1.1", "split": "val2017", "size": 64, "frames": 1,
                "crop": "short side resize + centre crop", "value_range": "[-1, 1]",
                "psnr": "per image on [0,1], mean over images (= psnr_clip_mse for one frame)",
                "ssim": "skimage Gaussian (sigma 1.5, RGB channel mean), mean",
                "lpips": "alex, mean", "max_samples": None, "use_text": True, "thumbnails": 2}

    def default_source(self, synthetic_root: Path) -> DataSource:
        real = realdata_root() / "coco-mini"
        if (real / "annotations" / "captions_val2017.json").is_file():
            return DataSource(str(real), "real sample", f"{real} (79 real COCO val2017 images)")
        return super().default_source(synthetic_root)

    def _dataset(self, data: DataSource):
        from benchmarks.datasets.coco import CocoDataset

        return CocoDataset(data.path, self.protocol["split"], instances=False, check_files=False)

    def shards(self, data: DataSource) -> list[Shard]:
        return self._shards([(im.id, str(im.path)) for im in self._dataset(data)])

    def _load(self, data: DataSource, item):
        from pyratok.data.video import frames_to_tensor

        if not hasattr(self, "_index"):
            self._ds = self._dataset(data)
            self._index = {im.id: im for im in self._ds}
        im = self._index[item]
        frames = im.load_frames(size=self.protocol["size"], crop="center")
        caption = (im.captions[0] if getattr(im, "captions", None) else "")
        return frames_to_tensor(frames).unsqueeze(0), caption, str(im.path)
