"""Tests of pyratok.lfq against independent references.

The reference for every entropy is the definition itself: an explicit list of all 2^K codes (itertools.product,
MSB first, -1 before +1), squared distances, a softmax over all codes in fp64, and entropies summed over codes —
no use of the factorisation the module relies on. Bit order is checked on hand-worked examples.
"""
from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from pyratok.config_utils import ConfigError
from pyratok.lfq import (
    LFQ, CodebookUsage, LFQConfig, batch_code_distribution, bit_logits, code_log_prob, codebook_entropy,
    codes_to_indices, indices_to_codes, per_sample_entropy,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------- brute-force reference

def all_codes(k: int) -> torch.Tensor:
    """(2^K, K) fp64: row i is the code of index i — itertools.product enumerates MSB first, -1 (bit 0) first."""
    return torch.tensor(list(itertools.product([-1.0, 1.0], repeat=k)), dtype=torch.float64)


def brute_force(z: torch.Tensor, tau: float):
    """z (N, K) -> (per-sample entropy, codebook entropy, mean probs (2^K,), log probs (N, 2^K)) via full softmax."""
    codes = all_codes(z.shape[-1])
    d2 = ((z.double()[:, None, :] - codes[None]) ** 2).sum(-1)        # (N, 2^K) squared distances
    logp = torch.log_softmax(-d2 / tau, dim=-1)
    p = logp.exp()
    h_sample = -(p * logp).sum(-1).mean()
    pm = p.mean(0)
    h_codebook = -(pm * torch.log(pm)).sum()
    return h_sample, h_codebook, pm, logp


# -------------------------------------------------------------------------------------------- entropy values

@pytest.mark.parametrize("k,n,tau,scale", [(4, 40, 1.0, 1.0), (8, 40, 0.5, 0.7), (11, 24, 2.0, 1.5),
                                           (12, 24, 1.0, 0.4)])
def test_entropies_match_brute_force_softmax(k, n, tau, scale):
    z = torch.randn(n, k, dtype=torch.float64) * scale
    ref_s, ref_c, ref_pm, ref_logp = brute_force(z, tau)
    logits = bit_logits(z, tau)
    torch.testing.assert_close(per_sample_entropy(logits), ref_s, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(codebook_entropy(logits), ref_c, rtol=1e-10, atol=1e-10)
    # the factorised batch distribution is the brute-force mean distribution, index for index (bit order)
    torch.testing.assert_close(batch_code_distribution(logits).reshape(-1), ref_pm, rtol=1e-10, atol=1e-14)
    # log p(code | z) of arbitrary codes
    idx = torch.randint(0, 2 ** k, (n,))
    torch.testing.assert_close(code_log_prob(logits, idx), ref_logp[torch.arange(n), idx], rtol=1e-10, atol=1e-10)


def test_fp32_inputs_match_fp64_brute_force():
    z = torch.randn(2, 10, 12)            # fp32, leading shape (B, N)
    ref_s, ref_c, _, _ = brute_force(z.reshape(-1, 12), 1.0)
    logits = bit_logits(z, 1.0)
    assert logits.dtype == torch.float32
    assert abs(per_sample_entropy(logits).item() - ref_s.item()) < 1e-5
    assert abs(codebook_entropy(logits).item() - ref_c.item()) < 1e-5


def test_uniform_and_saturated_extremes():
    k = 16
    zero = torch.zeros(5, k)
    assert per_sample_entropy(bit_logits(zero)).item() == pytest.approx(k * math.log(2), rel=1e-6)
    assert codebook_entropy(bit_logits(zero)).item() == pytest.approx(k * math.log(2), rel=1e-6)
    # 3 tokens on 2 distinct, fully confident codes: per-sample entropy 0, codebook entropy of (2/3, 1/3)
    z = torch.full((3, k), -30.0)
    z[2, 0] = 30.0
    z.requires_grad_(True)
    logits = bit_logits(z)
    h_s, h_c = per_sample_entropy(logits), codebook_entropy(logits)
    assert h_s.item() == pytest.approx(0.0, abs=1e-6)
    assert h_c.item() == pytest.approx(-(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3), rel=1e-5)
    (h_s - h_c).backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("k", [5, 8])
def test_gradients_match_brute_force_autograd(k):
    tau = 0.8
    z0 = torch.randn(16, k, dtype=torch.float64)
    z_ref = z0.clone().requires_grad_(True)
    ref_s, ref_c, _, _ = brute_force(z_ref, tau)
    g_ref_s, = torch.autograd.grad(ref_s, z_ref, retain_graph=True)
    g_ref_c, = torch.autograd.grad(ref_c, z_ref)
    z = z0.clone().requires_grad_(True)
    g_s, = torch.autograd.grad(per_sample_entropy(bit_logits(z, tau)), z)
    g_c, = torch.autograd.grad(codebook_entropy(bit_logits(z, tau)), z)
    torch.testing.assert_close(g_s, g_ref_s, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(g_c, g_ref_c, rtol=1e-9, atol=1e-12)
    # the module's entropy loss: per-sample - diversity_weight * codebook
    z = z0.clone().requires_grad_(True)
    out = LFQ(num_bits=k, temperature=tau, diversity_weight=0.3)(z)
    g_loss, = torch.autograd.grad(out.entropy_loss, z)
    torch.testing.assert_close(g_loss, g_ref_s - 0.3 * g_ref_c, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------------- bit order

def test_bit_order_hand_worked():
    assert codes_to_indices(torch.tensor([1.0, -1.0, -1.0, 1.0])).item() == 9
    assert codes_to_indices(torch.tensor([1.0, -1.0, -1.0, -1.0])).item() == 8
    assert codes_to_indices(torch.tensor([-1.0, -1.0, -1.0, 1.0])).item() == 1
    assert codes_to_indices(torch.tensor([-1.0, 1.0, 1.0, 0.0])).item() == 6      # 0 -> bit 0
    assert indices_to_codes(torch.tensor(9), 4).tolist() == [1.0, -1.0, -1.0, 1.0]
    assert indices_to_codes(torch.tensor([0, 15]), 4).tolist() == [[-1.0] * 4, [1.0] * 4]
    c = indices_to_codes(torch.tensor([1, 2 ** 15]), 16)
    assert c[0, -1] == 1 and (c[0, :-1] == -1).all()       # index 1: least significant = last channel
    assert c[1, 0] == 1 and (c[1, 1:] == -1).all()         # index 2^15: most significant = first channel
    # agrees with the enumeration order of the brute-force reference
    assert codes_to_indices(all_codes(6)).tolist() == list(range(64))


def test_round_trip():
    for k in (1, 7, 16):
        idx = torch.randint(0, 2 ** k, (3, 50))
        codes = indices_to_codes(idx, k)
        assert codes.shape == (3, 50, k) and codes.dtype == torch.float32
        assert set(codes.unique().tolist()) <= {-1.0, 1.0}
        assert torch.equal(codes_to_indices(codes), idx)
    codes = all_codes(8)
    assert torch.equal(indices_to_codes(codes_to_indices(codes), 8), codes.float())


def test_index_errors():
    with pytest.raises(ValueError, match="must lie in"):
        indices_to_codes(torch.tensor([16]), 4)
    with pytest.raises(ValueError, match="must lie in"):
        indices_to_codes(torch.tensor([-1]), 4)
    with pytest.raises(TypeError, match="integer"):
        indices_to_codes(torch.tensor([1.0]), 4)


# -------------------------------------------------------------------------------------------------- module

def test_quantize_straight_through_and_commitment():
    z = torch.tensor([[0.5, -2.0, 0.0, 3.0], [-0.1, 0.2, -0.3, 0.4]], requires_grad=True)
    out = LFQ(num_bits=4)(z)
    assert out.quantized.tolist() == [[1.0, -1.0, -1.0, 1.0], [-1.0, 1.0, -1.0, 1.0]]
    assert out.indices.tolist() == [9, 5]
    # commitment = mean over tokens of ||z - q||^2, by hand
    by_hand = ((0.5 ** 2 + 1.0 ** 2 + 1.0 ** 2 + 2.0 ** 2) + (0.9 ** 2 + 0.8 ** 2 + 0.7 ** 2 + 0.6 ** 2)) / 2
    assert out.commitment.item() == pytest.approx(by_hand, rel=1e-6)
    w = torch.randn(2, 4)
    g, = torch.autograd.grad((out.quantized * w).sum(), z, retain_graph=True)
    torch.testing.assert_close(g, w)                       # straight-through: identity Jacobian
    g_commit, = torch.autograd.grad(out.commitment, z)
    torch.testing.assert_close(g_commit, (z.detach() - out.quantized.detach()) * 2 / 2)   # d/dz of mean ||z-sg(q)||^2
    assert out.logits.dtype == torch.float32
    torch.testing.assert_close(out.logits, 4 * z.detach())


def test_module_leading_shapes_and_loss():
    lfq = LFQ(LFQConfig(num_bits=6, temperature=0.5, commitment_weight=0.25, diversity_weight=2.0))
    z = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    out = lfq(z)
    assert out.quantized.shape == z.shape and out.indices.shape == (2, 3, 5)
    ref_s, ref_c, _, _ = brute_force(z.reshape(-1, 6), 0.5)
    torch.testing.assert_close(out.per_sample_entropy, ref_s)
    torch.testing.assert_close(out.codebook_entropy, ref_c)
    torch.testing.assert_close(out.entropy_loss, ref_s - 2.0 * ref_c)
    torch.testing.assert_close(out.loss, 0.25 * out.commitment + out.entropy_loss)


def test_masks_select_tokens():
    torch.manual_seed(1)
    z = torch.randn(3, 7, 8, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(3, 7) > 0.4
    out = LFQ(num_bits=8)(z, mask)
    ref_s, ref_c, _, _ = brute_force(z.detach()[mask], 1.0)
    torch.testing.assert_close(out.per_sample_entropy, ref_s)
    torch.testing.assert_close(out.codebook_entropy, ref_c)
    sel_q = torch.where(z.detach()[mask] > 0, 1.0, -1.0).double()
    torch.testing.assert_close(out.commitment, ((z.detach()[mask] - sel_q) ** 2).sum(-1).mean())
    n_distinct = len({tuple(r) for r in sel_q.tolist()})
    assert out.utilization == n_distinct / 256
    (out.commitment + out.entropy_loss).backward()
    assert (z.grad[~mask] == 0).all() and (z.grad[mask] != 0).any()
    assert out.indices.shape == (3, 7)            # every token is still quantized
    # no token selected: zero terms, backward still works
    z2 = torch.randn(4, 8, requires_grad=True)
    out2 = LFQ(num_bits=8)(z2, torch.zeros(4, dtype=torch.bool))
    assert out2.per_sample_entropy.item() == 0 and out2.codebook_entropy.item() == 0
    assert out2.commitment.item() == 0 and out2.utilization == 0
    out2.entropy_loss.backward()
    assert (z2.grad == 0).all()


def test_bad_input_errors():
    lfq = LFQ(num_bits=8)
    with pytest.raises(ValueError, match=r"\(\.\.\., 8\)"):
        lfq(torch.randn(4, 7))
    with pytest.raises(ValueError, match="mask shape"):
        lfq(torch.randn(4, 8), torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        per_sample_entropy(torch.randn(4, 8), torch.ones(4))
    with pytest.raises(ConfigError, match="unknown LFQ option"):
        LFQ(num_bit=8)
    with pytest.raises(ConfigError, match="temperature"):
        LFQConfig(temperature=0.0)
    with pytest.raises(ConfigError, match="num_bits"):
        LFQConfig(num_bits=40)


def test_fp32_under_bf16_autocast():
    torch.manual_seed(2)
    proj = torch.nn.Linear(8, 12)
    x = torch.randn(32, 8)
    lfq = LFQ(num_bits=12, temperature=0.3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = proj(x)
        assert z.dtype == torch.bfloat16          # autocast is really active
        out = lfq(z)
        lp = code_log_prob(out.logits, out.indices)
    for t in (out.logits, out.commitment, out.per_sample_entropy, out.codebook_entropy, out.entropy_loss, lp):
        assert t.dtype == torch.float32
    ref_s, ref_c, _, ref_logp = brute_force(z.detach().double(), 0.3)
    # fp32 accuracy (bf16 arithmetic would be off by ~1e-2 relative)
    assert abs(out.per_sample_entropy.item() - ref_s.item()) < 1e-5 * max(1.0, ref_s.item())
    assert abs(out.codebook_entropy.item() - ref_c.item()) < 1e-5 * ref_c.item()
    torch.testing.assert_close(lp.double(), ref_logp[torch.arange(32), out.indices], rtol=1e-5, atol=1e-4)
    out.entropy_loss.backward()
    assert proj.weight.grad is not None and torch.isfinite(proj.weight.grad).all()


# -------------------------------------------------------------------------------------------------- utilisation

def test_utilization_hand_made():
    codes = indices_to_codes(torch.tensor([0, 0, 3, 15, 3]), 4)
    out = LFQ(num_bits=4)(codes * 0.7)
    assert out.indices.tolist() == [0, 0, 3, 15, 3]
    assert out.utilization == 3 / 16

    usage = CodebookUsage(4)
    assert usage.utilization == 0.0 and math.isnan(usage.perplexity)
    usage.update(torch.tensor([0, 1, 1]))
    usage.update(torch.tensor([[1, 2], [9, 9]]), mask=torch.tensor([[True, True], [False, False]]))
    assert usage.num_tokens == 5 and usage.num_used == 3
    assert usage.utilization == 3 / 16
    assert usage.perplexity == pytest.approx(math.exp(-(0.2 * math.log(0.2) * 2 + 0.6 * math.log(0.6))))
    usage.update(torch.arange(16))
    assert usage.utilization == 1.0
    usage.reset()
    assert usage.num_tokens == 0 and usage.utilization == 0.0
    with pytest.raises(ValueError, match="must lie in"):
        usage.update(torch.tensor([16]))


# ---------------------------------------------------------------------------------------------- memory bound

_MEMORY_PROBE = textwrap.dedent("""
    import resource, torch
    torch.set_num_threads(1)
    from pyratok.lfq import LFQ
    n, k = 16384, 16                  # an N x 2^K fp32 tensor would be 4 GiB
    z = torch.randn(n, k, requires_grad=True)
    lfq = LFQ(num_bits=k)
    lfq(z[:64]).entropy_loss.backward()          # warm-up: allocator, kernels
    z.grad = None
    def rss_kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1])
    open("/proc/self/clear_refs", "w").write("5")   # reset the peak-RSS high-water mark VmHWM
    base = rss_kib("VmRSS")
    out = lfq(z)
    out.entropy_loss.backward()
    print(rss_kib("VmHWM") - base, out.codebook_entropy.item())
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc peak-RSS reset")
def test_factorised_entropy_never_allocates_n_by_codebook():
    proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    peak_kib, h_c = proc.stdout.split()
    assert int(peak_kib) < 512 * 1024, f"forward+backward peaked at {int(peak_kib) / 1024:.0f} MiB"
    assert 0 < float(h_c) <= 16 * math.log(2)
