"""Held-out L_AR measurement: token-weighted mean over batches (brute force over hand-made token NLLs), the
uniform reference ln 2^K, and an untrained tiny model scoring near that reference."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from pyratok.train.evaluate import evaluate_ar_nll


class _Fake:
    def __init__(self, per_batch):
        self.per_batch, self.calls, self.training = iter(per_batch), 0, True
        self.config = SimpleNamespace(alignment=SimpleNamespace(num_bits=16, head="bits"))

    def train(self, mode=True):
        self.training = mode

    def eval(self):
        self.training = False

    def ar_nll(self, video, texts):
        return SimpleNamespace(token_nll=next(self.per_batch))


def test_token_weighted_mean_and_uniform_reference():
    b1 = [torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[4.0]])]           # 1 clip, levels of 3 and 1 tokens
    b2 = [torch.tensor([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]]), torch.tensor([[2.0], [2.0]])]  # 2 clips
    fake = _Fake([b1, b2])
    batches = [{"video": torch.zeros(1, 3, 1, 1, 1), "texts": ["a"]}, {"video": None, "texts": []},
               {"video": torch.zeros(2, 3, 1, 1, 1), "texts": ["b", "c"]}]
    r = evaluate_ar_nll(fake, batches)
    # by hand: sum = 6 + 4 + 18 + 4 = 32 over 12 tokens; level 1: 24 / 9, level 2: 8 / 3
    assert r["nll"] == pytest.approx(32 / 12) and r["n_tokens"] == 12 and r["n_clips"] == 3
    assert r["nll_per_level"] == pytest.approx([24 / 9, 8 / 3])
    assert r["uniform"] == pytest.approx(16 * math.log(2)) and r["uniform"] == pytest.approx(11.0904, abs=1e-4)
    assert fake.training  # mode restored
    assert evaluate_ar_nll(_Fake([]), [])["nll"] is None


def test_untrained_tiny_model_is_near_uniform():
    from pyratok.model import PyraTok, PyraTokConfig

    torch.manual_seed(0)
    model = PyraTok(PyraTokConfig.tiny())
    g = torch.Generator().manual_seed(0)
    batches = [{"video": torch.rand(2, 3, 9, 32, 32, generator=g) * 2 - 1, "texts": ["a red circle", "a dog"]}]
    r = evaluate_ar_nll(model, batches)
    assert r["head"] == "bits" and r["n_clips"] == 2 and r["n_tokens"] > 0
    assert abs(r["nll"] - r["uniform"]) < 1.5  # a random LM knows nothing: about 16 fair coins per token
