"""Fréchet Video Distance (Unterthiner et al. 2018) under the common protocol of StyleGAN-V / MAGVIT.

Protocol (:class:`FVDProtocol`, versioned; every field is recorded with each result):

* **clips**: the first ``num_frames = 16`` consecutive frames of each video (16-frame FVD as in StyleGAN-V's
  ``fvd2048_16f``, MAGVIT and the original FVD paper); the caller chooses which window of a longer video it passes;
* **8-bit frames**: values are clamped to ``[-1, 1]`` and rounded to the 256 uint8 levels first, because the
  reference pipelines compute FVD on uint8 videos (StyleGAN-V quantises generated frames with
  ``(x * 127.5 + 128).clamp(0, 255).to(uint8)``, which is this rounding);
* **resize to 224**: short side to 224 with bilinear interpolation (``align_corners=False``, no antialias; the long
  side ``ceil``-ed) and a centre 224 x 224 crop, as in the PyTorch FVD of StyleGAN-V's ``fvd-comparison`` that the
  field uses; for square videos this is the plain resize of the original TF FVD;
* **features**: the 400-d Kinetics-400 logits of the DeepMind I3D (:mod:`benchmarks.metrics.i3d`; input
  ``[-1, 1]``), i.e. the TF-Hub module's default output that FVD is defined on (StyleGAN-V ``return_features``);
* **statistics**: mean and covariance in float64; the covariance is unbiased (``ddof = 1``) as in TF-GAN's
  ``frechet_classifier_distance_from_activations`` used by the original FVD and ``np.cov`` in ``fvd-comparison``
  (StyleGAN-V's ``FeatureStats`` uses ``ddof = 0``; the difference is a factor ``N / (N - 1)``, 0.05% at 2048);
* **distance**: ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)`` in float64.
  ``tr((S1 S2)^1/2)`` equals ``tr((S1^1/2 S2 S1^1/2)^1/2)`` (similar matrices), and the right-hand form is a
  symmetric PSD matrix, so we take it with two symmetric eigen-decompositions (``method="eigh"``, default): real,
  no complex round-off, stable for the rank-deficient covariances of small sets (N < 400); eigenvalues below
  numpy's rank tolerance (``D * eps * max``) count as zero so that rounding noise is not square-rooted.
  ``method="scipy"`` gives the classic ``scipy.linalg.sqrtm(S1 @ S2)`` with pytorch-fid's ``eps * I`` retry when the root is not
  finite and its check that the imaginary part is negligible; both agree on well-conditioned inputs (tested).
  Rounding can leave a value a hair below zero for identical sets; it is returned as computed.
* **set size**: ``num_videos = 2048`` per side (StyleGAN-V ``fvd2048``); results on fewer videos say so
  (``FVDResult.meets_protocol_num_videos``) — FVD is biased upward for small sets, so such numbers are only
  comparable with others at the same size.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

FVD_PROTOCOL_NAME = "fvd-i3d400-16f"
FVD_PROTOCOL_VERSION = "1.0"


@dataclass(frozen=True)
class FVDProtocol:
    """The FVD protocol as versioned configuration (defaults: StyleGAN-V ``fvd2048_16f`` / MAGVIT; see module doc).

    ``version`` changes whenever a field's meaning or default changes; results carry :meth:`to_dict`.
    """

    name: str = FVD_PROTOCOL_NAME
    version: str = FVD_PROTOCOL_VERSION
    num_frames: int = 16          # StyleGAN-V fvd2048_16f, MAGVIT, Unterthiner et al. 2018
    frame_stride: int = 1         # consecutive frames (StyleGAN-V subsample_factor=1)
    resolution: int = 224         # I3D input size (Unterthiner et al. 2018, target_resolution=(224, 224))
    resize: str = "short_side_bilinear_center_crop"
    quantize_uint8: bool = True   # reference pipelines see uint8 frames
    feature: str = "i3d_kinetics400_logits"
    feature_dim: int = 400
    cov_ddof: int = 1             # TF-GAN / np.cov
    sqrtm: str = "eigh"           # "eigh" (symmetric form) or "scipy" (sqrtm(S1 S2) with eps retry)
    sqrtm_eps: float = 1e-6       # pytorch-fid's offset for the scipy retry
    num_videos: int = 2048        # per side, StyleGAN-V fvd2048

    def __post_init__(self):
        if self.num_frames < 9:
            raise ValueError(f"FVDProtocol.num_frames={self.num_frames}: I3D needs at least 9 frames")
        if self.frame_stride < 1 or self.resolution < 193:
            raise ValueError(f"FVDProtocol: frame_stride={self.frame_stride} must be >= 1 and resolution="
                             f"{self.resolution} >= 193 (I3D's minimum)")
        if self.resize not in ("short_side_bilinear_center_crop", "exact_bilinear"):
            raise ValueError(f"FVDProtocol.resize={self.resize!r}: expected 'short_side_bilinear_center_crop' or "
                             "'exact_bilinear'")
        if self.sqrtm not in ("eigh", "scipy"):
            raise ValueError(f"FVDProtocol.sqrtm={self.sqrtm!r}: expected 'eigh' or 'scipy'")
        if self.feature != "i3d_kinetics400_logits" or self.feature_dim != 400:
            raise ValueError(f"FVDProtocol: only feature='i3d_kinetics400_logits' (400-d) is implemented, got "
                             f"{self.feature!r} ({self.feature_dim})")
        if self.cov_ddof not in (0, 1):
            raise ValueError(f"FVDProtocol.cov_ddof={self.cov_ddof}: expected 0 or 1")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "FVD protocol") -> "FVDProtocol":
        """Build from a dict (e.g. a JSON config); unknown keys or another protocol version raise ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{source}: unknown FVD protocol key(s) {unknown}; known: {sorted(known)}")
        if d.get("version", FVD_PROTOCOL_VERSION) != FVD_PROTOCOL_VERSION:
            raise ValueError(f"{source}: protocol version {d['version']!r} is not this code's "
                             f"{FVD_PROTOCOL_VERSION!r}")
        return cls(**d)

    @classmethod
    def from_json(cls, path: str | Path) -> "FVDProtocol":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the FVD protocol JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: FVD protocol must be a JSON object")
        return cls.from_dict(data, source=str(path))


