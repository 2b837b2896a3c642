"""Global AR alignment L_AR: hand-built sequences and hand-computed NLLs as references, padding invariance,
causality, gradient flow into straight-through codes, loading the LM from a local directory."""
from __future__ import annotations

import math

import pytest
import torch

from pyratok.alignment import ARAlignmentConfig, AutoregressiveAlignment
from pyratok.text import TextEmbedding

K = 8
TEXT_DIM = 16


def small_config(**kw) -> ARAlignmentConfig:
    base = dict(num_bits=K, text_dim=TEXT_DIM, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64)
    base.update(kw)
    return ARAlignmentConfig(**base)


def random_codes(b: int, lengths: list[int], k: int = K, requires_grad: bool = False):
    """Per level: codes (B, N, K) in {-1, +1} and their indices (bit k has weight 2^(K-1-k))."""
    codes, indices = [], []
    weights = 2 ** torch.arange(k - 1, -1, -1)
    for n in lengths:
        bits = torch.randint(0, 2, (b, n, k))
        c = (bits * 2 - 1).float().requires_grad_(requires_grad)
        codes.append(c)
        indices.append((bits * weights).sum(-1))
    return codes, indices


def text_embedding(real: torch.Tensor, pad_left: int = 0, pad_right: int = 0, fill: float = 7.0) -> TextEmbedding:
    """One sample's real tokens (n, D) inside padding (filled with garbage that must be ignored)."""
    n, d = real.shape
    tokens = torch.full((1, pad_left + n + pad_right, d), fill)
    tokens[0, pad_left : pad_left + n] = real
    mask = torch.zeros(1, pad_left + n + pad_right, dtype=torch.bool)
    mask[0, pad_left : pad_left + n] = True
    return TextEmbedding(tokens=tokens, mask=mask, pooled=real.mean(0, keepdim=True))


def cat_text(embs: list[TextEmbedding]) -> TextEmbedding:
    n = max(e.tokens.shape[1] for e in embs)
    pad = lambda t, v: torch.nn.functional.pad(t, (0, 0, 0, n - t.shape[1]), value=v)  # noqa: E731
    tokens = torch.cat([pad(e.tokens, 3.0) for e in embs])
    mask = torch.cat([torch.nn.functional.pad(e.mask, (0, n - e.mask.shape[1])) for e in embs])
    return TextEmbedding(tokens=tokens, mask=mask, pooled=torch.cat([e.pooled for e in embs]))


def reference_token_nll(mod: AutoregressiveAlignment, real_text: torch.Tensor, codes, indices, b: int):
    """Hand-built sequence for sample ``b`` (no padding at all, default positions 0..S-1), the LM run on it,
    and each visual token's NLL from the output one position earlier, computed with logsumexp / softplus."""
    rows = [mod.text_proj(real_text)]  # (n, H)
    targets = []  # (sequence index, level, token)
    pos = real_text.shape[0]
    rows.append(mod.soi[None])
    pos += 1
    for lvl, c in enumerate(codes):
        if lvl > 0:
            rows.append(mod.qsep[None])
            pos += 1
        for i in range(c.shape[1]):
            rows.append((mod.code_proj(c[b, i]) + mod.level_emb[lvl])[None])
            targets.append((pos, lvl, i))
            pos += 1
    seq = torch.cat(rows)[None]
    hidden = mod.lm(inputs_embeds=seq).last_hidden_state[0]
    out = []
    for p, lvl, i in targets:
        z = mod.head(hidden[p - 1])
        if mod.config.head == "index":
            nll = torch.logsumexp(z, 0) - z[indices[lvl][b, i]]
        else:
            bit = codes[lvl][b, i] > 0
            nll = torch.where(bit, torch.nn.functional.softplus(-z), torch.nn.functional.softplus(z)).sum()
        out.append((lvl, i, nll, z))
    return out


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.mark.parametrize("head", ["index", "bits"])
def test_loss_equals_hand_computed_nll(head):
    mod = AutoregressiveAlignment(small_config(head=head)).eval()
    reals = [torch.randn(3, TEXT_DIM), torch.randn(5, TEXT_DIM)]
    text = cat_text([text_embedding(reals[0], pad_right=2), text_embedding(reals[1], pad_left=1)])
    codes, indices = random_codes(2, [4, 6, 3])
    out = mod(text, codes, indices)
    with torch.no_grad():
        refs = [reference_token_nll(mod, reals[b], codes, indices, b) for b in range(2)]
    all_nll = torch.stack([r[2] for ref in refs for r in ref])
    assert torch.allclose(out.loss, all_nll.mean(), atol=1e-5)
    for lvl in range(3):
        lvl_nll = torch.stack([r[2] for ref in refs for r in ref if r[0] == lvl])
        assert torch.allclose(out.nll_per_level[lvl], lvl_nll.mean(), atol=1e-5)
    for b, ref in enumerate(refs):
        for lvl, i, nll, _ in ref:
            assert torch.allclose(out.token_nll[lvl][b, i], nll, atol=1e-5)
    # Accuracy by hand: argmax index, or every bit's sign right.
    hits = []
    for b, ref in enumerate(refs):
        for lvl, i, _, z in ref:
            if head == "index":
                hits.append(int(z.argmax()) == int(indices[lvl][b, i]))
            else:
                hits.append(bool(((z > 0) == (codes[lvl][b, i] > 0)).all()))
    assert out.accuracy == pytest.approx(sum(hits) / len(hits))
    # Untrained: an index head starts near uniform, log(2^K) nats; a bits head near K log 2 as well.
    assert abs(out.loss.item() - K * math.log(2)) < 1.5


