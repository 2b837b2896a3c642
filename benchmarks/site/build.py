"""Write the leaderboard site: pages, local assets, and the figures (linked in place when the site lives inside
the results folder, copied beside it otherwise, so a site written elsewhere still shows them)."""
from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from benchmarks.site.collect import collect
from benchmarks.site.pages import (GENERATOR, overview_page, table_file, table_page, tokenizer_file, tokenizer_names,
                                   tokenizer_page)

__all__ = ["write_site", "ASSETS"]

ASSETS = ("site.css", "site.js")


def _figure_href(results_dir: Path, out_dir: Path, names: list[str]) -> str:
    """Relative URL prefix of the figures from the pages: ``../figures/`` for results/site, else a copy."""
    src = (results_dir / "figures").resolve()
    out = out_dir.resolve()
    if out.is_relative_to(results_dir.resolve()):
        return Path(os.path.relpath(src, out)).as_posix() + "/"
    dst = out / "figures"
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(src / n, dst / n)
    return "figures/"


def write_site(results_dir: Path, out_dir: Path) -> Path:
    """Write the site for the run in ``results_dir`` into ``out_dir``; returns ``out_dir/index.html``.

    Stale pages of an earlier site (``*.html`` in ``out_dir`` that this generator wrote, known by their
    ``generator`` meta tag) are removed first, so a tokenizer or table that is gone does not linger; other files
    are left alone. Raises FileNotFoundError when ``results_dir/tables`` has no tables, ValueError (naming
    the file) for an unreadable record or JSON file."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    site = collect(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.html"):
        if f'<meta name="generator" content="{GENERATOR}">' in old.read_text(encoding="utf-8", errors="replace"):
            old.unlink()
    (out_dir / "assets").mkdir(exist_ok=True)
    pkg = resources.files("benchmarks.site") / "assets"
    for name in ASSETS:
        (out_dir / "assets" / name).write_bytes((pkg / name).read_bytes())
    fig_href = _figure_href(results_dir, out_dir, site.figures)
    for t in site.tables:
        (out_dir / table_file(t.key)).write_text(table_page(site, t, fig_href), encoding="utf-8")
    for name in tokenizer_names(site):
        (out_dir / tokenizer_file(name)).write_text(tokenizer_page(site, name), encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(overview_page(site, fig_href), encoding="utf-8")
    return index
