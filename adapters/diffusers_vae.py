"""Continuous video VAEs through diffusers behind the :class:`~adapters.base.Tokenizer` interface.

Registry names (``adapters/registry.py``) -> ``build(name, arch, path=None, ...)``:

==================  ===========  ===================================  =======================================
name                arch         diffusers class                      geometry (T in, latent stride t x s x s)
==================  ===========  ===================================  =======================================
``wan2.1-vae``      wan2.1       ``AutoencoderKLWan``                 T = 1 + 4k; 4 x 8 x 8, 16 channels
``wan2.2-vae``      wan2.2       ``AutoencoderKLWan`` (residual,      T = 1 + 4k; 4 x 16 x 16, 48 channels
                                 2x2 patchify)
``cogvideox-vae``   cogvideox    ``AutoencoderKLCogVideoX``           T = 1 + 8k; 4 x 8 x 8, 16 channels
``mochi-vae``       mochi        ``AutoencoderKLMochi``               T = 1 + 6k; 6 x 8 x 8, 12 channels
``svd-vae``         svd          ``AutoencoderKLTemporalDecoder``     any T;      1 x 8 x 8, 4 channels
==================  ===========  ===================================  =======================================

How each handles time (read from diffusers 0.42's source and checked on the tiny configs, T = 1..25):

* **Wan** encodes causally in chunks of 1, 4, 4, ... frames (hard-coded); frames beyond the last full chunk are
  silently dropped, so only T = 1 + 4k round-trips. Latent T' = 1 + (T - 1) / 4.
* **CogVideoX** encodes 8-frame batches (plus the odd first frame) and *decodes latent frames in pairs*
  (``num_latent_frames_batch_size = 2``; the first batch takes the odd one). An even latent count decodes to
  4 T' frames, not 1 + 4 (T' - 1), so a round trip needs an odd T', i.e. T = 1 + 8k (9, 17, ..., 49 — the
  released 49-frame clip is 1 + 8 * 6). Latent T' = 1 + (T - 1) / 4.
* **Mochi** downsamples time by ``prod(temporal_expansions)`` = 6 with causal strided convolutions (replicate
  padding in front) and its decoder drops the first 5 of the 6 T' decoded frames: T = 1 + 6k, T' = 1 + (T - 1) / 6.
* **SVD** (``AutoencoderKLTemporalDecoder``) encodes every frame independently with a 2D encoder (frames folded
  into the batch) and decodes with a temporal decoder that mixes the ``num_frames`` frames of a clip; no temporal
  compression, any T >= 1. The latent is unfolded to ``(B, 4, T, H/8, W/8)``.

Spatially H and W must be multiples of the spatial stride (from each config). These rules are the adapters'
:class:`~adapters.base.InputConstraints`; a clip that breaks them is rejected with a clear error (the benchmark
crops, never the adapter silently).

Encoding. ``payload`` is the **posterior mean** ``(B, C, T', H', W')`` in the VAE's *raw* latent units — what its
decoder consumes. The diffusion pipelines' latent normalisation (``scaling_factor``, ``latents_mean/std``) is
not applied: it is an invertible per-channel affine map that the decoder would undo, and reconstruction
benchmarks compare the autoencoder itself. The mean (not a sample) makes encode deterministic, as every video VAE
benchmark does. ``tokens`` and ``bits`` are None (continuous: no bit rate). ``decode`` returns
``(B, 3, T, H, W)`` float32 clamped to [-1, 1]. :meth:`DiffusersVAETokenizer.features` gives the latent (level 1
= -1 = the only level); the latents are not text aligned (``embed_text`` raises NotSupported: benchmarks fit the
text-alignment probe). :meth:`~DiffusersVAETokenizer.params` counts every VAE parameter (encoder, decoder and the
quant/post-quant convolutions on the encode/decode path).

Weights.

* ``path=DIR``: real weights from a local diffusers directory (``config.json`` +
  ``diffusion_pytorch_model.safetensors`` or a sharded ``.safetensors.index.json``; or a pipeline root with a
  ``vae/`` folder), loaded with ``from_pretrained(local_files_only=True)`` in float32 — nothing is downloaded.
  Checkpoint origin ``local-weights``, sha256 over config.json and the weight files. Memory-saving options are on
  by default for real weights (``memory_saving=None`` -> True): diffusers' spatial tiling and batch slicing for
  Wan / CogVideoX / Mochi (tiling only starts above each class's tile size, 256 px for Wan and Mochi, 240 x 360
  for CogVideoX; above it outputs differ slightly from untiled ones); SVD has neither, so the adapter encodes 8
  frames at a time (exact: its encoder is per frame) and decodes one clip at a time (its decoder mixes a clip's
  frames, so frames are never chunked).
* ``path=DIR, origin="trained-here"`` (the embedded default): a **tiny config of the same class** trained by
  this project on its synthetic WebVid set; the benchmarks layer trains it once, caches it and passes its folder
  (``benchmarks.provisioning``, which documents the recipe). The adapter itself never trains.
* ``init="random"``: the tiny config untrained (seeded; origin ``random-init``; for tests and smoke runs).

Tiny configs (:data:`TINY_CONFIGS`). Each keeps its family's architecture and the released model's *latent
geometry* (latent channels, temporal and spatial strides), so latent elements per pixel — what reconstruction
benchmarks trade against quality — match the real VAE; only widths and depths shrink:

* wan2.2: residual blocks, 2x2 patchify, base_dim 8 / decoder_base_dim 8 (real 160 / 256), 1 res block per stage
  (real 2), z_dim 48. ~0.8 M parameters.
* wan2.1: flat blocks, base_dim 8 (real 96), 1 res block (real 2), z_dim 16. ~0.67 M.
* cogvideox: block_out_channels (8, 16, 16, 32) (real (128, 256, 256, 512), same ratios), 1 layer per block
  (real 3), GroupNorm 4 groups (real 32), latent 16; ``sample_height/width`` kept at the real 480 x 720 (they only
  set tiling thresholds). ~0.55 M.
* mochi: encoder and decoder widths (32, 32, 32, 64) (real (64, 128, 256, 384) / (128, 256, 512, 768)), 1 layer per
  block (real (3, 3, 4, 6, 3)), attention where the real one has it, latent 12. 32 is the floor: diffusers' Mochi
  blocks hard-code GroupNorm(32 groups) and ``heads = channels // 32``. ~1.34 M.
* svd: block_out_channels (32, 32, 64, 64) (real (128, 256, 512, 512)), 1 layer per block (real 2), latent 4.
  32 is the floor again (the temporal decoder hard-codes GroupNorm(32)). ~1.1 M.

"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from einops import rearrange
from torch import Tensor

from .base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer, json_digest, sha256_of

__all__ = ["ARCHS", "CLASS_NAMES", "NATIVE_RESOLUTION", "TINY_CONFIGS", "TINY_FRAMES", "TINY_SIZE",
           "DiffusersVAETokenizer", "build", "tiny_config", "constraints_for", "resolve_vae_dir", "load_vae",
           "check_arch", "vae_class", "posterior", "decode_latent", "frames_to_clip"]

ARCHS = ("wan2.1", "wan2.2", "cogvideox", "mochi", "svd")
CLASS_NAMES = {"wan2.1": "AutoencoderKLWan", "wan2.2": "AutoencoderKLWan", "cogvideox": "AutoencoderKLCogVideoX",
               "mochi": "AutoencoderKLMochi", "svd": "AutoencoderKLTemporalDecoder"}
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
WEIGHTS_INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"

# (T, H, W) each released model was built for (its generation pipeline's default clip):
# Wan 2.1 T2V 480p: 81 x 480 x 832; Wan 2.2 TI2V-5B 720p: 121 x 704 x 1280; CogVideoX: 49 x 480 x 720;
# Mochi 1: 163 x 480 x 848; SVD (img2vid): 14 x 576 x 1024.
NATIVE_RESOLUTION = {"wan2.1": (81, 480, 832), "wan2.2": (121, 704, 1280), "cogvideox": (49, 480, 720),
                     "mochi": (163, 480, 848), "svd": (14, 576, 1024)}

_WAN_COMMON = dict(dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[], temperal_downsample=[False, True, True],
                   dropout=0.0, scale_factor_temporal=4)
TINY_CONFIGS: dict[str, dict] = {
    "wan2.2": dict(_WAN_COMMON, base_dim=8, decoder_base_dim=8, z_dim=48, is_residual=True, in_channels=12,
                   out_channels=12, patch_size=2, scale_factor_spatial=16, latents_mean=[0.0] * 48,
                   latents_std=[1.0] * 48),
    "wan2.1": dict(_WAN_COMMON, base_dim=8, decoder_base_dim=None, z_dim=16, is_residual=False, in_channels=3,
                   out_channels=3, patch_size=None, scale_factor_spatial=8, latents_mean=[0.0] * 16,
                   latents_std=[1.0] * 16),
    "cogvideox": dict(block_out_channels=[8, 16, 16, 32], latent_channels=16, layers_per_block=1, norm_num_groups=4,
                      temporal_compression_ratio=4, sample_height=480, sample_width=720),
    "mochi": dict(encoder_block_out_channels=[32, 32, 32, 64], decoder_block_out_channels=[32, 32, 32, 64],
                  layers_per_block=[1, 1, 1, 1, 1], latent_channels=12, temporal_expansions=[1, 2, 3],
                  spatial_expansions=[2, 2, 2], add_attention_block=[False, True, True, True, True]),
    "svd": dict(block_out_channels=[32, 32, 64, 64], layers_per_block=1, latent_channels=4,
                down_block_types=["DownEncoderBlock2D"] * 4),
}
# clip length of the tiny recipe: the longest valid T <= 9 (Mochi: 1 + 6k -> 7)
TINY_FRAMES = {"wan2.2": 9, "wan2.1": 9, "cogvideox": 9, "mochi": 7, "svd": 9}
TINY_SIZE = 64


def check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f"unknown diffusers VAE arch {arch!r}; valid: {', '.join(ARCHS)}")


def vae_class(arch: str):
    import diffusers

    check_arch(arch)
    name = CLASS_NAMES[arch]
    cls = getattr(diffusers, name, None)
    if cls is None:
        raise NotSupported(f"the installed diffusers {diffusers.__version__} has no {name} (needed for {arch})")
    return cls


def tiny_config(arch: str) -> dict:
    """The tiny config's constructor kwargs for ``arch`` (a copy)."""
    check_arch(arch)
    return json.loads(json.dumps(TINY_CONFIGS[arch]))


