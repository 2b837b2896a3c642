"""PyraTok end to end: losses, gradients, encode/decode parity, persistence, ablations, a real clip."""
import math

import pytest
import torch

from pyratok.config_utils import ConfigError
from pyratok.model import PyraTok, PyraTokConfig, get_config

TEXTS = ["a red circle moves left", "a blue square spins"]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return PyraTok(PyraTokConfig.tiny())


def video(b=2, t=9, s=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, t, s, s, generator=g) * 2 - 1


def test_forward_terms_and_weighted_total(tiny):
    tiny.train()
    out = tiny(video(), TEXTS)
    cfg = tiny.config.losses
    for name in ["recon", "codebook", "ar", "drift", "recon/l1", "recon/ssim", "codebook/commitment",
                 "codebook/entropy", "codebook/hierarchical", "codebook/text_alignment", "codebook/text_codebook"]:
        assert name in out.losses, name
    expected = cfg.recon * out.losses["recon"] + cfg.codebook * out.losses["codebook"] \
        + cfg.ar * out.losses["ar"] + cfg.drift * out.losses["drift"]
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)
    # zero LoRA at init: adapted and reference encoders agree, so the drift KL is 0
    assert float(out.losses["drift"]) == pytest.approx(0.0, abs=1e-6)
    assert 0 <= out.metrics["utilization/level1"] <= 1 and math.isfinite(out.metrics["psnr"])


def test_gradients_reach_trainable_parts_only(tiny):
    tiny.train()
    tiny.zero_grad(set_to_none=True)
    tiny(video(), TEXTS).loss.backward()
    named = dict(tiny.named_parameters())
    lora = [n for n in named if "lora_" in n]
    assert lora and any(named[n].grad is not None and named[n].grad.abs().sum() > 0 for n in lora)
    assert named["lapq.blocks.0.lateral.proj.weight"].grad.abs().sum() > 0
    assert "text_to_bits.projection" not in named  # the text target is a fixed buffer (pyratok.text.target)
    for n, p in named.items():
        if n.startswith("text_encoder.") or (n.startswith("backbone.vae.encoder") and "lora_" not in n):
            assert p.grad is None, n


def test_encode_decode_parity_with_forward(tiny):
    tiny.eval()
    v = video(b=1)
    enc = tiny.encode(v, TEXTS[:1])
    # 9 x 32 x 32 at token strides (2, 16), (4, 16), (4, 32), (8, 32): 1 + ceil(8 / t) frames, ceil(32 / s) cells
    assert [tuple(ix.shape) for ix in enc.indices] == [(1, 5, 2, 2), (1, 3, 2, 2), (1, 3, 1, 1), (1, 2, 1, 1)]
    assert enc.grids == [(5, 2, 2), (3, 2, 2), (3, 1, 1), (2, 1, 1)]
    assert enc.num_tokens == 20 + 12 + 3 + 2
    assert all(int(ix.min()) >= 0 and int(ix.max()) < 2 ** 16 for ix in enc.indices)
    with torch.no_grad():
        out = tiny(v, TEXTS[:1])
    # in eval mode forward sees the clean video, so decoding the tokens reproduces forward's reconstruction
    assert torch.allclose(tiny.decode(enc), out.recon.clamp(-1, 1), atol=1e-5)


def test_save_and_load_roundtrip(tiny, tmp_path):
    tiny.eval()
    tiny.save_pretrained(tmp_path / "ckpt")
    loaded = PyraTok.from_pretrained(tmp_path / "ckpt")
    v = video(b=1, seed=3)
    a, b = tiny.encode(v, TEXTS[:1]), loaded.encode(v, TEXTS[:1])
    assert all(torch.equal(x, y) for x, y in zip(a.indices, b.indices))
    assert torch.equal(tiny.decode(a), loaded.decode(b))
    assert not any(k.startswith("text_encoder.") for k in tiny._saved_state())


def test_tiny_encode_gives_a_spatiotemporal_pyramid(tiny):
    """The issue's acceptance check: a (1, 3, 17, 64, 64) clip -> grids not all equal, level 1 finest in time."""
    tiny.eval()
    enc = tiny.encode(video(b=1, t=17, s=64), TEXTS[:1])
    grids = enc.grids
    assert len(set(grids)) > 1
    assert grids[0][0] == max(g[0] for g in grids) and grids[0][0] > grids[-1][0]
    assert grids == [(9, 4, 4), (5, 4, 4), (5, 2, 2), (3, 2, 2)]
    assert tiny.decode(enc).shape == (1, 3, 17, 64, 64)


def test_bits_per_pixel_of_config_and_encoding(tiny):
    """Hand-worked: 256 tokens x 16 bits over 17 x 64 x 64 pixels (pyramid); 4 x 80 tokens on the latent grid."""
    tiny.eval()
    enc = tiny.encode(video(b=1, t=17, s=64), TEXTS[:1])
    assert enc.bits_per_pixel == pytest.approx(256 * 16 / (17 * 64 * 64))
    assert PyraTokConfig.tiny().bits_per_pixel(17, 64, 64) == pytest.approx(256 * 16 / (17 * 64 * 64))
    assert PyraTokConfig.tiny(grid="latent").bits_per_pixel(17, 64, 64) == pytest.approx(320 * 16 / (17 * 64 * 64))
    assert sum(math.prod(g) for g in PyraTokConfig.paper().token_grids(17, 128, 128)) == 1024   # Table 8
    assert PyraTokConfig.tiny().token_grids(17, 64, 64) == enc.grids


