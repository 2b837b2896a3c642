"""Generative priors over discrete video tokens, for the paper's generation benchmarks (Table 8 class-guided
UCF-101 gFVD, Table 2 WebVid text-to-video FVD / TC).

* :mod:`.layout`   — how per-level token grids become one sequence (``<BOS>``, levels joined by ``<SEP>``);
* :mod:`.prior`    — the autoregressive transformer prior (class or caption prefix, bits or index head,
  classifier-free guidance, KV-cache sampling);
* :mod:`.training` — AdamW + cosine training, safetensors checkpoints;
* :mod:`.encoding` — :func:`tokens_to_encoding`: generated ids -> an ``Encoding`` the tokenizer decodes;
* :mod:`.features` — FVD network loading, the real-clip feature cache, per-frame features and TC;
* :mod:`.pipeline` — the steps both benchmarks share (tokenize clips, fit, sample + decode, FVD over repeats).
"""
from .encoding import lfq_bits_of, tokens_to_encoding
from .layout import TokenLayout
from .prior import (PriorCondition, PriorConfig, PriorSpec, TokenPrior, bit_log_probs, code_log_probs, guide,
                    pack_text, resolve_head)
from .training import TokenDataset, load_prior, save_prior, train_prior

__all__ = ["TokenLayout", "PriorConfig", "PriorSpec", "PriorCondition", "TokenPrior", "guide", "bit_log_probs",
           "code_log_probs", "pack_text", "resolve_head", "TokenDataset", "train_prior", "save_prior", "load_prior",
           "tokens_to_encoding", "lfq_bits_of"]