def test_bits_head_is_sum_of_per_bit_bce():
    mod = AutoregressiveAlignment(small_config(head="bits")).eval()
    text = text_embedding(torch.randn(4, TEXT_DIM))
    codes, indices = random_codes(1, [5, 2])
    out = mod(text, codes, indices)
    with torch.no_grad():
        ref = reference_token_nll(mod, text.tokens[0], codes, indices, 0)
    for lvl, i, _, z in ref:
        target = (codes[lvl][0, i] > 0).float()
        bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(z), target, reduction="sum")
        assert torch.allclose(out.token_nll[lvl][0, i], bce, atol=1e-4)


@pytest.mark.parametrize("head", ["index", "bits"])
def test_text_padding_does_not_change_the_loss(head):
    mod = AutoregressiveAlignment(small_config(head=head)).eval()
    real = torch.randn(4, TEXT_DIM)
    codes, indices = random_codes(1, [5, 3])
    with torch.no_grad():
        base = mod(text_embedding(real), codes, indices)
        for left, right in [(0, 6), (3, 0), (2, 5), (9, 1)]:
            out = mod(text_embedding(real, pad_left=left, pad_right=right), codes, indices)
            assert torch.allclose(out.loss, base.loss, atol=1e-5), (left, right)
            for a, b in zip(out.token_nll, base.token_nll):
                assert torch.allclose(a, b, atol=1e-5)
        # Batched with a longer caption (the short one gets padded): same per-token NLL as alone.
        other = text_embedding(torch.randn(11, TEXT_DIM))
        codes2, indices2 = random_codes(1, [5, 3])
        both = mod(cat_text([text_embedding(real), other]), [torch.cat(p) for p in zip(codes, codes2)],
                   [torch.cat(p) for p in zip(indices, indices2)])
        for a, b in zip(both.token_nll, base.token_nll):
            assert torch.allclose(a[:1], b, atol=1e-5)


