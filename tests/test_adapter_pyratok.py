"""adapters.pyratok_tokenizer: PyraTok behind the Tokenizer interface.

The contract (tests/tokenizer_contract.py) on the untrained tiny model and on an ablation that is not text
aligned; loading a ``save_pretrained`` folder against the model called directly; the trained-here origin the
benchmarks layer passes; the errors for a missing checkpoint and a bad option. Nothing is trained here.
"""
from __future__ import annotations

import pytest
import torch

from adapters import build_tokenizer
from adapters.pyratok_tokenizer import ABLATIONS, PyraTokTokenizer, build
from tokenizer_contract import TokenizerContract


class TestPyraTokTinyContract(TokenizerContract):
    tokenizer_name = "pyratok-tiny"
    tokenizer_options = {"init": "random"}
    frames, size = 9, 32


class TestPyraTokAblationContract(TokenizerContract):
    """Without L_codebook the text->code projection is never trained: not text aligned, embed_text refuses."""
    tokenizer_name = "pyratok-tiny-wo-codebook"
    tokenizer_options = {"ablation": "wo-codebook", "init": "random"}
    frames, size = 5, 32

    def test_is_not_text_aligned(self, tokenizer):
        assert tokenizer.text_aligned is False


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.set_num_threads(1)
    tok = build_tokenizer("pyratok-tiny", init="random", seed=3)
    d = tmp_path_factory.mktemp("pyratok") / "ckpt"
    tok.module.save_pretrained(d)
    return tok, d


def test_checkpoint_folder_decodes_like_the_model_itself(saved):
    from pyratok.model import PyraTok

    tok, d = saved
    loaded = build("pyratok", checkpoint=str(d))
    assert isinstance(loaded, PyraTokTokenizer) and loaded.checkpoint.origin == "local-weights"
    assert loaded.config()["checkpoint"] == str(d)
    model = PyraTok.from_pretrained(d).eval()
    video = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    with torch.no_grad():
        reference = model.decode(model.encode(video, ["a clip"])).float()
    torch.testing.assert_close(loaded.decode(loaded.encode(video, ["a clip"])), reference)


def test_trained_here_origin_keys_on_the_variant_not_the_folder(saved):
    """The benchmarks layer passes its cached folder with origin trained-here: the record says so, and the cache
    key follows the weights' sha and the variant, not where the cache lives."""
    _, d = saved
    tok = build("pyratok-tiny", checkpoint=str(d), origin="trained-here")
    assert tok.checkpoint.origin == "trained-here" and tok.config() == {"ablation": None, "features_from": "z"}
    user = build("pyratok", checkpoint=str(d))
    assert user.checkpoint.sha256 == tok.checkpoint.sha256 and user.cache_key() != tok.cache_key()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="needs checkpoint=DIR"):
        build("pyratok")
    with pytest.raises(ValueError, match="benchmarks.provisioning"):
        build("pyratok-tiny")
    with pytest.raises(TypeError, match="unknown option"):
        build("pyratok-tiny", init="random", widht=3)
    with pytest.raises(ValueError, match="unknown ablation 'wo-everything'"):
        build("pyratok-tiny", init="random", ablation="wo-everything")
    with pytest.raises(ValueError, match="origin must be one of"):
        build("pyratok-tiny", checkpoint="/x", origin="downloaded")
    assert "wo-codebook" in ABLATIONS