def test_checkpoint_without_grid_key_loads_as_latent_grid(tmp_path):
    """Checkpoints written before per-level grids (no lapq.grid in config.json) were equal-grid models."""
    import json
    torch.manual_seed(0)
    m = PyraTok(PyraTokConfig.tiny(grid="latent")).eval()
    d = m.save_pretrained(tmp_path / "old")
    cfg = json.loads((d / "config.json").read_text())
    del cfg["lapq"]["grid"]
    (d / "config.json").write_text(json.dumps(cfg))
    loaded = PyraTok.from_pretrained(d)
    assert loaded.config.lapq.grid == "latent"
    v = video(b=1, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(m.encode(v).indices, loaded.encode(v).indices))


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a PyraTok checkpoint"):
        PyraTok.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="valid names"):
        get_config("tinyy")


@pytest.mark.parametrize("overrides,n_levels,absent", [
    ({"lapq": {"mode": "single"}}, 1, []),
    ({"lapq": {"num_levels": 2}}, 2, []),
    ({"lapq": {"text_guidance": False}}, 4, []),
    ({"losses": {"disabled": ["ar", "drift"]}}, 4, ["ar", "drift"]),
    ({"losses": {"disabled": ["commitment", "text_codebook"]}}, 4, ["codebook/commitment", "codebook/text_codebook"]),
])
def test_ablations_are_configurations(overrides, n_levels, absent):
    d = PyraTokConfig.tiny().to_dict()
    for section, vals in overrides.items():
        d[section].update(vals)
    torch.manual_seed(0)
    m = PyraTok(PyraTokConfig.from_dict(d)).train()
    out = m(video(b=1), TEXTS[:1])
    assert len(out.lapq.quant) == n_levels
    for name in absent:
        assert name not in out.losses
    out.loss.backward()


def test_bad_video_shape(tiny):
    with pytest.raises(ValueError, match="1 \\+ 4k"):
        tiny.encode(torch.zeros(1, 3, 8, 32, 32))
    with pytest.raises(ValueError, match="texts"):
        tiny.encode(video(b=2), ["only one"])


def test_real_clip_through_tiny_model(tiny, realdata):
    """The README example: a real Kinetics clip -> tokens -> video."""
    from pyratok.data.video import frames_to_tensor, probe_video, read_frames, sample_indices
    path = realdata / "videos" / "kinetics_arm_wrestling.mp4"
    frames = read_frames(path, sample_indices(probe_video(path).num_frames, 17, mode="center"), size=64, crop="center")
    v = frames_to_tensor(frames)[None]
    assert v.shape == (1, 3, 17, 64, 64) and v.min() >= -1 and v.max() <= 1
    tiny.eval()
    enc = tiny.encode(v, ["two people arm wrestling"])
    assert [tuple(ix.shape[1:]) for ix in enc.indices] == [(9, 4, 4), (5, 4, 4), (5, 2, 2), (3, 2, 2)]
    assert tiny.decode(enc).shape == v.shape


@pytest.mark.parametrize("qtype,extra", [("vq", {"codebook_size": 64, "dim": 32}),
                                         ("gvq", {"codebook_size": 64, "dim": 32, "groups": 4}),
                                         ("rvq", {"codebook_size": 64, "dim": 32, "num_quantizers": 2}),
                                         ("fsq", {"dim": 32, "fsq_levels": [8, 5, 5]})])
def test_quantizer_ablation_table9(qtype, extra):
    d = PyraTokConfig.tiny().to_dict()
    d["lapq"]["quantizer"] = {"type": qtype, **extra}
    d["losses"]["disabled"] = ["ar"]
    torch.manual_seed(0)
    m = PyraTok(PyraTokConfig.from_dict(d)).train()
    out = m(video(b=1), TEXTS[:1])
    assert "codebook/commitment" in out.losses and "codebook/entropy" not in out.losses
    out.loss.backward()
    m.eval()
    v = video(b=1, seed=5)
    enc = m.encode(v, TEXTS[:1])
    assert enc.num_tokens == 20 + 12 + 3 + 2
    with torch.no_grad():
        ref = m(v, TEXTS[:1]).recon.clamp(-1, 1)
    assert torch.allclose(m.decode(enc), ref, atol=1e-4)


def test_ar_requires_lfq():
    d = PyraTokConfig.tiny().to_dict()
    d["lapq"]["quantizer"] = {"type": "vq", "codebook_size": 64, "dim": 32}
    with pytest.raises(ConfigError, match="losses.disabled"):
        PyraTok(PyraTokConfig.from_dict(d))


def test_alignment_bits_must_match_the_lfq_codebook():
    """A K = 8 codebook with the default 16-bit AR alignment is a config error naming both keys (it used to fail
    deep inside the first training step)."""
    from pyratok.config_utils import ConfigError
    from pyratok.model import PyraTok, PyraTokConfig

    cfg = PyraTokConfig.tiny()
    cfg.lapq.lfq.num_bits = 8
    with pytest.raises(ConfigError, match="alignment.num_bits=16.*lapq.lfq.num_bits=8"):
        PyraTok(cfg)
