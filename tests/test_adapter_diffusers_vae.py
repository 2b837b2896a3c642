"""adapters.diffusers_vae: the diffusers video VAEs behind the Tokenizer interface.

References are independent of the adapter: each diffusers class called directly (from_pretrained on the saved
folder), the released models' documented latent geometry, and diffusers' own frame counts for clips that break
the constraints. Everything runs on untrained tiny configs (``init="random"``) at 32x32; nothing is trained here
except a 2-step smoke run of the training loop on 32x32 clips.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import diffusers
from adapters import build_tokenizer
from adapters.base import NotSupported
from adapters.diffusers_vae import ARCHS, TINY_FRAMES, DiffusersVAETokenizer, build
from tokenizer_contract import TokenizerContract, smooth_clip

# The released models' latent geometry: (clip frames used here, latent channels, latent frames, spatial stride).
# Wan 2.1: 16 ch, 4x8x8; Wan 2.2: 48 ch, 4x16x16; CogVideoX: 16 ch, 4x8x8; Mochi: 12 ch, 6x8x8; SVD: 4 ch,
# per-frame 8x8.
GEOMETRY = {"wan2.1": (9, 16, 3, 8), "wan2.2": (9, 48, 3, 16), "cogvideox": (9, 16, 3, 8), "mochi": (7, 12, 2, 8),
            "svd": (9, 4, 9, 8)}
CLASSES = {"wan2.1": "AutoencoderKLWan", "wan2.2": "AutoencoderKLWan", "cogvideox": "AutoencoderKLCogVideoX",
           "mochi": "AutoencoderKLMochi", "svd": "AutoencoderKLTemporalDecoder"}
NAMES = {"wan2.1-vae": "wan2.1", "wan2.2-vae": "wan2.2", "cogvideox-vae": "cogvideox", "mochi-vae": "mochi",
         "svd-vae": "svd"}
SIZE = 32


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _clip(frames: int, batch: int = 2, size: int = SIZE, seed: int = 0) -> torch.Tensor:
    return smooth_clip(frames, batch, size, seed)


def _reference(vae_dir, arch: str, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(posterior mean, clamped decode) from the diffusers class called directly on the saved folder."""
    cls = getattr(diffusers, CLASSES[arch])
    vae = cls.from_pretrained(str(vae_dir), local_files_only=True).eval()
    with torch.no_grad():
        if arch == "svd":
            b, c, t, h, w = video.shape
            frames = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
            mean = vae.encode(frames).latent_dist.mean
            out = vae.decode(mean, num_frames=t).sample
            out = out.reshape(b, t, 3, h, w).permute(0, 2, 1, 3, 4)
            mean = mean.reshape(b, t, -1, h // 8, w // 8).permute(0, 2, 1, 3, 4)
        else:
            mean = vae.encode(video).latent_dist.mean
            out = vae.decode(mean).sample
    return mean, out.clamp(-1, 1)


# ------------------------------------------------------------------------------------------------ contract
@pytest.mark.parametrize("arch", ARCHS)
def test_encode_decode_contract(arch):
    tok = build(arch=arch, init="random")
    frames, channels, latent_t, stride = GEOMETRY[arch]
    video = _clip(frames)
    enc = tok.encode(video, texts=["a", "b"])
    assert enc.payload.shape == (2, channels, latent_t, SIZE // stride, SIZE // stride)
    assert enc.input_shape == (2, 3, frames, SIZE, SIZE)
    assert enc.tokens is None and enc.bits is None
    out = tok.decode(enc)
    assert out.shape == video.shape and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1 and torch.isfinite(out).all()
    # the latent is the only feature level; nothing else is exposed
    assert tok.features(enc, -1) is enc.payload and tok.features(enc, 1) is enc.payload
    with pytest.raises(NotSupported):
        tok.features(enc, 2)
    with pytest.raises(NotSupported):
        tok.embed_text(["a cat"])
    with pytest.raises(NotSupported):
        tok.bits(enc)
    ident = tok.identity()
    assert (ident["family"], ident["kind"], ident["vocab_size"], ident["text_aligned"]) == \
        ("video-vae", "continuous", None, False)
    assert ident["checkpoint"]["origin"] == "random-init"
    assert tok.native_resolution == (frames, 64, 64)
    assert TINY_FRAMES[arch] == frames == tok.input_constraints.valid_frames(9)


def test_encode_is_deterministic_posterior_mean():
    tok = build(arch="wan2.2", init="random")
    video = _clip(5, batch=1)
    a, b = tok.encode(video).payload, tok.encode(video).payload
    assert torch.equal(a, b)
    with torch.no_grad():
        dist = tok.module.encode(video).latent_dist
    torch.testing.assert_close(a, dist.mean)


# Bad geometry per class, and what diffusers itself does with it (the reason the constraint exists).
BAD_FRAMES = {"wan2.1": (8, r"T = 1 \+ 4k"), "wan2.2": (8, r"T = 1 \+ 4k"), "cogvideox": (13, r"T = 1 \+ 8k"),
              "mochi": (9, r"T = 1 \+ 6k")}


@pytest.mark.parametrize("arch", sorted(BAD_FRAMES))
def test_constraints_reject_bad_frame_count(arch):
    tok = build(arch=arch, init="random")
    frames, pattern = BAD_FRAMES[arch]
    video = _clip(frames, batch=1, size=16)
    with pytest.raises(ValueError, match=pattern):
        tok.encode(video)
    # diffusers alone does not round-trip such a clip (frames dropped or added), so the rejection is needed
    with torch.no_grad():
        z = tok.module.encode(video).latent_dist.mean
        assert tok.module.decode(z).sample.shape[2] != frames
    good = tok.input_constraints.valid_frames(frames)
    with torch.no_grad():
        z = tok.module.encode(_clip(good, batch=1, size=16)).latent_dist.mean
        assert tok.module.decode(z).sample.shape[2] == good


def test_svd_any_frame_count_but_spatial_multiple():
    tok = build(arch="svd", init="random")
    for t in (1, 4, 6):
        assert tok.decode(tok.encode(_clip(t, batch=1, size=16))).shape[2] == t
    with pytest.raises(ValueError, match="multiples of 8"):
        tok.encode(_clip(4, batch=1, size=20))
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        tok.encode(torch.zeros(1, 3, 16, 16))


# ------------------------------------------------------------------------------------------------ real weights
@pytest.mark.parametrize("arch", ARCHS)
def test_saved_directory_matches_diffusers_directly(arch, tmp_path):
    src = build(arch=arch, init="random", seed=1)
    # a pipeline root with vae/ for half of them, the bare folder for the others
    pipeline = arch in ("wan2.2", "svd", "mochi")
    vae_dir = tmp_path / "vae" if pipeline else tmp_path
    src.module.save_pretrained(str(vae_dir))
    tok = build(arch=arch, path=str(tmp_path))
    assert tok.checkpoint.origin == "local-weights" and tok.checkpoint.path == str(vae_dir)
    assert tok.memory_saving  # default for real weights (SVD: chunked encoder, clip-by-clip decoder)
    frames = GEOMETRY[arch][0]
    video = _clip(frames, seed=3)
    enc = tok.encode(video)
    out = tok.decode(enc)
    ref_mean, ref_out = _reference(vae_dir, arch, video)
    torch.testing.assert_close(enc.payload, ref_mean, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-4)
    # the comparison has power: another random init decodes differently
    other = build(arch=arch, init="random", seed=2)
    assert (other.decode(other.encode(video)) - ref_out).abs().max() > 1e-3


def test_checkpoint_sha_tracks_weights(tmp_path):
    src = build(arch="wan2.2", init="random")
    src.module.save_pretrained(str(tmp_path / "a"))
    src.module.save_pretrained(str(tmp_path / "b"))
    with torch.no_grad():
        next(src.module.decoder.parameters()).add_(0.01)
    src.module.save_pretrained(str(tmp_path / "c"))
    a, b, c = (build(arch="wan2.2", path=str(tmp_path / d)) for d in "abc")
    assert len(a.checkpoint.sha256) == 64
    assert a.checkpoint.sha256 == b.checkpoint.sha256
    assert a.checkpoint.sha256 != c.checkpoint.sha256
    assert a.cache_key() != c.cache_key()
    assert build(arch="wan2.2", init="random", seed=0).checkpoint.sha256 != \
        build(arch="wan2.2", init="random", seed=1).checkpoint.sha256


def test_bad_paths_name_the_problem(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        build(arch="wan2.2", path=str(missing))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        build(arch="wan2.2", path=str(tmp_path / "empty"))
    build(arch="cogvideox", init="random").module.save_pretrained(str(tmp_path / "cog"))
    with pytest.raises(ValueError, match="AutoencoderKLCogVideoX, not an AutoencoderKLWan"):
        build(arch="wan2.2", path=str(tmp_path / "cog"))
    build(arch="wan2.1", init="random").module.save_pretrained(str(tmp_path / "w21"))
    with pytest.raises(ValueError, match="wan2.1"):
        build(arch="wan2.2", path=str(tmp_path / "w21"))
    (tmp_path / "w21" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="cannot load AutoencoderKLWan"):
        build(arch="wan2.1", path=str(tmp_path / "w21"))
    (tmp_path / "badjson").mkdir()
    (tmp_path / "badjson" / "config.json").write_text("{oops")
    (tmp_path / "badjson" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read .*badjson"):
        build(arch="mochi", path=str(tmp_path / "badjson"))
    with pytest.raises(ValueError, match="cannot be combined"):
        build(arch="svd", path=str(tmp_path / "cog"), init="random")
    with pytest.raises(TypeError, match="unknown option"):
        build(arch="svd", init="random", bogus=1)
    with pytest.raises(ValueError, match="unknown diffusers VAE arch"):
        build(arch="sora", init="random")


# ------------------------------------------------------------------------------------------------ registry
@pytest.mark.parametrize("name", sorted(NAMES))
def test_registry_builds_each_name(name):
    tok = build_tokenizer(f"{name}:init=random")
    assert isinstance(tok, DiffusersVAETokenizer)
    assert tok.name == name and tok.arch == NAMES[name]
    assert type(tok.module).__name__ == CLASSES[NAMES[name]]
    assert tok.checkpoint.origin == "random-init"
    assert tok.params() == sum(p.numel() for p in tok.module.parameters()) > 0
    assert tok.identity()["config"]["arch"] == NAMES[name]


# ------------------------------------------------------------------------------------------------ contract
# The tokenizer contract on every registered VAE (untrained tiny configs, 32 x 32 clips of the GEOMETRY length).
for _name, _arch in NAMES.items():
    _cls = f"Test{_arch.replace('.', '').capitalize()}Contract"
    globals()[_cls] = type(_cls, (TokenizerContract,), {"tokenizer_name": _name,
                                                         "tokenizer_options": {"init": "random"},
                                                         "frames": GEOMETRY[_arch][0], "size": SIZE,
                                                         "__doc__": f"The tokenizer contract on {_name}."})
