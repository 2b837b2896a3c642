"""An autoregressive transformer prior over a discrete tokenizer's codes, conditioned on a class or a caption.

The paper's generative results put a generator on top of the tokenizer: class-guided UCF-101 generation scored by
gFVD (Table 8, App. C.2) and text-to-video on WebVid-10M scored by FVD / TC (Table 2, App. B.4, B.6), where "a
transformer-based decoder ... models the joint distribution over all spatio-temporal tokens from our four
quantizers" and "predicts the next token conditioned on the text and all previously generated tokens" (B.4). This
module is that generator, the same for every discrete tokenizer so that only the tokens differ:

    [ condition prefix ] [ <BOS> , level-1 ids , <SEP> , level-2 ids , ... ]      (:mod:`.layout`)

* **condition prefix** — a class: one learned embedding (``num_classes + 1`` rows, the last one the null class);
  a caption: the frozen MiniLM token embeddings (:func:`pyratok.text.build_text_encoder`, ``"minilm"``; the
  paper's Qwen2.5-VL text encoder from a local path works the same) through ``Linear(LayerNorm(.))``, real tokens
  right-aligned in a fixed ``text_len`` window and padding masked out of attention (as in
  :mod:`pyratok.alignment`), so the visual tokens sit at the same positions for every caption. The null caption is
  one learned vector in the last slot, the rest masked.
* **decoder** — a GPT-2-style pre-LayerNorm transformer (causal multi-head self-attention through
  ``scaled_dot_product_attention``, GELU MLP), learned absolute position embeddings and a learned *segment*
  embedding (prefix / ``<BOS>`` / level l) so that the level of every token is explicit.
* **vocabulary** (``PriorConfig.head``) — a PyraTok token is a K = 16 bit LFQ code (65,536 ids). A softmax over
  2^16 ids (``"index"``) costs ``d x 65,536`` weights in each of the input and the output layer — 8.4 M for the
  tiny ``d = 64``, far more than the rest of the tiny prior — and learns each of 65,536 rows from a few thousand
  training tokens. LFQ codes are sign bits, so ``"bits"`` (the default for LFQ tokenizers, ``"auto"``) reads a
  token as its ±1 code (``Linear(K, d)``; bit order of :func:`pyratok.lfq.indices_to_codes`, most significant
  first) and predicts K Bernoulli logits, ``p(code | context) = prod_k p(bit_k | context)``: an exact likelihood
  of a distribution that factorises over bits *given the context* (the context still couples bits across
  tokens), the same factorisation :mod:`pyratok.alignment` uses for the tokenizer's own AR objective. Learned
  codebooks (VQ, RVQ, FSQ: ids whose bits mean nothing) get ``"index"``; ``"auto"`` chooses between the two.
* **classifier-free guidance** (Ho & Salimans 2022) — training replaces the condition by the null condition with
  probability ``cond_dropout`` (0.1); sampling mixes per-token log-probabilities
  ``log p_u + w (log p_c - log p_u)`` (:func:`guide`; ``w = 0`` unconditional, ``w = 1`` conditional). For the
  bits head this is done per bit, which equals guidance on the joint code distribution because the joint
  log-probability is a sum over bits.
* **sampling** (:meth:`TokenPrior.sample`) — temperature (0 = greedy), top-k (over the whole code vocabulary; for
  the bits head the 2^K joint log-probabilities are materialised, K <= 20), guidance, a KV cache (``use_cache``;
  the full-recompute path exists to test it), a tqdm bar. ``<SEP>`` is inserted, never sampled.

Sizes (:class:`PriorConfig`): ``tiny()`` is the CPU default (d = 64, 2 layers, ~0.1 M weights plus embeddings);
``paper()`` matches the 2.3 B generator parameters of Table 8's PyraTok row (d = 2048, 46 layers, 16 heads:
12 d^2 L = 2.32 B) — the paper's generator is the Qwen2.5-VL decoder (App. B.4), whose weights are not available
here; the paper states neither its training recipe nor its sampling settings, so those are ours (see the config).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyratok.lfq import indices_to_codes

from .layout import BOS_OFFSET, NUM_SPECIAL, SEP_OFFSET, TokenLayout

__all__ = ["PriorConfig", "PriorSpec", "PriorCondition", "TokenPrior", "guide", "bit_log_probs",
           "code_log_probs", "resolve_head", "pack_text", "HEADS", "CONDITIONS", "MAX_TOPK_BITS"]

HEADS = ("auto", "bits", "index")
CONDITIONS = ("class", "text", "none")
MAX_TOPK_BITS = 20  # top-k with the bits head materialises 2^K log-probabilities per sample


@dataclass
class PriorConfig:
    """Architecture, condition dropout and optimisation of the prior. Defaults = :meth:`tiny`.

    The paper gives the generator's size (Table 8: 2.3 B parameters) and family (an AR decoder, App. B.4), not its
    width, depth or recipe; :meth:`paper` matches the size with a GPT-2-style shape and a GPT-style recipe
    (AdamW (0.9, 0.95), weight decay 0.05, warm-up then cosine decay to 10 %), which is our choice.
    """

    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    head: str = "auto"            # "bits" (LFQ codes) | "index" (softmax over ids) | "auto" (bits iff LFQ)
    cond_dropout: float = 0.1     # CFG: probability of training with the null condition (Ho & Salimans 2022)
    text_len: int = 32            # caption prefix window (tokens); the tiny PyraTok's MiniLM budget
    # optimisation (shared trainer pieces: pyratok.train.loop.cosine_schedule)
    steps: int = 300
    batch_size: int = 16
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 20
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.head not in HEADS:
            raise ValueError(f"PriorConfig.head must be one of {HEADS}, got {self.head!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"PriorConfig.d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not 0.0 <= self.cond_dropout < 1.0:
            raise ValueError(f"PriorConfig.cond_dropout must be in [0, 1), got {self.cond_dropout}")
        for name in ("n_layers", "steps", "batch_size", "text_len"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"PriorConfig.{name} must be >= 1, got {getattr(self, name)}")
        self.betas = tuple(self.betas)

    @classmethod
    def tiny(cls, **overrides) -> "PriorConfig":
        """CPU default: d = 64, 2 layers, 4 heads, 300 AdamW steps of 16 sequences."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides) -> "PriorConfig":
        """Table 8's generator size (2.3 B): d = 2048, 46 layers, 16 heads, text window 77 (CLIP length)."""
        base = dict(d_model=2048, n_layers=46, n_heads=16, dropout=0.0, text_len=77, steps=200_000, batch_size=256,
                    lr=3e-4, min_lr_ratio=0.1, warmup_steps=2000, weight_decay=0.05)
        return cls(**{**base, **overrides})

    @classmethod
    def named(cls, name: str, **overrides) -> "PriorConfig":
        if name not in ("tiny", "paper"):
            raise ValueError(f"unknown prior config {name!r}; valid: 'tiny', 'paper'")
        return getattr(cls, name)(**overrides)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PriorConfig":
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(d) - known)
        if bad:
            raise ValueError(f"unknown PriorConfig key(s) {bad}; valid: {sorted(known)}")
        return cls(**d)


