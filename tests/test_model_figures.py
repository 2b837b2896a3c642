"""The Fig. 2 / Fig. 4 plots run on a (random-init) tiny PyraTok and write images; caption words map to the text
encoder's token positions."""
from __future__ import annotations

import torch

from benchmarks.visualization.model_maps import plot_cross_attention, plot_level_pca, word_token_spans
from pyratok.model import PyraTok, PyraTokConfig


def test_word_token_spans_follow_the_tokenizer():
    model = PyraTok(PyraTokConfig.tiny())
    tok = model.text_encoder.tokenizer
    spans = word_token_spans(tok, "two people arm wrestling")
    assert [w for w, _ in spans] == ["two", "people", "arm", "wrestling"]
    ids = tok("two people arm wrestling")["input_ids"]
    for word, pos in spans:          # the tokens at those positions spell the word (WordPiece '##' joins)
        assert tok.decode([ids[p] for p in pos]).replace(" ", "") == word
    assert all(0 not in pos for _, pos in spans)   # position 0 is [CLS]


def test_plots_write_images(tmp_path):
    torch.manual_seed(0)
    model = PyraTok(PyraTokConfig.tiny()).eval()
    clips = [(torch.rand(3, 17, 64, 64) * 2 - 1, "a red ball rolls"), (torch.rand(3, 17, 64, 64) * 2 - 1, "a cat")]
    a = plot_cross_attention(model, clips, tmp_path / "fig2.png", max_words=3)
    b = plot_level_pca(model, clips, tmp_path / "fig4.png")
    assert a.stat().st_size > 10_000 and b.stat().st_size > 10_000
