"""Lookup-free binary quantization (LFQ, MAGVIT-v2 [70]) with exact, factorised entropy terms — paper §3.2.2.

PyraTok replaces a learned codebook C in R^{V x d} by the binary codebook C_v = {-1, +1}^K (K = log2 V), shared by
every quantization block Q_l. A feature z in R^K is quantized channel by channel: q_k = +1 if z_k > 0 else -1
(z_k == 0 maps to -1, i.e. bit 0). No embedding table is ever looked up: the token index *is* the bit pattern.

Bit order (fixed; every module that turns indices into codes relies on it). Channel k of a code carries the weight
2^(K-1-k): channel 0 is the most significant bit, channel K-1 the least. Code value +1 is bit 1, -1 is bit 0.
    K = 4: [+1, -1, -1, +1] -> 0b1001 = 9;   [-1, -1, -1, -1] -> 0;   [+1, +1, +1, +1] -> 15.
(The same order as vector-quantize-pytorch's LFQ, so indices are interchangeable with it.)

Code distribution. Following MAGVIT-v2, token n puts probability p_n(c) = softmax_c(-||z_n - c||^2 / tau) on every
code c in C_v. Because ||z - c||^2 = ||z||^2 + K - 2 z.c and z.c = sum_k z_k c_k, p_n factorises over bits:
    p_n(c) = prod_k sigmoid(c_k * l_nk),   l_nk = 4 z_nk / tau   (the logit of P(bit_k = +1)).
This makes both entropy terms of the entropy regulariser (paper Eq. 2; MAGVIT-v2 Eq. 5) exact and cheap:
  * per-sample entropy  E_n[H(p_n)] = E_n[sum_k H(Bernoulli(sigmoid(l_nk)))]     — closed form per bit, O(N K);
  * codebook entropy    H(E_n[p_n]) over all 2^K codes. With K_h = ceil(K/2) high bits and K_l = floor(K/2) low
    bits, p_n(c) = a_n(hi(c)) * b_n(lo(c)) where a_n (2^K_h entries) and b_n (2^K_l entries) are the Kronecker
    expansions of the high- and low-bit Bernoullis. The batch code distribution is the 2^K_h x 2^K_l matrix
        P = A^T B / N,   A: (N, 2^K_h),  B: (N, 2^K_l),   P[hi, lo] = probability of index hi * 2^K_l + lo,
    one matrix product: O(N 2^K) flops but only O(N 2^(K/2) + 2^K) memory — never an N x 2^K tensor
    (which at K = 16 and 7,168 tokens is 1.9 GB per copy in fp32 and is what makes the naive form slow).
All entropy terms are in nats and computed in fp32 (fp64 if the input is fp64) with autocast disabled: under
bf16 the 2^16-way sums and logs would lose most of their precision.

Loss terms (paper Eq. 2, "vision-commitment" + "entropy regularization"):
  * commitment  = mean over tokens of ||z - sg(q)||^2 (squared L2 norm over the K channels): pulls the continuous
    feature toward its binary code (the paper's ||q(l) - sg(C_v)||^2).
  * entropy_loss = per_sample_entropy - diversity_weight * codebook_entropy: confident assignments per token,
    uniform use of the codebook over the batch (MAGVIT-v2's convention; the paper's E[-q log q] term).
The module reports the terms unweighted except for ``diversity_weight`` inside ``entropy_loss``; ``loss`` adds
``commitment_weight * commitment + entropy_loss`` for callers that want the LFQ part of Eq. 2 in one number.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
import torch.nn.functional as F

__all__ = [
    "LFQConfig", "LFQOutput", "LFQ", "CodebookUsage",
    "indices_to_codes", "codes_to_indices", "bit_logits", "bit_entropy",
    "per_sample_entropy", "codebook_entropy", "batch_code_distribution", "code_log_prob", "MAX_NUM_BITS",
]

# P = A^T B has 2^K entries; beyond 2^24 codes (16.7M) the exact batch distribution itself becomes large, and
# int64 indices / bincount-based utilisation stay practical. The paper's vocabularies are 2^15-2^17 (Fig. 10).
MAX_NUM_BITS = 24


@dataclass
class LFQConfig:
    num_bits: int = 16            # K; 2^16 = 65,536 codes (paper's "~48K" vocabulary, §1 / Table 9; K = 16 is the stated default)
    temperature: float = 1.0      # tau of the code distribution softmax(-||z - c||^2 / tau) (MAGVIT-v2 default 1)
    commitment_weight: float = 1.0    # weight of the vision-commitment term inside ``LFQOutput.loss`` (Eq. 2: 1)
    diversity_weight: float = 1.0     # weight of the batch (codebook) entropy inside entropy_loss (MAGVIT-v2)

    def __post_init__(self):
        from .config_utils import ConfigError
        if isinstance(self.num_bits, bool) or not isinstance(self.num_bits, int) \
                or not 1 <= self.num_bits <= MAX_NUM_BITS:
            raise ConfigError(f"lfq.num_bits must be an integer in [1, {MAX_NUM_BITS}], got {self.num_bits!r}")
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"lfq.temperature must be a finite number > 0, got {self.temperature!r}")
        for name in ("commitment_weight", "diversity_weight"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ConfigError(f"lfq.{name} must be a finite number, got {v!r}")


# ----------------------------------------------------------------------------------------------- index <-> code

def _bit_weights(num_bits: int, device) -> Tensor:
    """(K,) int64: 2^(K-1), ..., 2, 1 — channel k carries weight 2^(K-1-k) (most significant bit first)."""
    return torch.pow(2, torch.arange(num_bits - 1, -1, -1, device=device, dtype=torch.int64))


def _check_num_bits(num_bits: int) -> None:
    if isinstance(num_bits, bool) or not isinstance(num_bits, int) or not 1 <= num_bits <= 62:
        raise ValueError(f"num_bits must be an integer in [1, 62] (int64 indices), got {num_bits!r}")


def indices_to_codes(indices: Tensor, num_bits: int) -> Tensor:
    """Integer token indices (...) in [0, 2^K) -> binary codes (..., K) float32 in {-1, +1}, no lookup table.

    Channel k is bit K-1-k of the index (most significant bit first): K = 4, 9 -> [+1, -1, -1, +1].
    """
    _check_num_bits(num_bits)
    if not isinstance(indices, Tensor):
        indices = torch.as_tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
        raise TypeError(f"indices must be an integer tensor, got dtype {indices.dtype}")
    indices = indices.long()
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= 2 ** num_bits):
        raise ValueError(f"indices must lie in [0, 2^{num_bits} = {2 ** num_bits}), "
                         f"got range [{int(indices.min())}, {int(indices.max())}]")
    shifts = torch.arange(num_bits - 1, -1, -1, device=indices.device, dtype=torch.int64)
    bits = (indices.unsqueeze(-1) >> shifts) & 1
    return bits.to(torch.float32) * 2.0 - 1.0


def codes_to_indices(codes: Tensor) -> Tensor:
    """Codes (or any real features) (..., K) -> int64 indices (...): channel k with value > 0 sets bit K-1-k.

    Works on un-quantized features too (it is the sign quantizer's index): values <= 0 are bit 0.
    """
    num_bits = codes.shape[-1]
    _check_num_bits(num_bits)
    return ((codes > 0).long() * _bit_weights(num_bits, codes.device)).sum(-1)


# ---------------------------------------------------------------------------------------------- entropy terms

def _entropy_dtype(x: Tensor) -> torch.dtype:
    """fp32 for every low-precision input; fp64 stays fp64 (for gradient checks)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def bit_logits(z: Tensor, temperature: float = 1.0) -> Tensor:
    """Features (..., K) -> logits (..., K) fp32 of P(bit_k = +1) = sigmoid(4 z_k / tau).

    For p(c) = softmax_c(-||z - c||^2 / tau) over c in {-1, +1}^K the log-odds of c_k = +1 against c_k = -1 are
    (-(z_k - 1)^2 + (z_k + 1)^2) / tau = 4 z_k / tau, and the bits are independent.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return z.to(_entropy_dtype(z)) * (4.0 / temperature)


def bit_entropy(logits: Tensor) -> Tensor:
    """Elementwise entropy (nats) of Bernoulli(sigmoid(l)): H = softplus(l) - l * sigmoid(l), stable for any l."""
    return F.softplus(logits) - logits * torch.sigmoid(logits)


def _select(logits: Tensor, mask: Tensor | None, what: str) -> Tensor:
    """(..., K) logits -> (N, K) rows of the tokens where ``mask`` (...) is True (all tokens when mask is None)."""
    if logits.ndim < 1:
        raise ValueError(f"{what}: logits must have shape (..., K), got a scalar")
    flat = logits.reshape(-1, logits.shape[-1])
    if mask is None:
        return flat
    if mask.dtype != torch.bool:
        raise TypeError(f"{what}: mask must be a bool tensor, got dtype {mask.dtype}")
    if tuple(mask.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"{what}: mask shape {tuple(mask.shape)} must equal the token shape "
                         f"{tuple(logits.shape[:-1])} of logits {tuple(logits.shape)}")
    return flat[mask.reshape(-1).to(flat.device)]


def _empty_value(logits: Tensor) -> Tensor:
    # No selected tokens: the terms are 0 by convention; keep the graph so backward still runs (zero gradient).
    return logits.sum() * 0.0


def per_sample_entropy(logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean over tokens of H(p_n) = sum_k H(Bernoulli(sigmoid(l_nk))), nats, scalar fp32 (fp64 for fp64 input).

    logits: (..., K) bit logits (see :func:`bit_logits`); mask: bool (...) selecting the tokens to average
    (None: all). Range [0, K ln 2]. 0 when the mask selects no token.
    """
    with torch.autocast(device_type=logits.device.type, enabled=False):
        x = _select(logits, mask, "per_sample_entropy")
        x = x.to(_entropy_dtype(x))
        if x.shape[0] == 0:
            return _empty_value(x)
        return bit_entropy(x).sum(-1).mean()


def _kron_bit_probs(x: Tensor) -> Tensor:
    """Bit logits (N, k) -> (N, 2^k) joint probabilities of every k-bit pattern, first bit MSB.

    Column j holds prod_i P(bit_i = bit i of j, MSB first), i.e. the Kronecker product of the per-bit
    distributions [sigmoid(-l_i), sigmoid(l_i)] (sigmoid(-l), not 1 - sigmoid(l), keeps tiny probabilities exact).
    Built by splitting the bits in two halves and taking one outer product of their expansions (recursively), so
    the work is dominated by writing the (N, 2^k) result once.
    """
    n, k = x.shape
    if k == 0:
        return x.new_ones(n, 1)
    if k == 1:
        return torch.sigmoid(torch.cat((-x, x), dim=1))
    h = k // 2
    hi, lo = _kron_bit_probs(x[:, :h]), _kron_bit_probs(x[:, h:])
    return (hi.unsqueeze(2) * lo.unsqueeze(1)).reshape(n, -1)   # column (i_hi * 2^(k-h) + i_lo)


def _code_distribution(x: Tensor) -> Tensor:
    """Selected rows (N, K) of logits (fp32/fp64) -> P = A^T B / N, (2^ceil(K/2), 2^floor(K/2))."""
    k_hi = (x.shape[-1] + 1) // 2
    a = _kron_bit_probs(x[:, :k_hi])   # (N, 2^ceil(K/2)): the most significant bits
    b = _kron_bit_probs(x[:, k_hi:])   # (N, 2^floor(K/2)); (N, 1) of ones when K = 1
    return (a.transpose(0, 1) @ b) / max(x.shape[0], 1)


def batch_code_distribution(logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean code distribution over tokens as a (2^ceil(K/2), 2^floor(K/2)) matrix P = A^T B / N (sums to 1).

    P[hi, lo] is the probability of index hi * 2^floor(K/2) + lo, so ``P.reshape(-1)`` is indexed like
    :func:`codes_to_indices`. fp32 (fp64 for fp64 input), autocast disabled. Never materialises N x 2^K.
    All zeros when the mask selects no token.
    """
    with torch.autocast(device_type=logits.device.type, enabled=False):
        x = _select(logits, mask, "batch_code_distribution")
        return _code_distribution(x.to(_entropy_dtype(x)))


def codebook_entropy(logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """H(mean_n p_n) over all 2^K codes, exact, nats, scalar fp32 (fp64 for fp64 input); range [0, K ln 2].

    logits: (..., K) bit logits; mask: bool (...) selecting the tokens (None: all); 0 when it selects none.
    Computed as -sum P log P with P = A^T B / N (:func:`batch_code_distribution`); memory O(N 2^(K/2) + 2^K).
    """
    with torch.autocast(device_type=logits.device.type, enabled=False):
        x = _select(logits, mask, "codebook_entropy")
        x = x.to(_entropy_dtype(x))
        if x.shape[0] == 0:
            return _empty_value(x)
        P = _code_distribution(x)
        # Clamp inside the log only: entries that underflowed to 0 contribute 0 and a finite gradient.
        return -(P * P.clamp_min(torch.finfo(P.dtype).tiny).log()).sum()


def code_log_prob(logits: Tensor, indices: Tensor) -> Tensor:
    """log p(code ``indices`` | logits) under the factorised code distribution, (...) fp32.

    logits: (..., K) bit logits; indices: integer (...) broadcastable against logits.shape[:-1], in [0, 2^K).
    log p = sum_k log sigmoid(c_k l_k) with c = indices_to_codes(indices) — equal to the log-softmax over all 2^K
    codes of -||z - c||^2 / tau when logits = bit_logits(z, tau).
    """
    with torch.autocast(device_type=logits.device.type, enabled=False):
        x = logits.to(_entropy_dtype(logits))
        codes = indices_to_codes(indices.to(x.device), x.shape[-1]).to(x.dtype)
        return F.logsigmoid(codes * x).sum(-1)


# ------------------------------------------------------------------------------------------------ the module

@dataclass
class LFQOutput:
    """Result of :class:`LFQ` for features z (..., K). Scalars are averaged over the masked-in tokens."""

    quantized: Tensor      # (..., K) in {-1, +1}, z.dtype; straight-through: d quantized / d z = identity
    indices: Tensor        # (...) int64 in [0, 2^K), bit order of :func:`codes_to_indices`
    logits: Tensor         # (..., K) bit logits 4 z / tau, fp32
    commitment: Tensor     # scalar: mean over tokens of ||z - sg(q)||^2 (gradient to z only)
    per_sample_entropy: Tensor   # scalar, nats: mean_n H(p_n)
    codebook_entropy: Tensor     # scalar, nats: H(mean_n p_n) over all 2^K codes
    entropy_loss: Tensor   # per_sample_entropy - diversity_weight * codebook_entropy
    utilization: float     # distinct codes used in this call / 2^K (hard, from indices)
    loss: Tensor | None = None   # commitment_weight * commitment + entropy_loss (the LFQ part of Eq. 2)


class LFQ(nn.Module):
    """Lookup-free quantizer over K binary channels; parameter-free (the projections to K live in Q_l).

    forward(z (..., K) any float dtype, mask bool (...) | None) -> :class:`LFQOutput`. The mask selects the tokens
    that enter the loss terms and utilisation (e.g. padding excluded); every token is still quantized.
    """

    def __init__(self, config: LFQConfig | None = None, **overrides):
        super().__init__()
        config = config if config is not None else LFQConfig()
        if overrides:
            from .config_utils import ConfigError
            valid = {f.name for f in dataclasses.fields(LFQConfig)}
            unknown = sorted(set(overrides) - valid)
            if unknown:
                raise ConfigError(f"unknown LFQ option(s) {unknown}; valid keys: {sorted(valid)}")
            config = dataclasses.replace(config, **overrides)
        self.config = config

    @property
    def num_bits(self) -> int:
        return self.config.num_bits

    @property
    def codebook_size(self) -> int:
        return 2 ** self.config.num_bits

    def forward(self, z: Tensor, mask: Tensor | None = None) -> LFQOutput:
        cfg = self.config
        if z.ndim < 1 or z.shape[-1] != cfg.num_bits:
            raise ValueError(f"LFQ expects features of shape (..., {cfg.num_bits}), got {tuple(z.shape)}")
        if not z.dtype.is_floating_point:
            raise TypeError(f"LFQ expects floating-point features, got dtype {z.dtype}")
        if mask is not None:
            if mask.dtype != torch.bool:
                raise TypeError(f"LFQ mask must be a bool tensor, got dtype {mask.dtype}")
            if tuple(mask.shape) != tuple(z.shape[:-1]):
                raise ValueError(f"LFQ mask shape {tuple(mask.shape)} must equal the token shape "
                                 f"{tuple(z.shape[:-1])} of z {tuple(z.shape)}")
        with torch.autocast(device_type=z.device.type, enabled=False):
            zf = z.to(_entropy_dtype(z))
            q = torch.where(zf > 0, torch.ones_like(zf), -torch.ones_like(zf))
            indices = codes_to_indices(q)
            quantized = (zf + (q - zf).detach()).to(z.dtype)   # straight-through estimator
            sq = (zf - q).pow(2).sum(-1)                       # (...) ||z - sg(q)||^2, q carries no gradient
            if mask is None:
                commitment = sq.mean()
                used = indices.reshape(-1)
            else:
                m = mask.to(z.device)
                commitment = sq[m].mean() if bool(m.any()) else sq.sum() * 0.0
                used = indices[m]
            logits = bit_logits(zf, cfg.temperature)
            h_sample = per_sample_entropy(logits, mask)
            h_codebook = codebook_entropy(logits, mask)
            entropy_loss = h_sample - cfg.diversity_weight * h_codebook
            loss = cfg.commitment_weight * commitment + entropy_loss
        utilization = float(torch.unique(used).numel()) / self.codebook_size
        return LFQOutput(quantized=quantized, indices=indices, logits=logits, commitment=commitment,
                         per_sample_entropy=h_sample, codebook_entropy=h_codebook, entropy_loss=entropy_loss,
                         utilization=utilization, loss=loss)

    def extra_repr(self) -> str:
        c = self.config
        return f"num_bits={c.num_bits}, codebook_size={2 ** c.num_bits}, temperature={c.temperature}"


class CodebookUsage:
    """Hard codebook usage accumulated over many batches (e.g. an evaluation set), from integer indices.

    ``utilization`` = distinct codes seen / 2^K (the paper's "codebook utilization", §1 and Fig. 29);
    ``perplexity`` = exp(entropy of the empirical code frequencies), in [1, 2^K] (nan before any update).
    Counts are a dense int64 histogram of 2^K bins (512 KiB at K = 16).
    """

    def __init__(self, num_bits: int):
        if isinstance(num_bits, bool) or not isinstance(num_bits, int) or not 1 <= num_bits <= MAX_NUM_BITS:
            raise ValueError(f"CodebookUsage: num_bits must be an integer in [1, {MAX_NUM_BITS}], got {num_bits!r}")
        self.num_bits = num_bits
        self.counts = torch.zeros(2 ** num_bits, dtype=torch.int64)

    def reset(self) -> None:
        self.counts.zero_()

    def update(self, indices: Tensor, mask: Tensor | None = None) -> None:
        """Add integer indices (any shape) in [0, 2^K); ``mask`` (same shape, bool) keeps only the True ones."""
        indices = torch.as_tensor(indices)
        if indices.dtype.is_floating_point or indices.dtype == torch.bool:
            raise TypeError(f"CodebookUsage.update: indices must be integers, got dtype {indices.dtype}")
        if mask is not None:
            if tuple(mask.shape) != tuple(indices.shape):
                raise ValueError(f"CodebookUsage.update: mask shape {tuple(mask.shape)} != indices shape "
                                 f"{tuple(indices.shape)}")
            indices = indices[mask.to(indices.device)]
        flat = indices.reshape(-1).long().cpu()
        if flat.numel() == 0:
            return
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= self.counts.numel():
            raise ValueError(f"CodebookUsage.update: indices must lie in [0, 2^{self.num_bits}), got [{lo}, {hi}]")
        self.counts += torch.bincount(flat, minlength=self.counts.numel())

    @property
    def num_tokens(self) -> int:
        return int(self.counts.sum())

    @property
    def num_used(self) -> int:
        return int((self.counts > 0).sum())

    @property
    def utilization(self) -> float:
        return self.num_used / self.counts.numel()

    @property
    def perplexity(self) -> float:
        total = self.num_tokens
        if total == 0:
            return float("nan")
        f = self.counts[self.counts > 0].double() / total
        return float(torch.exp(-(f * f.log()).sum()))
