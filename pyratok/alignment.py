"""Global autoregressive semantic alignment L_AR (paper §3.2.2 ②).

Paper: the text embedding e_t is followed by a start-of-image token <SOI> and the discrete tokens of every
quantization level, levels joined by <Q-SEP>; the VLM decoder predicts each visual token from the text and all
preceding tokens, ``L_AR = -sum_l log p(q(l) | q(<l), e_t)``.

Sequence fed to a causal LM as ``inputs_embeds`` (H = LM width)::

    [ text_proj(e_t) (real tokens only) , <SOI> , v(1)_1 .. v(1)_N1 , <Q-SEP> , v(2)_1 .. v(2)_N2 , <Q-SEP> , ... ]

* The text prefix (``ARAlignmentConfig.prefix``):
  - ``"lm_embeddings"`` (the default with a pretrained VLM, ``lm_path``): the caption's own token embeddings from
    the LM's input-embedding table, ``lm.get_input_embeddings()(tokenizer(caption))`` with the LM's own tokenizer
    (read from ``lm_path``) — the paper feeds the text to the VLM decoder, so the decoder reads the caption as text,
    not hidden states of another encoder. The table stays frozen.
  - ``"text_encoder"`` (the default for the random tiny LM, which has no vocabulary): ``text_proj(e_t) =
    Linear(LayerNorm(e_t))`` of the frozen text encoder's tokens (MiniLM D=384); the LayerNorm makes the prefix
    scale-free.
* ``v(l)_i = code_proj(codes[l][:, i]) + level_emb[l]``: the quantized ±1 codes are fed *as vectors*, straight-through
  from the quantizer, so the gradient of L_AR reaches the quantizer and the encoder; a token index
  lookup would cut it. The learned level embedding tells the LM which pyramid level a token belongs to.
* <SOI> and <Q-SEP> are learned H-vectors.
* Token v(l)_i is predicted from the LM output one position earlier (standard next-token shift): the first token
  of level 1 from <SOI>, the first token of level l > 1 from the <Q-SEP> before it.

Text padding: the real text tokens of each sample are packed to the right end of the prefix (padding at the very
left, keeping their order), padding is masked out of attention and ``position_ids = cumsum(mask) - 1``. The visual
tokens then sit at the same sequence indices for every sample and their positions/attention never involve padding,
so the loss does not depend on how (left/right) or how much the text was padded.

Output heads (``ARAlignmentConfig.head``):

* ``"index"`` — softmax over all 2^K codes (the paper's "predicts each visual token"): NLL = cross-entropy with the
  code index. The output layer is ``H x 2^K`` (65,536 columns for K = 16); the logits are computed in chunks of
  ``logit_chunk`` tokens with activation checkpointing, so they never exist for the whole sequence at once.
* ``"bits"`` — K independent Bernoulli logits: p(code) = prod_k p(bit_k), an exact log-likelihood under a code
  distribution that factorises over bits given the context; NLL = sum over the K bits of the binary cross-entropy.
  Cheap (``H x K``). Bit targets are ``codes > 0`` (so no bit-order convention of the index is needed).

Loss: the mean NLL per visual token, in nats, over all levels and the batch. The paper writes a sum over levels;
the per-token mean keeps the paper's weight lambda_AR = 1.5 (App. D) independent of the number of tokens.

The LM: a tiny randomly initialised Qwen2-architecture decoder by default (CPU-sized; trained with the tokenizer),
or the decoder of a local Qwen2.5-VL / Qwen2 directory (``lm_path``, the paper's VLM; frozen by default — the
gradient still flows through it to the codes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import LongTensor, Tensor, nn
from torch.utils.checkpoint import checkpoint

from .text.base import TextEmbedding, masked_mean
from .text.qwen import load_language_model, mask_position_ids, resolve_dtype


def load_lm_tokenizer(path):
    """The LM's own tokenizer from ``path`` (right padding; eos as pad when there is no pad token)."""
    from pathlib import Path

    from transformers import AutoTokenizer

    files = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "tokenizer.model")
    if not any((Path(path) / f).is_file() for f in files):
        # transformers would otherwise build an empty tokenizer from config.json alone
        raise FileNotFoundError(f"{path}: no tokenizer files ({', '.join(files)}) for the L_AR text prefix "
                                "(prefix='lm_embeddings' reads the caption with the LM's own tokenizer; save it in "
                                "that directory or set prefix='text_encoder')")
    try:
        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise OSError(f"{path}: no tokenizer for the L_AR text prefix (prefix='lm_embeddings' reads the caption with "
                      f"the LM's own tokenizer; save it in that directory or set prefix='text_encoder'): {e}") from e
    tok.padding_side = "right"
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise ValueError(f"{path}: tokenizer has neither a pad nor an eos token to pad with")
        tok.pad_token = tok.eos_token
    return tok