def resolve_head(head: str, vocab_size: int, lfq_bits: int | None) -> str:
    """``"auto"`` -> ``"bits"`` when the tokens are LFQ codes (``lfq_bits`` given), else ``"index"``. The bits head
    needs ``vocab_size == 2 ** lfq_bits``."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if head == "auto":
        head = "bits" if lfq_bits else "index"
    if head == "bits":
        k = lfq_bits or round(math.log2(vocab_size))
        if 2 ** k != vocab_size:
            raise ValueError(f"the bits head needs a vocabulary of 2^K ids, got {vocab_size}")
    return head


@dataclass
class PriorSpec:
    """What the data fix: the token layout, the vocabulary, the head and the condition."""

    layout: TokenLayout
    vocab_size: int
    head: str                      # "bits" | "index" (resolved)
    condition: str                 # "class" | "text" | "none"
    num_classes: int = 0
    text_dim: int = 0

    def __post_init__(self):
        if isinstance(self.layout, dict):
            self.layout = TokenLayout.from_dict(self.layout)
        if self.head not in ("bits", "index"):
            raise ValueError(f"PriorSpec.head must be 'bits' or 'index' (resolve 'auto' first), got {self.head!r}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"PriorSpec.condition must be one of {CONDITIONS}, got {self.condition!r}")
        if self.condition == "class" and self.num_classes < 1:
            raise ValueError("a class-conditional prior needs num_classes >= 1")
        if self.condition == "text" and self.text_dim < 1:
            raise ValueError("a text-conditional prior needs text_dim >= 1")
        if self.head == "bits" and 2 ** self.num_bits != self.vocab_size:
            raise ValueError(f"the bits head needs a vocabulary of 2^K ids, got {self.vocab_size}")

    @property
    def num_bits(self) -> int:
        return max(1, round(math.log2(self.vocab_size)))

    def to_dict(self) -> dict:
        return {"layout": self.layout.to_dict(), "vocab_size": self.vocab_size, "head": self.head,
                "condition": self.condition, "num_classes": self.num_classes, "text_dim": self.text_dim}

    @classmethod
    def from_dict(cls, d: dict) -> "PriorSpec":
        return cls(**{**d, "layout": TokenLayout.from_dict(d["layout"])})


@dataclass
class PriorCondition:
    """A batch of conditions. Class: ``labels (B,)`` int64 in ``[0, num_classes)``. Text: ``text_tokens (B, P, D)``
    float32 and ``text_mask (B, P)`` bool with the real tokens right-aligned (see :func:`pack_text`). ``none``:
    only ``batch`` (the number of samples)."""

    labels: Tensor | None = None
    text_tokens: Tensor | None = None
    text_mask: Tensor | None = None
    batch: int | None = None

    @property
    def batch_size(self) -> int:
        for t in (self.labels, self.text_tokens):
            if t is not None:
                return int(t.shape[0])
        if self.batch is None:
            raise ValueError("PriorCondition has neither labels, text nor batch")
        return int(self.batch)

    def repeat(self, n: int) -> "PriorCondition":
        def rep(t):
            return None if t is None else torch.cat([t] * n, dim=0)
        return PriorCondition(rep(self.labels), rep(self.text_tokens), rep(self.text_mask),
                              None if self.batch is None else self.batch * n)

    def index(self, idx: Tensor) -> "PriorCondition":
        def sel(t):
            return None if t is None else t[idx.to(t.device)]
        return PriorCondition(sel(self.labels), sel(self.text_tokens), sel(self.text_mask),
                              None if self.batch is None else int(idx.numel()))

    def to(self, device) -> "PriorCondition":
        def mv(t):
            return None if t is None else t.to(device)
        return PriorCondition(mv(self.labels), mv(self.text_tokens), mv(self.text_mask), self.batch)


def pack_text(tokens: Tensor, mask: Tensor, text_len: int) -> tuple[Tensor, Tensor]:
    """Text token embeddings ``(B, N, D)`` with their ``(B, N)`` bool mask (any padding layout, e.g.
    :class:`pyratok.text.base.TextEmbedding`) -> the prior's fixed window: ``(B, text_len, D)`` float32 and
    ``(B, text_len)`` bool, the first ``text_len`` real tokens of each text kept in order and right-aligned
    (padding on the left), padded rows exactly 0."""
    if tokens.dim() != 3 or mask.shape != tokens.shape[:2]:
        raise ValueError(f"expected (B, N, D) tokens and a (B, N) mask, got {tuple(tokens.shape)} / "
                         f"{tuple(mask.shape)}")
    B, _, D = tokens.shape
    out = tokens.new_zeros(B, text_len, D, dtype=torch.float32)
    out_mask = torch.zeros(B, text_len, dtype=torch.bool, device=tokens.device)
    for b in range(B):
        real = tokens[b][mask[b].bool()][:text_len]
        n = real.shape[0]
        if n:
            out[b, text_len - n:] = real.float()
            out_mask[b, text_len - n:] = True
    return out, out_mask


# ------------------------------------------------------------------------------------------------ distributions
def guide(cond_logp: Tensor, uncond_logp: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance on log-probabilities: ``uncond + scale * (cond - uncond)``.
    ``scale = 0`` gives the unconditional, ``scale = 1`` the conditional log-probabilities."""
    return uncond_logp + scale * (cond_logp - uncond_logp)


