"""The steps both generative benchmarks share: read and tokenize clips, fit the prior (cached in the fit folder),
sample and decode clips, and FVD over repeated sample sets.

Clip reading: ``frames`` consecutive frames from the centre of the video (:func:`pyratok.data.video.read_clip`,
``mode="center"``, stride 1), short side resized to ``size`` and centre-cropped to ``size x size``, as float32
``(1, 3, T, H, W)`` in [-1, 1]. Before tokenizing, :func:`benchmarks.tasks.clips.conform` trims/crops to the
tokenizer's geometry (never pads or resizes); generated clips have that geometry, real clips keep the protocol's.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .encoding import lfq_bits_of, tokens_to_encoding
from .layout import TokenLayout
from .prior import PriorCondition, PriorConfig, PriorSpec, TokenPrior, resolve_head
from .training import TokenDataset, load_prior, save_prior, train_prior

__all__ = ["read_clip_tensor", "EncodedSet", "encode_clips", "fit_prior", "cached_prior", "generate_clips",
           "fvd_over_repeats", "shard_seed", "compute_device", "tokenizer_device", "prior_config",
           "load_fit_state", "save_fit_state", "fit_key", "FIT_STATE"]

FIT_STATE = "fit.json"


def compute_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def tokenizer_device(tokenizer) -> torch.device:
    module = getattr(tokenizer, "module", None)
    if isinstance(module, torch.nn.Module):
        p = next(iter(module.parameters()), None)
        if p is not None:
            return p.device
    return torch.device("cpu")


def read_clip_tensor(path: str | Path, frames: int, size: int) -> Tensor:
    """``frames`` centre frames of ``path`` at ``size x size`` -> ``(1, 3, T, H, W)`` float32 in [-1, 1].
    Raises :class:`pyratok.data.errors.SampleDecodeError` for a corrupt or too-short video."""
    from pyratok.data.video import read_clip

    arr = read_clip(path, frames, stride=1, mode="center", size=size, resize_mode="short_side", crop="center")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(3, 0, 1, 2).unsqueeze(0).float() / 127.5 - 1.0


@dataclass
class EncodedSet:
    """Token ids of the clips that encoded: ``ids (N, num_visual)``, ``kept`` their positions in the input list,
    ``failures`` one dict per clip that did not (sample, file, reason)."""

    ids: Tensor
    kept: list[int]
    layout: TokenLayout
    input_shape: tuple[int, int, int, int]     # (C, T, H, W) of what the tokenizer saw
    conform: dict
    failures: list[dict] = field(default_factory=list)


def encode_clips(tokenizer, paths: list[str], frames: int, size: int, texts: list[str] | None = None,
                 batch_size: int = 4, ids: list | None = None) -> EncodedSet:
    """Read, conform and tokenize ``paths`` (optionally with one caption each). A clip that cannot be read is
    a failure; a tokenizer whose tokens change layout between clips is an error (its geometry is fixed here)."""
    from benchmarks.datasets.errors import SampleDecodeError
    from benchmarks.tasks.clips import conform

    ids = list(ids) if ids is not None else list(paths)
    failures, kept, clips = [], [], []
    conform_info: dict = {}
    for i, path in enumerate(paths):
        try:
            clip, conform_info = conform(read_clip_tensor(path, frames, size), tokenizer.input_constraints)
        except (SampleDecodeError, ValueError, OSError) as exc:
            failures.append({"sample": ids[i], "file": str(path), "reason": str(exc)})
            continue
        kept.append(i)
        clips.append(clip)
    if not clips:
        raise ValueError(f"{tokenizer.name}: none of the {len(paths)} clips could be read "
                         f"(first failure: {failures[0]['reason'] if failures else '?'})")
    device = tokenizer_device(tokenizer)
    layout, out = None, []
    for start in range(0, len(clips), batch_size):
        batch = torch.cat(clips[start:start + batch_size]).to(device)
        caps = [texts[i] for i in kept[start:start + batch_size]] if texts is not None else None
        enc = tokenizer.encode(batch, caps)
        if enc.tokens is None:
            raise ValueError(f"{tokenizer.name}: encode() returned no tokens (not a discrete tokenizer)")
        lay = TokenLayout.from_tokens(enc.tokens)
        if layout is None:
            layout = lay
        elif lay != layout:
            raise ValueError(f"{tokenizer.name}: token layout changed between batches ({layout} vs {lay})")
        out.append(layout.flatten([t.cpu() for t in enc.tokens]))
    shape = tuple(int(s) for s in clips[0].shape[1:])
    return EncodedSet(torch.cat(out), kept, layout, shape, conform_info, failures)


def prior_config(protocol: dict) -> PriorConfig:
    """The prior configuration a protocol names (``prior``: tiny | paper; ``prior_steps`` > 0 overrides steps;
    ``text_len`` where the protocol has one)."""
    over = {}
    if int(protocol.get("prior_steps", 0) or 0) > 0:
        over["steps"] = int(protocol["prior_steps"])
    if protocol.get("text_len"):
        over["text_len"] = int(protocol["text_len"])
    return PriorConfig.named(protocol.get("prior", "tiny"), **over)


def fit_prior(tokenizer, encoded: EncodedSet, cond: PriorCondition, condition: str, out_dir: Path,
              config: PriorConfig, *, num_classes: int = 0, text_dim: int = 0, log=None) -> dict:
    """Build the prior for ``tokenizer``'s tokens, train it on ``encoded`` with ``cond`` and save it under
    ``out_dir/prior``. Returns ``{"prior_dir", "generator_params", "head", "train_loss_first", "train_loss_last",
    "train_seconds"}``."""
    vocab = tokenizer.vocab_size
    if not vocab:
        raise ValueError(f"{tokenizer.name}: a discrete tokenizer must declare vocab_size")
    hi = int(encoded.ids.max())
    if hi >= vocab or int(encoded.ids.min()) < 0:
        raise ValueError(f"{tokenizer.name}: token ids reach {hi}, outside the declared vocabulary of {vocab}")
    head = resolve_head(config.head, int(vocab), lfq_bits_of(tokenizer))
    spec = PriorSpec(encoded.layout, int(vocab), head, condition, num_classes, text_dim)
    device = compute_device()
    torch.manual_seed(config.seed)
    prior = TokenPrior(config, spec).to(device)
    history = train_prior(prior, TokenDataset(encoded.ids, cond), config, log=log)
    prior_dir = Path(out_dir) / "prior"
    tail = history["loss"][-min(10, len(history["loss"])):]
    save_prior(prior, prior_dir, extra={"tokenizer": tokenizer.name, "history": history})
    return {"prior_dir": str(prior_dir), "generator_params": prior.num_params(), "head": head,
            "train_loss_first": history["loss"][0], "train_loss_last": float(np.mean(tail)),
            "train_seconds": history["seconds"], "train_sequences": len(encoded.ids)}


_PRIORS: dict = {}


def cached_prior(prior_dir: str | Path) -> TokenPrior:
    """:func:`load_prior` once per process per checkpoint (shards of one fit share it)."""
    p = Path(prior_dir)
    key = (str(p.resolve()), (p / "prior.safetensors").stat().st_mtime_ns)
    if key not in _PRIORS:
        _PRIORS.clear()  # one fit at a time per worker keeps memory flat
        _PRIORS[key] = load_prior(p, compute_device())
    return _PRIORS[key]


@torch.no_grad()
def generate_clips(prior: TokenPrior, tokenizer, cond: PriorCondition, input_shape: tuple[int, ...],
                   sampling: dict, generator: torch.Generator, progress: bool = False) -> Tensor:
    """Sample token ids for every condition, decode them -> ``(B, 3, T, H, W)`` float32 in [-1, 1] on the CPU.
    ``sampling``: ``temperature``, ``top_k``, ``guidance``."""
    ids = prior.sample(cond.to(next(prior.parameters()).device), temperature=float(sampling["temperature"]),
                       top_k=int(sampling["top_k"]), guidance=float(sampling["guidance"]), generator=generator,
                       progress=progress)
    tokens = prior.spec.layout.unflatten(ids.cpu())
    enc = tokens_to_encoding(tokenizer, tokens, tuple(input_shape))
    return tokenizer.decode(enc).float().cpu().clamp(-1, 1)


def shard_seed(*parts) -> int:
    """A stable 63-bit seed from JSON-able parts (Python's ``hash`` is salted per process)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & ((1 << 63) - 1)


def fvd_over_repeats(generated: dict[int, np.ndarray], real: np.ndarray, protocol) -> dict:
    """FVD of each repeat's generated features against the real features (:func:`fvd_from_features`), and their
    mean and sample standard deviation (``ddof = 1``; None for one repeat)."""
    from benchmarks.metrics.fvd import fvd_from_features

    if real.shape[0] < 2:
        raise ValueError(f"FVD needs at least 2 real clips, got {real.shape[0]}")
    per = {}
    for r, feats in sorted(generated.items()):
        if feats.shape[0] < 2:
            raise ValueError(f"FVD needs at least 2 generated clips per repeat, repeat {r} has {feats.shape[0]}")
        per[int(r)] = fvd_from_features(real, feats, protocol)
    values = list(per.values())
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return {"mean": float(np.mean(values)), "std": std, "per_repeat": per,
            "n_generated_per_repeat": {int(r): int(f.shape[0]) for r, f in generated.items()},
            "n_real": int(real.shape[0])}


def load_fit_state(out_dir: Path, key: str) -> dict | None:
    """The state a finished fit wrote into ``out_dir`` with the same key (protocol + tokenizer), else None."""
    f = Path(out_dir) / FIT_STATE
    if not f.is_file():
        return None
    try:
        state = json.loads(f.read_text())
    except json.JSONDecodeError:
        return None
    if state.get("key") != key or not Path(state.get("prior_dir", "")).is_dir():
        return None
    return state


def save_fit_state(out_dir: Path, state: dict) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{FIT_STATE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1, default=_nan_safe) + "\n")
    os.replace(tmp, out_dir / FIT_STATE)
    return state


def _nan_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return str(x)


def fit_key(benchmark, tokenizer) -> str:
    blob = json.dumps({"benchmark": benchmark.name, "protocol": benchmark.protocol, "tokenizer": tokenizer.cache_key()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