@dataclass
class ARAlignmentConfig:
    """Configuration of the AR alignment (paper §3.2.2 ②; lambda_AR = 1.5 lives in the loss config, App. D).

    num_bits: K, code width of the shared LFQ codebook (K = 16 by default: 65,536 codes).
    text_dim: width D of ``TextEmbedding.tokens`` (384 for MiniLM, 2048 for Qwen2.5-VL-3B).
    lm_path: local Qwen2.5-VL / Qwen2 directory; None -> the tiny Qwen2 decoder below, random init.
    hidden_size, num_layers, num_heads, intermediate_size: the tiny Qwen2 decoder (ignored with ``lm_path``).
    head: ``"index"`` (softmax over 2^K codes) or ``"bits"`` (K Bernoulli logits); see module docstring.
    max_levels: number of learned level embeddings (the paper uses 4 quantization blocks).
    train_lm: whether the LM's weights train; None -> train the random tiny LM, freeze a pretrained one.
    lm_dtype: dtype of a pretrained LM ("float32" | "bfloat16" | "float16"); the heads stay float32.
    logit_chunk: "index" head only — tokens per chunk of the 2^K-way softmax; with gradients on, each chunk is
        recomputed in backward (activation checkpointing) so only ``logit_chunk x 2^K`` logits live at a time.
    """

    num_bits: int = 16
    text_dim: int = 384
    lm_path: str | None = None
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    head: str = "index"
    max_levels: int = 8
    train_lm: bool | None = None
    lm_dtype: str = "float32"
    logit_chunk: int = 1024
    prefix: str | None = None      # "lm_embeddings" | "text_encoder"; None -> lm_embeddings iff lm_path is set
    prefix_max_length: int = 77    # caption token budget of the "lm_embeddings" prefix (truncation)

    def __post_init__(self) -> None:
        if self.prefix is None:
            self.prefix = "lm_embeddings" if self.lm_path else "text_encoder"
        if self.prefix not in ("lm_embeddings", "text_encoder"):
            raise ValueError(f"ARAlignmentConfig.prefix must be 'lm_embeddings' or 'text_encoder', got {self.prefix!r}")
        if self.prefix == "lm_embeddings" and not self.lm_path:
            raise ValueError("ARAlignmentConfig.prefix='lm_embeddings' needs lm_path (the VLM whose embedding table "
                             "and tokenizer read the caption)")
        if self.head not in ("index", "bits"):
            raise ValueError(f"ARAlignmentConfig.head must be 'index' or 'bits', got {self.head!r}")
        if not 1 <= self.num_bits <= 24:
            raise ValueError(f"ARAlignmentConfig.num_bits must be in [1, 24], got {self.num_bits}")
        if self.head == "index" and self.num_bits > 18:
            raise ValueError(
                f"head='index' with num_bits={self.num_bits} needs a 2^{self.num_bits}-way output; use head='bits'"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.logit_chunk < 1:
            raise ValueError(f"ARAlignmentConfig.logit_chunk must be >= 1, got {self.logit_chunk}")
        if self.max_levels < 1 or self.text_dim < 1:
            raise ValueError("ARAlignmentConfig.max_levels and text_dim must be >= 1")


@dataclass
class ARAlignmentOutput:
    """loss: scalar mean NLL (nats) per visual token; nll_per_level: L scalars (mean NLL of each level);
    accuracy: top-1 accuracy over all visual tokens (bits head: all K bits right); token_nll: L tensors
    ``(B, N_l)`` with the NLL of every visual token."""

    loss: Tensor
    nll_per_level: list[Tensor]
    accuracy: float
    token_nll: list[Tensor] = field(default_factory=list)


def tiny_qwen2_decoder(config: ARAlignmentConfig) -> nn.Module:
    """Randomly initialised Qwen2 decoder (no token embedding use: inputs come as ``inputs_embeds``)."""
    from transformers import Qwen2Config, Qwen2Model

    qcfg = Qwen2Config(
        vocab_size=1,  # never used: every input is an embedding
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=32768,
        pad_token_id=None,
        bos_token_id=None,
        eos_token_id=None,
        tie_word_embeddings=False,
    )
    return Qwen2Model(qcfg)


class AutoregressiveAlignment(nn.Module):
    """L_AR: next-token NLL of the visual tokens of all levels given the text prefix (see module docstring)."""

    def __init__(self, config: ARAlignmentConfig) -> None:
        super().__init__()
        self.config = config
        if config.lm_path is not None:
            self.lm = load_language_model(config.lm_path, dtype=resolve_dtype(config.lm_dtype, None))
            train_lm = bool(config.train_lm) if config.train_lm is not None else False
        else:
            self.lm = tiny_qwen2_decoder(config)
            train_lm = True if config.train_lm is None else bool(config.train_lm)
        for p in self.lm.parameters():
            p.requires_grad_(train_lm)
        # Inputs always arrive as embeddings: the LM's token table is never used, so it never trains.
        self.lm.get_input_embeddings().requires_grad_(False)
        self.hidden = h = int(self.lm.config.hidden_size)
        k = config.num_bits

        self.prefix_from_lm = config.prefix == "lm_embeddings"
        if self.prefix_from_lm:
            self.tokenizer = load_lm_tokenizer(config.lm_path)
        else:
            self.text_proj = nn.Sequential(nn.LayerNorm(config.text_dim), nn.Linear(config.text_dim, h))
        self.code_proj = nn.Linear(k, h)
        self.level_emb = nn.Parameter(torch.randn(config.max_levels, h) * 0.02)
        self.soi = nn.Parameter(torch.randn(h) * 0.02)
        self.qsep = nn.Parameter(torch.randn(h) * 0.02)
        self.head = nn.Linear(h, 2**k if config.head == "index" else k)

    @torch.no_grad()
    def caption_prefix(self, texts: list[str]) -> TextEmbedding:
        """Captions -> their token embeddings from the LM's input-embedding table: tokens ``(B, N, H)`` float32
        (padding rows 0), mask ``(B, N)``, pooled = masked mean. Only with ``prefix="lm_embeddings"``."""
        if not self.prefix_from_lm:
            raise ValueError("caption_prefix needs ARAlignmentConfig.prefix='lm_embeddings' (a pretrained LM)")
        emb = self.lm.get_input_embeddings()
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.prefix_max_length,
                               return_tensors="pt")
        ids, mask = batch["input_ids"].to(emb.weight.device), batch["attention_mask"].bool().to(emb.weight.device)
        tokens = emb(ids).float() * mask.unsqueeze(-1)
        return TextEmbedding(tokens=tokens, mask=mask, pooled=masked_mean(tokens, mask))

    @property
    def lm_dtype(self) -> torch.dtype:
        return next(self.lm.parameters()).dtype

    # ------------------------------------------------------------------------------------------------------
    def _check(self, text: TextEmbedding, codes: list[Tensor], indices: list[LongTensor]) -> None:
        k, b = self.config.num_bits, text.tokens.shape[0]
        if len(codes) == 0 or len(codes) != len(indices):
            raise ValueError(f"need one codes and one indices tensor per level, got {len(codes)} and {len(indices)}")
        if len(codes) > self.config.max_levels:
            raise ValueError(f"{len(codes)} levels exceed ARAlignmentConfig.max_levels={self.config.max_levels}")
        want = self.hidden if self.prefix_from_lm else self.config.text_dim
        if text.tokens.shape[-1] != want:
            what = "the LM width (prefix='lm_embeddings')" if self.prefix_from_lm else "config.text_dim"
            raise ValueError(f"text tokens have width {text.tokens.shape[-1]}, {what} is {want}")
        for lvl, (c, i) in enumerate(zip(codes, indices)):
            if c.ndim != 3 or c.shape[0] != b or c.shape[2] != k:
                raise ValueError(f"codes[{lvl}] must be (B={b}, N, K={k}), got {tuple(c.shape)}")
            if i.shape != c.shape[:2]:
                raise ValueError(f"indices[{lvl}] must be {tuple(c.shape[:2])}, got {tuple(i.shape)}")
            if i.dtype not in (torch.int64, torch.int32):
                raise ValueError(f"indices[{lvl}] must be integer, got {i.dtype}")
            if c.shape[1] == 0:
                raise ValueError(f"codes[{lvl}] has no tokens")
            if self.config.head == "index" and (int(i.min()) < 0 or int(i.max()) >= 2**k):
                raise ValueError(f"indices[{lvl}] out of range [0, 2^{k}): min {int(i.min())}, max {int(i.max())}")

    @staticmethod
    def pack_prefix_left_padded(tokens: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Move each row's real tokens to the right end, keeping their order; drop all-padding columns.

        tokens ``(B, N, D)``, mask ``(B, N)`` bool -> tokens ``(B, P, D)``, mask ``(B, P)`` with P = max real count.
        """
        order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)  # padding (0) first, order kept
        mask = torch.gather(mask, 1, order)
        tokens = torch.gather(tokens, 1, order.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        p = int(mask.sum(dim=1).max().item())
        return tokens[:, tokens.shape[1] - p :], mask[:, mask.shape[1] - p :]

    def build_sequence(self, text: TextEmbedding, codes: list[Tensor]) -> tuple[Tensor, Tensor, list[int]]:
        """Input embeddings ``(B, S, H)``, attention mask ``(B, S)`` bool and, per level, the sequence index of the
        LM output that predicts the level's first token (its tokens are predicted by the next N_l outputs)."""
        b = text.tokens.shape[0]
        dev = self.soi.device
        tok, tmask = self.pack_prefix_left_padded(text.tokens.to(dev), text.mask.to(dev))
        prefix = tok.float() if self.prefix_from_lm else self.text_proj(tok.float())
        prefix = prefix * tmask.unsqueeze(-1)
        pieces = [prefix, self.soi.expand(b, 1, -1)]
        pred_start, cursor = [], prefix.shape[1]  # cursor = index of <SOI>
        for lvl, c in enumerate(codes):
            if lvl > 0:
                pieces.append(self.qsep.expand(b, 1, -1))
                cursor += 1
            pred_start.append(cursor)  # separator (or <SOI>) predicts the first token of the level
            pieces.append(self.code_proj(c.to(dev, torch.float32)) + self.level_emb[lvl])
            cursor += c.shape[1]
        seq = torch.cat(pieces, dim=1)
        mask = torch.cat([tmask, torch.ones(b, seq.shape[1] - tmask.shape[1], dtype=torch.bool, device=dev)], dim=1)
        return seq, mask, pred_start

    def lm_hidden(self, seq: Tensor, mask: Tensor) -> Tensor:
        """Run the causal LM on ``inputs_embeds (B, S, H)`` with padding ``mask (B, S)``; returns float32 (B, S, H)."""
        out = self.lm(
            inputs_embeds=seq.to(self.lm_dtype),
            attention_mask=mask.long(),
            position_ids=mask_position_ids(mask),
            use_cache=False,
        )
        return out.last_hidden_state.float()

    def _index_chunk(self, hidden: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Softmax over 2^K codes for ``hidden (n, H)``: NLL ``(n,)`` and top-1 hit ``(n,)`` bool."""
        logits = self.head(hidden)
        return nn.functional.cross_entropy(logits, target, reduction="none"), logits.argmax(dim=-1) == target

    def token_nll(self, hidden: Tensor, codes: Tensor, indices: Tensor) -> tuple[Tensor, Tensor]:
        """NLL (nats) ``(B, N)`` and top-1 correctness ``(B, N)`` bool of one level from its predicting outputs."""
        if self.config.head == "index":
            h, target = hidden.flatten(0, 1), indices.flatten().long()
            nlls, hits = [], []
            for start in range(0, h.shape[0], self.config.logit_chunk):
                hc, tc = h[start : start + self.config.logit_chunk], target[start : start + self.config.logit_chunk]
                if torch.is_grad_enabled() and hc.requires_grad:
                    nll, hit = checkpoint(self._index_chunk, hc, tc, use_reentrant=False)
                else:
                    nll, hit = self._index_chunk(hc, tc)
                nlls.append(nll)
                hits.append(hit)
            return torch.cat(nlls).view(indices.shape), torch.cat(hits).view(indices.shape)
        logits = self.head(hidden)
        bits = (codes.detach() > 0).to(logits.dtype)
        nll = nn.functional.binary_cross_entropy_with_logits(logits, bits, reduction="none").sum(dim=-1)
        correct = ((logits > 0) == (bits > 0)).all(dim=-1)
        return nll, correct

    def forward(self, text: TextEmbedding, codes: list[Tensor], indices: list[LongTensor]) -> ARAlignmentOutput:
        """L_AR for a batch.

        Args:
            text: text embeddings of the B captions (tokens ``(B, N_t, text_dim)``, mask ``(B, N_t)``).
            codes: per level l, ``(B, N_l, K)`` straight-through quantized codes in {-1, +1} (flattened T'H'W' in
                the order the quantizer emits them); the gradient flows back into them.
            indices: per level l, ``(B, N_l)`` integer code indices in [0, 2^K) (targets of the "index" head).
        """
        self._check(text, codes, indices)
        seq, mask, pred_start = self.build_sequence(text, codes)
        # The last visual token predicts nothing: leave it out of the LM input.
        hidden = self.lm_hidden(seq[:, :-1], mask[:, :-1])
        token_nll, correct, per_level = [], [], []
        for start, c, i in zip(pred_start, codes, indices):
            h = hidden[:, start : start + c.shape[1]]
            nll, ok = self.token_nll(h, c.to(h.device), i.to(h.device))
            token_nll.append(nll)
            correct.append(ok.flatten())
            per_level.append(nll.mean())
        all_nll = torch.cat([n.flatten() for n in token_nll])
        accuracy = torch.cat(correct).float().mean().item()
        return ARAlignmentOutput(loss=all_nll.mean(), nll_per_level=per_level, accuracy=accuracy, token_nll=token_nll)