# ------------------------------------------------------------------------------------------------------ geometry
def constraints_for(arch: str, vae) -> InputConstraints:
    """The clip geometry ``vae`` round-trips (see the module docstring for why)."""
    cfg = vae.config
    if arch in ("wan2.1", "wan2.2"):
        from pyratok.backbones.wan import latent_stride_for

        # diffusers' Wan encoder chunks time as 1, 4, 4, ... (hard-coded), whatever the config says
        _, s = latent_stride_for(dict(cfg))
        return InputConstraints(t_multiple=4, t_offset=1, hw_multiple=s, min_frames=1)
    if arch == "cogvideox":
        # decoder takes latent frames in pairs (+ the odd first one): T' must be odd -> T = 1 + 8k for ratio 4;
        # the encoder's frame batches (8) then always split cleanly too
        tcr = int(cfg.temporal_compression_ratio)
        t = math.lcm(tcr * int(vae.num_latent_frames_batch_size), int(vae.num_sample_frames_batch_size))
        return InputConstraints(t_multiple=t, t_offset=1, hw_multiple=2 ** (len(cfg.block_out_channels) - 1),
                                min_frames=1)
    if arch == "mochi":
        return InputConstraints(t_multiple=int(vae.temporal_compression_ratio), t_offset=1,
                                hw_multiple=int(vae.spatial_compression_ratio), min_frames=1)
    # svd: per-frame 2D encoder, temporal decoder over num_frames: any T
    return InputConstraints(t_multiple=1, t_offset=0, hw_multiple=2 ** (len(cfg.block_out_channels) - 1),
                            min_frames=1)