@dataclass
class FVDResult:
    """An FVD value with what it was computed on. ``network`` is the I3D provenance (``kind`` "port" or
    "torchscript"); ``meets_protocol_num_videos`` is False when either set is smaller than ``num_videos``."""

    value: float
    num_real: int
    num_fake: int
    protocol: dict
    network: dict
    meets_protocol_num_videos: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------------------------
# preprocessing and features
# --------------------------------------------------------------------------------------------------------------
def preprocess_videos(videos: Tensor, protocol: FVDProtocol = FVDProtocol()) -> Tensor:
    """``(B, 3, T, H, W)`` float in ``[-1, 1]`` (any ``H, W``; ``T`` at least the clip length) ->
    ``(B, 3, num_frames, 224, 224)`` float32 in ``[-1, 1]``: first clip frames, clamp, uint8 rounding, resize
    and centre crop, as the protocol says."""
    if not isinstance(videos, Tensor) or videos.dim() != 5 or videos.shape[1] != 3:
        shape = list(videos.shape) if isinstance(videos, Tensor) else type(videos).__name__
        raise ValueError(f"FVD expects videos (B, 3, T, H, W) in [-1, 1], got {shape}")
    need = (protocol.num_frames - 1) * protocol.frame_stride + 1
    if videos.shape[2] < need:
        raise ValueError(f"FVD protocol needs {need} frames per video, got T={videos.shape[2]}")
    v = videos[:, :, : need : protocol.frame_stride].float()
    if not torch.isfinite(v).all():
        raise ValueError("FVD: videos contain NaN or infinite values")
    v = v.clamp(-1.0, 1.0)
    if protocol.quantize_uint8:
        v = torch.round((v + 1.0) * 127.5) / 127.5 - 1.0
    b, c, t, h, w = v.shape
    r = protocol.resolution
    if (h, w) != (r, r):
        frames = v.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if protocol.resize == "exact_bilinear":
            size = (r, r)
        else:
            scale = r / min(h, w)
            size = (r, math.ceil(w * scale)) if h <= w else (math.ceil(h * scale), r)
        frames = F.interpolate(frames, size=size, mode="bilinear", align_corners=False, antialias=False)
        top, left = (frames.shape[2] - r) // 2, (frames.shape[3] - r) // 2
        frames = frames[:, :, top : top + r, left : left + r]
        v = frames.reshape(b, t, c, r, r).permute(0, 2, 1, 3, 4)
    return v.contiguous()