def bit_log_probs(bit_logits: Tensor) -> Tensor:
    """``(..., K)`` logits of P(bit = 1) -> ``(..., K, 2)`` log-probabilities ``[log P(0), log P(1)]`` (fp32)."""
    x = bit_logits.float()
    return torch.stack([F.logsigmoid(-x), F.logsigmoid(x)], dim=-1)


def code_log_probs(bit_lp: Tensor) -> Tensor:
    """``(B, K, 2)`` per-bit log-probabilities -> ``(B, 2^K)`` log-probabilities of every code, indexed as
    :func:`pyratok.lfq.codes_to_indices` does (bit k of the code = bit K-1-k of the index). The per-bit entries
    need not be normalised (guided values): the result is their sum over bits for every code."""
    B, K, _ = bit_lp.shape
    if K > MAX_TOPK_BITS:
        raise ValueError(f"materialising 2^{K} code log-probabilities is too large (K <= {MAX_TOPK_BITS})")
    bits = (indices_to_codes(torch.arange(2 ** K, device=bit_lp.device), K) > 0).float()  # (V, K)
    return bit_lp[..., 1] @ bits.T + bit_lp[..., 0] @ (1.0 - bits).T


def _pick(logp: Tensor, temperature: float, top_k: int, generator) -> Tensor:
    """Draw one id per row from ``softmax(logp / temperature)`` restricted to the top ``top_k`` (0: all);
    ``temperature == 0`` is argmax."""
    if temperature <= 0:
        return logp.argmax(dim=-1)
    logits = logp.float() / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ------------------------------------------------------------------------------------------------ transformer