def test_causal_structure():
    mod = AutoregressiveAlignment(small_config()).eval()
    text = text_embedding(torch.randn(3, TEXT_DIM))
    codes, indices = random_codes(1, [6, 4])
    with torch.no_grad():
        base = mod(text, codes, indices)
        # Changing level 2 leaves every level-1 NLL unchanged.
        out = mod(text, [codes[0], -codes[1]], [indices[0], (2**K - 1) - indices[1]])
        assert torch.allclose(out.token_nll[0], base.token_nll[0], atol=1e-6)
        assert not torch.allclose(out.token_nll[1], base.token_nll[1], atol=1e-4)
        # Flipping the input code of level-1 token 3 (targets kept) changes only the NLL of later tokens.
        flipped = codes[0].clone()
        flipped[0, 3] = -flipped[0, 3]
        out = mod(text, [flipped, codes[1]], indices)
        assert torch.allclose(out.token_nll[0][0, :4], base.token_nll[0][0, :4], atol=1e-6)
        assert (out.token_nll[0][0, 4:] - base.token_nll[0][0, 4:]).abs().min() > 1e-6
        assert (out.token_nll[1] - base.token_nll[1]).abs().min() > 1e-6
        # The text prefix conditions every visual token.
        out = mod(text_embedding(torch.randn(3, TEXT_DIM)), codes, indices)
        assert (out.token_nll[0] - base.token_nll[0]).abs().min() > 1e-6


@pytest.mark.parametrize("head", ["index", "bits"])
def test_gradient_reaches_straight_through_codes(head):
    mod = AutoregressiveAlignment(small_config(head=head))
    text = text_embedding(torch.randn(3, TEXT_DIM))
    # Straight-through quantizer: forward sign(z), backward identity.
    z = [torch.randn(1, n, K, requires_grad=True) for n in (4, 3)]
    codes = [zi + (torch.sign(zi) - zi).detach() for zi in z]
    weights = 2 ** torch.arange(K - 1, -1, -1)
    indices = [((c.detach() > 0).long() * weights).sum(-1) for c in codes]
    out = mod(text, codes, indices)
    out.loss.backward()
    g0, g1 = z[0].grad, z[1].grad
    assert torch.isfinite(g0).all() and torch.isfinite(g1).all()
    assert (g0.abs().sum(-1) > 0).all()  # every level-1 token is context for a later one
    assert (g1[0, :-1].abs().sum(-1) > 0).all()
    assert torch.all(g1[0, -1] == 0)  # the very last token is never an input
    assert mod.soi.grad is not None and mod.text_proj[1].weight.grad is not None
    assert all(p.grad is not None for p in mod.lm.parameters() if p.requires_grad)


def test_learns_text_conditioned_codes():
    # Two captions, each always followed by its own fixed codes: only the text tells them apart at level 1,
    # token 1, so accuracy 1 is reachable only through the text prefix.
    torch.manual_seed(1)
    mod = AutoregressiveAlignment(small_config(head="bits"))
    text = cat_text([text_embedding(torch.randn(3, TEXT_DIM)), text_embedding(torch.randn(5, TEXT_DIM))])
    codes, indices = random_codes(2, [3, 4])
    opt = torch.optim.Adam(mod.parameters(), lr=3e-3)
    first = mod(text, codes, indices).loss.item()
    for _ in range(60):
        opt.zero_grad()
        out = mod(text, codes, indices)
        out.loss.backward()
        opt.step()
    out = mod(text, codes, indices)
    assert out.loss.item() < 0.1 * first and out.accuracy == 1.0


def test_chunked_index_softmax_equals_unchunked():
    torch.manual_seed(3)
    big = AutoregressiveAlignment(small_config(logit_chunk=10_000))
    small = AutoregressiveAlignment(small_config(logit_chunk=3))
    small.load_state_dict(big.state_dict())
    text = text_embedding(torch.randn(3, TEXT_DIM))
    codes, indices = random_codes(2, [5, 4], requires_grad=True)
    text = cat_text([text, text_embedding(torch.randn(2, TEXT_DIM))])
    grads = []
    for mod in (big, small):
        for c in codes:
            c.grad = None
        out = mod(text, codes, indices)
        out.loss.backward()
        grads.append((out.loss.detach(), out.accuracy, [c.grad.clone() for c in codes], mod.head.weight.grad.clone()))
    (l1, a1, g1, w1), (l2, a2, g2, w2) = grads
    assert torch.allclose(l1, l2, atol=1e-6) and a1 == a2
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(g1, g2))
    assert torch.allclose(w1, w2, atol=1e-6)