def _batches(videos: Tensor | Iterable[Tensor], batch_size: int) -> Iterable[Tensor]:
    if isinstance(videos, Tensor):
        for i in range(0, videos.shape[0], batch_size):
            yield videos[i : i + batch_size]
    else:
        for chunk in videos:
            for i in range(0, chunk.shape[0], batch_size):
                yield chunk[i : i + batch_size]


@torch.no_grad()
def extract_features(videos: Tensor | Iterable[Tensor], network: torch.nn.Module,
                     protocol: FVDProtocol = FVDProtocol(), *, batch_size: int = 4) -> np.ndarray:
    """I3D features of a set of videos: ``(N, 3, T, H, W)`` in ``[-1, 1]`` (or an iterable of such batches, so
    large sets need not fit in memory) -> ``(N, 400)`` float64 logits."""
    device = next(iter(network.parameters()), torch.empty(0)).device
    feats = []
    for batch in _batches(videos, batch_size):
        x = preprocess_videos(batch, protocol).to(device)
        out = network(x)
        if out.shape != (x.shape[0], protocol.feature_dim):
            raise ValueError(f"I3D returned {list(out.shape)}, expected ({x.shape[0]}, {protocol.feature_dim})")
        feats.append(out.detach().cpu().double().numpy())
    if not feats:
        raise ValueError("FVD: empty video set")
    return np.concatenate(feats, axis=0)


# --------------------------------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------------------------------
def gaussian_statistics(features: np.ndarray, ddof: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(N, D)`` features -> float64 mean ``(D,)`` and covariance ``(D, D)`` (``ddof`` as in ``np.cov``)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) features for a covariance, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinite values")
    mu = f.mean(axis=0)
    centred = f - mu
    sigma = centred.T @ centred / (f.shape[0] - ddof)
    return mu, sigma


