"""Codebook loss terms (Eq. 2) and the drift KL against brute-force references over all 2^K codes."""
import itertools

import pytest
import torch

from pyratok.losses import (LossConfig, bernoulli_kl, codebook_terms, gaussian_kl, hierarchical_kl,
                            text_alignment_kl, text_codebook_kl)

K = 5


def all_codes(k):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=k)), dtype=torch.float64)  # (2^k, k) bits


def code_probs(logits):
    """(N, K) bit logits -> (N, 2^K) probabilities of every code (brute force)."""
    bits = all_codes(logits.shape[-1])
    p = torch.sigmoid(logits.double())
    return (bits[None] * p[:, None] + (1 - bits[None]) * (1 - p[:, None])).prod(-1)


def test_bernoulli_kl_matches_definition():
    a, b = torch.randn(100), torch.randn(100)
    p, q = torch.sigmoid(a), torch.sigmoid(b)
    ref = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))
    assert torch.allclose(bernoulli_kl(a, b), ref, atol=1e-5)


def test_hierarchical_kl_equals_full_code_kl():
    la, lb = torch.randn(1, 7, K), torch.randn(1, 7, K)
    P, Q = code_probs(la[0]), code_probs(lb[0])
    ref = (P * (P / Q).log()).sum(-1).mean() / K
    got = hierarchical_kl(la, lb, (1, 7, 1), (1, 7, 1))
    assert float(got) == pytest.approx(float(ref), rel=1e-4)


def test_text_alignment_kl_brute_force():
    lg, t = torch.randn(2, 6, K), torch.randn(2, K)
    ref = 0
    for b in range(2):
        P = code_probs(lg[b])
        T = code_probs(t[b:b + 1])[0]
        ref = ref + (P * (P / T).log()).sum(-1).mean()
    assert float(text_alignment_kl(lg, t)) == pytest.approx(float(ref / 2 / K), rel=1e-4)


def test_text_codebook_kl_is_exact_mixture_kl():
    lg, t = torch.randn(3, 9, K) * 2, torch.randn(3, K)
    ref = 0
    for b in range(3):
        P = code_probs(lg[b]).mean(0)          # the video's code distribution over all 2^K codes
        T = code_probs(t[b:b + 1])[0]
        ref = ref + (P * (P / T).log()).sum()
    assert float(text_codebook_kl(lg, t)) == pytest.approx(float(ref / 3 / K), rel=1e-4)


def test_gaussian_kl_matches_torch_distributions():
    ma, mb = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    la, lb = torch.randn(2, 4, 3) * 0.3, torch.randn(2, 4, 3) * 0.3
    d = torch.distributions
    ref = d.kl_divergence(d.Normal(ma, (0.5 * la).exp()), d.Normal(mb, (0.5 * lb).exp())).mean()
    assert float(gaussian_kl(ma, la, mb, lb)) == pytest.approx(float(ref), rel=1e-5)
    assert float(gaussian_kl(ma, la, ma, la)) == pytest.approx(0.0, abs=1e-7)


def test_disabled_terms_are_not_computed():
    from pyratok.lfq import LFQ, LFQConfig
    lfq = LFQ(LFQConfig(num_bits=K))
    quant = [lfq(torch.randn(2, 8, K)) for _ in range(3)]
    grids = [(2, 2, 2)] * 3
    text = torch.randn(2, K)
    allterms = codebook_terms(quant, grids, text, LossConfig())
    assert set(allterms) == {"commitment", "entropy", "hierarchical", "text_alignment", "text_codebook"}
    some = codebook_terms(quant, grids, text, LossConfig(disabled=["hierarchical", "text_codebook"]))
    assert set(some) == {"commitment", "entropy", "text_alignment"}
    # the sum over levels: commitment of 3 levels
    assert float(allterms["commitment"]) == pytest.approx(sum(float(q.commitment) / K for q in quant), rel=1e-6)


def test_hierarchical_kl_compares_level_l_with_the_causal_cells_it_covers():
    # hand-worked: level l-1 has 9 time steps (key frame + 8), level l has 5 (key frame + 4 groups of 2);
    # logits 0..8 on the finer grid average to [0, (1+2)/2, (3+4)/2, (5+6)/2, (7+8)/2] on the coarser one
    from pyratok.losses import hierarchical_kl

    prev = torch.arange(9, dtype=torch.float32).view(1, 9, 1)
    exact = torch.tensor([0.0, 1.5, 3.5, 5.5, 7.5]).view(1, 5, 1)
    assert hierarchical_kl(exact, prev, (5, 1, 1), (9, 1, 1)).item() == pytest.approx(0.0, abs=1e-7)
    assert hierarchical_kl(exact + 1.0, prev, (5, 1, 1), (9, 1, 1)).item() > 1e-3
