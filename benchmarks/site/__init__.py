"""Static leaderboard site generated from ``results/``: an overview, one page per paper table, one per tokenizer.

``write_site(results_dir, out_dir)`` writes ``out_dir/index.html`` and the other pages, plus local ``assets/``
(no CDN: the site opens from ``file://`` with no server and no network). Command line:
``python -m benchmarks.site --results results --out results/site``.
"""
from benchmarks.site.build import write_site

__all__ = ["write_site"]