# ------------------------------------------------------------------------------------------------------- coding
def posterior(vae, arch: str, video: Tensor, frame_chunk: int | None = None):
    """diffusers' DiagonalGaussianDistribution of ``video`` (B, 3, T, H, W); for SVD over the B*T frames."""
    if arch != "svd":
        return vae.encode(video).latent_dist
    frames = rearrange(video, "b c t h w -> (b t) c h w")
    if frame_chunk and frames.shape[0] > frame_chunk:
        from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

        # the SVD encoder is per frame: encoding chunks of frames is exact; re-wrap the concatenated moments
        moments = torch.cat([vae.encode(f).latent_dist.parameters for f in frames.split(frame_chunk)])
        return DiagonalGaussianDistribution(moments)
    return vae.encode(frames).latent_dist


def frames_to_clip(z: Tensor, batch: int) -> Tensor:
    """SVD: (B*T, C, h, w) -> (B, C, T, h, w)."""
    return rearrange(z, "(b t) c h w -> b c t h w", b=batch)


def decode_latent(vae, arch: str, latent: Tensor) -> Tensor:
    """latent (B, C, T', H', W') -> (B, 3, T, H, W) as the class decodes it (Wan clamps, the others do not)."""
    if arch != "svd":
        return vae.decode(latent).sample
    b, _, t = latent.shape[:3]
    out = vae.decode(rearrange(latent, "b c t h w -> (b t) c h w"), num_frames=t).sample
    return frames_to_clip(out, b)


