"""Fully connected 3-D CRF over the spatio-temporal lattice ``(x, y, t)`` with mean-field inference (paper App. B.1).

The zero-shot segmentation protocol turns per-pixel relevance probabilities into masks with "a fully connected 3D
Conditional Random Field ... with pairwise terms encouraging spatial smoothness aligned to image edges and temporal
consistency across adjacent frames" and "mean-field inference". That is Krähenbühl & Koltun's dense CRF (NeurIPS
2011) with the position features extended by time:

    E(l) = sum_i U_i(l_i) + sum_{i<j} mu(l_i, l_j) [ w_g k_g(f_i, f_j) + w_b k_b(f_i, f_j) ]
    U_i(l) = -log p_i(l)                                  (p clipped at ``unary_clip``)
    k_g = exp(-|p_i - p_j|^2 / 2theta_xy^2 - |t_i - t_j|^2 / 2theta_t^2)                   (smoothness)
    k_b = exp(-|p_i - p_j|^2 / 2theta_bxy^2 - |t_i - t_j|^2 / 2theta_bt^2 - |I_i - I_j|^2 / 2theta_rgb^2) (appearance)
    mu  = Potts (1 if l_i != l_j)

Backends:

* ``pydensecrf`` — the general ``DenseCRF(n_voxels, n_labels)`` of ``pydensecrf2`` (PyPI, builds from source;
  tested with 1.1): unary via ``setUnaryEnergy``, each kernel via ``addPairwiseEnergy(features, compat=w)`` with the
  feature arrays ``create_pairwise_gaussian/bilateral`` would build (coordinates divided by their theta), filtered
  with the permutohedral lattice (an approximation of the Gaussian filter, linear in the number of voxels) and the
  library's default symmetric normalisation ``D^-1/2 K D^-1/2`` (D = row sums of K).
* ``exact`` — the same mean-field updates with the kernels evaluated exactly (``O(N^2)``, in blocks; for small
  volumes and for checking the lattice), mirroring the library: the self term is included in the filtered message
  (the lattice filter includes it), symmetric normalisation, Potts messages ``+w * Kn Q``, ``Q = softmax(-U + sum)``
  with ``Q`` initialised to ``softmax(-U)``.

Default parameters (:class:`CRF3DParams`) are the standard DenseCRF values of the pydensecrf README / Krähenbühl's
examples for the spatial part (Gaussian ``sxy=3, compat=3``; bilateral ``sxy=80, srgb=13, compat=10``; 5
iterations), with a temporal scale added: ``theta_t=1`` frame for the smoothness kernel (only adjacent frames
interact, as the paper says; the annotated frames of YouTube-VIS are 5 source frames apart) and ``theta_bt=2``
frames for the appearance kernel (colour already gates unrelated pixels, so it may reach a little further). Positions
are in pixels of the volume the CRF runs on and colours in 0..255.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["CRF3DParams", "dense_crf_3d", "pydensecrf_available", "require_pydensecrf", "pairwise_features",
           "PYDENSECRF_HINT"]

PYDENSECRF_HINT = ("the 3-D CRF needs pydensecrf2 (pip install pydensecrf2; it compiles Krähenbühl's C++ dense CRF, "
                   "needs a C++ compiler and Cython) — or backend='exact' for volumes of at most a few thousand voxels")


@dataclass(frozen=True)
class CRF3DParams:
    """Dense 3-D CRF parameters (see the module doc for where the defaults come from)."""

    theta_xy: float = 3.0        # smoothness kernel, pixels
    theta_t: float = 1.0         # smoothness kernel, frames
    w_gaussian: float = 3.0      # its Potts weight
    theta_bxy: float = 80.0      # appearance kernel, pixels
    theta_bt: float = 2.0        # appearance kernel, frames
    theta_rgb: float = 13.0      # appearance kernel, colour (0..255)
    w_bilateral: float = 10.0    # its Potts weight
    iterations: int = 5
    unary_clip: float = 1e-5     # probabilities are clipped here before -log

    def __post_init__(self):
        for k in ("theta_xy", "theta_t", "theta_bxy", "theta_bt", "theta_rgb"):
            if not getattr(self, k) > 0:
                raise ValueError(f"CRF3DParams.{k} must be > 0, got {getattr(self, k)}")
        if self.iterations < 0 or self.w_gaussian < 0 or self.w_bilateral < 0:
            raise ValueError("CRF3DParams: iterations and weights must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)


def pydensecrf_available() -> bool:
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def require_pydensecrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as err:
        raise ImportError(PYDENSECRF_HINT) from err
    return dcrf


def pairwise_features(video: np.ndarray, params: CRF3DParams) -> tuple[np.ndarray, np.ndarray]:
    """Feature arrays of the two kernels for a ``(T, H, W, 3)`` uint8 volume: gaussian ``(3, N)`` =
    ``(t/theta_t, y/theta_xy, x/theta_xy)`` and bilateral ``(6, N)`` = ``(t/theta_bt, y/theta_bxy, x/theta_bxy,
    r/theta_rgb, g/theta_rgb, b/theta_rgb)``; float32, C-contiguous, voxels in C order of ``(T, H, W)`` (what
    ``pydensecrf.utils.create_pairwise_gaussian/bilateral`` build for this shape)."""
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"video must be (T, H, W, 3), got {v.shape}")
    T, H, W = v.shape[:3]
    t, y, x = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    pos = np.stack([t, y, x]).reshape(3, -1).astype(np.float32)
    g = pos / np.array([params.theta_t, params.theta_xy, params.theta_xy], np.float32)[:, None]
    b_pos = pos / np.array([params.theta_bt, params.theta_bxy, params.theta_bxy], np.float32)[:, None]
    rgb = np.moveaxis(v.astype(np.float32), -1, 0).reshape(3, -1) / np.float32(params.theta_rgb)
    return np.ascontiguousarray(g), np.ascontiguousarray(np.concatenate([b_pos, rgb]))


def _unary(probs: np.ndarray, clip: float) -> np.ndarray:
    L = probs.shape[0]
    return np.ascontiguousarray(-np.log(np.clip(probs.reshape(L, -1), clip, 1.0)).astype(np.float32))


def dense_crf_3d(probs: np.ndarray, video: np.ndarray, params: CRF3DParams = CRF3DParams(),
                 backend: str = "auto", max_exact_voxels: int = 8192) -> np.ndarray:
    """Mean-field marginals of the 3-D dense CRF.

    probs: ``(L, T, H, W)`` label probabilities (>= 0, summing to 1 over L; the unary is their -log).
    video: ``(T, H, W, 3)`` uint8 RGB of the same volume.
    backend: ``pydensecrf`` | ``exact`` | ``auto`` (pydensecrf when installed, else exact for volumes of at most
    ``max_exact_voxels`` voxels, else ImportError with the install hint).
    Returns ``(L, T, H, W)`` float32 marginals (argmax over L is the labelling).
    """
    probs = np.asarray(probs, dtype=np.float32)
    video = np.asarray(video)
    if probs.ndim != 4:
        raise ValueError(f"probs must be (L, T, H, W), got {probs.shape}")
    if video.shape[:3] != probs.shape[1:] or video.shape[-1] != 3:
        raise ValueError(f"video {video.shape} does not match probs {probs.shape} (need (T, H, W, 3))")
    if backend not in ("auto", "pydensecrf", "exact"):
        raise ValueError(f"backend must be auto, pydensecrf or exact, got {backend!r}")
    n = int(np.prod(probs.shape[1:]))
    if backend == "auto":
        if pydensecrf_available():
            backend = "pydensecrf"
        elif n <= max_exact_voxels:
            backend = "exact"
        else:
            raise ImportError(f"{PYDENSECRF_HINT} (this volume has {n} voxels)")
    if backend == "exact" and n > max_exact_voxels:
        raise ValueError(f"exact CRF is O(N^2): {n} voxels > max_exact_voxels={max_exact_voxels}")
    if probs.shape[0] == 1 or params.iterations == 0:
        q = np.exp(-_unary(probs, params.unary_clip))
        return (q / q.sum(0, keepdims=True)).reshape(probs.shape).astype(np.float32)
    fg, fb = pairwise_features(video, params)
    U = _unary(probs, params.unary_clip)
    if backend == "pydensecrf":
        dcrf = require_pydensecrf()
        crf = dcrf.DenseCRF(n, probs.shape[0])
        crf.setUnaryEnergy(U)
        if params.w_gaussian > 0:
            crf.addPairwiseEnergy(fg, compat=float(params.w_gaussian))
        if params.w_bilateral > 0:
            crf.addPairwiseEnergy(fb, compat=float(params.w_bilateral))
        Q = np.array(crf.inference(int(params.iterations)), dtype=np.float32)
    else:
        Q = _exact_mean_field(U, [(fg, params.w_gaussian), (fb, params.w_bilateral)], params.iterations)
    return Q.reshape(probs.shape)


def _softmax_neg(E: np.ndarray) -> np.ndarray:
    z = E - E.max(0, keepdims=True)
    e = np.exp(z)
    return e / e.sum(0, keepdims=True)


def _exact_mean_field(U: np.ndarray, kernels: list[tuple[np.ndarray, float]], iterations: int,
                      block: int = 1024) -> np.ndarray:
    """Mean field with exact Gaussian kernels ``exp(-|f_i - f_j|^2 / 2)`` (self included), symmetric normalisation,
    Potts compatibility; ``U`` (L, N) float32, features (D, N)."""
    L, N = U.shape
    active = [(f.astype(np.float64), w) for f, w in kernels if w > 0]

    def filt(f: np.ndarray, X: np.ndarray) -> np.ndarray:  # (L, N) -> K X, K_ij = exp(-|f_i - f_j|^2 / 2)
        out = np.empty_like(X)
        sq = (f ** 2).sum(0)
        for s in range(0, N, block):
            e = slice(s, min(N, s + block))
            d2 = sq[e, None] + sq[None, :] - 2.0 * f[:, e].T @ f
            out[:, e] = X @ np.exp(-0.5 * np.maximum(d2, 0.0)).T
        return out

    norms = [1.0 / np.sqrt(filt(f, np.ones((1, N)))[0] + 1e-20) for f, _ in active]
    Q = _softmax_neg(-U.astype(np.float64))
    for _ in range(iterations):
        E = -U.astype(np.float64)
        for (f, w), nrm in zip(active, norms):
            E += w * filt(f, Q * nrm) * nrm
        Q = _softmax_neg(E)
    return Q.astype(np.float32)
