"""The "Adding a tokenizer" page's own example works as the page says: its code block, written to a module outside
the package, passes the shared tokenizer contract and runs through the harness by its import path; the files the two
"Adding a ..." pages name exist."""
from __future__ import annotations

import importlib
import re
import sys
import tempfile
from pathlib import Path

import torch

from tokenizer_contract import TokenizerContract

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "adapters" / "ADDING_A_TOKENIZER.md"
BENCHMARK_PAGE = ROOT / "benchmarks" / "ADDING_A_BENCHMARK.md"
_EXAMPLE = None


def _load_example():
    """The page's first python block, written as ``page_pkg/block_grey.py`` in a temp folder put on sys.path."""
    global _EXAMPLE
    if _EXAMPLE is None:
        blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
        assert blocks, f"{PAGE} has no python example"
        root = Path(tempfile.mkdtemp(prefix="adding-page-"))
        (root / "page_pkg").mkdir()
        (root / "page_pkg" / "__init__.py").write_text("")
        (root / "page_pkg" / "block_grey.py").write_text(blocks[0])
        sys.path.insert(0, str(root))
        _EXAMPLE = importlib.import_module("page_pkg.block_grey")
    return _EXAMPLE


class TestPageExampleContract(TokenizerContract):
    tokenizer_name = "block-grey"
    frames, size = 3, 8

    def build(self):
        return _load_example().BlockGrey()


def test_pages_name_files_that_exist():
    text = PAGE.read_text() + BENCHMARK_PAGE.read_text()
    for path in ("adapters/registry.py", "benchmarks/matrix.py", "tests/tokenizer_contract.py", "benchmarks/registry.py",
                 "benchmarks/synthetic/generate.py", "benchmarks/tables/__init__.py", "benchmarks/provisioning/",
                 "benchmarks/visualization/", "benchmarks/tables/"):
        assert path in text and (ROOT / path).exists(), path


def test_example_reconstructs_a_block_constant_clip_exactly():
    # hand-worked case: a clip constant on 4x4 blocks at one of the 16 grey levels comes back exactly,
    # at 4 bits per block and frame
    block_grey = _load_example().BlockGrey
    levels = torch.randint(0, 16, (1, 2, 2, 3), generator=torch.Generator().manual_seed(0))
    grey = (levels.float() / 15 * 2 - 1).repeat_interleave(4, -1).repeat_interleave(4, -2)     # (1, 2, 8, 12)
    video = grey[:, None].expand(1, 3, 2, 8, 12).contiguous()
    tok = block_grey()
    enc = tok.encode(video)
    assert enc.bits.tolist() == [2 * 2 * 3 * 4.0]
    torch.testing.assert_close(tok.decode(enc), video)


def test_example_runs_through_the_harness_by_import_path(tmp_path):
    from benchmarks import evaluate

    _load_example()
    spec = "page_pkg.block_grey:BlockGrey:levels=16"
    recs = evaluate(spec, suite="webvid-recon", benchmark_options={"webvid-recon": {"max_samples": 2}},
                    cache_dir=str(tmp_path / "cache"), log=lambda s: None)
    by_metric = {r["metric"]: r for r in recs}
    assert by_metric["psnr"]["n_samples"] == 2 and by_metric["psnr"]["n_failed"] == 0
    assert {r["tokenizer"] for r in recs} == {spec}