class DiffusersVAETokenizer(Tokenizer):
    """A diffusers video VAE as a continuous tokenizer. ``module``: the diffusers VAE (eval mode)."""

    family = "video-vae"
    kind = "continuous"
    vocab_size = None
    text_aligned = False
    num_levels = 1

    def __init__(self, vae, arch: str, checkpoint: Checkpoint, name: str, native_resolution: tuple[int, int, int],
                 memory_saving: bool = False, config: dict | None = None):
        check_arch(arch)
        self.module = vae.eval()
        self.arch = arch
        self.name = name
        self._checkpoint = checkpoint
        self.native_resolution = tuple(native_resolution)
        self.memory_saving = bool(memory_saving)
        self._config = dict(config or {})
        self.input_constraints = constraints_for(arch, vae)
        if arch != "svd":
            vae.use_tiling = vae.use_slicing = self.memory_saving
        # SVD has neither option: the adapter chunks the (exact, per-frame) encoder and decodes clip by clip
        self._frame_chunk = 8 if (arch == "svd" and self.memory_saving) else None

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    def config(self) -> dict:
        return {**self._config, "arch": self.arch, "memory_saving": self.memory_saving}

    def params(self) -> int:
        """Every parameter of the VAE: encoder, decoder and the (post-)quant convolutions between them."""
        return sum(p.numel() for p in self.module.parameters())

    def _device_dtype(self) -> tuple[torch.device, torch.dtype]:
        p = next(self.module.parameters())
        return p.device, p.dtype

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> Encoding:
        """video (B, 3, T, H, W) in [-1, 1] fitting :attr:`input_constraints` (``texts`` ignored) -> Encoding with
        ``payload`` = posterior mean (B, C, T', H', W'), raw latent units."""
        self.input_constraints.check(video, self.name)
        device, dtype = self._device_dtype()
        x = video.to(device=device, dtype=dtype)
        dist = posterior(self.module, self.arch, x, self._frame_chunk)
        mean = dist.mean
        if self.arch == "svd":
            mean = frames_to_clip(mean, video.shape[0])
        return Encoding(payload=mean.contiguous(), input_shape=tuple(video.shape))

    @torch.no_grad()
    def decode(self, encoding: Encoding) -> Tensor:
        """Encoding -> (B, 3, T, H, W) float32 clamped to [-1, 1] (T, H, W of the encoded clip)."""
        latent = encoding.payload
        if not isinstance(latent, Tensor) or latent.dim() != 5:
            raise ValueError(f"{self.name}: payload must be a (B, C, T', H', W') latent tensor, got "
                             f"{type(latent).__name__} {tuple(getattr(latent, 'shape', ()))}")
        device, dtype = self._device_dtype()
        latent = latent.to(device=device, dtype=dtype)
        if self.arch == "svd" and self.memory_saving and latent.shape[0] > 1:
            out = torch.cat([decode_latent(self.module, self.arch, z) for z in latent.split(1)])
        else:
            out = decode_latent(self.module, self.arch, latent)
        return out.float().clamp(-1.0, 1.0)

    def features(self, encoding: Encoding, level: int = -1) -> Tensor:
        """Level 1 (= -1, the only level): the latent (B, C, T', H', W'). Encoder stage features are not exposed."""
        if level not in (1, -1):
            raise NotSupported(f"{self.name}: only the latent (level 1 / -1) is exposed, not level {level}")
        return encoding.payload