class _KVCache:
    """Per-layer key/value buffers ``(B, heads, max_len, head_dim)``, allocated on first write."""

    def __init__(self, n_layers: int, max_len: int):
        self.max_len = max_len
        self.k: list[Tensor | None] = [None] * n_layers
        self.v: list[Tensor | None] = [None] * n_layers


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        hidden = int(round(d * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))
        self.dropout = dropout

    def forward(self, x: Tensor, start: int, key_valid: Tensor, cache: _KVCache | None, layer: int) -> Tensor:
        """``x (B, n, d)`` at absolute positions ``start .. start + n - 1``; ``key_valid (B, >= start + n)`` bool."""
        B, n, d = x.shape
        H = self.heads
        q, k, v = self.qkv(self.ln1(x)).view(B, n, 3, H, d // H).permute(2, 0, 3, 1, 4)
        end = start + n
        if cache is not None:
            if cache.k[layer] is None:
                shape = (B, H, cache.max_len, d // H)
                cache.k[layer] = k.new_empty(shape)
                cache.v[layer] = v.new_empty(shape)
            cache.k[layer][:, :, start:end] = k
            cache.v[layer][:, :, start:end] = v
            k, v = cache.k[layer][:, :, :end], cache.v[layer][:, :, :end]
        elif start:
            raise ValueError("without a KV cache the whole sequence must be given (start = 0)")
        qpos = torch.arange(start, end, device=x.device)[:, None]
        kpos = torch.arange(end, device=x.device)[None, :]
        # causal, padding keys masked, and every query may see itself (a padded prefix slot would otherwise have
        # no key at all; its output is never read)
        allowed = (kpos <= qpos)[None] & (key_valid[:, None, :end] | (kpos == qpos)[None])
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None],
                                             dropout_p=self.dropout if self.training else 0.0)
        x = x + F.dropout(self.proj(att.transpose(1, 2).reshape(B, n, d)), self.dropout, self.training)
        return x + F.dropout(self.mlp(self.ln2(x)), self.dropout, self.training)


