"""What a run leaves for readers, from ``<out>/records``: the paper's tables and figures (:mod:`benchmarks.tables`),
the static leaderboard site (``<out>/site/index.html``, :mod:`benchmarks.site`) and the results file
(``<out>/results.json`` in a documented schema, :mod:`benchmarks.results_file`).

Both ``python -m benchmarks.run`` (after a run) and ``--render-only`` (from the records on disk) call
:func:`publish`, so the three never disagree.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["publish"]


def publish(out: str | Path, config: dict | None = None) -> list[Path]:
    """Render tables/figures, the site and results.json from ``out/records``; returns every file written.
    ``config``: the resolved run config (default: ``out/run_config.py`` when it exists, else empty)."""
    from benchmarks.records import read_records
    from benchmarks.results_file import write_results_file
    from benchmarks.site import write_site
    from benchmarks.tables.render import render_all

    out = Path(out)
    written = list(render_all(out))
    if any((out / "tables").glob("*.md")):  # a run of benchmarks no paper table shows has nothing to list
        written.append(write_site(out, out / "site"))
    records = [r for f in sorted((out / "records").glob("*.jsonl")) for r in read_records(f)]
    written.append(write_results_file(records, config if config is not None else _saved_config(out), out))
    return written


def _saved_config(out: Path) -> dict:
    path = out / "run_config.py"
    if not path.is_file():
        return {}
    from mmengine.config import Config

    return {k: v for k, v in Config.fromfile(str(path)).to_dict().items() if not k.startswith("_")}
