"""Video features for the generative metrics: FVD features (I3D logits), a cache of real clips' features, and
per-frame features for temporal consistency (TC).

**FVD network.** :func:`fvd_network` loads the Kinetics-400 I3D of :mod:`benchmarks.metrics.i3d` from its cache
(never fetching: ``python -m benchmarks.metrics.i3d --fetch`` does that) and returns ``(network, None)`` or
``(None, reason)`` — a benchmark then reports FVD as unavailable with that reason instead of a number.

**Real-clip cache.** The real clips' FVD features and TC do not depend on the tokenizer, so they are cached per
video file under ``$PYRATOK_CACHE/fvd_real`` (default ``~/.cache/pyratok/fvd_real``), keyed by the file's path,
size and modification time, the clip protocol (frames, size, sampling), the metric protocol and the network
digest: the second tokenizer evaluated on a dataset reads them instead of running the I3D again.

**TC (temporal consistency).** Table 2 reports "TC (↑)" without defining it (its values, 185-246, are not on
any cosine scale the paper states). We measure the usual frame-consistency score of text-to-video work (the mean
cosine similarity between the embeddings of consecutive frames, e.g. Tune-A-Video's "frame consistency" and
EvalCrafter's temporal consistency, which use CLIP image embeddings). CLIP weights are not available offline; the
only pretrained visual network here is the Kinetics-400 I3D. So each frame is embedded by the I3D applied to a
*static clip* of that frame repeated 9 times (the I3D's minimum; Carreira & Zisserman 2017 §2.2 calibrate the
inflated network on exactly such "boring" videos) after the FVD preprocessing (uint8 rounding, short side to 224,
centre crop), and the embedding is the ``Mixed_5c`` output (1024 channels, post-ReLU) averaged over time and
space — the I3D's last feature layer before the logits, as Inception's pool3 is for FID. ``TC = mean_t cos(f_t,
f_{t+1})`` per video, in ``[0, 1]`` for these non-negative features, then averaged over videos; a constant video
has TC = 1. It needs the I3D port (a TorchScript I3D exposes no ``Mixed_5c``) and costs one I3D pass per frame.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from benchmarks.metrics.fvd import FVDProtocol, extract_features, preprocess_videos

__all__ = ["fvd_network", "fvd_features", "RealFeatureCache", "frame_features", "temporal_consistency",
           "TC_NETWORK", "STATIC_CLIP_FRAMES"]

STATIC_CLIP_FRAMES = 9   # the I3D's minimum clip length (benchmarks.metrics.i3d.InceptionI3d)
TC_NETWORK = ("I3D Kinetics-400 (benchmarks.metrics.i3d port), each frame as a 9-frame static clip, Mixed_5c "
              "averaged over time and space (1024-d); FVD preprocessing (uint8, short side 224, centre crop)")

_NETWORK: dict = {}


def fvd_network(device: str | torch.device = "cpu"):
    """``(I3DFeatureNetwork, None)`` from the local cache, or ``(None, reason)`` when the weights are absent or
    unreadable. Loaded once per process and device."""
    key = str(device)
    if key not in _NETWORK:
        from benchmarks.metrics.i3d import I3DWeightsUnavailable, load_i3d

        try:
            _NETWORK[key] = (load_i3d(device=device), None)
        except (I3DWeightsUnavailable, FileNotFoundError, ValueError, OSError) as exc:
            hint = "" if "--fetch" in str(exc) else "; run `python -m benchmarks.metrics.i3d --fetch`"
            _NETWORK[key] = (None, f"FVD unavailable: I3D weights not loadable: {exc}{hint}")
    return _NETWORK[key]


def reset_network_cache() -> None:
    """Forget the loaded network (tests switch the cache folder)."""
    _NETWORK.clear()


def _device_of(network) -> torch.device:
    return next(iter(network.parameters()), torch.empty(0)).device


def fvd_features(videos: Tensor, network, protocol: FVDProtocol, batch_size: int = 4) -> np.ndarray:
    """``(N, 3, T, H, W)`` in [-1, 1] -> ``(N, 400)`` float64 I3D logits under ``protocol``."""
    return extract_features(videos, network, protocol, batch_size=batch_size)


def _cache_root() -> Path:
    from benchmarks.provisioning.cache import cache_root

    return cache_root() / "fvd_real"


class RealFeatureCache:
    """Per-clip values of real clips (FVD features, TC), one ``.npy`` per (video file, what is computed).

    ``key``: a JSON-able description of everything the value depends on besides the file — how a clip is read
    (frames, size, sampling), the metric protocol, the network digest — so a changed protocol never returns stale
    values. ``compute(clips (n, 3, T, H, W)) -> (n, ...)`` array computes values for a batch of clips.
    """

    def __init__(self, key: dict, compute: Callable[[Tensor], np.ndarray], root: str | Path | None = None):
        self.compute = compute
        self.root = Path(root) if root is not None else _cache_root()
        self._base = json.dumps(key, sort_keys=True, default=str)

    @classmethod
    def for_fvd(cls, network, protocol: FVDProtocol, clip_key: dict, root=None) -> "RealFeatureCache":
        """FVD features (``(400,)`` per clip) under ``protocol`` with ``network``."""
        return cls({"what": "fvd", "clip": clip_key, "fvd": protocol.to_dict(), "network": _network_digest(network)},
                   lambda clips: fvd_features(clips, network, protocol), root)

    @classmethod
    def for_tc(cls, network, clip_key: dict, max_frames: int = 0, root=None) -> "RealFeatureCache":
        """TC (``(1,)`` per clip) over the first ``max_frames`` frames (0: all)."""
        def tc(clips: Tensor) -> np.ndarray:
            clips = clips[:, :, :max_frames] if max_frames else clips
            return temporal_consistency(frame_features(clips, network)).numpy()[:, None]
        return cls({"what": "tc", "clip": clip_key, "tc": TC_NETWORK, "max_frames": max_frames,
                    "network": _network_digest(network)}, tc, root)

    def key(self, path: str | Path) -> str:
        p = Path(path)
        st = p.stat()
        blob = f"{self._base}|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def values(self, paths: list[str | Path], read: Callable[[Path], Tensor], batch_size: int = 4,
               on_error: Callable[[Path, Exception], None] | None = None) -> tuple[np.ndarray, list[int]]:
        """Values of the clips ``read(path) -> (1, 3, T, H, W)`` in [-1, 1], from the cache where present.
        Returns ``(values (n_ok, ...), indices of the paths that succeeded)``; a path whose ``read`` raises goes to
        ``on_error`` (or raises when None)."""
        self.root.mkdir(parents=True, exist_ok=True)
        vals: dict[int, np.ndarray] = {}
        todo: list[tuple[int, Path, Tensor]] = []
        for i, path in enumerate(map(Path, paths)):
            f = self.root / f"{self.key(path)}.npy"
            if f.is_file():
                try:
                    vals[i] = np.load(f)
                    continue
                except (OSError, ValueError):
                    pass  # a damaged cache entry is recomputed
            try:
                todo.append((i, path, read(path)))
            except Exception as exc:  # noqa: BLE001 - one unreadable clip is one failure
                if on_error is None:
                    raise
                on_error(path, exc)
        for start in range(0, len(todo), batch_size):
            part = todo[start:start + batch_size]
            out = self.compute(torch.cat([clip for _, _, clip in part]))
            for (i, path, _), row in zip(part, out):
                vals[i] = np.asarray(row)
                target = self.root / f"{self.key(path)}.npy"
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.npy")
                np.save(tmp, vals[i])
                os.replace(tmp, target)
        ok = sorted(vals)
        return (np.stack([vals[i] for i in ok]) if ok else np.zeros((0,))), ok


def _network_digest(network) -> str:
    prov = getattr(network, "provenance", {})
    return prov.get("weights_sha256") or prov.get("network", type(network).__name__)


@torch.no_grad()
def frame_features(videos: Tensor, network, batch_size: int = 4, resolution: int = 224) -> Tensor:
    """Per-frame embeddings for TC: ``(N, 3, T, H, W)`` in [-1, 1] -> ``(N, T, 1024)`` float32 (see module doc).
    Raises ValueError when ``network`` is not the I3D port (no ``Mixed_5c`` to read)."""
    net = getattr(network, "net", None)
    layer = getattr(net, "Mixed_5c", None)
    if layer is None:
        kind = getattr(network, "provenance", {}).get("kind", type(network).__name__)
        raise ValueError(f"TC needs the I3D port's Mixed_5c layer; the loaded network ({kind}) has none")
    if videos.dim() != 5 or videos.shape[1] != 3:
        raise ValueError(f"videos must be (N, 3, T, H, W), got {tuple(videos.shape)}")
    N, _, T, H, W = videos.shape
    frames = videos.permute(0, 2, 1, 3, 4).reshape(N * T, 3, 1, H, W)
    proto = FVDProtocol(num_frames=STATIC_CLIP_FRAMES, resolution=resolution)
    captured: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out.float().mean(dim=(2, 3, 4))))
    device = _device_of(network)
    try:
        for start in range(0, N * T, batch_size):
            static = frames[start:start + batch_size].expand(-1, -1, STATIC_CLIP_FRAMES, -1, -1)
            network(preprocess_videos(static, proto).to(device))
    finally:
        handle.remove()
    return torch.cat(captured).cpu().reshape(N, T, -1)


def temporal_consistency(features: Tensor) -> Tensor:
    """``(N, T, D)`` per-frame features -> ``(N,)`` mean cosine similarity of consecutive frames (float64).
    A frame whose feature is all zero has no direction; its similarities count as 0."""
    if features.dim() != 3 or features.shape[1] < 2:
        raise ValueError(f"temporal consistency needs (N, T >= 2, D) features, got {tuple(features.shape)}")
    f = features.double()
    cos = torch.nn.functional.cosine_similarity(f[:, :-1], f[:, 1:], dim=-1, eps=1e-12)
    return cos.mean(dim=1)
