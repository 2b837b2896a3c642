"""Write the synthetic datasets: ``generate(out, benchmarks, scale, seed, jobs)``."""
from __future__ import annotations

import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.synthetic.scale import Scale, parse_scale
from benchmarks.synthetic.writers import WRITERS, resolve

__all__ = ["generate", "DEFAULT_SEED"]

DEFAULT_SEED = 0


def _prepare_root(root: Path) -> None:
    """Empty ``root`` if it holds an earlier synthetic dataset; refuse to touch a folder that is not synthetic."""
    if root.exists() and any(root.iterdir()):
        if not (root / "SYNTHETIC.md").is_file():
            raise FileExistsError(f"{root} exists, is not empty and has no SYNTHETIC.md: refusing to overwrite what "
                                  "may be a real dataset; choose another --out")
        shutil.rmtree(root)


def _write_one(name: str, out: str, seed: int, scale: Scale) -> tuple[str, dict, float]:
    root = Path(out) / name
    _prepare_root(root)
    t0 = time.perf_counter()
    summary = WRITERS[name](root, seed, scale)
    return name, summary, time.perf_counter() - t0


def generate(out: str | Path, benchmarks: str | list[str] = "all", scale: str | int | Scale = "tiny",
             seed: int = DEFAULT_SEED, jobs: int = 1, log=print) -> dict[str, dict]:
    """Write each benchmark's dataset under ``out/<name>/``. Returns ``{name: summary}``; each summary has the
    writer's counts (always ``clips`` and ``frames``: videos/images/frame folders written and their frames) plus
    ``seconds`` (wall time of that writer)."""
    scale = parse_scale(scale)
    names = resolve(benchmarks)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}

    def record(name, summary, sec):
        results[name] = {**summary, "seconds": round(sec, 3)}
        if log:
            log(f"[synthetic] {name:12s} {sec:7.2f}s  {summary}")

    if jobs <= 1 or len(names) == 1:
        for n in names:
            record(*_write_one(n, str(out), seed, scale))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_write_one, n, str(out), seed, scale) for n in names]
            for f in futures:
                record(*f.result())
    return {n: results[n] for n in names}
