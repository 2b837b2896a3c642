"""PyraTok's training objective (paper §3.2.4, Eq. 2, App. D), every term with its own weight and off switch.

    L = λ_recon L_recon + λ_codebook L_codebook + λ_AR L_AR + λ_drift L_drift        (λ = 2.5, 2.5, 1.5, 0.6; App. D)
    L_recon = L_SSIM + L_L1 + L_LPIPS

Eq. 2 writes its five codebook terms loosely (KL divergences between objects of different shapes). The concrete
definitions used here, all on the LFQ's factorised code distribution p_i(c) = Π_k Bern(c_k; σ(ℓ_ik)) with bit
logits ℓ_ik = 4 z_ik / τ (the exact softmax over all 2^K codes), are:

1. vision-commitment ``||z(l) - sg(q(l))||²`` — squared distance of the pre-quantization features to their
   binary codes (LFQ commitment), per channel (divided by K like the terms below).
2. entropy regularisation ``E[H(p_i)] - γ H(E[p_i])`` — per-token entropy (sharpens assignments towards one code)
   minus the codebook (batch) entropy (keeps the codebook used), both exact (MAGVIT-v2's LFQ entropy loss).
3. hierarchical consistency ``KL(q(l) || q(l-1))`` — mean over tokens of the KL between level l's and level l-1's
   per-token code distributions at the same positions (level l-1's logits resized to level l's grid). A sum of
   per-bit Bernoulli KLs, exact because both distributions factorise over bits. Absent for l = 1.
4. text-conditioned alignment ``E_i KL(q_i || sg(e_t))`` — the text embedding is mapped to the code space by a
   *fixed* map (``pyratok.text.target.FixedTextTarget``: t = σ(s · R e_t / ||e_t||), R a seeded K x D Gaussian
   matrix saved with the model, never trained); the term is the mean over tokens of KL(p_i || t) with t the text's
   factorised code distribution.
   Why fixed and not learned: with a learned map both sides of the KL move, and the cheapest way to make it small
   is to send every caption to one code that the video tokens then copy — measured on the tiny model trained with
   a learned map: cosine 0.98-0.99 between the code-space embeddings of unrelated captions. A fixed map has no
   such way out: captions keep the geometry of the frozen text encoder (a random Gaussian projection preserves
   inner products in expectation, Johnson-Lindenstrauss), and only the video side can move towards them.
   In-batch contrastive negatives would also prevent collapse, but need batches of many captions, which the
   CPU recipe (batch 2) does not have.
5. text-codebook alignment ``E_{c ∈ C_v} KL(c || sg(e_t))`` — the LFQ codebook has no parameters, so the "codebook"
   side is the distribution over all 2^K codes that a video actually uses, P = mean_i p_i (a mixture, not
   factorised). KL(P || t) = -H(P) - Σ_k [m_k log t_k + (1 - m_k) log(1 - t_k)] with m_k = mean_i σ(ℓ_ik): exact,
   with H(P) from the factorised codebook entropy (no N x 2^K tensor).

Terms 2-5 are in nats per bit (divided by K) so that their scale does not grow with the codebook width.
Drift (§3.2.3): against the frozen reference of :mod:`pyratok.reference` — with the un-adapted VAE (default)
KL(N(μ_a, σ_a²) || N(μ_r, σ_r²)) between the adapted and the reference latent posteriors (:func:`gaussian_kl`, closed
form, mean per latent element); with a DINOv2/DINOv3 reference a feature-alignment term (see that module).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from .config_utils import ConfigError
from .image_quality import ssim, video_to_frames
from .lapq import resize_grid
from .lfq import codebook_entropy

TERMS = ("recon", "codebook", "ar", "drift", "ssim", "l1", "lpips",
         "commitment", "entropy", "hierarchical", "text_alignment", "text_codebook")


@dataclass
class LossConfig:
    # App. D: λ_recon = 2.5, λ_codebook = 2.5, λ_AR = 1.5, λ_drift = 0.6
    recon: float = 2.5
    codebook: float = 2.5
    ar: float = 1.5
    drift: float = 0.6
    # L_recon = L_SSIM + L_L1 + L_LPIPS (§3.2.4: unit weights)
    ssim: float = 1.0
    l1: float = 1.0
    lpips: float = 1.0
    # Eq. 2: the five codebook terms enter with unit weight
    commitment: float = 1.0
    entropy: float = 1.0
    hierarchical: float = 1.0
    text_alignment: float = 1.0
    text_codebook: float = 1.0
    diversity: float = 1.0  # γ: weight of the codebook entropy inside the entropy term
    disabled: list = field(default_factory=list)  # names from TERMS switched off (ablations, Tables 6 and 10)

    def __post_init__(self):
        bad = sorted(set(self.disabled) - set(TERMS))
        if bad:
            raise ConfigError(f"losses.disabled has unknown term(s) {bad}; valid terms: {list(TERMS)}")

    def on(self, term: str) -> bool:
        return term not in self.disabled and getattr(self, term) != 0


def bernoulli_kl(logits_p: Tensor, logits_q: Tensor) -> Tensor:
    """KL(Bern(σ(a)) || Bern(σ(b))) elementwise, stable in logits."""
    p = torch.sigmoid(logits_p)
    return (p * (F.logsigmoid(logits_p) - F.logsigmoid(logits_q))
            + (1 - p) * (F.logsigmoid(-logits_p) - F.logsigmoid(-logits_q)))


def hierarchical_kl(logits: Tensor, prev_logits: Tensor, grid: tuple, prev_grid: tuple) -> Tensor:
    """Term 3. logits (B, N_l, K), prev_logits (B, N_{l-1}, K) on their grids -> scalar, nats per bit."""
    if tuple(grid) != tuple(prev_grid):
        # the pyramid's own resize (lapq.resize_grid): nested cells, the causal key frame resized on its own, so
        # level l is compared with exactly the cells of level l-1 that it covers (trilinear would blend the key
        # frame into the next time step)
        b, n, k = prev_logits.shape
        prev = resize_grid(prev_logits.transpose(1, 2).reshape(b, k, *prev_grid), tuple(grid))
        prev_logits = prev.flatten(2).transpose(1, 2)
    return bernoulli_kl(logits.float(), prev_logits.float()).mean()


def text_alignment_kl(logits: Tensor, text_logits: Tensor) -> Tensor:
    """Term 4. logits (B, N, K), text_logits (B, K) -> mean_i KL(p_i || t), nats per bit."""
    return bernoulli_kl(logits.float(), text_logits.float()[:, None, :]).mean()


def text_codebook_kl(logits: Tensor, text_logits: Tensor) -> Tensor:
    """Term 5. KL(P || t) with P = mean_i p_i over each video's tokens (all 2^K codes, exact), nats per bit."""
    b, n, k = logits.shape
    out = []
    for i in range(b):
        lg = logits[i].float()
        h = codebook_entropy(lg)
        m = torch.sigmoid(lg).mean(0)
        t = text_logits[i].float()
        cross = -(m * F.logsigmoid(t) + (1 - m) * F.logsigmoid(-t)).sum()
        out.append(cross - h)
    return torch.stack(out).mean() / k


