"""The drift / frame-retention reference: the un-adapted VAE (default) or a local DINOv2-layout vision encoder
(a tiny random Dinov2Model saved here). References: transformers' Dinov2Model called directly, hand-built
per-step averages and cosines, the closed-form Gaussian KL."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from pyratok.config_utils import ConfigError
from pyratok.reference import HFVisionReference, ReferenceConfig, VAEReference, load_vision_encoder

SIZE, PATCH, DIM = 32, 8, 16


@pytest.fixture(scope="module")
def dino_dir(tmp_path_factory):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("dinov2")
    Dinov2Model(Dinov2Config(hidden_size=DIM, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                             patch_size=PATCH, image_size=SIZE)).save_pretrained(d)
    assert (d / "config.json").is_file() and (d / "model.safetensors").is_file()
    return d


@pytest.fixture(scope="module")
def hf_ref(dino_dir):
    torch.manual_seed(0)
    return HFVisionReference(ReferenceConfig(kind="hf", path=str(dino_dir), image_size=SIZE), latent_channels=4)


def video(b=1, t=5, s=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, t, s, s, generator=g) * 2 - 1


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="reference.kind"):
        ReferenceConfig(kind="dino")
    with pytest.raises(ConfigError, match="reference.path"):
        ReferenceConfig(kind="hf")
    assert ReferenceConfig().kind == "vae" and "VAE" in ReferenceConfig().label


def test_wrong_or_missing_directory_names_the_file(tmp_path, dino_dir):
    with pytest.raises(FileNotFoundError, match="not found.*nowhere"):
        load_vision_encoder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json: missing"):
        load_vision_encoder(tmp_path / "empty")
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text((dino_dir / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="model.safetensors: missing"):
        load_vision_encoder(tmp_path / "noweights")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (tmp_path / "text" / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=r"config.json: not a ViT vision encoder.*patch_size"):
        load_vision_encoder(tmp_path / "text")
    with pytest.raises(ConfigError, match="multiple of the encoder's patch"):
        HFVisionReference(ReferenceConfig(kind="hf", path=str(dino_dir), image_size=SIZE + 3), latent_channels=4)


def test_patch_features_match_dinov2_called_directly(hf_ref, dino_dir):
    from transformers import Dinov2Model

    net = Dinov2Model.from_pretrained(str(dino_dir)).eval()
    v = video(t=2)
    got = hf_ref.patch_features(v)  # (1, 2, D, 4, 4)
    assert got.shape == (1, 2, DIM, SIZE // PATCH, SIZE // PATCH)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    for t in range(2):
        x = ((v[:, :, t] + 1) / 2 - mean) / std  # frames are already SIZE x SIZE: resizing is the identity
        with torch.no_grad():
            h = net(pixel_values=x).last_hidden_state[0, 1:]  # drop CLS
        ref = h.t().reshape(DIM, SIZE // PATCH, SIZE // PATCH)
        assert torch.allclose(got[0, t], ref, atol=1e-5)


def test_per_latent_step_hand_worked():
    f = torch.arange(9, dtype=torch.float32).view(1, 9, 1, 1, 1)  # frame t has value t
    got = HFVisionReference.per_latent_step(f, 3).flatten()
    assert got.tolist() == [0.0, 2.5, 6.5]  # frame 0; mean(1..4); mean(5..8)
    with pytest.raises(ValueError, match="latent steps"):
        HFVisionReference.per_latent_step(f, 2)


def test_hf_drift_is_projected_feature_cosine(hf_ref):
    from types import SimpleNamespace

    v = video(t=5)
    mu = torch.randn(1, 4, 2, 2, 2, requires_grad=True)  # (B, C, T'=2, H'=2, W'=2)
    loss = hf_ref.drift(v, SimpleNamespace(mean=mu, logvar=torch.zeros_like(mu)))
    with torch.no_grad():
        feats = hf_ref.patch_features(v)[0]  # (5, D, 4, 4)
        steps = [feats[0], feats[1:5].mean(0)]
        ref_terms = []
        for t in range(2):
            target = F.avg_pool2d(steps[t][None], 2)[0]  # 4x4 patches -> 2x2 latent grid (area)
            for i in range(2):
                for j in range(2):
                    pred = hf_ref.drift_projection(mu[0, :, t, i, j])
                    ref_terms.append(1 - F.cosine_similarity(pred, target[:, i, j], dim=0))
    assert float(loss.detach()) == pytest.approx(float(torch.stack(ref_terms).mean()), abs=1e-5)
    loss.backward()
    assert mu.grad.abs().sum() > 0 and hf_ref.drift_projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in hf_ref.net.parameters())


def test_hf_frame_retention(hf_ref):
    v = video(t=5)
    assert float(hf_ref.frame_retention(v.clone(), v)) == pytest.approx(0.0, abs=1e-5)
    recon = (v + 0.5 * torch.randn_like(v)).clamp(-1, 1).requires_grad_(True)
    loss = hf_ref.frame_retention(recon, v)
    loss.backward()
    assert float(loss.detach()) > 1e-4 and recon.grad.abs().sum() > 0
    assert all(p.grad is None for p in hf_ref.net.parameters())
    hf_ref.train()
    assert not hf_ref.net.training  # the frozen encoder never switches to train mode


@pytest.fixture(scope="module")
def tiny_backbone():
    from pyratok.backbones import WanBackbone, WanBackboneConfig

    torch.manual_seed(0)
    bb = WanBackbone(WanBackboneConfig.tiny())
    with torch.no_grad():  # LoRA B starts at 0: make the adapted encoder differ from the reference
        for n, p in bb.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return bb


def test_vae_reference_drift_is_the_gaussian_kl(tiny_backbone):
    from pyratok.losses import gaussian_kl

    ref = VAEReference(ReferenceConfig())
    v = video(t=5)
    post = tiny_backbone.encode(v)
    with torch.no_grad(), tiny_backbone.lora_disabled():
        base = tiny_backbone.encode(v)
    d = torch.distributions
    expected = d.kl_divergence(d.Normal(post.mean, (0.5 * post.logvar).exp()),
                               d.Normal(base.mean, (0.5 * base.logvar).exp())).mean()
    got = ref.drift(v, post, tiny_backbone)
    assert float(got) == pytest.approx(float(expected), rel=1e-4)
    assert float(got) > 0
    assert float(ref.drift(v, base, tiny_backbone)) == pytest.approx(0.0, abs=1e-6)
    assert float(gaussian_kl(post.mean, post.logvar, base.mean, base.logvar)) == pytest.approx(float(got), rel=1e-5)


def test_vae_reference_frame_retention(tiny_backbone):
    ref = VAEReference(ReferenceConfig())
    v = video(t=5)
    assert float(ref.frame_retention(v.clone(), v, tiny_backbone)) == pytest.approx(0.0, abs=1e-5)
    recon = (v + 0.5 * torch.randn_like(v)).clamp(-1, 1).requires_grad_(True)
    loss = ref.frame_retention(recon, v, tiny_backbone)
    loss.backward()
    assert float(loss.detach()) > 1e-4 and recon.grad.abs().sum() > 0
    with torch.no_grad(), tiny_backbone.lora_disabled():  # hand-built: cosine of the base posterior means
        a, b = tiny_backbone.encode(recon).mean, tiny_backbone.encode(v).mean
    assert float(loss) == pytest.approx(float((1 - F.cosine_similarity(a, b, dim=1)).mean()), abs=1e-5)


def test_pyratok_with_a_dino_reference(dino_dir, tmp_path):
    from pyratok.model import PyraTok, PyraTokConfig

    cfg = PyraTokConfig.tiny()
    cfg.reference = ReferenceConfig(kind="hf", path=str(dino_dir), image_size=SIZE)
    torch.manual_seed(0)
    model = PyraTok(cfg).train()
    out = model(video(b=2, t=9), ["a red circle", "a blue square"])
    assert "drift" in out.losses and float(out.losses["drift"]) > 0
    out.loss.backward()
    assert model.reference.drift_projection.weight.grad.abs().sum() > 0
    saved = model._saved_state()
    assert "reference.drift_projection.weight" in saved
    assert not [k for k in saved if k.startswith("reference.net.")]  # frozen DINO: read from its own path
    model.save_pretrained(tmp_path / "m")
    loaded = PyraTok.from_pretrained(tmp_path / "m")
    assert loaded.config.reference.kind == "hf"
    assert torch.equal(loaded.reference.drift_projection.weight, model.reference.drift_projection.weight)