def test_default_config_index_head_over_65536_codes():
    cfg = ARAlignmentConfig()
    assert (cfg.num_bits, cfg.text_dim, cfg.head) == (16, 384, "index")
    mod = AutoregressiveAlignment(cfg).eval()
    assert mod.head.out_features == 2**16
    codes, indices = random_codes(1, [2, 2], k=16)
    with torch.no_grad():
        out = mod(text_embedding(torch.randn(2, 384)), codes, indices)
    assert abs(out.loss.item() - 16 * math.log(2)) < 1.5


def test_lm_from_local_qwen2_directory(tmp_path):
    from transformers import Qwen2Config, Qwen2Model

    lm = Qwen2Model(Qwen2Config(hidden_size=48, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                intermediate_size=96, vocab_size=32, bos_token_id=0, eos_token_id=0)).eval()
    lm.save_pretrained(tmp_path)
    mod = AutoregressiveAlignment(small_config(lm_path=str(tmp_path), prefix="text_encoder"))
    assert mod.hidden == 48 and mod.soi.shape == (48,)
    saved = lm.state_dict()
    for name, p in mod.lm.state_dict().items():
        assert torch.equal(p, saved[name]), name
    assert all(not p.requires_grad for p in mod.lm.parameters())  # pretrained LM frozen by default
    text = text_embedding(torch.randn(3, TEXT_DIM), pad_right=2)
    codes, indices = random_codes(1, [3, 2], requires_grad=True)
    out = mod(text, codes, indices)
    out.loss.backward()
    assert codes[0].grad.abs().sum() > 0  # gradient flows through the frozen LM
    with torch.no_grad():
        ref = reference_token_nll(mod, text.tokens[0, :3], codes, indices, 0)
    assert torch.allclose(out.loss, torch.stack([r[2] for r in ref]).mean(), atol=1e-5)
    trainable = AutoregressiveAlignment(small_config(lm_path=str(tmp_path), train_lm=True, prefix="text_encoder"))
    emb = trainable.lm.get_input_embeddings().weight
    assert all(p.requires_grad for p in trainable.lm.parameters() if p is not emb)
    assert not emb.requires_grad  # inputs are embeddings: the token table never trains


def test_lm_from_local_qwen25_vl_directory(tmp_path):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    cfg = Qwen2_5_VLConfig(
        text_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=64, vocab_size=32, bos_token_id=0, eos_token_id=0,
                         rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]}),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=32,
                           fullatt_block_indexes=[0]),
    )
    full = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    full.save_pretrained(tmp_path)
    mod = AutoregressiveAlignment(small_config(lm_path=str(tmp_path), prefix="text_encoder"))
    assert type(mod.lm).__name__ == "Qwen2_5_VLTextModel" and mod.hidden == 32
    ref_sd = full.model.language_model.state_dict()
    for name, p in mod.lm.state_dict().items():
        assert torch.equal(p, ref_sd[name]), name
    text = text_embedding(torch.randn(2, TEXT_DIM), pad_left=3)
    codes, indices = random_codes(1, [3, 3])
    with torch.no_grad():
        out = mod(text, codes, indices)
        ref = reference_token_nll(mod, text.tokens[0, 3:], codes, indices, 0)
    assert torch.allclose(out.loss, torch.stack([r[2] for r in ref]).mean(), atol=1e-5)


def test_bad_inputs_and_config():
    with pytest.raises(ValueError, match="head"):
        ARAlignmentConfig(head="softmax")
    with pytest.raises(ValueError, match="bits"):
        ARAlignmentConfig(num_bits=20, head="index")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        AutoregressiveAlignment(small_config(lm_path="/nowhere/qwen"))
    mod = AutoregressiveAlignment(small_config(max_levels=2))
    text = text_embedding(torch.randn(3, TEXT_DIM))
    codes, indices = random_codes(1, [2, 2, 2])
    with pytest.raises(ValueError, match="max_levels"):
        mod(text, codes, indices)
    with pytest.raises(ValueError, match="one codes and one indices"):
        mod(text, codes[:2], indices[:1])
    with pytest.raises(ValueError, match=r"codes\[0\] must be"):
        mod(text, [codes[0][..., :4], codes[1]], indices[:2])
    with pytest.raises(ValueError, match="out of range"):
        mod(text, codes[:2], [indices[0], indices[1] + 2**K])
    with pytest.raises(ValueError, match="text_dim"):
        mod(text_embedding(torch.randn(3, TEXT_DIM + 1)), codes[:2], indices[:2])