class TokenPrior(nn.Module):
    """The AR prior. ``loss(ids, cond)`` for training, ``sample(cond, ...)`` for generation; ids are
    ``(B, layout.num_visual)`` int64 in ``[0, vocab_size)`` in layout order (:meth:`TokenLayout.flatten`)."""

    def __init__(self, config: PriorConfig, spec: PriorSpec):
        super().__init__()
        self.config, self.spec = config, spec
        d, V = config.d_model, spec.vocab_size
        self.prefix_len = {"class": 1, "text": config.text_len, "none": 0}[spec.condition]
        L = spec.layout
        if spec.head == "bits":
            self.visual_in = nn.Linear(spec.num_bits, d, bias=False)
            self.out = nn.Linear(d, spec.num_bits)
        else:
            self.visual_in = nn.Embedding(V, d)
            self.out = nn.Linear(d, V)
        self.special_in = nn.Embedding(NUM_SPECIAL, d)
        self.pos = nn.Embedding(self.prefix_len + L.length, d)
        self.segment = nn.Embedding(L.num_levels + 2, d)
        if spec.condition == "class":
            self.class_emb = nn.Embedding(spec.num_classes + 1, d)  # last row: the null class (CFG)
        elif spec.condition == "text":
            self.text_norm = nn.LayerNorm(spec.text_dim)
            self.text_proj = nn.Linear(spec.text_dim, d)
            self.null_text = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(_Block(d, config.n_heads, config.mlp_ratio, config.dropout)
                                    for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(d)
        self.apply(self._init)
        if spec.condition == "text":
            nn.init.normal_(self.null_text, std=0.02)
        self.register_buffer("_segments", L.segments(), persistent=False)
        self.register_buffer("_visual_pos", L.visual_positions(), persistent=False)

    @staticmethod
    def _init(m: nn.Module):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ embedding
    def _prefix(self, cond: PriorCondition, drop: Tensor) -> tuple[Tensor, Tensor]:
        """-> ``(B, P, d)`` prefix embeddings and ``(B, P)`` key validity; rows with ``drop`` get the null one."""
        B = cond.batch_size
        d, dev = self.config.d_model, self.pos.weight.device
        drop = drop.to(dev)
        if self.spec.condition == "none":
            return torch.zeros(B, 0, d, device=dev), torch.zeros(B, 0, dtype=torch.bool, device=dev)
        if self.spec.condition == "class":
            if cond.labels is None:
                raise ValueError("a class-conditional prior needs PriorCondition.labels")
            labels = cond.labels.to(dev).long()
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.spec.num_classes):
                raise ValueError(f"class labels must lie in [0, {self.spec.num_classes})")
            labels = torch.where(drop, torch.full_like(labels, self.spec.num_classes), labels)
            x = self.class_emb(labels)[:, None]
            return x + self.pos.weight[0] + self.segment.weight[0], torch.ones(B, 1, dtype=torch.bool, device=dev)
        if cond.text_tokens is None or cond.text_mask is None:
            raise ValueError("a text-conditional prior needs PriorCondition.text_tokens and text_mask")
        tokens, mask = cond.text_tokens.to(dev), cond.text_mask.to(dev).bool()
        P = self.prefix_len
        if tokens.shape[1:] != (P, self.spec.text_dim) or mask.shape != tokens.shape[:2]:
            raise ValueError(f"text prefix must be (B, {P}, {self.spec.text_dim}) with a (B, {P}) mask "
                             f"(use pack_text), got {tuple(tokens.shape)} / {tuple(mask.shape)}")
        x = self.text_proj(self.text_norm(tokens.float()))
        null = torch.zeros_like(x)
        null[:, -1] = self.null_text
        null_mask = torch.zeros_like(mask)
        null_mask[:, -1] = True
        x = torch.where(drop[:, None, None], null, x)
        mask = torch.where(drop[:, None], null_mask, mask)
        return x + self.pos.weight[:P] + self.segment.weight[0], mask

    def _embed(self, seq: Tensor, start: int) -> Tensor:
        """Layout tokens ``(B, n)`` (visual ids or specials) at layout positions ``start .. start + n - 1``."""
        V = self.spec.vocab_size
        visual = seq < V
        ids = seq.clamp(0, V - 1)
        if self.spec.head == "bits":
            x = self.visual_in(indices_to_codes(ids, self.spec.num_bits).to(self.visual_in.weight.dtype))
        else:
            x = self.visual_in(ids)
        x = torch.where(visual[..., None], x, self.special_in((seq - V).clamp(0, NUM_SPECIAL - 1)))
        pos = torch.arange(start, start + seq.shape[1], device=seq.device)
        return x + self.pos(pos + self.prefix_len) + self.segment(self._segments[pos])

    def _run(self, x: Tensor, start: int, key_valid: Tensor, cache: _KVCache | None) -> Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, start, key_valid, cache, i)
        return self.norm(x)

    # ------------------------------------------------------------------ training
    def logits(self, ids: Tensor, cond: PriorCondition, drop: Tensor | None = None) -> Tensor:
        """Teacher-forced prediction of every visual token: ``(B, N)`` ids -> ``(B, N, K)`` bit logits (bits head)
        or ``(B, N, V)`` logits (index head). ``drop (B,)`` bool: use the null condition for those rows."""
        B = ids.shape[0]
        drop = torch.zeros(B, dtype=torch.bool, device=ids.device) if drop is None else drop
        prefix, pvalid = self._prefix(cond, drop)
        seq = self.spec.layout.sequence(ids.to(prefix.device), self.spec.vocab_size)
        x = torch.cat([prefix, self._embed(seq[:, :-1], 0)], dim=1)
        valid = torch.cat([pvalid, torch.ones(B, seq.shape[1] - 1, dtype=torch.bool, device=x.device)], dim=1)
        h = self._run(x, 0, valid, None)
        # the token at layout position p is predicted from position p - 1
        h = h[:, self.prefix_len + self._visual_pos - 1]
        return self.out(h)

    def loss(self, ids: Tensor, cond: PriorCondition, drop: Tensor | None = None) -> Tensor:
        """Mean negative log-likelihood per visual token, in nats (bits head: sum over the K bits' BCE)."""
        out = self.logits(ids, cond, drop).float()
        ids = ids.to(out.device)
        if self.spec.head == "bits":
            target = (indices_to_codes(ids, self.spec.num_bits) > 0).float()
            return F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(-1).mean()
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), ids.reshape(-1))

    # ------------------------------------------------------------------ sampling
    def next_log_probs(self, out: Tensor) -> Tensor:
        """Head output of one position ``(B, K)`` / ``(B, V)`` -> log-probabilities ``(B, K, 2)`` / ``(B, V)``."""
        if self.spec.head == "bits":
            return bit_log_probs(out)
        return torch.log_softmax(out.float(), dim=-1)

    def _choose(self, lp: Tensor, temperature: float, top_k: int, generator) -> Tensor:
        """Guided log-probs of one position -> ``(B,)`` ids."""
        if self.spec.head == "index":
            return _pick(lp, temperature, top_k, generator)
        K = self.spec.num_bits
        weights = torch.pow(2, torch.arange(K - 1, -1, -1, device=lp.device))
        if temperature <= 0:          # the joint argmax of a factorised distribution is the per-bit argmax
            bits = lp[..., 1] > lp[..., 0]
        elif top_k:
            return _pick(code_log_probs(lp), temperature, top_k, generator)
        else:                         # exact: the bits are independent given the context
            p1 = torch.sigmoid((lp[..., 1] - lp[..., 0]) / temperature)
            bits = torch.rand(p1.shape, generator=generator, device=p1.device) < p1
        return (bits.long() * weights).sum(-1)

    @torch.no_grad()
    def sample(self, cond: PriorCondition, *, temperature: float = 1.0, top_k: int = 0, guidance: float = 1.0,
               use_cache: bool = True, generator: torch.Generator | None = None, progress: bool = False,
               desc: str = "sampling tokens") -> Tensor:
        """Generate ``(B, num_visual)`` ids for the ``B`` conditions. ``guidance != 1`` runs the conditional and
        the null condition side by side (doubling the batch) and mixes them with :func:`guide`."""
        from tqdm.auto import tqdm

        was_training = self.training
        self.eval()
        B = cond.batch_size
        dev = self.pos.weight.device
        guided = guidance != 1.0 and self.spec.condition != "none"
        full = cond.repeat(2) if guided else cond
        drop = torch.zeros(full.batch_size, dtype=torch.bool, device=dev)
        if guided:
            drop[B:] = True
        prefix, pvalid = self._prefix(full, drop)
        L, V, P = self.spec.layout, self.spec.vocab_size, self.prefix_len
        S = L.length
        total = P + S - 1  # the last layout token is never fed back
        valid = torch.ones(full.batch_size, total, dtype=torch.bool, device=dev)
        valid[:, :P] = pvalid
        cache = _KVCache(len(self.blocks), total) if use_cache else None
        seq = torch.full((full.batch_size, S), V + SEP_OFFSET, dtype=torch.long, device=dev)
        seq[:, 0] = V + BOS_OFFSET
        is_visual = torch.zeros(S, dtype=torch.bool)
        is_visual[L.visual_positions()] = True

        h = self._run(torch.cat([prefix, self._embed(seq[:, :1], 0)], dim=1), 0, valid, cache)[:, -1]
        bar = tqdm(range(1, S), desc=desc, disable=not progress, leave=False, unit="tok")
        for p in bar:
            if is_visual[p]:
                lp = self.next_log_probs(self.out(h))
                if guided:
                    lp = guide(lp[:B], lp[B:], guidance)
                tok = self._choose(lp, temperature, top_k, generator)
                seq[:B, p] = tok
                if guided:
                    seq[B:, p] = tok
            if p == S - 1:
                break
            if use_cache:
                h = self._run(self._embed(seq[:, p:p + 1], p), P + p, valid, cache)[:, -1]
            else:
                x = torch.cat([prefix, self._embed(seq[:, :p + 1], 0)], dim=1)
                h = self._run(x, 0, valid, None)[:, -1]
        bar.close()
        self.train(was_training)
        return seq[:B, self._visual_pos]
