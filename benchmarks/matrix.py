"""The experiment matrix: which tokenizers each benchmark runs by default (and so which rows its tables show).

This is the one place the embedded default's tokenizer lists live; the runner asks
:func:`default_tokenizers_for` and nothing else.
"""
from __future__ import annotations

__all__ = ["DEFAULT_TOKENIZERS", "LOSS_ABLATIONS", "BENCHMARK_EXTRA_TOKENIZERS", "default_tokenizers_for"]

# the embedded default of `python -m benchmarks.run`: everything that runs here
DEFAULT_TOKENIZERS = ("pyratok-tiny", "wan2.2-vae", "wan2.1-vae", "cogvideox-vae", "mochi-vae", "svd-vae",
                      "quant-vq", "quant-gvq", "quant-lfq", "quant-rvq", "quant-fsq", "h264", "hevc", "av1", "vp9")


# loss ablations (Tables 6 and 10): trained here with the same data and budget as pyratok-tiny
LOSS_ABLATIONS = ("pyratok-tiny-wo-drift", "pyratok-tiny-wo-ar", "pyratok-tiny-wo-drift-ar",
                  "pyratok-tiny-wo-text-alignment", "pyratok-tiny-wo-commitment", "pyratok-tiny-wo-text-codebook")
# extra tokenizers a benchmark runs by default beside DEFAULT_TOKENIZERS (the ablation tables it feeds)
BENCHMARK_EXTRA_TOKENIZERS = {"thumos14-tal": LOSS_ABLATIONS, "activitynet-tal": LOSS_ABLATIONS,
                              "mvbench-qa": LOSS_ABLATIONS}


def default_tokenizers_for(name: str, benchmark) -> list[str]:
    """The tokenizers benchmark ``name`` runs when the command line names none."""
    own = benchmark.default_tokenizers()
    return list(own) if own else list(DEFAULT_TOKENIZERS) + list(BENCHMARK_EXTRA_TOKENIZERS.get(name, ()))