# ---------------------------------------------------------------------------------------------------------------
# With a pretrained VLM the prefix is the caption's own token embeddings from the LM's embedding table

CAPTIONS = ["a red circle moves left", "two people ride bicycles across the green field"]


@pytest.fixture(scope="module")
def qwen2_with_tokenizer(tmp_path_factory):
    """A tiny random Qwen2 decoder saved with a tokenizer (MiniLM's WordPiece vocabulary: any tokenizer works)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2Model

    from pyratok.text.minilm import minilm_model_dir

    d = tmp_path_factory.mktemp("qwen2_tok")
    tok = AutoTokenizer.from_pretrained(str(minilm_model_dir()), local_files_only=True)
    torch.manual_seed(0)
    Qwen2Model(Qwen2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                           intermediate_size=64, vocab_size=len(tok), bos_token_id=0, eos_token_id=0)).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def test_lm_prefix_is_the_captions_own_token_embeddings(qwen2_with_tokenizer):
    from transformers import AutoModel, AutoTokenizer

    d = str(qwen2_with_tokenizer)
    mod = AutoregressiveAlignment(small_config(lm_path=d))
    assert mod.config.prefix == "lm_embeddings" and not hasattr(mod, "text_proj")
    prefix = mod.caption_prefix(CAPTIONS)
    # independent reference: the saved LM and tokenizer loaded afresh, the embedding table applied to the ids
    lm = AutoModel.from_pretrained(d, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    for b, caption in enumerate(CAPTIONS):
        ids = torch.tensor(tok(caption)["input_ids"])
        ref = lm.get_input_embeddings()(ids)
        n = int(prefix.mask[b].sum())
        assert n == len(ids) and bool(prefix.mask[b, :n].all())
        assert torch.equal(prefix.tokens[b, :n], ref.detach())
        assert bool((prefix.tokens[b, n:] == 0).all())
    # and that prefix is what the LM reads, unprojected, right before <SOI>
    codes, _ = random_codes(2, [3, 2])
    seq, mask, starts = mod.build_sequence(prefix, codes)
    n0 = int(prefix.mask[0].sum())
    ids0 = torch.tensor(tok(CAPTIONS[0])["input_ids"])
    soi = starts[0]
    assert torch.equal(seq[0, soi - n0:soi], lm.get_input_embeddings()(ids0).detach())
    assert torch.equal(seq[0, soi], mod.soi.detach())


def test_pyratok_feeds_the_caption_tokens_to_a_pretrained_lm(qwen2_with_tokenizer):
    from pyratok.model import PyraTok, PyraTokConfig

    cfg = PyraTokConfig.tiny()
    cfg.alignment = ARAlignmentConfig(num_bits=16, text_dim=384, lm_path=str(qwen2_with_tokenizer), head="bits")
    torch.manual_seed(0)
    model = PyraTok(cfg)
    text = model.embed_text(CAPTIONS)
    prefix = model.ar_prefix(CAPTIONS, text)
    assert prefix.tokens.shape[-1] == 32  # LM width, not MiniLM's 384
    ref = model.alignment.caption_prefix(CAPTIONS)
    assert torch.equal(prefix.tokens, ref.tokens) and torch.equal(prefix.mask, ref.mask)
    video = torch.rand(2, 3, 9, 32, 32) * 2 - 1
    out = model.ar_nll(video, CAPTIONS)
    assert math.isfinite(float(out.loss)) and len(out.token_nll) == cfg.lapq.num_levels


def test_missing_tokenizer_for_lm_prefix_is_a_clear_error(tmp_path):
    from transformers import Qwen2Config, Qwen2Model

    Qwen2Model(Qwen2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                           intermediate_size=32, vocab_size=16)).save_pretrained(tmp_path)
    with pytest.raises(OSError, match="tokenizer"):
        AutoregressiveAlignment(small_config(lm_path=str(tmp_path)))
    with pytest.raises(ValueError, match="needs lm_path"):
        small_config(prefix="lm_embeddings")