def _clip_eigenvalues(w: np.ndarray) -> np.ndarray:
    """Zero the eigenvalues of a PSD matrix that are rounding noise (below ``D * eps * max``, numpy's
    ``matrix_rank`` tolerance). Their square roots would otherwise add up: for the rank-deficient covariances of
    small sets, hundreds of ``sqrt(1e-16 * max)`` terms bias ``FVD(X, X)`` away from zero."""
    tol = w.shape[0] * np.finfo(np.float64).eps * float(np.abs(w).max(initial=0.0))
    return np.where(w > tol, w, 0.0)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(_clip_eigenvalues(w))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, *, method: str = "eigh", eps: float = 1e-6) -> float:
    """``tr((sigma1 sigma2)^1/2)`` for PSD ``sigma1, sigma2`` (float64). See the module doc for the two methods."""
    s1 = np.asarray(sigma1, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    if method == "eigh":
        r = _psd_sqrt(s1)
        m = r @ s2 @ r
        ev = np.linalg.eigvalsh((m + m.T) / 2.0)
        return float(np.sqrt(_clip_eigenvalues(ev)).sum())
    if method == "scipy":
        import scipy.linalg

        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
        if np.iscomplexobj(covmean):
            if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
                raise ValueError(f"sqrtm(S1 S2) has a large imaginary part "
                                 f"({np.abs(np.diagonal(covmean).imag).max():.3g}); use method='eigh'")
            covmean = covmean.real
        return float(np.trace(covmean))
    raise ValueError(f"unknown sqrtm method {method!r}: expected 'eigh' or 'scipy'")


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, *,
                     method: str = "eigh", eps: float = 1e-6) -> float:
    """Squared Fréchet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``, float64:
    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^1/2)``."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shape mismatch: mu1 {mu1.shape}, sigma1 {s1.shape}, mu2 {mu2.shape}, sigma2 {s2.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2, method=method, eps=eps))


def fvd_from_features(real_features: np.ndarray, fake_features: np.ndarray,
                      protocol: FVDProtocol = FVDProtocol()) -> float:
    """FVD between two ``(N, 400)`` feature sets under ``protocol`` (covariance ``ddof``, sqrtm method)."""
    mu1, s1 = gaussian_statistics(real_features, protocol.cov_ddof)
    mu2, s2 = gaussian_statistics(fake_features, protocol.cov_ddof)
    return frechet_distance(mu1, s1, mu2, s2, method=protocol.sqrtm, eps=protocol.sqrtm_eps)


def _features(videos_or_features, network, protocol: FVDProtocol, batch_size: int) -> np.ndarray:
    if isinstance(videos_or_features, np.ndarray):
        f = np.asarray(videos_or_features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != protocol.feature_dim:
            raise ValueError(f"precomputed FVD features must be (N, {protocol.feature_dim}), got {f.shape}")
        return f
    return extract_features(videos_or_features, network, protocol, batch_size=batch_size)


def compute_fvd(real: Tensor | Iterable[Tensor] | np.ndarray, fake: Tensor | Iterable[Tensor] | np.ndarray,
                network=None, protocol: FVDProtocol = FVDProtocol(), *, batch_size: int = 4) -> FVDResult:
    """FVD between two video sets, each ``(N, 3, T, H, W)`` in ``[-1, 1]``, an iterable of such batches, or an
    ``(N, 400)`` array of features already extracted under the same protocol and network (e.g. a dataset's cached
    real features).

    ``network``: a loaded :class:`benchmarks.metrics.i3d.I3DFeatureNetwork` (default: the port from the cache,
    see :func:`benchmarks.metrics.i3d.load_i3d`). Its provenance goes into the result.
    """
    if network is None and not (isinstance(real, np.ndarray) and isinstance(fake, np.ndarray)):
        from benchmarks.metrics.i3d import load_i3d

        network = load_i3d()
    real_f = _features(real, network, protocol, batch_size)
    fake_f = _features(fake, network, protocol, batch_size)
    value = fvd_from_features(real_f, fake_f, protocol)
    meets = min(len(real_f), len(fake_f)) >= protocol.num_videos
    notes = [] if meets else [f"computed on {len(real_f)} real / {len(fake_f)} generated videos, fewer than the "
                              f"protocol's {protocol.num_videos}; not comparable with published FVD"]
    if network is None:
        provenance = {"kind": "precomputed features", "network": "unknown (features passed in)"}
    else:
        provenance = dict(getattr(network, "provenance", {"kind": "unknown", "network": type(network).__name__}))
    return FVDResult(value=value, num_real=len(real_f), num_fake=len(fake_f), protocol=protocol.to_dict(),
                     network=provenance, meets_protocol_num_videos=meets, notes=notes)


def real_vs_real_floor(real: np.ndarray, fvd_proto, splits: int = 5, seed: int = 0) -> dict | None:
    """FVD between two disjoint random halves of the real features, over ``splits`` seeded splits: what two sets
    drawn from the same distribution score at this sample size (None below 4 clips per half)."""
    n = len(real) // 2
    if n < 4:
        return None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(splits):
        perm = rng.permutation(len(real))
        try:
            vals.append(float(fvd_from_features(real[perm[:n]], real[perm[n:2 * n]], fvd_proto)))
        except ValueError:
            return None
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
            "values": vals, "n_per_half": n, "splits": splits, "seed": seed}



def floor_note(floor: dict | None) -> str:
    """The table-note sentence for :func:`real_vs_real_floor` ('' when there is none)."""
    if floor is None:
        return ""
    return (f"; noise floor: two disjoint halves of the real clips ({floor['n_per_half']} vs {floor['n_per_half']}) "
            f"give FVD {floor['mean']:.0f} (sd {floor['std']:.0f} over {floor['splits']} splits): a value near it is "
            "indistinguishable from real data at this n")