def gaussian_kl(mean_a: Tensor, logvar_a: Tensor, mean_b: Tensor, logvar_b: Tensor) -> Tensor:
    """KL(N(a) || N(b)) for diagonal Gaussians, mean over all elements."""
    return 0.5 * (logvar_b - logvar_a + (logvar_a.exp() + (mean_a - mean_b) ** 2) / logvar_b.exp() - 1).mean()


def reconstruction_terms(recon: Tensor, target: Tensor, cfg: LossConfig, lpips_net=None) -> dict[str, Tensor]:
    """recon, target: (B, C, T, H, W) in [-1, 1]. Returns the unweighted SSIM/L1/LPIPS losses that are on."""
    out: dict[str, Tensor] = {}
    if cfg.on("l1"):
        out["l1"] = (recon - target).abs().mean()
    if cfg.on("ssim") or cfg.on("lpips"):
        fr, ft = video_to_frames(recon), video_to_frames(target)
        if cfg.on("ssim"):
            out["ssim"] = 1 - ssim((fr.clamp(-1, 1) + 1) / 2, (ft + 1) / 2, data_range=1.0)
        if cfg.on("lpips") and lpips_net is not None:
            out["lpips"] = lpips_net(fr, ft).mean()  # lpips expects [-1, 1]
    return out


def codebook_terms(quant: list, grids: list, text_logits: Tensor | None, cfg: LossConfig) -> dict[str, Tensor]:
    """Eq. 2 summed over levels. ``quant``: LFQOutput per level; ``text_logits``: (B, K) or None."""
    terms: dict[str, Tensor] = {}

    def add(name: str, value: Tensor):
        terms[name] = terms.get(name, 0) + value

    for lvl, q in enumerate(quant):
        k = q.quantized.shape[-1]
        if cfg.on("commitment"):
            add("commitment", q.commitment / k)
        if q.logits is None:  # learned-codebook quantizers (Table 9): no per-bit distribution, only commitment
            continue
        if cfg.on("entropy"):
            add("entropy", (q.per_sample_entropy - cfg.diversity * q.codebook_entropy) / k)
        if cfg.on("hierarchical") and lvl > 0:
            add("hierarchical", hierarchical_kl(q.logits, quant[lvl - 1].logits, grids[lvl], grids[lvl - 1]) )
        if text_logits is not None:
            if cfg.on("text_alignment"):
                add("text_alignment", text_alignment_kl(q.logits, text_logits))
            if cfg.on("text_codebook"):
                add("text_codebook", text_codebook_kl(q.logits, text_logits))
    return terms
