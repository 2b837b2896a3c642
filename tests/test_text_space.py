"""The fixed text -> code-space map (cannot collapse, keeps the text geometry within its Johnson-Lindenstrauss
spread) and the text-space measurements, against brute force and constructed examples."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pyratok.text.space import clip_code_embedding, mean_offdiag_cosine, measure_text_space, retrieval_top1
from pyratok.text.target import FixedTextTarget


def unit_vectors_with_cosines(dim: int, cosines: list[float], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A unit anchor a and unit vectors v_i with cos(a, v_i) = cosines[i] exactly (Gram-Schmidt)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, len(cosines) + 1, generator=g, dtype=torch.float64))
    a = q[:, 0]
    vs = torch.stack([c * a + math.sqrt(1 - c * c) * q[:, i + 1] for i, c in enumerate(cosines)])
    return a, vs


def test_fixed_map_has_no_parameters_and_is_seeded_privately():
    t = FixedTextTarget(16, 384, seed=3)
    assert list(t.parameters()) == []
    assert set(t.state_dict()) == {"projection"}  # saved with the model
    torch.manual_seed(0)
    a = FixedTextTarget(16, 384, seed=3).projection
    torch.manual_seed(123)
    b = FixedTextTarget(16, 384, seed=3).projection
    assert torch.equal(a, b) and torch.equal(a, t.projection)  # independent of the global RNG
    assert not torch.equal(a, FixedTextTarget(16, 384, seed=4).projection)
    # hand-worked: logits = scale * R (e / ||e||)
    e = torch.randn(2, 384)
    ref = t.scale * (e / e.norm(dim=1, keepdim=True)) @ t.projection.t()
    assert torch.allclose(t(e), ref, atol=1e-5)
    assert torch.allclose(t(5 * e), t(e), atol=1e-5)  # only the direction of e_t matters


def test_fixed_map_preserves_cosine_order_within_jl_bound():
    # K = 1024: per pair, the code-space cosine deviates from the text cosine by ~sqrt((1 + c^2) / K) <= 0.045;
    # 0.2 is over 4 of those, and the constructed cosines are 0.3 apart, so their order must survive.
    cos = [-0.3, 0.0, 0.3, 0.6, 0.9]
    a, vs = unit_vectors_with_cosines(384, cos)
    for seed in range(3):
        t = FixedTextTarget(1024, 384, seed=seed)
        pa, pv = t(a[None].float()), t(vs.float())
        got = F.cosine_similarity(pa, pv, dim=-1)
        assert torch.all((got.double() - torch.tensor(cos, dtype=torch.float64)).abs() < 0.2), got
        assert torch.equal(torch.argsort(got), torch.arange(len(cos)))


def test_unrelated_texts_stay_apart_in_code_space():
    # Orthogonal text embeddings (cosine 0): a learned map could send them all to one code (cosine 1); the fixed
    # map keeps their mean code-space cosine near 0. The 190 pairs share one R, so the bound is the single-pair
    # JL spread 1 / sqrt(K) = 0.25 for K = 16, not its average over pairs.
    e = torch.eye(384)[:20]
    for seed in range(3):
        m = mean_offdiag_cosine(FixedTextTarget(16, 384, seed=seed)(e))
        assert abs(m) < 0.25, (seed, m)


def test_mean_offdiag_cosine_brute_force():
    e = torch.randn(6, 5)
    ref = 0.0
    for i in range(6):
        for j in range(6):
            if i != j:
                ref += float(torch.dot(e[i], e[j]) / (e[i].norm() * e[j].norm()))
    assert mean_offdiag_cosine(e) == pytest.approx(ref / 30, abs=1e-6)
    assert mean_offdiag_cosine(torch.ones(4, 3)) == pytest.approx(1.0)  # a collapsed space
    with pytest.raises(ValueError, match="N >= 2"):
        mean_offdiag_cosine(torch.ones(1, 3))


def test_retrieval_top1_constructed():
    q = torch.eye(4)
    # clips 0 and 1 point at their own caption; clip 2 looks like caption 3 and clip 3 like caption 2
    gallery = torch.tensor([[1.0, 0.1, 0, 0], [0, 1.0, 0, 0.2], [0, 0, 0.1, 1.0], [0, 0, 1.0, 0.1]])
    assert retrieval_top1(q, gallery) == pytest.approx(0.5)
    assert retrieval_top1(q, 3 * q) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="both be"):
        retrieval_top1(q, q[:3])


def test_clip_code_embedding_hand_worked():
    f1 = torch.arange(2 * 2 * 1 * 1 * 2, dtype=torch.float32).view(2, 2, 1, 1, 2)  # (B=2, K=2, 1, 1, 2)
    f2 = torch.zeros(2, 2, 2, 2, 2)
    got = clip_code_embedding([f1, f2])
    ref = torch.tensor([[0.5, 2.5], [4.5, 6.5]]) / 2  # level means, then mean with level 2 (zeros)
    assert torch.allclose(got, ref)


class _FakeModel:
    """Captions embed to one-hot rows; clip i's features point at caption perm[i]'s bit logits."""

    def __init__(self, perm):
        self.perm, self.training = perm, False
        self.target = FixedTextTarget(8, 6, seed=0, scale=1.0)

    def train(self, mode=True):
        self.training = mode

    def eval(self):
        self.training = False

    def embed_text(self, texts):
        from pyratok.text import TextEmbedding

        idx = torch.tensor([int(t.split()[-1]) for t in texts])
        pooled = F.one_hot(idx, 6).float()
        return TextEmbedding(tokens=pooled[:, None], mask=torch.ones(len(texts), 1, dtype=torch.bool), pooled=pooled)

    def text_bit_logits(self, emb):
        return self.target(emb.pooled)

    def encode(self, video, texts=None):
        assert texts is None  # the clip side must not see the caption
        from types import SimpleNamespace

        i = video[:, 0, 0, 0, 0].long()
        logits = self.target(F.one_hot(torch.tensor([self.perm[int(k)] for k in i]), 6).float())
        return SimpleNamespace(features=[logits[:, :, None, None, None]])


def test_measure_text_space_on_constructed_model():
    perm = [0, 1, 2, 3, 5, 4]  # clips 4 and 5 are swapped: 4 of 6 captions find their clip
    batches = [{"video": torch.arange(b, b + 3).float().view(3, 1, 1, 1, 1).expand(3, 3, 1, 1, 1),
                "texts": [f"caption {i}" for i in range(b, b + 3)]} for b in (0, 3)]
    m = _FakeModel(perm)
    rep = measure_text_space(m, batches)
    assert rep["n"] == 6 and rep["chance"] == pytest.approx(1 / 6)
    assert rep["retrieval_top1"] == pytest.approx(4 / 6)
    assert rep["text_encoder_cosine"] == pytest.approx(0.0)  # one-hot captions are orthogonal
    ref = mean_offdiag_cosine(m.target(torch.eye(6)))
    assert rep["code_cosine"] == pytest.approx(ref)


def test_tiny_model_text_target_is_fixed_and_saved(tmp_path):
    from pyratok.model import PyraTok, PyraTokConfig

    torch.manual_seed(0)
    model = PyraTok(PyraTokConfig.tiny())
    assert not [n for n, _ in model.named_parameters() if n.startswith("text_to_bits")]
    texts = ["a red circle moves left", "stock market report"]
    before = model.text_bit_logits(model.embed_text(texts))
    model.save_pretrained(tmp_path)
    torch.manual_seed(99)
    loaded = PyraTok.from_pretrained(tmp_path)
    assert torch.equal(loaded.text_to_bits.projection, model.text_to_bits.projection)
    assert torch.allclose(loaded.text_bit_logits(loaded.embed_text(texts)), before)