# ----------------------------------------------------------------------------------------------- real weights
def resolve_vae_dir(path: str | Path, arch: str) -> Path:
    """The folder holding config.json + weights: ``path`` or ``path/vae``. Raises FileNotFoundError /
    NotADirectoryError / ValueError naming the path and the problem."""
    check_arch(arch)
    root = Path(path).expanduser()
    what = f"{arch} VAE"
    hint = (f"path= must be a local diffusers directory with {CONFIG_NAME} and {WEIGHTS_NAME} (or a pipeline root "
            "with a vae/ folder); nothing is downloaded")
    if not root.exists():
        raise FileNotFoundError(f"{what} directory not found: {root} ({hint})")
    if not root.is_dir():
        raise NotADirectoryError(f"{what}: path= must be a directory, got the file {root} ({hint})")
    if not (root / CONFIG_NAME).is_file() and (root / "vae" / CONFIG_NAME).is_file():
        root = root / "vae"
    if not (root / CONFIG_NAME).is_file():
        raise FileNotFoundError(f"{what}: missing {root / CONFIG_NAME} ({hint})")
    if not (root / WEIGHTS_NAME).is_file() and not (root / WEIGHTS_INDEX_NAME).is_file():
        present = sorted(p.name for p in root.iterdir())[:10]
        raise FileNotFoundError(f"{what}: no weights in {root}: expected {WEIGHTS_NAME} (or sharded "
                                f"{WEIGHTS_INDEX_NAME}); found {present}")
    cfg_path = root / CONFIG_NAME
    try:
        raw = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what}: cannot read {cfg_path}: {err}") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{what}: {cfg_path} must hold a JSON object, got {type(raw).__name__}")
    expected = CLASS_NAMES[arch]
    got = raw.get("_class_name")
    if got is not None and got != expected:
        raise ValueError(f"{what}: {cfg_path} describes a {got}, not an {expected}")
    if arch in ("wan2.1", "wan2.2"):
        residual = bool(raw.get("is_residual", False))
        if residual != (arch == "wan2.2"):
            other = "wan2.2" if residual else "wan2.1"
            raise ValueError(f"{what}: {cfg_path} is a {other} VAE (is_residual={residual}); "
                             f"build it as {other}-vae")
    return root


def _weight_files(vae_dir: Path) -> list[Path]:
    """config.json then the weights (the single file, or the index and its shards sorted)."""
    if (vae_dir / WEIGHTS_NAME).is_file():
        return [vae_dir / CONFIG_NAME, vae_dir / WEIGHTS_NAME]
    index = vae_dir / WEIGHTS_INDEX_NAME
    try:
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"cannot read the shard index {index}: {err}") from err
    missing = [s for s in shards if not (vae_dir / s).is_file()]
    if missing:
        raise FileNotFoundError(f"{index} lists shard(s) missing from {vae_dir}: {missing[:5]}")
    return [vae_dir / CONFIG_NAME, index] + [vae_dir / s for s in shards]


def load_vae(path: str | Path, arch: str) -> tuple[object, Path, list[Path]]:
    """(diffusers VAE in float32, the resolved folder, its files for the sha)."""
    vae_dir = resolve_vae_dir(path, arch)
    files = _weight_files(vae_dir)
    cls = vae_class(arch)
    try:
        vae = cls.from_pretrained(str(vae_dir), local_files_only=True, use_safetensors=True,
                                  torch_dtype=torch.float32)
    except Exception as err:  # corrupt safetensors, config keys the class rejects, shape mismatches
        raise ValueError(f"{arch} VAE: cannot load {cls.__name__} from {vae_dir}: {type(err).__name__}: {err}") \
            from err
    return vae, vae_dir, files


# ------------------------------------------------------------------------------------------------------ factory
WEIGHT_ORIGINS = ("local-weights", "trained-here")


def build(name: str | None = None, arch: str = "wan2.2", path: str | None = None, init: str = "trained",
          seed: int = 0, memory_saving: bool | None = None, origin: str = "local-weights",
          **overrides) -> DiffusersVAETokenizer:
    """The ``arch`` VAE as a tokenizer.

    ``path``: a local diffusers directory of weights. ``origin`` says who made them: ``local-weights`` (real
    released weights; :data:`NATIVE_RESOLUTION`, memory saving on by default) or ``trained-here`` (a tiny config
    trained by this project — the benchmarks layer passes it with the cached folder; tiny native resolution,
    memory saving off). ``init="random"`` without ``path``: the tiny config untrained (seeded by ``seed``; origin
    random-init). ``memory_saving``: tiling/slicing (see the module docstring)."""
    if overrides:
        raise TypeError(f"{name or arch}: unknown option(s) {sorted(overrides)}; valid: path, init, seed, "
                        "memory_saving, origin")
    check_arch(arch)
    name = name or f"{arch}-vae"
    if init not in ("trained", "random"):
        raise ValueError(f"{name}: init must be 'trained' or 'random', got {init!r}")
    if origin not in WEIGHT_ORIGINS:
        raise ValueError(f"{name}: origin must be one of {WEIGHT_ORIGINS}, got {origin!r}")
    if path is not None and init == "random":
        raise ValueError(f"{name}: init='random' builds the untrained tiny config; it cannot be combined with path=")
    tiny_res = (TINY_FRAMES[arch], TINY_SIZE, TINY_SIZE)
    if path is not None and origin == "local-weights":
        vae, vae_dir, files = load_vae(path, arch)
        ms = True if memory_saving is None else bool(memory_saving)
        ck = Checkpoint("local-weights", str(vae_dir), sha256_of(files), f"{CLASS_NAMES[arch]} from {vae_dir}")
        return DiffusersVAETokenizer(vae, arch, ck, name, NATIVE_RESOLUTION[arch], ms, {"path": str(vae_dir)})
    ms = False if memory_saving is None else bool(memory_saving)
    if init == "random":
        torch.manual_seed(seed)
        vae = vae_class(arch)(**tiny_config(arch))
        digest = json_digest({"random-init": tiny_config(arch), "class": CLASS_NAMES[arch], "seed": seed})
        ck = Checkpoint("random-init", None, digest, f"tiny {arch} config, seed {seed}, untrained")
        return DiffusersVAETokenizer(vae, arch, ck, name, tiny_res, ms, {"init": "random", "seed": seed})
    if path is None:
        raise ValueError(f"{name}: needs path=DIR (a local diffusers VAE directory) or init='random'; the tiny "
                         "trained-here VAE is supplied by the benchmarks layer (benchmarks.provisioning.provide)")
    vae, vae_dir, files = load_vae(path, arch)
    ck = Checkpoint("trained-here", str(vae_dir), sha256_of(files), f"tiny {arch} config trained here "
                    f"({Path(path).name})")
    return DiffusersVAETokenizer(vae, arch, ck, name, tiny_res, ms, {"init": "trained"})
